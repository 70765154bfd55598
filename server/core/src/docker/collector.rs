//! Keeping the store current with every configured Docker engine.
//!
//! A supervisor starts one worker per engine. A worker holds the engine's lease (so
//! one replica collects each engine), runs a full sync, then follows the engine's
//! event stream and re-inspects what changed, with a full sync and a drift pass on
//! their own intervals. An engine that can't be reached is marked unreachable with the
//! error; nothing it reported before is deleted. The worker reconnects with backoff.

use super::checks::{
    evaluate_container, evaluate_drift, evaluate_host, evaluate_image, evaluate_sshd, Detected,
    Policy,
};
use super::collect::{self, Snapshot};
use super::detect;
use super::engine::{self, EngineConfig};
use crate::docker::store::{EngineRow, SubjectFindings};
use crate::{now, AppState};
use bollard::models::EventMessageTypeEnum;
use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use coastguard_model::alerts::NewAlert;
use coastguard_model::docker::{ContainerFacts, HostFacts};
use coastguard_model::findings::SubjectKind;
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Settings key of the admin-editable image policy.
/// The engine the server watches when the local socket exists.
pub const LOCAL_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Every check on every subject of a snapshot.
pub fn evaluate<'a>(snapshot: &'a Snapshot, policy: &Policy, at: i64) -> Vec<SubjectFindings<'a>> {
    let mut all = vec![SubjectFindings {
        kind: SubjectKind::Host,
        key: "",
        found: evaluate_host(&snapshot.host),
    }];
    all.extend(snapshot.images.iter().map(|i| SubjectFindings {
        kind: SubjectKind::Image,
        key: &i.id,
        found: evaluate_image(i, policy, at),
    }));
    all.extend(snapshot.containers.iter().map(|c| SubjectFindings {
        kind: SubjectKind::Container,
        key: &c.id,
        found: evaluate_container(c, &snapshot.host),
    }));
    all
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub images: usize,
    pub containers: usize,
    pub findings: usize,
}

/// One full sync of one engine. On failure the engine is marked unreachable (its
/// inventory stays) and the error is returned.
pub async fn sync_engine(
    state: &AppState,
    engine: &EngineRow,
) -> anyhow::Result<(Docker, Snapshot, SyncReport)> {
    let config = engine.engine_config();
    let result = async {
        let docker = engine::connect(&config).await?;
        let snapshot = collect::snapshot(&docker, &config).await?;
        Ok::<_, bollard::errors::Error>((docker, snapshot))
    }
    .await;
    let (docker, snapshot) = match result {
        Ok(ok) => ok,
        Err(e) => {
            let message = engine::engine_error(&e.to_string());
            state
                .store
                .mark_engine_unreachable(engine.id, &message, now())
                .await?;
            anyhow::bail!("engine {} ({}): {message}", engine.name, config.endpoint);
        }
    };
    let policy = state.store.policy().await;
    let at = now();
    let findings = evaluate(&snapshot, &policy, at);
    let report = SyncReport {
        images: snapshot.images.len(),
        containers: snapshot.containers.len(),
        findings: findings.iter().map(|f| f.found.len()).sum(),
    };
    state
        .store
        .apply_docker_snapshot(engine.id, &snapshot, &findings, at)
        .await?;
    Ok((docker, snapshot, report))
}

/// The runtime pass: checks every running container for changed files (drift) and for
/// an SSH daemon among its processes. Periodic (`docker_drift_seconds`), apart from
/// syncs and events: its two calls per container would slow them many times over.
pub async fn drift_pass(
    state: &AppState,
    engine_id: i64,
    docker: &Docker,
    running: &[String],
) -> anyhow::Result<Vec<(String, Vec<Detected>)>> {
    type Seen = (Vec<collect::Change>, bool);
    let results: Vec<(String, Result<Seen, bollard::errors::Error>)> =
        futures::stream::iter(running.iter().cloned())
            .map(|id| async move {
                let seen = async {
                    let changes = collect::changes(docker, &id).await?;
                    let sshd = collect::runs_sshd(docker, &id).await?;
                    Ok((changes, sshd))
                }
                .await;
                (id, seen)
            })
            .buffer_unordered(4)
            .collect()
            .await;
    let at = now();
    let mut all = Vec::with_capacity(results.len());
    for (id, seen) in results {
        let (changes, sshd) = seen?;
        let found: Vec<Detected> = evaluate_drift(&changes)
            .into_iter()
            .chain(evaluate_sshd(sshd))
            .collect();
        state
            .store
            .apply_docker_drift(engine_id, &id, &found, at)
            .await?;
        all.push((id, found));
    }
    Ok(all)
}

