//! The live alert queue, on SQLite and on Postgres, through the real router on loopback:
//!
//! 1. **POST → stream delay**: a viewer holds `GET /api/v1/alerts/stream` open; probe
//!    events (one each, a rule of their own) are posted to `POST /api/v1/alerts` every
//!    20 ms, first on an idle server, then while a load generator posts Falco batches
//!    (500 events, 2 at once); the delay is from sending the probe to reading its
//!    `changed` event on the stream. Every probe must arrive.
//!    With `ALERT_LOAD_RATE=N` the load generator paces its batches to N events/s
//!    instead (the issue's target rate: 5,000), and only this part runs, written to a
//!    section of its own.
//! 2. **The alerts page with a million events**: `ALERT_PAGE_EVENTS` (default 1,000,000)
//!    events stored through the production write path (`Write::store_alerts`) into
//!    20,000 groups, 19 of 20 then closed; then `GET /api/v1/alerts` (the open queue,
//!    50 a page; and every state filtered by severity), a group with 50 events and the
//!    server-rendered `/alerts` page (100 groups) are each timed 200 times.
//!
//! Writes docs/benchmarks.md; asserts no timing.

#[path = "../core/benches/common/mod.rs"]
mod common;
mod serve;

use coastguard_core::access;
use coastguard_core::alerts::Event;
use coastguard_core::auth::Authed;
use coastguard_model::alerts::NewAlert;
use coastguard_model::{NewUser, Role, Severity};
use common::{dispose, env_usize, fresh, write_section};
use futures::StreamExt as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn quantile(mut v: Vec<Duration>, q: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn falco_batch(first: usize, n: usize) -> Vec<u8> {
    let mut body = String::new();
    for i in first..first + n {
        body.push_str(&format!(
            r#"{{"output":"load {i}","priority":"Warning","rule":"Load {}","time":"2026-12-01T10:00:00Z","hostname":"node-{}","output_fields":{{"container.id":"{:012x}"}}}}"#,
            i % 7,
            i % 20,
            0xbeef00000000_u64 + (i % 300) as u64
        ));
        body.push('\n');
    }
    body.into_bytes()
}

/// Probes' delays: `count` probes 20 ms apart, each awaited on the stream.
async fn probes(
    http: &reqwest::Client,
    base: &str,
    ingest: &str,
    stream: &mut Stream,
    label: &str,
    count: usize,
) -> Vec<Duration> {
    let mut delays = Vec::with_capacity(count);
    for i in 0..count {
        let rule = format!("probe {label} {i}");
        let body = serde_json::json!({"source": "bench", "rule": rule, "severity": "low", "output": "probe"});
        let sent = Instant::now();
        let res = http
            .post(format!("{base}/api/v1/alerts"))
            .bearer_auth(ingest)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        stream.until_rule(&rule).await;
        delays.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    delays
}

/// An open event stream, read as it comes.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Reads events until a `changed` one names `rule`; fails after 30 s.
    async fn until_rule(&mut self, rule: &str) {
        let needle = format!("\"rule\":\"{rule}\"");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.contains("event: changed") && block.contains(&needle) {
                    return;
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("{rule} never reached the stream"))
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

struct Delays {
    idle: Vec<Duration>,
    loaded: Vec<Duration>,
    load_events: usize,
    load_secs: f64,
}

/// `rate`: events per second the load generator paces itself to; 0: as fast as the
/// server takes them.
async fn stream_delay(backend: &str, count: usize, rate: usize) -> Delays {
    let db = fresh(backend).await;
    let state = db.state();
    let ingest = access::create_token(&state, &Authed::cli(), "probe", Role::Ingest, None)
        .await
        .unwrap()
        .secret;
    let viewer = access::create_token(&state, &Authed::cli(), "page", Role::Viewer, None)
        .await
        .unwrap()
        .secret;
    let (base, server) = serve::serve(state.clone()).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let response = http
        .get(format!("{base}/api/v1/alerts/stream"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    let mut stream = Stream {
        response,
        buffer: String::new(),
    };
    let idle = probes(&http, &base, &ingest, &mut stream, "idle", count).await;

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = {
        let (http, base, ingest, stop, sent) = (
            http.clone(),
            base.clone(),
            ingest.clone(),
            stop.clone(),
            sent.clone(),
        );
        tokio::spawn(async move {
            let began = tokio::time::Instant::now();
            futures::stream::iter(0..)
                .take_while(|_| std::future::ready(!stop.load(Ordering::Relaxed)))
                .map(|i| {
                    let (http, base, ingest, sent) =
                        (http.clone(), base.clone(), ingest.clone(), sent.clone());
                    async move {
                        if rate > 0 {
                            // Batch i leaves at its slot (or at once if running late).
                            let slot = Duration::from_secs_f64((i * 500) as f64 / rate as f64);
                            tokio::time::sleep_until(began + slot).await;
                        }
                        let res = http
                            .post(format!("{base}/api/v1/alerts/falco"))
                            .bearer_auth(&ingest)
                            .body(falco_batch(i * 500, 500))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(res.status(), 200);
                        sent.fetch_add(500, Ordering::Relaxed);
                    }
                })
                .buffer_unordered(2)
                .collect::<Vec<()>>()
                .await;
        })
    };
    let started = Instant::now();
    let loaded = probes(&http, &base, &ingest, &mut stream, "loaded", count).await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let load_secs = started.elapsed().as_secs_f64();
    server.abort();
    dispose(db).await;
    Delays {
        idle,
        loaded,
        load_events: sent.load(Ordering::Relaxed),
        load_secs,
    }
}

struct Page {
    seeded: Duration,
    open: Vec<Duration>,
    filtered: Vec<Duration>,
    detail: Vec<Duration>,
    html: Vec<Duration>,
}

async fn timed(http: &reqwest::Client, url: &str, auth: (&str, &str), n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let res = http.get(url).header(auth.0, auth.1).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        res.bytes().await.unwrap();
        out.push(started.elapsed());
    }
    out
}

async fn alerts_page(backend: &str, events: usize) -> Page {
    let db = fresh(backend).await;
    let state = db.state();
    // The production write path, 10,000 events a commit, into 20,000 groups.
    let started = Instant::now();
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    for first in (0..events).step_by(10_000) {
        let batch: Vec<Event> = (first..(first + 10_000).min(events))
            .map(|i| {
                let g = i % 20_000;
                let mut fields = std::collections::BTreeMap::new();
                fields.insert(
                    "proc.cmdline".to_string(),
                    serde_json::json!(format!("sh -c step {i}")),
                );
                Event {
                    alert: NewAlert {
                        source: "falco".into(),
                        rule: format!("Rule {}", g % 40),
                        severity: severities[g % 4],
                        output: format!("event {i} of group {g}"),
                        time: None,
                        hostname: Some(format!("node-{}", g % 50)),
                        container_id: Some(format!("{:012x}", 0xa1e0000000_u64 + g as u64)),
                        image: None,
                        image_digest: None,
                        namespace: None,
                        pod: None,
                        tags: vec!["bench".into()],
                        fields,
                    },
                    at: 1_790_000_000 + i as i64,
                }
            })
            .collect();
        let mut w = state.store.begin_pass().await.unwrap();
        w.store_alerts(&batch, 1_790_000_000 + first as i64)
            .await
            .unwrap();
        w.commit().await.unwrap();
    }
    // 19 of 20 groups triaged away: the queue is the rest.
    coastguard_core::with_db!(state.store.db(), |pool| sqlx::query(
        "UPDATE runtime_alerts SET state = 'resolved' WHERE id % 20 <> 0"
    )
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    if let coastguard_core::db::Db::Postgres(pool) = state.store.db() {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    let seeded = started.elapsed();
    let viewer = access::create_token(&state, &Authed::cli(), "page", Role::Viewer, None)
        .await
        .unwrap()
        .secret;
    access::create_user(
        &state,
        &Authed::cli(),
        NewUser {
            name: "oncall".into(),
            role: Role::Analyst,
            password: "a bench passphrase".into(),
        },
    )
    .await
    .unwrap();
    let (base, server) = serve::serve(state.clone()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let login = http
        .post(format!("{base}/login"))
        .form(&[
            ("username", "oncall"),
            ("password", "a bench passphrase"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("coastguard_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session");
    let bearer = format!("Bearer {viewer}");
    let token = ("authorization", bearer.as_str());
    let open = timed(&http, &format!("{base}/api/v1/alerts?limit=50"), token, 200).await;
    let filtered = timed(
        &http,
        &format!("{base}/api/v1/alerts?all=true&severity=critical&limit=50"),
        token,
        200,
    )
    .await;
    let detail = timed(&http, &format!("{base}/api/v1/alerts/20"), token, 200).await;
    let html = timed(&http, &format!("{base}/alerts"), ("cookie", &cookie), 200).await;
    // What the page holds is the queue itself.
    let page: serde_json::Value = http
        .get(format!("{base}/api/v1/alerts?limit=50"))
        .header(token.0, token.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    server.abort();
    dispose(db).await;
    Page {
        seeded,
        open,
        filtered,
        detail,
        html,
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let probes = env_usize("ALERT_PROBES", 200);
    let events = env_usize("ALERT_PAGE_EVENTS", 1_000_000);
    let rate = env_usize("ALERT_LOAD_RATE", 0);
    if rate > 0 {
        paced(probes, rate).await;
        return;
    }
    let mut delay_rows = Vec::new();
    let mut page_rows = Vec::new();
    let mut seeded = HashMap::new();
    for backend in ["SQLite", "Postgres"] {
        let d = stream_delay(backend, probes, 0).await;
        delay_rows.push(format!(
            "| {backend} | idle | {} | {} | {} | — |",
            ms(quantile(d.idle.clone(), 0.5)),
            ms(quantile(d.idle.clone(), 0.99)),
            ms(quantile(d.idle, 1.0)),
        ));
        delay_rows.push(format!(
            "| {backend} | under ingestion | {} | {} | {} | {} events, {:.0}/s |",
            ms(quantile(d.loaded.clone(), 0.5)),
            ms(quantile(d.loaded.clone(), 0.99)),
            ms(quantile(d.loaded, 1.0)),
            d.load_events,
            d.load_events as f64 / d.load_secs
        ));
        let p = alerts_page(backend, events).await;
        seeded.insert(backend, p.seeded);
        for (what, times) in [
            ("`GET /api/v1/alerts?limit=50` (open queue)", p.open),
            (
                "`GET /api/v1/alerts?all=true&severity=critical`",
                p.filtered,
            ),
            ("`GET /api/v1/alerts/{id}` (50 events)", p.detail),
            ("`/alerts` page, server-rendered (100 groups)", p.html),
        ] {
            page_rows.push(format!(
                "| {backend} | {what} | {} | {} |",
                ms(quantile(times.clone(), 0.5)),
                ms(quantile(times, 0.99)),
            ));
        }
    }
    let section = format!(
        "<!-- alerts-live:start -->\n## The live alert queue\n\n\
`cargo bench -p coastguard --bench alerts_live`, the real router on loopback, this 2-core \
machine (server, clients and database share the cores).\n\n\
**POST → stream delay**: a viewer holds `GET /api/v1/alerts/stream` open; {probes} probe \
events, 20 ms apart, each sent alone to `POST /api/v1/alerts`; the delay runs from sending \
the probe to reading its `changed` event. Then the same while a load generator posts \
Falco batches of 500 (2 at once) without pause, as fast as the server takes them. Every \
probe arrived.\n\n\
| Database | Server | p50 | p99 | max | Load sent meanwhile |\n|---|---|---|---|---|---|\n{}\n\n\
**The alerts page with {events} stored events**: written through `Write::store_alerts` \
(10,000 a commit) into 20,000 groups, 19 of 20 then resolved (SQLite {:.0} s, Postgres \
{:.0} s to seed); each request timed 200 times, one at a time.\n\n\
| Database | Request | p50 | p99 |\n|---|---|---|---|\n{}\n\
<!-- alerts-live:end -->",
        delay_rows.join("\n"),
        seeded["SQLite"].as_secs_f64(),
        seeded["Postgres"].as_secs_f64(),
        page_rows.join("\n"),
    );
    println!("{section}");
    write_section(&section, "alerts-live");
}

/// The POST → stream delay while the load generator sends `rate` events/s: its own
/// section of docs/benchmarks.md.
async fn paced(probes: usize, rate: usize) {
    let mut rows = Vec::new();
    for backend in ["SQLite", "Postgres"] {
        let d = stream_delay(backend, probes, rate).await;
        rows.push(format!(
            "| {backend} | {} | {} | {} | {} events, {:.0}/s |",
            ms(quantile(d.loaded.clone(), 0.5)),
            ms(quantile(d.loaded.clone(), 0.99)),
            ms(quantile(d.loaded, 1.0)),
            d.load_events,
            d.load_events as f64 / d.load_secs
        ));
    }
    let section = format!(
        "<!-- alerts-live-paced:start -->\n## The live alert queue at {rate} events/s\n\n\
`ALERT_LOAD_RATE={rate} cargo bench -p coastguard --bench alerts_live`: as above, but the \
load generator paces its Falco batches of 500 (2 at most in flight) to {rate} events/s \
instead of sending as fast as the server takes them; {probes} probes, 20 ms apart, each \
must arrive.\n\n\
| Database | p50 | p99 | max | Load sent meanwhile |\n|---|---|---|---|---|\n{}\n\
<!-- alerts-live-paced:end -->",
        rows.join("\n")
    );
    println!("{section}");
    write_section(&section, "alerts-live-paced");
}
