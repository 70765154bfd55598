//! The posture overview, with the admin's policy applied (scan age for coverage).

use crate::error::Result;
use crate::{now, AppState};
use coastguard_model::Overview;

pub async fn overview(state: &AppState) -> Result<Overview> {
    let policy = crate::docker::collector::policy(state).await;
    Ok(state
        .store
        .overview(policy.scan_max_age_days, now())
        .await?)
}
