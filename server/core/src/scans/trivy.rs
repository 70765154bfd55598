//! Trivy JSON: SchemaVersion 2 (every generation since 2021), the older top-level array,
//! `null` for a clean image, and Kubernetes cluster reports (old and `Resources` forms).

use super::{
    from_json, parse_date, rate, ArtifactKind, Format, MisconfigRecord, PackageRef, ParseError,
    Report, VulnRecord,
};
use coastguard_model::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyReport {
    #[serde(default)]
    trivy: Option<TrivyInfo>,
    /// RFC 3339 text; a Unix timestamp in some 2023 releases.
    #[serde(default)]
    created_at: Option<serde_json::Value>,
    #[serde(default)]
    artifact_name: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    results: Option<Vec<TResult>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyInfo {
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(rename = "ImageID", default)]
    image_id: Option<String>,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "RepoDigests", default)]
    repo_digests: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TResult {
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(rename = "Type", default)]
    kind: Option<String>,
    /// Read entry by entry: one malformed entry is skipped (and reported), not fatal.
    #[serde(default)]
    vulnerabilities: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    misconfigurations: Option<Vec<TMisconf>>,
    #[serde(default)]
    secrets: Option<Vec<TSecret>>,
}

#[derive(Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL", default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "Digest", default)]
    digest: Option<String>,
    #[serde(rename = "DiffID", default)]
    diff_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct Cvss {
    #[serde(rename = "V2Vector", default)]
    v2_vector: Option<String>,
    #[serde(rename = "V2Score", default)]
    v2_score: Option<f64>,
    #[serde(rename = "V3Vector", default)]
    v3_vector: Option<String>,
    #[serde(rename = "V3Score", default)]
    v3_score: Option<f64>,
    #[serde(rename = "V40Vector", default)]
    v40_vector: Option<String>,
    #[serde(rename = "V40Score", default)]
    v40_score: Option<f64>,
}

