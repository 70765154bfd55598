//! Authentication middleware: works out who is calling (API token or browser session),
//! puts the [`Principal`] into the request, and turns anonymous requests away from
//! everything but the login page, health checks and static assets.

use crate::state::ServerState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use coastguard_core::auth::principal::ClientIp;
use coastguard_core::auth::{token, Principal, PrincipalKind};
use coastguard_core::sessions::{SessionCheck, SessionUser, AUTH_KEY};
use coastguard_core::{now, Error};
use coastguard_model::Role;
use std::net::SocketAddr;
use tower_sessions::Session;

/// The login page's server function: whether this is the demo estate, nothing else.
const INSTANCE_INFO_PATH: &str = "/ui/instance";

/// Reachable without signing in.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login"
            | "/healthz"
            | "/readyz"
            | "/favicon.svg"
            | "/favicon.ico"
            | "/robots.txt"
            | INSTANCE_INFO_PATH
    ) || path.starts_with("/pkg/")
}

/// Answered with JSON errors rather than redirects to the login page.
fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ui/") || path == "/metrics"
}

pub async fn authenticate(
    State(state): State<ServerState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ip) = client_ip(&req, state.app.settings.trust_proxy) {
        req.extensions_mut().insert(ClientIp(ip));
    }

    let principal = match (bearer_token(&req), ingest_key(&req)) {
        (Some(secret), _) => match token_principal(&state, &secret).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => return Error::Unauthenticated.into_response(),
            Err(e) => return e.into_response(),
        },
        // Only an ingest token is taken from this header: a stronger one sent where
        // Authorization cannot be set would travel in tools' configuration files.
        (None, Some(secret)) => match token_principal(&state, &secret).await {
            Ok(Some(p)) if p.role == Role::Ingest => Some(p),
            Ok(_) => return Error::Unauthenticated.into_response(),
            Err(e) => return e.into_response(),
        },
        (None, None) => match session_principal(&state, &session).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        },
    };

    let path = req.uri().path().to_string();
    match principal {
        Some(principal) => {
            if path == "/login" && req.method() == Method::GET {
                return Redirect::to("/").into_response();
            }
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        None if is_public(&path) => next.run(req).await,
        None if is_machine_path(&path) => Error::Unauthenticated.into_response(),
        None if req.method() == Method::GET || req.method() == Method::HEAD => {
            let wanted = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
            let target = if wanted == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", urlencode(wanted))
            };
            Redirect::to(&target).into_response()
        }
        None => Error::Unauthenticated.into_response(),
    }
}

/// The header an ingest token may come in instead of `Authorization`, for senders that
/// can add a header but not an Authorization scheme (Falco's `http_output` custom
/// headers, Falcosidekick's webhook `customHeaders`).
pub const INGEST_KEY_HEADER: &str = "x-coastguard-ingest-key";

/// The ingest key, read on the two endpoints that take events only.
fn ingest_key(req: &Request) -> Option<String> {
    let path = req.uri().path();
    if req.method() != Method::POST || !matches!(path, "/api/v1/alerts" | "/api/v1/alerts/falco") {
        return None;
    }
    let value = req.headers().get(INGEST_KEY_HEADER)?;
    Some(value.to_str().unwrap_or_default().trim().to_string())
}

/// `Authorization: Bearer <secret>`. Any other Authorization scheme counts as a bad
/// token rather than falling back to the session.
fn bearer_token(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let value = value.to_str().unwrap_or_default();
    Some(
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
}

async fn token_principal(state: &ServerState, secret: &str) -> Result<Option<Principal>, Error> {
    if !token::looks_valid(secret) {
        return Ok(None);
    }
    let store = &state.app.store;
    let at = now();
    let Some(row) = store.token_by_hash(&token::hash(secret)).await? else {
        return Ok(None);
    };
    if !row.is_active(at) {
        return Ok(None);
    }
    if row.needs_touch(at) {
        store.touch_token(row.id, at).await?;
    }
    Ok(Some(Principal {
        kind: PrincipalKind::Token { id: row.id },
        name: format!("token:{}", row.name),
        role: row.role,
    }))
}

async fn session_principal(
    state: &ServerState,
    session: &Session,
) -> Result<Option<Principal>, Error> {
    let stored: Option<SessionUser> = session
        .get(AUTH_KEY)
        .await
        .map_err(|e| anyhow::anyhow!("reading session: {e}"))?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let end = |session: &Session| {
        let session = session.clone();
        async move {
            session
                .flush()
                .await
                .map_err(|e| anyhow::anyhow!("ending session: {e}"))
        }
    };
    let at = now();
    match stored.check(at, state.app.settings.session_max_days * 86_400) {
        SessionCheck::Expired => {
            end(session).await?;
            return Ok(None);
        }
        // Writing the session back pushes its idle expiry (and the cookie's) back.
        SessionCheck::Renew => session
            .insert(
                AUTH_KEY,
                SessionUser {
                    renewed_at: at,
                    ..stored.clone()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("renewing session: {e}"))?,
        SessionCheck::Keep => {}
    }
    let user = match state.app.store.user(stored.user_id).await {
        Ok(user) => Some(user),
        Err(coastguard_core::StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    match user {
        Some(user) if !user.disabled && user.session_epoch == stored.epoch => Ok(Some(Principal {
            kind: PrincipalKind::User { id: user.id },
            name: user.name,
            role: user.role,
        })),
        // Deleted, disabled or password changed since this session began.
        _ => {
            end(session).await?;
            Ok(None)
        }
    }
}

fn client_ip(req: &Request, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        // The proxy appends the address it saw: the last entry is the one we can trust.
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// Percent-encodes a path for use as a query value.
pub(super) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_login_health_and_assets_are_public() {
        for path in [
            "/login",
            "/healthz",
            "/readyz",
            "/pkg/coastguard.wasm",
            "/favicon.svg",
            "/ui/instance",
        ] {
            assert!(is_public(path), "{path}");
        }
        for path in [
            "/",
            "/metrics",
            "/api/v1/openapi.json",
            "/admin/users",
            "/logout",
            "/loginx",
            "/ui/instance2",
            "/ui/current_user",
        ] {
            assert!(!is_public(path), "{path}");
        }
    }

    #[test]
    fn next_parameter_is_encoded() {
        assert_eq!(
            urlencode("/images?page=2&q=a b"),
            "/images%3Fpage%3D2%26q%3Da%20b"
        );
    }
}
