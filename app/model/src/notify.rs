//! Notifications: outgoing webhooks, what each one is sent, and its delivery log.

use crate::alerts::AlertGroup;
use crate::signatures::scope_matches;
use crate::Severity;
use serde::{Deserialize, Serialize};

/// The body a destination receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Coastguard's JSON: `event`, `delivery`, and the group or digest.
    #[default]
    Generic,
    /// A Slack incoming webhook's body (`text`), also read by Mattermost and Rocket.Chat.
    Slack,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Generic => "generic",
            WebhookFormat::Slack => "slack",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookFormat> {
        match s {
            "generic" => Some(WebhookFormat::Generic),
            "slack" => Some(WebhookFormat::Slack),
            _ => None,
        }
    }
}

/// What a destination is told about: new alert groups (and their digests) and, if it
/// asks, new findings (vulnerabilities and configuration), at or above `min_severity`.
/// The other fields narrow the alert groups; empty ones match everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookFilter {
    /// The least severe group or finding sent (default `high`).
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// New alert groups and digests of their events (default true).
    #[serde(default = "yes")]
    pub alerts: bool,
    /// New findings: the open ones each scan or check made, in one message (default
    /// false).
    #[serde(default)]
    pub findings: bool,
    /// Sources (`falco`, `coastguard`, a tool's name); empty: every source.
    #[serde(default)]
    pub sources: Vec<String>,
    /// A rule name, `*` matching any run of characters (`Terminal shell*`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub rule: Option<String>,
    /// The host's name, as the inventory or the event names it; `*` as in `rule`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub host: Option<String>,
    /// The Kubernetes namespace; `*` as in `rule`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub namespace: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for WebhookFilter {
    fn default() -> WebhookFilter {
        WebhookFilter {
            min_severity: default_min_severity(),
            alerts: true,
            findings: false,
            sources: Vec::new(),
            rule: None,
            host: None,
            namespace: None,
        }
    }
}

fn default_min_severity() -> Severity {
    Severity::High
}

fn pattern(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|p| !p.is_empty())
}

/// Checks a pattern of a filter: bounded, printable.
fn check_pattern(field: &str, p: &Option<String>) -> Result<(), (String, String)> {
    match pattern(p) {
        Some(p) if p.chars().count() > 200 || p.chars().any(char::is_control) => Err((
            field.to_string(),
            "at most 200 characters, without control characters".into(),
        )),
        _ => Ok(()),
    }
}

impl WebhookFilter {
    /// Whether a group is sent to this destination.
    pub fn matches(&self, g: &AlertGroup) -> bool {
        let glob = |p: &Option<String>, value: Option<&str>| match pattern(p) {
            None => true,
            Some(p) => value.is_some_and(|v| scope_matches(p, v)),
        };
        g.severity >= self.min_severity
            && (self.sources.is_empty() || self.sources.iter().any(|s| s == &g.source))
            && glob(&self.rule, Some(&g.rule))
            && glob(&self.host, g.host.as_deref().or(g.hostname.as_deref()))
            && glob(&self.namespace, g.namespace.as_deref())
    }

    /// Checks every field; the error names the field.
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.sources.len() > 20 {
            return Err(("sources".into(), "at most 20 sources".into()));
        }
        for (i, s) in self.sources.iter().enumerate() {
            if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
                return Err((
                    format!("sources/{i}"),
                    "a source is 1 to 64 characters, without control characters".into(),
                ));
            }
        }
        check_pattern("rule", &self.rule)?;
        check_pattern("host", &self.host)?;
        check_pattern("namespace", &self.namespace)
    }
}

/// A destination to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub name: String,
    /// `https://…` (or `http://…`). Stored encrypted (a Slack address is itself a
    /// credential) and never shown again whole: pages show its scheme and host.
    pub url: String,
    #[serde(default)]
    pub format: WebhookFormat,
    /// Signs each body (HMAC-SHA256, header `X-Coastguard-Signature`); 16 to 256
    /// characters. Stored encrypted, never returned.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 16, max_length = 256))]
    pub secret: Option<String>,
    #[serde(default)]
    pub filter: WebhookFilter,
    /// More events of a group already sent are summed up in one digest at most this
    /// often (1 to 1,440 minutes, default 15).
    #[serde(default = "default_digest_minutes")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub digest_minutes: i64,
    /// How long one attempt may take (1 to 30 s, default 10).
    #[serde(default = "default_timeout_secs")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 30))]
    pub timeout_secs: i64,
}

fn default_digest_minutes() -> i64 {
    15
}

fn default_timeout_secs() -> i64 {
    10
}

/// A change to a destination: switch it off or on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub enabled: bool,
}

