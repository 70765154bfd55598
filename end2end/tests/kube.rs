//! Kubernetes in a real browser: an admin adds a cluster from a kubeconfig (pointing at
//! a fake API server in this process, since no API server runs here), and walks
//! cluster → namespace → pod → its Pod Security findings.

use coastguard_core::testing::fake_kube::{FakeKube, TOKEN};
use coastguard_end2end::{
    console_errors, screenshot, sign_in, text_of, wait_for, wait_hydrated, Harness,
};
use fantoccini::{Client, Locator};
use futures::FutureExt;
use serde_json::{json, Value};
use std::panic::AssertUnwindSafe;

fn fixture(path: &str) -> Value {
    let p = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../server/core/tests/fixtures/k8s-api")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

async fn fake_cluster() -> FakeKube {
    let fake = FakeKube::start().await;
    fake.load(
        "namespaces",
        [
            json!({"metadata": {"name": "kube-system", "uid": "ns-1"}}),
            json!({"metadata": {"name": "shop", "uid": "ns-2",
                "labels": {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30"}}}),
        ],
    );
    fake.load(
        "pods",
        fixture("k8s-openapi-replays/v1.36-pod-list.json")["items"]
            .as_array()
            .unwrap()
            .clone(),
    );
    fake.load(
        "pods",
        [json!({
            "metadata": {"name": "web-a", "namespace": "shop", "uid": "pod-web-a", "labels": {"app": "web"}},
            "spec": {"hostNetwork": true, "containers": [{"name": "web", "image": "registry.example/web:1.0",
                     "securityContext": {"privileged": true}}]},
            "status": {"phase": "Running"}
        })],
    );
    // An on-call user who may exec into the shop's pods.
    fake.load(
        "roles",
        [
            json!({"metadata": {"name": "exec", "namespace": "shop", "uid": "role-exec"},
                "rules": [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]}),
        ],
    );
    fake.load(
        "rolebindings",
        [json!({"metadata": {"name": "oncall-exec", "namespace": "shop", "uid": "rb-exec"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "exec"},
                "subjects": [{"kind": "User", "name": "alice@example.com"}]})],
    );
    // Istio serves PeerAuthentication; the shop relaxes the mesh's STRICT mTLS.
    fake.serve_extension(
        "security.istio.io/v1",
        &[("peerauthentications", "PeerAuthentication", true)],
    );
    fake.load(
        "security.istio.io/peerauthentications",
        [
            json!({"metadata": {"name": "default", "namespace": "istio-system", "uid": "pa-mesh"},
                "spec": {"mtls": {"mode": "STRICT"}}}),
            json!({"metadata": {"name": "relaxed", "namespace": "shop", "uid": "pa-shop"},
                "spec": {"mtls": {"mode": "PERMISSIVE"}}}),
        ],
    );
    // Reachable from outside the cluster, in a namespace without NetworkPolicies.
    fake.load(
        "services",
        [json!({
            "metadata": {"name": "web-public", "namespace": "shop", "uid": "svc-web"},
            "spec": {"type": "NodePort", "selector": {"app": "web"},
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}
        })],
    );
    fake
}

/// Scrolls the panel with this heading into view (for a screenshot of it).
async fn scroll_to_heading(c: &Client, heading: &str) {
    let script = format!(
        "document.evaluate(\"//h2[text()='{heading}']\", document, null, 9, null).singleNodeValue.scrollIntoView()"
    );
    c.execute(&script, vec![]).await.unwrap();
}

/// Clicks the link with this text once the page shows it.
async fn follow(c: &Client, text: &str) {
    wait_for(&format!("a link '{text}'"), || async {
        c.find(Locator::LinkText(text)).await.is_ok()
    })
    .await;
    c.find(Locator::LinkText(text))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn heading_is(c: &Client, what: &str) {
    wait_for(&format!("the heading '{what}'"), || async {
        match c.find(Locator::Css("main h1")).await {
            Ok(h1) => h1.text().await.is_ok_and(|t| t.starts_with(what)),
            Err(_) => false,
        }
    })
    .await;
}

#[tokio::test]
async fn an_admin_adds_a_cluster_and_walks_to_a_pods_pod_security_findings() {
    let fake = fake_cluster().await;
    let key = "3c".repeat(31) + "07";
    let harness = &Harness::start_with("kube", &[("COASTGUARD_SECRET_KEY", &key)]).await;
    let client = harness.browser().await;
    let c = client.clone();
    let kubeconfig = fake.kubeconfig("kind-e2e", TOKEN);
    let outcome =
        AssertUnwindSafe(async move {
            sign_in(&c, harness).await;
            c.goto(&harness.url("/kubernetes")).await.unwrap();
            wait_hydrated(&c).await;
            c.find(Locator::Css("textarea[name=kubeconfig]"))
                .await
                .unwrap()
                .send_keys(&kubeconfig)
                .await
                .unwrap();
            c.find(Locator::XPath("//button[text()='Add']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_for("the cluster, synced", || async {
                c.goto(&harness.url("/kubernetes")).await.unwrap();
                c.find(Locator::XPath(
                "//tr[.//a[normalize-space(.)='kind-e2e']]//span[contains(@class,'status') and normalize-space(.)='ok']",
            ))
            .await
            .is_ok()
                && c.find(Locator::XPath("//tr[.//a[normalize-space(.)='kind-e2e']]//a[normalize-space(.)='9']"))
                    .await
                    .is_ok()
            })
            .await;
            screenshot(&c, "kube-clusters").await;
            // The credentials are not on the page.
            let page = c.source().await.unwrap();
            assert!(!page.contains(TOKEN));
            // An analyst (here an admin) has the cluster listed again on demand.
            wait_hydrated(&c).await;
            c.find(Locator::Css("button[aria-label='List cluster kind-e2e again now']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_for("the sync to be acknowledged", || async {
                c.find(Locator::XPath("//*[contains(text(),'listed again within seconds')]"))
                    .await
                    .is_ok()
            })
            .await;

            follow(&c, "kind-e2e").await;
            heading_is(&c, "kind-e2e").await;
            screenshot(&c, "kube-cluster").await;
            c.find(Locator::XPath(
                "//div[@class='stat'][.//div[text()='namespaces']]//a",
            ))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
            heading_is(&c, "Namespaces").await;
            follow(&c, "shop").await;
            heading_is(&c, "shop").await;
            wait_for("the namespace's pods", || async {
                c.find(Locator::LinkText("web-a")).await.is_ok()
            })
            .await;
            let text = text_of(&c, "main").await;
            assert!(text.contains("baseline (v1.30)"), "{text}");
            assert!(
                text.contains("pods the enforce level would refuse now"),
                "{text}"
            );
            // The network checks run once every kind is listed: reload until judged.
            wait_for("the namespace's network isolation", || async {
                let text = text_of(&c, "main").await;
                // A badge: the browser reports it in capitals, as it shows it.
                if text.to_lowercase().contains("no default deny") {
                    return true;
                }
                let _ = c.refresh().await;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                false
            })
            .await;
            let text = text_of(&c, "main").await;
            assert!(text.contains("0 of 1"), "{text}");
            assert!(text.contains("web-public"), "{text}");
            assert!(
                text.contains("Namespace without a default-deny ingress NetworkPolicy"),
                "{text}"
            );
            // The namespace's own PeerAuthentication relaxes the mesh: traffic in clear.
            assert!(text.contains("PERMISSIVE (PeerAuthentication shop/relaxed)"), "{text}");
            assert!(text.contains("Pod traffic not encrypted in transit"), "{text}");
            screenshot(&c, "kube-namespace").await;
            scroll_to_heading(&c, "Network isolation").await;
            screenshot(&c, "kube-namespace-network").await;
            c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();

            // The cluster page says which policy engines and mesh the cluster serves.
            follow(&c, "kind-e2e").await;
            heading_is(&c, "kind-e2e").await;
            let text = text_of(&c, "main").await;
            assert!(text.contains("Network layer"), "{text}");
            assert!(text.contains("Istio PeerAuthentication\nread"), "{text}");
            assert!(text.contains("WireGuard between nodes\nno Calico"), "{text}");
            scroll_to_heading(&c, "Network layer").await;
            screenshot(&c, "kube-cluster-network").await;
            c.back().await.unwrap();
            heading_is(&c, "shop").await;

            follow(&c, "web-a").await;
            heading_is(&c, "web-a").await;
            wait_for("the pod's findings", || async {
                c.find(Locator::Css("table.findings-table")).await.is_ok()
            })
            .await;
            let table = text_of(&c, "table.findings-table").await;
            for expected in [
                "k8s.pss.privileged",
                "k8s.pss.hostNamespaces",
                "container \"web\" must not set securityContext.privileged=true",
                "hostNetwork=true",
                "k8s.network.exposed_outside_cluster",
                "node port 30080",
            ] {
                assert!(table.contains(expected), "{expected} missing from {table}");
            }
            // Its risk score: the privileged pod's findings count as privileges (the
            // server's risk job scores within seconds of the sync).
            wait_for("the pod's risk score", || async {
                c.refresh().await.unwrap();
                match c.find(Locator::Css("section.risk-panel")).await {
                    Ok(panel) => panel
                        .text()
                        .await
                        .is_ok_and(|t| t.contains("Privilege") && !t.contains("Not scored yet")),
                    Err(_) => false,
                }
            })
            .await;
            screenshot(&c, "kube-pod").await;

            // Who may do what: the RBAC tab lists the user and the binding.
            follow(&c, "RBAC").await;
            heading_is(&c, "RBAC: risky subjects").await;
            wait_for("the RBAC findings", || async {
                match c.find(Locator::Css("table.findings-table")).await {
                    Ok(t) => t.text().await.is_ok_and(|t| t.contains("alice@example.com")),
                    Err(_) => {
                        let _ = c.refresh().await;
                        false
                    }
                }
            })
            .await;
            let table = text_of(&c, "table.findings-table").await;
            for expected in [
                "k8s.rbac.pods_exec",
                "RoleBinding oncall-exec → Role exec",
            ] {
                assert!(table.contains(expected), "{expected} missing from {table}");
            }
            screenshot(&c, "kube-rbac").await;
        })
        .catch_unwind()
        .await;
    let errors = match outcome {
        Ok(()) => console_errors(&client).await,
        Err(_) => Vec::new(),
    };
    let _ = client.close().await;
    fake.go_away();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
