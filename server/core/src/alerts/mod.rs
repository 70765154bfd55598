//! Runtime alerts: events from Falco (its JSON output, as `http_output` and
//! Falcosidekick send it) and from any tool speaking Coastguard's own schema, checked,
//! matched to the container, pod, host and image they happened in, and folded into
//! groups (one rule on one subject while the group is open) in one commit per batch.
//! An event is stored before the answer that accepts it.

pub mod falco;
pub mod store;
pub mod triage;

use crate::access::audit_by;
use crate::auth::{Analyst, Authed, Ingest, Viewer};
use crate::error::{Error, Result};
use crate::AppState;
use coastguard_model::alerts::{
    AlertDetail, AlertFilter, AlertGroup, AlertState, AlertTriage, DetectorView, IngestReport,
    NewAlert, RejectedLine, DETECTORS, MAX_FIELDS, MAX_FIELDS_BYTES, MAX_OUTPUT,
};
use coastguard_model::Role;
use serde_json::Value;

/// The SQL condition of an open group in the queue: `new` or `acknowledged`, and not
/// covered by an exception (those are kept and countable, but out of the queue and the
/// counts).
pub const OPEN: &str = "state IN ('new', 'acknowledged') AND exception_id IS NULL";

/// The SQL condition of a group that still folds events (open, covered or not).
pub const LIVE: &str = "state IN ('new', 'acknowledged')";

/// The most events one request carries.
pub const MAX_BATCH: usize = 10_000;

/// An event ready to store: checked, bounded, its time read.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub alert: NewAlert,
    pub at: i64,
}

fn bounded(what: &str, value: &str, max: usize) -> std::result::Result<(), String> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control)
    {
        return Err(format!(
            "{what} is 1 to {max} characters, without control characters"
        ));
    }
    Ok(())
}

/// Checks an event: names bounded, output cut to its limit, fields bounded, its time
/// RFC 3339 (default: `now`). An event names its place at most in 253 characters each.
pub fn check(mut alert: NewAlert, now: i64) -> std::result::Result<Event, String> {
    bounded("source", &alert.source, 100)?;
    bounded("rule", &alert.rule, 200)?;
    for (what, value) in [
        ("hostname", &alert.hostname),
        ("container_id", &alert.container_id),
        ("image", &alert.image),
        ("image_digest", &alert.image_digest),
        ("namespace", &alert.namespace),
        ("pod", &alert.pod),
    ] {
        if let Some(v) = value {
            bounded(what, v, 512)?;
        }
    }
    if alert.output.trim().is_empty() {
        return Err("output is empty".into());
    }
    if alert.output.chars().count() > MAX_OUTPUT {
        let cut: String = alert.output.chars().take(MAX_OUTPUT - 1).collect();
        alert.output = cut + "…";
    }
    if alert.tags.len() > 64 || alert.tags.iter().any(|t| t.len() > 200) {
        return Err("at most 64 tags of 200 characters".into());
    }
    if alert.fields.len() > MAX_FIELDS {
        return Err(format!("at most {MAX_FIELDS} fields"));
    }
    let size = serde_json::to_string(&alert.fields).map_or(usize::MAX, |s| s.len());
    if size > MAX_FIELDS_BYTES {
        return Err(format!(
            "fields take {size} bytes as JSON; at most {MAX_FIELDS_BYTES}"
        ));
    }
    let at = match alert.time.as_deref() {
        None => now,
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|e| format!("time {t:?} is not RFC 3339: {e}"))?,
    };
    Ok(Event { alert, at })
}

/// The events of a body: one JSON object, a JSON array of them, or one object per line
/// (newline-delimited), each with its 1-based place in the body.
pub fn split(body: &[u8]) -> Vec<(usize, std::result::Result<Value, String>)> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i + 1, Ok(v)))
            .collect(),
        Ok(v) => vec![(1, Ok(v))],
        Err(_) => body
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(i, line)| {
                (
                    i + 1,
                    serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}")),
                )
            })
            .collect(),
    }
}

/// Reads a body into events with `read` (Falco's or the generic schema), checking each:
/// what cannot be read is rejected with its line and why; the rest goes on.
pub fn read_batch(
    body: &[u8],
    now: i64,
    read: impl Fn(Value) -> std::result::Result<NewAlert, String>,
) -> std::result::Result<(Vec<Event>, Vec<RejectedLine>), String> {
    let items = split(body);
    if items.is_empty() {
        return Err("the body holds no event".into());
    }
    if items.len() > MAX_BATCH {
        return Err(format!(
            "{} events in one request; at most {MAX_BATCH}",
            items.len()
        ));
    }
    let mut events = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    for (line, item) in items {
        match item.and_then(&read).and_then(|a| check(a, now)) {
            Ok(e) => events.push(e),
            Err(error) => rejected.push(RejectedLine { line, error }),
        }
    }
    Ok((events, rejected))
}

