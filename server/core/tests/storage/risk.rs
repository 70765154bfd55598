//! Risk scores on both backends, from evidence stored the way production stores it (an
//! engine sync and a real Trivy report): what counts, what doesn't, and when scores are
//! recomputed.

use coastguard_core::auth::Authed;
use coastguard_core::docker::collect::Snapshot;
use coastguard_core::docker::engine::EngineConfig;
use coastguard_core::scans::ingest::ingest;
use coastguard_core::testing::TestDb;
use coastguard_core::with_db;
use coastguard_model::docker::{ContainerFacts, HostFacts, ImageFacts, Policy, PublishedPort};
use coastguard_model::risk::{RiskFactorKind, RiskSubject};
use std::path::PathBuf;

const IMAGE: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    with_db!(db.store.db(), |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap())
}

/// One engine running the same image twice: `calm` as a non-root user with limits,
/// `wild` privileged with a port on every interface.
async fn estate(db: &TestDb, now: i64) -> i64 {
    let engine = db
        .store
        .add_docker_engine("e", &EngineConfig::new("unix:///x.sock"), 1)
        .await
        .unwrap()
        .id;
    let base = ContainerFacts {
        image_ref: "registry.local/app:1.0".into(),
        image_id: IMAGE.into(),
        state: "running".into(),
        user: Some("1000".into()),
        cap_drop: vec!["ALL".into()],
        read_only_rootfs: true,
        no_new_privileges: true,
        memory_limit: Some(1 << 28),
        cpu_limit: Some(1.0),
        pids_limit: Some(100),
        healthcheck: Some(vec!["CMD".into(), "true".into()]),
        restart_policy: Some("on-failure".into()),
        restart_max_retries: Some(3),
        networks: vec!["app".into()],
        ..ContainerFacts::default()
    };
    let snapshot = Snapshot {
        host: HostFacts::default(),
        images: vec![ImageFacts {
            id: IMAGE.into(),
            repo_tags: vec!["registry.local/app:1.0".into()],
            created: Some(now - 86_400),
            ..ImageFacts::default()
        }],
        containers: vec![
            ContainerFacts {
                id: format!("{:064}", 1),
                name: "calm".into(),
                ..base.clone()
            },
            ContainerFacts {
                id: format!("{:064}", 2),
                name: "wild".into(),
                privileged: true,
                user: None,
                ports: vec![PublishedPort {
                    container_port: "80/tcp".into(),
                    host_ip: "0.0.0.0".into(),
                    host_port: "8080".into(),
                }],
                ..base
            },
        ],
    };
    let found = coastguard_core::docker::collector::evaluate(&snapshot, &Policy::default(), now);
    db.store
        .apply_docker_snapshot(engine, &snapshot, &found, now)
        .await
        .unwrap();
    engine
}

async fn id_of(db: &TestDb, sql: &str) -> i64 {
    count(db, sql).await
}

