//! Hosts, Docker engines, images and containers.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::docker::manage;
use coastguard_core::Result;
use coastguard_model::inventory::{
    ContainerDetail, ContainerSummary, HostDetail, HostSummary, ImageDetail, ImageSummary,
    ListQuery, Listing, NewEngine, SyncResult,
};
use coastguard_model::ErrorBody;

/// Docker engines and Kubernetes nodes. Sort: `name` (default), `status`, `last_seen`,
/// `findings`. Filter `state` is the host status (`ok`, `unreachable`, `pending`).
#[utoipa::path(get, path = "/hosts", tag = "inventory", params(ListQuery),
    responses((status = 200, body = Listing<HostSummary>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_hosts(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<HostSummary>>> {
    Ok(Json(state.app.store.list_hosts(&q).await?))
}

/// One host: facts from the engine and its own findings.
#[utoipa::path(get, path = "/hosts/{id}", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 200, body = HostDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_host(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HostDetail>> {
    Ok(Json(manage::host_detail(&state.app, &by, id).await?))
}

/// Watch a Docker engine. It is synced within seconds; its status then says whether it
/// could be reached.
#[utoipa::path(post, path = "/engines", tag = "inventory", request_body = NewEngine,
    responses((status = 201, body = HostSummary), (status = 409, body = ErrorBody, description = "name taken, or the server holds the demo estate"),
              (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_engine(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewEngine>,
) -> Result<(StatusCode, Json<HostSummary>)> {
    Ok((
        StatusCode::CREATED,
        Json(manage::add_engine(&state.app, &by, input).await?),
    ))
}

/// Stop watching an engine and forget its containers (images stay).
#[utoipa::path(delete, path = "/engines/{id}", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_engine(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    manage::remove_engine(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sync an engine now. 409 with the reason when it can't be reached.
#[utoipa::path(post, path = "/engines/{id}/sync", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 200, body = SyncResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "unreachable, or the server holds the demo estate"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sync_engine(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SyncResult>> {
    Ok(Json(manage::sync_now(&state.app, &by, id).await?))
}

/// Images. Sort: `last_seen` (default), `created`, `size`, `containers`, `findings`.
/// Filters: `q` (digest or tag), `host`, `severity` (has an open finding at least this
/// severe), `include_gone`.
#[utoipa::path(get, path = "/images", tag = "inventory", params(ListQuery),
    responses((status = 200, body = Listing<ImageSummary>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_images(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<ImageSummary>>> {
    Ok(Json(state.app.store.list_images(&q).await?))
}

/// One image: facts, history (secrets redacted), findings, the containers using it and
/// its latest signature check.
#[utoipa::path(get, path = "/images/{id}", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 200, body = ImageDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_image(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ImageDetail>> {
    let mut detail = manage::image_detail(&state.app, &by, id).await?;
    detail.signature = coastguard_core::signatures::checks::signature(&state.app, &by, id).await?;
    Ok(Json(detail))
}

/// Containers. Sort: `name` (default), `host`, `state`, `created`, `findings`. Filters:
/// `q` (name or image), `state`, `host`, `severity`, `include_gone`.
#[utoipa::path(get, path = "/containers", tag = "inventory", params(ListQuery),
    responses((status = 200, body = Listing<ContainerSummary>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_containers(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<ContainerSummary>>> {
    Ok(Json(state.app.store.list_containers(&q, None).await?))
}

/// One container: its configuration and findings.
#[utoipa::path(get, path = "/containers/{id}", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 200, body = ContainerDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_container(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ContainerDetail>> {
    Ok(Json(manage::container_detail(&state.app, &by, id).await?))
}
