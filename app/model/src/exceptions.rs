//! Exceptions: the one way to accept or dismiss anything Coastguard reports — a
//! vulnerability, a configuration finding or a runtime rule — with a reason, an owner,
//! an expiry and, where the policy asks, a second analyst's approval.
//!
//! The decisions (what the policy requires of a new exception, what state one is in, when
//! it is inert or about to expire) are plain functions here, shared by server and UI.

use crate::vulns::ImageBrief;
use crate::Severity;
use serde::{Deserialize, Serialize};

/// An active exception that covered nothing for this long is reported as inert.
pub const INERT_AFTER_SECS: i64 = 30 * 86_400;
/// Active exceptions ending within this are listed as expiring, for their owners.
pub const EXPIRING_WITHIN_SECS: i64 = 14 * 86_400;
/// The longest an exception may run.
pub const MAX_DAYS: i64 = 3650;

/// What kind of report an exception covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// A vulnerability (any of its ids), optionally in one image and package.
    Vulnerability,
    /// A configuration check (Docker, Kubernetes, provenance), everywhere or on one
    /// subject.
    Configuration,
    /// A runtime rule, optionally on one host, namespace, workload or image.
    Runtime,
}

impl ExceptionKind {
    pub const ALL: [ExceptionKind; 3] = [
        ExceptionKind::Vulnerability,
        ExceptionKind::Configuration,
        ExceptionKind::Runtime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Vulnerability => "vulnerability",
            ExceptionKind::Configuration => "configuration",
            ExceptionKind::Runtime => "runtime",
        }
    }

    pub fn parse(raw: &str) -> Option<ExceptionKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// What its target names, in words.
    pub fn target_label(self) -> &'static str {
        match self {
            ExceptionKind::Vulnerability => "vulnerability",
            ExceptionKind::Configuration => "check",
            ExceptionKind::Runtime => "rule",
        }
    }
}

/// Why the covered items are set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The risk is known and accepted.
    Accepted,
    /// It does not apply here (a VEX `not_affected` statement, a check that does not fit).
    NotAffected,
    /// The report is wrong (a runtime rule firing on expected behaviour).
    FalsePositive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::NotAffected => "not_affected",
            Verdict::FalsePositive => "false_positive",
        }
    }

    pub fn parse(raw: &str) -> Verdict {
        match raw {
            "not_affected" => Verdict::NotAffected,
            "false_positive" => Verdict::FalsePositive,
            _ => Verdict::Accepted,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Accepted => "risk accepted",
            Verdict::NotAffected => "not affected",
            Verdict::FalsePositive => "false positive",
        }
    }
}

/// Where an exception stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExceptionStatus {
    /// Waits for a second analyst; covers nothing yet.
    Pending,
    /// In force.
    Active,
    /// Its expiry passed: what it covered is back in the queues.
    Expired,
    /// Revoked after it took effect.
    Revoked,
    /// Refused by the approver.
    Rejected,
}

impl ExceptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::Pending => "pending",
            ExceptionStatus::Active => "active",
            ExceptionStatus::Expired => "expired",
            ExceptionStatus::Revoked => "revoked",
            ExceptionStatus::Rejected => "rejected",
        }
    }

    /// What an exception's stored times say it is at `now`.
    pub fn of(
        effective_at: Option<i64>,
        revoked_at: Option<i64>,
        expires_at: Option<i64>,
        now: i64,
    ) -> ExceptionStatus {
        match (effective_at, revoked_at) {
            (None, Some(_)) => ExceptionStatus::Rejected,
            (_, Some(_)) => ExceptionStatus::Revoked,
            _ if expires_at.is_some_and(|e| e <= now) => ExceptionStatus::Expired,
            (None, None) => ExceptionStatus::Pending,
            (Some(_), None) => ExceptionStatus::Active,
        }
    }
}

/// What an admin requires of exceptions, by the severity of what they cover.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExceptionPolicy {
    /// An expiry is required from this severity up (`high`: high and critical); absent:
    /// never required.
    #[serde(default)]
    pub expiry_from: Option<Severity>,
    /// The severities whose exceptions take effect only once a second analyst approves
    /// them (four-eyes).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 6))]
    pub approval: Vec<Severity>,
}

/// What the policy asks of one new exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    pub expiry: bool,
    pub approval: bool,
}

impl ExceptionPolicy {
    /// What an exception covering items of `severity` must have. An unknown severity is
    /// held to the strictest rule (it may be critical).
    pub fn requirements(&self, severity: Severity) -> Requirements {
        let strictest = severity == Severity::Unknown;
        Requirements {
            expiry: self
                .expiry_from
                .is_some_and(|from| strictest || severity.rank() >= from.rank()),
            approval: self.approval.contains(&severity)
                || (strictest && self.approval.contains(&Severity::Critical)),
        }
    }

