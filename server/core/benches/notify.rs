//! Notifications on SQLite and on Postgres: the production pass
//! (`notify::manage::pass`, what the `notifications` job runs every 2 s) announcing
//! `NOTIFY_BENCH_GROUPS` (default 2,000) new alert groups to two webhooks and delivering
//! every message to a receiver on loopback (HTTP, signed bodies), then a burst of
//! 10,000 more events of those groups summed up in one digest per webhook, and the cost
//! of a pass that finds nothing (the job's idle cost). The groups are stored the way
//! Coastguard's detectors store them (`alerts::raise`). Each message is counted at the
//! receiver (exactly one per group and webhook, asserted). Writes docs/benchmarks.md;
//! asserts no timing.

mod common;

use coastguard_core::alerts;
use coastguard_core::auth::sealing::SecretKey;
use coastguard_core::auth::Authed;
use coastguard_core::notify::manage::{self, pass};
use coastguard_core::Settings;
use coastguard_model::alerts::NewAlert;
use coastguard_model::notify::{NewWebhook, WebhookFilter, WebhookFormat};
use coastguard_model::Severity;
use common::{dispose, env_usize, fresh, median, ms, write_section};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn alert(rule: usize, container: usize) -> NewAlert {
    serde_json::from_value(serde_json::json!({
        "source": "bench",
        "rule": format!("Rule {rule}"),
        "severity": "high",
        "output": "A shell was spawned in a container with an attached terminal",
        "container_id": format!("{:012x}", 0xbe_0000_0000_u64 + container as u64),
        "hostname": "node-1",
    }))
    .expect("an alert")
}

/// A receiver on 127.0.0.1 that answers 200 and counts what came, by event.
async fn receiver() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (new, digest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n, d) = (new.clone(), digest.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let (n, d) = (n.clone(), d.clone());
            async move {
                match headers
                    .get("x-coastguard-event")
                    .and_then(|v| v.to_str().ok())
                {
                    Some("alert.new") => n.fetch_add(1, Ordering::SeqCst),
                    Some("alert.digest") => d.fetch_add(1, Ordering::SeqCst),
                    _ => 0,
                };
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, new, digest)
}

struct Run {
    backend: &'static str,
    groups: usize,
    announce: Duration,
    messages: usize,
    digest: Duration,
    idle: Duration,
}

async fn run(backend: &'static str, groups: usize) -> Run {
    let db = fresh(backend).await;
    let state = db.state_with(Settings {
        secret_key: Some(SecretKey::parse(&("4d".repeat(31) + "0b")).unwrap()),
        ..Settings::default()
    });
    let (url, new, digests) = receiver().await;
    for (name, format) in [
        ("json", WebhookFormat::Generic),
        ("slack", WebhookFormat::Slack),
    ] {
        let input = NewWebhook {
            name: name.into(),
            url: url.clone(),
            format,
            secret: Some("a signing secret for the benchmark".into()),
            filter: WebhookFilter {
                min_severity: Severity::Low,
                ..WebhookFilter::default()
            },
            digest_minutes: 1,
            timeout_secs: 10,
        };
        manage::add_webhook(&state, &Authed::cli(), input)
            .await
            .unwrap();
    }
    // New groups, stored in batches of 500 as the detectors store theirs.
    let all: Vec<NewAlert> = (0..groups).map(|i| alert(i % 10, i / 10)).collect();
    for chunk in all.chunks(500) {
        alerts::raise(&state, chunk.to_vec()).await.unwrap();
    }
    let t0 = coastguard_core::now();
    let started = Instant::now();
    let mut at = t0;
    // Passes until every message is delivered (a pass stops sending after 20 s).
    while new.load(Ordering::SeqCst) < 2 * groups {
        let report = pass(&state, at).await.unwrap();
        assert_eq!(report.failed, 0, "{report:?}");
        at += 1;
        assert!(at < t0 + 600, "delivery stalled");
    }
    let announce = started.elapsed();
    assert_eq!(new.load(Ordering::SeqCst), 2 * groups, "exactly once each");

    // A burst of 10,000 more events of those groups: one digest per webhook.
    let burst: Vec<NewAlert> = (0..10_000)
        .map(|i| alert(i % 10, (i / 10) % (groups / 10)))
        .collect();
    for chunk in burst.chunks(500) {
        alerts::raise(&state, chunk.to_vec()).await.unwrap();
    }
    let started = Instant::now();
    let report = pass(&state, at + 61).await.unwrap();
    let digest = started.elapsed();
    assert_eq!(report.queued, 2, "{report:?}");
    assert_eq!(digests.load(Ordering::SeqCst), 2);

    // The job's cost when there is nothing to do.
    let mut idle = Vec::new();
    for i in 0..20 {
        let started = Instant::now();
        let report = pass(&state, at + 62 + i).await.unwrap();
        idle.push(started.elapsed());
        assert_eq!(report, manage::PassReport::default());
    }
    state.store.db().close().await;
    dispose(db).await;
    Run {
        backend,
        groups,
        announce,
        messages: 2 * groups,
        digest,
        idle: median(idle),
    }
}

#[tokio::main]
async fn main() {
    let groups = env_usize("NOTIFY_BENCH_GROUPS", 2_000).max(10);
    let mut rows = Vec::new();
    for backend in ["SQLite", "Postgres"] {
        let r = run(backend, groups).await;
        rows.push(format!(
            "| {} | {} | {} | {:.1} s | {:.0} | {} | {:.1} ms |",
            r.backend,
            r.groups,
            r.messages,
            r.announce.as_secs_f64(),
            r.messages as f64 / r.announce.as_secs_f64(),
            ms(r.digest),
            r.idle.as_secs_f64() * 1000.0,
        ));
    }
    let section = format!(
        "<!-- notify:start -->\n## Notifications (webhooks)\n\n\
`cargo bench -p coastguard-core --bench notify`: the production pass of the \
`notifications` job (`notify::manage::pass`) on this 2-core machine, the receiver (axum, \
answering 200) in the same process. {groups} new alert groups, two webhooks (generic and \
Slack, both signed), every message delivered and counted at the receiver (exactly one per \
group and webhook, asserted); then 10,000 more events of those groups, summed up in one \
digest per webhook; then a pass with nothing to do (median of 20: what the job costs \
every 2 s when idle).\n\n\
| Database | Groups | Messages | Announced and delivered in | Messages/s | Digest pass | Idle pass |\n|---|---|---|---|---|---|---|\n\
{}\n\
<!-- notify:end -->",
        rows.join("\n")
    );
    println!("{section}");
    write_section(&section, "notify");
}
