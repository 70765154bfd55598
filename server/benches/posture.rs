//! Risk, snapshots and the posture pages at scale, on SQLite and Postgres.
//!
//! Generates an estate of 50 hosts, 2,000 images, 10,000 running containers (with
//! configuration findings) and 1,000,000 vulnerability findings (`CG_BENCH_FINDINGS`)
//! spread over 90 days, then measures:
//! - a full risk recomputation (every image, container and host);
//! - a daily snapshot: today's (from the current state) and a past day's (from the
//!   lifecycle timestamps, as a backfill does), and the 90-day backfill itself;
//! - page render times against the running server (the real router on loopback, bearer
//!   token, sequential keep-alive requests: 10 warm-up, then 200 timed) for the
//!   overview (as usual, and with a change pending the risk job has not caught up with), the trends
//!   page, the risk page and the riskiest-images API.
//!
//! Needs `COASTGUARD_TEST_POSTGRES_URL`. Writes docs/benchmarks.md; asserts no timing.

#[path = "../core/benches/common/mod.rs"]
mod common;

use coastguard_core::auth::Authed;
use coastguard_core::db::Db;
use coastguard_core::posture::snapshots::{day_start, Scope, DAY};
use coastguard_core::testing::TestDb;
use coastguard_core::with_db;
use coastguard_model::trends::SlaPolicy;
use coastguard_model::Role;
use common::{dispose, env_usize, fresh, median, ms, write_section};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const HOSTS: usize = 50;
const IMAGES: usize = 2_000;
const CONTAINERS: usize = 10_000;
const VULNS: usize = 20_000;
const REQUESTS: usize = 200;
/// Containers carry `team=team-N`; an image's containers share one team.
const TEAMS: usize = 10;

