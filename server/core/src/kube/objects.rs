//! What Coastguard keeps of each Kubernetes object: a few fields and the Pod Security
//! verdicts, computed from the raw object as it arrives. The object itself is dropped,
//! so memory follows the estate's size in rows, not in API objects.

use super::pss::{self, namespace, Level, PodView, Version};
use super::{calico, hygiene, mesh, network, rbac};
use crate::store::config_findings::Content;
use ::kube::api::DynamicObject;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The optional APIs, by the name a cluster's `extensions` lists them under.
pub const CALICO: &str = "calico";
pub const ISTIO: &str = "istio";

/// The kinds the collector reads, in the order a sync takes them (namespaces and
/// owners before the pods that refer to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Namespace,
    Node,
    NetworkPolicy,
    CalicoNetworkPolicy,
    GlobalNetworkPolicy,
    FelixConfiguration,
    PeerAuthentication,
    Service,
    Ingress,
    ServiceAccount,
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    CronJob,
    Job,
    Pod,
}

impl Kind {
    pub const ALL: [Kind; 21] = [
        Kind::Namespace,
        Kind::Node,
        Kind::NetworkPolicy,
        Kind::CalicoNetworkPolicy,
        Kind::GlobalNetworkPolicy,
        Kind::FelixConfiguration,
        Kind::PeerAuthentication,
        Kind::Service,
        Kind::Ingress,
        Kind::ServiceAccount,
        Kind::Role,
        Kind::ClusterRole,
        Kind::RoleBinding,
        Kind::ClusterRoleBinding,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
        Kind::CronJob,
        Kind::Job,
        Kind::Pod,
    ];

    /// (group, version, kind, plural) as the API serves it.
    pub fn api(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Namespace => ("", "v1", "Namespace", "namespaces"),
            Kind::Node => ("", "v1", "Node", "nodes"),
            Kind::Pod => ("", "v1", "Pod", "pods"),
            Kind::Service => ("", "v1", "Service", "services"),
            Kind::NetworkPolicy => (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
            ),
            Kind::CalicoNetworkPolicy => (
                "projectcalico.org",
                "v3",
                "NetworkPolicy",
                "networkpolicies",
            ),
            Kind::GlobalNetworkPolicy => (
                "projectcalico.org",
                "v3",
                "GlobalNetworkPolicy",
                "globalnetworkpolicies",
            ),
            Kind::FelixConfiguration => (
                "projectcalico.org",
                "v3",
                "FelixConfiguration",
                "felixconfigurations",
            ),
            // Istio serves v1 since 1.22; the collector falls back to v1beta1.
            Kind::PeerAuthentication => (
                "security.istio.io",
                "v1",
                "PeerAuthentication",
                "peerauthentications",
            ),
            Kind::Ingress => ("networking.k8s.io", "v1", "Ingress", "ingresses"),
            Kind::ServiceAccount => ("", "v1", "ServiceAccount", "serviceaccounts"),
            Kind::Role => ("rbac.authorization.k8s.io", "v1", "Role", "roles"),
            Kind::ClusterRole => (
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
                "clusterroles",
            ),
            Kind::RoleBinding => (
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                "rolebindings",
            ),
            Kind::ClusterRoleBinding => (
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
            ),
            Kind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Kind::StatefulSet => ("apps", "v1", "StatefulSet", "statefulsets"),
            Kind::DaemonSet => ("apps", "v1", "DaemonSet", "daemonsets"),
            Kind::ReplicaSet => ("apps", "v1", "ReplicaSet", "replicasets"),
            Kind::Job => ("batch", "v1", "Job", "jobs"),
            Kind::CronJob => ("batch", "v1", "CronJob", "cronjobs"),
        }
    }

    /// The name it is stored and logged under (Calico's NetworkPolicy is told apart
    /// from Kubernetes').
    pub fn name(self) -> &'static str {
        match self {
            Kind::CalicoNetworkPolicy => "CalicoNetworkPolicy",
            k => k.api().2,
        }
    }

    /// The extension that serves it, for kinds a cluster may not have: they are read
    /// only where discovery finds their API.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Kind::CalicoNetworkPolicy | Kind::GlobalNetworkPolicy | Kind::FelixConfiguration => {
                Some(CALICO)
            }
            Kind::PeerAuthentication => Some(ISTIO),
            _ => None,
        }
    }

    pub fn is_workload(self) -> bool {
        matches!(
            self,
            Kind::Deployment
                | Kind::StatefulSet
                | Kind::DaemonSet
                | Kind::ReplicaSet
                | Kind::CronJob
                | Kind::Job
        )
    }

    /// Kept as facts for the cluster-wide checks (network isolation, RBAC), not as
    /// inventory of their own.
    pub fn is_fact(self) -> bool {
        matches!(
            self,
            Kind::NetworkPolicy
                | Kind::CalicoNetworkPolicy
                | Kind::GlobalNetworkPolicy
                | Kind::FelixConfiguration
                | Kind::PeerAuthentication
                | Kind::Service
                | Kind::Ingress
                | Kind::ServiceAccount
                | Kind::Role
                | Kind::ClusterRole
                | Kind::RoleBinding
                | Kind::ClusterRoleBinding
        )
    }

    /// A change to it can change the cluster-wide checks' verdicts.
    pub fn affects_cluster_checks(self) -> bool {
        self.is_fact() || matches!(self, Kind::Namespace | Kind::Pod)
    }
}

