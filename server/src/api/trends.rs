//! Posture snapshots, trend series, their charts (SVG) and the data behind them (CSV),
//! and the remediation SLA.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coastguard_core::auth::{Admin, Analyst, Authed, Viewer};
use coastguard_core::{charts, posture, Error, Result};
use coastguard_model::trends::{Chart, SlaPolicy, Trends};
use coastguard_model::ErrorBody;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day, `YYYY-MM-DD` (default: 89 days before `to`).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today, UTC).
    to: Option<String>,
    /// Only this host (Docker engine or node id): the images it has or had (pulled or run).
    host: Option<i64>,
    /// Only this team: containers labelled `team=NAME` and their images.
    team: Option<String>,
    /// Only this Kubernetes cluster (id): the images its pods run or ran.
    cluster: Option<i64>,
    /// Only this Kubernetes namespace (id): the images its pods run or ran.
    namespace: Option<i64>,
}

/// Daily posture snapshots over a range (open findings by severity, new and fixed,
/// remediation times, SLA breaches, scan coverage, open alerts), weekly flows and mean
/// time to remediate per severity over the range.
#[utoipa::path(get, path = "/trends", tag = "posture", params(RangeQuery),
    responses((status = 200, body = Trends), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_trends(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Trends>> {
    let scope = posture::scope_of(q.host, q.team.as_deref(), q.cluster, q.namespace)?;
    Ok(Json(
        posture::trends(&state.app, &scope, q.from.as_deref(), q.to.as_deref()).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    from: Option<String>,
    to: Option<String>,
    /// Only this host (id).
    host: Option<i64>,
    /// Only this team (`team` label).
    team: Option<String>,
    /// Only this Kubernetes cluster (id).
    cluster: Option<i64>,
    /// Only this Kubernetes namespace (id).
    namespace: Option<i64>,
    /// `svg` (default) or `csv` (the numbers behind the chart).
    format: Option<String>,
}

/// One chart of the trends page (`open`, `flow`, `mttr`, `sla`, `coverage`) as an SVG
/// drawn on the server, or its data as CSV.
#[utoipa::path(get, path = "/trends/charts/{chart}", tag = "posture",
    params(("chart" = String, Path, description = "open, flow, mttr, sla or coverage"), ChartQuery),
    responses((status = 200, description = "SVG or CSV", content_type = "image/svg+xml"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get_chart(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath(chart): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChartQuery>,
) -> Result<Response> {
    let chart: Chart = chart
        .parse()
        .map_err(|e: String| Error::invalid_at("chart", e))?;
    let csv = match q
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .unwrap_or("svg")
    {
        "svg" => false,
        "csv" => true,
        other => {
            return Err(Error::invalid_at(
                "format",
                format!("unknown format '{other}': use svg or csv"),
            ))
        }
    };
    let scope = posture::scope_of(q.host, q.team.as_deref(), q.cluster, q.namespace)?;
    let t = posture::trends(&state.app, &scope, q.from.as_deref(), q.to.as_deref()).await?;
    if csv {
        // The team name is the user's text: only safe characters reach the header.
        let part: String = t
            .scope
            .param()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = format!(
            "attachment; filename=\"coastguard-{}-{part}-{}-{}.csv\"",
            chart.as_str(),
            t.from,
            t.to
        );
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, name),
            ],
            charts::csv(chart, &t),
        )
            .into_response());
    }
    let svg = charts::svg(chart, &t)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Take today's snapshot of the estate, of every host and of every team now (and fill
/// in missing days) instead of waiting for the job. Returns how many snapshots were
/// written.
#[utoipa::path(post, path = "/snapshots", tag = "posture",
    responses((status = 200, body = i64, content_type = "application/json"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn take_snapshots(
    _: Authed<Analyst>,
    State(state): State<ServerState>,
) -> Result<Json<i64>> {
    Ok(Json(
        posture::take_snapshots(&state.app, true).await? as i64,
    ))
}

/// The remediation SLA: days a finding of each severity may stay open.
#[utoipa::path(get, path = "/settings/sla", tag = "posture",
    responses((status = 200, body = SlaPolicy), (status = 401, body = ErrorBody)))]
pub async fn get_sla(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
) -> Result<Json<SlaPolicy>> {
    Ok(Json(posture::sla(&state.app).await))
}

/// Change the remediation SLA (admin). Today's snapshot is retaken with it.
#[utoipa::path(put, path = "/settings/sla", tag = "posture", request_body = SlaPolicy,
    responses((status = 200, body = SlaPolicy), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_sla(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(sla): ApiJson<SlaPolicy>,
) -> Result<Json<SlaPolicy>> {
    Ok(Json(posture::set_sla(&state.app, &by, sla).await?))
}
