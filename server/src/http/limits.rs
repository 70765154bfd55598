//! Bounds on every request: how many are served at once (`max_concurrent_requests`;
//! one more waits up to a second for a slot, then gets `503`) and how long one may take
//! to produce the head of its answer (`request_timeout_seconds`, then `503`). Bodies that
//! stream after their head (pages, exports) are not cut while they flow; one that stalls
//! (no next chunk within the same timeout: a page whose data never comes) is ended, so
//! that no answer holds its connection for ever.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use coastguard_core::Error;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutBody;

/// How long a request waits for a free slot before it is turned away.
const QUEUE_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Limits {
    in_flight: Arc<Semaphore>,
    timeout: Duration,
}

impl Limits {
    pub fn new(max_concurrent: usize, timeout: Duration) -> Limits {
        Limits {
            in_flight: Arc::new(Semaphore::new(max_concurrent)),
            timeout,
        }
    }
}

pub async fn bound(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    // Health checks must answer even when the server is saturated.
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    let permit = tokio::time::timeout(QUEUE_WAIT, limits.in_flight.clone().acquire_owned()).await;
    let Ok(Ok(_permit)) = permit else {
        return Error::Unavailable(
            "the server is serving as many requests as it allows; try again shortly".into(),
        )
        .into_response();
    };
    match tokio::time::timeout(limits.timeout, next.run(req)).await {
        Ok(res) => res.map(|body| Body::new(TimeoutBody::new(limits.timeout, body))),
        Err(_) => Error::Unavailable(format!(
            "the request took longer than {} s and was stopped",
            limits.timeout.as_secs_f64()
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::{middleware, Router};
    use futures::StreamExt as _;
    use tower::ServiceExt;

    fn app(limits: Limits) -> Router {
        Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    "done"
                }),
            )
            .route(
                "/stalls",
                get(|| async {
                    // One chunk, then nothing for ever.
                    let chunks = futures::stream::once(async {
                        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"<html>"))
                    })
                    .chain(futures::stream::pending());
                    Body::from_stream(chunks)
                }),
            )
            .route("/healthz", get(|| async { "ok" }))
            .layer(middleware::from_fn_with_state(limits, bound))
    }

    fn get_req(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_slow_request_is_stopped_at_the_timeout() {
        let res = app(Limits::new(4, Duration::from_millis(100)))
            .oneshot(get_req("/slow"))
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        let res = app(Limits::new(4, Duration::from_secs(5)))
            .oneshot(get_req("/slow"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    #[tokio::test]
    async fn a_body_that_stalls_is_ended_after_the_timeout() {
        let res = app(Limits::new(4, Duration::from_millis(200)))
            .oneshot(get_req("/stalls"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut body = res.into_body().into_data_stream();
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(&first[..], b"<html>");
        let started = std::time::Instant::now();
        let next = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("the stalled body was not ended");
        assert!(matches!(next, Some(Err(_))), "{next:?}");
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn requests_beyond_the_limit_wait_then_are_turned_away_but_health_is_not() {
        let limits = Limits::new(1, Duration::from_secs(5));
        let router = app(limits.clone());
        // Hold the only slot for longer than a newcomer waits.
        let _held = limits.in_flight.clone().acquire_owned().await.unwrap();
        let res = router.clone().oneshot(get_req("/slow")).await.unwrap();
        assert_eq!(res.status(), 503);
        let res = router.oneshot(get_req("/healthz")).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}
