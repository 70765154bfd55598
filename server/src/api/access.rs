//! Users and API tokens (admin only).

use super::extract::{ApiJson, ApiPath};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::access;
use coastguard_core::auth::{Admin, Authed};
use coastguard_core::{Error, Result};
use coastguard_model::{
    ErrorBody, NewToken, NewUser, Page, PasswordReset, TokenRequest, TokenView, UserPatch, UserView,
};

/// All users.
#[utoipa::path(get, path = "/users", tag = "access",
    responses((status = 200, body = Page<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    by: Authed<Admin>,
    State(state): State<ServerState>,
) -> Result<Json<Page<UserView>>> {
    let items = access::list_users(&state.app, &by).await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create a user.
#[utoipa::path(post, path = "/users", tag = "access", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody, description = "name taken"),
              (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_user(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>)> {
    Ok((
        StatusCode::CREATED,
        Json(access::create_user(&state.app, &by, input).await?),
    ))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "access", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_user(
    _: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UserView>> {
    match state.app.store.user(id).await {
        Ok(user) => Ok(Json(user.view())),
        Err(coastguard_core::StoreError::NotFound) => {
            Err(Error::NotFound(format!("no user with id {id}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Change a user's role or disable/enable them. Disabling ends their sessions.
#[utoipa::path(patch, path = "/users/{id}", tag = "access", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_user(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserView>> {
    Ok(Json(
        access::update_user(&state.app, &by, id, patch.role, patch.disabled).await?,
    ))
}

/// Delete a user. Their tokens stay (attributed to nobody); revoke them separately.
#[utoipa::path(delete, path = "/users/{id}", tag = "access", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn delete_user(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    access::delete_user(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a new password for a user; their sessions end.
#[utoipa::path(put, path = "/users/{id}/password", tag = "access", params(("id" = i64, Path)), request_body = PasswordReset,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reset_password(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PasswordReset>,
) -> Result<StatusCode> {
    access::reset_password(&state.app, &by, id, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// All API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", tag = "access",
    responses((status = 200, body = Page<TokenView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    by: Authed<Admin>,
    State(state): State<ServerState>,
) -> Result<Json<Page<TokenView>>> {
    let items = access::list_tokens(&state.app, &by).await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create an API token. The response holds its secret: the only time it is shown.
#[utoipa::path(post, path = "/tokens", tag = "access", request_body = TokenRequest,
    responses((status = 201, body = NewToken), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_token(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>)> {
    let created =
        access::create_token(&state.app, &by, &req.name, req.role, req.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke an API token. It stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "access", params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke_token(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TokenView>> {
    Ok(Json(access::revoke_token(&state.app, &by, id).await?))
}
