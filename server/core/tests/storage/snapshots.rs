//! Daily snapshots over a synthetic 90-day history whose numbers are worked out by hand
//! here: open counts, new and fixed, mean time to remediate and SLA breaches, on both
//! backends.

use crate::exec;
use coastguard_core::posture::snapshots::{day_name, day_start, Scope, DAY};
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
    finding_on(db, 1, n, severity, rank, first_seen, fixed_at, state).await;
}

/// Inserts one finding of its own vulnerability on an image.
#[allow(clippy::too_many_arguments)]
async fn finding_on(
    db: &TestDb,
    image: i64,
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
             VALUES ($7, (SELECT id FROM vulnerabilities WHERE vuln_id = $1), 'pkg', 'deb', '1', $2, $3, $4, $5, $5, $6)",
        )
        .bind(format!("CVE-2099-{n:04}"))
        .bind(severity)
        .bind(rank)
        .bind(state)
        .bind(first_seen)
        .bind(fixed_at)
        .bind(image)
        .execute(pool)
        .await
        .unwrap();
    });
    // Written around the store's writers: bring the counts today's snapshot reads along.
    db.store.recount_all_vuln_counts().await.unwrap();
}

/// The one-pass backfill stored for each scope from `from` to `to` equals what the
/// per-day queries give each single past day.
async fn backfill_matches_single_days(db: &TestDb, scopes: &[Scope], from: i64, to: i64, now: i64) {
    let sla = SlaPolicy::default();
    for scope in scopes {
        let stored = db.store.trends(scope, from, to, sla).await.unwrap().days;
        for d in stored {
            let start = coastguard_core::posture::snapshots::parse_day(&d.day).unwrap();
            let single = db
                .store
                .take_snapshot(scope, start, &sla, 7, now)
                .await
                .unwrap();
            assert_eq!(single, d, "{scope:?} {}", d.day);
        }
    }
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
        let written = db
            .store
            .take_due_snapshots(&Scope::Global, &sla, 7, 90, now)
            .await
            .unwrap();
        assert_eq!(written, 81);
        // A second run only retakes today.
        assert_eq!(
            db.store
                .take_due_snapshots(&Scope::Global, &sla, 7, 90, now)
                .await
                .unwrap(),
            1
        );

        // History is stored: a restart reads the same.
        let store = db.reopen().await;
        let t = store
            .trends(&Scope::Global, day(-89), today, sla)
            .await
            .unwrap();
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
        store
            .take_due_snapshots(&Scope::Global, &strict, 7, 90, now)
            .await
            .unwrap();
        let t2 = store
            .trends(&Scope::Global, today, today, strict)
            .await
            .unwrap();
        assert_eq!(t2.days.len(), 1);
        assert_eq!(t2.days[0].sla_breaches, 3);
        assert_eq!(
            store
                .trends(&Scope::Global, day(-10), day(-10), strict)
                .await
                .unwrap()
                .days[0]
                .sla_breaches,
            2
        );

        // Bad ranges are refused.
        assert!(store
            .trends(&Scope::Global, today, day(-1), sla)
            .await
            .is_err());
    });
}

