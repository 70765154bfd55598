//! Fresh, migrated databases for tests, on both backends.
//!
//! SQLite: a new file in a temporary directory. Postgres: a new database on the server
//! named by `COASTGUARD_TEST_POSTGRES_URL` (an account allowed to create databases),
//! which the test command (`scripts/test`) starts and sets. Storage tests must run on
//! both; set `COASTGUARD_TEST_SKIP_POSTGRES=1` to run SQLite only, knowingly.

use crate::db::{Backend, Db};
use crate::{AppState, Settings, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub store: Store,
    /// Removed when the test ends (SQLite).
    dir: Option<PathBuf>,
    /// Dropped when the test ends (Postgres): the server's admin URL and the database.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// An [`AppState`] on this database with default settings.
    pub fn state(&self) -> AppState {
        self.state_with(Settings::default())
    }

    pub fn state_with(&self, mut settings: Settings) -> AppState {
        settings.database_url = Some(self.url.clone());
        AppState::new(self.store.clone(), settings)
    }

    /// Opens a second, independent pool on the same database (a "restart").
    /// A user, written as an action writes one (with its audit record).
    pub async fn add_user(
        &self,
        name: &str,
        role: coastguard_model::Role,
        password_hash: &str,
        at: i64,
    ) -> crate::store::UserRow {
        let mut w = self.store.begin().await.expect("a transaction");
        let user = w
            .create_user(name, role, password_hash, at)
            .await
            .expect("a new user");
        let record = crate::store::AuditRecord::system("user.create", format!("user:{name}"));
        w.audit(&record, at).await.expect("its record");
        w.commit().await.expect("committed");
        user
    }

    pub async fn reopen(&self) -> Store {
        let db = Db::connect(&self.url).await.expect("reopen database");
        Store::new(db)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin_url, name)) = self.postgres.take() {
            // `drop` can't await: a thread of its own with its own runtime drops the
            // database (closing what is still connected to it) before the test goes on.
            // Bounded: a drop that does not finish is left to the next run's clean-up
            // (scripts/test drops every `cg_test_` database) rather than waited on.
            let name_ = name.clone();
            let (done, dropped) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                let result = runtime.block_on(async {
                    tokio::time::timeout(
                        std::time::Duration::from_secs(60),
                        drop_database(&admin_url, &name_),
                    )
                    .await
                    .unwrap_or_else(|_| Err("no answer within 60 s".into()))
                });
                let _ = done.send(result);
            });
            match dropped.recv_timeout(std::time::Duration::from_secs(90)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("could not drop test database {name}: {e}"),
                Err(_) => eprintln!("dropping test database {name} did not finish"),
            }
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let admin = Db::connect(admin_url).await.map_err(|e| e.to_string())?;
    let result = match &admin {
        // The name is ours (`unique`), quoted as an identifier all the same.
        Db::Postgres(pool) => sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            name.replace('"', "\"\"")
        ))
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string()),
        Db::Sqlite(_) => Ok(()),
    };
    admin.close().await;
    result
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    )
}

pub async fn sqlite() -> TestDb {
    sqlite_at(None).await
}

/// A fresh SQLite database migrated up to `version` (all: `None`).
pub async fn sqlite_at(version: Option<i64>) -> TestDb {
    let dir = std::env::temp_dir().join(unique("coastguard_test"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let db = Db::connect(&url).await.expect("open SQLite");
    match version {
        None => db.migrate().await.expect("migrate SQLite"),
        Some(v) => db.migrate_to(v).await.expect("migrate SQLite"),
    }
    TestDb {
        backend: Backend::Sqlite,
        url,
        store: Store::new(db),
        dir: Some(dir),
        postgres: None,
    }
}

/// A fresh Postgres database, or `None` when knowingly skipped.
pub async fn postgres() -> Option<TestDb> {
    postgres_at(None).await
}

/// A fresh Postgres database migrated up to `version` (all: `None`), or `None` when
/// knowingly skipped.
pub async fn postgres_at(version: Option<i64>) -> Option<TestDb> {
    let admin_url = match std::env::var("COASTGUARD_TEST_POSTGRES_URL") {
        Ok(url) => url,
        Err(_) if std::env::var_os("COASTGUARD_TEST_SKIP_POSTGRES").is_some() => return None,
        Err(_) => panic!(
            "COASTGUARD_TEST_POSTGRES_URL is not set. Run the tests with scripts/test (it starts \
             Postgres), or set COASTGUARD_TEST_SKIP_POSTGRES=1 to test SQLite only."
        ),
    };
    let name = unique("cg_test");
    let admin = Db::connect(&admin_url)
        .await
        .expect("connect to the test Postgres server");
    if let Db::Postgres(pool) = &admin {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(pool)
            .await
            .expect("create test database");
    }
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).expect("test Postgres URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let owned = (admin_url.clone(), name.clone());
    let db = Db::connect(&url)
        .await
        .expect("connect to the test database");
    match version {
        None => db.migrate().await.expect("migrate Postgres"),
        Some(v) => db.migrate_to(v).await.expect("migrate Postgres"),
    }
    Some(TestDb {
        backend: Backend::Postgres,
        url,
        store: Store::new(db),
        dir: None,
        postgres: Some(owned),
    })
}

/// One fresh database per backend under test, migrated up to `version` only.
pub async fn backends_at(version: i64) -> Vec<TestDb> {
    let mut all = vec![sqlite_at(Some(version)).await];
    all.extend(postgres_at(Some(version)).await);
    all
}

/// One fresh database per backend under test: SQLite, then Postgres.
pub async fn backends() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    all.extend(postgres().await);
    all
}

pub mod docker;
pub mod fake_kube;
pub mod registry;
pub mod signing;
