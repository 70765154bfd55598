//! `scripts/run --demo`, as a user runs it: `scripts/test` starts it and points this test
//! at it (`COASTGUARD_RUN_URL`, `COASTGUARD_RUN_PASSWORD`); without them it fails. Every
//! page says "demo", and each capability's page shows the invented estate.

use coastguard_end2end::{
    log_in, screenshot, started_by_scripts_test, wait_for, wait_hydrated, with_browser, Harness,
};
use fantoccini::{Client, Locator};

/// Whether the page's text holds `needle`, whatever the case: CSS capitalises badges.
fn has(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Opens `path`, waits for its heading, checks the demo banner, saves a screenshot and
/// returns the main column's text.
async fn visit(c: &Client, harness: &Harness, path: &str, heading: &str, shot: &str) -> String {
    c.goto(&harness.url(path)).await.unwrap();
    wait_for(&format!("{path} to show {heading}"), || async {
        match c.find(Locator::Css("main h1")).await {
            Ok(h) => h.text().await.unwrap_or_default().starts_with(heading),
            Err(_) => false,
        }
    })
    .await;
    // Parts of a page load after its heading.
    wait_for(&format!("{path} to finish loading"), || async {
        !text(c, "main").await.contains("Loading…")
    })
    .await;
    let banner = text(c, ".demo-banner").await;
    assert!(banner.starts_with("Demo estate."), "{path}: {banner}");
    screenshot(c, shot).await;
    text(c, "main").await
}

#[tokio::test]
async fn run_script_demo_shows_every_capability() {
    let (url, password) = started_by_scripts_test();
    let harness = &Harness::attach("run-script-demo", &url).await;
    with_browser(harness, |c| async move {
        c.goto(&harness.url("/login")).await.unwrap();
        wait_for("the login page's demo banner", || async {
            c.find(Locator::Css(".demo-banner")).await.is_ok()
        })
        .await;
        screenshot(&c, "demo-login").await;
        // The analyst of the story.
        log_in(&c, harness, "ana", &password).await;
        wait_for("the overview", || async {
            c.current_url().await.unwrap().path() == "/"
        })
        .await;
        wait_hydrated(&c).await;

        let overview = visit(&c, harness, "/", "Overview", "demo-overview").await;
        assert!(!overview.contains("Nothing is connected yet"));
        let hosts_stat = text(&c, ".stats .stat:first-child .stat-value").await;
        assert_eq!(hosts_stat, "4");
        let running = text(&c, ".stats .stat:nth-child(3) .stat-value").await;
        assert_eq!(running, "17");
        assert!(has(&overview, "Riskiest images"), "{overview}");
        assert!(has(&overview, "never scanned"), "{overview}");

        let hosts = visit(&c, harness, "/hosts", "Hosts", "demo-hosts").await;
        for host in ["prod-web-01", "prod-db-01", "build-01", "monitoring-01"] {
            assert!(hosts.contains(host), "{host} missing: {hosts}");
        }
        let images = visit(&c, harness, "/images", "Images", "demo-images").await;
        assert!(
            has(&images, "registry.demo.invalid/shop/payments:1.9.3"),
            "{images}"
        );
        let containers = visit(&c, harness, "/containers", "Containers", "demo-containers").await;
        assert!(has(&containers, "jenkins-agent"), "{containers}");

        let findings = visit(
            &c,
            harness,
            "/findings?check=container.docker_socket&state=all",
            "Configuration findings",
            "demo-findings",
        )
        .await;
        assert!(has(&findings, "accepted"), "{findings}");
        assert!(has(&findings, "docker-gc"), "{findings}");

        let vulns = visit(
            &c,
            harness,
            "/vulnerabilities",
            "Vulnerabilities",
            "demo-vulns",
        )
        .await;
        assert!(has(&vulns, "CVE-2024-6387"), "{vulns}");
        let log4shell = visit(
            &c,
            harness,
            "/vulnerabilities/CVE-2021-44228",
            "CVE-2021-44228",
            "demo-vuln-log4shell",
        )
        .await;
        assert!(has(&log4shell, "known exploited"), "{log4shell}");
        assert!(has(&log4shell, "fixed"), "{log4shell}");

        let scans = visit(&c, harness, "/scans", "Scans", "demo-scans").await;
        assert!(has(&scans, "trivy"), "{scans}");
        assert!(
            has(&scans, "CISA Known Exploited Vulnerabilities"),
            "{scans}"
        );
        let suppressions = visit(
            &c,
            harness,
            "/suppressions",
            "Suppressions",
            "demo-suppressions",
        )
        .await;
        assert!(has(&suppressions, "CVE-2022-42889"), "{suppressions}");
        assert!(has(&suppressions, "CVE-2023-4911"), "{suppressions}");

        let risk = visit(&c, harness, "/risk", "Risk", "demo-risk").await;
        assert!(
            risk.contains("payments") || risk.contains("jenkins"),
            "{risk}"
        );
        let trends = visit(&c, harness, "/trends", "Trends", "demo-trends").await;
        assert!(!trends.contains("No snapshots"), "{trends}");
        let charts = c.find_all(Locator::Css("figure.chart svg")).await.unwrap();
        assert!(charts.len() >= 4, "{} charts", charts.len());
        // Ninety days of history behind the charts: the CSV of the open-findings chart.
        let cookie = c.get_named_cookie("coastguard_session").await.unwrap();
        let csv = reqwest::Client::new()
            .get(harness.url("/api/v1/trends/charts/open?format=csv"))
            .header("cookie", format!("coastguard_session={}", cookie.value()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.lines().count() >= 90, "{csv}");
    })
    .await;
}
