//! The Docker checks against real Docker API payloads (`tests/fixtures/docker-api`, see
//! PROVENANCE.md). Expected findings were read off the JSON by hand, field by field.

use bollard::models::{
    ContainerInspectResponse, ImageHistoryResponseItem, ImageInspect, SystemInfo,
};
use coastguard_core::docker::checks::{evaluate_container, evaluate_host, evaluate_image, Policy};
use coastguard_core::docker::normalize;
use coastguard_model::docker::{HostFacts, Transport};
use coastguard_model::Severity;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// This package's directory, read at run time: the build cache is shared between
/// checkouts, so a compile-time `env!("CARGO_MANIFEST_DIR")` could name another one.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test"))
}

fn fixture(path: &str) -> String {
    let p = manifest_dir().join("tests/fixtures/docker-api").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ids(found: &[coastguard_core::docker::checks::Detected]) -> BTreeSet<String> {
    found
        .iter()
        .map(|d| {
            if d.instance.is_empty() {
                d.check.id.to_string()
            } else {
                format!("{}[{}]", d.check.id, d.instance)
            }
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn portainer_with_the_docker_socket() {
    let inspect: ContainerInspectResponse =
        serde_json::from_str(&fixture("watchtower/container-inspect-running.json")).unwrap();
    let facts = normalize::container_facts(&inspect, None);
    assert_eq!(facts.name, "portainer");
    assert_eq!(facts.image_ref, "portainer/portainer:latest");
    assert!(facts.is_running());
    let found = evaluate_container(&facts, &HostFacts::default());
    assert_eq!(
        ids(&found),
        set(&[
            "container.runs_as_root",
            "container.capabilities_not_dropped",
            "container.rootfs_writable",
            "container.no_memory_limit",
            "container.no_cpu_limit",
            "container.no_pids_limit",
            "container.docker_socket[/var/run/docker.sock]",
            "container.new_privileges_allowed",
            "container.port_on_all_interfaces[9000 → 9000/tcp]",
            "container.default_bridge",
            "container.no_healthcheck",
            "container.restart_unbounded",
            "container.mutable_image_tag",
        ])
    );
    let socket = found
        .iter()
        .find(|d| d.check.id == "container.docker_socket")
        .unwrap();
    assert_eq!(socket.severity, Severity::Critical);
    assert_eq!(socket.check.cis, Some("5.32"));
}

#[test]
fn vpn_container_with_net_admin_and_many_empty_secret_variables() {
    let inspect: ContainerInspectResponse =
        serde_json::from_str(&fixture("watchtower/container-inspect-net-supplier.json")).unwrap();
    let facts = normalize::container_facts(&inspect, None);
    // OPENVPN_PASSWORD= and *_SECRETFILE=/run/secrets/... are not secrets.
    assert!(facts.secrets.is_empty(), "{:?}", facts.secrets);
    assert!(facts.env.contains(&"OPENVPN_PASSWORD".to_string()));
    let found = evaluate_container(&facts, &HostFacts::default());
    assert_eq!(
        ids(&found),
        set(&[
            "container.capability_added[NET_ADMIN]",
            "container.capabilities_not_dropped",
            "container.runs_as_root",
            "container.rootfs_writable",
            "container.no_memory_limit",
            "container.no_cpu_limit",
            "container.no_pids_limit",
            "container.new_privileges_allowed",
            "container.mutable_image_tag",
        ])
    );
    let cap = found
        .iter()
        .find(|d| d.check.id == "container.capability_added")
        .unwrap();
    assert_eq!(
        cap.severity,
        Severity::High,
        "NET_ADMIN is a dangerous capability"
    );
}

#[test]
fn documented_api_examples_parse_in_both_api_generations() {
    for path in [
        "moby-api-v1.41/container-inspect.json",
        "moby-api-v1.24/container-inspect.json",
    ] {
        let inspect: ContainerInspectResponse = serde_json::from_str(&fixture(path)).unwrap();
        let facts = normalize::container_facts(&inspect, None);
        assert_eq!(facts.name, "boring_euclid", "{path}");
        assert_eq!(facts.restart_policy.as_deref(), Some("on-failure"));
        assert_eq!(facts.restart_max_retries, Some(2));
        let found = ids(&evaluate_container(&facts, &HostFacts::default()));
        assert!(
            found.contains("container.default_bridge"),
            "{path}: {found:?}"
        );
        // on-failure:2 is bounded.
        assert!(!found.contains("container.restart_unbounded"), "{path}");
        // The /data mount is not a sensitive host path.
        assert!(
            !found
                .iter()
                .any(|f| f.starts_with("container.sensitive_mount")),
            "{path}"
        );
    }
}

#[test]
fn engines_from_docker_info() {
    let info: SystemInfo = serde_json::from_str(&fixture("docker-cli/info-no-swarm.json")).unwrap();
    let host = normalize::host_facts(&info, None, None, Transport::Unix);
    assert_eq!(host.seccomp_profile.as_deref(), Some("default"));
    assert!(host.apparmor);
    assert!(
        host.insecure_registries.is_empty(),
        "loopback is not reported"
    );
    assert_eq!(
        ids(&evaluate_host(&host)),
        set(&["host.userns_disabled", "host.live_restore_disabled"])
    );

    // The same engine reached over plain TCP.
    let tcp = normalize::host_facts(&info, None, Some(true), Transport::TcpPlain);
    assert_eq!(
        ids(&evaluate_host(&tcp)),
        set(&[
            "host.tcp_without_tls",
            "host.icc_enabled",
            "host.userns_disabled",
            "host.live_restore_disabled"
        ])
    );

    let badsec: SystemInfo = serde_json::from_str(&fixture("docker-cli/info-badsec.json")).unwrap();
    let host = normalize::host_facts(&badsec, None, None, Transport::Unix);
    assert!(ids(&evaluate_host(&host)).contains("host.seccomp_unavailable"));

    // API 1.24 lists security options without `name=`.
    let old: SystemInfo = serde_json::from_str(&fixture("moby-api-v1.24/info.json")).unwrap();
    let host = normalize::host_facts(&old, None, None, Transport::Unix);
    assert!(host.selinux && host.apparmor);
    assert_eq!(host.seccomp_profile.as_deref(), Some("default"));
    assert_eq!(
        ids(&evaluate_host(&host)),
        set(&["host.userns_disabled", "host.live_restore_disabled"])
    );
}

#[test]
fn images_from_inspect_and_history() {
    let inspect: ImageInspect =
        serde_json::from_str(&fixture("watchtower/image-inspect-running.json")).unwrap();
    let history: Vec<ImageHistoryResponseItem> =
        serde_json::from_str(&fixture("moby-api-v1.41/image-history.json")).unwrap();
    let image = normalize::image_facts(&inspect, &history);
    assert_eq!(image.repo_tags, ["containrrr/watchtower:latest"]);
    assert_eq!(image.created, Some(1_554_925_747)); // 2019-04-10T19:49:07Z
    assert_eq!(image.history.len(), 3);
    let now = 1_795_600_000; // 2026-11-25
    assert_eq!(
        ids(&evaluate_image(&image, &Policy::default(), now)),
        set(&["image.runs_as_root", "image.no_healthcheck", "image.stale"])
    );
    let strict = Policy {
        trusted_registries: vec!["ghcr.io".into()],
        ..Policy::default()
    };
    assert!(
        ids(&evaluate_image(&image, &strict, now)).contains("image.untrusted_registry[docker.io]")
    );
    let tiny = Policy {
        image_max_size_mb: 10,
        ..Policy::default()
    };
    assert!(
        ids(&evaluate_image(&image, &tiny, now)).contains("image.oversized"),
        "13 MB > 10 MB"
    );
}

#[test]
fn fixtures_are_unchanged_copies_of_the_shared_set() {
    let shared = manifest_dir().join("../../../shared/fixtures");
    if !shared.exists() {
        eprintln!("../shared/fixtures is not next to this checkout: nothing to compare");
        return;
    }
    let ours = manifest_dir().join("tests/fixtures");
    let mut compared = 0;
    for entry in walk(&ours.join("docker-api")) {
        let rel = entry.strip_prefix(&ours).unwrap();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(shared.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
        compared += 1;
    }
    assert!(compared >= 20);
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `docker run --privileged` is refused by this machine's kernel, so the privileged check
/// is tested on a real stored payload with the flag set, as an engine would report it.
#[test]
fn privileged_containers_are_critical() {
    let mut raw: serde_json::Value =
        serde_json::from_str(&fixture("watchtower/container-inspect-running.json")).unwrap();
    raw["HostConfig"]["Privileged"] = serde_json::Value::Bool(true);
    let inspect: ContainerInspectResponse = serde_json::from_value(raw).unwrap();
    let facts = normalize::container_facts(&inspect, None);
    assert!(facts.privileged);
    let found = evaluate_container(&facts, &HostFacts::default());
    let privileged = found
        .iter()
        .find(|d| d.check.id == "container.privileged")
        .expect("finding");
    assert_eq!(privileged.severity, Severity::Critical);
    assert_eq!(privileged.check.cis, Some("5.5"));
    // A privileged container has every capability: "not dropped" would be noise.
    assert!(!found
        .iter()
        .any(|d| d.check.id == "container.capabilities_not_dropped"));
}
