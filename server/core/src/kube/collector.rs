//! Keeping each cluster's inventory current: one worker per cluster, on the replica that
//! holds the cluster's lease. A worker lists every kind (kube-runtime's watcher pages
//! through the list, then watches from its resourceVersion, relists after `410 Gone`,
//! and backs off while the server is away), stores each page and event as it comes, and
//! relists everything every `kube_resync_seconds`. A cluster that cannot be reached is
//! marked unreachable with the error; what was read from it stays.

use super::objects::{record, Kind, Record};
use super::store::{ClusterRow, ClusterVerdict, CREDENTIALS};
use super::{in_cluster, kubeconfig, network, rbac};
use crate::{now, pass_id, AppState};
use ::kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use ::kube::runtime::watcher::{self, Event};
use ::kube::runtime::WatchStreamExt;
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Objects stored per transaction while listing.
const PAGE: usize = 500;

/// How often a worker looks whether the cluster-wide checks need running again; a pass that
/// took long spaces the next ones (at least four times its duration apart).
const CHECKS_TICK: Duration = Duration::from_secs(2);

/// Follows every cluster in the store until shutdown.
pub fn spawn_supervisor(state: AppState, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let clusters = |state: AppState| async move {
        Ok(state
            .store
            .kube_clusters()
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect())
    };
    crate::workers::supervise(state, shutdown, "Kubernetes clusters", clusters, run_worker)
}

/// A client for a stored cluster: its sealed kubeconfig opened with the configured key.
pub async fn connect(state: &AppState, cluster: &ClusterRow) -> Result<::kube::Client, String> {
    if cluster.source.as_deref() == Some(in_cluster::SOURCE) {
        if !state.settings.kube_in_cluster {
            return Err("kube_in_cluster is off: this server does not use its pod's service account (turn it on, or remove the cluster)".into());
        }
        let url = cluster
            .api_url
            .as_deref()
            .ok_or("the cluster has no API server URL")?;
        let config = in_cluster::client_config(&state.settings.kube_service_account_dir, url)?;
        return ::kube::Client::try_from(config).map_err(|e| e.to_string());
    }
    let key = state
        .settings
        .secret_key
        .as_ref()
        .ok_or("no secret_key is configured, so the stored credentials cannot be opened")?;
    let sealed = cluster
        .credentials
        .as_deref()
        .ok_or("the cluster has no stored credentials")?;
    let plain = key.open(CREDENTIALS, sealed).map_err(|e| e.to_string())?;
    let config = kubeconfig::client_config(&plain).await?;
    ::kube::Client::try_from(config).map_err(|e| e.to_string())
}

