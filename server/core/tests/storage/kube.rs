//! The Kubernetes collector with the real kube client and watchers, against a fake API
//! server on loopback (no API server can run here), on both backends: initial sync from
//! real API payloads (k8s-api fixtures), every watch event kind, a relist after 410 Gone,
//! the server going away mid-watch and coming back, and refused credentials.

use coastguard_core::auth::sealing::SecretKey;
use coastguard_core::auth::Authed;
use coastguard_core::kube::{collector, configured, manage};
use coastguard_core::testing::{self, fake_kube::FakeKube, fake_kube::TOKEN};
use coastguard_core::{AppState, Settings};
use coastguard_model::kube::{KubeQuery, NewClusters};
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

fn fixture(path: &str) -> Value {
    let p = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/fixtures/k8s-api")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn settings() -> Settings {
    Settings {
        secret_key: Some(SecretKey::parse(&("5a".repeat(31) + "01")).unwrap()),
        kube_resync_seconds: 3600,
        ..Settings::default()
    }
}

/// Polls `check` until it holds, for up to 60 s (the watcher backs off up to 30 s).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn ns(name: &str, labels: Value) -> Value {
    json!({"metadata": {"name": name, "uid": format!("ns-{name}"), "labels": labels}})
}

fn shop_pod(uid: &str, name: &str, privileged: bool) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "shop", "uid": uid,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "rs-web", "controller": true}]},
        "spec": {"nodeName": "v1.36-control-plane", "containers": [{"name": "web", "image": "registry.example/web:1.0",
                 "securityContext": {"privileged": privileged}}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "web", "ready": true, "restartCount": 0,
                   "image": "registry.example/web:1.0",
                   "imageID": format!("registry.example/web@sha256:{}", "ab".repeat(32))}]}
    })
}

/// Adds the fake's cluster (context `context`, with the fake's token) as an admin does.
async fn add(
    state: &AppState,
    fake: &FakeKube,
    context: &str,
) -> coastguard_core::Result<Vec<coastguard_model::kube::ClusterSummary>> {
    manage::add_clusters(
        state,
        &Authed::cli(),
        NewClusters {
            kubeconfig: fake.kubeconfig(context, TOKEN),
            ..NewClusters::default()
        },
    )
    .await
}

/// Every pod, page by page.
async fn pods(state: &AppState, include_gone: bool) -> Vec<coastguard_model::kube::PodSummary> {
    let mut all = Vec::new();
    for page in 1.. {
        let q = KubeQuery {
            include_gone: Some(include_gone),
            per_page: Some(500),
            page: Some(page),
            ..KubeQuery::default()
        };
        let listing = manage::pods(state, &Authed::cli().as_viewer(), &q)
            .await
            .unwrap();
        let last = listing.page >= listing.pages();
        all.extend(listing.items);
        if last {
            break;
        }
    }
    all
}

async fn pod_named(state: &AppState, name: &str) -> Option<coastguard_model::kube::PodSummary> {
    pods(state, true).await.into_iter().find(|p| p.name == name)
}

