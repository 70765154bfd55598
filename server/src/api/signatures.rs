//! Image signatures: the signers trusted (cosign keys, Notation CAs, keyless identities)
//! and the Sigstore trust root (admins change them; anyone signed in reads them, they are
//! public), and checking an image now.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::signatures::{checks, trust};
use coastguard_core::Result;
use coastguard_model::signatures::{
    ImageSignature, NewSigningKey, SetTrustRoot, SignatureCoverage, SigningKeyView, TrustRootView,
};
use coastguard_model::{ErrorBody, Page};
use serde::Deserialize;

/// The signers trusted for image signatures, by name: cosign public keys, Notation CA
/// certificates and cosign keyless identities.
#[utoipa::path(get, path = "/signing-keys", tag = "signatures",
    responses((status = 200, body = Page<SigningKeyView>), (status = 401, body = ErrorBody)))]
pub async fn list_keys(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Page<SigningKeyView>>> {
    Ok(Json(Page {
        items: trust::list_keys(&state.app, &by).await?,
        next_cursor: None,
    }))
}

/// Trust a signer for the images its scope names: `public_pem` alone (a cosign public key,
/// ECDSA P-256/P-384, Ed25519 or RSA; or one Notation trust-store CA certificate), or
/// `identity` (a regular expression over a Fulcio certificate's subject) with `issuer`
/// (the OIDC issuer URL) for cosign keyless signatures, which also need the trust root. A
/// private key, a mix of the two forms, a bad pattern or a signer already trusted is
/// refused.
#[utoipa::path(post, path = "/signing-keys", tag = "signatures", request_body = NewSigningKey,
    responses((status = 201, body = SigningKeyView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_key(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewSigningKey>,
) -> Result<(StatusCode, Json<SigningKeyView>)> {
    let key = trust::add_key(&state.app, &by, input).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// Stop trusting a signer.
#[utoipa::path(delete, path = "/signing-keys/{id}", tag = "signatures", params(("id" = i64, Path)),
    responses((status = 200, body = SigningKeyView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn remove_key(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SigningKeyView>> {
    Ok(Json(trust::remove_key(&state.app, &by, id).await?))
}

/// The Sigstore trust root keyless signatures are checked against (404 when none is set).
#[utoipa::path(get, path = "/signing-trust-root", tag = "signatures",
    responses((status = 200, body = TrustRootView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn trust_root(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<TrustRootView>> {
    trust::trust_root(&state.app, &by)
        .await?
        .map(Json)
        .ok_or_else(|| coastguard_core::Error::NotFound("no Sigstore trust root is set".into()))
}

/// Set the Sigstore trust root (a `trusted_root.json`, given here: Coastguard never
/// downloads one), replacing any earlier one; every image is checked again within ten
/// minutes. A document that is not a trust root with at least one certificate authority
/// or transparency log is refused.
#[utoipa::path(put, path = "/signing-trust-root", tag = "signatures", request_body = SetTrustRoot,
    responses((status = 200, body = TrustRootView), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn set_trust_root(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<SetTrustRoot>,
) -> Result<Json<TrustRootView>> {
    Ok(Json(
        trust::set_trust_root(&state.app, &by, &input.trusted_root).await?,
    ))
}

/// Remove the trust root: keyless signatures are untrusted from the next check on.
#[utoipa::path(delete, path = "/signing-trust-root", tag = "signatures",
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn remove_trust_root(
    by: Authed<Admin>,
    State(state): State<ServerState>,
) -> Result<StatusCode> {
    trust::remove_trust_root(&state.app, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Check an image's signatures now, in the registry that names it by digest, with the
/// signers whose scope covers its repository; answers the outcome, which the image's detail
/// shows from then on. 404 for an image no registry names by digest.
#[utoipa::path(post, path = "/images/{id}/signature-check", tag = "signatures", params(("id" = i64, Path)),
    responses((status = 200, body = ImageSignature), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn check_image(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ImageSignature>> {
    Ok(Json(checks::check_image(&state.app, &by, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// Only this host (id): its containers, or a node's pods.
    host: Option<i64>,
    /// Only this team (`team` label on containers).
    team: Option<String>,
    /// Only this Kubernetes cluster (id).
    cluster: Option<i64>,
    /// Only this Kubernetes namespace (id).
    namespace: Option<i64>,
}

/// How many of the images running now (everywhere, or on one host, team, cluster or
/// namespace: give at most one) carry a verified signature, and why the others do not:
/// signed by no trusted signer or invalid, unsigned, could not be checked, not checked.
#[utoipa::path(get, path = "/signatures/coverage", tag = "signatures", params(CoverageQuery),
    responses((status = 200, body = SignatureCoverage), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn coverage(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> Result<Json<SignatureCoverage>> {
    let scope =
        coastguard_core::posture::scope_of(q.host, q.team.as_deref(), q.cluster, q.namespace)?;
    Ok(Json(checks::coverage(&state.app, &by, &scope).await?))
}
