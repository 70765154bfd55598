//! Exceptions in SQL: their rows and history, and their effect on what they cover —
//! vulnerability findings `suppressed`, configuration findings `accepted`, alert groups
//! tied by `exception_id` — put in and taken back in the commit that changes them.

use crate::scans::vulns::{IMAGE_NAME, SUPPRESSED_BY};
use crate::store::query::{bind_all, Arg};
use crate::store::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::exceptions::{
    is_expiring, is_inert, ExceptionEvent, ExceptionKind, ExceptionPolicy, ExceptionStatus,
    ExceptionView, Verdict, EXPIRING_WITHIN_SECS, INERT_AFTER_SECS,
};
use coastguard_model::vulns::ImageBrief;
use coastguard_model::Severity;

/// Where the exception policy is stored (settings).
pub const POLICY_KEY: &str = "exception_policy";

use crate::store::EXCEPTION_ACTIVE as ACTIVE;

/// A new exception's row.
#[derive(Debug, Clone)]
pub struct NewExceptionRow<'a> {
    pub kind: ExceptionKind,
    pub target: &'a str,
    pub verdict: Verdict,
    pub image_id: Option<i64>,
    pub package: Option<&'a str>,
    /// One configuration finding: its subject kind, subject id and instance.
    pub subject: Option<(&'a str, i64, &'a str)>,
    pub host: Option<&'a str>,
    pub cluster: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub workload: Option<&'a str>,
    pub severity: Severity,
    pub reason: &'a str,
    pub owner: &'a str,
    pub created_by: &'a str,
    pub expires_at: Option<i64>,
    /// Takes effect at once (no approval asked).
    pub effective: bool,
}

/// What one pass over exceptions changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Covered {
    pub suppressed: u64,
    pub unsuppressed: u64,
    pub accepted: u64,
    pub reopened: u64,
    pub alerts_covered: u64,
    pub alerts_released: u64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    target: String,
    verdict: String,
    image_id: Option<i64>,
    digest: Option<String>,
    image_name: Option<String>,
    image_digest: Option<String>,
    package: Option<String>,
    subject_kind: Option<String>,
    subject_id: Option<i64>,
    instance: Option<String>,
    host: Option<String>,
    cluster: Option<String>,
    namespace: Option<String>,
    workload: Option<String>,
    severity: String,
    reason: String,
    owner: String,
    source: String,
    created_by: String,
    created_at: i64,
    expires_at: Option<i64>,
    effective_at: Option<i64>,
    approved_by: Option<String>,
    revoked_at: Option<i64>,
    revoked_by: Option<String>,
    last_matched_at: Option<i64>,
    covers: i64,
}

impl Row {
    fn view(self, now: i64) -> ExceptionView {
        let status = ExceptionStatus::of(self.effective_at, self.revoked_at, self.expires_at, now);
        ExceptionView {
            id: self.id,
            kind: ExceptionKind::parse(&self.kind).unwrap_or(ExceptionKind::Vulnerability),
            target: self.target,
            verdict: Verdict::parse(&self.verdict),
            image: match (self.image_id, self.digest) {
                (Some(id), Some(digest)) => Some(ImageBrief {
                    id,
                    name: self.image_name.unwrap_or_else(|| digest.clone()),
                    digest,
                }),
                _ => None,
            },
            pending_image: self.image_digest.filter(|_| self.image_id.is_none()),
            package: self.package,
            subject: self.subject_kind.zip(self.subject_id).map(|(k, id)| {
                match self.instance.as_deref().filter(|i| !i.is_empty()) {
                    Some(instance) => format!("{k}:{id} ({instance})"),
                    None => format!("{k}:{id}"),
                }
            }),
            host: self.host,
            cluster: self.cluster,
            namespace: self.namespace,
            workload: self.workload,
            severity: Severity::normalise(&self.severity),
            reason: self.reason,
            owner: self.owner,
            source: self.source,
            created_by: self.created_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            effective_at: self.effective_at,
            approved_by: self.approved_by,
            revoked_at: self.revoked_at,
            revoked_by: self.revoked_by,
            last_matched_at: self.last_matched_at,
            status,
            inert: is_inert(status, self.effective_at, self.last_matched_at, now),
            expiring: is_expiring(status, self.expires_at, now),
            covers: if status == ExceptionStatus::Active {
                self.covers
            } else {
                0
            },
        }
    }
}