#[tokio::test]
async fn a_cluster_is_listed_watched_relisted_and_outlives_its_server_going_away() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        let system_pods = fixture("k8s-openapi-replays/v1.36-pod-list.json")["items"]
            .as_array()
            .unwrap()
            .clone();
        let system_count = system_pods.len();
        fake.load("namespaces", [
            ns("kube-system", json!({})),
            ns("shop", json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"})),
        ]);
        // A real node object, named as the kind cluster's node the system pods run on.
        let mut node = fixture("k9s-objects/node.json");
        node["metadata"]["name"] = json!("v1.36-control-plane");
        fake.load("nodes", [node]);
        fake.load(
            "deployments",
            fixture("k8s-openapi-replays/v1.36-deployment-list.json")["items"]
                .as_array()
                .unwrap()
                .clone(),
        );
        fake.load("replicasets", [json!({
            "metadata": {"name": "web-7d9f", "namespace": "shop", "uid": "rs-web",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "dep-web", "controller": true}]},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0"}]}}}
        })]);
        fake.load("deployments", [json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "dep-web"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0",
                     "securityContext": {"privileged": true}}]}}}
        })]);
        // More pods than a list page (500) would take a second page; the system pods and
        // enough filler to page.
        let filler: Vec<Value> = (0..520)
            .map(|i| {
                let mut p = shop_pod(&format!("filler-{i}"), &format!("filler-{i}"), false);
                p["metadata"]["namespace"] = json!("kube-system");
                p["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("ownerReferences");
                p
            })
            .collect();
        fake.load("pods", system_pods.clone());
        fake.load("pods", [shop_pod("pod-a", "web-a", true)]);
        fake.load("pods", filler);

        let state = db.state_with(settings());
        let added = add(&state, &fake, "kind-fake").await.unwrap();
        assert_eq!(added.len(), 1);
        let cluster = added[0].id;
        // The credentials are stored sealed: the token is not in the row.
        let row = state.store.kube_cluster(cluster).await.unwrap();
        assert!(!row.credentials.as_deref().unwrap().contains(TOKEN));

        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));

        // Initial sync: every pod, paged.
        let expected = system_count + 1 + 520;
        eventually("the initial list", || async {
            pods(&state, false).await.len() == expected
        })
        .await;
        assert!(
            fake.lists()
                .iter()
                .any(|l| l.contains("/api/v1/pods") && l.contains("continue=")),
            "the pod list was not paged: {:?}",
            fake.lists()
        );
        eventually("the cluster's status", || async {
            let c = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
                .await
                .unwrap();
            c.status == "ok"
                && c.version.as_deref() == Some("v1.36.0")
                && c.nodes == 1
                && c.namespaces == 2
        })
        .await;

        // The shop pod: its workload through the ReplicaSet, its node, its image by digest,
        // its Pod Security verdict and findings.
        eventually("the shop pod's owners", || async {
            pod_named(&state, "web-a")
                .await
                .is_some_and(|p| p.workload_name.as_deref() == Some("web"))
        })
        .await;
        let web = pod_named(&state, "web-a").await.unwrap();
        assert_eq!(web.workload_kind.as_deref(), Some("Deployment"));
        assert_eq!(web.pss_level.as_deref(), Some("privileged"));
        assert!(web.node_id.is_some());
        let detail = manage::pod(&state, &Authed::cli().as_viewer(), web.id)
            .await
            .unwrap();
        assert_eq!(detail.containers.len(), 1);
        assert_eq!(
            detail.containers[0].image_digest.as_deref(),
            Some(format!("sha256:{}", "ab".repeat(32)).as_str())
        );
        assert!(detail.containers[0].image_id.is_some());
        let checks: Vec<&str> = detail
            .findings
            .iter()
            .map(|f| f.check_id.as_str())
            .collect();
        assert!(checks.contains(&"k8s.pss.privileged"), "{checks:?}");
        assert!(checks.contains(&"k8s.pss.runAsNonRoot"), "{checks:?}");
        let privileged = detail
            .findings
            .iter()
            .find(|f| f.check_id == "k8s.pss.privileged")
            .unwrap();
        assert_eq!(privileged.severity.as_str(), "high");
        assert_eq!(
            privileged.evidence,
            r#"container "web" must not set securityContext.privileged=true"#
        );
        assert_eq!(privileged.subject_name, "shop/web-a");

        // The namespace: its labels read as the admission plugin reads them, the level its
        // pods pass, and the pod its enforce level would refuse.
        let shop = manage::namespaces(
            &state,
            &Authed::cli().as_viewer(),
            &KubeQuery {
                q: Some("shop".into()),
                ..KubeQuery::default()
            },
        )
        .await
        .unwrap()
        .items
        .remove(0);
        assert_eq!(
            (shop.enforce.level.as_str(), shop.warn.level.as_str()),
            ("baseline", "restricted")
        );
        assert_eq!(shop.passing_level.as_deref(), Some("privileged"));
        assert_eq!(shop.pods, 1);
        assert_eq!(shop.pods_violating_enforce, 1);
        assert_eq!(
            shop.workloads, 1,
            "the ReplicaSet is part of its Deployment, not a workload of its own"
        );

        // Every sort of every list answers, in both directions, with the same rows.
        let viewer = Authed::cli().as_viewer();
        for key in ["name", "pods", "level", "findings"] {
            for dir in ["asc", "desc"] {
                let q = KubeQuery {
                    sort: Some(key.into()),
                    dir: Some(dir.into()),
                    ..KubeQuery::default()
                };
                let got = manage::namespaces(&state, &viewer, &q).await.unwrap();
                assert_eq!(
                    (got.total, got.items.len()),
                    (2, 2),
                    "namespaces by {key} {dir}"
                );
            }
        }
        for key in ["name", "namespace", "kind", "level", "findings"] {
            let q = KubeQuery {
                sort: Some(key.into()),
                ..KubeQuery::default()
            };
            let got = manage::workloads(&state, &viewer, &q).await.unwrap();
            assert_eq!(got.items.len() as i64, got.total, "workloads by {key}");
        }
        let mut worst = None;
        for key in ["name", "namespace", "level", "findings"] {
            let q = KubeQuery {
                sort: Some(key.into()),
                dir: Some("desc".into()),
                per_page: Some(10),
                ..KubeQuery::default()
            };
            let got = manage::pods(&state, &viewer, &q).await.unwrap();
            assert_eq!(
                (got.total, got.items.len()),
                (expected as i64, 10),
                "pods by {key}"
            );
            if key == "findings" {
                worst = Some(got.items[0].clone());
            }
        }
        // The worst pod first: the privileged shop pod has a high finding, the system pods
        // on the host network have more.
        assert!(worst.unwrap().open_findings.high >= 1);

        // Watch: ADDED.
        fake.apply("pods", shop_pod("pod-b", "web-b", false));
        eventually("an added pod", || async {
            pod_named(&state, "web-b").await.is_some()
        })
        .await;
        let b = pod_named(&state, "web-b").await.unwrap();
        assert_eq!(b.pss_level.as_deref(), Some("baseline"));
        // MODIFIED: the privileged pod is fixed; its privileged finding is resolved.
        fake.apply("pods", shop_pod("pod-a", "web-a", false));
        eventually("a modified pod", || async {
            pod_named(&state, "web-a")
                .await
                .and_then(|p| p.pss_level)
                .as_deref()
                == Some("baseline")
        })
        .await;
        let detail = manage::pod(&state, &Authed::cli().as_viewer(), web.id)
            .await
            .unwrap();
        let privileged = detail
            .findings
            .iter()
            .find(|f| f.check_id == "k8s.pss.privileged")
            .unwrap();
        assert_eq!(privileged.state.as_str(), "resolved");
        // BOOKMARK: nothing changes, the watch goes on.
        fake.bookmark("pods", "Pod");
        // DELETED: the pod is gone, not dropped, and its findings are resolved.
        fake.delete("pods", "pod-b");
        eventually("a deleted pod", || async {
            pod_named(&state, "web-b")
                .await
                .is_some_and(|p| p.gone_at.is_some())
        })
        .await;
        let gone = pod_named(&state, "web-b").await.unwrap();
        let detail = manage::pod(&state, &Authed::cli().as_viewer(), gone.id)
            .await
            .unwrap();
        assert!(detail
            .findings
            .iter()
            .all(|f| f.state.as_str() == "resolved"));

        // 410 Gone: a lost delete is only seen by a relist, which the expired watch forces.
        let lists_before = fake
            .lists()
            .iter()
            .filter(|l| l.contains("/api/v1/pods"))
            .count();
        fake.forget("pods", "filler-7");
        fake.expire("pods");
        eventually("a relist after 410", || async {
            pod_named(&state, "filler-7")
                .await
                .is_some_and(|p| p.gone_at.is_some())
        })
        .await;
        assert!(
            fake.lists()
                .iter()
                .filter(|l| l.contains("/api/v1/pods"))
                .count()
                > lists_before
        );
        assert_eq!(
            pods(&state, false).await.len(),
            expected - 1,
            "only the lost pod went"
        );

        // The server goes away mid-watch: the cluster is unreachable, its inventory stays.
        fake.go_away();
        eventually("the cluster marked unreachable", || async {
            manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
                .await
                .unwrap()
                .status
                == "unreachable"
        })
        .await;
        let c = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
            .await
            .unwrap();
        assert!(c.last_error.is_some());
        assert_eq!(c.pods, (expected - 1) as i64);
        // …and comes back: watches resume, new events arrive, the status is ok again.
        fake.come_back().await;
        fake.apply("pods", shop_pod("pod-c", "web-c", false));
        eventually("events after the server came back", || async {
            pod_named(&state, "web-c").await.is_some()
        })
        .await;
        eventually("the cluster reachable again", || async {
            manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
                .await
                .unwrap()
                .status
                == "ok"
        })
        .await;

        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}

