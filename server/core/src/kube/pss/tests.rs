//! Case by case, from the Pod Security Standards as Kubernetes publishes them
//! (kubernetes.io/docs/concepts/security/pod-security-standards, and the policy
//! versions at which each control changed in `k8s.io/pod-security-admission`).

use super::namespace::{self, LevelVersion};
use super::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A pod that passes restricted at every version: one container, everything set.
fn compliant() -> Value {
    json!({
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app",
                "image": "registry.example/app@sha256:1",
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}
                }
            }]
        }
    })
}

/// JSON merge patch (RFC 7396): objects merge, anything else replaces, null removes.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn pod(patch: Value) -> Value {
    let mut p = compliant();
    merge(&mut p, &patch);
    p
}

/// `compliant()` with the one container's security context patched.
fn container(patch: Value) -> Value {
    let mut c = compliant()["spec"]["containers"][0].clone();
    merge(&mut c, &patch);
    pod(json!({"spec": {"containers": [c]}}))
}

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

fn failing(p: &Value, level: Level, version: &str) -> Vec<&'static str> {
    evaluate(PodView::of(p), level, v(version))
        .into_iter()
        .map(|x| x.check)
        .collect()
}

use Level::{Baseline, Restricted};

#[test]
fn a_compliant_pod_passes_every_level_at_every_version() {
    let p = compliant();
    for minor in 0..=NEWEST + 3 {
        for level in Level::ALL {
            let version = Version::Minor(minor);
            assert!(
                evaluate(PodView::of(&p), level, version).is_empty(),
                "{level} {version}"
            );
        }
    }
    assert_eq!(highest_level(PodView::of(&p), Version::Latest), Restricted);
}

#[test]
fn a_bare_pod_fails_the_restricted_checks_that_exist_at_each_version() {
    let p = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
    assert!(failing(&p, Baseline, "latest").is_empty());
    assert_eq!(failing(&p, Restricted, "v1.0"), ["runAsNonRoot"]);
    assert_eq!(failing(&p, Restricted, "v1.7"), ["runAsNonRoot"]);
    assert_eq!(
        failing(&p, Restricted, "v1.8"),
        ["allowPrivilegeEscalation", "runAsNonRoot"]
    );
    assert_eq!(
        failing(&p, Restricted, "v1.19"),
        [
            "allowPrivilegeEscalation",
            "runAsNonRoot",
            "seccompProfile_restricted"
        ]
    );
    let all = [
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "runAsNonRoot",
        "seccompProfile_restricted",
    ];
    assert_eq!(failing(&p, Restricted, "v1.22"), all);
    assert_eq!(failing(&p, Restricted, "latest"), all);
    assert_eq!(highest_level(PodView::of(&p), Version::Latest), Baseline);
}

#[test]
fn privileged_host_namespaces_and_host_process_are_baseline_violations() {
    let p = container(json!({"securityContext": {"privileged": true}}));
    assert_eq!(failing(&p, Baseline, "v1.0"), ["privileged"]);
    let detail = &evaluate(PodView::of(&p), Baseline, Version::Latest)[0].detail;
    assert_eq!(
        detail,
        r#"container "app" must not set securityContext.privileged=true"#
    );
    assert_eq!(
        highest_level(PodView::of(&p), Version::Latest),
        Level::Privileged
    );

    let p = pod(json!({"spec": {"hostNetwork": true, "hostIPC": true, "hostPID": false}}));
    let found = evaluate(PodView::of(&p), Baseline, Version::Latest);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].check, "hostNamespaces");
    assert_eq!(found[0].detail, "hostNetwork=true, hostIPC=true");

    let p = pod(json!({"spec": {"securityContext": {"windowsOptions": {"hostProcess": true}}}}));
    assert_eq!(failing(&p, Baseline, "latest"), ["windowsHostProcess"]);
    assert_eq!(
        evaluate(PodView::of(&p), Baseline, Version::Latest)[0].detail,
        "pod must not set securityContext.windowsOptions.hostProcess=true"
    );
}

