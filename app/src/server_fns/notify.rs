//! Notifications (admins): webhooks and their delivery log.

// The add form's fields are the server function's arguments, one each; the macro's
// client half repeats them where an attribute on the function cannot reach.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use coastguard_model::notify::{Delivery, Webhook};
use coastguard_model::Page;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ctx, coastguard_core::auth::Admin, coastguard_core::notify::manage};

#[server(prefix = "/ui")]
pub async fn list_webhooks() -> Result<Vec<Webhook>, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::list_webhooks(&ctx::state()?, &by).await?)
}

/// From the add form: blank fields are absent; sources comma-separated; numbers as
/// typed (checked on the server); what it sends by two checkboxes.
#[server(prefix = "/ui")]
pub async fn add_webhook(
    name: String,
    url: String,
    format: String,
    secret: String,
    min_severity: String,
    sources: String,
    rule: String,
    host: String,
    namespace: String,
    digest_minutes: String,
    timeout_secs: String,
    // Checkboxes: sent only when ticked.
    alerts: Option<String>,
    findings: Option<String>,
) -> Result<Webhook, AppError> {
    use coastguard_model::notify::{NewWebhook, WebhookFilter, WebhookFormat};
    use coastguard_model::Severity;
    let by = ctx::require::<Admin>()?;
    let some = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let input = NewWebhook {
        name,
        url,
        format: WebhookFormat::parse(&format).unwrap_or_default(),
        secret: some(secret),
        filter: WebhookFilter {
            min_severity: Severity::normalise(&min_severity),
            alerts: alerts.is_some(),
            findings: findings.is_some(),
            sources: sources
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            rule: some(rule),
            host: some(host),
            namespace: some(namespace),
        },
        digest_minutes: ctx::whole_number("digest_minutes", &digest_minutes)?,
        timeout_secs: ctx::whole_number("timeout_secs", &timeout_secs)?,
    };
    Ok(manage::add_webhook(&ctx::state()?, &by, input).await?)
}

#[server(prefix = "/ui")]
pub async fn switch_webhook(id: i64, enabled: bool) -> Result<Webhook, AppError> {
    let by = ctx::require::<Admin>()?;
    let patch = coastguard_model::notify::WebhookPatch { enabled };
    Ok(manage::update_webhook(&ctx::state()?, &by, id, patch).await?)
}

#[server(prefix = "/ui")]
pub async fn remove_webhook(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::remove_webhook(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn test_webhook(id: i64) -> Result<Delivery, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::test_webhook(&ctx::state()?, &by, id).await?)
}

#[server(prefix = "/ui")]
pub async fn list_deliveries(
    state: Option<String>,
    cursor: Option<String>,
) -> Result<Page<Delivery>, AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::deliveries(
        &ctx::state()?,
        &by,
        None,
        state.as_deref(),
        cursor.as_deref(),
    )
    .await?)
}

#[server(prefix = "/ui")]
pub async fn retry_delivery(id: i64) -> Result<(), AppError> {
    let by = ctx::require::<Admin>()?;
    Ok(manage::retry_delivery(&ctx::state()?, &by, id).await?)
}