#[tokio::test]
async fn a_cluster_refusing_the_credentials_is_unreachable_with_the_reason() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        fake.load("pods", [shop_pod("pod-a", "web-a", true)]);
        let state = db.state_with(settings());
        let added = manage::add_clusters(
            &state,
            &Authed::cli(),
            NewClusters {
                kubeconfig: fake.kubeconfig("wrong", "not-the-token"),
                context: None,
                name: Some("refusing".into()),
            },
        )
        .await
        .unwrap();
        let cluster = added[0].id;
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));
        eventually("the refusal recorded", || async {
            let c = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
                .await
                .unwrap();
            c.status == "unreachable"
                && c.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("401") || e.contains("Unauthorized"))
        })
        .await;
        assert!(pods(&state, true).await.is_empty());
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}

#[tokio::test]
async fn clusters_are_only_added_with_a_secret_key_and_their_changes_are_audited() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        let state = db.state();
        let refused = add(&state, &fake, "c").await.unwrap_err();
        assert!(
            refused.to_string().contains("COASTGUARD_SECRET_KEY"),
            "{refused}"
        );
        assert!(state.store.kube_clusters().await.unwrap().is_empty());

        let state = db.state_with(settings());
        let added = add(&state, &fake, "c").await.unwrap();
        // A second cluster of the same name is a conflict, and nothing of it is stored.
        let again = add(&state, &fake, "c").await.unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        manage::remove_cluster(&state, &Authed::cli(), added[0].id)
            .await
            .unwrap();
        assert!(state.store.kube_clusters().await.unwrap().is_empty());
        let actions: Vec<String> =
            coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
                "SELECT action FROM audit_log WHERE action LIKE 'cluster.%' ORDER BY id"
            )
            .fetch_all(pool)
            .await)
            .unwrap();
        assert_eq!(actions, ["cluster.add", "cluster.remove"]);
        fake.go_away();
    }
}

#[tokio::test]
async fn an_extension_the_role_does_not_grant_is_judged_without_rather_than_waited_for() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        fake.serve_extension(
            "projectcalico.org/v3",
            &[
                ("networkpolicies", "NetworkPolicy", true),
                ("globalnetworkpolicies", "GlobalNetworkPolicy", false),
                ("felixconfigurations", "FelixConfiguration", false),
            ],
        );
        // A ClusterRole applied before Coastguard read Calico.
        fake.forbid("projectcalico.org/globalnetworkpolicies");
        fake.load("namespaces", [ns("shop", json!({}))]);
        fake.load("pods", [labelled_pod("shop", "web", json!({"app": "web"}))]);
        let state = db.state_with(settings());
        let cluster = add(&state, &fake, "c").await.unwrap()[0].id;
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));
        eventually("the namespace judged without Calico", || async {
            network_view(&state, "shop").await.0.is_some()
        })
        .await;
        let layer = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
            .await
            .unwrap()
            .network
            .unwrap();
        assert!(!layer.calico, "{layer:?}");
        let (_, open) = network_view(&state, "shop").await;
        assert!(
            open.contains(&finding("shop", "no_default_deny_ingress", "")),
            "{open:?}"
        );
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}

