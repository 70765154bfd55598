//! Scan ingestion on both backends: every real report stores, deduplication across
//! scanners and aliases, the lifecycle, suppressions and VEX, and bad input.

use coastguard_core::auth::Authed;
use coastguard_core::scans::ingest::ingest;
use coastguard_core::testing::TestDb;
use coastguard_core::{with_db, Error};
use coastguard_model::Severity;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    with_db!(db.store.db(), |pool| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap())
}

async fn state_of(db: &TestDb, pkg: &str, vuln: &str) -> String {
    with_db!(db.store.db(), |pool| {
        sqlx::query_scalar::<_, String>(
        "SELECT f.state FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
         WHERE f.pkg_name = $1 AND a.alias = $2"
    )
    .bind(pkg)
    .bind(vuln)
    .fetch_one(pool)
    .await
    .unwrap()
    })
}

/// The per-image counts the writers keep (what the overview shows) agree with the
/// findings themselves, per image and severity.
async fn assert_counts_exact(db: &TestDb) {
    let kept: Vec<(i64, i64, i64, i64, i64)> = with_db!(db.store.db(), |pool| sqlx::query_as(
        "SELECT image_id, severity_rank, open, fixable, suppressed FROM image_vuln_counts \
         WHERE open + suppressed > 0 ORDER BY image_id, severity_rank"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let live: Vec<(i64, i64, i64, i64, i64)> = with_db!(db.store.db(), |pool| {
        sqlx::query_as(
        "SELECT image_id, severity_rank, \
           CAST(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN state = 'open' AND fixed_version IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN state = 'suppressed' THEN 1 ELSE 0 END) AS BIGINT) \
         FROM findings WHERE state IN ('open', 'suppressed') \
         GROUP BY image_id, severity_rank ORDER BY image_id, severity_rank"
    )
    .fetch_all(pool)
    .await
    .unwrap()
    });
    assert_eq!(
        kept, live,
        "kept counts (image, rank, open, fixable, suppressed)"
    );
    let (open, fixable, suppressed) = db
        .store
        .vuln_counts(&coastguard_core::posture::snapshots::Scope::Global)
        .await
        .unwrap();
    assert_eq!(
        (open.total(), fixable, suppressed),
        (
            live.iter().map(|r| r.2).sum::<i64>(),
            live.iter().map(|r| r.3).sum::<i64>(),
            live.iter().map(|r| r.4).sum::<i64>()
        )
    );
}

/// Distinct (package, vulnerability) pairs of a Trivy SchemaVersion 2 report.
fn trivy_pairs(doc: &Value) -> BTreeSet<(String, String)> {
    doc["Results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["Vulnerabilities"].as_array().cloned().unwrap_or_default())
        .map(|v| {
            (
                v["PkgName"].as_str().unwrap().to_string(),
                v["VulnerabilityID"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_fixture_report_ingests() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli();
        let mut files = Vec::new();
        for dir in [
            "scans/trivy",
            "scans/trivy/history",
            "scans/trivy/operator",
            "scans/grype",
            "scans/sarif",
            "sbom/cyclonedx",
            "sbom/openvex",
        ] {
            let base = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
                .join("tests/fixtures")
                .join(dir);
            for e in std::fs::read_dir(&base).unwrap() {
                let p = e.unwrap().path();
                if p.is_file() {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut ingested = 0;
        for p in &files {
            let bytes = std::fs::read(p).unwrap();
            let result = ingest(&state, &cli.as_analyst(), &bytes, None, "cli").await;
            let name = p.file_name().unwrap().to_string_lossy();
            if name.starts_with("NEGATIVE") {
                assert!(
                    matches!(result, Err(Error::Invalid { .. })),
                    "{name}: {result:?}"
                );
                continue;
            }
            // A valid document about nothing (a CycloneDX BOM with metadata only) is
            // refused unless the upload names the image: it would make a placeholder.
            let about_nothing = matches!(
                coastguard_core::scans::parse(&bytes),
                Ok(coastguard_core::scans::Document::Reports(r))
                    if r.iter().all(coastguard_core::scans::Report::is_about_nothing)
            );
            if about_nothing {
                assert!(
                    matches!(&result, Err(Error::Invalid { location: Some(l), .. }) if l == "body"),
                    "{name}: {result:?}"
                );
                continue;
            }
            let summaries = result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!summaries.is_empty(), "{name}");
            ingested += 1;
        }
        assert!(ingested >= 60, "{ingested} reports");
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn counts_are_exact_and_reingesting_changes_nothing() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let bytes = fixture("scans/trivy/alpine-3.10.json");
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let pairs = trivy_pairs(&doc);
        let entries: usize = doc["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .len();

        let s = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!(s.format, "trivy");
        assert_eq!(s.entries as usize, entries);
        assert_eq!(s.findings as usize, pairs.len());
        assert_eq!(s.created as usize, pairs.len());
        assert_eq!(
            s.image.as_ref().unwrap().digest,
            doc["Metadata"]["ImageID"].as_str().unwrap()
        );
        let by_severity: i64 = s.by_severity.total();
        assert_eq!(by_severity as usize, pairs.len());
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings").await as usize,
            pairs.len()
        );

        let again = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!((again.created, again.updated, again.fixed), (0, 0, 0));
        assert_eq!(again.unchanged as usize, pairs.len());
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings").await as usize,
            pairs.len()
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM scans").await, 2);

        // The same scan as SARIF: the same findings, nothing new.
        let sarif = &ingest(
            &state,
            &cli,
            &fixture("scans/sarif/trivy-alpine-3.10.sarif"),
            None,
            "cli",
        )
        .await
        .unwrap()[0];
        assert_eq!(sarif.created, 0, "{sarif:?}");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings").await as usize,
            pairs.len()
        );
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn a_later_scan_fixes_what_it_no_longer_lists_and_reopens_what_returns() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let bytes = fixture("scans/trivy/alpine-3.10.json");
        ingest(&state, &cli, &bytes, None, "cli").await.unwrap();

        let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
        let removed = doc["Results"][0]["Vulnerabilities"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        let (pkg, vuln) = (
            removed["PkgName"].as_str().unwrap().to_string(),
            removed["VulnerabilityID"].as_str().unwrap().to_string(),
        );
        let still_there = doc["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| {
                v["PkgName"] == removed["PkgName"]
                    && v["VulnerabilityID"] == removed["VulnerabilityID"]
            });
        assert!(!still_there);
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&doc).unwrap(),
            None,
            "cli",
        )
        .await
        .unwrap()[0];
        assert_eq!(s.fixed, 1);
        assert_eq!(state_of(&db, &pkg, &vuln).await, "fixed");

        let s = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!(s.reopened, 1);
        assert_eq!(state_of(&db, &pkg, &vuln).await, "open");
        let reopens: i64 = count(&db, "SELECT MAX(reopen_count) FROM findings").await;
        assert_eq!(reopens, 1);

        // A clean scan of the image fixes everything this scanner reported.
        let mut clean = doc.clone();
        clean["Results"][0]["Vulnerabilities"] = Value::Array(vec![]);
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&clean).unwrap(),
            None,
            "cli",
        )
        .await
        .unwrap()[0];
        assert_eq!(s.findings, 0);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings WHERE state <> 'fixed'").await,
            0
        );
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn a_ghsa_and_its_cve_are_one_vulnerability_across_scanners() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let grype = fixture("scans/grype/alpine-3.14-ghsa.json");
        let doc: Value = serde_json::from_slice(&grype).unwrap();
        let digest = doc["source"]["target"]["imageID"]
            .as_str()
            .unwrap()
            .to_string();
        ingest(&state, &cli, &grype, None, "cli").await.unwrap();
        // The GHSA finding is known under its CVE too.
        assert_eq!(
            state_of(&db, "org.apache.httpcomponents:httpclient", "CVE-2014-3577").await,
            "open"
        );
        assert_eq!(
            state_of(
                &db,
                "org.apache.httpcomponents:httpclient",
                "GHSA-cfh5-3ghh-wfjx"
            )
            .await,
            "open"
        );
        let vuln_id: String = with_db!(db.store.db(), |pool| {
            sqlx::query_scalar(
            "SELECT v.vuln_id FROM vulnerabilities v JOIN vulnerability_aliases a ON a.vulnerability_id = v.id WHERE a.alias = 'GHSA-cfh5-3ghh-wfjx'"
        )
        .fetch_one(pool)
        .await
        .unwrap()
        });
        assert_eq!(vuln_id, "CVE-2014-3577");

        // A Trivy report naming only the CVE for the same package of the same image.
        let trivy = serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image",
            "Metadata": {"ImageID": digest},
            "Results": [{"Target": "x", "Class": "lang-pkgs", "Type": "jar", "Vulnerabilities": [{
                "VulnerabilityID": "CVE-2014-3577", "PkgName": "org.apache.httpcomponents:httpclient",
                "InstalledVersion": "4.1.1", "FixedVersion": "4.3.5", "Severity": "MEDIUM"
            }]}]
        });
        let before = count(&db, "SELECT COUNT(*) FROM findings").await;
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&trivy).unwrap(),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        assert_eq!(s.created, 0, "deduplicated: {s:?}");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM findings").await, before);
        let scanners = count(
            &db,
            "SELECT COUNT(*) FROM finding_scanners s JOIN findings f ON f.id = s.finding_id WHERE f.pkg_name = 'org.apache.httpcomponents:httpclient'",
        )
        .await;
        assert_eq!(scanners, 2, "reported by grype and trivy");
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn suppressions_and_vex_leave_the_open_counts_and_expire() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        ingest(
            &state,
            &cli,
            &fixture("scans/trivy/alpine-3.10.json"),
            None,
            "cli",
        )
        .await
        .unwrap();
        let open_before = count(&db, "SELECT COUNT(*) FROM findings WHERE state = 'open'").await;
        let affected = count(&db, "SELECT COUNT(*) FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id WHERE a.alias = 'CVE-2019-1549'").await;
        assert!(affected >= 1);
        let now = coastguard_core::now();
        let mut w = db.store.begin().await.unwrap();
        let id = w
            .insert_exception(
                &coastguard_core::exceptions::store::NewExceptionRow {
                    kind: coastguard_model::exceptions::ExceptionKind::Vulnerability,
                    target: "CVE-2019-1549",
                    verdict: coastguard_model::exceptions::Verdict::Accepted,
                    image_id: None,
                    package: None,
                    subject: None,
                    host: None,
                    cluster: None,
                    namespace: None,
                    workload: None,
                    severity: coastguard_model::Severity::Unknown,
                    reason: "compensating control",
                    owner: "test",
                    created_by: "test",
                    expires_at: Some(now + 3600),
                    effective: true,
                },
                now,
            )
            .await
            .unwrap();
        let record = coastguard_core::store::AuditRecord::system("exception.create", "test");
        w.audit(&record, now).await.unwrap();
        w.commit().await.unwrap();
        db.store.apply_suppressions(None, now).await.unwrap();
        assert_counts_exact(&db).await;
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings WHERE state = 'open'").await,
            open_before - affected
        );
        // Suppressed findings stay listed, with the reason.
        let page = db
            .store
            .list_vuln_findings(&coastguard_model::vulns::VulnQuery {
                state: Some("suppressed".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, affected);
        for f in &page.items {
            let why = f
                .suppression
                .as_ref()
                .expect("a suppressed finding says why");
            assert_eq!(
                (why.id, why.justification.as_str()),
                (id, "compensating control")
            );
            assert_eq!(why.expires_at, Some(now + 3600));
        }
        // An hour later the acceptance has expired: the findings are open again.
        db.store.apply_suppressions(None, now + 3601).await.unwrap();
        assert_counts_exact(&db).await;
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings WHERE state = 'open'").await,
            open_before
        );
        // The scheduled housekeeping does the same with the real clock.
        db.store.apply_suppressions(None, now).await.unwrap();
        assert_counts_exact(&db).await;
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings WHERE state = 'open'").await,
            open_before - affected
        );
        with_db!(db.store.db(), |pool| sqlx::query(
            "UPDATE exceptions SET expires_at = 1"
        )
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        coastguard_core::jobs::housekeeping(state.clone())
            .await
            .unwrap();
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM findings WHERE state = 'open'").await,
            open_before
        );
        let mut w = db.store.begin().await.unwrap();
        w.end_exception(id, "test", now).await.unwrap();
        let record = coastguard_core::store::AuditRecord::system("exception.revoke", "test");
        w.audit(&record, now).await.unwrap();
        w.commit().await.unwrap();

        // A VEX not_affected statement for a package suppresses it, as a `vex` suppression.
        let vex = serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "statements": [{
                "vulnerability": {"name": "CVE-2019-1549"},
                "products": [{"@id": "pkg:apk/alpine/libcrypto1.1@1.1.1c-r0"}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"
            }]
        });
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&vex).unwrap(),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        assert_eq!((s.format.as_str(), s.suppressions), ("openvex", 1));
        assert_eq!(
            state_of(&db, "libcrypto1.1", "CVE-2019-1549").await,
            "suppressed"
        );
        let why = db
            .store
            .list_vuln_findings(&coastguard_model::vulns::VulnQuery {
                state: Some("suppressed".into()),
                package: Some("libcrypto1.1".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .items[0]
            .suppression
            .clone()
            .unwrap();
        assert_eq!(
            (
                why.source.as_str(),
                why.kind.as_str(),
                why.justification.as_str()
            ),
            ("vex", "not_affected", "vulnerable_code_not_in_execute_path")
        );
        // A later statement that it is affected withdraws it.
        let mut affected_vex = vex.clone();
        affected_vex["statements"][0]["status"] = Value::String("affected".into());
        ingest(
            &state,
            &cli,
            &serde_json::to_vec(&affected_vex).unwrap(),
            None,
            "api",
        )
        .await
        .unwrap();
        assert_eq!(state_of(&db, "libcrypto1.1", "CVE-2019-1549").await, "open");
        assert_counts_exact(&db).await;
    });
}

