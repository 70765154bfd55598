//! The one error type of Coastguard's operations and REST API. It renders as the
//! documented JSON envelope ([`coastguard_model::ErrorBody`]); internal causes are
//! logged with context and the client gets a bare 500, never the database's text.

use crate::auth::AuthError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coastguard_model::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request could not be parsed at all (bad JSON syntax, wrong content type).
    #[error("{0}")]
    Malformed(String),
    /// Bad input; `location` names the field, JSON path or line when known.
    #[error("{message}")]
    Invalid {
        message: String,
        location: Option<String>,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The server can't serve the request now (too busy, or it took too long).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid {
            message: message.into(),
            location: None,
        }
    }

    pub fn invalid_at(location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            message: message.into(),
            location: Some(location.into()),
        }
    }

    /// The message for people, with where the problem is when that is known.
    pub fn detailed(&self) -> String {
        match self {
            Error::Invalid {
                message,
                location: Some(l),
            } => format!("{message} (at {l})"),
            other => other.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthenticated => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Malformed(_) => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Malformed(_) => "malformed",
            Error::Invalid { .. } => "invalid",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The envelope clients see. Internal errors say nothing about their cause.
    pub fn body(&self) -> ErrorBody {
        let mut body = match self {
            Error::Internal(_) => ErrorBody::new("internal", "internal error; see the server log"),
            other => ErrorBody::new(other.code(), other.to_string()),
        };
        if let Error::Invalid { location, .. } = self {
            body.error.location = location.clone();
        }
        body
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("not found".into()),
            StoreError::Conflict(message) => Error::Conflict(message),
            StoreError::Invalid(field, message) => Error::invalid_at(field, message),
            StoreError::Db(e) => Error::Internal(anyhow::Error::new(e).context("database")),
            e @ StoreError::Unaudited => Error::Internal(anyhow::Error::new(e)),
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated => Error::Unauthenticated,
            AuthError::Forbidden { .. } => Error::Forbidden(e.to_string()),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self {
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let status = self.status();
        let mut res = (status, Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"coastguard\""),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = Error::from(StoreError::Db(sqlx::Error::Protocol(
            "secret table xyz".into(),
        )));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&e.body()).unwrap();
        assert!(!body.contains("xyz"), "{body}");
    }

    #[test]
    fn invalid_errors_carry_their_location() {
        let body = Error::invalid_at("name", "user name is required").body();
        assert_eq!(body.error.code, "invalid");
        assert_eq!(body.error.location.as_deref(), Some("name"));
    }
}
