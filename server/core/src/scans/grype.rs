//! Grype JSON, from 0.7 (2020: `cvssV2`/`cvssV3`, `fixedInVersion`, a single
//! `matchDetails` object) to current (`cvss[]`, `fix`, `epss`, `knownExploited`).

use super::{
    from_json, parse_date, rate, ArtifactKind, Format, PackageRef, ParseError, Report, VulnRecord,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct GrypeReport {
    /// Read match by match: one malformed match is skipped (and reported), not fatal.
    #[serde(default)]
    matches: Vec<serde_json::Value>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    descriptor: Option<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    target: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Match {
    vulnerability: Vuln,
    #[serde(rename = "relatedVulnerabilities", default)]
    related: Option<Vec<Vuln>>,
    artifact: Artifact,
}

#[derive(Deserialize, Default)]
struct CvssOld {
    #[serde(rename = "baseScore", default)]
    base_score: Option<f64>,
    #[serde(default)]
    vector: Option<String>,
}

#[derive(Deserialize)]
struct Cvss {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    vector: Option<String>,
    #[serde(default)]
    metrics: Option<CvssMetrics>,
}

#[derive(Deserialize)]
struct CvssMetrics {
    #[serde(rename = "baseScore", default)]
    base_score: Option<f64>,
}

#[derive(Deserialize)]
struct Epss {
    #[serde(default)]
    epss: Option<f64>,
}

#[derive(Deserialize)]
struct Fix {
    #[serde(default)]
    versions: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Vuln {
    id: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    urls: Option<Vec<String>>,
    #[serde(default)]
    links: Option<Vec<String>>,
    #[serde(default)]
    cvss: Option<Vec<Cvss>>,
    #[serde(rename = "cvssV2", default)]
    cvss_v2: Option<CvssOld>,
    #[serde(rename = "cvssV3", default)]
    cvss_v3: Option<CvssOld>,
    #[serde(default)]
    epss: Option<Vec<Epss>>,
    #[serde(default)]
    fix: Option<Fix>,
    #[serde(rename = "fixedInVersion", default)]
    fixed_in_version: Option<String>,
    #[serde(rename = "knownExploited", default)]
    known_exploited: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct Artifact {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    locations: Option<Vec<Location>>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(rename = "layerID", default)]
    layer_id: Option<String>,
}

/// The best CVSS of a vulnerability: the newest version, NVD first.
fn cvss_of(v: &Vuln) -> (Option<f64>, Option<String>) {
    if let Some(list) = &v.cvss {
        let mut best: Option<&Cvss> = None;
        for c in list {
            let better = match best {
                None => true,
                Some(b) => {
                    let (cv, bv) = (
                        c.version.as_deref().unwrap_or("0"),
                        b.version.as_deref().unwrap_or("0"),
                    );
                    cv > bv || (cv == bv && c.source.as_deref() == Some("nvd@nist.gov"))
                }
            };
            if better {
                best = Some(c);
            }
        }
        if let Some(b) = best {
            return (
                b.metrics.as_ref().and_then(|m| m.base_score),
                b.vector.clone(),
            );
        }
    }
    for old in [&v.cvss_v3, &v.cvss_v2].into_iter().flatten() {
        if old.base_score.is_some() {
            return (old.base_score, old.vector.clone());
        }
    }
    (None, None)
}

/// What the source says of the scanned artifact.
fn describe_artifact(report: &mut Report, source: Source) {
    report.kind = match source.kind.as_deref() {
        Some("image") => ArtifactKind::Image,
        Some("directory") | Some("file") => ArtifactKind::Filesystem,
        Some("sbom") => ArtifactKind::Sbom,
        _ => ArtifactKind::Unknown,
    };
    match source.target {
        Some(serde_json::Value::String(name)) => report.artifact_name = Some(name),
        Some(serde_json::Value::Object(t)) => {
            let text = |k: &str| super::json_text(&t, k);
            let list = |k: &str| super::json_list(&t, k);
            report.artifact_name = text("userInput");
            report.image_id = text("imageID").filter(|i| i.starts_with("sha256:"));
            report.repo_tags = list("tags");
            report.repo_digests = list("repoDigests");
            if let Some(manifest) = text("manifestDigest") {
                if !report.repo_digests.iter().any(|d| d.ends_with(&manifest)) {
                    report.repo_digests.push(manifest);
                }
            }
        }
        _ => {}
    }
}

/// One match as a vulnerability record: the CVSS of the vulnerability or, failing that,
/// of a related one; related ids as aliases; references of both.
fn record(m: Match) -> VulnRecord {
    let related = m.related.unwrap_or_default();
    let (mut score, mut vector) = cvss_of(&m.vulnerability);
    if score.is_none() {
        if let Some((s, v)) = related.iter().map(cvss_of).find(|(s, _)| s.is_some()) {
            score = s;
            vector = v;
        }
    }
    let v = m.vulnerability;
    let (severity, scanner_severity) = rate(v.severity.as_deref(), score);
    let description = v
        .description
        .clone()
        .or_else(|| related.iter().find_map(|r| r.description.clone()));
    let mut references = v.urls.clone().or(v.links.clone()).unwrap_or_default();
    for r in &related {
        for u in r.urls.iter().flatten() {
            if !references.contains(u) {
                references.push(u.clone());
            }
        }
    }
    let layer = m
        .artifact
        .locations
        .iter()
        .flatten()
        .find_map(|l| l.layer_id.clone());
    let package = PackageRef::new(
        m.artifact.kind.as_deref().unwrap_or_default(),
        &m.artifact.name,
        m.artifact.version.as_deref().unwrap_or_default(),
        m.artifact.purl.as_deref(),
    );
    VulnRecord {
        aliases: related
            .iter()
            .map(|r| r.id.clone())
            .filter(|id| id != &v.id)
            .collect(),
        fixed_version: v
            .fix
            .as_ref()
            .and_then(|f| f.versions.as_ref())
            .and_then(|vs| vs.first().cloned())
            .or(v.fixed_in_version.clone())
            .filter(|f| !f.is_empty()),
        severity,
        scanner_severity,
        cvss_score: score,
        cvss_vector: vector,
        epss: v.epss.as_ref().and_then(|e| e.iter().find_map(|x| x.epss)),
        known_exploited: v.known_exploited.as_ref().is_some_and(|k| !k.is_empty()),
        published: None,
        modified: None,
        layer,
        title: None,
        description,
        references,
        package,
        id: v.id,
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, ParseError> {
    let g: GrypeReport = from_json(bytes, "Grype")?;
    let mut report = Report::new(Format::Grype, "grype");
    if let Some(d) = g.descriptor {
        report.scanner = d.name.unwrap_or_else(|| "grype".into());
        report.scanner_version = d.version.filter(|v| !v.starts_with('['));
        report.scanned_at = d.timestamp.as_deref().and_then(parse_date);
    }
    if let Some(source) = g.source {
        describe_artifact(&mut report, source);
    }
    report.entries = g.matches.len();
    let mut skipped = Vec::new();
    let matches: Vec<Match> = g
        .matches
        .into_iter()
        .enumerate()
        .filter_map(|(i, m)| super::read_entry(m, &format!("matches[{i}]"), &mut skipped))
        .collect();
    report.skipped = skipped;
    report.vulns.extend(matches.into_iter().map(record));
    report.note_skipped();
    Ok(report)
}
