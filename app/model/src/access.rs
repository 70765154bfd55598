//! Users, roles, API tokens and the audit log, as the UI and the REST API see them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user or token may do. Viewer, analyst and admin are ordered: each can do what
/// the ones below it can. `ingest` (tokens only) sends runtime events and reads nothing;
/// analysts and admins may send them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Tokens only: sends runtime events (`POST /api/v1/alerts…`), reads nothing.
    Ingest,
    /// Reads everything, changes nothing.
    Viewer,
    /// Also triages: accepts risks, suppresses findings, uploads scans, acknowledges alerts.
    Analyst,
    /// Also manages users, tokens, engines, clusters and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Ingest, Role::Viewer, Role::Analyst, Role::Admin];
    /// The roles a user may hold (`ingest` is for tokens).
    pub const FOR_USERS: [Role; 3] = [Role::Viewer, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// True when a holder of `self` may do what needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        match (self, needed) {
            (Role::Ingest, needed) => needed == Role::Ingest,
            (holder, Role::Ingest) => holder >= Role::Analyst,
            (holder, needed) => holder >= needed,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ingest" => Ok(Role::Ingest),
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}': expected one of viewer, analyst, admin, ingest"
            )),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// The signed-in user, or the token, making a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub name: String,
    pub role: Role,
    /// `user` for a browser session, `token` for an API token.
    pub kind: String,
    /// The server holds the demo estate (`coastguard demo`): invented data.
    #[serde(default)]
    pub demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    /// `viewer`, `analyst` or `admin` (`ingest` is for tokens).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(viewer|analyst|admin)$"))]
    pub role: Role,
    pub password: String,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    /// `viewer`, `analyst` or `admin` (`ingest` is for tokens).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^(viewer|analyst|admin)$"))]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub name: String,
    pub role: Role,
    /// Days until the token stops working (1–3650); absent: never expires.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The first characters of the secret, enough to recognise it; never the secret.
    pub prefix: String,
    /// The user who created it and answers for it; `None`: created at the command line.
    pub created_by: Option<String>,
    pub created_at: i64,
    /// `None`: never expires.
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Its creator is disabled, so it is refused until they are enabled again.
    pub owner_disabled: bool,
    /// Accepted now: not revoked, not expired, its owner not disabled.
    pub active: bool,
}

/// A freshly created token: the only time its secret is ever shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    pub token: TokenView,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// `user`, `token`, `cli` or `system`.
    pub actor_kind: String,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    /// Free-form JSON with what changed; never secrets.
    pub detail: Option<String>,
    pub ip: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin.allows(Role::Analyst));
        assert!(Role::Analyst.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Analyst));
        assert!(!Role::Analyst.allows(Role::Admin));
    }

    #[test]
    fn ingest_sends_events_and_reads_nothing() {
        assert!(Role::Ingest.allows(Role::Ingest));
        for needed in Role::FOR_USERS {
            assert!(
                !Role::Ingest.allows(needed),
                "ingest must not do {needed}'s work"
            );
        }
        assert!(Role::Analyst.allows(Role::Ingest));
        assert!(Role::Admin.allows(Role::Ingest));
        assert!(!Role::Viewer.allows(Role::Ingest));
        assert_eq!("INGEST".parse::<Role>(), Ok(Role::Ingest));
        assert!(!Role::FOR_USERS.contains(&Role::Ingest));
    }

    #[test]
    fn role_parses_case_insensitively_and_rejects_unknown() {
        assert_eq!("Admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!(" viewer ".parse::<Role>(), Ok(Role::Viewer));
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.contains("root"), "{err}");
    }

    #[test]
    fn role_serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&Role::Analyst).unwrap(),
            "\"analyst\""
        );
    }
}