/// The state of one vulnerability in one package of the image with this digest.
async fn state_in(db: &TestDb, digest: &str, pkg: &str, vuln: &str) -> String {
    with_db!(db.store.db(), |pool| {
        sqlx::query_scalar::<_, String>(
            "SELECT f.state FROM findings f JOIN vulnerability_aliases a ON a.vulnerability_id = f.vulnerability_id \
             JOIN images i ON i.id = f.image_id WHERE i.digest = $1 AND f.pkg_name = $2 AND a.alias = $3",
        )
        .bind(digest)
        .bind(pkg)
        .bind(vuln)
        .fetch_one(pool)
        .await
        .unwrap()
    })
}

#[tokio::test]
async fn vex_statements_apply_only_to_what_they_name() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let (a, b, vendor) = (digest('a'), digest('b'), digest('0'));
        let report = fixture("scans/trivy/alpine-3.10.json");
        for image in [&a, &b] {
            ingest(&state, &cli, &report, Some(image.clone()), "cli")
                .await
                .unwrap();
        }
        let (pkg, cve) = ("libcrypto1.1", "CVE-2019-1549");
        let statement = |product: Option<&str>, status: &str| {
            let mut s = serde_json::json!({
                "vulnerability": {"name": cve}, "status": status,
                "justification": "vulnerable_code_not_present"
            });
            if let Some(p) = product {
                s["products"] = serde_json::json!([{ "@id": p }]);
            }
            s
        };
        let vex = |statements: Vec<Value>| {
            serde_json::to_vec(&serde_json::json!({
                "@context": "https://openvex.dev/ns/v0.2.0", "statements": statements
            }))
            .unwrap()
        };
        let vendor_purl = format!("pkg:oci/vendor-image@{}", vendor.replace(':', "%3A"));
        let b_purl = format!("pkg:oci/b@{b}");
        let outcome = &ingest(
            &state,
            &cli,
            &vex(vec![
                // An image no one here has: kept for when it appears.
                statement(Some(&vendor_purl), "not_affected"),
                // A vendor's product name, and no product at all: nothing.
                statement(Some("vendor-image"), "not_affected"),
                statement(None, "not_affected"),
                // `fixed` names image b, but is not a suppression.
                statement(Some(&b_purl), "fixed"),
            ]),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        assert_eq!(
            outcome.suppressions, 1,
            "only the pending statement is kept"
        );
        let scopes: Vec<(&str, bool)> = outcome
            .vex
            .iter()
            .map(|m| (m.scope.as_str(), m.suppresses))
            .collect();
        assert_eq!(
            scopes,
            [
                ("pending_image", true),
                ("nothing", false),
                ("nothing", false),
                ("image", false)
            ]
        );
        assert!(
            outcome.notes[0].starts_with("2 statements matched nothing and were not applied"),
            "{:?}",
            outcome.notes
        );
        assert!(outcome.notes[0].contains("vendor-image"));
        for image in [&a, &b] {
            assert_eq!(state_in(&db, image, pkg, cve).await, "open", "{image}");
        }
        let pending = db
            .store
            .list_suppressions(coastguard_core::now())
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (
                pending[0].pending_image.as_deref(),
                pending[0].image.is_none(),
                pending[0].findings
            ),
            (Some(vendor.as_str()), true, 0)
        );

        // The vendor's image appears: the statement applies to it, and only to it.
        ingest(&state, &cli, &report, Some(vendor.clone()), "cli")
            .await
            .unwrap();
        assert_eq!(state_in(&db, &vendor, pkg, cve).await, "suppressed");
        for image in [&a, &b] {
            assert_eq!(state_in(&db, image, pkg, cve).await, "open", "{image}");
        }
        let resolved = db
            .store
            .list_suppressions(coastguard_core::now())
            .await
            .unwrap();
        assert_eq!(
            (
                resolved[0].pending_image.as_deref(),
                resolved[0].image.as_ref().map(|i| i.digest.as_str())
            ),
            (None, Some(vendor.as_str()))
        );

        // A statement naming no product applies to the image the upload names; a
        // package purl to that package of it.
        let outcome = &ingest(
            &state,
            &cli,
            &vex(vec![statement(None, "not_affected")]),
            Some(b.clone()),
            "api",
        )
        .await
        .unwrap()[0];
        assert_eq!(outcome.vex[0].scope, "image");
        assert_eq!(state_in(&db, &b, pkg, cve).await, "suppressed");
        assert_eq!(state_in(&db, &a, pkg, cve).await, "open");
        // An upload naming an unknown tag is refused, and changes nothing.
        let refused = ingest(
            &state,
            &cli,
            &vex(vec![statement(None, "not_affected")]),
            Some("nosuch/image:1.0".into()),
            "api",
        )
        .await
        .unwrap_err();
        assert!(matches!(refused, Error::Invalid { .. }), "{refused:?}");
        assert_eq!(state_in(&db, &a, pkg, cve).await, "open");
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn one_unreadable_entry_does_not_lose_the_report() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let mut report: Value =
            serde_json::from_slice(&fixture("scans/trivy/alpine-3.10.json")).unwrap();
        let entries = report["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .len();
        // As seen in real legacy output: one entry without a vulnerability id.
        report["Results"][0]["Vulnerabilities"][2]
            .as_object_mut()
            .unwrap()
            .remove("VulnerabilityID");
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&report).unwrap(),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        assert_eq!(s.entries, entries as i64);
        let stored = count(&db, "SELECT COUNT(*) FROM findings").await;
        assert!(stored >= 1, "the readable entries are stored");
        let note = s
            .notes
            .iter()
            .find(|n| n.contains("skipped"))
            .expect("a note on the skipped entry");
        assert!(
            note.contains("Results[0].Vulnerabilities[2]") && note.contains("VulnerabilityID"),
            "{note}"
        );
        assert!(
            note.starts_with(&format!("1 of {entries} entries")),
            "{note}"
        );
        // The same report, whole, stores one finding more (or the same, if the skipped
        // entry's vulnerability and package also appear in another entry).
        let whole = &ingest(
            &state,
            &cli,
            &fixture("scans/trivy/alpine-3.10.json"),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        assert!(whole.notes.iter().all(|n| !n.contains("skipped")));
        assert!(count(&db, "SELECT COUNT(*) FROM findings").await >= stored);

        // A body about nothing is stored only when the upload names the image.
        let refused = ingest(&state, &cli, b"null", None, "api")
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, Error::Invalid { location: Some(l), .. } if l == "body"),
            "{refused:?}"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM images WHERE digest LIKE 'artifact:%'"
            )
            .await,
            0
        );
        let digest = format!("sha256:{}", "c".repeat(64));
        let clean = &ingest(&state, &cli, b"null", Some(digest.clone()), "api")
            .await
            .unwrap()[0];
        assert_eq!(
            (
                clean.findings,
                clean.image.as_ref().map(|i| i.digest.clone())
            ),
            (0, Some(digest))
        );
    });
}

