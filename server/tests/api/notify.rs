//! Webhooks against a real receiver on loopback: one message per new group then a digest
//! (a burst of 1,000 identical events), signed bodies, a receiver that fails twice, one
//! that never answers, one that refuses for good, and a restart with deliveries pending.
//! The notifications job's pass is called as the job calls it, with the time it decides
//! by moved forward instead of waited for.

use coastguard_core::auth::sealing::SecretKey;
use coastguard_core::notify::manage::pass;
use coastguard_core::{AppState, Settings};
use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "a signing secret of some length";

fn with_secret_key() -> Settings {
    Settings {
        secret_key: Some(SecretKey::parse(&("3c".repeat(31) + "09")).unwrap()),
        ..Settings::default()
    }
}

/// How the receiver answers its next requests.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Ok,
    /// This status, then the next answer.
    Fail(u16),
    /// Never: holds the request open.
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    signature: Option<String>,
    body: Value,
    raw: String,
}

#[derive(Default)]
struct Script {
    answers: Vec<Answer>,
    received: Vec<Received>,
}

/// A webhook receiver on 127.0.0.1: answers as scripted (then 200), keeps what came.
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(answers: &[Answer]) -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().rev().copied().collect(),
            received: Vec::new(),
        }));
        let shared = script.clone();
        let app = axum::Router::new().route(
            "/hook/{token}",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let shared = shared.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let answer = {
                        let mut s = shared.lock().unwrap();
                        s.received.push(Received {
                            event: header("x-coastguard-event").unwrap_or_default(),
                            delivery: header("x-coastguard-delivery").unwrap_or_default(),
                            signature: header("x-coastguard-signature"),
                            body: serde_json::from_str(&body).unwrap_or(Value::Null),
                            raw: body,
                        });
                        s.answers.pop().unwrap_or(Answer::Ok)
                    };
                    match answer {
                        Answer::Ok => axum::http::StatusCode::OK,
                        Answer::Fail(status) => axum::http::StatusCode::from_u16(status).unwrap(),
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(3_600)).await;
                            axum::http::StatusCode::OK
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/hook/T0123-secret-path",
            listener.local_addr().unwrap()
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, script, task }
    }

    fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    fn answer(&self, answers: &[Answer]) {
        self.script.lock().unwrap().answers = answers.iter().rev().copied().collect();
    }
}

/// Checks a body's signature as a receiver would: HMAC-SHA256 of "<t>.<body>".
fn signed_by(r: &Received, secret: &str) -> bool {
    let Some(sig) = &r.signature else {
        return false;
    };
    let Some((t, mac)) = sig
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let Ok(mac) = hex::decode(mac) else {
        return false;
    };
    ring::hmac::verify(&key, format!("{t}.{}", r.raw).as_bytes(), &mac).is_ok()
}

