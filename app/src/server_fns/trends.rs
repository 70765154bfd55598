//! The trends page's data and charts.

use crate::error::AppError;
use coastguard_model::trends::TrendsPage;
use leptos::prelude::*;

/// Snapshots of a scope (`global`, `host:ID`, `team:NAME`; empty: the whole estate)
/// between two `YYYY-MM-DD` days (empty: the last 90 days) and every chart.
#[server(prefix = "/ui")]
pub async fn get_trends_page(
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] scope: String,
) -> Result<TrendsPage, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    use coastguard_core::posture::snapshots::Scope;
    use coastguard_model::trends::Chart;
    ctx::require::<Viewer>()?;
    let state = ctx::state()?;
    let scope = Scope::parse(&scope).map_err(|e| coastguard_core::Error::invalid_at("scope", e))?;
    let trends = coastguard_core::posture::trends(&state, &scope, Some(&from), Some(&to)).await?;
    let charts = Chart::ALL
        .into_iter()
        .map(|c| coastguard_core::charts::svg(c, &trends).map(|svg| (c, svg)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrendsPage { trends, charts })
}

/// Takes today's snapshot now (analysts); returns how many days were written.
#[server(prefix = "/ui")]
pub async fn take_snapshot_now() -> Result<i64, AppError> {
    use super::ctx;
    use coastguard_core::auth::Analyst;
    ctx::require::<Analyst>()?;
    Ok(coastguard_core::posture::take_snapshots(&ctx::state()?, true).await? as i64)
}

/// The remediation SLA (days per severity).
#[server(prefix = "/ui")]
pub async fn get_sla() -> Result<coastguard_model::trends::SlaPolicy, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    ctx::require::<Viewer>()?;
    Ok(coastguard_core::posture::sla(&ctx::state()?).await)
}

/// Changes the SLA (admins); numbers come as form text.
#[server(prefix = "/ui")]
pub async fn set_sla(
    critical_days: String,
    high_days: String,
    medium_days: String,
    low_days: String,
) -> Result<coastguard_model::trends::SlaPolicy, AppError> {
    use super::ctx;
    use coastguard_core::auth::Admin;
    let by = ctx::require::<Admin>()?;
    let number = ctx::whole_number;
    let sla = coastguard_model::trends::SlaPolicy {
        critical_days: number("critical_days", &critical_days)?,
        high_days: number("high_days", &high_days)?,
        medium_days: number("medium_days", &medium_days)?,
        low_days: number("low_days", &low_days)?,
    };
    Ok(coastguard_core::posture::set_sla(&ctx::state()?, &by, sla).await?)
}
