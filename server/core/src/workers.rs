//! One long-running worker per source (a Docker engine, a Kubernetes cluster), kept in
//! step with the sources the store lists: every five seconds new ones get a worker,
//! removed ones (and finished workers, to be restarted) are dropped. Each worker takes
//! its source's lease itself, so on several replicas only one follows a source.

use crate::AppState;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Runs `worker(state, id, shutdown)` for every id `sources` lists, until shutdown.
pub fn supervise<L, LF, W, WF>(
    state: AppState,
    shutdown: watch::Receiver<bool>,
    what: &'static str,
    sources: L,
    worker: W,
) -> JoinHandle<()>
where
    L: Fn(AppState) -> LF + Send + 'static,
    LF: Future<Output = crate::store::StoreResult<Vec<i64>>> + Send,
    W: Fn(AppState, i64, watch::Receiver<bool>) -> WF + Send + 'static,
    WF: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut workers: HashMap<i64, JoinHandle<()>> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut stop = shutdown.clone();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let ids = match sources(state.clone()).await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "listing {what}");
                    continue;
                }
            };
            workers.retain(|id, handle| {
                let keep = ids.contains(id) && !handle.is_finished();
                if !keep {
                    handle.abort();
                }
                keep
            });
            for id in ids {
                workers
                    .entry(id)
                    .or_insert_with(|| tokio::spawn(worker(state.clone(), id, shutdown.clone())));
            }
        }
        for (_, handle) in workers {
            let _ = handle.await;
        }
    })
}
