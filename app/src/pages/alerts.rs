//! Runtime alerts: the live queue (server-sent events keep it current for everyone who
//! has it open; j/k move, a/r/f triage from the keyboard) and one group's page (where it
//! happened, triage with assignee and comment, its history, its events).

use crate::components::common::{ActionOutcome, ErrorBox, Loading, SeverityBadge, Timestamp};
use crate::components::layout::use_me;
use crate::server_fns::alerts::{get_alert, list_alerts, list_detectors, TriageAlert};
use coastguard_model::alerts::{AlertDetail, AlertFeedEvent, AlertFilter, AlertGroup, AlertState};
use coastguard_model::{format_timestamp, Role, Severity};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

/// The alerts page's filter from its address.
fn filter_from(map: &ParamsMap) -> AlertFilter {
    let text = |k: &str| map.get(k).filter(|v| !v.trim().is_empty());
    AlertFilter {
        state: text("state"),
        severity: text("severity").and_then(|s| s.parse::<Severity>().ok()),
        source: text("source"),
        rule: text("rule"),
        host: text("host").and_then(|v| v.parse().ok()),
        cluster: text("cluster").and_then(|v| v.parse().ok()),
        namespace: text("namespace"),
        assignee: text("assignee"),
        cursor: text("cursor"),
    }
}

fn state_label(s: AlertState) -> &'static str {
    match s {
        AlertState::New => "new",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Resolved => "resolved",
        AlertState::FalsePositive => "false positive",
    }
}

fn state_class(s: AlertState) -> &'static str {
    match s {
        AlertState::New => "status status-bad",
        AlertState::Acknowledged => "status status-warn",
        AlertState::Resolved => "status status-good",
        AlertState::FalsePositive => "status status-neutral",
    }
}

