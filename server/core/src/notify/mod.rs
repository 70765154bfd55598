//! Notifications: outgoing webhooks for new alert groups, and a digest of the further
//! events of groups already sent.
//!
//! - A group made by a batch is written to `alert_notices` in that batch's commit. A
//!   pass takes the notices and writes one message per matching webhook in one commit
//!   (the notices deleted in it), so each group is announced exactly once, even when
//!   the server stops in between.
//! - Each webhook remembers the count of every group it was told about, and when; at
//!   most every `digest_minutes` one digest sums up the events that came since for the
//!   groups told at least that long ago. A burst of identical events is one message,
//!   then a digest of its count at most every `digest_minutes`.
//! - Messages wait in `webhook_deliveries` until delivered or given up ([`retry_after`]);
//!   an attempt is counted before it is made, so a crash retries, never loses.
//!
//! What is decided (filters, bodies, signatures, retries) is plain code here; [`manage`]
//! reads and writes, and [`send`] talks HTTP.

pub mod manage;
pub mod send;
pub mod store;

use crate::store::notices::FindingKind;
use coastguard_model::alerts::AlertGroup;
use coastguard_model::notify::{NotificationEvent, WebhookFilter, WebhookFormat};
use coastguard_model::Severity;
use ring::hmac;
use serde_json::json;
use store::{FindingNote, NewDelivery};

/// Longest address accepted.
const MAX_URL: usize = 2048;
/// Groups a digest names one by one; the rest are counted.
pub const DIGEST_NAMES: usize = 20;

/// Checks a webhook's address: `http` or `https`, a host, no credentials in it (they
/// would be shown), no fragment. Answers the address and what pages show of it.
pub fn check_url(raw: &str) -> Result<(String, String), String> {
    let raw = raw.trim();
    if raw.len() > MAX_URL {
        return Err(format!("an address is at most {MAX_URL} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not an address: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the address must start with https:// (or http://)".into());
    }
    let Some(host) = url.host_str() else {
        return Err("the address names no host".into());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put no user or password in the address: sign the bodies with a secret".into());
    }
    if url.fragment().is_some() {
        return Err("an address with a #fragment cannot be posted to".into());
    }
    let shown = match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    Ok((url.to_string(), shown))
}

/// The wait before the next attempt after `attempts` failed ones, or `None`: give up.
/// Nine attempts over about eight hours.
pub fn retry_after(attempts: i64) -> Option<i64> {
    const WAITS: [i64; 8] = [10, 30, 120, 600, 1_800, 3_600, 7_200, 14_400];
    usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| WAITS.get(i))
        .copied()
}

/// Whether an answer says the message will never be taken: a client error other than
/// a timeout (408) or too many requests (429).
pub fn refused_for_good(status: u16) -> bool {
    (400..500).contains(&status) && status != 408 && status != 429
}

/// The `X-Coastguard-Signature` header: `t=<unix time>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`, so a receiver can refuse an old body sent again.
pub fn signature(secret: &[u8], at: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(at.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body.as_bytes());
    format!("t={at},v1={}", hex::encode(ctx.sign().as_ref()))
}

/// Slack's text: `&`, `<` and `>` escaped, so an event cannot make a link or a mention.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

/// Where a group is, in a few words.
fn place(g: &AlertGroup) -> String {
    let host = g.host.as_deref().or(g.hostname.as_deref());
    let container = g.container.as_deref().or(g.container_ref.as_deref());
    let mut parts = Vec::new();
    if let (Some(ns), Some(pod)) = (g.namespace.as_deref(), g.pod.as_deref()) {
        parts.push(format!("pod {ns}/{pod}"));
    } else if let Some(c) = container {
        parts.push(format!("container {}", clip(c, 64)));
    }
    if let Some(h) = host {
        parts.push(format!("host {h}"));
    }
    if parts.is_empty() {
        "an unknown place".into()
    } else {
        parts.join(" on ")
    }
}

