//! Scan reports: format detection, parsing into one normalised shape, and the
//! ingestion that stores them (`ingest`).
//!
//! Supported: Trivy JSON (SchemaVersion 2 in every generation, the older top-level
//! array and `null`, image / filesystem / SBOM / Kubernetes cluster reports, OS and
//! language packages, misconfigurations and secrets), Grype JSON (old and current
//! shapes), SARIF 2.1.0 from any scanner, CycloneDX 1.4–1.7 JSON with vulnerabilities,
//! and VEX (CycloneDX analysis, OpenVEX) as suppression input.

pub mod coverage;
pub mod cyclonedx;
pub mod feeds;
pub mod grype;
pub mod ingest;
pub mod intel;
pub mod manage;
pub mod openvex;
pub mod pkg;
pub mod reconcile;
pub mod sarif;
pub mod store;
pub mod trivy;
pub mod vex;
pub mod vulns;

use coastguard_model::Severity;
pub use pkg::PackageRef;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Trivy,
    Grype,
    Sarif,
    CycloneDx,
    OpenVex,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Trivy => "trivy",
            Format::Grype => "grype",
            Format::Sarif => "sarif",
            Format::CycloneDx => "cyclonedx",
            Format::OpenVex => "openvex",
        }
    }
}

/// A non-empty string field of a JSON object (scanners' free-form metadata).
pub(crate) fn json_text(
    map: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<String> {
    map.get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The strings of an array field of a JSON object; none when absent.
pub(crate) fn json_list(
    map: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Vec<String> {
    map.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One vulnerability of one package, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnRecord {
    /// The id the scanner used (`CVE-…`, `GHSA-…`, `DSA-…`, a SARIF rule id).
    pub id: String,
    /// Other ids of the same vulnerability the report names (a GHSA's CVE, ...).
    pub aliases: Vec<String>,
    pub package: PackageRef,
    pub fixed_version: Option<String>,
    pub severity: Severity,
    /// The scanner's own word for the severity (`Negligible`, `MEDIUM`), kept beside the
    /// normalised one; `None` when the report rated the entry by score alone.
    pub scanner_severity: Option<String>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub epss: Option<f64>,
    pub known_exploited: bool,
    pub published: Option<i64>,
    pub modified: Option<i64>,
    pub layer: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub references: Vec<String>,
}

impl VulnRecord {
    /// The id a vulnerability is known by: its CVE when the report names one.
    pub fn canonical_id(&self) -> &str {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .find(|a| a.starts_with("CVE-"))
            .unwrap_or(&self.id)
    }
}

/// A misconfiguration or secret a scanner found in the artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct MisconfigRecord {
    /// `trivy:AVD-DS-0002`, `trivy-secret:github-pat`.
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    /// Where: file and line.
    pub location: String,
    pub message: String,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    Image,
    Filesystem,
    Repository,
    Sbom,
    Cluster,
    Unknown,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Image => "image",
            ArtifactKind::Filesystem => "filesystem",
            ArtifactKind::Repository => "repository",
            ArtifactKind::Sbom => "sbom",
            ArtifactKind::Cluster => "cluster",
            ArtifactKind::Unknown => "unknown",
        }
    }
}

/// One report, normalised. Kubernetes cluster reports yield one per image.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub format: Format,
    pub scanner: String,
    pub scanner_version: Option<String>,
    pub kind: ArtifactKind,
    pub artifact_name: Option<String>,
    /// Image (config) digest, `sha256:…`, when the report names one.
    pub image_id: Option<String>,
    /// Manifest digests (`repo@sha256:…` or bare `sha256:…`).
    pub repo_digests: Vec<String>,
    pub repo_tags: Vec<String>,
    pub scanned_at: Option<i64>,
    pub vulns: Vec<VulnRecord>,
    pub misconfigs: Vec<MisconfigRecord>,
    /// Vulnerability entries read (before deduplication).
    pub entries: usize,
    /// Things the report holds that Coastguard did not store, said plainly.
    pub notes: Vec<String>,
    /// Entries that could not be read and were left out (the rest is stored).
    pub skipped: Vec<Skipped>,
}

/// An entry of a report that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its JSON path, e.g. `Results[0].Vulnerabilities[3]`.
    pub path: String,
    pub reason: String,
}

impl Report {
    /// Whether the report names the artifact it is about.
    pub fn names_an_artifact(&self) -> bool {
        self.image_id.is_some() || !self.repo_digests.is_empty() || self.artifact_name.is_some()
    }

