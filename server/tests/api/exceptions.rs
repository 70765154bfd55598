//! Exceptions through the REST API on both databases: the policy (expiry and four-eyes
//! approval by severity), a runtime rule's exception taking alert groups out of the
//! queue (and new events of them staying out), approval by a second analyst only,
//! rejection, revocation, expiry, the expiring list for owners and the inert report.

use coastguard_core::access;
use coastguard_core::auth::Authed;
use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// A rule named as Falco names its rules, with spaces.
const SHELL: &str = "Terminal shell in container";

async fn named_token(srv: &crate::TestServer, name: &str, role: Role) -> String {
    access::create_token(&srv.state, &Authed::cli(), name, role, None)
        .await
        .unwrap()
        .secret
}

/// Posts one generic event of `rule` on `host`; answers its group's id.
async fn alert(srv: &crate::TestServer, token: &str, rule: &str, host: &str) -> i64 {
    let event = json!({
        "source": "tool", "rule": rule, "severity": "critical",
        "output": format!("{rule} on {host}"), "hostname": host,
    });
    let res = srv
        .call(Method::POST, "/api/v1/alerts", token, &event)
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let report: Value = res.json().await.unwrap();
    report["groups"][0].as_i64().unwrap()
}

/// The shell groups in the queue (`open`) or covered by an exception (`suppressed`).
async fn queue(srv: &crate::TestServer, token: &str, which: &str) -> Vec<i64> {
    let filter = if which == "suppressed" {
        "suppressed=true&"
    } else {
        ""
    };
    let page = srv
        .get_json(
            &format!("/api/v1/alerts?{filter}rule=Terminal%20shell%20in%20container"),
            token,
        )
        .await;
    let mut ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|g| g["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn statuses(srv: &crate::TestServer, token: &str, query: &str) -> Vec<(i64, String)> {
    let page = srv
        .get_json(&format!("/api/v1/exceptions?{query}"), token)
        .await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn actions(detail: &Value) -> Vec<(String, String)> {
    detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_string(),
                h["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_runtime_exception_needs_its_expiry_and_a_second_analyst_then_leaves_the_queue() {
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let viewer = srv.token(Role::Viewer).await;
        let alice = named_token(&srv, "alice", Role::Analyst).await;
        let bob = named_token(&srv, "bob", Role::Analyst).await;
        let (alice_name, bob_name) = ("token:alice", "token:bob");

        // The policy: an expiry from high up, a second analyst for critical ones. Admins
        // only set it.
        let policy = json!({"expiry_from": "high", "approval": ["critical"]});
        for token in [&viewer, &alice] {
            assert_eq!(
                srv.status(Method::PUT, "/api/v1/exceptions/policy", token, &policy)
                    .await,
                403
            );
        }
        let set = srv
            .call(Method::PUT, "/api/v1/exceptions/policy", &admin, &policy)
            .await;
        assert_eq!(set.status().as_u16(), 200);
        assert_eq!(
            srv.get_json("/api/v1/exceptions/policy", &viewer).await,
            policy
        );

        let h1 = alert(&srv, &alice, SHELL, "h1").await;
        let h2 = alert(&srv, &alice, SHELL, "h2").await;
        assert_eq!(queue(&srv, &viewer, "open").await, vec![h1, h2]);

        // Critical: no expiry is refused, naming the field and the policy.
        let mut input = json!({
            "kind": "runtime", "target": SHELL, "verdict": "false_positive", "host": "h1",
            "reason": "the backup job opens a shell on h1 every night",
        });
        let res = srv
            .call(Method::POST, "/api/v1/exceptions", &alice, &input)
            .await;
        assert_eq!(res.status().as_u16(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["location"], "expires_in_days", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("critical"),
            "{body}"
        );
        // A viewer can't make one; a scope of another kind is refused.
        input["expires_in_days"] = json!(7);
        assert_eq!(
            srv.status(Method::POST, "/api/v1/exceptions", &viewer, &input)
                .await,
            403
        );
        let mut stray = input.clone();
        stray["package"] = json!("openssl");
        assert_eq!(
            srv.status(Method::POST, "/api/v1/exceptions", &alice, &stray)
                .await,
            422
        );

        // With an expiry it waits for a second analyst, and covers nothing yet.
        let res = srv
            .call(Method::POST, "/api/v1/exceptions", &alice, &input)
            .await;
        assert_eq!(res.status().as_u16(), 201);
        let made: Value = res.json().await.unwrap();
        let id = made["exception"]["id"].as_i64().unwrap();
        assert_eq!(made["exception"]["status"], "pending");
        assert_eq!(made["exception"]["severity"], "critical");
        assert_eq!(made["exception"]["owner"], alice_name);
        assert_eq!(queue(&srv, &viewer, "open").await, vec![h1, h2]);
        assert_eq!(
            statuses(&srv, &viewer, "status=pending").await,
            vec![(id, "pending".to_string())]
        );

        // Not by whoever made it; by another analyst, yes.
        let approve = |token: &str| {
            let path = format!("/api/v1/exceptions/{id}/approve");
            let token = token.to_string();
            let srv = &srv;
            async move {
                srv.status(
                    Method::POST,
                    &path,
                    &token,
                    &json!({"note": "checked the cron job"}),
                )
                .await
            }
        };
        assert_eq!(approve(&alice).await, 403);
        assert_eq!(approve(&viewer).await, 403);
        assert_eq!(approve(&bob).await, 204);
        assert_eq!(approve(&bob).await, 409, "approved already");

        // h1 left the queue, kept and countable under `suppressed`; h2 stays.
        assert_eq!(queue(&srv, &viewer, "open").await, vec![h2]);
        assert_eq!(queue(&srv, &viewer, "suppressed").await, vec![h1]);
        let group = srv.get_json(&format!("/api/v1/alerts/{h1}"), &viewer).await;
        assert_eq!(group["group"]["exception_id"], id);
        // A further event of h1 folds into the covered group: still out of the queue.
        assert_eq!(alert(&srv, &alice, SHELL, "h1").await, h1);
        assert_eq!(queue(&srv, &viewer, "open").await, vec![h2]);
        let overview = srv.get_json("/api/v1/overview", &viewer).await;
        assert_eq!(
            overview["open_runtime_alerts"]["critical"], 1,
            "only h2 counts: {overview}"
        );

        let detail = srv
            .get_json(&format!("/api/v1/exceptions/{id}"), &viewer)
            .await;
        assert_eq!(detail["exception"]["status"], "active");
        assert_eq!(detail["exception"]["covers"], 1);
        assert_eq!(detail["exception"]["approved_by"], bob_name);
        assert_eq!(
            actions(&detail),
            vec![
                ("created".to_string(), alice_name.to_string()),
                ("approved".to_string(), bob_name.to_string())
            ]
        );
        // Ending within 14 days: on its owner's expiring list, not on another's.
        assert_eq!(
            statuses(&srv, &viewer, "status=expiring&owner=token:alice").await,
            vec![(id, "active".to_string())]
        );
        assert!(statuses(&srv, &viewer, "status=expiring&owner=token:bob")
            .await
            .is_empty());

        // Rejection: by another analyst, once, and only while pending.
        let other = json!({
            "kind": "runtime", "target": SHELL, "host": "h2", "expires_in_days": 1,
            "reason": "a second try at quieting h2",
        });
        let res = srv
            .call(Method::POST, "/api/v1/exceptions", &alice, &other)
            .await;
        let second: Value = res.json().await.unwrap();
        let second = second["exception"]["id"].as_i64().unwrap();
        let reject = format!("/api/v1/exceptions/{second}/reject");
        assert_eq!(
            srv.status(Method::POST, &reject, &alice, &json!({})).await,
            403
        );
        assert_eq!(
            srv.status(
                Method::POST,
                &reject,
                &bob,
                &json!({"note": "fix the job instead"})
            )
            .await,
            204
        );
        assert_eq!(
            srv.status(Method::POST, &reject, &bob, &json!({})).await,
            409
        );
        assert!(statuses(&srv, &viewer, "status=ended")
            .await
            .contains(&(second, "rejected".to_string())));
        assert_eq!(queue(&srv, &viewer, "open").await, vec![h2]);

        // Expiry: its time up, housekeeping's pass puts h1 back in the queue.
        coastguard_core::with_db!(srv.db.store.db(), |pool| sqlx::query(
            "UPDATE exceptions SET expires_at = $1 WHERE id = $2"
        )
        .bind(coastguard_core::now() - 1)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let covered = srv
            .db
            .store
            .apply_exceptions(coastguard_core::now())
            .await
            .unwrap();
        assert_eq!(covered.alerts_released, 1);
        assert_eq!(queue(&srv, &viewer, "open").await, vec![h1, h2]);
        assert!(statuses(&srv, &viewer, "status=ended")
            .await
            .contains(&(id, "expired".to_string())));

        // Revocation: bob's own medium-severity exception (no approval asked) takes the
        // group out at once, and revoking it brings it back, with its history.
        let medium = alert_with(&srv, &alice, "odd-port", "medium").await;
        let res = srv
            .call(
                Method::POST,
                "/api/v1/exceptions",
                &bob,
                &json!({"kind": "runtime", "target": "odd-port", "reason": "the agent listens there"}),
            )
            .await;
        let made: Value = res.json().await.unwrap();
        assert_eq!(made["exception"]["status"], "active", "{made}");
        let third = made["exception"]["id"].as_i64().unwrap();
        let open = srv.get_json("/api/v1/alerts?rule=odd-port", &viewer).await;
        assert!(open["items"].as_array().unwrap().is_empty());
        let revoke = format!("/api/v1/exceptions/{third}/revoke");
        assert_eq!(
            srv.status(
                Method::POST,
                &revoke,
                &alice,
                &json!({"note": "the agent is gone"})
            )
            .await,
            204
        );
        let open = srv.get_json("/api/v1/alerts?rule=odd-port", &viewer).await;
        assert_eq!(open["items"][0]["id"], medium);
        let detail = srv
            .get_json(&format!("/api/v1/exceptions/{third}"), &viewer)
            .await;
        assert_eq!(detail["exception"]["status"], "revoked");
        assert_eq!(detail["exception"]["revoked_by"], alice_name);
        assert_eq!(
            detail["history"][1]["note"], "the agent is gone",
            "{detail}"
        );

        // Inert: an active exception that covered nothing for 30 days is reported; one
        // that covers something now is not.
        let res = srv
            .call(
                Method::POST,
                "/api/v1/exceptions",
                &bob,
                &json!({"kind": "runtime", "target": "odd-port", "host": "nowhere", "reason": "an old host"}),
            )
            .await;
        let idle: Value = res.json().await.unwrap();
        let idle = idle["exception"]["id"].as_i64().unwrap();
        let res = srv
            .call(
                Method::POST,
                "/api/v1/exceptions",
                &bob,
                &json!({"kind": "runtime", "target": "odd-port", "reason": "again"}),
            )
            .await;
        let busy: Value = res.json().await.unwrap();
        let busy = busy["exception"]["id"].as_i64().unwrap();
        let month_ago = coastguard_core::now() - 31 * 86_400;
        coastguard_core::with_db!(srv.db.store.db(), |pool| sqlx::query(
            "UPDATE exceptions SET effective_at = $1, last_matched_at = NULL WHERE id IN ($2, $3)"
        )
        .bind(month_ago)
        .bind(idle)
        .bind(busy)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        srv.db
            .store
            .apply_exceptions(coastguard_core::now())
            .await
            .unwrap();
        let inert: Vec<i64> = statuses(&srv, &viewer, "status=inert")
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(inert, vec![idle]);

        // Bad input is named; nothing is lost.
        for (query, field) in [
            ("status=sideways", "status"),
            ("kind=secret", "kind"),
            ("limit=0", "limit"),
        ] {
            let res = srv
                .get(&format!("/api/v1/exceptions?{query}"), &viewer)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 422, "{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["location"], field);
        }
        assert_eq!(
            srv.status(
                Method::POST,
                "/api/v1/exceptions/999999/approve",
                &bob,
                &json!({})
            )
            .await,
            404
        );
        // The older way in: a suppression is a vulnerability exception under the same
        // policy (unknown severity: an expiry, and a second analyst), and revoking it twice
        // is done, not a conflict.
        let res = srv
            .call(
                Method::POST,
                "/api/v1/suppressions",
                &alice,
                &json!({"vuln_id": "CVE-2099-0001", "kind": "accepted",
                        "justification": "not reachable here", "expires_in_days": 30}),
            )
            .await;
        assert_eq!(res.status().as_u16(), 201);
        let suppression: i64 = res.json().await.unwrap();
        let (made, _) = srv
            .db
            .store
            .exception(suppression, coastguard_core::now())
            .await
            .unwrap();
        assert_eq!(
            made.status,
            coastguard_model::exceptions::ExceptionStatus::Pending
        );
        for _ in 0..2 {
            assert_eq!(
                srv.status(
                    Method::DELETE,
                    &format!("/api/v1/suppressions/{suppression}"),
                    &alice,
                    &Value::Null
                )
                .await,
                204
            );
        }
        let audit = srv
            .get("/api/v1/audit", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for action in [
            "exception.policy",
            "exception.create",
            "exception.approve",
            "exception.reject",
            "exception.revoke",
        ] {
            assert!(audit.contains(action), "{action} missing");
        }
    });
}

/// Posts one event of `rule` at `severity` (no host); answers its group.
async fn alert_with(srv: &crate::TestServer, token: &str, rule: &str, severity: &str) -> i64 {
    let event = json!({"source": "tool", "rule": rule, "severity": severity, "output": rule, "hostname": "h9"});
    let res = srv
        .call(Method::POST, "/api/v1/alerts", token, &event)
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let report: Value = res.json().await.unwrap();
    report["groups"][0].as_i64().unwrap()
}
