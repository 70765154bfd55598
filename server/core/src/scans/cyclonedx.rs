//! CycloneDX 1.4–1.7 JSON. A BOM with vulnerabilities is a scan report (a BOM without
//! any is a clean one); vulnerabilities with `analysis` and no components to tie them to
//! are a VEX document.

use super::{
    from_json, parse_date, rate, ArtifactKind, Document, Format, PackageRef, ParseError, Report,
    VexStatement, VulnRecord,
};
use regex::Regex;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Deserialize)]
struct Bom {
    #[serde(rename = "specVersion", default)]
    spec_version: Option<String>,
    /// Must be a `urn:uuid:` string when present; a number is refused.
    #[serde(rename = "serialNumber", default)]
    #[allow(dead_code)]
    serial_number: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Option<Vec<Component>>,
    /// Read one by one ([`super::read_entry`]): a malformed one is skipped and named.
    #[serde(default)]
    vulnerabilities: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    tools: Option<serde_json::Value>,
    #[serde(default)]
    component: Option<Component>,
}

#[derive(Deserialize)]
struct Property {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    group: Option<String>,
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    properties: Option<Vec<Property>>,
    #[serde(default)]
    components: Option<Vec<Component>>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct Rating {
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    vector: Option<String>,
}

#[derive(Deserialize)]
struct Advisory {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Affects {
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Deserialize)]
struct Analysis {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    justification: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    id: String,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    #[serde(default)]
    ratings: Option<Vec<Rating>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    recommendation: Option<String>,
    #[serde(default)]
    advisories: Option<Vec<Advisory>>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    affects: Option<Vec<Affects>>,
    #[serde(default)]
    analysis: Option<Analysis>,
}

fn index<'a>(components: &'a [Component], out: &mut HashMap<&'a str, &'a Component>) {
    for c in components {
        if let Some(r) = &c.bom_ref {
            out.insert(r.as_str(), c);
        }
        if let Some(purl) = &c.purl {
            out.entry(purl.as_str()).or_insert(c);
        }
        if let Some(children) = &c.components {
            index(children, out);
        }
    }
}

fn property<'a>(c: &'a Component, name: &str) -> Vec<&'a str> {
    c.properties
        .iter()
        .flatten()
        .filter(|p| p.name == name)
        .filter_map(|p| p.value.as_deref())
        .collect()
}

fn upgrade_to() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)to version\s+([^\s,;]+)").expect("valid pattern"))
}

fn tool_name(tools: &serde_json::Value) -> Option<(String, Option<String>)> {
    // 1.4: [{vendor, name, version}]; 1.5+: {components: [{name, version}]}.
    let first = match tools {
        serde_json::Value::Array(a) => a.first(),
        serde_json::Value::Object(o) => o
            .get("components")
            .and_then(|c| c.as_array())
            .and_then(|a| a.first()),
        _ => None,
    }?;
    let name = first.get("name")?.as_str()?.to_ascii_lowercase();
    let version = first
        .get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Some((name, version))
}

/// `not_affected`, `fixed`, `affected`, `under_investigation` from CycloneDX states.
fn vex_status(state: &str) -> &'static str {
    match state {
        "not_affected" | "false_positive" => "not_affected",
        "resolved" | "resolved_with_pedigree" => "fixed",
        "exploitable" => "affected",
        _ => "under_investigation",
    }
}

