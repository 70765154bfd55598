//! Exploit intelligence feeds through the ingest path, on both backends: the KEV catalog
//! and EPSS scores mark the vulnerabilities they name, now and when a later report brings
//! them; risk scores rise; a bad feed stores nothing.

use crate::scans::fixture;
use coastguard_core::auth::Authed;
use coastguard_core::scans::ingest::{feeds, ingest};
use coastguard_core::testing::TestDb;
use coastguard_core::with_db;

/// (known exploited, EPSS) of the vulnerability a CVE names.
async fn intel_of(db: &TestDb, cve: &str) -> (bool, Option<f64>) {
    with_db!(db.store.db(), |pool| sqlx::query_as(
        "SELECT v.known_exploited, v.epss FROM vulnerabilities v \
         JOIN vulnerability_aliases a ON a.vulnerability_id = v.id WHERE a.alias = $1"
    )
    .bind(cve)
    .fetch_one(pool)
    .await
    .unwrap())
}

fn kev(cves: &[&str]) -> Vec<u8> {
    let rows: Vec<String> = cves
        .iter()
        .map(|c| {
            format!(
                r#"{{"cveID": "{c}", "vendorProject": "x", "product": "y", "vulnerabilityName": "z",
                "dateAdded": "2026-11-01", "shortDescription": "", "requiredAction": "",
                "dueDate": "2026-11-22", "knownRansomwareCampaignUse": "Unknown", "notes": ""}}"#
            )
        })
        .collect();
    format!(
        r#"{{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.11.24",
        "dateReleased": "2026-11-24T00:00:00Z", "count": {}, "vulnerabilities": [{}]}}"#,
        cves.len(),
        rows.join(",")
    )
    .into_bytes()
}

