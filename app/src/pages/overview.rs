//! The landing page: posture at a glance, or how to get started on an empty install.

use super::getting_started::GettingStarted;
use crate::components::common::{
    CoverageMeter, ErrorBox, Loading, SeverityBadge, SeverityCountsView,
};
use crate::components::listing::encode;
use crate::components::risk::{risk_ranking, RankingResource, RiskRanking};
use crate::components::signatures::SignedImages;
use crate::server_fns::overview::{get_overview, get_setup_info};
use coastguard_model::risk::RiskSubject;
use coastguard_model::vulns::Coverage;
use coastguard_model::{CheckCount, Overview};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_overview());
    // Everything the overview may show is asked for here, before the <Suspense>
    // (see components::risk).
    let rankings = Rankings::new();
    let setup = Resource::new(|| (), |_| get_setup_info());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(o) if o.is_empty() => view! { <GettingStarted info=setup /> }.into_any(),
                    Ok(o) => view! { <Posture overview=o rankings /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The overview's five "riskiest" panels.
#[derive(Clone, Copy)]
struct Rankings {
    images: RankingResource,
    containers: RankingResource,
    hosts: RankingResource,
    pods: RankingResource,
    namespaces: RankingResource,
}

impl Rankings {
    fn new() -> Rankings {
        Rankings {
            images: risk_ranking(RiskSubject::Image, 5),
            containers: risk_ranking(RiskSubject::Container, 5),
            hosts: risk_ranking(RiskSubject::Host, 5),
            pods: risk_ranking(RiskSubject::Pod, 5),
            namespaces: risk_ranking(RiskSubject::Namespace, 5),
        }
    }
}

#[component]
fn Posture(overview: Overview, rankings: Rankings) -> impl IntoView {
    let r = rankings;
    let o = overview;
    view! {
        <section class="stats" aria-label="Inventory">
            <Stat label="Hosts" href="/hosts" value=o.hosts note=(o.hosts_unreachable > 0).then(|| format!("{} unreachable", o.hosts_unreachable)) />
            <Stat label="Images" href="/images" value=o.images note=None />
            <Stat label="Running containers" href="/containers?state=running" value=o.containers_running note=None />
            <Stat label="Clusters" href="/kubernetes" value=o.clusters note=None />
            <Stat label="Pods" href="/kubernetes/pods" value=o.pods_running note=None />
            <Stat label="Scans" href="/scans" value=o.scans note=None />
        </section>
        <section class="grid-3">
            <div class="panel">
                <h2><a href="/vulnerabilities">"Open vulnerabilities"</a></h2>
                <SeverityCountsView counts=o.open_vulnerabilities />
                <p class="small muted">
                    <a href="/vulnerabilities?fixable=true">{format!("{} with a fix available", o.fixable_vulnerabilities)}</a>
                    " · "
                    <a href="/vulnerabilities?state=suppressed">{format!("{} suppressed", o.suppressed_vulnerabilities)}</a>
                </p>
            </div>
            <div class="panel">
                <h2><a href="/findings">"Open configuration findings"</a></h2>
                <SeverityCountsView counts=o.open_config_findings />
            </div>
            <div class="panel">
                <h2>"Open runtime alerts"</h2>
                <SeverityCountsView counts=o.open_runtime_alerts />
            </div>
        </section>
        <ChecksPanel checks=o.config_by_check />
        <section class="grid-3" aria-label="Riskiest assets">
            <RiskRanking kind=RiskSubject::Image title="Riskiest images" data=r.images />
            <RiskRanking kind=RiskSubject::Container title="Riskiest containers" data=r.containers />
            <RiskRanking kind=RiskSubject::Host title="Riskiest hosts and nodes" data=r.hosts />
            // Kubernetes rankings where there is Kubernetes to rank.
            {(o.clusters > 0).then(|| view! {
                <RiskRanking kind=RiskSubject::Pod title="Riskiest pods" data=r.pods />
                <RiskRanking kind=RiskSubject::Namespace title="Riskiest namespaces" data=r.namespaces />
            })}
        </section>
        <p class="small"><a href="/risk">"Every ranking, and how scores work"</a></p>
        <ScanCoverage coverage=o.coverage />
        <SignedImages signatures=o.signatures where_="" />
    }
}

/// The checks behind the open configuration findings, each leading to its findings.
#[component]
fn ChecksPanel(checks: Vec<CheckCount>) -> impl IntoView {
    if checks.is_empty() {
        return ().into_any();
    }
    let rows = checks
        .into_iter()
        .map(|c| {
            let href = format!("/findings?check={}", encode(&c.check_id));
            view! {
                <tr>
                    <td><SeverityBadge severity=c.severity /></td>
                    <td><a href=href>{c.title}</a>" "<code class="small muted">{c.check_id}</code></td>
                    <td class="num">{c.open}</td>
                </tr>
            }.into_any()
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="checks-heading">
            <h2 id="checks-heading">"Open configuration findings by check"</h2>
            <table class="table">
                <thead><tr><th scope="col">"Severity"</th><th scope="col">"Check"</th><th scope="col" class="num">"Open"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// Whether the images that run have been scanned, and recently: the part of the estate
/// the vulnerability numbers above do not see.
#[component]
fn ScanCoverage(coverage: Coverage) -> impl IntoView {
    let c = coverage;
    view! {
        <section class="panel" aria-labelledby="coverage-heading">
            <h2 id="coverage-heading">"Scan coverage of running images"</h2>
            {if c.running_images == 0 {
                view! { <p class="muted">"No containers are running."</p> }.into_any()
            } else {
                view! {
                    <CoverageMeter part=c.scanned whole=c.running_images label="Running images scanned recently" />
                    <ul class="coverage-list">
                        <li>{format!("{} of {} running images scanned in the last {} days", c.scanned, c.running_images, c.max_age_days)}</li>
                        <li class:bad={c.outdated > 0}>
                            <a href="/findings?check=coverage.scan_outdated">{format!("{} only scanned longer ago", c.outdated)}</a>
                        </li>
                        <li class:bad={c.unscanned > 0}>
                            <a href="/findings?check=coverage.unscanned">{format!("{} never scanned", c.unscanned)}</a>
                        </li>
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn Stat(
    label: &'static str,
    href: &'static str,
    value: i64,
    note: Option<String>,
) -> impl IntoView {
    let shown = if href.is_empty() {
        view! { <span>{value}</span> }.into_any()
    } else {
        view! { <a href=href>{value}</a> }.into_any()
    };
    view! {
        <div class="stat">
            <div class="stat-value">{shown}</div>
            <div class="stat-label">{label}</div>
            {note.map(|n| view! { <div class="stat-note">{n}</div> })}
        </div>
    }
}