/// One Pod Security violation to store as a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PssFinding {
    pub check: &'static str,
    /// The level whose check failed (baseline checks are also restricted failures).
    pub level: Level,
    pub reason: &'static str,
    pub detail: String,
}

/// The strictest level passed at the newest policy version, and the failures that keep
/// it from restricted: every baseline failure, and the restricted-only ones.
pub fn judge(pod: PodView<'_>) -> (Level, Vec<PssFinding>) {
    let baseline = pss::evaluate(pod, Level::Baseline, Version::Latest);
    let restricted = pss::evaluate(pod, Level::Restricted, Version::Latest);
    let level = if restricted.is_empty() {
        Level::Restricted
    } else if baseline.is_empty() {
        Level::Baseline
    } else {
        Level::Privileged
    };
    let restricted_only =
        |id: &str| pss::check_ids().any(|(c, l)| c == id && l == Level::Restricted);
    let mut found: Vec<PssFinding> = baseline
        .into_iter()
        .map(|v| PssFinding {
            check: v.check,
            level: Level::Baseline,
            reason: v.reason,
            detail: v.detail,
        })
        .collect();
    found.extend(
        restricted
            .into_iter()
            .filter(|v| restricted_only(v.check))
            .map(|v| PssFinding {
                check: v.check,
                level: Level::Restricted,
                reason: v.reason,
                detail: v.detail,
            }),
    );
    (level, found)
}

/// A finding of the Kubernetes checks on a pod or a pod template, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeFinding {
    pub check_id: String,
    pub instance: String,
    pub content: Content,
}

/// Pod Security finding ids are `k8s.pss.<Kubernetes check id>`.
pub const PSS_PREFIX: &str = "k8s.pss.";

/// Every Kubernetes finding id starts so.
pub const PREFIX: &str = "k8s.";

/// A Pod Security failure as a finding: baseline failures are high (the pod could not
/// run in a namespace enforcing the minimum standard), restricted-only ones medium.
pub fn pss_content(f: &PssFinding) -> Content {
    let severity = match f.level {
        Level::Restricted => "medium",
        _ => "high",
    };
    Content {
        severity: severity.to_string(),
        cis_section: None,
        evidence: f.detail.clone(),
        title: Some(format!("Pod Security Standards, {}: {}", f.level, f.reason)),
        remediation: Some(format!(
            "Change the pod spec so that the {} check of the {} level passes (kubernetes.io/docs/concepts/security/pod-security-standards/), \
             then label the namespace pod-security.kubernetes.io/enforce={} so that Kubernetes keeps it so.",
            f.check, f.level, f.level
        )),
    }
}

