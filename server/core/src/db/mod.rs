//! Database connections for the two supported backends.
//!
//! SQLite and Postgres run the same SQL text: queries use `$1`-style parameters (which
//! SQLite accepts too), standard `ON CONFLICT` upserts, `RETURNING`, `TRUE`/`FALSE`
//! literals and integer Unix timestamps. Only the DDL differs, so each backend has its
//! own migrations folder. [`with_db!`] runs one piece of sqlx code against whichever
//! pool is configured; where a backend needs its own statement, match on [`Db`].

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// A connection pool to one of the supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same sqlx expression against whichever backend `$db` holds. The body is
/// compiled once per backend, so types are inferred for each.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// An open write transaction on whichever backend is configured (see
/// [`crate::store::Write`], the handle actions write through).
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same sqlx code inside an open [`Tx`]: `$t` is the backend's
/// `&mut Transaction`, so statements execute on `&mut **$t`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$t:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite($t) => $body,
            $crate::db::Tx::Postgres($t) => $body,
        }
    };
}

impl Db {
    /// Opens a write transaction (SQLite: `BEGIN IMMEDIATE`, see [`begin_write`]).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(begin_write(pool).await?),
            Db::Postgres(pool) => Tx::Postgres(begin_write(pool).await?),
        })
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Which [`Backend`] a sqlx database type is, as a constant: code generic over the
/// database (or compiled once per backend by [`with_db!`]) asks this, never the name.
pub trait Dialect: sqlx::Database {
    const BACKEND: Backend;
}

impl Dialect for sqlx::Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
}

impl Dialect for sqlx::Postgres {
    const BACKEND: Backend = Backend::Postgres;
}

impl Backend {
    /// See [`Db::batch_params`].
    pub fn batch_params(self) -> usize {
        match self {
            Backend::Sqlite => 400,
            Backend::Postgres => 6000,
        }
    }

    pub fn of_url(url: &str) -> Result<Backend, ConnectError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(ConnectError {
                url: redact_url(url),
                reason: "unsupported database URL: expected sqlite://PATH or postgres://...".into(),
            })
        }
    }
}

/// Failure to open or migrate the database, with the URL already redacted.
#[derive(Debug, thiserror::Error)]
#[error("database {url}: {reason}")]
pub struct ConnectError {
    pub url: String,
    pub reason: String,
}

impl Db {
    /// Opens a pool. SQLite files are created if missing, in WAL mode with foreign keys on.
    pub async fn connect(url: &str) -> Result<Db, ConnectError> {
        let fail = |reason: String| ConnectError {
            url: redact_url(url),
            reason,
        };
        match Backend::of_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| fail(e.to_string()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let file = options.get_filename().to_path_buf();
                if let Some(parent) = file.parent() {
                    if !parent.as_os_str().is_empty() && !parent.exists() {
                        // Readable by the owner only: the database holds the estate.
                        use std::os::unix::fs::DirBuilderExt;
                        std::fs::DirBuilder::new()
                            .recursive(true)
                            .mode(0o700)
                            .create(parent)
                            .map_err(|e| {
                                fail(format!("cannot create directory {}: {e}", parent.display()))
                            })?;
                    }
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                owner_only(&file).map_err(|e| fail(e.to_string()))?;
                Ok(Db::Sqlite(pool))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url).map_err(|e| fail(e.to_string()))?;
                // One direct connection first: a pool that can't connect only reports a
                // timeout, while this names the cause (refused, auth failed, no such db).
                use sqlx::ConnectOptions;
                let probe = tokio::time::timeout(Duration::from_secs(10), options.connect())
                    .await
                    .map_err(|_| fail("no answer within 10 s".into()))?
                    .map_err(|e| fail(e.to_string()))?;
                let _ = sqlx::Connection::close(probe).await;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Bound parameters worth putting in one multi-row statement. SQLite looks a named
    /// parameter (`$N`) up by a linear scan, so a statement's binding cost grows with the
    /// square of its parameters: 10,000 findings took 1.1 s in 400-row statements and
    /// 0.22 s in 25-row ones (docs/benchmarks.md). Postgres pays per round trip instead.
    pub fn batch_params(&self) -> usize {
        self.backend().batch_params()
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend. Safe to run from several
    /// replicas at once: sqlx takes a database lock while migrating.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../../migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("../../migrations/postgres").run(pool).await,
        }
    }

    /// Applies the embedded migrations up to `version` only: a database as an older
    /// release left it, for testing what the later migrations do to its data.
    pub async fn migrate_to(&self, version: i64) -> Result<(), sqlx::migrate::MigrateError> {
        let mut migrator = match self {
            Db::Sqlite(_) => sqlx::migrate!("../../migrations/sqlite"),
            Db::Postgres(_) => sqlx::migrate!("../../migrations/postgres"),
        };
        let older: Vec<sqlx::migrate::Migration> = migrator
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect();
        migrator.migrations = older.into();
        match self {
            Db::Sqlite(pool) => migrator.run(pool).await,
            Db::Postgres(pool) => migrator.run(pool).await,
        }
    }

    /// The tables of this database (of the current schema, on Postgres).
    pub async fn table_names(&self) -> Result<Vec<String>, sqlx::Error> {
        let list = match self {
            Db::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Db::Postgres(_) => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
            }
        };
        with_db!(self, |pool| sqlx::query_scalar(list).fetch_all(pool).await)
    }

