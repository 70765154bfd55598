//! Exceptions on SQLite and on Postgres at estate scale: `EXC_BENCH_GROUPS` (default
//! 100,000) open alert groups over 1,000 rules, stored as the detectors store them
//! (`alerts::raise`), and as many open configuration findings over 200 checks. Measured
//! through the production code: making a runtime exception for one rule everywhere (its
//! commit ties the rule's groups and takes them out of the queue), making a
//! configuration exception for one check, an ingest batch of 500 events before any
//! exception exists and while 40 are in force (each batch's commit applies them to its
//! groups),
//! housekeeping's whole pass (`Store::apply_exceptions`), and a page of 100 exceptions
//! with what each covers. Each exception's coverage is asserted. Writes
//! docs/benchmarks.md; asserts no timing.

mod common;

use coastguard_core::alerts;
use coastguard_core::auth::Authed;
use coastguard_core::exceptions::{self, store::ListQuery};
use coastguard_core::with_db;
use coastguard_model::alerts::NewAlert;
use coastguard_model::exceptions::{ExceptionKind, NewException, Verdict};
use common::{dispose, env_usize, fresh, median, ms, write_section};
use std::time::{Duration, Instant};

const RULES: usize = 1_000;
const CHECKS: usize = 200;

fn alert(rule: usize, container: usize) -> NewAlert {
    serde_json::from_value(serde_json::json!({
        "source": "bench",
        "rule": format!("Rule {rule}"),
        "severity": "medium",
        "output": "Outbound connection to an unexpected port",
        "container_id": format!("{:012x}", 0xec_0000_0000_u64 + container as u64),
        "hostname": format!("node-{}", container % 50),
    }))
    .expect("an alert")
}

fn exception(kind: ExceptionKind, target: String) -> NewException {
    NewException {
        kind,
        target,
        verdict: Verdict::Accepted,
        image_id: None,
        package: None,
        finding_id: None,
        host: None,
        cluster: None,
        namespace: None,
        workload: None,
        reason: "benchmark: expected behaviour".into(),
        owner: None,
        expires_in_days: Some(30),
    }
}

struct Run {
    backend: &'static str,
    groups: usize,
    runtime: Duration,
    config: Duration,
    plain: Duration,
    ingest: Duration,
    pass: Duration,
    list: Duration,
}

