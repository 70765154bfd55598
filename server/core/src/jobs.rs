//! Scheduled work. Each job runs on an interval, but only on the replica that holds its
//! lease, so several replicas on one database never run a job twice at once.

use crate::sessions::SessionBackend;
use crate::AppState;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_sessions::session_store::ExpiredDeletion;

/// Runs `job` every `every` while this replica holds the lease `name`.
pub fn spawn_periodic<F, Fut>(
    state: AppState,
    name: &'static str,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
    job: F,
) -> JoinHandle<()>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The lease outlives one interval a little, so a live holder keeps it.
        let ttl = every.as_secs() as i64 + 30;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => break,
            }
            match state
                .store
                .try_lease(name, &state.instance, ttl, crate::now())
                .await
            {
                Ok(true) => {
                    if let Err(e) = job(state.clone()).await {
                        tracing::warn!(job = name, error = %format!("{e:#}"), "job failed");
                    }
                }
                Ok(false) => tracing::debug!(job = name, "another replica holds the lease"),
                Err(e) => tracing::warn!(job = name, error = %e, "could not take lease"),
            }
        }
        let _ = state.store.release_lease(name, &state.instance).await;
    })
}

/// Deletes expired sessions and stale login-throttle counters; reopens findings whose
/// risk acceptance or suppression expired; re-evaluates scan coverage and provenance
/// (signature requirements, moved tags); refreshes the
/// query planner's statistics.
pub async fn housekeeping(state: AppState) -> anyhow::Result<()> {
    SessionBackend::new(state.store.db())
        .delete_expired()
        .await
        .map_err(|e| anyhow::anyhow!("deleting expired sessions: {e}"))?;
    let policy = state.settings.login_policy();
    let pruned = state
        .store
        .throttle_prune(policy.per_user, crate::now())
        .await?;
    // Exceptions that expired put what they covered back in the queues; what active
    // ones cover is marked (for the inert report).
    let covered = state.store.apply_exceptions(crate::now()).await?;
    // Running images without a recent scan, and gaps that closed.
    let policy = state.store.policy().await;
    let coverage = state
        .store
        .evaluate_scan_coverage(policy.scan_max_age_days, crate::now())
        .await?;
    crate::registry::provenance::evaluate(&state, crate::now()).await?;
    // Alerts that came before the inventory knew their container or pod.
    let mut w = state.store.begin_pass().await?;
    let linked = w.link_alerts().await?;
    w.commit().await?;
    // The delivery log of the last 30 days stays.
    let mut w = state.store.begin_pass().await?;
    let deliveries = w
        .prune_deliveries(crate::now() - crate::notify::manage::KEEP_DELIVERIES_SECS)
        .await?;
    w.commit().await?;
    state.store.optimize().await?;
    tracing::debug!(
        deliveries_pruned = deliveries,
        pruned,
        reopened = covered.reopened,
        unsuppressed = covered.unsuppressed,
        alerts_released = covered.alerts_released,
        coverage_opened = coverage.opened,
        coverage_resolved = coverage.resolved,
        alerts_linked = linked,
        "housekeeping done"
    );
    Ok(())
}

/// Recomputes every risk score, and retakes today's snapshot, when something they depend
/// on changed since the last run.
pub async fn risk(state: AppState) -> anyhow::Result<()> {
    if !state.store.take_risk_stale().await? {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let run = state.store.recompute_risk(crate::now()).await?;
    tracing::info!(
        images = run.images,
        containers = run.containers,
        hosts = run.hosts,
        pods = run.pods,
        workloads = run.workloads,
        namespaces = run.namespaces,
        clusters = run.clusters,
        findings = run.findings,
        ms = started.elapsed().as_millis() as u64,
        "risk scores recomputed"
    );
    // What changed the scores changed today's posture too.
    crate::posture::take_snapshots(&state, false).await?;
    Ok(())
}

/// Takes today's posture snapshot (again: it follows the day) and fills in missed days.
pub async fn snapshots(state: AppState) -> anyhow::Result<()> {
    let written = crate::posture::take_snapshots(&state, true).await?;
    tracing::debug!(days = written, "posture snapshots taken");
    Ok(())
}

/// Syncs the registries whose last sync was tried more than 15 minutes ago.
pub async fn registries(state: AppState) -> anyhow::Result<()> {
    let synced = crate::registry::manage::sync_due(&state, crate::now()).await?;
    if synced > 0 {
        tracing::info!(registries = synced, "registries synced");
    }
    Ok(())
}

/// Checks the signatures of images never checked or checked more than six hours ago, in
/// the registries that name them, 200 at most per run.
pub async fn signatures(state: AppState) -> anyhow::Result<()> {
    let pass = crate::signatures::checks::check_due(&state, crate::now(), 200).await?;
    if pass.checked > 0 {
        tracing::info!(
            images = pass.checked,
            unchanged = pass.unchanged,
            "image signatures checked"
        );
    }
    Ok(())
}

/// Announces new alert groups to the webhooks, makes the digests due, and attempts the
/// deliveries due.
pub async fn notifications(state: AppState) -> anyhow::Result<()> {
    let report = crate::notify::manage::pass(&state, crate::now()).await?;
    if report != crate::notify::manage::PassReport::default() {
        tracing::debug!(?report, "notifications pass");
    }
    Ok(())
}
