//! Login throttling: failed attempts counted per key (a user name, a client address)
//! in the database, so every replica sees the same counters.

use super::{Store, StoreResult};
use crate::with_db;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Attempts allowed within `window` seconds before the key is locked (successes
    /// are given back, so in effect: failures).
    pub max_failures: i64,
    pub window: i64,
    /// How long (seconds) a key stays locked once it trips.
    pub lockout: i64,
}

/// One reserved attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// Attempts counted in the current window, this one included.
    pub attempts: i64,
    /// Within the limit: the password may be checked.
    pub allowed: bool,
    /// The key is locked until then (set by the attempt that reached the limit).
    pub locked_until: Option<i64>,
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

    /// Reserves one attempt for `key` before the password is checked (count first, then
    /// check), so a burst of concurrent attempts can't get more than `max_failures`
    /// checks in: the attempt may go ahead only if [`Reservation::allowed`]. One
    /// statement, so concurrent reservations can't lose counts.
    ///
    /// The count restarts when the window has passed (and no lock holds) or a lock has
    /// run out; the attempt that reaches `max_failures` sets the lock (it still goes
    /// ahead); later ones are refused until the lock ends. A success gives its
    /// reservation back ([`Store::throttle_refund`]) or clears the key.
    pub async fn throttle_reserve(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: i64,
    ) -> StoreResult<Reservation> {
        let (attempts, locked_until): (i64, Option<i64>) = with_db!(&self.db, |pool| {
            sqlx::query_as(
            "INSERT INTO login_attempts (key, failures, window_started_at, locked_until) \
             VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN (login_attempts.locked_until IS NOT NULL AND login_attempts.locked_until <= $2) \
                                 OR (login_attempts.locked_until IS NULL AND login_attempts.window_started_at < $3) \
                               THEN 1 ELSE login_attempts.failures + 1 END, \
               window_started_at = CASE WHEN (login_attempts.locked_until IS NOT NULL AND login_attempts.locked_until <= $2) \
                                          OR (login_attempts.locked_until IS NULL AND login_attempts.window_started_at < $3) \
                                        THEN $2 ELSE login_attempts.window_started_at END, \
               locked_until = CASE \
                 WHEN (login_attempts.locked_until IS NOT NULL AND login_attempts.locked_until <= $2) \
                   OR (login_attempts.locked_until IS NULL AND login_attempts.window_started_at < $3) \
                 THEN CASE WHEN 1 >= $4 THEN $5 ELSE NULL END \
                 WHEN login_attempts.failures + 1 >= $4 THEN COALESCE(login_attempts.locked_until, $5) \
                 ELSE login_attempts.locked_until END \
             RETURNING failures, locked_until"
        )
        .bind(key)
        .bind(now)
        .bind(now - policy.window)
        .bind(policy.max_failures)
        .bind(now + policy.lockout)
        .fetch_one(pool)
        .await
        })?;
        Ok(Reservation {
            attempts,
            allowed: attempts <= policy.max_failures,
            locked_until: locked_until.filter(|&until| until > now),
        })
    }

    /// Gives back a reservation that turned out not to be a failure (a success, or an
    /// attempt that was never checked). Lifts the lock that reservation set.
    pub async fn throttle_refund(&self, key: &str, policy: ThrottlePolicy) -> StoreResult<()> {
        with_db!(&self.db, |pool| sqlx::query(
            "UPDATE login_attempts SET \
               locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END, \
               failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END \
             WHERE key = $1"
        )
        .bind(key)
        .bind(policy.max_failures)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
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
