//! The UI's server functions, mounted under `/ui/`. Each one is thin: check the role,
//! call `coastguard-core`, return plain data. The REST API calls the same core
//! functions, so the two can't drift apart.

pub mod access;
pub mod alerts;
pub mod exceptions;
pub mod inventory;
pub mod kube;
pub mod notify;
pub mod overview;
pub mod registries;
pub mod risk;
pub mod scans;
pub mod signatures;
pub mod trends;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use crate::error::AppError;
    use axum::http::request::Parts;
    use coastguard_core::auth::{Authed, MinRole};
    use coastguard_core::AppState;
    use leptos::prelude::use_context;

    /// A whole number typed into a form field, or an error naming the field.
    pub fn whole_number(field: &str, v: &str) -> Result<i64, AppError> {
        v.trim().parse::<i64>().map_err(|_| AppError::Invalid {
            message: format!("{} must be a whole number", field.replace('_', " ")),
            field: Some(field.into()),
        })
    }

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or(AppError::Internal)
    }

    /// The caller, if they hold role `R`; otherwise the matching error (and HTTP status).
    pub fn require<R: MinRole>() -> Result<Authed<R>, AppError> {
        let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
        Authed::<R>::from_parts(&parts).map_err(|e| coastguard_core::Error::from(e).into())
    }
}