/// Follows one cluster until shutdown or until it is removed.
pub async fn run_worker(state: AppState, cluster_id: i64, mut shutdown: watch::Receiver<bool>) {
    let lease = format!("kube:{cluster_id}");
    let resync = Duration::from_secs(state.settings.kube_resync_seconds.max(30) as u64);
    let mut backoff = Duration::from_secs(1);
    // Full lists asked for before this worker began are what its first lists do.
    let mut honored = state
        .store
        .resync_requested(cluster_id)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
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
            Ok(false) | Err(_) => {
                if wait(&mut shutdown, Duration::from_secs(15)).await {
                    break;
                }
                continue;
            }
        }
        let cluster = match state.store.kube_cluster(cluster_id).await {
            Ok(c) => c,
            Err(crate::StoreError::NotFound) => break,
            Err(e) => {
                tracing::warn!(cluster_id, error = %e, "reading cluster");
                if wait(&mut shutdown, backoff).await {
                    break;
                }
                continue;
            }
        };
        match follow(
            &state,
            &cluster,
            &lease,
            resync,
            &mut honored,
            &mut shutdown,
        )
        .await
        {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(cluster = %cluster.name, error = %e, retry_in = ?backoff, "Kubernetes cluster");
                let _ = state
                    .store
                    .set_cluster_status(cluster.id, Some(&e), None, now())
                    .await;
                if wait(&mut shutdown, backoff).await {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
    let _ = state.store.release_lease(&lease, &state.instance).await;
}

/// Watches every kind of one cluster until the resync is due (Ok), a user asks for a
/// full list (Ok), the lease is lost (Ok), shutdown (Ok), or the cluster cannot be
/// reached at all (Err).
async fn follow(
    state: &AppState,
    cluster: &ClusterRow,
    lease: &str,
    resync: Duration,
    honored: &mut i64,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let client = connect(state, cluster).await?;
    let version = client.apiserver_version().await.map_err(|e| {
        format!(
            "cannot reach {}: {e}",
            cluster.api_url.as_deref().unwrap_or("the API server")
        )
    })?;
    state
        .store
        .set_cluster_status(cluster.id, None, Some(&version.git_version), now())
        .await
        .map_err(|e| e.to_string())?;
    let (resources, extensions) = discover(&client).await?;
    state
        .store
        .set_cluster_extensions(cluster.id, &extensions)
        .await
        .map_err(|e| e.to_string())?;
    let health = Arc::new(Health {
        read: Mutex::new(resources.iter().map(|(k, _)| *k).collect()),
        extensions: Mutex::new(extensions),
        ..Health::default()
    });
    let tasks: Vec<JoinHandle<()>> = resources
        .into_iter()
        .map(|(kind, resource)| {
            tokio::spawn(watch_kind(
                state.clone(),
                cluster.id,
                client.clone(),
                kind,
                resource,
                health.clone(),
            ))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + resync;
    let mut renew = tokio::time::interval(Duration::from_secs(20));
    let mut asked = tokio::time::interval(Duration::from_secs(5));
    let mut checks = tokio::time::interval(CHECKS_TICK);
    let mut checks_after = tokio::time::Instant::now();
    let outcome = loop {
        tokio::select! {
            // Network isolation and RBAC are decided across objects: once every kind they read has
            // been listed, and again after changes to them.
            _ = checks.tick() => {
                if tokio::time::Instant::now() >= checks_after && health.checks_due() {
                    let started = tokio::time::Instant::now();
                    if let Err(e) = cluster_checks(state, cluster.id).await {
                        tracing::warn!(cluster = %cluster.name, error = %e, "cluster-wide checks");
                        health.checks_dirty.store(true, Ordering::Relaxed);
                    }
                    checks_after = tokio::time::Instant::now() + started.elapsed() * 4;
                }
            }
            _ = tokio::time::sleep_until(deadline) => break Ok(()),
            _ = shutdown.changed() => break Ok(()),
            _ = renew.tick() => {
                match state.store.try_lease(lease, &state.instance, 60, now()).await {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(e) => tracing::warn!(error = %e, "renewing the cluster lease"),
                }
            }
            // A user asked for a full list since the last one asked for: start again.
            _ = asked.tick() => {
                if let Ok(Some(at)) = state.store.resync_requested(cluster.id).await {
                    if at > *honored {
                        *honored = at;
                        break Ok(());
                    }
                }
            }
        }
    };
    for task in tasks {
        task.abort();
    }
    outcome
}

/// The kinds to read from a cluster with the API resource of each: every built-in kind,
/// and the optional ones whose API the cluster serves (Istio's PeerAuthentication at v1,
/// or v1beta1 before Istio 1.22); with the extensions found.
async fn discover(
    client: &::kube::Client,
) -> Result<(Vec<(Kind, ApiResource)>, Vec<&'static str>), String> {
    // The plurals each group version serves (none when the cluster does not serve it).
    let mut served: HashMap<String, Vec<String>> = HashMap::new();
    let mut kinds = Vec::new();
    let mut extensions = Vec::new();
    for kind in Kind::ALL {
        let (group, version, api_kind, plural) = kind.api();
        let gvk = |v: &str| {
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, v, api_kind), plural)
        };
        let Some(extension) = kind.extension() else {
            kinds.push((kind, gvk(version)));
            continue;
        };
        let versions: &[&str] = if kind == Kind::PeerAuthentication {
            &["v1", "v1beta1"]
        } else {
            &[version]
        };
        let mut found = None;
        for v in versions {
            let group_version = format!("{group}/{v}");
            if !served.contains_key(&group_version) {
                let plurals = match client.list_api_group_resources(&group_version).await {
                    Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                    Err(::kube::Error::Api(e)) if e.code == 404 => Vec::new(),
                    // An aggregated API that is down (503) or refused: read the cluster
                    // without it, and say so.
                    Err(::kube::Error::Api(e)) => {
                        tracing::warn!(api = %group_version, error = %e, "optional API not readable; going on without it");
                        Vec::new()
                    }
                    Err(e) => return Err(format!("discovering {group_version}: {e}")),
                };
                served.insert(group_version.clone(), plurals);
            }
            if served[&group_version].iter().any(|p| p == plural) {
                found = Some(gvk(v));
                break;
            }
        }
        if let Some(resource) = found {
            kinds.push((kind, resource));
            if !extensions.contains(&extension) {
                extensions.push(extension);
            }
        }
    }
    Ok((kinds, extensions))
}

/// Whether any watcher of a cluster is failing, so that status is written on changes,
/// not on every event; which kinds are read and which have been listed, and whether what
/// the cluster-wide checks read changed since their last pass.
#[derive(Default)]
struct Health {
    failing: AtomicBool,
    read: Mutex<HashSet<Kind>>,
    /// The optional APIs read (`calico`, `istio`).
    extensions: Mutex<Vec<&'static str>>,
    listed: Mutex<HashSet<Kind>>,
    checks_dirty: AtomicBool,
}

impl Health {
    /// Every kind the cluster-wide checks read was listed, and something changed since.
    fn checks_due(&self) -> bool {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let listed = self.listed.lock().unwrap_or_else(|e| e.into_inner());
        read.iter()
            .filter(|k| k.affects_cluster_checks())
            .all(|k| listed.contains(k))
            && self.checks_dirty.swap(false, Ordering::Relaxed)
    }

    /// Stops counting on an optional API the cluster serves but Coastguard may not read
    /// (a ClusterRole applied before Coastguard read it): the checks go on as if it were
    /// not served, rather than wait for it forever. Returns the extensions still read.
    fn drop_extension(&self, extension: &str) -> Vec<&'static str> {
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k| k.extension() != Some(extension));
        let mut extensions = self.extensions.lock().unwrap_or_else(|e| e.into_inner());
        extensions.retain(|e| *e != extension);
        self.checks_dirty.store(true, Ordering::Relaxed);
        extensions.clone()
    }
}

