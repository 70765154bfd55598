//! Coastguard's server-side domain: configuration, storage, authentication, audit and
//! scheduled jobs. The web layer (`coastguard` binary) and the UI's server functions
//! (`coastguard-app` with `ssr`) both call into this crate; it never imports Leptos.
//!
//! Errors: library code returns [`store::StoreError`] or module-specific `thiserror`
//! enums; `anyhow` is used only at the edges (start-up, jobs, the command line).

pub mod access;
pub mod alerts;
pub mod auth;
pub mod charts;
pub mod config;
pub mod db;
pub mod demo;
pub mod docker;
pub mod error;
pub mod exceptions;
pub mod jobs;
pub mod kube;
pub mod lifecycle;
pub mod live;
pub mod notify;
pub mod posture;
pub mod registry;
pub mod risk;
pub mod scans;
pub mod sessions;
pub mod signatures;
pub mod state;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod workers;

pub use config::Settings;
pub use error::{Error, Result};
pub use state::AppState;
pub use store::{Store, StoreError};

/// Unix seconds now. Storage functions take `now` as an argument so tests control time.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A fresh, increasing id for a sync pass: microseconds since the epoch, never the
/// same twice in this process.
pub fn pass_id() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let micros = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = micros.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// Turns a validation message into an [`Error::Invalid`] that names the field.
pub fn validate_field<T>(field: &str, result: std::result::Result<T, String>) -> Result<T> {
    result.map_err(|message| Error::invalid_at(field, message))
}