/// The message for a new group.
pub fn alert_new(webhook: i64, format: WebhookFormat, g: &AlertGroup) -> NewDelivery {
    let summary = clip(
        &format!(
            "{} {}: {} — {} ({} event{})",
            g.severity.label(),
            g.source,
            g.rule,
            place(g),
            g.count,
            if g.count == 1 { "" } else { "s" }
        ),
        300,
    );
    let body = match format {
        WebhookFormat::Generic => json!({
            "event": NotificationEvent::AlertNew.as_str(),
            "summary": summary,
            "path": format!("/alerts/{}", g.id),
            "group": g,
        }),
        WebhookFormat::Slack => json!({
            "text": format!(
                "*{}* alert from {}: *{}*\n{}\n{} — Coastguard alert group {} (`/alerts/{}`)",
                g.severity.label(),
                slack_escape(&g.source),
                slack_escape(&g.rule),
                slack_escape(&clip(&g.output, 1_000)),
                slack_escape(&place(g)),
                g.id,
                g.id
            ),
        }),
    };
    NewDelivery {
        webhook_id: webhook,
        event: NotificationEvent::AlertNew,
        group_id: Some(g.id),
        summary,
        body: body.to_string(),
    }
}

/// The digest of further events: each group with how many came since it was last sent.
/// `grown` is (group, events since), most severe first.
pub fn alert_digest(
    webhook: i64,
    format: WebhookFormat,
    minutes: i64,
    grown: &[(AlertGroup, i64)],
) -> NewDelivery {
    let events: i64 = grown.iter().map(|(_, n)| n).sum();
    let summary = format!(
        "{events} more event{} in {} open group{} (last {minutes} min)",
        if events == 1 { "" } else { "s" },
        grown.len(),
        if grown.len() == 1 { "" } else { "s" }
    );
    let more = grown.len().saturating_sub(DIGEST_NAMES);
    let body = match format {
        WebhookFormat::Generic => json!({
            "event": NotificationEvent::AlertDigest.as_str(),
            "summary": summary,
            "events": events,
            "groups": grown.iter().map(|(g, n)| json!({
                "id": g.id, "rule": g.rule, "source": g.source, "severity": g.severity,
                "state": g.state, "new_events": n, "count": g.count, "last_at": g.last_at,
                "path": format!("/alerts/{}", g.id),
            })).collect::<Vec<_>>(),
        }),
        WebhookFormat::Slack => {
            let mut text = format!("*Coastguard digest*: {}", slack_escape(&summary));
            for (g, n) in grown.iter().take(DIGEST_NAMES) {
                text.push_str(&format!(
                    "\n• *{}* {} in {}: +{n} ({} in all) — group {}",
                    g.severity.label(),
                    slack_escape(&g.rule),
                    slack_escape(&place(g)),
                    g.count,
                    g.id
                ));
            }
            if more > 0 {
                text.push_str(&format!("\n…and {more} more groups"));
            }
            json!({ "text": text })
        }
    };
    NewDelivery {
        webhook_id: webhook,
        event: NotificationEvent::AlertDigest,
        group_id: None,
        summary,
        body: body.to_string(),
    }
}

/// A new finding a message names: its kind, what it is, and its severity.
pub type NewFinding = (FindingKind, FindingNote);

/// The severity a finding's row holds.
fn severity_of(f: &FindingNote) -> Severity {
    Severity::normalise(&f.severity)
}

/// Where a finding is read in the UI.
fn finding_path(kind: FindingKind, f: &FindingNote) -> String {
    match (kind, f.subject.as_str()) {
        (FindingKind::Vulnerability, _) => format!("/images/{}/vulnerabilities", f.subject_id),
        (FindingKind::Configuration, "host") => format!("/hosts/{}", f.subject_id),
        (FindingKind::Configuration, "container") => format!("/containers/{}", f.subject_id),
        (FindingKind::Configuration, "image") => format!("/images/{}", f.subject_id),
        (FindingKind::Configuration, _) => "/findings".into(),
    }
}

fn finding_line(kind: FindingKind, f: &FindingNote) -> String {
    match kind {
        FindingKind::Vulnerability => format!(
            "{} in {}{}",
            f.title,
            f.subject,
            f.detail
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        ),
        FindingKind::Configuration => {
            format!("{} on {} {}", f.title, f.subject, f.subject_id)
        }
    }
}

