//! Risk scores on both backends, from evidence stored the way production stores it (an
//! engine sync and a real Trivy report): what counts, what doesn't, and when scores are
//! recomputed.

use coastguard_core::auth::Authed;
use coastguard_core::docker::collect::Snapshot;
use coastguard_core::docker::engine::EngineConfig;
use coastguard_core::exceptions::store::NewExceptionRow;
use coastguard_core::scans::ingest::ingest;
use coastguard_core::testing::TestDb;
use coastguard_core::with_db;
use coastguard_model::docker::{ContainerFacts, HostFacts, ImageFacts, Policy, PublishedPort};
use coastguard_model::exceptions::{ExceptionKind, Verdict};
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
        w.insert_exception(
            &exception_row(ExceptionKind::Vulnerability, &vuln, Verdict::NotAffected),
            now,
        )
        .await
        .unwrap();
        let record = coastguard_core::store::AuditRecord::system("exception.create", "test");
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
        w.insert_exception(
            &NewExceptionRow {
                subject: Some(("container", wild.id, "")),
                reason: "lab box",
                ..exception_row(
                    ExceptionKind::Configuration,
                    "container.privileged",
                    Verdict::Accepted,
                )
            },
            now,
        )
        .await
        .unwrap();
        w.apply_exceptions(None, now).await.unwrap();
        let record = coastguard_core::store::AuditRecord::system("exception.create", "test");
        w.audit(&record, now).await.unwrap();
        w.commit().await.unwrap();
        let accepted = format!(
            "SELECT COUNT(*) FROM config_findings WHERE id = {finding} AND state = 'accepted' AND exception_id IS NOT NULL"
        );
        assert_eq!(id_of(&db, &accepted).await, 1);
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

/// The digest the cluster's pods report for their image (a manifest digest).
const POD_IMAGE: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

/// A cluster stored as its collector stores it: namespace `shop` on node `n1`, a
/// Deployment `web` with a privileged template, its ReplicaSet and two privileged pods
/// running POD_IMAGE, a bare pod running it unprivileged, and a finished Job pod.
async fn cluster(db: &TestDb, now: i64) -> i64 {
    use coastguard_core::kube::objects::{record, Kind};
    use kube::api::DynamicObject;
    use serde_json::json;
    let cluster = {
        let mut w = db.store.begin_pass().await.unwrap();
        let id = w
            .add_kube_cluster(
                "prod",
                "https://127.0.0.1:6443",
                "kubeconfig",
                None,
                Some("cg1:x"),
                now,
            )
            .await
            .unwrap();
        w.commit().await.unwrap();
        id
    };
    let obj = |v: serde_json::Value| -> DynamicObject { serde_json::from_value(v).unwrap() };
    let pod = |name: &str, privileged: bool, owner: Option<(&str, &str)>, phase: &str| {
        let mut meta = json!({"name": name, "namespace": "shop", "uid": format!("uid-{name}")});
        if let Some((kind, owner)) = owner {
            meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": owner,
                "uid": format!("uid-{owner}"), "controller": true}]);
        }
        obj(json!({
            "metadata": meta,
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "registry.local/app:1.0",
                     "securityContext": {"privileged": privileged}}]},
            "status": {"phase": phase, "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                       "image": "registry.local/app:1.0", "imageID": format!("registry.local/app@{POD_IMAGE}")}]}
        }))
    };
    let template = json!({"spec": {"containers": [{"name": "app", "image": "registry.local/app:1.0",
        "securityContext": {"privileged": true}}]}});
    let batches = [
        (
            Kind::Namespace,
            vec![obj(
                json!({"metadata": {"name": "shop", "uid": "uid-shop"}}),
            )],
        ),
        (
            Kind::Node,
            vec![obj(json!({"metadata": {"name": "n1", "uid": "uid-n1"},
            "status": {"nodeInfo": {"kubeletVersion": "v1.33.1"}, "conditions": [{"type": "Ready", "status": "True"}]}}))],
        ),
        (
            Kind::Deployment,
            vec![obj(
                json!({"metadata": {"name": "web", "namespace": "shop", "uid": "uid-web"},
            "spec": {"replicas": 2, "template": template}}),
            )],
        ),
        (
            Kind::ReplicaSet,
            vec![obj(
                json!({"metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-web", "controller": true}]},
            "spec": {"replicas": 2, "template": template}}),
            )],
        ),
        (
            Kind::Pod,
            vec![
                pod("web-1-a", true, Some(("ReplicaSet", "web-1")), "Running"),
                pod("web-1-b", true, Some(("ReplicaSet", "web-1")), "Running"),
                pod("debug", false, None, "Running"),
                pod("migrate", true, Some(("Job", "migrate")), "Succeeded"),
            ],
        ),
    ];
    for (kind, objects) in batches {
        let records: Vec<_> = objects
            .iter()
            .filter_map(|o| record(kind, o, &[]))
            .collect();
        assert_eq!(records.len(), objects.len());
        let mut w = db.store.begin_pass().await.unwrap();
        w.apply_kube_records(cluster, kind, &records, 1, now)
            .await
            .unwrap();
        w.commit().await.unwrap();
    }
    cluster
}