/// Starts the supervisor: makes sure the local engine is configured (when its socket
/// exists and `docker_local` is on), then keeps one worker per configured engine.
pub fn spawn_supervisor(state: AppState, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let local = state.clone();
    tokio::spawn(async move {
        if local.settings.docker_local && std::path::Path::new("/var/run/docker.sock").exists() {
            if let Err(e) = ensure_local_engine(&local).await {
                tracing::warn!(error = %e, "could not register the local Docker engine");
            }
        }
        let engines = |state: AppState| async move {
            Ok(state
                .store
                .docker_engines()
                .await?
                .into_iter()
                .map(|e| e.id)
                .collect())
        };
        let _ =
            crate::workers::supervise(local, shutdown, "Docker engines", engines, run_worker).await;
    })
}

async fn ensure_local_engine(state: &AppState) -> anyhow::Result<()> {
    let engines = state.store.docker_engines().await?;
    if engines
        .iter()
        .any(|e| e.endpoint.as_deref() == Some(LOCAL_ENDPOINT))
    {
        return Ok(());
    }
    match state
        .store
        .add_docker_engine("local", &EngineConfig::new(LOCAL_ENDPOINT), now())
        .await
    {
        Ok(_) => tracing::info!("watching the local Docker engine ({LOCAL_ENDPOINT})"),
        // Another replica (or an admin) registered it meanwhile.
        Err(crate::StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Follows one engine until shutdown (or until the engine is removed).
pub async fn run_worker(state: AppState, engine_id: i64, mut shutdown: watch::Receiver<bool>) {
    let lease = format!("docker:{engine_id}");
    let mut backoff = Duration::from_secs(1);
    loop {
        if *shutdown.borrow() {
            break;
        }
        match state
            .store
            .try_lease(&lease, &state.instance, 60, now())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                if wait(&mut shutdown, Duration::from_secs(15)).await {
                    break;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(engine_id, error = %e, "taking the engine lease");
                if wait(&mut shutdown, Duration::from_secs(15)).await {
                    break;
                }
                continue;
            }
        }
        let engine = match state.store.docker_engine(engine_id).await {
            Ok(e) => e,
            Err(crate::StoreError::NotFound) => break,
            Err(e) => {
                tracing::warn!(engine_id, error = %e, "reading engine");
                if wait(&mut shutdown, backoff).await {
                    break;
                }
                continue;
            }
        };
        match follow(&state, &engine, &lease, &mut shutdown).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(engine = %engine.name, error = %format!("{e:#}"), retry_in = ?backoff, "Docker engine");
                if wait(&mut shutdown, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
                continue;
            }
        }
    }
    let _ = state.store.release_lease(&lease, &state.instance).await;
}

/// Sleeps `d` unless shutdown comes first; true when shutting down.
async fn wait(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

struct Live {
    /// The engine's name: its host's, as alerts name it.
    engine: String,
    host: HostFacts,
    /// Image environments (values), only in memory, to tell container-set secrets from
    /// inherited ones.
    image_env: HashMap<String, Vec<String>>,
    running: Vec<String>,
    /// What the built-in detectors remember between events.
    restarts: detect::Restarts,
    tags: detect::Tags,
    /// Each container's latest drift evidence: a drift alert is raised when it changes.
    drift: HashMap<String, String>,
}

impl Live {
    /// What a sync says runs now: running containers, and what each tag names.
    fn synced(&mut self, snapshot: &Snapshot) {
        self.running = snapshot
            .containers
            .iter()
            .filter(|c| c.is_running())
            .map(|c| c.id.clone())
            .collect();
        for c in &snapshot.containers {
            self.tags.saw(&c.image_ref, &c.image_id);
        }
    }

    /// Drift found in a container: a drift alert when its evidence is new.
    fn drifted(&mut self, id: &str, found: &[Detected]) -> Option<String> {
        let evidence = found
            .iter()
            .find(|d| d.check.id == "container.drift")
            .map(|d| d.evidence.clone());
        match evidence {
            Some(e) if self.drift.get(id) != Some(&e) => {
                self.drift.insert(id.to_string(), e.clone());
                Some(e)
            }
            Some(_) => None,
            None => {
                self.drift.remove(id);
                None
            }
        }
    }
}

/// Stores what the built-in detectors raised, but for those the policy switched off.
/// A failure is logged: the inventory event it came with is applied regardless.
async fn raise(state: &AppState, alerts: Vec<NewAlert>) {
    if alerts.is_empty() {
        return;
    }
    let off = state.store.policy().await.disabled_detectors;
    let alerts: Vec<NewAlert> = alerts
        .into_iter()
        .filter(|a| !off.iter().any(|id| id.as_str() == a.rule))
        .collect();
    if let Err(e) = crate::alerts::raise(state, alerts).await {
        tracing::warn!(error = %e, "storing built-in detectors' alerts");
    }
}

/// Full sync, then events until the stream breaks (error) or shutdown (Ok).
async fn follow(
    state: &AppState,
    engine: &EngineRow,
    lease: &str,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let started = now();
    let (docker, snapshot, report) = sync_engine(state, engine).await?;
    tracing::info!(engine = %engine.name, images = report.images, containers = report.containers, findings = report.findings, "Docker engine synced");
    let mut live = Live {
        engine: engine.name.clone(),
        host: snapshot.host.clone(),
        image_env: HashMap::new(),
        running: Vec::new(),
        restarts: detect::Restarts::default(),
        tags: detect::Tags::default(),
        drift: HashMap::new(),
    };
    live.synced(&snapshot);

    let filters: HashMap<&str, Vec<&str>> = HashMap::from([("type", vec!["container", "image"])]);
    // Events since the sync began, so nothing between the sync and now is missed.
    let options = EventsOptionsBuilder::default()
        .since(&started.to_string())
        .filters(&filters)
        .build();
    let mut events = docker.events(Some(options));

    let sync_every = Duration::from_secs(state.settings.docker_sync_seconds.max(1) as u64);
    let drift_every = Duration::from_secs(state.settings.docker_drift_seconds.max(1) as u64);
    let mut full_sync =
        tokio::time::interval_at(tokio::time::Instant::now() + sync_every, sync_every);
    let mut drift = tokio::time::interval(drift_every);
    let mut renew = tokio::time::interval(Duration::from_secs(20));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            event = events.next() => match event {
                Some(Ok(event)) => {
                    if let Err(e) = handle_event(state, engine.id, &docker, &mut live, event).await {
                        tracing::warn!(engine = %engine.name, error = %format!("{e:#}"), "applying an engine event");
                    }
                }
                Some(Err(e)) => {
                    let message = engine::engine_error(&format!("event stream: {e}"));
                    state.store.mark_engine_unreachable(engine.id, &message, now()).await?;
                    anyhow::bail!(message);
                }
                None => {
                    // The engine closed the stream (restart, shutdown): reconnect; the
                    // next attempt marks the engine unreachable if it is gone.
                    anyhow::bail!("event stream closed by the engine");
                }
            },
            _ = full_sync.tick() => {
                let (_, snapshot, _) = sync_engine(state, engine).await?;
                live.synced(&snapshot);
                live.host = snapshot.host;
            }
            _ = drift.tick() => {
                let seen = drift_pass(state, engine.id, &docker, &live.running).await?;
                let mut raised = Vec::new();
                for (id, found) in &seen {
                    if let Some(evidence) = live.drifted(id, found) {
                        let place = detect::Place {
                            host: &live.engine,
                            container_id: id,
                            container: &id[..id.len().min(12)],
                            image: "",
                        };
                        raised.push(detect::drift(&place, &evidence));
                    }
                }
                tracing::debug!(engine = %engine.name, drifted = raised.len(), "drift pass");
                raise(state, raised).await;
            }
            _ = renew.tick() => {
                if !state.store.try_lease(lease, &state.instance, 60, now()).await? {
                    anyhow::bail!("lost the engine lease to another replica");
                }
            }
        }
    }
}

