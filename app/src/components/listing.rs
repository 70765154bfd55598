//! Server-side lists in the UI: the list query lives in the URL (so views can be
//! bookmarked and shared), sort headers and pagers are links that change it.

use coastguard_model::inventory::ListQuery;
use coastguard_model::{Severity, SeverityCounts};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// The list query in the URL.
pub fn list_query_from(map: &ParamsMap) -> ListQuery {
    let text = |k: &str| map.get(k).filter(|v| !v.is_empty());
    let number = |k: &str| text(k).and_then(|v| v.parse::<i64>().ok());
    ListQuery {
        q: text("q"),
        state: text("state"),
        host: number("host"),
        severity: text("severity"),
        check: text("check"),
        subject_kind: text("subject_kind"),
        subject_id: number("subject_id"),
        include_gone: text("include_gone").map(|v| v == "true" || v == "on"),
        sort: text("sort"),
        dir: text("dir"),
        page: number("page"),
        per_page: number("per_page"),
    }
}

/// The Kubernetes lists' query from the page's URL.
pub fn kube_query_from(map: &ParamsMap) -> coastguard_model::kube::KubeQuery {
    let text = |k: &str| map.get(k).filter(|v| !v.is_empty());
    let number = |k: &str| text(k).and_then(|v| v.parse::<i64>().ok());
    coastguard_model::kube::KubeQuery {
        q: text("q"),
        cluster: number("cluster"),
        namespace: text("namespace"),
        level: text("level"),
        kind: text("kind"),
        include_gone: text("include_gone").map(|v| v == "true" || v == "on"),
        sort: text("sort"),
        dir: text("dir"),
        page: number("page"),
        per_page: number("per_page"),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path` with the current query, some keys replaced (`None` removes a key).
pub fn href_with(path: &str, map: &ParamsMap, changes: &[(&str, Option<String>)]) -> String {
    let mut pairs: Vec<(String, String)> = map
        .clone()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    for (k, v) in changes {
        if let Some(v) = v {
            pairs.push((k.to_string(), v.clone()));
        }
    }
    pairs.sort();
    if pairs.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A column header that sorts by `key`; clicking the current sort flips its direction.
#[component]
pub fn SortHeader(
    path: &'static str,
    label: &'static str,
    key: &'static str,
    first_dir: &'static str,
    default: bool,
) -> impl IntoView {
    let query = use_query_map();
    let current = move || {
        let q = query.get();
        let sort = q.get("sort");
        let active = sort.as_deref() == Some(key) || (sort.is_none() && default);
        let dir = q.get("dir").unwrap_or_else(|| first_dir.to_string());
        (active, dir)
    };
    let href = move || {
        let (active, dir) = current();
        let next = if active && dir == "asc" {
            "desc"
        } else if active {
            "asc"
        } else {
            first_dir
        };
        href_with(
            path,
            &query.get(),
            &[
                ("sort", Some(key.into())),
                ("dir", Some(next.into())),
                ("page", None),
            ],
        )
    };
    let aria = move || match current() {
        (true, d) if d == "asc" => "ascending",
        (true, _) => "descending",
        _ => "none",
    };
    let arrow = move || match current() {
        (true, d) if d == "asc" => " ▲",
        (true, _) => " ▼",
        _ => "",
    };
    view! {
        <th scope="col" aria-sort=aria>
            <a href=href class="sort-link">{label}{arrow}</a>
        </th>
    }
}

#[component]
pub fn Pager(path: &'static str, total: i64, page: i64, per_page: i64) -> impl IntoView {
    let query = use_query_map();
    let pages = ((total + per_page - 1) / per_page.max(1)).max(1);
    let link = move |p: i64| {
        href_with(
            path,
            &query.get_untracked(),
            &[("page", Some(p.to_string()))],
        )
    };
    let first = (page - 1) * per_page + 1;
    let last = (page * per_page).min(total);
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="muted">
                {if total == 0 { "No rows".to_string() } else { format!("{first}–{last} of {total}") }}
            </span>
            <span class="pager-links">
                {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"← Previous"</a> })}
                <span class="muted">{format!("page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a href=link(page + 1) rel="next">"Next →"</a> })}
            </span>
        </nav>
    }
}

/// Open findings as compact severity pills (zero counts left out).
#[component]
pub fn SeverityPills(counts: SeverityCounts) -> impl IntoView {
    let pills = Severity::DESCENDING
        .iter()
        .filter(|s| counts.get(**s) > 0)
        .map(|s| {
            let n = counts.get(*s);
            view! {
                <span class=format!("pill sev-{}", s.as_str()) title=format!("{n} {}", s.label())>
                    <span class="sev-icon" aria-hidden="true"></span>
                    {n}
                    <span class="visually-hidden">{format!(" {}", s.label())}</span>
                </span>
            }
            .into_any()
        })
        .collect_view();
    if counts.total() == 0 {
        view! { <span class="muted">"none"</span> }.into_any()
    } else {
        view! { <span class="pills">{pills}</span> }.into_any()
    }
}

/// Host status or container state, with a word and a shape as well as a colour.
#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    let class = match status.as_str() {
        "ok" | "running" | "open" | "verified" => "status status-good",
        "unreachable" | "unauthorized" | "error" | "dead" | "exited" | "gone" | "invalid"
        | "untrusted" => "status status-bad",
        _ => "status status-neutral",
    };
    view! { <span class=class>{status}</span> }
}

/// Bytes for people.
pub fn human_size(bytes: Option<i64>) -> String {
    match bytes {
        None => "—".into(),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        Some(b) if b >= 1 << 10 => format!("{:.0} KiB", b as f64 / 1024.0),
        Some(b) => format!("{b} B"),
    }
}

/// `sha256:0123456789ab…` → `0123456789ab`.
pub fn short_digest(digest: &str) -> String {
    let d = digest.strip_prefix("sha256:").unwrap_or(digest);
    d.chars().take(12).collect()
}

/// The search and filter form above a list: a plain GET form, so filters are in the URL.
#[component]
pub fn FilterBar(
    path: &'static str,
    placeholder: &'static str,
    #[prop(optional)] states: &'static [&'static str],
    #[prop(optional)] severity: bool,
    /// What the empty state choice means for this list.
    #[prop(default = "any")]
    any_state: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let value = move |k: &str| query.with_untracked(|q| q.get(k)).unwrap_or_default();
    let current_state = value("state");
    let current_severity = value("severity");
    let state_select = (!states.is_empty()).then(|| {
        let options = states
            .iter()
            .map(|s| {
                view! { <option value=*s selected=current_state == *s>{*s}</option> }.into_any()
            })
            .collect_view();
        view! {
            <label>"State"
                <select name="state">
                    <option value="">{any_state}</option>
                    {options}
                </select>
            </label>
        }
    });
    let severity_select = severity.then(|| {
        let options = Severity::DESCENDING[..4]
            .iter()
            .map(|s| view! { <option value=s.as_str() selected=current_severity == s.as_str()>{format!("{} or worse", s.label())}</option> }.into_any())
            .collect_view();
        view! {
            <label>"Findings"
                <select name="severity">
                    <option value="">"any"</option>
                    {options}
                </select>
            </label>
        }
    });
    // Keep the other filters (host, sort...) that the form does not show.
    let hidden = query.with_untracked(|q| {
        q.clone()
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_ref(), "q" | "state" | "severity" | "page"))
            .map(|(k, v)| view! { <input type="hidden" name=k.to_string() value=v /> }.into_any())
            .collect_view()
    });
    view! {
        <form method="get" action=path class="form-row filter-bar" role="search">
            <label>"Search"
                <input type="search" name="q" value=value("q") placeholder=placeholder />
            </label>
            {state_select}
            {severity_select}
            {hidden}
            <button type="submit" class="btn">"Filter"</button>
            <a class="btn btn-ghost" href=path>"Clear"</a>
        </form>
    }
}
