//! Registries as a source, against real registries (Debian's docker-registry on loopback
//! ports, one open and one behind htpasswd): images pushed by the real engine and from
//! test code, synced into the inventory, tags that move, a registry that goes down, and
//! credentials that are wrong, right, and never shown.

use coastguard_core::auth::sealing::SecretKey;
use coastguard_core::testing::docker::{unique, Engine};
use coastguard_core::testing::registry::TestRegistry;
use coastguard_core::Settings;
use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

fn with_secret_key() -> Settings {
    Settings {
        secret_key: Some(SecretKey::parse(&("6b".repeat(31) + "02")).unwrap()),
        ..Settings::default()
    }
}

async fn sync(srv: &crate::TestServer, id: i64, token: &str) -> Value {
    let res = srv
        .call(
            Method::POST,
            &format!("/api/v1/registries/{id}/sync"),
            token,
            &Value::Null,
        )
        .await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

/// The current tags of a registry's detail, as `repository:tag` → the tag's JSON.
async fn tags(srv: &crate::TestServer, id: i64, token: &str) -> Vec<Value> {
    let detail = srv
        .get_json(&format!("/api/v1/registries/{id}"), token)
        .await;
    detail["tags"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{detail}"))
}

fn tag<'a>(tags: &'a [Value], repository: &str, tag: &str) -> &'a Value {
    tags.iter()
        .find(|t| t["repository"] == repository && t["tag"] == tag)
        .unwrap_or_else(|| panic!("no {repository}:{tag} in {tags:?}"))
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn a_registrys_images_join_the_inventory_and_its_tags_keep_their_history() {
    let engine = Engine::local();
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let srv = crate::TestServer::start_with(Arc::new(db), with_secret_key()).await;
        let mut registry = TestRegistry::open().await;
        let host = registry.host();
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;

        // An image the engine built, pushed and runs; two more written by test code, one
        // under two tags; and a cosign signature tag, which is no image.
        let name = unique("regapp");
        let pushed_tag = format!("{host}/team/{name}:1");
        let engine_image = engine.build(&pushed_tag, &["CMD [\"sleep\", \"3600\"]"]);
        engine.docker(&["push", "-q", &pushed_tag]);
        engine.run(&unique("regrun"), &[&pushed_tag]);
        let web = registry.push_image("team/web", "1", b"web v1").await;
        registry.push_image("team/web", "stable", b"web v1").await;
        registry
            .attach_cosign(
                "team/web",
                &web.digest,
                &[(b"{}".to_vec(), Default::default())],
            )
            .await;
        // The server watches the engine: the running container and its image are known.
        srv.watch_local_engine(&admin).await;

        // Admins add registries; plain HTTP only when marked insecure.
        let new = json!({"name": "local", "url": format!("http://{host}")});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &viewer, &new)
            .await;
        assert_eq!(res.status(), 403);
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &new)
            .await;
        assert_eq!(res.status(), 422);
        let v: Value = res.json().await.unwrap();
        assert!(v.to_string().contains("insecure"), "{v}");
        let new = json!({"name": "local", "url": host, "insecure": true});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &new)
            .await;
        assert_eq!(res.status(), 201);
        let added: Value = res.json().await.unwrap();
        assert_eq!(added["status"], "pending", "{added}");
        assert_eq!(added["url"], format!("http://{host}"), "{added}");
        let id = added["id"].as_i64().unwrap();
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &new)
            .await;
        assert_eq!(res.status(), 409, "one name once");

        // The first sync reads everything; the signature tag is not an image.
        let res = srv
            .call(
                Method::POST,
                &format!("/api/v1/registries/{id}/sync"),
                &viewer,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 403);
        let first = sync(&srv, id, &analyst).await;
        assert_eq!(first["registry"]["status"], "ok", "{first}");
        assert_eq!(first["repositories"], 2, "{first}");
        assert_eq!(first["tags"], 3, "{first}");
        assert_eq!(first["registry"]["image_count"], 2, "{first}");
        assert_eq!(first["registry"]["running_count"], 1, "{first}");
        assert_eq!(first["registry"]["scanned_count"], 0, "{first}");
        let listed = tags(&srv, id, &viewer).await;
        assert_eq!(listed.len(), 3, "{listed:?}");
        let app = tag(&listed, &format!("team/{name}"), "1");
        assert_eq!(app["running"], true, "{app}");
        assert_eq!(app["scanned"], false, "{app}");
        assert_eq!(tag(&listed, "team/web", "1")["running"], false);
        assert_eq!(tag(&listed, "team/web", "1")["digest"], web.digest.as_str());
        assert_eq!(
            tag(&listed, "team/web", "1")["image_id"],
            tag(&listed, "team/web", "stable")["image_id"]
        );

        // One image per digest: the registry's image is the engine's image.
        let image_id = app["image_id"].as_i64().unwrap();
        let image = srv
            .get_json(&format!("/api/v1/images/{image_id}"), &viewer)
            .await;
        assert_eq!(image["image"]["digest"], engine_image.as_str(), "{image}");
        let web_id = tag(&listed, "team/web", "1")["image_id"].as_i64().unwrap();
        let web_image = srv
            .get_json(&format!("/api/v1/images/{web_id}"), &viewer)
            .await
            .to_string();
        assert!(
            web_image.contains(&format!("{host}/team/web")),
            "{web_image}"
        );
        let images = srv.get_json("/api/v1/images?q=team/web", &viewer).await;
        assert_eq!(images["items"].as_array().unwrap().len(), 1, "{images}");

        // Scan coverage covers what the registry holds: the web image, never scanned
        // and running nowhere, is a coverage finding that says where it waits.
        srv.state
            .store
            .evaluate_scan_coverage(7, coastguard_core::now())
            .await
            .unwrap();
        let gaps = srv
            .get_json(
                "/api/v1/config-findings?check=coverage.unscanned&state=open",
                &viewer,
            )
            .await;
        let web_gap: Vec<&Value> = gaps["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["subject_id"] == web_id)
            .collect();
        assert_eq!(web_gap.len(), 1, "{gaps}");
        assert!(
            web_gap[0]["evidence"]
                .as_str()
                .unwrap()
                .contains("held in a registry, not running"),
            "{gaps}"
        );

        // Unchanged, a sync costs the catalog, a tag list per repository and a HEAD
        // per tag: no manifest or config again.
        let again = sync(&srv, id, &analyst).await;
        assert_eq!(again["changed_tags"], 0, "{again}");
        assert_eq!(again["requests"], 1 + 2 + 3, "{again}");
        // Seen again, the tags stay current and their images in the inventory.
        assert_eq!(tags(&srv, id, &viewer).await.len(), 3);
        assert_eq!(again["registry"]["image_count"], 2, "{again}");

        // A tag moved to a new image keeps where it pointed before.
        let moved = registry.push_image("team/web", "stable", b"web v2").await;
        let after = sync(&srv, id, &analyst).await;
        assert_eq!(after["changed_tags"], 1, "{after}");
        assert_eq!(after["registry"]["moved_tag_count"], 1, "{after}");
        assert_eq!(after["registry"]["image_count"], 3, "{after}");
        let listed = tags(&srv, id, &viewer).await;
        let stable = tag(&listed, "team/web", "stable");
        assert_eq!(stable["digest"], moved.digest.as_str(), "{stable}");
        assert_eq!(stable["previous_digests"], json!([web.digest]), "{stable}");
        assert_eq!(tag(&listed, "team/web", "1")["previous_digests"], json!([]));

        // Down: marked so, and what it held stays.
        registry.stop();
        let down = sync(&srv, id, &analyst).await;
        assert_eq!(down["registry"]["status"], "unreachable", "{down}");
        assert!(
            down["registry"]["last_error"]
                .as_str()
                .unwrap()
                .contains(&host),
            "{down}"
        );
        assert_eq!(down["registry"]["tag_count"], 3, "{down}");
        assert!(
            down["registry"]["last_sync_at"].as_i64().unwrap()
                <= down["registry"]["last_attempt_at"].as_i64().unwrap()
        );
        assert_eq!(tags(&srv, id, &viewer).await.len(), 3);

        let audit = srv.get_json("/api/v1/audit", &admin).await.to_string();
        assert!(audit.contains("registry.add"), "{audit}");
        assert!(audit.contains("registry.sync"), "{audit}");

        // Removed: its tags go, the images stay.
        let res = srv
            .call(
                Method::DELETE,
                &format!("/api/v1/registries/{id}"),
                &admin,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 204);
        let list = srv.get_json("/api/v1/registries", &viewer).await;
        assert_eq!(list["items"], json!([]), "{list}");
        let res = srv
            .get(&format!("/api/v1/images/{web_id}"), &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn registry_credentials_are_stored_sealed_and_never_shown() {
    let password = "s3cret-registry-password";
    let registry = TestRegistry::with_password("ci", password).await;
    let host = registry.host();
    registry.push_image("team/api", "1", b"api").await;

    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let db = Arc::new(db);
        // Without a secret key, credentials are refused, not stored in clear.
        {
            let srv = crate::TestServer::start_with(db.clone(), Settings::default()).await;
            let admin = srv.token(Role::Admin).await;
            let new = json!({"name": "nokey", "url": host, "insecure": true, "username": "ci", "password": password});
            let res = srv
                .call(Method::POST, "/api/v1/registries", &admin, &new)
                .await;
            assert_eq!(res.status(), 409);
            let res = srv
                .call(
                    Method::POST,
                    "/api/v1/registries",
                    &admin,
                    &json!({"name": "half", "url": host, "insecure": true, "username": "ci"}),
                )
                .await;
            assert_eq!(res.status(), 422, "a username needs its password");
        }
        let srv = crate::TestServer::start_with(db.clone(), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;

        // Anonymous: refused.
        let anonymous = json!({"name": "anonymous", "url": host, "insecure": true});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &anonymous)
            .await;
        let anon_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let v = sync(&srv, anon_id, &analyst).await;
        assert_eq!(v["registry"]["status"], "unauthorized", "{v}");

        // Wrong password: refused.
        let wrong = json!({"name": "wrong", "url": host, "insecure": true, "username": "ci", "password": "not-it"});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &wrong)
            .await;
        let wrong_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let v = sync(&srv, wrong_id, &analyst).await;
        assert_eq!(v["registry"]["status"], "unauthorized", "{v}");
        assert_eq!(v["registry"]["tag_count"], 0, "{v}");

        // Right password: read.
        let right = json!({"name": "right", "url": host, "insecure": true, "username": "ci", "password": password});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &right)
            .await;
        assert_eq!(res.status(), 201);
        let added: Value = res.json().await.unwrap();
        assert_eq!(added["authenticated"], true, "{added}");
        let id = added["id"].as_i64().unwrap();
        let v = sync(&srv, id, &analyst).await;
        assert_eq!(v["registry"]["status"], "ok", "{v}");
        assert_eq!(v["tags"], 1, "{v}");

        // The password is nowhere: not in answers, the audit log, or the database.
        for path in [
            "/api/v1/registries".to_string(),
            format!("/api/v1/registries/{id}"),
            "/api/v1/audit".into(),
        ] {
            let body = srv
                .get(&path, &admin)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!body.contains(password), "{path}: {body}");
            assert!(
                !body.contains("\"ci\""),
                "{path} shows the username: {body}"
            );
        }
        let stored: Vec<Option<String>> = match &srv.db.store.db() {
            coastguard_core::db::Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT credentials FROM registries")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
            coastguard_core::db::Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT credentials FROM registries")
                    .fetch_all(pool)
                    .await
                    .unwrap()
            }
        };
        assert!(stored.iter().flatten().count() == 2, "{stored:?}");
        assert!(
            stored
                .iter()
                .flatten()
                .all(|s| !s.contains(password) && !s.contains("ci:")),
            "{stored:?}"
        );

        // A server with another key cannot open them: the sync says so.
        let other = Settings {
            secret_key: Some(SecretKey::parse(&("a5".repeat(31) + "07")).unwrap()),
            ..Settings::default()
        };
        let srv = crate::TestServer::start_with(db.clone(), other).await;
        let analyst = srv.token(Role::Analyst).await;
        let v = sync(&srv, id, &analyst).await;
        assert_eq!(v["registry"]["status"], "error", "{v}");
        assert!(
            v["registry"]["last_error"]
                .as_str()
                .unwrap()
                .contains("secret key"),
            "{v}"
        );
        assert_eq!(v["registry"]["tag_count"], 1, "what it held stays: {v}");
    }
}

