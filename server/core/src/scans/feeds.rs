//! Exploit intelligence: what the KEV catalog and EPSS say of each CVE
//! (`vulnerability_intel`, migration 0007), carried onto the vulnerabilities that CVE
//! names (through their aliases) when a feed is imported and when a report brings a new
//! vulnerability.

use crate::scans::intel::{EpssScore, KevEntry};
use crate::store::audit::AuditRecord;
use crate::store::query::{push_list, IDS_PER_LIST};
use crate::store::settings::UPSERT_SETTING;
use crate::store::{Store, StoreResult, Write};
use crate::with_tx;

/// Marks known-exploited every vulnerability one of whose ids the catalog lists (and
/// that is not marked yet). A report's own mark is never taken away.
pub(crate) const APPLY_KEV: &str = "UPDATE vulnerabilities SET known_exploited = TRUE \
     WHERE known_exploited = FALSE AND EXISTS (SELECT 1 FROM vulnerability_aliases a \
       JOIN vulnerability_intel i ON i.cve = a.alias \
       WHERE a.vulnerability_id = vulnerabilities.id AND i.known_exploited = TRUE)";

/// Gives every vulnerability one of whose ids has an EPSS score the highest of them
/// (the feed is newer than the scanner's copy of it).
pub(crate) const APPLY_EPSS: &str = "UPDATE vulnerabilities SET epss = (SELECT MAX(i.epss) \
       FROM vulnerability_aliases a JOIN vulnerability_intel i ON i.cve = a.alias \
       WHERE a.vulnerability_id = vulnerabilities.id) \
     WHERE EXISTS (SELECT 1 FROM vulnerability_aliases a JOIN vulnerability_intel i ON i.cve = a.alias \
       WHERE a.vulnerability_id = vulnerabilities.id AND i.epss IS NOT NULL)";

/// Vulnerabilities in the store that a feed names.
const MATCHED: &str = "SELECT COUNT(DISTINCT a.vulnerability_id) FROM vulnerability_aliases a \
     JOIN vulnerability_intel i ON i.cve = a.alias WHERE ";

/// What a feed import records with its data, in the same transaction: its status (a
/// setting) and its audit record, both made from what the import did.
pub struct FeedRecord {
    pub setting_key: String,
    /// The status, serialised.
    pub setting_value: String,
    pub audit: AuditRecord,
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IntelImport {
    /// Vulnerabilities in the store the feed names.
    pub matched: i64,
    /// Of those, how many it changed (newly known exploited; a new EPSS score).
    pub changed: i64,
}

impl Write {
    /// Applies the stored intelligence to these vulnerabilities (new ones, or ones known
    /// by a new id).
    pub(crate) async fn apply_intel_to(&mut self, ids: &[i64]) -> StoreResult<()> {
        for chunk in ids.chunks(IDS_PER_LIST) {
            for base in [APPLY_KEV, APPLY_EPSS] {
                with_tx!(&mut self.tx, |t| {
                    let mut q = sqlx::QueryBuilder::new(base);
                    q.push(" AND id IN ");
                    push_list(&mut q, chunk);
                    q.build().execute(&mut **t).await.map(|_| ())
                })?;
            }
        }
        Ok(())
    }

    /// What a feed import records with its data: its status and its audit record.
    async fn record_feed(&mut self, r: &FeedRecord, now: i64) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| sqlx::query(UPSERT_SETTING)
            .bind(&r.setting_key)
            .bind(&r.setting_value)
            .bind(now)
            .bind(&r.audit.actor_name)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        self.audit(&r.audit, now).await
    }

    /// Runs `sql` and returns the rows it changed.
    async fn run(&mut self, sql: &str) -> StoreResult<i64> {
        Ok(with_tx!(&mut self.tx, |t| sqlx::query(sql)
            .execute(&mut **t)
            .await
            .map(|r| r.rows_affected() as i64))?)
    }

    async fn count(&mut self, sql: &str) -> StoreResult<i64> {
        Ok(with_tx!(&mut self.tx, |t| sqlx::query_scalar(sql)
            .fetch_one(&mut **t)
            .await)?)
    }
}

