//! Exceptions: one way to accept or dismiss a vulnerability, a configuration finding or
//! a runtime rule, with a reason, an owner, an expiry the policy may require and a
//! second analyst's approval it may ask for. Made, approved, rejected and revoked by
//! analysts; each action is one commit with its history step and audit record, and
//! moves what the exception covers in or out of the queues in that same commit.

pub mod compat;
pub mod store;

use crate::access::audit_by;
use crate::auth::{Admin, Analyst, Authed, Viewer};
use crate::error::{Error, Result};
use crate::{now, validate_field, AppState, StoreError};
use coastguard_model::exceptions::{
    ExceptionDecision, ExceptionDetail, ExceptionKind, ExceptionPolicy, ExceptionQuery,
    ExceptionStatus, NewException, Verdict, LIST_STATUSES, MAX_DAYS,
};
use coastguard_model::{validate, Page, Severity};
use serde_json::json;
use store::{ListQuery, NewExceptionRow, POLICY_KEY};

/// The worst of the severities an exception would cover; unknown when nothing is known.
pub fn worst(severities: &[Severity]) -> Severity {
    severities
        .iter()
        .copied()
        .max_by_key(|s| s.rank())
        .unwrap_or(Severity::Unknown)
}

/// An optional scope word: trimmed, empty as absent, at most 200 characters.
fn scope_word(field: &str, raw: &Option<String>) -> Result<Option<String>> {
    match raw.as_deref() {
        None => Ok(None),
        Some(raw) => {
            validate::scope_name(raw).map_err(|e| Error::invalid_at(field, format!("{field}: {e}")))
        }
    }
}

/// What an exception names: a vulnerability id or check id is one word; a runtime rule
/// is named as its events name it (Falco's have spaces): 1–200 characters, trimmed,
/// without control characters.
fn target_of(kind: ExceptionKind, raw: &str) -> Result<&str> {
    let ok = match kind {
        ExceptionKind::Vulnerability | ExceptionKind::Configuration => validate::word(raw),
        ExceptionKind::Runtime => Some(raw.trim())
            .filter(|t| (1..=200).contains(&t.chars().count()) && !t.chars().any(char::is_control)),
    };
    ok.ok_or_else(|| {
        let what = match kind {
            ExceptionKind::Runtime => "give the rule's name as its alerts give it: 1 to 200 characters, without control characters".to_string(),
            _ => format!("give one {} of at most 200 characters, without spaces", kind.target_label()),
        };
        Error::invalid_at("target", what)
    })
}

/// Which scope fields a kind of exception takes.
fn check_scope(input: &NewException) -> Result<()> {
    let given = [
        ("image_id", input.image_id.is_some()),
        ("package", input.package.is_some()),
        ("finding_id", input.finding_id.is_some()),
        ("host", input.host.is_some()),
        ("cluster", input.cluster.is_some()),
        ("namespace", input.namespace.is_some()),
        ("workload", input.workload.is_some()),
    ];
    let takes: &[&str] = match input.kind {
        ExceptionKind::Vulnerability => &["image_id", "package"],
        ExceptionKind::Configuration => &["finding_id", "cluster"],
        ExceptionKind::Runtime => &["image_id", "host", "cluster", "namespace", "workload"],
    };
    let stray = given
        .iter()
        .find(|(field, present)| *present && !takes.contains(field))
        .map(|(field, _)| field);
    if let Some(field) = stray {
        return Err(Error::invalid_at(
            *field,
            format!(
                "a {} exception is not scoped by {field}",
                input.kind.as_str()
            ),
        ));
    }
    if input.kind == ExceptionKind::Runtime && input.verdict == Verdict::NotAffected {
        return Err(Error::invalid_at(
            "verdict",
            "a runtime rule's exception is accepted or a false positive",
        ));
    }
    Ok(())
}

/// Makes an exception. It takes effect at once, or waits for a second analyst where the
/// policy asks for one at the severity of what it covers; an expiry is required where the
/// policy says. Returns its id and status.
pub async fn create(
    state: &AppState,
    by: &Authed<Analyst>,
    input: NewException,
) -> Result<(i64, ExceptionStatus)> {
    create_at(state, by, input, now()).await
}