/// The generic schema's reader.
pub fn generic(value: Value) -> std::result::Result<NewAlert, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Stores a batch's accepted events (one commit) and answers what was accepted and what
/// was not. A batch where nothing could be read is refused whole (422), naming why.
pub async fn ingest(
    state: &AppState,
    _by: &Authed<Ingest>,
    body: &[u8],
    read: impl Fn(Value) -> std::result::Result<NewAlert, String>,
) -> Result<IngestReport> {
    let now = crate::now();
    let (events, rejected) =
        read_batch(body, now, read).map_err(|e| Error::invalid_at("body", e))?;
    if events.is_empty() {
        let first = &rejected[0];
        return Err(Error::invalid_at(
            "body",
            format!(
                "no event could be read; line {}: {} ({} rejected)",
                first.line,
                first.error,
                rejected.len()
            ),
        ));
    }
    let groups = store_events(state, &events, now).await?;
    Ok(IngestReport {
        accepted: events.len(),
        groups,
        rejected,
    })
}

/// Stores checked events in one commit and tells every open stream; answers the groups
/// they went to.
async fn store_events(state: &AppState, events: &[Event], now: i64) -> Result<Vec<i64>> {
    let mut w = state.store.begin_pass().await?;
    let mut groups = w.store_alerts(events, now).await?;
    // A group an exception covers leaves the queue before anyone sees it.
    w.apply_alert_exceptions(Some(&groups), now).await?;
    w.commit().await?;
    groups.sort_unstable();
    groups.dedup();
    state.alert_feed.publish(&groups).await;
    Ok(groups)
}

/// Stores what Coastguard's own detectors raised (a pass, no person acting): each event
/// checked as any other; one that fails its check is logged and dropped.
pub async fn raise(state: &AppState, alerts: Vec<NewAlert>) -> Result<Vec<i64>> {
    let now = crate::now();
    let events: Vec<Event> = alerts
        .into_iter()
        .filter_map(|a| {
            let rule = a.rule.clone();
            check(a, now)
                .map_err(
                    |e| tracing::warn!(rule, error = %e, "a detector's alert failed its check"),
                )
                .ok()
        })
        .collect();
    if events.is_empty() {
        return Ok(Vec::new());
    }
    store_events(state, &events, now).await
}

/// One triage action on group `id` (state, assignee, comment): decided by
/// [`triage::plan`], applied in one commit with its audit record and a row of the
/// group's activity, then sent to every open stream. Answers the group as it is now.
pub async fn triage(
    state: &AppState,
    by: &Authed<Analyst>,
    id: i64,
    t: AlertTriage,
) -> Result<AlertGroup> {
    if let Some(name) = t
        .assignee
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let user = state.store.user_by_name(name).await?;
        if !user.is_some_and(|u| !u.disabled && u.role.allows(Role::Analyst)) {
            return Err(Error::invalid_at(
                "assignee",
                format!("{name:?} is not an enabled analyst or admin"),
            ));
        }
    }
    let actor = &by.principal.name;
    let person = by.principal.user_id().map(|_| actor.as_str());
    let now = crate::now();
    let mut w = state.store.begin().await?;
    let (current, key) = w
        .alert_for_triage(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no alert group with id {id}")))?;
    let change = triage::plan(&current, &t, person).map_err(|r| match r {
        triage::Refusal::Invalid(at, why) => Error::invalid_at(at, why),
        triage::Refusal::Conflict(why) => Error::Conflict(why),
    })?;
    if change.state == Some(AlertState::Acknowledged) && !current.state.is_open() {
        if let Some(other) = w.open_alert_with_key(&key, id).await? {
            return Err(Error::Conflict(format!(
                "group {other} is open for the same rule and subject and holds its newer events: triage that one"
            )));
        }
    }
    if !w.triage_alert(id, &current, &change, actor, now).await? {
        return Err(Error::Conflict(
            "the group changed meanwhile: read it again and retry".into(),
        ));
    }
    let record = audit_by(
        by,
        "alert.triage",
        Some(format!("alert:{id}")),
        Some(serde_json::json!({
            "from": current.state.as_str(),
            "state": change.state.map(|s| s.as_str()),
            "assignee": change.assignee.as_ref().map(|a| a.clone().unwrap_or_default()),
            "comment": change.comment.is_some(),
        })),
    );
    w.commit_with(&record, now).await?;
    state.alert_feed.publish(&[id]).await;
    state
        .store
        .alert_groups_by_ids(&[id])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("no alert group with id {id}")))
}

