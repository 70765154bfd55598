//! Runtime alerts: the queue, one group, triage. The REST API calls the same
//! `coastguard_core::alerts` functions.

use crate::error::AppError;
use coastguard_model::alerts::{AlertDetail, AlertFilter, AlertGroup, DetectorView};
use coastguard_model::Page;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::alerts,
    coastguard_core::auth::{Analyst, Viewer},
    coastguard_model::alerts::AlertTriage,
};

/// Groups the alerts page shows at once.
pub const PAGE: i64 = 100;

#[server(prefix = "/ui")]
pub async fn list_alerts(
    // An empty filter encodes to nothing at all: default it, or a browser refetch fails.
    #[server(default)] filter: AlertFilter,
) -> Result<Page<AlertGroup>, AppError> {
    let by = ctx::require::<Viewer>()?;
    let query = alerts::query(&filter, PAGE)?;
    let (items, next_cursor) = alerts::list(&ctx::state()?, &by, &query).await?;
    Ok(Page { items, next_cursor })
}

#[server(prefix = "/ui")]
pub async fn get_alert(id: i64) -> Result<AlertDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(alerts::detail(&ctx::state()?, &by, id).await?)
}

/// One triage action; blank fields change nothing. The assignee changes when it differs
/// from `assignee_was` (what the form showed): emptied, the group is unassigned.
#[server(prefix = "/ui")]
pub async fn triage_alert(
    id: i64,
    #[server(default)] state: String,
    #[server(default)] assignee: String,
    #[server(default)] assignee_was: String,
    #[server(default)] comment: String,
) -> Result<AlertGroup, AppError> {
    let by = ctx::require::<Analyst>()?;
    let state = match state.trim() {
        "" => None,
        s => Some(
            coastguard_model::alerts::AlertState::parse(s).ok_or_else(|| AppError::Invalid {
                message: format!("unknown state {s:?}"),
                field: Some("state".into()),
            })?,
        ),
    };
    let t = AlertTriage {
        state,
        assignee: (assignee.trim() != assignee_was.trim()).then_some(assignee),
        comment: Some(comment).filter(|c| !c.trim().is_empty()),
    };
    Ok(alerts::triage(&ctx::state()?, &by, id, t).await?)
}

#[server(prefix = "/ui")]
pub async fn list_detectors() -> Result<Vec<DetectorView>, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(alerts::detectors(&ctx::state()?, &by).await?)
}