/// A VEX document's statements: one per vulnerability and product it affects (or one
/// naming no product).
fn vex_statements(vulns: Vec<Vulnerability>) -> Vec<VexStatement> {
    vulns
        .into_iter()
        .flat_map(|v| {
            let analysis = v.analysis.expect("checked above");
            let status = vex_status(analysis.state.as_deref().unwrap_or_default());
            let refs: Vec<Option<String>> = match v.affects {
                Some(a) if !a.is_empty() => a
                    .into_iter()
                    .map(|a| {
                        Some(
                            a.reference
                                .rsplit_once('#')
                                .map_or(a.reference.clone(), |(_, p)| p.to_string()),
                        )
                    })
                    .collect(),
                _ => vec![None],
            };
            refs.into_iter()
                .map(|product| VexStatement {
                    vuln_id: v.id.clone(),
                    product,
                    status: status.to_string(),
                    justification: analysis.justification.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What the BOM's metadata says of the artifact and the tool that made it.
fn describe_artifact(report: &mut Report, meta: &Metadata) {
    report.scanned_at = meta.timestamp.as_deref().and_then(parse_date);
    if let Some((name, version)) = meta.tools.as_ref().and_then(tool_name) {
        report.scanner = name;
        report.scanner_version = version;
    }
    if let Some(c) = &meta.component {
        report.artifact_name = Some(c.name.clone());
        if c.kind.as_deref() == Some("container") {
            report.kind = ArtifactKind::Image;
        }
        report.image_id = property(c, "aquasecurity:trivy:ImageID")
            .first()
            .map(|s| s.to_string());
        report.repo_tags = property(c, "aquasecurity:trivy:RepoTag")
            .into_iter()
            .map(str::to_string)
            .collect();
        report.repo_digests = property(c, "aquasecurity:trivy:RepoDigest")
            .into_iter()
            .map(str::to_string)
            .collect();
        // pkg:oci/name@sha256:... names the manifest digest.
        if let Some(digest) = c
            .purl
            .as_deref()
            .and_then(super::pkg::parse_purl)
            .and_then(|p| p.version)
            .filter(|v| v.starts_with("sha256:"))
        {
            report.repo_digests.push(digest);
        }
    }
}

/// One vulnerability as an entry per component it affects; returns how many of the
/// components it names the BOM does not hold.
fn add_vulnerability(
    report: &mut Report,
    v: &Vulnerability,
    by_ref: &HashMap<&str, &Component>,
) -> usize {
    let mut unmatched = 0;
    let rating = v
        .ratings
        .iter()
        .flatten()
        .find(|r| r.severity.is_some() && r.method.as_deref() != Some("other"));
    let scored = v
        .ratings
        .iter()
        .flatten()
        .filter(|r| r.method.as_deref().is_some_and(|m| m.starts_with("CVSS")))
        .find(|r| r.score.is_some());
    let score = scored.and_then(|r| r.score);
    let (severity, scanner_severity) = rate(rating.and_then(|r| r.severity.as_deref()), score);
    let epss = v
        .ratings
        .iter()
        .flatten()
        .find(|r| r.source.as_ref().and_then(|s| s.name.as_deref()) == Some("FIRST"))
        .and_then(|r| r.score);
    let fixed = v
        .recommendation
        .as_deref()
        .and_then(|r| upgrade_to().captures(r))
        .map(|c| c[1].to_string());
    let aliases: Vec<String> = v
        .references
        .iter()
        .flatten()
        .map(|r| r.id.clone())
        .filter(|id| id != &v.id)
        .collect();
    for a in v.affects.iter().flatten() {
        let Some(c) = by_ref.get(a.reference.as_str()) else {
            unmatched += 1;
            continue;
        };
        report.entries += 1;
        let name = match &c.group {
            Some(g) if !g.is_empty() => format!("{g}:{}", c.name),
            _ => c.name.clone(),
        };
        report.vulns.push(VulnRecord {
            id: v.id.clone(),
            aliases: aliases.clone(),
            package: PackageRef::new(
                c.kind.as_deref().unwrap_or("library"),
                &name,
                c.version.as_deref().unwrap_or_default(),
                c.purl.as_deref(),
            ),
            fixed_version: fixed.clone(),
            severity,
            scanner_severity: scanner_severity.clone(),
            cvss_score: score,
            cvss_vector: scored.and_then(|r| r.vector.clone()),
            epss,
            known_exploited: false,
            published: v.published.as_deref().and_then(parse_date),
            modified: v.updated.as_deref().and_then(parse_date),
            layer: None,
            title: None,
            description: v.description.clone().or_else(|| v.detail.clone()),
            references: v
                .advisories
                .iter()
                .flatten()
                .filter_map(|a| a.url.clone())
                .collect(),
        });
    }
    unmatched
}

pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let bom: Bom = from_json(bytes, "CycloneDX")?;
    if let Some(v) = bom.spec_version.as_deref() {
        if !matches!(v, "1.2" | "1.3" | "1.4" | "1.5" | "1.6" | "1.7") {
            return Err(ParseError::at(
                "specVersion",
                format!("CycloneDX {v} is not supported (1.4 to 1.7 are)"),
            ));
        }
    }
    let components = bom.components.unwrap_or_default();
    let mut skipped = Vec::new();
    let vulns: Vec<Vulnerability> = bom
        .vulnerabilities
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, v)| super::read_entry(v, &format!("vulnerabilities[{i}]"), &mut skipped))
        .collect();
    if components.is_empty() && !vulns.is_empty() && vulns.iter().all(|v| v.analysis.is_some()) {
        // A VEX document is applied whole or not at all: a statement half read could
        // widen or drop what the vendor stated.
        if let Some(first) = skipped.first() {
            return Err(ParseError::at(first.path.clone(), first.reason.clone()));
        }
        let statements = vex_statements(vulns);
        return Ok(Document::Vex {
            format: Format::CycloneDx,
            statements,
        });
    }

    let mut report = Report::new(Format::CycloneDx, "cyclonedx");
    report.kind = ArtifactKind::Sbom;
    report.skipped = skipped;
    if let Some(meta) = &bom.metadata {
        describe_artifact(&mut report, meta);
    }
    let mut by_ref = HashMap::new();
    index(&components, &mut by_ref);
    let mut unmatched = 0usize;
    for v in &vulns {
        unmatched += add_vulnerability(&mut report, v, &by_ref);
    }
    if unmatched > 0 {
        report.notes.push(format!(
            "{unmatched} vulnerability entries name no component of the BOM and were not stored"
        ));
    }
    // Each skipped vulnerability counts as one entry read.
    report.entries += report.skipped.len();
    report.note_skipped();
    Ok(Document::Reports(vec![report]))
}