/// A fake cluster with the shop namespace and one unprivileged pod in it.
async fn shop_cluster() -> FakeKube {
    let fake = FakeKube::start().await;
    fake.load("namespaces", [ns("shop", json!({}))]);
    fake.load("pods", [shop_pod("pod-a", "web-a", false)]);
    fake
}

/// An empty directory of this test process and backend, for files a test writes.
fn scratch_dir(prefix: &str, db: &testing::TestDb) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("{prefix}-{}-{:?}", std::process::id(), db.backend));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `cluster.*` audit actions so far, in order.
async fn cluster_audit(state: &AppState) -> Vec<String> {
    coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'cluster.%' ORDER BY id"
    )
    .fetch_all(pool)
    .await)
    .unwrap()
}

#[tokio::test]
async fn clusters_from_the_config_file_are_added_once_updated_when_changed_and_checked_like_uploads(
) {
    for db in testing::backends().await {
        let fake = shop_cluster().await;
        let dir = scratch_dir("coastguard-kubeconfig", &db);
        let file = dir.join("kubeconfig");
        std::fs::write(&file, fake.kubeconfig("prod", TOKEN)).unwrap();
        let state = db.state_with(Settings {
            kubeconfig_file: Some(file.clone()),
            ..settings()
        });
        let done = configured::apply(&state).await.unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        let row = state
            .store
            .kube_cluster_named("prod")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.source.as_deref(), Some("config"));
        // Sealed, never in clear.
        assert!(!row.credentials.as_deref().unwrap().contains(TOKEN));
        // A second start with the same file changes nothing.
        assert!(configured::apply(&state).await.unwrap().is_empty());
        assert_eq!(cluster_audit(&state).await, ["cluster.add"]);

        // The worker reads it like any cluster.
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), row.id, stop));
        eventually("the configured cluster listed", || async {
            pod_named(&state, "web-a").await.is_some()
        })
        .await;
        stop_tx.send(true).unwrap();
        worker.await.unwrap();

        // New credentials in the file: the same cluster, updated and audited.
        std::fs::write(&file, fake.kubeconfig("prod", "rotated-token")).unwrap();
        assert_eq!(configured::apply(&state).await.unwrap().len(), 1);
        let updated = state
            .store
            .kube_cluster_named("prod")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.id, row.id);
        assert_ne!(updated.credentials, row.credentials);
        assert_eq!(
            cluster_audit(&state).await,
            ["cluster.add", "cluster.update"]
        );

        // A cluster of the same name added by hand is left alone, with a word why.
        manage::remove_cluster(&state, &Authed::cli(), row.id)
            .await
            .unwrap();
        add(&state, &fake, "prod").await.unwrap();
        let done = configured::apply(&state).await.unwrap();
        assert!(done[0].contains("added by hand"), "{done:?}");
        let by_hand = state
            .store
            .kube_cluster_named("prod")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_hand.source.as_deref(), Some("kubeconfig"));

        // The upload's rules hold: a program in the file stops the start, naming it.
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: \"https://x.example\"}\nusers:\n- name: u\n  user:\n    exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}\ncontexts:\n- name: evil\n  context: {cluster: x, user: u}\n",
        )
        .unwrap();
        let e = configured::apply(&state).await.unwrap_err().to_string();
        assert!(
            e.contains("exec") && e.contains(file.to_str().unwrap()),
            "{e}"
        );
        assert!(state
            .store
            .kube_cluster_named("evil")
            .await
            .unwrap()
            .is_none());
        // Without a secret key, nothing is stored in clear: the start stops.
        let keyless = db.state_with(Settings {
            kubeconfig_file: Some(file.clone()),
            secret_key: None,
            ..settings()
        });
        let e = configured::apply(&keyless).await.unwrap_err().to_string();
        assert!(e.contains("secret key"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        fake.go_away();
    }
}

#[tokio::test]
async fn the_cluster_coastguard_runs_in_is_read_with_the_pods_service_account() {
    for db in testing::backends().await {
        let fake = shop_cluster().await;
        let dir = scratch_dir("coastguard-sa", &db);
        std::fs::write(dir.join("token"), TOKEN).unwrap();
        let ca = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("tests/fixtures/signatures/cosign/containers-image/fulcio-cert.pem");
        std::fs::copy(ca, dir.join("ca.crt")).unwrap();
        std::fs::write(dir.join("namespace"), "coastguard").unwrap();
        // No secret key: the service account's token is read from its file, never stored.
        let state = db.state_with(Settings {
            kube_in_cluster: true,
            kube_service_account_dir: dir.clone(),
            secret_key: None,
            ..settings()
        });
        // The fake speaks plain HTTP; in a pod the URL is https:// from the environment.
        let done = configured::ensure_in_cluster(&state, &fake.url())
            .await
            .unwrap();
        assert!(done.unwrap().contains("added"));
        assert!(configured::ensure_in_cluster(&state, &fake.url())
            .await
            .unwrap()
            .is_none());
        let row = state
            .store
            .kube_cluster_named("in-cluster")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.source.as_deref(), Some("in-cluster"));
        assert!(row.credentials.is_none());

        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), row.id, stop));
        eventually("the cluster listed with the pod's token", || async {
            pod_named(&state, "web-a").await.is_some()
        })
        .await;
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        // The token rotates (as bound tokens do): nothing kept the old one, and the next
        // connection authenticates with the file as it is now.
        fake.set_token("rotated");
        std::fs::write(dir.join("token"), "rotated").unwrap();
        let Ok(client) = collector::connect(&state, &row).await else {
            panic!("no client after the token rotated")
        };
        client
            .apiserver_version()
            .await
            .expect("the API server accepts the rotated token");

        // With the setting off, the cluster says why it is not read.
        let off = db.state_with(Settings {
            kube_in_cluster: false,
            kube_service_account_dir: dir.clone(),
            ..settings()
        });
        let Err(e) = collector::connect(&off, &row).await else {
            panic!("connected with kube_in_cluster off")
        };
        assert!(e.contains("kube_in_cluster is off"), "{e}");
        // A missing token is named.
        std::fs::remove_file(dir.join("token")).unwrap();
        let Err(e) = collector::connect(&state, &row).await else {
            panic!("connected without a token")
        };
        assert!(e.contains("service-account token"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        fake.go_away();
    }
}

