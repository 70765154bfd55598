//! Health, readiness, metrics, the OpenAPI document, the caller, the overview.

use crate::state::ServerState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use coastguard_core::auth::{Authed, Viewer};
use coastguard_core::Result;
use coastguard_model::{ErrorBody, Me, Overview};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `not ready`.
    pub status: String,
    /// Readiness only: `ok` or `unreachable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Liveness: the process is up. Open to everyone.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        database: None,
    })
}

/// Readiness: the database answers. Open to everyone.
#[utoipa::path(get, path = "/readyz", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<ServerState>) -> (StatusCode, Json<Health>) {
    match state.app.store.db().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
                database: Some("ok".into()),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "not ready".into(),
                    database: Some("unreachable".into()),
                }),
            )
        }
    }
}

/// Prometheus metrics (OpenMetrics text): HTTP traffic and posture counts.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"),
              (status = 401, body = ErrorBody)))]
pub async fn metrics(_: Authed<Viewer>, State(state): State<ServerState>) -> Response {
    crate::metrics::render(&state).await
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"),
              (status = 401, body = ErrorBody)))]
pub async fn openapi(_: Authed<Viewer>, State(state): State<ServerState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

/// Who is calling: the signed-in user or the token, with its role.
#[utoipa::path(get, path = "/me", tag = "system",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(who: Authed<Viewer>, State(state): State<ServerState>) -> Json<Me> {
    Json(who.principal.me(state.app.demo))
}

/// Posture at a glance: inventory counts and open findings by severity.
#[utoipa::path(get, path = "/overview", tag = "posture",
    responses((status = 200, body = Overview), (status = 401, body = ErrorBody)))]
pub async fn overview(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Overview>> {
    Ok(Json(coastguard_core::posture::overview(&state.app).await?))
}
