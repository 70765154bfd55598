//! Small shared views: error boxes, severity badges and bars, action feedback.

use crate::error::AppError;
use coastguard_model::{format_timestamp, Role, Severity, SeverityCounts};
use leptos::prelude::*;

#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    view! {
        <div class="alert alert-error" role="alert">
            {error.to_string()}
        </div>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" aria-live="polite">"Loading…"</p> }
}

/// A severity label: colour plus text and a shape, so it reads without colour vision.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! {
        <span class=format!("sev sev-{}", severity.as_str())>
            <span class="sev-icon" aria-hidden="true"></span>
            {severity.label()}
        </span>
    }
}

/// Counts per severity, as a labelled row of numbers; zero rows are dimmed.
#[component]
pub fn SeverityCountsView(counts: SeverityCounts) -> impl IntoView {
    let rows = Severity::DESCENDING
        .iter()
        .map(|s| {
            let n = counts.get(*s);
            view! {
                <li class:zero=n == 0>
                    <SeverityBadge severity=*s />
                    <span class="count">{n}</span>
                </li>
            }
            .into_any()
        })
        .collect_view();
    view! { <ul class="sev-counts">{rows}</ul> }
}

#[component]
pub fn Timestamp(at: Option<i64>) -> impl IntoView {
    match at {
        Some(at) => view! { <time>{format_timestamp(at)}</time> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    }
}

#[component]
pub fn RoleSelect(
    name: &'static str,
    selected: Role,
    #[prop(optional)] id: Option<String>,
    /// A token's role: `ingest` is offered too.
    #[prop(optional)]
    token: bool,
) -> impl IntoView {
    let roles: &[Role] = if token { &Role::ALL } else { &Role::FOR_USERS };
    let options = roles
        .iter()
        .map(|r| {
            view! { <option value=r.as_str() selected=*r == selected>{r.as_str()}</option> }
                .into_any()
        })
        .collect_view();
    view! { <select name=name id=id>{options}</select> }
}

/// Shows the outcome of a server action (`action.value()`): its error, or `ok` once it
/// succeeded.
#[component]
pub fn ActionOutcome<T, S>(value: S, ok: &'static str) -> impl IntoView
where
    T: Send + Sync + Clone + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(e)) => Some(view! { <ErrorBox error=e /> }.into_any()),
        Some(Ok(_)) => Some(view! { <p class="alert alert-ok" role="status">{ok}</p> }.into_any()),
        None => None,
    }
}

/// A button that copies `text` to the clipboard (once the page has hydrated).
#[component]
pub fn CopyButton(text: String, #[prop(optional)] label: Option<&'static str>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let clipboard = window().navigator().clipboard();
            let _ = clipboard.write_text(&text);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
        copied.set(true);
    };
    let label = label.unwrap_or("Copy");
    view! {
        <button type="button" class="btn btn-small copy" on:click=copy>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}

/// The one-time display of a new token's secret, with a copy button.
#[component]
pub fn NewSecret(name: String, secret: String) -> impl IntoView {
    view! {
        <div class="alert alert-ok secret-box" role="status">
            <p>
                <strong>"Token “" {name} "” created."</strong>
                " Copy the secret now: it is not shown again."
            </p>
            <div class="secret-row">
                <code class="secret" data-testid="token-secret">{secret.clone()}</code>
                <CopyButton text=secret />
            </div>
        </div>
    }
}

/// A command line to copy, shown as typed.
#[component]
pub fn Command(text: String) -> impl IntoView {
    view! {
        <div class="command">
            <pre><code>{text.clone()}</code></pre>
            <CopyButton text />
        </div>
    }
}

/// A share of running images shown as a meter and a percentage (floored): `part` of
/// `whole`, below 80% marked low. `whole` is never 0 here (the caller says so in words).
#[component]
pub fn CoverageMeter(part: i64, whole: i64, label: &'static str) -> impl IntoView {
    let percent = part * 100 / whole.max(1);
    view! {
        <div class="coverage">
            <meter min="0" max=whole.to_string() value=part.to_string()
                low=(whole as f64 * 0.8).to_string() optimum=whole.to_string()
                aria-label=label></meter>
            <span class="coverage-figure">{format!("{percent}%")}</span>
        </div>
    }
}
