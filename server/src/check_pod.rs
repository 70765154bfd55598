//! `coastguard check-pod`: judge Pod and workload manifests against a Pod Security
//! Standards level before they deploy. No server, no database.
//!
//! One JSON object per pod on stdout; exit 0 when every pod is allowed, 1 when any is
//! denied, 2 when an input could not be read (the others are still judged).

use coastguard_core::kube::pss::{self, manifest, Level, Version, Violation};
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

#[derive(Serialize)]
struct Verdict<'a> {
    file: &'a str,
    document: usize,
    kind: &'a str,
    name: &'a str,
    level: Level,
    version: Version,
    allowed: bool,
    violations: Vec<Violation>,
}

/// Judges every file; `read` returns a file's text (`-` is standard input).
pub fn run(
    level: Level,
    version: Version,
    files: &[&Path],
    mut read: impl FnMut(&Path) -> io::Result<String>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<u8> {
    let (mut denied, mut unreadable, mut judged) = (false, false, 0usize);
    for file in files {
        let shown = if file.as_os_str() == "-" {
            "-".to_string()
        } else {
            file.display().to_string()
        };
        let text = match read(file) {
            Ok(text) => text,
            Err(e) => {
                writeln!(err, "coastguard: {shown}: {e}")?;
                unreadable = true;
                continue;
            }
        };
        for document in manifest::documents(&text) {
            let found = document.and_then(|(n, value)| {
                let pods = manifest::pods(n, &value)?;
                Ok(pods
                    .into_iter()
                    .map(|p| verdict_line(&shown, &p, level, version))
                    .collect::<Vec<_>>())
            });
            match found {
                Ok(lines) => {
                    for (allowed, line) in lines {
                        judged += 1;
                        denied |= !allowed;
                        writeln!(out, "{line}")?;
                    }
                }
                Err(e) => {
                    writeln!(
                        err,
                        "coastguard: {shown}: document {}: {}",
                        e.document, e.message
                    )?;
                    unreadable = true;
                }
            }
        }
    }
    if judged == 0 && !unreadable {
        writeln!(
            err,
            "coastguard: no Pod or workload with a pod template in the input"
        )?;
    }
    Ok(if unreadable {
        2
    } else if denied {
        1
    } else {
        0
    })
}

fn verdict_line(
    file: &str,
    p: &manifest::ManifestPod<'_>,
    level: Level,
    version: Version,
) -> (bool, String) {
    let violations = pss::evaluate(p.pod, level, version);
    let verdict = Verdict {
        file,
        document: p.document,
        kind: &p.kind,
        name: &p.name,
        level,
        version,
        allowed: violations.is_empty(),
        violations,
    };
    let line = serde_json::to_string(&verdict).expect("a verdict always serialises");
    (verdict.allowed, line)
}