#[tokio::test]
async fn one_malformed_grype_match_does_not_lose_the_report() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let mut report: Value =
            serde_json::from_slice(&fixture("scans/grype/debian-10-v0.28.json")).unwrap();
        let matches = report["matches"].as_array().unwrap().len();
        report["matches"][1]["vulnerability"]["id"] = Value::from(7);
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&report).unwrap(),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        assert_eq!(s.entries, matches as i64);
        let note = s
            .notes
            .iter()
            .find(|n| n.contains("skipped"))
            .expect("a note on the skipped match");
        assert!(note.contains("matches[1].vulnerability.id"), "{note}");
        assert!(count(&db, "SELECT COUNT(*) FROM findings").await >= 1);
    });
}

#[tokio::test]
async fn bad_reports_are_refused_with_where_and_store_nothing() {
    crate::on_each_backend!(|db| {
        let settings = coastguard_core::Settings {
            max_report_mb: 1,
            ..Default::default()
        };
        let state = db.state_with(settings);
        let cli = Authed::cli().as_analyst();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "invalid JSON",
                b"{\"SchemaVersion\": 2, \"Results\": [}".to_vec(),
                "line 1",
            ),
            ("unknown format", b"{\"hello\": \"world\"}".to_vec(), ""),
            (
                "truncated",
                fixture("scans/trivy/alpine-3.10.json")[..5000].to_vec(),
                "line",
            ),
            // A body about nothing makes no placeholder image.
            ("null", b"null".to_vec(), "body"),
            ("empty legacy array", b"[]".to_vec(), "body"),
            (
                "no results",
                br#"{"SchemaVersion": 2, "Results": []}"#.to_vec(),
                "body",
            ),
            (
                "wrong type",
                br#"{"matches": [{"vulnerability": {"id": 7}, "artifact": {"name": "x"}}]}"#
                    .to_vec(),
                "matches[0].vulnerability.id",
            ),
        ];
        for (what, body, location) in cases {
            let err = ingest(&state, &cli, &body, None, "api").await.unwrap_err();
            match &err {
                Error::Invalid { location: got, .. } => {
                    assert!(
                        got.as_deref().unwrap_or_default().contains(location),
                        "{what}: {err:?}"
                    )
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        let big = vec![b' '; 1024 * 1024 + 1];
        assert!(matches!(
            ingest(&state, &cli, &big, None, "api").await,
            Err(Error::PayloadTooLarge(_))
        ));
        // A gzip bomb is stopped at the limit too.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &vec![b' '; 4 * 1024 * 1024]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1024 * 1024);
        assert!(matches!(
            ingest(&state, &cli, &bomb, None, "api").await,
            Err(Error::PayloadTooLarge(_))
        ));
        // An unknown tag can't be guessed.
        let err = ingest(
            &state,
            &cli,
            &fixture("scans/sarif/dockle-0.3.15.sarif"),
            Some("nosuch:tag".into()),
            "api",
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { location: Some(l), .. } if l == "image"),
            "{err:?}"
        );
        for table in ["scans", "findings", "vulnerabilities", "images"] {
            assert_eq!(
                count(&db, &format!("SELECT COUNT(*) FROM {table}")).await,
                0,
                "{table}"
            );
        }
        // Gzip bodies are accepted.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &fixture("scans/grype/busybox-no-vulns-v0.7.json"))
            .unwrap();
        let s = &ingest(&state, &cli, &gz.finish().unwrap(), None, "api")
            .await
            .unwrap()[0];
        assert_eq!(
            (s.format.as_str(), s.findings),
            ("grype", 0),
            "a clean scan is a valid report"
        );
    });
}

