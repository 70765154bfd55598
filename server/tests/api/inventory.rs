//! The inventory API against the machine's Docker engine: engines, lists with
//! filtering/sorting/paging, details, risk acceptance and the image policy.

use coastguard_core::testing::docker::{unique, Engine};
use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// A busybox image and a container from it, removed when dropped.
struct Fixture {
    name: String,
    engine: Engine,
}

impl Fixture {
    fn start() -> Fixture {
        Fixture::start_with(&["CMD [\"sleep\", \"3600\"]"], &["--cap-add", "NET_ADMIN"])
    }

    /// An image built with `steps` after busybox is installed, and a container of it run
    /// with `run_args`.
    fn start_with(steps: &[&str], run_args: &[&str]) -> Fixture {
        let engine = Engine::local();
        let name = unique("api");
        let image = format!("{name}:1");
        engine.build(&image, steps);
        let args: Vec<&str> = run_args.iter().copied().chain([image.as_str()]).collect();
        engine.run(&name, &args);
        Fixture { name, engine }
    }

    fn docker(&self, args: &[&str]) -> String {
        self.engine.docker(args)
    }
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn engines_inventory_findings_and_acceptance_over_the_api() {
    let fixture = Fixture::start();
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let analyst = srv.token(Role::Analyst).await;
        let viewer = srv.token(Role::Viewer).await;
        let engine = json!({"name": "local", "endpoint": "unix:///var/run/docker.sock"});

        let res = srv
            .call(Method::POST, "/api/v1/engines", &viewer, &engine)
            .await;
        assert_eq!(res.status(), 403);
        let res = srv
            .call(
                Method::POST,
                "/api/v1/engines",
                &admin,
                &json!({"name": "x", "endpoint": "docker.example.com"}),
            )
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "endpoint"
        );
        let res = srv
            .call(Method::POST, "/api/v1/engines", &admin, &json!({"name": "x", "endpoint": "tcp://h:2376", "tls_ca": "/nope/ca.pem", "tls_cert": "/nope/c.pem", "tls_key": "/nope/k.pem"}))
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "tls_ca"
        );
        let res = srv
            .call(Method::POST, "/api/v1/engines", &admin, &engine)
            .await;
        assert_eq!(res.status(), 201);
        let host: Value = res.json().await.unwrap();
        let host_id = host["id"].as_i64().unwrap();
        assert_eq!(host["status"], "pending");
        let res = srv
            .call(Method::POST, "/api/v1/engines", &admin, &engine)
            .await;
        assert_eq!(res.status(), 409);

        let res = srv
            .call(
                Method::POST,
                &format!("/api/v1/engines/{host_id}/sync"),
                &viewer,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 403);
        let res = srv
            .call(
                Method::POST,
                &format!("/api/v1/engines/{host_id}/sync"),
                &analyst,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 200);
        let sync: Value = res.json().await.unwrap();
        assert!(sync["containers"].as_i64().unwrap() >= 1, "{sync}");

        let hosts = srv.get_json("/api/v1/hosts", &viewer).await;
        assert_eq!(hosts["total"], 1);
        assert_eq!(hosts["items"][0]["status"], "ok");
        assert!(hosts["items"][0]["containers_running"].as_i64().unwrap() >= 1);

        let list = srv
            .get_json(&format!("/api/v1/containers?q={}", fixture.name), &viewer)
            .await;
        assert_eq!(list["total"], 1, "{list}");
        let container = &list["items"][0];
        assert_eq!(container["host_id"], host_id);
        assert_eq!(container["state"], "running");
        assert!(
            container["open_findings"]["high"].as_i64().unwrap() >= 1,
            "NET_ADMIN is high: {container}"
        );
        let container_id = container["id"].as_i64().unwrap();

        // Server-side filtering, sorting and paging, and their validation.
        let page = srv
            .get_json(
                "/api/v1/containers?sort=findings&per_page=1&page=1",
                &viewer,
            )
            .await;
        assert_eq!(page["per_page"], 1);
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let res = srv
            .get("/api/v1/containers?sort=colour", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "sort"
        );
        let res = srv
            .get("/api/v1/containers?per_page=0", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let none = srv
            .get_json(
                &format!("/api/v1/containers?q={}&state=exited", fixture.name),
                &viewer,
            )
            .await;
        assert_eq!(none["total"], 0);
        let high = srv
            .get_json(
                &format!("/api/v1/containers?q={}&severity=high", fixture.name),
                &viewer,
            )
            .await;
        assert_eq!(high["total"], 1);
        let critical = srv
            .get_json(
                &format!("/api/v1/containers?q={}&severity=critical", fixture.name),
                &viewer,
            )
            .await;
        assert_eq!(critical["total"], 0);

        let detail = srv
            .get_json(&format!("/api/v1/containers/{container_id}"), &viewer)
            .await;
        // Facts are what the engine reported (the CLI writes CAP_ names).
        assert_eq!(detail["facts"]["cap_add"], json!(["CAP_NET_ADMIN"]));
        let image_id = detail["container"]["image_id"].as_i64().unwrap();
        let image = srv
            .get_json(&format!("/api/v1/images/{image_id}"), &viewer)
            .await;
        assert_eq!(
            image["image"]["tags"],
            json!([format!("{}:1", fixture.name)])
        );
        assert!(image["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == container_id));
        let host_detail = srv
            .get_json(&format!("/api/v1/hosts/{host_id}"), &viewer)
            .await;
        assert!(host_detail["facts"]["engine_version"].is_string());

        // Accepting a risk: analysts only, with a reason; it leaves the open counts.
        let findings = srv
            .get_json(&format!("/api/v1/config-findings?subject_kind=container&subject_id={container_id}&check=container.capability_added"), &viewer)
            .await;
        assert_eq!(findings["total"], 1);
        let finding = findings["items"][0]["id"].as_i64().unwrap();
        assert!(!findings["items"][0]["remediation"]
            .as_str()
            .unwrap()
            .is_empty());
        let path = format!("/api/v1/config-findings/{finding}/acceptance");
        let reason = json!({"reason": "VPN sidecar needs NET_ADMIN", "expires_in_days": 30});
        assert_eq!(
            srv.call(Method::PUT, &path, &viewer, &reason)
                .await
                .status(),
            403
        );
        assert_eq!(
            srv.call(Method::PUT, &path, &analyst, &json!({"reason": ""}))
                .await
                .status(),
            422
        );
        assert_eq!(
            srv.call(Method::PUT, &path, &analyst, &reason)
                .await
                .status(),
            204
        );
        let accepted = srv
            .get_json(&format!("/api/v1/config-findings/{finding}"), &viewer)
            .await;
        assert_eq!(accepted["state"], "accepted");
        assert_eq!(accepted["accepted_by"], "token:analyst token");
        assert_eq!(accepted["accepted_reason"], "VPN sidecar needs NET_ADMIN");
        let after = srv
            .get_json(&format!("/api/v1/containers/{container_id}"), &viewer)
            .await;
        assert_eq!(
            after["container"]["open_findings"]["high"]
                .as_i64()
                .unwrap(),
            container["open_findings"]["high"].as_i64().unwrap() - 1
        );
        // A later sync keeps the acceptance.
        srv.call(
            Method::POST,
            &format!("/api/v1/engines/{host_id}/sync"),
            &analyst,
            &Value::Null,
        )
        .await;
        assert_eq!(
            srv.get_json(&format!("/api/v1/config-findings/{finding}"), &viewer)
                .await["state"],
            "accepted"
        );
        // An expired acceptance (its exception's time is up) comes back.
        coastguard_core::with_db!(srv.db.store.db(), |pool| {
            sqlx::query(
            "UPDATE exceptions SET expires_at = 1 WHERE id = (SELECT exception_id FROM config_findings WHERE id = $1)"
        )
        .bind(finding)
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap()
        });
        assert_eq!(
            srv.db
                .store
                .apply_exceptions(coastguard_core::now())
                .await
                .unwrap()
                .reopened,
            1
        );
        assert_eq!(
            srv.get_json(&format!("/api/v1/config-findings/{finding}"), &viewer)
                .await["state"],
            "open"
        );
        assert_eq!(
            srv.call(Method::PUT, &path, &analyst, &json!({"reason": "again"}))
                .await
                .status(),
            204
        );
        assert_eq!(
            srv.call(Method::DELETE, &path, &analyst, &Value::Null)
                .await
                .status(),
            204
        );
        assert_eq!(
            srv.get_json(&format!("/api/v1/config-findings/{finding}"), &viewer)
                .await["state"],
            "open"
        );
        assert_eq!(
            srv.call(Method::DELETE, &path, &analyst, &Value::Null)
                .await
                .status(),
            409
        );

        // The image policy: admins set it; image findings follow at the next sync.
        let res = srv.call(Method::PUT, "/api/v1/settings/docker-policy", &admin, &json!({"trusted_registries": ["ghcr.io/x"], "image_max_age_days": 30, "image_max_size_mb": 100})).await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "trusted_registries"
        );
        let policy = json!({"trusted_registries": ["GHCR.io"], "image_max_age_days": 30, "image_max_size_mb": 100});
        assert_eq!(
            srv.call(
                Method::PUT,
                "/api/v1/settings/docker-policy",
                &analyst,
                &policy
            )
            .await
            .status(),
            403
        );
        let res = srv
            .call(
                Method::PUT,
                "/api/v1/settings/docker-policy",
                &admin,
                &policy,
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Value>().await.unwrap()["trusted_registries"],
            json!(["ghcr.io"])
        );
        srv.call(
            Method::POST,
            &format!("/api/v1/engines/{host_id}/sync"),
            &analyst,
            &Value::Null,
        )
        .await;
        let untrusted = srv
            .get_json(&format!("/api/v1/config-findings?subject_kind=image&subject_id={image_id}&check=image.untrusted_registry"), &viewer)
            .await;
        assert_eq!(untrusted["total"], 1, "{untrusted}");
        assert_eq!(untrusted["items"][0]["instance"], "docker.io");

        let checks: Value = srv.get_json("/api/v1/checks", &viewer).await;
        assert!(checks.as_array().unwrap().len() >= 40);

        // Every change above is in the audit log.
        let audit = srv
            .get("/api/v1/audit", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for action in [
            "engine.add",
            "engine.sync",
            "exception.create",
            "exception.revoke",
            "settings.docker_policy",
        ] {
            assert!(audit.contains(action), "{action} missing");
        }

        let res = srv
            .call(
                Method::DELETE,
                &format!("/api/v1/engines/{host_id}"),
                &admin,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 204);
        assert_eq!(srv.get_json("/api/v1/hosts", &viewer).await["total"], 0);
        let res = srv
            .get(&format!("/api/v1/containers/{container_id}"), &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    });
}

/// Secrets planted in an image's build history and command and in a container's
/// healthcheck and labels: none of them is stored, or shown by the API or the pages.
#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn secrets_in_inspect_data_are_redacted_before_they_are_stored() {
    const SECRETS: [&str; 5] = [
        "NpmSecret4821",
        "RunPassw0rd7734",
        "CmdPassw0rd9102",
        "HealthPassw0rd5521",
        "LabelPassw0rd3307",
    ];
    let steps = format!(
        "RUN echo installing \\\n\tNPM_TOKEN={} true --password={}\n\
         CMD [\"/bin/sh\", \"-c\", \"sleep 3600\", \"--db-password={}\"]\n",
        SECRETS[0], SECRETS[1], SECRETS[2]
    );
    let health = format!("mysqladmin ping -uroot -p{}", SECRETS[3]);
    let label = format!("auth=admin:{}", SECRETS[4]);
    let fixture = Fixture::start_with(
        &[&steps],
        &[
            "--health-cmd",
            &health,
            "--health-interval",
            "1h",
            "--label",
            &label,
        ],
    );
    // The engine itself has them all (or this test would prove nothing).
    let inspect = fixture.docker(&["inspect", &fixture.name, &format!("{}:1", fixture.name)]);
    let history = fixture.docker(&["history", "--no-trunc", &format!("{}:1", fixture.name)]);
    for secret in SECRETS {
        assert!(
            inspect.contains(secret) || history.contains(secret),
            "{secret} not planted"
        );
    }
    crate::on_each_backend!(|srv| {
        let admin = srv.token(Role::Admin).await;
        let viewer = srv.token(Role::Viewer).await;
        srv.watch_local_engine(&admin).await;
        let list = srv
            .get_json(&format!("/api/v1/containers?q={}", fixture.name), &viewer)
            .await;
        let container_id = list["items"][0]["id"].as_i64().unwrap();
        let container = srv
            .get_json(&format!("/api/v1/containers/{container_id}"), &viewer)
            .await;
        let image_id = container["container"]["image_id"].as_i64().unwrap();
        let image = srv
            .get_json(&format!("/api/v1/images/{image_id}"), &viewer)
            .await;
        // What stays readable: the redacted shapes, and the findings that name them.
        let text = format!("{container}{image}");
        for kept in [
            "-p***",
            "NPM_TOKEN=***",
            "--password=***",
            "--db-password=***",
        ] {
            assert!(text.contains(kept), "{kept} missing: {text}");
        }
        assert_eq!(container["facts"]["labels"]["auth"], "***");
        srv.user("vera", Role::Viewer).await;
        let cookie = srv.login("vera", crate::PASSWORD).await.unwrap();
        let mut shown = text;
        for path in [
            format!("/api/v1/config-findings?subject_kind=container&subject_id={container_id}"),
            format!("/api/v1/config-findings?subject_kind=image&subject_id={image_id}"),
            "/api/v1/images?per_page=500".to_string(),
            "/api/v1/containers?per_page=500".to_string(),
        ] {
            let res = srv.get(&path, &viewer).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            shown.push_str(&res.text().await.unwrap());
        }
        // The secrets are reported as findings, without their values.
        assert!(
            shown.contains("label:auth") && shown.contains("healthcheck:"),
            "{shown}"
        );
        for page in [
            format!("/images/{image_id}"),
            format!("/containers/{container_id}"),
        ] {
            let res = srv
                .http
                .get(srv.url(&page))
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{page}");
            shown.push_str(&res.text().await.unwrap());
        }
        // And nothing stored holds them: every text column of the inventory.
        let stored: Vec<String> = coastguard_core::with_db!(srv.db.store.db(), |pool| {
            sqlx::query_scalar(
            "SELECT COALESCE(config, '') FROM containers UNION ALL SELECT COALESCE(config, '') FROM images \
             UNION ALL SELECT COALESCE(evidence, '') FROM config_findings \
             UNION ALL SELECT COALESCE(facts, '') FROM hosts"
        )
        .fetch_all(pool)
        .await
        .unwrap()
        });
        shown.push_str(&stored.join("\n"));
        for secret in SECRETS {
            assert!(!shown.contains(secret), "{secret} is shown or stored");
        }
    });
}
