//! Exceptions in a real browser: the admin sets the policy on the page; on the alerts
//! queue `e` opens the exception form filled in for the selected group's (critical)
//! rule; the policy refuses it without an expiry, then holds it for a second analyst;
//! once another analyst approves it the group is out of the queue (still listed under
//! "covered by an exception"); an exception that analyst made waits for approval, the
//! admin approves it on the page, and its history says who did what.

use coastguard_end2end::{
    falco_event, log_in, press, screenshot, texts_of, wait_for, wait_hydrated, with_browser,
    Harness, ADMIN_PASSWORD,
};
use fantoccini::{Client, Locator};

const RULE: &str = "Terminal shell in container";

fn token(harness: &Harness, name: &str, role: &str) -> String {
    let out = harness.cli(&["token", "create", "--name", name, "--role", role]);
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

async fn click(c: &Client, css: &str) {
    wait_for(css, || async { c.find(Locator::Css(css)).await.is_ok() }).await;
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The text of `css`, or nothing while the page has no such element (a Suspense
/// re-rendering).
async fn text_now(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn exception_rows(c: &Client) -> Vec<String> {
    texts_of(c, "#exceptions tbody tr").await
}

#[tokio::test]
async fn an_exception_is_made_from_the_queue_and_a_second_one_approved_on_the_page() {
    let harness = &Harness::start_with("exceptions", &[("COASTGUARD_DOCKER_LOCAL", "false")]).await;
    let ingest = token(harness, "falco", "ingest");
    let bob = token(harness, "bob", "analyst");

    with_browser(harness, |c| async move {
        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        wait_for("the overview", || async {
            c.current_url().await.expect("url").path() == "/"
        })
        .await;

        // The policy: an expiry from high up, a second analyst for critical ones.
        c.goto(&harness.url("/exceptions")).await.expect("page");
        wait_hydrated(&c).await;
        click(&c, "details.panel summary").await;
        c.find(Locator::Css("#exception-policy select[name=expiry_from]"))
            .await
            .expect("expiry")
            .select_by_value("high")
            .await
            .expect("choose");
        click(&c, "#exception-policy input[name=approve_critical]").await;
        click(&c, "#exception-policy button[type=submit]").await;
        wait_for("the policy in words", || async {
            text_now(&c, "details.panel summary").await.contains(
                "an expiry is required from high up; critical ones need a second analyst's approval",
            )
        })
        .await;

        // A Falco event reaches the queue; `e` opens the form for its rule.
        let res = reqwest::Client::new()
            .post(harness.url("/api/v1/alerts/falco"))
            .bearer_auth(&ingest)
            .header("content-type", "application/json")
            .body(falco_event(RULE))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 200);
        c.goto(&harness.url("/alerts")).await.expect("alerts");
        wait_hydrated(&c).await;
        wait_for("the alert in the queue", || async {
            texts_of(&c, ".alerts-table tbody tr")
                .await
                .iter()
                .any(|r| r.contains("terminal shell in container"))
        })
        .await;
        press(&c, 'e').await;
        wait_for("the exception form", || async {
            c.current_url().await.expect("url").path() == "/exceptions"
        })
        .await;
        wait_hydrated(&c).await;
        let target = c
            .find(Locator::Css("#new-exception input[name=target]"))
            .await
            .expect("target")
            .prop("value")
            .await
            .expect("value");
        assert_eq!(target.as_deref(), Some(RULE));
        c.find(Locator::Css("#new-exception input[name=reason]"))
            .await
            .expect("reason")
            .send_keys("the on-call runbook opens a shell here")
            .await
            .expect("type");
        // The rule is critical: without an expiry the policy refuses it, and says why.
        click(&c, "#new-exception button[type=submit]").await;
        wait_for("the policy's refusal", || async {
            text_now(&c, "#new-exception").await.contains("needs an expiry")
        })
        .await;
        c.find(Locator::Css("#new-exception input[name=expires_in_days]"))
            .await
            .expect("expiry")
            .send_keys("7")
            .await
            .expect("type");
        click(&c, "#new-exception button[type=submit]").await;
        wait_for("the exception made", || async {
            text_now(&c, "#new-exception").await.contains("Made:")
        })
        .await;
        c.goto(&harness.url("/exceptions?status=pending"))
            .await
            .expect("pending");
        wait_hydrated(&c).await;
        wait_for("the exception, waiting for a second analyst", || async {
            exception_rows(&c).await.iter().any(|r| {
                r.contains("terminal shell in container")
                    && r.contains("waiting for approval")
                    && r.contains("false positive")
            })
        })
        .await;
        // The admin can't approve their own: no Approve button on it.
        assert!(c
            .find(Locator::XPath(
                "//table[@id='exceptions']//tr[contains(., 'Terminal shell')]//button[text()='Approve']",
            ))
            .await
            .is_err());
        // Bob approves it through the API.
        let api = reqwest::Client::new();
        let pending: serde_json::Value = api
            .get(harness.url("/api/v1/exceptions?status=pending"))
            .bearer_auth(&bob)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let first = pending["items"][0]["id"].as_i64().expect("id");
        let res = api
            .post(harness.url(&format!("/api/v1/exceptions/{first}/approve")))
            .bearer_auth(&bob)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("approve");
        assert_eq!(res.status(), 204);

        // The group left the queue, and is listed under what exceptions cover.
        c.goto(&harness.url("/alerts")).await.expect("alerts");
        wait_hydrated(&c).await;
        wait_for("the queue empty", || async {
            texts_of(&c, ".alerts-table tbody tr").await.is_empty()
        })
        .await;
        c.goto(&harness.url("/alerts?state=suppressed"))
            .await
            .expect("suppressed");
        wait_hydrated(&c).await;
        wait_for("the covered group", || async {
            texts_of(&c, ".alerts-table tbody tr")
                .await
                .iter()
                .any(|r| r.contains("terminal shell in container"))
        })
        .await;

        // Bob (through the API) makes one the policy holds for approval.
        let res = reqwest::Client::new()
            .post(harness.url("/api/v1/exceptions"))
            .bearer_auth(&bob)
            .json(&serde_json::json!({
                "kind": "runtime", "target": "Launch Privileged Container",
                "reason": "the CI runner's builds", "expires_in_days": 10,
            }))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 201);
        let made: serde_json::Value = res.json().await.expect("json");
        assert_eq!(made["exception"]["status"], "pending");
        let id = made["exception"]["id"].as_i64().expect("id");

        c.goto(&harness.url("/exceptions?status=pending"))
            .await
            .expect("pending");
        wait_hydrated(&c).await;
        wait_for("bob's exception, waiting", || async {
            exception_rows(&c)
                .await
                .iter()
                .any(|r| r.contains("launch privileged container") && r.contains("waiting for approval"))
        })
        .await;
        screenshot(&c, "exceptions-pending").await;
        c.find(Locator::XPath(
            "//table[@id='exceptions']//tr[contains(., 'Launch Privileged Container')]//button[text()='Approve']",
        ))
        .await
        .expect("approve button")
        .click()
        .await
        .expect("approve");
        wait_for("nothing waits any more", || async {
            text_now(&c, "main").await.contains("No exceptions here.")
        })
        .await;

        // Active now, and on its owner's expiring list (it ends within 14 days).
        c.goto(&harness.url("/exceptions?status=expiring&owner=token:bob"))
            .await
            .expect("expiring");
        wait_hydrated(&c).await;
        wait_for("bob's expiring exception", || async {
            exception_rows(&c)
                .await
                .iter()
                .any(|r| r.contains("launch privileged container") && r.contains("expiring"))
        })
        .await;
        c.goto(&harness.url("/exceptions")).await.expect("all");
        wait_hydrated(&c).await;
        wait_for("both in force (ending within 14 days)", || async {
            let rows = exception_rows(&c).await;
            rows.len() == 2 && rows.iter().all(|r| r.contains("expiring"))
        })
        .await;
        screenshot(&c, "exceptions").await;

        c.goto(&harness.url(&format!("/exceptions/{id}")))
            .await
            .expect("detail");
        wait_hydrated(&c).await;
        wait_for("the history", || async {
            let history = text_now(&c, "ol.history").await;
            history.contains("created by token:bob") && history.contains("approved by admin")
        })
        .await;
        screenshot(&c, "exception-detail").await;
    })
    .await;
}
