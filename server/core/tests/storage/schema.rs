//! The two migration folders must describe the same data model.

use coastguard_core::db::Db;
use coastguard_core::testing;
use std::collections::BTreeSet;

async fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = match db {
        Db::Sqlite(pool) => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    rows.into_iter().collect()
}

async fn indexes(db: &Db) -> BTreeSet<String> {
    let rows: Vec<(String,)> = match db {
        Db::Sqlite(pool) => sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' \
             AND tablename <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    rows.into_iter().map(|(n,)| n).collect()
}

#[tokio::test]
async fn both_backends_have_the_same_tables_columns_and_indexes() {
    let sqlite = testing::sqlite().await;
    let Some(postgres) = testing::postgres().await else {
        return;
    };
    let (a, b) = (
        columns(sqlite.store.db()).await,
        columns(postgres.store.db()).await,
    );
    assert!(
        a.len() > 150,
        "only {} columns: is the data model missing?",
        a.len()
    );
    assert_eq!(
        a, b,
        "columns differ between migrations/sqlite and migrations/postgres"
    );
    assert_eq!(
        indexes(sqlite.store.db()).await,
        indexes(postgres.store.db()).await
    );
}

#[tokio::test]
async fn the_data_model_covers_the_mission() {
    let db = testing::sqlite().await;
    let tables: BTreeSet<String> = columns(db.store.db())
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    for table in [
        "hosts",
        "clusters",
        "images",
        "image_tags",
        "containers",
        "pods",
        "scans",
        "vulnerabilities",
        "findings",
        "config_findings",
        "signature_checks",
        "runtime_alerts",
        "posture_snapshots",
        "users",
        "sessions",
        "api_tokens",
        "audit_log",
    ] {
        assert!(tables.contains(table), "missing table {table}");
    }
}

#[tokio::test]
async fn migrating_twice_is_harmless() {
    crate::on_each_backend!(|db| {
        db.store.db().migrate().await.expect("second migration run");
    });
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let db = testing::sqlite().await;
    let Db::Sqlite(pool) = db.store.db() else {
        unreachable!()
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(fk, 1);
}
