//! One image: configuration, history (secrets redacted), findings, containers.

use super::containers::ContainerRows;
use super::host::route_id;
use super::image_vulns::{image_vulns_resources, ImageVulns, ImageVulnsResources};
use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::findings::{FindingsTable, TriageActions};
use crate::components::layout::use_me;
use crate::components::listing::{human_size, short_digest, SeverityPills, StatusBadge};
use crate::components::risk::{risk_breakdown, BreakdownResource, RiskPanel};
use crate::server_fns::inventory::get_image;
use crate::server_fns::signatures::CheckImageSignature;
use coastguard_model::format_timestamp;
use coastguard_model::inventory::ImageDetail;
use coastguard_model::risk::RiskSubject;
use coastguard_model::signatures::{ImageSignature, SignatureCheck};
use coastguard_model::Role;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ImagePage() -> impl IntoView {
    let id = route_id();
    let actions = TriageActions::new();
    let check = ServerAction::<CheckImageSignature>::new();
    let data = Resource::new(
        move || (id(), actions.version(), check.version().get()),
        |(id, _, _)| get_image(id),
    );
    let risk = risk_breakdown(RiskSubject::Image, id);
    let vulns = image_vulns_resources(id);
    let me = use_me();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(detail) => view! { <ImageView detail role actions risk vulns check /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ImageView(
    detail: ImageDetail,
    role: Role,
    actions: TriageActions,
    risk: BreakdownResource,
    vulns: ImageVulnsResources,
    check: ServerAction<CheckImageSignature>,
) -> impl IntoView {
    let i = detail.image;
    let title = i
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| short_digest(&i.digest));
    let f = detail.facts.unwrap_or_default();
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.join(" ")
        }
    };
    let history = f
        .history
        .iter()
        .enumerate()
        .map(|(n, h)| view! {
            <tr>
                <td class="num">{n}</td>
                <td><code class="history-line">{h.created_by.clone()}</code></td>
                <td class="num">{if h.empty_layer { "—".to_string() } else { human_size(Some(h.size)) }}</td>
                <td class="small">{h.created.map(format_timestamp)}</td>
            </tr>
        }.into_any())
        .collect_view();
    let labels = f
        .labels
        .iter()
        .map(|(k, v)| view! { <li><code>{k.clone()}</code>" = "{v.clone()}</li> }.into_any())
        .collect_view();
    view! {
        <Title text=title.clone() />
        <nav class="crumbs"><a href="/images">"Images"</a>" / "</nav>
        <h1>{title}</h1>
        <p class="muted"><code>{i.digest.clone()}</code></p>
        <section class="stats">
            <div class="stat"><div class="stat-value">{human_size(i.size_bytes)}</div><div class="stat-label">"size"</div></div>
            <div class="stat"><div class="stat-value">{i.containers}</div><div class="stat-label">"containers"</div></div>
            <div class="stat"><div class="stat-value">{i.hosts}</div><div class="stat-label">"hosts holding it"</div></div>
            <div class="stat"><div class="stat-label">"open vulnerabilities"</div><SeverityPills counts=i.open_vulnerabilities.clone() /></div>
            <div class="stat"><div class="stat-label">"open configuration findings"</div><SeverityPills counts=i.open_findings.clone() /></div>
            <div class="stat"><div class="stat-value small">{i.last_scan_at.map(format_timestamp).unwrap_or_else(|| "never".into())}</div><div class="stat-label">"last scanned"</div></div>
        </section>
        <section class="panel">
            <h2>"Configuration"</h2>
            <dl class="facts">
                <dt>"Tags"</dt><dd>{list(&i.tags)}</dd>
                <dt>"Repo digests"</dt><dd>{list(&f.repo_digests)}</dd>
                <dt>"Built"</dt><dd>{i.created.map(format_timestamp).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Platform"</dt><dd>{format!("{}/{}", f.os.clone().unwrap_or_default(), f.arch.clone().unwrap_or_default())}</dd>
                <dt>"User"</dt><dd>{f.user.clone().unwrap_or_else(|| "(root)".into())}</dd>
                <dt>"Entrypoint / command"</dt><dd><code>{list(&f.entrypoint)}" "{list(&f.cmd)}</code></dd>
                <dt>"Exposed ports"</dt><dd>{list(&f.exposed_ports)}</dd>
                <dt>"Health check"</dt><dd>{if f.healthcheck { "yes" } else { "no" }}</dd>
                <dt>"Environment (names only)"</dt><dd>{list(&f.env)}</dd>
                <dt>"Layers"</dt><dd>{f.layers.len()}</dd>
            </dl>
            {(!f.labels.is_empty()).then(|| view! { <h3>"Labels"</h3><ul class="labels">{labels}</ul> })}
        </section>
        <RiskPanel data=risk />
        <SignaturePanel signature=detail.signature.clone() image=i.id can_check={role >= Role::Analyst} check />
        <ImageVulns image=i.id resources=vulns layers=f.layers.clone() history=f.history.clone() />
        <section class="panel">
            <h2>"Configuration findings"</h2>
            <FindingsTable findings=detail.findings show_subject=false can_triage={role >= Role::Analyst} actions />
        </section>
        <section class="panel" id="containers">
            <h2>"Containers from this image"</h2>
            <ContainerRows items=detail.containers />
        </section>
        <section class="panel">
            <h2>"Build history"</h2>
            <p class="muted small">"Suspected secrets are shown as *** and never stored."</p>
            <table class="table">
                <thead><tr><th scope="col">"#"</th><th scope="col">"Instruction"</th><th scope="col">"Size"</th><th scope="col">"Created"</th></tr></thead>
                <tbody>{history}</tbody>
            </table>
        </section>
    }
}

