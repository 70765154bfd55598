//! Trends for managers: posture over time from the daily snapshots, charts drawn on the
//! server, each with the CSV of the numbers behind it.

use crate::components::common::{ActionOutcome, ErrorBox, Loading};
use crate::components::layout::use_me;
use crate::components::listing::encode;
use crate::server_fns::trends::{get_trends_page, TakeSnapshotNow};
use coastguard_model::trends::{Chart, TrendsPage};
use coastguard_model::Role;
use coastguard_model::Severity;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn TrendsPage() -> impl IntoView {
    let query = use_query_map();
    let range = move || {
        query.with(|q| {
            (
                q.get("from").unwrap_or_default(),
                q.get("to").unwrap_or_default(),
                q.get("scope").unwrap_or_default(),
            )
        })
    };
    let take = ServerAction::<TakeSnapshotNow>::new();
    let data = Resource::new(
        move || (range(), take.version().get()),
        |((from, to, scope), _)| get_trends_page(from, to, scope),
    );
    let me = use_me();
    view! {
        <Title text="Trends" />
        <div class="page-head">
            <h1>"Trends"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let analyst = me.await.map(|m| m.role >= Role::Analyst).unwrap_or(false);
                    analyst.then(|| view! {
                        <ActionForm action=take attr:class="inline-form">
                            <button class="btn btn-small" type="submit">"Take today's snapshot now"</button>
                        </ActionForm>
                    })
                })}
            </Suspense>
        </div>
        <ActionOutcome value=take.value() ok="Snapshot taken." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <Trends page /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Trends(page: TrendsPage) -> impl IntoView {
    let t = page.trends;
    // The REST API names a scope by `host`, `team`, `cluster` or `namespace`.
    let scope_query = match t.scope.kind.as_str() {
        kind @ ("host" | "team" | "cluster" | "namespace") => {
            format!("&{kind}={}", encode(&t.scope.key))
        }
        _ => String::new(),
    };
    let range = format!("from={}&to={}{scope_query}", t.from, t.to);
    let chosen = t.scope.param();
    // A host that is gone or a team no container names any more is not offered, but
    // its history can still be shown: keep it selectable while it is.
    let mut scopes = t.scopes.clone();
    if !scopes.iter().any(|s| s.param() == chosen) {
        scopes.push(t.scope.clone());
    }
    let options = scopes
        .iter()
        .map(|s| {
            let value = s.param();
            let selected = value == chosen;
            view! { <option value=value selected=selected>{s.label.clone()}</option> }.into_any()
        })
        .collect_view();
    let empty = t.days.is_empty().then(|| {
        view! {
            <p class="panel muted">
                {format!("No snapshots of {} in this range yet. ", t.scope.label)}
                "Hosts, teams, clusters and namespaces get their first snapshot (with up to 90 days filled in from the findings) "
                "the next time snapshots are taken."
            </p>
        }
    });
    let last = t.days.last().cloned();
    let mttr = t
        .mttr_days
        .iter()
        .filter(|(s, _)| *s != Severity::Unknown)
        .map(|(s, d)| {
            let sla = t.sla.days(*s);
            view! {
                <tr>
                    <th scope="row">{s.label()}</th>
                    <td class="num">{d.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into())}</td>
                    <td class="num">{sla}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    let charts = page
        .charts
        .into_iter()
        .map(|(chart, svg)| {
            let csv = format!(
                "/api/v1/trends/charts/{}?format=csv&{range}",
                chart.as_str()
            );
            view! {
                <figure class="panel chart" data-chart=chart.as_str()>
                    <div class="chart-svg" inner_html=svg></div>
                    <figcaption class="small">
                        {caption(chart)} " " <a href=csv download="">"Download the data (CSV)"</a>
                    </figcaption>
                </figure>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <form class="filter-bar form-row" method="get" action="/trends">
            <label>"Scope" <select name="scope">{options}</select></label>
            <label>"From" <input type="date" name="from" value=t.from.clone() /></label>
            <label>"To" <input type="date" name="to" value=t.to.clone() /></label>
            <button class="btn" type="submit">"Show"</button>
            <span class="muted small">{format!("{}: {} daily snapshots in this range", t.scope.label, t.days.len())}</span>
        </form>
        {empty}
        {last.map(|d| view! {
            <section class="stats" aria-label="Latest snapshot">
                <div class="stat"><div class="stat-value">{d.open.total()}</div><div class="stat-label">{format!("open findings on {}", d.day)}</div></div>
                <div class="stat"><div class="stat-value">{d.sla_breaches}</div><div class="stat-label">"past their SLA"</div></div>
                <div class="stat"><div class="stat-value">{d.scan_coverage.map(|c| format!("{:.0}%", c * 100.0)).unwrap_or_else(|| "—".into())}</div><div class="stat-label">"running images scanned"</div></div>
                <div class="stat"><div class="stat-value">{d.signed_share.map(|c| format!("{:.0}%", c * 100.0)).unwrap_or_else(|| "—".into())}</div><div class="stat-label">"running images signed (verified)"</div></div>
                <div class="stat"><div class="stat-value">{d.open_alerts}</div><div class="stat-label">"open runtime alerts"</div></div>
            </section>
        })}
        <section class="panel">
            <h2>"Mean time to remediate in this range"</h2>
            <table class="table mttr">
                <thead><tr><th scope="col">"Severity"</th><th scope="col" class="num">"Days (mean)"</th><th scope="col" class="num">"SLA (days)"</th></tr></thead>
                <tbody>{mttr}</tbody>
            </table>
            <p class="muted small">"Admins set the SLA under " <a href="/admin/settings#sla">"Settings"</a> " or with " <code>"PUT /api/v1/settings/sla"</code> "."</p>
        </section>
        {charts}
        <p class="muted small">
            "Today's snapshot of the whole estate is retaken within seconds of a change, those of hosts and teams every 15 minutes; past days are kept. "
            "A host's numbers count the images it has or had (pulled or run), a team's the images of containers labelled " <code>"team=NAME"</code> ". Days the server did not run are "
            "filled in from the findings' first-seen and fixed times; those days cannot know what was suppressed "
            "then and have no scan coverage."
        </p>
    }
}

fn caption(chart: Chart) -> &'static str {
    match chart {
        Chart::Open => "Open vulnerability findings at the end of each day.",
        Chart::Flow => "Findings first seen and fixed, per week (weeks start on Monday).",
        Chart::Mttr => "Mean days from first seen to fixed, over the findings fixed each week.",
        Chart::Sla => "Open findings older than their severity's SLA at the end of each day.",
        Chart::Coverage => "Share of running images with a scan within the coverage age.",
    }
}