async fn run(backend: &'static str, groups: usize) -> Run {
    let db = fresh(backend).await;
    let state = db.state();
    let analyst = Authed::cli().as_analyst();
    let all: Vec<NewAlert> = (0..groups).map(|i| alert(i % RULES, i)).collect();
    for chunk in all.chunks(500) {
        alerts::raise(&state, chunk.to_vec()).await.unwrap();
    }
    // Open configuration findings, one per container subject, over CHECKS checks.
    let seed = match backend {
        "SQLite" => format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {groups}) \
             INSERT INTO config_findings (check_id, subject_kind, subject_id, instance, severity, state, first_seen_at, last_seen_at) \
             SELECT 'bench.check' || (i % {CHECKS}), 'container', i, '', 'medium', 'open', 1, 1 FROM n"
        ),
        _ => format!(
            "INSERT INTO config_findings (check_id, subject_kind, subject_id, instance, severity, state, first_seen_at, last_seen_at) \
             SELECT 'bench.check' || (i % {CHECKS}), 'container', i, '', 'medium', 'open', 1, 1 \
             FROM generate_series(0, {groups} - 1) AS i"
        ),
    };
    with_db!(state.store.db(), |pool| sqlx::query(&seed)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
    let per_rule = (groups / RULES) as i64;
    let per_check = (groups / CHECKS) as i64;
    // The same ingest batches before any exception exists, to compare.
    let batch = |n: usize| -> Vec<NewAlert> {
        (0..500)
            .map(|i| alert(i * 2 % RULES, groups + n * 500 + i))
            .collect()
    };
    let mut plain = Vec::new();
    for n in 0..10 {
        let started = Instant::now();
        alerts::raise(&state, batch(n)).await.unwrap();
        plain.push(started.elapsed());
    }

    // A runtime exception for one rule, everywhere: 20 rules, one commit each.
    let mut runtime = Vec::new();
    for rule in 0..20 {
        let started = Instant::now();
        let (id, _) = exceptions::create(
            &state,
            &analyst,
            exception(ExceptionKind::Runtime, format!("Rule {rule}")),
        )
        .await
        .unwrap();
        runtime.push(started.elapsed());
        let (view, _) = state
            .store
            .exception(id, coastguard_core::now())
            .await
            .unwrap();
        let made_before = if rule % 2 == 0 { 10 } else { 0 };
        assert_eq!(view.covers, per_rule + made_before, "rule {rule}");
    }
    // A configuration exception for one check, everywhere: 20 checks.
    let mut config = Vec::new();
    for check in 0..20 {
        let started = Instant::now();
        let (id, _) = exceptions::create(
            &state,
            &analyst,
            exception(ExceptionKind::Configuration, format!("bench.check{check}")),
        )
        .await
        .unwrap();
        config.push(started.elapsed());
        let (view, _) = state
            .store
            .exception(id, coastguard_core::now())
            .await
            .unwrap();
        assert_eq!(view.covers, per_check, "check {check}");
    }
    // Ingest with the 40 in force: batches of 500 new groups over every rule.
    let mut ingest = Vec::new();
    for n in 10..20 {
        let started = Instant::now();
        alerts::raise(&state, batch(n)).await.unwrap();
        ingest.push(started.elapsed());
    }
    // Each batch made one new group for each even rule: those of rules 0–18 (ten a
    // batch) were tied to their rule's exception in the batch's commit (the first ten
    // batches' groups, made before, by the exceptions themselves).
    let covered: i64 = with_db!(state.store.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM runtime_alerts WHERE exception_id IS NOT NULL"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(covered, 20 * per_rule + 20 * 10);

    let mut pass = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let changed = state
            .store
            .apply_exceptions(coastguard_core::now())
            .await
            .unwrap();
        pass.push(started.elapsed());
        assert_eq!(changed.alerts_covered + changed.accepted, 0, "{changed:?}");
    }
    let mut list = Vec::new();
    for _ in 0..20 {
        let q = ListQuery {
            status: "active".into(),
            limit: 100,
            ..ListQuery::default()
        };
        let started = Instant::now();
        let (items, _) = state
            .store
            .exceptions(&q, coastguard_core::now())
            .await
            .unwrap();
        list.push(started.elapsed());
        assert_eq!(items.len(), 40);
    }
    state.store.db().close().await;
    dispose(db).await;
    Run {
        backend,
        groups,
        runtime: median(runtime),
        config: median(config),
        plain: median(plain),
        ingest: median(ingest),
        pass: median(pass),
        list: median(list),
    }
}

#[tokio::main]
async fn main() {
    let groups = env_usize("EXC_BENCH_GROUPS", 100_000).max(RULES * 10);
    let mut rows = Vec::new();
    for backend in ["SQLite", "Postgres"] {
        let r = run(backend, groups).await;
        rows.push(format!(
            "| {} | {} | {} | {} | {} / {} | {} | {} |",
            r.backend,
            r.groups,
            ms(r.runtime),
            ms(r.config),
            ms(r.plain),
            ms(r.ingest),
            ms(r.pass),
            ms(r.list),
        ));
    }
    let section = format!(
        "<!-- exceptions:start -->\n## Exceptions\n\n\
`cargo bench -p coastguard-core --bench exceptions` on this 2-core machine: {groups} open \
alert groups over {RULES} rules (stored by `alerts::raise`) and {groups} open configuration \
findings over {CHECKS} checks. Medians through the production code: making a runtime \
exception for one rule everywhere (`exceptions::create`: its commit ties the rule's \
groups, asserted), making a configuration exception for one check everywhere (its \
findings accepted in the commit, asserted), an ingest batch of 500 new groups before any exception exists and while those 40 are \
in force (each batch's commit ties its covered groups, counted), \
housekeeping's whole pass (`Store::apply_exceptions`, nothing left to change), and a \
page of the 40 active exceptions with what each covers.\n\n\
| Database | Groups and findings | Runtime exception made | Configuration exception made | Ingest batch of 500: none / 40 in force | Housekeeping pass | List page |\n|---|---|---|---|---|---|---|\n\
{}\n\
<!-- exceptions:end -->",
        rows.join("\n")
    );
    println!("{section}");
    write_section(&section, "exceptions");
}