/// The strictest level a pod (or template) passes, and its findings: Pod Security
/// failures and workload hygiene. `namespace`: where it runs; `batch`: its pods run to
/// completion; `trusted`: the image policy's trusted registries.
pub fn findings(
    pod: PodView<'_>,
    namespace: &str,
    batch: bool,
    trusted: &[String],
) -> (Level, Vec<KubeFinding>) {
    let (level, pss) = judge(pod);
    let mut found: Vec<KubeFinding> = pss
        .iter()
        .map(|f| KubeFinding {
            check_id: format!("{PSS_PREFIX}{}", f.check),
            instance: String::new(),
            content: pss_content(f),
        })
        .collect();
    found.extend(
        hygiene::check(pod.spec, batch, trusted)
            .into_iter()
            .chain(hygiene::placement(namespace, pod.spec))
            .map(|f| KubeFinding {
                check_id: f.check.id.to_string(),
                instance: f.instance,
                content: Content {
                    severity: f.severity.to_string(),
                    cis_section: None,
                    evidence: f.evidence,
                    title: Some(f.check.title.to_string()),
                    remediation: Some(f.check.remediation.to_string()),
                },
            }),
    );
    (level, found)
}

pub fn rank(level: Level) -> i64 {
    match level {
        Level::Privileged => 0,
        Level::Baseline => 1,
        Level::Restricted => 2,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceRec {
    pub uid: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub policy: namespace::Policy,
    pub label_errors: Vec<namespace::LabelError>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeRec {
    pub uid: String,
    pub name: String,
    pub kubelet_version: Option<String>,
    pub runtime: Option<String>,
    pub os_image: Option<String>,
    pub kernel: Option<String>,
    pub arch: Option<String>,
    pub ready: bool,
    /// Conditions and addresses, JSON, for the node page.
    pub facts: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadRec {
    pub uid: String,
    pub namespace: String,
    pub kind: Kind,
    pub name: String,
    /// The controlling owner (a ReplicaSet's Deployment, a Job's CronJob).
    pub owner: Option<(String, String)>,
    pub replicas: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub level: Level,
    pub findings: Vec<KubeFinding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRec {
    pub kind: &'static str,
    pub name: String,
    pub image_ref: String,
    /// `sha256:…` from the container's status (`imageID`), when it has started.
    pub image_digest: Option<String>,
    pub ready: Option<bool>,
    pub restart_count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodRec {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub node_name: Option<String>,
    pub phase: Option<String>,
    pub owner: Option<(String, String)>,
    pub labels: BTreeMap<String, String>,
    /// `spec.serviceAccountName`, "default" when unset (as the API server sets it).
    pub service_account: String,
    /// `spec.automountServiceAccountToken`.
    pub automount_token: Option<bool>,
    pub level: Level,
    pub findings: Vec<KubeFinding>,
    pub containers: Vec<ContainerRec>,
}

/// An object the cluster-wide checks read: what they need of it, as JSON
/// (`network::PolicyFacts`, `ServiceFacts`, `IngressFacts`).
#[derive(Debug, Clone, PartialEq)]
pub struct FactRec {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub facts: Value,
}

/// What one object of a kind becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Namespace(NamespaceRec),
    Node(NodeRec),
    Workload(WorkloadRec),
    Pod(PodRec),
    Fact(FactRec),
}

impl Record {
    pub fn uid(&self) -> &str {
        match self {
            Record::Namespace(r) => &r.uid,
            Record::Node(r) => &r.uid,
            Record::Workload(r) => &r.uid,
            Record::Pod(r) => &r.uid,
            Record::Fact(r) => &r.uid,
        }
    }
}

/// The strings of a JSON array (a missing or non-array value is none).
pub(super) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn labels(obj: &DynamicObject) -> BTreeMap<String, String> {
    obj.metadata.labels.clone().unwrap_or_default()
}

/// The controlling owner reference, else the first.
fn owner(obj: &DynamicObject) -> Option<(String, String)> {
    let refs = obj.metadata.owner_references.as_ref()?;
    let r = refs
        .iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())?;
    Some((r.kind.clone(), r.name.clone()))
}

/// The metadata the Pod Security checks read (annotations), raw.
fn pss_metadata(annotations: Option<&BTreeMap<String, String>>) -> Value {
    json!({ "annotations": annotations.cloned().unwrap_or_default() })
}

/// `…@sha256:…` or `docker-pullable://…@sha256:…` or `sha256:…` → `sha256:…`.
pub fn digest_of(image_id: &str) -> Option<String> {
    let at = image_id.rfind("sha256:")?;
    let digest = &image_id[at..];
    (digest.len() == 71 && digest[7..].bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| digest.to_string())
}

/// Reads one object of `kind`; `None` when it lacks what every object has (a uid).
/// `trusted`: the image policy's trusted registries, for the pod and template findings.
pub fn record(kind: Kind, obj: &DynamicObject, trusted: &[String]) -> Option<Record> {
    let uid = obj.metadata.uid.clone()?;
    let name = obj.metadata.name.clone()?;
    let namespace = obj.metadata.namespace.clone().unwrap_or_default();
    Some(match kind {
        Kind::Namespace => {
            let labels = labels(obj);
            let (policy, label_errors) = namespace::policy(&labels);
            Record::Namespace(NamespaceRec {
                uid,
                name,
                labels,
                policy,
                label_errors,
            })
        }
        Kind::Node => {
            let info = obj
                .data
                .pointer("/status/nodeInfo")
                .cloned()
                .unwrap_or_default();
            let conditions = obj
                .data
                .pointer("/status/conditions")
                .cloned()
                .unwrap_or_else(|| json!([]));
            let ready = conditions
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let conditions: Vec<Value> = conditions
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    json!({"type": c["type"], "status": c["status"], "reason": c["reason"], "message": c["message"]})
                })
                .collect();
            Record::Node(NodeRec {
                uid,
                name,
                kubelet_version: text(&info, "/kubeletVersion"),
                runtime: text(&info, "/containerRuntimeVersion"),
                os_image: text(&info, "/osImage"),
                kernel: text(&info, "/kernelVersion"),
                arch: text(&info, "/architecture"),
                ready,
                facts: json!({
                    "conditions": conditions,
                    "addresses": obj.data.pointer("/status/addresses").cloned().unwrap_or_else(|| json!([])),
                    "unschedulable": obj.data.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false),
                    "labels": labels(obj),
                }),
            })
        }
        k if k.is_fact() => {
            let empty = Value::Null;
            let spec = obj.data.get("spec").unwrap_or(&empty);
            let facts = match kind {
                Kind::NetworkPolicy => serde_json::to_value(network::PolicyFacts::read(spec)),
                Kind::CalicoNetworkPolicy | Kind::GlobalNetworkPolicy => {
                    serde_json::to_value(calico::CalicoPolicyFacts::read(spec))
                }
                Kind::FelixConfiguration => serde_json::to_value(calico::FelixFacts::read(spec)),
                Kind::PeerAuthentication => serde_json::to_value(mesh::PeerAuthFacts::read(spec)),
                Kind::Service => serde_json::to_value(network::ServiceFacts::read(spec)),
                Kind::Ingress => serde_json::to_value(network::IngressFacts::read(spec)),
                Kind::ServiceAccount => serde_json::to_value(rbac::AccountFacts::read(&obj.data)),
                Kind::Role | Kind::ClusterRole => {
                    serde_json::to_value(rbac::RoleFacts::read(&obj.data))
                }
                _ => serde_json::to_value(rbac::BindingFacts::read(&obj.data, &namespace)),
            }
            .ok()?;
            Record::Fact(FactRec {
                uid,
                namespace,
                name,
                facts,
            })
        }
        Kind::Pod => {
            let spec = obj.data.get("spec").cloned().unwrap_or_default();
            let meta = pss_metadata(obj.metadata.annotations.as_ref());
            let owner = owner(obj);
            let batch = owner.as_ref().is_some_and(|(kind, _)| kind == "Job");
            let (level, findings) = findings(
                PodView {
                    metadata: &meta,
                    spec: &spec,
                },
                &namespace,
                batch,
                trusted,
            );
            Record::Pod(PodRec {
                uid,
                namespace,
                name,
                node_name: text(&spec, "/nodeName"),
                phase: text(&obj.data, "/status/phase"),
                owner,
                labels: labels(obj),
                service_account: text(&spec, "/serviceAccountName")
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "default".to_string()),
                automount_token: spec
                    .get("automountServiceAccountToken")
                    .and_then(Value::as_bool),
                level,
                findings,
                containers: containers(&spec, obj.data.get("status")),
            })
        }
        _ => {
            let template = match kind {
                Kind::CronJob => obj.data.pointer("/spec/jobTemplate/spec/template"),
                _ => obj.data.pointer("/spec/template"),
            };
            let empty = Value::Null;
            let template = template.unwrap_or(&empty);
            let meta = pss_metadata(None);
            let annotations = template.pointer("/metadata/annotations").cloned();
            let meta = match annotations {
                Some(a) => json!({ "annotations": a }),
                None => meta,
            };
            let spec = template.get("spec").unwrap_or(&empty);
            let batch = matches!(kind, Kind::Job | Kind::CronJob);
            let (level, findings) = findings(
                PodView {
                    metadata: &meta,
                    spec,
                },
                &namespace,
                batch,
                trusted,
            );
            Record::Workload(WorkloadRec {
                uid,
                namespace,
                kind,
                name,
                owner: owner(obj),
                replicas: obj.data.pointer("/spec/replicas").and_then(Value::as_i64),
                labels: labels(obj),
                level,
                findings,
            })
        }
    })
}

