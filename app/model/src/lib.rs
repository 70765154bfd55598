//! Plain data shared by Coastguard's server and its wasm UI.
//!
//! Everything here is serde data and pure functions (validation, formatting), so it
//! compiles for both targets. Nothing here touches I/O, SQL or Leptos.

mod access;
pub mod alerts;
pub mod docker;
mod error;
pub mod exceptions;
pub mod findings;
pub mod inventory;
pub mod kube;
pub mod notify;
mod overview;
pub mod registries;
pub mod risk;
mod severity;
pub mod signatures;
mod time;
pub mod trends;
pub mod validate;
pub mod vulns;
pub mod whole;

pub use access::{
    AuditEntry, Me, NewToken, NewUser, PasswordReset, Role, TokenRequest, TokenView, UserPatch,
    UserView,
};
pub use error::{ErrorBody, ErrorDetail};
pub use overview::{CheckCount, InstanceInfo, Overview, SetupInfo, SeverityCounts};
pub use severity::Severity;
pub use time::{format_age, format_day, format_timestamp};

/// A list of items plus, when there are more, the cursor that fetches the next page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