/// The new findings at or above `min` among `found`, most severe first, in one message;
/// `None` when there are none.
pub fn findings_new(
    webhook: i64,
    format: WebhookFormat,
    min: Severity,
    found: &[NewFinding],
) -> Option<NewDelivery> {
    let mut taken: Vec<&NewFinding> = found
        .iter()
        .filter(|(_, f)| severity_of(f) >= min)
        .collect();
    if taken.is_empty() {
        return None;
    }
    taken.sort_by(|(_, a), (_, b)| severity_of(b).cmp(&severity_of(a)).then(a.id.cmp(&b.id)));
    let counts: Vec<String> = Severity::DESCENDING
        .iter()
        .filter_map(|s| {
            let n = taken.iter().filter(|(_, f)| severity_of(f) == *s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str()))
        })
        .collect();
    let summary = format!(
        "{} new finding{}: {}",
        taken.len(),
        if taken.len() == 1 { "" } else { "s" },
        counts.join(", ")
    );
    let more = taken.len().saturating_sub(DIGEST_NAMES);
    let body = match format {
        WebhookFormat::Generic => json!({
            "event": NotificationEvent::FindingsNew.as_str(),
            "summary": summary,
            "count": taken.len(),
            "findings": taken.iter().take(100).map(|(kind, f)| json!({
                "kind": kind.as_str(), "id": f.id, "severity": severity_of(f),
                "title": f.title, "detail": f.detail, "subject": f.subject,
                "subject_id": f.subject_id, "path": finding_path(*kind, f),
            })).collect::<Vec<_>>(),
        }),
        WebhookFormat::Slack => {
            let mut text = format!("*Coastguard*: {}", slack_escape(&summary));
            for (kind, f) in taken.iter().take(DIGEST_NAMES) {
                text.push_str(&format!(
                    "\n• *{}* {}",
                    severity_of(f).label(),
                    slack_escape(&clip(&finding_line(*kind, f), 200))
                ));
            }
            if more > 0 {
                text.push_str(&format!("\n…and {more} more"));
            }
            json!({ "text": text })
        }
    };
    Some(NewDelivery {
        webhook_id: webhook,
        event: NotificationEvent::FindingsNew,
        group_id: None,
        summary,
        body: body.to_string(),
    })
}

/// The message an admin sends to try a destination.
pub fn test_message(webhook: i64, format: WebhookFormat, by: &str) -> NewDelivery {
    let summary = format!("A test message sent by {by}");
    let body = match format {
        WebhookFormat::Generic => json!({
            "event": NotificationEvent::Test.as_str(),
            "summary": summary,
        }),
        WebhookFormat::Slack => json!({
            "text": format!("Coastguard: {} — this destination works.", slack_escape(&summary)),
        }),
    };
    NewDelivery {
        webhook_id: webhook,
        event: NotificationEvent::Test,
        group_id: None,
        summary,
        body: body.to_string(),
    }
}

/// The groups (id, count) one webhook is told about.
pub type Told = (i64, Vec<(i64, i64)>);

