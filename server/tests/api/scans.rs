//! Scan ingestion and vulnerability findings over the REST API and the command line.

use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn fixture(path: &str) -> Vec<u8> {
    let base = std::env::var("CARGO_MANIFEST_DIR").expect("run through cargo test");
    std::fs::read(format!("{base}/core/tests/fixtures/{path}")).unwrap()
}

#[tokio::test]
async fn upload_list_page_export_and_suppress() {
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        let analyst = srv.token(Role::Analyst).await;
        let report = fixture("scans/trivy/alpine-3.10.json");
        let doc: Value = serde_json::from_slice(&report).unwrap();
        let pairs: BTreeSet<(String, String)> = doc["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["PkgName"].as_str().unwrap().into(),
                    v["VulnerabilityID"].as_str().unwrap().into(),
                )
            })
            .collect();
        let high_or_worse = doc["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["Severity"].as_str(), Some("HIGH" | "CRITICAL")))
            .count();

        let upload = |token: &str, body: Vec<u8>| {
            srv.http
                .post(srv.url("/api/v1/scans"))
                .bearer_auth(token)
                .body(body)
                .send()
        };
        assert_eq!(upload(&viewer, report.clone()).await.unwrap().status(), 403);
        let res = upload(&analyst, report.clone()).await.unwrap();
        assert_eq!(res.status(), 201);
        let summaries: Value = res.json().await.unwrap();
        assert_eq!(summaries[0]["format"], "trivy");
        assert_eq!(
            summaries[0]["created"].as_u64().unwrap() as usize,
            pairs.len()
        );

        // Bad input: a JSON error that says where, and nothing stored.
        let res = upload(&analyst, b"{\"SchemaVersion\": 2, \"Results\": [{\"Target\": \"x\", \"Vulnerabilities\": [{}]}]}".to_vec()).await.unwrap();
        assert_eq!(res.status(), 422);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid");
        assert!(
            err["error"]["location"]
                .as_str()
                .unwrap()
                .starts_with("Results[0].Vulnerabilities[0]"),
            "{err}"
        );
        let res = upload(&analyst, b"not json".to_vec()).await.unwrap();
        assert_eq!(res.status(), 422);

        // Listing: totals, filters, keyset pages.
        let all = srv
            .get_json("/api/v1/vulnerabilities?limit=500", &viewer)
            .await;
        assert_eq!(all["total"].as_u64().unwrap() as usize, pairs.len());
        let high = srv
            .get_json("/api/v1/vulnerabilities?severity=high", &viewer)
            .await;
        assert_eq!(high["total"].as_u64().unwrap() as usize, high_or_worse);
        let mut seen = BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/vulnerabilities?limit=2&cursor={c}"),
                None => "/api/v1/vulnerabilities?limit=2".into(),
            };
            let page = srv.get_json(&path, &viewer).await;
            for item in page["items"].as_array().unwrap() {
                assert!(
                    seen.insert(item["id"].as_i64().unwrap()),
                    "a row appeared twice"
                );
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), pairs.len());
        let res = srv
            .get("/api/v1/vulnerabilities?sort=price", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);

        // Export: every matching row, so paging parameters are refused, not ignored.
        let res = srv
            .get("/api/v1/vulnerabilities/export?format=csv&limit=1", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        // The same rows as CSV.
        let res = srv
            .get("/api/v1/vulnerabilities/export?format=csv", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = res.text().await.unwrap();
        assert_eq!(csv.lines().count(), pairs.len() + 1, "{csv}");
        assert!(csv.starts_with("vuln_id,severity"));
        let json_export: Value = srv
            .get("/api/v1/vulnerabilities/export?format=json", &viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json_export.as_array().unwrap().len(), pairs.len());

        // The vulnerability, with every image it affects.
        let detail = srv
            .get_json("/api/v1/vulnerabilities/CVE-2019-1549", &viewer)
            .await;
        assert_eq!(detail["vuln_id"], "CVE-2019-1549");
        assert!(!detail["findings"].as_array().unwrap().is_empty());
        assert_eq!(
            srv.get("/api/v1/vulnerabilities/CVE-0000-0000", &viewer)
                .send()
                .await
                .unwrap()
                .status(),
            404
        );

        // Suppressing it: visible with its reason, out of the open counts.
        let open_before =
            srv.get_json("/api/v1/overview", &viewer).await["open_vulnerabilities"].clone();
        let res = srv
            .call(Method::POST, "/api/v1/suppressions", &analyst, &json!({"vuln_id": "CVE-2019-1549", "kind": "not_affected", "justification": "openssl is not used", "expires_in_days": 30}))
            .await;
        assert_eq!(res.status(), 201);
        let suppression: i64 = res.json().await.unwrap();
        let suppressed = srv
            .get_json("/api/v1/vulnerabilities?state=suppressed", &viewer)
            .await;
        assert!(suppressed["total"].as_i64().unwrap() >= 1);
        let overview = srv.get_json("/api/v1/overview", &viewer).await;
        assert!(overview["suppressed_vulnerabilities"].as_i64().unwrap() >= 1);
        assert_ne!(overview["open_vulnerabilities"], open_before);
        let list = srv.get_json("/api/v1/suppressions", &viewer).await;
        assert_eq!(list[0]["justification"], "openssl is not used");
        assert!(list[0]["findings"].as_i64().unwrap() >= 1);
        let res = srv
            .call(
                Method::POST,
                "/api/v1/suppressions",
                &viewer,
                &json!({"vuln_id": "CVE-1", "kind": "accepted", "justification": "x y z"}),
            )
            .await;
        assert_eq!(res.status(), 403);
        let res = srv
            .call(
                Method::POST,
                "/api/v1/suppressions",
                &analyst,
                &json!({"vuln_id": "CVE-1", "kind": "accepted", "justification": ""}),
            )
            .await;
        assert_eq!(res.status(), 422);
        let res = srv
            .call(
                Method::DELETE,
                &format!("/api/v1/suppressions/{suppression}"),
                &analyst,
                &Value::Null,
            )
            .await;
        assert_eq!(res.status(), 204);
        assert_eq!(
            srv.get_json("/api/v1/overview", &viewer).await["open_vulnerabilities"],
            open_before
        );

        // Scan history, and the audit trail.
        let scans = srv.get_json("/api/v1/scans", &viewer).await;
        assert_eq!(
            scans["items"].as_array().unwrap().len(),
            1,
            "the refused uploads left no scan"
        );
        let image = scans["items"][0]["image"]["id"].as_i64().unwrap();
        let history = srv
            .get_json(&format!("/api/v1/scans?image={image}"), &viewer)
            .await;
        assert_eq!(
            history["items"][0]["summary"]["created"].as_u64().unwrap() as usize,
            pairs.len()
        );
        let admin = srv.token(Role::Admin).await;
        let audit = srv
            .get("/api/v1/audit", &admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for action in ["scan.ingest", "exception.create", "exception.revoke"] {
            assert!(audit.contains(action), "{action}");
        }
    });
}

