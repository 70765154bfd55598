//! The posture overview: counts that the landing page shows.

use crate::Severity;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeverityCounts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub unknown: i64,
    /// Below low: a scanner's own "negligible" (or "info", "none").
    #[serde(default)]
    pub negligible: i64,
}

impl SeverityCounts {
    pub fn get(&self, severity: Severity) -> i64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown => self.unknown,
            Severity::Negligible => self.negligible,
        }
    }

    pub fn add(&mut self, severity: Severity, n: i64) {
        match severity {
            Severity::Critical => self.critical += n,
            Severity::High => self.high += n,
            Severity::Medium => self.medium += n,
            Severity::Low => self.low += n,
            Severity::Unknown => self.unknown += n,
            Severity::Negligible => self.negligible += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.critical + self.high + self.medium + self.low + self.unknown + self.negligible
    }
}

/// What the estate looks like right now. Every number is counted from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// Docker engines and Kubernetes nodes that are not gone.
    pub hosts: i64,
    pub hosts_unreachable: i64,
    pub clusters: i64,
    /// Kubernetes pods that are not gone and not finished (Succeeded or Failed).
    pub pods_running: i64,
    pub images: i64,
    /// Containers (Docker containers and pod containers) that are running.
    pub containers_running: i64,
    pub scans: i64,
    /// Open vulnerability findings (not fixed, not suppressed).
    pub open_vulnerabilities: SeverityCounts,
    pub open_config_findings: SeverityCounts,
    pub open_runtime_alerts: SeverityCounts,
    /// Fixable open vulnerability findings.
    pub fixable_vulnerabilities: i64,
    pub suppressed_vulnerabilities: i64,
    pub coverage: crate::vulns::Coverage,
    /// Signature status of the running images.
    #[serde(default)]
    pub signatures: crate::signatures::SignatureCoverage,
    /// The checks with the most open configuration findings, most severe first (at most
    /// ten); each links to `/findings?check=ID`.
    #[serde(default)]
    pub config_by_check: Vec<CheckCount>,
}

/// Open configuration findings of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckCount {
    pub check_id: String,
    pub title: String,
    /// The most severe of its open findings.
    pub severity: Severity,
    pub open: i64,
}

impl Overview {
    /// Nothing has been connected or uploaded yet: the overview shows how to start.
    pub fn is_empty(&self) -> bool {
        self.hosts == 0 && self.clusters == 0 && self.images == 0 && self.scans == 0
    }
}

/// What the first-run walkthrough needs to write exact commands for this server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupInfo {
    /// This server's URL: `COASTGUARD_PUBLIC_URL`, else as the browser reached it.
    pub base_url: String,
    /// The server watches the local engine (`COASTGUARD_DOCKER_LOCAL`)...
    pub docker_local: bool,
    /// ...and its socket, `/var/run/docker.sock`, exists.
    pub local_socket: bool,
}

/// What anyone may know of this server before logging in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// It serves the demo estate (`coastguard demo`): invented data.
    pub demo: bool,
}
