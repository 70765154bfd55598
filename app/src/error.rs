//! The error type of the UI's server functions: plain serde data, so the browser gets
//! the same variants the server produced and can show a precise message.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    Unauthenticated,
    Forbidden(String),
    NotFound(String),
    Invalid {
        message: String,
        field: Option<String>,
    },
    Conflict(String),
    TooManyRequests(String),
    /// Something failed on the server; details are in the server log only.
    Internal,
    /// The call itself failed (network, encoding).
    Transport(String),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Unauthenticated => f.write_str("Your session has ended. Log in again."),
            AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::TooManyRequests(m) => f.write_str(m),
            AppError::Invalid { message, .. } => f.write_str(message),
            AppError::Internal => {
                f.write_str("Something went wrong on the server. The error was logged.")
            }
            AppError::Transport(m) => write!(f, "The server could not be reached: {m}"),
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<coastguard_core::Error> for AppError {
    fn from(e: coastguard_core::Error) -> Self {
        use coastguard_core::Error as E;
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(e.status());
        }
        match e {
            E::Unauthenticated => AppError::Unauthenticated,
            E::Forbidden(m) => AppError::Forbidden(m),
            E::NotFound(m) => AppError::NotFound(m),
            E::Malformed(m) => AppError::Invalid {
                message: m,
                field: None,
            },
            E::Invalid { message, location } => AppError::Invalid {
                message,
                field: location,
            },
            E::Conflict(m) => AppError::Conflict(m),
            E::PayloadTooLarge(m) => AppError::Invalid {
                message: m,
                field: None,
            },
            // Busy or too slow: try again, like a throttled request.
            E::TooManyRequests(m) | E::Unavailable(m) => AppError::TooManyRequests(m),
            E::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "server function failed");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<coastguard_core::StoreError> for AppError {
    fn from(e: coastguard_core::StoreError) -> Self {
        coastguard_core::Error::from(e).into()
    }
}