/// A destination, without its address's path or its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: i64,
    pub name: String,
    /// The address's scheme, host and port.
    pub address: String,
    pub format: WebhookFormat,
    /// Whether bodies are signed.
    pub signed: bool,
    pub filter: WebhookFilter,
    pub digest_minutes: i64,
    pub timeout_secs: i64,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: i64,
    /// Deliveries waiting (a first attempt or a retry).
    pub pending: i64,
    pub delivered: i64,
    /// Deliveries given up on.
    pub failed: i64,
    pub last_delivered_at: Option<i64>,
    /// The newest failed attempt's error.
    pub last_error: Option<String>,
}

/// What a delivery is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotificationEvent {
    /// A new alert group.
    #[serde(rename = "alert.new")]
    AlertNew,
    /// More events of groups already sent, summed up.
    #[serde(rename = "alert.digest")]
    AlertDigest,
    /// New findings at or above the destination's severity.
    #[serde(rename = "findings.new")]
    FindingsNew,
    /// Sent by an admin to try the destination.
    #[serde(rename = "test")]
    Test,
}

impl NotificationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::AlertNew => "alert.new",
            NotificationEvent::AlertDigest => "alert.digest",
            NotificationEvent::FindingsNew => "findings.new",
            NotificationEvent::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<NotificationEvent> {
        match s {
            "alert.new" => Some(NotificationEvent::AlertNew),
            "alert.digest" => Some(NotificationEvent::AlertDigest),
            "findings.new" => Some(NotificationEvent::FindingsNew),
            "test" => Some(NotificationEvent::Test),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or a retry.
    Pending,
    Delivered,
    /// Given up after the last retry (or the destination was removed meanwhile).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One message to one destination, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub webhook: String,
    pub event: NotificationEvent,
    /// One line: what the message says.
    pub summary: String,
    /// The alert group a new-group message is about.
    pub group_id: Option<i64>,
    pub state: DeliveryState,
    pub attempts: i64,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<i64>,
    /// The last attempt's HTTP status, when one came.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertState;

    fn group() -> AlertGroup {
        AlertGroup {
            id: 1,
            source: "falco".into(),
            rule: "Terminal shell in container".into(),
            severity: Severity::High,
            state: AlertState::New,
            output: "shell".into(),
            count: 1,
            first_at: 0,
            last_at: 0,
            assignee: None,
            host_id: None,
            host: None,
            container_id: None,
            container: None,
            pod_id: None,
            workload_id: None,
            image_id: None,
            hostname: Some("node-1".into()),
            container_ref: None,
            namespace: Some("payments".into()),
            pod: None,
            image_ref: None,
            exception_id: None,
        }
    }

    #[test]
    fn a_filter_takes_groups_at_or_above_its_severity_from_its_sources() {
        let mut f = WebhookFilter {
            min_severity: Severity::High,
            ..WebhookFilter::default()
        };
        assert!(f.matches(&group()));
        f.min_severity = Severity::Critical;
        assert!(!f.matches(&group()));
        f.min_severity = Severity::Low;
        f.sources = vec!["coastguard".into()];
        assert!(!f.matches(&group()));
        f.sources.push("falco".into());
        assert!(f.matches(&group()));
    }

    #[test]
    fn a_filter_s_patterns_are_globs_and_need_the_value() {
        let f = |rule: &str, host: &str, ns: &str| WebhookFilter {
            min_severity: Severity::Low,
            rule: Some(rule.into()),
            host: Some(host.into()),
            namespace: Some(ns.into()),
            ..WebhookFilter::default()
        };
        assert!(f("Terminal shell*", "node-*", "pay*").matches(&group()));
        assert!(f("", " ", "").matches(&group()));
        assert!(!f("Write below*", "", "").matches(&group()));
        assert!(!f("", "node-2", "").matches(&group()));
        let mut no_namespace = group();
        no_namespace.namespace = None;
        assert!(!f("", "", "*").matches(&no_namespace));
        assert!(f("", "", "").matches(&no_namespace));
    }

    #[test]
    fn a_filter_is_bounded() {
        let mut f = WebhookFilter::default();
        assert!(f.check().is_ok());
        f.rule = Some("x".repeat(201));
        assert_eq!(f.check().unwrap_err().0, "rule");
        f.rule = None;
        f.sources = vec![String::new()];
        assert_eq!(f.check().unwrap_err().0, "sources/0");
    }

    #[test]
    fn a_new_webhook_has_defaults() {
        let w: NewWebhook =
            serde_json::from_str(r#"{"name": "ops", "url": "https://example.com/h"}"#).unwrap();
        assert_eq!(w.format, WebhookFormat::Generic);
        assert_eq!(w.filter.min_severity, Severity::High);
        assert_eq!((w.digest_minutes, w.timeout_secs), (15, 10));
        assert!(serde_json::from_str::<NewWebhook>(
            r#"{"name": "ops", "url": "https://example.com/h", "extra": 1}"#
        )
        .is_err());
    }
}
