//! A server on the demo estate's database, and the `coastguard demo` commands: demo mode
//! says so and refuses engines; loading never touches the configured database or a
//! database that holds anything; removing deletes only the demo.

use crate::TestServer;
use coastguard_core::testing;
use coastguard_model::Role;
use std::process::{Command, Output};

const PASSWORD: &str = "demo-password-long-enough";

fn coastguard(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coastguard"))
        .args(args)
        .env_remove("COASTGUARD_DATABASE_URL")
        .env("COASTGUARD_DATA_DIR", data_dir)
        .env("COASTGUARD_ADMIN_PASSWORD", PASSWORD)
        .env("COASTGUARD_LOG_LEVEL", "warn")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn demo_mode_refuses_engines_and_says_demo() {
    for db in testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let mut state = db.state();
        state.demo = true;
        coastguard_core::demo::load(&state, PASSWORD, coastguard_core::now())
            .await
            .unwrap();
        // As `coastguard serve` does: the mark puts the server in demo mode.
        let srv = TestServer::start(db).await;
        assert!(srv.state.demo);
        let admin = srv.token(Role::Admin).await;
        let me = srv.get_json("/api/v1/me", &admin).await;
        assert_eq!(me["demo"], true, "{me}");
        let res = srv
            .call(
                reqwest::Method::POST,
                "/api/v1/engines",
                &admin,
                &serde_json::json!({ "name": "real-host", "endpoint": "tcp://10.0.0.1:2376" }),
            )
            .await;
        assert_eq!(res.status(), 409);
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("demo estate"),
            "{body}"
        );
        let hosts = srv.get_json("/api/v1/hosts", &admin).await;
        assert_eq!(hosts["total"], 4, "nothing was added: {hosts}");
        let id = hosts["items"][0]["id"].as_i64().unwrap();
        let sync = srv
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/engines/{id}/sync"),
                &admin,
                &serde_json::Value::Null,
            )
            .await;
        assert_eq!(sync.status(), 409);
    }
}

#[tokio::test]
async fn a_real_server_is_not_in_demo_mode() {
    let srv = TestServer::start(testing::sqlite().await).await;
    let viewer = srv.token(Role::Viewer).await;
    assert_eq!(srv.get_json("/api/v1/me", &viewer).await["demo"], false);
}

