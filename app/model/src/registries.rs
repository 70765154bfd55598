//! Registries as an inventory source: what an admin configures, what a sync found
//! (repositories, tags and the digests they name), and the address rules.

use crate::signatures::SignatureStatus;
use serde::{Deserialize, Serialize};

/// A registry to add. Credentials are stored sealed and never returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRegistry {
    pub name: String,
    /// `https://registry.example.com`, `registry.example.com:5000` (HTTPS), or
    /// `http://host:port` with `insecure`.
    pub url: String,
    /// With `password`, for registries that ask for credentials (HTTP basic, or the
    /// token service's basic login).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// CA certificates (PEM) to trust for this registry, beside the system's.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// Plain HTTP (credentials, if any, then travel in clear: for loopback or a network
    /// you trust).
    #[serde(default)]
    pub insecure: bool,
    /// Repositories to list (`team/app`). Empty: every repository the registry's
    /// catalog lists.
    #[serde(default)]
    pub repositories: Vec<String>,
}

/// A Docker `config.json` to import registries from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DockerConfigImport {
    /// The file's text, as `docker login` writes it (`~/.docker/config.json`).
    pub docker_config: String,
}

/// What an import added, and what it skipped with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedRegistries {
    pub added: Vec<RegistrySummary>,
    pub skipped: Vec<String>,
}

/// A configured registry and what its last sync found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrySummary {
    pub id: i64,
    pub name: String,
    /// The base URL Coastguard talks to.
    pub url: String,
    /// `host[:port]`, as image references name the registry.
    pub host: String,
    pub insecure: bool,
    /// Whether credentials are stored (they are never shown).
    pub authenticated: bool,
    /// Whether extra CA certificates are configured.
    pub custom_ca: bool,
    /// The repositories configured; empty means the catalog's.
    pub repositories: Vec<String>,
    /// `pending` (never synced), `ok`, `unreachable`, `unauthorized` or `error`.
    pub status: String,
    pub last_error: Option<String>,
    /// The last sync that succeeded.
    pub last_sync_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    /// Repositories with at least one tag now.
    pub repository_count: i64,
    pub tag_count: i64,
    /// Distinct images its tags name now.
    pub image_count: i64,
    /// Of those, scanned within the scan age the image policy allows.
    pub scanned_count: i64,
    /// Of those, with a verified signature.
    pub verified_count: i64,
    /// Of those, running in a container or pod now.
    pub running_count: i64,
    /// Tags that have named more than one digest.
    pub moved_tag_count: i64,
}

/// One tag of a registry as it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistryTag {
    pub repository: String,
    pub tag: String,
    /// The manifest (or index) digest the tag names.
    pub digest: String,
    /// The image it names, when it is one (for an index: the first platform's).
    pub image_id: Option<i64>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    /// Scanned within the allowed age.
    pub scanned: bool,
    /// When it was last scanned, if ever.
    pub last_scan_at: Option<i64>,
    /// The latest signature check's status, if checked.
    pub signature: Option<SignatureStatus>,
    /// Runs in a container or pod now.
    pub running: bool,
    /// Digests the tag named before, newest first (a tag that moved).
    pub previous_digests: Vec<String>,
}

/// A registry with its tags (the first page of them, by repository and tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistryDetail {
    pub registry: RegistrySummary,
    pub tags: Vec<RegistryTag>,
    /// More tags exist than are listed.
    pub truncated: bool,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrySync {
    pub registry: RegistrySummary,
    pub repositories: i64,
    pub tags: i64,
    /// Tags whose digest was new (first seen, or moved).
    pub changed_tags: i64,
    /// Requests made to the registry.
    pub requests: i64,
}

impl Default for RegistrySummary {
    fn default() -> Self {
        RegistrySummary {
            id: 0,
            name: String::new(),
            url: String::new(),
            host: String::new(),
            insecure: false,
            authenticated: false,
            custom_ca: false,
            repositories: Vec::new(),
            status: "pending".into(),
            last_error: None,
            last_sync_at: None,
            last_attempt_at: None,
            created_by: None,
            created_at: 0,
            repository_count: 0,
            tag_count: 0,
            image_count: 0,
            scanned_count: 0,
            verified_count: 0,
            running_count: 0,
            moved_tag_count: 0,
        }
    }
}

