//! Notifications in a real browser against the release server: an admin adds a webhook
//! on the Notifications page, tries it, and a Falco event posted through the API reaches
//! the receiver once, through the server's own notifications job; a second webhook
//! whose receiver is down shows its failed attempt, waiting for a retry, in the log.

use coastguard_end2end::{
    log_in, screenshot, text_of, texts_of, wait_for, wait_hydrated, with_browser, Harness,
    ADMIN_PASSWORD,
};
use fantoccini::{Client, Locator};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A webhook receiver on 127.0.0.1 that answers 200 and keeps each request's text.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/hooks/on-call-secret-path",
        listener.local_addr().expect("addr")
    );
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                // Headers, then as many bytes as Content-Length says.
                loop {
                    let Ok(n) = conn.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + length {
                            kept.lock().unwrap().push(text);
                            let _ = conn
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, got)
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn add_webhook(c: &Client, name: &str, url: &str) {
    fill(c, "form.form-grid input[name=name]", name).await;
    fill(c, "form.form-grid input[name=url]", url).await;
    fill(c, "form.form-grid input[name=digest_minutes]", "5").await;
    c.find(Locator::Css("form.form-grid button[type=submit]"))
        .await
        .expect("add")
        .click()
        .await
        .expect("submit");
    wait_for(&format!("webhook {name} listed"), || async {
        let error = text(c, ".alert-error").await;
        assert!(error.is_empty(), "{error}");
        text(c, "table").await.contains(name)
    })
    .await;
}

/// An element's text, or "" while it is not there.
async fn text(c: &Client, css: &str) -> String {
    let v = c
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''",
            vec![serde_json::json!(css)],
        )
        .await
        .expect("text");
    v.as_str().unwrap_or_default().to_string()
}

/// The delivery log's rows' text, lowercase.
async fn log_rows(c: &Client) -> Vec<String> {
    texts_of(c, "#deliveries tbody tr").await
}

#[tokio::test]
async fn an_admin_adds_a_webhook_and_an_alert_reaches_it_once() {
    let harness = &Harness::start_with(
        "notifications",
        &[
            ("COASTGUARD_DOCKER_LOCAL", "false"),
            ("COASTGUARD_SECRET_KEY", &("5e".repeat(31) + "a1")),
        ],
    )
    .await;
    let out = harness.cli(&["token", "create", "--name", "falco", "--role", "ingest"]);
    let token = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let (url, got) = receiver().await;
    // A port nothing listens on: bound, then let go.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hook", l.local_addr().expect("addr"))
    };

    with_browser(harness, |c| async move {
        log_in(&c, harness, "admin", ADMIN_PASSWORD).await;
        wait_for("the overview", || async {
            c.current_url().await.expect("url").path() == "/"
        })
        .await;
        c.goto(&harness.url("/admin/notifications"))
            .await
            .expect("notifications");
        wait_hydrated(&c).await;
        assert!(text_of(&c, "main").await.contains("No webhooks yet"));
        add_webhook(&c, "on-call", &url).await;
        add_webhook(&c, "backup pager", &down).await;
        let table = text_of(&c, "table").await;
        assert!(!table.contains("on-call-secret-path"), "{table}");

        // Try the first: the test message arrives.
        c.find(Locator::Css("button[aria-label='Send a test message to on-call']"))
            .await
            .expect("test button")
            .click()
            .await
            .expect("test");
        wait_for("the test message at the receiver", || async {
            got.lock().unwrap().iter().any(|r| r.contains("x-coastguard-event: test"))
        })
        .await;

        // A Falco event through the API: one message to the receiver, by the job.
        let event = r#"{"hostname":"node-7","output":"A shell was spawned in a container with an attached terminal","priority":"Critical","rule":"Terminal shell in container","source":"syscall","tags":["container","shell"],"time":"2026-12-04T10:00:00.000000000Z","output_fields":{"container.id":"4f2a9c1e0b7d","proc.cmdline":"sh"}}"#;
        for _ in 0..3 {
            let res = reqwest::Client::new()
                .post(harness.url("/api/v1/alerts/falco"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(event)
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 200);
        }
        wait_for("the alert at the receiver", || async {
            got.lock()
                .unwrap()
                .iter()
                .any(|r| r.contains("x-coastguard-event: alert.new"))
        })
        .await;

        // The log, read again: both delivered to on-call, the pager's waiting to retry.
        wait_for("the log", || async {
            c.goto(&harness.url("/admin/notifications"))
                .await
                .expect("reload");
            let rows = log_rows(&c).await;
            rows.iter().any(|r| r.contains("backup pager") && r.contains("cannot connect"))
                && rows
                    .iter()
                    .filter(|r| r.contains("on-call") && r.contains("delivered"))
                    .count()
                    == 2
        })
        .await;
        let received = got.lock().unwrap().clone();
        assert_eq!(
            received
                .iter()
                .filter(|r| r.contains("x-coastguard-event: alert.new"))
                .count(),
            1,
            "three events of one group are one message: {received:?}"
        );
        let rows = log_rows(&c).await;
        assert!(
            rows.iter()
                .any(|r| r.contains("terminal shell in container") && r.contains("waiting")),
            "{rows:?}"
        );
        screenshot(&c, "notifications").await;
        c.execute("document.getElementById('deliveries').scrollIntoView()", vec![])
            .await
            .expect("scroll");
        screenshot(&c, "notifications-log").await;
    })
    .await;
}
