//! What Coastguard knows about Docker engines, images and containers: normalised facts
//! (from `/info`, `/version`, image and container inspection), as stored and shown.
//! Secrets never appear here: environment values are dropped and image history lines
//! are stored with suspected secrets replaced by `***`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How Coastguard reached an engine; plain TCP means the engine accepts unauthenticated
/// remote control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Unix,
    TcpTls,
    TcpPlain,
    Ssh,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostFacts {
    pub name: Option<String>,
    pub engine_version: Option<String>,
    pub api_version: Option<String>,
    pub os: Option<String>,
    pub os_type: Option<String>,
    pub kernel: Option<String>,
    pub arch: Option<String>,
    pub storage_driver: Option<String>,
    pub logging_driver: Option<String>,
    pub cgroup_version: Option<String>,
    pub cgroup_driver: Option<String>,
    /// `SecurityOptions` as the engine reports them (`name=seccomp,profile=builtin`...).
    pub security_options: Vec<String>,
    pub seccomp_profile: Option<String>,
    pub apparmor: bool,
    pub selinux: bool,
    pub userns: bool,
    pub rootless: bool,
    pub live_restore: bool,
    pub experimental: bool,
    pub swarm_active: bool,
    /// Registries the engine talks to without TLS verification (loopback excluded).
    pub insecure_registries: Vec<String>,
    pub registry_mirrors: Vec<String>,
    /// Inter-container communication on the default bridge; `None` when unknown.
    pub default_bridge_icc: Option<bool>,
    pub transport: Option<Transport>,
    pub ncpu: Option<i64>,
    pub mem_total: Option<i64>,
    pub warnings: Vec<String>,
}

