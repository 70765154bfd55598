//! Docker inventory benchmark, on the machine's real engine:
//!
//! 1. creates N containers (default 200, `CG_BENCH_CONTAINERS`) from a busybox image,
//!    with a mix of risky settings;
//! 2. times `docker inspect` of those N containers (one CLI call, as an operator would);
//! 3. times full syncs of the engine into a fresh SQLite database (collection, every
//!    check, one transaction), with the peak memory (VmHWM growth) of each;
//! 4. times engine events until the change is in the store (create → row present);
//! 5. writes the figures into docs/benchmarks.md between its markers and removes the
//!    containers.
//!
//! Timings are medians of several runs; nothing here asserts a timing.

mod common;

use coastguard_core::docker::collector::{run_worker, sync_engine};
use coastguard_core::docker::engine::EngineConfig;
use coastguard_core::testing::docker::Engine;
use coastguard_core::with_db;
use common::{median, ms, reset_hwm, vm_hwm_kib, vm_rss_kib, write_section};
use std::process::Command;
use std::time::{Duration, Instant};

/// The docker CLI against the machine's engine (bounded, as in the tests).
fn docker(args: &[&str]) -> String {
    Engine::local().docker(args)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("CG_BENCH_CONTAINERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let prefix = format!("cgbench-{}", std::process::id());

    // An image of our own, FROM scratch with Debian's static busybox.
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("/bin/busybox", dir.join("busybox")).expect("/bin/busybox (busybox-static)");
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM scratch\nLABEL coastguard.test=1 coastguard.bench={prefix}\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nENV API_TOKEN=Zx81kq2LmN0pQ7rT5vW3yB9c\nCMD [\"sleep\", \"86400\"]\n"),
    )
    .unwrap();
    let image = format!("{prefix}:1");
    docker(&["build", "-q", "-t", &image, dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);

    eprintln!("creating {n} containers...");
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let mut args = vec!["run", "-d", "--name", &name, "--label", "coastguard.test=1"];
        let port;
        if i % 4 == 0 {
            port = format!("{}:80", 20000 + i);
            args.extend(["-p", &port]);
        }
        if i % 5 == 0 {
            args.extend(["--cap-add", "NET_ADMIN"]);
        }
        if i % 7 == 0 {
            args.extend(["--read-only", "--memory", "32m", "--pids-limit", "32"]);
        }
        args.push(&image);
        ids.push(docker(&args));
    }
    eprintln!("created in {:?}", started.elapsed());

    // docker inspect of the same containers, as one CLI call.
    let mut inspect = Vec::new();
    for _ in 0..5 {
        let mut args = vec!["inspect"];
        args.extend(ids.iter().map(String::as_str));
        let t = Instant::now();
        let out = Command::new("docker").args(&args).output().unwrap();
        inspect.push(t.elapsed());
        assert!(out.status.success());
    }
    let inspect_median = median(inspect.clone());

    // Full syncs into a fresh SQLite database.
    let db = coastguard_core::testing::sqlite().await;
    let state = db.state();
    let engine = db
        .store
        .add_docker_engine(
            "bench",
            &EngineConfig::new("unix:///var/run/docker.sock"),
            coastguard_core::now(),
        )
        .await
        .unwrap();
    let mut syncs = Vec::new();
    let mut peaks = Vec::new();
    let mut report = None;
    for _ in 0..5 {
        let base = vm_rss_kib();
        reset_hwm();
        let t = Instant::now();
        let (_, _, r) = sync_engine(&state, &engine).await.expect("sync");
        syncs.push(t.elapsed());
        peaks.push(vm_hwm_kib().saturating_sub(base));
        report = Some(r);
    }
    let report = report.unwrap();
    // The same sync in its three phases, to see where the time goes.
    let policy = state.store.policy().await;
    let config = EngineConfig::new("unix:///var/run/docker.sock");
    let client = coastguard_core::docker::engine::connect(&config)
        .await
        .unwrap();
    let mut phases = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let snapshot = coastguard_core::docker::collect::snapshot(&client, &config)
            .await
            .unwrap();
        let collected = t.elapsed();
        let t = Instant::now();
        let found = coastguard_core::docker::collector::evaluate(
            &snapshot,
            &policy,
            coastguard_core::now(),
        );
        let evaluated = t.elapsed();
        let t = Instant::now();
        db.store
            .apply_docker_snapshot(engine.id, &snapshot, &found, coastguard_core::now())
            .await
            .unwrap();
        phases.push((collected, evaluated, t.elapsed()));
    }
    let phase =
        |f: fn(&(Duration, Duration, Duration)) -> Duration| median(phases.iter().map(f).collect());
    let (collect_median, eval_median, store_median) =
        (phase(|p| p.0), phase(|p| p.1), phase(|p| p.2));
    let first_sync = syncs[0];
    let sync_median = median(syncs[1..].to_vec());
    let peak_max = peaks.iter().copied().max().unwrap_or(0);
    let findings: i64 = with_db!(db.store.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM config_findings"
    )
    .fetch_one(pool)
    .await
    .unwrap());

    // Events: create a container, time until its row is in the store.
    let settings = coastguard_core::Settings {
        docker_sync_seconds: 3600,
        docker_drift_seconds: 3600,
        ..Default::default()
    };
    let live = db.state_with(settings);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(live.clone(), engine.id, stopped));
    while live
        .store
        .docker_engine(engine.id)
        .await
        .unwrap()
        .last_sync_at
        .is_none()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::new();
    for i in 0..20 {
        let name = format!("{prefix}-event-{i}");
        let t = Instant::now();
        // `docker create` returns once the engine has the container (the create event).
        docker(&[
            "create",
            "--name",
            &name,
            "--label",
            "coastguard.test=1",
            &image,
        ]);
        let created = t.elapsed();
        loop {
            let found: Option<i64> = with_db!(db.store.db(), |pool| sqlx::query_scalar(
                "SELECT id FROM containers WHERE name = $1"
            )
            .bind(&name)
            .fetch_optional(pool)
            .await
            .unwrap());
            if found.is_some() {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "event never reached the store"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(t.elapsed().saturating_sub(created));
        docker(&["rm", "-f", &name]);
    }
    let _ = stop.send(true);
    let _ = worker.await;
    let event_median = median(latencies.clone());
    let event_max = latencies.iter().max().copied().unwrap_or_default();

    eprintln!("removing containers...");
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    docker(&args);
    docker(&["rmi", "-f", &image]);

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let engine_version = docker(&["version", "--format", "{{.Server.Version}}"]);
    let date = time::OffsetDateTime::now_utc().date();
    let section = format!(
        "<!-- docker-sync:start -->\n\
         ## Docker inventory sync ({n} containers)\n\n\
         Measured {date} with `cargo bench -p coastguard-core --bench docker_sync` on {cores} cores ({cpu}), \
         Docker Engine {engine_version}, SQLite store, cargo bench profile (optimised).\n\n\
         | What | Figure |\n|---|---|\n\
         | `docker inspect` of the {n} containers (one CLI call, median of 5) | {} |\n\
         | Sync phases, medians of 5: collection (every inspect and history call) / checks / store transaction | {} / {} / {} |\n\
         | Full sync into SQLite, first (inserts everything) | {} |\n\
         | Full sync into SQLite, median of the next 4 (updates) | {} |\n\
         | Peak memory growth during a sync (VmHWM over the baseline, worst of 5) | {} MiB |\n\
         | Synced | {} containers, {} images, {findings} finding rows |\n\
         | Engine event → row in the store (`docker create` returned → row visible), median / worst of 20 | {} / {} |\n\n\
         Target (issue 3): a full sync no slower than that `docker inspect`, and an event in the store within one second.\n\
         <!-- docker-sync:end -->",
        ms(inspect_median),
        ms(collect_median),
        ms(eval_median),
        ms(store_median),
        ms(first_sync),
        ms(sync_median),
        peak_max / 1024,
        report.containers,
        report.images,
        ms(event_median),
        ms(event_max),
    );
    println!("{section}");
    write_section(&section, "docker-sync");
}
