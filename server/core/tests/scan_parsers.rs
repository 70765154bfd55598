//! Every real report in the fixture set parses; counts are computed from the JSON here,
//! independently of the parsers.

use coastguard_core::scans::{self, Document, Format};
use coastguard_model::Severity;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test"))
        .join("tests/fixtures")
        .join(sub)
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir(sub)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    // A loop over no fixtures would pass having checked nothing.
    assert!(!out.is_empty(), "no fixtures under {sub}");
    out
}

fn arr<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// (vulnerability entries, distinct package+vulnerability pairs) of a Trivy document.
fn trivy_counts(doc: &Value) -> (usize, usize) {
    let results: Vec<&Value> = match doc {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        _ => {
            if doc.get("ClusterName").is_some() {
                let mut r = Vec::new();
                for res in arr(doc, "Vulnerabilities")
                    .into_iter()
                    .chain(arr(doc, "Resources"))
                {
                    r.extend(arr(res, "Results"));
                }
                r
            } else {
                arr(doc, "Results")
            }
        }
    };
    let mut entries = 0;
    let mut pairs = BTreeSet::new();
    for r in results {
        for v in arr(r, "Vulnerabilities") {
            entries += 1;
            pairs.insert((
                r.get("Target")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .split(" (")
                    .next()
                    .unwrap()
                    .to_string(),
                v["PkgName"].as_str().unwrap().to_string(),
                v["VulnerabilityID"].as_str().unwrap().to_string(),
            ));
        }
    }
    // Per image in a cluster report, per report otherwise: the target only matters for
    // cluster reports, where each image is its own artifact.
    let distinct = if doc.get("ClusterName").is_some() {
        pairs.len()
    } else {
        pairs
            .iter()
            .map(|(_, p, v)| (p, v))
            .collect::<BTreeSet<_>>()
            .len()
    };
    (entries, distinct)
}

#[test]
fn every_trivy_report_parses_with_the_right_counts() {
    for path in files("scans/trivy") {
        let bytes = std::fs::read(&path).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        if doc.get("kind").is_some() {
            continue; // Trivy Operator custom resources: see the next test.
        }
        let parsed = scans::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let Document::Reports(reports) = parsed else {
            panic!("{} is not a report", path.display())
        };
        let (entries, distinct) = trivy_counts(&doc);
        let got_entries: usize = reports.iter().map(|r| r.entries).sum();
        assert_eq!(got_entries, entries, "{}", path.display());
        let got_distinct: usize = reports
            .iter()
            .map(|r| {
                r.vulns
                    .iter()
                    .map(|v| (v.package.name.to_lowercase(), v.id.clone()))
                    .collect::<BTreeSet<_>>()
                    .len()
            })
            .sum();
        assert_eq!(got_distinct, distinct, "{}", path.display());
        assert!(reports.iter().all(|r| r.format == Format::Trivy));
    }
}

#[test]
fn every_grype_report_parses_with_the_right_counts() {
    for path in files("scans/grype") {
        let bytes = std::fs::read(&path).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let Document::Reports(reports) =
            scans::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        else {
            panic!("not a report")
        };
        let matches = arr(&doc, "matches");
        assert_eq!(reports[0].entries, matches.len(), "{}", path.display());
        assert_eq!(reports[0].vulns.len(), matches.len());
        assert_eq!(reports[0].format, Format::Grype);
        // Each rated match keeps Grype's word and its level: a Negligible is not a Low
        // (the 1,509-match Debian report has 681 negligible and 107 low).
        let word = |m: &Value| m["vulnerability"]["severity"].as_str().map(str::to_string);
        for (level, spelled) in [
            (Severity::Negligible, "Negligible"),
            (Severity::Low, "Low"),
            (Severity::Medium, "Medium"),
            (Severity::High, "High"),
            (Severity::Critical, "Critical"),
        ] {
            let in_json = matches
                .iter()
                .filter(|m| word(m).as_deref() == Some(spelled))
                .count();
            let parsed = reports[0]
                .vulns
                .iter()
                .filter(|v| v.severity == level && v.scanner_severity.as_deref() == Some(spelled))
                .count();
            assert_eq!(parsed, in_json, "{spelled} in {}", path.display());
        }
        if path.ends_with("LARGE-debian-10-v0.7-1509-matches.json") {
            let of = |l: Severity| reports[0].vulns.iter().filter(|v| v.severity == l).count();
            assert_eq!((of(Severity::Negligible), of(Severity::Low)), (681, 107));
        }
    }
}

