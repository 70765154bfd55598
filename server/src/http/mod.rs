//! The HTTP surface: one axum router holding the Leptos pages and server functions,
//! the REST API, login/logout, health and metrics, wrapped (outermost first) in
//! tracing, metrics, security headers, the session layer, the cross-origin check and
//! authentication.

mod authn;
mod csrf;
mod limits;
mod login;
mod security;

use crate::api;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{middleware, Router};
use coastguard_app::{shell, App};
use coastguard_core::sessions::SessionBackend;
use coastguard_core::AppState;
use coastguard_core::Error;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::metrics;
pub use crate::state::{ServerState, SESSION_COOKIE};

/// Sets `TCP_NODELAY` on every accepted connection. Pages stream (the shell first, then
/// each part as its data resolves); with Nagle's algorithm each later small write waits
/// for the client's delayed ACK, which added 40 ms to every overview request.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

pub fn router(app: AppState) -> Router {
    let settings = app.settings.clone();
    let leptos = LeptosOptions::builder()
        .output_name("coastguard")
        .site_root(settings.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let (api_routes, openapi) = api::router().split_for_parts();
    let state = ServerState {
        app: app.clone(),
        leptos: leptos.clone(),
        metrics: Arc::new(metrics::Metrics::new()),
        openapi: Arc::new(api::document(&openapi)),
    };
    let limits = limits::Limits::new(
        settings.max_concurrent_requests as usize,
        std::time::Duration::from_secs(settings.request_timeout_seconds as u64),
    );

    let sessions = SessionManagerLayer::new(SessionBackend::new(app.store.db()))
        .with_name(SESSION_COOKIE)
        .with_secure(settings.cookie_secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            settings.session_idle_minutes,
        )));

    let routes = app_routes();
    let context_state = app.clone();
    Router::new()
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .merge(api_routes)
        .route("/api/{*rest}", any(api::not_found))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let leptos = leptos.clone();
                move || shell(leptos.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(shell))
        .layer(middleware::from_fn(multipart_only))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            authn::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::verify_origin,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .layer(middleware::from_fn_with_state(limits, limits::bound))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The UI's report upload (a server function taking multipart data). server_fn 0.8 panics
/// on a multipart body without a boundary, so such requests are refused before it.
pub const UPLOAD_PATH: &str = "/ui/upload_scan";

async fn multipart_only(req: Request, next: Next) -> Response {
    if req.uri().path() == UPLOAD_PATH {
        let fine = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("multipart/form-data") && ct.contains("boundary=")
            });
        if !fine {
            return Error::Malformed(
                "send the reports as multipart/form-data (or use POST /api/v1/scans)".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// The app's routes, listed once per process. Listing them renders the app with resource
/// loading suppressed, and Leptos keeps that switch in one process-wide flag
/// (`SuppressResourceLoad`): a page rendering while routes are listed again (a second
/// router in one process, as the tests build dozens) would wait for its data for ever and
/// be cut off by the request timeout, half sent. Listed once, before any router exists,
/// nothing renders meanwhile.
fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}
