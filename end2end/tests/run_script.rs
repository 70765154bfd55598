//! The README's run command, as a user runs it. `scripts/test` starts `scripts/run` (the
//! release build, its own data directory, a free port) and points this test at it with
//! `COASTGUARD_RUN_URL` and `COASTGUARD_RUN_PASSWORD`; without them the test fails, as
//! there is nothing to check. It checks what once broke unseen: the login page loads,
//! logging in works, and the page hydrates (an interactive control responds).

use coastguard_end2end::{
    follow_link, log_in, screenshot, started_by_scripts_test, wait_for, wait_hydrated,
    with_browser, Harness,
};
use fantoccini::Locator;

#[tokio::test]
async fn run_script_serves_a_hydrated_dashboard() {
    let (url, password) = started_by_scripts_test();
    let harness = &Harness::attach("run-script", &url).await;
    with_browser(harness, |c| async move {
        // The bundle the page loads is there and is wasm.
        let wasm = reqwest::get(harness.url("/pkg/coastguard.wasm"))
            .await
            .unwrap();
        assert!(wasm.status().is_success());
        assert_eq!(&wasm.bytes().await.unwrap()[..4], b"\0asm");

        c.goto(&harness.url("/")).await.unwrap();
        wait_for("the login page", || async {
            c.current_url().await.unwrap().path() == "/login"
        })
        .await;
        wait_hydrated(&c).await;
        screenshot(&c, "run-login").await;
        log_in(&c, harness, "admin", &password).await;
        wait_for("the overview", || async {
            c.current_url().await.unwrap().path() == "/"
        })
        .await;
        wait_hydrated(&c).await;
        let heading = c
            .find(Locator::Css("main h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(heading, "Overview");
        // Only the hydrated page answers this button: system → light → dark.
        let toggle = c.find(Locator::Css("button.theme-toggle")).await.unwrap();
        toggle.click().await.unwrap();
        toggle.click().await.unwrap();
        wait_for("the dark theme", || async {
            c.find(Locator::Css("html"))
                .await
                .unwrap()
                .attr("data-theme")
                .await
                .unwrap()
                .as_deref()
                == Some("dark")
        })
        .await;
        // A client-side navigation (the router, in wasm) to another page.
        follow_link(&c, "nav.sidebar a[href='/hosts']", "Hosts").await;
        screenshot(&c, "run-hosts").await;
    })
    .await;
}
