//! The Docker collector against real engines, on SQLite and Postgres: containers with
//! known risky and hardened settings and their exact findings, lifecycle, events,
//! drift, and an engine that goes away and comes back.

use coastguard_core::docker::collector::{drift_pass, run_worker, sync_engine};
use coastguard_core::docker::engine::EngineConfig;
use coastguard_core::testing::docker::{unique, Engine};
use coastguard_core::testing::TestDb;
use coastguard_core::with_db;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// `check_id` or `check_id[instance]` of a subject's findings in a given state.
async fn findings(db: &TestDb, kind: &str, subject_id: i64, state: &str) -> BTreeSet<String> {
    let rows: Vec<(String, String)> = with_db!(db.store.db(), |pool| {
        sqlx::query_as(
        "SELECT check_id, instance FROM config_findings WHERE subject_kind = $1 AND subject_id = $2 AND state = $3"
    )
    .bind(kind)
    .bind(subject_id)
    .bind(state)
    .fetch_all(pool)
    .await
    .unwrap()
    });
    rows.into_iter()
        .map(|(c, i)| if i.is_empty() { c } else { format!("{c}[{i}]") })
        .collect()
}

async fn container_row(db: &TestDb, name: &str) -> Option<(i64, String, Option<i64>)> {
    with_db!(db.store.db(), |pool| sqlx::query_as(
        "SELECT id, state, gone_at FROM containers WHERE name = $1 ORDER BY id DESC LIMIT 1"
    )
    .bind(name)
    .fetch_optional(pool)
    .await
    .unwrap())
}

