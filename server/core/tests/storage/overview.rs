//! The overview's configuration findings by check: open only, most severe first, then
//! most findings, titled from the catalogue or the scanner, on both backends.

use coastguard_core::testing::TestDb;
use coastguard_core::with_db;
use coastguard_model::Severity;

/// One configuration finding of `check` on host `subject`.
async fn finding(db: &TestDb, check: &str, subject: i64, severity: &str, state: &str) {
    with_db!(db.store.db(), |pool| {
        sqlx::query(
        "INSERT INTO config_findings (check_id, subject_kind, subject_id, severity, state, first_seen_at, \
         last_seen_at, title) VALUES ($1, 'host', $2, $3, $4, 0, 0, $5)"
    )
    .bind(check)
    .bind(subject)
    .bind(severity)
    .bind(state)
    .bind(format!("scanner title of {check}"))
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap()
    });
}

#[tokio::test]
async fn config_findings_by_check_are_open_worst_first_and_titled() {
    crate::on_each_backend!(|db| {
        // Empty: no rows, not an error.
        assert!(db
            .store
            .overview(7, 0)
            .await
            .unwrap()
            .config_by_check
            .is_empty());
        for subject in 1..=3 {
            finding(&db, "host.icc_enabled", subject, "medium", "open").await;
        }
        finding(&db, "host.userns_disabled", 1, "medium", "open").await;
        finding(&db, "host.tcp_without_tls", 1, "critical", "open").await;
        // Resolved and accepted findings are not open.
        finding(&db, "host.tcp_without_tls", 2, "critical", "resolved").await;
        finding(&db, "host.userns_disabled", 2, "medium", "accepted").await;
        finding(&db, "host.live_restore_disabled", 1, "low", "resolved").await;
        // A scanner's check the catalogue does not know keeps the scanner's title.
        finding(&db, "trivy.DS002", 1, "high", "open").await;
        finding(&db, "trivy.DS002", 2, "high", "open").await;

        let checks = db.store.overview(7, 0).await.unwrap().config_by_check;
        let got: Vec<(&str, Severity, i64)> = checks
            .iter()
            .map(|c| (c.check_id.as_str(), c.severity, c.open))
            .collect();
        assert_eq!(
            got,
            vec![
                ("host.tcp_without_tls", Severity::Critical, 1),
                ("trivy.DS002", Severity::High, 2),
                ("host.icc_enabled", Severity::Medium, 3),
                ("host.userns_disabled", Severity::Medium, 1),
            ]
        );
        assert_eq!(checks[0].title, "Engine API reachable over TCP without TLS");
        assert_eq!(checks[1].title, "scanner title of trivy.DS002");

        // At most ten checks.
        for n in 0..12 {
            finding(&db, &format!("trivy.X{n:02}"), 1, "low", "open").await;
        }
        let checks = db.store.overview(7, 0).await.unwrap().config_by_check;
        assert_eq!(checks.len(), 10);
        assert_eq!(checks[9].check_id, "trivy.X05");
    });
}
