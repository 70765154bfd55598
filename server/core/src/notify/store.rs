//! Webhooks and their deliveries in the database.

use crate::scans::vulns::IMAGE_NAME;
use crate::store::notices::FindingKind;
use crate::store::query::{push_list, IDS_PER_LIST};
use crate::store::{Store, StoreError, StoreResult, Write};
use crate::{with_db, with_tx};
use coastguard_model::notify::{
    Delivery, DeliveryState, NotificationEvent, Webhook, WebhookFilter, WebhookFormat,
};

/// The purpose a webhook's address and secret are sealed for.
pub const WEBHOOK_SECRETS: &str = "webhook";

/// A webhook's row, its address and secret still sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub name: String,
    pub format: String,
    pub url: String,
    pub address_shown: String,
    pub secret: Option<String>,
    pub filter: String,
    pub digest_minutes: i64,
    pub timeout_secs: i64,
    pub enabled: bool,
    pub digest_due_at: i64,
    pub created_by: String,
    pub created_at: i64,
}

impl WebhookRow {
    pub fn format(&self) -> WebhookFormat {
        WebhookFormat::parse(&self.format).unwrap_or_default()
    }

    /// Its filter; one that cannot be read matches nothing above critical, never more.
    pub fn filter(&self) -> WebhookFilter {
        serde_json::from_str(&self.filter).unwrap_or_default()
    }
}

const COLUMNS: &str = "id, name, format, url, address_shown, secret, filter, digest_minutes, \
                       timeout_secs, enabled, digest_due_at, created_by, created_at";

#[derive(sqlx::FromRow)]
struct Counts {
    webhook_id: i64,
    pending: i64,
    delivered: i64,
    failed: i64,
    last_delivered_at: Option<i64>,
}

/// A message to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event: NotificationEvent,
    pub group_id: Option<i64>,
    pub summary: String,
    pub body: String,
}

/// A delivery due for an attempt, with where it goes (still sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub event: String,
    pub body: String,
    pub attempts: i64,
    pub url: String,
    pub secret: Option<String>,
    pub timeout_secs: i64,
}

/// A group a destination was told about, with its count now and when it was told.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupSince {
    pub group_id: i64,
    pub count: i64,
    pub sent_count: i64,
}

/// A new finding, as a message names it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FindingNote {
    pub id: i64,
    pub severity: String,
    /// The vulnerability's id, or the check's title.
    pub title: String,
    /// The package, or the check's id.
    pub detail: Option<String>,
    /// The image's name, or the subject's kind (`host`, `container`, `pod`, …).
    pub subject: String,
    pub subject_id: i64,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    webhook: String,
    event: String,
    summary: String,
    group_id: Option<i64>,
    state: String,
    attempts: i64,
    next_at: Option<i64>,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    done_at: Option<i64>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        let state = DeliveryState::parse(&r.state).unwrap_or(DeliveryState::Failed);
        Delivery {
            id: r.id,
            webhook_id: r.webhook_id,
            webhook: r.webhook,
            event: NotificationEvent::parse(&r.event).unwrap_or(NotificationEvent::Test),
            summary: r.summary,
            group_id: r.group_id,
            state,
            attempts: r.attempts,
            next_attempt_at: r.next_at.filter(|_| state == DeliveryState::Pending),
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.done_at.filter(|_| state == DeliveryState::Delivered),
        }
    }
}

