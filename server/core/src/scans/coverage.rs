//! Scan coverage: whether the images that run, and those the registries hold, have been
//! scanned, and recently. Counted for the overview (running images) and kept as
//! configuration findings on each image, so a gap shows up, is triaged and is resolved
//! like any other finding.

use crate::docker::catalog;
use crate::lifecycle::Extent;
use crate::store::config_findings::{Content, Key, Scope};
use crate::store::query::{bind_all, Arg};
use crate::store::{Store, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::findings::SubjectKind;

pub const UNSCANNED: &str = "coverage.unscanned";
pub const SCAN_OUTDATED: &str = "coverage.scan_outdated";

/// Each image that runs now, once: the images of running Docker containers and of
/// running pods' containers, within `scope`, whose value is parameter `$1`. A query's
/// text, to select from or to test membership in (`image_id IN (…)`).
pub(crate) fn running_image_ids_sql(scope: &crate::store::Scope) -> String {
    format!(
        "SELECT c.image_id FROM containers c \
           WHERE {RUNNING_CONTAINER} AND c.image_id IS NOT NULL{} \
         UNION SELECT pc.image_id FROM pod_containers pc JOIN pods p ON p.id = pc.pod_id \
           WHERE {RUNNING_POD} AND pc.image_id IS NOT NULL{}",
        scope.containers(1),
        scope.pods(1)
    )
}

/// A container `c` that runs now.
pub(crate) const RUNNING_CONTAINER: &str = "c.gone_at IS NULL AND c.state = 'running'";
/// A pod `p` that runs now.
pub(crate) const RUNNING_POD: &str = "p.gone_at IS NULL AND p.phase = 'Running'";

/// Where each running image runs, one row per place: `image_id`, and the Docker host's
/// name, or the cluster's name and the namespace (the other columns NULL).
pub(crate) fn running_image_places_sql() -> String {
    format!(
        "SELECT c.image_id, h.name AS host, CAST(NULL AS TEXT) AS cluster, CAST(NULL AS TEXT) AS namespace \
           FROM containers c JOIN hosts h ON h.id = c.host_id \
           WHERE {RUNNING_CONTAINER} AND c.image_id IS NOT NULL \
         UNION SELECT pc.image_id, CAST(NULL AS TEXT), k.name, p.namespace \
           FROM pod_containers pc JOIN pods p ON p.id = pc.pod_id JOIN clusters k ON k.id = p.cluster_id \
           WHERE {RUNNING_POD} AND pc.image_id IS NOT NULL"
    )
}

/// [`running_image_ids_sql`], each with when it was last scanned (the time the report
/// says the scan ran, else when it arrived; VEX documents are not scans).
pub(crate) fn running_images_sql(scope: &crate::store::Scope) -> String {
    format!(
        "SELECT r.image_id, {LAST_SCAN} AS last_scan FROM ({}) r",
        running_image_ids_sql(scope)
    )
}

/// When image `r.image_id` was last scanned.
const LAST_SCAN: &str = "(SELECT MAX(COALESCE(s.scanned_at, s.received_at)) FROM scans s \
     WHERE s.image_id = r.image_id AND s.kind <> 'vex')";

/// Each image a registry's tag names now, once (a query's text, to select from or to
/// test membership in).
pub(crate) const REGISTRY_IMAGE_IDS: &str = "SELECT DISTINCT d.image_id FROM registry_tags t \
     JOIN image_digests d ON d.digest = t.digest WHERE t.is_current = TRUE";

/// The images coverage is judged on: each running image and each image a registry's tag
/// names now, once, with when it was last scanned and whether it runs (1 or 0).
fn covered_images_sql() -> String {
    format!(
        "SELECT r.image_id, {LAST_SCAN} AS last_scan, r.runs FROM \
           (SELECT u.image_id, CAST(MAX(u.runs) AS BIGINT) AS runs FROM \
             (SELECT x.image_id, 1 AS runs FROM ({}) x \
              UNION ALL SELECT y.image_id, 0 AS runs FROM ({}) y) u \
            GROUP BY u.image_id) r",
        running_image_ids_sql(&crate::store::Scope::Global),
        REGISTRY_IMAGE_IDS
    )
}

/// What the coverage evaluation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CoverageChanges {
    pub opened: u64,
    pub resolved: u64,
}

impl Store {
    /// Scan coverage of the images running now.
    pub async fn coverage(
        &self,
        max_age_days: i64,
        now: i64,
    ) -> StoreResult<coastguard_model::vulns::Coverage> {
        self.coverage_in(&crate::store::Scope::Global, max_age_days, now)
            .await
    }

