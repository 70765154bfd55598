//! Workload hygiene, read from a raw pod spec (a pod's, or a workload's template): a
//! memory limit and resource requests, images pinned by digest, a pull policy that
//! fetches a mutable tag again, liveness and readiness probes, and images from registries
//! outside the image policy's trusted list (the list Docker images are held to). One
//! finding per container
//! and check (the container's name is the instance). Limits, requests and probes are
//! asked of long-running containers only: init containers run to completion, ephemeral
//! ones are debugging aids, and a Job's pods end.

use crate::docker::checks::registry_of;
use serde_json::Value;

/// A check: id, severity, title, remediation.
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub remediation: &'static str,
}

pub const NO_MEMORY_LIMIT: Check = Check {
    id: "k8s.hygiene.no_memory_limit",
    title: "Container without a memory limit",
    remediation: "Set resources.limits.memory, so that one container cannot take the node's memory from the others.",
};
pub const NO_REQUESTS: Check = Check {
    id: "k8s.hygiene.no_requests",
    title: "Container without resource requests",
    remediation: "Set resources.requests.cpu and .memory, so that the scheduler places the pod where it fits and evicts it last.",
};
pub const MUTABLE_TAG: Check = Check {
    id: "k8s.hygiene.mutable_tag",
    title: "Image referenced by a mutable tag",
    remediation: "Reference the image by digest (repo@sha256:…), so that every node runs the image that was reviewed and scanned.",
};
pub const PULL_POLICY: Check = Check {
    id: "k8s.hygiene.pull_policy",
    title: "Mutable tag not pulled again",
    remediation: "Reference the image by digest, or set imagePullPolicy: Always, so that nodes do not run a stale image under the tag.",
};
pub const NO_LIVENESS: Check = Check {
    id: "k8s.hygiene.no_liveness_probe",
    title: "Container without a liveness probe",
    remediation: "Add a livenessProbe, so that a hung process is restarted.",
};
pub const NO_READINESS: Check = Check {
    id: "k8s.hygiene.no_readiness_probe",
    title: "Container without a readiness probe",
    remediation:
        "Add a readinessProbe, so that traffic reaches the container only when it can serve it.",
};

pub const UNTRUSTED_REGISTRY: Check = Check {
    id: "k8s.hygiene.untrusted_registry",
    title: "Image from a registry outside the trusted list",
    remediation: "Run images from the registries in Settings → image policy (mirror the image there), or add the registry to the list once it is trusted.",
};

pub const DEFAULT_NAMESPACE: Check = Check {
    id: "k8s.hygiene.default_namespace",
    title: "Workload in the default namespace",
    remediation: "Run it in a namespace of its own, where its policies (Pod Security labels, NetworkPolicies, RBAC) can be set for it alone.",
};

pub const DEFAULT_ACCOUNT: Check = Check {
    id: "k8s.hygiene.default_service_account",
    title: "Workload on the default service account",
    remediation: "Give it a service account of its own (serviceAccountName), so that what RBAC grants it is granted to it alone, not to every pod of the namespace.",
};

pub const ALL: [&Check; 9] = [
    &NO_MEMORY_LIMIT,
    &NO_REQUESTS,
    &MUTABLE_TAG,
    &PULL_POLICY,
    &NO_LIVENESS,
    &NO_READINESS,
    &UNTRUSTED_REGISTRY,
    &DEFAULT_NAMESPACE,
    &DEFAULT_ACCOUNT,
];

/// Where a pod (or template) runs: the `default` namespace, the `default` service account
/// (an unset `serviceAccountName` is the default one). Not per container: the instance
/// is empty.
pub fn placement(namespace: &str, spec: &Value) -> Vec<Found> {
    let mut found = Vec::new();
    if namespace == "default" {
        found.push(Found {
            check: &DEFAULT_NAMESPACE,
            severity: "low",
            instance: String::new(),
            evidence: "namespace default".to_string(),
        });
    }
    let account = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .unwrap_or("default");
    if account == "default" {
        found.push(Found {
            check: &DEFAULT_ACCOUNT,
            severity: "low",
            instance: String::new(),
            evidence: format!("service account {namespace}/default"),
        });
    }
    found
}

/// One hygiene finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub check: &'static Check,
    pub severity: &'static str,
    /// The container's name.
    pub instance: String,
    pub evidence: String,
}

impl PartialEq for Check {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Check {}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// The tag of `repo:tag` (a registry's port is not a tag); none when pinned by digest.
fn tag_of(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag)
}

fn pinned(image: &str) -> bool {
    image.contains("@sha256:")
}

