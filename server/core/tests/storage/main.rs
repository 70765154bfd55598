//! Storage stories, each run on SQLite and on Postgres (see `coastguard_core::testing`).

mod access;
mod auth;
mod demo;
mod exceptions;
mod intel;
mod jobs;
mod kube;
mod overview;
mod risk;
mod scans;
mod schema;
mod sessions;
mod snapshots;

use coastguard_core::testing::TestDb;
use coastguard_core::with_db;

/// Runs one statement of test setup (or of a failure a test injects).
pub(crate) async fn exec(db: &TestDb, sql: &str) {
    with_db!(db.store.db(), |pool| sqlx::query(sql)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
}

/// Runs `story` once per backend, naming the backend if it fails.
#[macro_export]
macro_rules! on_each_backend {
    (|$db:ident| $story:expr) => {
        for $db in coastguard_core::testing::backends().await {
            eprintln!("backend: {:?}", $db.backend);
            $story;
        }
    };
}
