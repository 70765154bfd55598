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
        "alert_events",
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

/// The per-subject counts of open configuration findings, as the triggers keep them and
/// as counting the findings gives them, non-zero rows only.
async fn counts_kept_and_counted(
    db: &testing::TestDb,
) -> (
    Vec<(String, i64, i64, i64, i64)>,
    Vec<(String, i64, i64, i64, i64)>,
) {
    coastguard_core::with_db!(db.store.db(), |pool| {
        let kept = sqlx::query_as(
            "SELECT subject_kind, subject_id, CAST(critical AS BIGINT), CAST(high AS BIGINT), CAST(unknown AS BIGINT) \
             FROM open_config_counts WHERE critical + high + medium + low + negligible + unknown > 0 \
             ORDER BY subject_kind, subject_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let counted = sqlx::query_as(
            "SELECT subject_kind, subject_id, \
             CAST(SUM(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN severity = 'high' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN severity NOT IN ('critical', 'high', 'medium', 'low', 'negligible') THEN 1 ELSE 0 END) AS BIGINT) \
             FROM config_findings WHERE state = 'open' GROUP BY subject_kind, subject_id ORDER BY subject_kind, subject_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        (kept, counted)
    })
}

#[tokio::test]
async fn open_finding_counts_follow_every_write_to_the_findings() {
    crate::on_each_backend!(|db| {
        let steps = [
            // Inserted in one statement: two subjects, open and not.
            "INSERT INTO config_findings (check_id, subject_kind, subject_id, instance, severity, state, first_seen_at, last_seen_at) VALUES \
             ('a', 'pod', 1, '', 'critical', 'open', 0, 0), ('b', 'pod', 1, '', 'high', 'open', 0, 0), \
             ('c', 'pod', 2, '', 'weird', 'open', 0, 0), ('d', 'pod', 2, '', 'high', 'resolved', 0, 0), \
             ('e', 'namespace', 1, '', 'high', 'open', 0, 0)",
            // Touched only: nothing changes.
            "UPDATE config_findings SET last_seen_at = 5",
            // Resolved, reopened, accepted.
            "UPDATE config_findings SET state = 'resolved' WHERE check_id = 'a'",
            "UPDATE config_findings SET state = 'open' WHERE check_id = 'd'",
            "UPDATE config_findings SET state = 'accepted' WHERE check_id = 'e'",
            // Severity changed while open; moved to another subject (an image merge).
            "UPDATE config_findings SET severity = 'critical' WHERE check_id = 'b'",
            "UPDATE config_findings SET subject_id = 3 WHERE check_id = 'c'",
            // Deleted (a cluster removed).
            "DELETE FROM config_findings WHERE subject_kind = 'pod' AND subject_id = 2",
        ];
        for sql in steps {
            crate::exec(&db, sql).await;
            let (kept, counted) = counts_kept_and_counted(&db).await;
            assert_eq!(kept, counted, "after {sql}");
        }
        let (kept, _) = counts_kept_and_counted(&db).await;
        assert_eq!(
            kept,
            vec![
                ("pod".to_string(), 1, 1, 0, 0),
                ("pod".to_string(), 3, 0, 0, 1)
            ]
        );
    });
}