/// The row of `s`, with what it covers now (`$1` is the time).
fn select() -> String {
    format!(
        "SELECT s.id, s.kind, s.target, s.verdict, s.image_id, i.digest, \
         CASE WHEN i.id IS NULL THEN NULL ELSE {IMAGE_NAME} END AS image_name, s.image_digest, s.package, \
         s.subject_kind, s.subject_id, s.instance, s.host, s.cluster, s.namespace, s.workload, s.severity, s.reason, s.owner, s.source, \
         s.created_by, s.created_at, s.expires_at, s.effective_at, s.approved_by, s.revoked_at, s.revoked_by, \
         s.last_matched_at, \
         CASE s.kind WHEN 'vulnerability' THEN {SUPPRESSED_BY} \
           WHEN 'configuration' THEN (SELECT COUNT(*) FROM config_findings c WHERE c.exception_id = s.id AND c.state = 'accepted') \
           ELSE (SELECT COUNT(*) FROM runtime_alerts r WHERE r.exception_id = s.id AND r.state IN ('new', 'acknowledged')) END AS covers \
         FROM exceptions s LEFT JOIN images i ON i.id = s.image_id"
    )
}

/// An exception's kind, maker, and effective, revoked and expiry times.
type StateRow = (String, String, Option<i64>, Option<i64>, Option<i64>);

/// A configuration finding as an exception names it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingRef {
    pub check_id: String,
    pub subject_kind: String,
    pub subject_id: i64,
    pub instance: String,
    pub state: String,
    pub exception_id: Option<i64>,
}