#[tokio::test]
async fn pods_workloads_nodes_namespaces_and_clusters_are_scored_from_what_they_run() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let now = coastguard_core::now();
        let cluster = cluster(&db, now).await;
        // The pods' image runs: scan coverage counts it, on the estate and on its node,
        // and its gap is a finding on the image (before any report).
        let node = id_of(
            &db,
            "SELECT id FROM hosts WHERE kind = 'node' AND name = 'n1'",
        )
        .await;
        let coverage = db.store.coverage(30, now).await.unwrap();
        assert_eq!((coverage.running_images, coverage.unscanned), (1, 1));
        let on_node = db
            .store
            .coverage_in(&coastguard_core::store::Scope::Host(node), 30, now)
            .await
            .unwrap();
        assert_eq!(on_node.running_images, 1);
        let changes = db.store.evaluate_scan_coverage(30, now).await.unwrap();
        assert_eq!(changes.opened, 1);
        ingest(
            &state,
            &Authed::cli().as_analyst(),
            &fixture("scans/trivy/alpine-3.10.json"),
            Some(POD_IMAGE.into()),
            "cli",
        )
        .await
        .unwrap();
        let run = db.store.recompute_risk(now).await.unwrap();
        // The finished Job pod is not scored; the ReplicaSet is not a workload of its own.
        assert_eq!(
            (
                run.pods,
                run.workloads,
                run.namespaces,
                run.clusters,
                run.hosts
            ),
            (3, 1, 1, 1, 1)
        );
        let pod_id = |name: &str| {
            let sql = format!("SELECT id FROM pods WHERE name = '{name}'");
            let db = &db;
            async move { id_of(db, &sql).await }
        };
        let score = |kind: RiskSubject, id: i64| {
            let store = db.store.clone();
            async move { store.risk_breakdown(kind, id).await.unwrap() }
        };
        let privileged = score(RiskSubject::Pod, pod_id("web-1-a").await).await;
        let plain = score(RiskSubject::Pod, pod_id("debug").await).await;
        // The same image's vulnerabilities weigh more in the privileged pod, and its
        // Pod Security findings count as privileges.
        let factor = |b: &coastguard_model::risk::RiskBreakdown, k: RiskFactorKind| {
            b.factors.iter().find(|f| f.kind == k).cloned()
        };
        let weight = |b| factor(b, RiskFactorKind::Vulnerabilities).unwrap().weight;
        assert!(weight(&privileged) > weight(&plain), "{privileged:?}");
        assert!(factor(&privileged, RiskFactorKind::Privilege).is_some());
        assert!(privileged.score > plain.score && plain.score > 0);
        // The Deployment: its template and its pods' image, as one pod (replicas do not add).
        let web = id_of(
            &db,
            "SELECT id FROM workloads WHERE kind = 'Deployment' AND name = 'web'",
        )
        .await;
        let workload = score(RiskSubject::Workload, web).await;
        assert_eq!(workload.raw, privileged.raw);
        assert_eq!(workload.name, "shop/web");
        // The namespace holds the Deployment in full and the bare pod at a quarter.
        let ns = id_of(&db, "SELECT id FROM namespaces WHERE name = 'shop'").await;
        let namespace = score(RiskSubject::Namespace, ns).await;
        assert!(
            (namespace.raw - (workload.raw + plain.raw * 0.25)).abs() < 0.02,
            "{namespace:?}"
        );
        assert_eq!(
            score(RiskSubject::Cluster, cluster).await.raw,
            namespace.raw
        );
        // The node counts its riskiest pod in full and the others at a quarter.
        let host = score(RiskSubject::Host, node).await;
        assert!(
            (host.raw - (privileged.raw + 0.25 * (privileged.raw + plain.raw))).abs() < 0.02,
            "{host:?}"
        );
        // Rankings list them with their pages.
        let ranked = db.store.risk_ranking(RiskSubject::Pod, 10).await.unwrap();
        assert_eq!(ranked.len(), 3);
        assert_eq!(ranked[2].name, "shop/debug");
    });
}

/// An exception that takes effect at once, everywhere.
fn exception_row<'a>(
    kind: ExceptionKind,
    target: &'a str,
    verdict: Verdict,
) -> NewExceptionRow<'a> {
    NewExceptionRow {
        kind,
        target,
        verdict,
        image_id: None,
        package: None,
        subject: None,
        host: None,
        cluster: None,
        namespace: None,
        workload: None,
        severity: coastguard_model::Severity::Unknown,
        reason: "not reachable",
        owner: "test",
        created_by: "test",
        expires_at: None,
        effective: true,
    }
}
