//! Risk and trends in a real browser: after a scan lands, the overview ranks the image,
//! its breakdown links to the findings behind it, and the trends page draws its charts.

use coastguard_end2end::{
    log_in, screenshot, wait_for, wait_hydrated, with_browser, Harness, ADMIN_PASSWORD,
};
use fantoccini::{Client, Locator};
use std::path::PathBuf;

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.expect("find").len()
}

#[tokio::test]
async fn overview_ranks_risk_breakdown_leads_to_findings_and_trends_draw_charts() {
    let harness = &Harness::start_with("posture", &[("COASTGUARD_DOCKER_LOCAL", "false")]).await;
    let report = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo"))
        .join("../server/core/tests/fixtures/scans/trivy/alpine-3.10.json");
    let out = harness.cli(&["ingest", report.to_str().expect("path"), "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let image = summary["image"]["id"].as_i64().expect("image id");
    // Every finding of a first scan is new and open.
    let created = summary["created"].as_i64().expect("created");

    with_browser(harness, |c| async move {
        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        // The risk job runs every 10 s: the ranking fills in without a page view
        // computing anything.
        wait_for("the image in the riskiest list", || async {
            c.goto(&harness.url("/")).await.expect("overview");
            count(&c, ".risk-ranking[data-kind=image] tbody tr").await == 1
        })
        .await;
        wait_hydrated(&c).await;
        screenshot(&c, "overview-risk").await;
        let link = c
            .find(Locator::Css(".risk-ranking[data-kind=image] tbody tr a"))
            .await
            .expect("image link");
        assert_eq!(
            link.attr("href").await.expect("href").as_deref(),
            Some(format!("/images/{image}").as_str())
        );
        link.click().await.expect("open image");
        wait_for("the breakdown", || async {
            count(&c, ".risk-factors tbody tr").await > 0
        })
        .await;
        wait_hydrated(&c).await;
        let head = c
            .find(Locator::Css(".risk-panel .risk-head"))
            .await
            .expect("score")
            .text()
            .await
            .expect("text");
        assert!(head.contains("of 100"), "{head}");
        let summary = c
            .find(Locator::Css(".fix-summary"))
            .await
            .expect("fix summary")
            .text()
            .await
            .expect("text");
        assert!(summary.starts_with("Fixing "), "{summary}");
        screenshot(&c, "image-risk").await;

        // The largest contributor links to exactly its findings.
        let top = c
            .find(Locator::Css(
                "tr[data-factor=vulnerabilities] .contributors li a",
            ))
            .await
            .expect("top contributor");
        let label = top.text().await.expect("label");
        let package = label.split(':').next().expect("package").to_string();
        let findings: usize = label
            .split(": ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a count");
        top.click().await.expect("follow");
        wait_for("the filtered list", || async {
            c.current_url().await.expect("url").path() == "/vulnerabilities"
        })
        .await;
        wait_hydrated(&c).await;
        let url = c.current_url().await.expect("url");
        assert!(url
            .query()
            .unwrap_or("")
            .contains(&format!("image={image}")));
        assert_eq!(count(&c, ".vuln-table tbody tr").await, findings);
        let table = c
            .find(Locator::Css(".vuln-table"))
            .await
            .expect("table")
            .text()
            .await
            .expect("text");
        assert!(table.contains(&package));

        // Trends: take today's snapshot, then every chart is an SVG with its series.
        c.goto(&harness.url("/trends")).await.expect("trends");
        wait_hydrated(&c).await;
        c.find(Locator::Css(".page-head button[type=submit]"))
            .await
            .expect("snapshot button")
            .click()
            .await
            .expect("take");
        wait_for("the snapshot", || async {
            count(&c, ".alert-ok").await == 1
        })
        .await;
        assert_eq!(count(&c, "figure.chart svg").await, 5);
        let open = c
            .find(Locator::Css("figure[data-chart=open] svg"))
            .await
            .expect("open chart");
        let svg = open.html(false).await.expect("svg");
        for series in ["critical", "high", "medium", "low", "unknown"] {
            assert!(svg.contains(series), "legend {series}");
        }
        assert!(svg.contains("#D55E00"), "the critical series");
        let open_now = c
            .find(Locator::Css(".stats .stat-value"))
            .await
            .expect("latest")
            .text()
            .await
            .expect("text");
        assert_eq!(open_now, created.to_string(), "today's open count");
        let csv = c
            .find(Locator::Css("figure[data-chart=open] figcaption a"))
            .await
            .expect("csv link")
            .attr("href")
            .await
            .expect("href")
            .expect("an href");
        assert!(csv.starts_with("/api/v1/trends/charts/open?format=csv&from="));
        let scope = c
            .find(Locator::Css("select[name=scope] option[selected]"))
            .await
            .expect("the scope picker")
            .text()
            .await
            .expect("text");
        assert_eq!(scope, "Whole estate");
        screenshot(&c, "trends").await;

        // An admin tightens the SLA in Settings; the trends page measures against it.
        c.goto(&harness.url("/admin/settings#sla"))
            .await
            .expect("settings");
        wait_hydrated(&c).await;
        let critical = c
            .find(Locator::Css("#sla input[name=critical_days]"))
            .await
            .expect("critical days");
        critical.clear().await.expect("clear");
        critical.send_keys("3").await.expect("type");
        c.find(Locator::Css("#sla button[type=submit]"))
            .await
            .expect("save")
            .click()
            .await
            .expect("submit");
        wait_for("the SLA to be saved", || async {
            count(&c, "#sla .alert-ok").await == 1
        })
        .await;
        c.goto(&harness.url("/trends")).await.expect("trends");
        wait_hydrated(&c).await;
        let critical_sla = c
            .find(Locator::XPath(
                "//table[contains(@class,'mttr')]//tr[th[translate(text(),'CRITICAL','critical')='critical']]/td[2]",
            ))
            .await
            .expect("the critical row")
            .text()
            .await
            .expect("text");
        assert_eq!(critical_sla, "3");
    })
    .await;
}