/// Which exceptions a list shows (validated by the caller).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub kind: Option<ExceptionKind>,
    /// One of [`coastguard_model::exceptions::LIST_STATUSES`].
    pub status: String,
    pub owner: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// The exception policy as an admin set it (none: nothing required).
    pub async fn exception_policy(&self) -> StoreResult<ExceptionPolicy> {
        Ok(self.setting(POLICY_KEY).await?.unwrap_or_default())
    }

    /// A page of exceptions, newest first.
    pub async fn exceptions(
        &self,
        q: &ListQuery,
        now: i64,
    ) -> StoreResult<(Vec<ExceptionView>, Option<i64>)> {
        let mut sql = format!("{} WHERE 1 = 1", select());
        let mut args = vec![Arg::Int(now)];
        let active = "s.effective_at IS NOT NULL AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $1)";
        match q.status.as_str() {
            "pending" => sql.push_str(
                " AND s.effective_at IS NULL AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > $1)",
            ),
            "expiring" => {
                args.push(Arg::Int(now + EXPIRING_WITHIN_SECS));
                sql.push_str(&format!(
                    " AND {active} AND s.expires_at <= ${}",
                    args.len()
                ));
            }
            "inert" => {
                args.push(Arg::Int(now - INERT_AFTER_SECS));
                sql.push_str(&format!(
                    " AND {active} AND COALESCE(s.last_matched_at, s.effective_at) <= ${}",
                    args.len()
                ));
            }
            "ended" => sql.push_str(
                " AND (s.revoked_at IS NOT NULL OR (s.expires_at IS NOT NULL AND s.expires_at <= $1))",
            ),
            "all" => {}
            _ => sql.push_str(&format!(" AND {active}")),
        }
        if let Some(k) = q.kind {
            args.push(Arg::Text(k.as_str().into()));
            sql.push_str(&format!(" AND s.kind = ${}", args.len()));
        }
        if let Some(o) = &q.owner {
            args.push(Arg::Text(o.clone()));
            sql.push_str(&format!(" AND s.owner = ${}", args.len()));
        }
        if let Some(b) = q.before {
            args.push(Arg::Int(b));
            sql.push_str(&format!(" AND s.id < ${}", args.len()));
        }
        sql.push_str(&format!(" ORDER BY s.id DESC LIMIT {}", q.limit + 1));
        let rows: Vec<Row> = with_db!(&self.db, |pool| bind_all!(sqlx::query_as(&sql), &args)
            .fetch_all(pool)
            .await)?;
        let more = rows.len() as i64 > q.limit;
        let items: Vec<ExceptionView> = rows
            .into_iter()
            .take(q.limit as usize)
            .map(|r| r.view(now))
            .collect();
        let next = more.then(|| items.last().map(|e| e.id)).flatten();
        Ok((items, next))
    }

    /// One exception and its history.
    pub async fn exception(
        &self,
        id: i64,
        now: i64,
    ) -> StoreResult<(ExceptionView, Vec<ExceptionEvent>)> {
        let sql = format!("{} WHERE s.id = $2", select());
        let row: Option<Row> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(now)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        #[derive(sqlx::FromRow)]
        struct Event {
            at: i64,
            actor: String,
            action: String,
            note: Option<String>,
        }
        let events: Vec<Event> = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT at, actor, action, note FROM exception_events WHERE exception_id = $1 ORDER BY id"
        )
        .bind(id)
        .fetch_all(pool)
        .await
        })?;
        Ok((
            row.view(now),
            events
                .into_iter()
                .map(|e| ExceptionEvent {
                    at: e.at,
                    actor: e.actor,
                    action: e.action,
                    note: e.note,
                })
                .collect(),
        ))
    }

    /// The severities of what an exception with this target and scope would cover now
    /// (none known: empty).
    pub async fn covered_severities(
        &self,
        kind: ExceptionKind,
        target: &str,
        image_id: Option<i64>,
        package: Option<&str>,
        subject: Option<(&str, i64, &str)>,
    ) -> StoreResult<Vec<Severity>> {
        let mut args = vec![Arg::Text(target.into())];
        let sql = match kind {
            ExceptionKind::Vulnerability => {
                let mut sql =
                    "SELECT DISTINCT f.severity FROM findings f JOIN vulnerability_aliases a \
                     ON a.vulnerability_id = f.vulnerability_id WHERE a.alias = $1"
                        .to_string();
                if let Some(i) = image_id {
                    args.push(Arg::Int(i));
                    sql.push_str(&format!(" AND f.image_id = ${}", args.len()));
                }
                if let Some(p) = package {
                    args.push(Arg::Text(p.into()));
                    sql.push_str(&format!(" AND f.pkg_name = ${}", args.len()));
                }
                sql.push_str(
                    " UNION SELECT v.severity FROM vulnerabilities v JOIN vulnerability_aliases a \
                     ON a.vulnerability_id = v.id WHERE a.alias = $1",
                );
                sql
            }
            ExceptionKind::Configuration => {
                let mut sql =
                    "SELECT DISTINCT severity FROM config_findings WHERE check_id = $1".to_string();
                if let Some((k, id, instance)) = subject {
                    args.push(Arg::Text(k.into()));
                    args.push(Arg::Int(id));
                    args.push(Arg::Text(instance.into()));
                    let n = args.len();
                    sql.push_str(&format!(
                        " AND subject_kind = ${} AND subject_id = ${} AND instance = ${n}",
                        n - 2,
                        n - 1
                    ));
                }
                sql
            }
            ExceptionKind::Runtime => {
                "SELECT DISTINCT severity FROM runtime_alerts WHERE rule = $1".to_string()
            }
        };
        let found: Vec<String> =
            with_db!(&self.db, |pool| bind_all!(sqlx::query_scalar(&sql), &args)
                .fetch_all(pool)
                .await)?;
        Ok(found.iter().map(|s| Severity::normalise(s)).collect())
    }

    /// A configuration finding as an exception names it: check id, subject kind, subject
    /// id, instance, and its state and exception.
    pub async fn config_finding_subject(&self, id: i64) -> StoreResult<FindingRef> {
        let row: Option<FindingRef> = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT check_id, subject_kind, subject_id, instance, state, exception_id FROM config_findings WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await
        })?;
        row.ok_or(StoreError::NotFound)
    }

    /// Ties exceptions to what they cover and releases what they no longer cover, and
    /// marks which still cover something: the housekeeping pass (expiries take effect
    /// here).
    pub async fn apply_exceptions(&self, now: i64) -> StoreResult<Covered> {
        let mut w = self.begin_pass().await?;
        let covered = w.apply_exceptions(None, now).await?;
        w.touch_matched(now).await?;
        w.commit().await?;
        Ok(covered)
    }
}

impl Write {
    /// Stores a new exception and its first history step; returns its id.
    pub async fn insert_exception(
        &mut self,
        e: &NewExceptionRow<'_>,
        now: i64,
    ) -> StoreResult<i64> {
        let id: i64 = with_tx!(&mut self.tx, |t| {
            sqlx::query_scalar(
            "INSERT INTO exceptions (kind, target, verdict, image_id, package, subject_kind, subject_id, instance, host, \
             cluster, namespace, workload, severity, reason, owner, source, created_by, created_at, expires_at, effective_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'manual', $16, $17, $18, $19) RETURNING id"
        )
        .bind(e.kind.as_str())
        .bind(e.target)
        .bind(e.verdict.as_str())
        .bind(e.image_id)
        .bind(e.package)
        .bind(e.subject.map(|s| s.0))
        .bind(e.subject.map(|s| s.1))
        .bind(e.subject.map(|s| s.2))
        .bind(e.host)
        .bind(e.cluster)
        .bind(e.namespace)
        .bind(e.workload)
        .bind(e.severity.as_str())
        .bind(e.reason)
        .bind(e.owner)
        .bind(e.created_by)
        .bind(now)
        .bind(e.expires_at)
        .bind(e.effective.then_some(now))
        .fetch_one(&mut **t)
        .await
        })?;
        let note = (!e.effective).then_some("waits for a second analyst's approval");
        self.exception_event(id, now, e.created_by, "created", note)
            .await?;
        Ok(id)
    }

