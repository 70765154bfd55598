//! Exceptions: the list, one with its history, and the analysts' and admins' actions.

// The form's fields are the server function's arguments, one each; the macro's client
// half repeats them where an attribute on the function cannot reach.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use coastguard_model::exceptions::{ExceptionDetail, ExceptionPolicy, ExceptionView};
use coastguard_model::Page;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ctx,
    coastguard_core::auth::{Admin, Analyst, Viewer},
    coastguard_core::exceptions as manage,
    coastguard_model::exceptions::ExceptionDecision,
};

#[server(prefix = "/ui")]
pub async fn list_exceptions(
    kind: String,
    status: String,
    owner: String,
    cursor: String,
) -> Result<Page<ExceptionView>, AppError> {
    let by = ctx::require::<Viewer>()?;
    let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let q = coastguard_model::exceptions::ExceptionQuery {
        kind: some(kind),
        status: some(status),
        owner: some(owner),
        cursor: some(cursor),
        limit: Some(100),
    };
    Ok(manage::list(&ctx::state()?, &by, &q).await?)
}

#[server(prefix = "/ui")]
pub async fn get_exception(id: i64) -> Result<ExceptionDetail, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::get(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn read_exception_policy() -> Result<ExceptionPolicy, AppError> {
    let by = ctx::require::<Viewer>()?;
    Ok(manage::policy(&ctx::state()?, &by).await?)
}

/// From the form: blank fields are absent; numbers as typed (checked on the server).
#[server(prefix = "/ui")]
pub async fn create_exception(
    kind: String,
    target: String,
    verdict: String,
    image_id: String,
    package: String,
    finding_id: String,
    host: String,
    cluster: String,
    namespace: String,
    workload: String,
    reason: String,
    owner: String,
    expires_in_days: String,
) -> Result<i64, AppError> {
    use coastguard_model::exceptions::{ExceptionKind, NewException, Verdict};
    let by = ctx::require::<Analyst>()?;
    let some = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let number = |field: &str, s: String| -> Result<Option<i64>, AppError> {
        some(s).map(|v| ctx::whole_number(field, &v)).transpose()
    };
    let input = NewException {
        kind: ExceptionKind::parse(kind.trim()).ok_or_else(|| AppError::Invalid {
            message: "choose what kind of report it covers".into(),
            field: Some("kind".into()),
        })?,
        target,
        verdict: Verdict::parse(verdict.trim()),
        image_id: number("image_id", image_id)?,
        package: some(package),
        finding_id: number("finding_id", finding_id)?,
        host: some(host),
        cluster: some(cluster),
        namespace: some(namespace),
        workload: some(workload),
        reason,
        owner: some(owner),
        expires_in_days: number("expires_in_days", expires_in_days)?,
    };
    Ok(manage::create(&ctx::state()?, &by, input).await?.0)
}

/// `decision`: `approve`, `reject` or `revoke`; a blank note is none.
#[server(prefix = "/ui")]
pub async fn decide_exception(id: i64, decision: String, note: String) -> Result<(), AppError> {
    let by = ctx::require::<Analyst>()?;
    let state = ctx::state()?;
    let input = ExceptionDecision {
        note: Some(note).filter(|n| !n.trim().is_empty()),
    };
    match decision.as_str() {
        "approve" => manage::approve(&state, &by, id, input).await?,
        "reject" => manage::reject(&state, &by, id, input).await?,
        _ => manage::revoke(&state, &by, id, input).await?,
    }
    Ok(())
}

/// The policy form: the least severity that needs an expiry (blank: none), and a
/// checkbox per severity that needs a second analyst.
#[server(prefix = "/ui")]
pub async fn set_exception_policy(
    expiry_from: String,
    approve_critical: Option<String>,
    approve_high: Option<String>,
    approve_medium: Option<String>,
    approve_low: Option<String>,
) -> Result<ExceptionPolicy, AppError> {
    use coastguard_model::Severity;
    let by = ctx::require::<Admin>()?;
    let approval = [
        (approve_critical, Severity::Critical),
        (approve_high, Severity::High),
        (approve_medium, Severity::Medium),
        (approve_low, Severity::Low),
    ]
    .into_iter()
    .filter_map(|(ticked, s)| ticked.map(|_| s))
    .collect();
    let policy = ExceptionPolicy {
        expiry_from: Some(expiry_from.trim())
            .filter(|s| !s.is_empty())
            .map(Severity::normalise),
        approval,
    };
    Ok(manage::set_policy(&ctx::state()?, &by, policy).await?)
}