/// A registry address read: its base URL and its `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAddress {
    pub base: String,
    pub host: String,
}

/// Reads an admin's registry URL: `https://host[:port]`, `host[:port]` (HTTPS), or
/// `http://host[:port]` only with `insecure` (and then a bare host is HTTP too). No path,
/// query, user or password: those go in their own fields.
pub fn registry_url(raw: &str, insecure: bool) -> Result<RegistryAddress, String> {
    let raw = raw.trim();
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, rest)) => (s.to_ascii_lowercase(), rest),
        None => (if insecure { "http" } else { "https" }.to_string(), raw),
    };
    match scheme.as_str() {
        "https" => {}
        "http" if insecure => {}
        "http" => {
            return Err(
                "plain HTTP is refused unless the registry is marked insecure (insecure: true)"
                    .into(),
            )
        }
        other => return Err(format!("the scheme '{other}' is not http or https")),
    }
    let host = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
    if host.is_empty() {
        return Err("a registry URL names a host, like registry.example.com".into());
    }
    if host.len() > 255 {
        return Err("a registry host is at most 255 characters".into());
    }
    if host.contains(['/', '?', '#', '@']) {
        return Err(
            "give the registry's address only (https://host[:port]): no path, query or credentials"
                .into(),
        );
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && !host.starts_with('[') => (name, Some(port)),
        _ if host.starts_with('[') => match host.rsplit_once("]:") {
            Some((name, port)) => (name, Some(port)),
            None => (host.as_str(), None),
        },
        _ => (host.as_str(), None),
    };
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("'{port}' is not a port"));
        }
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let bracketed = name.starts_with('[');
    if !bracketed && (name.is_empty() || !name.chars().all(valid)) {
        return Err(format!("'{name}' is not a host name or address"));
    }
    if bracketed && !name[1..].chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
        return Err(format!("'{name}' is not an IPv6 address"));
    }
    Ok(RegistryAddress {
        base: format!("{scheme}://{host}"),
        host,
    })
}

/// A repository name as the distribution spec allows it (`team/app`): lowercase
/// components of letters, digits and separators, joined by `/`.
pub fn repository_name(raw: &str) -> Result<String, String> {
    let r = raw.trim();
    let component = |c: &str| {
        !c.is_empty()
            && c.chars().all(|ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
            })
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    if r.is_empty() || r.len() > 255 || !r.split('/').all(component) {
        return Err(format!(
            "'{r}' is not a repository name (lowercase, like team/app)"
        ));
    }
    Ok(r.to_string())
}

/// The most repositories a registry's configuration lists.
pub const MAX_CONFIGURED_REPOSITORIES: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls_are_read_with_https_by_default_and_http_only_when_insecure() {
        let ok = |raw: &str, insecure: bool| registry_url(raw, insecure).unwrap();
        assert_eq!(
            ok("registry.example.com", false),
            RegistryAddress {
                base: "https://registry.example.com".into(),
                host: "registry.example.com".into()
            }
        );
        assert_eq!(
            ok(" HTTPS://Reg.Example:5000/ ", false).host,
            "reg.example:5000"
        );
        assert_eq!(ok("127.0.0.1:5000", true).base, "http://127.0.0.1:5000");
        assert_eq!(ok("http://127.0.0.1:5000", true).host, "127.0.0.1:5000");
        assert_eq!(ok("https://[::1]:5000", false).host, "[::1]:5000");
        for (raw, insecure) in [
            ("http://127.0.0.1:5000", false),
            ("ftp://reg", false),
            ("", false),
            ("https://reg.example/v2/", false),
            ("https://user:pw@reg.example", false),
            ("reg.example:0", false),
            ("reg.example:http", false),
            ("reg example", false),
            ("https://reg.example?x=1", false),
        ] {
            assert!(registry_url(raw, insecure).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn repository_names_follow_the_distribution_spec() {
        assert_eq!(repository_name(" team/app ").unwrap(), "team/app");
        assert_eq!(repository_name("a.b/c_d-e").unwrap(), "a.b/c_d-e");
        for bad in ["", "Team/app", "team//app", "/app", "app/", "-app", "a b"] {
            assert!(repository_name(bad).is_err(), "{bad:?}");
        }
    }
}
