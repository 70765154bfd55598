//! The one application state shared by the HTTP handlers, the UI's server functions
//! and background jobs.

use crate::{Settings, Store};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Identifies this process among replicas (lease holder name).
    pub instance: Arc<str>,
    /// The database holds the demo estate (see [`crate::demo`]): no collector runs and
    /// no engine can be added.
    pub demo: bool,
    /// Changes to the alert queue, to every open stream (on every replica).
    pub alert_feed: crate::live::Feed,
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> AppState {
        let instance = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "coastguard".into()),
            std::process::id(),
            rand::random::<u32>()
        );
        AppState {
            alert_feed: crate::live::Feed::new(store.db().clone()),
            store,
            settings: Arc::new(settings),
            instance: instance.into(),
            demo: false,
        }
    }
}
