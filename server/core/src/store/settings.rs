//! Admin-editable settings, stored as JSON values by key (shared by all replicas).

use super::{Store, StoreResult, Write};
use crate::{with_db, with_tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Writes a setting: key, value (JSON), when, by whom.
pub(crate) const UPSERT_SETTING: &str =
    "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
     updated_by = excluded.updated_by";

impl Store {
    /// The stored value, or `None` when never set (or no longer readable as `T`, which
    /// is logged: a settings shape change must not stop the server).
    pub async fn setting<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let raw: Option<String> = with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT value FROM settings WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await)?;
        Ok(raw.and_then(|raw| match serde_json::from_str(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(key, error = %e, "ignoring an unreadable setting");
                None
            }
        }))
    }
}

impl Write {
    /// A setting, changed by an action (its record goes in the same [`Write`]).
    pub async fn put_setting<T: Serialize>(
        &mut self,
        key: &str,
        value: &T,
        by: &str,
        now: i64,
    ) -> StoreResult<()> {
        let raw = serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        with_tx!(&mut self.tx, |t| sqlx::query(UPSERT_SETTING)
            .bind(key)
            .bind(&raw)
            .bind(now)
            .bind(by)
            .execute(&mut **t)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
