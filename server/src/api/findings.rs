//! Configuration findings, the check catalogue, risk acceptance and the image policy.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::docker::{catalog, manage};
use coastguard_core::{Error, Result, StoreError};
use coastguard_model::docker::Policy;
use coastguard_model::findings::{CheckInfo, ConfigFindingView};
use coastguard_model::inventory::{AcceptRisk, ListQuery, Listing};
use coastguard_model::ErrorBody;

/// Configuration findings. Filters: `state` (`open` by default, `accepted`, `resolved`,
/// `all`), `severity` (at least), `check`, `subject_kind`, `subject_id`, `host`, `q`.
/// Sort: `severity` (default), `last_seen`, `first_seen`, `check`.
#[utoipa::path(get, path = "/config-findings", tag = "findings", params(ListQuery),
    responses((status = 200, body = Listing<ConfigFindingView>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_findings(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<ConfigFindingView>>> {
    Ok(Json(state.app.store.list_config_findings(&q).await?))
}

#[utoipa::path(get, path = "/config-findings/{id}", tag = "findings", params(("id" = i64, Path)),
    responses((status = 200, body = ConfigFindingView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_finding(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ConfigFindingView>> {
    match state.app.store.config_finding(id).await {
        Ok(f) => Ok(Json(f)),
        Err(StoreError::NotFound) => Err(Error::NotFound(format!("no finding with id {id}"))),
        Err(e) => Err(e.into()),
    }
}

/// Accept the risk of a finding (analyst): it leaves the open counts but stays visible
/// with the reason. With `expires_in_days` it comes back by itself.
#[utoipa::path(put, path = "/config-findings/{id}/acceptance", tag = "findings", params(("id" = i64, Path)),
    request_body = AcceptRisk,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn accept_finding(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AcceptRisk>,
) -> Result<StatusCode> {
    coastguard_core::exceptions::compat::accept_finding(&state.app, &by, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraw an acceptance: the finding is open again.
#[utoipa::path(delete, path = "/config-findings/{id}/acceptance", tag = "findings", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn unaccept_finding(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    coastguard_core::exceptions::compat::unaccept_finding(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every configuration check: id, severity, rationale, remediation, CIS section.
#[utoipa::path(get, path = "/checks", tag = "findings",
    responses((status = 200, body = Vec<CheckInfo>), (status = 401, body = ErrorBody)))]
pub async fn list_checks(_: Authed<Viewer>) -> Json<Vec<CheckInfo>> {
    Json(catalog::CHECKS.iter().map(|c| c.info()).collect())
}

/// The image policy: trusted registries, maximum image age and size.
#[utoipa::path(get, path = "/settings/docker-policy", tag = "findings",
    responses((status = 200, body = Policy), (status = 401, body = ErrorBody)))]
pub async fn get_policy(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Policy>> {
    Ok(Json(manage::policy(&state.app, &by).await?))
}

/// Change the image policy (admin). Image findings follow at each engine's next sync;
/// signature requirements (`require_signatures`) apply at once.
#[utoipa::path(put, path = "/settings/docker-policy", tag = "findings", request_body = Policy,
    responses((status = 200, body = Policy), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_policy(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(policy): ApiJson<Policy>,
) -> Result<Json<Policy>> {
    Ok(Json(
        coastguard_core::registry::provenance::set_policy(&state.app, &by, policy).await?,
    ))
}
