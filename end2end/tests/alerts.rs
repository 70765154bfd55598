//! The runtime alert queue in a real browser: an engineer has it open, Falco's event is
//! posted through the API with an ingest token, the group appears without a reload, and
//! the engineer triages from the keyboard (acknowledge, resolve, false positive with the
//! prompt's reason), then reads the group's history.

use coastguard_end2end::{
    falco_event, log_in, press, screenshot, text_of, texts_of, wait_for, wait_hydrated,
    with_browser, Harness, ADMIN_PASSWORD,
};
use fantoccini::{Client, Locator};

async fn send(harness: &Harness, token: &str, body: String) {
    let res = reqwest::Client::new()
        .post(harness.url("/api/v1/alerts/falco"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// The queue's rows' text, lowercase.
async fn rows(c: &Client) -> Vec<String> {
    texts_of(c, ".alerts-table tbody tr").await
}

#[tokio::test]
async fn the_queue_updates_live_and_is_triaged_from_the_keyboard() {
    let harness = &Harness::start_with("alerts", &[("COASTGUARD_DOCKER_LOCAL", "false")]).await;
    let out = harness.cli(&["token", "create", "--name", "falco", "--role", "ingest"]);
    let token = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string();

    with_browser(harness, |c| async move {
        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        wait_for("the overview", || async {
            c.current_url().await.expect("url").path() == "/"
        })
        .await;
        c.goto(&harness.url("/alerts")).await.expect("alerts");
        wait_hydrated(&c).await;
        wait_for("the live stream", || async {
            c.find(Locator::Css(".queue-bar [data-live=true]"))
                .await
                .is_ok()
        })
        .await;
        assert!(text_of(&c, ".empty-state")
            .await
            .contains("/api/v1/alerts/falco"));
        // A mark that a reload would wipe.
        c.execute("window.__stayed = true", vec![])
            .await
            .expect("mark");

        send(harness, &token, falco_event("Terminal shell in container")).await;
        wait_for("the shell alert on the open page", || async {
            rows(&c)
                .await
                .iter()
                .any(|r| r.contains("terminal shell in container"))
        })
        .await;
        send(harness, &token, falco_event("Write below binary dir")).await;
        // Newest event first: the shell (2023) above the write (2019).
        wait_for("the second alert, below", || async {
            let rows = rows(&c).await;
            rows.len() == 2 && rows[1].contains("write below binary dir")
        })
        .await;
        let stayed = c
            .execute("return window.__stayed === true", vec![])
            .await
            .expect("mark");
        assert_eq!(stayed, serde_json::json!(true), "the page was not reloaded");
        screenshot(&c, "alerts-live").await;

        // a acknowledges the first (selected) group: assigned to whoever did.
        press(&c, 'a').await;
        wait_for("the shell alert acknowledged", || async {
            rows(&c).await.iter().any(|r| {
                r.contains("terminal shell in container")
                    && r.contains("acknowledged")
                    && r.contains("admin")
            })
        })
        .await;
        // j to the write, r resolves it: it leaves the open queue.
        press(&c, 'j').await;
        press(&c, 'r').await;
        wait_for("the resolved alert gone from the queue", || async {
            let rows = rows(&c).await;
            rows.len() == 1 && rows[0].contains("terminal shell in container")
        })
        .await;
        // The selection stays on a row; f asks why, then marks the shell a false positive.
        press(&c, 'f').await;
        wait_for("the prompt", || async { c.get_alert_text().await.is_ok() }).await;
        c.send_alert_text("the debug session we opened")
            .await
            .expect("reason");
        c.accept_alert().await.expect("accept");
        wait_for("the queue empty", || async { rows(&c).await.is_empty() }).await;

        // Every state is still there, with its history.
        c.goto(&harness.url("/alerts?state=all"))
            .await
            .expect("all");
        wait_hydrated(&c).await;
        wait_for("both groups listed", || async { rows(&c).await.len() == 2 }).await;
        c.find(Locator::LinkText("Terminal shell in container"))
            .await
            .expect("link")
            .click()
            .await
            .expect("open");
        wait_for("the group's page", || async {
            text_of(&c, "h1").await == "Terminal shell in container"
        })
        .await;
        wait_hydrated(&c).await;
        let history = text_of(&c, ".activity").await;
        assert!(
            history.contains("admin moved it to acknowledged, assigned it to admin"),
            "{history}"
        );
        assert!(history.contains("moved it to false positive"), "{history}");
        assert!(history.contains("the debug session we opened"), "{history}");
        assert_eq!(
            text_of(&c, "#alert-state").await.to_lowercase(),
            "false positive"
        );
        let events = text_of(&c, "section.panel:last-of-type table").await;
        assert!(events.contains("A shell was spawned"), "{events}");
        screenshot(&c, "alert-detail").await;

        // Reopen through the form, with a comment.
        c.find(Locator::Css("#triage select[name=state]"))
            .await
            .expect("state")
            .select_by_value("acknowledged")
            .await
            .expect("choose");
        c.find(Locator::Css("#triage textarea[name=comment]"))
            .await
            .expect("comment")
            .send_keys("it was not ours after all")
            .await
            .expect("type");
        c.find(Locator::Css("#triage button[type=submit]"))
            .await
            .expect("save")
            .click()
            .await
            .expect("submit");
        // The page reads the group again (its state badge is gone meanwhile).
        wait_for("the group reopened", || async {
            match c.find(Locator::Css("#alert-state")).await {
                Ok(state) => state
                    .text()
                    .await
                    .is_ok_and(|t| t.to_lowercase() == "acknowledged"),
                Err(_) => false,
            }
        })
        .await;
        assert!(text_of(&c, ".activity")
            .await
            .contains("it was not ours after all"));
    })
    .await;
}