#[test]
fn init_and_ephemeral_containers_are_judged_too() {
    let p = pod(json!({"spec": {
        "initContainers": [{"name": "init", "securityContext": {"privileged": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
        "ephemeralContainers": [{"name": "debug", "securityContext": {"privileged": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
    }}));
    let found = evaluate(PodView::of(&p), Baseline, Version::Latest);
    assert_eq!(
        found[0].detail,
        r#"containers "init", "debug" must not set securityContext.privileged=true"#
    );
}

#[test]
fn host_paths_are_baseline_and_restricted_replaces_them_with_volume_types() {
    let p = pod(json!({"spec": {"volumes": [
        {"name": "root", "hostPath": {"path": "/"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "share", "nfs": {"server": "nfs", "path": "/x"}},
        {"name": "odd", "somethingNew": {}},
        {"name": "img", "image": {"reference": "x"}}
    ]}}));
    assert_eq!(failing(&p, Baseline, "latest"), ["hostPathVolumes"]);
    assert_eq!(
        evaluate(PodView::of(&p), Baseline, Version::Latest)[0].detail,
        r#"volume "root""#
    );
    let found = evaluate(PodView::of(&p), Restricted, Version::Latest);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].check, "restrictedVolumes");
    assert_eq!(
        found[0].detail,
        r#"volumes "root", "share", "odd" use restricted volume types "hostPath", "nfs", "unknown""#
    );
}

#[test]
fn host_ports_are_listed_sorted_as_the_plugin_sorts_them() {
    let p = pod(json!({"spec": {"containers": [
        {"name": "a", "ports": [{"containerPort": 80}]},
        {"name": "b", "ports": [{"containerPort": 1, "hostPort": 20}, {"containerPort": 2, "hostPort": 10}]},
        {"name": "c", "ports": [{"containerPort": 3, "hostPort": 30}]}
    ]}}));
    let found = evaluate(PodView::of(&p), Baseline, Version::Latest);
    assert_eq!(found[0].check, "hostPorts");
    assert_eq!(found[0].reason, "hostPort");
    assert_eq!(
        found[0].detail,
        r#"containers "b", "c" use hostPorts 10, 20, 30"#
    );
}

#[test]
fn capabilities_baseline_gives_way_to_capabilities_restricted_from_v1_22() {
    let p = container(
        json!({"securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_CHROOT"]}}}),
    );
    assert_eq!(failing(&p, Baseline, "latest"), ["capabilities_baseline"]);
    assert_eq!(
        evaluate(PodView::of(&p), Baseline, Version::Latest)[0].detail,
        r#"container "app" must not include "NET_ADMIN" in securityContext.capabilities.add"#
    );
    // Before capabilities_restricted exists, restricted keeps the baseline check.
    assert_eq!(failing(&p, Restricted, "v1.21"), ["capabilities_baseline"]);
    assert_eq!(
        failing(&p, Restricted, "v1.22"),
        ["capabilities_restricted"]
    );
    let found = evaluate(PodView::of(&p), Restricted, Version::Latest);
    assert_eq!(
        found[0].detail,
        r#"container "app" must not include "NET_ADMIN", "SYS_CHROOT" in securityContext.capabilities.add"#
    );

    // A default capability is fine for baseline, not for restricted; NET_BIND_SERVICE is.
    let p = container(json!({"securityContext": {"capabilities": {"add": ["SYS_CHROOT"]}}}));
    assert!(failing(&p, Baseline, "latest").is_empty());
    assert_eq!(
        failing(&p, Restricted, "latest"),
        ["capabilities_restricted"]
    );
    let p = container(json!({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}));
    assert!(failing(&p, Restricted, "latest").is_empty());

    // Dropping something other than ALL is not enough.
    let p = container(json!({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}));
    assert_eq!(
        evaluate(PodView::of(&p), Restricted, Version::Latest)[0].detail,
        r#"container "app" must set securityContext.capabilities.drop=["ALL"]"#
    );
}

#[test]
fn app_armor_profiles_fields_and_annotations() {
    let p = pod(json!({"spec": {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}}));
    let found = evaluate(PodView::of(&p), Baseline, v("v1.0"));
    assert_eq!(found[0].check, "appArmorProfile");
    assert_eq!(found[0].reason, "forbidden AppArmor profile");
    assert_eq!(
        found[0].detail,
        r#"pod must not set AppArmor profile type to "Unconfined""#
    );

    let p = pod(json!({"metadata": {"annotations": {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/b": "localhost/mine",
        "container.apparmor.security.beta.kubernetes.io/c": "runtime/default"
    }}}));
    let found = evaluate(PodView::of(&p), Baseline, Version::Latest);
    assert_eq!(
        found[0].detail,
        r#"annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/app="unconfined"""#
    );
    let p = container(
        json!({"securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "x"}}}),
    );
    assert!(failing(&p, Restricted, "latest").is_empty());
}

#[test]
fn se_linux_types_grow_at_v1_31_and_user_or_role_are_never_allowed() {
    let p =
        container(json!({"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}));
    assert_eq!(failing(&p, Baseline, "v1.30"), ["seLinuxOptions"]);
    assert!(failing(&p, Baseline, "v1.31").is_empty());
    let p = pod(
        json!({"spec": {"securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "root"}}}}),
    );
    assert_eq!(
        evaluate(PodView::of(&p), Baseline, Version::Latest)[0].detail,
        r#"pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set"#
    );
    let p = container(json!({"securityContext": {"seLinuxOptions": {"level": "s0:c123,c456"}}}));
    assert!(failing(&p, Restricted, "latest").is_empty());
}

#[test]
fn proc_mount_is_relaxed_for_user_namespaces_in_baseline_only_from_v1_35() {
    let unmasked = container(json!({"securityContext": {"procMount": "Unmasked"}}));
    assert_eq!(failing(&unmasked, Baseline, "v1.35"), ["procMount"]);
    let mut in_userns = unmasked.clone();
    merge(&mut in_userns, &json!({"spec": {"hostUsers": false}}));
    assert_eq!(failing(&in_userns, Baseline, "v1.34"), ["procMount"]);
    assert!(failing(&in_userns, Baseline, "v1.35").is_empty());
    // Restricted keeps the unconditional check under its own id from v1.35.
    assert_eq!(failing(&in_userns, Restricted, "v1.34"), ["procMount"]);
    assert_eq!(
        failing(&in_userns, Restricted, "v1.35"),
        ["procMount_restricted"]
    );
    assert_eq!(
        evaluate(PodView::of(&in_userns), Restricted, Version::Latest)[0].detail,
        r#"container "app" must not set securityContext.procMount to "Unmasked""#
    );
    let default = container(json!({"securityContext": {"procMount": "Default"}}));
    assert!(failing(&default, Restricted, "latest").is_empty());
}

#[test]
fn seccomp_moves_from_annotations_to_the_field_at_v1_19() {
    let field =
        pod(json!({"spec": {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}}));
    assert!(failing(&field, Baseline, "v1.18").is_empty());
    assert_eq!(
        failing(&field, Baseline, "v1.19"),
        ["seccompProfile_baseline"]
    );
    assert_eq!(
        failing(&field, Restricted, "latest"),
        ["seccompProfile_restricted"]
    );
    assert_eq!(
        evaluate(PodView::of(&field), Restricted, Version::Latest)[0].detail,
        r#"pod must not set securityContext.seccompProfile.type to "Unconfined""#
    );

    let annotated = pod(json!({"metadata": {"annotations": {
        "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
        "container.seccomp.security.alpha.kubernetes.io/app": "docker/default"
    }}}));
    assert_eq!(
        failing(&annotated, Baseline, "v1.18"),
        ["seccompProfile_baseline"]
    );
    assert_eq!(
        evaluate(PodView::of(&annotated), Baseline, v("v1.0"))[0].detail,
        r#"forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined""#
    );
    assert!(failing(&annotated, Baseline, "v1.19").is_empty());

    // Restricted: each container needs a valid profile unless the pod sets one.
    let p = json!({"spec": {
        "securityContext": {"runAsNonRoot": true},
        "containers": [
            {"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}},
            {"name": "b", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}
        ]
    }});
    let found = evaluate(PodView::of(&p), Restricted, Version::Latest);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].detail,
        r#"pod or container "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#
    );
}

#[test]
fn the_safe_sysctls_grow_with_the_policy_version() {
    let with = |name: &str| {
        pod(json!({"spec": {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}}))
    };
    let cases = [
        ("net.ipv4.ip_unprivileged_port_start", "v1.0", "v1.0"),
        ("net.ipv4.ip_local_reserved_ports", "v1.26", "v1.27"),
        ("net.ipv4.tcp_keepalive_time", "v1.28", "v1.29"),
        ("net.ipv4.tcp_rmem", "v1.31", "v1.32"),
        ("net.ipv4.tcp_notsent_lowat", "v1.36", "v1.37"),
    ];
    for (name, denied_at, allowed_from) in cases {
        let p = with(name);
        if denied_at != allowed_from {
            assert_eq!(failing(&p, Baseline, denied_at), ["sysctls"], "{name}");
        }
        assert!(failing(&p, Baseline, allowed_from).is_empty(), "{name}");
        assert!(failing(&p, Restricted, "latest").is_empty(), "{name}");
    }
    let p = pod(json!({"spec": {"securityContext": {"sysctls": [
        {"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_syncookies", "value": "1"}, {"name": "vm.swappiness", "value": "1"}
    ]}}}));
    let found = evaluate(PodView::of(&p), Baseline, Version::Latest);
    assert_eq!(found[0].reason, "forbidden sysctls");
    assert_eq!(found[0].detail, "kernel.msgmax, vm.swappiness");
}

#[test]
fn probe_and_lifecycle_hosts_are_refused_from_v1_34() {
    let p = container(json!({
        "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
        "lifecycle": {"preStop": {"tcpSocket": {"host": "metadata.internal", "port": 80}}},
        "readinessProbe": {"httpGet": {"port": 80}}
    }));
    assert!(failing(&p, Baseline, "v1.33").is_empty());
    let found = evaluate(PodView::of(&p), Baseline, v("v1.34"));
    assert_eq!(found[0].check, "hostProbesAndHostLifecycle");
    assert_eq!(
        found[0].detail,
        r#"container "app" uses probe or lifecycle hosts "10.0.0.1", "metadata.internal""#
    );
}

#[test]
fn windows_pods_are_exempt_from_linux_only_restricted_checks_from_v1_25() {
    let p = json!({"spec": {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "win"}]
    }});
    assert_eq!(
        failing(&p, Restricted, "v1.24"),
        [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "seccompProfile_restricted"
        ]
    );
    assert!(failing(&p, Restricted, "v1.25").is_empty());
}

#[test]
fn user_namespace_pods_may_run_as_root_from_v1_35() {
    let p = json!({"spec": {
        "hostUsers": false,
        "securityContext": {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
    }});
    assert_eq!(
        failing(&p, Restricted, "v1.34"),
        ["runAsNonRoot", "runAsUser"]
    );
    assert!(failing(&p, Restricted, "v1.35").is_empty());
}

#[test]
fn run_as_user_zero_is_refused_from_v1_23() {
    let p = container(json!({"securityContext": {"runAsUser": 0}}));
    assert!(failing(&p, Restricted, "v1.22").is_empty());
    assert_eq!(failing(&p, Restricted, "v1.23"), ["runAsUser"]);
    assert_eq!(
        evaluate(PodView::of(&p), Restricted, Version::Latest)[0].detail,
        r#"container "app" must not set runAsUser=0"#
    );
}

#[test]
fn run_as_non_root_explicit_false_wins_over_a_pod_true() {
    let p = pod(json!({"spec": {"containers": [
        {"name": "c", "securityContext": {"runAsNonRoot": false, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}},
        {"name": "d", "securityContext": {"runAsNonRoot": false, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}
    ]}}));
    let found = evaluate(PodView::of(&p), Restricted, Version::Latest);
    assert_eq!(
        found[0].detail,
        r#"containers "c", "d" must not set securityContext.runAsNonRoot=false"#
    );
}

#[test]
fn values_of_the_wrong_type_never_pass_a_check_that_needs_them_set() {
    let p = container(json!({"securityContext": {"allowPrivilegeEscalation": "false"}}));
    assert_eq!(
        failing(&p, Restricted, "latest"),
        ["allowPrivilegeEscalation"]
    );
}

#[test]
fn versions_parse_as_the_labels_require_and_newer_ones_judge_as_the_newest() {
    assert_eq!(v("latest"), Version::Latest);
    assert_eq!(v("v1.0"), Version::Minor(0));
    assert_eq!(v("v1.35"), Version::Minor(35));
    for bad in ["v1.01", "v2.0", "1.25", "v1.", "v1.x", ""] {
        assert!(bad.parse::<Version>().is_err(), "{bad}");
    }
    let p = pod(
        json!({"spec": {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]}}}),
    );
    assert!(failing(&p, Baseline, "v1.99").is_empty());
    assert_eq!(Version::Minor(99).effective(), NEWEST);
}

#[test]
fn the_message_joins_reasons_and_details_as_the_plugin_does() {
    let p = pod(
        json!({"spec": {"hostPID": true, "containers": [{"name": "x", "securityContext": {"privileged": true}}]}}),
    );
    assert_eq!(
        message(&evaluate(PodView::of(&p), Baseline, Version::Latest)),
        r#"host namespaces (hostPID=true), privileged (container "x" must not set securityContext.privileged=true)"#
    );
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn namespace_labels_resolve_as_the_admission_plugin_resolves_them() {
    let lv = |level, version| LevelVersion { level, version };
    let (p, errors) = namespace::policy(&BTreeMap::new());
    assert!(errors.is_empty());
    assert_eq!(p.enforce, LevelVersion::PRIVILEGED);

    // Warn follows a stricter enforce, version included.
    let (p, _) = namespace::policy(&labels(&[
        (namespace::ENFORCE, "restricted"),
        ("pod-security.kubernetes.io/enforce-version", "v1.24"),
    ]));
    assert_eq!(p.enforce, lv(Restricted, Version::Minor(24)));
    assert_eq!(p.warn, lv(Restricted, Version::Minor(24)));
    assert_eq!(p.audit, LevelVersion::PRIVILEGED);

    // …unless warn is set itself.
    let (p, _) = namespace::policy(&labels(&[
        (namespace::ENFORCE, "baseline"),
        (namespace::WARN, "privileged"),
    ]));
    assert_eq!(p.warn.level, Level::Privileged);

    // A bad enforce level fails closed; bad audit and warn levels fail open.
    let (p, errors) = namespace::policy(&labels(&[
        (namespace::ENFORCE, "strict"),
        (namespace::AUDIT, "loud"),
        ("pod-security.kubernetes.io/warn-version", "1.30"),
    ]));
    assert_eq!(p.enforce.level, Restricted);
    assert_eq!(p.audit.level, Level::Privileged);
    assert_eq!(p.warn, LevelVersion::PRIVILEGED);
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0].label, namespace::ENFORCE);
}

#[test]
fn every_listed_check_id_exists_once() {
    let ids: Vec<_> = check_ids().map(|(id, _)| id).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len());
    assert_eq!(ids.len(), 19);
    for id in [
        "privileged",
        "hostNamespaces",
        "hostPathVolumes",
        "hostPorts",
        "capabilities_baseline",
        "appArmorProfile",
        "seLinuxOptions",
        "procMount",
        "seccompProfile_baseline",
        "sysctls",
        "windowsHostProcess",
        "hostProbesAndHostLifecycle",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "runAsUser",
        "seccompProfile_restricted",
        "capabilities_restricted",
        "restrictedVolumes",
        "procMount_restricted",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
}

mod manifests {
    use super::super::manifest::{documents, pods};

    #[test]
    fn documents_lists_and_workload_templates_yield_their_pods() {
        let text = r#"
# leading comment
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: a}]}}
  - {apiVersion: v1, kind: Pod, metadata: {generateName: b-}, spec: {containers: [{name: b}]}}
---
{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
 "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job"}]}}}}}}
