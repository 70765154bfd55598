//! The signed-in journey in a real browser: log in, see the overview, use the
//! hydrated theme control, create an API token and use it, log out.

use coastguard_end2end::{
    api_me, console_errors, create_token_in, log_in, screenshot, wait_for, wait_hydrated,
    with_browser, Harness, ADMIN_PASSWORD,
};
use fantoccini::{Client, Locator};

async fn html_theme(c: &Client) -> Option<String> {
    c.find(Locator::Css("html"))
        .await
        .expect("html")
        .attr("data-theme")
        .await
        .expect("attr")
}

#[tokio::test]
async fn login_overview_theme_token_logout() {
    // Without the machine's Docker engine, so the overview starts empty.
    let harness = &Harness::start_with("journey", &[("COASTGUARD_DOCKER_LOCAL", "false")]).await;
    with_browser(harness, |c| async move {
        // The console check every browser test ends with can fail: a page that logs an
        // error is caught (and reading the log clears it).
        c.goto("data:text/html,<script>console.error('e2e console probe')</script>")
            .await
            .expect("open");
        let errors = console_errors(&c).await;
        assert!(
            errors.iter().any(|e| e.contains("e2e console probe")),
            "{errors:?}"
        );
        // An anonymous visitor lands on the login page; a wrong password is refused
        // with the generic message.
        c.goto(&harness.url("/")).await.expect("open");
        wait_for("the login page", || async {
            c.current_url().await.expect("url").path() == "/login"
        })
        .await;
        log_in(&c, harness, "admin", "not-the-password").await;
        wait_for("the error message", || async {
            c.find(Locator::Css(".alert-error")).await.is_ok()
        })
        .await;
        let message = c
            .find(Locator::Css(".alert-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(message, "Wrong user name or password.");
        screenshot(&c, "login-error").await;

        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        wait_for("the overview", || async {
            c.current_url().await.unwrap().path() == "/"
        })
        .await;
        let heading = c
            .find(Locator::Css("main h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(heading, "Overview");
        let empty = c
            .find(Locator::Css(".empty-state h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(empty, "Nothing is connected yet");
        wait_hydrated(&c).await;
        screenshot(&c, "overview-light").await;

        // The walkthrough's commands are written for this server's URL...
        let commands = c
            .find_all(Locator::Css(".empty-state .command pre"))
            .await
            .unwrap();
        let mut written = Vec::new();
        for command in &commands {
            written.push(command.text().await.unwrap());
        }
        assert!(
            written
                .iter()
                .any(|t| t.contains(&format!("\"{}/api/v1/scans\"", harness.base))),
            "{written:?}"
        );
        assert!(
            written
                .iter()
                .any(|t| t.contains(&format!("\"{}/api/v1/engines\"", harness.base))),
            "{written:?}"
        );
        // ...and the admin creates the token they use right there, shown once with the
        // line that exports it.
        let setup_secret =
            create_token_in(&c, "#setup-token button[type=submit]", ".empty-state").await;
        let export = c
            .find_all(Locator::Css(".empty-state .command pre"))
            .await
            .unwrap();
        let mut found_export = false;
        for e in export {
            let t = e.text().await.unwrap();
            if t.contains(&format!("export COASTGUARD_TOKEN={setup_secret}")) {
                found_export = true;
            }
        }
        assert!(found_export, "no export line for the new token");
        screenshot(&c, "overview-walkthrough").await;
        let me = api_me(harness, &setup_secret).await;
        assert_eq!(me["name"], "token:ci-pipeline");
        assert_eq!(me["role"], "analyst");
        assert_eq!(me["demo"], false);

        // The theme control only works once hydrated: system → light → dark.
        assert_eq!(html_theme(&c).await, None);
        let toggle = c.find(Locator::Css("button.theme-toggle")).await.unwrap();
        toggle.click().await.unwrap();
        assert_eq!(html_theme(&c).await.as_deref(), Some("light"));
        toggle.click().await.unwrap();
        assert_eq!(html_theme(&c).await.as_deref(), Some("dark"));
        assert_eq!(toggle.text().await.unwrap(), "Theme: dark");
        // The choice is a cookie: the server renders it on the next page load.
        c.refresh().await.unwrap();
        assert_eq!(html_theme(&c).await.as_deref(), Some("dark"));
        wait_hydrated(&c).await;
        screenshot(&c, "overview-dark").await;

        // Create an API token in the admin UI, then use it against the REST API.
        c.goto(&harness.url("/admin/tokens")).await.unwrap();
        wait_hydrated(&c).await;
        c.find(Locator::Css("input[name=name]"))
            .await
            .unwrap()
            .send_keys("e2e-pipeline")
            .await
            .unwrap();
        let secret = create_token_in(&c, "form.form-row button[type=submit]", "").await;
        assert!(secret.starts_with("cg_"), "{secret}");
        wait_for("the token list", || async {
            c.find(Locator::XPath("//td/strong[text()='e2e-pipeline']"))
                .await
                .is_ok()
        })
        .await;
        // Created with the form's default expiry (90 days), owned by the admin, active.
        let row = c
            .find(Locator::XPath("//tr[td/strong[text()='e2e-pipeline']]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .to_lowercase();
        assert!(row.contains("active") && row.contains("admin"), "{row}");
        assert!(!row.contains("never expires"), "{row}");
        // Created and expires (it was never used): two dates.
        assert_eq!(row.matches(" utc").count(), 2, "an expiry date: {row}");
        screenshot(&c, "tokens").await;
        let me = api_me(harness, &secret).await;
        assert_eq!(me["name"], "token:e2e-pipeline");
        assert_eq!(me["role"], "analyst");

        // Trust a cosign public key in the settings, as an admin does.
        c.goto(&harness.url("/admin/settings")).await.unwrap();
        wait_hydrated(&c).await;
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../server/core/tests/fixtures/signatures/cosign/containers-image/cosign.pub"
        ))
        .unwrap();
        let form = "#signing-keys form.form-stack";
        for (field, value) in [
            ("input[name=name]", "release key"),
            ("textarea[name=public_pem]", pem.as_str()),
            ("input[name=scope]", "registry.example.com/shop/*"),
        ] {
            c.find(Locator::Css(&format!("{form} {field}")))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        c.find(Locator::Css(&format!("{form} button[type=submit]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the trusted key", || async {
            c.find(Locator::XPath(
                "//section[@id='signing-keys']//td[text()='release key']",
            ))
            .await
            .is_ok()
        })
        .await;
        let row = c
            .find(Locator::XPath("//tr[td[text()='release key']]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            row.contains("ecdsa-p256") && row.contains("registry.example.com/shop/*"),
            "{row}"
        );
        screenshot(&c, "settings-signing-keys").await;

        c.goto(&harness.url("/admin/users")).await.unwrap();
        wait_hydrated(&c).await;
        screenshot(&c, "users").await;
        c.goto(&harness.url("/admin/audit")).await.unwrap();
        let audit = c
            .find(Locator::Css("table.table"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(audit.contains("token.create"), "{audit}");
        assert!(audit.contains("signing_key.add"), "{audit}");
        assert!(audit.contains("auth.login_failed"), "{audit}");
        screenshot(&c, "audit").await;

        // Log out: back to the login page, and the overview is closed again.
        c.find(Locator::XPath("//button[text()='Log out']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the logged-out page", || async {
            c.current_url().await.unwrap().path() == "/login"
        })
        .await;
        let note = c
            .find(Locator::Css(".alert-ok"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(note, "You are logged out.");
        c.goto(&harness.url("/")).await.unwrap();
        wait_for("redirect to login", || async {
            c.current_url().await.unwrap().path() == "/login"
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn unknown_pages_render_the_not_found_page() {
    let harness = &Harness::start("notfound").await;
    with_browser(harness, |c| async move {
        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        wait_for("the overview", || async {
            c.current_url().await.unwrap().path() == "/"
        })
        .await;
        c.goto(&harness.url("/no/such/page")).await.unwrap();
        let heading = c
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(heading, "Page not found");
        screenshot(&c, "not-found").await;
    })
    .await;
}
