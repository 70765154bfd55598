//! Suppressions: analysts accept a risk or state that a vulnerability does not affect an
//! image or package. Findings stay visible, leave the open counts, and come back when a
//! suppression expires or is revoked.

use crate::access::audit_by;
use crate::auth::{Analyst, Authed};
use crate::error::{Error, Result};
use crate::scans::vulns::NewSuppressionRow;
use crate::{now, AppState, StoreError};
use coastguard_model::validate;
use coastguard_model::vulns::NewSuppression;
use serde_json::json;

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
    let vuln_id = validate::word(&input.vuln_id).ok_or_else(|| {
        Error::invalid_at(
            "vuln_id",
            "give one vulnerability id of at most 200 characters, like CVE-2024-1234",
        )
    })?;
    let justification = validate::text("a justification", &input.justification)
        .map_err(|e| Error::invalid_at("justification", e))?;
    let justification = justification.as_str();
    let expires_at = match input.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(at + d * 86_400),
        Some(_) => {
            return Err(Error::invalid_at(
                "expires_in_days",
                "must be between 1 and 3650 days",
            ))
        }
    };
    if let Some(image) = input.image_id {
        if !state.store.image_exists(image).await? {
            // Like a path naming no image: the request is well formed, its subject absent.
            return Err(Error::NotFound(format!("no image with id {image}")));
        }
    }
    let pkg = input
        .pkg_name
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let mut w = state.store.begin().await?;
    let id = w
        .create_suppression(
            &NewSuppressionRow {
                vuln_id,
                image_id: input.image_id,
                pkg_name: pkg,
                kind: input.kind.as_str(),
                justification,
                source: "manual",
                created_by: &by.principal.name,
                expires_at,
            },
            at,
        )
        .await?;
    let record = audit_by(
        by,
        "suppression.create",
        Some(format!("suppression:{id}")),
        Some(
            json!({ "vuln_id": vuln_id, "image_id": input.image_id, "pkg_name": pkg,
                     "kind": input.kind.as_str(), "justification": justification, "expires_at": expires_at }),
        ),
    );
    // The findings it suppresses change with it, in the same commit.
    w.apply_suppressions(input.image_id, at).await?;
    w.commit_with(&record, at).await?;
    Ok(id)
}

pub async fn revoke_suppression(state: &AppState, by: &Authed<Analyst>, id: i64) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    w.revoke_suppression(id, at).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound(format!("no suppression with id {id}")),
        other => other.into(),
    })?;
    let record = audit_by(
        by,
        "suppression.revoke",
        Some(format!("suppression:{id}")),
        None,
    );
    w.apply_suppressions(None, at).await?;
    w.commit_with(&record, at).await?;
    Ok(())
}

/// Scans received, newest first; `image` narrows to one image's scan history. `cursor`
/// is the `next_cursor` of the previous page.
pub async fn list_scans(
    state: &AppState,
    image: Option<i64>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<coastguard_model::Page<coastguard_model::vulns::ScanView>> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid_at(
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    let before = validate::id_cursor(cursor.unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    Ok(state.store.list_scans(image, before, limit).await?)
}
