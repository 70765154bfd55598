//! Admin: notifications. Webhooks (generic JSON or Slack) for new alert groups and their
//! digests, and the delivery log: each message, its attempts and why one failed.

use crate::components::common::{ActionOutcome, ErrorBox, Loading, Timestamp};
use crate::components::guard::AdminOnly;
use crate::error::AppError;
use crate::server_fns::notify::{
    list_deliveries, list_webhooks, AddWebhook, RemoveWebhook, RetryDelivery, SwitchWebhook,
    TestWebhook,
};
use coastguard_model::notify::{Delivery, DeliveryState, Webhook, WebhookFilter};
use coastguard_model::{Page, Severity};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    // Made here, outside <AdminOnly>'s <Suspense> (see components::risk).
    let add = ServerAction::<AddWebhook>::new();
    let switch = ServerAction::<SwitchWebhook>::new();
    let remove = ServerAction::<RemoveWebhook>::new();
    let test = ServerAction::<TestWebhook>::new();
    let retry = ServerAction::<RetryDelivery>::new();
    let query = use_query_map();
    let webhooks = Resource::new(
        move || {
            (
                add.version().get(),
                switch.version().get(),
                remove.version().get(),
                test.version().get(),
                retry.version().get(),
            )
        },
        |_| list_webhooks(),
    );
    let log = Resource::new(
        move || {
            (
                query.with(|q| (q.get("state"), q.get("cursor"))),
                test.version().get(),
                retry.version().get(),
                remove.version().get(),
            )
        },
        |((state, cursor), ..)| list_deliveries(state, cursor),
    );
    let actions = Actions {
        switch,
        remove,
        test,
        retry,
    };
    view! {
        <Title text="Notifications" />
        <AdminOnly>
            <h1>"Notifications"</h1>
            <AddForm add />
            <WebhooksPanel webhooks actions />
            <DeliveryLog log actions />
        </AdminOnly>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    switch: ServerAction<SwitchWebhook>,
    remove: ServerAction<RemoveWebhook>,
    test: ServerAction<TestWebhook>,
    retry: ServerAction<RetryDelivery>,
}

#[component]
fn AddForm(add: ServerAction<AddWebhook>) -> impl IntoView {
    let severities = Severity::DESCENDING
        .iter()
        .map(|s| view! { <option value=s.as_str() selected=*s == Severity::High>{s.label()}</option> })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Add a webhook"</h2>
            <p class="muted small">
                "Each new runtime alert group its filter takes is sent once, as it appears (and, if asked, each scan's or check's new findings in one message); further events of a group already sent are summed up in one digest at most every few minutes, so a burst of identical events is one message, then a count. "
                "Messages wait in the database until delivered, and failed attempts are retried after 10 s, 30 s, 2, 10 and 30 min, 1, 2 and 4 h. "
                "With a secret, each body is signed: "<code>"X-Coastguard-Signature: t=<time>,v1=<HMAC-SHA256 of \"<time>.<body>\">"</code>". "
                "The address and secret are stored encrypted and never shown again."
            </p>
            <ActionForm action=add attr:class="form-grid">
                <label>"Name" <input name="name" required placeholder="on-call" autocomplete="off" /></label>
                <label>"Address" <input name="url" type="url" required placeholder="https://hooks.slack.com/services/…" autocomplete="off" /></label>
                <label>"Body"
                    <select name="format">
                        <option value="generic">"Coastguard JSON"</option>
                        <option value="slack">"Slack (text)"</option>
                    </select>
                </label>
                <label>"Signing secret" <input name="secret" type="password" minlength="16" maxlength="256" placeholder="optional, 16+ characters" autocomplete="new-password" /></label>
                <fieldset class="checks span-all">
                    <legend>"Sends"</legend>
                    <label><input type="checkbox" name="alerts" value="on" checked />"New alert groups, then digests of their events"</label>
                    <label><input type="checkbox" name="findings" value="on" />"New findings: vulnerabilities and configuration, one message per scan or check"</label>
                </fieldset>
                <label>"Least severity" <select name="min_severity">{severities}</select></label>
                <label>"Sources" <input name="sources" placeholder="all, or falco, coastguard" /></label>
                <label>"Rule" <input name="rule" placeholder="any; * matches, e.g. Terminal shell*" /></label>
                <label>"Host" <input name="host" placeholder="any; node-*" /></label>
                <label>"Namespace" <input name="namespace" placeholder="any; payments" /></label>
                <label>"Digest every (min)" <input name="digest_minutes" type="number" min="1" max="1440" value="15" required /></label>
                <label>"Timeout (s)" <input name="timeout_secs" type="number" min="1" max="30" value="10" required /></label>
                <div><button class="btn btn-primary" type="submit">"Add webhook"</button></div>
            </ActionForm>
            <ActionOutcome value=add.value() ok="Webhook added: it hears of new groups from now on." />
        </section>
    }
}

