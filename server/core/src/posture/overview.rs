//! Counts for the posture overview.

use crate::store::query::{bind_all, Arg};
use crate::store::Scope;

use crate::docker::catalog;
use crate::store::{Store, StoreResult};
use crate::with_db;
use coastguard_model::signatures::{SignatureCoverage, SignatureStatus};
use coastguard_model::{CheckCount, Overview, Severity, SeverityCounts};

impl Store {
    /// `scan_max_age_days`: scans older than this don't count as coverage.
    pub async fn overview(&self, scan_max_age_days: i64, now: i64) -> StoreResult<Overview> {
        let count = |sql: &'static str| async move {
            with_db!(&self.db, |pool| sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await)
        };
        let (open_vulnerabilities, fixable_vulnerabilities, suppressed_vulnerabilities) =
            self.vuln_counts(&Scope::Global).await?;
        Ok(Overview {
            hosts: count("SELECT COUNT(*) FROM hosts WHERE status <> 'gone'").await?,
            hosts_unreachable: count("SELECT COUNT(*) FROM hosts WHERE status = 'unreachable'")
                .await?,
            clusters: count("SELECT COUNT(*) FROM clusters WHERE status <> 'gone'").await?,
            pods_running: count(
                "SELECT COUNT(*) FROM pods WHERE gone_at IS NULL \
                 AND (phase IS NULL OR phase NOT IN ('Succeeded', 'Failed'))",
            )
            .await?,
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
                .severity_counts(&format!(
                    "SELECT severity, COUNT(*) FROM runtime_alerts WHERE {} GROUP BY severity",
                    crate::alerts::OPEN
                ))
                .await?,
            fixable_vulnerabilities,
            suppressed_vulnerabilities,
            coverage: self.coverage(scan_max_age_days, now).await?,
            signatures: self.signature_coverage_in(&Scope::Global).await?,
            config_by_check: self.config_by_check(10).await?,
        })
    }

    /// The signature status of the images running in `scope`, from their latest checks.
    pub async fn signature_coverage_in(&self, scope: &Scope) -> StoreResult<SignatureCoverage> {
        let sql = format!(
            "SELECT sc.status FROM ({}) r LEFT JOIN signature_checks sc ON sc.image_id = r.image_id",
            crate::scans::coverage::running_image_ids_sql(scope)
        );
        let rows: Vec<Option<String>> = with_db!(&self.db, |pool| bind_all!(
            sqlx::query_scalar(&sql),
            scope.arg().iter()
        )
        .fetch_all(pool)
        .await)?;
        let mut c = SignatureCoverage {
            running_images: rows.len() as i64,
            ..SignatureCoverage::default()
        };
        for status in rows {
            match status.as_deref().map(SignatureStatus::parse) {
                None => c.unchecked += 1,
                Some(SignatureStatus::Verified) => c.verified += 1,
                Some(SignatureStatus::Invalid | SignatureStatus::Untrusted) => c.failing += 1,
                Some(SignatureStatus::Unsigned) => c.unsigned += 1,
                Some(SignatureStatus::Unknown) => c.unknown += 1,
            }
        }
        Ok(c)
    }

    /// The `limit` checks with open configuration findings, most severe first, then most
    /// findings; titles from the check catalogue, else the scanner's title.
    async fn config_by_check(&self, limit: i64) -> StoreResult<Vec<CheckCount>> {
        let rows: Vec<(String, i64, i64)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT check_id, CAST(MAX(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 \
                   WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) AS BIGINT) AS rank, COUNT(*) AS n \
                 FROM config_findings WHERE state = 'open' GROUP BY check_id \
                 ORDER BY rank DESC, n DESC, check_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for (check_id, rank, open) in rows {
            let title = match catalog::check(&check_id) {
                Some(c) => c.title.to_string(),
                None => with_db!(&self.db, |pool| {
                    sqlx::query_scalar::<_, Option<String>>(
                        "SELECT MAX(title) FROM config_findings WHERE check_id = $1",
                    )
                    .bind(&check_id)
                    .fetch_one(pool)
                    .await
                })?
                .unwrap_or_else(|| check_id.clone()),
            };
            out.push(CheckCount {
                check_id,
                title,
                severity: Severity::from_rank(rank),
                open,
            });
        }
        Ok(out)
    }

    /// Vulnerability findings now: open per severity, open with a fix, suppressed. Summed
    /// from the per-image counts the writers keep (migration 0006): a few thousand rows,
    /// where counting the findings themselves took 70–230 ms at a million
    /// (docs/benchmarks.md).
    pub async fn vuln_counts(&self, scope: &Scope) -> StoreResult<(SeverityCounts, i64, i64)> {
        let sql = format!(
            "SELECT severity_rank, CAST(SUM(open) AS BIGINT), CAST(SUM(fixable) AS BIGINT), \
             CAST(SUM(suppressed) AS BIGINT) FROM image_vuln_counts WHERE TRUE{} GROUP BY severity_rank",
            scope.images(1)
        );
        let rows: Vec<(i64, i64, i64, i64)> = with_db!(&self.db, |pool| {
            bind_all!(sqlx::query_as(&sql), scope.arg().iter())
                .fetch_all(pool)
                .await
        })?;
        let mut open = SeverityCounts::default();
        let (mut fixable, mut suppressed) = (0, 0);
        for (rank, o, f, s) in rows {
            open.add(Severity::from_rank(rank), o);
            fixable += f;
            suppressed += s;
        }
        Ok((open, fixable, suppressed))
    }

    /// Recounts every image's vulnerability counts from the findings: for data written
    /// around the store (benchmark estates, tests); the store's own writers keep the
    /// counts exact as they go.
    pub async fn recount_all_vuln_counts(&self) -> StoreResult<()> {
        let mut w = self.begin_pass().await?;
        let images: Vec<i64> = crate::with_tx!(&mut w.tx, |t| {
            sqlx::query("DELETE FROM image_vuln_counts")
                .execute(&mut **t)
                .await?;
            sqlx::query_scalar("SELECT DISTINCT image_id FROM findings")
                .fetch_all(&mut **t)
                .await
        })?;
        w.findings_changed(images);
        w.commit().await
    }

    /// Runs a `SELECT severity, COUNT(*) ... GROUP BY severity` and folds it into counts.
    async fn severity_counts(&self, sql: &str) -> StoreResult<SeverityCounts> {
        let rows: Vec<(String, i64)> =
            with_db!(&self.db, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
        let mut counts = SeverityCounts::default();
        for (severity, n) in rows {
            counts.add(Severity::normalise(&severity), n);
        }
        Ok(counts)
    }
}
