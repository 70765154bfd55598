//! Kubernetes inventory as the pages and the REST API show it.

use crate::findings::ConfigFindingView;
use crate::SeverityCounts;
use serde::{Deserialize, Serialize};

/// Adding clusters from a kubeconfig: each context becomes a cluster (or only `context`).
/// The kubeconfig's credentials are stored encrypted and never shown again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewClusters {
    /// The kubeconfig, YAML or JSON, with inline credentials only (a token, or
    /// client-certificate-data with client-key-data). `exec`, `auth-provider` and file
    /// paths are refused.
    pub kubeconfig: String,
    /// Add only this context.
    #[serde(default)]
    pub context: Option<String>,
    /// The name to give the cluster (one context only); default: the context's name.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterSummary {
    pub id: i64,
    pub name: String,
    pub api_url: Option<String>,
    /// `kubeconfig` (uploaded) or `in-cluster`.
    pub source: Option<String>,
    pub context: Option<String>,
    /// `pending`, `ok` or `unreachable`.
    pub status: String,
    pub last_error: Option<String>,
    /// The API server's version (`v1.36.0`).
    pub version: Option<String>,
    pub last_sync_at: Option<i64>,
    pub nodes: i64,
    pub namespaces: i64,
    pub workloads: i64,
    pub pods: i64,
    /// Pods by the strictest Pod Security level they pass.
    pub pods_privileged: i64,
    pub pods_baseline: i64,
    pub pods_restricted: i64,
    /// Open findings on the cluster's pods and workloads.
    pub open_findings: SeverityCounts,
    /// Policy engines, mesh and encryption; none until the cluster's first network pass.
    #[serde(default)]
    pub network: Option<ClusterNetwork>,
}