/// A pod's containers with the image digests its status reports.
fn containers(spec: &Value, status: Option<&Value>) -> Vec<ContainerRec> {
    let mut out = Vec::new();
    for (kind, spec_key, status_key) in [
        ("init", "initContainers", "initContainerStatuses"),
        ("container", "containers", "containerStatuses"),
        (
            "ephemeral",
            "ephemeralContainers",
            "ephemeralContainerStatuses",
        ),
    ] {
        let statuses = status
            .and_then(|s| s.get(status_key))
            .and_then(Value::as_array);
        for c in spec
            .get(spec_key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let status = statuses
                .into_iter()
                .flatten()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(&name));
            out.push(ContainerRec {
                kind,
                image_ref: c
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                image_digest: status
                    .and_then(|s| s.get("imageID"))
                    .and_then(Value::as_str)
                    .and_then(digest_of),
                ready: status.and_then(|s| s.get("ready")).and_then(Value::as_bool),
                restart_count: status
                    .and_then(|s| s.get("restartCount"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                name,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/k8s-api")
            .join(path);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn object(v: &Value) -> DynamicObject {
        serde_json::from_value(v.clone()).unwrap()
    }

    #[test]
    fn a_real_pod_keeps_its_owner_node_images_and_verdict() {
        let list = fixture("k8s-openapi-replays/v1.36-pod-list.json");
        let items = list["items"].as_array().unwrap();
        for item in items {
            let Some(Record::Pod(p)) = record(Kind::Pod, &object(item), &[]) else {
                panic!("not a pod")
            };
            // Read from the fixture here, not through the collector.
            assert_eq!(p.uid, item["metadata"]["uid"].as_str().unwrap());
            assert_eq!(p.node_name.as_deref(), item["spec"]["nodeName"].as_str());
            let spec_images: Vec<&str> = item["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["image"].as_str().unwrap())
                .collect();
            let kept: Vec<&str> = p
                .containers
                .iter()
                .filter(|c| c.kind == "container")
                .map(|c| c.image_ref.as_str())
                .collect();
            assert_eq!(kept, spec_images);
            for (c, status) in p
                .containers
                .iter()
                .filter(|c| c.kind == "container")
                .zip(item["status"]["containerStatuses"].as_array().unwrap())
            {
                let id = status["imageID"].as_str().unwrap();
                assert!(id.ends_with(c.image_digest.as_deref().unwrap()), "{id}");
            }
            let host_network = item["spec"]["hostNetwork"] == true;
            if host_network {
                assert_eq!(p.level, Level::Privileged, "{}", p.name);
                assert!(p
                    .findings
                    .iter()
                    .any(|f| f.check_id == "k8s.pss.hostNamespaces"));
            }
            if p.name.starts_with("coredns") {
                assert_eq!(p.level, Level::Baseline);
                assert_eq!(p.owner.as_ref().unwrap().0, "ReplicaSet");
                // Restricted-only failures are kept with their level.
                let f = p
                    .findings
                    .iter()
                    .find(|f| f.check_id == "k8s.pss.runAsNonRoot")
                    .unwrap();
                assert_eq!(f.content.severity, "medium");
                // CoreDNS sets no probes' hosts and pins no digest: hygiene findings too.
                assert!(p
                    .findings
                    .iter()
                    .any(|f| f.check_id == "k8s.hygiene.mutable_tag"));
            }
        }
    }

    #[test]
    fn workloads_are_judged_through_their_template() {
        let list = fixture("k8s-openapi-replays/v1.36-deployment-list.json");
        let item = &list["items"][0];
        let Some(Record::Workload(w)) = record(Kind::Deployment, &object(item), &[]) else {
            panic!("not a workload")
        };
        assert_eq!(w.name, item["metadata"]["name"].as_str().unwrap());
        assert_eq!(w.replicas, item["spec"]["replicas"].as_i64());
        let template = &item["spec"]["template"];
        let direct = pss::evaluate(PodView::of(template), Level::Baseline, Version::Latest);
        assert_eq!(w.level == Level::Privileged, !direct.is_empty());

        let node = fixture("k9s-objects/node.json");
        let Some(Record::Node(n)) = record(Kind::Node, &object(&node), &[]) else {
            panic!("not a node")
        };
        assert_eq!(
            n.kubelet_version.as_deref(),
            node["status"]["nodeInfo"]["kubeletVersion"].as_str()
        );
        assert_eq!(
            n.kernel.as_deref(),
            node["status"]["nodeInfo"]["kernelVersion"].as_str()
        );

        let ns = fixture("k9s-objects/namespace.json");
        assert!(matches!(
            record(Kind::Namespace, &object(&ns), &[]),
            Some(Record::Namespace(_))
        ));
    }

    /// The ClusterRole shipped in deploy/ grants get, list and watch on exactly the
    /// resources the collector reads: no more, no less.
    #[test]
    fn the_shipped_cluster_role_grants_exactly_what_the_collector_reads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/kubernetes/rbac.yaml");
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap();
        let role = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRole")
            .expect("a ClusterRole");
        let mut granted = std::collections::BTreeSet::new();
        for rule in role["rules"].as_array().unwrap() {
            let verbs: Vec<&str> = rule["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(verbs, ["get", "list", "watch"], "{rule}");
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    granted.insert((
                        group.as_str().unwrap().to_string(),
                        resource.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
        let read: std::collections::BTreeSet<(String, String)> = Kind::ALL
            .iter()
            .map(|k| (k.api().0.to_string(), k.api().3.to_string()))
            .collect();
        assert_eq!(granted, read);
        // No rule anywhere in the file grants secrets.
        assert!(!docs
            .iter()
            .any(|d| d["rules"].to_string().contains("secrets")));
    }

    #[test]
    fn digests_are_read_from_every_image_id_form() {
        let hex = "a".repeat(64);
        for id in [
            format!("docker.io/library/nginx@sha256:{hex}"),
            format!("docker-pullable://nginx@sha256:{hex}"),
            format!("sha256:{hex}"),
        ] {
            assert_eq!(digest_of(&id), Some(format!("sha256:{hex}")));
        }
        assert_eq!(digest_of("nginx:1.25"), None);
        assert_eq!(digest_of("sha256:short"), None);
    }
}
