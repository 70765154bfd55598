//! The older ways in — a vulnerability suppression (`/suppressions`) and a
//! configuration finding's risk acceptance (`/config-findings/{id}/acceptance`) — made
//! into exceptions of the one model, under the same policy.

use super::{create_at, end_now, not_found};
use crate::auth::{Analyst, Authed};
use crate::error::{Error, Result};
use crate::{now, AppState, StoreError};
use coastguard_model::exceptions::{ExceptionKind, ExceptionStatus, NewException, Verdict};
use coastguard_model::inventory::AcceptRisk;
use coastguard_model::vulns::{NewSuppression, SuppressionKind};

/// A suppression is a vulnerability exception; returns its id.
pub async fn create_suppression(
    state: &AppState,
    by: &Authed<Analyst>,
    input: NewSuppression,
) -> Result<i64> {
    create_suppression_at(state, by, input, now()).await
}

/// [`create_suppression`] as of `at` (the demo estate replays an analyst's past decisions).
pub async fn create_suppression_at(
    state: &AppState,
    by: &Authed<Analyst>,
    input: NewSuppression,
    at: i64,
) -> Result<i64> {
    let exception = NewException {
        kind: ExceptionKind::Vulnerability,
        target: input.vuln_id,
        verdict: match input.kind {
            SuppressionKind::Accepted => Verdict::Accepted,
            SuppressionKind::NotAffected => Verdict::NotAffected,
        },
        image_id: input.image_id,
        package: input.pkg_name,
        finding_id: None,
        host: None,
        cluster: None,
        namespace: None,
        workload: None,
        reason: input.justification,
        owner: None,
        expires_in_days: input.expires_in_days,
    };
    let (id, _) = create_at(state, by, exception, at)
        .await
        .map_err(|e| match e {
            // The older names of the fields.
            Error::Invalid { message, location } => Error::Invalid {
                message,
                location: location.map(|l| match l.as_str() {
                    "target" => "vuln_id".to_string(),
                    "reason" => "justification".to_string(),
                    "package" => "pkg_name".to_string(),
                    _ => l,
                }),
            },
            other => other,
        })?;
    Ok(id)
}

/// Revokes a vulnerability exception.
pub async fn revoke_suppression(state: &AppState, by: &Authed<Analyst>, id: i64) -> Result<()> {
    let (exception, _) = state
        .store
        .exception(id, now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Error::NotFound(format!("no suppression with id {id}")),
            other => other.into(),
        })?;
    if exception.kind != ExceptionKind::Vulnerability {
        return Err(Error::NotFound(format!("no suppression with id {id}")));
    }
    // Revoking a suppression that no longer holds is done already (as it always was).
    match exception.status {
        ExceptionStatus::Active | ExceptionStatus::Pending => {
            end_now(state, by, id, None, false).await
        }
        _ => Ok(()),
    }
}

/// Accepting a configuration finding's risk is an exception for its check on its subject.
pub async fn accept_finding(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    input: AcceptRisk,
) -> Result<ExceptionStatus> {
    accept_finding_at(state, by, id, input, now()).await
}

/// [`accept_finding`] as of `at`.
pub async fn accept_finding_at(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    input: AcceptRisk,
    at: i64,
) -> Result<ExceptionStatus> {
    let finding = state
        .store
        .config_finding_subject(id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Error::NotFound(format!("no finding with id {id}")),
            other => other.into(),
        })?;
    if finding.state == "resolved" {
        return Err(Error::Conflict(
            "a resolved finding can't be accepted".into(),
        ));
    }
    let exception = NewException {
        kind: ExceptionKind::Configuration,
        target: finding.check_id,
        verdict: Verdict::Accepted,
        image_id: None,
        package: None,
        finding_id: Some(id),
        host: None,
        cluster: None,
        namespace: None,
        workload: None,
        reason: input.reason,
        owner: None,
        expires_in_days: input.expires_in_days,
    };
    Ok(create_at(state, by, exception, at).await?.1)
}

/// Withdraws a finding's acceptance: the exception that accepted it is revoked.
pub async fn unaccept_finding(state: &AppState, by: &Authed<Analyst>, id: i64) -> Result<()> {
    let finding = state
        .store
        .config_finding_subject(id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Error::NotFound(format!("no finding with id {id}")),
            other => other.into(),
        })?;
    match (finding.state.as_str(), finding.exception_id) {
        ("accepted", Some(exception)) => {
            end_now(state, by, exception, None, false)
                .await
                .map_err(|e| match e {
                    Error::NotFound(_) => not_found(exception)(StoreError::NotFound),
                    other => other,
                })
        }
        _ => Err(Error::Conflict("the finding is not accepted".into())),
    }
}