/// Decides the cluster-wide checks (network isolation, RBAC) from its stored objects and
/// stores what they found.
pub async fn cluster_checks(state: &AppState, cluster: i64) -> Result<(), crate::StoreError> {
    let current = state.store.cluster_state(cluster).await?;
    let network = network::evaluate(&current.network);
    let mut findings = network.findings;
    findings.extend(rbac::evaluate(&current.rbac));
    let verdict = ClusterVerdict {
        cluster_network: network.cluster,
        postures: network.namespaces,
        findings,
    };
    let mut w = state.store.begin_pass().await?;
    w.apply_cluster_checks(cluster, &verdict, &current, now())
        .await?;
    w.commit().await
}

/// Lists and watches one kind, storing pages and events.
async fn watch_kind(
    state: AppState,
    cluster: i64,
    client: ::kube::Client,
    kind: Kind,
    resource: ApiResource,
    health: Arc<Health>,
) {
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let config = watcher::Config::default().page_size(PAGE as u32);
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let mut pass = pass_id();
    let mut page: Vec<Record> = Vec::new();
    // The image policy as it stood when the list began (a resync reads it again).
    let mut trusted = state.store.policy().await.trusted_registries;
    while let Some(event) = events.next().await {
        let stored = match event {
            Ok(Event::Init) => {
                pass = pass_id();
                page.clear();
                trusted = state.store.policy().await.trusted_registries;
                Ok(())
            }
            Ok(Event::InitApply(obj)) => {
                page.extend(record(kind, &obj, &trusted));
                if page.len() >= PAGE {
                    store(&state, cluster, kind, std::mem::take(&mut page), pass).await
                } else {
                    Ok(())
                }
            }
            Ok(Event::InitDone) => {
                let stored = store(&state, cluster, kind, std::mem::take(&mut page), pass).await;
                let complete = match stored {
                    Ok(()) => list_complete(&state, cluster, kind, pass).await,
                    e => e,
                };
                if complete.is_ok() {
                    health
                        .listed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(kind);
                }
                complete
            }
            Ok(Event::Apply(obj)) => {
                let one: Vec<Record> = record(kind, &obj, &trusted).into_iter().collect();
                store(&state, cluster, kind, one, pass).await
            }
            Ok(Event::Delete(obj)) => {
                let key = if kind == Kind::Node {
                    obj.metadata.name.clone()
                } else {
                    obj.metadata.uid.clone()
                };
                deleted(&state, cluster, kind, key).await
            }
            Err(watcher::Error::InitialListFailed(::kube::Error::Api(status)))
                if status.code == 403 && kind.extension().is_some() =>
            {
                let extension = kind.extension().unwrap_or_default();
                tracing::warn!(cluster, kind = kind.name(), error = %status,
                    "the cluster serves {extension} but Coastguard may not list it: judged without it; apply deploy/kubernetes/rbac.yaml again");
                let still = health.drop_extension(extension);
                if let Err(e) = state.store.set_cluster_extensions(cluster, &still).await {
                    tracing::warn!(cluster, error = %e, "recording the extensions read");
                }
                return;
            }
            Err(e) => {
                if !health.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(cluster, kind = kind.name(), error = %e, "watch failed; retrying with backoff");
                    let _ = state
                        .store
                        .set_cluster_status(cluster, Some(&e.to_string()), None, now())
                        .await;
                }
                continue;
            }
        };
        match stored {
            Ok(()) => {
                if kind.affects_cluster_checks() {
                    health.checks_dirty.store(true, Ordering::Relaxed);
                }
                if health.failing.swap(false, Ordering::Relaxed) {
                    let _ = state
                        .store
                        .set_cluster_status(cluster, None, None, now())
                        .await;
                }
            }
            Err(e) => {
                tracing::warn!(cluster, kind = kind.name(), error = %e, "storing Kubernetes objects")
            }
        }
    }
}

