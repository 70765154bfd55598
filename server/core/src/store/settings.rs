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

/// Where the image and scan policy (`coastguard_model::docker::Policy`) is stored.
pub const POLICY_KEY: &str = "docker_policy";

impl Store {
    /// The image and scan policy every source evaluates against (Docker checks, scan
    /// coverage): as set, or the defaults when never set or unreadable.
    pub async fn policy(&self) -> coastguard_model::docker::Policy {
        match self.setting(POLICY_KEY).await {
            Ok(Some(p)) => p,
            Ok(None) => Default::default(),
            Err(e) => {
                tracing::warn!(error = %e, "reading the image policy; using defaults");
                Default::default()
            }
        }
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

    /// Forgets a setting (it reads as never set again).
    pub async fn delete_setting(&mut self, key: &str) -> StoreResult<bool> {
        let gone = with_tx!(&mut self.tx, |t| sqlx::query(
            "DELETE FROM settings WHERE key = $1"
        )
        .bind(key)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(gone > 0)
    }
}
