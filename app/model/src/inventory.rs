//! Lists and detail views of the inventory (hosts, images, containers) and of
//! configuration findings, with the server-side filtering, sorting and paging they use.

use crate::docker::{ContainerFacts, HostFacts, ImageFacts};
use crate::findings::ConfigFindingView;
use crate::SeverityCounts;
use serde::{Deserialize, Serialize};

/// One page of a list, with the total number of matching rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Listing<T> {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page.max(1)).max(1)
    }
}

/// Filters, sorting and paging shared by the inventory and finding lists. Unknown sort
/// keys are rejected by the server, not ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Case-insensitive text search (names, image references, check ids).
    #[serde(default)]
    pub q: Option<String>,
    /// State or status filter (`running`, `exited`, `unreachable`, `open`, `resolved`, ...).
    #[serde(default)]
    pub state: Option<String>,
    /// Only rows on this host.
    #[serde(default)]
    pub host: Option<i64>,
    /// Only rows with an open finding at or above this severity (lists), or findings at
    /// or above it (finding lists).
    #[serde(default)]
    pub severity: Option<String>,
    /// Finding lists: only this check (`family.*`: every check whose id starts so).
    #[serde(default)]
    pub check: Option<String>,
    /// Finding lists: only this kind of subject (`host`, `image`, `container`).
    #[serde(default)]
    pub subject_kind: Option<String>,
    /// Finding lists: only this subject (with `subject_kind`).
    #[serde(default)]
    pub subject_id: Option<i64>,
    /// Include containers and images that are gone.
    #[serde(default)]
    pub include_gone: Option<bool>,
    /// Sort key; each list documents its own.
    #[serde(default)]
    pub sort: Option<String>,
    /// `asc` or `desc`.
    #[serde(default)]
    pub dir: Option<String>,
    /// 1-based page number, at most 1,000,000.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1_000_000))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub page: Option<i64>,
    /// Rows per page, 1–500 (default 50).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 500))]
    pub per_page: Option<i64>,
}

/// The highest page number a list accepts: with at most 500 rows a page, offsets stay
/// far from overflowing.
pub const MAX_PAGE: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostSummary {
    pub id: i64,
    /// `docker` (an engine) or `node` (a Kubernetes node).
    pub kind: String,
    pub name: String,
    pub endpoint: Option<String>,
    /// `pending`, `ok`, `unreachable` or `gone`.
    pub status: String,
    pub last_error: Option<String>,
    pub last_seen_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub engine_version: Option<String>,
    pub os: Option<String>,
    pub containers_running: i64,
    pub containers_total: i64,
    pub images: i64,
    /// Open findings of the host itself and of its containers.
    pub open_findings: SeverityCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostDetail {
    pub host: HostSummary,
    pub facts: Option<HostFacts>,
    /// Findings about the engine itself (its containers' are on their pages).
    pub findings: Vec<ConfigFindingView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSummary {
    pub id: i64,
    pub digest: String,
    /// `repository:tag`, most recently seen first.
    pub tags: Vec<String>,
    pub size_bytes: Option<i64>,
    pub created: Option<i64>,
    pub user: Option<String>,
    /// Hosts that hold it now.
    pub hosts: i64,
    /// Containers (not gone) created from it.
    pub containers: i64,
    /// Open configuration findings.
    pub open_findings: SeverityCounts,
    /// Open vulnerability findings (not fixed, not suppressed).
    #[serde(default)]
    pub open_vulnerabilities: SeverityCounts,
    /// When it was last scanned (the report's time, else its arrival); `None`: never.
    #[serde(default)]
    pub last_scan_at: Option<i64>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageDetail {
    pub image: ImageSummary,
    pub facts: Option<ImageFacts>,
    pub findings: Vec<ConfigFindingView>,
    pub containers: Vec<ContainerSummary>,
    /// Its latest signature check; absent until one was made (an image no registry names
    /// by digest is never checked).
    #[serde(default)]
    pub signature: Option<crate::signatures::ImageSignature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerSummary {
    pub id: i64,
    /// The engine's container id.
    pub external_id: String,
    pub name: String,
    pub host_id: Option<i64>,
    pub host_name: Option<String>,
    pub image_ref: String,
    /// Coastguard's image id, when the image is known.
    pub image_id: Option<i64>,
    pub state: String,
    pub created: Option<i64>,
    pub started_at: Option<i64>,
    pub privileged: bool,
    pub user: Option<String>,
    pub gone_at: Option<i64>,
    pub open_findings: SeverityCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContainerDetail {
    pub container: ContainerSummary,
    pub facts: Option<ContainerFacts>,
    pub findings: Vec<ConfigFindingView>,
    /// Its image's latest signature status (the image page has the details); absent
    /// until the image is checked.
    #[serde(default)]
    pub image_signature: Option<crate::signatures::SignatureStatus>,
}

/// A Docker engine to watch. TLS material and SSH keys are paths on the Coastguard
/// server (files the operator controls), never key contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewEngine {
    pub name: String,
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`.
    pub endpoint: String,
    #[serde(default)]
    pub tls_ca: Option<String>,
    #[serde(default)]
    pub tls_cert: Option<String>,
    #[serde(default)]
    pub tls_key: Option<String>,
    #[serde(default)]
    pub ssh_key: Option<String>,
}

/// Accepting the risk of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptRisk {
    /// Why the risk is acceptable (kept in the finding and the audit log).
    pub reason: String,
    /// The acceptance ends after this many days (1–3650); absent: until withdrawn.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<i64>,
}

/// What one manual sync found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResult {
    pub images: i64,
    pub containers: i64,
    pub findings: i64,
}
