//! Notifications: outgoing webhooks for new alert groups (and a digest of their further
//! events), and the delivery log. Admins only: a destination's settings and log say
//! where the estate's alerts go.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::ServerState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use coastguard_core::auth::{Admin, Authed};
use coastguard_core::notify::manage;
use coastguard_core::Result;
use coastguard_model::notify::{Delivery, DeliveryState, NewWebhook, Webhook, WebhookPatch};
use coastguard_model::{ErrorBody, Page};
use serde::Deserialize;

/// The webhooks, each with its deliveries counted and its newest error. Addresses show
/// their scheme and host only; secrets never.
#[utoipa::path(get, path = "/webhooks", tag = "notifications",
    responses((status = 200, body = Page<Webhook>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_webhooks(
    by: Authed<Admin>,
    State(state): State<ServerState>,
) -> Result<Json<Page<Webhook>>> {
    Ok(Json(Page {
        items: manage::list_webhooks(&state.app, &by).await?,
        next_cursor: None,
    }))
}

/// Add a webhook. It is sent one message per new alert group its `filter` takes
/// (`min_severity`, `sources`, and `rule`, `host`, `namespace` patterns with `*`), then
/// at most every `digest_minutes` a digest of the further events of the groups it was
/// sent. `format` `slack` posts Slack's `{"text"}` body. With `secret`, each body is
/// signed: `X-Coastguard-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
/// Every message carries `X-Coastguard-Event` and `X-Coastguard-Delivery` (the same on
/// each retry). Failed attempts are retried after 10 s, 30 s, 2, 10 and 30 min, 1, 2
/// and 4 h, then given up; a 4xx answer other than 408 and 429 is given up at once.
/// The address and secret are stored encrypted with the server's secret key (409
/// without one).
#[utoipa::path(post, path = "/webhooks", tag = "notifications", request_body = NewWebhook,
    responses((status = 201, body = Webhook), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_webhook(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiJson(input): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<Webhook>)> {
    let webhook = manage::add_webhook(&state.app, &by, input).await?;
    Ok((StatusCode::CREATED, Json(webhook)))
}

/// Switch a webhook off (nothing new is queued for it; what waits is held) or on.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "notifications", params(("id" = i64, Path)),
    request_body = WebhookPatch,
    responses((status = 200, body = Webhook), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_webhook(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<Webhook>> {
    Ok(Json(
        manage::update_webhook(&state.app, &by, id, patch).await?,
    ))
}

/// Remove a webhook and its delivery log.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_webhook(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    manage::remove_webhook(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queue a test message (`X-Coastguard-Event: test`) to a webhook; it goes out within
/// seconds, and the log says how it went.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 202, body = Delivery), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn test_webhook(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Delivery>)> {
    let delivery = manage::test_webhook(&state.app, &by, id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only this webhook's (id).
    webhook: Option<i64>,
    state: Option<DeliveryState>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The delivery log, newest first, 100 a page: each message's webhook, what it said,
/// its state, attempts, the last answer's status and error, and when the next attempt
/// is due. Kept 30 days after it finished.
#[utoipa::path(get, path = "/webhooks/deliveries", tag = "notifications", params(DeliveriesQuery),
    responses((status = 200, body = Page<Delivery>), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn deliveries(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Page<Delivery>>> {
    Ok(Json(
        manage::deliveries(
            &state.app,
            &by,
            q.webhook,
            q.state.map(DeliveryState::as_str),
            q.cursor.as_deref(),
        )
        .await?,
    ))
}

/// Send a delivery that was given up on again (its attempts go on counting).
#[utoipa::path(post, path = "/webhooks/deliveries/{id}/retry", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn retry_delivery(
    by: Authed<Admin>,
    State(state): State<ServerState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode> {
    manage::retry_delivery(&state.app, &by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
