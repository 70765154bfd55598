//! The posture overview, with the admin's policy applied (scan age for coverage); the
//! remediation SLA; daily snapshots and the trends read from them.

use crate::access::audit_by;
use crate::auth::{Admin, Authed};
use crate::error::{Error, Result};
use crate::store::snapshots::{day_start, parse_day, DAY};
use crate::{now, AppState};
use coastguard_model::trends::{SlaPolicy, Trends};
use coastguard_model::Overview;

pub async fn overview(state: &AppState) -> Result<Overview> {
    let policy = crate::docker::collector::policy(state).await;
    Ok(state
        .store
        .overview(policy.scan_max_age_days, now())
        .await?)
}

const SLA_KEY: &str = "sla";

/// The remediation SLA (days per severity) the admin set, or the defaults.
pub async fn sla(state: &AppState) -> SlaPolicy {
    match state.store.setting::<SlaPolicy>(SLA_KEY).await {
        Ok(Some(p)) => p,
        Ok(None) => SlaPolicy::default(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the SLA policy; using defaults");
            SlaPolicy::default()
        }
    }
}

/// Changes the SLA (admin). Today's snapshot is retaken at once; earlier days keep the
/// breaches counted under the SLA of their time.
pub async fn set_sla(state: &AppState, by: &Authed<Admin>, sla: SlaPolicy) -> Result<SlaPolicy> {
    sla.validate()
        .map_err(|(field, message)| Error::invalid_at(field, message))?;
    state
        .store
        .put_setting(SLA_KEY, &sla, &by.principal.name, now())
        .await?;
    state
        .store
        .audit(
            &audit_by(
                by,
                "settings.sla",
                None,
                Some(serde_json::to_value(sla).unwrap_or_default()),
            ),
            now(),
        )
        .await?;
    take_snapshots(state).await?;
    Ok(sla)
}

/// How far back a first run fills in days from the findings' timestamps.
pub const BACKFILL_DAYS: i64 = 90;

/// Today's snapshot, and any day since the last one that is missing.
pub async fn take_snapshots(state: &AppState) -> Result<usize> {
    let policy = crate::docker::collector::policy(state).await;
    let sla = sla(state).await;
    Ok(state
        .store
        .take_due_snapshots(&sla, policy.scan_max_age_days, BACKFILL_DAYS, now())
        .await?)
}

/// Snapshots between two `YYYY-MM-DD` days (default: the last 90 days).
pub async fn trends(state: &AppState, from: Option<&str>, to: Option<&str>) -> Result<Trends> {
    let today = day_start(now());
    let day = |field: &'static str, v: Option<&str>, default: i64| -> Result<i64> {
        match v.filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => parse_day(s).ok_or_else(|| {
                Error::invalid_at(field, format!("'{s}' is not a day: use YYYY-MM-DD"))
            }),
        }
    };
    let to = day("to", to, today)?;
    let from = day("from", from, to - (BACKFILL_DAYS - 1) * DAY)?;
    Ok(state.store.trends(from, to, sla(state).await).await?)
}
