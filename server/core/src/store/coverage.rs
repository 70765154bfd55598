//! Scan coverage: whether the images that run have been scanned, and recently. Counted
//! for the overview and kept as configuration findings on each running image, so a gap
//! shows up, is triaged and is resolved like any other finding.

use super::inventory::{
    batch_sql, finding_row_template, FINDING_BATCH, LAST_SEEN_GRANULARITY, UPSERT_FINDING_HEAD,
    UPSERT_FINDING_TAIL,
};
use super::query::{bind_all, Arg};
use super::snapshots::Scope;
use super::{Store, StoreError, StoreResult};
use crate::docker::catalog;
use crate::with_db;
use coastguard_model::vulns::Coverage;
use std::collections::HashMap;

pub const UNSCANNED: &str = "coverage.unscanned";
pub const SCAN_OUTDATED: &str = "coverage.scan_outdated";

/// Each image that a running container uses, with when it was last scanned: the time the
/// report says the scan ran, else when it arrived. VEX documents are not scans.
/// Followed by a scope's container clause and `GROUP BY c.image_id`.
const RUNNING_IMAGES: &str = "SELECT c.image_id, \
       (SELECT MAX(COALESCE(s.scanned_at, s.received_at)) FROM scans s \
        WHERE s.image_id = c.image_id AND s.kind <> 'vex') AS last_scan \
     FROM containers c WHERE c.gone_at IS NULL AND c.state = 'running' AND c.image_id IS NOT NULL";

/// What the coverage evaluation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CoverageChanges {
    pub opened: u64,
    pub resolved: u64,
}

#[derive(sqlx::FromRow)]
struct StoredGap {
    id: i64,
    check_id: String,
    subject_id: i64,
    evidence: Option<String>,
    state: String,
    accepted_until: Option<i64>,
    last_seen_at: i64,
}

impl Store {
    /// Scan coverage of the images running now.
    pub async fn coverage(&self, max_age_days: i64, now: i64) -> StoreResult<Coverage> {
        self.coverage_in(&Scope::Global, max_age_days, now).await
    }

    /// Coverage of the images running in `scope` (on a host, in a team's containers).
    pub async fn coverage_in(
        &self,
        scope: &Scope,
        max_age_days: i64,
        now: i64,
    ) -> StoreResult<Coverage> {
        let rows = self.running_images(scope).await?;
        let cutoff = now - max_age_days * 86_400;
        let mut coverage = Coverage {
            running_images: rows.len() as i64,
            max_age_days,
            ..Coverage::default()
        };
        for (_, last_scan) in rows {
            match last_scan {
                None => coverage.unscanned += 1,
                Some(at) if at < cutoff => coverage.outdated += 1,
                Some(_) => coverage.scanned += 1,
            }
        }
        Ok(coverage)
    }

    async fn running_images(&self, scope: &Scope) -> StoreResult<Vec<(i64, Option<i64>)>> {
        let sql = format!(
            "{RUNNING_IMAGES}{} GROUP BY c.image_id",
            scope.containers(1)
        );
        Ok(with_db!(&self.db, |pool| bind_all!(
            sqlx::query_as(&sql),
            scope.arg().iter()
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Brings the coverage findings in line with the inventory and the scans: a running
    /// image with no scan gets `coverage.unscanned`, one whose last scan is older than
    /// `max_age_days` gets `coverage.scan_outdated`; gaps that closed (a scan arrived, the
    /// containers stopped) are resolved. Unchanged findings are not rewritten.
    pub async fn evaluate_scan_coverage(
        &self,
        max_age_days: i64,
        now: i64,
    ) -> StoreResult<CoverageChanges> {
        let cutoff = now - max_age_days * 86_400;
        let mut wanted: Vec<(&'static catalog::Check, i64, String)> = Vec::new();
        for (image_id, last_scan) in self.running_images(&Scope::Global).await? {
            match last_scan {
                None => wanted.push((check(UNSCANNED), image_id, "no scan report received".into())),
                Some(at) if at < cutoff => wanted.push((
                    check(SCAN_OUTDATED),
                    image_id,
                    format!(
                        "last scanned {}, over the {max_age_days}-day limit",
                        coastguard_model::format_timestamp(at)
                    ),
                )),
                Some(_) => {}
            }
        }
        let pass = crate::pass_id();
        with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            let stored: Vec<StoredGap> = sqlx::query_as(
                "SELECT id, check_id, subject_id, evidence, state, accepted_until, last_seen_at FROM config_findings \
                 WHERE subject_kind = 'image' AND check_id IN ($1, $2)",
            )
            .bind(UNSCANNED)
            .bind(SCAN_OUTDATED)
            .fetch_all(&mut *tx)
            .await?;
            let mut stored: HashMap<(String, i64), StoredGap> = stored
                .into_iter()
                .map(|g| ((g.check_id.clone(), g.subject_id), g))
                .collect();
            let mut changes = CoverageChanges::default();
            let mut upserts = Vec::new();
            // Seen again unchanged: only `last_seen_at` moves, at most hourly.
            let mut touched = Vec::new();
            for (check, image_id, evidence) in wanted {
                match stored.remove(&(check.id.to_string(), image_id)) {
                    Some(old)
                        if old.state != "resolved"
                            && old.evidence.as_deref() == Some(evidence.as_str())
                            && !(old.state == "accepted"
                                && old.accepted_until.is_some_and(|u| u <= now)) =>
                    {
                        if old.last_seen_at < now - LAST_SEEN_GRANULARITY {
                            touched.push(old.id);
                        }
                    }
                    old => {
                        if old.is_none_or(|o| o.state == "resolved") {
                            changes.opened += 1;
                        }
                        upserts.push((check, image_id, evidence));
                    }
                }
            }
            for chunk in upserts.chunks(FINDING_BATCH) {
                let sql = batch_sql(
                    UPSERT_FINDING_HEAD,
                    &finding_row_template,
                    chunk.len(),
                    UPSERT_FINDING_TAIL,
                );
                let mut q = sqlx::query(&sql);
                for (check, image_id, evidence) in chunk {
                    q = q
                        .bind(check.id)
                        .bind("image")
                        .bind(*image_id)
                        .bind("")
                        .bind(check.severity.as_str())
                        .bind(check.cis)
                        .bind(evidence)
                        .bind(now)
                        .bind(pass);
                }
                q.execute(&mut *tx).await?;
            }
            let closed: Vec<i64> = stored
                .into_values()
                .filter(|g| g.state != "resolved")
                .map(|g| g.id)
                .collect();
            for (ids, set) in [
                (&touched, "last_seen_at = $1"),
                (&closed, "state = 'resolved', resolved_at = $1"),
            ] {
                for chunk in ids.chunks(FINDING_BATCH) {
                    let params: Vec<String> =
                        (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                    let sql = format!(
                        "UPDATE config_findings SET {set} WHERE id IN ({})",
                        params.join(", ")
                    );
                    let mut q = sqlx::query(&sql).bind(now);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            changes.resolved = closed.len() as u64;
            tx.commit().await?;
            if changes.opened + changes.resolved > 0 {
                self.mark_risk_stale().await?;
            }
            Ok::<_, StoreError>(changes)
        })
    }
}

fn check(id: &str) -> &'static catalog::Check {
    catalog::check(id).unwrap_or_else(|| panic!("check {id} is not in the catalogue"))
}