#[test]
fn every_sarif_report_parses_with_the_right_counts() {
    for path in files("scans/sarif") {
        let bytes = std::fs::read(&path).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let Document::Reports(reports) =
            scans::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        else {
            panic!("not a report")
        };
        let results: usize = arr(&doc, "runs")
            .iter()
            .map(|r| arr(r, "results").len())
            .sum();
        assert_eq!(reports[0].entries, results, "{}", path.display());
    }
}

#[test]
fn every_cyclonedx_document_parses_except_the_invalid_one() {
    for path in files("sbom/cyclonedx") {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let parsed = scans::parse(&bytes);
        if name.starts_with("NEGATIVE") {
            let err = parsed.unwrap_err();
            assert!(
                err.location
                    .as_deref()
                    .unwrap_or_default()
                    .contains("serialNumber"),
                "{err:?}"
            );
            continue;
        }
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        match parsed.unwrap_or_else(|e| panic!("{}: {e:?}", path.display())) {
            Document::Reports(reports) => {
                // Entries: vulnerability × affected component present in the BOM.
                let mut refs = BTreeSet::new();
                let mut stack: Vec<&Value> = arr(&doc, "components");
                while let Some(c) = stack.pop() {
                    for k in ["bom-ref", "purl"] {
                        if let Some(r) = c.get(k).and_then(Value::as_str) {
                            refs.insert(r.to_string());
                        }
                    }
                    stack.extend(arr(c, "components"));
                }
                let expected: usize = arr(&doc, "vulnerabilities")
                    .iter()
                    .map(|v| {
                        arr(v, "affects")
                            .iter()
                            .filter(|a| refs.contains(a["ref"].as_str().unwrap()))
                            .count()
                    })
                    .sum();
                assert_eq!(reports[0].entries, expected, "{name}");
            }
            Document::Vex { statements, .. } => {
                let expected: usize = arr(&doc, "vulnerabilities")
                    .iter()
                    .map(|v| arr(v, "affects").len().max(1))
                    .sum();
                assert_eq!(statements.len(), expected, "{name}");
            }
            Document::Feed(feed) => panic!(
                "{name}: a CycloneDX document read as a {} feed",
                feed.kind()
            ),
        }
    }
}

#[test]
fn openvex_statements_parse() {
    let bytes = std::fs::read(dir("sbom/openvex/trivy-openvex.json")).unwrap();
    let Document::Vex { statements, format } = scans::parse(&bytes).unwrap() else {
        panic!("not VEX")
    };
    assert_eq!(format, Format::OpenVex);
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0].vuln_id, "CVE-2021-44228");
    assert_eq!(statements[0].status, "not_affected");
    assert_eq!(
        statements[0].product.as_deref(),
        Some("pkg:maven/org.springframework.boot/spring-boot@2.6.0")
    );
}