    /// The policy with its severities in order and once each.
    pub fn normalised(mut self) -> ExceptionPolicy {
        self.approval.sort_by_key(|s| std::cmp::Reverse(s.rank()));
        self.approval.dedup();
        self
    }

    /// The policy in words, for pages.
    pub fn describe(&self) -> String {
        let expiry = match self.expiry_from {
            Some(s) => format!("an expiry is required from {} up", s.as_str()),
            None => "no expiry is required".to_string(),
        };
        let approval = if self.approval.is_empty() {
            "none needs a second analyst's approval".to_string()
        } else {
            let names: Vec<&str> = self.approval.iter().map(|s| s.as_str()).collect();
            format!("{} ones need a second analyst's approval", names.join(", "))
        };
        format!("{expiry}; {approval}")
    }
}

/// A new exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewException {
    pub kind: ExceptionKind,
    /// The vulnerability (any of its ids), the check id or the runtime rule's name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub target: String,
    #[serde(default = "accepted")]
    pub verdict: Verdict,
    /// Only in this image (Coastguard id): vulnerabilities and runtime rules.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    pub image_id: Option<i64>,
    /// Only in this package: vulnerabilities.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub package: Option<String>,
    /// Only this configuration finding (its check on its subject and instance): its id.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    pub finding_id: Option<i64>,
    /// Only on this host (its name as events give it): runtime rules.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub host: Option<String>,
    /// Only in this Kubernetes cluster (its name): runtime rules (a pod's or node's
    /// cluster) and configuration checks (a cluster's, namespace's, workload's, pod's or
    /// node's).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub cluster: Option<String>,
    /// Only in this Kubernetes namespace: runtime rules.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub namespace: Option<String>,
    /// Only in this workload (or pod) by name: runtime rules.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub workload: Option<String>,
    /// Why (3–1000 characters).
    pub reason: String,
    /// Who answers for it (a user name); absent: whoever makes it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub owner: Option<String>,
    /// Ends after this many days (1–3650); required where the policy says.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<i64>,
}

fn accepted() -> Verdict {
    Verdict::Accepted
}

/// A note with an approval, rejection or revocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExceptionDecision {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 1000))]
    pub note: Option<String>,
}

/// An exception as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExceptionView {
    pub id: i64,
    pub kind: ExceptionKind,
    pub target: String,
    pub verdict: Verdict,
    pub image: Option<ImageBrief>,
    /// A VEX statement's image digest no image has yet.
    pub pending_image: Option<String>,
    pub package: Option<String>,
    /// One configuration finding, as `subject_kind:subject_id (instance)`.
    pub subject: Option<String>,
    pub host: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub workload: Option<String>,
    /// The worst severity of what it covered when made.
    pub severity: Severity,
    pub reason: String,
    pub owner: String,
    /// `manual`, `vex` or `migrated`.
    pub source: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub effective_at: Option<i64>,
    pub approved_by: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub last_matched_at: Option<i64>,
    pub status: ExceptionStatus,
    /// Active, and covered nothing for 30 days.
    pub inert: bool,
    /// Active, and ends within 14 days.
    pub expiring: bool,
    /// Items it covers now (suppressed findings, accepted configuration findings, alert
    /// groups).
    pub covers: i64,
}

impl ExceptionView {
    /// The scope in words: `everywhere`, or `image x · package y`.
    pub fn scope(&self) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.image {
            parts.push(format!("image {}", i.name));
        }
        if let Some(d) = &self.pending_image {
            parts.push(format!("image {d} (not seen yet)"));
        }
        for (label, value) in [
            ("package", &self.package),
            ("on", &self.subject),
            ("host", &self.host),
            ("cluster", &self.cluster),
            ("namespace", &self.namespace),
            ("workload", &self.workload),
        ] {
            if let Some(v) = value {
                parts.push(format!("{label} {v}"));
            }
        }
        if parts.is_empty() {
            "everywhere".to_string()
        } else {
            parts.join(" · ")
        }
    }
}

/// Whether an active exception covered nothing for [`INERT_AFTER_SECS`].
pub fn is_inert(
    status: ExceptionStatus,
    effective_at: Option<i64>,
    last_matched_at: Option<i64>,
    now: i64,
) -> bool {
    status == ExceptionStatus::Active
        && last_matched_at
            .or(effective_at)
            .is_some_and(|t| now - t >= INERT_AFTER_SECS)
}

