//! The live feed of the alert queue: after a commit that changed alert groups (events
//! came, someone triaged), their ids are published, and every process hands them to
//! each of its open streams (`GET /api/v1/alerts/stream`, which reads those groups).
//! It carries ids only, so it sits below every domain module.
//!
//! On Postgres the ids travel by `NOTIFY` so every replica's users see every change; a
//! replica whose listening connection dropped tells its streams to resync (notifications
//! sent meanwhile are lost). On SQLite (one process) an in-process channel carries them.
//! The feed starts on first use; its task ends when the state that owns it is dropped.

use crate::db::Db;
use sqlx::postgres::PgListener;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// The Postgres channel changed groups' ids travel on.
pub const CHANNEL: &str = "coastguard_alerts";
/// Changes a slow stream may fall behind by before it is told to resync.
const BACKLOG: usize = 4096;
/// A NOTIFY payload is at most 8,000 bytes: ids go in pieces below that.
const PAYLOAD: usize = 7_000;

/// What a stream is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// These alert groups were made or changed.
    Changed(Arc<[i64]>),
    /// Changes may have been missed: read the list again.
    Resync,
}

/// The feed of one process. Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    events: broadcast::Sender<Live>,
    /// SQLite: the ids of changed groups, to the feed's task. Postgres: unused.
    local: OnceLock<mpsc::UnboundedSender<Vec<i64>>>,
    /// Postgres: set once the listening task runs.
    listening: OnceLock<()>,
    /// True once changes reach this feed (Postgres: once it LISTENs).
    ready: watch::Sender<bool>,
    /// Dropped with the feed: its task stops.
    _alive: watch::Sender<()>,
    alive: watch::Receiver<()>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("streams", &self.inner.events.receiver_count())
            .finish()
    }
}

impl Feed {
    pub fn new(db: Db) -> Feed {
        let (events, _) = broadcast::channel(BACKLOG);
        let (alive_tx, alive) = watch::channel(());
        Feed {
            inner: Arc::new(Inner {
                db,
                events,
                local: OnceLock::new(),
                listening: OnceLock::new(),
                ready: watch::Sender::new(false),
                _alive: alive_tx,
                alive,
            }),
        }
    }

    /// A stream of changes from now on: the feed starts if it had not, and this answers
    /// once changes reach it (on Postgres, once it listens; at most after 5 s).
    pub async fn subscribe(&self) -> broadcast::Receiver<Live> {
        let receiver = self.inner.events.subscribe();
        self.start();
        let mut ready = self.inner.ready.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(5), ready.wait_for(|r| *r)).await;
        receiver
    }

    /// Tells every process's streams that these groups changed (call after the commit).
    /// Never fails the action that changed them: a lost notice is logged.
    pub async fn publish(&self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        match &self.inner.db {
            Db::Sqlite(_) => {
                if self.inner.events.receiver_count() == 0 {
                    return;
                }
                self.start();
                if let Some(local) = self.inner.local.get() {
                    let _ = local.send(ids.to_vec());
                }
            }
            Db::Postgres(pool) => {
                for payload in payloads(ids) {
                    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(&payload)
                        .execute(pool)
                        .await
                    {
                        tracing::warn!(error = %e, "alert feed: NOTIFY failed; open streams may miss a change");
                    }
                }
            }
        }
    }

    fn start(&self) {
        let weak = Arc::downgrade(&self.inner);
        let alive = self.inner.alive.clone();
        match &self.inner.db {
            Db::Sqlite(_) => {
                self.inner.local.get_or_init(|| {
                    self.inner.ready.send_replace(true);
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(local_loop(weak, rx));
                    tx
                });
            }
            Db::Postgres(pool) => {
                let pool = pool.clone();
                self.inner.listening.get_or_init(|| {
                    tokio::spawn(listen_loop(weak, pool, alive));
                });
            }
        }
    }
}

/// Ids as NOTIFY payloads: comma-separated, each below the size Postgres takes.
pub fn payloads(ids: &[i64]) -> Vec<String> {
    let mut out = vec![String::new()];
    for id in ids {
        let text = id.to_string();
        let last = out.last_mut().expect("never empty");
        if !last.is_empty() && last.len() + 1 + text.len() > PAYLOAD {
            out.push(text);
        } else {
            if !last.is_empty() {
                last.push(',');
            }
            last.push_str(&text);
        }
    }
    out
}

/// The ids a payload carries (what cannot be read is skipped).
pub fn read_payload(payload: &str) -> Vec<i64> {
    payload
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect()
}

/// Hands the changed ids to every stream.
fn deliver(inner: &Inner, mut ids: Vec<i64>) {
    if inner.events.receiver_count() == 0 || ids.is_empty() {
        return;
    }
    ids.sort_unstable();
    ids.dedup();
    let _ = inner.events.send(Live::Changed(ids.into()));
}

async fn local_loop(inner: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Vec<i64>>) {
    while let Some(mut ids) = rx.recv().await {
        // What queued up meanwhile goes in the same read.
        while let Ok(more) = rx.try_recv() {
            ids.extend(more);
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        deliver(&inner, ids);
    }
}

async fn listen_loop(inner: Weak<Inner>, pool: sqlx::PgPool, mut alive: watch::Receiver<()>) {
    let mut first = true;
    loop {
        if pool.is_closed() {
            // The server is shutting down: there is nothing to listen on any more.
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "alert feed: cannot listen on Postgres; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = alive.changed() => return,
                }
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "alert feed: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        if !first {
            resync(&inner);
        }
        first = false;
        match inner.upgrade() {
            Some(inner) => inner.ready.send_replace(true),
            None => return,
        };
        loop {
            let next = tokio::select! {
                next = listener.try_recv() => next,
                _ = alive.changed() => return,
            };
            match next {
                Ok(Some(n)) => {
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    deliver(&inner, read_payload(n.payload()));
                }
                // The connection dropped; the next read reconnects. What was sent
                // meanwhile is lost: streams read the list again.
                Ok(None) => resync(&inner),
                Err(e) => {
                    tracing::warn!(error = %e, "alert feed: listening failed; reconnecting");
                    resync(&inner);
                    break;
                }
            }
        }
    }
}

fn resync(inner: &Weak<Inner>) {
    if let Some(inner) = inner.upgrade() {
        let _ = inner.events.send(Live::Resync);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_travel_in_payloads_postgres_takes() {
        assert_eq!(payloads(&[1, 22, 333]), ["1,22,333"]);
        let many: Vec<i64> = (1_000_000_000..1_000_002_000).collect();
        let parts = payloads(&many);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= PAYLOAD));
        let back: Vec<i64> = parts.iter().flat_map(|p| read_payload(p)).collect();
        assert_eq!(back, many);
        assert_eq!(read_payload("4,x,5"), [4, 5]);
    }
}