#[tokio::test]
async fn a_report_that_arrives_before_its_image_is_linked_when_the_image_appears() {
    use coastguard_core::docker::collect::Snapshot;
    use coastguard_core::docker::engine::EngineConfig;
    use coastguard_model::docker::{HostFacts, ImageFacts};
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        // A report that names the image only by its manifest digest.
        let manifest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        let report = serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": "registry.local/app:1", "ArtifactType": "container_image",
            "Metadata": {"RepoDigests": [format!("registry.local/app@{manifest}")]},
            "Results": [{"Target": "app", "Type": "alpine", "Vulnerabilities": [{
                "VulnerabilityID": "CVE-2024-0001", "PkgName": "musl", "InstalledVersion": "1.2.3-r0", "Severity": "HIGH"
            }]}]
        });
        let s = &ingest(
            &state,
            &cli,
            &serde_json::to_vec(&report).unwrap(),
            None,
            "api",
        )
        .await
        .unwrap()[0];
        let placeholder = s.image.as_ref().unwrap().id;

        // The engine then reports the image, with that manifest digest among its repo digests.
        let engine = db
            .store
            .add_docker_engine("e", &EngineConfig::new("unix:///x.sock"), 1)
            .await
            .unwrap();
        let image = ImageFacts {
            id: "sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
            repo_digests: vec![format!("registry.local/app@{manifest}")],
            repo_tags: vec!["registry.local/app:1".into()],
            ..ImageFacts::default()
        };
        let snapshot = Snapshot {
            host: HostFacts::default(),
            images: vec![image],
            containers: vec![],
        };
        db.store
            .apply_docker_snapshot(engine.id, &snapshot, &[], 10)
            .await
            .unwrap();

        let (images, on_real): (i64, i64) = (
            count(&db, "SELECT COUNT(*) FROM images").await,
            count(&db, "SELECT COUNT(*) FROM findings f JOIN images i ON i.id = f.image_id WHERE i.digest LIKE 'sha256:2222%'").await,
        );
        assert_eq!(
            (images, on_real),
            (1, 1),
            "the placeholder {placeholder} was folded into the engine's image"
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM scans s JOIN images i ON i.id = s.image_id WHERE i.digest LIKE 'sha256:2222%'").await, 1);
        assert_counts_exact(&db).await;
    });
}