#[test]
fn demo_load_and_remove_use_their_own_database_only() {
    let dir = tempdir("demo-cli");
    // A real database in the same data directory: the demo must not touch it.
    let real = coastguard(&["migrate"], &dir);
    assert!(real.status.success(), "{}", text(&real));
    let real_db = dir.join("coastguard.db");
    let before = std::fs::metadata(&real_db).unwrap().len();

    let out = coastguard(&["demo", "load"], &dir);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("4 hosts, 15 images, 18 containers"), "{said}");
    assert!(said.contains("COASTGUARD_ADMIN_PASSWORD"), "{said}");
    assert!(
        !said.contains(PASSWORD),
        "the password is not echoed: {said}"
    );
    assert!(dir.join("demo.db").exists());
    assert_eq!(std::fs::metadata(&real_db).unwrap().len(), before);

    // Loading again starts the story afresh.
    let again = coastguard(&["demo", "load"], &dir);
    assert!(again.status.success(), "{}", text(&again));

    // A database in use is never a target, even named: remove refuses it, load too.
    let token = coastguard(
        &["token", "create", "--name", "ci", "--role", "viewer"],
        &dir,
    );
    assert!(token.status.success(), "{}", text(&token));
    let real_url = format!("sqlite://{}", real_db.display());
    let refuse = coastguard(&["demo", "remove", "--demo-db", &real_url], &dir);
    assert!(!refuse.status.success());
    assert!(
        text(&refuse).contains("not the demo estate"),
        "{}",
        text(&refuse)
    );
    let refuse = coastguard(&["demo", "load", "--demo-db", &real_url], &dir);
    assert!(!refuse.status.success());
    assert!(real_db.exists());

    let removed = coastguard(&["demo", "remove"], &dir);
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(!dir.join("demo.db").exists());
    assert!(real_db.exists());
    let nothing = coastguard(&["demo", "remove"], &dir);
    assert!(nothing.status.success());
    assert!(text(&nothing).contains("nothing to remove"));
    let serve = coastguard(&["demo", "serve"], &dir);
    assert!(!serve.status.success());
    assert!(
        text(&serve).contains("coastguard demo load"),
        "{}",
        text(&serve)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn demo_load_refuses_a_database_that_holds_anything() {
    for db in testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let dir = tempdir("demo-refuse");
        let srv = TestServer::start(db).await;
        srv.user("someone", Role::Viewer).await;
        let url = srv.db.url.clone();
        let out = coastguard(&["demo", "load", "--demo-db", &url], &dir);
        assert!(!out.status.success());
        assert!(
            text(&out).contains("holds a Coastguard estate"),
            "{}",
            text(&out)
        );
        let out = coastguard(&["demo", "remove", "--demo-db", &url], &dir);
        assert!(!out.status.success());
        assert_eq!(srv.state.store.count_users().await.unwrap(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn demo_load_and_remove_on_postgres() {
    let Some(db) = testing::postgres().await else {
        return;
    };
    let dir = tempdir("demo-pg");
    let url = db.url.clone();
    let out = coastguard(&["demo", "load", "--demo-db", &url], &dir);
    assert!(out.status.success(), "{}", text(&out));
    assert!(coastguard_core::demo::mark(&db.reopen().await)
        .await
        .unwrap()
        .is_some());
    let out = coastguard(&["demo", "remove", "--demo-db", &url], &dir);
    assert!(out.status.success(), "{}", text(&out));
    assert!(db.store.db().table_names().await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "coastguard-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Every page of the demo estate, asked for many times at once: each answer must be
/// whole. A page whose streamed body stops half-way (a `<Suspense>` that never
/// resolves) fails here with its path and where its body stopped. Run beside the other
/// tests (which start servers all the time), this failed two runs out of two until the
/// route list was made once per process (`http::app_routes`).
#[tokio::test]
async fn every_page_of_the_demo_estate_streams_to_its_end_under_concurrency() {
    use futures::StreamExt as _;
    for db in testing::backends().await {
        eprintln!("backend: {:?}", db.backend);
        let mut state = db.state();
        state.demo = true;
        coastguard_core::demo::load(&state, PASSWORD, coastguard_core::now())
            .await
            .unwrap();
        let srv = TestServer::start(db).await;
        // An admin, so that the admin pages are among them.
        srv.user("ada", Role::Admin).await;
        let cookie = srv.login("ada", crate::PASSWORD).await.unwrap();
        let admin = srv.token(Role::Admin).await;
        let mut pages: Vec<String> = [
            "/",
            "/risk",
            "/images",
            "/containers",
            "/hosts",
            "/vulnerabilities",
            "/findings",
            "/scans",
            "/trends",
            "/suppressions",
            "/admin/settings",
            "/admin/users",
            "/admin/tokens",
            "/admin/audit",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        for (list, page) in [
            ("images", "images"),
            ("containers", "containers"),
            ("hosts", "hosts"),
        ] {
            let items = srv
                .get_json(&format!("/api/v1/{list}?per_page=100"), &admin)
                .await;
            for item in items["items"].as_array().unwrap() {
                pages.push(format!("/{page}/{}", item["id"].as_i64().unwrap()));
            }
        }
        assert!(pages.len() > 30, "{pages:?}");
        let rounds = 3;
        let asked: Vec<String> = (0..rounds).flat_map(|_| pages.clone()).collect();
        let answers = futures::stream::iter(asked)
            .map(|path| {
                let req = srv
                    .http
                    .get(srv.url(&path))
                    .header(reqwest::header::COOKIE, &cookie)
                    .timeout(std::time::Duration::from_secs(30));
                async move {
                    let res = req.send().await;
                    let status = res.as_ref().map(|r| r.status().as_u16()).ok();
                    // Read chunk by chunk, so that a body that stops shows how far it got.
                    let body = match res {
                        Ok(mut r) => {
                            let mut got = Vec::new();
                            loop {
                                match r.chunk().await {
                                    Ok(Some(c)) => got.extend_from_slice(&c),
                                    Ok(None) => break Ok(got),
                                    Err(e) => {
                                        let text = String::from_utf8_lossy(&got).into_owned();
                                        let tail: String = text
                                            .chars()
                                            .rev()
                                            .take(600)
                                            .collect::<Vec<_>>()
                                            .into_iter()
                                            .rev()
                                            .collect();
                                        break Err(format!(
                                            "{e} after {} bytes, ending: {tail}",
                                            got.len()
                                        ));
                                    }
                                }
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    (path, status, body)
                }
            })
            .buffer_unordered(12)
            .collect::<Vec<_>>()
            .await;
        let broken: Vec<String> = answers
            .iter()
            .filter(|(_, status, body)| *status != Some(200) || body.is_err())
            .map(|(path, status, body)| format!("{path}: {status:?} {:?}", body.as_ref().err()))
            .collect();
        assert!(
            broken.is_empty(),
            "{} of {} answers broken: {broken:#?}",
            broken.len(),
            answers.len()
        );
    }
}
