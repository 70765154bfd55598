//! Webhooks behind the pages, the REST API and the notifications job: admins add,
//! switch, try and remove them (address and secret sealed with the server's key, never
//! returned) and read the delivery log; the job announces new groups, sends digests and
//! delivers. Each admin action is one commit with its audit record.

use super::send::post;
use super::send::Attempt;
use super::store::{DueDelivery, WebhookRow, WEBHOOK_SECRETS};
use super::{alert_digest, announce, check_url, refused_for_good, retry_after, test_message};
use crate::access::audit_by;
use crate::auth::sealing::SecretKey;
use crate::auth::{Admin, Authed};
use crate::error::{Error, Result};
use crate::{now, validate_field, AppState, StoreError};
use coastguard_model::notify::{
    Delivery, DeliveryState, NewWebhook, Webhook, WebhookFilter, WebhookFormat, WebhookPatch,
};
use coastguard_model::{validate, Page};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// Deliveries a page of the log holds.
pub const LOG_PAGE: i64 = 100;
/// New groups announced per commit.
const NOTICES_PER_COMMIT: i64 = 500;
/// Batches of new findings announced per commit (one message per webhook for them all).
const FINDING_BATCHES_PER_COMMIT: i64 = 200;
/// Groups one digest reads.
const DIGEST_GROUPS: i64 = 1_000;
/// Deliveries attempted at once (a round; one slow destination holds its round up to
/// its timeout).
const DUE_PER_ROUND: i64 = 16;
/// No new round starts after this long, so a pass ends well inside its lease.
const SENDING_SECS: u64 = 20;
/// A digest with nothing to say is looked for again this soon.
const DIGEST_RECHECK_SECS: i64 = 30;
/// Finished deliveries are kept this long.
pub const KEEP_DELIVERIES_SECS: i64 = 30 * 86_400;

fn not_found(what: &'static str, id: i64) -> impl Fn(StoreError) -> Error {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(format!("no {what} with id {id}")),
        other => other.into(),
    }
}

pub async fn list_webhooks(state: &AppState, _by: &Authed<Admin>) -> Result<Vec<Webhook>> {
    Ok(state.store.webhooks(None).await?)
}

async fn webhook(state: &AppState, id: i64) -> Result<Webhook> {
    state
        .store
        .webhooks(Some(id))
        .await
        .map_err(not_found("webhook", id))?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no webhook with id {id}")))
}

/// Adds a destination; it is told about groups made from now on.
pub async fn add_webhook(
    state: &AppState,
    by: &Authed<Admin>,
    input: NewWebhook,
) -> Result<Webhook> {
    let name = validate_field("name", validate::label("webhook name", &input.name))?;
    let (url, shown) = validate_field("url", check_url(&input.url))?;
    let secret = input.secret.as_deref();
    if let Some(s) = secret {
        if !(16..=256).contains(&s.chars().count()) {
            return Err(Error::invalid_at(
                "secret",
                "a signing secret is 16 to 256 characters",
            ));
        }
    }
    input
        .filter
        .check()
        .map_err(|(field, message)| Error::invalid_at(format!("filter/{field}"), message))?;
    if !(1..=1_440).contains(&input.digest_minutes) {
        return Err(Error::invalid_at(
            "digest_minutes",
            "a digest is sent every 1 to 1,440 minutes",
        ));
    }
    if !(1..=30).contains(&input.timeout_secs) {
        return Err(Error::invalid_at(
            "timeout_secs",
            "an attempt may take 1 to 30 seconds",
        ));
    }
    let key = state.settings.secret_key.as_ref().ok_or_else(|| {
        Error::Conflict(
            "no secret key is configured, and a webhook's address (a credential, for Slack) is only stored encrypted: set COASTGUARD_SECRET_KEY (or COASTGUARD_SECRET_KEY_FILE) and restart".into(),
        )
    })?;
    let sealed_url = key.seal(WEBHOOK_SECRETS, url.as_bytes());
    let sealed_secret = secret.map(|s| key.seal(WEBHOOK_SECRETS, s.as_bytes()));
    let at = now();
    let mut w = state.store.begin().await?;
    let id = w
        .add_webhook(
            &name,
            input.format,
            &sealed_url,
            &shown,
            sealed_secret.as_deref(),
            &input.filter,
            input.digest_minutes,
            input.timeout_secs,
            &by.principal.name,
            at,
        )
        .await?;
    let record = audit_by(
        by,
        "webhook.add",
        Some(format!("webhook:{id}")),
        Some(json!({
            "name": name, "address": shown, "format": input.format.as_str(),
            "signed": secret.is_some(), "filter": input.filter,
            "digest_minutes": input.digest_minutes,
        })),
    );
    w.commit_with(&record, at).await?;
    webhook(state, id).await
}