#[tokio::test]
async fn oversized_reports_are_refused_with_413() {
    for db in coastguard_core::testing::backends().await {
        let settings = coastguard_core::Settings {
            max_report_mb: 1,
            ..Default::default()
        };
        let srv = crate::TestServer::start_with(std::sync::Arc::new(db), settings).await;
        let analyst = srv.token(Role::Analyst).await;
        let res = srv
            .http
            .post(srv.url("/api/v1/scans"))
            .bearer_auth(&analyst)
            .body(vec![b' '; 2 * 1024 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["code"],
            "payload_too_large"
        );
        // The upload form has the same limit.
        srv.user("wes", Role::Analyst).await;
        let cookie = srv.login("wes", crate::PASSWORD).await.unwrap();
        let res = srv
            .http
            .post(srv.url("/ui/upload_scan"))
            .header(reqwest::header::COOKIE, &cookie)
            .header("origin", srv.base.clone())
            .multipart(upload_form(&[("big.json", vec![b' '; 2 * 1024 * 1024])]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        assert!(res.text().await.unwrap().contains("1 MiB limit"));
        assert_eq!(
            srv.state
                .store
                .list_scans(None, None, 10)
                .await
                .unwrap()
                .items
                .len(),
            0
        );
    }
}

/// The upload form's multipart body: an optional image and report files.
fn upload_form(files: &[(&str, Vec<u8>)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("image", "");
    for (name, bytes) in files {
        form = form.part(
            "report",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    form
}

#[tokio::test]
async fn the_upload_form_ingests_each_file_on_its_own() {
    use reqwest::header::COOKIE;
    crate::on_each_backend!(|srv| {
        srv.user("una", Role::Analyst).await;
        srv.user("vic", Role::Viewer).await;
        let analyst = srv.login("una", crate::PASSWORD).await.unwrap();
        let viewer = srv.login("vic", crate::PASSWORD).await.unwrap();
        let post = |cookie: &str, form: reqwest::multipart::Form| {
            srv.http
                .post(srv.url("/ui/upload_scan"))
                .header(COOKIE, cookie)
                .header("origin", srv.base.clone())
                .multipart(form)
                .send()
        };
        let trivy = fixture("scans/trivy/alpine-3.10.json");
        let doc: Value = serde_json::from_slice(&trivy).unwrap();
        let entries = doc["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .len();

        let res = post(&viewer, upload_form(&[("a.json", trivy.clone())]))
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        let res = post(
            &analyst,
            upload_form(&[
                ("alpine.json", trivy.clone()),
                ("broken.json", b"{\"matches\": [".to_vec()),
            ]),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
        let outcomes: Value = res.json().await.unwrap();
        assert_eq!(outcomes[0]["file"], "alpine.json");
        assert_eq!(outcomes[0]["error"], Value::Null);
        assert_eq!(outcomes[0]["summaries"][0]["entries"], entries);
        assert_eq!(
            outcomes[0]["summaries"][0]["image"]["digest"],
            doc["Metadata"]["ImageID"]
        );
        assert_eq!(outcomes[1]["file"], "broken.json");
        let error = outcomes[1]["error"].as_str().unwrap();
        assert!(error.contains("line 1, column 13"), "{error}");
        // Stored once, from the UI channel, by the person who uploaded it.
        let token = srv.token(Role::Viewer).await;
        let scans = srv.get_json("/api/v1/scans", &token).await;
        assert_eq!(scans["items"].as_array().unwrap().len(), 1);
        assert_eq!(scans["items"][0]["source"], "ui");
        assert_eq!(scans["items"][0]["uploaded_by"], "una");

        // No file at all, and a body that is not multipart.
        let res = post(&analyst, upload_form(&[])).await.unwrap();
        assert_eq!(res.status(), 422);
        let res = srv
            .http
            .post(srv.url("/ui/upload_scan"))
            .header(COOKIE, &analyst)
            .header("origin", srv.base.clone())
            .header("content-type", "multipart/form-data")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        // A list with no filters at all, as the browser sends it when it refetches.
        for path in [
            crate::contract::server_fn_path::<coastguard_app::server_fns::scans::ListVulns>(),
            crate::contract::server_fn_path::<
                coastguard_app::server_fns::inventory::ListConfigFindings,
            >(),
            crate::contract::server_fn_path::<coastguard_app::server_fns::inventory::ListImages>(),
        ] {
            let res = srv
                .http
                .post(srv.url(&path))
                .header(COOKIE, &viewer)
                .header("origin", srv.base.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body("")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}: {}", res.text().await.unwrap());
        }
    });
}

#[tokio::test]
async fn exploit_intelligence_feeds_go_through_the_scans_door() {
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        let analyst = srv.token(Role::Analyst).await;
        let post = |token: &str, body: &'static str| {
            srv.http
                .post(srv.url("/api/v1/scans"))
                .bearer_auth(token)
                .body(body)
                .send()
        };
        let kev = r#"{"catalogVersion": "2026.11.24", "count": 1, "vulnerabilities": [
            {"cveID": "CVE-2019-1549", "dateAdded": "2026-11-01", "dueDate": "2026-11-22",
             "knownRansomwareCampaignUse": "Known"}]}"#;
        assert_eq!(post(&viewer, kev).await.unwrap().status(), 403);
        assert!(srv
            .get_json("/api/v1/feeds", &viewer)
            .await
            .as_array()
            .unwrap()
            .is_empty());
        let res = post(&analyst, kev).await.unwrap();
        assert_eq!(res.status(), 201);
        let out: Value = res.json().await.unwrap();
        assert_eq!(out[0]["kind"], "feed");
        assert_eq!(out[0]["format"], "kev");
        assert_eq!(out[0]["entries"], 1);
        let bad = post(
            &analyst,
            "cve,epss,percentile\nCVE-2019-1549,0.2,0.5\nCVE-2019-1551,,0.4\n",
        )
        .await
        .unwrap();
        assert_eq!(bad.status(), 422);
        let err: Value = bad.json().await.unwrap();
        assert_eq!(err["error"]["location"], "line 3");
        let feeds = srv.get_json("/api/v1/feeds", &viewer).await;
        assert_eq!(
            feeds.as_array().unwrap().len(),
            1,
            "the refused EPSS file left no trace"
        );
        assert_eq!(feeds[0]["kind"], "kev");
        assert_eq!(feeds[0]["version"], "2026.11.24");
        assert_eq!(
            srv.http
                .get(srv.url("/api/v1/feeds"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    });
}
