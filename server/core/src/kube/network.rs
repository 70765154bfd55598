//! Network isolation of a cluster, decided from what its NetworkPolicies, Services and
//! Ingresses say, the way Kubernetes applies them:
//!
//! - A pod is isolated for ingress (or egress) when some policy in its namespace selects
//!   it and has that policy type. A policy without `policyTypes` affects ingress always
//!   and egress when it has an `egress` section.
//! - A namespace has **default-deny ingress** when a policy selects every pod in it
//!   (an empty `podSelector`) for ingress and none of its rules admits every source on
//!   every port (a rule without `from` and `ports`, or from `0.0.0.0/0` or `::/0` with no
//!   exception). Its egress is **restricted** when any policy in it affects egress.
//! - A Service of type NodePort or LoadBalancer, or with external IPs, makes the pods it
//!   selects reachable from outside the cluster; each such pod gets a finding naming it.
//! - An Ingress serving a host that no `tls` entry covers carries traffic in clear.
//!
//! - Calico's `NetworkPolicy` and `GlobalNetworkPolicy` count the same way where the
//!   cluster serves them (see [`calico`] for how their selectors and rules are read): a
//!   Calico policy that selects every pod of a namespace for ingress without a rule that
//!   admits everything is a default deny there.
//! - Pod traffic is **encrypted in transit** when Calico's `default` FelixConfiguration
//!   enables WireGuard, or when Istio's PeerAuthentication makes the namespace's mode
//!   STRICT (see [`mesh`]); a namespace with neither gets a finding.

use super::calico::{self, CalicoPolicyFacts, Expr, FelixFacts};
use super::mesh::{self, PeerAuthFacts};
use super::objects::{strings, KubeFinding};
use crate::store::config_findings::Content;
use coastguard_model::findings::SubjectKind;
use coastguard_model::kube::{ClusterNetwork, NetworkPosture};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Every network finding id starts so.
pub const PREFIX: &str = "k8s.network.";

pub const NO_DEFAULT_DENY: &str = "k8s.network.no_default_deny_ingress";
pub const NO_EGRESS: &str = "k8s.network.no_egress_restriction";
pub const POD_UNSELECTED: &str = "k8s.network.pod_not_isolated";
pub const EXPOSED: &str = "k8s.network.exposed_outside_cluster";
pub const PLAIN_INGRESS: &str = "k8s.network.ingress_without_tls";
pub const IN_CLEAR: &str = "k8s.network.pod_traffic_unencrypted";

/// A label selector (`matchLabels` and `matchExpressions`); empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expressions: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl Selector {
    fn read(v: Option<&Value>) -> Selector {
        let Some(v) = v else {
            return Selector::default();
        };
        let labels = v
            .get("matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let expressions = v
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| Requirement {
                key: str_of(e, "key"),
                operator: str_of(e, "operator"),
                values: strings(e.get("values")),
            })
            .collect();
        Selector {
            labels,
            expressions,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether a pod with `labels` is selected. An operator Kubernetes does not know
    /// selects nothing (the API server refuses such a policy).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator.as_str() {
                    "In" => value.is_some_and(|v| r.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// What the checks keep of a NetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFacts {
    pub selector: Selector,
    pub ingress: bool,
    pub egress: bool,
    /// Some ingress rule admits every source on every port.
    pub ingress_open: bool,
}

impl PolicyFacts {
    /// From a NetworkPolicy's `spec`.
    pub fn read(spec: &Value) -> PolicyFacts {
        let types = spec.get("policyTypes").and_then(Value::as_array);
        let has_type = |t: &str| types.is_some_and(|ts| ts.iter().any(|x| x == t));
        let (ingress, egress) = match types {
            Some(_) => (has_type("Ingress"), has_type("Egress")),
            None => (true, spec.get("egress").is_some_and(|e| !e.is_null())),
        };
        let ingress_open = spec
            .get("ingress")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(rule_admits_all);
        PolicyFacts {
            selector: Selector::read(spec.get("podSelector")),
            ingress,
            egress,
            ingress_open,
        }
    }

    /// Isolates every pod of its namespace for ingress and admits only what its rules name.
    fn denies_ingress_by_default(&self) -> bool {
        self.ingress && self.selector.is_empty() && !self.ingress_open
    }
}

/// An ingress rule without `from` and `ports` (or from anywhere on the internet) admits
/// all traffic: the policy then isolates nothing.
fn rule_admits_all(rule: &Value) -> bool {
    let empty = |key: &str| {
        rule.get(key)
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty())
    };
    if !empty("ports") {
        return false;
    }
    empty("from")
        || rule["from"].as_array().into_iter().flatten().any(|peer| {
            let cidr = peer.pointer("/ipBlock/cidr").and_then(Value::as_str);
            let except = peer
                .pointer("/ipBlock/except")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.is_empty());
            matches!(cidr, Some("0.0.0.0/0" | "::/0")) && !except
        })
}

