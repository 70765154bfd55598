//! The `coastguard` binary: subcommands, and clear failures for bad configuration.

use coastguard_core::testing;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn coastguard(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coastguard"));
    cmd.args(args)
        .env_remove("COASTGUARD_DATABASE_URL")
        .env_remove("COASTGUARD_TEST_POSTGRES_URL")
        .env_remove("COASTGUARD_TEST_SKIP_POSTGRES")
        .env("COASTGUARD_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn unreachable_database_fails_with_one_redacted_line() {
    let out = coastguard(
        &[
            "migrate",
            "--database-url",
            "postgres://cg:hunter2@127.0.0.1:1/coastguard",
        ],
        &[],
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgres://cg:***@127.0.0.1:1/coastguard"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn malformed_settings_name_their_key() {
    let out = coastguard(&["migrate"], &[("COASTGUARD_LISTEN", "everywhere")], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`listen`") && stderr.contains("COASTGUARD_LISTEN"),
        "{stderr}"
    );

    let out = coastguard(&["migrate", "--session-idle-minutes=-5"], &[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`session_idle_minutes`"));
}

#[tokio::test]
async fn user_add_and_token_create_work_against_the_configured_database() {
    for db in testing::backends().await {
        let url = db.url.clone();
        let env = [("COASTGUARD_DATABASE_URL", url.as_str())];
        let out = coastguard(
            &["user", "add", "--name", "Kim", "--role", "analyst"],
            &env,
            Some("a long passphrase\n"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kim = db
            .store
            .user_by_name("kim")
            .await
            .unwrap()
            .expect("user created");
        assert_eq!(kim.role, coastguard_model::Role::Analyst);
        assert!(
            coastguard_core::auth::password::verify(
                "a long passphrase".into(),
                Some(kim.password_hash)
            )
            .await
        );

        let out = coastguard(&["user", "add", "--name", "lee"], &env, Some("short\n"));
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));

        let out = coastguard(
            &["token", "create", "--name", "ci", "--role", "viewer"],
            &env,
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(
            coastguard_core::auth::token::looks_valid(&secret),
            "{secret}"
        );
        let row = db
            .store
            .token_by_hash(&coastguard_core::auth::token::hash(&secret))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.role, coastguard_model::Role::Viewer);

        let audit = db.store.list_audit(None, 10).await.unwrap().items;
        assert_eq!(audit[0].action, "token.create");
        assert_eq!(audit[0].actor_kind, "cli");
        assert_eq!(audit[1].action, "user.create");
    }
}

#[test]
fn bad_role_is_refused_by_the_parser() {
    let out = coastguard(
        &["token", "create", "--name", "x", "--role", "root"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role 'root'"));
}

#[tokio::test]
async fn ingest_prints_one_json_object_per_file() {
    for db in testing::backends().await {
        let base = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        let trivy = format!("{base}/core/tests/fixtures/scans/trivy/alpine-3.10.json");
        let grype = format!("{base}/core/tests/fixtures/scans/grype/busybox-no-vulns-v0.7.json");
        let env = [("COASTGUARD_DATABASE_URL", db.url.as_str())];
        let out = coastguard(&["ingest", "--json", &trivy, &grype], &env, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["format"], "trivy");
        assert_eq!(lines[0]["file"], trivy);
        assert!(lines[0]["created"].as_u64().unwrap() > 0);
        assert!(lines[0]["by_severity"]["medium"].is_number());
        assert_eq!(
            lines[0]["image"]["digest"],
            "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"
        );
        assert_eq!(lines[1]["format"], "grype");
        assert_eq!(lines[1]["findings"], 0);

        let bad = std::env::temp_dir().join(format!("cg-bad-{}.json", std::process::id()));
        std::fs::write(&bad, "{\"matches\": [").unwrap();
        let out = coastguard(&["ingest", bad.to_str().unwrap()], &env, None);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("line 1, column 13"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_file(bad);
    }
}

fn fixture(path: &str) -> String {
    let base = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    format!("{base}/core/tests/fixtures/{path}")
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn check_pod_judges_a_real_kube_system_pod_list_at_baseline() {
    let file = fixture("k8s-api/k8s-openapi-replays/v1.36-pod-list.json");
    let out = coastguard(&["check-pod", "--level", "baseline", &file], &[], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);

    // What the fixture says, read here without the evaluator: host networking,
    // host paths and privileged containers each deny baseline.
    let list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(lines.len(), items.len());
    for (line, item) in lines.iter().zip(items) {
        let spec = &item["spec"];
        assert_eq!(line["name"], item["metadata"]["name"]);
        assert_eq!(line["kind"], "Pod");
        assert_eq!(line["document"], 1);
        assert_eq!(line["level"], "baseline");
        assert_eq!(line["version"], "latest");
        let ids: Vec<&str> = line["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["check"].as_str().unwrap())
            .collect();
        let host_network = spec["hostNetwork"] == true;
        let host_path = spec["volumes"]
            .as_array()
            .is_some_and(|vs| vs.iter().any(|v| v.get("hostPath").is_some()));
        let privileged = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["securityContext"]["privileged"] == true);
        assert_eq!(ids.contains(&"hostNamespaces"), host_network, "{line}");
        assert_eq!(ids.contains(&"hostPathVolumes"), host_path, "{line}");
        assert_eq!(ids.contains(&"privileged"), privileged, "{line}");
        assert_eq!(line["allowed"], ids.is_empty());
    }
    // CoreDNS drops ALL and adds only NET_BIND_SERVICE: baseline allows it. kindnet
    // adds NET_RAW and NET_ADMIN: baseline does not.
    let by_name = |prefix: &str| {
        lines
            .iter()
            .find(|l| l["name"].as_str().unwrap().starts_with(prefix))
            .unwrap()
    };
    assert_eq!(by_name("coredns")["allowed"], true);
    let kindnet = &by_name("kindnet")["violations"];
    let caps = kindnet
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "capabilities_baseline")
        .unwrap();
    assert_eq!(
        caps["detail"],
        r#"container "kindnet-cni" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add"#
    );
}

#[test]
fn check_pod_reads_workloads_from_stdin_and_passes_a_restricted_deployment() {
    let manifest = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          image: registry.example/web@sha256:abc
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
"#;
    let out = coastguard(
        &["check-pod", "--level", "restricted", "-"],
        &[],
        Some(manifest),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["file"], "-");
    assert_eq!(lines[0]["kind"], "Deployment");
    assert_eq!(lines[0]["name"], "web");
    assert_eq!(lines[0]["allowed"], true);
    assert_eq!(lines[0]["violations"], serde_json::json!([]));

    // The same Deployment at v1.22 without seccomp: denied, with the check id.
    let weaker = manifest.replace(", seccompProfile: {type: RuntimeDefault}", "");
    let out = coastguard(
        &[
            "check-pod",
            "--level",
            "restricted",
            "--version",
            "v1.22",
            "-",
        ],
        &[],
        Some(&weaker),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["version"], "v1.22");
    assert_eq!(
        lines[0]["violations"][0]["check"],
        "seccompProfile_restricted"
    );
}

#[test]
fn check_pod_names_the_file_and_document_it_cannot_read_and_judges_the_rest() {
    let dir = std::env::temp_dir().join(format!("cg-check-pod-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "kind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: a}]}\n---\nkind: Pod\nspec: [unclosed\n",
    )
    .unwrap();
    let missing = dir.join("missing.yaml");
    let out = coastguard(
        &[
            "check-pod",
            "--level",
            "baseline",
            bad.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}: document 2:", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("missing.yaml"), "{stderr}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["name"], "ok");
    std::fs::remove_dir_all(&dir).unwrap();

    let out = coastguard(
        &["check-pod", "--level", "baseline", "--version", "v2.0", "-"],
        &[],
        Some(""),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"must be "latest" or "v1.x""#));
}
