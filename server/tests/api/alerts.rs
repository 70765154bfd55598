//! Runtime alerts over the REST API: Falco's real events, the generic schema, matching to
//! the machine's Docker engine (also when the event comes first), grouping, paging.

use crate::scans::fixture;
use coastguard_core::testing::docker::{unique, Engine};
use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};

async fn post(srv: &crate::TestServer, path: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let res = srv
        .http
        .post(srv.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn falcos_events_are_stored_grouped_and_the_bad_lines_named() {
    crate::on_each_backend!(|srv| {
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        let stream = fixture("runtime/falco/stream-all-events.jsonl");
        let lines = String::from_utf8(stream.clone()).unwrap();
        let total = lines.lines().filter(|l| !l.trim().is_empty()).count();

        let (status, _) = post(&srv, "/api/v1/alerts/falco", &viewer, stream.clone()).await;
        assert_eq!(status, 403, "viewers read alerts, they do not send them");
        let (status, report) = post(&srv, "/api/v1/alerts/falco", &analyst, stream.clone()).await;
        assert_eq!(status, 200, "{report}");
        // The one event whose time is not RFC 3339 is named, with why; the rest are in.
        let rejected = report["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 1, "{report}");
        let bad_line = lines.lines().position(|l| l.contains("Z+2")).unwrap() + 1;
        assert_eq!(rejected[0]["line"], bad_line, "{report}");
        assert!(
            rejected[0]["error"].as_str().unwrap().contains("RFC 3339"),
            "{report}"
        );
        assert_eq!(report["accepted"], total - 1, "{report}");

        // Each is in a group; the shell in the kubecon pod keeps what Falco said.
        let list = srv.get_json("/api/v1/alerts?limit=500", &viewer).await;
        let groups = list["items"].as_array().unwrap();
        assert!(!groups.is_empty() && groups.len() < total, "{list}");
        let shell = groups
            .iter()
            .find(|g| g["rule"] == "Terminal shell in container")
            .expect("the shell alert");
        assert_eq!(shell["severity"], "critical");
        assert_eq!(shell["state"], "new");
        assert_eq!(shell["namespace"], "default");
        assert_eq!(shell["pod"], "kubecon");
        assert_eq!(shell["container_ref"], "ee97d9c4186f");
        assert!(shell["container_id"].is_null(), "no such container here");
        let detail = srv
            .get_json(&format!("/api/v1/alerts/{}", shell["id"]), &viewer)
            .await;
        let event = &detail["events"][0];
        assert_eq!(
            event["fields"]["proc.cmdline"],
            "sh -c clear; (bash || ash || sh)"
        );
        assert_eq!(event["fields"]["user.loginuid"], -1);
        assert_eq!(event["tags"][2], "shell");

        // The same stream again: the same groups, each counting twice.
        let (_, again) = post(&srv, "/api/v1/alerts/falco", &analyst, stream).await;
        assert_eq!(again["groups"], report["groups"], "{again}");
        let detail = srv
            .get_json(&format!("/api/v1/alerts/{}", shell["id"]), &viewer)
            .await;
        assert_eq!(detail["group"]["count"], 2, "{detail}");
        assert_eq!(detail["events"].as_array().unwrap().len(), 2);

        // A burst of identical events is one group with their count.
        let burst: String = (0..1_000)
            .map(|i| {
                json!({"source": "tool", "rule": "burst", "severity": "high", "output": format!("event {i}"),
                       "hostname": "edge-1", "time": "2026-01-01T00:00:00Z"})
                .to_string()
                    + "\n"
            })
            .collect();
        let (status, report) = post(&srv, "/api/v1/alerts", &analyst, burst.into_bytes()).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["accepted"], 1_000);
        assert_eq!(report["groups"].as_array().unwrap().len(), 1);
        let group = srv
            .get_json(&format!("/api/v1/alerts/{}", report["groups"][0]), &viewer)
            .await;
        assert_eq!(group["group"]["count"], 1_000);
        assert_eq!(
            group["events"].as_array().unwrap().len(),
            100,
            "the newest hundred"
        );

        // Concurrent batches folding into the same groups in other orders: all stored
        // (Postgres would deadlock on rows upserted in different orders).
        let batch = |reverse: bool| {
            let mut lines: Vec<String> = (0..50)
                .map(|i| {
                    json!({"source": "tool", "rule": format!("race {i}"), "severity": "low", "output": "o"})
                        .to_string()
                })
                .collect();
            if reverse {
                lines.reverse();
            }
            lines.join("\n").into_bytes()
        };
        let posts = (0..6).map(|i| post(&srv, "/api/v1/alerts", &analyst, batch(i % 2 == 1)));
        for (status, report) in futures::future::join_all(posts).await {
            assert_eq!(status, 200, "{report}");
        }
        let raced = srv
            .get_json("/api/v1/alerts?source=tool&severity=low&limit=500", &viewer)
            .await;
        let raced = raced["items"].as_array().unwrap();
        assert_eq!(raced.len(), 50);
        assert!(raced.iter().all(|g| g["count"] == 6));

        // Filters and pages.
        let burst_only = srv.get_json("/api/v1/alerts?rule=burst", &viewer).await;
        assert_eq!(burst_only["items"].as_array().unwrap().len(), 1);
        let page = srv.get_json("/api/v1/alerts?limit=1", &viewer).await;
        let cursor = page["next_cursor"].as_str().expect("more than one group");
        let next = srv
            .get_json(&format!("/api/v1/alerts?limit=1&cursor={cursor}"), &viewer)
            .await;
        assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
        let critical = srv
            .get_json("/api/v1/alerts?severity=critical&limit=500", &viewer)
            .await;
        assert!(critical["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["severity"] == "critical"));

        // Nothing readable: refused whole, naming the first problem.
        let (status, v) = post(
            &srv,
            "/api/v1/alerts/falco",
            &analyst,
            b"{\"rule\": 1}\nnope\n".to_vec(),
        )
        .await;
        assert_eq!(status, 422, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("line 1"),
            "{v}"
        );
        // The overview counts the open groups by severity.
        let overview = srv.get_json("/api/v1/overview", &viewer).await;
        assert!(
            overview["open_runtime_alerts"]["critical"]
                .as_i64()
                .unwrap()
                >= 1,
            "{overview}"
        );
    });
}

/// An event about a container of the machine's engine lands on it, its host and image;
/// one about a container the inventory does not know yet is linked once it does.
#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn an_event_lands_on_its_container_even_when_it_comes_first() {
    let engine = Engine::local();
    let name = unique("alerted");
    let image = format!("{name}:1");
    engine.build(&image, &["CMD [\"sleep\", \"3600\"]"]);
    let known = engine.run(&name, &[&image]);
    let event = |container: &str| {
        json!({"rule": "Terminal shell in container", "priority": "Notice", "output": "a shell",
               "time": "2026-01-01T00:00:00Z", "hostname": "somewhere",
               "output_fields": {"container.id": &container[..12], "proc.name": "sh"}})
        .to_string()
        .into_bytes()
    };
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let host_id = srv.watch_local_engine(&admin).await;
        let (status, report) = post(&srv, "/api/v1/alerts/falco", &analyst, event(&known)).await;
        assert_eq!(status, 200, "{report}");
        let group = srv
            .get_json(&format!("/api/v1/alerts/{}", report["groups"][0]), &admin)
            .await;
        assert_eq!(group["group"]["host_id"], host_id, "{group}");
        assert_eq!(group["group"]["container"], name.as_str(), "{group}");
        assert!(group["group"]["image_id"].is_i64(), "{group}");
        let container_id = group["group"]["container_id"].as_i64().unwrap();
        let on_host = srv
            .get_json(&format!("/api/v1/alerts?host={host_id}"), &admin)
            .await;
        assert!(on_host["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["container_id"] == container_id));

        // A container the inventory has not seen yet: linked after it is.
        let later = unique("late");
        let late_id = engine.run(&later, &[&image]);
        let (_, report) = post(&srv, "/api/v1/alerts/falco", &analyst, event(&late_id)).await;
        let path = format!("/api/v1/alerts/{}", report["groups"][0]);
        assert!(srv.get_json(&path, &admin).await["group"]["container_id"].is_null());
        srv.call(
            Method::POST,
            &format!("/api/v1/engines/{host_id}/sync"),
            &admin,
            &Value::Null,
        )
        .await;
        coastguard_core::jobs::housekeeping(srv.state.clone())
            .await
            .unwrap();
        let linked = srv.get_json(&path, &admin).await;
        assert_eq!(linked["group"]["container"], later.as_str(), "{linked}");
    });
}

/// One generic event on `pod` in namespace `ns`, raised by `rule`.
fn event(rule: &str, pod: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "source": "tripwire", "rule": rule, "severity": "high",
        "output": format!("{rule} in {pod}"), "namespace": "payments", "pod": pod,
    }))
    .unwrap()
}