#[tokio::test]
async fn scores_follow_the_evidence_and_leave_suppressed_findings_out() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let now = coastguard_core::now();
        let engine = estate(&db, now).await;
        ingest(
            &state,
            &Authed::cli().as_analyst(),
            &fixture("scans/trivy/alpine-3.10.json"),
            Some(IMAGE.into()),
            "cli",
        )
        .await
        .unwrap();
        // Never computed: stale. Computing clears it.
        assert!(db.store.take_risk_stale().await.unwrap());
        let run = db.store.recompute_risk(now).await.unwrap();
        assert!(!db.store.take_risk_stale().await.unwrap());
        let image = id_of(
            &db,
            &format!("SELECT id FROM images WHERE digest = '{IMAGE}'"),
        )
        .await;
        let open = count(
            &db,
            &format!("SELECT COUNT(*) FROM findings WHERE image_id = {image} AND state = 'open'"),
        )
        .await;
        assert!(open > 0);
        assert_eq!(run.findings as i64, open);
        assert_eq!((run.containers, run.hosts), (2, 1));

        let img = db
            .store
            .risk_breakdown(RiskSubject::Image, image)
            .await
            .unwrap();
        let vulns = img
            .factors
            .iter()
            .find(|f| f.kind == RiskFactorKind::Vulnerabilities)
            .unwrap();
        // The report's own scan date is years old: the image also has an open
        // coverage finding, which counts with its vulnerabilities.
        let gaps = count(
            &db,
            &format!("SELECT COUNT(*) FROM config_findings WHERE subject_kind = 'image' AND subject_id = {image} \
                      AND check_id LIKE 'coverage.%' AND state = 'open'"),
        )
        .await;
        assert_eq!(gaps, 1);
        assert_eq!(vulns.count, open + gaps, "every open finding counts, once");
        assert!(img.score > 0 && img.score <= 100);
        let sum: f64 = img.factors.iter().map(|f| f.points).sum();
        assert!((sum - img.raw).abs() < 0.05);
        assert!(!img.fixes.is_empty());
        assert!(img.score_after_fixes.unwrap() < img.score);

        // The same image, privileged and exposed, weighs more.
        let calm = id_of(&db, "SELECT id FROM containers WHERE name = 'calm'").await;
        let wild = id_of(&db, "SELECT id FROM containers WHERE name = 'wild'").await;
        let calm = db
            .store
            .risk_breakdown(RiskSubject::Container, calm)
            .await
            .unwrap();
        let wild = db
            .store
            .risk_breakdown(RiskSubject::Container, wild)
            .await
            .unwrap();
        let weight = |b: &coastguard_model::risk::RiskBreakdown| {
            b.factors
                .iter()
                .find(|f| f.kind == RiskFactorKind::Vulnerabilities)
                .map(|f| f.weight)
                .unwrap()
        };
        assert!(wild.score > calm.score, "{} vs {}", wild.score, calm.score);
        assert!(weight(&wild) > weight(&calm));
        assert!(
            calm.score >= img.score,
            "a container carries its image's risk"
        );
        for kind in [RiskFactorKind::Exposure, RiskFactorKind::Privilege] {
            let f = wild.factors.iter().find(|f| f.kind == kind).unwrap();
            assert!(f.points > 0.0 && f.link.is_some(), "{kind:?}");
        }

        // The host carries its riskiest container in full.
        let host = db
            .store
            .risk_breakdown(RiskSubject::Host, engine)
            .await
            .unwrap();
        assert!(host.score >= wild.score);
        let ranked = db
            .store
            .risk_ranking(RiskSubject::Container, 10)
            .await
            .unwrap();
        assert_eq!(ranked[0].name, "wild");
        assert_eq!(ranked.len(), 2);
        assert!(db
            .store
            .risk_ranking(RiskSubject::Container, 0)
            .await
            .is_err());

        // Suppressing a vulnerability takes its findings out of the scores.
        let (vuln, n): (String, i64) = with_db!(db.store.db(), |pool| {
            sqlx::query_as(
            "SELECT v.vuln_id, COUNT(*) FROM findings f JOIN vulnerabilities v ON v.id = f.vulnerability_id \
             WHERE f.state = 'open' GROUP BY v.vuln_id ORDER BY COUNT(*) DESC, v.vuln_id LIMIT 1"
        )
        .fetch_one(pool)
        .await
        .unwrap()
        });
        let mut w = db.store.begin().await.unwrap();
        w.create_suppression(
            &coastguard_core::scans::vulns::NewSuppressionRow {
                vuln_id: &vuln,
                image_id: None,
                pkg_name: None,
                kind: "not_affected",
                justification: "not reachable",
                source: "manual",
                created_by: "test",
                expires_at: None,
            },
            now,
        )
        .await
        .unwrap();
        let record = coastguard_core::store::AuditRecord::system("suppression.create", "test");
        w.audit(&record, now).await.unwrap();
        w.commit().await.unwrap();
        db.store.apply_suppressions(None, now).await.unwrap();
        assert!(
            db.store.take_risk_stale().await.unwrap(),
            "a suppression marks scores stale"
        );
        db.store.recompute_risk(now).await.unwrap();
        let after = db
            .store
            .risk_breakdown(RiskSubject::Image, image)
            .await
            .unwrap();
        let vulns_after = after
            .factors
            .iter()
            .find(|f| f.kind == RiskFactorKind::Vulnerabilities)
            .unwrap();
        assert_eq!(vulns_after.count, open + gaps - n);
        assert!(after.raw < img.raw && after.score <= img.score);

        // Accepting a configuration risk also marks scores stale, and takes it out.
        let finding = id_of(
            &db,
            "SELECT f.id FROM config_findings f JOIN containers c ON c.id = f.subject_id \
             WHERE f.subject_kind = 'container' AND c.name = 'wild' AND f.check_id = 'container.privileged'",
        )
        .await;
        let mut w = db.store.begin().await.unwrap();
        w.accept_config_finding(finding, "test", "lab box", None)
            .await
            .unwrap();
        let record = coastguard_core::store::AuditRecord::system("finding.accept", "test");
        w.audit(&record, now).await.unwrap();
        w.commit().await.unwrap();
        assert!(db.store.take_risk_stale().await.unwrap());
        db.store.recompute_risk(now).await.unwrap();
        let wild_id = wild.id;
        let wild_after = db
            .store
            .risk_breakdown(RiskSubject::Container, wild_id)
            .await
            .unwrap();
        assert!(wild_after.raw < wild.raw);
        assert!(!wild_after
            .factors
            .iter()
            .flat_map(|f| &f.items)
            .any(|i| i.label.starts_with("container.privileged")));
        assert!(db
            .store
            .risk_breakdown(RiskSubject::Image, 999_999)
            .await
            .is_err());
    });
}