/// The store's query for a filter, checked: `limit` groups a page.
pub fn query(f: &AlertFilter, limit: i64) -> Result<store::AlertQuery> {
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid_at("limit", "between 1 and 500"));
    }
    let text = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let suppressed = text(&f.state).as_deref() == Some("suppressed");
    let (state, all) = match text(&f.state).as_deref() {
        None | Some("open") => (None, false),
        Some("all" | "suppressed") => (None, true),
        Some(s) => (
            Some(AlertState::parse(s).ok_or_else(|| {
                Error::invalid_at(
                    "state",
                    "one of open, all, suppressed, new, acknowledged, resolved, false_positive",
                )
            })?),
            false,
        ),
    };
    let after = coastguard_model::validate::key_cursor(f.cursor.as_deref().unwrap_or_default())
        .map_err(|e| Error::invalid_at("cursor", e))?;
    Ok(store::AlertQuery {
        state,
        all,
        suppressed,
        severity: f.severity,
        source: text(&f.source),
        rule: text(&f.rule),
        host: f.host,
        cluster: f.cluster,
        namespace: text(&f.namespace),
        assignee: text(&f.assignee).map(|a| (a != "none").then_some(a)),
        after,
        limit,
    })
}

/// Alert groups, newest activity first, filtered; a page and the cursor of the next.
pub async fn list(
    state: &AppState,
    _by: &Authed<Viewer>,
    q: &store::AlertQuery,
) -> Result<(Vec<AlertGroup>, Option<String>)> {
    Ok(state.store.alert_groups(q).await?)
}

/// These groups as they are now (a live stream's changes).
pub async fn groups(
    state: &AppState,
    _by: &Authed<Viewer>,
    ids: &[i64],
) -> Result<Vec<AlertGroup>> {
    Ok(state.store.alert_groups_by_ids(ids).await?)
}

/// The built-in detectors, each on or off as the image policy says.
pub async fn detectors(state: &AppState, _by: &Authed<Viewer>) -> Result<Vec<DetectorView>> {
    let off = state.store.policy().await.disabled_detectors;
    Ok(DETECTORS
        .iter()
        .map(|d| DetectorView {
            id: d.id,
            severity: d.severity,
            title: d.title.into(),
            enabled: !off.contains(&d.id),
        })
        .collect())
}

/// One group and its latest events.
pub async fn detail(state: &AppState, _by: &Authed<Viewer>, id: i64) -> Result<AlertDetail> {
    state
        .store
        .alert_detail(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no alert group with id {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coastguard_model::Severity;

    fn alert() -> NewAlert {
        generic(
            serde_json::json!({"source": "tool", "rule": "r", "severity": "high", "output": "o"}),
        )
        .unwrap()
    }

    #[test]
    fn a_body_is_one_event_an_array_or_one_per_line() {
        assert_eq!(split(br#"{"a": 1}"#).len(), 1);
        assert_eq!(
            split(b"{\n  \"a\": 1\n}\n").len(),
            1,
            "pretty-printed: one event"
        );
        let items = split(b"[{\"a\": 1}, {\"a\": 2}]");
        assert_eq!(items.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2]);
        let items = split(b"{\"a\": 1}\n\nnot json\n{\"a\": 3}\n");
        assert_eq!(items.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 3, 4]);
        assert!(items[1].1.is_err());
    }

    #[test]
    fn a_bad_line_is_rejected_and_the_good_ones_go_on() {
        let body = concat!(
            r#"{"rule":"a","priority":"Error","output":"x","time":"2023-05-25T13:44:05.478445995Z"}"#,
            "\n",
            r#"{"rule":"b","priority":"Urgent","output":"x"}"#,
            "\n",
            r#"{"rule":"c","priority":"Notice","output":"x","time":"2021-04-13T20:58:00.746609046Z+2"}"#,
            "\n",
            "garbage\n",
        );
        let (events, rejected) = read_batch(body.as_bytes(), 1_000, falco::event).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].at, 1_685_022_245);
        assert_eq!(events[0].alert.severity, Severity::High);
        let lines: Vec<usize> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(rejected[0].error.contains("Urgent"));
        assert!(rejected[1].error.contains("RFC 3339"));
        assert!(rejected[2].error.contains("not JSON"));
        assert!(read_batch(b"\n\n", 0, falco::event).is_err());
    }

    #[test]
    fn events_are_bounded() {
        let now = 5;
        assert_eq!(check(alert(), now).unwrap().at, now);
        let mut long = alert();
        long.output = "x".repeat(MAX_OUTPUT + 10);
        assert_eq!(
            check(long, now).unwrap().alert.output.chars().count(),
            MAX_OUTPUT
        );
        let mut a = alert();
        a.rule = String::new();
        assert!(check(a, now).unwrap_err().contains("rule"));
        let mut a = alert();
        a.fields
            .insert("big".into(), Value::String("y".repeat(MAX_FIELDS_BYTES)));
        assert!(check(a, now).unwrap_err().contains("bytes"));
        assert!(generic(serde_json::json!({"source": "t", "rule": "r", "severity": "high", "output": "o", "extra": 1})).is_err());
    }
}
