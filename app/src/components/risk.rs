//! Risk scores: a ranked list, a score badge and the breakdown that explains a score.
//!
//! The panels read resources their page made with [`risk_ranking`] and [`risk_breakdown`]
//! before any `<Suspense>`. A resource made inside a suspended view is made again each
//! time the server re-checks that view for reads, and a copy that never loads holds the
//! streamed page open for ever (Leptos' own advice: hoist data loading out of Suspense).

use crate::components::common::{ErrorBox, Loading, Timestamp};
use crate::error::AppError;
use crate::server_fns::risk::{get_risk_breakdown, get_risk_ranking};
use coastguard_model::risk::{RiskBreakdown, RiskEntry, RiskFactor, RiskSubject};
use leptos::prelude::*;

pub type RankingResource = Resource<Result<Vec<RiskEntry>, AppError>>;
pub type BreakdownResource = Resource<Result<Option<RiskBreakdown>, AppError>>;

/// The `limit` riskiest subjects of one kind, for a [`RiskRanking`].
pub fn risk_ranking(kind: RiskSubject, limit: i64) -> RankingResource {
    Resource::new(move || (), move |_| get_risk_ranking(kind, limit))
}

/// The breakdown of the subject whose id `id` gives (the page's route), for a [`RiskPanel`].
pub fn risk_breakdown(
    kind: RiskSubject,
    id: impl Fn() -> i64 + Send + Sync + 'static,
) -> BreakdownResource {
    Resource::new(id, move |id| get_risk_breakdown(kind, id))
}

/// A score with its band (text as well as colour, so it reads without colour).
#[component]
pub fn ScoreBadge(score: i64) -> impl IntoView {
    let band = match score {
        s if s >= 75 => "critical",
        s if s >= 50 => "high",
        s if s >= 25 => "medium",
        s if s > 0 => "low",
        _ => "none",
    };
    view! {
        <span class=format!("score score-{band}") title=format!("risk {score} of 100 ({band})")>
            {score}
        </span>
    }
}

/// The riskiest subjects of one kind, for the overview and the risk page.
#[component]
pub fn RiskRanking(kind: RiskSubject, title: &'static str, data: RankingResource) -> impl IntoView {
    view! {
        <div class="panel risk-ranking" data-kind=kind.as_str()>
            <h2>{title}</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted">"Nothing scored above 0."</p> }.into_any()
                        }
                        Ok(list) => {
                            let rows = list
                                .into_iter()
                                .map(|e| {
                                    let href = e.subject.page(e.id).unwrap_or_default();
                                    let factor = e.top_factor.map(|f| f.label()).unwrap_or("");
                                    view! {
                                        <tr>
                                            <td><ScoreBadge score=e.score /></td>
                                            <td class="clamp"><a href=href>{e.name}</a></td>
                                            <td class="muted small">{factor}</td>
                                        </tr>
                                    }.into_any()
                                })
                                .collect_view();
                            view! {
                                <table class="table compact">
                                    <thead><tr><th scope="col">"Risk"</th><th scope="col">"Name"</th><th scope="col">"Mostly"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// A subject's score and why: for the image, container and host pages.
#[component]
pub fn RiskPanel(data: BreakdownResource) -> impl IntoView {
    view! {
        <section class="panel risk-panel" aria-labelledby="risk-heading">
            <h2 id="risk-heading">"Risk"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(Some(b)) => view! { <Breakdown breakdown=b /> }.into_any(),
                        Ok(None) => view! {
                            <p class="muted">"Not scored yet: scores are computed within seconds of a change."</p>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Breakdown(breakdown: RiskBreakdown) -> impl IntoView {
    let b = breakdown;
    let summary = b.fix_summary();
    let factors = b
        .factors
        .iter()
        .filter(|f| f.points > 0.0)
        .cloned()
        .map(|f| view! { <Factor factor=f /> }.into_any())
        .collect_view();
    let fixes = (!b.fixes.is_empty()).then(|| {
        let rows = b
            .fixes
            .iter()
            .map(|f| {
                view! {
                    <li>
                        <a href=f.link.clone()>{f.package.clone()}</a>
                        {format!(": {} finding{}, {} with a fix", f.findings, if f.findings == 1 { "" } else { "s" }, f.fixable)}
                    </li>
                }.into_any()
            })
            .collect_view();
        view! {
            <h3>"What would lower it most"</h3>
            <ol class="fixes">{rows}</ol>
        }
    });
    view! {
        <div class="risk-head">
            <ScoreBadge score=b.score />
            <p>
                {format!("{} of 100, from {} raw points. ", b.score, b.raw + 0.0)}
                <span class="muted small">"Computed " <Timestamp at=Some(b.computed_at) /> ". "
                    <a href="/risk#how">"How scores work"</a></span>
            </p>
        </div>
        {summary.map(|s| view! { <p class="fix-summary">{s}</p> })}
        {if b.raw == 0.0 {
            view! { <p class="muted">"Nothing adds risk here: no open vulnerabilities or findings."</p> }.into_any()
        } else {
            view! {
                <table class="table risk-factors">
                    <thead>
                        <tr>
                            <th scope="col">"Factor"</th>
                            <th scope="col" class="num">"Weight"</th>
                            <th scope="col" class="num">"Points"</th>
                            <th scope="col">"Share"</th>
                            <th scope="col">"Largest contributors"</th>
                        </tr>
                    </thead>
                    <tbody>{factors}</tbody>
                </table>
            }
            .into_any()
        }}
        {fixes}
    }
}

#[component]
fn Factor(factor: RiskFactor) -> impl IntoView {
    let f = factor;
    let percent = (f.share * 100.0).round() as i64;
    let label = match &f.link {
        Some(href) => view! { <a href=href.clone()>{f.kind.label()}</a> }.into_any(),
        None => view! { <span>{f.kind.label()}</span> }.into_any(),
    };
    let items = f
        .items
        .iter()
        .map(|i| {
            let text = format!("{} ({} pts)", i.label, i.points);
            match &i.link {
                Some(href) => view! { <li><a href=href.clone()>{text}</a></li> }.into_any(),
                None => view! { <li>{text}</li> }.into_any(),
            }
        })
        .collect_view();
    let more = (f.count > f.items.len() as i64).then(|| format!("{} in all", f.count));
    view! {
        <tr data-factor=format!("{:?}", f.kind).to_lowercase()>
            <th scope="row">{label}</th>
            <td class="num">{format!("×{}", f.weight)}</td>
            <td class="num">{f.points}</td>
            <td>
                // A class per 5 % step, not an inline style: the CSP allows no inline styles.
                <span class=format!("share-bar share-{}", share_step(percent)) aria-hidden="true"></span>
                {format!(" {percent}%")}
            </td>
            <td>
                <ul class="contributors">{items}</ul>
                {more.map(|m| view! { <span class="muted small">{m}</span> })}
            </td>
        </tr>
    }
}

/// The 5 % step (0, 5, … 100) a share is drawn at.
fn share_step(percent: i64) -> i64 {
    ((percent.clamp(0, 100) + 2) / 5) * 5
}

#[cfg(test)]
mod share_tests {
    #[test]
    fn shares_round_to_five_percent_steps() {
        assert_eq!(super::share_step(0), 0);
        assert_eq!(super::share_step(2), 0);
        assert_eq!(super::share_step(3), 5);
        assert_eq!(super::share_step(99), 100);
        assert_eq!(super::share_step(140), 100);
        assert_eq!(super::share_step(-4), 0);
    }
}
