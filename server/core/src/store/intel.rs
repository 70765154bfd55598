//! Exploit intelligence: what the KEV catalog and EPSS say of each CVE
//! (`vulnerability_intel`, migration 0007), carried onto the vulnerabilities that CVE
//! names (through their aliases) when a feed is imported and when a report brings a new
//! vulnerability.

use super::audit::{audit_in, AuditRecord};
use super::settings::UPSERT_SETTING;
use super::vulns::{placeholders, BATCH};
use super::{Store, StoreError, StoreResult};
use crate::scans::intel::{EpssScore, KevEntry};
use crate::with_db;

/// Marks known-exploited every vulnerability one of whose ids the catalog lists (and
/// that is not marked yet). A report's own mark is never taken away.
pub(super) const APPLY_KEV: &str = "UPDATE vulnerabilities SET known_exploited = TRUE \
     WHERE known_exploited = FALSE AND EXISTS (SELECT 1 FROM vulnerability_aliases a \
       JOIN vulnerability_intel i ON i.cve = a.alias \
       WHERE a.vulnerability_id = vulnerabilities.id AND i.known_exploited = TRUE)";

/// Gives every vulnerability one of whose ids has an EPSS score the highest of them
/// (the feed is newer than the scanner's copy of it).
pub(super) const APPLY_EPSS: &str = "UPDATE vulnerabilities SET epss = (SELECT MAX(i.epss) \
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

/// Writes what a feed import records (its status and its audit record) in the import's
/// open transaction `$tx`.
macro_rules! record_feed {
    ($tx:expr, $record:expr, $now:expr) => {{
        let r: &FeedRecord = $record;
        sqlx::query(UPSERT_SETTING)
            .bind(&r.setting_key)
            .bind(&r.setting_value)
            .bind($now)
            .bind(&r.audit.actor_name)
            .execute(&mut *$tx)
            .await?;
        audit_in!($tx, &r.audit, $now)?;
    }};
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IntelImport {
    /// Vulnerabilities in the store the feed names.
    pub matched: i64,
    /// Of those, how many it changed (newly known exploited; a new EPSS score).
    pub changed: i64,
}

/// Applies the stored intelligence to vulnerabilities `$1..$n` (new ones, in the
/// transaction `$tx` that created them).
macro_rules! apply_intel_to {
    ($tx:expr, $ids:expr) => {{
        let ids: &[i64] = $ids;
        for chunk in ids.chunks($crate::store::vulns::BATCH) {
            let only = format!(
                " AND id IN ({})",
                $crate::store::vulns::placeholders(1, chunk.len())
            );
            for base in [
                $crate::store::intel::APPLY_KEV,
                $crate::store::intel::APPLY_EPSS,
            ] {
                let sql = format!("{base}{only}");
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *$tx).await?;
            }
        }
    }};
}
pub(crate) use apply_intel_to;

impl Store {
    /// Replaces the KEV catalog: the CVEs it lists are known exploited; in
    /// `vulnerability_intel`, those an earlier catalog listed and this one does not are
    /// no longer. A vulnerability keeps a mark once given (a report may have given it;
    /// CISA removes entries very rarely). One transaction.
    pub async fn import_kev(
        &self,
        entries: &[KevEntry],
        record: impl Fn(IntelImport) -> FeedRecord,
        now: i64,
    ) -> StoreResult<IntelImport> {
        let cols = 5;
        let per = (self.db.batch_params() / cols).min(BATCH);
        let out = with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            sqlx::query(
                "UPDATE vulnerability_intel SET known_exploited = FALSE, kev_added = NULL, kev_due = NULL, \
                 kev_ransomware = FALSE, updated_at = $1 WHERE known_exploited = TRUE",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for chunk in entries.chunks(per) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| format!("({}, TRUE)", placeholders(i * cols + 1, cols)))
                    .collect();
                let sql = format!(
                    "INSERT INTO vulnerability_intel (cve, kev_added, kev_due, kev_ransomware, updated_at, known_exploited) \
                     VALUES {} ON CONFLICT (cve) DO UPDATE SET known_exploited = TRUE, kev_added = excluded.kev_added, \
                     kev_due = excluded.kev_due, kev_ransomware = excluded.kev_ransomware, updated_at = excluded.updated_at",
                    rows.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for e in chunk {
                    q = q
                        .bind(&e.cve)
                        .bind(&e.date_added)
                        .bind(&e.due_date)
                        .bind(e.ransomware)
                        .bind(now);
                }
                q.execute(&mut *tx).await?;
            }
            let changed = sqlx::query(APPLY_KEV)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            let matched: i64 = sqlx::query_scalar(&format!("{MATCHED}i.known_exploited = TRUE"))
                .fetch_one(&mut *tx)
                .await?;
            let done = IntelImport { matched, changed };
            record_feed!(tx, &record(done), now);
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        })?;
        if out.changed > 0 {
            self.mark_risk_stale().await?;
        }
        Ok(out)
    }

    /// Stores EPSS scores (a newer score replaces an older one) and gives them to the
    /// vulnerabilities they name. One transaction.
    pub async fn import_epss(
        &self,
        scores: &[EpssScore],
        record: impl Fn(IntelImport) -> FeedRecord,
        now: i64,
    ) -> StoreResult<IntelImport> {
        let cols = 4;
        let per = (self.db.batch_params() / cols).min(BATCH);
        let out = with_db!(&self.db, |pool| {
            let mut tx = crate::db::begin_write(pool).await?;
            for chunk in scores.chunks(per) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| format!("({})", placeholders(i * cols + 1, cols)))
                    .collect();
                let sql = format!(
                    "INSERT INTO vulnerability_intel (cve, epss, epss_percentile, updated_at) VALUES {} \
                     ON CONFLICT (cve) DO UPDATE SET epss = excluded.epss, \
                     epss_percentile = excluded.epss_percentile, updated_at = excluded.updated_at",
                    rows.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for s in chunk {
                    q = q.bind(&s.cve).bind(s.epss).bind(s.percentile).bind(now);
                }
                q.execute(&mut *tx).await?;
            }
            // Only scores that differ count as changes (re-importing a day is no change).
            let changed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM vulnerabilities v WHERE v.epss IS DISTINCT FROM (SELECT MAX(i.epss) \
                 FROM vulnerability_aliases a JOIN vulnerability_intel i ON i.cve = a.alias \
                 WHERE a.vulnerability_id = v.id AND i.epss IS NOT NULL) \
                 AND EXISTS (SELECT 1 FROM vulnerability_aliases a JOIN vulnerability_intel i ON i.cve = a.alias \
                 WHERE a.vulnerability_id = v.id AND i.epss IS NOT NULL)",
            )
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(APPLY_EPSS).execute(&mut *tx).await?;
            let matched: i64 = sqlx::query_scalar(&format!("{MATCHED}i.epss IS NOT NULL"))
                .fetch_one(&mut *tx)
                .await?;
            let done = IntelImport { matched, changed };
            record_feed!(tx, &record(done), now);
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        })?;
        if out.changed > 0 {
            self.mark_risk_stale().await?;
        }
        Ok(out)
    }
}