    /// Names no artifact and holds nothing that could be stored: stored, it would only
    /// make a placeholder image.
    pub fn is_about_nothing(&self) -> bool {
        !self.names_an_artifact() && self.vulns.is_empty() && self.misconfigs.is_empty()
    }

    /// Turns [`Report::skipped`] into a note naming the first few entries.
    pub fn note_skipped(&mut self) {
        if self.skipped.is_empty() {
            return;
        }
        let shown: Vec<String> = self
            .skipped
            .iter()
            .take(5)
            .map(|s| format!("{}: {}", s.path, s.reason))
            .collect();
        let more = self.skipped.len() - shown.len();
        self.notes.push(format!(
            "{} of {} entries could not be read and were skipped ({}{}); the others are stored.",
            self.skipped.len(),
            self.entries,
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
}

impl Report {
    pub fn new(format: Format, scanner: &str) -> Report {
        Report {
            format,
            scanner: scanner.to_string(),
            scanner_version: None,
            kind: ArtifactKind::Unknown,
            artifact_name: None,
            image_id: None,
            repo_digests: Vec::new(),
            repo_tags: Vec::new(),
            scanned_at: None,
            vulns: Vec::new(),
            misconfigs: Vec::new(),
            entries: 0,
            notes: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

/// A VEX statement: a vulnerability's status for a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    pub vuln_id: String,
    /// An image digest or package purl/name the statement is about; `None`: everything.
    pub product: Option<String>,
    /// `not_affected`, `fixed`, `affected`, `under_investigation`.
    pub status: String,
    pub justification: Option<String>,
}

/// What a document turned out to be.
#[derive(Debug)]
pub enum Document {
    Reports(Vec<Report>),
    Vex {
        format: Format,
        statements: Vec<VexStatement>,
    },
    /// An exploit intelligence feed (KEV catalog, EPSS scores).
    Feed(intel::Feed),
}

/// Why a document was refused, with where (JSON path or line) when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub location: Option<String>,
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            location: None,
        }
    }

    pub fn at(location: impl Into<String>, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            location: Some(location.into()),
        }
    }
}

/// Deserialises with the JSON path of any error (`Results[0].Vulnerabilities[3]`).
pub(crate) fn from_json<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    what: &str,
) -> Result<T, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let location = if path == "." || path.is_empty() {
            format!("line {}, column {}", inner.line(), inner.column())
        } else {
            format!("{path} (line {}, column {})", inner.line(), inner.column())
        };
        ParseError::at(location, format!("not a valid {what} report: {inner}"))
    })
}

/// Reads one entry of a report (a vulnerability, a match) on its own, so that one
/// malformed entry is skipped and named rather than losing the report. `path` is the
/// entry's JSON path; the skipped entry's path goes down to the bad field.
pub(crate) fn read_entry<T: serde::de::DeserializeOwned>(
    entry: serde_json::Value,
    path: &str,
    skipped: &mut Vec<Skipped>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(entry) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            skipped.push(Skipped {
                path: if inner == "." || inner.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}.{inner}")
                },
                reason: e.into_inner().to_string(),
            });
            None
        }
    }
}

/// Just enough of any document to tell what it is.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "SchemaVersion")]
    schema_version: Option<serde::de::IgnoredAny>,
    #[serde(rename = "Results")]
    results: Option<serde::de::IgnoredAny>,
    #[serde(rename = "ClusterName")]
    cluster_name: Option<serde::de::IgnoredAny>,
    matches: Option<serde::de::IgnoredAny>,
    runs: Option<serde::de::IgnoredAny>,
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "@context")]
    context: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(rename = "catalogVersion")]
    catalog_version: Option<serde::de::IgnoredAny>,
}

/// Detects the format from the content and parses it; every vulnerability's aliases are
/// then reduced to the ids that name that same vulnerability (see [`tidy_aliases`]).
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let mut document = parse_document(bytes)?;
    if let Document::Reports(reports) = &mut document {
        for v in reports.iter_mut().flat_map(|r| r.vulns.iter_mut()) {
            tidy_aliases(v);
        }
    }
    Ok(document)
}

/// Ids that name one vulnerability each, as a CVE does: GHSA and the ecosystem
/// databases. Distribution advisories (DSA, RHSA, ALAS, USN...) fix several CVEs at once.
fn names_one_vulnerability(id: &str) -> bool {
    let upper = id.to_ascii_uppercase();
    ["CVE-", "GHSA-", "GO-", "PYSEC-", "RUSTSEC-", "OSV-", "GSD-"]
        .iter()
        .any(|p| upper.starts_with(p))
}