    /// Coverage of the images running in `scope` (on a host or node, in a team's
    /// containers, in a cluster or namespace).
    pub async fn coverage_in(
        &self,
        scope: &crate::store::Scope,
        max_age_days: i64,
        now: i64,
    ) -> StoreResult<coastguard_model::vulns::Coverage> {
        let rows = self.running_images(scope).await?;
        let cutoff = now - max_age_days * 86_400;
        let mut coverage = coastguard_model::vulns::Coverage {
            running_images: rows.len() as i64,
            max_age_days,
            ..coastguard_model::vulns::Coverage::default()
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

    async fn running_images(
        &self,
        scope: &crate::store::Scope,
    ) -> StoreResult<Vec<(i64, Option<i64>)>> {
        let sql = running_images_sql(scope);
        Ok(with_db!(&self.db, |pool| bind_all!(
            sqlx::query_as(&sql),
            scope.arg().iter()
        )
        .fetch_all(pool)
        .await)?)
    }

    /// [`Write::evaluate_scan_coverage`] as a housekeeping pass of its own.
    pub async fn evaluate_scan_coverage(
        &self,
        max_age_days: i64,
        now: i64,
    ) -> StoreResult<CoverageChanges> {
        let mut w = self.begin_pass().await?;
        let changes = w.evaluate_scan_coverage(max_age_days, now).await?;
        w.commit().await?;
        Ok(changes)
    }
}

impl Write {
    /// Brings the coverage findings in line with the inventory and the scans: a running
    /// image, or one a registry's tag names, with no scan gets `coverage.unscanned`, one
    /// whose last scan is older than `max_age_days` gets `coverage.scan_outdated`; gaps
    /// that closed (a scan arrived, the containers stopped and no registry holds it) are
    /// resolved. Unchanged findings are not rewritten.
    pub async fn evaluate_scan_coverage(
        &mut self,
        max_age_days: i64,
        now: i64,
    ) -> StoreResult<CoverageChanges> {
        let sql = covered_images_sql();
        let images: Vec<(i64, Option<i64>, i64)> =
            with_tx!(&mut self.tx, |t| sqlx::query_as(&sql)
                .fetch_all(&mut **t)
                .await)?;
        let found = gaps(&images, max_age_days, now);
        let scope = Scope {
            parts: vec![(
                "cf.subject_kind = 'image' AND cf.check_id IN ($1, $2)".into(),
                vec![Arg::Text(UNSCANNED.into()), Arg::Text(SCAN_OUTDATED.into())],
            )],
        };
        let applied = self
            .reconcile_config_findings(&scope, found, Extent::Complete, now)
            .await?;
        Ok(CoverageChanges {
            opened: applied.opened + applied.reopened,
            resolved: applied.resolved,
        })
    }
}

/// The coverage gaps of the images judged (each with when it was last scanned, and 1
/// when it runs, 0 when a registry holds it and it does not run).
fn gaps(images: &[(i64, Option<i64>, i64)], max_age_days: i64, now: i64) -> Vec<(Key, Content)> {
    let cutoff = now - max_age_days * 86_400;
    let gap = |id: &str, image_id: i64, evidence: String| {
        let check = check(id);
        (
            Key {
                check_id: check.id.to_string(),
                subject_kind: SubjectKind::Image,
                subject_id: image_id,
                instance: String::new(),
            },
            Content {
                severity: check.severity.as_str().to_string(),
                cis_section: check.cis.map(str::to_string),
                evidence,
                title: None,
                remediation: None,
            },
        )
    };
    images
        .iter()
        .filter_map(|&(image_id, last_scan, runs)| {
            let held = if runs == 1 {
                ""
            } else {
                "; held in a registry, not running"
            };
            match last_scan {
                None => Some(gap(
                    UNSCANNED,
                    image_id,
                    format!("no scan report received{held}"),
                )),
                Some(at) if at < cutoff => Some(gap(
                    SCAN_OUTDATED,
                    image_id,
                    format!(
                        "last scanned {}, over the {max_age_days}-day limit{held}",
                        coastguard_model::format_timestamp(at)
                    ),
                )),
                Some(_) => None,
            }
        })
        .collect()
}

fn check(id: &str) -> &'static catalog::Check {
    catalog::check(id).unwrap_or_else(|| panic!("check {id} is not in the catalogue"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscanned_and_stale_images_are_gaps_whether_they_run_or_wait_in_a_registry() {
        let now = 100 * 86_400;
        let fresh = now - 86_400;
        let stale = now - 30 * 86_400;
        let images = [
            (1, None, 1),
            (2, Some(stale), 1),
            (3, Some(fresh), 1),
            (4, None, 0),
            (5, Some(stale), 0),
            (6, Some(fresh), 0),
        ];
        let found: Vec<(i64, String, String)> = gaps(&images, 7, now)
            .into_iter()
            .map(|(k, c)| (k.subject_id, k.check_id, c.evidence))
            .collect();
        let ids: Vec<(i64, &str)> = found.iter().map(|(i, c, _)| (*i, c.as_str())).collect();
        assert_eq!(
            ids,
            [
                (1, UNSCANNED),
                (2, SCAN_OUTDATED),
                (4, UNSCANNED),
                (5, SCAN_OUTDATED)
            ]
        );
        assert!(!found[0].2.contains("registry"), "{}", found[0].2);
        assert!(
            found[2].2.contains("held in a registry, not running"),
            "{}",
            found[2].2
        );
        assert!(
            found[3].2.contains("7-day limit; held in a registry"),
            "{}",
            found[3].2
        );
    }
}