#[tokio::test]
async fn hosts_and_teams_have_their_own_snapshots() {
    crate::on_each_backend!(|db| {
        let now = coastguard_core::now();
        let today = day_start(now);
        let day = |d: i64| today + d * DAY;
        for sql in [
            "INSERT INTO images (digest, first_seen_at, last_seen_at) VALUES ('sha256:1', 0, 0), ('sha256:2', 0, 0), ('sha256:3', 0, 0)",
            "INSERT INTO hosts (kind, name, status, created_at, updated_at) VALUES ('docker', 'web-1', 'ok', 0, 0), ('docker', 'db-1', 'ok', 0, 0)",
            // web-1 has images 1 and 2; db-1 has image 3.
            "INSERT INTO host_images (host_id, image_id, first_seen_at, last_seen_at) VALUES (1, 1, 0, 0), (1, 2, 0, 0), (2, 3, 0, 0)",
            // Team payments runs image 2 (on web-1) and image 3 (on db-1); image 1 has no team.
            "INSERT INTO containers (host_id, external_id, name, image_ref, image_id, state, first_seen_at, last_seen_at, team) VALUES \
             (1, 'a', 'web', 'web:1', 1, 'running', 0, 0, NULL), \
             (1, 'b', 'pay-api', 'pay:1', 2, 'running', 0, 0, 'payments'), \
             (2, 'c', 'pay-db', 'db:1', 3, 'running', 0, 0, 'payments')",
        ] {
            exec(&db, sql).await;
        }
        // Image 1: a critical open since day -20 (past its SLA) and a high fixed after 4 days.
        finding_on(&db, 1, 1, "critical", 4, day(-20) + HOUR, None, "open").await;
        finding_on(
            &db,
            1,
            2,
            "high",
            3,
            day(-10) + HOUR,
            Some(day(-6) + HOUR),
            "fixed",
        )
        .await;
        // Image 2: a medium open since day -3.
        finding_on(&db, 2, 3, "medium", 2, day(-3) + HOUR, None, "open").await;
        // Image 3: a low open since day -1, and a critical fixed after 2 days.
        finding_on(&db, 3, 4, "low", 1, day(-1) + HOUR, None, "open").await;
        finding_on(
            &db,
            3,
            5,
            "critical",
            4,
            day(-8) + HOUR,
            Some(day(-6) + HOUR),
            "fixed",
        )
        .await;

        let scopes = db.store.trend_scopes().await.unwrap();
        let params: Vec<String> = scopes.iter().map(|s| s.param()).collect();
        assert_eq!(params, ["global", "host:2", "host:1", "team:payments"]);
        assert_eq!(scopes[1].label, "Host db-1");

        let sla = SlaPolicy::default();
        let web = Scope::Host(1);
        let db1 = Scope::Host(2);
        let payments = Scope::team("payments").unwrap();
        for scope in [&Scope::Global, &web, &db1, &payments] {
            db.store
                .take_due_snapshots(scope, &sla, 7, 90, now)
                .await
                .unwrap();
        }
        let last = |scope: &Scope| {
            let scope = scope.clone();
            let store = db.store.clone();
            async move {
                let t = store.trends(&scope, day(-30), today, sla).await.unwrap();
                (t.days.len(), t.days.last().cloned().unwrap())
            }
        };
        // The whole estate: 3 open (critical, medium, low), 1 past its SLA.
        let (days, g) = last(&Scope::Global).await;
        assert_eq!(days, 21, "from the first finding (day -20) to today");
        assert_eq!((g.open.critical, g.open.medium, g.open.low), (1, 1, 1));
        assert_eq!(g.sla_breaches, 1);
        // web-1 (images 1, 2): the critical and the medium.
        let (days, w) = last(&web).await;
        assert_eq!(days, 21);
        assert_eq!((w.open.critical, w.open.medium, w.open.low), (1, 1, 0));
        assert_eq!(w.sla_breaches, 1);
        // db-1 (image 3): its history starts with its first finding, day -8.
        let (days, d) = last(&db1).await;
        assert_eq!(days, 9);
        assert_eq!((d.open.critical, d.open.medium, d.open.low), (0, 0, 1));
        assert_eq!(d.sla_breaches, 0);
        // Team payments (images 2, 3): the medium and the low.
        let (_, p) = last(&payments).await;
        assert_eq!((p.open.critical, p.open.medium, p.open.low), (0, 1, 1));
        assert_eq!(
            p.scan_coverage,
            Some(0.0),
            "its 2 running images were never scanned"
        );

        // Day -6 saw the fixes: the high on web-1 (4 days open), the critical on db-1 (2 days).
        let on = |scope: Scope| {
            let store = db.store.clone();
            async move {
                store
                    .trends(&scope, day(-6), day(-6), sla)
                    .await
                    .unwrap()
                    .days
                    .remove(0)
            }
        };
        let w6 = on(web.clone()).await;
        assert_eq!(
            (w6.fixed_findings, w6.remediation.high.open_seconds),
            (1, 4 * DAY)
        );
        let d6 = on(db1.clone()).await;
        assert_eq!(
            (d6.fixed_findings, d6.remediation.critical.open_seconds),
            (1, 2 * DAY)
        );
        let g6 = on(Scope::Global).await;
        assert_eq!(g6.fixed_findings, 2);

        // The one-pass backfill agrees with the per-day queries a single past day runs.
        let scopes = [Scope::Global, web.clone(), db1.clone(), payments.clone()];
        backfill_matches_single_days(&db, &scopes, day(-25), day(-1), now).await;

        // Today's snapshots of all scopes in one pass equal one scope at a time, with
        // findings new today, fixed today and (image 1) past their SLA.
        finding_on(&db, 2, 6, "high", 3, today.max(now - 3), None, "open").await;
        finding_on(
            &db,
            3,
            7,
            "critical",
            4,
            day(-2),
            Some(today.max(now - 2)),
            "fixed",
        )
        .await;
        finding_on(&db, 1, 8, "low", 1, today.max(now - 1), None, "suppressed").await;
        let all = [Scope::Global, web.clone(), db1.clone(), payments.clone()];
        let together = db.store.take_todays(&all, &sla, 7, now).await.unwrap();
        for (scope, snap) in all.iter().zip(&together) {
            let alone = db
                .store
                .take_snapshot(scope, today, &sla, 7, now)
                .await
                .unwrap();
            assert_eq!(&alone, snap, "{scope:?}");
        }
        assert_eq!(
            (
                together[0].new_findings,
                together[0].fixed_findings,
                together[0].sla_breaches
            ),
            (2, 1, 1)
        );
        assert_eq!(
            (together[2].fixed_findings, together[3].new_findings),
            (1, 1)
        );

        // Bad scopes are refused with what is wrong.
        assert!(Scope::parse("host:web").is_err());
        assert!(Scope::parse("cluster:prod").is_err());
        assert!(Scope::parse("galaxy:1").is_err());
        assert!(Scope::team("  ").is_err());
        assert_eq!(Scope::parse("team:payments").unwrap(), payments);
    });
}

