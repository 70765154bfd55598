//! The store: every query Coastguard runs, grouped by capability. One implementation
//! serves both backends (see [`crate::db`]); `tests/` runs the same stories on each.

pub(crate) mod audit;
pub mod config_findings;
mod counts;
mod leases;
pub(crate) mod listing;
pub mod notices;
pub(crate) mod query;
mod scope;
pub(crate) mod settings;
mod throttle;
pub mod tokens;
pub mod users;
mod write;

pub use audit::AuditRecord;
pub use scope::Scope;
pub use throttle::{Reservation, ThrottlePolicy};
pub use tokens::TokenRow;
pub use users::UserRow;
pub use write::Write;

use crate::db::Db;

/// Storage errors. Handlers map them onto HTTP statuses; the database's own text is
/// logged, never sent to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule or a domain rule (e.g. "the last admin can't be removed").
    #[error("{0}")]
    Conflict(String),
    /// A query parameter the store can't use (unknown sort key, page 0...): the field
    /// and what is wrong.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A write tried to commit a change without its audit record: a bug, refused.
    #[error("a change without its audit record was not committed")]
    Unaudited,
}

impl StoreError {
    /// Turns a unique-constraint violation into a `Conflict` with a message for people.
    pub(crate) fn on_unique(err: sqlx::Error, message: impl Into<String>) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(message.into())
            }
            _ => StoreError::Db(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// SQLite writes one transaction at a time: writers take turns here, in the order they
    /// came (see [`Store::begin`]).
    pub(crate) writers: std::sync::Arc<tokio::sync::Semaphore>,
}

/// An exception `e` in force at `$1`.
pub const EXCEPTION_ACTIVE: &str =
    "e.effective_at IS NOT NULL AND e.revoked_at IS NULL AND (e.expires_at IS NULL OR e.expires_at > $1)";

impl Store {
    pub fn new(db: Db) -> Store {
        Store {
            db,
            writers: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Whether anything is stored that people or sources put there: users, API tokens,
    /// engines, clusters, registries, images, scans, suppressions or audit records.
    pub async fn holds_data(&self) -> StoreResult<bool> {
        const SQL: &str =
            "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM api_tokens) \
             OR EXISTS (SELECT 1 FROM hosts) OR EXISTS (SELECT 1 FROM clusters) \
             OR EXISTS (SELECT 1 FROM registries) OR EXISTS (SELECT 1 FROM images) \
             OR EXISTS (SELECT 1 FROM scans) OR EXISTS (SELECT 1 FROM exceptions) \
             OR EXISTS (SELECT 1 FROM audit_log)";
        Ok(crate::with_db!(&self.db, |pool| sqlx::query_scalar::<
            _,
            bool,
        >(SQL)
        .fetch_one(pool)
        .await)?)
    }

    /// Keeps the query planner's statistics current. SQLite has no autovacuum daemon to
    /// gather them: without them it picks the wrong index at a million findings (a
    /// package filter took 1.4 s instead of milliseconds, docs/benchmarks.md). `optimize`
    /// analyses only tables that changed a lot, and `analysis_limit` bounds the work.
    /// Postgres's autovacuum does this on its own.
    pub async fn optimize(&self) -> StoreResult<()> {
        if let Db::Sqlite(pool) = &self.db {
            let mut conn = pool.acquire().await?;
            sqlx::query("PRAGMA analysis_limit = 1000")
                .execute(&mut *conn)
                .await?;
            sqlx::query("PRAGMA optimize = 0x10002")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}