async fn handle_event(
    state: &AppState,
    engine_id: i64,
    docker: &Docker,
    live: &mut Live,
    event: bollard::models::EventMessage,
) -> anyhow::Result<()> {
    let Some(actor_id) = event.actor.as_ref().and_then(|a| a.id.clone()) else {
        return Ok(());
    };
    let attributes = event
        .actor
        .as_ref()
        .and_then(|a| a.attributes.clone())
        .unwrap_or_default();
    let attribute = |k: &str| attributes.get(k).map(String::as_str).unwrap_or_default();
    // Actions carry details after a colon: `exec_start: sh -c ...`, `health_status: healthy`.
    let full_action = event.action.as_deref().unwrap_or_default();
    let action = full_action.split(':').next().unwrap_or_default().trim();
    let at = now();
    let engine_name = live.engine.clone();
    let place = detect::Place {
        host: &engine_name,
        container_id: &actor_id,
        container: attribute("name"),
        image: attribute("image"),
    };
    match event.typ {
        Some(EventMessageTypeEnum::CONTAINER) => match action {
            "destroy" => {
                live.running.retain(|id| id != &actor_id);
                live.restarts.forget(&actor_id);
                live.drift.remove(&actor_id);
                state
                    .store
                    .mark_docker_container_gone(engine_id, &actor_id, at)
                    .await?;
            }
            "exec_die" => {
                // What an exec left behind: changed files, or a daemon it started.
                let changes = collect::changes(docker, &actor_id).await?;
                let sshd = collect::runs_sshd(docker, &actor_id).await?;
                let found: Vec<Detected> = evaluate_drift(&changes)
                    .into_iter()
                    .chain(evaluate_sshd(sshd))
                    .collect();
                state
                    .store
                    .apply_docker_drift(engine_id, &actor_id, &found, at)
                    .await?;
                if let Some(evidence) = live.drifted(&actor_id, &found) {
                    raise(state, vec![detect::drift(&place, &evidence)]).await;
                }
            }
            "exec_start" => {
                let exec = detect::exec(
                    &place,
                    full_action,
                    attributes.get("execID").map(String::as_str),
                );
                raise(state, vec![exec]).await;
            }
            "die" => {
                let facts = apply_inspected(state, engine_id, docker, live, &actor_id, at).await?;
                if live.restarts.died(&actor_id, at) {
                    let count = facts.map_or(0, |f| f.restart_count);
                    raise(state, vec![detect::restart_loop(&place, count)]).await;
                }
            }
            "exec_create" | "attach" | "top" | "resize" | "export" | "copy" | "archive-path" => {}
            "start" => {
                if let Some(facts) =
                    apply_inspected(state, engine_id, docker, live, &actor_id, at).await?
                {
                    let place = detect::Place {
                        container: &facts.name,
                        image: &facts.image_ref,
                        ..place
                    };
                    let mut raised = detect::started(&place, &facts);
                    if let Some(before) = live.tags.started(&facts.image_ref, &facts.image_id) {
                        raised.push(detect::tag_moved(&place, &before, &facts.image_id));
                    }
                    raise(state, raised).await;
                }
            }
            _ => {
                apply_inspected(state, engine_id, docker, live, &actor_id, at).await?;
            }
        },
        Some(EventMessageTypeEnum::IMAGE) => match action {
            "delete" => {
                state
                    .store
                    .mark_docker_image_gone(engine_id, &actor_id, at)
                    .await?
            }
            "pull" | "tag" | "untag" | "import" | "load" | "push" | "save" => {
                if let Some(image) = collect::image(docker, &actor_id).await? {
                    let found = evaluate_image(&image.facts, &state.store.policy().await, at);
                    live.image_env.insert(image.facts.id.clone(), image.env);
                    state
                        .store
                        .apply_docker_image(engine_id, &image.facts, &found, at)
                        .await?;
                } else if action == "untag" {
                    state
                        .store
                        .mark_docker_image_gone(engine_id, &actor_id, at)
                        .await?;
                }
            }
            _ => {}
        },
        _ => {}
    }
    Ok(())
}