#[tokio::test]
async fn a_sync_asked_for_lists_the_cluster_again_and_applies_the_image_policy() {
    for db in testing::backends().await {
        let fake = shop_cluster().await;
        let state = db.state_with(settings());
        let cluster = add(&state, &fake, "c").await.unwrap()[0].id;
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));
        eventually("the first list", || async {
            pod_named(&state, "web-a").await.is_some()
        })
        .await;
        let untrusted = |state: AppState| async move {
            let web = pod_named(&state, "web-a").await.unwrap();
            manage::pod(&state, &Authed::cli().as_viewer(), web.id)
                .await
                .unwrap()
                .findings
                .into_iter()
                .filter(|f| f.check_id == "k8s.hygiene.untrusted_registry")
                .map(|f| f.evidence)
                .collect::<Vec<_>>()
        };
        assert!(untrusted(state.clone()).await.is_empty());

        // A pod the watch never told of, and an image policy that trusts another
        // registry: neither shows until the cluster is listed again.
        fake.load("pods", [shop_pod("pod-b", "web-b", false)]);
        coastguard_core::docker::manage::set_policy(
            &state,
            &Authed::cli(),
            coastguard_model::docker::Policy {
                trusted_registries: vec!["ghcr.io".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(pod_named(&state, "web-b").await.is_none());

        // A sync asked for: the worker lists every kind again within seconds.
        manage::sync_cluster(&state, &Authed::cli().as_analyst(), cluster)
            .await
            .unwrap();
        eventually("the pod the watch missed", || async {
            pod_named(&state, "web-b").await.is_some()
        })
        .await;
        eventually("the image policy applied", || async {
            untrusted(state.clone()).await
                == ["container \"web\" runs registry.example/web:1.0 from registry.example"]
        })
        .await;
        let missing = manage::sync_cluster(&state, &Authed::cli().as_analyst(), cluster + 99)
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("no cluster"), "{missing}");
        let actions: Vec<String> =
            coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
                "SELECT action FROM audit_log WHERE action LIKE 'cluster.%' ORDER BY id"
            )
            .fetch_all(pool)
            .await)
            .unwrap();
        assert_eq!(actions, ["cluster.add", "cluster.sync"]);
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}

fn labelled_pod(namespace: &str, name: &str, labels: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "uid": format!("pod-{namespace}-{name}"), "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}]},
        "status": {"phase": "Running"}
    })
}

/// The open network findings of a namespace (by name) and of its pods, as
/// `(subject, check, instance)`, and the namespace's posture.
async fn network_view(
    state: &AppState,
    namespace: &str,
) -> (
    Option<coastguard_model::kube::NetworkPosture>,
    Vec<(String, String, String)>,
) {
    let viewer = Authed::cli().as_viewer();
    let listing = manage::namespaces(state, &viewer, &KubeQuery::default())
        .await
        .unwrap();
    let Some(ns) = listing.items.iter().find(|n| n.name == namespace) else {
        return (None, Vec::new());
    };
    let detail = manage::namespace(state, &viewer, ns.id).await.unwrap();
    let mut findings = detail.findings;
    for pod in pods(state, false).await {
        if pod.namespace == namespace {
            findings.extend(manage::pod(state, &viewer, pod.id).await.unwrap().findings);
        }
    }
    let mut open: Vec<(String, String, String)> = findings
        .into_iter()
        .filter(|f| {
            f.check_id.starts_with("k8s.network.")
                && f.state == coastguard_model::findings::FindingState::Open
        })
        .map(|f| (f.subject_name, f.check_id, f.instance))
        .collect();
    open.sort();
    (detail.network, open)
}

fn finding(subject: &str, check: &str, instance: &str) -> (String, String, String) {
    (
        subject.to_string(),
        format!("k8s.network.{check}"),
        instance.to_string(),
    )
}

