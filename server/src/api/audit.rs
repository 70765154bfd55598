//! The audit log (admin only).

use super::extract::ApiQuery;
use crate::state::ServerState;
use axum::extract::State;
use axum::Json;
use coastguard_core::auth::{Admin, Authed};
use coastguard_core::{Error, Result};
use coastguard_model::{AuditEntry, ErrorBody, Page};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Cursor from the previous page's `next_cursor`.
    cursor: Option<String>,
    /// Entries per page, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    _: Authed<Admin>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid_at(
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    let before = coastguard_model::validate::id_cursor(q.cursor.as_deref().unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    Ok(Json(state.app.store.list_audit(before, limit).await?))
}