/// What the checks keep of a Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFacts {
    #[serde(rename = "type")]
    pub kind: String,
    pub selector: BTreeMap<String, String>,
    /// `port/protocol`, with `→ nodePort` where one is allocated.
    pub ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ranges: Vec<String>,
}

impl ServiceFacts {
    pub fn read(spec: &Value) -> ServiceFacts {
        let ports = spec
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(n) => format!("{port}/{protocol} (node port {n})"),
                    None => format!("{port}/{protocol}"),
                }
            })
            .collect();
        ServiceFacts {
            kind: spec
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP")
                .to_string(),
            selector: spec
                .get("selector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            ports,
            external_ips: strings(spec.get("externalIPs")),
            source_ranges: strings(spec.get("loadBalancerSourceRanges")),
        }
    }

    /// Reachable from outside the cluster's network.
    pub fn exposed(&self) -> bool {
        matches!(self.kind.as_str(), "NodePort" | "LoadBalancer") || !self.external_ips.is_empty()
    }

    /// A Service without a selector has its endpoints managed by hand: it selects no pod.
    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.selector.is_empty() && self.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// What the checks keep of an Ingress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressFacts {
    /// The hosts its rules serve (`*` for a rule without a host).
    pub hosts: Vec<String>,
    /// The hosts its `tls` entries cover.
    pub tls_hosts: Vec<String>,
    /// Some `tls` entry names no host (it then covers the default certificate's hosts).
    pub tls_any_host: bool,
}

impl IngressFacts {
    pub fn read(spec: &Value) -> IngressFacts {
        let mut hosts: Vec<String> = spec
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                r.get("host")
                    .and_then(Value::as_str)
                    .unwrap_or("*")
                    .to_string()
            })
            .collect();
        if hosts.is_empty() && spec.get("defaultBackend").is_some() {
            hosts.push("*".to_string());
        }
        let tls = spec.get("tls").and_then(Value::as_array);
        IngressFacts {
            hosts,
            tls_hosts: tls
                .into_iter()
                .flatten()
                .flat_map(|t| strings(t.get("hosts")))
                .collect(),
            tls_any_host: tls
                .into_iter()
                .flatten()
                .any(|t| strings(t.get("hosts")).is_empty()),
        }
    }

    /// Hosts served in clear: not covered by any `tls` entry (exactly, or by a
    /// `*.domain` wildcard one level up).
    pub fn plain_hosts(&self) -> Vec<&str> {
        if self.tls_any_host {
            return Vec::new();
        }
        self.hosts
            .iter()
            .map(String::as_str)
            .filter(|h| !self.tls_hosts.iter().any(|t| covers(t, h)))
            .collect()
    }
}

fn covers(tls: &str, host: &str) -> bool {
    tls == host
        || tls.strip_prefix("*.").is_some_and(|domain| {
            host.split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == domain)
        })
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// One object of a namespace, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Named<T> {
    pub namespace: String,
    pub name: String,
    pub facts: T,
}

impl<T> Named<T> {
    pub fn new(namespace: &str, name: &str, facts: T) -> Named<T> {
        Named {
            namespace: namespace.to_string(),
            name: name.to_string(),
            facts,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodLabels {
    pub id: i64,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// Its service account (Calico selectors see it).
    pub account: String,
}

/// A cluster's live objects, as the network pass reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// (id, name).
    pub namespaces: Vec<(i64, String)>,
    /// Labels by namespace name (Calico's namespace selectors read them).
    pub namespace_labels: HashMap<String, BTreeMap<String, String>>,
    pub pods: Vec<PodLabels>,
    pub policies: Vec<Named<PolicyFacts>>,
    pub services: Vec<Named<ServiceFacts>>,
    pub ingresses: Vec<Named<IngressFacts>>,
    /// Which optional APIs the cluster serves (`calico`, `istio`).
    pub extensions: Vec<String>,
    /// Calico's namespaced policies, and its global ones (namespace `""`).
    pub calico_policies: Vec<Named<CalicoPolicyFacts>>,
    pub global_policies: Vec<Named<CalicoPolicyFacts>>,
    pub felix: Vec<Named<FelixFacts>>,
    pub peer_auths: Vec<Named<PeerAuthFacts>>,
}

/// What the pass decided: the cluster's network layer, each namespace's posture and
/// every network finding, by subject (namespaces and pods; subjects without findings are
/// listed with none, so that what they had is resolved).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub cluster: ClusterNetwork,
    pub namespaces: Vec<(i64, NetworkPosture)>,
    pub findings: Vec<(SubjectKind, i64, Vec<KubeFinding>)>,
}

/// A Calico policy with its selectors read once per pass.
struct Compiled<'a> {
    policy: &'a Named<CalicoPolicyFacts>,
    selector: Expr,
    /// A global policy's namespace selector (`all()` for a namespaced one).
    namespaces: Expr,
}