async fn triage(srv: &crate::TestServer, id: &Value, auth: &str, body: Value) -> (u16, Value) {
    let req = srv
        .http
        .post(srv.url(&format!("/api/v1/alerts/{id}/triage")))
        .json(&body);
    // A session cookie, or a bearer token.
    let req = if auth.starts_with("coastguard_session=") {
        req.header("cookie", auth)
    } else {
        req.bearer_auth(auth)
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_ingest_token_sends_events_and_reads_nothing() {
    crate::on_each_backend!(|srv| {
        let ingest = srv.token(Role::Ingest).await;
        let (status, report) = post(&srv, "/api/v1/alerts", &ingest, event("r", "p-1")).await;
        assert_eq!(status, 200, "{report}");
        let (status, _) = post(
            &srv,
            "/api/v1/alerts/falco",
            &ingest,
            fixture("runtime/falco/stream-all-events.jsonl"),
        )
        .await;
        assert_eq!(status, 200);
        for path in [
            "/api/v1/alerts",
            "/api/v1/alerts/stream",
            "/api/v1/hosts",
            "/api/v1/me",
        ] {
            let res = srv.get(path, &ingest).send().await.unwrap();
            assert_eq!(res.status(), 403, "{path}");
        }
        let id = &report["groups"][0];
        let (status, _) = triage(&srv, id, &ingest, json!({"state": "resolved"})).await;
        assert_eq!(status, 403, "an ingest token does not triage");

        // The same token in X-Coastguard-Ingest-Key, for senders without Authorization:
        // taken on the two ingest endpoints, from ingest tokens only.
        let keyed = |path: &str, key: &str| {
            srv.http
                .post(srv.url(path))
                .header("x-coastguard-ingest-key", key)
                .header("content-type", "application/json")
                .body(event("r", "p-2"))
                .send()
        };
        for path in ["/api/v1/alerts", "/api/v1/alerts/falco"] {
            let res = keyed(path, &ingest).await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            // Falco's endpoint reads Falco's shape: the generic event is refused by it
            // (422), which means the key let the request in.
            let want = if path.ends_with("falco") { 422 } else { 200 };
            assert_eq!(status, want, "{path}: {body}");
        }
        let analyst = srv.token(Role::Analyst).await;
        let res = keyed("/api/v1/alerts", &analyst).await.unwrap();
        assert_eq!(
            res.status(),
            401,
            "only ingest tokens travel in the key header"
        );
        let res = keyed(
            "/api/v1/alerts",
            "cg_0000000000000000000000000000000000000000",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 401);
        let res = srv
            .http
            .get(srv.url("/api/v1/alerts"))
            .header("x-coastguard-ingest-key", &ingest)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            401,
            "the key is read on the ingest endpoints only"
        );
        // Users are never ingest: it is a token's role.
        let admin = srv.token(Role::Admin).await;
        let user = json!({"name": "sender", "role": "ingest", "password": crate::PASSWORD});
        let res = srv.call(Method::POST, "/api/v1/users", &admin, &user).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("tokens"),
            "{body}"
        );
    });
}

