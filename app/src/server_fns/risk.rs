//! Risk scores for the overview and the detail pages.

use crate::error::AppError;
use coastguard_model::risk::{RiskBreakdown, RiskEntry, RiskSubject};
use leptos::prelude::*;

/// The riskiest subjects of a kind, worst first.
#[server(prefix = "/ui")]
pub async fn get_risk_ranking(kind: RiskSubject, limit: i64) -> Result<Vec<RiskEntry>, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    ctx::require::<Viewer>()?;
    Ok(ctx::state()?.store.risk_ranking(kind, limit).await?)
}

/// One subject's breakdown; `None` while its score has not been computed yet.
#[server(prefix = "/ui")]
pub async fn get_risk_breakdown(
    kind: RiskSubject,
    id: i64,
) -> Result<Option<RiskBreakdown>, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    use coastguard_core::StoreError;
    ctx::require::<Viewer>()?;
    match ctx::state()?.store.risk_breakdown(kind, id).await {
        Ok(b) => Ok(Some(b)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
