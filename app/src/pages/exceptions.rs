//! Exceptions: every accepted or dismissed vulnerability, configuration finding and
//! runtime rule in one list — active, waiting for a second analyst, expiring (the
//! signed-in user's own first), inert, ended — with the form that makes one (filled in
//! from the address, so the alerts page's `e` key lands here ready) and the policy.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::layout::use_me;
use crate::components::listing::encode;
use crate::components::vulns::vuln_href;
use crate::error::AppError;
use crate::server_fns::exceptions::{
    get_exception, list_exceptions, read_exception_policy, CreateException, DecideException,
    SetExceptionPolicy,
};
use coastguard_model::exceptions::{
    ExceptionKind, ExceptionPolicy, ExceptionStatus, ExceptionView, Verdict,
};
use coastguard_model::{format_timestamp, Page, Role, Severity};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

const TABS: [(&str, &str); 6] = [
    ("", "Active"),
    ("pending", "Waiting for approval"),
    ("expiring", "Expiring"),
    ("inert", "Inert"),
    ("ended", "Ended"),
    ("all", "All"),
];

#[component]
pub fn ExceptionsPage() -> impl IntoView {
    let create = ServerAction::<CreateException>::new();
    let decide = ServerAction::<DecideException>::new();
    let set_policy = ServerAction::<SetExceptionPolicy>::new();
    let query = use_query_map();
    let field = move |name: &str| query.with(|q| q.get(name)).unwrap_or_default();
    let list = Resource::new(
        move || {
            (
                (
                    field("kind"),
                    field("status"),
                    field("owner"),
                    field("cursor"),
                ),
                create.version().get(),
                decide.version().get(),
            )
        },
        |((kind, status, owner, cursor), ..)| list_exceptions(kind, status, owner, cursor),
    );
    let policy = Resource::new(
        move || set_policy.version().get(),
        |_| read_exception_policy(),
    );
    let me = use_me();
    view! {
        <Title text="Exceptions" />
        <h1>"Exceptions"</h1>
        <p class="muted">
            "One way to accept or dismiss what Coastguard reports: a vulnerability, a configuration check or a runtime rule. "
            "What an active exception covers is kept and countable, but leaves the queues and the open counts; "
            "when it expires or is revoked, it is back."
        </p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let me = me.await.ok();
                let role = me.as_ref().map(|m| m.role).unwrap_or(Role::Viewer);
                let name = me.map(|m| m.name).unwrap_or_default();
                let policy = policy.await;
                let is_admin = role >= Role::Admin;
                let can_decide = role >= Role::Analyst;
                let table = match list.await {
                    Ok(page) => view! { <ExceptionTable page me=name.clone() can_decide decide /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                };
                view! {
                    <PolicyPanel policy set_policy is_admin />
                    {can_decide.then(|| view! { <NewExceptionForm create /> })}
                    <Tabs name=name />
                    <ActionOutcome value=decide.value() ok="Done: the list shows it as it is now." />
                    {table}
                }
                .into_any()
            })}
        </Suspense>
    }
}

#[component]
fn PolicyPanel(
    policy: Result<ExceptionPolicy, AppError>,
    set_policy: ServerAction<SetExceptionPolicy>,
    is_admin: bool,
) -> impl IntoView {
    let policy = match policy {
        Ok(p) => p,
        Err(e) => return view! { <ErrorBox error=e /> }.into_any(),
    };
    let form = is_admin.then(|| {
        let options = std::iter::once(("", "never"))
            .chain(
                [Severity::Critical, Severity::High, Severity::Medium, Severity::Low]
                    .map(|s| (s.as_str(), s.label())),
            )
            .map(|(v, label)| {
                let selected = policy.expiry_from.map(|s| s.as_str()).unwrap_or("") == v;
                view! { <option value=v selected=selected>{label}</option> }
            })
            .collect_view();
        let boxes = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low]
            .map(|s| {
                let name = format!("approve_{}", s.as_str());
                view! {
                    <label class="check">
                        <input type="checkbox" name=name value="on" checked=policy.approval.contains(&s) />
                        {s.label()}
                    </label>
                }
            })
            .collect_view();
        view! {
            <ActionForm action=set_policy attr:class="form-grid" attr:id="exception-policy">
                <label>"An expiry is required from" <select name="expiry_from">{options}</select></label>
                <fieldset class="checks"><legend>"A second analyst approves"</legend>{boxes}</fieldset>
                <div class="span-all"><button class="btn" type="submit">"Save the policy"</button></div>
            </ActionForm>
            <ActionOutcome value=set_policy.value() ok="Saved: it applies to exceptions made from now on." />
        }
    });
    view! {
        <details class="panel">
            <summary><strong>"Policy: "</strong>{policy.describe()}"."</summary>
            <p class="muted small">
                "By the worst severity of what an exception covers when it is made (unknown counts as critical). "
                "Whoever makes an exception can't approve it."
            </p>
            {form}
        </details>
    }
    .into_any()
}