    /// Drops every table of this database (the schema's, on Postgres), migrations'
    /// record included. Only for a database known to hold nothing else: the demo
    /// estate's, which `coastguard demo` recreates and removes.
    pub async fn drop_all_tables(&self) -> Result<(), sqlx::Error> {
        for table in self.table_names().await? {
            // Names come from the catalogue, quoted as identifiers.
            let sql = match self {
                Db::Sqlite(_) => format!("DROP TABLE IF EXISTS \"{}\"", table.replace('"', "\"\"")),
                Db::Postgres(_) => format!(
                    "DROP TABLE IF EXISTS \"{}\" CASCADE",
                    table.replace('"', "\"\"")
                ),
            };
            match self {
                Db::Sqlite(pool) => {
                    // One connection, foreign keys off, so the order of drops can't fail.
                    let mut conn = pool.acquire().await?;
                    sqlx::query("PRAGMA foreign_keys = OFF")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(&sql).execute(&mut *conn).await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                }
                Db::Postgres(pool) => {
                    sqlx::query(&sql).execute(pool).await?;
                }
            }
        }
        Ok(())
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))
    }

    pub async fn close(&self) {
        with_db!(self, |pool| pool.close().await)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and logs.
/// Begins a transaction that writes. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction that read first and then writes fails
/// with "database is locked" (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not
/// retry) whenever another writer committed in between, as an ingest and the
/// suppressions job did. Postgres begins as usual.
pub async fn begin_write<DB: Dialect>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    if DB::BACKEND == Backend::Sqlite {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// A URL fit for logs and messages: the password in its userinfo and the values of
/// secret-named query parameters (`password`, `sslpassword`, `token`…) become `***`.
/// Makes a SQLite database file and its journal files readable and writable by their
/// owner only (SQLite creates them as the umask allows, usually world-readable).
fn owner_only(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if file.as_os_str().is_empty() || file == std::path::Path::new(":memory:") {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        let path = std::path::PathBuf::from(path);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let secret_key = |k: &str| {
                let k = k.to_ascii_lowercase();
                ["pass", "pwd", "secret", "token", "key", "credential"]
                    .iter()
                    .any(|s| k.contains(s))
            };
            if parsed.query_pairs().any(|(k, _)| secret_key(&k)) {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if secret_key(&k) {
                            "***".to_string()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // Unparseable: keep the scheme only, in case the rest holds a secret.
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "<unparseable URL>".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://cg:hunter2@db:5432/coastguard"),
            "postgres://cg:***@db:5432/coastguard"
        );
        assert_eq!(redact_url("sqlite://data/cg.db"), "sqlite://data/cg.db");
        assert_eq!(redact_url("postgres://cg@db/x"), "postgres://cg@db/x");
        assert_eq!(
            redact_url("postgres://db/x?user=cg&password=hunter2&sslmode=require"),
            "postgres://db/x?user=cg&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://cg:pw1@db/x?sslpassword=pw2"),
            "postgres://cg:***@db/x?sslpassword=***"
        );
    }

    #[tokio::test]
    async fn a_new_sqlite_database_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("cg-perms-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let file = root.join("data/coastguard.db");
        let db = Db::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("data")), 0o700);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&file), 0o600);
        db.close().await;
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn picks_backend_from_scheme() {
        assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgresql://h/d").unwrap(),
            Backend::Postgres
        );
        let err = Backend::of_url("mysql://root:pw@h/d").unwrap_err();
        assert!(err.to_string().contains("mysql://root:***@h/d"), "{err}");
    }
}
