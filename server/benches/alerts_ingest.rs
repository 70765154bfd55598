//! Sustained Falco ingestion over HTTP on loopback, on SQLite and on Postgres: the real
//! router (`coastguard::http::router`) and `POST /api/v1/alerts/falco`, fed by a bounded
//! load generator in this process (`ALERT_BENCH_EVENTS`, default 60,000 events, in
//! newline-delimited batches of `ALERT_BENCH_BATCH` (500), `ALERT_BENCH_CLIENTS` (4) at
//! once). The events are Falco's real "Terminal shell in container" event, spread over
//! 200 containers and 10 rules, so they fold into 2,000 groups. Zero loss is checked:
//! every event answered as accepted is counted in `alert_events` afterwards. Figures:
//! events per second, the p50/p99 time of a batch's answer, peak resident memory.
//! Writes docs/benchmarks.md; asserts no timing.

#[path = "../core/benches/common/mod.rs"]
mod common;
mod serve;

use coastguard_core::access;
use coastguard_core::auth::Authed;
use coastguard_model::Role;
use common::{dispose, env_usize, fresh, reset_hwm, vm_hwm_kib, write_section};
use futures::StreamExt as _;
use std::time::{Duration, Instant};

const SHELL: &str = r#"{"hostname":"falco-xczjd","output":"13:44:05.478445995: Critical A shell was spawned in a container with an attached terminal (user=root container=CID shell=sh)","priority":"Critical","rule":"RULE","source":"syscall","tags":["container","mitre_execution","shell"],"time":"2023-05-25T13:44:05.478445995Z","output_fields":{"container.id":"CID","container.image.repository":"docker.io/library/alpine","evt.time":1685022245478445995,"k8s.ns.name":"default","k8s.pod.name":"kubecon","proc.cmdline":"sh -c clear","proc.name":"sh","proc.pname":"runc","proc.tty":34816,"user.loginuid":-1,"user.name":"root"}}"#;

fn batch(first: usize, n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(n * SHELL.len());
    for i in first..first + n {
        let container = format!("{:012x}", 0xc0ffee000000_u64 + (i % 200) as u64);
        let rule = format!("Terminal shell in container {}", (i / 200) % 10);
        body.push_str(&SHELL.replace("CID", &container).replace("RULE", &rule));
        body.push('\n');
    }
    body.into_bytes()
}

struct Run {
    backend: &'static str,
    events: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    groups: i64,
    peak_mib: f64,
}

async fn run(backend: &'static str, events: usize, per_batch: usize, clients: usize) -> Run {
    let db = fresh(backend).await;
    let state = db.state();
    let token = access::create_token(&state, &Authed::cli(), "falco", Role::Analyst, None)
        .await
        .unwrap()
        .secret;
    let (base, server) = serve::serve(state.clone()).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let url = format!("{base}/api/v1/alerts/falco");
    reset_hwm();
    let started = Instant::now();
    let answers: Vec<(usize, Duration)> = futures::stream::iter((0..events).step_by(per_batch))
        .map(|first| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            let body = batch(first, per_batch.min(events - first));
            async move {
                let sent = Instant::now();
                let res = http
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let report: serde_json::Value = res.json().await.unwrap();
                assert_eq!(status, 200, "{report}");
                assert!(
                    report["rejected"].as_array().unwrap().is_empty(),
                    "{report}"
                );
                (
                    report["accepted"].as_u64().unwrap() as usize,
                    sent.elapsed(),
                )
            }
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    let peak_mib = vm_hwm_kib() as f64 / 1024.0;
    let accepted: usize = answers.iter().map(|(n, _)| n).sum();
    assert_eq!(accepted, events, "every event accepted");
    let stored: i64 = coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM alert_events"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(
        stored as usize, events,
        "zero loss: every accepted event is stored"
    );
    let groups: i64 = coastguard_core::with_db!(state.store.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM runtime_alerts"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    let mut times: Vec<Duration> = answers.into_iter().map(|(_, t)| t).collect();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    server.abort();
    dispose(db).await;
    Run {
        backend,
        events,
        secs,
        p50: at(0.5),
        p99: at(0.99),
        groups,
        peak_mib,
    }
}

#[tokio::main]
async fn main() {
    // A refused batch says why in the server's log.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let events = env_usize("ALERT_BENCH_EVENTS", 60_000);
    let per_batch = env_usize("ALERT_BENCH_BATCH", 500);
    let clients = env_usize("ALERT_BENCH_CLIENTS", 4);
    let mut rows = Vec::new();
    for backend in ["SQLite", "Postgres"] {
        let r = run(backend, events, per_batch, clients).await;
        rows.push(format!(
            "| {} | {} | {:.1} s | {:.0} | {} | {:.0} ms | {:.0} ms | {:.0} MiB |",
            r.backend,
            r.events,
            r.secs,
            r.events as f64 / r.secs,
            r.groups,
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0,
            r.peak_mib
        ));
    }
    let section = format!(
        "<!-- alerts-ingest:start -->\n## Falco ingestion over HTTP (runtime alerts)\n\n\
`cargo bench -p coastguard --bench alerts_ingest`: the real router on loopback, \
`POST /api/v1/alerts/falco` with newline-delimited batches of {per_batch} of Falco's real \
\"Terminal shell in container\" event, {clients} requests at once from a load generator in \
the same process, on this 2-core machine (server, client and database share the cores). \
The events spread over 200 containers and 10 rules, so they fold into 2,000 groups; every \
accepted event is counted in `alert_events` afterwards (zero loss, asserted).\n\n\
| Database | Events | Time | Events/s | Groups | Batch answer p50 | p99 | Peak RSS |\n|---|---|---|---|---|---|---|---|\n\
{}\n\n\
The delay from POST to an open event stream and the alerts page with a million stored \
events are in the next section (`alerts_live`).\n\
<!-- alerts-ingest:end -->",
        rows.join("\n")
    );
    println!("{section}");
    write_section(&section, "alerts-ingest");
}