/// An engine running `containers` (state, image digest) from one image.
async fn engine_with(db: &TestDb, image: &str, containers: &[(&str, &str)], now: i64) -> i64 {
    use coastguard_core::docker::collect::Snapshot;
    use coastguard_core::docker::engine::EngineConfig;
    use coastguard_model::docker::{ContainerFacts, HostFacts, ImageFacts, Policy};
    let engine = match db.store.docker_engines().await.unwrap().first() {
        Some(e) => e.id,
        None => {
            db.store
                .add_docker_engine("e", &EngineConfig::new("unix:///x.sock"), 1)
                .await
                .unwrap()
                .id
        }
    };
    let snapshot = Snapshot {
        host: HostFacts::default(),
        images: vec![ImageFacts {
            id: image.into(),
            repo_tags: vec!["registry.local/app:1".into()],
            created: Some(now - 400 * 86_400),
            ..ImageFacts::default()
        }],
        containers: containers
            .iter()
            .enumerate()
            .map(|(i, (state, image))| ContainerFacts {
                id: format!("{i:064}"),
                name: format!("c{i}"),
                image_ref: "registry.local/app:1".into(),
                image_id: image.to_string(),
                state: state.to_string(),
                ..ContainerFacts::default()
            })
            .collect(),
    };
    let found = coastguard_core::docker::collector::evaluate(&snapshot, &Policy::default(), now);
    db.store
        .apply_docker_snapshot(engine, &snapshot, &found, now)
        .await
        .unwrap();
    engine
}

async fn coverage_state(db: &TestDb, check: &str) -> Option<String> {
    with_db!(db.store.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT state FROM config_findings WHERE check_id = $1"
    )
    .bind(check)
    .fetch_optional(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn running_images_without_a_recent_scan_are_findings_until_scanned() {
    const IMAGE: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    const DAY: i64 = 86_400;
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let t0 = coastguard_core::now();
        engine_with(&db, IMAGE, &[("running", IMAGE), ("running", IMAGE)], t0).await;

        // Never scanned: one finding for the image, however many containers run it.
        let changes = db.store.evaluate_scan_coverage(7, t0).await.unwrap();
        assert_eq!((changes.opened, changes.resolved), (1, 0));
        assert_eq!(
            coverage_state(&db, "coverage.unscanned").await.as_deref(),
            Some("open")
        );
        let c = db.store.coverage(7, t0).await.unwrap();
        assert_eq!(
            (c.running_images, c.unscanned, c.outdated, c.scanned),
            (1, 1, 0, 0)
        );
        // Evaluating again changes nothing.
        let again = db.store.evaluate_scan_coverage(7, t0).await.unwrap();
        assert_eq!((again.opened, again.resolved), (0, 0));

        // A scan arrives (no CreatedAt: it counts from when it was received): the gap closes.
        let report = serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": "registry.local/app:1", "ArtifactType": "container_image",
            "Results": [{"Target": "app", "Type": "alpine", "Vulnerabilities": []}]
        });
        ingest(
            &state,
            &cli,
            &serde_json::to_vec(&report).unwrap(),
            Some(IMAGE.into()),
            "api",
        )
        .await
        .unwrap();
        assert_eq!(
            coverage_state(&db, "coverage.unscanned").await.as_deref(),
            Some("resolved")
        );
        let now = coastguard_core::now();
        let c = db.store.coverage(7, now).await.unwrap();
        assert_eq!(
            (c.running_images, c.unscanned, c.outdated, c.scanned),
            (1, 0, 0, 1)
        );

        // Eight days on, the scan is too old for a 7-day policy but fine for a 30-day one.
        let later = now + 8 * DAY;
        let changes = db.store.evaluate_scan_coverage(7, later).await.unwrap();
        assert_eq!((changes.opened, changes.resolved), (1, 0));
        assert_eq!(
            coverage_state(&db, "coverage.scan_outdated")
                .await
                .as_deref(),
            Some("open")
        );
        let c = db.store.coverage(7, later).await.unwrap();
        assert_eq!((c.unscanned, c.outdated, c.scanned), (0, 1, 0));
        let changes = db.store.evaluate_scan_coverage(30, later).await.unwrap();
        assert_eq!((changes.opened, changes.resolved), (0, 1));
        assert_eq!(
            coverage_state(&db, "coverage.scan_outdated")
                .await
                .as_deref(),
            Some("resolved")
        );

        // Back to 7 days: the same finding reopens; then the containers stop, and an
        // image nothing runs is not a coverage gap.
        db.store.evaluate_scan_coverage(7, later).await.unwrap();
        assert_eq!(
            coverage_state(&db, "coverage.scan_outdated")
                .await
                .as_deref(),
            Some("open")
        );
        engine_with(&db, IMAGE, &[("exited", IMAGE)], later).await;
        let changes = db.store.evaluate_scan_coverage(7, later).await.unwrap();
        assert_eq!((changes.opened, changes.resolved), (0, 1));
        assert_eq!(db.store.coverage(7, later).await.unwrap().running_images, 0);
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM config_findings WHERE check_id LIKE 'coverage.%' AND reopened_at IS NOT NULL").await,
            1
        );
    });
}

