//! One host: what the engine says about itself, and its findings.

use crate::components::common::{ErrorBox, Loading, Timestamp};
use crate::components::findings::{FindingsTable, TriageActions};
use crate::components::layout::use_me;
use crate::components::listing::{SeverityPills, StatusBadge};
use crate::components::risk::{risk_breakdown, BreakdownResource, RiskPanel};
use crate::components::signatures::{
    signature_coverage, CoverageResource, PlaceKind, PlaceSignatures,
};
use crate::server_fns::inventory::get_host;
use coastguard_model::docker::HostFacts;
use coastguard_model::inventory::HostDetail;
use coastguard_model::risk::RiskSubject;
use coastguard_model::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

pub fn route_id() -> impl Fn() -> i64 + Copy {
    let params = use_params_map();
    move || params.with(|p| p.get("id").and_then(|id| id.parse().ok()).unwrap_or(0))
}

#[component]
pub fn HostPage() -> impl IntoView {
    let id = route_id();
    let actions = TriageActions::new();
    let data = Resource::new(move || (id(), actions.version()), |(id, _)| get_host(id));
    let risk = risk_breakdown(RiskSubject::Host, id);
    let signatures = signature_coverage(PlaceKind::Host, id);
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <HostView detail role actions risk signatures /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn yes_no(v: bool) -> &'static str {
    if v {
        "yes"
    } else {
        "no"
    }
}

#[component]
fn HostView(
    detail: HostDetail,
    role: Role,
    actions: TriageActions,
    risk: BreakdownResource,
    signatures: CoverageResource,
) -> impl IntoView {
    let h = detail.host;
    let facts = detail.facts.unwrap_or_default();
    view! {
        <Title text=h.name.clone() />
        <nav class="crumbs"><a href="/hosts">"Hosts"</a>" / "</nav>
        <h1>{h.name.clone()} " " <StatusBadge status=h.status.clone() /></h1>
        {h.last_error.clone().map(|e| view! {
            <p class="alert alert-error">"Unreachable: " {e} ". Its last known inventory is shown."</p>
        })}
        <section class="stats">
            <div class="stat"><div class="stat-value"><a href=format!("/containers?host={}", h.id)>{h.containers_running}</a></div><div class="stat-label">"running containers"</div></div>
            <div class="stat"><div class="stat-value">{h.containers_total}</div><div class="stat-label">"containers"</div></div>
            <div class="stat"><div class="stat-value"><a href=format!("/images?host={}", h.id)>{h.images}</a></div><div class="stat-label">"images"</div></div>
            <div class="stat"><div class="stat-label">"open findings (host and containers)"</div><SeverityPills counts=h.open_findings.clone() /></div>
        </section>
        <RiskPanel data=risk />
        <PlaceSignatures data=signatures where_="on this host" />
        <section class="panel">
            <h2>"Engine"</h2>
            <HostFactsView facts endpoint=h.endpoint.clone().unwrap_or_default() last_seen=h.last_seen_at last_sync=h.last_sync_at />
        </section>
        <section class="panel">
            <h2>"Findings about the engine"</h2>
            <FindingsTable findings=detail.findings show_subject=false can_triage={role >= Role::Analyst} actions />
            <p class="small"><a href=format!("/findings?host={}", h.id)>"All findings on this host, containers included →"</a></p>
        </section>
    }
}

#[component]
fn HostFactsView(
    facts: HostFacts,
    endpoint: String,
    last_seen: Option<i64>,
    last_sync: Option<i64>,
) -> impl IntoView {
    let f = facts;
    let row = |k: &'static str, v: String| view! { <dt>{k}</dt><dd>{v}</dd> };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    view! {
        <dl class="facts">
            {row("Address", endpoint)}
            {row("Reached over", f.transport.map(|t| format!("{t:?}")).unwrap_or_else(|| "—".into()))}
            {row("Engine version", opt(&f.engine_version))}
            {row("API version", opt(&f.api_version))}
            {row("OS / kernel", format!("{} / {}", opt(&f.os), opt(&f.kernel)))}
            {row("Architecture", opt(&f.arch))}
            {row("Storage driver", opt(&f.storage_driver))}
            {row("Logging driver", opt(&f.logging_driver))}
            {row("Cgroup", format!("{} ({})", opt(&f.cgroup_version), opt(&f.cgroup_driver)))}
            {row("Seccomp profile", f.seccomp_profile.clone().unwrap_or_else(|| "none".into()))}
            {row("AppArmor / SELinux", format!("{} / {}", yes_no(f.apparmor), yes_no(f.selinux)))}
            {row("User namespaces / rootless", format!("{} / {}", yes_no(f.userns), yes_no(f.rootless)))}
            {row("Live restore", yes_no(f.live_restore).into())}
            {row("Inter-container communication (default bridge)", f.default_bridge_icc.map(|v| yes_no(v).to_string()).unwrap_or_else(|| "unknown".into()))}
            {row("Insecure registries", if f.insecure_registries.is_empty() { "none".into() } else { f.insecure_registries.join(", ") })}
            {row("Registry mirrors", if f.registry_mirrors.is_empty() { "none".into() } else { f.registry_mirrors.join(", ") })}
            {row("Security options", f.security_options.join(", "))}
            <dt>"Last seen"</dt><dd><Timestamp at=last_seen /></dd>
            <dt>"Last full sync"</dt><dd><Timestamp at=last_sync /></dd>
        </dl>
        {(!f.warnings.is_empty()).then(|| view! {
            <h3>"Engine warnings"</h3>
            <ul>{f.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }.into_any()).collect_view()}</ul>
        })}
    }
}
