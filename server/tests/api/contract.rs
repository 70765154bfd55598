//! The API's contract: every documented route needs credentials, errors share one
//! envelope, and the committed OpenAPI document is the one the code serves.

use coastguard_model::Role;
use reqwest::Method;
use serde_json::Value;

fn operations(doc: &Value) -> Vec<(Method, String, bool)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            // `security: [{}]` marks the public operations (health checks).
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            ops.push((method, path.replace("{id}", "1"), public));
        }
    }
    ops
}

#[tokio::test]
async fn every_documented_route_refuses_anonymous_callers() {
    crate::on_each_backend!(|srv| {
        let doc: Value = serde_json::from_str(&coastguard::api::openapi_document()).unwrap();
        let ops = operations(&doc);
        assert!(ops.len() >= 14, "only {} operations documented", ops.len());
        for (method, path, public) in ops {
            let res = srv
                .http
                .request(method.clone(), srv.url(&path))
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            if public {
                assert_eq!(res.status(), 200, "{method} {path} should be public");
                continue;
            }
            assert_eq!(res.status(), 401, "{method} {path} without credentials");
            assert_eq!(
                res.headers()["www-authenticate"],
                "Bearer realm=\"coastguard\""
            );
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body["error"]["code"], "unauthorized",
                "{method} {path}: {body}"
            );
            // A garbage token is refused the same way.
            let res = srv
                .http
                .request(method.clone(), srv.url(&path))
                .bearer_auth("cg_nonsense")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with a bad token");
        }
        // Pages and server functions too.
        for path in ["/", "/admin/users", "/account", "/no/such/page"] {
            let res = srv.http.get(srv.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 303, "{path}");
            assert!(
                res.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/login"),
                "{path}"
            );
        }
        let res = srv
            .http
            .post(srv.url(&server_fn_path::<
                coastguard_app::server_fns::access::ListUsers,
            >()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    });
}

pub fn server_fn_path<T: leptos::server_fn::ServerFn>() -> String {
    T::PATH.to_string()
}

#[tokio::test]
async fn the_committed_openapi_document_is_current() {
    let generated = coastguard::api::openapi_document();
    let path = manifest_path("../docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p coastguard --test api` and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // What the server serves is this document, rules and all (it once served the
    // handlers' document without them).
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        let served = srv.get_json("/api/v1/openapi.json", &viewer).await;
        assert_eq!(served, doc);
    });
}

#[tokio::test]
async fn errors_share_one_envelope() {
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let post = |body: &'static str| {
            srv.http
                .post(srv.url("/api/v1/users"))
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let res = post("{not json").await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "malformed");

        let res = post(r#"{"name": "x", "role": "root", "password": "a long passphrase"}"#)
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("role"),
            "{body}"
        );

        let res = post(r#"{"name": "x", "role": "viewer", "password": "short"}"#)
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["location"], "password");

        let res = srv.get("/api/v1/users/999", &admin).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "not_found"
        );

        let res = srv.get("/api/v1/users/abc", &admin).send().await.unwrap();
        assert_eq!(res.status(), 422);

        let res = srv
            .get("/api/v1/nothing-here", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "not_found"
        );

        let res = srv
            .get("/api/v1/audit?limit=0", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "limit"
        );

        // Nothing was stored by the failed attempts.
        let users: Value = srv.get_json("/api/v1/users", &admin).await;
        assert_eq!(users["items"].as_array().unwrap().len(), 0);
    });
}

#[tokio::test]
async fn out_of_range_pages_are_refused_naming_the_parameter() {
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        for (query, field) in [
            ("page=9223372036854775807", "page"),
            ("page=0", "page"),
            ("page=1000001", "page"),
            ("per_page=501", "per_page"),
        ] {
            for list in ["hosts", "images", "containers", "config-findings"] {
                let res = srv
                    .get(&format!("/api/v1/{list}?{query}"), &viewer)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 422, "{list}?{query}");
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"]["location"], field, "{list}?{query}: {body}");
            }
        }
        let res = srv
            .get("/api/v1/hosts?page=1000000", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    });
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    crate::on_each_backend!(|srv| {
        let health: Value = srv
            .http
            .get(srv.url("/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let ready: Value = srv
            .http
            .get(srv.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["database"], "ok");

        let viewer = srv.token(Role::Viewer).await;
        srv.get("/api/v1/me", &viewer).send().await.unwrap();
        // Methods no one defined count as `other`, not as label values of their own.
        for method in ["BARSMETHOD7", "BARSMETHOD8"] {
            srv.http
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    srv.url("/api/v1/me"),
                )
                .bearer_auth(&viewer)
                .send()
                .await
                .unwrap();
        }
        let res = srv.get("/metrics", &viewer).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(
            text.contains(
                r#"coastguard_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains("BARSMETHOD"), "{text}");
        assert!(
            text.contains(r#"coastguard_http_requests_total{method="other",route="/api/v1/me",status="405"} 2"#),
            "{text}"
        );
        assert!(text.contains("coastguard_database_up 1"), "{text}");
        assert!(
            text.contains(r#"coastguard_open_vulnerability_findings{severity="critical"} 0"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));

        // Readiness fails when the database is gone.
        srv.db.store.db().close().await;
        let res = srv.http.get(srv.url("/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 503);
    });
}

#[test]
fn the_readme_documents_every_setting() {
    let readme = std::fs::read_to_string(manifest_path("../README.md")).unwrap();
    for doc in coastguard_core::config::KEYS {
        let var = format!("`COASTGUARD_{}`", doc.key.to_ascii_uppercase());
        assert!(readme.contains(&var), "README.md does not document {var}");
    }
}

/// A path under this package, read at run time: the build cache is shared between
/// checkouts, so a compile-time `env!("CARGO_MANIFEST_DIR")` could name another one.
fn manifest_path(rel: &str) -> String {
    format!(
        "{}/{rel}",
        std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test")
    )
}