#[tokio::test]
async fn a_docker_sync_leaves_scanner_and_coverage_findings_alone() {
    const IMAGE: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let t0 = coastguard_core::now();
        engine_with(&db, IMAGE, &[("running", IMAGE)], t0).await;
        let report = serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": "registry.local/app:1", "ArtifactType": "container_image",
            "Results": [{"Target": "Dockerfile", "Class": "config", "Type": "dockerfile", "Misconfigurations": [{
                "ID": "DS002", "AVDID": "AVD-DS-0002", "Title": "Image user should not be 'root'",
                "Message": "Specify at least 1 USER command in Dockerfile", "Severity": "HIGH", "Status": "FAIL"
            }]}, {"Target": "app", "Type": "alpine", "Vulnerabilities": []}]
        });
        ingest(
            &state,
            &cli,
            &serde_json::to_vec(&report).unwrap(),
            Some(IMAGE.into()),
            "api",
        )
        .await
        .unwrap();
        // An outdated-scan finding as well.
        db.store
            .evaluate_scan_coverage(1, t0 + 2 * 86_400)
            .await
            .unwrap();
        let docker_open = count(
            &db,
            "SELECT COUNT(*) FROM config_findings WHERE state = 'open' AND check_id LIKE 'image.%'",
        )
        .await;
        assert!(
            docker_open > 0,
            "the Docker checks found something (image.stale)"
        );

        // Two full syncs later, everything is as it was.
        for _ in 0..2 {
            engine_with(&db, IMAGE, &[("running", IMAGE)], t0 + 3 * 86_400).await;
        }
        assert_eq!(
            coverage_state(&db, "trivy:AVD-DS-0002").await.as_deref(),
            Some("open")
        );
        assert_eq!(
            coverage_state(&db, "coverage.scan_outdated")
                .await
                .as_deref(),
            Some("open")
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM config_findings WHERE state = 'open' AND check_id LIKE 'image.%'").await,
            docker_open
        );
    });
}

#[tokio::test]
async fn an_image_the_sender_names_wins_over_the_report() {
    const IMAGE: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        engine_with(&db, IMAGE, &[("running", IMAGE)], coastguard_core::now()).await;
        // The Grype report names busybox:1.32.1 and its digest.
        let report = fixture("scans/grype/busybox-epss-v0.94.json");
        for reference in [IMAGE, "registry.local/app:1"] {
            let s = &ingest(&state, &cli, &report, Some(reference.into()), "cli")
                .await
                .unwrap()[0];
            let image = s.image.as_ref().unwrap();
            assert_eq!(image.digest, IMAGE, "tied to {reference}");
        }
        assert_eq!(count(&db, "SELECT COUNT(*) FROM images").await, 1);
        // The report's names describe another image: not recorded as this one's.
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM image_tags WHERE repository LIKE '%busybox%'"
            )
            .await,
            0
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM image_digests").await, 0);
        // A tag nobody knows is an error, not a guess.
        let err = ingest(
            &state,
            &cli,
            &report,
            Some("nobody/knows:this".into()),
            "cli",
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn an_advisory_that_fixes_several_cves_does_not_merge_them() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        // Two CVEs in one package, both fixed by the same Debian advisory.
        let report = serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": "app:1", "ArtifactType": "container_image",
            "Metadata": {"ImageID": "sha256:6666666666666666666666666666666666666666666666666666666666666666"},
            "Results": [{"Target": "app", "Type": "debian", "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2024-0001", "VendorIDs": ["DSA-5555-1"], "PkgName": "openssl", "InstalledVersion": "1", "Severity": "HIGH"},
                {"VulnerabilityID": "CVE-2024-0002", "VendorIDs": ["DSA-5555-1"], "PkgName": "openssl", "InstalledVersion": "1", "Severity": "LOW"}
            ]}]
        });
        let bytes = serde_json::to_vec(&report).unwrap();
        let first = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!(first.created, 2);
        // Ingesting it again changes nothing (it used to merge the two and fail).
        let again = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!((again.created, again.unchanged), (0, 2));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM vulnerabilities").await, 2);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM vulnerability_aliases WHERE alias LIKE 'DSA-%'"
            )
            .await,
            0
        );
        let detail = db
            .store
            .vulnerability_detail("CVE-2024-0001")
            .await
            .unwrap();
        assert!(detail.references.contains(&"DSA-5555-1".to_string()));
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn entries_that_name_parts_of_one_vulnerability_are_one_finding() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        // One entry gives only the GHSA; another gives the CVE and names the GHSA.
        let report = serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": "app:1", "ArtifactType": "container_image",
            "Metadata": {"ImageID": "sha256:7777777777777777777777777777777777777777777777777777777777777777"},
            "Results": [{"Target": "app/package-lock.json", "Type": "npm", "Vulnerabilities": [
                {"VulnerabilityID": "GHSA-aaaa-bbbb-cccc", "PkgName": "lodash", "InstalledVersion": "4.0.0", "Severity": "HIGH"},
                {"VulnerabilityID": "CVE-2024-0003", "VendorIDs": ["GHSA-aaaa-bbbb-cccc"], "PkgName": "lodash", "InstalledVersion": "4.0.0", "Severity": "HIGH"}
            ]}]
        });
        let bytes = serde_json::to_vec(&report).unwrap();
        for round in 0..2 {
            let s = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
            assert_eq!((s.entries, s.findings), (2, 1), "round {round}");
            assert_eq!(s.created + s.unchanged, 1, "round {round}");
        }
        assert_eq!(count(&db, "SELECT COUNT(*) FROM vulnerabilities").await, 1);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM findings").await, 1);
        let detail = db
            .store
            .vulnerability_detail("GHSA-aaaa-bbbb-cccc")
            .await
            .unwrap();
        assert_eq!(detail.vuln_id, "CVE-2024-0003");
        assert_counts_exact(&db).await;
    });
}

