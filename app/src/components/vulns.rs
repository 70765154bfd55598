//! Vulnerability findings: the table shared by the list, the vulnerability and image
//! pages, and the analyst's suppress form.

use super::common::{SeverityBadge, Timestamp};
use crate::server_fns::scans::Suppress;
use coastguard_model::format_timestamp;
use coastguard_model::vulns::{SuppressionKind, VulnFindingView, VulnQuery, VulnState};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// A vulnerability's page.
pub fn vuln_href(id: &str) -> String {
    format!("/vulnerabilities/{}", super::listing::encode(id))
}

/// The vulnerability list's filters in the URL.
pub fn vuln_query_from(map: &ParamsMap) -> VulnQuery {
    let text = |k: &str| {
        map.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    VulnQuery {
        state: text("state"),
        severity: text("severity"),
        fixable: text("fixable").map(|v| v == "true" || v == "yes"),
        image: text("image").and_then(|v| v.parse().ok()),
        package: text("package"),
        vuln: text("vuln"),
        scanner: text("scanner"),
        sort: text("sort"),
        cursor: text("cursor"),
        limit: text("limit").and_then(|v| v.parse().ok()),
    }
}

/// The CVSS score and the exploit signals, compactly.
#[component]
pub fn RiskSignals(cvss: Option<f64>, epss: Option<f64>, kev: bool) -> impl IntoView {
    view! {
        <span class="signals small">
            {cvss.map(|s| view! { <span class="muted" title="CVSS base score">{format!("CVSS {s:.1}")}</span> })}
            {epss.filter(|e| *e > 0.0).map(|e| view! {
                <span class="muted" title="EPSS: probability of exploitation in the next 30 days">{format!("EPSS {:.1}%", e * 100.0)}</span>
            })}
            {kev.then(|| view! { <span class="kev" title="In CISA's Known Exploited Vulnerabilities catalogue">"known exploited"</span> })}
        </span>
    }
}

fn state_cell(f: &VulnFindingView) -> AnyView {
    match f.state {
        VulnState::Open => view! {
            <span class="status status-bad">"open"</span>
            {f.reopened_at.map(|r| view! { <div class="small muted">"reopened " {format_timestamp(r)}</div> })}
        }
        .into_any(),
        VulnState::Fixed => view! {
            <span class="status status-good">"fixed"</span>
            <div class="small muted">{f.fixed_at.map(format_timestamp)}</div>
        }
        .into_any(),
        VulnState::Suppressed => {
            let why = f.suppression.clone().map(|s| {
                let kind = match s.kind {
                    SuppressionKind::Accepted => "risk accepted",
                    SuppressionKind::NotAffected => "not affected",
                };
                let source = if s.source == "vex" { " (VEX)" } else { "" };
                view! {
                    <div class="small muted">
                        {kind}{source}" by "{s.created_by}": “"{s.justification}"”"
                        {s.expires_at.map(|u| format!(" until {}", format_timestamp(u)))}
                    </div>
                }
            });
            view! { <span class="status status-neutral">"suppressed"</span>{why} }.into_any()
        }
    }
}

/// The suppress form for one finding: the vulnerability in this package of this image,
/// in this image, or everywhere.
#[component]
pub fn SuppressForm(action: ServerAction<Suppress>, finding: VulnFindingView) -> impl IntoView {
    let label = format!("Why is {} acceptable here?", finding.vuln_id);
    view! {
        <details class="inline-details">
            <summary class="btn btn-small">"Suppress"</summary>
            <ActionForm action attr:class="stack-form">
                <input type="hidden" name="vuln_id" value=finding.vuln_id.clone() />
                <input type="hidden" name="image_id" value=finding.image.id.to_string() />
                <input type="hidden" name="pkg_name" value=finding.pkg_name.clone() />
                <label>"Scope"
                    <select name="scope">
                        <option value="package" selected=true>{format!("{} in this image", finding.pkg_name)}</option>
                        <option value="image">"every package of this image"</option>
                        <option value="everywhere">"every image"</option>
                    </select>
                </label>
                <label>"Kind"
                    <select name="kind">
                        <option value="accepted">"risk accepted"</option>
                        <option value="not_affected">"not affected"</option>
                    </select>
                </label>
                <input name="justification" required minlength="3" maxlength="1000" placeholder="Justification" aria-label=label />
                <input name="expires_in_days" type="number" min="1" max="3650" placeholder="days (optional)"
                    aria-label="Suppress for this many days" />
                <button class="btn btn-small btn-primary" type="submit">"Suppress"</button>
            </ActionForm>
        </details>
    }
}

#[component]
pub fn VulnTable(
    findings: Vec<VulnFindingView>,
    show_image: bool,
    /// The action that suppresses; `None` for people who may not.
    suppress: Option<ServerAction<Suppress>>,
) -> impl IntoView {
    if findings.is_empty() {
        return view! { <p class="muted">"No vulnerabilities."</p> }.into_any();
    }
    let row = move |f: VulnFindingView| {
        view! { <VulnRow finding=f show_image suppress /> }
    };
    view! {
        <div class="table-wrap">
        <table class="table vuln-table">
            <thead>
                <tr>
                    <th scope="col">"Severity"</th>
                    <th scope="col">"Vulnerability"</th>
                    <th scope="col">"Package"</th>
                    {show_image.then(|| view! { <th scope="col">"Image"</th> })}
                    <th scope="col">"State"</th>
                    <th scope="col">"Seen"</th>
                    {suppress.map(|_| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>
                <For each=move || findings.clone() key=|f| (f.id, f.state) children=row />
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// One row of [`VulnTable`]. A component of its own, erased with `.into_any()`, so the
/// table's view type stays shallow (release builds lay the whole type out).
#[component]
fn VulnRow(
    finding: VulnFindingView,
    show_image: bool,
    suppress: Option<ServerAction<Suppress>>,
) -> AnyView {
    let f = finding;
    let href = vuln_href(&f.vuln_id);
    let fix = match &f.fixed_version {
        Some(v) => view! { <div class="small">"fix: " <code>{v.clone()}</code></div> }.into_any(),
        None => view! { <div class="small muted">"no fix yet"</div> }.into_any(),
    };
    let image = show_image.then(|| {
        view! {
            <td class="wrap-anywhere"><a href=format!("/images/{}", f.image.id)>{f.image.name.clone()}</a></td>
        }
    });
    let action = suppress.map(|action| {
        let cell = (f.state == VulnState::Open)
            .then(|| view! { <SuppressForm action finding=f.clone() /> });
        view! { <td class="actions">{cell}</td> }
    });
    view! {
        <tr>
            <td>
                <SeverityBadge severity=f.severity />
                // The scanner's own word, where it says something the badge does not.
                {f.scanner_severity.clone().filter(|w| !w.eq_ignore_ascii_case(f.severity.as_str())).map(|w| view! { <div class="small muted" title="the scanner's own word">"scanner: " {w}</div> })}
            </td>
            <td>
                <a href=href><strong>{f.vuln_id.clone()}</strong></a>
                <div class="small muted clamp">{f.title.clone()}</div>
                <RiskSignals cvss=f.cvss_score epss=f.epss kev=f.known_exploited />
            </td>
            <td>
                <strong>{f.pkg_name.clone()}</strong>" "<code class="small">{f.installed_version.clone()}</code>
                <div class="small muted">{f.pkg_type.clone()}</div>
                {fix}
            </td>
            {image}
            <td>{state_cell(&f)}</td>
            <td class="small nowrap">
                <Timestamp at=Some(f.first_seen_at) />
                <div class="muted">"last " {format_timestamp(f.last_seen_at)}</div>
                {(!f.scanners.is_empty()).then(|| view! { <div class="muted">"by " {f.scanners.join(", ")}</div> })}
            </td>
            {action}
        </tr>
    }
    .into_any()
}
