//! One container: its security-relevant configuration and findings.

use super::host::route_id;
use crate::components::common::{ErrorBox, Loading, Timestamp};
use crate::components::findings::{FindingsTable, TriageActions};
use crate::components::layout::use_me;
use crate::components::listing::{SeverityPills, StatusBadge};
use crate::components::risk::{risk_breakdown, BreakdownResource, RiskPanel};
use crate::server_fns::inventory::get_container;
use coastguard_model::inventory::ContainerDetail;
use coastguard_model::risk::RiskSubject;
use coastguard_model::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ContainerPage() -> impl IntoView {
    let id = route_id();
    let actions = TriageActions::new();
    let data = Resource::new(
        move || (id(), actions.version()),
        |(id, _)| get_container(id),
    );
    let risk = risk_breakdown(RiskSubject::Container, id);
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <ContainerView detail role actions risk /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ContainerView(
    detail: ContainerDetail,
    role: Role,
    actions: TriageActions,
    risk: BreakdownResource,
) -> impl IntoView {
    let c = detail.container;
    let f = detail.facts.unwrap_or_default();
    let none = || "—".to_string();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let ports = if f.ports.is_empty() {
        "none".to_string()
    } else {
        f.ports
            .iter()
            .map(|p| {
                format!(
                    "{}:{} → {}",
                    if p.host_ip.is_empty() {
                        "0.0.0.0"
                    } else {
                        &p.host_ip
                    },
                    p.host_port,
                    p.container_port
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mounts = f
        .mounts
        .iter()
        .map(|m| view! {
            <li><code>{m.source.clone()}</code>" → "<code>{m.destination.clone()}</code>
                {format!(" ({}, {}{})", m.kind, if m.read_write { "read-write" } else { "read-only" },
                    if m.propagation.is_empty() { String::new() } else { format!(", {}", m.propagation) })}</li>
        }.into_any())
        .collect_view();
    let namespaces = [
        &f.pid_mode,
        &f.ipc_mode,
        &f.uts_mode,
        &f.network_mode,
        &f.userns_mode,
    ]
    .iter()
    .map(|m| m.as_deref().unwrap_or("private").to_string())
    .collect::<Vec<_>>()
    .join(", ");
    let state = if c.gone_at.is_some() {
        "gone".to_string()
    } else {
        c.state.clone()
    };
    view! {
        <Title text=c.name.clone() />
        <nav class="crumbs"><a href="/containers">"Containers"</a>" / "</nav>
        <h1>{c.name.clone()} " " <StatusBadge status=state /></h1>
        <p>
            "On " {match (c.host_id, c.host_name.clone()) {
                (Some(id), Some(name)) => view! { <a href=format!("/hosts/{id}")>{name}</a> }.into_any(),
                _ => view! { <span>"an unknown host"</span> }.into_any(),
            }}
            ", from " {match c.image_id {
                Some(id) => view! { <a href=format!("/images/{id}")><code>{c.image_ref.clone()}</code></a> }.into_any(),
                None => view! { <code>{c.image_ref.clone()}</code> }.into_any(),
            }}
            ". Open findings: " <SeverityPills counts=c.open_findings.clone() />
            ". Image signature: " {match detail.image_signature {
                Some(s) => view! { <StatusBadge status=s.as_str().to_string() /> }.into_any(),
                None => view! { <span class="muted">"not checked"</span> }.into_any(),
            }}
        </p>
        <RiskPanel data=risk />
        <section class="panel">
            <h2>"Findings"</h2>
            <FindingsTable findings=detail.findings show_subject=false can_triage={role >= Role::Analyst} actions />
        </section>
        <section class="panel">
            <h2>"Security configuration"</h2>
            <dl class="facts">
                <dt>"User"</dt><dd>{f.user.clone().unwrap_or_else(|| "root (not set)".into())}</dd>
                <dt>"Privileged"</dt><dd>{if f.privileged { "yes" } else { "no" }}</dd>
                <dt>"Capabilities added / dropped"</dt><dd>{list(&f.cap_add)}" / "{list(&f.cap_drop)}</dd>
                <dt>"Read-only root filesystem"</dt><dd>{if f.read_only_rootfs { "yes" } else { "no" }}</dd>
                <dt>"Seccomp / AppArmor"</dt><dd>{f.seccomp_profile.clone().unwrap_or_else(|| "default".into())}" / "{f.apparmor_profile.clone().unwrap_or_else(none)}</dd>
                <dt>"no-new-privileges"</dt><dd>{if f.no_new_privileges { "set" } else { "not set" }}</dd>
                <dt>"Namespaces (pid, ipc, uts, network, userns)"</dt>
                <dd>{namespaces}</dd>
                <dt>"Memory / CPU / processes"</dt>
                <dd>{f.memory_limit.map(|m| format!("{} MiB", m / (1024 * 1024))).unwrap_or_else(|| "unlimited".into())}" / "
                    {f.cpu_limit.map(|c| format!("{c:.2} CPUs")).unwrap_or_else(|| "unlimited".into())}" / "
                    {f.pids_limit.map(|p| p.to_string()).unwrap_or_else(|| "unlimited".into())}</dd>
                <dt>"Restart policy"</dt><dd>{f.restart_policy.clone().unwrap_or_else(|| "no".into())}{f.restart_max_retries.filter(|n| *n > 0).map(|n| format!(" (max {n})"))}</dd>
                <dt>"Health check"</dt><dd>{f.healthcheck.clone().map(|h| h.join(" ")).unwrap_or_else(|| "none".into())}</dd>
                <dt>"Published ports"</dt><dd>{ports}</dd>
                <dt>"Networks"</dt><dd>{list(&f.networks)}</dd>
                <dt>"Devices"</dt><dd>{list(&f.devices)}</dd>
                <dt>"Environment (names only)"</dt><dd>{list(&f.env)}</dd>
                <dt>"Created / started"</dt><dd><Timestamp at=c.created />" / "<Timestamp at=c.started_at /></dd>
                <dt>"Restarts"</dt><dd>{f.restart_count}</dd>
                <dt>"Engine id"</dt><dd><code>{c.external_id.clone()}</code></dd>
            </dl>
            <h3>"Mounts"</h3>
            {if f.mounts.is_empty() { view! { <p class="muted">"none"</p> }.into_any() } else { view! { <ul>{mounts}</ul> }.into_any() }}
        </section>
    }
}
