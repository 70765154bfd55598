//! Every configuration finding, filtered.

use crate::components::common::{ErrorBox, Loading};
use crate::components::findings::{FindingsTable, TriageActions};
use crate::components::layout::use_me;
use crate::components::listing::{list_query_from, FilterBar, Pager};
use crate::pages::kube::KubeTabs;
use crate::server_fns::inventory::list_config_findings;
use coastguard_model::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FindingsPage() -> impl IntoView {
    view! {
        <Title text="Configuration findings" />
        <h1>"Configuration findings"</h1>
        <FindingsList path="/findings" family=None placeholder="check, container, image or host" />
    }
}

/// Who may do what dangerous thing in the clusters, and through which bindings: the
/// RBAC findings (`k8s.rbac.*`), on the cluster or namespace where they are granted.
#[component]
pub fn RbacPage() -> impl IntoView {
    view! {
        <Title text="Kubernetes RBAC" />
        <KubeTabs current="/kubernetes/rbac" />
        <h1>"RBAC: risky subjects"</h1>
        <p class="muted">
            "Users, groups and service accounts with full control, wildcards, secrets read, exec into pods, pod creation or escalate/bind/impersonate, where their bindings grant it (Kubernetes' own system: subjects are not listed); and pods mounting the token of an account bound to nothing."
        </p>
        <FindingsList path="/kubernetes/rbac" family=Some("k8s.rbac.*") placeholder="subject or check" />
    }
}

/// Configuration findings with the filter bar and pager; `family` keeps the list to one
/// family of checks whatever the query says.
#[component]
fn FindingsList(
    path: &'static str,
    family: Option<&'static str>,
    placeholder: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let actions = TriageActions::new();
    let data = Resource::new(
        move || {
            let mut q = list_query_from(&query.get());
            if let Some(f) = family {
                q.check = Some(f.to_string());
            }
            (q, actions.version())
        },
        |(q, _)| list_config_findings(q),
    );
    let me = use_me();
    view! {
        <FilterBar path placeholder states=&["accepted", "resolved", "all"] any_state="open" severity=true />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(list) => {
                        let (total, page, per_page) = (list.total, list.page, list.per_page);
                        view! {
                            <FindingsTable findings=list.items show_subject=true can_triage={role >= Role::Analyst} actions />
                            <Pager path total page per_page />
                        }
                        .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