impl Compiled<'_> {
    /// Applies to `ns` (its own namespace, or a global one selecting it), unless its
    /// selector names only namespace labels and leaves this namespace out.
    fn applies_in(&self, ns: &str, ns_labels: &BTreeMap<String, String>) -> bool {
        if self.selector.namespace_wide()
            && !self
                .selector
                .matches(&|k: &str| endpoint_label(k, ns, ns_labels, None))
        {
            return false;
        }
        if self.policy.namespace.is_empty() {
            self.namespaces.matches(&|k: &str| {
                if k == calico::NAME_LABEL {
                    Some(ns)
                } else {
                    ns_labels.get(k).map(String::as_str)
                }
            })
        } else {
            self.policy.namespace == ns
        }
    }

    /// Isolates every pod of `ns` for ingress and admits only what its rules name.
    fn denies_ingress_in(&self, ns: &str, ns_labels: &BTreeMap<String, String>) -> bool {
        let f = &self.policy.facts;
        f.pods
            && f.ingress
            && !f.ingress_open
            && self.selector.namespace_wide()
            && self
                .selector
                .matches(&|k: &str| endpoint_label(k, ns, ns_labels, None))
    }

    fn isolates(&self, pod: &PodLabels, ns_labels: &BTreeMap<String, String>) -> bool {
        let f = &self.policy.facts;
        f.pods
            && f.ingress
            && self
                .selector
                .matches(&|k: &str| endpoint_label(k, &pod.namespace, ns_labels, Some(pod)))
    }
}

/// A label of a pod's Calico workload endpoint (with `pod` none: the labels every pod of
/// the namespace has).
fn endpoint_label<'a>(
    key: &str,
    ns: &'a str,
    ns_labels: &'a BTreeMap<String, String>,
    pod: Option<&'a PodLabels>,
) -> Option<&'a str> {
    match key {
        calico::NAMESPACE_LABEL => Some(ns),
        calico::ORCHESTRATOR_LABEL => Some("k8s"),
        calico::ACCOUNT_LABEL => pod.map(|p| p.account.as_str()),
        _ => match key.strip_prefix(calico::NAMESPACE_PREFIX) {
            Some(k) => ns_labels.get(k).map(String::as_str),
            None => pod.and_then(|p| p.labels.get(key)).map(String::as_str),
        },
    }
}

/// Reads the Calico policies' selectors; one that cannot be read selects nothing and is
/// named in `unreadable`.
fn compile<'a>(
    policies: impl Iterator<Item = &'a Named<CalicoPolicyFacts>>,
    unreadable: &mut Vec<String>,
) -> Vec<Compiled<'a>> {
    let mut out = Vec::new();
    for policy in policies {
        let read = calico::parse(&policy.facts.selector).and_then(|selector| {
            let namespaces = if policy.namespace.is_empty() {
                calico::parse(&policy.facts.namespace_selector)?
            } else {
                Expr::All
            };
            Ok((selector, namespaces))
        });
        match read {
            Ok((selector, namespaces)) => out.push(Compiled {
                policy,
                selector,
                namespaces,
            }),
            Err(e) => {
                let name = if policy.namespace.is_empty() {
                    policy.name.clone()
                } else {
                    format!("{}/{}", policy.namespace, policy.name)
                };
                unreadable.push(format!("{name}: {e}"));
            }
        }
    }
    out
}

fn finding(
    check: &str,
    instance: &str,
    severity: &str,
    title: &str,
    evidence: String,
    remediation: &str,
) -> KubeFinding {
    KubeFinding {
        check_id: check.to_string(),
        instance: instance.to_string(),
        content: Content {
            severity: severity.to_string(),
            cis_section: None,
            evidence,
            title: Some(title.to_string()),
            remediation: Some(remediation.to_string()),
        },
    }
}

