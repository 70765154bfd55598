//! Counts for the posture overview.

use super::vulns::severity_of_rank;
use super::{Store, StoreResult};
use crate::with_db;
use coastguard_model::{Overview, Severity, SeverityCounts};

impl Store {
    /// `scan_max_age_days`: scans older than this don't count as coverage.
    pub async fn overview(&self, scan_max_age_days: i64, now: i64) -> StoreResult<Overview> {
        let count = |sql: &'static str| async move {
            with_db!(&self.db, |pool| sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await)
        };
        // Counting 800,000 open findings on every view cost 70–190 ms (docs/benchmarks.md);
        // today's snapshot holds the same numbers whenever nothing changed since it.
        let (open_vulnerabilities, fixable_vulnerabilities, suppressed_vulnerabilities) =
            match self.fresh_vuln_counts(now).await? {
                Some(counts) => counts,
                None => (
                    self.open_findings_by_rank().await?,
                    count("SELECT COUNT(*) FROM findings WHERE state = 'open' AND fixed_version IS NOT NULL")
                        .await?,
                    count("SELECT COUNT(*) FROM findings WHERE state = 'suppressed'").await?,
                ),
            };
        Ok(Overview {
            hosts: count("SELECT COUNT(*) FROM hosts WHERE status <> 'gone'").await?,
            hosts_unreachable: count("SELECT COUNT(*) FROM hosts WHERE status = 'unreachable'")
                .await?,
            clusters: count("SELECT COUNT(*) FROM clusters WHERE status <> 'gone'").await?,
            images: count("SELECT COUNT(*) FROM images").await?,
            containers_running: count(
                "SELECT COUNT(*) FROM containers WHERE state = 'running' AND gone_at IS NULL",
            )
            .await?,
            scans: count("SELECT COUNT(*) FROM scans").await?,
            open_vulnerabilities,
            open_config_findings: self
                .severity_counts(
                    "SELECT severity, COUNT(*) FROM config_findings WHERE state = 'open' \
                     GROUP BY severity",
                )
                .await?,
            open_runtime_alerts: self
                .severity_counts(
                    "SELECT severity, COUNT(*) FROM runtime_alerts WHERE state = 'open' \
                     GROUP BY severity",
                )
                .await?,
            fixable_vulnerabilities,
            suppressed_vulnerabilities,
            coverage: self.coverage(scan_max_age_days, now).await?,
        })
    }

    /// Open vulnerability findings per severity, counted from the severity index alone.
    async fn open_findings_by_rank(&self) -> StoreResult<SeverityCounts> {
        let rows: Vec<(i64, i64)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT severity_rank, COUNT(*) FROM findings WHERE state = 'open' GROUP BY severity_rank"
        )
        .fetch_all(pool)
        .await
        })?;
        let mut counts = SeverityCounts::default();
        for (rank, n) in rows {
            counts.add(severity_of_rank(rank), n);
        }
        Ok(counts)
    }

    /// Runs a `SELECT severity, COUNT(*) ... GROUP BY severity` and folds it into counts.
    async fn severity_counts(&self, sql: &'static str) -> StoreResult<SeverityCounts> {
        let rows: Vec<(String, i64)> =
            with_db!(&self.db, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
        let mut counts = SeverityCounts::default();
        for (severity, n) in rows {
            counts.add(Severity::normalise(&severity), n);
        }
        Ok(counts)
    }
}