    /// One step of an exception's history.
    pub async fn exception_event(
        &mut self,
        id: i64,
        at: i64,
        actor: &str,
        action: &str,
        note: Option<&str>,
    ) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "INSERT INTO exception_events (exception_id, at, actor, action, note) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(id)
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(note)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Who made exception `id`, and where it stands (for the four-eyes rule and
    /// transitions); `NotFound` if there is none.
    pub async fn exception_state(
        &mut self,
        id: i64,
        now: i64,
    ) -> StoreResult<(ExceptionKind, String, ExceptionStatus)> {
        let row: Option<StateRow> = with_tx!(&mut self.tx, |t| {
            sqlx::query_as(
                "SELECT kind, created_by, effective_at, revoked_at, expires_at FROM exceptions WHERE id = $1"
            )
            .bind(id)
            .fetch_optional(&mut **t)
            .await
        })?;
        let (kind, by, effective, revoked, expires) = row.ok_or(StoreError::NotFound)?;
        Ok((
            ExceptionKind::parse(&kind).unwrap_or(ExceptionKind::Vulnerability),
            by,
            ExceptionStatus::of(effective, revoked, expires, now),
        ))
    }

    /// A pending exception takes effect.
    pub async fn approve_exception(&mut self, id: i64, by: &str, now: i64) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE exceptions SET effective_at = $2, approved_by = $3 WHERE id = $1 AND effective_at IS NULL AND revoked_at IS NULL"
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// An exception is revoked (or, pending, rejected).
    pub async fn end_exception(&mut self, id: i64, by: &str, now: i64) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE exceptions SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL"
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Puts what active exceptions cover out of the queues and brings back what they no
    /// longer cover: vulnerability findings, configuration findings, alert groups (all,
    /// or only `groups`, just stored).
    pub async fn apply_exceptions(
        &mut self,
        groups: Option<&[i64]>,
        now: i64,
    ) -> StoreResult<Covered> {
        let (suppressed, unsuppressed) = self.apply_suppressions(None, now).await?;
        let (accepted, reopened) = self.apply_config_exceptions(now).await?;
        let (alerts_covered, alerts_released) = self.apply_alert_exceptions(groups, now).await?;
        Ok(Covered {
            suppressed,
            unsuppressed,
            accepted,
            reopened,
            alerts_covered,
            alerts_released,
        })
    }

    /// Marks the active exceptions that cover something now (a finding they hold, an open
    /// alert group they keep out of the queue), for the inert report. Not by an event's
    /// own time: a sensor's clock (or a replayed stream) may say anything.
    pub async fn touch_matched(&mut self, now: i64) -> StoreResult<()> {
        let active = ACTIVE.replace("e.", "exceptions.");
        let sqls = [
            format!(
                "UPDATE exceptions SET last_matched_at = $1 WHERE kind = 'vulnerability' AND {active} \
                 AND EXISTS (SELECT 1 FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
                   WHERE a.alias = exceptions.target AND f.state = 'suppressed' \
                   AND (f.image_id = exceptions.image_id OR (exceptions.image_id IS NULL AND exceptions.image_digest IS NULL)) \
                   AND (exceptions.package IS NULL OR f.pkg_name = exceptions.package))"
            ),
            format!(
                "UPDATE exceptions SET last_matched_at = $1 WHERE kind = 'configuration' AND {active} \
                 AND EXISTS (SELECT 1 FROM config_findings c WHERE c.exception_id = exceptions.id AND c.state = 'accepted')"
            ),
            format!(
                "UPDATE exceptions SET last_matched_at = $1 WHERE kind = 'runtime' AND {active} \
                 AND EXISTS (SELECT 1 FROM runtime_alerts r WHERE r.exception_id = exceptions.id \
                   AND r.state IN ('new', 'acknowledged'))"
            ),
        ];
        for sql in &sqls {
            with_tx!(&mut self.tx, |t| sqlx::query(sql)
                .bind(now)
                .execute(&mut **t)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }
}