#[tokio::test]
async fn concurrent_writers_on_one_image_keep_its_counts() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let bytes = fixture("scans/trivy/alpine-3.10.json");
        let s = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        let image = s.image.as_ref().unwrap().id;
        // Writers on one image at once, again and again. On SQLite the one that read
        // before the other committed failed with "database is locked" (deferred
        // transactions); on Postgres recounts of one image take turns (row lock).
        for round in 0..20 {
            let now = coastguard_core::now() + round;
            let (a, b, c) = tokio::join!(
                ingest(&state, &cli, &bytes, None, "cli"),
                db.store.apply_suppressions(Some(image), now),
                ingest(&state, &cli, &bytes, None, "api"),
            );
            a.unwrap();
            b.unwrap();
            c.unwrap();
        }
        assert_counts_exact(&db).await;
    });
}

/// Grype's `Negligible` is its own level below low everywhere counts are read, each finding
/// keeps Grype's word, and findings stored as low before the level existed become
/// negligible when a report names them again.
#[tokio::test]
async fn negligible_matches_are_not_counted_as_low() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let bytes = fixture("scans/grype/LARGE-debian-10-v0.7-1509-matches.json");
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let in_report = |word: &str| {
            doc["matches"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["vulnerability"]["severity"] == word)
                .count() as i64
        };
        let (negligible, low) = (in_report("Negligible"), in_report("Low"));
        assert_eq!(
            (negligible, low),
            (681, 107),
            "the fixture as its provenance says"
        );

        let s = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!(
            (s.by_severity.negligible, s.by_severity.low),
            (negligible, low)
        );
        let (open, _, _) = db
            .store
            .vuln_counts(&coastguard_core::posture::snapshots::Scope::Global)
            .await
            .unwrap();
        assert_eq!((open.negligible, open.low), (negligible, low));
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM findings WHERE severity = 'negligible' AND severity_rank = -1 \
                 AND scanner_severity = 'Negligible'"
            )
            .await,
            negligible
        );
        assert_counts_exact(&db).await;
        // "Low or worse" leaves negligible (and unrated) findings out; the API shows the word.
        let page = |severity: &str| coastguard_model::vulns::VulnQuery {
            severity: Some(severity.into()),
            limit: Some(500),
            ..Default::default()
        };
        let listed = db.store.list_vuln_findings(&page("low")).await.unwrap();
        assert_eq!(
            listed.total,
            low + in_report("Medium") + in_report("High") + in_report("Critical")
        );
        let all = db
            .store
            .list_vuln_findings(&page("negligible"))
            .await
            .unwrap();
        assert_eq!(all.total, s.findings);
        let mut rest = db
            .store
            .list_vuln_findings(&coastguard_model::vulns::VulnQuery {
                sort: Some("severity".into()),
                limit: Some(500),
                ..Default::default()
            })
            .await
            .unwrap();
        while let Some(cursor) = rest.next_cursor.clone() {
            rest = db
                .store
                .list_vuln_findings(&coastguard_model::vulns::VulnQuery {
                    cursor: Some(cursor),
                    limit: Some(500),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let last = rest.items.last().unwrap();
        assert_eq!(
            (last.severity, last.scanner_severity.as_deref()),
            (Severity::Negligible, Some("Negligible")),
            "negligible sorts last, after unrated findings"
        );

        // As stored before this level existed: low, and no word.
        with_db!(db.store.db(), |pool| sqlx::query(
            "UPDATE findings SET severity = 'low', severity_rank = 1, scanner_severity = NULL \
             WHERE severity = 'negligible'"
        )
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
        db.store.recount_all_vuln_counts().await.unwrap();
        let again = &ingest(&state, &cli, &bytes, None, "cli").await.unwrap()[0];
        assert_eq!(again.updated, negligible);
        let (open, _, _) = db
            .store
            .vuln_counts(&coastguard_core::posture::snapshots::Scope::Global)
            .await
            .unwrap();
        assert_eq!((open.negligible, open.low), (negligible, low));
        assert_counts_exact(&db).await;
    });
}

/// A stored report and its audit record are one commit: when the record can't be written,
/// nothing of the report is stored either (and the same for a VEX document); when it can,
/// each report has exactly its record, naming its scan.
#[tokio::test]
async fn a_report_is_stored_with_its_audit_record_or_not_at_all() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let report = fixture("scans/trivy/alpine-3.10.json");
        let vex = serde_json::to_vec(&serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "statements": [{
                "vulnerability": {"name": "CVE-2019-1549"},
                "products": [{"@id": "pkg:apk/alpine/libcrypto1.1@1.1.1c-r0"}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"
            }]
        }))
        .unwrap();

        // The audit log can't be written to: the upload fails and stores nothing.
        crate::exec(&db, "ALTER TABLE audit_log RENAME TO audit_log_away").await;
        assert!(ingest(&state, &cli, &report, None, "api").await.is_err());
        assert!(ingest(&state, &cli, &vex, None, "api").await.is_err());
        for table in ["scans", "findings", "images", "exceptions"] {
            let n = count(&db, &format!("SELECT COUNT(*) FROM {table}")).await;
            assert_eq!(n, 0, "{table} after a failed upload");
        }
        crate::exec(&db, "ALTER TABLE audit_log_away RENAME TO audit_log").await;

        let s = &ingest(&state, &cli, &report, None, "api").await.unwrap()[0];
        let v = &ingest(&state, &cli, &vex, None, "api").await.unwrap()[0];
        assert_eq!(v.suppressions, 1);
        let records: Vec<(Option<String>, String)> = with_db!(db.store.db(), |pool| {
            sqlx::query_as(
                "SELECT target, detail FROM audit_log WHERE action = 'scan.ingest' ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        });
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(
            records[0].0.as_deref(),
            Some(format!("scan:{}", s.scan_id.unwrap()).as_str())
        );
        let detail: Value = serde_json::from_str(&records[1].1).unwrap();
        assert_eq!(
            (detail["format"].as_str(), detail["suppressions"].as_i64()),
            (Some("openvex"), Some(1))
        );
    });
}