/// A suspected secret: where it is (a variable name, a history line) and why it looks
/// like one. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretRef {
    pub location: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub created: Option<i64>,
    /// The build instruction, with suspected secrets replaced by `***`.
    pub created_by: String,
    pub size: i64,
    pub empty_layer: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageFacts {
    /// The image (config) digest, `sha256:…`: Coastguard's key for an image.
    pub id: String,
    pub repo_tags: Vec<String>,
    /// Manifest digests, `repo@sha256:…`.
    pub repo_digests: Vec<String>,
    pub size: i64,
    pub created: Option<i64>,
    pub os: Option<String>,
    pub arch: Option<String>,
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    /// Environment variable names only; values are never kept.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub healthcheck: bool,
    pub layers: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// Suspected secrets in the image's environment (`env:NAME`) and build history
    /// (`history[N]`).
    pub secrets: Vec<SecretRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedPort {
    /// `80/tcp`.
    pub container_port: String,
    /// Empty or `0.0.0.0` / `::` mean every interface.
    pub host_ip: String,
    pub host_port: String,
}

impl PublishedPort {
    pub fn on_all_interfaces(&self) -> bool {
        matches!(self.host_ip.as_str(), "" | "0.0.0.0" | "::" | "[::]")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MountFact {
    /// `bind`, `volume`, `tmpfs`, `npipe`, `cluster`, `image`.
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_write: bool,
    pub propagation: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerFacts {
    pub id: String,
    pub name: String,
    /// The image as the container was created with it (`nginx:latest`, `repo@sha256:…`).
    pub image_ref: String,
    /// The image digest it runs (`sha256:…`).
    pub image_id: String,
    pub state: String,
    pub created: Option<i64>,
    pub started_at: Option<i64>,
    pub restart_count: i64,
    /// Effective user (the container's, else the image's); empty means root.
    pub user: Option<String>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub read_only_rootfs: bool,
    /// `None` = the engine default profile; `Some("unconfined")` or a custom profile.
    pub seccomp_profile: Option<String>,
    pub apparmor_profile: Option<String>,
    pub selinux_options: Vec<String>,
    pub no_new_privileges: bool,
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub uts_mode: Option<String>,
    pub network_mode: Option<String>,
    pub userns_mode: Option<String>,
    pub cgroupns_mode: Option<String>,
    /// Bytes; `None` = unlimited.
    pub memory_limit: Option<i64>,
    /// CPUs (e.g. 0.5); `None` = unlimited.
    pub cpu_limit: Option<f64>,
    pub cpu_shares: Option<i64>,
    pub pids_limit: Option<i64>,
    pub restart_policy: Option<String>,
    pub restart_max_retries: Option<i64>,
    /// The effective healthcheck test, if any (`NONE` counts as none).
    pub healthcheck: Option<Vec<String>>,
    pub ports: Vec<PublishedPort>,
    pub mounts: Vec<MountFact>,
    pub devices: Vec<String>,
    pub networks: Vec<String>,
    /// Environment variable names only.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Suspected secrets among variables set on the container (not inherited from the image).
    pub secrets: Vec<SecretRef>,
}

impl ContainerFacts {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// Whether `registry` (`host[:port]`, lowercase) is on the trusted list, whose entries are
/// hosts or patterns with `*` for any run of characters (`*.example.com`,
/// `registry.example.com:*`).
pub fn registry_trusted(trusted: &[String], registry: &str) -> bool {
    trusted.iter().any(|t| {
        t == registry || (t.contains('*') && crate::signatures::scope_matches(t, registry))
    })
}

/// Admin-configurable thresholds of the image checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Registries images may come from (`docker.io`, `registry.example.com:5000`, or a
    /// pattern with `*`: `*.example.com`). Empty: the trusted-registry check is off.
    #[serde(default)]
    pub trusted_registries: Vec<String>,
    /// Images built longer ago than this are findings.
    #[serde(deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub image_max_age_days: i64,
    /// Images larger than this are findings.
    #[serde(deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1048576))]
    pub image_max_size_mb: i64,
    /// A running image whose newest scan is older than this is a coverage finding.
    #[serde(default = "default_scan_age", deserialize_with = "crate::whole::int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub scan_max_age_days: i64,
    /// Images that must carry a verified signature, one requirement per item: a glob over
    /// `registry/repository` (`*` any run of characters), then where it applies if not
    /// everywhere: `host=GLOB` (Docker hosts by name), or `cluster=GLOB` and/or
    /// `namespace=GLOB` (pods), e.g. `registry.example.com/* cluster=prod-* namespace=payments`.
    /// A running image one covers, where it covers it, without a verified signature is a
    /// finding.
    #[serde(default)]
    pub require_signatures: Vec<String>,
    /// Built-in runtime detectors switched off, by rule id (`docker.exec`, …; see
    /// `GET /api/v1/alerts/detectors`).
    #[serde(default)]
    pub disabled_detectors: Vec<crate::alerts::DetectorId>,
}

fn default_scan_age() -> i64 {
    7
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            trusted_registries: Vec::new(),
            image_max_age_days: 180,
            image_max_size_mb: 1024,
            scan_max_age_days: 7,
            require_signatures: Vec::new(),
            disabled_detectors: Vec::new(),
        }
    }
}

impl Policy {
    /// Checks bounds and normalises registry names (trimmed, lowercase, unique).
    pub fn validated(mut self) -> Result<Policy, (&'static str, String)> {
        let mut off = Vec::new();
        for id in &self.disabled_detectors {
            if !off.contains(id) {
                off.push(*id);
            }
        }
        self.disabled_detectors = off;
        if !(1..=3650).contains(&self.image_max_age_days) {
            return Err((
                "image_max_age_days",
                "must be between 1 and 3650 days".into(),
            ));
        }
        if !(1..=365).contains(&self.scan_max_age_days) {
            return Err(("scan_max_age_days", "must be between 1 and 365 days".into()));
        }
        if !(1..=1_048_576).contains(&self.image_max_size_mb) {
            return Err((
                "image_max_size_mb",
                "must be between 1 and 1048576 MiB".into(),
            ));
        }
        if self.trusted_registries.len() > crate::validate::MAX_REGISTRIES {
            return Err((
                "trusted_registries",
                format!(
                    "at most {} trusted registries",
                    crate::validate::MAX_REGISTRIES
                ),
            ));
        }
        let mut registries = Vec::new();
        for r in &self.trusted_registries {
            let r = crate::validate::registry(r).map_err(|e| ("trusted_registries", e))?;
            if let Some(r) = r.filter(|r| !registries.contains(r)) {
                registries.push(r);
            }
        }
        self.trusted_registries = registries;
        if self.require_signatures.len() > crate::validate::MAX_REGISTRIES {
            return Err((
                "require_signatures",
                format!("at most {} requirements", crate::validate::MAX_REGISTRIES),
            ));
        }
        let mut patterns = Vec::new();
        for p in &self.require_signatures {
            let p = crate::validate::requirement(p).map_err(|e| ("require_signatures", e))?;
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        self.require_signatures = patterns;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_registries_are_hosts_or_patterns() {
        let trusted = vec![
            "docker.io".to_string(),
            "*.corp.example".to_string(),
            "mirror.example:*".to_string(),
        ];
        for ok in [
            "docker.io",
            "eu.corp.example",
            "a.b.corp.example",
            "mirror.example:5000",
        ] {
            assert!(registry_trusted(&trusted, ok), "{ok}");
        }
        for no in [
            "ghcr.io",
            "corp.example",
            "evilcorp.example",
            "mirror.example",
            "docker.io.evil",
        ] {
            assert!(!registry_trusted(&trusted, no), "{no}");
        }
        assert!(
            !registry_trusted(&[], "docker.io"),
            "an empty list trusts nothing (the check is off)"
        );
    }
}
