//! Accepted risks and not-affected statements, manual and from VEX documents.

use crate::components::common::{ActionOutcome, ErrorBox, Loading};
use crate::components::layout::use_me;
use crate::components::vulns::vuln_href;
use crate::server_fns::scans::{list_suppressions, RevokeSuppression, Suppress};
use coastguard_model::vulns::{SuppressionKind, SuppressionView};
use coastguard_model::{format_timestamp, Role};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SuppressionsPage() -> impl IntoView {
    let suppress = ServerAction::<Suppress>::new();
    let revoke = ServerAction::<RevokeSuppression>::new();
    let data = Resource::new(
        move || (suppress.version().get(), revoke.version().get()),
        |_| list_suppressions(),
    );
    let me = use_me();
    view! {
        <Title text="Suppressions" />
        <nav class="crumbs"><a href="/vulnerabilities">"Vulnerabilities"</a>" / "</nav>
        <h1>"Suppressions"</h1>
        <p class="muted">
            "A suppression takes the findings it matches out of the open counts; they stay listed with the reason. "
            "When it expires or is revoked, they are open again. Suppressions are the vulnerability "
            <a href="/exceptions?kind=vulnerability">"exceptions"</a>
            ", under the same policy (an expiry or a second analyst's approval where it asks)."
        </p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let can_triage = me.await.map(|m| m.role >= Role::Analyst).unwrap_or(false);
                match data.await {
                    Ok(items) => view! {
                        {can_triage.then(|| view! { <NewSuppressionForm suppress /> })}
                        <ActionOutcome value=revoke.value() ok="Revoked: its findings are open again." />
                        <SuppressionTable items can_triage revoke />
                    }
                    .into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewSuppressionForm(suppress: ServerAction<Suppress>) -> impl IntoView {
    view! {
        <details class="panel">
            <summary><strong>"New suppression"</strong></summary>
            <ActionForm action=suppress attr:class="form-grid">
                <input type="hidden" name="scope" value="custom" />
                <label>"Vulnerability" <input name="vuln_id" required maxlength="200" placeholder="CVE-2024-1234" /></label>
                <label>"Only image (optional)" <input name="image_id" type="number" min="1" placeholder="image id" /></label>
                <label>"Only package (optional)" <input name="pkg_name" maxlength="200" /></label>
                <label>"Kind"
                    <select name="kind">
                        <option value="accepted">"risk accepted"</option>
                        <option value="not_affected">"not affected"</option>
                    </select>
                </label>
                <label class="span-all">"Justification" <input name="justification" required minlength="3" maxlength="1000" /></label>
                <label>"Expires after days (optional)" <input name="expires_in_days" type="number" min="1" max="3650" /></label>
                <div class="span-all"><button class="btn btn-primary" type="submit">"Suppress"</button></div>
            </ActionForm>
            <ActionOutcome value=suppress.value() ok="Suppression created." />
        </details>
    }
}

#[component]
fn SuppressionTable(
    items: Vec<SuppressionView>,
    can_triage: bool,
    revoke: ServerAction<RevokeSuppression>,
) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="muted">"No suppressions."</p> }.into_any();
    }
    let rows = items
        .into_iter()
        .map(|s| {
            let status = if s.revoked_at.is_some() {
                view! { <span class="status status-neutral">"revoked"</span> }.into_any()
            } else if !s.active {
                view! { <span class="status status-neutral">"expired"</span> }.into_any()
            } else {
                view! { <span class="status status-good">"active"</span> }.into_any()
            };
            let scope = match (&s.image, &s.pending_image, &s.pkg_name) {
                (None, None, None) => view! { <span>"every image"</span> }.into_any(),
                (image, pending, pkg) => view! {
                    {pkg.clone().map(|p| view! { <code>{p}</code> })}
                    {(pkg.is_some() && image.is_none() && pending.is_none()).then_some(" in every image")}
                    {image.clone().map(|i| view! { " in " <a href=format!("/images/{}", i.id)>{i.name}</a> })}
                    {pending.clone().map(|d| view! {
                        " in " <code title=d.clone()>{d.get(..19).unwrap_or(&d).to_string()}</code>
                        <div class="small muted">"no image has this digest yet: applies when one appears"</div>
                    })}
                }
                .into_any(),
            };
            let kind = match s.kind {
                SuppressionKind::Accepted => "risk accepted",
                SuppressionKind::NotAffected => "not affected",
            };
            let action = (can_triage && s.revoked_at.is_none()).then(|| {
                view! {
                    <ActionForm action=revoke attr:class="inline-form">
                        <input type="hidden" name="id" value=s.id.to_string() />
                        <button class="btn btn-small btn-danger" type="submit">"Revoke"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr>
                    <td><a href=vuln_href(&s.vuln_id)><strong>{s.vuln_id.clone()}</strong></a></td>
                    <td>{scope}</td>
                    <td>{kind}<div class="small muted">{format!("{} by {}", s.source, s.created_by)}</div></td>
                    <td class="evidence">{s.justification.clone()}</td>
                    <td class="small nowrap">{format_timestamp(s.created_at)}
                        <div class="muted">{s.expires_at.map(|e| format!("until {}", format_timestamp(e))).unwrap_or_else(|| "until revoked".into())}</div>
                    </td>
                    <td class="num">{s.findings}</td>
                    <td>{status}</td>
                    {can_triage.then(|| view! { <td class="actions">{action}</td> })}
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Vulnerability"</th>
                    <th scope="col">"Scope"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"Justification"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Findings"</th>
                    <th scope="col">"Status"</th>
                    {can_triage.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
