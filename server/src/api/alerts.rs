//! Runtime alerts: Falco's events and any tool's in Coastguard's schema, in; groups out.

use super::extract::{ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use coastguard_core::alerts;
use coastguard_core::auth::{Analyst, Authed, Ingest, Viewer};
use coastguard_core::live::Live;
use coastguard_core::{Error, Result};
use coastguard_model::alerts::{
    AlertDetail, AlertFeedEvent, AlertFilter, AlertGroup, AlertState, AlertTriage, DetectorView,
    IngestReport, NewAlert,
};
use coastguard_model::{ErrorBody, Page, Severity};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

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
/// Sent with a token of the `ingest` role (it sends events and reads nothing), or an
/// analyst's or admin's; an ingest token may also come in `X-Coastguard-Ingest-Key`,
/// for senders that can add a header but not `Authorization`.
#[utoipa::path(post, path = "/alerts/falco", tag = "alerts",
    security(("bearer" = []), ("session" = []), ("ingest_key" = [])),
    request_body(content = Object, description = "One Falco JSON event, or several one per line (application/x-ndjson)", content_type = "application/json"),
    responses((status = 200, body = IngestReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn falco(
    by: Authed<Ingest>,
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
    security(("bearer" = []), ("session" = []), ("ingest_key" = [])),
    responses((status = 200, body = IngestReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn post(
    by: Authed<Ingest>,
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
    /// Only the open groups an exception covers: kept and countable, but out of the
    /// queue (the default list leaves them out).
    suppressed: Option<bool>,
    severity: Option<Severity>,
    /// The tool: `falco`, …
    source: Option<String>,
    rule: Option<String>,
    /// Only what happened on this host (id).
    host: Option<i64>,
    /// Only what happened in this cluster's pods (id).
    cluster: Option<i64>,
    /// Only what happened in this Kubernetes namespace.
    namespace: Option<String>,
    /// Only the groups assigned to this user; `none`: the unassigned ones.
    assignee: Option<String>,
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
    let filter = AlertFilter {
        state: match (q.state, q.all, q.suppressed) {
            (Some(s), _, _) => Some(s.as_str().to_string()),
            (None, _, Some(true)) => Some("suppressed".into()),
            (None, Some(true), _) => Some("all".into()),
            (None, _, _) => None,
        },
        severity: q.severity,
        source: q.source,
        rule: q.rule,
        host: q.host,
        cluster: q.cluster,
        namespace: q.namespace,
        assignee: q.assignee,
        cursor: q.cursor,
    };
    let query = alerts::query(&filter, q.limit.unwrap_or(50))?;
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

/// One triage action on a group: move it (new → acknowledged → resolved or
/// false_positive; a closed group is reopened by acknowledging it), assign it (a user's
/// name; `""` unassigns), comment on it; at least one. Acknowledging an unassigned group
/// assigns it to whoever acknowledged; a false positive needs a comment saying why. One
/// commit with its audit record and a row of the group's activity; every open stream
/// sees the change. 409 when the move is not possible from where the group is, or the
/// group changed meanwhile.
#[utoipa::path(post, path = "/alerts/{id}/triage", tag = "alerts", params(("id" = i64, Path)), request_body = AlertTriage,
    responses((status = 200, body = AlertGroup), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn triage(
    by: Authed<Analyst>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    super::extract::ApiJson(t): super::extract::ApiJson<AlertTriage>,
) -> Result<Json<AlertGroup>> {
    Ok(Json(alerts::triage(&state.app, &by, id, t).await?))
}

/// How long one stream stays open: the client reconnects (`EventSource` does by itself),
/// which checks its session again.
const STREAM_LIFE: Duration = Duration::from_secs(15 * 60);

/// The alert queue, live (server-sent events): `ready` first, then `changed` with a
/// group's state whenever one is made or changes (new events, triage) on any replica,
/// and `resync` when changes may have been missed (read the list again). Each event's
/// data is an `AlertFeedEvent` as JSON. Comments keep the connection alive; the stream
/// ends after 15 minutes and the client reconnects.
#[utoipa::path(get, path = "/alerts/stream", tag = "alerts",
    responses((status = 200, description = "Server-sent events; each data line is an AlertFeedEvent", content_type = "text/event-stream", body = AlertFeedEvent),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stream(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    let receiver = state.app.alert_feed.subscribe().await;
    let ready = futures::stream::once(async { vec![AlertFeedEvent::Ready] });
    let app = state.app.clone();
    let changes = futures::stream::unfold(receiver, move |mut receiver| {
        let app = app.clone();
        let by = by.as_viewer();
        async move {
            let events = match receiver.recv().await {
                Ok(Live::Changed(ids)) => match alerts::groups(&app, &by, &ids).await {
                    Ok(groups) => groups
                        .into_iter()
                        .map(|group| AlertFeedEvent::Changed {
                            group: Box::new(group),
                        })
                        .collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "alert stream: reading changed groups failed");
                        vec![AlertFeedEvent::Resync]
                    }
                },
                Ok(Live::Resync) | Err(RecvError::Lagged(_)) => vec![AlertFeedEvent::Resync],
                Err(RecvError::Closed) => return None,
            };
            Some((events, receiver))
        }
    });
    // Well within the request timeout, which ends a body that stays silent for it.
    let quiet =
        Duration::from_secs((state.app.settings.request_timeout_seconds as u64 / 2).clamp(1, 10));
    let events = ready
        .chain(changes)
        .flat_map(|batch| futures::stream::iter(batch.into_iter().map(|e| sse_event(&e))))
        .take_until(tokio::time::sleep(STREAM_LIFE));
    Sse::new(events).keep_alive(KeepAlive::new().interval(quiet))
}

fn sse_event(e: &AlertFeedEvent) -> std::result::Result<Event, Infallible> {
    let name = match e {
        AlertFeedEvent::Ready => "ready",
        AlertFeedEvent::Changed { .. } => "changed",
        AlertFeedEvent::Resync => "resync",
    };
    Ok(Event::default()
        .event(name)
        .data(serde_json::to_string(e).expect("feed events serialize")))
}

/// Coastguard's built-in runtime detectors on Docker engines' events (source
/// `coastguard`): each one's rule id, severity and what it sees, and whether it is on
/// (the image policy's `disabled_detectors` switches them off).
#[utoipa::path(get, path = "/alerts/detectors", tag = "alerts",
    responses((status = 200, body = Vec<DetectorView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn detectors(
    by: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<Vec<DetectorView>>> {
    Ok(Json(alerts::detectors(&state.app, &by).await?))
}
