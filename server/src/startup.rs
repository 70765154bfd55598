//! Opening the database and running the server.

use crate::http;
use anyhow::Context;
use coastguard_core::db::{redact_url, Db};
use coastguard_core::{access, jobs, AppState, Settings, Store};
use std::time::Duration;
use tokio::sync::watch;

/// Connects, migrates and returns the application state. Fails with one line naming
/// the (redacted) database URL.
pub async fn open(settings: Settings) -> anyhow::Result<AppState> {
    let url = settings.database_url();
    let db = Db::connect(&url).await?;
    db.migrate()
        .await
        .with_context(|| format!("database {}: migrations failed", redact_url(&url)))?;
    let mut state = AppState::new(Store::new(db), settings);
    state.demo = coastguard_core::demo::mark(&state.store).await?.is_some();
    Ok(state)
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let state = open(settings).await?;
    let settings = state.settings.clone();

    if let Some((name, generated)) = access::bootstrap_admin(&state).await? {
        match generated {
            Some(password) => println!(
                "Created the first admin. Log in as '{name}' with password: {password}\n\
                 (shown once; change it under Account after logging in)"
            ),
            None => println!(
                "Created the first admin. Log in as '{name}' with the password from COASTGUARD_ADMIN_PASSWORD."
            ),
        }
    }

    if settings.cookie_secure
        && !settings.listen.ip().is_loopback()
        && settings
            .public_url
            .as_ref()
            .is_none_or(|u| u.scheme() != "https")
    {
        tracing::warn!(
            "the session cookie is Secure, so browsers only keep it over HTTPS (or on localhost): \
             serve Coastguard behind HTTPS and set COASTGUARD_PUBLIC_URL, or set COASTGUARD_COOKIE_SECURE=false \
             on a trusted plain-HTTP network"
        );
    }

    let site_root = settings.site_root.clone();
    if !site_root.join("pkg").is_dir() {
        tracing::warn!(
            site_root = %site_root.display(),
            "no built UI assets found (pkg/ missing): pages will not hydrate; build with `cargo leptos build`"
        );
    }

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let listener = http::no_delay(listener);

    // Clusters the configuration names (kubeconfig_file, kube_in_cluster): a file that
    // cannot be read or is refused stops the start with the reason.
    for line in coastguard_core::kube::configured::apply(&state)
        .await
        .map_err(|e| anyhow::anyhow!("Kubernetes clusters from the configuration: {e}"))?
    {
        tracing::info!("{line}");
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let housekeeping = jobs::spawn_periodic(
        state.clone(),
        "housekeeping",
        Duration::from_secs(300),
        stop_rx.clone(),
        jobs::housekeeping,
    );
    // Scores follow their inputs within seconds; pages only read stored scores.
    let risk = jobs::spawn_periodic(
        state.clone(),
        "risk",
        Duration::from_secs(10),
        stop_rx.clone(),
        jobs::risk,
    );

    // Webhooks hear of a new alert group within seconds.
    let notifications = jobs::spawn_periodic(
        state.clone(),
        "notifications",
        Duration::from_secs(2),
        stop_rx.clone(),
        jobs::notifications,
    );

    let snapshots = jobs::spawn_periodic(
        state.clone(),
        "snapshots",
        Duration::from_secs(900),
        stop_rx.clone(),
        jobs::snapshots,
    );

    // The demo estate's engines are invented, and a real engine's inventory must not be
    // mixed into it: no collector runs on the demo's database.
    let collectors = if state.demo {
        tracing::info!(
            "this database holds the demo estate: no Docker engine or cluster is collected"
        );
        Vec::new()
    } else {
        vec![
            coastguard_core::docker::collector::spawn_supervisor(state.clone(), stop_rx.clone()),
            coastguard_core::kube::collector::spawn_supervisor(state.clone(), stop_rx.clone()),
            // The demo's registries are invented too: they are not listed, and their
            // images' signatures are not looked up.
            jobs::spawn_periodic(
                state.clone(),
                "registries",
                Duration::from_secs(60),
                stop_rx.clone(),
                jobs::registries,
            ),
            jobs::spawn_periodic(
                state.clone(),
                "signatures",
                Duration::from_secs(600),
                stop_rx.clone(),
                jobs::signatures,
            ),
        ]
    };

    let app = http::router(state.clone());
    tracing::info!(%addr, database = %redact_url(&settings.database_url()), "coastguard listening");
    if state.demo {
        println!("Coastguard is serving the DEMO ESTATE (invented data) at http://{addr}/");
    } else {
        println!("Coastguard is running at http://{addr}/");
    }

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;

    let _ = stop_tx.send(true);
    let _ = housekeeping.await;
    let _ = risk.await;
    let _ = snapshots.await;
    let _ = notifications.await;
    for collector in collectors {
        let _ = collector.await;
    }
    state.store.db().close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
