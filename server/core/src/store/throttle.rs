//! Login throttling: failed attempts counted per key (a user name, a client address)
//! in the database, so every replica sees the same counters.

use super::{Store, StoreResult};
use crate::with_db;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed within `window` seconds before the key is locked.
    pub max_failures: i64,
    pub window: i64,
    /// How long (seconds) a key stays locked once it trips.
    pub lockout: i64,
}

impl Store {
    /// If `key` is locked at `now`, until when.
    pub async fn throttle_locked_until(&self, key: &str, now: i64) -> StoreResult<Option<i64>> {
        let until: Option<Option<i64>> = with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT locked_until FROM login_attempts WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await)?;
        Ok(until.flatten().filter(|&until| until > now))
    }

    /// Counts a failure; returns the lock's end when this failure trips the limit.
    pub async fn throttle_failure(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        // One statement, so concurrent failures can't lose counts: a window that has
        // expired restarts at 1, otherwise the count goes up; the lock is set when the
        // count reaches the limit.
        let window_start = now - policy.window;
        let locked: Option<i64> = with_db!(&self.db, |pool| sqlx::query_scalar(
            "INSERT INTO login_attempts (key, failures, window_started_at, locked_until) \
             VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_attempts.window_started_at < $3 THEN 1 \
                               ELSE login_attempts.failures + 1 END, \
               window_started_at = CASE WHEN login_attempts.window_started_at < $3 THEN $2 \
                                        ELSE login_attempts.window_started_at END, \
               locked_until = CASE \
                 WHEN (CASE WHEN login_attempts.window_started_at < $3 THEN 1 \
                            ELSE login_attempts.failures + 1 END) >= $4 THEN $5 \
                 ELSE login_attempts.locked_until END \
             RETURNING locked_until"
        )
        .bind(key)
        .bind(now)
        .bind(window_start)
        .bind(policy.max_failures)
        .bind(now + policy.lockout)
        .fetch_one(pool)
        .await)?;
        Ok(locked.filter(|&until| until > now))
    }

    pub async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM login_attempts WHERE key = $1"
        )
        .bind(key)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Forgets counters whose window and lock are both over.
    pub async fn throttle_prune(&self, policy: ThrottlePolicy, now: i64) -> StoreResult<u64> {
        let done = with_db!(&self.db, |pool| sqlx::query(
            "DELETE FROM login_attempts WHERE window_started_at < $1 \
             AND (locked_until IS NULL OR locked_until < $2)"
        )
        .bind(now - policy.window)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