#[component]
fn NewExceptionForm(create: ServerAction<CreateException>) -> impl IntoView {
    // The alerts page's `e` (and the finding pages) send the fields in the address.
    let query = use_query_map();
    let given = move |name: &str| query.with_untracked(|q| q.get(name)).unwrap_or_default();
    let kind = given("kind");
    let open = !given("target").is_empty();
    let kinds = ExceptionKind::ALL
        .map(|k| {
            view! { <option value=k.as_str() selected=kind == k.as_str()>{k.as_str()}</option> }
        })
        .collect_view();
    let verdict = given("verdict");
    let verdicts = [
        Verdict::Accepted,
        Verdict::FalsePositive,
        Verdict::NotAffected,
    ]
    .map(|v| view! { <option value=v.as_str() selected=verdict == v.as_str()>{v.label()}</option> })
    .collect_view();
    view! {
        <details class="panel" open=open id="new-exception">
            <summary><strong>"New exception"</strong></summary>
            <ActionForm action=create attr:class="form-grid">
                <label>"Covers" <select name="kind">{kinds}</select></label>
                <label>"Vulnerability, check or rule"
                    <input name="target" required maxlength="200" value=given("target") placeholder="CVE-2024-1234, container.privileged, Terminal shell in container" />
                </label>
                <label>"Verdict" <select name="verdict">{verdicts}</select></label>
                <label>"Only image (id)" <input name="image_id" type="number" min="1" value=given("image_id") /></label>
                <label>"Only package" <input name="package" maxlength="200" value=given("package") /></label>
                <label>"Only this configuration finding (id)" <input name="finding_id" type="number" min="1" value=given("finding_id") /></label>
                <label>"Only host" <input name="host" maxlength="200" value=given("host") /></label>
                <label>"Only cluster" <input name="cluster" maxlength="200" value=given("cluster") /></label>
                <label>"Only namespace" <input name="namespace" maxlength="200" value=given("namespace") /></label>
                <label>"Only workload or pod" <input name="workload" maxlength="200" value=given("workload") /></label>
                <label class="span-all">"Reason" <input name="reason" required minlength="3" maxlength="1000" /></label>
                <label>"Owner (a user; blank: you)" <input name="owner" maxlength="200" /></label>
                <label>"Expires after days" <input name="expires_in_days" type="number" min="1" max="3650" /></label>
                <div class="span-all"><button class="btn btn-primary" type="submit">"Make the exception"</button></div>
            </ActionForm>
            <ActionOutcome value=create.value() ok="Made: active now, or waiting for a second analyst where the policy asks." />
        </details>
    }
}

