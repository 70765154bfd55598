//! Exceptions: the one way to accept or dismiss a vulnerability, a configuration finding
//! or a runtime rule. Analysts make, approve, reject and revoke them; admins set the
//! policy (expiry and four-eyes approval by severity).

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::exceptions as manage;
use coastguard_core::Result;
use coastguard_model::exceptions::{
    ExceptionDecision, ExceptionDetail, ExceptionPolicy, ExceptionQuery, ExceptionView,
    NewException,
};
use coastguard_model::{ErrorBody, Page};

/// Exceptions, newest first. `status`: `active` (default), `pending` (waiting for a
/// second analyst), `expiring` (active, ending within 14 days), `inert` (active, covered
/// nothing for 30 days), `ended` (expired, revoked or rejected) or `all`; `owner` narrows
/// to one owner's (the expiring list for its owner).
#[utoipa::path(get, path = "/exceptions", tag = "exceptions", params(ExceptionQuery),
    responses((status = 200, body = Page<ExceptionView>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> Result<Json<Page<ExceptionView>>> {
    Ok(Json(manage::list(&state.app, &by, &q).await?))
}

/// Make an exception. `kind` `vulnerability` (target: any id of it; scope: `image_id`,
/// `package`), `configuration` (target: the check id; scope: `finding_id`, that finding's
/// subject) or `runtime` (target: the rule; scope: `host`, `namespace`, `workload`,
/// `image_id`); no scope: everywhere. An expiry is required, and a second analyst's
/// approval asked, where the policy says for the worst severity it covers (unknown counts
/// as critical). Answers the exception: `active` (what it covers left the queues in the
/// same commit) or `pending`.
#[utoipa::path(post, path = "/exceptions", tag = "exceptions", request_body = NewException,
    responses((status = 201, body = ExceptionDetail), (status = 404, body = ErrorBody, description = "image_id or finding_id names nothing"),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewException>,
) -> Result<(StatusCode, Json<ExceptionDetail>)> {
    let (id, _) = manage::create(&state.app, &by, input).await?;
    let viewer = by.as_viewer();
    Ok((
        StatusCode::CREATED,
        Json(manage::get(&state.app, &viewer, id).await?),
    ))
}

/// One exception with its history (made, approved, rejected, revoked, migrated).
#[utoipa::path(get, path = "/exceptions/{id}", tag = "exceptions", params(("id" = i64, Path)),
    responses((status = 200, body = ExceptionDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ExceptionDetail>> {
    Ok(Json(manage::get(&state.app, &by, id).await?))
}

/// Revoke an exception (active or pending): what it covered is back in the queues.
#[utoipa::path(post, path = "/exceptions/{id}/revoke", tag = "exceptions", params(("id" = i64, Path)),
    request_body = ExceptionDecision,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ExceptionDecision>,
) -> Result<StatusCode> {
    manage::revoke(&state.app, &by, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Approve a pending exception (four-eyes: not by whoever made it). It takes effect now.
#[utoipa::path(post, path = "/exceptions/{id}/approve", tag = "exceptions", params(("id" = i64, Path)),
    request_body = ExceptionDecision,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn approve(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ExceptionDecision>,
) -> Result<StatusCode> {
    manage::approve(&state.app, &by, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reject a pending exception (not by whoever made it: they revoke it).
#[utoipa::path(post, path = "/exceptions/{id}/reject", tag = "exceptions", params(("id" = i64, Path)),
    request_body = ExceptionDecision,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reject(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ExceptionDecision>,
) -> Result<StatusCode> {
    manage::reject(&state.app, &by, id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What exceptions need, by the severity of what they cover.
#[utoipa::path(get, path = "/exceptions/policy", tag = "exceptions",
    responses((status = 200, body = ExceptionPolicy), (status = 401, body = ErrorBody)))]
pub async fn get_policy(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<ExceptionPolicy>> {
    Ok(Json(manage::policy(&state.app, &by).await?))
}

/// Set what exceptions need (admin): `expiry_from` (an expiry is required from this
/// severity up) and `approval` (severities that need a second analyst). For exceptions
/// made from now on.
#[utoipa::path(put, path = "/exceptions/policy", tag = "exceptions", request_body = ExceptionPolicy,
    responses((status = 200, body = ExceptionPolicy), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_policy(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(policy): ApiJson<ExceptionPolicy>,
) -> Result<Json<ExceptionPolicy>> {
    Ok(Json(manage::set_policy(&state.app, &by, policy).await?))
}
