//! The documents the demo's pipelines send: a Trivy JSON report per image scan, CISA's
//! KEV catalog, FIRST's EPSS file and an OpenVEX statement. They go through the same
//! parsers and ingestion as uploads.

use super::docker::{digest, image_id};
use super::estate::{self, ImageSpec};
use super::vulns::{self, Cve};
use serde_json::{json, Value};

/// `YYYY-MM-DD` of a Unix time.
pub fn date(t: i64) -> String {
    crate::posture::snapshots::day_name(crate::posture::snapshots::day_start(t))
}

fn rfc3339(t: i64) -> String {
    format!(
        "{}T{:02}:{:02}:00Z",
        date(t),
        (t % 86_400) / 3600,
        (t % 3600) / 60
    )
}

fn is_os(pkg_type: &str) -> bool {
    matches!(pkg_type, "debian" | "alpine")
}

/// Where Trivy says it found a language package in the image.
fn target_of(image: &ImageSpec, pkg_type: &str) -> String {
    match pkg_type {
        "jar" => "app/payments.jar".into(),
        "python-pkg" => "Python".into(),
        "node-pkg" => "Node.js".into(),
        _ => format!("bin/{}", image.key),
    }
}

fn purl(image: &ImageSpec, c: &Cve) -> String {
    let version = c.installed.replace(':', "%3A");
    match c.pkg_type {
        "debian" => format!(
            "pkg:deb/debian/{}@{version}?arch=amd64&distro=debian-{}",
            c.pkg,
            image.os.map_or("12", |(_, v)| v)
        ),
        "alpine" => format!(
            "pkg:apk/alpine/{}@{version}?arch=x86_64&distro={}",
            c.pkg,
            image.os.map_or("3.18", |(_, v)| v)
        ),
        "jar" => format!("pkg:maven/{}@{version}", c.pkg.replace(':', "/")),
        "python-pkg" => format!("pkg:pypi/{}@{version}", c.pkg),
        "node-pkg" => format!("pkg:npm/{}@{version}", c.pkg),
        _ => format!("pkg:golang/{}@{version}", c.pkg),
    }
}

fn vulnerability(image: &ImageSpec, c: &Cve, layer: &str) -> Value {
    json!({
        "VulnerabilityID": c.id,
        "PkgID": format!("{}@{}", c.pkg, c.installed),
        "PkgName": c.pkg,
        "PkgIdentifier": { "PURL": purl(image, c) },
        "InstalledVersion": c.installed,
        "FixedVersion": c.fixed,
        "Status": if c.fixed.is_some() { "fixed" } else { "affected" },
        "Layer": { "DiffID": layer },
        "SeveritySource": "nvd",
        "PrimaryURL": format!("https://avd.aquasec.com/nvd/{}", c.id.to_ascii_lowercase()),
        "Title": c.title,
        "Severity": c.severity,
        "CVSS": { "nvd": { "V3Vector": c.vector, "V3Score": c.cvss } },
        "References": [format!("https://nvd.nist.gov/vuln/detail/{}", c.id)],
        "PublishedDate": format!("{}T00:00:00Z", c.published),
    })
}

/// Trivy's report of `image` scanned at `at`, `day` days before the load.
pub fn trivy_report(image: &ImageSpec, day: i64, at: i64) -> Vec<u8> {
    let layers = super::docker::layers(image);
    let base = layers.first().cloned().unwrap_or_default();
    let top = layers.last().cloned().unwrap_or_default();
    let found: Vec<&Cve> = image.vulns_on(day).collect();
    let mut results = Vec::new();
    if let Some((family, version)) = image.os {
        let list: Vec<Value> = found
            .iter()
            .filter(|c| is_os(c.pkg_type))
            .map(|c| vulnerability(image, c, &base))
            .collect();
        results.push(json!({
            "Target": format!("{} ({family} {version})", image.reference),
            "Class": "os-pkgs",
            "Type": family,
            "Vulnerabilities": list,
        }));
    }
    let mut lang: Vec<&str> = found
        .iter()
        .map(|c| c.pkg_type)
        .filter(|t| !is_os(t))
        .collect();
    lang.dedup();
    for kind in lang {
        let list: Vec<Value> = found
            .iter()
            .filter(|c| c.pkg_type == kind)
            .map(|c| vulnerability(image, c, &top))
            .collect();
        results.push(json!({
            "Target": target_of(image, kind),
            "Class": "lang-pkgs",
            "Type": kind,
            "Vulnerabilities": list,
        }));
    }
    let repository = image
        .reference
        .rsplit_once(':')
        .map_or(image.reference, |(r, _)| r);
    let report = json!({
        "SchemaVersion": 2,
        "CreatedAt": rfc3339(at),
        "ArtifactName": image.reference,
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": image.os.map(|(family, name)| json!({ "Family": family, "Name": name })),
            "ImageID": image_id(image),
            "RepoTags": [image.reference],
            "RepoDigests": [format!("{repository}@{}", digest(&format!("manifest:{}", image.reference)))],
        },
        "Results": results,
        "Trivy": { "Version": "0.57.1" },
    });
    serde_json::to_vec_pretty(&report).expect("JSON")
}

/// The demo's excerpt of CISA's KEV catalog, as released on `at`.
pub fn kev_catalog(at: i64) -> Vec<u8> {
    let entries: Vec<Value> = vulns::KNOWN_EXPLOITED
        .iter()
        .map(|(cve, added, name)| {
            json!({
                "cveID": cve,
                "vendorProject": "demo excerpt",
                "product": "see the catalog",
                "vulnerabilityName": name,
                "dateAdded": added,
                "shortDescription": name,
                "requiredAction": "Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.",
                "dueDate": added,
                "knownRansomwareCampaignUse": if *cve == "CVE-2021-44228" { "Known" } else { "Unknown" },
                "notes": "",
            })
        })
        .collect();
    let doc = json!({
        "title": "CISA Catalog of Known Exploited Vulnerabilities (Coastguard demo excerpt)",
        "catalogVersion": date(at).replace('-', "."),
        "dateReleased": rfc3339(at),
        "count": entries.len(),
        "vulnerabilities": entries,
    });
    serde_json::to_vec_pretty(&doc).expect("JSON")
}

/// The demo's EPSS file, scored on `at`.
pub fn epss_scores(at: i64) -> Vec<u8> {
    let mut csv = format!(
        "#model_version:v2025.03.14,score_date:{}T00:00:00+0000\ncve,epss,percentile\n",
        date(at)
    );
    for (cve, epss, percentile) in vulns::EPSS {
        csv.push_str(&format!("{cve},{epss:.5},{percentile:.5}\n"));
    }
    csv.into_bytes()
}

/// The payments team's OpenVEX statement: the service never calls commons-text's
/// string interpolation, so Text4Shell does not affect its image.
pub fn payments_vex(at: i64) -> Vec<u8> {
    let payments = estate::image("payments");
    let doc = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://vex.demo.invalid/payments/2025-001",
        "author": "Payments team <payments@demo.invalid>",
        "timestamp": rfc3339(at),
        "version": 1,
        "statements": [{
            "vulnerability": { "name": vulns::TEXT4SHELL.id },
            "products": [{ "@id": format!("pkg:oci/payments@{}", image_id(payments)) }],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
            "impact_statement": "payments uses commons-text only for WordUtils; StringSubstitutor is never called.",
        }],
    });
    serde_json::to_vec_pretty(&doc).expect("JSON")
}
