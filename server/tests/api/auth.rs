//! Roles on the REST API and the lifecycle of API tokens.

use coastguard_model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn roles_are_enforced_on_every_admin_route() {
    crate::on_each_backend!(|srv| {
        let target = srv.user("target", Role::Viewer).await;
        let admin_only: Vec<(Method, String, Value)> = vec![
            (Method::GET, "/api/v1/users".into(), json!(null)),
            (
                Method::POST,
                "/api/v1/users".into(),
                json!({"name": "new", "role": "viewer", "password": "a long passphrase"}),
            ),
            (Method::GET, format!("/api/v1/users/{target}"), json!(null)),
            (
                Method::PATCH,
                format!("/api/v1/users/{target}"),
                json!({"role": "analyst"}),
            ),
            (
                Method::PUT,
                format!("/api/v1/users/{target}/password"),
                json!({"password": "a long passphrase"}),
            ),
            (Method::GET, "/api/v1/tokens".into(), json!(null)),
            (
                Method::POST,
                "/api/v1/tokens".into(),
                json!({"name": "t", "role": "admin"}),
            ),
            (Method::GET, "/api/v1/audit".into(), json!(null)),
            (
                Method::DELETE,
                format!("/api/v1/users/{target}"),
                json!(null),
            ),
        ];
        for role in [Role::Viewer, Role::Analyst] {
            let token = srv.token(role).await;
            for (method, path, body) in &admin_only {
                let res = srv.call(method.clone(), path, &token, body).await;
                assert_eq!(
                    res.status(),
                    StatusCode::FORBIDDEN,
                    "{role} {method} {path}"
                );
                let err: Value = res.json().await.unwrap();
                assert_eq!(err["error"]["code"], "forbidden");
            }
            // Reads every role may do.
            for path in [
                "/api/v1/me",
                "/api/v1/overview",
                "/metrics",
                "/api/v1/openapi.json",
            ] {
                let res = srv.get(path, &token).send().await.unwrap();
                assert_eq!(res.status(), 200, "{role} GET {path}");
            }
        }
        // The viewer's attempts changed nothing.
        assert_eq!(srv.db.store.user(target).await.unwrap().role, Role::Viewer);

        let admin = srv.token(Role::Admin).await;
        for (method, path, body) in &admin_only {
            let res = srv.call(method.clone(), path, &admin, body).await;
            assert!(
                res.status().is_success(),
                "admin {method} {path}: {}",
                res.status()
            );
        }
    });
}

#[tokio::test]
async fn tokens_are_shown_once_and_stop_working_when_revoked_or_expired() {
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let res = srv
            .http
            .post(srv.url("/api/v1/tokens"))
            .bearer_auth(&admin)
            .json(&json!({"name": "ci", "role": "analyst", "expires_in_days": 7}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_string();
        let id = created["token"]["id"].as_i64().unwrap();

        let me: Value = srv.get_json("/api/v1/me", &secret).await;
        assert_eq!(
            me,
            json!({"name": "token:ci", "role": "analyst", "kind": "token", "demo": false})
        );

        // Listing never shows secrets.
        let list = srv
            .get("/api/v1/tokens", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!list.contains(&secret));
        assert!(list.contains(&secret[..11]), "the display prefix is listed");

        let res = srv
            .http
            .delete(srv.url(&format!("/api/v1/tokens/{id}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = srv.get("/api/v1/me", &secret).send().await.unwrap();
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "unauthorized", "message": "authentication required"}})
        );

        // An expired token is refused the same way.
        let expiring = srv.token(Role::Viewer).await;
        coastguard_core::with_db!(srv.db.store.db(), |pool| sqlx::query(
            "UPDATE api_tokens SET expires_at = $1 WHERE token_hash = $2"
        )
        .bind(coastguard_core::now() - 1)
        .bind(coastguard_core::auth::token::hash(&expiring))
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let res = srv.get("/api/v1/me", &expiring).send().await.unwrap();
        assert_eq!(res.status(), 401);

        // Token creation and revocation are audited, without the secret.
        let audit = srv
            .get("/api/v1/audit", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            audit.contains("token.create") && audit.contains("token.revoke"),
            "{audit}"
        );
        assert!(!audit.contains(&secret));
    });
}

#[tokio::test]
async fn tokens_stop_working_when_their_owner_is_disabled_or_deleted() {
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let me = |token: &str| {
            let req = srv.get("/api/v1/me", token);
            async move { req.send().await.unwrap().status() }
        };
        let token_row = || async {
            let list: Value = srv.get_json("/api/v1/tokens", &admin).await;
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == "olivias-script")
                .cloned()
                .unwrap()
        };
        // Another admin, so that olivia is not the last one (who can't be disabled).
        srv.user("root", Role::Admin).await;
        let owner = srv.user("olivia", Role::Admin).await;
        let cookie = srv.login("olivia", crate::PASSWORD).await.unwrap();
        // Olivia creates a token in the browser (a same-origin request with her session).
        let create = |name: &'static str| {
            srv.http
                .post(srv.url("/api/v1/tokens"))
                .header(reqwest::header::COOKIE, &cookie)
                .header("origin", srv.base.clone())
                .json(&json!({"name": name, "role": "viewer"}))
                .send()
        };
        let res = create("olivias-script").await.unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_string();
        assert_eq!(created["token"]["created_by"], "olivia");
        assert_eq!(created["token"]["active"], true);
        assert_eq!(created["token"]["expires_at"], Value::Null);
        assert_eq!(me(&secret).await, 200);

        // Disabled: the token is refused, and listed as such.
        let patch = |disabled: bool| {
            srv.http
                .patch(srv.url(&format!("/api/v1/users/{owner}")))
                .bearer_auth(&admin)
                .json(&json!({ "disabled": disabled }))
                .send()
        };
        assert_eq!(patch(true).await.unwrap().status(), 200);
        assert_eq!(me(&secret).await, 401);
        let listed = token_row().await;
        assert_eq!(
            (listed["owner_disabled"].clone(), listed["active"].clone()),
            (json!(true), json!(false))
        );
        // Enabled again: it answers again (disabling is reversible, deleting is not).
        assert_eq!(patch(false).await.unwrap().status(), 200);
        assert_eq!(me(&secret).await, 200);

        // Deleted: the token is revoked in the same step, and the audit log says so.
        let res = srv
            .http
            .delete(srv.url(&format!("/api/v1/users/{owner}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        assert_eq!(me(&secret).await, 401);
        let listed = token_row().await;
        assert!(listed["revoked_at"].is_i64(), "{listed}");
        let audit = srv
            .get("/api/v1/audit", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            audit.contains(r#"\"tokens_revoked\":1"#) || audit.contains(r#""tokens_revoked":1"#),
            "{audit}"
        );
    });
}
