//! Registries as a source: admins add and remove them (credentials are stored sealed and
//! never returned); anyone signed in reads what they hold; an analyst syncs one now.

use super::extract::{ApiJson, ApiPath};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::registry::manage;
use coastguard_core::Result;
use coastguard_model::registries::{
    DockerConfigImport, ImportedRegistries, NewRegistry, RegistryDetail, RegistrySummary,
    RegistrySync,
};
use coastguard_model::{ErrorBody, Page};

/// The registries configured, each with what its tags name now: repositories, tags,
/// images, and how many of those are scanned, verified and running.
#[utoipa::path(get, path = "/registries", tag = "registries",
    responses((status = 200, body = Page<RegistrySummary>), (status = 401, body = ErrorBody)))]
pub async fn list_registries(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Page<RegistrySummary>>> {
    Ok(Json(Page {
        items: manage::list_registries(&state.app, &by).await?,
        next_cursor: None,
    }))
}

/// Add a registry: `https://host[:port]` (a custom CA in `ca_pem`), or plain HTTP with
/// `insecure: true`; anonymous, or `username` and `password` (stored encrypted with the
/// server's secret key: 409 without one). `repositories` lists what to read where the
/// registry has no catalog. It is synced within a minute.
#[utoipa::path(post, path = "/registries", tag = "registries", request_body = NewRegistry,
    responses((status = 201, body = RegistrySummary), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_registry(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewRegistry>,
) -> Result<(StatusCode, Json<RegistrySummary>)> {
    let registry = manage::add_registry(&state.app, &by, input).await?;
    Ok((StatusCode::CREATED, Json(registry)))
}

/// A registry and its current tags (the first 2,000 by repository and tag), each with
/// the digest it names, its image, scan, signature status, whether it runs, and the
/// digests it named before.
#[utoipa::path(get, path = "/registries/{id}", tag = "registries", params(("id" = i64, Path)),
    responses((status = 200, body = RegistryDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_registry(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RegistryDetail>> {
    Ok(Json(manage::registry_detail(&state.app, &by, id).await?))
}

/// Remove a registry and its tags' history (the images stay in the inventory).
#[utoipa::path(delete, path = "/registries/{id}", tag = "registries", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_registry(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    manage::remove_registry(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sync a registry now and answer what it found. A registry that cannot be reached or
/// refuses the credentials is marked so (`registry.status`, `registry.last_error`) and
/// keeps what it held before; the answer is still 200.
#[utoipa::path(post, path = "/registries/{id}/sync", tag = "registries", params(("id" = i64, Path)),
    responses((status = 200, body = RegistrySync), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn sync_registry(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RegistrySync>> {
    Ok(Json(manage::sync_registry(&state.app, &by, id).await?))
}

/// Add a registry per `auths` entry of a Docker `config.json` (HTTPS, with the entry's
/// credentials, stored encrypted: 409 without a secret key), in one change. Entries kept
/// by a credential helper, Docker Hub (no catalog), identity tokens and names already
/// taken are skipped, each with why; nothing secret is in the answer.
#[utoipa::path(post, path = "/registries/import", tag = "registries", request_body = DockerConfigImport,
    responses((status = 201, body = ImportedRegistries), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_docker_config(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<DockerConfigImport>,
) -> Result<(StatusCode, Json<ImportedRegistries>)> {
    let imported = manage::import_docker_config(&state.app, &by, input).await?;
    Ok((StatusCode::CREATED, Json(imported)))
}
