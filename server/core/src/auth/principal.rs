//! Who is making a request, and the guards that check their role.
//!
//! The web layer's authentication middleware puts a [`Principal`] into the request's
//! extensions (from a bearer token or a browser session). Handlers then ask for
//! `Authed<Viewer>`, `Authed<Analyst>` or `Authed<Admin>`: extraction fails with 401
//! when nobody is signed in and 403 when the role is too low, so a handler cannot
//! forget the check.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use coastguard_model::{Me, Role};
use std::marker::PhantomData;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A signed-in user (browser session).
    User { id: i64 },
    /// An API token.
    Token { id: i64 },
    /// The operator at the command line (`coastguard user add`, `token create`).
    Cli,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// Who this is; `demo` when the server holds the demo estate.
    pub fn me(&self, demo: bool) -> Me {
        Me {
            name: self.name.clone(),
            role: self.role,
            kind: self.kind_str().to_string(),
            demo,
        }
    }

    pub fn kind_str(&self) -> &'static str {
        match self.kind {
            PrincipalKind::User { .. } => "user",
            PrincipalKind::Token { .. } => "token",
            PrincipalKind::Cli => "cli",
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.kind {
            PrincipalKind::User { id } => Some(id),
            PrincipalKind::Token { .. } | PrincipalKind::Cli => None,
        }
    }

    pub fn actor_id(&self) -> Option<i64> {
        match self.kind {
            PrincipalKind::User { id } | PrincipalKind::Token { id } => Some(id),
            PrincipalKind::Cli => None,
        }
    }
}

/// The client's address as the server sees it (after trusted proxy headers), for the
/// audit log and login throttling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

/// The lowest role a guard accepts.
pub trait MinRole: Send + Sync + 'static {
    const ROLE: Role;
}

/// Tokens that send runtime events (the `ingest` role), analysts and admins.
#[derive(Debug)]
pub struct Ingest;
/// Anyone signed in (users, and tokens but ingest ones).
#[derive(Debug)]
pub struct Viewer;
/// Analysts and admins.
#[derive(Debug)]
pub struct Analyst;
/// Admins only.
#[derive(Debug)]
pub struct Admin;

impl MinRole for Ingest {
    const ROLE: Role = Role::Ingest;
}
impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Analyst {
    const ROLE: Role = Role::Analyst;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// Proof that the request's principal holds at least role `R`.
#[derive(Debug)]
pub struct Authed<R: MinRole> {
    pub principal: Principal,
    pub ip: Option<String>,
    _role: PhantomData<R>,
}

impl Authed<Analyst> {
    /// Someone acting from inside Coastguard rather than through a request: the demo
    /// estate's pipeline and analyst replaying their past work. The audit log records
    /// `name`.
    pub fn acting_as(name: &str) -> Authed<Analyst> {
        Authed {
            principal: Principal {
                kind: PrincipalKind::Cli,
                name: name.to_string(),
                role: Role::Analyst,
            },
            ip: None,
            _role: PhantomData,
        }
    }
}

impl<R: MinRole> Authed<R> {
    /// The check itself: usable wherever request parts are at hand.
    pub fn from_parts(parts: &Parts) -> Result<Self, AuthError> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(AuthError::Unauthenticated)?;
        if !principal.role.allows(R::ROLE) {
            return Err(AuthError::Forbidden { needed: R::ROLE });
        }
        Ok(Authed {
            principal,
            ip: parts.extensions.get::<ClientIp>().map(|ip| ip.0.clone()),
            _role: PhantomData,
        })
    }
}

impl Authed<Admin> {
    /// The command line acts with full rights: whoever runs it already controls the
    /// server's configuration and database.
    pub fn cli() -> Authed<Admin> {
        let who = std::env::var("USER").unwrap_or_else(|_| "operator".into());
        Authed {
            principal: Principal {
                kind: PrincipalKind::Cli,
                name: format!("cli:{who}"),
                role: Role::Admin,
            },
            ip: None,
            _role: PhantomData,
        }
    }
}

impl<R: MinRole> Authed<R> {
    /// The same principal as a viewer: every principal but an ingest token may view.
    pub fn as_viewer(&self) -> Authed<Viewer> {
        debug_assert!(self.principal.role.allows(Role::Viewer));
        Authed {
            principal: self.principal.clone(),
            ip: self.ip.clone(),
            _role: PhantomData,
        }
    }

    /// The same principal proven to hold a lower role (an admin is an analyst too).
    pub fn as_analyst(&self) -> Authed<Analyst> {
        debug_assert!(self.principal.role.allows(Analyst::ROLE) || R::ROLE >= Analyst::ROLE);
        Authed {
            principal: self.principal.clone(),
            ip: self.ip.clone(),
            _role: PhantomData,
        }
    }
}

impl<S: Send + Sync, R: MinRole> FromRequestParts<S> for Authed<R> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("this needs the {needed} role")]
    Forbidden { needed: Role },
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        crate::error::Error::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_with(principal: Option<Principal>) -> Parts {
        let (mut parts, ()) = Request::new(()).into_parts();
        if let Some(p) = principal {
            parts.extensions.insert(p);
        }
        parts
    }

    fn principal(role: Role) -> Principal {
        Principal {
            kind: PrincipalKind::User { id: 1 },
            name: "u".into(),
            role,
        }
    }

    #[test]
    fn guards_enforce_minimum_roles() {
        let viewer = parts_with(Some(principal(Role::Viewer)));
        assert!(Authed::<Viewer>::from_parts(&viewer).is_ok());
        assert_eq!(
            Authed::<Analyst>::from_parts(&viewer).unwrap_err(),
            AuthError::Forbidden {
                needed: Role::Analyst
            }
        );
        let admin = parts_with(Some(principal(Role::Admin)));
        assert!(Authed::<Admin>::from_parts(&admin).is_ok());
        assert_eq!(
            Authed::<Viewer>::from_parts(&parts_with(None)).unwrap_err(),
            AuthError::Unauthenticated
        );
    }
}