/// A scanner's misconfiguration whose risk acceptance ran out is open again when a report
/// names it again, as an engine check's is (this path once kept it accepted).
#[tokio::test]
async fn a_scanner_finding_whose_acceptance_ran_out_reopens_when_seen_again() {
    const IMAGE: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let report = fixture("scans/trivy/misconfig-dockerfile.json");
        ingest(&state, &cli, &report, Some(IMAGE.into()), "api")
            .await
            .unwrap();
        let states = || {
            let db = &db;
            async move {
                with_db!(db.store.db(), |pool| sqlx::query_scalar::<_, String>(
                    "SELECT state FROM config_findings WHERE check_id LIKE 'trivy:%' ORDER BY id"
                )
                .fetch_all(pool)
                .await
                .unwrap())
            }
        };
        assert_eq!(states().await, vec!["open".to_string()]);
        let accept_until = |until: i64| {
            let db = &db;
            async move {
                with_db!(db.store.db(), |pool| {
                    sqlx::query(
                    "UPDATE config_findings SET state = 'accepted', accepted_until = $1 WHERE check_id LIKE 'trivy:%'"
                )
                .bind(until)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected()
                });
            }
        };
        // Accepted until a moment that has passed (housekeeping has not run since).
        accept_until(coastguard_core::now() - 60).await;
        ingest(&state, &cli, &report, Some(IMAGE.into()), "api")
            .await
            .unwrap();
        assert_eq!(states().await, vec!["open".to_string()]);
        // One still within its acceptance stays accepted.
        accept_until(coastguard_core::now() + 3600).await;
        ingest(&state, &cli, &report, Some(IMAGE.into()), "api")
            .await
            .unwrap();
        assert_eq!(states().await, vec!["accepted".to_string()]);
    });
}

/// An upload is one commit: its scan, findings, vulnerabilities, the suppressions it meets
/// and its audit record are stored together, or (when the record can't be written) none.
/// A VEX document likewise, with the findings its statements suppress.
#[tokio::test]
async fn an_upload_and_a_vex_document_commit_with_their_audit_record_or_not_at_all() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        // What an upload could change, as text.
        let snapshot = || {
            let db = &db;
            async move {
                let mut out = Vec::new();
                for table in [
                    "scans",
                    "images",
                    "findings",
                    "finding_scanners",
                    "vulnerabilities",
                    "vulnerability_aliases",
                    "config_findings",
                    "image_vuln_counts",
                    "exceptions",
                ] {
                    out.push(count(db, &format!("SELECT COUNT(*) FROM {table}")).await);
                }
                out.push(
                    count(
                        db,
                        "SELECT COUNT(*) FROM findings WHERE state = 'suppressed'",
                    )
                    .await,
                );
                out
            }
        };
        let report = fixture("scans/trivy/alpine-3.10.json");
        let vex = serde_json::to_vec(&serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "statements": [{
                "vulnerability": {"name": "CVE-2019-1549"},
                "products": [{"@id": "pkg:apk/alpine/libcrypto1.1@1.1.1c-r0"}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"
            }]
        }))
        .unwrap();
        let empty = snapshot().await;
        crate::exec(&db, "ALTER TABLE audit_log RENAME TO audit_log_away").await;
        assert!(ingest(&state, &cli, &report, None, "api").await.is_err());
        assert_eq!(snapshot().await, empty, "a failed upload leaves nothing");
        crate::exec(&db, "ALTER TABLE audit_log_away RENAME TO audit_log").await;
        // A failure in what the upload implies (the suppressions it meets) undoes the
        // upload too: the report is not stored half-applied.
        crate::exec(&db, "ALTER TABLE exceptions RENAME TO exceptions_away").await;
        assert!(ingest(&state, &cli, &report, None, "api").await.is_err());
        crate::exec(&db, "ALTER TABLE exceptions_away RENAME TO exceptions").await;
        assert_eq!(
            snapshot().await,
            empty,
            "nothing of the upload whose suppressions failed"
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, 0);

        ingest(&state, &cli, &report, None, "api").await.unwrap();
        let stored = snapshot().await;
        assert!(
            stored[2] > 0 && stored[7] > 0,
            "findings and their counts: {stored:?}"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'scan.ingest'"
            )
            .await,
            1
        );

        crate::exec(&db, "ALTER TABLE audit_log RENAME TO audit_log_away").await;
        assert!(ingest(&state, &cli, &vex, None, "api").await.is_err());
        assert_eq!(
            snapshot().await,
            stored,
            "a failed VEX upload suppresses nothing"
        );
        crate::exec(&db, "ALTER TABLE audit_log_away RENAME TO audit_log").await;

        ingest(&state, &cli, &vex, None, "api").await.unwrap();
        let after = snapshot().await;
        assert_eq!(after[8], 1, "one suppression");
        assert!(
            after[9] >= 1,
            "its findings are suppressed in the same commit"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'scan.ingest'"
            )
            .await,
            2
        );
    });
}