async fn store(
    state: &AppState,
    cluster: i64,
    kind: Kind,
    records: Vec<Record>,
    pass: i64,
) -> Result<(), crate::StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut w = state.store.begin_pass().await?;
    w.apply_kube_records(cluster, kind, &records, pass, now())
        .await?;
    w.commit().await
}

async fn list_complete(
    state: &AppState,
    cluster: i64,
    kind: Kind,
    pass: i64,
) -> Result<(), crate::StoreError> {
    let mut w = state.store.begin_pass().await?;
    let gone = w.mark_kube_unseen_gone(cluster, kind, pass, now()).await?;
    w.commit().await?;
    if kind == Kind::Pod {
        state.store.cluster_synced(cluster, now()).await?;
    }
    tracing::debug!(cluster, kind = kind.name(), gone, "list complete");
    Ok(())
}

async fn deleted(
    state: &AppState,
    cluster: i64,
    kind: Kind,
    key: Option<String>,
) -> Result<(), crate::StoreError> {
    let Some(key) = key else { return Ok(()) };
    let mut w = state.store.begin_pass().await?;
    w.mark_kube_deleted(cluster, kind, &[key], now()).await?;
    w.commit().await
}

/// Sleeps `d` unless shutdown comes first; true when shutting down.
async fn wait(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}