#[tokio::test]
async fn kubernetes_clusters_and_namespaces_have_their_own_snapshots() {
    crate::on_each_backend!(|db| {
        let now = coastguard_core::now();
        let today = day_start(now);
        let day = |d: i64| today + d * DAY;
        for sql in [
            "INSERT INTO images (digest, first_seen_at, last_seen_at) VALUES ('sha256:1', 0, 0), ('sha256:2', 0, 0), ('sha256:3', 0, 0)",
            "INSERT INTO clusters (name, status, created_at, updated_at) VALUES ('prod', 'ok', 0, 0)",
            "INSERT INTO namespaces (cluster_id, name, first_seen_at, last_seen_at) VALUES (1, 'shop', 0, 0), (1, 'pay', 0, 0)",
            // shop runs images 1 and 2, pay runs image 2; image 3 runs nowhere in the cluster.
            "INSERT INTO pods (cluster_id, namespace, name, uid, phase, first_seen_at, last_seen_at) VALUES \
             (1, 'shop', 'web', 'u1', 'Running', 0, 0), (1, 'shop', 'api', 'u2', 'Running', 0, 0), \
             (1, 'pay', 'api', 'u3', 'Running', 0, 0)",
            "INSERT INTO pod_containers (pod_id, kind, name, image_ref, image_id) VALUES \
             (1, 'container', 'web', 'web:1', 1), (2, 'container', 'api', 'api:1', 2), \
             (2, 'init', 'setup', 'api:1', 2), (3, 'container', 'api', 'api:1', 2)",
        ] {
            exec(&db, sql).await;
        }
        // Image 1: a critical open since day -20 (past its SLA); image 2: a medium open
        // since day -3; image 3: a high open since day -5 (outside the cluster).
        finding_on(&db, 1, 1, "critical", 4, day(-20) + HOUR, None, "open").await;
        finding_on(&db, 2, 2, "medium", 2, day(-3) + HOUR, None, "open").await;
        finding_on(&db, 3, 3, "high", 3, day(-5) + HOUR, None, "open").await;

        let scopes = db.store.trend_scopes().await.unwrap();
        let params: Vec<String> = scopes.iter().map(|s| s.param()).collect();
        assert_eq!(
            params,
            ["global", "cluster:1", "namespace:2", "namespace:1"]
        );
        assert_eq!(scopes[2].label, "Namespace prod/pay");
        assert_eq!(Scope::parse("namespace:2").unwrap(), Scope::Namespace(2));

        let sla = SlaPolicy::default();
        let all = [
            Scope::Global,
            Scope::Cluster(1),
            Scope::Namespace(1),
            Scope::Namespace(2),
        ];
        for scope in &all {
            db.store
                .take_due_snapshots(scope, &sla, 7, 90, now)
                .await
                .unwrap();
        }
        let last = |scope: Scope| {
            let store = db.store.clone();
            async move {
                let t = store.trends(&scope, day(-30), today, sla).await.unwrap();
                (t.days.len(), t.days.last().cloned().unwrap())
            }
        };
        // The cluster: images 1 and 2 (the init container's image counted once).
        let (days, c) = last(Scope::Cluster(1)).await;
        assert_eq!(days, 21);
        assert_eq!((c.open.critical, c.open.high, c.open.medium), (1, 0, 1));
        assert_eq!(c.sla_breaches, 1);
        assert_eq!(c.scan_coverage, Some(0.0), "2 running images, none scanned");
        let (_, shop) = last(Scope::Namespace(1)).await;
        assert_eq!((shop.open.critical, shop.open.medium), (1, 1));
        // pay runs image 2 only: its history starts on day -3.
        let (days, pay) = last(Scope::Namespace(2)).await;
        assert_eq!(days, 4);
        assert_eq!(
            (pay.open.critical, pay.open.medium, pay.sla_breaches),
            (0, 1, 0)
        );
        let (_, g) = last(Scope::Global).await;
        assert_eq!(g.open.high, 1);

        // Past days agree with the per-day queries; today's in one pass with each alone.
        backfill_matches_single_days(&db, &all[1..], day(-25), day(-1), now).await;
        finding_on(&db, 2, 4, "high", 3, today.max(now - 3), None, "open").await;
        let together = db.store.take_todays(&all, &sla, 7, now).await.unwrap();
        for (scope, snap) in all.iter().zip(&together) {
            let alone = db
                .store
                .take_snapshot(scope, today, &sla, 7, now)
                .await
                .unwrap();
            assert_eq!(&alone, snap, "{scope:?}");
        }
        // The new high on image 2 is new in the cluster and both namespaces, once each.
        assert_eq!(
            together.iter().map(|s| s.new_findings).collect::<Vec<_>>(),
            [1, 1, 1, 1]
        );
    });
}

