//! Scan reports in a real browser: an analyst uploads a Trivy report and a broken file
//! through the form, reads the outcome of each, finds the vulnerabilities in the list
//! and on the image, and suppresses one.

use coastguard_end2end::{
    log_in, screenshot, wait_for, wait_hydrated, with_browser, Harness, ADMIN_PASSWORD,
};
use fantoccini::{Client, Locator};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test"))
        .join("../server/core/tests/fixtures/scans")
        .join(path)
}

async fn rows(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.expect("rows").len()
}

/// Chooses files (one path per line) in the upload form and sends it.
async fn upload(c: &Client, files: &str) {
    c.find(Locator::Css("input[type=file][name=report]"))
        .await
        .expect("file input")
        .send_keys(files)
        .await
        .expect("choose files");
    c.find(Locator::Css(
        "form[action='/ui/upload_scan'] button[type=submit]",
    ))
    .await
    .expect("upload button")
    .click()
    .await
    .expect("upload");
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn upload_find_and_suppress_vulnerabilities() {
    let harness = &Harness::start_with("scans", &[("COASTGUARD_DOCKER_LOCAL", "false")]).await;
    // What the report holds, counted here rather than by the parser.
    let report = fixture("trivy/alpine-3.10.json");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("fixture")).expect("JSON");
    let vulns = doc["Results"][0]["Vulnerabilities"]
        .as_array()
        .expect("list");
    let pairs: BTreeSet<(String, String)> = vulns
        .iter()
        .map(|v| {
            (
                v["PkgName"].as_str().unwrap().to_string(),
                v["VulnerabilityID"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let kev = harness.data_dir.join("kev.json");
    std::fs::write(
        &kev,
        r#"{"catalogVersion": "2026.11.24", "count": 1, "vulnerabilities": [{"cveID": "CVE-2019-1549",
            "dateAdded": "2026-11-01", "dueDate": "2026-11-22", "knownRansomwareCampaignUse": "Unknown"}]}"#,
    )
    .expect("write");
    let broken = harness.data_dir.join("broken.json");
    std::fs::write(&broken, "{\"SchemaVersion\": 2, \"Results\": [").expect("write");

    with_browser(harness, |c| async move {
        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        wait_for("the overview", || async {
            c.current_url().await.expect("url").path() == "/"
        })
        .await;

        // Two files in one upload: each gets its own outcome.
        c.goto(&harness.url("/scans")).await.expect("scans");
        wait_hydrated(&c).await;
        let files = format!(
            "{}\n{}",
            report.canonicalize().expect("path").display(),
            broken.display()
        );
        upload(&c, &files).await;
        wait_for("the upload outcome", || async {
            rows(&c, ".upload-outcomes .alert").await == 2
        })
        .await;
        let ok = text_of(&c, ".upload-outcomes .alert-ok").await;
        assert!(ok.contains("alpine-3.10.json"), "{ok}");
        assert!(
            ok.contains(&format!("{} vulnerability entries", vulns.len()))
                && ok.contains(&format!("{} findings ({} new", pairs.len(), pairs.len())),
            "{ok}"
        );
        let refused = text_of(&c, ".upload-outcomes .alert-error").await;
        assert!(
            refused.contains("broken.json")
                && refused.contains("nothing stored")
                && refused.contains("line 1"),
            "{refused}"
        );
        // The list of reports below refreshed: one scan, from the UI.
        wait_for("the scan in the list", || async {
            rows(&c, ".reports table tbody tr").await == 1
        })
        .await;
        assert!(text_of(&c, ".reports table tbody tr")
            .await
            .contains("via ui"));
        screenshot(&c, "scans-upload").await;
        let image_href = c
            .find(Locator::Css(".upload-outcomes .alert-ok a"))
            .await
            .expect("image link")
            .attr("href")
            .await
            .expect("href")
            .expect("an href");

        // Every finding is in the list, worst first.
        c.goto(&harness.url("/vulnerabilities"))
            .await
            .expect("list");
        wait_hydrated(&c).await;
        assert_eq!(rows(&c, ".vuln-table tbody tr").await, pairs.len());
        let page = text_of(&c, ".vuln-table").await;
        for (pkg, id) in &pairs {
            assert!(page.contains(pkg) && page.contains(id), "{pkg} {id}");
        }
        screenshot(&c, "vulnerabilities").await;

        // Suppress the first one for its package in this image.
        let first = c
            .find(Locator::Css(".vuln-table tbody tr"))
            .await
            .expect("row");
        let suppressed_id = first
            .find(Locator::Css("td:nth-child(2) a"))
            .await
            .expect("id link")
            .text()
            .await
            .expect("id");
        first
            .find(Locator::Css("details summary"))
            .await
            .expect("suppress toggle")
            .click()
            .await
            .expect("open");
        first
            .find(Locator::Css("input[name=justification]"))
            .await
            .expect("justification")
            .send_keys("not reachable from the network in this service")
            .await
            .expect("type");
        first
            .find(Locator::Css("button[type=submit]"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("suppress");
        wait_for("the row to leave the open list", || async {
            rows(&c, ".vuln-table tbody tr").await == pairs.len() - 1
        })
        .await;

        // It stays visible among the suppressed ones, with the reason.
        c.goto(&harness.url("/vulnerabilities?state=suppressed"))
            .await
            .expect("suppressed");
        wait_hydrated(&c).await;
        let row = text_of(&c, ".vuln-table tbody tr").await;
        assert!(
            row.contains(&suppressed_id)
                && row.contains("not reachable from the network")
                && row.contains("by admin"),
            "{row}"
        );

        // The image groups its findings by package, and shows its scan history.
        c.goto(&harness.url(&image_href)).await.expect("image");
        wait_hydrated(&c).await;
        let section = text_of(&c, "#vulnerabilities").await;
        let packages: BTreeSet<&String> = pairs.iter().map(|(p, _)| p).collect();
        for pkg in packages {
            assert!(section.contains(pkg.as_str()), "{pkg} in {section}");
        }
        assert!(text_of(&c, "#scans").await.contains("trivy"));
        screenshot(&c, "image-vulnerabilities").await;

        // The KEV catalog goes through the same form; the vulnerability it names is marked
        // known exploited wherever it is listed.
        c.goto(&harness.url("/scans")).await.expect("scans");
        wait_hydrated(&c).await;
        assert!(text_of(&c, ".feeds").await.contains("No feed imported yet"));
        upload(&c, &kev.display().to_string()).await;
        wait_for("the feed's outcome", || async {
            rows(&c, ".upload-outcomes .alert-ok").await == 1
        })
        .await;
        let ok = text_of(&c, ".upload-outcomes .alert-ok").await;
        assert!(
            ok.contains("CISA Known Exploited Vulnerabilities: 1 CVEs read")
                && ok.contains("1 of the vulnerabilities found in this estate are in the catalog"),
            "{ok}"
        );
        wait_for("the feeds table", || async {
            rows(&c, ".feeds tr[data-feed=kev]").await == 1
        })
        .await;
        assert!(text_of(&c, ".feeds tr[data-feed=kev]")
            .await
            .contains("2026.11.24"));
        screenshot(&c, "scans-feed").await;
        c.goto(&harness.url("/vulnerabilities/CVE-2019-1549"))
            .await
            .expect("vulnerability");
        wait_hydrated(&c).await;
        // The badge is styled in capitals; WebDriver reads the rendered text.
        wait_for("the known-exploited badge", || async {
            rows(&c, "main .kev").await > 0
        })
        .await;
        assert_eq!(
            text_of(&c, "main .kev").await.to_lowercase(),
            "known exploited"
        );
    })
    .await;
}