/// [`create`] as of `at` (the demo estate replays an analyst's past decisions).
pub async fn create_at(
    state: &AppState,
    by: &Authed<Analyst>,
    input: NewException,
    at: i64,
) -> Result<(i64, ExceptionStatus)> {
    check_scope(&input)?;
    let target = target_of(input.kind, &input.target)?;
    let reason = validate_field("reason", validate::text("a reason", &input.reason))?;
    let package = scope_word("package", &input.package)?;
    let host = scope_word("host", &input.host)?;
    let cluster = scope_word("cluster", &input.cluster)?;
    let namespace = scope_word("namespace", &input.namespace)?;
    let workload = scope_word("workload", &input.workload)?;
    let owner = match scope_word("owner", &input.owner)? {
        None => by.principal.name.clone(),
        Some(o) if o == by.principal.name => o,
        Some(o) => {
            if state.store.user_by_name(&o).await?.is_none() {
                return Err(Error::invalid_at(
                    "owner",
                    format!("no user is called '{o}': the owner is a user"),
                ));
            }
            o
        }
    };
    let expires_at = match input.expires_in_days {
        None => None,
        Some(d) if (1..=MAX_DAYS).contains(&d) => Some(at + d * 86_400),
        Some(_) => {
            return Err(Error::invalid_at(
                "expires_in_days",
                format!("must be between 1 and {MAX_DAYS} days"),
            ))
        }
    };
    if let Some(image) = input.image_id {
        if !state.store.image_exists(image).await? {
            return Err(Error::NotFound(format!("no image with id {image}")));
        }
    }
    let subject = match input.finding_id {
        None => None,
        Some(id) => {
            let finding = state
                .store
                .config_finding_subject(id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        Error::NotFound(format!("no configuration finding with id {id}"))
                    }
                    other => other.into(),
                })?;
            if finding.check_id != target {
                return Err(Error::invalid_at(
                    "finding_id",
                    format!(
                        "finding {id} is of check {}, not {target}",
                        finding.check_id
                    ),
                ));
            }
            Some(finding)
        }
    };
    let severity = worst(
        &state
            .store
            .covered_severities(
                input.kind,
                target,
                input.image_id,
                package.as_deref(),
                subject
                    .as_ref()
                    .map(|f| (f.subject_kind.as_str(), f.subject_id, f.instance.as_str())),
            )
            .await?,
    );
    let policy = state.store.exception_policy().await?;
    let needs = policy.requirements(severity);
    if needs.expiry && expires_at.is_none() {
        return Err(Error::invalid_at(
            "expires_in_days",
            format!(
                "an exception for {} items needs an expiry (the policy: {})",
                severity.as_str(),
                policy.describe()
            ),
        ));
    }
    let mut w = state.store.begin().await?;
    let id = w
        .insert_exception(
            &NewExceptionRow {
                kind: input.kind,
                target,
                verdict: input.verdict,
                image_id: input.image_id,
                package: package.as_deref(),
                subject: subject
                    .as_ref()
                    .map(|f| (f.subject_kind.as_str(), f.subject_id, f.instance.as_str())),
                host: host.as_deref(),
                cluster: cluster.as_deref(),
                namespace: namespace.as_deref(),
                workload: workload.as_deref(),
                severity,
                reason: &reason,
                owner: &owner,
                created_by: &by.principal.name,
                expires_at,
                effective: !needs.approval,
            },
            at,
        )
        .await?;
    if !needs.approval {
        apply_kind(&mut w, input.kind, input.image_id, at).await?;
        w.touch_matched(at).await?;
    }
    let status = if needs.approval {
        ExceptionStatus::Pending
    } else {
        ExceptionStatus::Active
    };
    let record = audit_by(
        by,
        "exception.create",
        Some(format!("exception:{id}")),
        Some(json!({
            "kind": input.kind.as_str(), "target": target, "verdict": input.verdict.as_str(),
            "image_id": input.image_id, "package": package, "finding_id": input.finding_id,
            "host": host, "cluster": cluster, "namespace": namespace, "workload": workload,
            "severity": severity.as_str(), "reason": reason, "owner": owner,
            "expires_at": expires_at, "status": status.as_str(),
        })),
    );
    w.commit_with(&record, at).await?;
    Ok((id, status))
}

