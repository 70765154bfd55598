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