/// Aliases merge vulnerabilities for good, so only true synonyms may be aliases. An
/// advisory that scanners give as the id or as an alias (Trivy's VendorIDs, Grype's
/// related vulnerabilities of an RHSA) covers several CVEs: were it an alias, every CVE
/// it covers would become one vulnerability. So: advisories are kept as references,
/// not aliases; a record naming one CVE is known by it; a record naming several (an
/// advisory match) keeps its advisory id and no aliases.
pub fn tidy_aliases(v: &mut VulnRecord) {
    let mut advisories: Vec<String> = Vec::new();
    let mut synonyms: Vec<String> = Vec::new();
    for id in std::iter::once(&v.id).chain(&v.aliases) {
        let list = if names_one_vulnerability(id) {
            &mut synonyms
        } else {
            &mut advisories
        };
        if !list.contains(id) {
            list.push(id.clone());
        }
    }
    let cves = synonyms.iter().filter(|i| i.starts_with("CVE-")).count();
    if synonyms.is_empty() || cves > 1 {
        // An advisory match, or a record naming several CVEs: no synonym is certain.
        v.aliases.clear();
        return;
    }
    if !names_one_vulnerability(&v.id) {
        // Known by its one CVE (or GHSA); the advisory becomes a reference.
        v.id = synonyms
            .iter()
            .find(|i| i.starts_with("CVE-"))
            .unwrap_or(&synonyms[0])
            .clone();
    }
    for a in advisories {
        if !v.references.contains(&a) {
            v.references.push(a);
        }
    }
    synonyms.retain(|i| i != &v.id);
    v.aliases = synonyms;
}

fn parse_document(bytes: &[u8]) -> Result<Document, ParseError> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(ParseError::new("the report is empty"));
    }
    if intel::looks_like_epss(bytes) {
        return intel::parse_epss(bytes).map(Document::Feed);
    }
    match trimmed[0] {
        b'[' => return trivy::parse_legacy_array(bytes).map(|r| Document::Reports(vec![r])),
        b'n' => {
            // Trivy before v0.20 printed `null` for a clean image.
            let _: () = from_json(bytes, "JSON")?;
            let mut r = Report::new(Format::Trivy, "trivy");
            r.kind = ArtifactKind::Image;
            return Ok(Document::Reports(vec![r]));
        }
        b'{' => {}
        _ => {
            return Err(ParseError::at(
                "line 1, column 1",
                "not JSON: a report must be a JSON document",
            ))
        }
    }
    let probe: Probe = from_json(bytes, "JSON")?;
    if probe
        .bom_format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("cyclonedx"))
    {
        return cyclonedx::parse(bytes);
    }
    if probe
        .context
        .as_deref()
        .is_some_and(|c| c.contains("openvex"))
    {
        return openvex::parse(bytes);
    }
    if probe
        .api_version
        .as_deref()
        .is_some_and(|v| v.starts_with("aquasecurity.github.io"))
    {
        return trivy::parse_operator(bytes).map(|r| Document::Reports(vec![r]));
    }
    if probe.cluster_name.is_some() {
        return trivy::parse_cluster(bytes).map(Document::Reports);
    }
    if probe.schema_version.is_some() || probe.results.is_some() {
        return trivy::parse(bytes).map(|r| Document::Reports(vec![r]));
    }
    if probe.matches.is_some() {
        return grype::parse(bytes).map(|r| Document::Reports(vec![r]));
    }
    if probe.runs.is_some() {
        return sarif::parse(bytes).map(|r| Document::Reports(vec![r]));
    }
    if probe.catalog_version.is_some() {
        return intel::parse_kev(bytes).map(Document::Feed);
    }
    Err(ParseError::new(
        "unknown report format: expected Trivy JSON, Grype JSON, SARIF 2.1.0, CycloneDX, OpenVEX, \
         the CISA KEV catalog (JSON) or EPSS scores (CSV)",
    ))
}

/// The severity of an entry from the scanner's word, or from its score where the word says
/// nothing (missing or unknown), with the word itself as the scanner spelled it (trimmed,
/// at most 32 characters).
pub fn rate(word: Option<&str>, score: Option<f64>) -> (Severity, Option<String>) {
    let word = word.map(str::trim).filter(|w| !w.is_empty());
    let severity = match word.map(Severity::normalise) {
        Some(s) if s != Severity::Unknown => s,
        _ => score.map(severity_from_score).unwrap_or(Severity::Unknown),
    };
    (severity, word.map(|w| w.chars().take(32).collect()))
}