impl Store {
    /// Replaces the KEV catalog: the CVEs it lists are known exploited; in
    /// `vulnerability_intel`, those an earlier catalog listed and this one does not are
    /// no longer. A vulnerability keeps a mark once given (a report may have given it;
    /// CISA removes entries very rarely). One commit, with its status and record.
    pub async fn import_kev(
        &self,
        entries: &[KevEntry],
        record: impl Fn(IntelImport) -> FeedRecord,
        now: i64,
    ) -> StoreResult<IntelImport> {
        let mut w = self.begin().await?;
        with_tx!(&mut w.tx, |t| {
            sqlx::query(
            "UPDATE vulnerability_intel SET known_exploited = FALSE, kev_added = NULL, kev_due = NULL, \
             kev_ransomware = FALSE, updated_at = $1 WHERE known_exploited = TRUE",
        )
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        let per = w.batch_params() / 5;
        for chunk in entries.chunks(per) {
            with_tx!(&mut w.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO vulnerability_intel (cve, kev_added, kev_due, kev_ransomware, updated_at, known_exploited) ",
                );
                q.push_values(chunk, |mut row, e| {
                    row.push_bind(&e.cve)
                        .push_bind(&e.date_added)
                        .push_bind(&e.due_date)
                        .push_bind(e.ransomware)
                        .push_bind(now)
                        .push("TRUE");
                });
                q.push(
                    " ON CONFLICT (cve) DO UPDATE SET known_exploited = TRUE, kev_added = excluded.kev_added, \
                     kev_due = excluded.kev_due, kev_ransomware = excluded.kev_ransomware, updated_at = excluded.updated_at",
                );
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        let changed = w.run(APPLY_KEV).await?;
        let matched = w
            .count(&format!("{MATCHED}i.known_exploited = TRUE"))
            .await?;
        let done = IntelImport { matched, changed };
        w.record_feed(&record(done), now).await?;
        if changed > 0 {
            w.risk_changed();
        }
        w.commit().await?;
        Ok(done)
    }

    /// Stores EPSS scores (a newer score replaces an older one) and gives them to the
    /// vulnerabilities they name. One commit, with its status and record.
    pub async fn import_epss(
        &self,
        scores: &[EpssScore],
        record: impl Fn(IntelImport) -> FeedRecord,
        now: i64,
    ) -> StoreResult<IntelImport> {
        let mut w = self.begin().await?;
        let per = w.batch_params() / 4;
        for chunk in scores.chunks(per) {
            with_tx!(&mut w.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO vulnerability_intel (cve, epss, epss_percentile, updated_at) ",
                );
                q.push_values(chunk, |mut row, s| {
                    row.push_bind(&s.cve)
                        .push_bind(s.epss)
                        .push_bind(s.percentile)
                        .push_bind(now);
                });
                q.push(
                    " ON CONFLICT (cve) DO UPDATE SET epss = excluded.epss, \
                     epss_percentile = excluded.epss_percentile, updated_at = excluded.updated_at",
                );
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        // Only scores that differ count as changes (re-importing a day is no change).
        let changed = w
            .count(
                "SELECT COUNT(*) FROM vulnerabilities v WHERE v.epss IS DISTINCT FROM (SELECT MAX(i.epss) \
                 FROM vulnerability_aliases a JOIN vulnerability_intel i ON i.cve = a.alias \
                 WHERE a.vulnerability_id = v.id AND i.epss IS NOT NULL) \
                 AND EXISTS (SELECT 1 FROM vulnerability_aliases a JOIN vulnerability_intel i ON i.cve = a.alias \
                 WHERE a.vulnerability_id = v.id AND i.epss IS NOT NULL)",
            )
            .await?;
        w.run(APPLY_EPSS).await?;
        let matched = w.count(&format!("{MATCHED}i.epss IS NOT NULL")).await?;
        let done = IntelImport { matched, changed };
        w.record_feed(&record(done), now).await?;
        if changed > 0 {
            w.risk_changed();
        }
        w.commit().await?;
        Ok(done)
    }
}
