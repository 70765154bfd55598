//! Authentication and authorisation.
//!
//! - [`password`]: argon2id hashing, on the blocking pool.
//! - [`token`]: API token secrets (only their SHA-256 is stored).
//! - [`principal`]: who is making a request, and the role guards (`Authed<Admin>` ...)
//!   that handlers and server functions take, so a missing check does not compile.
//! - [`login`]: the login procedure with throttling and audit.
//! - [`sealing`]: encryption of the secrets Coastguard stores (cluster credentials).

pub mod login;
pub mod password;
pub mod principal;
pub mod sealing;
pub mod token;

pub use principal::{
    Admin, Analyst, AuthError, Authed, Ingest, MinRole, Principal, PrincipalKind, Viewer,
};