#[test]
fn report_details_are_kept() {
    let bytes = std::fs::read(dir("scans/trivy/alpine-3.10.json")).unwrap();
    let Document::Reports(r) = scans::parse(&bytes).unwrap() else {
        panic!()
    };
    let r = &r[0];
    assert_eq!(
        r.image_id.as_deref(),
        Some("sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4")
    );
    let v = r.vulns.iter().find(|v| v.id == "CVE-2019-1549").unwrap();
    assert_eq!(v.package.kind, "apk");
    assert_eq!(v.package.name, "libcrypto1.1");
    assert_eq!(v.fixed_version.as_deref(), Some("1.1.1d-r0"));
    assert_eq!(v.cvss_score, Some(5.3));
    assert!(v.published.is_some());
    // The layer as the engine names it (the DiffID), not the registry's blob digest.
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let diff_id = doc["Results"][0]["Vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["VulnerabilityID"] == "CVE-2019-1549")
        .unwrap()["Layer"]["DiffID"]
        .as_str()
        .unwrap();
    assert_eq!(v.layer.as_deref(), Some(diff_id));

    let bytes = std::fs::read(dir("scans/grype/alpine-3.14-ghsa.json")).unwrap();
    let Document::Reports(r) = scans::parse(&bytes).unwrap() else {
        panic!()
    };
    let v = r[0]
        .vulns
        .iter()
        .find(|v| v.id == "GHSA-cfh5-3ghh-wfjx")
        .unwrap();
    assert_eq!(
        v.canonical_id(),
        "CVE-2014-3577",
        "the GHSA and its CVE are one vulnerability"
    );

    let bytes = std::fs::read(dir("scans/trivy/fs-misconfig-and-secrets.json")).unwrap();
    let Document::Reports(r) = scans::parse(&bytes).unwrap() else {
        panic!()
    };
    assert!(r[0]
        .misconfigs
        .iter()
        .any(|m| m.check_id == "trivy-secret:github-pat"));
    assert!(
        r[0].misconfigs.iter().all(|m| !m.message.contains("ghp_")),
        "secrets stay masked"
    );
}

#[test]
fn trivy_operator_reports_parse() {
    let bytes = std::fs::read(dir(
        "scans/trivy/operator/operator-vulnerabilityreport.json",
    ))
    .unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let Document::Reports(r) = scans::parse(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(
        r[0].entries,
        doc["report"]["vulnerabilities"].as_array().unwrap().len()
    );
    assert_eq!(r[0].artifact_name.as_deref(), Some("library/nginx:alpine"));
    let bytes = std::fs::read(dir("scans/trivy/operator/operator-configauditreport.json")).unwrap();
    let Document::Reports(r) = scans::parse(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(r[0].entries, 0);
    assert!(r[0].notes[0].starts_with("13 Kubernetes configuration checks"));
}

/// One malformed vulnerability of a CycloneDX BOM is skipped and named down to its bad
/// field; the others are read. A VEX document is refused whole instead, naming the bad
/// statement: half a vendor's statements could widen or drop what they stated.
#[test]
fn one_bad_cyclonedx_vulnerability_is_skipped_but_a_bad_vex_statement_refuses_the_document() {
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir(&format!("sbom/cyclonedx/{name}"))).unwrap())
            .unwrap()
    };
    let mut bom = read("defectdojo-issue-9277-250KB.json");
    let whole = match scans::parse(&serde_json::to_vec(&bom).unwrap()).unwrap() {
        Document::Reports(r) => r.into_iter().next().unwrap(),
        _ => panic!("a report"),
    };
    let bad_id = bom["vulnerabilities"][3]["id"]
        .as_str()
        .unwrap()
        .to_string();
    bom["vulnerabilities"][3]["id"] = Value::from(7);
    let Document::Reports(reports) = scans::parse(&serde_json::to_vec(&bom).unwrap()).unwrap()
    else {
        panic!("a report")
    };
    let r = &reports[0];
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].path, "vulnerabilities[3].id");
    assert!(
        r.notes.iter().any(|n| n.contains("vulnerabilities[3].id")),
        "{:?}",
        r.notes
    );
    let kept = whole.vulns.iter().filter(|v| v.id != bad_id).count();
    assert!(kept > 0 && kept < whole.vulns.len());
    assert_eq!(r.vulns.len(), kept);

    let mut vex = read("trivy-vex-cyclonedx.json");
    vex["vulnerabilities"][1]["analysis"]["state"] = Value::from(3);
    let err = match scans::parse(&serde_json::to_vec(&vex).unwrap()) {
        Err(e) => e,
        Ok(_) => panic!("a VEX document with a malformed statement is refused"),
    };
    assert_eq!(
        err.location.as_deref(),
        Some("vulnerabilities[1].analysis.state")
    );
}