/// Where a group happened, as links to what the inventory knows and names otherwise.
#[component]
fn Subject(g: AlertGroup) -> impl IntoView {
    let container = match (g.container_id, g.container.clone(), g.container_ref.clone()) {
        (Some(id), Some(name), _) => {
            Some(view! { <a href=format!("/containers/{id}")>{name}</a> }.into_any())
        }
        (None, _, Some(r)) => Some(view! { <span>"container "<code>{r}</code></span> }.into_any()),
        _ => None,
    };
    let pod = match (g.pod_id, g.namespace.clone(), g.pod.clone()) {
        (Some(id), ns, Some(p)) => Some(view! {
            <a href=format!("/kubernetes/pods/{id}")>{ns.map(|n| format!("{n}/")).unwrap_or_default()}{p}</a>
        }.into_any()),
        (None, Some(ns), Some(p)) => Some(view! { <span>{format!("{ns}/{p}")}</span> }.into_any()),
        _ => None,
    };
    let host = match (g.host_id, g.host.clone(), g.hostname.clone()) {
        (Some(id), Some(name), _) => {
            Some(view! { <a href=format!("/hosts/{id}")>{name}</a> }.into_any())
        }
        (None, _, Some(h)) => Some(view! { <span>{h}</span> }.into_any()),
        _ => None,
    };
    let parts: Vec<AnyView> = [pod, container, host].into_iter().flatten().collect();
    if parts.is_empty() {
        return view! { <span class="muted">"—"</span> }.into_any();
    }
    let last = parts.len() - 1;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| view! { {p}{(i < last).then_some(" · ")} })
        .collect_view()
        .into_any()
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || filter_from(&query.get()), list_alerts);
    let me = use_me();
    view! {
        <Title text="Runtime alerts" />
        <h1>"Runtime alerts"</h1>
        <p class="muted">
            "Events from Falco and other tools, each folded with its repeats: one group per rule and container (or workload). "
            "This list updates by itself."
        </p>
        <AlertFilters />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let can_triage = me.await.map(|m| m.role >= Role::Analyst).unwrap_or(false);
                match data.await {
                    Ok(page) => view! {
                        <LiveQueue items=page.items next=page.next_cursor can_triage refetch=move || data.refetch() />
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <Detectors />
    }
}

/// Coastguard's own detectors on Docker engines' events, on or off (Settings → image
/// policy switches them).
#[component]
fn Detectors() -> impl IntoView {
    let detectors = Resource::new(|| (), |_| list_detectors());
    view! {
        <details class="panel">
            <summary><strong>"Built-in detectors"</strong></summary>
            <p class="small muted">"Raised as source "<code>"coastguard"</code>" from each Docker engine's events. Admins switch them off under Settings → Image policy."</p>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match detectors.await {
                        Ok(list) => {
                            let rows = list.into_iter().map(|d| view! {
                                <tr>
                                    <td><code>{d.id.as_str()}</code></td>
                                    <td><SeverityBadge severity=d.severity /></td>
                                    <td>{d.title}</td>
                                    <td>{if d.enabled {
                                        view! { <span class="status status-good">"on"</span> }.into_any()
                                    } else {
                                        view! { <span class="status status-neutral">"off"</span> }.into_any()
                                    }}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="table">
                                    <thead><tr><th scope="col">"Rule"</th><th scope="col">"Severity"</th><th scope="col">"What it sees"</th><th scope="col">"State"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </details>
    }
    .into_any()
}

#[component]
fn AlertFilters() -> impl IntoView {
    let query = use_query_map();
    let value = move |k: &str| query.with_untracked(|q| q.get(k)).unwrap_or_default();
    let state = value("state");
    let severity = value("severity");
    let states = [
        ("", "open"),
        ("new", "new"),
        ("acknowledged", "acknowledged"),
        ("resolved", "resolved"),
        ("false_positive", "false positive"),
        ("suppressed", "covered by an exception"),
        ("all", "all"),
    ]
    .into_iter()
    .map(|(v, label)| view! { <option value=v selected=state == v>{label}</option> })
    .collect_view();
    let severities = Severity::DESCENDING
        .iter()
        .map(|s| view! { <option value=s.as_str() selected=severity == s.as_str()>{s.label()}</option> })
        .collect_view();
    view! {
        <form class="form-row filter-bar" method="get" action="/alerts" role="search">
            <label>"State" <select name="state">{states}</select></label>
            <label>"Severity" <select name="severity"><option value="">"any"</option>{severities}</select></label>
            <label>"Source" <input name="source" value=value("source") placeholder="falco" size="10" /></label>
            <label>"Rule" <input name="rule" value=value("rule") size="18" /></label>
            <label>"Namespace" <input name="namespace" value=value("namespace") size="12" /></label>
            <label>"Assignee" <input name="assignee" value=value("assignee") placeholder="name, or none" size="10" /></label>
            {(!value("host").is_empty()).then(|| view! { <input type="hidden" name="host" value=value("host") /> })}
            {(!value("cluster").is_empty()).then(|| view! { <input type="hidden" name="cluster" value=value("cluster") /> })}
            <button class="btn" type="submit">"Filter"</button>
            <a class="btn btn-ghost" href="/alerts">"Clear"</a>
        </form>
    }
}

/// The queue as the page loaded it, kept current by the live stream, with keyboard
/// triage.
#[component]
fn LiveQueue(
    items: Vec<AlertGroup>,
    next: Option<String>,
    can_triage: bool,
    refetch: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_from(&query.get()));
    let rows = RwSignal::new(items);
    let selected = RwSignal::new(0usize);
    let live = RwSignal::new(false);
    let triage = ServerAction::<TriageAlert>::new();
    let navigate = use_navigate();

    // A change from the stream: the group replaces its row, joins the list (newest
    // first) or leaves it, as the filter says; when the filter cannot tell, the list is
    // read again.
    let apply = {
        let refetch = refetch.clone();
        move |g: AlertGroup| {
            let Some(keep) = filter.get_untracked().matches(&g) else {
                refetch();
                return;
            };
            rows.update(|rows| {
                rows.retain(|r| r.id != g.id);
                if keep {
                    let at = rows
                        .iter()
                        .position(|r| (r.last_at, r.id) < (g.last_at, g.id))
                        .unwrap_or(rows.len());
                    rows.insert(at, g);
                }
            });
            let last = rows.with_untracked(Vec::len).saturating_sub(1);
            if selected.get_untracked() > last {
                selected.set(last);
            }
        }
    };
    // A triage answer is the group as it is now: shown at once, before the stream's.
    let shown = apply.clone();
    Effect::new(move |_| {
        if let Some(Ok(g)) = triage.value().get() {
            shown(g);
        }
    });
    let resync = refetch.clone();
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Ok(source) = web_sys::EventSource::new("/api/v1/alerts/stream") else {
            return;
        };
        let resync = resync.clone();
        let apply = apply.clone();
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let Some(data) = e.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<AlertFeedEvent>(&data) {
                    Ok(AlertFeedEvent::Ready) => live.set(true),
                    Ok(AlertFeedEvent::Changed { group }) => apply(*group),
                    Ok(AlertFeedEvent::Resync) => resync(),
                    Err(_) => {}
                }
            });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.set(false));
        for name in ["ready", "changed", "resync"] {
            let _ =
                source.add_event_listener_with_callback(name, on_message.as_ref().unchecked_ref());
        }
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let held = send_wrapper::SendWrapper::new((source, on_message, on_error));
        on_cleanup(move || held.0.close());
    });

    // Keyboard triage: j/k move, Enter opens, a acknowledges, r resolves, f marks a false
    // positive (asking why). Not while typing in a field.
    let act = move |state: AlertState, comment: String| {
        let Some(g) = rows.with_untracked(|r| r.get(selected.get_untracked()).cloned()) else {
            return;
        };
        triage.dispatch(TriageAlert {
            id: g.id,
            state: state.as_str().to_string(),
            assignee: String::new(),
            assignee_was: String::new(),
            comment,
        });
    };
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        let navigate = navigate.clone();
        let handle =
            window_event_listener(leptos::ev::keydown, move |e: web_sys::KeyboardEvent| {
                if e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
                    .unwrap_or(false);
                if typing {
                    return;
                }
                let count = rows.with_untracked(Vec::len);
                match e.key().as_str() {
                    "j" if count > 0 => selected.update(|s| *s = (*s + 1).min(count - 1)),
                    "k" => selected.update(|s| *s = s.saturating_sub(1)),
                    "Enter" | "o" => {
                        if let Some(g) =
                            rows.with_untracked(|r| r.get(selected.get_untracked()).cloned())
                        {
                            navigate(&format!("/alerts/{}", g.id), Default::default());
                        }
                    }
                    "e" if can_triage => {
                        if let Some(g) =
                            rows.with_untracked(|r| r.get(selected.get_untracked()).cloned())
                        {
                            navigate(&exception_href(&g), Default::default());
                        }
                    }
                    "a" if can_triage => act(AlertState::Acknowledged, String::new()),
                    "r" if can_triage => act(AlertState::Resolved, String::new()),
                    "f" if can_triage => {
                        let why = window()
                            .prompt_with_message("Why is this a false positive?")
                            .ok()
                            .flatten()
                            .filter(|w| !w.trim().is_empty());
                        if let Some(why) = why {
                            act(AlertState::FalsePositive, why);
                        }
                    }
                    _ => return,
                }
                e.prevent_default();
            });
        let held = send_wrapper::SendWrapper::new(handle);
        on_cleanup(move || held.take().remove());
    });

    view! {
        <div class="queue-bar">
            <span class=move || if live.get() { "status status-good" } else { "status status-neutral" } data-live=move || live.get().to_string()>
                {move || if live.get() { "live" } else { "connecting…" }}
            </span>
            <span class="small muted">
                {if can_triage {
                    "Keys: j/k move · Enter opens · a acknowledge · r resolve · f false positive · e exception"
                } else {
                    "Keys: j/k move · Enter opens"
                }}
            </span>
        </div>
        <ActionOutcome value=triage.value() ok="Done." />
        <Show when=move || rows.with(|r| !r.is_empty()) fallback=|| view! {
            <div class="panel empty-state">
                <h2>"Nothing here"</h2>
                <p>"No alert group matches. Falco sends its events to "<code>"POST /api/v1/alerts/falco"</code>
                   " (an ingest token); any tool to "<code>"POST /api/v1/alerts"</code>". New ones appear here as they come."</p>
            </div>
        }>
            {move || view! {
            <table class="table alerts-table">
                <thead>
                    <tr>
                        <th scope="col">"Severity"</th>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Where"</th>
                        <th scope="col" class="num">"Events"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Assignee"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || rows.get().into_iter().enumerate() key=|(i, g)| (*i, g.id, g.count, g.state, g.assignee.clone()) let:item>
                        {
                            let (i, g) = item;
                            let id = g.id;
                            view! {
                                <tr class:selected=move || selected.get() == i data-alert=id.to_string() on:click=move |_| selected.set(i)>
                                    <td><SeverityBadge severity=g.severity /></td>
                                    <td>
                                        <a href=format!("/alerts/{id}")><strong>{g.rule.clone()}</strong></a>
                                        <div class="small muted clip" title=g.output.clone()>{g.source.clone()}": "{g.output.clone()}</div>
                                    </td>
                                    <td><Subject g=g.clone() /></td>
                                    <td class="num">{g.count}</td>
                                    <td class="small nowrap">{format_timestamp(g.last_at)}</td>
                                    <td><span class=state_class(g.state)>{state_label(g.state)}</span></td>
                                    <td>{g.assignee.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                            .into_any()
                        }
                    </For>
                </tbody>
            </table>
            }.into_any()}
        </Show>
        {next.map(|cursor| {
            let mut f = filter.get_untracked();
            f.cursor = Some(cursor);
            view! { <p><a class="btn" href=format!("/alerts?{}", filter_query(&f))>"Older groups →"</a></p> }
        })}
    }
    .into_any()
}

/// A filter as the alerts page's query string.
fn filter_query(f: &AlertFilter) -> String {
    let mut parts = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencode(&v)));
        }
    };
    put("state", f.state.clone());
    put("severity", f.severity.map(|s| s.as_str().to_string()));
    put("source", f.source.clone());
    put("rule", f.rule.clone());
    put("host", f.host.map(|h| h.to_string()));
    put("cluster", f.cluster.map(|c| c.to_string()));
    put("namespace", f.namespace.clone());
    put("assignee", f.assignee.clone());
    put("cursor", f.cursor.clone());
    parts.join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn AlertPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()));
    let triage = ServerAction::<TriageAlert>::new();
    let data = Resource::new(
        move || (id(), triage.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_alert(id).await,
                None => Err(crate::error::AppError::NotFound(
                    "No such alert group.".into(),
                )),
            }
        },
    );
    let me = use_me();
    view! {
        <Title text="Alert" />
        <nav class="crumbs"><a href="/alerts">"Runtime alerts"</a>" / "</nav>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let can_triage = me.await.map(|m| m.role >= Role::Analyst).unwrap_or(false);
                match data.await {
                    Ok(detail) => view! { <AlertView detail can_triage triage /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AlertView(
    detail: AlertDetail,
    can_triage: bool,
    triage: ServerAction<TriageAlert>,
) -> impl IntoView {
    let g = detail.group.clone();
    let id = g.id;
    let image = g.image_id.map(|i| view! { <a href=format!("/images/{i}")>{g.image_ref.clone().unwrap_or_else(|| format!("image {i}"))}</a> }.into_any())
        .or_else(|| g.image_ref.clone().map(|r| view! { <code>{r}</code> }.into_any()));
    let workload = g
        .workload_id
        .map(|w| view! { <a href=format!("/kubernetes/workloads/{w}")>"its workload"</a> });
    let assignee_was = g.assignee.clone().unwrap_or_default();
    let form = can_triage.then(|| {
        let moves = [
            ("", "keep its state".to_string()),
            ("acknowledged", if g.state.is_open() { "acknowledge".into() } else { "reopen (acknowledged)".into() }),
            ("resolved", "resolve".into()),
            ("false_positive", "false positive (say why)".into()),
        ]
        .into_iter()
        .filter(|(v, _)| *v != g.state.as_str())
        .map(|(v, label)| view! { <option value=v>{label}</option> })
        .collect_view();
        view! {
            <section class="panel">
                <h2>"Triage"</h2>
                <ActionForm action=triage attr:class="form-grid" attr:id="triage">
                    <input type="hidden" name="id" value=id.to_string() />
                    <input type="hidden" name="assignee_was" value=assignee_was.clone() />
                    <label>"State" <select name="state">{moves}</select></label>
                    <label>"Assignee" <input name="assignee" value=assignee_was.clone() placeholder="a user's name; empty: nobody" autocomplete="off" /></label>
                    <label class="span-all">"Comment" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                    <div class="span-all"><button class="btn btn-primary" type="submit">"Save"</button></div>
                </ActionForm>
                <ActionOutcome value=triage.value() ok="Saved." />
                <p class="small">
                    <a href=exception_href(&g) id="make-exception">"Make an exception for this rule"</a>
                    " (here, or wider: a reason, an owner, an expiry; it takes this group and its like out of the queue)"
                </p>
            </section>
        }
    });
    let covered = g.exception_id.map(|e| view! {
        <p class="alert alert-info">"Covered by "<a href=format!("/exceptions/{e}")>{format!("exception #{e}")}</a>
            ": out of the queue and the counts while it is in force."</p>
    });
    let activity = if detail.activity.is_empty() {
        view! { <p class="muted">"Nobody has triaged it yet."</p> }.into_any()
    } else {
        detail
            .activity
            .iter()
            .map(|a| {
                let mut did = Vec::new();
                if let Some(s) = a.state {
                    did.push(format!("moved it to {}", state_label(s)));
                }
                match a.assignee.as_deref() {
                    Some("") => did.push("unassigned it".into()),
                    Some(who) => did.push(format!("assigned it to {who}")),
                    None => {}
                }
                if did.is_empty() {
                    did.push("commented".into());
                }
                view! {
                    <li>
                        <span class="small muted">{format_timestamp(a.at)}</span>" "
                        <strong>{a.actor.clone()}</strong>" "{did.join(", ")}
                        {a.comment.clone().map(|c| view! { <blockquote class="evidence">{c}</blockquote> })}
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    let events = detail
        .events
        .iter()
        .map(|e| {
            let fields = e
                .fields
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    view! { <tr><th scope="row"><code>{k.clone()}</code></th><td><code>{v}</code></td></tr> }
                        .into_any()
                })
                .collect_view();
            view! {
                <tr>
                    <td class="small nowrap">{format_timestamp(e.at)}</td>
                    <td><SeverityBadge severity=e.severity /></td>
                    <td>
                        <div class="evidence">{e.output.clone()}</div>
                        {(!e.tags.is_empty()).then(|| view! { <div class="small muted">{e.tags.join(", ")}</div> })}
                        {(!e.fields.is_empty()).then(|| view! {
                            <details><summary class="small">{format!("{} fields", e.fields.len())}</summary>
                                <table class="table kv"><tbody>{fields}</tbody></table>
                            </details>
                        }.into_any())}
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    // Built in parts, each erased (`into_any`): one view of them all is too deep a type
    // for the release build.
    let header = view! {
        <p>
            <SeverityBadge severity=g.severity />" "
            <span class=state_class(g.state) id="alert-state">{state_label(g.state)}</span>" "
            <span class="muted">{format!("{} · {} event{} · first ", g.source, g.count, if g.count == 1 { "" } else { "s" })}</span>
            <Timestamp at=Some(g.first_at) />
            <span class="muted">" · last "</span>
            <Timestamp at=Some(g.last_at) />
            <span class="muted">{format!(" · assignee: {}", g.assignee.clone().unwrap_or_else(|| "nobody".into()))}</span>
        </p>
    }
    .into_any();
    let place = view! {
        <section class="panel">
            <h2>"Where"</h2>
            <p><Subject g=g.clone() />{workload.map(|w| view! { " · " {w} })}{image.map(|i| view! { " · image " {i} })}</p>
            <p class="evidence">{g.output.clone()}</p>
        </section>
    }
    .into_any();
    let history = view! {
        <section class="panel">
            <h2>"History"</h2>
            <ul class="activity">{activity}</ul>
        </section>
    }
    .into_any();
    let events = view! {
        <section class="panel">
            <h2>{format!("Events (the newest {} of {})", detail.events.len(), g.count)}</h2>
            <table class="table">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Severity"</th><th scope="col">"What"</th></tr></thead>
                <tbody>{events}</tbody>
            </table>
        </section>
    }
    .into_any();
    view! {
        <Title text=format!("Alert: {}", g.rule) />
        <h1>{g.rule.clone()}</h1>
        {header}
        {covered.map(IntoAny::into_any)}
        {place}
        {form.map(IntoAny::into_any)}
        {history}
        {events}
    }
    .into_any()
}

/// The exceptions page's form, filled in for a group's rule where it happened: what the
/// `e` key and the group's page open.
pub fn exception_href(g: &AlertGroup) -> String {
    use crate::components::listing::encode;
    let mut parts = vec![
        "kind=runtime".to_string(),
        format!("target={}", encode(&g.rule)),
        "verdict=false_positive".to_string(),
    ];
    let host = g.host.as_ref().or(g.hostname.as_ref());
    for (key, value) in [("host", host), ("namespace", g.namespace.as_ref())] {
        if let Some(v) = value {
            parts.push(format!("{key}={}", encode(v)));
        }
    }
    if let Some(image) = g.image_id {
        parts.push(format!("image_id={image}"));
    }
    format!("/exceptions?{}#new-exception", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_round_trips_through_its_query_string() {
        let f = AlertFilter {
            state: Some("all".into()),
            severity: Some(Severity::High),
            rule: Some("Terminal shell in container".into()),
            namespace: Some("a&b".into()),
            cursor: Some("17:4".into()),
            ..AlertFilter::default()
        };
        let q = filter_query(&f);
        assert_eq!(
            q,
            "state=all&severity=high&rule=Terminal%20shell%20in%20container&namespace=a%26b&cursor=17%3A4"
        );
    }

    #[test]
    fn the_exception_form_is_filled_in_for_the_group() {
        let g: AlertGroup = serde_json::from_value(serde_json::json!({
            "id": 4, "source": "falco", "rule": "Terminal shell in container", "severity": "critical",
            "state": "new", "output": "", "count": 1, "first_at": 0, "last_at": 0, "assignee": null,
            "host_id": 2, "host": "node-1", "container_id": null, "container": null, "pod_id": null,
            "workload_id": null, "image_id": 9, "hostname": "ignored", "container_ref": null,
            "namespace": "pay&ments", "pod": null, "image_ref": null
        }))
        .unwrap();
        assert_eq!(
            exception_href(&g),
            "/exceptions?kind=runtime&target=Terminal%20shell%20in%20container&verdict=false_positive\
             &host=node-1&namespace=pay%26ments&image_id=9#new-exception"
        );
    }
}