/// Whether an active exception ends within [`EXPIRING_WITHIN_SECS`].
pub fn is_expiring(status: ExceptionStatus, expires_at: Option<i64>, now: i64) -> bool {
    status == ExceptionStatus::Active && expires_at.is_some_and(|e| e - now <= EXPIRING_WITHIN_SECS)
}

/// One step of an exception's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExceptionEvent {
    pub at: i64,
    pub actor: String,
    /// `created`, `approved`, `rejected`, `revoked` or `migrated`.
    pub action: String,
    pub note: Option<String>,
}

/// An exception with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExceptionDetail {
    pub exception: ExceptionView,
    pub history: Vec<ExceptionEvent>,
}

/// Which exceptions a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExceptionQuery {
    /// `vulnerability`, `configuration` or `runtime`; absent: all.
    #[serde(default)]
    pub kind: Option<String>,
    /// `active` (default: in force), `pending`, `expiring`, `inert`, `ended` (expired,
    /// revoked or rejected) or `all`.
    #[serde(default)]
    pub status: Option<String>,
    /// Only this owner's.
    #[serde(default)]
    pub owner: Option<String>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Rows per page, 1–500 (default 100).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 500))]
    pub limit: Option<i64>,
}

/// The statuses a list can be narrowed to.
pub const LIST_STATUSES: [&str; 6] = ["active", "pending", "expiring", "inert", "ended", "all"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_stored_times() {
        let now = 1_000;
        assert_eq!(
            ExceptionStatus::of(None, None, None, now),
            ExceptionStatus::Pending
        );
        assert_eq!(
            ExceptionStatus::of(Some(10), None, None, now),
            ExceptionStatus::Active
        );
        assert_eq!(
            ExceptionStatus::of(Some(10), None, Some(now), now),
            ExceptionStatus::Expired
        );
        assert_eq!(
            ExceptionStatus::of(Some(10), None, Some(now + 1), now),
            ExceptionStatus::Active
        );
        assert_eq!(
            ExceptionStatus::of(Some(10), Some(20), None, now),
            ExceptionStatus::Revoked
        );
        assert_eq!(
            ExceptionStatus::of(None, Some(20), None, now),
            ExceptionStatus::Rejected
        );
        // A pending one whose expiry passed before anyone approved it never takes effect.
        assert_eq!(
            ExceptionStatus::of(None, None, Some(5), now),
            ExceptionStatus::Expired
        );
    }

    #[test]
    fn the_policy_asks_by_severity() {
        let policy = ExceptionPolicy {
            expiry_from: Some(Severity::High),
            approval: vec![Severity::Critical],
        };
        let r = policy.requirements(Severity::Medium);
        assert!(!r.expiry && !r.approval);
        let r = policy.requirements(Severity::High);
        assert!(r.expiry && !r.approval);
        let r = policy.requirements(Severity::Critical);
        assert!(r.expiry && r.approval);
        // Unknown is held to the strictest rule.
        let r = policy.requirements(Severity::Unknown);
        assert!(r.expiry && r.approval);
        let none = ExceptionPolicy::default();
        let r = none.requirements(Severity::Critical);
        assert!(!r.expiry && !r.approval);
        assert_eq!(
            none.describe(),
            "no expiry is required; none needs a second analyst's approval"
        );
        let policy = ExceptionPolicy {
            expiry_from: None,
            approval: vec![Severity::Medium, Severity::Critical, Severity::Medium],
        }
        .normalised();
        assert_eq!(policy.approval, vec![Severity::Critical, Severity::Medium]);
        assert!(policy.requirements(Severity::Medium).approval);
        assert!(!policy.requirements(Severity::High).approval);
    }

    #[test]
    fn inert_and_expiring_are_for_active_ones() {
        let now = 100 * 86_400;
        let day = 86_400;
        use ExceptionStatus::*;
        // Matched 31 days ago: inert. 29 days ago: not.
        assert!(is_inert(Active, Some(0), Some(now - 31 * day), now));
        assert!(!is_inert(Active, Some(0), Some(now - 29 * day), now));
        // Never matched: counted from when it took effect.
        assert!(is_inert(Active, Some(now - 30 * day), None, now));
        assert!(!is_inert(Active, Some(now - day), None, now));
        assert!(!is_inert(Pending, None, None, now));
        assert!(!is_inert(Revoked, Some(0), None, now));
        assert!(is_expiring(Active, Some(now + 13 * day), now));
        assert!(!is_expiring(Active, Some(now + 15 * day), now));
        assert!(!is_expiring(Active, None, now));
        assert!(!is_expiring(Expired, Some(now - 1), now));
    }
}