fn filter_text(f: &WebhookFilter) -> String {
    let what = match (f.alerts, f.findings) {
        (true, true) => "alert groups and findings",
        (true, false) => "alert groups",
        (false, true) => "findings",
        (false, false) => "nothing",
    };
    let mut parts = vec![format!("{what}, {} and above", f.min_severity.label())];
    if !f.sources.is_empty() {
        parts.push(format!("from {}", f.sources.join(", ")));
    }
    for (what, p) in [
        ("rule", &f.rule),
        ("host", &f.host),
        ("namespace", &f.namespace),
    ] {
        if let Some(p) = p.as_deref().filter(|p| !p.trim().is_empty()) {
            parts.push(format!("{what} {p}"));
        }
    }
    parts.join("; ")
}

#[component]
fn WebhooksPanel(
    webhooks: Resource<Result<Vec<Webhook>, AppError>>,
    actions: Actions,
) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Webhooks"</h2>
            <ActionOutcome value=actions.test.value() ok="Test message queued: it goes out within seconds (see the log below)." />
            <ActionOutcome value=actions.switch.value() ok="Webhook switched." />
            <ActionOutcome value=actions.remove.value() ok="Webhook removed." />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match webhooks.await {
                        Ok(list) => view! { <WebhookTable list actions /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn WebhookTable(list: Vec<Webhook>, actions: Actions) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No webhooks yet: alerts are only on the Runtime alerts page."</p> }
            .into_any();
    }
    let rows = list
        .into_iter()
        .map(|w| view! { <WebhookRow w actions /> }.into_any())
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Sends"</th>
                    <th scope="col">"Digest"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Deliveries"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn WebhookRow(w: Webhook, actions: Actions) -> impl IntoView {
    let (test_id, switch_id, remove_id) = (w.id.to_string(), w.id.to_string(), w.id.to_string());
    let format = match w.format {
        coastguard_model::notify::WebhookFormat::Generic => "JSON",
        coastguard_model::notify::WebhookFormat::Slack => "Slack",
    };
    let state = if w.enabled {
        view! { <span class="status status-good">"on"</span> }.into_any()
    } else {
        view! { <span class="status status-neutral">"off"</span> }.into_any()
    };
    let error = w.last_error.clone().map(|e| {
        view! { <div class="small delivery-error" title="The newest failed attempt">{e}</div> }
    });
    let name = w.name.clone();
    view! {
        <tr class:disabled-row=!w.enabled>
            <td>
                <strong>{w.name.clone()}</strong>
                <div class="small muted">{format}{w.signed.then_some(", signed")}</div>
            </td>
            <td><code>{w.address.clone()}"/…"</code></td>
            <td class="small">{filter_text(&w.filter)}</td>
            <td>{format!("{} min", w.digest_minutes)}</td>
            <td>{state}</td>
            <td class="small">
                {format!("{} waiting · {} delivered · {} failed", w.pending, w.delivered, w.failed)}
                <div class="muted">"last delivered " <Timestamp at=w.last_delivered_at /></div>
                {error}
            </td>
            <td class="actions">
                <ActionForm action=actions.test attr:class="inline-form">
                    <input type="hidden" name="id" value=test_id.clone() />
                    <button class="btn btn-small" type="submit" disabled=!w.enabled
                        aria-label=format!("Send a test message to {}", name.clone())>"Test"</button>
                </ActionForm>
                <ActionForm action=actions.switch attr:class="inline-form">
                    <input type="hidden" name="id" value=switch_id.clone() />
                    <input type="hidden" name="enabled" value=(!w.enabled).to_string() />
                    <button class="btn btn-small" type="submit">{if w.enabled { "Switch off" } else { "Switch on" }}</button>
                </ActionForm>
                <ActionForm action=actions.remove attr:class="inline-form">
                    <input type="hidden" name="id" value=remove_id.clone() />
                    <button class="btn btn-small btn-danger" type="submit"
                        aria-label=format!("Remove webhook {}", w.name.clone())>"Remove"</button>
                </ActionForm>
            </td>
        </tr>
    }
    .into_any()
}

