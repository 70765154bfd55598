//! Storage stories, each run on SQLite and on Postgres (see `coastguard_core::testing`).

mod access;
mod auth;
mod demo;
mod intel;
mod jobs;
mod overview;
mod risk;
mod scans;
mod schema;
mod sessions;
mod snapshots;

/// Runs `story` once per backend, naming the backend if it fails.
#[macro_export]
macro_rules! on_each_backend {
    (|$db:ident| $story:expr) => {
        for $db in coastguard_core::testing::backends().await {
            eprintln!("backend: {:?}", $db.backend);
            $story;
        }
    };
}