/// Severity from a CVSS base score (CVSS v3 qualitative ranges).
pub fn severity_from_score(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Unknown,
    }
}

/// RFC 3339 (scanners' dates) to Unix seconds; unset or zero dates give `None`.
pub fn parse_date(s: &str) -> Option<i64> {
    crate::docker::normalize::parse_time(s).or_else(|| {
        // Some scanners write dates without a time.
        let date = time::Date::parse(
            s,
            &time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()?;
        let t = date.midnight().assume_utc().unix_timestamp();
        (t > 0).then_some(t)
    })
}

/// Ids that look like vulnerability ids, for scanners that put them in free text.
pub fn looks_like_vuln_id(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    [
        "CVE-", "GHSA-", "OSV-", "PYSEC-", "RUSTSEC-", "GO-", "DSA-", "DLA-", "RHSA-", "ALAS",
        "ELSA-", "USN-", "SNYK-",
    ]
    .iter()
    .any(|p| upper.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_and_refuses_the_rest() {
        assert!(matches!(parse(b"null"), Ok(Document::Reports(r)) if r[0].vulns.is_empty()));
        let err = parse(b"{\"hello\": 1}").unwrap_err();
        assert!(err.message.contains("unknown report format"), "{err:?}");
        let err = parse(b"<xml/>").unwrap_err();
        assert_eq!(err.location.as_deref(), Some("line 1, column 1"));
        let err = parse(b"{\"SchemaVersion\": 2, \"Results\": [").unwrap_err();
        assert!(
            err.location.unwrap().contains("line 1"),
            "truncated JSON names where"
        );
        assert!(parse(b"   ").is_err());
    }

    fn record(id: &str, aliases: &[&str]) -> VulnRecord {
        VulnRecord {
            id: id.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            package: PackageRef::new("deb", "x", "1", None),
            fixed_version: None,
            severity: Severity::Medium,
            scanner_severity: None,
            cvss_score: None,
            cvss_vector: None,
            epss: None,
            known_exploited: false,
            published: None,
            modified: None,
            layer: None,
            title: None,
            description: None,
            references: vec![],
        }
    }

    #[test]
    fn only_synonyms_are_aliases() {
        // Trivy: a CVE with the Debian advisory that fixed it (and others).
        let mut v = record("CVE-2019-1549", &["DSA-4539-1"]);
        tidy_aliases(&mut v);
        assert_eq!((v.id.as_str(), v.aliases.len()), ("CVE-2019-1549", 0));
        assert_eq!(v.references, vec!["DSA-4539-1".to_string()]);
        // A GHSA and its CVE are one.
        let mut v = record("GHSA-cfh5-3ghh-wfjx", &["CVE-2014-3577"]);
        tidy_aliases(&mut v);
        assert_eq!(v.canonical_id(), "CVE-2014-3577");
        assert_eq!(v.aliases, vec!["CVE-2014-3577".to_string()]);
        // Grype: an RHSA naming one CVE is known by the CVE...
        let mut v = record("RHSA-2020:1234", &["CVE-2020-1"]);
        tidy_aliases(&mut v);
        assert_eq!((v.id.as_str(), v.aliases.len()), ("CVE-2020-1", 0));
        assert_eq!(v.references, vec!["RHSA-2020:1234".to_string()]);
        // ...one naming several stays the advisory, with no aliases.
        let mut v = record("RHSA-2020:1234", &["CVE-2020-1", "CVE-2020-2"]);
        tidy_aliases(&mut v);
        assert_eq!((v.id.as_str(), v.aliases.len()), ("RHSA-2020:1234", 0));
    }

    #[test]
    fn canonical_ids_prefer_cves() {
        let mut v = VulnRecord {
            id: "GHSA-cfh5-3ghh-wfjx".into(),
            aliases: vec!["CVE-2014-3577".into()],
            package: PackageRef::new("maven", "x", "1", None),
            fixed_version: None,
            severity: Severity::Medium,
            scanner_severity: None,
            cvss_score: None,
            cvss_vector: None,
            epss: None,
            known_exploited: false,
            published: None,
            modified: None,
            layer: None,
            title: None,
            description: None,
            references: vec![],
        };
        assert_eq!(v.canonical_id(), "CVE-2014-3577");
        v.aliases.clear();
        assert_eq!(v.canonical_id(), "GHSA-cfh5-3ghh-wfjx");
    }
}