/// Negligible findings are counted apart from low ones in every day's snapshot: past days
/// (one pass over the findings), today's (the kept per-image counts), and the remediation
/// of those fixed.
#[tokio::test]
async fn negligible_findings_are_their_own_series() {
    crate::on_each_backend!(|db| {
        let now = coastguard_core::now();
        let today = day_start(now);
        let day = |d: i64| today + d * DAY;
        exec(
            &db,
            "INSERT INTO images (digest, first_seen_at, last_seen_at) VALUES ('sha256:1', 0, 0)",
        )
        .await;
        let n = Severity::Negligible;
        // N1: open since day -20. N2: seen day -10, fixed day -5. L: a low, open since day -20.
        finding(&db, 1, n.as_str(), n.rank(), day(-20) + HOUR, None, "open").await;
        let fixed = Some(day(-5) + HOUR);
        finding(
            &db,
            2,
            n.as_str(),
            n.rank(),
            day(-10) + HOUR,
            fixed,
            "fixed",
        )
        .await;
        finding(&db, 3, "low", 1, day(-20) + HOUR, None, "open").await;
        let sla = SlaPolicy::default();
        db.store
            .take_due_snapshots(&Scope::Global, &sla, 7, 90, now)
            .await
            .unwrap();
        let t = db
            .store
            .trends(&Scope::Global, day(-30), today, sla)
            .await
            .unwrap();
        let on = |d: i64| {
            let s = t.days.iter().find(|s| s.day == day_name(day(d))).unwrap();
            (s.open.negligible, s.open.low, s.open.unknown)
        };
        assert_eq!(on(-15), (1, 1, 0));
        assert_eq!(on(-7), (2, 1, 0));
        assert_eq!(on(-3), (1, 1, 0));
        assert_eq!(on(0), (1, 1, 0), "today's snapshot");
        let fixed_day = t.days.iter().find(|s| s.day == day_name(day(-5))).unwrap();
        assert_eq!(fixed_day.remediation.negligible.fixed, 1);
        assert_eq!(fixed_day.remediation.low.fixed, 0);
        // Within the low allowance of 180 days: no breach.
        assert_eq!(t.days.last().unwrap().sla_breaches, 0);
    });
}
