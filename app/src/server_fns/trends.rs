//! The trends page's data and charts.

use crate::error::AppError;
use coastguard_model::trends::TrendsPage;
use leptos::prelude::*;

/// Snapshots between two `YYYY-MM-DD` days (empty: the last 90 days) and every chart.
#[server(prefix = "/ui")]
pub async fn get_trends_page(
    #[server(default)] from: String,
    #[server(default)] to: String,
) -> Result<TrendsPage, AppError> {
    use super::ctx;
    use coastguard_core::auth::Viewer;
    use coastguard_model::trends::Chart;
    ctx::require::<Viewer>()?;
    let state = ctx::state()?;
    let trends = coastguard_core::posture::trends(&state, Some(&from), Some(&to)).await?;
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
    Ok(coastguard_core::posture::take_snapshots(&ctx::state()?).await? as i64)
}