/// The image's latest signature check: its status, each signature found and why it does
/// or does not verify; analysts can check again now.
#[component]
fn SignaturePanel(
    signature: Option<ImageSignature>,
    image: i64,
    can_check: bool,
    check: ServerAction<CheckImageSignature>,
) -> impl IntoView {
    let body = match signature {
        None => view! {
            <p class="muted">
                "Not checked yet. Images a registry names by digest are checked within ten minutes of being seen, "
                "and again every six hours; an image built here and never pushed has no digest to look up."
            </p>
        }
        .into_any(),
        Some(s) => {
            let rows = s
                .signatures
                .into_iter()
                .map(|c| view! { <SignatureRow check=c /> }.into_any())
                .collect_view();
            view! {
                <p>
                    <StatusBadge status=s.status.as_str().to_string() />
                    " " <span class="muted small">"Checked " <Timestamp at=Some(s.checked_at) /></span>
                </p>
                {s.error.map(|e| view! { <p class="alert alert-error">"Could not check: " {e}</p> })}
                <div class="table-wrap">
                    <table class="table">
                        <thead><tr>
                            <th scope="col">"Kind"</th><th scope="col">"Verdict"</th>
                            <th scope="col">"Signed by"</th><th scope="col">"Why"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <section class="panel" id="signature">
            <h2>"Signature"</h2>
            {body}
            {can_check.then(|| view! {
                <ActionForm action=check attr:class="inline-form">
                    <input type="hidden" name="id" value=image.to_string() />
                    <button class="btn btn-small" type="submit">"Check now"</button>
                </ActionForm>
                <ActionOutcome value=check.value() ok="Checked." />
            })}
        </section>
    }
}

#[component]
fn SignatureRow(check: SignatureCheck) -> impl IntoView {
    view! {
        <tr>
            <td>{check.kind.label()}</td>
            <td><StatusBadge status=check.verdict.as_str().to_string() /></td>
            <td>{check.signer.unwrap_or_else(|| "—".into())}</td>
            <td>{check.reason}</td>
        </tr>
    }
}