#[component]
fn Tabs(name: String) -> impl IntoView {
    let query = use_query_map();
    let current = move || query.with(|q| q.get("status")).unwrap_or_default();
    let kind = move || query.with(|q| q.get("kind")).unwrap_or_default();
    let href = move |status: &str, kind: &str, owner: &str| {
        let parts: Vec<String> = [("status", status), ("kind", kind), ("owner", owner)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if parts.is_empty() {
            "/exceptions".to_string()
        } else {
            format!("/exceptions?{}", parts.join("&"))
        }
    };
    let tabs = TABS
        .map(|(status, label)| {
            view! {
                <a href=move || href(status, &kind(), "") class:active=move || current() == status
                    aria-current=move || (current() == status).then_some("page")>{label}</a>
            }
        })
        .collect_view();
    let mine = href("expiring", "", &name);
    let kinds = std::iter::once(("", "every kind"))
        .chain(ExceptionKind::ALL.map(|k| (k.as_str(), k.as_str())))
        .enumerate()
        .map(|(i, (k, label))| {
            view! {
                {(i > 0).then_some(" · ")}
                <a href=move || href(&current(), k, "") class:active=move || kind() == k>{label}</a>
            }
        })
        .collect_view();
    view! {
        <nav class="tabs" aria-label="Exceptions by status">{tabs}</nav>
        <p class="small">
            <a href=mine id="my-expiring">"Mine, expiring within 14 days"</a>
            " — "{kinds}
        </p>
    }
}

fn status_badge(e: &ExceptionView) -> AnyView {
    let (class, text) = match e.status {
        ExceptionStatus::Active if e.inert => ("status status-warn", "inert"),
        ExceptionStatus::Active if e.expiring => ("status status-warn", "expiring"),
        ExceptionStatus::Active => ("status status-good", "active"),
        ExceptionStatus::Pending => ("status status-warn", "waiting for approval"),
        ExceptionStatus::Expired => ("status status-neutral", "expired"),
        ExceptionStatus::Revoked => ("status status-neutral", "revoked"),
        ExceptionStatus::Rejected => ("status status-neutral", "rejected"),
    };
    view! { <span class=class>{text}</span> }.into_any()
}

fn target_link(e: &ExceptionView) -> AnyView {
    match e.kind {
        ExceptionKind::Vulnerability => {
            view! { <a href=vuln_href(&e.target)><strong>{e.target.clone()}</strong></a> }
                .into_any()
        }
        ExceptionKind::Runtime => view! {
            <a href=format!("/alerts?rule={}", encode(&e.target))><strong>{e.target.clone()}</strong></a>
        }
        .into_any(),
        ExceptionKind::Configuration => view! {
            <a href=format!("/findings?q={}", encode(&e.target))><strong>{e.target.clone()}</strong></a>
        }
        .into_any(),
    }
}

#[component]
fn ExceptionTable(
    page: Page<ExceptionView>,
    me: String,
    can_decide: bool,
    decide: ServerAction<DecideException>,
) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="muted">"No exceptions here."</p> }.into_any();
    }
    let query = use_query_map();
    let older = page.next_cursor.map(|c| {
        let mut parts: Vec<String> = ["status", "kind", "owner"]
            .into_iter()
            .filter_map(|k| {
                query
                    .with_untracked(|q| q.get(k))
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", encode(&v)))
            })
            .collect();
        parts.push(format!("cursor={c}"));
        view! { <p><a href=format!("/exceptions?{}", parts.join("&"))>"Older exceptions"</a></p> }
    });
    let rows = page
        .items
        .into_iter()
        .map(|e| {
            let buttons = can_decide.then(|| {
                let mine = e.created_by == me;
                let mut choices = Vec::new();
                if e.status == ExceptionStatus::Pending && !mine {
                    choices.push(("approve", "Approve", "btn btn-small btn-primary"));
                    choices.push(("reject", "Reject", "btn btn-small"));
                }
                if matches!(e.status, ExceptionStatus::Pending | ExceptionStatus::Active) {
                    choices.push(("revoke", "Revoke", "btn btn-small btn-danger"));
                }
                choices
                    .into_iter()
                    .map(|(decision, label, class)| {
                        view! {
                            <ActionForm action=decide attr:class="inline-form">
                                <input type="hidden" name="id" value=e.id.to_string() />
                                <input type="hidden" name="decision" value=decision />
                                <input type="hidden" name="note" value="" />
                                <button class=class type="submit">{label}</button>
                            </ActionForm>
                        }
                    })
                    .collect_view()
            });
            let until = e
                .expires_at
                .map(|t| format!("until {}", format_timestamp(t)))
                .unwrap_or_else(|| "until revoked".into());
            view! {
                <tr>
                    <td><a href=format!("/exceptions/{}", e.id)>{format!("#{}", e.id)}</a></td>
                    <td>{e.kind.as_str()}<div class="small muted">{e.severity.label()}</div></td>
                    <td>{target_link(&e)}<div class="small muted">{e.scope()}</div></td>
                    <td>{e.verdict.label()}<div class="evidence small">{e.reason.clone()}</div></td>
                    <td>{e.owner.clone()}<div class="small muted">{format!("{} by {}", e.source, e.created_by)}</div></td>
                    <td class="small nowrap"><Timestamp at=Some(e.created_at) /><div class="muted">{until}</div></td>
                    <td class="num">{e.covers}</td>
                    <td>{status_badge(&e)}</td>
                    {can_decide.then(|| view! { <td class="actions">{buttons}</td> })}
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <table class="table" id="exceptions">
            <thead>
                <tr>
                    <th scope="col">"#"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"Covers"</th>
                    <th scope="col">"Verdict and reason"</th>
                    <th scope="col">"Owner"</th>
                    <th scope="col">"Made"</th>
                    <th scope="col" class="num">"Items"</th>
                    <th scope="col">"Status"</th>
                    {can_decide.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {older}
    }
    .into_any()
}

/// One exception with its whole history.
#[component]
pub fn ExceptionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let detail = Resource::new(id, get_exception);
    view! {
        <Title text="Exception" />
        <nav class="crumbs"><a href="/exceptions">"Exceptions"</a>" / "</nav>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let e = d.exception;
                        let history = d
                            .history
                            .into_iter()
                            .map(|h| view! {
                                <li><Timestamp at=Some(h.at) />" · "<strong>{h.action}</strong>" by "{h.actor}
                                    {h.note.map(|n| view! { <span class="muted">": "{n}</span> })}
                                </li>
                            })
                            .collect_view();
                        view! {
                            <h1>{format!("Exception #{} · {} {}", e.id, e.kind.as_str(), e.target)}</h1>
                            <p>{status_badge(&e)}" "{e.verdict.label()}" · "{e.scope()}</p>
                            <dl class="facts">
                                <dt>"Reason"</dt><dd>{e.reason.clone()}</dd>
                                <dt>"Owner"</dt><dd>{e.owner.clone()}</dd>
                                <dt>"Severity when made"</dt><dd>{e.severity.label()}</dd>
                                <dt>"Expires"</dt><dd>{e.expires_at.map(format_timestamp).unwrap_or_else(|| "when revoked".into())}</dd>
                                <dt>"Approved by"</dt><dd>{e.approved_by.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Covers now"</dt><dd>{e.covers}</dd>
                                <dt>"Last covered something"</dt><dd>{e.last_matched_at.map(format_timestamp).unwrap_or_else(|| "never".into())}</dd>
                            </dl>
                            <h2>"History"</h2>
                            <ol class="history">{history}</ol>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