#[tokio::test]
async fn alerts_are_triaged_with_a_trail() {
    crate::on_each_backend!(|srv| {
        let ingest = srv.token(Role::Ingest).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        let admin = srv.token(Role::Admin).await;
        srv.user("ana", Role::Analyst).await;
        srv.user("bo", Role::Analyst).await;
        srv.user("vi", Role::Viewer).await;
        let ana = srv.login("ana", crate::PASSWORD).await.unwrap();
        let (_, report) = post(&srv, "/api/v1/alerts", &ingest, event("Shell", "web-1")).await;
        let id = report["groups"][0].clone();

        let (status, _) = triage(&srv, &id, &viewer, json!({"state": "acknowledged"})).await;
        assert_eq!(status, 403, "viewers read, analysts triage");
        // Acknowledged by a person: assigned to her.
        let (status, group) = triage(&srv, &id, &ana, json!({"state": "acknowledged"})).await;
        assert_eq!(status, 200, "{group}");
        assert_eq!(group["state"], "acknowledged");
        assert_eq!(group["assignee"], "ana");
        for (body, status) in [
            (json!({"state": "acknowledged"}), 409),
            (json!({"state": "new"}), 409),
            (json!({}), 422),
            (json!({"assignee": "vi"}), 422),
            (json!({"assignee": "nobody"}), 422),
            (json!({"state": "false_positive"}), 422),
            (json!({"comment": " "}), 422),
            (json!({"state": "closed"}), 422),
        ] {
            let (got, answer) = triage(&srv, &id, &analyst, body.clone()).await;
            assert_eq!(got, status, "{body} → {answer}");
        }
        let (status, group) = triage(
            &srv,
            &id,
            &analyst,
            json!({"assignee": "bo", "comment": "bo owns payments"}),
        )
        .await;
        assert_eq!((status, &group["assignee"]), (200, &json!("bo")), "{group}");
        let (status, group) = triage(
            &srv,
            &id,
            &analyst,
            json!({"state": "false_positive", "comment": "the nightly backup's shell"}),
        )
        .await;
        assert_eq!(
            (status, &group["state"]),
            (200, &json!("false_positive")),
            "{group}"
        );
        let (status, _) = triage(
            &srv,
            &json!(999_999),
            &analyst,
            json!({"state": "resolved"}),
        )
        .await;
        assert_eq!(status, 404);

        // Closed: the same alert again opens a new group.
        let (_, again) = post(&srv, "/api/v1/alerts", &ingest, event("Shell", "web-1")).await;
        let newer = again["groups"][0].clone();
        assert_ne!(newer, id);
        let open = srv.get_json("/api/v1/alerts", &viewer).await;
        let ids: Vec<&Value> = open["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| &g["id"])
            .collect();
        assert_eq!(ids, [&newer], "the false positive left the queue: {open}");
        let closed = srv
            .get_json("/api/v1/alerts?state=false_positive", &viewer)
            .await;
        assert_eq!(closed["items"][0]["id"], id, "{closed}");
        // Reopening collides with the newer group: refused, naming it.
        let (status, answer) = triage(&srv, &id, &analyst, json!({"state": "acknowledged"})).await;
        assert_eq!(status, 409, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&newer.to_string()),
            "{answer}"
        );
        let (status, _) = triage(&srv, &newer, &analyst, json!({"state": "resolved"})).await;
        assert_eq!(status, 200);
        let (status, group) = triage(
            &srv,
            &id,
            &analyst,
            json!({"state": "acknowledged", "comment": "it was not the backup"}),
        )
        .await;
        assert_eq!(
            (status, &group["state"]),
            (200, &json!("acknowledged")),
            "{group}"
        );
        assert_eq!(group["assignee"], "bo", "reopening keeps the assignee");

        // The trail: in the group's activity and in the audit log.
        let detail = srv.get_json(&format!("/api/v1/alerts/{id}"), &viewer).await;
        let activity = detail["activity"].as_array().unwrap();
        let steps: Vec<(&str, &Value, &Value)> = activity
            .iter()
            .map(|a| (a["actor"].as_str().unwrap(), &a["state"], &a["assignee"]))
            .collect();
        assert_eq!(
            steps,
            [
                ("ana", &json!("acknowledged"), &json!("ana")),
                ("token:analyst token", &Value::Null, &json!("bo")),
                (
                    "token:analyst token",
                    &json!("false_positive"),
                    &Value::Null
                ),
                ("token:analyst token", &json!("acknowledged"), &Value::Null),
            ],
            "{detail}"
        );
        assert_eq!(activity[2]["comment"], "the nightly backup's shell");
        let audit = srv.get_json("/api/v1/audit?limit=500", &admin).await;
        let triaged: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "alert.triage")
            .collect();
        assert_eq!(triaged.len(), 5, "{audit}");
        assert_eq!(triaged.last().unwrap()["target"], format!("alert:{id}"));
    });
}