async fn add_webhook(srv: &crate::TestServer, admin: &str, body: Value) -> Value {
    let res = srv
        .call(Method::POST, "/api/v1/webhooks", admin, &body)
        .await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

/// `n` events of one rule on one container, in batches of 250, as Falco would send them.
async fn burst(srv: &crate::TestServer, token: &str, rule: &str, n: usize) {
    let event = json!({
        "source": "falco", "rule": rule, "severity": "high",
        "output": "A shell was spawned in a container",
        "container_id": "4f2a9c1e0b7d", "hostname": "node-1",
    });
    let mut left = n;
    while left > 0 {
        let batch = left.min(250);
        let body: Vec<Value> = std::iter::repeat_n(event.clone(), batch).collect();
        let res = srv
            .call(Method::POST, "/api/v1/alerts", token, &Value::Array(body))
            .await;
        assert_eq!(res.status(), 200);
        left -= batch;
    }
}

async fn deliveries(srv: &crate::TestServer, admin: &str, query: &str) -> Vec<Value> {
    let page = srv
        .get_json(&format!("/api/v1/webhooks/deliveries{query}"), admin)
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn webhooks_are_for_admins_and_never_show_their_address_or_secret() {
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let db = Arc::new(db);
        // Without a secret key a webhook cannot be stored.
        {
            let srv = crate::TestServer::start_with(db.clone(), Settings::default()).await;
            let admin = srv.token(Role::Admin).await;
            let res = srv
                .call(
                    Method::POST,
                    "/api/v1/webhooks",
                    &admin,
                    &json!({"name": "ops", "url": "https://hooks.example.com/x"}),
                )
                .await;
            assert_eq!(res.status(), 409);
        }
        let srv = crate::TestServer::start_with(db.clone(), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let hook = json!({
            "name": "on-call", "url": "https://hooks.slack.com/services/T0/B0/XYZsecretpath",
            "format": "slack", "secret": SECRET,
            "filter": {"min_severity": "critical", "rule": "Terminal shell*"},
        });
        for path in ["/api/v1/webhooks", "/api/v1/webhooks/deliveries"] {
            assert_eq!(
                srv.status(Method::GET, path, &analyst, &Value::Null).await,
                403
            );
        }
        assert_eq!(
            srv.status(Method::POST, "/api/v1/webhooks", &analyst, &hook)
                .await,
            403
        );
        let made = add_webhook(&srv, &admin, hook.clone()).await;
        assert_eq!(made["address"], "https://hooks.slack.com");
        assert_eq!(made["signed"], true);
        assert_eq!(made["format"], "slack");
        assert_eq!(made["filter"]["min_severity"], "critical");
        assert_eq!(made["digest_minutes"], 15);
        assert_eq!(made["enabled"], true);
        let id = made["id"].as_i64().unwrap();

        // Bad input is named and changes nothing.
        for (body, field) in [
            (json!({"name": "x", "url": "ftp://example.com/"}), "url"),
            (
                json!({"name": "x", "url": "https://u:p@example.com/"}),
                "url",
            ),
            (
                json!({"name": "x", "url": "https://e.com/", "secret": "short"}),
                "secret",
            ),
            (
                json!({"name": "x", "url": "https://e.com/", "digest_minutes": 0}),
                "digest_minutes",
            ),
            (
                json!({"name": "x", "url": "https://e.com/", "timeout_secs": 31}),
                "timeout_secs",
            ),
            (
                json!({"name": "x", "url": "https://e.com/", "filter": {"sources": [""]}}),
                "filter/sources/0",
            ),
        ] {
            let res = srv
                .call(Method::POST, "/api/v1/webhooks", &admin, &body)
                .await;
            assert_eq!(res.status(), 422, "{body}");
            let err: Value = res.json().await.unwrap();
            assert_eq!(err["error"]["location"], field, "{err}");
        }
        let res = srv
            .call(Method::POST, "/api/v1/webhooks", &admin, &hook)
            .await;
        assert_eq!(res.status(), 409, "the name is taken");

        // Switched off and on, once each.
        let path = format!("/api/v1/webhooks/{id}");
        let off = json!({"enabled": false});
        let res = srv.call(Method::PATCH, &path, &admin, &off).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["enabled"], false);
        assert_eq!(srv.status(Method::PATCH, &path, &admin, &off).await, 409);
        assert_eq!(
            srv.status(Method::POST, &format!("{path}/test"), &admin, &Value::Null)
                .await,
            409,
            "a webhook that is off is not sent to"
        );
        let on = json!({"enabled": true});
        assert_eq!(srv.status(Method::PATCH, &path, &admin, &on).await, 200);

        // The address's path and the secret are nowhere: answers, audit log, database.
        let list = srv.get_json("/api/v1/webhooks", &admin).await.to_string();
        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        assert!(audit.contains("webhook.add") && audit.contains("webhook.disable"));
        let rows: Vec<(String, Option<String>)> = match srv.state.store.db() {
            coastguard_core::db::Db::Sqlite(pool) => {
                sqlx::query_as("SELECT url, secret FROM webhooks")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
            coastguard_core::db::Db::Postgres(pool) => {
                sqlx::query_as("SELECT url, secret FROM webhooks")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
        };
        let stored = format!("{rows:?}");
        for text in [&list, &audit, &stored] {
            assert!(!text.contains("XYZsecretpath"), "{text}");
            assert!(!text.contains(SECRET), "{text}");
        }

        assert_eq!(
            srv.status(Method::DELETE, &path, &analyst, &Value::Null)
                .await,
            403
        );
        assert_eq!(
            srv.status(Method::DELETE, &path, &admin, &Value::Null)
                .await,
            204
        );
        assert_eq!(
            srv.status(Method::DELETE, &path, &admin, &Value::Null)
                .await,
            404
        );
    }
}

#[tokio::test]
async fn a_burst_is_one_message_then_a_digest_at_most_every_n_minutes() {
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let srv = crate::TestServer::start_with(Arc::new(db), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let ingest = srv.token(Role::Ingest).await;
        let receiver = Receiver::start(&[]).await;
        let slack = Receiver::start(&[]).await;
        add_webhook(
            &srv,
            &admin,
            json!({"name": "generic", "url": receiver.url, "secret": SECRET,
                   "digest_minutes": 5, "filter": {"min_severity": "high"}}),
        )
        .await;
        add_webhook(
            &srv,
            &admin,
            json!({"name": "slack", "url": slack.url, "format": "slack", "digest_minutes": 5}),
        )
        .await;
        // A destination whose filter takes none of it hears nothing.
        let quiet = Receiver::start(&[]).await;
        add_webhook(
            &srv,
            &admin,
            json!({"name": "critical only", "url": quiet.url,
                   "filter": {"min_severity": "critical"}}),
        )
        .await;

        let t0 = coastguard_core::now();
        burst(&srv, &ingest, "Terminal shell in container", 1_000).await;
        let report = pass(&srv.state, t0).await.unwrap();
        assert_eq!(report.groups, 1, "{report:?}");
        assert_eq!(report.delivered, 2, "{report:?}");
        let got = receiver.received();
        assert_eq!(got.len(), 1, "one message for 1,000 events");
        assert_eq!(got[0].event, "alert.new");
        assert!(signed_by(&got[0], SECRET), "{:?}", got[0].signature);
        assert!(!signed_by(&got[0], "another secret of some length"));
        assert_eq!(got[0].body["group"]["count"], 1_000);
        assert_eq!(got[0].body["group"]["rule"], "Terminal shell in container");
        let text = slack.received()[0].body["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains("Terminal shell in container"), "{text}");
        assert!(
            slack.received()[0].signature.is_none(),
            "no secret, no signature"
        );
        assert!(quiet.received().is_empty());

        // More of the same: nothing until the digest is due, then one digest.
        burst(&srv, &ingest, "Terminal shell in container", 300).await;
        for at in [t0, t0 + 60, t0 + 299] {
            pass(&srv.state, at).await.unwrap();
        }
        assert_eq!(receiver.received().len(), 1);
        // A digest is looked for every 30 s once the group was told 5 min ago.
        pass(&srv.state, t0 + 331).await.unwrap();
        let got = receiver.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].event, "alert.digest");
        assert_eq!(got[1].body["events"], 300);
        assert_eq!(got[1].body["groups"][0]["new_events"], 300);
        assert_eq!(got[1].body["groups"][0]["count"], 1_300);
        assert!(signed_by(&got[1], SECRET));
        assert!(slack.received()[1].body["text"]
            .as_str()
            .unwrap()
            .contains("+300 (1300 in all)"));
        // Nothing new: no digest; new events within the period wait for the next.
        pass(&srv.state, t0 + 400).await.unwrap();
        burst(&srv, &ingest, "Terminal shell in container", 7).await;
        pass(&srv.state, t0 + 630).await.unwrap();
        assert_eq!(receiver.received().len(), 2);
        pass(&srv.state, t0 + 631).await.unwrap();
        assert_eq!(receiver.received().len(), 3);
        assert_eq!(receiver.received()[2].body["events"], 7);

        // Another rule is another group: one more message, at once.
        burst(&srv, &ingest, "Write below binary dir", 3).await;
        pass(&srv.state, t0 + 632).await.unwrap();
        let got = receiver.received();
        assert_eq!(got.len(), 4);
        assert_eq!(got[3].event, "alert.new");
        assert_eq!(got[3].body["group"]["rule"], "Write below binary dir");
        assert!(quiet.received().is_empty());

        let log = deliveries(&srv, &admin, "?state=delivered").await;
        assert_eq!(log.len(), 8, "4 generic, 4 slack");
        assert!(log.iter().all(|d| d["attempts"] == 1));
        let hooks = srv.get_json("/api/v1/webhooks", &admin).await;
        let generic = hooks["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == "generic")
            .unwrap();
        assert_eq!(generic["delivered"], 4, "{generic}");
        assert_eq!(generic["pending"], 0);
    }
}

#[tokio::test]
async fn failures_are_retried_with_backoff_a_silent_receiver_times_out_a_refusal_is_final() {
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let srv = crate::TestServer::start_with(Arc::new(db), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let flaky = Receiver::start(&[Answer::Fail(500), Answer::Fail(503)]).await;
        let silent = Receiver::start(&[Answer::Hang; 9]).await;
        let gone = Receiver::start(&[Answer::Fail(410)]).await;
        let mut ids = Vec::new();
        for (name, url) in [
            ("flaky", &flaky.url),
            ("silent", &silent.url),
            ("gone", &gone.url),
        ] {
            let hook = add_webhook(
                &srv,
                &admin,
                json!({"name": name, "url": url, "timeout_secs": 1}),
            )
            .await;
            let id = hook["id"].as_i64().unwrap();
            let res = srv
                .call(
                    Method::POST,
                    &format!("/api/v1/webhooks/{id}/test"),
                    &admin,
                    &Value::Null,
                )
                .await;
            assert_eq!(res.status(), 202);
            let queued: Value = res.json().await.unwrap();
            assert_eq!(queued["state"], "pending");
            assert_eq!(queued["event"], "test");
            ids.push(id);
        }
        let t0 = coastguard_core::now();
        let first = pass(&srv.state, t0).await.unwrap();
        assert_eq!(first.failed, 3, "{first:?}");
        // Not due again until its wait is over.
        let again = pass(&srv.state, t0 + 5).await.unwrap();
        assert_eq!(again.failed + again.delivered, 0, "{again:?}");

        let log = deliveries(&srv, &admin, &format!("?webhook={}", ids[2])).await;
        assert_eq!(log[0]["state"], "failed", "410 is final: {log:?}");
        assert_eq!(log[0]["last_status"], 410);
        let hooks = srv.get_json("/api/v1/webhooks", &admin).await;
        let errors: Vec<(&str, &Value)> = hooks["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["name"].as_str().unwrap(), &w["last_error"]))
            .collect();
        assert!(
            errors
                .iter()
                .any(|(n, e)| *n == "gone"
                    && e.as_str().is_some_and(|e| e.starts_with("answered 410"))),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|(n, e)| *n == "silent" && *e == "no answer within 1 s"),
            "{errors:?}"
        );
        let log = deliveries(&srv, &admin, &format!("?webhook={}", ids[1])).await;
        assert_eq!(log[0]["state"], "pending");
        assert_eq!(log[0]["last_error"], "no answer within 1 s", "{log:?}");
        assert!(log[0]["next_attempt_at"].as_i64().unwrap() >= t0 + 6);

        // Each later pass is past every wait: the flaky one takes the third attempt; the
        // silent one is given up after the ninth.
        let mut at = t0;
        for _ in 0..8 {
            at += 86_400;
            pass(&srv.state, at).await.unwrap();
        }
        let flaky_log = deliveries(&srv, &admin, &format!("?webhook={}", ids[0])).await;
        assert_eq!(flaky_log[0]["state"], "delivered", "{flaky_log:?}");
        assert_eq!(flaky_log[0]["attempts"], 3);
        let got = flaky.received();
        assert_eq!(got.len(), 3);
        assert!(got
            .iter()
            .all(|r| r.delivery == got[0].delivery && r.raw == got[0].raw));
        let silent_log = deliveries(&srv, &admin, &format!("?webhook={}", ids[1])).await;
        assert_eq!(silent_log[0]["state"], "failed", "{silent_log:?}");
        assert_eq!(silent_log[0]["attempts"], 9);
        assert_eq!(silent.received().len(), 9);
        assert_eq!(gone.received().len(), 1);

        // An admin sends a given-up one again; it goes.
        silent.answer(&[]);
        let id = silent_log[0]["id"].as_i64().unwrap();
        let path = format!("/api/v1/webhooks/deliveries/{id}/retry");
        assert_eq!(
            srv.status(Method::POST, &path, &admin, &Value::Null).await,
            204
        );
        assert_eq!(
            srv.status(Method::POST, &path, &admin, &Value::Null).await,
            404,
            "only a failed one is retried"
        );
        pass(&srv.state, coastguard_core::now()).await.unwrap();
        let silent_log = deliveries(&srv, &admin, &format!("?webhook={}", ids[1])).await;
        assert_eq!(silent_log[0]["state"], "delivered", "{silent_log:?}");
        assert_eq!(silent_log[0]["attempts"], 10);
        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        assert!(audit.contains("webhook.retry") && audit.contains("webhook.test"));
    }
}

#[tokio::test]
async fn deliveries_and_announcements_survive_a_restart() {
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let db = Arc::new(db);
        let receiver = Receiver::start(&[Answer::Fail(503)]).await;
        let t0 = coastguard_core::now();
        {
            let srv = crate::TestServer::start_with(db.clone(), with_secret_key()).await;
            let admin = srv.token(Role::Admin).await;
            let ingest = srv.token(Role::Ingest).await;
            add_webhook(
                &srv,
                &admin,
                json!({"name": "ops", "url": receiver.url, "secret": SECRET}),
            )
            .await;
            // One group announced and its delivery failed once; another group stored but
            // not yet announced when the server stops.
            burst(&srv, &ingest, "Terminal shell in container", 2).await;
            let report = pass(&srv.state, t0).await.unwrap();
            assert_eq!((report.queued, report.failed), (1, 1), "{report:?}");
            burst(&srv, &ingest, "Write below etc", 1).await;
            srv.state.store.db().close().await;
        }
        assert_eq!(receiver.received().len(), 1);

        // A new process: its own pool on the same database.
        let store = db.reopen().await;
        let mut settings = with_secret_key();
        settings.database_url = Some(db.url.clone());
        let state = AppState::new(store, settings);
        let report = pass(&state, t0 + 3_600).await.unwrap();
        assert_eq!(report.groups, 1, "{report:?}");
        assert_eq!(report.delivered, 2, "{report:?}");
        let got = receiver.received();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[1].delivery, got[0].delivery, "the same delivery, again");
        let rules: Vec<&Value> = got.iter().map(|r| &r.body["group"]["rule"]).collect();
        assert_eq!(rules[1], "Terminal shell in container");
        assert_eq!(rules[2], "Write below etc");
        assert!(got.iter().all(|r| signed_by(r, SECRET)));
        // Nothing is announced twice.
        let report = pass(&state, t0 + 7_200).await.unwrap();
        assert_eq!(report.queued + report.delivered, 0, "{report:?}");
        state.store.db().close().await;
    }
}

#[tokio::test]
async fn a_scan_s_new_findings_are_one_message_to_those_that_ask() {
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let srv = crate::TestServer::start_with(Arc::new(db), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let findings = Receiver::start(&[]).await;
        let alerts_only = Receiver::start(&[]).await;
        add_webhook(
            &srv,
            &admin,
            json!({"name": "vulns", "url": findings.url,
                   "filter": {"alerts": false, "findings": true, "min_severity": "high"}}),
        )
        .await;
        add_webhook(
            &srv,
            &admin,
            json!({"name": "pager", "url": alerts_only.url, "filter": {"min_severity": "low"}}),
        )
        .await;
        // One critical and one low vulnerability.
        let report = crate::scans::fixture("scans/trivy/debian-10-buster.json");
        let doc: Value = serde_json::from_slice(&report).unwrap();
        let high_or_worse = doc["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["Severity"].as_str(), Some("HIGH" | "CRITICAL")))
            .map(|v| v["VulnerabilityID"].as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(high_or_worse.len(), 1);
        let upload = |body: Vec<u8>| {
            srv.http
                .post(srv.url("/api/v1/scans"))
                .bearer_auth(&analyst)
                .body(body)
                .send()
        };
        assert_eq!(upload(report.clone()).await.unwrap().status(), 201);
        let t0 = coastguard_core::now();
        pass(&srv.state, t0).await.unwrap();
        let got = findings.received();
        assert_eq!(got.len(), 1, "one message for the scan: {got:?}");
        assert_eq!(got[0].event, "findings.new");
        let named: std::collections::BTreeSet<String> = got[0].body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["title"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            named, high_or_worse,
            "the high and critical ones, each once"
        );
        assert_eq!(
            got[0].body["count"],
            got[0].body["findings"].as_array().unwrap().len()
        );
        assert!(got[0].body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] == "vulnerability"
                && f["path"].as_str().unwrap().starts_with("/images/")));
        assert!(
            alerts_only.received().is_empty(),
            "it asked for alerts only"
        );

        // The same report again makes nothing new: nothing is sent.
        assert_eq!(upload(report).await.unwrap().status(), 201);
        pass(&srv.state, t0 + 1).await.unwrap();
        assert_eq!(findings.received().len(), 1);

        // A scanner's misconfiguration is a configuration finding: one message too.
        let res = upload(crate::scans::fixture(
            "scans/trivy/misconfig-dockerfile.json",
        ))
        .await
        .unwrap();
        let status = res.status();
        assert_eq!(status, 201, "{}", res.text().await.unwrap());
        pass(&srv.state, t0 + 2).await.unwrap();
        let got = findings.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[1].body["findings"][0]["kind"], "configuration",
            "{:?}",
            got[1].body
        );
        assert_eq!(got[1].body["findings"][0]["severity"], "high");
    }
}
