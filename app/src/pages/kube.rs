//! Kubernetes: clusters (and, for admins, adding them from a kubeconfig), namespaces,
//! workloads and pods, each list filtered, sorted and paged on the server.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::layout::use_me;
use crate::components::listing::{kube_query_from, Pager, SeverityPills, SortHeader, StatusBadge};
use crate::server_fns::kube::{
    list_clusters, list_namespaces, list_pods, list_workloads, AddClusters, RemoveCluster,
    SyncCluster,
};
use coastguard_model::inventory::Listing;
use coastguard_model::kube::{ClusterSummary, NamespaceSummary, PodSummary, WorkloadSummary};
use coastguard_model::Role;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The section's own navigation.
#[component]
pub fn KubeTabs(current: &'static str) -> impl IntoView {
    let tabs = [
        ("/kubernetes", "Clusters"),
        ("/kubernetes/namespaces", "Namespaces"),
        ("/kubernetes/workloads", "Workloads"),
        ("/kubernetes/pods", "Pods"),
        ("/kubernetes/rbac", "RBAC"),
    ];
    let links = tabs
        .into_iter()
        .map(|(href, label)| {
            let here = href == current;
            view! { <a href=href class:active=here aria-current=here.then_some("page")>{label}</a> }
                .into_any()
        })
        .collect_view();
    view! { <nav class="tabs" aria-label="Kubernetes">{links}</nav> }
}

/// A Pod Security level as a badge: restricted is good, privileged bad.
#[component]
pub fn LevelBadge(level: Option<String>) -> impl IntoView {
    match level {
        Some(l) => {
            let class = match l.as_str() {
                "restricted" => "status status-ok",
                "baseline" => "status status-warn",
                _ => "status status-bad",
            };
            view! { <span class=class>{l}</span> }.into_any()
        }
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

/// Search and Pod Security level, keeping the list's other filters (cluster, namespace).
#[component]
pub fn KubeFilter(path: &'static str, placeholder: &'static str) -> impl IntoView {
    let query = use_query_map();
    let value = move |k: &str| query.with_untracked(|q| q.get(k)).unwrap_or_default();
    let level = value("level");
    let options = ["privileged", "baseline", "restricted"]
        .into_iter()
        .map(|l| view! { <option value=l selected=level == l>{l}</option> }.into_any())
        .collect_view();
    let hidden = query.with_untracked(|q| {
        q.clone()
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_ref(), "q" | "level" | "page"))
            .map(|(k, v)| view! { <input type="hidden" name=k.to_string() value=v /> }.into_any())
            .collect_view()
    });
    view! {
        <form method="get" action=path class="form-row filter-bar" role="search">
            <label>"Search" <input type="search" name="q" value=value("q") placeholder=placeholder /></label>
            <label>"Pod Security level"
                <select name="level"><option value="">"any"</option>{options}</select>
            </label>
            {hidden}
            <button type="submit" class="btn">"Filter"</button>
        </form>
    }
}

#[derive(Clone, Copy)]
struct ClusterActions {
    add: ServerAction<AddClusters>,
    remove: ServerAction<RemoveCluster>,
    sync: ServerAction<SyncCluster>,
}

#[component]
pub fn ClustersPage() -> impl IntoView {
    let actions = ClusterActions {
        add: ServerAction::new(),
        remove: ServerAction::new(),
        sync: ServerAction::new(),
    };
    let data = Resource::new(
        move || actions.add.version().get() + actions.remove.version().get(),
        |_| list_clusters(),
    );
    let me = use_me();
    view! {
        <Title text="Kubernetes" />
        <h1>"Kubernetes"</h1>
        <KubeTabs current="/kubernetes" />
        <ActionOutcome value=actions.remove.value() ok="Cluster removed." />
        <ActionOutcome value=actions.sync.value() ok="Asked: the cluster is listed again within seconds; its last full sync shows when." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(list) => view! { <ClusterTable list role actions /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = me.await.map(|m| m.role == Role::Admin).unwrap_or(false);
                admin.then(|| view! { <AddClusterForm action=actions.add /> })
            })}
        </Suspense>
    }
}

