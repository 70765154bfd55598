//! A burst of 400 concurrent logins against the real router on loopback (SQLite), in
//! three shapes:
//! - one user name from one address, wrong passwords (a guesser): the per-pair limit
//!   must let no more than its allowance reach argon2;
//! - 400 user names from one address (a sprayer): the per-address limit caps it;
//! - 400 distinct addresses (127.0.1.x–127.0.2.x), one name each: every attempt is
//!   allowed by the limits, so only the bound on concurrent checks keeps memory flat.
//!
//! Records, per shape: the answers (invalid, locked, busy), how many password checks
//! ran (`coastguard_core::auth::password::checks_run`, the `/metrics` counter), the wall
//! time and the process's peak resident memory. Writes docs/benchmarks.md; asserts no
//! timing.

#[path = "../core/benches/common/mod.rs"]
mod common;
mod serve;

use coastguard_core::auth::password;
use coastguard_model::Role;
use common::{fresh, reset_hwm, vm_hwm_kib, vm_rss_kib, write_section};
use std::net::IpAddr;
use std::time::Instant;

const BURST: usize = 400;

struct Shape {
    name: &'static str,
    invalid: usize,
    locked: usize,
    busy: usize,
    turned_away: usize,
    checks: u64,
    secs: f64,
    peak_mib: f64,
}

async fn burst(
    base: &str,
    name: &'static str,
    attempt: impl Fn(usize) -> (String, IpAddr),
) -> Shape {
    let before = password::checks_run();
    reset_hwm();
    let started = Instant::now();
    let tasks: Vec<_> = (0..BURST)
        .map(|i| {
            let (user, ip) = attempt(i);
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(ip)
                .build()
                .unwrap();
            let url = format!("{base}/login");
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .form(&[
                        ("username", user.as_str()),
                        ("password", "not the password"),
                    ])
                    .send()
                    .await
                    .unwrap();
                match res.headers().get("location") {
                    Some(to) => to.to_str().unwrap().to_string(),
                    // Past max_concurrent_requests: turned away before the login ran.
                    None => res.status().as_str().to_string(),
                }
            })
        })
        .collect();
    let mut shape = Shape {
        name,
        invalid: 0,
        locked: 0,
        busy: 0,
        turned_away: 0,
        checks: 0,
        secs: 0.0,
        peak_mib: 0.0,
    };
    for t in tasks {
        match t.await.unwrap().as_str() {
            "/login?error=invalid" => shape.invalid += 1,
            "/login?error=locked" => shape.locked += 1,
            "/login?error=busy" => shape.busy += 1,
            "503" => shape.turned_away += 1,
            other => panic!("unexpected answer {other}"),
        }
    }
    shape.secs = started.elapsed().as_secs_f64();
    shape.checks = password::checks_run() - before;
    shape.peak_mib = vm_hwm_kib() as f64 / 1024.0;
    shape
}

#[tokio::main]
async fn main() {
    let db = fresh("SQLite").await;
    let state = db.state();
    let policy = state.settings.login_policy();
    let hash = password::hash("the real passphrase".into()).await.unwrap();
    for i in 0..BURST {
        db.add_user(&format!("user{i}"), Role::Viewer, &hash, 1)
            .await;
    }
    let (base, _server) = serve::serve(state.clone()).await;
    let idle_mib = vm_rss_kib() as f64 / 1024.0;
    let local = |i: usize| -> IpAddr {
        format!("127.0.{}.{}", 1 + i / 250, 1 + i % 250)
            .parse()
            .unwrap()
    };
    let shapes = vec![
        burst(&base, "one name, one address", |_| {
            ("user0".into(), "127.0.0.2".parse().unwrap())
        })
        .await,
        burst(&base, "400 names, one address", |i| {
            (format!("user{i}"), "127.0.0.3".parse().unwrap())
        })
        .await,
        burst(&base, "400 addresses, one name each", |i| {
            (format!("user{i}"), local(i))
        })
        .await,
    ];
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut rows = String::new();
    for s in &shapes {
        println!(
            "{}: {} invalid, {} locked, {} busy, {} turned away; {} checks; {:.1} s; peak {:.0} MiB",
            s.name, s.invalid, s.locked, s.busy, s.turned_away, s.checks, s.secs, s.peak_mib
        );
        rows.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} s | {:.0} MiB |\n",
            s.name, s.checks, s.invalid, s.locked, s.busy, s.turned_away, s.secs, s.peak_mib
        ));
    }
    let section = format!(
        "<!-- login-burst:start -->\n## A burst of logins\n\n\
`cargo bench -p coastguard --bench login_burst`: {BURST} concurrent wrong-password logins to the real \
router on loopback (SQLite), each from its own connection, in three shapes. The limits are the \
defaults: {} attempts per user name and address, {} per address, in {} minutes; at most {} password \
checks (argon2id, 19 MiB each) run at once on this {cores}-core machine, and an attempt waits at \
most {} s for a slot before it is answered \"busy\" (and not counted). At most {} requests are served at \
once (`max_concurrent_requests`); one more waits a second, then gets 503 (the 503 column). Peak memory is the whole \
process's (server and client), which holds {idle_mib:.0} MiB before the first burst.\n\n\
| Shape | Password checks | Invalid | Locked | Busy | 503 | Wall time | Peak RSS |\n|---|---|---|---|---|---|---|---|\n{rows}\n\
<!-- login-burst:end -->",
        policy.per_pair.max_failures,
        policy.per_ip.max_failures,
        policy.per_pair.window / 60,
        2 * cores,
        password::QUEUE_WAIT.as_secs(),
        state.settings.max_concurrent_requests,
    );
    write_section(&section, "login-burst");
    common::dispose(db).await;
}