/// Removes a destination and its delivery log.
pub async fn remove_webhook(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    let name = w
        .remove_webhook(id)
        .await
        .map_err(not_found("webhook", id))?;
    let record = audit_by(
        by,
        "webhook.remove",
        Some(format!("webhook:{id}")),
        Some(json!({ "name": name })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// Switches a destination off (nothing new is queued for it, and what waits is held)
/// or on again.
pub async fn update_webhook(
    state: &AppState,
    by: &Authed<Admin>,
    id: i64,
    patch: WebhookPatch,
) -> Result<Webhook> {
    let at = now();
    let mut w = state.store.begin().await?;
    let Some(name) = w
        .set_webhook_enabled(id, patch.enabled)
        .await
        .map_err(not_found("webhook", id))?
    else {
        return Err(Error::Conflict(format!(
            "the webhook is {} already",
            if patch.enabled { "on" } else { "off" }
        )));
    };
    let record = audit_by(
        by,
        if patch.enabled {
            "webhook.enable"
        } else {
            "webhook.disable"
        },
        Some(format!("webhook:{id}")),
        Some(json!({ "name": name })),
    );
    w.commit_with(&record, at).await?;
    webhook(state, id).await
}

/// Queues a test message; the notifications job sends it within seconds.
pub async fn test_webhook(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<Delivery> {
    let row = state
        .store
        .webhook_row(id)
        .await
        .map_err(not_found("webhook", id))?;
    if !row.enabled {
        return Err(Error::Conflict(
            "the webhook is off: switch it on to send to it".into(),
        ));
    }
    let message = test_message(id, row.format(), &by.principal.name);
    let at = now();
    let mut w = state.store.begin().await?;
    w.add_deliveries(std::slice::from_ref(&message), at).await?;
    let record = audit_by(
        by,
        "webhook.test",
        Some(format!("webhook:{id}")),
        Some(json!({ "name": row.name })),
    );
    w.commit_with(&record, at).await?;
    state
        .store
        .deliveries(Some(id), None, None, 1)
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no webhook with id {id}")))
}

/// The delivery log, newest first: `before` is the cursor (a delivery's id).
pub async fn deliveries(
    state: &AppState,
    _by: &Authed<Admin>,
    webhook: Option<i64>,
    delivery_state: Option<&str>,
    before: Option<&str>,
) -> Result<Page<Delivery>> {
    let delivery_state = match delivery_state.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            Error::invalid_at(
                "state",
                "a delivery's state is pending, delivered or failed",
            )
        })?),
    };
    let before = validate::id_cursor(before.unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    let mut items = state
        .store
        .deliveries(webhook, delivery_state, before, LOG_PAGE + 1)
        .await?;
    let next_cursor = if items.len() as i64 > LOG_PAGE {
        items.truncate(LOG_PAGE as usize);
        items.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Sends a delivery that was given up on again, now.
pub async fn retry_delivery(state: &AppState, by: &Authed<Admin>, id: i64) -> Result<()> {
    let at = now();
    let mut w = state.store.begin().await?;
    let name = w.retry_delivery(id, at).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound(format!(
            "no failed delivery with id {id} (only failed ones are retried)"
        )),
        other => other.into(),
    })?;
    let record = audit_by(
        by,
        "webhook.retry",
        Some(format!("delivery:{id}")),
        Some(json!({ "webhook": name })),
    );
    w.commit_with(&record, at).await?;
    Ok(())
}

/// What one pass of the notifications job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// New groups taken from the notices.
    pub groups: usize,
    /// Messages queued (new groups and digests).
    pub queued: usize,
    pub delivered: usize,
    /// Attempts that failed (retried later or given up).
    pub failed: usize,
}

