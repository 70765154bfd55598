//! Daily snapshots over a synthetic 90-day history whose numbers are worked out by hand
//! here: open counts, new and fixed, mean time to remediate and SLA breaches, on both
//! backends.

use coastguard_core::store::snapshots::{day_name, day_start, DAY};
use coastguard_core::testing::TestDb;
use coastguard_core::with_db;
use coastguard_model::trends::SlaPolicy;
use coastguard_model::Severity;

const HOUR: i64 = 3600;

/// Inserts one finding of its own vulnerability on image 1.
async fn finding(
    db: &TestDb,
    n: i64,
    severity: &str,
    rank: i64,
    first_seen: i64,
    fixed_at: Option<i64>,
    state: &str,
) {
    with_db!(db.store.db(), |pool| {
        sqlx::query(
            "INSERT INTO vulnerabilities (vuln_id, severity, updated_at) VALUES ($1, $2, 0)",
        )
        .bind(format!("CVE-2099-{n:04}"))
        .bind(severity)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO findings (image_id, vulnerability_id, pkg_name, pkg_type, installed_version, severity, \
             severity_rank, state, first_seen_at, last_seen_at, fixed_at) \
             VALUES (1, (SELECT id FROM vulnerabilities WHERE vuln_id = $1), 'pkg', 'deb', '1', $2, $3, $4, $5, $5, $6)",
        )
        .bind(format!("CVE-2099-{n:04}"))
        .bind(severity)
        .bind(rank)
        .bind(state)
        .bind(first_seen)
        .bind(fixed_at)
        .execute(pool)
        .await
        .unwrap();
    });
    // Written around the store's writers: bring the counts today's snapshot reads along.
    db.store.recount_all_vuln_counts().await.unwrap();
}

#[tokio::test]
async fn ninety_days_of_history_add_up_to_the_numbers_worked_by_hand() {
    crate::on_each_backend!(|db| {
        let now = coastguard_core::now();
        let today = day_start(now);
        let day = |d: i64| today + d * DAY;
        with_db!(db.store.db(), |pool| sqlx::query(
            "INSERT INTO images (digest, first_seen_at, last_seen_at) VALUES ('sha256:1', 0, 0)"
        )
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
        // A: critical, seen day -80, fixed day -70 (10 days open).
        finding(
            &db,
            1,
            "critical",
            4,
            day(-80) + HOUR,
            Some(day(-70) + HOUR),
            "fixed",
        )
        .await;
        // B: critical, seen day -60, fixed day -54 (6 days open).
        finding(
            &db,
            2,
            "critical",
            4,
            day(-60) + HOUR,
            Some(day(-54) + HOUR),
            "fixed",
        )
        .await;
        // C: high, seen day -40, open: past the 30-day SLA from day -10 on.
        finding(&db, 3, "high", 3, day(-40) + HOUR, None, "open").await;
        // D: medium, seen day -5, open, within its 90 days.
        finding(&db, 4, "medium", 2, day(-5) + HOUR, None, "open").await;
        // E: low, seen day -30, suppressed now: never counted open.
        finding(&db, 5, "low", 1, day(-30) + HOUR, None, "suppressed").await;
        // F: critical, seen day -20, open: past the 7-day SLA from day -13 on.
        finding(&db, 6, "critical", 4, day(-20) + HOUR, None, "open").await;

        let sla = SlaPolicy::default();
        // The first run fills in every day since the first finding, and today.
        let written = db.store.take_due_snapshots(&sla, 7, 90, now).await.unwrap();
        assert_eq!(written, 81);
        // A second run only retakes today.
        assert_eq!(
            db.store.take_due_snapshots(&sla, 7, 90, now).await.unwrap(),
            1
        );

        // History is stored: a restart reads the same.
        let store = db.reopen().await;
        let t = store.trends(day(-89), today, sla).await.unwrap();
        assert_eq!(t.days.len(), 81);
        assert_eq!(t.days[0].day, day_name(day(-80)));
        let on = |d: i64| {
            t.days
                .iter()
                .find(|s| s.day == day_name(day(d)))
                .unwrap()
                .clone()
        };

        let s = on(-80);
        assert_eq!(
            (s.open.critical, s.new_findings, s.fixed_findings),
            (1, 1, 0)
        );
        let s = on(-75);
        assert_eq!((s.open.critical, s.open.total(), s.new_findings), (1, 1, 0));
        let s = on(-70);
        assert_eq!((s.open.critical, s.fixed_findings), (0, 1));
        assert_eq!(s.remediation.critical.fixed, 1);
        assert_eq!(s.remediation.critical.open_seconds, 10 * DAY);
        let s = on(-54);
        assert_eq!(s.remediation.critical.open_seconds, 6 * DAY);
        // E never shows as open, though first seen on day -30.
        assert_eq!(on(-30).open.low, 0);
        assert_eq!(on(-30).new_findings, 1);
        // SLA: F breaches from day -13, C from day -10.
        assert_eq!(on(-14).sla_breaches, 0);
        assert_eq!(on(-13).sla_breaches, 1);
        assert_eq!(on(-11).sla_breaches, 1);
        assert_eq!(on(-10).sla_breaches, 2);
        let s = on(-10);
        assert_eq!((s.open.critical, s.open.high, s.open.medium), (1, 1, 0));
        // Today, from the current state.
        let s = on(0);
        assert_eq!(
            (s.open.critical, s.open.high, s.open.medium, s.open.low),
            (1, 1, 1, 0)
        );
        assert_eq!(s.sla_breaches, 2);
        assert_eq!(s.new_findings, 0);
        // Every finding was new once in range; two were fixed.
        let new: i64 = t.weeks.iter().map(|w| w.new_findings).sum();
        let fixed: i64 = t.weeks.iter().map(|w| w.fixed_findings).sum();
        assert_eq!((new, fixed), (6, 2));
        // MTTR for criticals: (10 + 6) / 2 = 8 days; nothing else was fixed.
        let mttr = |sev: Severity| t.mttr_days.iter().find(|(s, _)| *s == sev).unwrap().1;
        assert_eq!(mttr(Severity::Critical), Some(8.0));
        assert_eq!(mttr(Severity::High), None);

        // A stricter SLA applies to the days taken with it: today's is retaken.
        let strict = SlaPolicy {
            medium_days: 3,
            ..sla
        };
        store.take_due_snapshots(&strict, 7, 90, now).await.unwrap();
        let t2 = store.trends(today, today, strict).await.unwrap();
        assert_eq!(t2.days.len(), 1);
        assert_eq!(t2.days[0].sla_breaches, 3);
        assert_eq!(
            store.trends(day(-10), day(-10), strict).await.unwrap().days[0].sla_breaches,
            2
        );

        // Bad ranges are refused.
        assert!(store.trends(today, day(-1), sla).await.is_err());
    });
}