/// Puts in and takes out what exceptions of one kind cover (a vulnerability exception on
/// one image: that image's findings only), in an action's commit.
async fn apply_kind(
    w: &mut crate::store::Write,
    kind: ExceptionKind,
    image_id: Option<i64>,
    at: i64,
) -> Result<()> {
    match kind {
        ExceptionKind::Vulnerability => {
            w.apply_suppressions(image_id, at).await?;
        }
        ExceptionKind::Configuration => {
            w.apply_config_exceptions(at).await?;
        }
        ExceptionKind::Runtime => {
            w.apply_alert_exceptions(None, at).await?;
        }
    }
    Ok(())
}

pub(crate) fn not_found(id: i64) -> impl Fn(StoreError) -> Error {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(format!("no exception with id {id}")),
        other => other.into(),
    }
}

fn note_of(input: &ExceptionDecision) -> Result<Option<String>> {
    // A note, when given, is one: an empty one is refused, not dropped.
    match input.note.as_deref() {
        None => Ok(None),
        Some(n) => validate_field("note", validate::text("a note", n)).map(Some),
    }
}

/// A second analyst approves a pending exception: it takes effect now.
pub async fn approve(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    input: ExceptionDecision,
) -> Result<()> {
    let note = note_of(&input)?;
    let at = now();
    let mut w = state.store.begin().await?;
    let (kind, made_by, status) = w.exception_state(id, at).await.map_err(not_found(id))?;
    if status != ExceptionStatus::Pending {
        return Err(Error::Conflict(format!(
            "exception {id} is {}: only a pending one can be approved",
            status.as_str()
        )));
    }
    if made_by == by.principal.name {
        return Err(Error::Forbidden(
            "a second analyst must approve it: whoever made an exception can't".into(),
        ));
    }
    w.approve_exception(id, &by.principal.name, at).await?;
    w.exception_event(id, at, &by.principal.name, "approved", note.as_deref())
        .await?;
    apply_kind(&mut w, kind, None, at).await?;
    w.touch_matched(at).await?;
    let record = audit_by(
        by,
        "exception.approve",
        Some(format!("exception:{id}")),
        note.map(|n| json!({ "note": n })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// A pending exception is refused (by anyone but its maker, who revokes instead).
pub async fn reject(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    input: ExceptionDecision,
) -> Result<()> {
    let note = note_of(&input)?;
    end_now(state, by, id, note, true).await
}

/// An exception is revoked: what it covered is back in the queues, in the same commit.
pub async fn revoke(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    input: ExceptionDecision,
) -> Result<()> {
    let note = note_of(&input)?;
    end_now(state, by, id, note, false).await
}

/// Rejects (pending) or revokes exception `id`.
pub(crate) async fn end_now(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    note: Option<String>,
    rejecting: bool,
) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    let (kind, made_by, status) = w.exception_state(id, at).await.map_err(not_found(id))?;
    let action = match (rejecting, status) {
        (true, ExceptionStatus::Pending) if made_by == by.principal.name => {
            return Err(Error::Forbidden(
                "whoever made an exception can't reject it: revoke it instead".into(),
            ))
        }
        (true, ExceptionStatus::Pending) => "rejected",
        (false, ExceptionStatus::Pending | ExceptionStatus::Active) => "revoked",
        (true, other) => {
            return Err(Error::Conflict(format!(
                "exception {id} is {}: only a pending one can be rejected",
                other.as_str()
            )))
        }
        (false, other) => {
            return Err(Error::Conflict(format!(
                "exception {id} is {} already",
                other.as_str()
            )))
        }
    };
    w.end_exception(id, &by.principal.name, at).await?;
    w.exception_event(id, at, &by.principal.name, action, note.as_deref())
        .await?;
    apply_kind(&mut w, kind, None, at).await?;
    let record = audit_by(
        by,
        if rejecting {
            "exception.reject"
        } else {
            "exception.revoke"
        },
        Some(format!("exception:{id}")),
        note.map(|n| json!({ "note": n })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// A page of exceptions (newest first).
pub async fn list(
    state: &AppState,
    _by: &Authed<Viewer>,
    q: &ExceptionQuery,
) -> Result<Page<coastguard_model::exceptions::ExceptionView>> {
    let kind = match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(ExceptionKind::parse(k).ok_or_else(|| {
            Error::invalid_at("kind", "kind is vulnerability, configuration or runtime")
        })?),
    };
    let status = q
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("active");
    if !LIST_STATUSES.contains(&status) {
        return Err(Error::invalid_at(
            "status",
            format!("status is one of {}", LIST_STATUSES.join(", ")),
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid_at(
            "limit",
            "limit must be between 1 and 500",
        ));
    }
    let before = validate::id_cursor(q.cursor.as_deref().unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    let owner = match q.owner.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) if o.chars().count() > 200 => {
            return Err(Error::invalid_at(
                "owner",
                "owner is at most 200 characters",
            ))
        }
        other => other.map(str::to_string),
    };
    let (items, next) = state
        .store
        .exceptions(
            &ListQuery {
                kind,
                status: status.to_string(),
                owner,
                before,
                limit,
            },
            now(),
        )
        .await?;
    Ok(Page {
        items,
        next_cursor: next.map(|id| id.to_string()),
    })
}

/// One exception with its history.
pub async fn get(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<ExceptionDetail> {
    let (exception, history) = state
        .store
        .exception(id, now())
        .await
        .map_err(not_found(id))?;
    Ok(ExceptionDetail { exception, history })
}

pub async fn policy(state: &AppState, _by: &Authed<Viewer>) -> Result<ExceptionPolicy> {
    Ok(state.store.exception_policy().await?)
}

/// An admin sets what exceptions need by severity (it applies to ones made from now on).
pub async fn set_policy(
    state: &AppState,
    by: &Authed<Admin>,
    policy: ExceptionPolicy,
) -> Result<ExceptionPolicy> {
    let named = policy.approval.len();
    let policy = policy.normalised();
    if policy.approval.len() != named {
        return Err(Error::invalid_at(
            "approval",
            "name each severity that needs approval once",
        ));
    }
    let at = now();
    let mut w = state.store.begin().await?;
    w.put_setting(POLICY_KEY, &policy, &by.principal.name, at)
        .await?;
    let record = audit_by(
        by,
        "exception.policy",
        None,
        Some(json!({ "policy": policy.describe() })),
    );
    w.commit_with(&record, at).await?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_severity_decides() {
        assert_eq!(worst(&[]), Severity::Unknown);
        assert_eq!(
            worst(&[Severity::Low, Severity::Critical, Severity::Medium]),
            Severity::Critical
        );
        assert_eq!(worst(&[Severity::Negligible]), Severity::Negligible);
    }

    fn input(kind: ExceptionKind) -> NewException {
        NewException {
            kind,
            target: "x".into(),
            verdict: Verdict::Accepted,
            image_id: None,
            package: None,
            finding_id: None,
            host: None,
            cluster: None,
            namespace: None,
            workload: None,
            reason: "because".into(),
            owner: None,
            expires_in_days: None,
        }
    }

    #[test]
    fn a_rule_may_have_spaces_an_id_may_not() {
        assert_eq!(
            target_of(ExceptionKind::Runtime, " Terminal shell in container ").unwrap(),
            "Terminal shell in container"
        );
        assert!(target_of(ExceptionKind::Vulnerability, "CVE-2024 1").is_err());
        assert!(target_of(ExceptionKind::Configuration, "container.privileged").is_ok());
        assert!(target_of(ExceptionKind::Runtime, "  ").is_err());
        assert!(target_of(ExceptionKind::Runtime, "a\u{7}b").is_err());
        assert!(target_of(ExceptionKind::Runtime, &"r".repeat(201)).is_err());
    }

    #[test]
    fn each_kind_takes_its_own_scope() {
        let mut runtime = input(ExceptionKind::Runtime);
        runtime.host = Some("h".into());
        runtime.image_id = Some(1);
        assert!(check_scope(&runtime).is_ok());
        runtime.package = Some("openssl".into());
        assert!(check_scope(&runtime).is_err());
        let mut vuln = input(ExceptionKind::Vulnerability);
        vuln.package = Some("openssl".into());
        assert!(check_scope(&vuln).is_ok());
        vuln.namespace = Some("prod".into());
        assert!(check_scope(&vuln).is_err());
        let mut config = input(ExceptionKind::Configuration);
        config.finding_id = Some(3);
        config.cluster = Some("prod".into());
        assert!(check_scope(&config).is_ok());
        let mut vuln = input(ExceptionKind::Vulnerability);
        vuln.cluster = Some("prod".into());
        assert!(
            check_scope(&vuln).is_err(),
            "a finding is an image's, not a place's"
        );
        config.image_id = Some(3);
        assert!(check_scope(&config).is_err());
        let mut fp = input(ExceptionKind::Runtime);
        fp.verdict = Verdict::NotAffected;
        assert!(check_scope(&fp).is_err());
    }
}