#[tokio::test]
async fn network_isolation_follows_policies_services_and_ingresses_as_they_change() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        fake.load(
            "namespaces",
            [ns("shop", json!({})), ns("vault", json!({}))],
        );
        fake.load(
            "pods",
            [
                labelled_pod("shop", "web", json!({"app": "web"})),
                labelled_pod("shop", "db", json!({"app": "db"})),
                labelled_pod("vault", "keeper", json!({"app": "keeper"})),
            ],
        );
        fake.load("networkpolicies", [
            json!({"metadata": {"name": "deny-all", "namespace": "vault", "uid": "np-vault"},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
            json!({"metadata": {"name": "db", "namespace": "shop", "uid": "np-db"},
                   "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}}),
        ]);
        fake.load("services", [
            json!({"metadata": {"name": "web", "namespace": "shop", "uid": "svc-web"},
                   "spec": {"type": "NodePort", "selector": {"app": "web"},
                            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}),
            json!({"metadata": {"name": "db", "namespace": "shop", "uid": "svc-db"},
                   "spec": {"type": "ClusterIP", "selector": {"app": "db"}, "ports": [{"port": 5432}]}}),
        ]);
        fake.load(
            "ingresses",
            [
                json!({"metadata": {"name": "storefront", "namespace": "shop", "uid": "ing-shop"},
                   "spec": {"rules": [{"host": "shop.example.test"}]}}),
            ],
        );
        let state = db.state_with(settings());
        let cluster = add(&state, &fake, "c").await.unwrap()[0].id;
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));

        let expected_shop = vec![
            finding("shop", "ingress_without_tls", "storefront"),
            finding("shop", "no_default_deny_ingress", ""),
            finding("shop", "no_egress_restriction", ""),
            finding("shop", "pod_traffic_unencrypted", ""),
            finding("shop/web", "exposed_outside_cluster", "web"),
            finding("shop/web", "pod_not_isolated", ""),
        ];
        eventually("the first network pass", || async {
            network_view(&state, "shop").await.1 == expected_shop
        })
        .await;
        let (posture, _) = network_view(&state, "shop").await;
        let posture = posture.expect("a posture after the pass");
        assert_eq!(posture.policies, 1);
        assert!(!posture.default_deny_ingress && !posture.egress_restricted);
        assert_eq!((posture.pods, posture.pods_isolated), (2, 1));
        assert_eq!(posture.exposed_services, ["web"]);
        assert_eq!(posture.ingresses_without_tls, ["storefront"]);
        let (vault, open) = network_view(&state, "vault").await;
        let vault = vault.unwrap();
        assert!(vault.default_deny_ingress && vault.egress_restricted);
        assert_eq!((vault.pods, vault.pods_isolated), (1, 1));
        // Isolated, but neither Calico WireGuard nor a mesh encrypts its traffic.
        assert_eq!(open, vec![finding("vault", "pod_traffic_unencrypted", "")]);
        assert_eq!(vault.mtls, None);
        let layer = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
            .await
            .unwrap()
            .network
            .expect("the cluster's network layer after the pass");
        assert!(!layer.calico && !layer.istio && layer.wireguard.is_none());
        // The cluster counts its namespaces' findings with its pods' and workloads'.
        let c = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
            .await
            .unwrap()
            .open_findings;
        let stored: i64 = coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM config_findings WHERE state = 'open' AND subject_kind IN ('pod', 'workload', 'namespace')"
        )
        .fetch_one(pool)
        .await)
        .unwrap();
        assert_eq!(
            c.critical + c.high + c.medium + c.low + c.unknown + c.negligible,
            stored
        );

        // The pod changes (a watch event): its own checks run again, and the network
        // findings stay open, never resolved and reopened by the pod's own pass.
        let mut web = labelled_pod("shop", "web", json!({"app": "web"}));
        web["metadata"]["annotations"] = json!({"touched": "yes"});
        fake.apply("pods", web);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let web_id = pod_named(&state, "web").await.unwrap().id;
        let web_findings = manage::pod(&state, &Authed::cli().as_viewer(), web_id)
            .await
            .unwrap()
            .findings;
        for f in web_findings
            .iter()
            .filter(|f| f.check_id.starts_with("k8s.network."))
        {
            assert_eq!(
                f.reopened_at, None,
                "{} was resolved by the pod's own pass",
                f.check_id
            );
            assert_eq!(f.state, coastguard_model::findings::FindingState::Open);
        }

        // A default-deny policy arrives, the NodePort Service goes and the Ingress gets
        // TLS: the findings they settled are resolved.
        fake.apply(
            "networkpolicies",
            json!({"metadata": {"name": "default-deny", "namespace": "shop", "uid": "np-shop"},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        );
        fake.delete("services", "svc-web");
        fake.apply(
            "ingresses",
            json!({"metadata": {"name": "storefront", "namespace": "shop", "uid": "ing-shop"},
                   "spec": {"rules": [{"host": "shop.example.test"}],
                            "tls": [{"hosts": ["shop.example.test"], "secretName": "shop-tls"}]}}),
        );
        eventually("the changes judged", || async {
            network_view(&state, "shop").await.1
                == vec![
                    finding("shop", "no_egress_restriction", ""),
                    finding("shop", "pod_traffic_unencrypted", ""),
                ]
        })
        .await;
        let (posture, _) = network_view(&state, "shop").await;
        let posture = posture.unwrap();
        assert!(posture.default_deny_ingress);
        assert_eq!((posture.policies, posture.pods_isolated), (2, 2));
        assert!(posture.exposed_services.is_empty() && posture.ingresses_without_tls.is_empty());
        let resolved: Vec<String> = manage::pod(&state, &Authed::cli().as_viewer(), web_id)
            .await
            .unwrap()
            .findings
            .into_iter()
            .filter(|f| f.state == coastguard_model::findings::FindingState::Resolved)
            .map(|f| f.check_id)
            .collect();
        assert!(
            resolved.contains(&"k8s.network.exposed_outside_cluster".to_string()),
            "{resolved:?}"
        );
        assert!(
            resolved.contains(&"k8s.network.pod_not_isolated".to_string()),
            "{resolved:?}"
        );

        // A pod that goes away takes its network findings with it.
        fake.delete("networkpolicies", "np-shop");
        eventually("the default deny gone again", || async {
            network_view(&state, "shop").await.1.len() == 4
        })
        .await;
        fake.delete("pods", "pod-shop-web");
        eventually("the pod's findings resolved", || async {
            network_view(&state, "shop").await.1
                == vec![
                    finding("shop", "no_default_deny_ingress", ""),
                    finding("shop", "no_egress_restriction", ""),
                    finding("shop", "pod_traffic_unencrypted", ""),
                ]
        })
        .await;
        let open_on_gone: i64 = coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM config_findings WHERE subject_kind = 'pod' AND subject_id = $1 AND state = 'open'"
        )
        .bind(web_id)
        .fetch_one(pool)
        .await)
        .unwrap();
        assert_eq!(open_on_gone, 0);
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}