/// One pass: new groups announced, digests due made, due deliveries attempted. `now`
/// is the time the pass decides by.
pub async fn pass(state: &AppState, now: i64) -> Result<PassReport> {
    let mut report = PassReport::default();
    let rows = state.store.webhook_rows().await?;
    let enabled: Vec<&WebhookRow> = rows.iter().filter(|r| r.enabled).collect();
    announce_new(state, &enabled, now, &mut report).await?;
    announce_findings(state, &enabled, now, &mut report).await?;
    for row in &enabled {
        if row.digest_due_at <= now {
            report.queued += digest(state, row, now).await?;
        }
    }
    deliver_due(state, now, &mut report).await?;
    Ok(report)
}

/// Each webhook's id, format and filter.
fn targets(webhooks: &[&WebhookRow]) -> Vec<(i64, WebhookFormat, WebhookFilter)> {
    webhooks
        .iter()
        .map(|r| (r.id, r.format(), r.filter()))
        .collect()
}

async fn announce_new(
    state: &AppState,
    webhooks: &[&WebhookRow],
    now: i64,
    report: &mut PassReport,
) -> Result<()> {
    let targets = targets(webhooks);
    // Looked for without the write lock: most passes find nothing.
    while state.store.alert_notices_wait().await? {
        let mut w = state.store.begin_pass().await?;
        let ids = w.take_alert_notices(NOTICES_PER_COMMIT).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let groups = state.store.alert_groups_by_ids(&ids).await?;
        let (deliveries, marks) = announce(&targets, &groups);
        w.add_deliveries(&deliveries, now).await?;
        for (webhook, told) in &marks {
            w.mark_groups_sent(*webhook, told, now).await?;
        }
        w.commit().await?;
        report.groups += ids.len();
        report.queued += deliveries.len();
    }
    Ok(())
}

/// New findings: the batches taken in one commit with one message per webhook that asks
/// for findings and has some at or above its severity.
async fn announce_findings(
    state: &AppState,
    webhooks: &[&WebhookRow],
    now: i64,
    report: &mut PassReport,
) -> Result<()> {
    let mut targets = targets(webhooks);
    targets.retain(|(.., f)| f.findings);
    while state.store.finding_notices_wait().await? {
        let mut w = state.store.begin_pass().await?;
        let batches = w.take_finding_notices(FINDING_BATCHES_PER_COMMIT).await?;
        if batches.is_empty() {
            return Ok(());
        }
        let mut found = Vec::new();
        if !targets.is_empty() {
            for (kind, ids) in &batches {
                let notes = state.store.finding_notes(*kind, ids).await?;
                found.extend(notes.into_iter().map(|n| (*kind, n)));
            }
        }
        let messages: Vec<_> = targets
            .iter()
            .filter_map(|(id, format, filter)| {
                super::findings_new(*id, *format, filter.min_severity, &found)
            })
            .collect();
        w.add_deliveries(&messages, now).await?;
        w.commit().await?;
        report.queued += messages.len();
        if (batches.len() as i64) < FINDING_BATCHES_PER_COMMIT {
            break;
        }
    }
    Ok(())
}