/// What a namespace's pod-security labels ask for, one mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PssMode {
    pub level: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamespaceSummary {
    pub id: i64,
    pub cluster_id: i64,
    pub cluster_name: String,
    pub name: String,
    /// Judged by the `pod-security.kubernetes.io/enforce|audit|warn` labels (and their
    /// `-version`s) as the admission plugin reads them; unlabelled modes are privileged.
    pub enforce: PssMode,
    pub audit: PssMode,
    pub warn: PssMode,
    /// Labels the admission plugin could not read, with why.
    pub label_errors: Vec<String>,
    /// The strictest level every pod of the namespace passes today (at the newest policy
    /// version): what it could enforce. None without pods.
    pub passing_level: Option<String>,
    pub pods: i64,
    /// Pods that the namespace's enforce level would refuse if they were created now.
    pub pods_violating_enforce: i64,
    pub workloads: i64,
    pub open_findings: SeverityCounts,
    pub gone_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkloadSummary {
    pub id: i64,
    pub cluster_id: i64,
    pub cluster_name: String,
    pub namespace: String,
    pub namespace_id: Option<i64>,
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `CronJob`, `Job`, `ReplicaSet`.
    pub kind: String,
    pub name: String,
    pub replicas: Option<i64>,
    /// The strictest Pod Security level its pod template passes.
    pub pss_level: Option<String>,
    pub pods: i64,
    pub open_findings: SeverityCounts,
    pub gone_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodSummary {
    pub id: i64,
    pub cluster_id: i64,
    pub cluster_name: String,
    pub namespace: String,
    pub namespace_id: Option<i64>,
    pub name: String,
    pub phase: Option<String>,
    pub node: Option<String>,
    pub node_id: Option<i64>,
    /// The top workload (a ReplicaSet's Deployment, a Job's CronJob), when there is one.
    pub workload_kind: Option<String>,
    pub workload_name: Option<String>,
    pub workload_id: Option<i64>,
    pub pss_level: Option<String>,
    pub open_findings: SeverityCounts,
    pub gone_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodContainer {
    /// `init`, `container` or `ephemeral`.
    pub kind: String,
    pub name: String,
    pub image_ref: String,
    pub image_digest: Option<String>,
    /// The image's page, when the digest is known.
    pub image_id: Option<i64>,
    pub ready: Option<bool>,
    pub restart_count: i64,
    /// Its image's latest signature status; absent until the image is checked.
    #[serde(default)]
    pub signature: Option<crate::signatures::SignatureStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PodDetail {
    pub pod: PodSummary,
    pub containers: Vec<PodContainer>,
    /// Pod Security findings (open, accepted and resolved).
    pub findings: Vec<ConfigFindingView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamespaceDetail {
    pub namespace: NamespaceSummary,
    /// Labels as the namespace carries them.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Its NetworkPolicy coverage and exposure; none until the cluster's first network
    /// pass (after every kind's first list).
    pub network: Option<NetworkPosture>,
    /// Findings on the namespace itself (network isolation, TLS), open and resolved.
    pub findings: Vec<ConfigFindingView>,
}

/// A namespace's network isolation as its NetworkPolicies, Services and Ingresses make it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkPosture {
    /// NetworkPolicies in the namespace.
    pub policies: i64,
    /// A policy isolates every pod for ingress and admits only what its rules name.
    pub default_deny_ingress: bool,
    /// Some policy restricts egress.
    pub egress_restricted: bool,
    /// Live pods, and those some policy isolates for ingress.
    pub pods: i64,
    pub pods_isolated: i64,
    /// Services reachable from outside the cluster (NodePort, LoadBalancer, external IPs).
    pub exposed_services: Vec<String>,
    /// Ingresses serving a host without TLS.
    pub ingresses_without_tls: Vec<String>,
    /// Calico policies that apply here: the namespace's own and the global ones whose
    /// namespace selector takes it.
    #[serde(default)]
    pub calico_policies: i64,
    /// The Istio mutual-TLS mode its pods get (`STRICT`, `PERMISSIVE`, `DISABLE`); none
    /// when the cluster serves no PeerAuthentication API.
    #[serde(default)]
    pub mtls: Option<String>,
    /// The PeerAuthentication that sets it (`namespace/name`); none for Istio's default.
    #[serde(default)]
    pub mtls_policy: Option<String>,
    /// Pod traffic is encrypted in transit: Calico WireGuard on the cluster, or STRICT mTLS.
    #[serde(default)]
    pub encrypted_in_transit: bool,
}

/// What a cluster's network layer says as a whole: which policy engines and meshes it
/// serves, and whether Calico encrypts pod traffic between nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterNetwork {
    /// Calico's `projectcalico.org/v3` policies are read: the cluster serves them and
    /// Coastguard's role may list them.
    pub calico: bool,
    /// Istio's PeerAuthentication is read (served and granted).
    pub istio: bool,
    /// Calico GlobalNetworkPolicies.
    pub global_policies: i64,
    /// WireGuard as the `default` FelixConfiguration sets it; none without Calico or
    /// without that configuration.
    pub wireguard: Option<bool>,
    /// Calico policies whose selector could not be read (`name: why`); they are taken
    /// to select nothing.
    #[serde(default)]
    pub unreadable_selectors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkloadDetail {
    pub workload: WorkloadSummary,
    pub findings: Vec<ConfigFindingView>,
}

/// Filters of the Kubernetes lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct KubeQuery {
    /// Case-insensitive text in names.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub cluster: Option<i64>,
    /// Exact namespace name (with `cluster` for one cluster's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Pod Security level passed: `privileged`, `baseline` or `restricted`.
    #[serde(default)]
    pub level: Option<String>,
    /// Workloads: `Deployment`, `StatefulSet`, …
    #[serde(default)]
    pub kind: Option<String>,
    /// Include objects that are gone.
    #[serde(default)]
    pub include_gone: Option<bool>,
    /// `name` (default), `level`, `findings`.
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub dir: Option<String>,
    /// 1-based, at most 1,000,000.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub page: Option<i64>,
    /// 1–500, default 50.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 500))]
    pub per_page: Option<i64>,
}

/// Pod Security levels by rank as stored (0 privileged, 1 baseline, 2 restricted).
pub fn level_name(rank: i64) -> &'static str {
    match rank {
        2 => "restricted",
        1 => "baseline",
        _ => "privileged",
    }
}

pub fn level_rank(name: &str) -> Option<i64> {
    match name {
        "privileged" => Some(0),
        "baseline" => Some(1),
        "restricted" => Some(2),
        _ => None,
    }
}
