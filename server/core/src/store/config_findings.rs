//! Configuration findings (`config_findings`): every source's findings on a subject —
//! the Docker checks, scan coverage, scanners' misconfigurations and secrets, and the
//! sources to come. A source says which stored findings its evaluation covers (a
//! [`Scope`]) and what it found; [`crate::lifecycle::plan`] decides, and this applies the
//! plan in batches.

use super::query::{bind_all, Arg};
use super::EXCEPTION_ACTIVE;
use super::{StoreResult, Write};
use crate::lifecycle::{self, Extent, Held, Plan, Stored, Transition};
use coastguard_model::findings::SubjectKind;

/// Which finding: check, subject and instance (`UNIQUE` in the table).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub check_id: String,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub instance: String,
}

/// What a finding says; a difference from the stored one is a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub severity: String,
    pub cis_section: Option<String>,
    pub evidence: String,
    /// A scanner's own title and remediation (the Docker checks take theirs from the
    /// catalogue, so store none).
    pub title: Option<String>,
    pub remediation: Option<String>,
}

/// The stored findings one evaluation covers: SQL conditions on `cf` (the table's
/// alias), each with its parameters numbered from `$1` and read on its own (an `OR` of
/// them would defeat the indexes).
pub struct Scope {
    pub(crate) parts: Vec<(String, Vec<Arg>)>,
}

/// What applying a plan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub opened: u64,
    pub reopened: u64,
    pub updated: u64,
    pub resolved: u64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    check_id: String,
    subject_kind: String,
    subject_id: i64,
    instance: String,
    severity: String,
    cis_section: Option<String>,
    evidence: Option<String>,
    title: Option<String>,
    remediation: Option<String>,
    state: String,
    accepted_until: Option<i64>,
    last_seen_at: i64,
}

impl Row {
    /// `None` for a subject kind this version does not know (nothing here wrote it).
    fn into_stored(self) -> Option<Stored<Key, Content>> {
        let kind: SubjectKind = self.subject_kind.parse().ok()?;
        Some(Stored {
            id: self.id,
            held: Held::from_stored(&self.state, self.accepted_until),
            key: Key {
                check_id: self.check_id,
                subject_kind: kind,
                subject_id: self.subject_id,
                instance: self.instance,
            },
            content: Content {
                severity: self.severity,
                cis_section: self.cis_section,
                evidence: self.evidence.unwrap_or_default(),
                title: self.title,
                remediation: self.remediation,
            },
            last_seen_at: self.last_seen_at,
            vouched_elsewhere: false,
        })
    }
}

/// Twelve parameters per new finding.
const INSERT: &str =
    "INSERT INTO config_findings (check_id, subject_kind, subject_id, instance, severity, \
     cis_section, evidence, title, remediation, state, first_seen_at, last_seen_at, seen_pass) ";

impl Write {
    /// Brings the findings of `scope` in line with what a source `found` now: new ones
    /// inserted, changed ones rewritten, resolved ones reopened, ones whose acceptance
    /// ran out opened, and (for a complete evaluation) ones not found resolved.
    pub async fn reconcile_config_findings(
        &mut self,
        scope: &Scope,
        found: Vec<(Key, Content)>,
        extent: Extent,
        now: i64,
    ) -> StoreResult<Applied> {
        let stored = self.stored_config_findings(scope).await?;
        let plan = lifecycle::plan(stored, found, extent, now);
        self.apply_config_plan(&plan, now).await
    }

    async fn stored_config_findings(
        &mut self,
        scope: &Scope,
    ) -> StoreResult<Vec<Stored<Key, Content>>> {
        let mut stored = Vec::new();
        for (condition, args) in &scope.parts {
            let sql = format!(
                "SELECT cf.id, cf.check_id, cf.subject_kind, cf.subject_id, cf.instance, cf.severity, \
                 cf.cis_section, cf.evidence, cf.title, cf.remediation, cf.state, cf.accepted_until, \
                 cf.last_seen_at FROM config_findings cf WHERE {condition}"
            );
            let rows: Vec<Row> = crate::with_tx!(&mut self.tx, |t| bind_all!(
                sqlx::query_as(&sql),
                args.iter()
            )
            .fetch_all(&mut **t)
            .await)?;
            stored.extend(rows.into_iter().filter_map(Row::into_stored));
        }
        Ok(stored)
    }