/// A server-sent event stream read as it comes.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(srv: &crate::TestServer, token: &str) -> Events {
        let response = srv
            .get("/api/v1/alerts/stream", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "a stream of events"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (its name and data), skipping keep-alive comments; fails after 20 s.
    async fn next(&mut self) -> (String, Value) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim());
                    }
                }
                if !name.is_empty() {
                    return (name, serde_json::from_str(&data).unwrap());
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event within 20 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next `changed` event's group.
    async fn changed(&mut self) -> Value {
        loop {
            let (name, data) = self.next().await;
            if name == "changed" {
                return data["group"].clone();
            }
        }
    }
}

#[tokio::test]
async fn the_stream_shows_each_change_as_it_happens() {
    crate::on_each_backend!(|srv| {
        let ingest = srv.token(Role::Ingest).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        let mut events = Events::open(&srv, &viewer).await;
        assert_eq!(
            events.next().await,
            ("ready".to_string(), json!({"kind": "ready"}))
        );

        let (_, report) = post(
            &srv,
            "/api/v1/alerts",
            &ingest,
            event("Crypto miner", "api-1"),
        )
        .await;
        let group = events.changed().await;
        assert_eq!(group["id"], report["groups"][0]);
        assert_eq!(
            (&group["rule"], &group["count"], &group["state"]),
            (&json!("Crypto miner"), &json!(1), &json!("new"))
        );
        post(
            &srv,
            "/api/v1/alerts",
            &ingest,
            event("Crypto miner", "api-1"),
        )
        .await;
        assert_eq!(events.changed().await["count"], 2);
        triage(&srv, &group["id"], &analyst, json!({"state": "resolved"})).await;
        assert_eq!(events.changed().await["state"], "resolved");
    });
}

