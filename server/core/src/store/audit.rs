//! The audit log: who changed what, when, from where. Append-only.

use super::{Store, StoreResult};
use crate::with_db;
use coastguard_model::{AuditEntry, Page};

/// One event to record. `detail` must never hold secrets.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor_kind: &'static str,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: &'static str,
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub ip: Option<String>,
}

impl AuditRecord {
    /// Something Coastguard itself did (start-up, a job), about `target`.
    pub fn system(action: &'static str, target: impl Into<String>) -> AuditRecord {
        AuditRecord {
            actor_kind: "system",
            actor_id: None,
            actor_name: "coastguard".into(),
            action,
            target: Some(target.into()),
            detail: None,
            ip: None,
        }
    }
}

pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, target, detail, ip) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Writes an [`AuditRecord`] within the open transaction `$tx` (either backend), so a
/// change and the record of it commit together or not at all.
macro_rules! audit_in {
    ($tx:expr, $record:expr, $now:expr) => {{
        let record: &$crate::store::audit::AuditRecord = $record;
        sqlx::query($crate::store::audit::INSERT_AUDIT)
            .bind($now)
            .bind(record.actor_kind)
            .bind(record.actor_id)
            .bind(&record.actor_name)
            .bind(record.action)
            .bind(&record.target)
            .bind(record.detail.as_ref().map(|d| d.to_string()))
            .bind(&record.ip)
            .execute(&mut *$tx)
            .await
    }};
}
pub(crate) use audit_in;

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor_kind: String,
    actor_name: String,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    ip: Option<String>,
}

impl Store {
    pub async fn audit(&self, record: &AuditRecord, now: i64) -> StoreResult<()> {
        let detail = record.detail.as_ref().map(|d| d.to_string());
        with_db!(&self.db, |pool| {
            sqlx::query(INSERT_AUDIT)
                .bind(now)
                .bind(record.actor_kind)
                .bind(record.actor_id)
                .bind(&record.actor_name)
                .bind(record.action)
                .bind(&record.target)
                .bind(&detail)
                .bind(&record.ip)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Newest first, `limit` per page; `before` is the previous page's `next_cursor`.
    pub async fn list_audit(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<AuditEntry>> {
        let rows = with_db!(&self.db, |pool| sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor_kind, actor_name, action, target, detail, ip FROM audit_log \
             WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
        let items: Vec<AuditEntry> = rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor_kind: r.actor_kind,
                actor_name: r.actor_name,
                action: r.action,
                target: r.target,
                detail: r.detail,
                ip: r.ip,
            })
            .collect();
        let next_cursor = (items.len() as i64 == limit)
            .then(|| items.last().map(|e| e.id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }
}