    /// Applies a plan: inserts in batches (a finding another writer inserted meanwhile
    /// is left to it), rewrites one by one (few per pass), touches and resolves by id.
    pub(crate) async fn apply_config_plan(
        &mut self,
        plan: &Plan<Key, Content>,
        now: i64,
    ) -> StoreResult<Applied> {
        let pass = crate::pass_id();
        let rows_per_insert = self.batch_params() / 12;
        let mut made = Vec::new();
        for chunk in plan.insert.chunks(rows_per_insert) {
            let ids: Vec<i64> = crate::with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(INSERT);
                q.push_values(chunk, |mut row, (k, c)| {
                    row.push_bind(&k.check_id)
                        .push_bind(k.subject_kind.as_str())
                        .push_bind(k.subject_id)
                        .push_bind(&k.instance)
                        .push_bind(&c.severity)
                        .push_bind(&c.cis_section)
                        .push_bind(&c.evidence)
                        .push_bind(&c.title)
                        .push_bind(&c.remediation)
                        .push("'open'")
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(pass);
                });
                q.push(
                    " ON CONFLICT (check_id, subject_kind, subject_id, instance) DO NOTHING RETURNING id",
                );
                q.build_query_scalar().fetch_all(&mut **t).await
            })?;
            made.extend(ids);
        }
        self.finding_notice(super::notices::FindingKind::Configuration, &made, now)
            .await?;
        for r in &plan.refresh {
            let state = match r.transition {
                Transition::Reopened => ", state = 'open', reopened_at = $7, resolved_at = NULL",
                Transition::AcceptanceExpired => ", state = 'open'",
                Transition::Changed => "",
            };
            let sql = format!(
                "UPDATE config_findings SET severity = $2, cis_section = $3, evidence = $4, title = $5, \
                 remediation = $6, last_seen_at = $7, seen_pass = $8{state} WHERE id = $1"
            );
            let c = &r.content;
            crate::with_tx!(&mut self.tx, |t| sqlx::query(&sql)
                .bind(r.id)
                .bind(&c.severity)
                .bind(&c.cis_section)
                .bind(&c.evidence)
                .bind(&c.title)
                .bind(&c.remediation)
                .bind(now)
                .bind(pass)
                .execute(&mut **t)
                .await
                .map(|_| ()))?;
        }
        let at = [("last_seen_at", now)];
        self.update_ids("config_findings", "", &at, &plan.touch)
            .await?;
        let at = [("resolved_at", now)];
        self.update_ids(
            "config_findings",
            "state = 'resolved', ",
            &at,
            &plan.resolve,
        )
        .await?;
        // New and reopened findings an exception covers are accepted in this commit, and
        // acceptances whose time ran out are untied from their exception.
        if !plan.insert.is_empty()
            || plan.count(Transition::Reopened) > 0
            || plan.count(Transition::AcceptanceExpired) > 0
        {
            self.apply_config_exceptions(now).await?;
        }
        let applied = Applied {
            opened: plan.insert.len() as u64,
            reopened: plan.count(Transition::Reopened) as u64,
            updated: (plan.count(Transition::Changed) + plan.count(Transition::AcceptanceExpired))
                as u64,
            resolved: plan.resolve.len() as u64,
        };
        if plan.changes_findings() {
            self.risk_changed();
        }
        Ok(applied)
    }
}

impl Write {
    /// Configuration findings accepted by active exceptions of their check (everywhere,
    /// or on their subject); accepted ones whose exception ended, open again. Returns
    /// (accepted, reopened).
    pub async fn apply_config_exceptions(&mut self, now: i64) -> StoreResult<(u64, u64)> {
        let release = format!(
            "UPDATE config_findings SET state = 'open', accepted_by = NULL, accepted_reason = NULL, \
             accepted_until = NULL, exception_id = NULL \
             WHERE state = 'accepted' AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.id = config_findings.exception_id AND {EXCEPTION_ACTIVE})"
        );
        let cover = format!(
            "UPDATE config_findings SET state = 'accepted', accepted_by = e.owner, accepted_reason = e.reason, \
             accepted_until = e.expires_at, exception_id = e.id FROM exceptions e \
             WHERE config_findings.state = 'open' AND e.kind = 'configuration' AND {EXCEPTION_ACTIVE} \
               AND config_findings.check_id = e.target \
               AND (e.subject_kind IS NULL OR (e.subject_kind = config_findings.subject_kind AND e.subject_id = config_findings.subject_id)) \
               AND (e.instance IS NULL OR e.instance = config_findings.instance) \
               AND (e.cluster IS NULL OR EXISTS (SELECT 1 FROM clusters c WHERE c.name = e.cluster AND c.id = \
                    CASE config_findings.subject_kind \
                      WHEN 'cluster' THEN config_findings.subject_id \
                      WHEN 'namespace' THEN (SELECT n.cluster_id FROM namespaces n WHERE n.id = config_findings.subject_id) \
                      WHEN 'workload' THEN (SELECT w.cluster_id FROM workloads w WHERE w.id = config_findings.subject_id) \
                      WHEN 'pod' THEN (SELECT p.cluster_id FROM pods p WHERE p.id = config_findings.subject_id) \
                      WHEN 'host' THEN (SELECT h.cluster_id FROM hosts h WHERE h.id = config_findings.subject_id) END))"
        );
        let mut counts = [0u64; 2];
        for (i, sql) in [release, cover].iter().enumerate() {
            counts[i] = crate::with_tx!(&mut self.tx, |t| sqlx::query(sql)
                .bind(now)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()))?;
        }
        // An acceptance that expired through a pass left its finding open: untie it.
        crate::with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "UPDATE config_findings SET exception_id = NULL WHERE state = 'open' AND exception_id IS NOT NULL"
        )
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        if counts != [0, 0] {
            self.risk_changed();
        }
        Ok((counts[1], counts[0]))
    }
}
