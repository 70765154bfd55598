//! `coastguard audit docker`: collect from one engine and run every check once, with no
//! server and no database. The same collection and check code as the server.

use coastguard_core::docker::checks::{evaluate_drift, Detected};
use coastguard_core::docker::collect;
use coastguard_core::docker::collector::evaluate;
use coastguard_core::docker::engine::{self, EngineConfig};
use coastguard_model::docker::Policy;
use coastguard_model::findings::SubjectKind;
use coastguard_model::Severity;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
    pub id: String,
}

/// One finding as printed with `--json` (one object per line).
#[derive(Serialize)]
pub struct AuditFinding {
    pub check_id: &'static str,
    pub title: &'static str,
    /// A section of [`coastguard_core::docker::catalog::CIS_BENCHMARK`].
    pub cis: Option<&'static str>,
    pub cis_benchmark: Option<&'static str>,
    pub severity: Severity,
    pub subject: Subject,
    pub instance: String,
    pub evidence: String,
    pub remediation: &'static str,
}

impl AuditFinding {
    fn new(d: &Detected, subject: Subject) -> AuditFinding {
        AuditFinding {
            check_id: d.check.id,
            title: d.check.title,
            cis: d.check.cis,
            cis_benchmark: d
                .check
                .cis
                .map(|_| coastguard_core::docker::catalog::CIS_BENCHMARK),
            severity: d.severity,
            subject,
            instance: d.instance.clone(),
            evidence: d.evidence.clone(),
            remediation: d.check.remediation,
        }
    }
}

/// The engine to audit: `--host`, else `DOCKER_HOST`, else the local socket; TLS from
/// `DOCKER_CERT_PATH` (ca.pem, cert.pem, key.pem) as the docker CLI does.
pub fn engine_config(host: Option<String>) -> EngineConfig {
    let endpoint = host
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .unwrap_or_else(|| coastguard_core::docker::collector::LOCAL_ENDPOINT.to_string());
    let mut config = EngineConfig::new(endpoint);
    if let Ok(dir) = std::env::var("DOCKER_CERT_PATH") {
        let file = |name: &str| Some(Path::new(&dir).join(name).display().to_string());
        if config.endpoint.starts_with("tcp://") || config.endpoint.starts_with("https://") {
            config.tls_ca = file("ca.pem");
            config.tls_cert = file("cert.pem");
            config.tls_key = file("key.pem");
        }
    }
    config
}

pub async fn run(config: &EngineConfig, policy: &Policy) -> anyhow::Result<Vec<AuditFinding>> {
    config.validate().map_err(anyhow::Error::msg)?;
    let docker = engine::connect(config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the engine at {}: {e}", config.endpoint))?;
    let snapshot = collect::snapshot(&docker, config).await?;
    let now = coastguard_core::now();
    let host_name = snapshot
        .host
        .name
        .clone()
        .unwrap_or_else(|| config.endpoint.clone());
    let mut out = Vec::new();
    for subject in evaluate(&snapshot, policy, now) {
        let who = match subject.kind {
            SubjectKind::Host => Subject {
                kind: subject.kind,
                name: host_name.clone(),
                id: config.endpoint.clone(),
            },
            SubjectKind::Image => {
                let image = snapshot.images.iter().find(|i| i.id == subject.key);
                let name = image
                    .and_then(|i| i.repo_tags.first().cloned())
                    .unwrap_or_else(|| short(subject.key).to_string());
                Subject {
                    kind: subject.kind,
                    name,
                    id: subject.key.to_string(),
                }
            }
            _ => {
                let name = snapshot
                    .containers
                    .iter()
                    .find(|c| c.id == subject.key)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                Subject {
                    kind: subject.kind,
                    name,
                    id: subject.key.to_string(),
                }
            }
        };
        out.extend(subject.found.iter().map(|d| {
            AuditFinding::new(
                d,
                Subject {
                    kind: who.kind,
                    name: who.name.clone(),
                    id: who.id.clone(),
                },
            )
        }));
    }
    for c in snapshot.containers.iter().filter(|c| c.is_running()) {
        if let Some(d) = evaluate_drift(&collect::changes(&docker, &c.id).await?) {
            out.push(AuditFinding::new(
                &d,
                Subject {
                    kind: SubjectKind::Container,
                    name: c.name.clone(),
                    id: c.id.clone(),
                },
            ));
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.check_id.cmp(b.check_id))
            .then(a.subject.name.cmp(&b.subject.name))
    });
    Ok(out)
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// Human-readable report. A closed stdout (`| head`) ends the output quietly.
pub fn print_text(findings: &[AuditFinding]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for f in findings {
        let instance = if f.instance.is_empty() {
            String::new()
        } else {
            format!(" [{}]", f.instance)
        };
        let id = if f.subject.kind == SubjectKind::Host {
            f.subject.id.as_str()
        } else {
            short(&f.subject.id)
        };
        writeln!(
            out,
            "{:<8} {:<36} CIS {:<5} {} {} ({id}){instance}\n         {}\n         fix: {}",
            f.severity.as_str().to_uppercase(),
            f.check_id,
            f.cis.unwrap_or("-"),
            f.subject.kind,
            f.subject.name,
            f.evidence,
            f.remediation,
        )?;
    }
    let mut counts = std::collections::BTreeMap::new();
    for f in findings {
        *counts.entry(std::cmp::Reverse(f.severity)).or_insert(0) += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", s.0)).collect();
    let summary = if summary.is_empty() {
        "none".to_string()
    } else {
        summary.join(", ")
    };
    writeln!(
        out,
        "{} findings: {summary} (CIS sections: {})",
        findings.len(),
        coastguard_core::docker::catalog::CIS_BENCHMARK
    )?;
    out.flush()
}

/// One JSON object per line.
pub fn print_json(findings: &[AuditFinding]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for f in findings {
        serde_json::to_writer(&mut out, f)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
