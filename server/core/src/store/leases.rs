//! Leases: a row per scheduled job saying which replica runs it until when, so two
//! replicas sharing a database never run the same job at once.

use super::{Store, StoreResult};
use crate::with_db;

impl Store {
    /// Takes or renews the lease `name` for `holder` until `now + ttl`. Returns false when
    /// another holder has an unexpired lease.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let got: Option<String> = with_db!(&self.db, |pool| {
            sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder \
             RETURNING holder"
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl)
        .bind(now)
        .fetch_optional(pool)
        .await
        })?;
        Ok(got.is_some())
    }

    /// Gives a lease up early (on shutdown), if `holder` still has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM leases WHERE name = $1 AND holder = $2"
        )
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
