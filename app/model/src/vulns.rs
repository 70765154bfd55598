//! Scans, vulnerability findings, suppressions and scan coverage, as the UI and the REST
//! API see them.

use crate::inventory::ContainerSummary;
use crate::{Severity, SeverityCounts};
use serde::{Deserialize, Serialize};

/// An image as scans name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageBrief {
    pub id: i64,
    pub digest: String,
    /// A tag, the artifact name a report gave, or the short digest.
    pub name: String,
}

/// The last import of an exploit intelligence feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedStatus {
    /// `kev` (CISA Known Exploited Vulnerabilities) or `epss` (FIRST EPSS scores).
    pub kind: String,
    pub name: String,
    /// The catalog version, or the EPSS model and score date.
    pub version: Option<String>,
    /// CVEs in the feed.
    pub entries: i64,
    /// Vulnerabilities found in this estate that the feed named when it was imported.
    pub matched: i64,
    /// Of those, how many the import changed.
    pub changed: i64,
    pub imported_at: i64,
    pub imported_by: String,
}

/// What ingesting one report did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestSummary {
    pub scan_id: Option<i64>,
    /// `trivy`, `grype`, `sarif`, `cyclonedx`, `openvex`.
    pub format: String,
    pub scanner: String,
    /// `image`, `filesystem`, `repository`, `sbom`, `cluster`, `vex`.
    pub kind: String,
    /// Vulnerability entries read from the report.
    pub entries: i64,
    /// Distinct findings (image + package + vulnerability) the report holds.
    pub findings: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub reopened: i64,
    /// Findings of this scanner on this image that the report no longer lists.
    pub fixed: i64,
    pub by_severity: SeverityCounts,
    pub config_findings: i64,
    /// VEX documents: suppressions created or updated.
    pub suppressions: i64,
    pub image: Option<ImageBrief>,
    /// What the report held that was not stored, and why.
    pub notes: Vec<String>,
    /// VEX documents: what each statement matched.
    pub vex: Vec<VexMatch>,
}

/// What one VEX statement matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VexMatch {
    pub vuln_id: String,
    /// The product as the document names it.
    pub product: Option<String>,
    /// `not_affected`, `affected`, `fixed` or `under_investigation`.
    pub status: String,
    /// `image`, `pending_image` (a digest no image has yet), `package`,
    /// `package_in_image` or `nothing`.
    pub scope: String,
    /// In words: "image sha256:… (web:1.2)", "package openssl", or why nothing matched.
    pub matched: String,
    /// Whether it suppresses findings (only `not_affected` statements that matched).
    pub suppresses: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanView {
    pub id: i64,
    pub image: Option<ImageBrief>,
    pub artifact_name: Option<String>,
    pub artifact_digest: Option<String>,
    pub format: String,
    pub scanner: String,
    pub scanner_version: Option<String>,
    pub kind: String,
    /// `api`, `ui` or `cli`.
    pub source: String,
    pub uploaded_by: Option<String>,
    pub received_at: i64,
    pub scanned_at: Option<i64>,
    pub entries: i64,
    pub summary: Option<IngestSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VulnState {
    Open,
    Fixed,
    Suppressed,
}

impl VulnState {
    pub fn as_str(self) -> &'static str {
        match self {
            VulnState::Open => "open",
            VulnState::Fixed => "fixed",
            VulnState::Suppressed => "suppressed",
        }
    }
}

impl std::str::FromStr for VulnState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(VulnState::Open),
            "fixed" => Ok(VulnState::Fixed),
            "suppressed" => Ok(VulnState::Suppressed),
            other => Err(format!(
                "unknown state '{other}': expected open, fixed, suppressed or all"
            )),
        }
    }
}

/// One vulnerability in one package of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VulnFindingView {
    pub id: i64,
    pub vuln_id: String,
    pub title: Option<String>,
    pub severity: Severity,
    /// The scanner's own word for the severity, as the last report spelled it
    /// (`Negligible`, `MEDIUM`); null when the report gave only a score.
    #[serde(default)]
    pub scanner_severity: Option<String>,
    pub cvss_score: Option<f64>,
    pub epss: Option<f64>,
    pub known_exploited: bool,
    pub pkg_type: String,
    pub pkg_name: String,
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub layer: Option<String>,
    pub image: ImageBrief,
    pub state: VulnState,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub fixed_at: Option<i64>,
    pub reopened_at: Option<i64>,
    /// Scanners that still report it.
    pub scanners: Vec<String>,
    /// Why it is suppressed (state `suppressed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<SuppressionBrief>,
}