/// The findings of a pod spec; `batch`: the pod runs to completion (a Job's, a CronJob's).
/// `trusted`: the image policy's trusted registries (the same list Docker images are held
/// to; empty means every registry is allowed).
pub fn check(spec: &Value, batch: bool, trusted: &[String]) -> Vec<Found> {
    let mut found = Vec::new();
    let mut add = |check: &'static Check, severity: &'static str, name: &str, evidence: String| {
        found.push(Found {
            check,
            severity,
            instance: name.to_string(),
            evidence,
        })
    };
    for (key, long_running) in [
        ("initContainers", false),
        ("containers", !batch),
        ("ephemeralContainers", false),
    ] {
        for c in spec
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let image = c.get("image").and_then(Value::as_str).unwrap_or("");
            if !image.is_empty() && !trusted.is_empty() {
                let registry = registry_of(image);
                if !coastguard_model::docker::registry_trusted(trusted, &registry) {
                    add(
                        &UNTRUSTED_REGISTRY,
                        "medium",
                        name,
                        format!("container \"{name}\" runs {image} from {registry}"),
                    );
                }
            }
            if key != "ephemeralContainers" && !image.is_empty() && !pinned(image) {
                let tag = tag_of(image);
                let latest = tag.is_none() || tag == Some("latest");
                add(
                    &MUTABLE_TAG,
                    if latest { "medium" } else { "low" },
                    name,
                    format!(
                        "container \"{name}\" runs {image} ({})",
                        tag.map_or("no tag: latest".to_string(), |t| format!("tag {t}"))
                    ),
                );
                // Kubernetes' default: Always for latest or no tag, else IfNotPresent.
                let policy = c
                    .get("imagePullPolicy")
                    .and_then(Value::as_str)
                    .unwrap_or(if latest { "Always" } else { "IfNotPresent" });
                if policy != "Always" {
                    add(
                        &PULL_POLICY,
                        "low",
                        name,
                        format!("container \"{name}\" pulls {image} with imagePullPolicy {policy}"),
                    );
                }
            }
            if !long_running {
                continue;
            }
            let resources = c.get("resources");
            let has = |section: &str, what: &str| {
                resources
                    .and_then(|r| r.get(section))
                    .and_then(|s| s.get(what))
                    .is_some_and(|v| !v.is_null())
            };
            if !has("limits", "memory") {
                add(
                    &NO_MEMORY_LIMIT,
                    "medium",
                    name,
                    format!("container \"{name}\" sets no resources.limits.memory"),
                );
            }
            // Kubernetes takes a limit as the request when no request is given.
            let requests = (has("requests", "cpu") || has("limits", "cpu"))
                && (has("requests", "memory") || has("limits", "memory"));
            if !requests {
                add(
                    &NO_REQUESTS,
                    "low",
                    name,
                    format!("container \"{name}\" requests no cpu or memory"),
                );
            }
            for (probe, check) in [
                ("livenessProbe", &NO_LIVENESS),
                ("readinessProbe", &NO_READINESS),
            ] {
                if c.get(probe).is_none_or(Value::is_null) {
                    add(
                        check,
                        "low",
                        name,
                        format!("container \"{name}\" has no {probe}"),
                    );
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(found: &[Found]) -> Vec<(String, &str, &str)> {
        found
            .iter()
            .map(|f| (f.instance.clone(), f.check.id, f.severity))
            .collect()
    }

    #[test]
    fn a_well_kept_container_has_no_findings() {
        let spec = json!({"containers": [{
            "name": "web", "image": "registry.example/web@sha256:abc",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"port": 80}}, "readinessProbe": {"httpGet": {"port": 80}}
        }]});
        assert!(check(&spec, false, &[]).is_empty());
    }

    #[test]
    fn a_bare_container_has_each_finding_once() {
        let spec = json!({"containers": [{"name": "web", "image": "nginx"}]});
        assert_eq!(
            ids(&check(&spec, false, &[])),
            [
                ("web".to_string(), "k8s.hygiene.mutable_tag", "medium"),
                ("web".to_string(), "k8s.hygiene.no_memory_limit", "medium"),
                ("web".to_string(), "k8s.hygiene.no_requests", "low"),
                ("web".to_string(), "k8s.hygiene.no_liveness_probe", "low"),
                ("web".to_string(), "k8s.hygiene.no_readiness_probe", "low"),
            ]
        );
    }

    #[test]
    fn pull_policy_matters_only_for_mutable_tags_not_pulled_again() {
        let with = |image: &str, policy: Option<&str>| {
            let mut c = json!({"name": "c", "image": image});
            if let Some(p) = policy {
                c["imagePullPolicy"] = json!(p);
            }
            check(&json!({"initContainers": [c]}), false, &[])
                .into_iter()
                .map(|f| (f.check.id, f.severity))
                .collect::<Vec<_>>()
        };
        // latest is pulled again by default; a version tag is not.
        assert_eq!(
            with("nginx:latest", None),
            [("k8s.hygiene.mutable_tag", "medium")]
        );
        assert_eq!(
            with("nginx:1.25", None),
            [
                ("k8s.hygiene.mutable_tag", "low"),
                ("k8s.hygiene.pull_policy", "low")
            ]
        );
        assert_eq!(
            with("nginx:1.25", Some("Always")),
            [("k8s.hygiene.mutable_tag", "low")]
        );
        assert_eq!(
            with("registry.local:5000/app", Some("IfNotPresent")),
            [
                ("k8s.hygiene.mutable_tag", "medium"),
                ("k8s.hygiene.pull_policy", "low")
            ]
        );
        assert!(with("app@sha256:abc", Some("Never")).is_empty());
    }

    #[test]
    fn jobs_init_and_ephemeral_containers_need_no_probes_or_limits() {
        let spec = json!({
            "initContainers": [{"name": "init", "image": "busybox@sha256:1"}],
            "containers": [{"name": "job", "image": "tool@sha256:2"}],
            "ephemeralContainers": [{"name": "debug", "image": "busybox"}]
        });
        assert!(check(&spec, true, &[]).is_empty());
        let found = check(&spec, false, &[]);
        assert!(found.iter().all(|f| f.instance == "job"), "{found:?}");
        // A cpu limit and a memory limit stand for requests.
        let spec = json!({"containers": [{"name": "c", "image": "x@sha256:1",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "livenessProbe": {"exec": {"command": ["true"]}}, "readinessProbe": {"exec": {"command": ["true"]}}}]});
        assert!(check(&spec, false, &[]).is_empty());
    }

    #[test]
    fn images_from_registries_outside_the_trusted_list_are_named_per_container() {
        let spec = json!({
            "initContainers": [{"name": "init", "image": "registry.k8s.io/pause@sha256:1"}],
            "containers": [
                {"name": "app", "image": "ghcr.io/acme/app@sha256:2"},
                {"name": "side", "image": "nginx@sha256:3"},
                {"name": "local", "image": "localhost:5000/tool@sha256:4"}
            ],
            "ephemeralContainers": [{"name": "debug", "image": "busybox"}]
        });
        let untrusted = |trusted: &[&str]| {
            let trusted: Vec<String> = trusted.iter().map(|t| t.to_string()).collect();
            check(&spec, true, &trusted)
                .into_iter()
                .filter(|f| f.check.id == UNTRUSTED_REGISTRY.id)
                .map(|f| (f.instance, f.evidence))
                .collect::<Vec<_>>()
        };
        // No list: every registry is allowed.
        assert!(untrusted(&[]).is_empty());
        assert_eq!(
            untrusted(&["ghcr.io", "localhost:5000"]),
            [
                (
                    "init".to_string(),
                    "container \"init\" runs registry.k8s.io/pause@sha256:1 from registry.k8s.io"
                        .to_string()
                ),
                (
                    "side".to_string(),
                    "container \"side\" runs nginx@sha256:3 from docker.io".to_string()
                ),
                (
                    "debug".to_string(),
                    "container \"debug\" runs busybox from docker.io".to_string()
                ),
            ]
        );
        // Patterns: every host under k8s.io, any port of localhost.
        let names = |found: Vec<(String, String)>| -> Vec<String> {
            found.into_iter().map(|(name, _)| name).collect()
        };
        assert_eq!(
            names(untrusted(&["*.k8s.io", "ghcr.io", "localhost:*"])),
            ["side", "debug"]
        );
    }

    #[test]
    fn the_default_namespace_and_account_are_found_where_a_pod_runs() {
        let own = json!({"serviceAccountName": "web", "containers": []});
        assert!(placement("shop", &own).is_empty());
        let unset = json!({"containers": []});
        assert_eq!(
            ids(&placement("default", &unset)),
            [
                (String::new(), DEFAULT_NAMESPACE.id, "low"),
                (String::new(), DEFAULT_ACCOUNT.id, "low")
            ]
        );
        let named_default = json!({"serviceAccountName": "default", "containers": []});
        assert_eq!(
            ids(&placement("shop", &named_default)),
            [(String::new(), DEFAULT_ACCOUNT.id, "low")]
        );
    }
}