#[component]
fn ClusterTable(list: Vec<ClusterSummary>, role: Role, actions: ClusterActions) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <div class="panel empty-state">
                <h2>"No clusters yet"</h2>
                <p>"Admins add clusters from a kubeconfig below or with "<code>"POST /api/v1/clusters"</code>
                   ". Give Coastguard a read-only service account: "<code>"deploy/kubernetes/rbac.yaml"</code>"."</p>
            </div>
        }
        .into_any();
    }
    let rows = list
        .into_iter()
        .map(|c| {
            let id = c.id;
            let name = c.name.clone();
            let sync_label = format!("List cluster {name} again now");
            view! {
                <tr>
                    <td>
                        <a href=format!("/kubernetes/clusters/{id}")><strong>{c.name.clone()}</strong></a>
                        <div class="small muted"><code>{c.api_url.clone().unwrap_or_default()}</code></div>
                    </td>
                    <td>
                        <StatusBadge status=c.status.clone() />
                        {c.last_error.clone().map(|e| view! { <div class="small error-text" title=e.clone()>{e.clone()}</div> })}
                    </td>
                    <td>{c.version.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{c.nodes}</td>
                    <td><a href=format!("/kubernetes/namespaces?cluster={id}")>{c.namespaces}</a></td>
                    <td><a href=format!("/kubernetes/workloads?cluster={id}")>{c.workloads}</a></td>
                    <td>
                        <a href=format!("/kubernetes/pods?cluster={id}")>{c.pods}</a>
                        <div class="small muted">{format!("{} restricted · {} baseline · {} privileged", c.pods_restricted, c.pods_baseline, c.pods_privileged)}</div>
                    </td>
                    <td><SeverityPills counts=c.open_findings.clone() /></td>
                    <td><Timestamp at=c.last_sync_at /></td>
                    <td class="actions">
                        {(role >= Role::Analyst).then(|| view! {
                            <ActionForm action=actions.sync attr:class="inline-form">
                                <input type="hidden" name="id" value=id.to_string() />
                                <button class="btn btn-small" type="submit"
                                    aria-label=sync_label>"Sync now"</button>
                            </ActionForm>
                        })}
                        {(role == Role::Admin).then(|| view! {
                            <ActionForm action=actions.remove attr:class="inline-form">
                                <input type="hidden" name="id" value=id.to_string() />
                                <button class="btn btn-small btn-danger" type="submit"
                                    aria-label=format!("Remove cluster {name}")>"Remove"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Cluster"</th><th scope="col">"Status"</th><th scope="col">"Version"</th>
                    <th scope="col">"Nodes"</th><th scope="col">"Namespaces"</th><th scope="col">"Workloads"</th>
                    <th scope="col">"Pods"</th><th scope="col">"Open findings"</th><th scope="col">"Last full sync"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AddClusterForm(action: ServerAction<AddClusters>) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Add clusters from a kubeconfig"</h2>
            <ActionForm action=action attr:class="form-grid">
                <label class="span-all">"Kubeconfig"
                    <textarea name="kubeconfig" required rows="8" spellcheck="false" autocomplete="off"
                        placeholder="apiVersion: v1\nkind: Config\nclusters: …"></textarea>
                </label>
                <label>"Only this context (optional)" <input name="context" autocomplete="off" /></label>
                <label>"Name (one context only, optional)" <input name="name" autocomplete="off" /></label>
                <div><button class="btn btn-primary" type="submit">"Add"</button></div>
            </ActionForm>
            <ActionOutcome value=action.value() ok="Added: the clusters are read within seconds." />
            <p class="muted small">
                "Each context becomes a cluster. Only inline credentials are accepted (a token, or client certificate and key data): "
                "exec plugins, auth providers and file paths are refused. Credentials are stored encrypted and never shown again."
            </p>
        </section>
    }
}

#[component]
pub fn NamespacesPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || kube_query_from(&query.get()), list_namespaces);
    view! {
        <Title text="Namespaces" />
        <h1>"Namespaces"</h1>
        <KubeTabs current="/kubernetes/namespaces" />
        <KubeFilter path="/kubernetes/namespaces" placeholder="namespace" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <NamespaceTable list /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NamespaceTable(list: Listing<NamespaceSummary>) -> impl IntoView {
    let (total, page, per_page) = (list.total, list.page, list.per_page);
    let path = "/kubernetes/namespaces";
    let rows = list
        .items
        .into_iter()
        .map(|n| {
            view! {
                <tr class:disabled-row=n.gone_at.is_some()>
                    <td>
                        <a href=format!("/kubernetes/namespaces/{}", n.id)><strong>{n.name.clone()}</strong></a>
                        <div class="small muted">{n.cluster_name.clone()}</div>
                    </td>
                    <td><LevelBadge level=Some(n.enforce.level.clone()) /><span class="small muted">{format!(" {}", n.enforce.version)}</span></td>
                    <td><LevelBadge level=n.passing_level.clone() /></td>
                    <td>
                        <a href=format!("/kubernetes/pods?cluster={}&namespace={}", n.cluster_id, n.name)>{n.pods}</a>
                        {(n.pods_violating_enforce > 0).then(|| view! {
                            <div class="small error-text">{format!("{} would be refused now", n.pods_violating_enforce)}</div>
                        })}
                    </td>
                    <td>{n.workloads}</td>
                    <td><SeverityPills counts=n.open_findings.clone() /></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <SortHeader path label="Namespace" key="name" first_dir="asc" default=true />
                    <th scope="col">"Enforced"</th>
                    <SortHeader path label="All pods pass" key="level" first_dir="asc" default=false />
                    <SortHeader path label="Pods" key="pods" first_dir="desc" default=false />
                    <th scope="col">"Workloads"</th>
                    <SortHeader path label="Open findings" key="findings" first_dir="desc" default=false />
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Pager path total page per_page />
    }
}

#[component]
pub fn WorkloadsPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || kube_query_from(&query.get()), list_workloads);
    view! {
        <Title text="Workloads" />
        <h1>"Workloads"</h1>
        <KubeTabs current="/kubernetes/workloads" />
        <KubeFilter path="/kubernetes/workloads" placeholder="workload" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <WorkloadTable list /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WorkloadTable(list: Listing<WorkloadSummary>) -> impl IntoView {
    let (total, page, per_page) = (list.total, list.page, list.per_page);
    let path = "/kubernetes/workloads";
    let rows = list
        .items
        .into_iter()
        .map(|w| {
            view! {
                <tr class:disabled-row=w.gone_at.is_some()>
                    <td><a href=format!("/kubernetes/workloads/{}", w.id)><strong>{w.name.clone()}</strong></a></td>
                    <td>{w.kind.clone()}</td>
                    <td>{match w.namespace_id {
                        Some(id) => view! { <a href=format!("/kubernetes/namespaces/{id}")>{w.namespace.clone()}</a> }.into_any(),
                        None => view! { <span>{w.namespace.clone()}</span> }.into_any(),
                    }}<div class="small muted">{w.cluster_name.clone()}</div></td>
                    <td><LevelBadge level=w.pss_level.clone() /></td>
                    <td>{w.pods}{w.replicas.map(|r| format!(" / {r}"))}</td>
                    <td><SeverityPills counts=w.open_findings.clone() /></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <SortHeader path label="Workload" key="name" first_dir="asc" default=true />
                    <SortHeader path label="Kind" key="kind" first_dir="asc" default=false />
                    <SortHeader path label="Namespace" key="namespace" first_dir="asc" default=false />
                    <SortHeader path label="Template passes" key="level" first_dir="asc" default=false />
                    <th scope="col">"Pods / replicas"</th>
                    <SortHeader path label="Open findings" key="findings" first_dir="desc" default=false />
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Pager path total page per_page />
    }
}

#[component]
pub fn PodsPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || kube_query_from(&query.get()), list_pods);
    view! {
        <Title text="Pods" />
        <h1>"Pods"</h1>
        <KubeTabs current="/kubernetes/pods" />
        <KubeFilter path="/kubernetes/pods" placeholder="pod" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <PodTable list path="/kubernetes/pods" /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn PodTable(list: Listing<PodSummary>, path: &'static str) -> impl IntoView {
    let (total, page, per_page) = (list.total, list.page, list.per_page);
    if total == 0 {
        return view! { <p class="muted">"No pods."</p> }.into_any();
    }
    let rows = list
        .items
        .into_iter()
        .map(|p| {
            let workload = match (p.workload_id, p.workload_kind.clone(), p.workload_name.clone()) {
                (Some(id), Some(kind), Some(name)) => {
                    view! { <a href=format!("/kubernetes/workloads/{id}")>{format!("{kind}/{name}")}</a> }.into_any()
                }
                (None, Some(kind), Some(name)) => view! { <span>{format!("{kind}/{name}")}</span> }.into_any(),
                _ => view! { <span class="muted">"—"</span> }.into_any(),
            };
            view! {
                <tr class:disabled-row=p.gone_at.is_some()>
                    <td><a href=format!("/kubernetes/pods/{}", p.id)><strong>{p.name.clone()}</strong></a>
                        <div class="small muted">{p.phase.clone().unwrap_or_default()}</div></td>
                    <td>{match p.namespace_id {
                        Some(id) => view! { <a href=format!("/kubernetes/namespaces/{id}")>{p.namespace.clone()}</a> }.into_any(),
                        None => view! { <span>{p.namespace.clone()}</span> }.into_any(),
                    }}<div class="small muted">{p.cluster_name.clone()}</div></td>
                    <td>{workload}</td>
                    <td>{p.node.clone().unwrap_or_else(|| "—".into())}</td>
                    <td><LevelBadge level=p.pss_level.clone() /></td>
                    <td><SeverityPills counts=p.open_findings.clone() /></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <SortHeader path label="Pod" key="name" first_dir="asc" default=true />
                    <SortHeader path label="Namespace" key="namespace" first_dir="asc" default=false />
                    <th scope="col">"Workload"</th>
                    <th scope="col">"Node"</th>
                    <SortHeader path label="Passes" key="level" first_dir="asc" default=false />
                    <SortHeader path label="Open findings" key="findings" first_dir="desc" default=false />
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Pager path total page per_page />
    }
    .into_any()
}
