//! Configuration findings: what a check found wrong with a host, image or container,
//! with its lifecycle.

use crate::Severity;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Host,
    Image,
    Container,
    Pod,
    Workload,
    Namespace,
    Cluster,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Host => "host",
            SubjectKind::Image => "image",
            SubjectKind::Container => "container",
            SubjectKind::Pod => "pod",
            SubjectKind::Workload => "workload",
            SubjectKind::Namespace => "namespace",
            SubjectKind::Cluster => "cluster",
        }
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "host" => SubjectKind::Host,
            "image" => SubjectKind::Image,
            "container" => SubjectKind::Container,
            "pod" => SubjectKind::Pod,
            "workload" => SubjectKind::Workload,
            "namespace" => SubjectKind::Namespace,
            "cluster" => SubjectKind::Cluster,
            other => return Err(format!("unknown subject kind '{other}'")),
        })
    }
}

impl TryFrom<String> for SubjectKind {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingState {
    Open,
    Resolved,
    /// An analyst accepted the risk (with a reason, optionally until a date).
    Accepted,
}

impl FindingState {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Resolved => "resolved",
            FindingState::Accepted => "accepted",
        }
    }
}

impl FromStr for FindingState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(FindingState::Open),
            "resolved" => Ok(FindingState::Resolved),
            "accepted" => Ok(FindingState::Accepted),
            other => Err(format!(
                "unknown state '{other}': expected open, resolved or accepted"
            )),
        }
    }
}

impl TryFrom<String> for FindingState {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// One check of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInfo {
    /// Stable id, e.g. `container.privileged`.
    pub id: String,
    pub title: String,
    pub subject: SubjectKind,
    /// Default severity; some instances are rated higher (e.g. `SYS_ADMIN` among added capabilities).
    pub severity: Severity,
    pub rationale: String,
    pub remediation: String,
    /// The benchmark section that covers it (see `cis_benchmark`), when one does.
    pub cis: Option<String>,
    /// The benchmark and version `cis` cites: `CIS Docker Benchmark v1.6.0`.
    pub cis_benchmark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigFindingView {
    pub id: i64,
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    /// The section of `cis_benchmark` the check maps to.
    pub cis: Option<String>,
    /// `CIS Docker Benchmark v1.6.0` when `cis` is set.
    pub cis_benchmark: Option<String>,
    pub remediation: String,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub subject_name: String,
    pub host_id: Option<i64>,
    pub host_name: Option<String>,
    /// Distinguishes several findings of one check on one subject (a port, a mount, a variable).
    pub instance: String,
    pub evidence: String,
    pub state: FindingState,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub resolved_at: Option<i64>,
    pub reopened_at: Option<i64>,
    pub accepted_by: Option<String>,
    pub accepted_reason: Option<String>,
    pub accepted_until: Option<i64>,
}
