//! SARIF 2.1.0 from any scanner. Vulnerability scanners (Trivy, Grype, dependency-check)
//! name the package in the message or the rule's help; for code scanners (Semgrep...)
//! the "package" is the file a result points at and the rule is the weakness.

use super::{
    from_json, looks_like_vuln_id, rate, ArtifactKind, Format, PackageRef, ParseError, Report,
    VulnRecord,
};
use coastguard_model::Severity;
use regex::Regex;
use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Deserialize)]
struct Sarif {
    #[serde(default)]
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    tool: Tool,
    /// Read result by result: one malformed result is skipped (and reported), not fatal.
    #[serde(default)]
    results: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Driver,
}

#[derive(Deserialize)]
struct Driver {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "semanticVersion", default)]
    semantic_version: Option<String>,
    #[serde(default)]
    rules: Option<Vec<Rule>>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Rule {
    id: String,
    #[serde(rename = "shortDescription", default)]
    short_description: Option<Text>,
    #[serde(rename = "fullDescription", default)]
    full_description: Option<Text>,
    #[serde(rename = "helpUri", default)]
    help_uri: Option<String>,
    #[serde(default)]
    help: Option<Text>,
    #[serde(rename = "defaultConfiguration", default)]
    default_configuration: Option<Configuration>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    level: Option<String>,
}

#[derive(Deserialize)]
struct SarifResult {
    #[serde(rename = "ruleId", default)]
    rule_id: Option<String>,
    #[serde(rename = "ruleIndex", default)]
    rule_index: Option<usize>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    message: Option<Text>,
    #[serde(default)]
    locations: Option<Vec<ResultLocation>>,
}

#[derive(Deserialize)]
struct ResultLocation {
    #[serde(rename = "physicalLocation", default)]
    physical: Option<Physical>,
}

#[derive(Deserialize)]
struct Physical {
    #[serde(rename = "artifactLocation", default)]
    artifact: Option<ArtifactLocation>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    #[serde(default)]
    uri: Option<String>,
}

fn vuln_id_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|[A-Z]+-\d{4}-[0-9A-Za-z:.-]+?)(-|$)")
            .expect("valid pattern")
    })
}

/// `Package: x`, `Installed Version: y`, `Fixed Version: z` (Trivy) or `Version:` and
/// `Fix Version:` (Grype), one per line.
fn field<'a>(text: &'a str, names: &[&str]) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let key = key.trim().trim_start_matches("**").trim_end_matches("**");
        names
            .iter()
            .any(|n| key.eq_ignore_ascii_case(n))
            .then(|| value.trim())
            .filter(|v| !v.is_empty())
    })
}

fn level_severity(level: &str) -> Severity {
    match level {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "note" => Severity::Low,
        "none" => Severity::Negligible,
        _ => Severity::Unknown,
    }
}

/// What a run's properties say of the scanned artifact (Trivy writes its image there).
fn describe_artifact(report: &mut Report, props: &serde_json::Map<String, serde_json::Value>) {
    let text = |k: &str| super::json_text(props, k);
    let list = |k: &str| super::json_list(props, k);
    if let Some(id) = text("imageID").filter(|i| i.starts_with("sha256:")) {
        report.image_id = Some(id);
        report.kind = ArtifactKind::Image;
    }
    report.artifact_name = report.artifact_name.take().or(text("imageName"));
    report.repo_tags.extend(list("repoTags"));
    report.repo_digests.extend(list("repoDigests"));
}

