//! The REST API under `/api/v1`, described by an OpenAPI 3.1 document generated from
//! these handlers (utoipa) and served at `/api/v1/openapi.json`.
//!
//! Every handler takes a role guard (`Authed<Viewer|Analyst|Admin>`), so a route
//! without authorisation does not compile. Errors use [`coastguard_core::Error`]'s
//! JSON envelope; request bodies and paths go through [`extract`]'s wrappers so their
//! rejections use it too.

mod access;
mod alerts;
mod audit;
mod exact;
mod exceptions;
pub mod extract;
mod findings;
mod inventory;
mod kube;
mod notify;
mod registries;
mod risk;
mod scans;
mod signatures;
mod system;
mod trends;

use crate::state::ServerState;
use coastguard_core::Error;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Coastguard API",
        description = "Container security posture: inventory, findings, risk and trends. \
                       Authenticate with `Authorization: Bearer <token>` (create tokens under \
                       Admin → API tokens or with `coastguard token create`). Errors share one \
                       envelope: `{\"error\": {\"code\", \"message\", \"location\"?}}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
    components(schemas(coastguard_model::ErrorBody)),
    tags(
        (name = "system", description = "Health, readiness, metrics, the signed-in principal"),
        (name = "access", description = "Users and API tokens (admin)"),
        (name = "audit", description = "Who changed what (admin)"),
        (name = "posture", description = "The estate at a glance"),
        (name = "inventory", description = "Docker engines, hosts, images and containers"),
        (name = "findings", description = "Configuration findings, checks, risk acceptance, image policy"),
        (name = "scans", description = "Scan reports, vulnerability findings, suppressions and VEX"),
        (name = "exceptions", description = "Exceptions for vulnerabilities, configuration findings and runtime rules: reason, owner, expiry, approval"),
        (name = "kubernetes", description = "Clusters, namespaces, workloads and pods, judged by the Pod Security Standards"),
        (name = "risk", description = "Risk scores per image, container and host, with their breakdowns"),
        (name = "registries", description = "Registries as a source: their repositories, tags, digests and images"),
        (name = "signatures", description = "Keys trusted for image signatures, and image signature checks"),
        (name = "alerts", description = "Runtime alerts: Falco's and other tools' events, matched to the inventory and grouped"),
        (name = "notifications", description = "Outgoing webhooks for new alert groups and their digests, and the delivery log (admin)"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cg_<40 hex>")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ingest_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Coastguard-Ingest-Key",
                "An API token of the ingest role, for senders that cannot set Authorization; read on POST /alerts and POST /alerts/falco only.",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::state::SESSION_COOKIE,
            ))),
        );
    }
}

pub fn router() -> OpenApiRouter<ServerState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(system::me))
        .routes(routes!(system::overview))
        .routes(routes!(access::list_users, access::create_user))
        .routes(routes!(
            access::get_user,
            access::update_user,
            access::delete_user
        ))
        .routes(routes!(access::reset_password))
        .routes(routes!(access::list_tokens, access::create_token))
        .routes(routes!(access::revoke_token))
        .routes(routes!(audit::list_audit))
        .routes(routes!(inventory::list_hosts))
        .routes(routes!(inventory::get_host))
        .routes(routes!(inventory::add_engine))
        .routes(routes!(inventory::remove_engine))
        .routes(routes!(inventory::sync_engine))
        .routes(routes!(inventory::list_images))
        .routes(routes!(inventory::get_image))
        .routes(routes!(inventory::list_containers))
        .routes(routes!(inventory::get_container))
        .routes(routes!(kube::list_clusters, kube::add_clusters))
        .routes(routes!(kube::get_cluster, kube::remove_cluster))
        .routes(routes!(kube::sync_cluster))
        .routes(routes!(kube::list_namespaces))
        .routes(routes!(kube::get_namespace))
        .routes(routes!(kube::list_workloads))
        .routes(routes!(kube::get_workload))
        .routes(routes!(kube::list_pods))
        .routes(routes!(kube::get_pod))
        .routes(routes!(findings::list_findings))
        .routes(routes!(findings::get_finding))
        .routes(routes!(
            findings::accept_finding,
            findings::unaccept_finding
        ))
        .routes(routes!(findings::list_checks))
        .routes(routes!(findings::get_policy, findings::set_policy))
        .routes(routes!(scans::upload, scans::list_scans))
        .routes(routes!(scans::list_feeds))
        .routes(routes!(scans::list_vulnerabilities))
        .routes(routes!(scans::export))
        .routes(routes!(scans::get_vulnerability))
        .routes(routes!(scans::list_suppressions, scans::create_suppression))
        .routes(routes!(scans::revoke_suppression))
        .routes(routes!(exceptions::list, exceptions::create))
        .routes(routes!(exceptions::get_policy, exceptions::set_policy))
        .routes(routes!(exceptions::get))
        .routes(routes!(exceptions::approve))
        .routes(routes!(exceptions::reject))
        .routes(routes!(exceptions::revoke))
        .routes(routes!(
            registries::list_registries,
            registries::add_registry
        ))
        .routes(routes!(
            registries::get_registry,
            registries::remove_registry
        ))
        .routes(routes!(registries::sync_registry))
        .routes(routes!(registries::import_docker_config))
        .routes(routes!(signatures::list_keys, signatures::add_key))
        .routes(routes!(signatures::remove_key))
        .routes(routes!(
            signatures::trust_root,
            signatures::set_trust_root,
            signatures::remove_trust_root
        ))
        .routes(routes!(signatures::check_image))
        .routes(routes!(signatures::coverage))
        .routes(routes!(alerts::falco))
        .routes(routes!(alerts::post, alerts::list))
        .routes(routes!(alerts::detail))
        .routes(routes!(alerts::triage))
        .routes(routes!(alerts::stream))
        .routes(routes!(alerts::detectors))
        .routes(routes!(notify::list_webhooks, notify::add_webhook))
        .routes(routes!(notify::update_webhook, notify::remove_webhook))
        .routes(routes!(notify::test_webhook))
        .routes(routes!(notify::deliveries))
        .routes(routes!(notify::retry_delivery))
        .routes(routes!(risk::ranking))
        .routes(routes!(risk::breakdown))
        .routes(routes!(trends::get_trends))
        .routes(routes!(trends::get_chart))
        .routes(routes!(trends::take_snapshots))
        .routes(routes!(trends::get_sla, trends::set_sla));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi))
        .nest("/api/v1", v1)
}

/// The OpenAPI document, as served.
pub fn openapi_document() -> String {
    document(&router().split_for_parts().1)
}

/// The text of a document generated from the handlers, made exact ([`exact::tighten`]).
pub fn document(generated: &utoipa::openapi::OpenApi) -> String {
    let mut doc = serde_json::to_value(generated).expect("the generated document serialises");
    exact::tighten(&mut doc);
    serde_json::to_string_pretty(&doc).expect("OpenAPI document serialises")
}

/// Unknown paths under `/api/` answer with the JSON envelope, not the HTML 404 page.
pub async fn not_found() -> Error {
    Error::NotFound("no such API endpoint".into())
}
