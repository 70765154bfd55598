//! Risk scores and their breakdowns.

use super::extract::{ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::Json;
use coastguard_core::auth::{Authed, Viewer};
use coastguard_core::{Error, Result, StoreError};
use coastguard_model::risk::{RiskBreakdown, RiskEntry, RiskSubject};
use coastguard_model::ErrorBody;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingQuery {
    /// `image` (default), `container`, `host`, `pod`, `workload`, `namespace` or `cluster`.
    kind: Option<String>,
    /// 1–500, default 20.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

fn subject(kind: &str) -> Result<RiskSubject> {
    kind.parse()
        .map_err(|e: String| Error::invalid_at("kind", e))
}

/// The riskiest subjects of a kind, worst first. Only subjects with a score above 0 are
/// listed. Scores are recomputed within seconds of a change to what they depend on.
#[utoipa::path(get, path = "/risk", tag = "risk", params(RankingQuery),
    responses((status = 200, body = Vec<RiskEntry>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn ranking(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<RankingQuery>,
) -> Result<Json<Vec<RiskEntry>>> {
    let kind = subject(
        q.kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("image"),
    )?;
    Ok(Json(
        state
            .app
            .store
            .risk_ranking(kind, q.limit.unwrap_or(20))
            .await?,
    ))
}

/// One subject's score with its breakdown: every factor with its weight, points, share
/// and the findings behind it, and the package fixes that would lower it most.
#[utoipa::path(get, path = "/risk/{kind}/{id}", tag = "risk",
    params(("kind" = String, Path, description = "image, container, host, ..."), ("id" = i64, Path)),
    responses((status = 200, body = RiskBreakdown), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn breakdown(
    _: Authed<Viewer>,
    State(state): State<ServerState>,
    ApiPath((kind, id)): ApiPath<(String, i64)>,
) -> Result<Json<RiskBreakdown>> {
    let kind = subject(&kind)?;
    match state.app.store.risk_breakdown(kind, id).await {
        Ok(b) => Ok(Json(b)),
        Err(StoreError::NotFound) => Err(Error::NotFound(format!(
            "no score for {} {id} (it does not exist, or scores are being computed)",
            kind.as_str()
        ))),
        Err(e) => Err(e.into()),
    }
}
