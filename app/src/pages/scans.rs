//! Scan reports: upload (analysts), and every report received, newest first.

use crate::components::common::{ErrorBox, Loading};
use crate::components::layout::use_me;
use crate::components::listing::href_with;
use crate::components::listing::SeverityPills;
use crate::error::AppError;
use crate::server_fns::scans::{list_feeds, list_scans, upload_scan, UploadOutcome};
use coastguard_model::vulns::{FeedStatus, IngestSummary, ScanView};
use coastguard_model::{format_timestamp, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ScansPage() -> impl IntoView {
    let query = use_query_map();
    let upload = Action::new_local(|data: &web_sys::FormData| upload_scan(data.clone().into()));
    let data = Resource::new(
        move || (query.with(|q| q.get("cursor")), upload.version().get()),
        |(cursor, _)| list_scans(None, cursor),
    );
    let feeds = Resource::new(move || upload.version().get(), |_| list_feeds());
    let me = use_me();
    view! {
        <Title text="Scans" />
        <div class="page-head">
            <h1>"Scans"</h1>
            <div class="head-links">
                <a class="btn btn-ghost" href="/vulnerabilities">"Vulnerabilities"</a>
            </div>
        </div>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                (role >= Role::Analyst).then(|| view! { <UploadForm upload /> })
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match feeds.await {
                    Ok(feeds) => view! { <Feeds feeds /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel reports">
            <h2>"Reports received"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(page) => {
                            let next = page.next_cursor.clone();
                            view! {
                                <ScanTable scans=page.items show_image=true />
                                <nav class="pager" aria-label="Pages">
                                    <span class="pager-links">
                                        {query.with_untracked(|q| q.get("cursor").is_some()).then(|| view! {
                                            <a href="/scans" rel="first">"← Newest"</a>
                                        })}
                                        {next.map(|c| view! {
                                            <a href=href_with("/scans", &query.get_untracked(), &[("cursor", Some(c))]) rel="next">"Older →"</a>
                                        })}
                                    </span>
                                </nav>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Exploit intelligence: which feeds were imported, when, and how much of the estate
/// they touch.
#[component]
fn Feeds(feeds: Vec<FeedStatus>) -> impl IntoView {
    let none = feeds.is_empty().then(|| {
        view! { <tr><td colspan="5" class="muted">"No feed imported yet."</td></tr> }
    });
    let rows = feeds
        .into_iter()
        .map(|f| {
            view! {
                <tr data-feed=f.kind.clone()>
                    <th scope="row">{f.name}</th>
                    <td>{f.version.unwrap_or_else(|| "—".into())}</td>
                    <td class="num">{f.entries}</td>
                    <td class="num">{f.matched}</td>
                    <td>{format_timestamp(f.imported_at)}" by "{f.imported_by}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <section class="panel feeds" aria-labelledby="feeds-heading">
            <h2 id="feeds-heading">"Exploit intelligence"</h2>
            <p class="muted small">
                "Risk scores weigh a vulnerability ×3 when it is known to be exploited and by its EPSS probability. "
                "Scanners that carry them (Grype) are used as they are; import the feeds for the rest: "
                "CISA's " <code>"known_exploited_vulnerabilities.json"</code> " and FIRST's daily "
                <code>"epss_scores-YYYY-MM-DD.csv.gz"</code> ", uploaded here like a report."
            </p>
            <table class="table">
                <thead><tr>
                    <th scope="col">"Feed"</th><th scope="col">"Version"</th><th scope="col" class="num">"CVEs"</th>
                    <th scope="col" class="num">"Found here (at import)"</th><th scope="col">"Imported"</th>
                </tr></thead>
                <tbody>{rows}{none}</tbody>
            </table>
        </section>
    }
}

type UploadAction = Action<web_sys::FormData, Result<Vec<UploadOutcome>, AppError>>;

/// A multipart form. With JavaScript it is sent in the background and the outcome of
/// each file is shown here; without, the browser posts it and comes back to this page.
#[component]
fn UploadForm(upload: UploadAction) -> impl IntoView {
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        use wasm_bindgen::JsCast;
        ev.prevent_default();
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        if let Ok(data) = web_sys::FormData::new_with_form(&form) {
            upload.dispatch_local(data);
        }
    };
    let pending = upload.pending();
    view! {
        <section class="panel">
            <h2>"Upload reports"</h2>
            <p class="muted small">
                "Trivy, Grype, SARIF 2.1.0 and CycloneDX (1.4–1.6) JSON, a VEX document (CycloneDX, OpenVEX), "
                "or an exploit intelligence feed (CISA's KEV catalog JSON, FIRST's EPSS CSV); "
                "gzip-compressed files too. The format is detected from the content. Pipelines use "
                <code>"POST /api/v1/scans"</code> " or " <code>"coastguard ingest"</code> "."
            </p>
            <form method="post" action="/ui/upload_scan" enctype="multipart/form-data" class="form-grid" on:submit=on_submit>
                <label>"Image (optional)"
                    <input name="image" placeholder="sha256:… or repository:tag" maxlength="300" />
                    <span class="hint">"Needed when a report names no image (filesystem scans, most SARIF); overrides the image a report names."</span>
                </label>
                <label>"Report files"
                    <input type="file" name="report" multiple required accept=".json,.sarif,.gz,.cdx,.csv,application/json,application/gzip,text/csv" />
                </label>
                <div class="span-all">
                    <button type="submit" class="btn btn-primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Uploading…" } else { "Upload" }}
                    </button>
                </div>
            </form>
            {move || upload.value().get().map(|result| match result {
                Ok(outcomes) => view! { <UploadOutcomes outcomes /> }.into_any(),
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn UploadOutcomes(outcomes: Vec<UploadOutcome>) -> impl IntoView {
    let items = outcomes
        .into_iter()
        .map(|o| match o.error {
            Some(error) => view! {
                <div class="alert alert-error" role="alert">
                    <strong>{o.file}</strong>": refused, nothing stored. "{error}
                </div>
            }
            .into_any(),
            None => {
                let summaries = o
                    .summaries
                    .into_iter()
                    .map(|s| view! { <SummaryView summary=s /> }.into_any())
                    .collect_view();
                view! {
                    <div class="alert alert-ok" role="status">
                        <strong>{o.file}</strong>
                        {summaries}
                    </div>
                }
                .into_any()
            }
        })
        .collect_view();
    view! { <div class="upload-outcomes" aria-live="polite">{items}</div> }
}

/// What one report did, in words.
#[component]
fn SummaryView(summary: IngestSummary) -> impl IntoView {
    let s = summary;
    let what = if s.kind == "feed" {
        format!("{}: {} CVEs read", s.scanner, s.entries)
    } else if s.kind == "vex" {
        format!(
            "{} VEX statements read, {} suppressions active",
            s.entries, s.suppressions
        )
    } else {
        format!(
            "{} {} report: {} vulnerability entries, {} findings ({} new, {} updated, {} unchanged, {} reopened, {} fixed){}",
            s.scanner,
            s.kind,
            s.entries,
            s.findings,
            s.created,
            s.updated,
            s.unchanged,
            s.reopened,
            s.fixed,
            if s.config_findings > 0 {
                format!(", {} misconfigurations and secrets", s.config_findings)
            } else {
                String::new()
            }
        )
    };
    let image = s.image.clone().map(|i| {
        view! { " on " <a href=format!("/images/{}", i.id)>{i.name}</a> }
    });
    let notes = s
        .notes
        .iter()
        .map(|n| view! { <li>{n.clone()}</li> }.into_any())
        .collect_view();
    let statements = (!s.vex.is_empty()).then(|| {
        let rows = s
            .vex
            .iter()
            .map(|m| {
                let class = if m.scope == "nothing" { "muted" } else { "" };
                view! {
                    <tr class=class>
                        <td><code>{m.vuln_id.clone()}</code></td>
                        <td class="evidence">{m.product.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{m.status.replace('_', " ")}</td>
                        <td>{m.matched.clone()}</td>
                        <td>{if m.suppresses { "suppresses" } else { "—" }}</td>
                    </tr>
                }
                .into_any()
            })
            .collect_view();
        view! {
            <details>
                <summary>"What each statement matched"</summary>
                <table class="table">
                    <thead><tr>
                        <th scope="col">"Vulnerability"</th>
                        <th scope="col">"Product"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Applies to"</th>
                        <th scope="col">"Effect"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        }
    });
    view! {
        <div class="summary">
            <p>{what}{image}</p>
            {(s.kind != "vex" && s.kind != "feed").then(|| view! { <p>"In the report: " <SeverityPills counts=s.by_severity.clone() /></p> })}
            {(!s.notes.is_empty()).then(|| view! { <ul class="small muted">{notes}</ul> })}
            {statements}
        </div>
    }
}

/// Scans as a table; the image column is left out on an image's own page.
#[component]
pub fn ScanTable(scans: Vec<ScanView>, show_image: bool) -> impl IntoView {
    if scans.is_empty() {
        return view! { <p class="muted">"No scans yet."</p> }.into_any();
    }
    let rows = scans
        .into_iter()
        .map(|s| {
            let image = show_image.then(|| {
                let cell = match &s.image {
                    Some(i) => view! { <a href=format!("/images/{}", i.id)>{i.name.clone()}</a> }.into_any(),
                    None => view! { <span class="muted">{s.artifact_name.clone().unwrap_or_else(|| "—".into())}</span> }.into_any(),
                };
                view! { <td class="wrap-anywhere">{cell}</td> }
            });
            let summary = s.summary.clone().unwrap_or_default();
            let changes = if s.kind == "vex" {
                format!("{} suppressions", summary.suppressions)
            } else {
                format!(
                    "{} new · {} fixed · {} reopened",
                    summary.created, summary.fixed, summary.reopened
                )
            };
            view! {
                <tr>
                    <td class="small nowrap">{format_timestamp(s.received_at)}
                        {s.scanned_at.map(|t| view! { <div class="muted">"scanned " {format_timestamp(t)}</div> })}
                    </td>
                    <td>
                        <strong>{s.scanner.clone()}</strong>" "<span class="small muted">{s.scanner_version.clone()}</span>
                        <div class="small muted">{format!("{} · {}", s.format, s.kind)}</div>
                    </td>
                    {image}
                    <td class="num">{s.entries}</td>
                    <td><SeverityPills counts=summary.by_severity.clone() /></td>
                    <td class="small">{changes}</td>
                    <td class="small">{s.uploaded_by.clone().unwrap_or_default()}<div class="muted">{format!("via {}", s.source)}</div></td>
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <div class="table-wrap">
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Received"</th>
                    <th scope="col">"Scanner"</th>
                    {show_image.then(|| view! { <th scope="col">"Image"</th> })}
                    <th scope="col">"Entries"</th>
                    <th scope="col">"Findings in report"</th>
                    <th scope="col">"Changes"</th>
                    <th scope="col">"Sent by"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        </div>
    }
    .into_any()
}