#[tokio::test]
async fn calico_policies_wireguard_and_istio_mtls_are_read_where_the_cluster_serves_them() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        fake.serve_extension(
            "projectcalico.org/v3",
            &[
                ("networkpolicies", "NetworkPolicy", true),
                ("globalnetworkpolicies", "GlobalNetworkPolicy", false),
                ("felixconfigurations", "FelixConfiguration", false),
            ],
        );
        // An Istio older than 1.22: PeerAuthentication only at v1beta1.
        fake.serve_extension(
            "security.istio.io/v1beta1",
            &[("peerauthentications", "PeerAuthentication", true)],
        );
        fake.load(
            "namespaces",
            [ns("shop", json!({})), ns("kube-system", json!({}))],
        );
        fake.load(
            "pods",
            [
                labelled_pod("shop", "web", json!({"app": "web"})),
                labelled_pod("kube-system", "dns", json!({"k8s-app": "kube-dns"})),
            ],
        );
        fake.load(
            "projectcalico.org/globalnetworkpolicies",
            [json!({
            "metadata": {"name": "default-deny", "uid": "gnp-deny"},
            "spec": {"selector": "projectcalico.org/namespace not in {'kube-system'}",
                     "types": ["Ingress", "Egress"]}})],
        );
        fake.load(
            "projectcalico.org/felixconfigurations",
            [json!({
            "metadata": {"name": "default", "uid": "felix-default"},
            "spec": {"wireguardEnabled": false}})],
        );
        fake.load(
            "security.istio.io/peerauthentications",
            [json!({
            "metadata": {"name": "default", "namespace": "istio-system", "uid": "pa-mesh"},
            "spec": {"mtls": {"mode": "STRICT"}}})],
        );
        let state = db.state_with(settings());
        let cluster = add(&state, &fake, "c").await.unwrap()[0].id;
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));

        // Calico's global deny isolates shop for ingress and egress; the mesh is STRICT.
        eventually("the first pass with Calico and Istio", || async {
            let (posture, open) = network_view(&state, "shop").await;
            posture.is_some_and(|p| p.calico_policies == 1) && open.is_empty()
        })
        .await;
        let (shop, _) = network_view(&state, "shop").await;
        let shop = shop.unwrap();
        assert!(shop.default_deny_ingress && shop.egress_restricted && shop.encrypted_in_transit);
        assert_eq!((shop.pods, shop.pods_isolated), (1, 1));
        assert_eq!(shop.mtls.as_deref(), Some("STRICT"));
        assert_eq!(shop.mtls_policy.as_deref(), Some("istio-system/default"));
        let (_, system) = network_view(&state, "kube-system").await;
        assert_eq!(
            system,
            vec![
                finding("kube-system", "no_default_deny_ingress", ""),
                finding("kube-system", "no_egress_restriction", ""),
                finding("kube-system/dns", "pod_not_isolated", ""),
            ]
        );
        let layer = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
            .await
            .unwrap()
            .network
            .unwrap();
        assert!(layer.calico && layer.istio);
        assert_eq!((layer.global_policies, layer.wireguard), (1, Some(false)));
        assert!(fake
            .lists()
            .iter()
            .any(|l| l.starts_with("/apis/security.istio.io/v1beta1/peerauthentications")));

        // The namespace relaxes mTLS: its traffic may go in clear.
        fake.apply(
            "security.istio.io/peerauthentications",
            json!({
            "metadata": {"name": "relaxed", "namespace": "shop", "uid": "pa-shop"},
            "spec": {"mtls": {"mode": "PERMISSIVE"}}}),
        );
        eventually("the relaxed namespace judged", || async {
            network_view(&state, "shop").await.1
                == vec![finding("shop", "pod_traffic_unencrypted", "")]
        })
        .await;
        // WireGuard on: every node-to-node packet is encrypted, whatever the mesh says.
        fake.apply(
            "projectcalico.org/felixconfigurations",
            json!({
            "metadata": {"name": "default", "uid": "felix-default"},
            "spec": {"wireguardEnabled": true}}),
        );
        eventually("WireGuard judged", || async {
            network_view(&state, "shop").await.1.is_empty()
        })
        .await;
        // A Calico policy of the namespace itself, selecting by label, isolates the dns pod.
        fake.apply("projectcalico.org/networkpolicies", json!({
            "metadata": {"name": "dns", "namespace": "kube-system", "uid": "cnp-dns"},
            "spec": {"selector": "k8s-app == 'kube-dns'", "types": ["Ingress"],
                     "ingress": [{"action": "Allow", "protocol": "UDP", "destination": {"ports": [53]}}]}}));
        eventually("the dns pod isolated by Calico", || async {
            network_view(&state, "kube-system").await.1.len() == 2
        })
        .await;
        let layer = manage::cluster(&state, &Authed::cli().as_viewer(), cluster)
            .await
            .unwrap()
            .network
            .unwrap();
        assert_eq!(layer.wireguard, Some(true));
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}