impl Store {
    pub async fn webhook_rows(&self) -> StoreResult<Vec<WebhookRow>> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks ORDER BY name");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn webhook_row(&self, id: i64) -> StoreResult<WebhookRow> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
        let row: Option<WebhookRow> = with_db!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The webhooks (every one, or `only` one) with their deliveries counted.
    pub async fn webhooks(&self, only: Option<i64>) -> StoreResult<Vec<Webhook>> {
        let rows = match only {
            Some(id) => vec![self.webhook_row(id).await?],
            None => self.webhook_rows().await?,
        };
        let counts: Vec<Counts> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT webhook_id, \
               SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending, \
               SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END) AS delivered, \
               SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed, \
               MAX(CASE WHEN state = 'delivered' THEN done_at END) AS last_delivered_at \
             FROM webhook_deliveries GROUP BY webhook_id"
        )
        .fetch_all(pool)
        .await)?;
        // One walk back along (webhook_id, id) per webhook, not a subquery per delivery.
        let errors: Vec<(i64, Option<String>)> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT w.id, (SELECT e.last_error FROM webhook_deliveries e \
                           WHERE e.webhook_id = w.id AND e.last_error IS NOT NULL \
                           ORDER BY e.id DESC LIMIT 1) AS last_error \
             FROM webhooks w"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let c = counts.iter().find(|c| c.webhook_id == r.id);
                Webhook {
                    id: r.id,
                    name: r.name.clone(),
                    address: r.address_shown.clone(),
                    format: r.format(),
                    signed: r.secret.is_some(),
                    filter: r.filter(),
                    digest_minutes: r.digest_minutes,
                    timeout_secs: r.timeout_secs,
                    enabled: r.enabled,
                    created_by: r.created_by.clone(),
                    created_at: r.created_at,
                    pending: c.map_or(0, |c| c.pending),
                    delivered: c.map_or(0, |c| c.delivered),
                    failed: c.map_or(0, |c| c.failed),
                    last_delivered_at: c.and_then(|c| c.last_delivered_at),
                    last_error: errors
                        .iter()
                        .find(|(id, _)| *id == r.id)
                        .and_then(|(_, e)| e.clone()),
                }
            })
            .collect())
    }

    /// The newest deliveries (of one webhook, in one state), older than `before`.
    pub async fn deliveries(
        &self,
        webhook: Option<i64>,
        state: Option<DeliveryState>,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = with_db!(&self.db, |pool| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT d.id, d.webhook_id, w.name AS webhook, d.event, d.summary, d.group_id, d.state, \
                   d.attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.done_at \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE 1 = 1",
            );
            if let Some(id) = webhook {
                q.push(" AND d.webhook_id = ").push_bind(id);
            }
            if let Some(s) = state {
                q.push(" AND d.state = ").push_bind(s.as_str());
            }
            if let Some(b) = before {
                q.push(" AND d.id < ").push_bind(b);
            }
            q.push(" ORDER BY d.id DESC LIMIT ").push_bind(limit);
            q.build_query_as().fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Delivery::from).collect())
    }

    /// The open findings among `ids` (one kind), to name in a message.
    pub async fn finding_notes(
        &self,
        kind: FindingKind,
        ids: &[i64],
    ) -> StoreResult<Vec<FindingNote>> {
        let select = match kind {
            FindingKind::Vulnerability => format!(
                "SELECT f.id, f.severity, v.vuln_id AS title, f.pkg_name AS detail, {IMAGE_NAME} AS subject, \
                   f.image_id AS subject_id \
                 FROM findings f JOIN vulnerabilities v ON v.id = f.vulnerability_id JOIN images i ON i.id = f.image_id \
                 WHERE f.state = 'open' AND f.id IN "
            ),
            FindingKind::Configuration => "SELECT cf.id, cf.severity, COALESCE(cf.title, cf.check_id) AS title, \
                   cf.check_id AS detail, cf.subject_kind AS subject, cf.subject_id \
                 FROM config_findings cf WHERE cf.state = 'open' AND cf.id IN "
                .to_string(),
        };
        let mut notes = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_LIST) {
            let rows: Vec<FindingNote> = with_db!(&self.db, |pool| {
                let mut q = sqlx::QueryBuilder::new(select.as_str());
                push_list(&mut q, chunk);
                q.build_query_as().fetch_all(pool).await
            })?;
            notes.extend(rows);
        }
        Ok(notes)
    }

    /// Whether new findings wait to be announced.
    pub async fn finding_notices_wait(&self) -> StoreResult<bool> {
        let any: Option<i64> = with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT id FROM finding_notices LIMIT 1"
        )
        .fetch_optional(pool)
        .await)?;
        Ok(any.is_some())
    }

    /// Whether new groups wait to be announced.
    pub async fn alert_notices_wait(&self) -> StoreResult<bool> {
        let any: Option<i64> = with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT group_id FROM alert_notices LIMIT 1"
        )
        .fetch_optional(pool)
        .await)?;
        Ok(any.is_some())
    }

    /// Deliveries due at `now`, to enabled webhooks, oldest first.
    pub async fn due_deliveries(&self, now: i64, limit: i64) -> StoreResult<Vec<DueDelivery>> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT d.id, d.event, d.body, d.attempts, w.url, w.secret, w.timeout_secs \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'pending' AND d.next_at <= $1 AND w.enabled = TRUE \
             ORDER BY d.next_at, d.id LIMIT $2"
        )
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// The open groups `webhook` was last told about at `told_before` or earlier that
    /// had more events since.
    pub async fn groups_grown(
        &self,
        webhook: i64,
        told_before: i64,
        limit: i64,
    ) -> StoreResult<Vec<GroupSince>> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT m.group_id, a.count, m.sent_count FROM webhook_groups m \
             JOIN runtime_alerts a ON a.id = m.group_id \
             WHERE m.webhook_id = $1 AND m.sent_at <= $2 AND a.count > m.sent_count \
               AND a.state IN ('new', 'acknowledged') AND a.exception_id IS NULL \
             ORDER BY m.group_id LIMIT $3"
        )
        .bind(webhook)
        .bind(told_before)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }
}