/// Decides the cluster's network layer and every namespace's and pod's network posture.
pub fn evaluate(inputs: &Inputs) -> Evaluation {
    let has = |e: &str| inputs.extensions.iter().any(|x| x == e);
    let (with_calico, with_istio) = (has(super::objects::CALICO), has(super::objects::ISTIO));
    let mut cluster = ClusterNetwork {
        calico: with_calico,
        istio: with_istio,
        global_policies: if with_calico {
            inputs.global_policies.len() as i64
        } else {
            0
        },
        wireguard: if with_calico {
            inputs
                .felix
                .iter()
                .find(|f| f.name == "default")
                .map(|f| f.facts.wireguard())
        } else {
            None
        },
        unreadable_selectors: Vec::new(),
    };
    let no_labels = BTreeMap::new();
    let labels_of = |ns: &str| inputs.namespace_labels.get(ns).unwrap_or(&no_labels);

    let mut policies: HashMap<&str, Vec<&Named<PolicyFacts>>> = HashMap::new();
    for p in &inputs.policies {
        policies.entry(p.namespace.as_str()).or_default().push(p);
    }
    let mut services: HashMap<&str, Vec<&Named<ServiceFacts>>> = HashMap::new();
    for s in inputs.services.iter().filter(|s| s.facts.exposed()) {
        services.entry(s.namespace.as_str()).or_default().push(s);
    }
    // Calico objects stored while the cluster served Calico count only while it does.
    let (own, global) = if with_calico {
        (
            compile(
                inputs.calico_policies.iter(),
                &mut cluster.unreadable_selectors,
            ),
            compile(
                inputs.global_policies.iter(),
                &mut cluster.unreadable_selectors,
            ),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // The Calico policies that apply in each namespace.
    let mut calico_in: HashMap<&str, Vec<&Compiled>> = HashMap::new();
    for (_, name) in &inputs.namespaces {
        let ns_labels = labels_of(name);
        let applying: Vec<&Compiled> = own
            .iter()
            .chain(&global)
            .filter(|c| c.applies_in(name, ns_labels))
            .collect();
        calico_in.insert(name, applying);
    }
    let wireguard = cluster.wireguard == Some(true);

    let mut postures: BTreeMap<&str, NetworkPosture> = BTreeMap::new();
    for (_, name) in &inputs.namespaces {
        let ns_labels = labels_of(name);
        let theirs = policies
            .get(name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let calico = calico_in
            .get(name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut exposed: Vec<String> = services
            .get(name.as_str())
            .into_iter()
            .flatten()
            .map(|s| s.name.clone())
            .collect();
        exposed.sort();
        let (mtls, mtls_policy) = if with_istio {
            let (mode, from) = mesh::resolve(
                name,
                inputs
                    .peer_auths
                    .iter()
                    .map(|p| (p.namespace.as_str(), p.name.as_str(), &p.facts)),
            );
            (Some(mode), from)
        } else {
            (None, None)
        };
        postures.insert(
            name,
            NetworkPosture {
                policies: theirs.len() as i64,
                calico_policies: calico.len() as i64,
                default_deny_ingress: theirs.iter().any(|p| p.facts.denies_ingress_by_default())
                    || calico.iter().any(|c| c.denies_ingress_in(name, ns_labels)),
                egress_restricted: theirs.iter().any(|p| p.facts.egress)
                    || calico
                        .iter()
                        .any(|c| c.policy.facts.pods && c.policy.facts.egress),
                exposed_services: exposed,
                encrypted_in_transit: wireguard || mtls.as_deref() == Some("STRICT"),
                mtls,
                mtls_policy,
                ..NetworkPosture::default()
            },
        );
    }
    for i in &inputs.ingresses {
        if !i.facts.plain_hosts().is_empty() {
            if let Some(p) = postures.get_mut(i.namespace.as_str()) {
                p.ingresses_without_tls.push(i.name.clone());
            }
        }
    }

    let mut findings = Vec::new();
    for pod in &inputs.pods {
        let theirs = policies
            .get(pod.namespace.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let calico = calico_in
            .get(pod.namespace.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let ns_labels = labels_of(&pod.namespace);
        let isolated = theirs
            .iter()
            .any(|p| p.facts.ingress && p.facts.selector.matches(&pod.labels))
            || calico.iter().any(|c| c.isolates(pod, ns_labels));
        if let Some(posture) = postures.get_mut(pod.namespace.as_str()) {
            posture.pods += 1;
            posture.pods_isolated += i64::from(isolated);
        }
        let mut found = Vec::new();
        if !isolated {
            // Stable while policies come and go elsewhere in the namespace, so that
            // thousands of pods' findings are not rewritten for each.
            let evidence = match (theirs.is_empty(), calico.is_empty(), with_calico) {
                (true, _, false) => format!("namespace {} has no NetworkPolicy", pod.namespace),
                (true, true, true) => format!(
                    "no NetworkPolicy or Calico policy applies in namespace {}",
                    pod.namespace
                ),
                (_, _, false) => format!(
                    "no NetworkPolicy of namespace {} selects this pod for ingress",
                    pod.namespace
                ),
                _ => format!(
                    "no NetworkPolicy or Calico policy of namespace {} selects this pod for ingress",
                    pod.namespace
                ),
            };
            found.push(finding(
                POD_UNSELECTED,
                "",
                "low",
                "Pod not isolated by any NetworkPolicy",
                evidence,
                "Select the pod with a NetworkPolicy that names the ingress it needs (or add a default-deny policy to its namespace), so that only that traffic reaches it.",
            ));
        }
        for s in services.get(pod.namespace.as_str()).into_iter().flatten() {
            if s.facts.selects(&pod.labels) {
                found.push(exposed_finding(s));
            }
        }
        findings.push((SubjectKind::Pod, pod.id, found));
    }

    let mut namespaces = Vec::with_capacity(inputs.namespaces.len());
    for (id, name) in &inputs.namespaces {
        let Some(posture) = postures.remove(name.as_str()) else {
            continue;
        };
        let counted = if with_calico {
            format!(
                "{} NetworkPolicies and {} Calico policies",
                posture.policies, posture.calico_policies
            )
        } else {
            format!("{} NetworkPolicies", posture.policies)
        };
        let mut found = Vec::new();
        if !posture.default_deny_ingress {
            found.push(finding(
                NO_DEFAULT_DENY,
                "",
                "medium",
                "Namespace without a default-deny ingress NetworkPolicy",
                format!(
                    "{counted}; none selects every pod for ingress without admitting all traffic"
                ),
                "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] (and no rule that admits everything), then allow what each workload needs.",
            ));
        }
        if !posture.egress_restricted {
            found.push(finding(
                NO_EGRESS,
                "",
                "low",
                "Namespace without any egress restriction",
                format!("none of its {counted} has the Egress type"),
                "Add a NetworkPolicy with policyTypes: [Egress] that allows DNS and the destinations the namespace needs, so that a compromised pod cannot reach everywhere.",
            ));
        }
        if !posture.encrypted_in_transit {
            found.push(finding(
                IN_CLEAR,
                "",
                "low",
                "Pod traffic not encrypted in transit",
                in_clear_evidence(&cluster, &posture),
                "Enable WireGuard in Calico's default FelixConfiguration (wireguardEnabled: true), or enforce mutual TLS with an Istio PeerAuthentication of mode STRICT for the namespace or the mesh.",
            ));
        }
        for i in inputs.ingresses.iter().filter(|i| &i.namespace == name) {
            let plain = i.facts.plain_hosts();
            if !plain.is_empty() {
                found.push(finding(
                    PLAIN_INGRESS,
                    &i.name,
                    "medium",
                    "Ingress serving hosts without TLS",
                    format!(
                        "Ingress {} serves {} without a tls entry",
                        i.name,
                        plain.join(", ")
                    ),
                    "Add a tls entry (with a certificate secret) covering every host of the Ingress, so that traffic to it is encrypted.",
                ));
            }
        }
        findings.push((SubjectKind::Namespace, *id, found));
        namespaces.push((*id, posture));
    }
    Evaluation {
        cluster,
        namespaces,
        findings,
    }
}

/// Why a namespace's pod traffic goes in clear: what Calico and Istio say.
fn in_clear_evidence(cluster: &ClusterNetwork, posture: &NetworkPosture) -> String {
    let wireguard = match (cluster.calico, cluster.wireguard) {
        (false, _) => "the cluster serves no Calico API (no WireGuard)".to_string(),
        (true, None) => "Calico has no default FelixConfiguration (WireGuard off)".to_string(),
        (true, Some(_)) => "Calico's default FelixConfiguration leaves WireGuard off".to_string(),
    };
    let mtls = match (&posture.mtls, &posture.mtls_policy) {
        (None, _) => "the cluster serves no Istio PeerAuthentication API".to_string(),
        (Some(mode), Some(from)) => format!("Istio mTLS is {mode} (PeerAuthentication {from})"),
        (Some(mode), None) => format!("Istio mTLS is {mode} (no PeerAuthentication applies)"),
    };
    format!("{wireguard}; {mtls}")
}

fn exposed_finding(s: &Named<ServiceFacts>) -> KubeFinding {
    let mut evidence = format!(
        "Service {} ({}) on {}",
        s.name,
        s.facts.kind,
        s.facts.ports.join(", ")
    );
    if !s.facts.external_ips.is_empty() {
        evidence.push_str(&format!(
            "; external IPs {}",
            s.facts.external_ips.join(", ")
        ));
    }
    if !s.facts.source_ranges.is_empty() {
        evidence.push_str(&format!("; only from {}", s.facts.source_ranges.join(", ")));
    }
    let severity = if s.facts.source_ranges.is_empty() {
        "medium"
    } else {
        "low"
    };
    finding(
        EXPOSED,
        &s.name,
        severity,
        "Pod reachable from outside the cluster",
        evidence,
        "Serve it through a ClusterIP Service behind an Ingress with TLS, or limit the load balancer with loadBalancerSourceRanges, and isolate the pod with a NetworkPolicy.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn named<T>(namespace: &str, name: &str, facts: T) -> Named<T> {
        Named::new(namespace, name, facts)
    }

    fn pod(id: i64, namespace: &str, pairs: &[(&str, &str)]) -> PodLabels {
        PodLabels {
            id,
            namespace: namespace.to_string(),
            labels: labels(pairs),
            account: "default".to_string(),
        }
    }

    fn checks(e: &Evaluation, kind: SubjectKind, id: i64) -> Vec<(String, String)> {
        e.findings
            .iter()
            .filter(|(k, i, _)| *k == kind && *i == id)
            .flat_map(|(_, _, f)| f.iter().map(|f| (f.check_id.clone(), f.instance.clone())))
            .collect()
    }

    #[test]
    fn selectors_match_as_kubernetes_matches_them() {
        let s = Selector::read(Some(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        })));
        let base = [("app", "web"), ("tier", "front"), ("team", "a")];
        assert!(s.matches(&labels(&base)));
        // NotIn admits a pod without the key.
        assert!(s.matches(&labels(&[
            ("app", "web"),
            ("tier", "edge"),
            ("team", "a"),
            ("env", "prod")
        ])));
        for failing in [
            vec![("app", "api"), ("tier", "front"), ("team", "a")],
            vec![("app", "web"), ("tier", "back"), ("team", "a")],
            vec![("app", "web"), ("tier", "front")],
            vec![
                ("app", "web"),
                ("tier", "front"),
                ("team", "a"),
                ("env", "dev"),
            ],
            vec![
                ("app", "web"),
                ("tier", "front"),
                ("team", "a"),
                ("legacy", ""),
            ],
        ] {
            assert!(!s.matches(&labels(&failing)), "{failing:?}");
        }
        assert!(Selector::read(Some(&json!({}))).matches(&labels(&[])));
        assert!(Selector::read(None).is_empty());
        let unknown = Selector::read(Some(
            &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
        ));
        assert!(!unknown.matches(&labels(&[("a", "2")])));
    }

    #[test]
    fn policy_types_default_as_the_api_defaults_them() {
        // No policyTypes: ingress always, egress only with an egress section.
        let p = PolicyFacts::read(&json!({"podSelector": {}}));
        assert!(p.ingress && !p.egress && p.denies_ingress_by_default());
        let p = PolicyFacts::read(
            &json!({"podSelector": {}, "egress": [{"to": [{"podSelector": {}}]}]}),
        );
        assert!(p.ingress && p.egress);
        // Egress-only by its types: isolates no ingress.
        let p = PolicyFacts::read(&json!({"podSelector": {}, "policyTypes": ["Egress"]}));
        assert!(!p.ingress && p.egress && !p.denies_ingress_by_default());
        // Selecting some pods is no default.
        let p = PolicyFacts::read(
            &json!({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}),
        );
        assert!(!p.denies_ingress_by_default());
        // Rules that name sources keep the default deny; a rule admitting all undoes it.
        let p = PolicyFacts::read(
            &json!({"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        assert!(p.denies_ingress_by_default());
        for open in [
            json!([{}]),
            json!([{"from": []}]),
            json!([{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]),
            json!([{"from": [{"ipBlock": {"cidr": "::/0"}}]}]),
        ] {
            let p = PolicyFacts::read(&json!({"podSelector": {}, "ingress": open}));
            assert!(!p.denies_ingress_by_default(), "{open}");
        }
        for closed in [
            json!([{"ports": [{"port": 443}]}]),
            json!([{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]),
            json!([{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]),
        ] {
            let p = PolicyFacts::read(&json!({"podSelector": {}, "ingress": closed}));
            assert!(p.denies_ingress_by_default(), "{closed}");
        }
    }

    #[test]
    fn ingresses_without_tls_name_the_hosts_served_in_clear() {
        let i = IngressFacts::read(&json!({
            "rules": [{"host": "shop.example.com"}, {"host": "api.example.com"}, {"http": {}}],
            "tls": [{"hosts": ["*.example.com"], "secretName": "wild"}]
        }));
        // A wildcard covers one label; a rule without a host is served to any host.
        assert_eq!(i.plain_hosts(), vec!["*"]);
        let i = IngressFacts::read(&json!({
            "rules": [{"host": "a.b.example.com"}],
            "tls": [{"hosts": ["*.example.com"]}]
        }));
        assert_eq!(i.plain_hosts(), vec!["a.b.example.com"]);
        let i = IngressFacts::read(
            &json!({"rules": [{"host": "x.test"}], "tls": [{"secretName": "default"}]}),
        );
        assert!(i.plain_hosts().is_empty());
        let i = IngressFacts::read(&json!({"defaultBackend": {"service": {"name": "web"}}}));
        assert_eq!(i.plain_hosts(), vec!["*"]);
    }

    #[test]
    fn services_expose_the_pods_they_select_outside_the_cluster() {
        let node_port = ServiceFacts::read(&json!({
            "type": "NodePort", "selector": {"app": "web"},
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]
        }));
        assert!(node_port.exposed());
        assert_eq!(node_port.ports, ["80/TCP (node port 30080)"]);
        assert!(!ServiceFacts::read(&json!({"selector": {"app": "web"}})).exposed());
        assert!(ServiceFacts::read(&json!({"externalIPs": ["192.0.2.1"]})).exposed());
        // No selector: endpoints by hand, no pod selected.
        assert!(!ServiceFacts::read(&json!({"type": "LoadBalancer"}))
            .selects(&labels(&[("app", "web")])));
    }

    #[test]
    fn a_cluster_is_judged_namespace_by_namespace_and_pod_by_pod() {
        let deny_all =
            PolicyFacts::read(&json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}));
        let db_only = PolicyFacts::read(&json!({"podSelector": {"matchLabels": {"app": "db"}}}));
        let inputs = Inputs {
            namespaces: vec![
                (1, "locked".into()),
                (2, "partial".into()),
                (3, "open".into()),
            ],
            pods: vec![
                pod(10, "locked", &[("app", "web")]),
                pod(20, "partial", &[("app", "db")]),
                pod(21, "partial", &[("app", "web")]),
                pod(30, "open", &[("app", "web")]),
                pod(31, "open", &[("app", "batch")]),
            ],
            policies: vec![
                named("locked", "deny-all", deny_all),
                named("partial", "db", db_only),
            ],
            services: vec![
                named(
                    "open",
                    "web",
                    ServiceFacts::read(
                        &json!({"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443}]}),
                    ),
                ),
                named(
                    "open",
                    "internal",
                    ServiceFacts::read(
                        &json!({"selector": {"app": "batch"}, "ports": [{"port": 80}]}),
                    ),
                ),
                named(
                    "locked",
                    "edge",
                    ServiceFacts::read(
                        &json!({"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30001}], "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
                    ),
                ),
            ],
            ingresses: vec![named(
                "open",
                "shop",
                IngressFacts::read(&json!({"rules": [{"host": "shop.test"}]})),
            )],
            ..Inputs::default()
        };
        let e = evaluate(&inputs);
        let posture = |id: i64| {
            e.namespaces
                .iter()
                .find(|(i, _)| *i == id)
                .unwrap()
                .1
                .clone()
        };

        let locked = posture(1);
        assert!(locked.default_deny_ingress && locked.egress_restricted);
        assert_eq!((locked.pods, locked.pods_isolated), (1, 1));
        assert_eq!(locked.exposed_services, ["edge"]);
        // Neither Calico nor Istio: its pods talk in clear.
        assert_eq!(
            checks(&e, SubjectKind::Namespace, 1),
            [(IN_CLEAR.to_string(), String::new())]
        );
        assert!(!locked.encrypted_in_transit && locked.mtls.is_none());
        // Isolated, but a NodePort Service still reaches it (from the listed ranges: low).
        assert_eq!(
            checks(&e, SubjectKind::Pod, 10),
            [(EXPOSED.to_string(), "edge".to_string())]
        );
        let f = &e
            .findings
            .iter()
            .find(|(k, i, _)| *k == SubjectKind::Pod && *i == 10)
            .unwrap()
            .2[0];
        assert_eq!(f.content.severity, "low");
        assert!(
            f.content.evidence.contains("node port 30001"),
            "{}",
            f.content.evidence
        );

        let partial = posture(2);
        assert!(!partial.default_deny_ingress && !partial.egress_restricted);
        assert_eq!((partial.pods, partial.pods_isolated), (2, 1));
        assert!(checks(&e, SubjectKind::Pod, 20).is_empty());
        assert_eq!(
            checks(&e, SubjectKind::Pod, 21),
            [(POD_UNSELECTED.to_string(), String::new())]
        );
        assert_eq!(
            checks(&e, SubjectKind::Namespace, 2),
            [
                (NO_DEFAULT_DENY.to_string(), String::new()),
                (NO_EGRESS.to_string(), String::new()),
                (IN_CLEAR.to_string(), String::new())
            ]
        );

        let open = posture(3);
        assert_eq!((open.policies, open.pods, open.pods_isolated), (0, 2, 0));
        assert_eq!(open.exposed_services, ["web"]);
        assert_eq!(open.ingresses_without_tls, ["shop"]);
        assert_eq!(
            checks(&e, SubjectKind::Pod, 30),
            [
                (POD_UNSELECTED.to_string(), String::new()),
                (EXPOSED.to_string(), "web".to_string())
            ]
        );
        // A ClusterIP Service exposes nothing outside the cluster.
        assert_eq!(
            checks(&e, SubjectKind::Pod, 31),
            [(POD_UNSELECTED.to_string(), String::new())]
        );
        assert!(checks(&e, SubjectKind::Namespace, 3)
            .contains(&(PLAIN_INGRESS.to_string(), "shop".to_string())));
    }

    fn calico(namespace: &str, name: &str, spec: Value) -> Named<CalicoPolicyFacts> {
        named(namespace, name, CalicoPolicyFacts::read(&spec))
    }

    #[test]
    fn calico_policies_isolate_and_encryption_follows_wireguard_and_mesh() {
        let mut pods = vec![
            pod(10, "shop", &[("app", "web")]),
            pod(11, "shop", &[("app", "db")]),
            pod(20, "kube-system", &[("k8s-app", "dns")]),
            pod(21, "kube-system", &[("k8s-app", "metrics")]),
            pod(30, "legacy", &[("app", "old")]),
        ];
        pods[3].account = "metrics".to_string();
        let mut namespace_labels = HashMap::new();
        namespace_labels.insert("kube-system".to_string(), labels(&[("team", "platform")]));
        let inputs = Inputs {
            namespaces: vec![
                (1, "shop".into()),
                (2, "kube-system".into()),
                (3, "legacy".into()),
            ],
            namespace_labels,
            pods,
            extensions: vec!["calico".into(), "istio".into()],
            // Global default deny everywhere but kube-system, ingress and egress.
            global_policies: vec![
                calico(
                    "",
                    "default-deny",
                    json!({"selector": "projectcalico.org/namespace not in {'kube-system'}",
                           "types": ["Ingress", "Egress"]}),
                ),
                // Admits everything, but only in namespaces labelled legacy: no default.
                calico(
                    "",
                    "legacy-open",
                    json!({"namespaceSelector": "projectcalico.org/name == 'legacy'",
                           "selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Allow"}]}),
                ),
                calico("", "broken", json!({"selector": "app = 'x'"})),
            ],
            calico_policies: vec![
                // Selects by service account and namespace label, as Calico sees a pod.
                calico(
                    "kube-system",
                    "metrics",
                    json!({"selector": "projectcalico.org/serviceaccount == 'metrics' && pcns.team == 'platform'",
                           "types": ["Ingress"], "ingress": [{"action": "Allow", "protocol": "TCP"}]}),
                ),
            ],
            felix: vec![named(
                "",
                "default",
                FelixFacts::read(&json!({"wireguardEnabled": false})),
            )],
            peer_auths: vec![
                named(
                    "istio-system",
                    "default",
                    PeerAuthFacts::read(&json!({"mtls": {"mode": "STRICT"}})),
                ),
                named(
                    "legacy",
                    "relaxed",
                    PeerAuthFacts::read(&json!({"mtls": {"mode": "PERMISSIVE"}})),
                ),
            ],
            ..Inputs::default()
        };
        let e = evaluate(&inputs);
        let posture = |id: i64| {
            e.namespaces
                .iter()
                .find(|(i, _)| *i == id)
                .unwrap()
                .1
                .clone()
        };
        assert!(e.cluster.calico && e.cluster.istio);
        assert_eq!(e.cluster.global_policies, 3);
        assert_eq!(e.cluster.wireguard, Some(false));
        assert_eq!(e.cluster.unreadable_selectors.len(), 1);
        assert!(e.cluster.unreadable_selectors[0].starts_with("broken: "));

        let shop = posture(1);
        assert!(shop.default_deny_ingress && shop.egress_restricted);
        assert_eq!(
            (shop.pods, shop.pods_isolated, shop.calico_policies),
            (2, 2, 1)
        );
        assert_eq!(shop.mtls.as_deref(), Some("STRICT"));
        assert_eq!(shop.mtls_policy.as_deref(), Some("istio-system/default"));
        assert!(shop.encrypted_in_transit);
        assert!(checks(&e, SubjectKind::Namespace, 1).is_empty());
        assert!(checks(&e, SubjectKind::Pod, 10).is_empty());

        // Only the pod of the service account the namespaced policy names is isolated;
        // a selector on pods is no default deny.
        let system = posture(2);
        assert!(!system.default_deny_ingress && system.calico_policies == 1);
        assert_eq!((system.pods, system.pods_isolated), (2, 1));
        assert_eq!(
            checks(&e, SubjectKind::Pod, 20),
            [(POD_UNSELECTED.to_string(), String::new())]
        );
        assert!(checks(&e, SubjectKind::Pod, 21).is_empty());

        // The open policy makes no default deny of its own, but the global deny still is
        // one; the namespace's PERMISSIVE override leaves its traffic in clear.
        let legacy = posture(3);
        assert!(legacy.default_deny_ingress && legacy.calico_policies == 2);
        assert_eq!(legacy.mtls.as_deref(), Some("PERMISSIVE"));
        assert!(!legacy.encrypted_in_transit);
        assert_eq!(
            checks(&e, SubjectKind::Namespace, 3),
            [(IN_CLEAR.to_string(), String::new())]
        );
        let evidence = &e
            .findings
            .iter()
            .find(|(k, i, _)| *k == SubjectKind::Namespace && *i == 3)
            .unwrap()
            .2[0]
            .content
            .evidence;
        assert!(
            evidence.contains("WireGuard off") && evidence.contains("legacy/relaxed"),
            "{evidence}"
        );

        // WireGuard on encrypts every namespace whatever the mesh says.
        let mut wired = inputs.clone();
        wired.felix = vec![named(
            "",
            "default",
            FelixFacts::read(&json!({"wireguardEnabled": true})),
        )];
        let e = evaluate(&wired);
        assert!(e.namespaces.iter().all(|(_, p)| p.encrypted_in_transit));
        // Without the Calico API, Calico objects left in the store count for nothing.
        let mut bare = inputs.clone();
        bare.extensions.clear();
        let e = evaluate(&bare);
        assert_eq!(e.cluster.wireguard, None);
        let shop = &e.namespaces.iter().find(|(i, _)| *i == 1).unwrap().1;
        assert!(!shop.default_deny_ingress && shop.calico_policies == 0);
        assert_eq!(shop.pods_isolated, 0);
    }
}