#[tokio::test]
async fn feeds_mark_vulnerabilities_now_and_later_and_raise_risk() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let s = &ingest(
            &state,
            &cli,
            &fixture("scans/trivy/alpine-3.10.json"),
            None,
            "cli",
        )
        .await
        .unwrap()[0];
        let image = s.image.as_ref().unwrap().id;
        assert_eq!(intel_of(&db, "CVE-2019-1549").await, (false, None));
        db.store.take_risk_stale().await.unwrap();
        db.store
            .recompute_risk(coastguard_core::now())
            .await
            .unwrap();
        let before = db
            .store
            .risk_breakdown(coastguard_model::risk::RiskSubject::Image, image)
            .await
            .unwrap()
            .score;

        // KEV: one CVE found here, one (CVE-2019-5436) not yet.
        let out = &ingest(
            &state,
            &cli,
            &kev(&["CVE-2019-1549", "CVE-2019-5436"]),
            None,
            "cli",
        )
        .await
        .unwrap()[0];
        assert_eq!((out.kind.as_str(), out.format.as_str()), ("feed", "kev"));
        assert_eq!((out.entries, out.findings, out.updated), (2, 1, 1));
        assert_eq!(intel_of(&db, "CVE-2019-1549").await, (true, None));
        assert_eq!(intel_of(&db, "CVE-2019-1551").await, (false, None));
        // The import marked the scores stale; the recompute weighs the exploit.
        assert!(db.store.take_risk_stale().await.unwrap());
        db.store
            .recompute_risk(coastguard_core::now())
            .await
            .unwrap();
        let after = db
            .store
            .risk_breakdown(coastguard_model::risk::RiskSubject::Image, image)
            .await
            .unwrap()
            .score;
        assert!(
            after > before,
            "known exploited raises the score: {before} → {after}"
        );
        // The same catalog again changes nothing.
        let again = &ingest(
            &state,
            &cli,
            &kev(&["CVE-2019-1549", "CVE-2019-5436"]),
            None,
            "cli",
        )
        .await
        .unwrap()[0];
        assert_eq!((again.findings, again.updated), (1, 0));

        // EPSS, gzipped, with a CVE no report has named yet.
        let csv = "#model_version:v2025.03.14,score_date:2026-11-24T00:00:00Z\n\
                   cve,epss,percentile\nCVE-2019-1549,0.25,0.9\nCVE-2019-1551,0.01,0.3\nCVE-2019-5481,0.5,0.95\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, csv.as_bytes()).unwrap();
        let out = &ingest(&state, &cli, &gz.finish().unwrap(), None, "cli")
            .await
            .unwrap()[0];
        assert_eq!(
            (out.format.as_str(), out.entries, out.findings, out.updated),
            ("epss", 3, 2, 2)
        );
        assert_eq!(intel_of(&db, "CVE-2019-1549").await, (true, Some(0.25)));
        assert_eq!(intel_of(&db, "CVE-2019-1551").await, (false, Some(0.01)));

        // A later report brings CVE-2019-5436 and CVE-2019-5481: both arrive marked.
        ingest(
            &state,
            &cli,
            &fixture("scans/trivy/amazon-2.json"),
            None,
            "cli",
        )
        .await
        .unwrap();
        assert_eq!(intel_of(&db, "CVE-2019-5436").await, (true, None));
        assert_eq!(intel_of(&db, "CVE-2019-5481").await, (false, Some(0.5)));

        // A broken feed is refused with where, and what was stored stays.
        let bad = csv.replace("0.5,0.95", "0.5,lots");
        let err = ingest(&state, &cli, bad.as_bytes(), None, "cli")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("lots"), "{err}");
        assert_eq!(intel_of(&db, "CVE-2019-5481").await, (false, Some(0.5)));

        // A newer catalog without CVE-2019-1549: the catalog no longer lists it, but a
        // mark already given stays (a report may have given it).
        ingest(&state, &cli, &kev(&["CVE-2019-5436"]), None, "cli")
            .await
            .unwrap();
        let listed: i64 = with_db!(db.store.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM vulnerability_intel WHERE known_exploited = TRUE"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(listed, 1);

        // Each feed's last import is recorded.
        let status = feeds(&state).await.unwrap();
        let kinds: Vec<(&str, i64, i64)> = status
            .iter()
            .map(|f| (f.kind.as_str(), f.entries, f.matched))
            .collect();
        // "Found here" is as of the import: CVE-2019-5481 arrived after the EPSS file.
        assert_eq!(kinds, [("kev", 1, 1), ("epss", 3, 2)]);
        assert_eq!(status[0].version.as_deref(), Some("2026.11.24"));
        assert_eq!(
            status[1].version.as_deref(),
            Some("v2025.03.14, scores of 2026-11-24T00:00:00Z")
        );
    });
}

/// A feed's data, its status and its audit record are one commit: when the record can't be
/// written, neither the marks nor the status are stored.
#[tokio::test]
async fn a_feed_is_stored_with_its_status_and_audit_record_or_not_at_all() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli().as_analyst();
        let count = |sql: &'static str| {
            let db = &db;
            async move {
                with_db!(db.store.db(), |pool| sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(pool)
                    .await
                    .unwrap())
            }
        };
        let feed = kev(&["CVE-2019-1549"]);
        crate::exec(&db, "ALTER TABLE audit_log RENAME TO audit_log_away").await;
        assert!(ingest(&state, &cli, &feed, None, "cli").await.is_err());
        assert_eq!(count("SELECT COUNT(*) FROM vulnerability_intel").await, 0);
        assert!(feeds(&state).await.unwrap().is_empty(), "no status either");
        crate::exec(&db, "ALTER TABLE audit_log_away RENAME TO audit_log").await;

        ingest(&state, &cli, &feed, None, "cli").await.unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM vulnerability_intel").await, 1);
        assert_eq!(feeds(&state).await.unwrap().len(), 1);
        assert_eq!(
            count("SELECT COUNT(*) FROM audit_log WHERE action = 'scan.ingest' AND detail LIKE '%\"kev\"%'").await,
            1
        );
    });
}