/// One result as a vulnerability record: the package and versions from the message or
/// the rule's help (Trivy's layout), else the file it points at; the severity from the
/// tool's word, else its score, else the result's level.
fn record(r: SarifResult, rule: Option<&Rule>, rule_id: String) -> VulnRecord {
    let message = r.message.and_then(|m| m.text).unwrap_or_default();
    let help = rule
        .and_then(|r| r.help.as_ref())
        .and_then(|h| h.text.clone())
        .unwrap_or_default();
    let package_name = field(&message, &["Package"]).or_else(|| field(&help, &["Package"]));
    let uri = r
        .locations
        .iter()
        .flatten()
        .find_map(|l| l.physical.as_ref()?.artifact.as_ref()?.uri.clone())
        .unwrap_or_else(|| "(no location)".into());
    let (package, fixed) = match package_name {
        Some(name) => {
            let version = field(&message, &["Installed Version", "Version"])
                .or_else(|| field(&help, &["Installed Version", "Version"]));
            let kind = field(&help, &["Type"]).unwrap_or("generic");
            let fixed = field(&message, &["Fixed Version", "Fix Version"])
                .or_else(|| field(&help, &["Fixed Version", "Fix Version"]));
            (
                PackageRef::new(kind, name, version.unwrap_or_default(), None),
                fixed.map(str::to_string),
            )
        }
        None => (
            PackageRef {
                kind: "file".into(),
                name: uri.clone(),
                version: String::new(),
                purl: None,
            },
            None,
        ),
    };
    let id = match vuln_id_prefix().captures(&rule_id) {
        Some(c) if looks_like_vuln_id(&c[1]) => c[1].to_string(),
        _ => rule_id.clone(),
    };
    let score = rule
        .and_then(|r| r.properties.as_ref())
        .and_then(|p| p.get("security-severity"))
        .and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .or_else(|| v.as_f64())
        });
    let explicit = field(&message, &["Severity"]).or_else(|| field(&help, &["Severity"]));
    let level = r
        .level
        .as_deref()
        .or_else(|| rule.and_then(|r| r.default_configuration.as_ref()?.level.as_deref()))
        .unwrap_or("warning");
    // The tool's own word, else its score, else the result's level.
    let (severity, scanner_severity) = match rate(explicit, score) {
        (Severity::Unknown, word) if score.is_none() => {
            (level_severity(level), word.or_else(|| Some(level.into())))
        }
        rated => rated,
    };
    VulnRecord {
        id,
        aliases: Vec::new(),
        package,
        fixed_version: fixed,
        severity,
        scanner_severity,
        cvss_score: score,
        cvss_vector: None,
        epss: None,
        known_exploited: false,
        published: None,
        modified: None,
        layer: None,
        title: rule.and_then(|r| r.short_description.as_ref()?.text.clone()),
        description: rule
            .and_then(|r| r.full_description.as_ref()?.text.clone())
            .or(Some(message)),
        references: rule.and_then(|r| r.help_uri.clone()).into_iter().collect(),
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, ParseError> {
    let sarif: Sarif = from_json(bytes, "SARIF")?;
    let mut report = Report::new(Format::Sarif, "sarif");
    report.kind = ArtifactKind::Unknown;
    for (n, run) in sarif.runs.into_iter().enumerate() {
        if n == 0 {
            report.scanner = run.tool.driver.name.to_ascii_lowercase();
            report.scanner_version = run.tool.driver.semantic_version.clone().or(run
                .tool
                .driver
                .version
                .clone());
        }
        if let Some(props) = &run.properties {
            describe_artifact(&mut report, props);
        }
        let rules = run.tool.driver.rules.unwrap_or_default();
        let results = run.results.unwrap_or_default();
        report.entries += results.len();
        for (i, raw) in results.into_iter().enumerate() {
            let at = format!("runs[{n}].results[{i}]");
            let Some(r) = super::read_entry::<SarifResult>(raw, &at, &mut report.skipped) else {
                continue;
            };
            let rule = r
                .rule_index
                .and_then(|i| rules.get(i))
                .filter(|rule| r.rule_id.as_deref().is_none_or(|id| id == rule.id))
                .or_else(|| {
                    r.rule_id
                        .as_deref()
                        .and_then(|id| rules.iter().find(|rule| rule.id == id))
                });
            let Some(rule_id) = r
                .rule_id
                .clone()
                .or_else(|| rule.map(|rule| rule.id.clone()))
            else {
                report.skipped.push(super::Skipped {
                    path: at,
                    reason: "a SARIF result needs a ruleId or ruleIndex".into(),
                });
                continue;
            };
            report.vulns.push(record(r, rule, rule_id));
        }
    }
    if report.kind == ArtifactKind::Unknown
        && report.vulns.iter().all(|v| v.package.kind == "file")
        && !report.vulns.is_empty()
    {
        report.kind = ArtifactKind::Repository;
    }
    report.note_skipped();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_trivy_and_grype_texts() {
        let trivy = "Package: libcrypto1.1\nInstalled Version: 1.1.1c-r0\nVulnerability CVE-2019-1549\nSeverity: MEDIUM\nFixed Version: 1.1.1d-r0";
        assert_eq!(field(trivy, &["Package"]), Some("libcrypto1.1"));
        assert_eq!(
            field(trivy, &["Installed Version", "Version"]),
            Some("1.1.1c-r0")
        );
        assert_eq!(
            field(trivy, &["Fixed Version", "Fix Version"]),
            Some("1.1.1d-r0")
        );
        let grype = "Vulnerability CVE-1999-0001\nSeverity: low\nPackage: package-1\nVersion: 1.1.1\nFix Version: 1.2.1,2.1.3";
        assert_eq!(
            field(grype, &["Installed Version", "Version"]),
            Some("1.1.1")
        );
        let c = vuln_id_prefix()
            .captures("CVE-1999-0001-package-1")
            .unwrap();
        assert_eq!(&c[1], "CVE-1999-0001");
    }
}