...
"#;
        let docs = documents(text);
        assert_eq!(docs.len(), 4);
        let mut found = Vec::new();
        for doc in &docs {
            let (n, value) = doc.as_ref().unwrap();
            for p in pods(*n, value).unwrap() {
                found.push((
                    p.document,
                    p.kind.clone(),
                    p.name.clone(),
                    p.pod.spec["containers"][0]["name"].clone(),
                ));
            }
        }
        let names: Vec<_> = found
            .iter()
            .map(|f| (f.0, f.1.as_str(), f.2.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (1, "Deployment", "web"),
                (3, "Pod", "a"),
                (3, "Pod", "b-"),
                (4, "CronJob", "nightly")
            ]
        );
        assert_eq!(found[0].3, "web");
        assert_eq!(found[3].3, "job");
    }

    #[test]
    fn unreadable_documents_are_numbered() {
        let text = "---\nkind: Pod\nspec: {containers: []}\n---\nkind: [unclosed\n---\n- 1\n- 2\n---\nmetadata: {name: x}\n";
        let docs = documents(text);
        assert!(docs[0].is_ok());
        let bad = docs[1].as_ref().unwrap_err();
        assert_eq!(bad.document, 2);
        assert!(bad.message.contains("line 4"), "{}", bad.message);
        let (n, value) = docs[2].as_ref().unwrap();
        assert_eq!(pods(*n, value).unwrap_err().message, "is not an object");
        let (n, value) = docs[3].as_ref().unwrap();
        let e = pods(*n, value).unwrap_err();
        assert_eq!((e.document, e.message.as_str()), (4, "has no kind"));
    }

    #[test]
    fn a_workload_without_a_template_is_unreadable() {
        let docs = documents("kind: Deployment\nmetadata: {name: broken}\nspec: {}\n");
        let (n, value) = docs[0].as_ref().unwrap();
        assert_eq!(
            pods(*n, value).unwrap_err().message,
            r#"Deployment "broken" has no pod template"#
        );
    }
}
