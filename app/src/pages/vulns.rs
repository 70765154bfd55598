//! Every vulnerability finding, filtered, keyset-paged, exportable.

use crate::components::common::{ActionOutcome, ErrorBox, Loading};
use crate::components::layout::use_me;
use crate::components::listing::href_with;
use crate::components::vulns::{vuln_query_from, VulnTable};
use crate::server_fns::scans::{list_vulns, Suppress};
use coastguard_model::{Role, Severity};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const PATH: &str = "/vulnerabilities";

#[component]
pub fn VulnsPage() -> impl IntoView {
    let query = use_query_map();
    let suppress = ServerAction::<Suppress>::new();
    let data = Resource::new(
        move || (vuln_query_from(&query.get()), suppress.version().get()),
        |(q, _)| list_vulns(q),
    );
    let me = use_me();
    // The export takes the list's filters, not its page.
    let export = move |format: &str| {
        let q = query.get();
        href_with(
            "/api/v1/vulnerabilities/export",
            &q,
            &[
                ("format", Some(format.into())),
                ("cursor", None),
                ("limit", None),
            ],
        )
    };
    view! {
        <Title text="Vulnerabilities" />
        <div class="page-head">
            <h1>"Vulnerabilities"</h1>
            <div class="head-links">
                <a class="btn btn-ghost" href=move || export("csv") download>"Export CSV"</a>
                <a class="btn btn-ghost" href=move || export("json") download>"Export JSON"</a>
                <a class="btn btn-ghost" href="/suppressions">"Suppressions"</a>
                <a class="btn" href="/scans">"Scans and upload"</a>
            </div>
        </div>
        <VulnFilters />
        <ActionOutcome value=suppress.value() ok="Suppressed: the findings left the open counts." />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let role = me.await.map(|m| m.role).unwrap_or(Role::Viewer);
                match data.await {
                    Ok(page) => {
                        let next = page.next_cursor.clone();
                        let paged = query.with_untracked(|q| q.get("cursor").is_some());
                        view! {
                            <p class="muted">{format!("{} findings match", page.total)}</p>
                            <VulnTable findings=page.items show_image=true suppress=(role >= Role::Analyst).then_some(suppress) />
                            <nav class="pager" aria-label="Pages">
                                <span class="pager-links">
                                    {paged.then(|| view! {
                                        <a href=move || href_with(PATH, &query.get_untracked(), &[("cursor", None)]) rel="first">"← First page"</a>
                                    })}
                                    {next.map(|c| view! {
                                        <a href=move || href_with(PATH, &query.get_untracked(), &[("cursor", Some(c.clone()))]) rel="next">"Next page →"</a>
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
    }
}

/// A GET form: filters live in the URL, so views can be bookmarked and shared.
#[component]
fn VulnFilters() -> impl IntoView {
    let query = use_query_map();
    let value = move |k: &str| query.with_untracked(|q| q.get(k)).unwrap_or_default();
    let select = |name: &'static str, label: &'static str, options: Vec<(&'static str, String)>| {
        let current = value(name);
        let options = options
            .into_iter()
            .map(|(v, text)| {
                view! { <option value=v selected=current == v>{text}</option> }.into_any()
            })
            .collect_view();
        view! { <label>{label}<select name=name>{options}</select></label> }
    };
    let mut severities = vec![("", "any".to_string())];
    severities.extend(
        Severity::DESCENDING[..4]
            .iter()
            .map(|s| (s.as_str(), format!("{} or worse", s.label()))),
    );
    let image = value("image");
    view! {
        <form method="get" action=PATH class="form-row filter-bar" role="search">
            <label>"Vulnerability"
                <input type="search" name="vuln" value=value("vuln") placeholder="CVE-… or GHSA-…" />
            </label>
            <label>"Package"
                <input type="search" name="package" value=value("package") placeholder="exact name" />
            </label>
            {select("severity", "Severity", severities)}
            {select("fixable", "Fix", vec![("", "any".into()), ("true", "fix available".into()), ("false", "no fix yet".into())])}
            {select("state", "State", vec![("", "open".into()), ("suppressed", "suppressed".into()), ("fixed", "fixed".into()), ("all", "all".into())])}
            <label>"Scanner"
                <input name="scanner" value=value("scanner") placeholder="trivy, grype…" size="10" />
            </label>
            {select("sort", "Sort", vec![("", "worst first".into()), ("first_seen", "newest first".into()), ("last_seen", "last seen".into())])}
            {(!image.is_empty()).then(|| view! {
                <span class="chip">"image " {image.clone()} <input type="hidden" name="image" value=image.clone() /></span>
            })}
            <button type="submit" class="btn">"Filter"</button>
            <a class="btn btn-ghost" href=PATH>"Clear"</a>
        </form>
    }
}