/// A webhook's digest: the groups it was told about at least `digest_minutes` ago that
/// had more events since, if any. Then no digest for `digest_minutes`.
async fn digest(state: &AppState, row: &WebhookRow, now: i64) -> Result<usize> {
    let period = row.digest_minutes * 60;
    let grown = state
        .store
        .groups_grown(row.id, now - period, DIGEST_GROUPS)
        .await?;
    if grown.is_empty() {
        let mut w = state.store.begin_pass().await?;
        w.set_digest_due(
            row.id,
            now + DIGEST_RECHECK_SECS.min(row.digest_minutes * 60),
        )
        .await?;
        w.commit().await?;
        return Ok(0);
    }
    let ids: Vec<i64> = grown.iter().map(|g| g.group_id).collect();
    let since: HashMap<i64, i64> = grown.iter().map(|g| (g.group_id, g.sent_count)).collect();
    let mut groups: Vec<_> = state
        .store
        .alert_groups_by_ids(&ids)
        .await?
        .into_iter()
        .filter_map(|g| {
            let n = g.count - since.get(&g.id).copied()?;
            (n > 0).then_some((g, n))
        })
        .collect();
    groups.sort_by(|(a, _), (b, _)| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    let message = alert_digest(row.id, row.format(), row.digest_minutes, &groups);
    let told: Vec<(i64, i64)> = groups.iter().map(|(g, _)| (g.id, g.count)).collect();
    let mut w = state.store.begin_pass().await?;
    w.add_deliveries(std::slice::from_ref(&message), now)
        .await?;
    w.mark_groups_sent(row.id, &told, now).await?;
    w.set_digest_due(row.id, now + row.digest_minutes * 60)
        .await?;
    w.commit().await?;
    Ok(1)
}

/// Attempts every delivery due, a few at a time: each attempt is counted (and the
/// delivery put off to its retry time) in one commit before any is made, and the
/// outcomes are written in one commit after.
async fn deliver_due(state: &AppState, now: i64, report: &mut PassReport) -> Result<()> {
    let key = state.settings.secret_key.as_ref();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(SENDING_SECS) {
        let due = state.store.due_deliveries(now, DUE_PER_ROUND).await?;
        if due.is_empty() {
            return Ok(());
        }
        let mut w = state.store.begin_pass().await?;
        let plans: Vec<(i64, i64)> = due
            .iter()
            .map(|d| {
                // Not due again while this attempt may still be under way.
                let wait = retry_after(d.attempts + 1)
                    .unwrap_or(3_600)
                    .max(d.timeout_secs + 5);
                (d.id, now + wait)
            })
            .collect();
        w.begin_attempts(&plans).await?;
        w.commit().await?;
        let outcomes = futures::future::join_all(due.iter().map(|d| attempt(key, d))).await;
        let done = crate::now();
        let mut w = state.store.begin_pass().await?;
        for (d, attempt) in due.iter().zip(&outcomes) {
            let attempts = d.attempts + 1;
            let next = if attempt.delivered() {
                report.delivered += 1;
                DeliveryState::Delivered
            } else {
                report.failed += 1;
                let for_good = attempt.status.is_some_and(refused_for_good);
                if for_good || retry_after(attempts).is_none() {
                    DeliveryState::Failed
                } else {
                    DeliveryState::Pending
                }
            };
            if !attempt.delivered() {
                tracing::info!(
                    delivery = d.id,
                    attempts,
                    error = attempt.error.as_deref().unwrap_or(""),
                    state = next.as_str(),
                    "a webhook delivery failed"
                );
            }
            w.attempt_done(
                d.id,
                next,
                attempt.status.map(i64::from),
                attempt.error.as_deref(),
                done,
            )
            .await?;
        }
        w.commit().await?;
        if (due.len() as i64) < DUE_PER_ROUND {
            break;
        }
    }
    Ok(())
}

/// One attempt at a delivery: its address and secret opened, its body posted.
async fn attempt(key: Option<&SecretKey>, d: &DueDelivery) -> Attempt {
    let opened = key
        .ok_or_else(|| "no secret key is configured to open its address".to_string())
        .and_then(|key| {
            let url = key
                .open(WEBHOOK_SECRETS, &d.url)
                .map_err(|e| format!("its address cannot be opened: {e}"))?;
            let secret = match &d.secret {
                None => None,
                Some(s) => Some(
                    key.open(WEBHOOK_SECRETS, s)
                        .map_err(|e| format!("its secret cannot be opened: {e}"))?,
                ),
            };
            Ok((String::from_utf8_lossy(&url).into_owned(), secret))
        });
    match opened {
        Err(error) => Attempt {
            status: None,
            error: Some(error),
        },
        Ok((url, secret)) => {
            post(
                &url,
                secret.as_deref(),
                d.id,
                &d.event,
                &d.body,
                Duration::from_secs(d.timeout_secs.clamp(1, 30) as u64),
            )
            .await
        }
    }
}