/// The messages for new groups: one per group per webhook whose filter takes it.
/// Answers them and, per webhook, the groups (with their counts) it is told about.
pub fn announce(
    webhooks: &[(i64, WebhookFormat, WebhookFilter)],
    groups: &[AlertGroup],
) -> (Vec<NewDelivery>, Vec<Told>) {
    let mut deliveries = Vec::new();
    let mut marks = Vec::new();
    for (id, format, filter) in webhooks {
        let mut told = Vec::new();
        // A group an exception covers is out of the queue: nobody is told.
        let told_of =
            |g: &&AlertGroup| filter.alerts && g.exception_id.is_none() && filter.matches(g);
        for g in groups.iter().filter(told_of) {
            deliveries.push(alert_new(*id, *format, g));
            told.push((g.id, g.count));
        }
        if !told.is_empty() {
            marks.push((*id, told));
        }
    }
    (deliveries, marks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coastguard_model::alerts::AlertState;
    use coastguard_model::Severity;

    fn group(id: i64, rule: &str, severity: Severity) -> AlertGroup {
        AlertGroup {
            id,
            source: "falco".into(),
            rule: rule.into(),
            severity,
            state: AlertState::New,
            output: "a <shell> & more".into(),
            count: 1,
            first_at: 0,
            last_at: 0,
            assignee: None,
            host_id: None,
            host: Some("node-1".into()),
            container_id: None,
            container: None,
            pod_id: None,
            workload_id: None,
            image_id: None,
            hostname: None,
            container_ref: Some("0123456789ab".into()),
            namespace: None,
            pod: None,
            image_ref: None,
            exception_id: None,
        }
    }

    #[test]
    fn an_address_is_http_with_a_host_and_shown_without_its_path() {
        let (url, shown) = check_url(" https://hooks.slack.com/services/T0/B0/secret ").unwrap();
        assert_eq!(url, "https://hooks.slack.com/services/T0/B0/secret");
        assert_eq!(shown, "https://hooks.slack.com");
        assert_eq!(
            check_url("http://127.0.0.1:9000/hook").unwrap().1,
            "http://127.0.0.1:9000"
        );
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("https://user:pw@example.com/").is_err());
        assert!(check_url("https://example.com/#x").is_err());
        assert!(check_url("example.com/hook").is_err());
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn retries_wait_longer_each_time_then_stop() {
        assert_eq!(retry_after(0), None);
        assert_eq!(retry_after(1), Some(10));
        assert_eq!(retry_after(2), Some(30));
        let waits: Vec<i64> = (1..=8).map(|n| retry_after(n).unwrap()).collect();
        assert!(waits.windows(2).all(|w| w[0] < w[1]));
        assert!(waits.iter().sum::<i64>() > 7 * 3_600);
        assert_eq!(retry_after(9), None);
        assert!(refused_for_good(404) && refused_for_good(410));
        assert!(!refused_for_good(429) && !refused_for_good(408) && !refused_for_good(503));
    }

    #[test]
    fn a_signature_is_the_hmac_of_time_and_body() {
        let sig = signature(b"s3cret-s3cret-s3cret", 1_700_000_000, r#"{"a":1}"#);
        let (t, v1) = sig.split_once(",v1=").unwrap();
        assert_eq!(t, "t=1700000000");
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"s3cret-s3cret-s3cret");
        let mac = hex::decode(v1).unwrap();
        assert!(hmac::verify(&key, br#"1700000000.{"a":1}"#, &mac).is_ok());
        assert!(hmac::verify(&key, br#"1700000001.{"a":1}"#, &mac).is_err());
    }

    #[test]
    fn slack_bodies_escape_what_events_say() {
        let d = alert_new(
            1,
            WebhookFormat::Slack,
            &group(7, "Shell <@here>", Severity::High),
        );
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.contains("Shell &lt;@here&gt;"), "{text}");
        assert!(text.contains("a &lt;shell&gt; &amp; more"), "{text}");
        assert!(!text.contains("<@here>"));
        assert_eq!(d.group_id, Some(7));
        assert_eq!(d.event, NotificationEvent::AlertNew);
    }

    #[test]
    fn generic_bodies_carry_the_group() {
        let d = alert_new(
            1,
            WebhookFormat::Generic,
            &group(7, "Shell", Severity::High),
        );
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(body["event"], "alert.new");
        assert_eq!(body["group"]["id"], 7);
        assert_eq!(body["path"], "/alerts/7");
        assert!(d.summary.contains("container 0123456789ab on host node-1"));
    }

    #[test]
    fn each_webhook_gets_the_groups_its_filter_takes() {
        let groups = [
            group(1, "Shell", Severity::Critical),
            group(2, "Read sensitive file", Severity::Medium),
        ];
        let high = WebhookFilter::default();
        let all = WebhookFilter {
            min_severity: Severity::Low,
            ..WebhookFilter::default()
        };
        let none = WebhookFilter {
            rule: Some("Nothing*".into()),
            ..all.clone()
        };
        let (deliveries, marks) = announce(
            &[
                (10, WebhookFormat::Generic, high),
                (11, WebhookFormat::Slack, all),
                (12, WebhookFormat::Generic, none),
            ],
            &groups,
        );
        let sent: Vec<(i64, Option<i64>)> = deliveries
            .iter()
            .map(|d| (d.webhook_id, d.group_id))
            .collect();
        assert_eq!(sent, [(10, Some(1)), (11, Some(1)), (11, Some(2))]);
        assert_eq!(marks, [(10, vec![(1, 1)]), (11, vec![(1, 1), (2, 1)])]);
    }

    #[test]
    fn a_group_an_exception_covers_is_told_to_nobody() {
        let mut covered = group(1, "Shell", Severity::Critical);
        covered.exception_id = Some(7);
        let groups = [covered, group(2, "Shell", Severity::Critical)];
        let (deliveries, marks) = announce(
            &[(10, WebhookFormat::Generic, WebhookFilter::default())],
            &groups,
        );
        let sent: Vec<Option<i64>> = deliveries.iter().map(|d| d.group_id).collect();
        assert_eq!(sent, [Some(2)]);
        assert_eq!(marks, [(10, vec![(2, 1)])]);
    }

    fn note(id: i64, severity: &str, title: &str) -> FindingNote {
        FindingNote {
            id,
            severity: severity.into(),
            title: title.into(),
            detail: Some("openssl".into()),
            subject: "registry.example.com/shop/web:1.2".into(),
            subject_id: 4,
        }
    }

    #[test]
    fn new_findings_at_or_above_the_severity_are_one_message_most_severe_first() {
        let found = vec![
            (
                FindingKind::Vulnerability,
                note(1, "medium", "CVE-2024-0001"),
            ),
            (
                FindingKind::Vulnerability,
                note(2, "critical", "CVE-2024-0002"),
            ),
            (FindingKind::Vulnerability, note(3, "high", "CVE-2024-0003")),
            (
                FindingKind::Configuration,
                FindingNote {
                    detail: Some("docker.privileged".into()),
                    subject: "container".into(),
                    subject_id: 9,
                    ..note(4, "high", "Container runs privileged")
                },
            ),
        ];
        assert!(findings_new(1, WebhookFormat::Generic, Severity::Critical, &found[..1]).is_none());
        let d = findings_new(1, WebhookFormat::Generic, Severity::High, &found).unwrap();
        assert_eq!(d.summary, "3 new findings: 1 critical, 2 high");
        assert_eq!(d.event, NotificationEvent::FindingsNew);
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(body["findings"][0]["title"], "CVE-2024-0002");
        assert_eq!(body["findings"][0]["path"], "/images/4/vulnerabilities");
        assert_eq!(body["findings"][2]["path"], "/containers/9");
        let s = findings_new(1, WebhookFormat::Slack, Severity::Low, &found).unwrap();
        let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains(
                "• *Critical* CVE-2024-0002 in registry.example.com/shop/web:1.2 (openssl)"
            ),
            "{text}"
        );
        assert!(
            text.contains("Container runs privileged on container 9"),
            "{text}"
        );
    }

    #[test]
    fn a_digest_names_twenty_groups_and_counts_the_rest() {
        let grown: Vec<(AlertGroup, i64)> = (1..=25)
            .map(|i| (group(i, "Shell", Severity::High), 4))
            .collect();
        let d = alert_digest(3, WebhookFormat::Slack, 15, &grown);
        assert_eq!(d.summary, "100 more events in 25 open groups (last 15 min)");
        let body: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert_eq!(text.matches("\n•").count(), 20);
        assert!(text.ends_with("…and 5 more groups"));
        let g = alert_digest(3, WebhookFormat::Generic, 15, &grown[..1]);
        let body: serde_json::Value = serde_json::from_str(&g.body).unwrap();
        assert_eq!(body["events"], 4);
        assert_eq!(body["groups"][0]["new_events"], 4);
    }
}
