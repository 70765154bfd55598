//! Runtime alerts: Falco's events and any tool's in Coastguard's schema, in; groups out.

use super::extract::{ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::Json;
use coastguard_core::alerts::{self, store::AlertQuery};
use coastguard_core::auth::{Analyst, Authed, Viewer};
use coastguard_core::{Error, Result};
use coastguard_model::alerts::{AlertDetail, AlertGroup, AlertState, IngestReport, NewAlert};
use coastguard_model::{ErrorBody, Page, Severity};
use serde::Deserialize;

/// A batch is at most 16 MiB (10,000 events of Falco's usual size fit).
const MAX_BODY: usize = 16 * 1024 * 1024;

async fn body_of(request: Request) -> Result<Bytes> {
    axum::body::to_bytes(request.into_body(), MAX_BODY + 1)
        .await
        .map_err(|_| Error::PayloadTooLarge("an alert batch is at most 16 MiB".into()))
}

/// Falco's events: its JSON output as `http_output` posts it (one event, or events one
/// per line) or as Falcosidekick's webhook forwards it. Priorities map onto severities
/// (Emergency, Alert and Critical: critical; Error: high; Warning: medium; Notice: low;
/// Informational and Debug: negligible); rule, tags, source, hostname, output and every
/// `output_fields` entry are kept. Each event is matched to its container
/// (`container.id`), pod (`k8s.ns.name`, `k8s.pod.name`), host (`hostname`) and image
/// (`container.image.digest`), later if the inventory does not know them yet. Accepted
/// events are stored before the answer; lines that cannot be read are named in
/// `rejected` with why, and do not stop the others. 422 when no event could be read.
#[utoipa::path(post, path = "/alerts/falco", tag = "alerts",
    request_body(content = Object, description = "One Falco JSON event, or several one per line (application/x-ndjson)", content_type = "application/json"),
    responses((status = 200, body = IngestReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn falco(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    request: Request,
) -> Result<Json<IngestReport>> {
    let body = body_of(request).await?;
    Ok(Json(
        alerts::ingest(&state.app, &by, &body, alerts::falco::event).await?,
    ))
}

/// Events in Coastguard's own schema, from any tool: one object, a JSON array of them, or
/// one per line. As for Falco's: stored before the answer, matched to the inventory,
/// folded into groups, the lines that cannot be read named with why.
#[utoipa::path(post, path = "/alerts", tag = "alerts", request_body = NewAlert,
    responses((status = 200, body = IngestReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    request: Request,
) -> Result<Json<IngestReport>> {
    let body = body_of(request).await?;
    Ok(Json(
        alerts::ingest(&state.app, &by, &body, alerts::generic).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Only this state; default: the open ones (new and acknowledged).
    state: Option<AlertState>,
    /// Every state, resolved and false positives included (when `state` is not given).
    all: Option<bool>,
    severity: Option<Severity>,
    /// The tool: `falco`, …
    source: Option<String>,
    rule: Option<String>,
    /// Only what happened on this host (id).
    host: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Alert groups (one rule on one container, or one workload's pods, while open), the
/// most recently active first, with a cursor to the next page.
#[utoipa::path(get, path = "/alerts", tag = "alerts", params(AlertsQuery),
    responses((status = 200, body = Page<AlertGroup>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Json<Page<AlertGroup>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid_at("limit", "between 1 and 500"));
    }
    let after = coastguard_model::validate::key_cursor(q.cursor.as_deref().unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    let query = AlertQuery {
        state: q.state,
        all: q.all.unwrap_or(false),
        severity: q.severity,
        source: q.source.filter(|s| !s.is_empty()),
        rule: q.rule.filter(|s| !s.is_empty()),
        host: q.host,
        after,
        limit,
    };
    let (items, next_cursor) = alerts::list(&state.app, &by, &query).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// One alert group and its newest hundred events, each with every field it carried.
#[utoipa::path(get, path = "/alerts/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = AlertDetail), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn detail(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertDetail>> {
    Ok(Json(alerts::detail(&state.app, &by, id).await?))
}