async fn image_row(db: &TestDb, digest: &str) -> i64 {
    with_db!(db.store.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM images WHERE digest = $1"
    )
    .bind(digest)
    .fetch_one(pool)
    .await
    .unwrap())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn add_engine(db: &TestDb, engine: &Engine) -> coastguard_core::docker::store::EngineRow {
    db.store
        .add_docker_engine(
            &unique("engine"),
            &EngineConfig::new(&engine.endpoint),
            coastguard_core::now(),
        )
        .await
        .unwrap()
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn risky_and_hardened_containers_get_exactly_their_findings() {
    let docker = Engine::local();
    let risky_tag = format!("{}:1", unique("risky"));
    let risky_image = docker.build(
        &risky_tag,
        &[
            "ENV API_TOKEN=Zx81kq2LmN0pQ7rT5vW3yB9c GREETING=hello",
            "CMD [\"sleep\", \"3600\"]",
        ],
    );
    let hardened_image = docker.build(
        &format!("{}:1", unique("hardened")),
        &[
            "USER 1000:1000",
            "HEALTHCHECK --interval=30s CMD [\"true\"]",
            "CMD [\"sleep\", \"3600\"]",
        ],
    );
    let network = unique("net");
    docker.docker(&["network", "create", &network]);
    let risky = unique("risky");
    docker.run(
        &risky,
        &[
            "-p",
            "18080:80",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock:ro",
            "-v",
            "/etc:/host-etc:ro",
            "--cap-add",
            "SYS_ADMIN",
            "--cap-add",
            "CHOWN",
            "--pid",
            "host",
            "-e",
            "DB_PASSWORD=hunter2hunter2",
            "--security-opt",
            "seccomp=unconfined",
            "--restart",
            "always",
            &risky_tag,
        ],
    );
    let hardened = unique("hardened");
    docker.run(
        &hardened,
        &[
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "64",
            "--network",
            &network,
            "-p",
            "127.0.0.1:18081:80",
            "--restart",
            "on-failure:3",
            &hardened_image,
        ],
    );

    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let state = db.state();
        let engine = add_engine(&db, &docker).await;
        let (_, _, report) = sync_engine(&state, &engine).await.expect("sync");
        // The engine is shared with other tests: of what the sync saw, this test knows
        // exactly its own two containers, each stored once.
        assert!(report.containers >= 2 && report.images >= 2, "{report:?}");
        let mine: i64 = coastguard_core::with_db!(db.store.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM containers WHERE host_id = $1 AND name IN ($2, $3)"
        )
        .bind(engine.id)
        .bind(&risky)
        .bind(&hardened)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(mine, 2);

        let (risky_id, risky_state, gone) = container_row(&db, &risky).await.expect("risky stored");
        assert_eq!((risky_state.as_str(), gone), ("running", None));
        assert_eq!(
            findings(&db, "container", risky_id, "open").await,
            set(&[
                "container.capability_added[SYS_ADMIN]",
                "container.capability_added[CHOWN]",
                "container.capabilities_not_dropped",
                "container.runs_as_root",
                "container.rootfs_writable",
                "container.no_memory_limit",
                "container.no_cpu_limit",
                "container.no_pids_limit",
                "container.host_pid",
                "container.docker_socket[/var/run/docker.sock]",
                "container.sensitive_mount[/etc]",
                "container.seccomp_unconfined",
                "container.new_privileges_allowed",
                "container.port_on_all_interfaces[18080 → 80/tcp]",
                "container.default_bridge",
                "container.no_healthcheck",
                "container.restart_unbounded",
                "container.mutable_image_tag",
                "container.secret_in_env[env:DB_PASSWORD]",
            ])
        );
        let (hardened_id, _, _) = container_row(&db, &hardened)
            .await
            .expect("hardened stored");
        assert_eq!(
            findings(&db, "container", hardened_id, "open").await,
            BTreeSet::new()
        );

        let risky_image_id = image_row(&db, &risky_image).await;
        let image_findings = findings(&db, "image", risky_image_id, "open").await;
        assert!(
            image_findings.contains("image.runs_as_root"),
            "{image_findings:?}"
        );
        assert!(image_findings.contains("image.no_healthcheck"));
        assert!(image_findings.contains("image.secret_in_env[env:API_TOKEN]"));
        assert!(image_findings.iter().any(
            |f| f.starts_with("image.secret_in_history[history[") && f.ends_with(":API_TOKEN]")
        ));
        assert_eq!(image_findings.len(), 4, "{image_findings:?}");
        assert_eq!(
            findings(&db, "image", image_row(&db, &hardened_image).await, "open").await,
            BTreeSet::new()
        );

        // Severities and CIS sections are stored with the findings.
        let (severity, cis): (String, Option<String>) = with_db!(db.store.db(), |pool| {
            sqlx::query_as(
            "SELECT severity, cis_section FROM config_findings WHERE subject_id = $1 AND check_id = 'container.docker_socket'"
        )
        .bind(risky_id)
        .fetch_one(pool)
        .await
        .unwrap()
        });
        assert_eq!(
            (severity.as_str(), cis.as_deref()),
            ("critical", Some("5.32"))
        );

        // No secret value reaches the database.
        let leaked: i64 = with_db!(db.store.db(), |pool| {
            sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM containers WHERE config LIKE '%hunter2%') \
                  + (SELECT COUNT(*) FROM images WHERE config LIKE '%Zx81kq2%') \
                  + (SELECT COUNT(*) FROM config_findings WHERE evidence LIKE '%hunter2%' OR evidence LIKE '%Zx81kq2%')"
        )
        .fetch_one(pool)
        .await
        .unwrap()
        });
        assert_eq!(leaked, 0);
    }
    docker.docker(&["rm", "-f", &risky, &hardened]);
    docker.docker(&["network", "rm", &network]);
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn findings_resolve_and_reopen_and_removed_containers_are_gone_not_deleted() {
    let docker = Engine::local();
    let tag = format!("{}:1", unique("lifecycle"));
    docker.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    let name = unique("lifecycle");
    docker.run(&name, &["--restart", "always", &tag]);

    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        docker.docker(&["update", "--restart", "always", &name]);
        let state = db.state();
        let engine = add_engine(&db, &docker).await;
        sync_engine(&state, &engine).await.unwrap();
        let (id, _, _) = container_row(&db, &name).await.unwrap();
        assert!(findings(&db, "container", id, "open")
            .await
            .contains("container.restart_unbounded"));

        docker.docker(&["update", "--restart", "no", &name]);
        sync_engine(&state, &engine).await.unwrap();
        assert!(findings(&db, "container", id, "resolved")
            .await
            .contains("container.restart_unbounded"));

        docker.docker(&["update", "--restart", "unless-stopped", &name]);
        sync_engine(&state, &engine).await.unwrap();
        let reopened: (String, Option<i64>, Option<i64>) =
            with_db!(db.store.db(), |pool| sqlx::query_as(
                "SELECT state, reopened_at, resolved_at FROM config_findings \
             WHERE subject_id = $1 AND check_id = 'container.restart_unbounded'"
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(reopened.0, "open");
        assert!(reopened.1.is_some(), "reopened_at set");
        assert_eq!(reopened.2, None, "resolved_at cleared");
        docker.docker(&["update", "--restart", "no", &name]);
    }
    docker.docker(&["rm", "-f", &name]);
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn removed_containers_are_marked_gone_with_findings_resolved() {
    let docker = Engine::local();
    let tag = format!("{}:1", unique("gone"));
    docker.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    for db in coastguard_core::testing::backends().await {
        let name = unique("gone");
        docker.run(&name, &[&tag]);
        let state = db.state();
        let engine = add_engine(&db, &docker).await;
        sync_engine(&state, &engine).await.unwrap();
        let (id, _, _) = container_row(&db, &name).await.unwrap();
        let open = findings(&db, "container", id, "open").await;
        assert!(!open.is_empty());
        docker.docker(&["rm", "-f", &name]);
        sync_engine(&state, &engine).await.unwrap();
        let (_, _, gone_at) = container_row(&db, &name).await.expect("still stored");
        assert!(gone_at.is_some(), "marked gone");
        assert_eq!(
            findings(&db, "container", id, "open").await,
            BTreeSet::new()
        );
        assert_eq!(findings(&db, "container", id, "resolved").await, open);
    }
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn events_reach_the_store_without_a_full_sync() {
    let docker = Engine::local();
    let tag = format!("{}:1", unique("events"));
    docker.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let (_state, stop, worker) = following(&db, &docker).await;

        let name = unique("events");
        let started = Instant::now();
        docker.run(&name, &["--cap-add", "NET_ADMIN", &tag]);
        wait_until("the new container in the store", || async {
            container_row(&db, &name).await.is_some()
        })
        .await;
        eprintln!("container create → store: {:?}", started.elapsed());
        let (id, _, _) = container_row(&db, &name).await.unwrap();
        wait_until("its findings", || async {
            findings(&db, "container", id, "open")
                .await
                .contains("container.capability_added[NET_ADMIN]")
        })
        .await;

        docker.docker(&["rm", "-f", &name]);
        wait_until("the container marked gone", || async {
            container_row(&db, &name)
                .await
                .is_some_and(|(_, _, gone)| gone.is_some())
        })
        .await;
        let _ = stop.send(true);
        worker.await.unwrap();
    }
}

/// A worker following `docker` for `db`, its first sync done. Syncs and drift passes are an
/// hour apart, so only events can explain what a test sees next.
async fn following(
    db: &TestDb,
    docker: &Engine,
) -> (
    coastguard_core::AppState,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let settings = coastguard_core::Settings {
        docker_sync_seconds: 3600,
        docker_drift_seconds: 3600,
        ..Default::default()
    };
    let state = db.state_with(settings);
    let engine = add_engine(db, docker).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(state.clone(), engine.id, stopped));
    wait_until("the first sync", || async {
        state
            .store
            .docker_engine(engine.id)
            .await
            .unwrap()
            .last_sync_at
            .is_some()
    })
    .await;
    (state, stop, worker)
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn drift_in_binary_and_config_paths_is_a_finding() {
    let docker = Engine::local();
    let tag = format!("{}:1", unique("drift"));
    docker.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    let name = unique("drift");
    let container = docker.run(&name, &[&tag]);
    for db in coastguard_core::testing::backends().await {
        let state = db.state();
        let engine = add_engine(&db, &docker).await;
        let (client, _, _) = sync_engine(&state, &engine).await.unwrap();
        let (id, _, _) = container_row(&db, &name).await.unwrap();
        drift_pass(&state, engine.id, &client, std::slice::from_ref(&container))
            .await
            .unwrap();
        assert!(!findings(&db, "container", id, "open")
            .await
            .contains("container.drift"));

        docker.docker(&[
            "exec",
            &name,
            "sh",
            "-c",
            "echo evil > /bin/evil; mkdir -p /scratch; echo x > /scratch/x",
        ]);
        drift_pass(&state, engine.id, &client, std::slice::from_ref(&container))
            .await
            .unwrap();
        assert!(findings(&db, "container", id, "open")
            .await
            .contains("container.drift"));
        let evidence: String = with_db!(db.store.db(), |pool| {
            sqlx::query_scalar(
            "SELECT evidence FROM config_findings WHERE subject_id = $1 AND check_id = 'container.drift'"
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
        });
        assert!(
            evidence.contains("A /bin/evil") && !evidence.contains("/scratch"),
            "{evidence}"
        );

        // An SSH daemon started later (a stand-in: a script named sshd) is found by the
        // same pass (CIS 5.7), and only by it.
        docker.docker(&[
            "exec",
            "-d",
            &name,
            "sh",
            "-c",
            "mkdir -p /tmp; printf '#!/bin/sh\\necho $$ > /tmp/sshd.pid\\nsleep 3600\\n' > /tmp/sshd; chmod +x /tmp/sshd; /tmp/sshd",
        ]);
        wait_until("the stand-in sshd to run", || async {
            docker.docker(&["top", &name]).contains("/tmp/sshd")
        })
        .await;
        drift_pass(&state, engine.id, &client, std::slice::from_ref(&container))
            .await
            .unwrap();
        let open = findings(&db, "container", id, "open").await;
        assert!(
            open.contains("container.sshd_running") && open.contains("container.drift"),
            "{open:?}"
        );

        // A full sync resolves neither (they have their own pass).
        sync_engine(&state, &engine).await.unwrap();
        let open = findings(&db, "container", id, "open").await;
        assert!(
            open.contains("container.drift") && open.contains("container.sshd_running"),
            "{open:?}"
        );
        // Once the daemon is gone, the next pass resolves its finding.
        docker.docker(&["exec", &name, "sh", "-c", "kill $(cat /tmp/sshd.pid)"]);
        wait_until("the stand-in sshd to end", || async {
            !docker.docker(&["top", &name]).contains("/tmp/sshd")
        })
        .await;
        drift_pass(&state, engine.id, &client, std::slice::from_ref(&container))
            .await
            .unwrap();
        assert!(!findings(&db, "container", id, "open")
            .await
            .contains("container.sshd_running"));
        docker.docker(&["exec", &name, "rm", "/bin/evil"]);
    }
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn an_engine_that_goes_away_is_unreachable_and_keeps_its_inventory() {
    let mut docker = Engine::private("away");
    let tag = format!("{}:1", unique("away"));
    docker.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    let name = unique("away");
    docker.run(&name, &["--network", "none", &tag]);
    let db = coastguard_core::testing::sqlite().await;
    let pg = coastguard_core::testing::postgres().await;
    let dbs: Vec<&TestDb> = std::iter::once(&db).chain(pg.as_ref()).collect();

    let mut engines = Vec::new();
    for db in &dbs {
        let engine = add_engine(db, &docker).await;
        sync_engine(&db.state(), &engine).await.unwrap();
        let row = db.store.docker_engine(engine.id).await.unwrap();
        assert_eq!(row.status, "ok");
        // The private engine's settings are known, so its findings are exact.
        assert_eq!(
            findings(db, "host", engine.id, "open").await,
            set(&["host.userns_disabled", "host.live_restore_disabled"])
        );
        engines.push(engine);
    }

    docker.stop();
    for (db, engine) in dbs.iter().zip(&engines) {
        let err = sync_engine(&db.state(), engine).await.unwrap_err();
        eprintln!("expected failure: {err:#}");
        let row = db.store.docker_engine(engine.id).await.unwrap();
        assert_eq!(row.status, "unreachable");
        assert!(row.last_error.is_some());
        assert!(row.last_seen_at.is_some(), "last seen is kept");
        let (_, state, gone) = container_row(db, &name).await.expect("inventory kept");
        assert_eq!(
            (state.as_str(), gone),
            ("running", None),
            "nothing marked gone by a failed sync"
        );
    }

    docker.start();
    for (db, engine) in dbs.iter().zip(&engines) {
        sync_engine(&db.state(), engine).await.unwrap();
        let row = db.store.docker_engine(engine.id).await.unwrap();
        assert_eq!((row.status.as_str(), row.last_error), ("ok", None));
        // The engine stopped the container when it shut down.
        let (_, state, gone) = container_row(db, &name).await.unwrap();
        assert_eq!((state.as_str(), gone), ("exited", None));
    }
}

/// The open `coastguard` alert groups of one rule, as (container name or ref, output,
/// count, fields of the latest event).
async fn raised(
    state: &coastguard_core::AppState,
    rule: &str,
) -> Vec<coastguard_model::alerts::AlertGroup> {
    let q = coastguard_core::alerts::store::AlertQuery {
        source: Some("coastguard".into()),
        rule: Some(rule.into()),
        limit: 500,
        ..Default::default()
    };
    state.store.alert_groups(&q).await.unwrap().0
}

async fn raised_on(state: &coastguard_core::AppState, rule: &str, container: &str) -> Option<i64> {
    raised(state, rule)
        .await
        .into_iter()
        .find(|g| g.container.as_deref() == Some(container))
        .map(|g| g.id)
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn built_in_detectors_raise_runtime_alerts_from_the_engines_events() {
    use coastguard_core::auth::Authed;
    let docker = Engine::local();
    let tag = format!("{}:1", unique("detect"));
    docker.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    let moving = format!("{}:prod", unique("moving"));
    docker.build(&moving, &["CMD [\"sleep\", \"3600\"]"]);
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let (state, stop, worker) = following(&db, &docker).await;

        // The Docker socket and the host's PID namespace, at start.
        let risky = unique("risky");
        docker.run(
            &risky,
            &[
                "-v",
                "/var/run/docker.sock:/var/run/docker.sock",
                "--pid",
                "host",
                &tag,
            ],
        );
        wait_until("the socket alert", || async {
            raised_on(&state, "docker.socket_mount_start", &risky)
                .await
                .is_some()
        })
        .await;
        let ns = raised(&state, "docker.host_namespace_start").await;
        let ns = ns
            .iter()
            .find(|g| g.container.as_deref() == Some(risky.as_str()))
            .expect("the namespace alert");
        assert!(ns.output.contains("host's pid namespace"), "{}", ns.output);
        assert_eq!(ns.severity, coastguard_model::Severity::High);
        assert!(
            ns.host_id.is_some() && ns.image_id.is_some(),
            "matched: {ns:?}"
        );

        // An exec, and the files it left in a binary path.
        docker.docker(&["exec", &risky, "sh", "-c", "echo evil > /bin/evil"]);
        wait_until("the exec alert", || async {
            raised_on(&state, "docker.exec", &risky).await.is_some()
        })
        .await;
        let exec = raised_on(&state, "docker.exec", &risky).await.unwrap();
        let detail = state.store.alert_detail(exec).await.unwrap().unwrap();
        assert_eq!(
            detail.events[0].fields["proc.cmdline"],
            "sh -c echo evil > /bin/evil"
        );
        wait_until("the drift alert", || async {
            raised_on(&state, "docker.drift", &risky).await.is_some()
        })
        .await;
        let drift = state
            .store
            .alert_detail(raised_on(&state, "docker.drift", &risky).await.unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            drift.group.output.contains("/bin/evil"),
            "{}",
            drift.group.output
        );

        // A container that exits at once, restarted by its policy: a loop.
        let looping = unique("loop");
        docker.run(
            &looping,
            &["--restart", "always", &tag, "sh", "-c", "exit 3"],
        );
        wait_until("the restart loop alert", || async {
            raised_on(&state, "docker.restart_loop", &looping)
                .await
                .is_some()
        })
        .await;
        docker.docker(&["update", "--restart", "no", &looping]);

        // A tag that moved between two starts.
        let first = unique("tagged");
        docker.run(&first, &[&moving]);
        wait_until("the first start from the tag", || async {
            container_row(&db, &first).await.is_some()
        })
        .await;
        // Another image under the same tag (a label of its own: never a cached build).
        let label = format!("LABEL moved={}", unique("moved"));
        docker.build(&moving, &[&label, "CMD [\"sleep\", \"3601\"]"]);
        let second = unique("tagged");
        docker.run(&second, &[&moving]);
        wait_until("the moved tag alert", || async {
            raised_on(&state, "docker.tag_moved", &second)
                .await
                .is_some()
        })
        .await;
        assert!(raised_on(&state, "docker.tag_moved", &first)
            .await
            .is_none());

        // Switched off: an exec raises nothing. The socket alert of a container started
        // after it proves its event was handled.
        let mut policy = state.store.policy().await;
        policy.disabled_detectors = vec![coastguard_model::alerts::DetectorId::DockerExec];
        coastguard_core::docker::manage::set_policy(&state, &Authed::cli(), policy)
            .await
            .unwrap();
        let quiet = unique("quiet");
        docker.run(&quiet, &[&tag]);
        wait_until("the quiet container", || async {
            container_row(&db, &quiet).await.is_some()
        })
        .await;
        docker.docker(&["exec", &quiet, "true"]);
        let barrier = unique("barrier");
        docker.run(
            &barrier,
            &["-v", "/var/run/docker.sock:/var/run/docker.sock", &tag],
        );
        wait_until("the barrier's alert", || async {
            raised_on(&state, "docker.socket_mount_start", &barrier)
                .await
                .is_some()
        })
        .await;
        assert!(
            raised_on(&state, "docker.exec", &quiet).await.is_none(),
            "docker.exec is off"
        );

        let _ = stop.send(true);
        worker.await.unwrap();
        // The next backend's first sync must not see this one's containers.
        docker.docker(&[
            "rm", "-f", &risky, &looping, &first, &second, &quiet, &barrier,
        ]);
    }
}