#[derive(Deserialize)]
struct TVuln {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    #[serde(rename = "VendorIDs", default)]
    vendor_ids: Option<Vec<String>>,
    #[serde(rename = "PkgName")]
    pkg_name: String,
    #[serde(rename = "PkgIdentifier", default)]
    pkg_identifier: Option<PkgIdentifier>,
    #[serde(rename = "InstalledVersion", default)]
    installed_version: Option<String>,
    #[serde(rename = "FixedVersion", default)]
    fixed_version: Option<String>,
    #[serde(rename = "Layer", default)]
    layer: Option<Layer>,
    #[serde(rename = "SeveritySource", default)]
    severity_source: Option<String>,
    #[serde(rename = "Severity", default)]
    severity: Option<String>,
    #[serde(rename = "Title", default)]
    title: Option<String>,
    #[serde(rename = "Description", default)]
    description: Option<String>,
    #[serde(rename = "References", default)]
    references: Option<Vec<String>>,
    #[serde(rename = "PrimaryURL", default)]
    primary_url: Option<String>,
    #[serde(rename = "CVSS", default)]
    cvss: Option<BTreeMap<String, Cvss>>,
    #[serde(rename = "PublishedDate", default)]
    published_date: Option<String>,
    #[serde(rename = "LastModifiedDate", default)]
    last_modified_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TMisconf {
    #[serde(rename = "ID", default)]
    id: Option<String>,
    #[serde(rename = "AVDID", default)]
    avd_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    resolution: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cause_metadata: Option<CauseMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CauseMetadata {
    #[serde(default)]
    start_line: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TSecret {
    #[serde(rename = "RuleID", default)]
    rule_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    start_line: Option<i64>,
    /// Trivy masks the secret itself (`ENV GITHUB_PAT=*****`).
    #[serde(rename = "Match", default)]
    matched: Option<String>,
}

fn vuln(v: TVuln, result_type: &str) -> VulnRecord {
    let purl = v.pkg_identifier.and_then(|p| p.purl);
    let package = PackageRef::new(
        result_type,
        &v.pkg_name,
        v.installed_version.as_deref().unwrap_or_default(),
        purl.as_deref(),
    );
    // The score of the source Trivy rated the severity from, else NVD, else any.
    let cvss = v.cvss.unwrap_or_default();
    let chosen = v
        .severity_source
        .as_deref()
        .and_then(|s| cvss.get(s))
        .or_else(|| cvss.get("nvd"))
        .or_else(|| cvss.values().next());
    let (score, vector) = match chosen {
        Some(c) => (
            c.v40_score.or(c.v3_score).or(c.v2_score),
            c.v40_vector
                .clone()
                .or_else(|| c.v3_vector.clone())
                .or_else(|| c.v2_vector.clone()),
        ),
        None => (None, None),
    };
    let (severity, scanner_severity) = rate(v.severity.as_deref(), score);
    let mut references = v.references.unwrap_or_default();
    if let Some(primary) = v.primary_url {
        if !references.contains(&primary) {
            references.insert(0, primary);
        }
    }
    let aliases = v
        .vendor_ids
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a != &v.vulnerability_id)
        .collect();
    VulnRecord {
        id: v.vulnerability_id,
        aliases,
        package,
        fixed_version: v.fixed_version.filter(|f| !f.is_empty()),
        severity,
        scanner_severity,
        cvss_score: score,
        cvss_vector: vector,
        epss: None,
        known_exploited: false,
        published: v.published_date.as_deref().and_then(parse_date),
        modified: v.last_modified_date.as_deref().and_then(parse_date),
        // The DiffID first: the engine lists an image's layers by it (RootFS.Layers), so
        // a finding can be placed on the build step that added it.
        layer: v.layer.and_then(|l| l.diff_id.or(l.digest)),
        title: v.title,
        description: v.description,
        references,
    }
}

/// Adds one result's vulnerabilities, misconfigurations (failures only) and secrets.
/// Adds one result's findings; `path` is the result's JSON path (`Results[2]`), for
/// naming the entries that had to be skipped.
fn add_result(report: &mut Report, result: TResult, path: &str) {
    let target = result.target.unwrap_or_default();
    let result_type = result.kind.unwrap_or_default();
    if let Some(vulns) = result.vulnerabilities {
        report.entries += vulns.len();
        for (i, entry) in vulns.into_iter().enumerate() {
            let at = format!("{path}.Vulnerabilities[{i}]");
            if let Some(v) = super::read_entry::<TVuln>(entry, &at, &mut report.skipped) {
                report.vulns.push(vuln(v, &result_type));
            }
        }
    }
    for m in result.misconfigurations.unwrap_or_default() {
        if m.status
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("FAIL"))
        {
            continue;
        }
        let id = m.avd_id.or(m.id).unwrap_or_else(|| "unknown".into());
        let line = m.cause_metadata.and_then(|c| c.start_line);
        report.misconfigs.push(MisconfigRecord {
            check_id: format!("trivy:{id}"),
            title: m.title.unwrap_or_else(|| id.clone()),
            severity: Severity::normalise(m.severity.as_deref().unwrap_or_default()),
            location: match line {
                Some(l) => format!("{target}:{l}"),
                None => target.clone(),
            },
            message: m.message.unwrap_or_default(),
            resolution: m.resolution,
        });
    }
    for s in result.secrets.unwrap_or_default() {
        let rule = s.rule_id.unwrap_or_else(|| "secret".into());
        report.misconfigs.push(MisconfigRecord {
            check_id: format!("trivy-secret:{rule}"),
            title: s.title.unwrap_or_else(|| "Secret".into()),
            severity: Severity::normalise(s.severity.as_deref().unwrap_or("high")),
            location: match s.start_line {
                Some(l) => format!("{target}:{l}"),
                None => target.clone(),
            },
            message: s.matched.unwrap_or_default(),
            resolution: Some("Remove the secret from the artifact and rotate it.".into()),
        });
    }
    let _ = result.class;
}

fn kind_of(artifact_type: Option<&str>) -> ArtifactKind {
    match artifact_type {
        Some("container_image") | Some("image") => ArtifactKind::Image,
        Some("filesystem") | Some("rootfs") => ArtifactKind::Filesystem,
        Some("repository") => ArtifactKind::Repository,
        Some("cyclonedx") | Some("spdx") | Some("sbom") => ArtifactKind::Sbom,
        Some("vm") => ArtifactKind::Image,
        _ => ArtifactKind::Unknown,
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, ParseError> {
    let t: TrivyReport = from_json(bytes, "Trivy")?;
    let mut report = Report::new(Format::Trivy, "trivy");
    report.scanner_version = t.trivy.and_then(|i| i.version);
    report.scanned_at = match &t.created_at {
        Some(serde_json::Value::String(s)) => parse_date(s),
        Some(serde_json::Value::Number(n)) => n.as_i64().filter(|t| *t > 0),
        _ => None,
    };
    report.kind = kind_of(t.artifact_type.as_deref());
    report.artifact_name = t.artifact_name;
    let meta = t.metadata.unwrap_or_default();
    report.image_id = meta.image_id.filter(|i| i.starts_with("sha256:"));
    if report.image_id.is_some() && report.kind == ArtifactKind::Unknown {
        report.kind = ArtifactKind::Image;
    }
    report.repo_tags = meta.repo_tags.unwrap_or_default();
    report.repo_digests = meta.repo_digests.unwrap_or_default();
    for (i, result) in t.results.unwrap_or_default().into_iter().enumerate() {
        add_result(&mut report, result, &format!("Results[{i}]"));
    }
    report.note_skipped();
    Ok(report)
}

/// Trivy before v0.20: a top-level array of results, nothing about the artifact.
pub fn parse_legacy_array(bytes: &[u8]) -> Result<Report, ParseError> {
    let results: Vec<TResult> = from_json(bytes, "Trivy (legacy array)")?;
    let mut report = Report::new(Format::Trivy, "trivy");
    report.kind = ArtifactKind::Image;
    // The first target of an image scan is `image:tag (os version)`.
    report.artifact_name = results
        .first()
        .and_then(|r| r.target.as_deref())
        .map(|t| t.split(" (").next().unwrap_or(t).to_string());
    for (i, result) in results.into_iter().enumerate() {
        add_result(&mut report, result, &format!("[{i}]"));
    }
    report.note_skipped();
    Ok(report)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ClusterReport {
    cluster_name: Option<String>,
    #[serde(default)]
    vulnerabilities: Option<Vec<Resource>>,
    #[serde(default)]
    misconfigurations: Option<Vec<Resource>>,
    #[serde(default)]
    resources: Option<Vec<Resource>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    results: Option<Vec<TResult>>,
}

/// A cluster report becomes one report per image its workloads run. Misconfigurations
/// of Kubernetes resources are counted but not stored: they belong to workloads, which
/// the Kubernetes collector brings.
pub fn parse_cluster(bytes: &[u8]) -> Result<Vec<Report>, ParseError> {
    let c: ClusterReport = from_json(bytes, "Trivy Kubernetes")?;
    let cluster = c.cluster_name.unwrap_or_default();
    let mut by_image: BTreeMap<String, Report> = BTreeMap::new();
    let mut skipped_misconfigs = 0usize;
    let resources = c
        .vulnerabilities
        .into_iter()
        .flatten()
        .chain(c.resources.into_iter().flatten());
    for resource in resources {
        let meta = resource.metadata.unwrap_or_default();
        for result in resource.results.unwrap_or_default() {
            if result.vulnerabilities.as_ref().is_none_or(|v| v.is_empty()) {
                skipped_misconfigs += result.misconfigurations.as_ref().map_or(0, Vec::len);
                continue;
            }
            let target = result.target.clone().unwrap_or_default();
            let image = target.split(" (").next().unwrap_or(&target).to_string();
            let report = by_image.entry(image.clone()).or_insert_with(|| {
                let mut r = Report::new(Format::Trivy, "trivy");
                r.kind = ArtifactKind::Image;
                r.artifact_name = Some(image.clone());
                r.image_id = meta.image_id.clone().filter(|i| i.starts_with("sha256:"));
                r.repo_digests = meta.repo_digests.clone().unwrap_or_default();
                r.notes.push(format!(
                    "from cluster {cluster}: {}/{} {}",
                    resource.namespace.clone().unwrap_or_default(),
                    resource.kind.clone().unwrap_or_default(),
                    resource.name.clone().unwrap_or_default()
                ));
                r
            });
            let before = report.misconfigs.len();
            add_result(report, result, "Vulnerabilities[].Results[]");
            skipped_misconfigs += report.misconfigs.len() - before;
            report.misconfigs.truncate(before);
        }
    }
    for resource in c.misconfigurations.into_iter().flatten() {
        for result in resource.results.unwrap_or_default() {
            skipped_misconfigs += result.misconfigurations.as_ref().map_or(0, Vec::len);
        }
    }
    let mut reports: Vec<Report> = by_image.into_values().collect();
    if reports.is_empty() {
        let mut r = Report::new(Format::Trivy, "trivy");
        r.kind = ArtifactKind::Cluster;
        r.artifact_name = Some(format!("cluster:{cluster}"));
        reports.push(r);
    }
    if skipped_misconfigs > 0 {
        reports[0].notes.push(format!(
            "{skipped_misconfigs} Kubernetes misconfiguration results were not stored: they belong to workloads, which arrive with the Kubernetes collector"
        ));
    }
    Ok(reports)
}

#[derive(Deserialize)]
struct OperatorReport {
    kind: String,
    report: OperatorBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorBody {
    #[serde(default)]
    artifact: Option<OperatorArtifact>,
    #[serde(default)]
    registry: Option<OperatorRegistry>,
    #[serde(default)]
    scanner: Option<OperatorScanner>,
    #[serde(default)]
    update_timestamp: Option<String>,
    #[serde(default)]
    vulnerabilities: Option<Vec<OperatorVuln>>,
    #[serde(default)]
    checks: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct OperatorArtifact {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

#[derive(Deserialize)]
struct OperatorRegistry {
    #[serde(default)]
    server: Option<String>,
}

#[derive(Deserialize)]
struct OperatorScanner {
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperatorVuln {
    #[serde(rename = "vulnerabilityID")]
    vulnerability_id: String,
    resource: String,
    #[serde(default)]
    installed_version: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    primary_link: Option<String>,
    #[serde(default)]
    links: Option<Vec<String>>,
}

/// Trivy Operator custom resources: a `VulnerabilityReport` is a scan of one image; a
/// `ConfigAuditReport` audits a Kubernetes resource (counted, not stored: workloads arrive
/// with the Kubernetes collector).
pub fn parse_operator(bytes: &[u8]) -> Result<Report, ParseError> {
    let o: OperatorReport = from_json(bytes, "Trivy Operator")?;
    let mut report = Report::new(Format::Trivy, "trivy-operator");
    report.scanner_version = o.report.scanner.and_then(|s| s.version);
    report.scanned_at = o.report.update_timestamp.as_deref().and_then(parse_date);
    match o.kind.as_str() {
        "VulnerabilityReport" => {
            report.kind = ArtifactKind::Image;
            let artifact = o.report.artifact.unwrap_or(OperatorArtifact {
                repository: None,
                tag: None,
                digest: None,
            });
            let registry = o.report.registry.and_then(|r| r.server).unwrap_or_default();
            let repository = artifact.repository.unwrap_or_default();
            let reference = match (&artifact.tag, registry.as_str()) {
                (Some(tag), "index.docker.io" | "docker.io" | "") => format!("{repository}:{tag}"),
                (Some(tag), server) => format!("{server}/{repository}:{tag}"),
                (None, _) => repository.clone(),
            };
            report.artifact_name = Some(reference.clone());
            report.repo_tags = vec![reference];
            if let Some(d) = artifact.digest.filter(|d| d.starts_with("sha256:")) {
                report.repo_digests.push(d);
            }
            let vulns = o.report.vulnerabilities.unwrap_or_default();
            report.entries = vulns.len();
            for v in vulns {
                let (severity, scanner_severity) = rate(v.severity.as_deref(), v.score);
                let mut references = v.links.unwrap_or_default();
                if let Some(p) = v.primary_link {
                    references.insert(0, p);
                }
                report.vulns.push(VulnRecord {
                    id: v.vulnerability_id,
                    aliases: Vec::new(),
                    package: PackageRef::new(
                        "",
                        &v.resource,
                        v.installed_version.as_deref().unwrap_or_default(),
                        None,
                    ),
                    fixed_version: v.fixed_version.filter(|f| !f.is_empty()),
                    severity,
                    scanner_severity,
                    cvss_score: v.score,
                    cvss_vector: None,
                    epss: None,
                    known_exploited: false,
                    published: None,
                    modified: None,
                    layer: None,
                    title: v.title,
                    description: None,
                    references,
                });
            }
        }
        "ConfigAuditReport" => {
            report.kind = ArtifactKind::Cluster;
            let checks = o.report.checks.unwrap_or_default();
            report.artifact_name = Some("kubernetes resource".into());
            report.notes.push(format!(
                "{} Kubernetes configuration checks were not stored: they belong to workloads, which arrive with the Kubernetes collector",
                checks.len()
            ));
        }
        other => {
            return Err(ParseError::at(
                "kind",
                format!("unsupported Trivy Operator report kind '{other}'"),
            ))
        }
    }
    Ok(report)
}
