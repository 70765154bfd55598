//! Cross-site request forgery protection for cookie-authenticated requests.
//!
//! Browsers label every request with where it comes from: `Sec-Fetch-Site` (all current
//! browsers) and `Origin` (on every POST). A state-changing request that carries the
//! session cookie is refused unless it comes from this site. Requests with neither
//! header are not from a browser, so they can't be forged by one; requests with a
//! bearer token (or an ingest key) carry no ambient credentials. Together with `SameSite=Lax` cookies this
//! is the "verify origin with standard headers" defence (OWASP CSRF cheat sheet).

use crate::state::ServerState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use coastguard_core::Error;

pub async fn verify_origin(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let token = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key(super::authn::INGEST_KEY_HEADER);
    if safe || token {
        return next.run(req).await;
    }
    let public = state
        .app
        .settings
        .public_url
        .as_ref()
        .map(|u| u.origin().ascii_serialization());
    if same_site(req.headers(), public.as_deref()) {
        next.run(req).await
    } else {
        tracing::warn!(path = %req.uri().path(), "refused a cross-origin state-changing request");
        Error::Forbidden("cross-origin request refused".into()).into_response()
    }
}

fn same_site(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match get("origin") {
        None => true,
        Some(origin) => {
            if public_origin == Some(origin) {
                return true;
            }
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            authority.is_some() && authority == get("host")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(same_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            None
        ));
        assert!(!same_site(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://h:1"),
                ("host", "h:1")
            ]),
            None
        ));
        assert!(!same_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            None
        ));
    }

    #[test]
    fn origin_must_match_host_or_public_url() {
        assert!(same_site(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            None
        ));
        assert!(!same_site(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000")
            ]),
            None
        ));
        assert!(!same_site(
            &headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]),
            None
        ));
        assert!(same_site(
            &headers(&[
                ("origin", "https://cg.example.com"),
                ("host", "10.0.0.5:3000")
            ]),
            Some("https://cg.example.com")
        ));
    }

    #[test]
    fn non_browser_clients_pass() {
        assert!(same_site(&headers(&[("host", "127.0.0.1:3000")]), None));
    }
}