impl Write {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn add_webhook(
        &mut self,
        name: &str,
        format: WebhookFormat,
        url: &str,
        address_shown: &str,
        secret: Option<&str>,
        filter: &WebhookFilter,
        digest_minutes: i64,
        timeout_secs: i64,
        by: &str,
        now: i64,
    ) -> StoreResult<i64> {
        let filter = serde_json::to_string(filter).expect("a filter serializes");
        with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "INSERT INTO webhooks (name, format, url, address_shown, secret, filter, digest_minutes, \
               timeout_secs, enabled, digest_due_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $10, $9) RETURNING id"
        )
        .bind(name)
        .bind(format.as_str())
        .bind(url)
        .bind(address_shown)
        .bind(secret)
        .bind(&filter)
        .bind(digest_minutes)
        .bind(timeout_secs)
        .bind(now)
        .bind(by)
        .fetch_one(&mut **t)
        .await)
        .map_err(|e| StoreError::on_unique(e, format!("a webhook named '{name}' exists already")))
    }

    pub(crate) async fn remove_webhook(&mut self, id: i64) -> StoreResult<String> {
        let name: Option<String> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "DELETE FROM webhooks WHERE id = $1 RETURNING name"
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        name.ok_or(StoreError::NotFound)
    }

    /// Switches a webhook on or off; answers its name, or `None` when it already was.
    pub(crate) async fn set_webhook_enabled(
        &mut self,
        id: i64,
        enabled: bool,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String, bool)> = with_tx!(&mut self.tx, |t| sqlx::query_as(
            "SELECT name, enabled FROM webhooks WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
        let (name, was) = row.ok_or(StoreError::NotFound)?;
        if was == enabled {
            return Ok(None);
        }
        with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE webhooks SET enabled = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(enabled)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        Ok(Some(name))
    }

    /// Takes up to `limit` new groups not yet announced: they are announced by this
    /// commit or, if it rolls back, by a later one.
    pub(crate) async fn take_alert_notices(&mut self, limit: i64) -> StoreResult<Vec<i64>> {
        let mut ids: Vec<i64> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "DELETE FROM alert_notices WHERE group_id IN \
               (SELECT group_id FROM alert_notices ORDER BY group_id LIMIT $1) \
             RETURNING group_id"
        )
        .bind(limit)
        .fetch_all(&mut **t)
        .await)?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Takes up to `limit` batches of new findings: their kind and ids.
    pub(crate) async fn take_finding_notices(
        &mut self,
        limit: i64,
    ) -> StoreResult<Vec<(FindingKind, Vec<i64>)>> {
        let rows: Vec<(String, String)> = with_tx!(&mut self.tx, |t| sqlx::query_as(
            "DELETE FROM finding_notices WHERE id IN \
               (SELECT id FROM finding_notices ORDER BY id LIMIT $1) \
             RETURNING kind, ids"
        )
        .bind(limit)
        .fetch_all(&mut **t)
        .await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, ids)| {
                Some((FindingKind::parse(&kind)?, serde_json::from_str(&ids).ok()?))
            })
            .collect())
    }

    /// Stores messages, due now.
    pub(crate) async fn add_deliveries(
        &mut self,
        deliveries: &[NewDelivery],
        now: i64,
    ) -> StoreResult<()> {
        for chunk in deliveries.chunks(200) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO webhook_deliveries (webhook_id, event, group_id, summary, body, state, attempts, next_at, created_at) ",
                );
                q.push_values(chunk, |mut row, d| {
                    row.push_bind(d.webhook_id)
                        .push_bind(d.event.as_str())
                        .push_bind(d.group_id)
                        .push_bind(d.summary.clone())
                        .push_bind(d.body.clone())
                        .push_bind("pending")
                        .push_bind(0_i64)
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Records the count each group had when `webhook` was told about it.
    pub(crate) async fn mark_groups_sent(
        &mut self,
        webhook: i64,
        groups: &[(i64, i64)],
        now: i64,
    ) -> StoreResult<()> {
        for chunk in groups.chunks(IDS_PER_LIST / 2) {
            with_tx!(&mut self.tx, |t| {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO webhook_groups (webhook_id, group_id, sent_count, sent_at) ",
                );
                q.push_values(chunk, |mut row, (group, count)| {
                    row.push_bind(webhook)
                        .push_bind(*group)
                        .push_bind(*count)
                        .push_bind(now);
                });
                q.push(
                    " ON CONFLICT (webhook_id, group_id) DO UPDATE SET sent_count = excluded.sent_count, \
                      sent_at = excluded.sent_at",
                );
                q.build().execute(&mut **t).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    pub(crate) async fn set_digest_due(&mut self, webhook: i64, at: i64) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE webhooks SET digest_due_at = $2 WHERE id = $1"
        )
        .bind(webhook)
        .bind(at)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// An attempt begins: counted, and the delivery put off to its retry time, so that
    /// if this process dies meanwhile it is tried again then.
    pub(crate) async fn begin_attempts(&mut self, ids: &[(i64, i64)]) -> StoreResult<()> {
        for (id, retry_at) in ids {
            with_tx!(&mut self.tx, |t| sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = $2 \
                 WHERE id = $1 AND state = 'pending'"
            )
            .bind(*id)
            .bind(*retry_at)
            .execute(&mut **t)
            .await
            .map(|_| ()))?;
        }
        Ok(())
    }

    /// How an attempt went: delivered, failed for good, or left pending for its retry.
    pub(crate) async fn attempt_done(
        &mut self,
        id: i64,
        state: DeliveryState,
        status: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        with_tx!(&mut self.tx, |t| sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, last_status = $3, last_error = $4, \
               done_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $5 END, \
               next_at = CASE WHEN $2 = 'pending' THEN next_at ELSE NULL END \
             WHERE id = $1"
        )
        .bind(id)
        .bind(state.as_str())
        .bind(status)
        .bind(error)
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Sends a failed delivery again, now; answers its webhook's name.
    pub(crate) async fn retry_delivery(&mut self, id: i64, now: i64) -> StoreResult<String> {
        let webhook: Option<i64> = with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "UPDATE webhook_deliveries SET state = 'pending', next_at = $2, done_at = NULL \
             WHERE id = $1 AND state = 'failed' RETURNING webhook_id"
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut **t)
        .await)?;
        let webhook = webhook.ok_or(StoreError::NotFound)?;
        Ok(with_tx!(&mut self.tx, |t| sqlx::query_scalar(
            "SELECT name FROM webhooks WHERE id = $1"
        )
        .bind(webhook)
        .fetch_one(&mut **t)
        .await)?)
    }

    /// Forgets deliveries finished before `before`, and what webhooks were told about
    /// groups closed since.
    pub(crate) async fn prune_deliveries(&mut self, before: i64) -> StoreResult<u64> {
        let gone = with_tx!(&mut self.tx, |t| sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND done_at < $1"
        )
        .bind(before)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
        with_tx!(&mut self.tx, |t| {
            sqlx::query(
            "DELETE FROM webhook_groups WHERE group_id IN \
               (SELECT id FROM runtime_alerts WHERE state NOT IN ('new', 'acknowledged') AND last_at < $1)"
        )
        .bind(before)
        .execute(&mut **t)
        .await
        .map(|_| ())
        })?;
        Ok(gone)
    }
}