#[component]
fn DeliveryLog(log: Resource<Result<Page<Delivery>, AppError>>, actions: Actions) -> impl IntoView {
    let query = use_query_map();
    let current = move || query.with(|q| q.get("state")).unwrap_or_default();
    let tabs = [
        ("", "all"),
        ("pending", "waiting"),
        ("failed", "failed"),
        ("delivered", "delivered"),
    ]
    .into_iter()
    .map(|(v, label)| {
        let href = if v.is_empty() {
            "/admin/notifications".to_string()
        } else {
            format!("/admin/notifications?state={v}")
        };
        view! {
            <a href=href class:active=move || current() == v
                aria-current=move || (current() == v).then_some("page")>{label}</a>
        }
    })
    .collect_view();
    view! {
        <section class="panel">
            <h2>"Delivery log"</h2>
            <p class="muted small">"Every message, newest first (kept 30 days after it finished); the page shows it as it was when loaded."</p>
            <nav class="tabs" aria-label="Deliveries by state">{tabs}</nav>
            <ActionOutcome value=actions.retry.value() ok="Sent again: it goes out within seconds." />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(page) => view! { <DeliveryTable page retry=actions.retry /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn DeliveryTable(page: Page<Delivery>, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="muted">"No deliveries here."</p> }.into_any();
    }
    let query = use_query_map();
    let older = page.next_cursor.map(|c| {
        let state = query.with_untracked(|q| q.get("state")).unwrap_or_default();
        let href = if state.is_empty() {
            format!("/admin/notifications?cursor={c}")
        } else {
            format!("/admin/notifications?state={state}&cursor={c}")
        };
        view! { <p><a href=href>"Older deliveries"</a></p> }
    });
    let rows = page
        .items
        .into_iter()
        .map(|d| view! { <DeliveryRow d retry /> }.into_any())
        .collect_view();
    view! {
        <table class="table" id="deliveries">
            <thead>
                <tr>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Webhook"</th>
                    <th scope="col">"Message"</th>
                    <th scope="col">"State"</th>
                    <th scope="col" class="num">"Attempts"</th>
                    <th scope="col">"Last answer"</th>
                    <th scope="col">"Next attempt / delivered"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {older}
    }
    .into_any()
}

#[component]
fn DeliveryRow(d: Delivery, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    let (class, label) = match d.state {
        DeliveryState::Pending => ("status status-warn", "waiting"),
        DeliveryState::Delivered => ("status status-good", "delivered"),
        DeliveryState::Failed => ("status status-bad", "failed"),
    };
    let answer = match (d.last_status, d.last_error.clone()) {
        (_, Some(e)) => e,
        (Some(s), None) => format!("HTTP {s}"),
        (None, None) => "—".into(),
    };
    let message = match d.group_id {
        Some(g) => view! { <a href=format!("/alerts/{g}")>{d.summary.clone()}</a> }.into_any(),
        None => view! { <span>{d.summary.clone()}</span> }.into_any(),
    };
    let when = match d.state {
        DeliveryState::Delivered => view! { <Timestamp at=d.delivered_at /> }.into_any(),
        _ => view! { <Timestamp at=d.next_attempt_at /> }.into_any(),
    };
    view! {
        <tr class="delivery" data-state=d.state.as_str()>
            <td><Timestamp at=Some(d.created_at) /></td>
            <td>{d.webhook.clone()}</td>
            <td><code class="small">{d.event.as_str()}</code>" "{message}</td>
            <td><span class=class>{label}</span></td>
            <td class="num">{d.attempts}</td>
            <td class="small delivery-answer">{answer}</td>
            <td>{when}</td>
            <td class="actions">
                {(d.state == DeliveryState::Failed).then(|| view! {
                    <ActionForm action=retry attr:class="inline-form">
                        <input type="hidden" name="id" value=d.id.to_string() />
                        <button class="btn btn-small" type="submit">"Retry"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
    .into_any()
}
