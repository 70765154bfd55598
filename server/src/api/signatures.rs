//! Image signatures: the keys trusted for cosign signatures (admins change them; anyone
//! signed in reads them, they are public keys), and checking an image now.

use super::extract::{ApiJson, ApiPath};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::signatures::{checks, trust};
use coastguard_core::Result;
use coastguard_model::signatures::{ImageSignature, NewSigningKey, SigningKeyView};
use coastguard_model::{ErrorBody, Page};

/// The public keys trusted for cosign signatures, by name.
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

/// Trust a public key (ECDSA P-256/P-384, Ed25519 or RSA, PEM) for the images its scope
/// names. A private key, a certificate or a key already trusted is refused.
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

/// Stop trusting a key.
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

/// Check an image's signatures now, in the registry that names it by digest, with the
/// keys whose scope covers its repository; answers the outcome, which the image's detail
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