/// The open RBAC findings of every cluster, as `(subject, check, instance)`, read
/// through the findings list the RBAC page and `GET /config-findings?check=k8s.rbac.*` use.
async fn rbac_view(state: &AppState) -> Vec<(String, String, String)> {
    let q = coastguard_model::inventory::ListQuery {
        check: Some("k8s.rbac.*".into()),
        per_page: Some(200),
        ..Default::default()
    };
    let mut open: Vec<(String, String, String)> = state
        .store
        .list_config_findings(&q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|f| (f.subject_name, f.check_id, f.instance))
        .collect();
    open.sort();
    open
}

#[tokio::test]
async fn rbac_findings_name_who_may_do_what_and_follow_the_bindings() {
    for db in testing::backends().await {
        let fake = FakeKube::start().await;
        fake.load("namespaces", [ns("shop", json!({}))]);
        fake.load("clusterroles", [
            json!({"metadata": {"name": "cluster-admin", "uid": "cr-admin"},
                   "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
            json!({"metadata": {"name": "secret-reader", "uid": "cr-secrets"},
                   "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]}),
        ]);
        fake.load("clusterrolebindings", [
            json!({"metadata": {"name": "ops-admins", "uid": "crb-ops"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]}),
            json!({"metadata": {"name": "cluster-admin", "uid": "crb-masters"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}]}),
        ]);
        fake.load("roles", [
            json!({"metadata": {"name": "exec", "namespace": "shop", "uid": "role-exec"},
                   "rules": [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]}),
        ]);
        fake.load("rolebindings", [
            json!({"metadata": {"name": "deployer-secrets", "namespace": "shop", "uid": "rb-secrets"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
                   "subjects": [{"kind": "ServiceAccount", "name": "deployer"}]}),
            json!({"metadata": {"name": "oncall-exec", "namespace": "shop", "uid": "rb-exec"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "exec"},
                   "subjects": [{"kind": "User", "name": "alice@example.com"}]}),
        ]);
        fake.load("serviceaccounts", [
            json!({"metadata": {"name": "default", "namespace": "shop", "uid": "sa-default"}}),
            json!({"metadata": {"name": "deployer", "namespace": "shop", "uid": "sa-deployer"}}),
        ]);
        let mut deploy = labelled_pod("shop", "deploy", json!({}));
        deploy["spec"]["serviceAccountName"] = json!("deployer");
        fake.load("pods", [labelled_pod("shop", "web", json!({})), deploy]);
        let state = db.state_with(settings());
        let cluster = add(&state, &fake, "c").await.unwrap()[0].id;
        let (stop_tx, stop) = watch::channel(false);
        let worker = tokio::spawn(collector::run_worker(state.clone(), cluster, stop));

        let cluster_name = "c".to_string();
        let finding = |subject: &str, check: &str, instance: &str| {
            (
                subject.to_string(),
                format!("k8s.rbac.{check}"),
                instance.to_string(),
            )
        };
        let expected = vec![
            finding(&cluster_name, "full_control", "Group ops"),
            finding("shop", "pods_exec", "User alice@example.com"),
            finding("shop", "read_secrets", "ServiceAccount shop/deployer"),
            finding("shop/web", "token_automounted", ""),
        ];
        eventually("the first RBAC pass", || async {
            rbac_view(&state).await == expected
        })
        .await;
        // The pods' own hygiene: both run in a namespace of their own; web on the default account.
        let web = pod_named(&state, "web").await.unwrap();
        let web_checks: Vec<String> = manage::pod(&state, &Authed::cli().as_viewer(), web.id)
            .await
            .unwrap()
            .findings
            .into_iter()
            .map(|f| f.check_id)
            .collect();
        assert!(web_checks.contains(&"k8s.hygiene.default_service_account".to_string()));
        assert!(!web_checks.contains(&"k8s.hygiene.default_namespace".to_string()));

        // The admins' binding goes, and the default account stops mounting its token.
        fake.delete("clusterrolebindings", "crb-ops");
        fake.apply(
            "serviceaccounts",
            json!({"metadata": {"name": "default", "namespace": "shop", "uid": "sa-default"},
                   "automountServiceAccountToken": false}),
        );
        eventually("the RBAC changes judged", || async {
            rbac_view(&state).await
                == vec![
                    finding("shop", "pods_exec", "User alice@example.com"),
                    finding("shop", "read_secrets", "ServiceAccount shop/deployer"),
                ]
        })
        .await;
        stop_tx.send(true).unwrap();
        worker.await.unwrap();
        fake.go_away();
    }
}