/// The two provenance findings against the real engine and registry: a running image the
/// policy requires to be signed, found unsigned; then its tag pushed again, so the
/// container runs what the tag no longer names.
#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn an_unsigned_required_image_and_a_moved_tag_are_provenance_findings() {
    let engine = Engine::local();
    let registry = TestRegistry::open().await;
    let host = registry.host();
    let name = unique("provapp");
    let reference = format!("{host}/prod/{name}:1");
    engine.build(&reference, &["CMD [\"sleep\", \"3600\"]"]);
    engine.docker(&["push", "-q", &reference]);
    let container = unique("provrun");
    engine.run(&container, &[&reference]);
    // The tag is pushed again with another image; the container runs the first.
    engine.build(&reference, &["CMD [\"sleep\", \"3601\"]"]);

    // Each backend's server first sees the tag as it was; then it is pushed again.
    let mut servers: Vec<(crate::TestServer, String, String, String, i64, i64)> = Vec::new();
    for db in coastguard_core::testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let srv = crate::TestServer::start_with(Arc::new(db), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        let policy = json!({
            "trusted_registries": [], "image_max_age_days": 180, "image_max_size_mb": 1024,
            "scan_max_age_days": 7, "require_signatures": [format!("{host}/prod/*")],
        });
        let res = srv
            .call(
                Method::PUT,
                "/api/v1/settings/docker-policy",
                &admin,
                &policy,
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let host_id = srv.watch_local_engine(&admin).await;
        let new = json!({"name": "local", "url": host, "insecure": true, "repositories": [format!("prod/{name}")]});
        let res = srv
            .call(Method::POST, "/api/v1/registries", &admin, &new)
            .await;
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        sync(&srv, id, &analyst).await;
        let listed = tags(&srv, id, &viewer).await;
        let image_id = tag(&listed, &format!("prod/{name}"), "1")["image_id"]
            .as_i64()
            .unwrap();

        // Checked: unsigned, and the policy requires a signature.
        let res = srv
            .call(
                Method::POST,
                &format!("/api/v1/images/{image_id}/signature-check"),
                &analyst,
                &Value::Null,
            )
            .await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "unsigned");
        let found = srv
            .get_json(
                "/api/v1/config-findings?check=provenance.signature_required",
                &viewer,
            )
            .await;
        let items = found["items"].as_array().unwrap();
        let mine: Vec<&Value> = items
            .iter()
            .filter(|f| f["subject_id"] == image_id)
            .collect();
        assert_eq!(mine.len(), 1, "{found}");
        assert_eq!(mine[0]["severity"], "high", "{found}");
        let evidence = mine[0]["evidence"].as_str().unwrap();
        assert!(
            evidence.contains("no signature") && evidence.contains(&format!("{host}/prod/*")),
            "{evidence}"
        );

        // The overview counts it among the running images not signed.
        let overview = srv.get_json("/api/v1/overview", &viewer).await;
        assert!(
            overview["signatures"]["unsigned"].as_i64().unwrap() >= 1,
            "{overview}"
        );
        assert!(
            overview["signatures"]["running_images"].as_i64().unwrap()
                >= overview["signatures"]["unsigned"].as_i64().unwrap(),
            "{overview}"
        );

        // So does the host's own coverage; a cluster with no pods runs nothing; one
        // place at a time.
        let on_host = srv
            .get_json(
                &format!("/api/v1/signatures/coverage?host={host_id}"),
                &viewer,
            )
            .await;
        assert!(on_host["unsigned"].as_i64().unwrap() >= 1, "{on_host}");
        assert!(
            on_host["running_images"].as_i64().unwrap()
                <= overview["signatures"]["running_images"].as_i64().unwrap(),
            "{on_host}"
        );
        let elsewhere = srv
            .get_json("/api/v1/signatures/coverage?cluster=999", &viewer)
            .await;
        assert_eq!(elsewhere["running_images"], 0, "{elsewhere}");
        let res = srv
            .call(
                Method::GET,
                &format!("/api/v1/signatures/coverage?host={host_id}&cluster=1"),
                &viewer,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 422);

        servers.push((srv, admin, analyst, viewer, id, image_id));
    }

    engine.docker(&["push", "-q", &reference]);
    for (srv, admin, analyst, viewer, id, image_id) in servers {
        // The tag moved under the running container.
        let after = sync(&srv, id, &analyst).await;
        assert_eq!(after["registry"]["moved_tag_count"], 1, "{after}");
        let found = srv
            .get_json(
                "/api/v1/config-findings?check=provenance.tag_moved",
                &viewer,
            )
            .await;
        let moved: Vec<&Value> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["evidence"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(&reference)
            })
            .collect();
        assert_eq!(moved.len(), 1, "{found}");
        assert_eq!(moved[0]["subject_kind"], "container", "{found}");
        assert!(
            moved[0]["evidence"]
                .as_str()
                .unwrap()
                .contains("the tag names sha256:"),
            "{found}"
        );

        // A requirement scoped to other hosts does not cover it (the finding resolves);
        // one scoped to the host it runs on does, and says where.
        let open_for = |scope: &'static str| {
            let (srv, admin, viewer) = (&srv, &admin, &viewer);
            let required = format!("{host}/prod/* {scope}");
            async move {
                let policy = json!({
                    "trusted_registries": [], "image_max_age_days": 180, "image_max_size_mb": 1024,
                    "scan_max_age_days": 7, "require_signatures": [required],
                });
                let res = srv
                    .call(
                        Method::PUT,
                        "/api/v1/settings/docker-policy",
                        admin,
                        &policy,
                    )
                    .await;
                assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
                let open = srv
                    .get_json(
                        "/api/v1/config-findings?check=provenance.signature_required&state=open",
                        viewer,
                    )
                    .await;
                open["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["subject_id"] == image_id)
                    .map(|f| f["evidence"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert!(open_for("host=elsewhere-*").await.is_empty());
        assert!(
            open_for("cluster=*").await.is_empty(),
            "a container runs in no cluster"
        );
        let evidence = open_for("host=loc*").await;
        assert_eq!(evidence.len(), 1, "{evidence:?}");
        assert!(
            evidence[0].contains("as it runs in host local"),
            "{evidence:?}"
        );
        // A requirement that cannot be read is refused, naming the field.
        let policy = json!({
            "trusted_registries": [], "image_max_age_days": 180, "image_max_size_mb": 1024,
            "scan_max_age_days": 7, "require_signatures": ["* host=a cluster=b"],
        });
        let res = srv
            .call(
                Method::PUT,
                "/api/v1/settings/docker-policy",
                &admin,
                &policy,
            )
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "require_signatures"
        );

        // Removing the requirement resolves the signature finding at once.
        let policy = json!({
            "trusted_registries": [], "image_max_age_days": 180, "image_max_size_mb": 1024,
            "scan_max_age_days": 7, "require_signatures": [],
        });
        srv.call(
            Method::PUT,
            "/api/v1/settings/docker-policy",
            &admin,
            &policy,
        )
        .await;
        let open = srv
            .get_json(
                "/api/v1/config-findings?check=provenance.signature_required",
                &viewer,
            )
            .await;
        assert!(
            open["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["subject_id"] != image_id),
            "{open}"
        );
    }
}

#[tokio::test]
async fn a_docker_config_json_is_imported_in_one_change() {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("robot:imported-secret");
    let config = json!({
        "auths": {
            "registry.example.com": {"auth": auth},
            "https://index.docker.io/v1/": {"auth": auth},
            "mirror.example.com:5000": {}
        },
        "credHelpers": {"gcr.io": "gcloud"}
    })
    .to_string();
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        let admin = srv.token(Role::Admin).await;
        let body = json!({ "docker_config": config });
        let res = srv
            .call(Method::POST, "/api/v1/registries/import", &viewer, &body)
            .await;
        assert_eq!(res.status(), 403);
        // This server has no secret key: credentials are refused, nothing is added.
        let res = srv
            .call(Method::POST, "/api/v1/registries/import", &admin, &body)
            .await;
        assert_eq!(res.status(), 409);
        let list = srv.get_json("/api/v1/registries", &viewer).await;
        assert_eq!(list["items"], json!([]), "{list}");
        let res = srv
            .call(
                Method::POST,
                "/api/v1/registries/import",
                &admin,
                &json!({ "docker_config": "not json" }),
            )
            .await;
        assert_eq!(res.status(), 422);
    });

    for db in coastguard_core::testing::backends().await {
        let srv = crate::TestServer::start_with(Arc::new(db), with_secret_key()).await;
        let admin = srv.token(Role::Admin).await;
        let body = json!({ "docker_config": config });
        let res = srv
            .call(Method::POST, "/api/v1/registries/import", &admin, &body)
            .await;
        assert_eq!(res.status(), 201);
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("imported-secret") && !text.contains("robot"),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let added: Vec<(&str, bool)> = v["added"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap(),
                    r["authenticated"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            added,
            [
                ("mirror.example.com:5000", false),
                ("registry.example.com", true)
            ],
            "{v}"
        );
        let skipped = v["skipped"].to_string();
        assert!(
            skipped.contains("Docker Hub") && skipped.contains("gcloud"),
            "{skipped}"
        );
        // Again: the names are taken, so both are skipped and nothing changes.
        let again: Value = srv
            .call(Method::POST, "/api/v1/registries/import", &admin, &body)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(again["added"], json!([]), "{again}");
        assert!(
            again["skipped"].to_string().contains("exists already"),
            "{again}"
        );
        let audit = srv.get_json("/api/v1/audit", &admin).await;
        let imports = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "registry.import")
            .count();
        assert_eq!(imports, 2, "one record per import: {audit}");
        assert!(!audit.to_string().contains("imported-secret"), "{audit}");
    }
}
