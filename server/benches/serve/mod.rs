//! The real router on a loopback port, for the server's benchmarks.

use coastguard_core::AppState;
use std::net::SocketAddr;

/// Serves `coastguard::http::router(state)` on a free loopback port: its base URL, and
/// the task to abort when done.
pub async fn serve(state: AppState) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = coastguard::http::router(state);
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (base, task)
}
