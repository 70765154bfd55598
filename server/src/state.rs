//! What every request handler sees: the domain state plus what only the web layer
//! needs. Below the REST handlers (`api`) and the router (`http`), which both import it.

use axum::extract::FromRef;
use coastguard_core::AppState;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// The router's state: the domain state plus what only the web layer needs.
#[derive(Clone)]
pub struct ServerState {
    pub app: AppState,
    pub leptos: LeptosOptions,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub openapi: Arc<String>,
}

impl FromRef<ServerState> for AppState {
    fn from_ref(s: &ServerState) -> AppState {
        s.app.clone()
    }
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(s: &ServerState) -> LeptosOptions {
        s.leptos.clone()
    }
}

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "coastguard_session";
