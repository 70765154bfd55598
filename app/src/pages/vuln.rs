//! One vulnerability: what it is, and every image, container and host it affects.

use super::containers::ContainerRows;
use crate::components::common::{ActionOutcome, ErrorBox, Loading, SeverityBadge};
use crate::components::layout::use_me;
use crate::components::listing::encode;
use crate::components::vulns::{RiskSignals, VulnTable};
use crate::server_fns::scans::{get_vulnerability, Suppress};
use coastguard_model::vulns::VulnerabilityDetail;
use coastguard_model::{format_timestamp, Role};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn VulnPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let suppress = ServerAction::<Suppress>::new();
    let data = Resource::new(
        move || (id(), suppress.version().get()),
        |(id, _)| get_vulnerability(id),
    );
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <VulnView detail role suppress /> }.into_any(),
                    Err(e) => view! { <nav class="crumbs"><a href="/vulnerabilities">"Vulnerabilities"</a>" / "</nav><ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Only web links become links: a report could carry `javascript:` or worse.
fn reference_link(url: String) -> AnyView {
    if url.starts_with("https://") || url.starts_with("http://") {
        view! { <li><a href=url.clone() rel="noopener noreferrer nofollow" target="_blank">{url.clone()}</a></li> }
            .into_any()
    } else {
        view! { <li><code>{url}</code></li> }.into_any()
    }
}

#[component]
fn VulnView(
    detail: VulnerabilityDetail,
    role: Role,
    suppress: ServerAction<Suppress>,
) -> impl IntoView {
    let d = detail;
    let can_triage = role >= Role::Analyst;
    let aliases = if d.aliases.is_empty() {
        "—".to_string()
    } else {
        d.aliases.join(", ")
    };
    let refs = d
        .references
        .iter()
        .cloned()
        .map(reference_link)
        .collect_view();
    let hosts = d
        .hosts
        .iter()
        .map(|(id, name)| {
            view! { <li><a href=format!("/hosts/{id}")>{name.clone()}</a></li> }.into_any()
        })
        .collect_view();
    let open = d
        .findings
        .iter()
        .filter(|f| f.state == coastguard_model::vulns::VulnState::Open)
        .count();
    let more = (d.findings_total > d.findings.len() as i64).then(|| {
        view! {
            <p class="muted">
                {format!("Showing the worst {} of {} findings. ", d.findings.len(), d.findings_total)}
                <a href=format!("/vulnerabilities?state=all&vuln={}", encode(&d.vuln_id))>"All of them in the list"</a>
            </p>
        }
    });
    let vuln_id = d.vuln_id.clone();
    view! {
        <Title text=d.vuln_id.clone() />
        <nav class="crumbs"><a href="/vulnerabilities">"Vulnerabilities"</a>" / "</nav>
        <h1>{d.vuln_id.clone()}" "<SeverityBadge severity=d.severity /></h1>
        {d.title.clone().map(|t| view! { <p class="lead">{t}</p> })}
        <section class="stats">
            <div class="stat"><div class="stat-value">{d.findings_total}</div><div class="stat-label">"findings"</div></div>
            <div class="stat"><div class="stat-value">{open}</div><div class="stat-label">"open (of those shown)"</div></div>
            <div class="stat"><div class="stat-value">{d.containers.len()}</div><div class="stat-label">"containers running it"</div></div>
            <div class="stat"><div class="stat-value">{d.hosts.len()}</div><div class="stat-label">"hosts"</div></div>
        </section>
        <section class="panel">
            <h2>"About"</h2>
            <dl class="facts">
                <dt>"Also known as"</dt><dd>{aliases}</dd>
                <dt>"Risk"</dt><dd><RiskSignals cvss=d.cvss_score epss=d.epss kev=d.known_exploited /></dd>
                <dt>"CVSS vector"</dt><dd><code>{d.cvss_vector.clone().unwrap_or_else(|| "—".into())}</code></dd>
                <dt>"Published"</dt><dd>{d.published_at.map(format_timestamp).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Modified"</dt><dd>{d.modified_at.map(format_timestamp).unwrap_or_else(|| "—".into())}</dd>
            </dl>
            {d.description.clone().map(|t| view! { <p class="description">{t}</p> })}
            {(!d.references.is_empty()).then(|| view! { <h3>"References"</h3><ul class="refs">{refs}</ul> })}
        </section>
        <section class="panel">
            <h2>"Affected images and packages"</h2>
            <ActionOutcome value=suppress.value() ok="Suppressed." />
            <VulnTable findings=d.findings.clone() show_image=true suppress=can_triage.then_some(suppress) />
            {more}
            {can_triage.then(|| view! {
                <details class="inline-details">
                    <summary class="btn btn-small">{format!("Suppress {vuln_id} everywhere")}</summary>
                    <ActionForm action=suppress attr:class="stack-form">
                        <input type="hidden" name="vuln_id" value=vuln_id.clone() />
                        <input type="hidden" name="image_id" value="" />
                        <input type="hidden" name="scope" value="custom" />
                        <label>"Only in package (optional)" <input name="pkg_name" maxlength="200" /></label>
                        <label>"Kind"
                            <select name="kind">
                                <option value="accepted">"risk accepted"</option>
                                <option value="not_affected">"not affected"</option>
                            </select>
                        </label>
                        <label>"Justification" <input name="justification" required minlength="3" maxlength="1000" /></label>
                        <label>"Days (optional)" <input name="expires_in_days" type="number" min="1" max="3650" /></label>
                        <button class="btn btn-small btn-primary" type="submit">"Suppress"</button>
                    </ActionForm>
                </details>
            })}
        </section>
        <section class="panel">
            <h2>"Containers running an affected image"</h2>
            <ContainerRows items=d.containers.clone() />
            {(!d.hosts.is_empty()).then(|| view! { <h3>"Hosts"</h3><ul class="labels">{hosts}</ul> })}
        </section>
    }
}