/// Several replicas on one Postgres database: a change made through one reaches the
/// streams open on the others (LISTEN/NOTIFY).
#[tokio::test]
async fn every_replica_streams_every_change() {
    let Some(db) = coastguard_core::testing::postgres().await else {
        return;
    };
    let db = std::sync::Arc::new(db);
    let one = crate::TestServer::start_with(db.clone(), coastguard_core::Settings::default()).await;
    let two = crate::TestServer::start_with(db.clone(), coastguard_core::Settings::default()).await;
    let ingest = one.token(Role::Ingest).await;
    let viewer = one.token(Role::Viewer).await;
    let mut on_two = Events::open(&two, &viewer).await;
    assert_eq!(on_two.next().await.0, "ready");
    let (_, report) = post(
        &one,
        "/api/v1/alerts",
        &ingest,
        event("Reverse shell", "db-0"),
    )
    .await;
    let group = on_two.changed().await;
    assert_eq!(group["id"], report["groups"][0]);
    assert_eq!(group["rule"], "Reverse shell");
}

#[tokio::test]
async fn built_in_detectors_are_listed_and_switched_off_in_the_policy() {
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        let admin = srv.token(Role::Admin).await;
        let list = srv.get_json("/api/v1/alerts/detectors", &viewer).await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"docker.exec") && ids.contains(&"docker.restart_loop"),
            "{list}"
        );
        assert!(list
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["enabled"] == true));

        let mut policy = srv.get_json("/api/v1/settings/docker-policy", &admin).await;
        policy["disabled_detectors"] = json!(["docker.exec", "docker.nope"]);
        let res = srv
            .call(
                Method::PUT,
                "/api/v1/settings/docker-policy",
                &admin,
                &policy,
            )
            .await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("disabled_detectors[1]") && message.contains("docker.nope"),
            "{body}"
        );
        policy["disabled_detectors"] = json!(["docker.exec", "docker.exec"]);
        let res = srv
            .call(
                Method::PUT,
                "/api/v1/settings/docker-policy",
                &admin,
                &policy,
            )
            .await;
        assert_eq!(res.status(), 200);
        let saved: Value = res.json().await.unwrap();
        assert_eq!(saved["disabled_detectors"], json!(["docker.exec"]));
        let list = srv.get_json("/api/v1/alerts/detectors", &viewer).await;
        let exec = list
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == "docker.exec")
            .unwrap();
        assert_eq!(exec["enabled"], false);
    });
}