/// Inspects a container and stores what it is now (or that it is gone); answers its
/// facts when it exists.
async fn apply_inspected(
    state: &AppState,
    engine_id: i64,
    docker: &Docker,
    live: &mut Live,
    id: &str,
    at: i64,
) -> anyhow::Result<Option<ContainerFacts>> {
    match inspect_container(docker, live, id).await? {
        Some(facts) => {
            live.running.retain(|r| r != &facts.id);
            if facts.is_running() {
                live.running.push(facts.id.clone());
            }
            let found = evaluate_container(&facts, &live.host);
            state
                .store
                .apply_docker_container(engine_id, &facts, &found, at)
                .await?;
            Ok(Some(facts))
        }
        None => {
            state
                .store
                .mark_docker_container_gone(engine_id, id, at)
                .await?;
            Ok(None)
        }
    }
}

/// Inspects a container, comparing its environment with its image's.
async fn inspect_container(
    docker: &Docker,
    live: &mut Live,
    id: &str,
) -> anyhow::Result<Option<ContainerFacts>> {
    let Some(raw) = collect::container_raw(docker, id).await? else {
        return Ok(None);
    };
    let image_id = raw.image.clone().unwrap_or_default();
    if !live.image_env.contains_key(&image_id) {
        if let Some(image) = collect::image(docker, &image_id).await? {
            live.image_env.insert(image.facts.id.clone(), image.env);
        }
    }
    let env = live.image_env.get(&image_id).map(Vec::as_slice);
    Ok(Some(super::normalize::container_facts(&raw, env)))
}