fn values(cols: usize, rows: usize, first: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..cols)
                .map(|c| format!("${}", first + r * cols + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The estate, with plain multi-row inserts.
async fn generate(db: &Db, findings: usize, now: i64) -> Duration {
    let t = Instant::now();
    let per_image = findings.div_ceil(IMAGES);
    with_db!(db, |pool| {
        let mut tx = pool.begin().await.unwrap();
        for h in 0..HOSTS {
            sqlx::query(
                "INSERT INTO hosts (kind, name, endpoint, status, last_seen_at, created_at, updated_at) \
                 VALUES ('docker', $1, $2, 'ok', $3, $3, $3)",
            )
            .bind(format!("engine-{h:02}"))
            .bind(format!("tcp://10.0.0.{h}:2376"))
            .bind(now)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for chunk in (0..IMAGES).collect::<Vec<_>>().chunks(200) {
            let sql = format!(
                "INSERT INTO images (digest, first_seen_at, last_seen_at) VALUES {}",
                values(3, chunk.len(), 1)
            );
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q.bind(format!("sha256:{i:064}")).bind(now).bind(now);
            }
            q.execute(&mut *tx).await.unwrap();
        }
        for chunk in (0..VULNS).collect::<Vec<_>>().chunks(300) {
            let sql = format!(
                "INSERT INTO vulnerabilities (vuln_id, severity, updated_at, known_exploited, epss) VALUES {}",
                values(5, chunk.len(), 1)
            );
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q
                    .bind(format!("CVE-2099-{i:06}"))
                    .bind("medium")
                    .bind(now)
                    .bind(i % 97 == 0)
                    .bind((i % 13 == 0).then_some((i % 100) as f64 / 100.0));
            }
            q.execute(&mut *tx).await.unwrap();
        }
        for chunk in (0..CONTAINERS).collect::<Vec<_>>().chunks(150) {
            let sql = format!(
                "INSERT INTO containers (host_id, external_id, name, image_ref, image_id, state, \
                 first_seen_at, last_seen_at, team) VALUES {}",
                values(9, chunk.len(), 1)
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q
                    .bind((c % HOSTS + 1) as i64)
                    .bind(format!("{c:064}"))
                    .bind(format!("svc-{c:05}"))
                    .bind(format!("registry.local/app-{}:1", c % IMAGES))
                    .bind((c % IMAGES + 1) as i64)
                    .bind("running")
                    .bind(now)
                    .bind(now)
                    .bind(format!("team-{}", c % TEAMS));
            }
            q.execute(&mut *tx).await.unwrap();
        }
        // Configuration findings: every container runs as root without limits, a third
        // publish a port on every interface, one in twenty is privileged; every fifth
        // image is stale; every host lacks user namespaces.
        let mut config: Vec<(&str, &str, i64, &str)> = Vec::new();
        for c in 0..CONTAINERS {
            let id = (c + 1) as i64;
            config.push(("container.runs_as_root", "container", id, "medium"));
            config.push(("container.no_memory_limit", "container", id, "medium"));
            if c % 3 == 0 {
                config.push((
                    "container.port_on_all_interfaces",
                    "container",
                    id,
                    "medium",
                ));
            }
            if c % 20 == 0 {
                config.push(("container.privileged", "container", id, "critical"));
            }
        }
        for i in (0..IMAGES).step_by(5) {
            config.push(("image.stale", "image", (i + 1) as i64, "medium"));
        }
        for h in 0..HOSTS {
            config.push(("host.userns_disabled", "host", (h + 1) as i64, "medium"));
        }
        for chunk in config.chunks(100) {
            let sql = format!(
                "INSERT INTO config_findings (check_id, subject_kind, subject_id, severity, first_seen_at, last_seen_at) VALUES {}",
                values(6, chunk.len(), 1)
            );
            let mut q = sqlx::query(&sql);
            for (check, kind, id, severity) in chunk {
                q = q
                    .bind(*check)
                    .bind(*kind)
                    .bind(*id)
                    .bind(*severity)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();

        let severities = [
            (3, "critical", 4),
            (20, "high", 3),
            (60, "medium", 2),
            (95, "low", 1),
            (100, "unknown", 0),
        ];
        let rows: Vec<(usize, usize)> = (0..IMAGES)
            .flat_map(|i| (0..per_image).map(move |j| (i, j)))
            .take(findings)
            .collect();
        for batch in rows.chunks(50_000) {
            let mut tx = pool.begin().await.unwrap();
            for chunk in batch.chunks(400) {
                let sql = format!(
                    "INSERT INTO findings (image_id, vulnerability_id, pkg_name, pkg_type, installed_version, \
                     fixed_version, severity, severity_rank, state, first_seen_at, last_seen_at, fixed_at) VALUES {}",
                    values(12, chunk.len(), 1)
                );
                let mut q = sqlx::query(&sql);
                for (i, j) in chunk {
                    let v = (i * 37 + j) % VULNS;
                    let h = (i * 7919 + j * 104_729) % 100;
                    let (_, severity, rank) = *severities.iter().find(|(p, _, _)| h < *p).unwrap();
                    // Seen over the last 90 days; 15% fixed some days later, 5% suppressed.
                    let seen = now - ((i * 131 + j * 17) % (90 * 24)) as i64 * 3600;
                    let (state, fixed_at) = match (i * 31 + j * 17) % 20 {
                        0..=2 => ("fixed", Some((seen + ((j % 30) as i64 + 1) * DAY).min(now))),
                        3 => ("suppressed", None),
                        _ => ("open", None),
                    };
                    q = q
                        .bind((i + 1) as i64)
                        .bind((v + 1) as i64)
                        .bind(format!("pkg{}", v % 500))
                        .bind("deb")
                        .bind("1.0")
                        .bind(((i + j) % 5 < 3).then_some("1.1"))
                        .bind(severity)
                        .bind(rank as i64)
                        .bind(state)
                        .bind(seen)
                        .bind(now)
                        .bind(fixed_at);
                }
                q.execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        if matches!(db, Db::Postgres(_)) {
            sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap();
        }
    });
    db_optimize(db).await;
    t.elapsed()
}

async fn db_optimize(db: &Db) {
    if let Db::Sqlite(pool) = db {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
}

struct Figures {
    backend: &'static str,
    load: Duration,
    recount: Duration,
    recompute: Vec<Duration>,
    scored: (usize, usize, usize),
    snapshot_today: Duration,
    snapshot_past: Duration,
    backfill: (Duration, usize),
    scoped_backfill: (Duration, usize, usize),
    scoped_one_by_one: Duration,
    scoped_today: Duration,
    pages: Vec<(&'static str, Duration, Duration, usize)>,
}

async fn run(backend: &'static str, findings: usize) -> Figures {
    let db: TestDb = fresh(backend).await;
    let now = coastguard_core::now();
    let load = generate(db.store.db(), findings, now).await;
    eprintln!("{backend}: estate loaded in {}", ms(load));
    // The plain inserts went around the store's writers, which keep the per-image
    // vulnerability counts: rebuild them once, as a migration does.
    let t = Instant::now();
    db.store.recount_all_vuln_counts().await.unwrap();
    let recount = t.elapsed();

    let mut recompute = Vec::new();
    let mut scored = (0, 0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        // As the `risk` job does: clear the stale mark, then recompute.
        db.store.take_risk_stale().await.unwrap();
        let run = db.store.recompute_risk(now).await.unwrap();
        recompute.push(t.elapsed());
        scored = (run.images, run.containers, run.hosts);
        assert_eq!(run.containers, CONTAINERS);
    }
    eprintln!("{backend}: recompute {:?}", recompute);

    let sla = SlaPolicy::default();
    let t = Instant::now();
    // Snapshots are taken at the time they are taken (the estate's `now` is minutes old).
    let now = coastguard_core::now();
    let backfilled = db
        .store
        .take_due_snapshots(&Scope::Global, &sla, 7, 90, now)
        .await
        .unwrap();
    let backfill = (t.elapsed(), backfilled);
    let t = Instant::now();
    db.store
        .take_snapshot(&Scope::Global, day_start(now), &sla, 7, now)
        .await
        .unwrap();
    let snapshot_today = t.elapsed();
    let t = Instant::now();
    db.store
        .take_snapshot(&Scope::Global, day_start(now) - 30 * DAY, &sla, 7, now)
        .await
        .unwrap();
    let snapshot_past = t.elapsed();
    eprintln!(
        "{backend}: backfill {} days in {}",
        backfilled,
        ms(backfill.0)
    );

    // Every host and team has its own snapshots: first their backfill, then what each
    // later pass (the risk job after a change, the snapshots job) takes: today's.
    let scopes: Vec<Scope> = db
        .store
        .trend_scopes()
        .await
        .unwrap()
        .iter()
        .skip(1)
        .map(|s| Scope::parse(&s.param()).unwrap())
        .collect();
    let t = Instant::now();
    let mut scoped_days = 0;
    for scope in &scopes {
        scoped_days += db
            .store
            .take_due_snapshots(scope, &sla, 7, 90, now)
            .await
            .unwrap();
    }
    let scoped_backfill = (t.elapsed(), scopes.len(), scoped_days);
    eprintln!(
        "{backend}: backfill of {} scopes ({scoped_days} days) in {}",
        scopes.len(),
        ms(scoped_backfill.0)
    );
    let t = Instant::now();
    for scope in &scopes {
        db.store
            .take_due_snapshots(scope, &sla, 7, 90, now)
            .await
            .unwrap();
    }
    let scoped_one_by_one = t.elapsed();
    // What the snapshots job does: every scope's today in one pass (the estate's too).
    let mut every = vec![Scope::Global];
    every.extend(scopes.iter().cloned());
    let t = Instant::now();
    let taken = db.store.take_todays(&every, &sla, 7, now).await.unwrap();
    let scoped_today = t.elapsed();
    assert_eq!(taken.len(), every.len());
    eprintln!(
        "{backend}: today's snapshot of every scope: one by one {}, in one pass {}",
        ms(scoped_one_by_one),
        ms(scoped_today)
    );

    // The real router on loopback.
    let state = db.state();
    let token =
        coastguard_core::access::create_token(&state, &Authed::cli(), "bench", Role::Viewer, None)
            .await
            .unwrap()
            .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = coastguard::http::router(state.clone());
    let listener = coastguard::http::no_delay(listener);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let http = reqwest::Client::new();
    let mut pages = Vec::new();
    for (name, path) in [
        (
            "overview page `/`, nothing changed since the last recompute",
            "/",
        ),
        (
            "overview page `/`, a change pending (risk job not run yet)",
            "/#pending",
        ),
        ("trends page `/trends` (90 days, 5 charts)", "/trends"),
        (
            "trends page of one host `/trends?scope=host:1`",
            "/trends?scope=host:1",
        ),
        ("risk page `/risk` (3 rankings of 50)", "/risk"),
        (
            "riskiest images API `/api/v1/risk?kind=image`",
            "/api/v1/risk?kind=image&limit=20",
        ),
    ] {
        let path = match path.strip_suffix("#pending") {
            Some(p) => {
                // What a sync or an ingest does until the job has caught up.
                db.store.mark_risk_stale().await.unwrap();
                p
            }
            None => path,
        };
        let mut times = Vec::with_capacity(REQUESTS);
        let mut bytes = 0;
        for i in 0..REQUESTS + 10 {
            let t = Instant::now();
            let res = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{path}: {}", res.status());
            let body = res.bytes().await.unwrap();
            if i >= 10 {
                times.push(t.elapsed());
                bytes = body.len();
            }
        }
        times.sort();
        let p99 = times[(times.len() * 99).div_ceil(100) - 1];
        let p50 = median(times);
        eprintln!(
            "{backend}: {name}: p50 {} p99 {} ({} KiB)",
            ms(p50),
            ms(p99),
            bytes / 1024
        );
        pages.push((name, p50, p99, bytes));
    }
    server.abort();
    dispose(db).await;
    Figures {
        backend,
        load,
        recount,
        recompute,
        scored,
        snapshot_today,
        snapshot_past,
        backfill,
        scoped_backfill,
        scoped_one_by_one,
        scoped_today,
        pages,
    }
}

fn ms2(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        ms(d)
    }
}

#[tokio::main]
async fn main() {
    let findings = env_usize("CG_BENCH_FINDINGS", 1_000_000);
    let mut all = Vec::new();
    for backend in ["SQLite", "Postgres"] {
        all.push(run(backend, findings).await);
    }
    let mut s = String::new();
    s.push_str("<!-- posture:start -->\n");
    s.push_str(&format!(
        "## Risk, snapshots and posture pages ({HOSTS} hosts, {IMAGES} images, {CONTAINERS} containers, {findings} findings)\n\n\
Measured {} with `cargo bench -p coastguard --bench posture` (optimised) on 2 cores; SQLite in a file, Postgres 15 on the same machine. \
The estate is generated with plain inserts: every container runs as root without a memory limit, a third publish a port on every interface, \
one in twenty is privileged; findings are 3% critical, 17% high, 40% medium, first seen over the last 90 days, 80% open, 15% fixed, 5% suppressed. \
Pages are requested from the real router on loopback with a bearer token, one at a time over keep-alive (10 warm-up requests, then {REQUESTS} timed, \
each including the whole body).\n\n",
        coastguard_model::format_timestamp(coastguard_core::now()).split(' ').next().unwrap_or_default()
    ));
    s.push_str("| Backend | Load (plain inserts) | Rebuild all per-image counts | Full risk recompute (3 runs) | Scored (images / containers / hosts) | Today's snapshot | A past day's snapshot | 90-day backfill |\n|---|---|---|---|---|---|---|---|\n");
    for f in &all {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} / {} / {} | {} | {} | {} days in {} |\n",
            f.backend,
            ms2(f.load),
            ms2(f.recount),
            f.recompute
                .iter()
                .map(|d| ms2(*d))
                .collect::<Vec<_>>()
                .join(", "),
            f.scored.0,
            f.scored.1,
            f.scored.2,
            ms(f.snapshot_today),
            ms(f.snapshot_past),
            f.backfill.1,
            ms2(f.backfill.0)
        ));
    }
    s.push_str(&format!("\nPer-scope snapshots ({HOSTS} hosts and {TEAMS} teams; each team's images carry 100,000 findings, each host's 20,000):\n\n| Backend | First run: every scope's 90-day backfill | Today's snapshot of every scope, one scope at a time | The same in one pass (what the job does; the estate's included) |\n|---|---|---|---|\n"));
    for f in &all {
        s.push_str(&format!(
            "| {} | {} scopes, {} days in {} | {} | {} |\n",
            f.backend,
            f.scoped_backfill.1,
            f.scoped_backfill.2,
            ms2(f.scoped_backfill.0),
            ms2(f.scoped_one_by_one),
            ms2(f.scoped_today)
        ));
    }
    s.push_str("\n| Backend | Page | Median | p99 | Body |\n|---|---|---|---|---|\n");
    for f in &all {
        for (name, p50, p99, bytes) in &f.pages {
            s.push_str(&format!(
                "| {} | {name} | {} | {} | {} KiB |\n",
                f.backend,
                ms(*p50),
                ms(*p99),
                bytes / 1024
            ));
        }
    }
    s.push_str("\nTargets (issue 5): every page's p99 under 150 ms, full recompute under 30 s.\n<!-- posture:end -->");
    write_section(&s, "posture");
}
