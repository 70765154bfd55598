//! Prometheus metrics at `/metrics` (any signed-in role or API token): request counts and
//! latencies per route, plus the posture figures Coastguard itself keeps, read at scrape
//! time so that every replica reports the same shared numbers.

use crate::state::ServerState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use coastguard_model::{Severity, SeverityCounts};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::fmt::Write;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16)));
        registry.register(
            "coastguard_http_requests",
            "HTTP requests served",
            requests.clone(),
        );
        registry.register(
            "coastguard_http_request_duration_seconds",
            "Time to produce a response (until headers)",
            latency.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
        }
    }
}

/// Counts every request by its route template (never the raw path: that would let
/// clients create unbounded label values).
pub async fn track(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    let method = method_label(req.method()).to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// The method as a label: one of the standard methods, or `other`. Any token is a valid
/// HTTP method, so taking it as it came would let a client add label values without end.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The scrape body (OpenMetrics text).
pub async fn render(state: &ServerState) -> Response {
    let mut out = String::new();
    if let Err(e) =
        prometheus_client::encoding::text::encode_registry(&mut out, &state.metrics.registry)
    {
        return coastguard_core::Error::Internal(anyhow::anyhow!("encoding metrics: {e}"))
            .into_response();
    }
    let _ = writeln!(
        out,
        "# HELP coastguard_password_checks Password checks (argon2) run since the server started.\n\
         # TYPE coastguard_password_checks counter\n\
         coastguard_password_checks_total {}",
        coastguard_core::auth::password::checks_run()
    );
    let db_up = state.app.store.db().ping().await.is_ok();
    gauge(
        &mut out,
        "coastguard_database_up",
        "1 when the database answers",
        &[("", i64::from(db_up))],
    );
    if db_up {
        match coastguard_core::posture::overview(&state.app).await {
            Ok(o) => {
                gauge(
                    &mut out,
                    "coastguard_hosts",
                    "Hosts (engines and nodes) not gone",
                    &[("", o.hosts)],
                );
                gauge(
                    &mut out,
                    "coastguard_hosts_unreachable",
                    "Hosts that could not be reached",
                    &[("", o.hosts_unreachable)],
                );
                gauge(
                    &mut out,
                    "coastguard_images",
                    "Images known",
                    &[("", o.images)],
                );
                gauge(
                    &mut out,
                    "coastguard_containers_running",
                    "Running containers",
                    &[("", o.containers_running)],
                );
                severity_gauge(
                    &mut out,
                    "coastguard_open_vulnerability_findings",
                    "Open vulnerability findings",
                    &o.open_vulnerabilities,
                );
                severity_gauge(
                    &mut out,
                    "coastguard_open_config_findings",
                    "Open configuration findings",
                    &o.open_config_findings,
                );
                severity_gauge(
                    &mut out,
                    "coastguard_open_runtime_alerts",
                    "Open runtime alerts",
                    &o.open_runtime_alerts,
                );
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading posture counts"),
        }
    }
    out.push_str("# EOF\n");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// Appends a gauge; each entry is `(label string, value)`, the label string either
/// empty or `key="value"`.
fn gauge(out: &mut String, name: &str, help: &str, samples: &[(&str, i64)]) {
    let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

fn severity_gauge(out: &mut String, name: &str, help: &str, counts: &SeverityCounts) {
    let labels: Vec<(String, i64)> = Severity::DESCENDING
        .iter()
        .map(|s| (format!("severity=\"{s}\""), counts.get(*s)))
        .collect();
    let samples: Vec<(&str, i64)> = labels.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    gauge(out, name, help, &samples);
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn unknown_methods_become_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for m in ["BARSMETHOD7", "get", "PROPFIND"] {
            let method = Method::from_bytes(m.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{m}");
        }
    }
}