/// The suppression behind a suppressed finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppressionBrief {
    pub id: i64,
    pub kind: SuppressionKind,
    pub justification: String,
    /// `manual` or `vex`.
    pub source: String,
    pub created_by: String,
    pub expires_at: Option<i64>,
}

/// Filters and keyset paging for vulnerability findings (fast at a million rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct VulnQuery {
    /// `open` (default), `fixed`, `suppressed` or `all`.
    #[serde(default)]
    pub state: Option<String>,
    /// At least this severity.
    #[serde(default)]
    pub severity: Option<String>,
    /// Only findings with (`true`) or without (`false`) a fixed version.
    #[serde(default)]
    pub fixable: Option<bool>,
    /// Coastguard image id.
    #[serde(default)]
    pub image: Option<i64>,
    /// Exact package name.
    #[serde(default)]
    pub package: Option<String>,
    /// A vulnerability id or any alias (`CVE-…`, `GHSA-…`).
    #[serde(default)]
    pub vuln: Option<String>,
    /// Only findings this scanner still reports.
    #[serde(default)]
    pub scanner: Option<String>,
    /// `severity` (default, worst first), `first_seen` or `last_seen` (newest first).
    #[serde(default)]
    pub sort: Option<String>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Rows per page, 1–500 (default 100).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 500))]
    pub limit: Option<i64>,
}

/// A page of vulnerability findings with the number of all matching rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VulnPage {
    pub items: Vec<VulnFindingView>,
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VulnerabilityDetail {
    pub vuln_id: String,
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Severity,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub epss: Option<f64>,
    pub known_exploited: bool,
    pub published_at: Option<i64>,
    pub modified_at: Option<i64>,
    pub references: Vec<String>,
    /// The images and packages it affects (all states), worst first: the first 500.
    pub findings: Vec<VulnFindingView>,
    /// How many findings there are in all (`/vulnerabilities?vuln=…&state=all` lists them).
    pub findings_total: i64,
    /// Containers (not gone) running an affected image.
    pub containers: Vec<ContainerSummary>,
    /// Hosts those containers run on: `(id, name)`.
    pub hosts: Vec<(i64, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuppressionKind {
    /// The risk is known and accepted.
    Accepted,
    /// The vulnerability does not affect this use (VEX not_affected, ...).
    NotAffected,
}

impl SuppressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Accepted => "accepted",
            SuppressionKind::NotAffected => "not_affected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSuppression {
    /// The vulnerability (any of its ids).
    pub vuln_id: String,
    /// Only on this image (Coastguard id); absent: every image.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    pub image_id: Option<i64>,
    /// Only in this package; absent: every package.
    #[serde(default)]
    pub pkg_name: Option<String>,
    pub kind: SuppressionKind,
    pub justification: String,
    /// Ends after this many days (1–3650); absent: until revoked.
    #[serde(default, deserialize_with = "crate::whole::opt_int")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppressionView {
    pub id: i64,
    pub vuln_id: String,
    pub image: Option<ImageBrief>,
    /// A VEX statement's image digest that no image has yet: the suppression applies to
    /// nothing until an image with this digest appears.
    pub pending_image: Option<String>,
    pub pkg_name: Option<String>,
    pub kind: SuppressionKind,
    pub justification: String,
    /// `manual` or `vex`.
    pub source: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Neither revoked nor expired.
    pub active: bool,
    /// Findings it currently suppresses.
    pub findings: i64,
}

/// Whether the images that run are scanned, and recently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    /// Distinct images of running containers.
    pub running_images: i64,
    /// Of those, scanned within the allowed age.
    pub scanned: i64,
    /// Scanned, but only longer ago than allowed.
    pub outdated: i64,
    /// Never scanned.
    pub unscanned: i64,
    pub max_age_days: i64,
}
