//! One cluster, namespace, workload or pod, with links up and down:
//! cluster → namespace → workload → pod → image.

use super::host::route_id;
use super::kube::{KubeTabs, LevelBadge, PodTable};
use crate::components::common::{ErrorBox, Loading, Timestamp};
use crate::components::findings::{FindingsTable, TriageActions};
use crate::components::layout::use_me;
use crate::components::listing::{short_digest, SeverityPills, StatusBadge};
use crate::components::risk::{risk_breakdown, BreakdownResource, RiskPanel};
use crate::components::signatures::{
    signature_coverage, CoverageResource, PlaceKind, PlaceSignatures,
};
use crate::error::AppError;
use crate::server_fns::kube::{
    get_cluster, get_namespace, get_pod, get_workload, list_namespace_pods,
};
use coastguard_model::inventory::Listing;
use coastguard_model::kube::{
    ClusterNetwork, ClusterSummary, NamespaceDetail, NetworkPosture, PodDetail, PodSummary,
    PssMode, WorkloadDetail,
};
use coastguard_model::risk::RiskSubject;
use coastguard_model::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ClusterPage() -> impl IntoView {
    let id = route_id();
    let data = Resource::new(id, get_cluster);
    let risk = risk_breakdown(RiskSubject::Cluster, id);
    let signatures = signature_coverage(PlaceKind::Cluster, id);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(c) => view! { <ClusterView c risk signatures /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ClusterView(
    c: ClusterSummary,
    risk: BreakdownResource,
    signatures: CoverageResource,
) -> impl IntoView {
    let id = c.id;
    view! {
        <Title text=c.name.clone() />
        <nav class="crumbs"><a href="/kubernetes">"Clusters"</a>" / "</nav>
        <h1>{c.name.clone()} " " <StatusBadge status=c.status.clone() /></h1>
        {c.last_error.clone().map(|e| view! {
            <p class="alert alert-error">"Unreachable: " {e} ". Its last known inventory is shown."</p>
        })}
        <section class="stats">
            <div class="stat"><div class="stat-value">{c.nodes}</div><div class="stat-label">"nodes"</div></div>
            <div class="stat"><div class="stat-value"><a href=format!("/kubernetes/namespaces?cluster={id}")>{c.namespaces}</a></div><div class="stat-label">"namespaces"</div></div>
            <div class="stat"><div class="stat-value"><a href=format!("/kubernetes/workloads?cluster={id}")>{c.workloads}</a></div><div class="stat-label">"workloads"</div></div>
            <div class="stat"><div class="stat-value"><a href=format!("/kubernetes/pods?cluster={id}")>{c.pods}</a></div><div class="stat-label">"pods"</div></div>
            <div class="stat"><div class="stat-label">"open findings"</div><SeverityPills counts=c.open_findings.clone() /></div>
        </section>
        <RiskPanel data=risk />
        <PlaceSignatures data=signatures where_="in this cluster" />
        <section class="panel">
            <h2>"Pods by the strictest Pod Security level they pass"</h2>
            <ul class="facts">
                <li><a href=format!("/kubernetes/pods?cluster={id}&level=restricted")>{format!("{} restricted", c.pods_restricted)}</a></li>
                <li><a href=format!("/kubernetes/pods?cluster={id}&level=baseline")>{format!("{} baseline only", c.pods_baseline)}</a></li>
                <li><a href=format!("/kubernetes/pods?cluster={id}&level=privileged")>{format!("{} not even baseline", c.pods_privileged)}</a></li>
            </ul>
        </section>
        <ClusterNetworkPanel network=c.network.clone() />
        <section class="panel">
            <h2>"Connection"</h2>
            <dl class="facts">
                <dt>"API server"</dt><dd><code>{c.api_url.clone().unwrap_or_default()}</code></dd>
                <dt>"Version"</dt><dd>{c.version.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"From"</dt><dd>{format!("{} {}", c.source.clone().unwrap_or_default(), c.context.clone().map(|x| format!("(context {x})")).unwrap_or_default())}</dd>
                <dt>"Last full sync"</dt><dd><Timestamp at=c.last_sync_at /></dd>
            </dl>
        </section>
    }
}

/// The cluster's policy engines, mesh and node-to-node encryption.
#[component]
fn ClusterNetworkPanel(network: Option<ClusterNetwork>) -> impl IntoView {
    let Some(n) = network else {
        return view! {
            <section class="panel">
                <h2>"Network layer"</h2>
                <p class="muted">"Not judged yet: the network checks run once every kind of the cluster has been listed."</p>
            </section>
        }
        .into_any();
    };
    let served = |yes: bool| {
        if yes {
            "read"
        } else {
            "not read (not served, or not granted to Coastguard)"
        }
    };
    let wireguard = match (n.calico, n.wireguard) {
        (false, _) => view! { <span class="muted">"no Calico"</span> }.into_any(),
        (true, None) => {
            view! { <span class="status status-bad">"off (no default FelixConfiguration)"</span> }
                .into_any()
        }
        (true, Some(true)) => view! { <span class="status status-good">"on"</span> }.into_any(),
        (true, Some(false)) => view! { <span class="status status-bad">"off"</span> }.into_any(),
    };
    let unreadable = n
        .unreadable_selectors
        .into_iter()
        .map(|e| view! { <li class="error-text">{e}</li> })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Network layer"</h2>
            <dl class="facts">
                <dt>"Calico policies (projectcalico.org/v3)"</dt><dd>{served(n.calico)}</dd>
                <dt>"Calico global policies"</dt><dd>{n.global_policies}</dd>
                <dt>"WireGuard between nodes"</dt><dd>{wireguard}</dd>
                <dt>"Istio PeerAuthentication"</dt><dd>{served(n.istio)}</dd>
            </dl>
            <ul class="facts">{unreadable}</ul>
        </section>
    }
    .into_any()
}

fn mode_text(m: &PssMode) -> String {
    format!("{} ({})", m.level, m.version)
}

#[component]
pub fn NamespacePage() -> impl IntoView {
    let id = route_id();
    let actions = TriageActions::new();
    let data = Resource::new(
        move || (id(), actions.version()),
        |(id, _)| get_namespace(id),
    );
    let risk = risk_breakdown(RiskSubject::Namespace, id);
    let signatures = signature_coverage(PlaceKind::Namespace, id);
    let pods = Resource::new(id, list_namespace_pods);
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <NamespaceView detail role actions risk signatures pods /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A namespace's NetworkPolicy coverage and what reaches it from outside.
#[component]
fn NetworkPanel(network: Option<NetworkPosture>) -> impl IntoView {
    let Some(n) = network else {
        return view! {
            <section class="panel">
                <h2>"Network isolation"</h2>
                <p class="muted">"Not judged yet: the network checks run once every kind of the cluster has been listed."</p>
            </section>
        }
        .into_any();
    };
    let yes_no = |ok: bool, yes: &'static str, no: &'static str| {
        if ok {
            view! { <span class="status status-good">{yes}</span> }.into_any()
        } else {
            view! { <span class="status status-bad">{no}</span> }.into_any()
        }
    };
    let names = |names: Vec<String>| {
        if names.is_empty() {
            view! { <span class="muted">"none"</span> }.into_any()
        } else {
            names
                .into_iter()
                .map(|s| view! { <code>{s}</code>" " })
                .collect_view()
                .into_any()
        }
    };
    let mtls = match (n.mtls.clone(), n.mtls_policy.clone()) {
        (None, _) => view! { <span class="muted">"no Istio"</span> }.into_any(),
        (Some(mode), from) => view! {
            <code>{mode}</code>" "
            <span class="muted">{from.map(|f| format!("(PeerAuthentication {f})")).unwrap_or_else(|| "(Istio's default)".into())}</span>
        }
        .into_any(),
    };
    view! {
        <section class="panel">
            <h2>"Network isolation"</h2>
            <dl class="facts">
                <dt>"NetworkPolicies"</dt><dd>{n.policies}</dd>
                <dt>"Calico policies applying"</dt><dd>{n.calico_policies}</dd>
                <dt>"Ingress"</dt><dd>{yes_no(n.default_deny_ingress, "denied by default", "no default deny")}</dd>
                <dt>"Egress"</dt><dd>{yes_no(n.egress_restricted, "restricted", "unrestricted")}</dd>
                <dt>"Pods isolated"</dt><dd>{format!("{} of {}", n.pods_isolated, n.pods)}</dd>
                <dt>"Exposed outside the cluster"</dt><dd>{names(n.exposed_services)}</dd>
                <dt>"Ingresses without TLS"</dt><dd>{names(n.ingresses_without_tls)}</dd>
                <dt>"Istio mTLS"</dt><dd>{mtls}</dd>
                <dt>"Pod traffic in transit"</dt><dd>{yes_no(n.encrypted_in_transit, "encrypted", "not encrypted")}</dd>
            </dl>
        </section>
    }
    .into_any()
}

#[component]
fn NamespaceView(
    detail: NamespaceDetail,
    role: Role,
    actions: TriageActions,
    risk: BreakdownResource,
    signatures: CoverageResource,
    pods: Resource<Result<Listing<PodSummary>, AppError>>,
) -> impl IntoView {
    let n = detail.namespace;
    let labels = detail
        .labels
        .into_iter()
        .map(|(k, v)| view! { <li><code>{format!("{k}={v}")}</code></li> }.into_any())
        .collect_view();
    let could = match (n.passing_level.as_deref(), n.enforce.level.as_str()) {
        (Some(pass), enforced) if rank(pass) > rank(enforced) => Some(format!(
            "Every pod here passes {pass} today: the namespace could enforce it (label pod-security.kubernetes.io/enforce={pass})."
        )),
        _ => None,
    };
    let errors = n
        .label_errors
        .iter()
        .map(|e| view! { <li class="error-text">{e.clone()}</li> }.into_any())
        .collect_view();
    view! {
        <Title text=n.name.clone() />
        <nav class="crumbs">
            <a href="/kubernetes">"Clusters"</a>" / "
            <a href=format!("/kubernetes/clusters/{}", n.cluster_id)>{n.cluster_name.clone()}</a>" / "
        </nav>
        <h1>{n.name.clone()}</h1>
        <section class="stats">
            <div class="stat"><div class="stat-label">"enforced"</div><LevelBadge level=Some(n.enforce.level.clone()) /></div>
            <div class="stat"><div class="stat-label">"all pods pass"</div><LevelBadge level=n.passing_level.clone() /></div>
            <div class="stat"><div class="stat-value">{n.pods}</div><div class="stat-label">"pods"</div></div>
            <div class="stat"><div class="stat-value">{n.pods_violating_enforce}</div><div class="stat-label">"pods the enforce level would refuse now"</div></div>
            <div class="stat"><div class="stat-label">"open findings"</div><SeverityPills counts=n.open_findings.clone() /></div>
        </section>
        {could.map(|text| view! { <p class="alert">{text}</p> })}
        <RiskPanel data=risk />
        <PlaceSignatures data=signatures where_="in this namespace" />
        <section class="panel">
            <h2>"Pod Security admission"</h2>
            <dl class="facts">
                <dt>"enforce"</dt><dd>{mode_text(&n.enforce)}</dd>
                <dt>"audit"</dt><dd>{mode_text(&n.audit)}</dd>
                <dt>"warn"</dt><dd>{mode_text(&n.warn)}</dd>
            </dl>
            <ul>{errors}</ul>
            <h3>"Labels"</h3>
            <ul class="labels">{labels}</ul>
        </section>
        <NetworkPanel network=detail.network />
        <section class="panel">
            <h2>"Findings of the namespace"</h2>
            <FindingsTable findings=detail.findings show_subject=false can_triage={role >= Role::Analyst} actions />
        </section>
        <section class="panel">
            <h2>"Pods"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match pods.await {
                        Ok(list) => view! { <PodTable list path="/kubernetes/pods" /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn rank(level: &str) -> i64 {
    coastguard_model::kube::level_rank(level).unwrap_or(0)
}

#[component]
pub fn WorkloadPage() -> impl IntoView {
    let id = route_id();
    let actions = TriageActions::new();
    let data = Resource::new(
        move || (id(), actions.version()),
        |(id, _)| get_workload(id),
    );
    let risk = risk_breakdown(RiskSubject::Workload, id);
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <WorkloadView detail role actions risk /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WorkloadView(
    detail: WorkloadDetail,
    role: Role,
    actions: TriageActions,
    risk: BreakdownResource,
) -> impl IntoView {
    let w = detail.workload;
    view! {
        <Title text=w.name.clone() />
        <nav class="crumbs">
            <a href="/kubernetes">"Clusters"</a>" / "
            <a href=format!("/kubernetes/clusters/{}", w.cluster_id)>{w.cluster_name.clone()}</a>" / "
            {w.namespace_id.map(|id| view! { <a href=format!("/kubernetes/namespaces/{id}")>{w.namespace.clone()}</a>" / " })}
        </nav>
        <h1>{format!("{} {}", w.kind, w.name)}</h1>
        <section class="stats">
            <div class="stat"><div class="stat-label">"pod template passes"</div><LevelBadge level=w.pss_level.clone() /></div>
            <div class="stat"><div class="stat-value"><a href=format!("/kubernetes/pods?cluster={}&namespace={}&q={}", w.cluster_id, w.namespace, w.name)>{w.pods}</a></div><div class="stat-label">"pods"</div></div>
            <div class="stat"><div class="stat-label">"open findings"</div><SeverityPills counts=w.open_findings.clone() /></div>
        </section>
        <RiskPanel data=risk />
        <section class="panel">
            <h2>"Findings of its pod template: Pod Security Standards and workload hygiene"</h2>
            <FindingsTable findings=detail.findings show_subject=false can_triage={role >= Role::Analyst} actions />
        </section>
    }
}

#[component]
pub fn PodPage() -> impl IntoView {
    let id = route_id();
    let actions = TriageActions::new();
    let data = Resource::new(move || (id(), actions.version()), |(id, _)| get_pod(id));
    let risk = risk_breakdown(RiskSubject::Pod, id);
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <PodView detail role actions risk /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PodView(
    detail: PodDetail,
    role: Role,
    actions: TriageActions,
    risk: BreakdownResource,
) -> impl IntoView {
    let p = detail.pod;
    let containers = detail
        .containers
        .into_iter()
        .map(|c| {
            let image = match c.image_id {
                Some(id) => view! { <a href=format!("/images/{id}")><code>{c.image_ref.clone()}</code></a> }.into_any(),
                None => view! { <code>{c.image_ref.clone()}</code> }.into_any(),
            };
            view! {
                <tr>
                    <td><strong>{c.name.clone()}</strong><div class="small muted">{c.kind.clone()}</div></td>
                    <td>{image}<div class="small muted">{c.image_digest.as_deref().map(short_digest).unwrap_or_default()}</div></td>
                    <td>{match c.ready { Some(true) => "ready", Some(false) => "not ready", None => "—" }}</td>
                    <td>{c.restart_count}</td>
                    <td>{match c.signature {
                        Some(s) => view! { <StatusBadge status=s.as_str().to_string() /> }.into_any(),
                        None => view! { <span class="muted">"not checked"</span> }.into_any(),
                    }}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    let workload = match (p.workload_id, p.workload_kind.clone(), p.workload_name.clone()) {
        (Some(id), Some(kind), Some(name)) => Some(view! { <a href=format!("/kubernetes/workloads/{id}")>{format!("{kind}/{name}")}</a>" / " }.into_any()),
        _ => None,
    };
    view! {
        <Title text=p.name.clone() />
        <KubeTabs current="" />
        <nav class="crumbs">
            <a href=format!("/kubernetes/clusters/{}", p.cluster_id)>{p.cluster_name.clone()}</a>" / "
            {p.namespace_id.map(|id| view! { <a href=format!("/kubernetes/namespaces/{id}")>{p.namespace.clone()}</a>" / " })}
            {workload}
        </nav>
        <h1>{p.name.clone()} " " {p.gone_at.map(|_| view! { <StatusBadge status="gone".to_string() /> })}</h1>
        <section class="stats">
            <div class="stat"><div class="stat-label">"passes"</div><LevelBadge level=p.pss_level.clone() /></div>
            <div class="stat"><div class="stat-value">{p.phase.clone().unwrap_or_else(|| "—".into())}</div><div class="stat-label">"phase"</div></div>
            <div class="stat"><div class="stat-value">{p.node.clone().unwrap_or_else(|| "—".into())}</div><div class="stat-label">"node"</div></div>
            <div class="stat"><div class="stat-label">"open findings"</div><SeverityPills counts=p.open_findings.clone() /></div>
        </section>
        <RiskPanel data=risk />
        <section class="panel">
            <h2>"Containers"</h2>
            <table class="table">
                <thead><tr><th scope="col">"Container"</th><th scope="col">"Image"</th><th scope="col">"Ready"</th><th scope="col">"Restarts"</th><th scope="col">"Image signature"</th></tr></thead>
                <tbody>{containers}</tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Findings: Pod Security Standards and workload hygiene"</h2>
            <FindingsTable findings=detail.findings show_subject=false can_triage={role >= Role::Analyst} actions />
        </section>
    }
}
