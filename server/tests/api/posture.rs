//! Risk scores, snapshots, trends, charts and the SLA over the REST API.

use crate::scans::fixture;
use coastguard_model::Role;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn risk_trends_charts_and_sla() {
    crate::on_each_backend!(|srv| {
        let viewer = srv.token(Role::Viewer).await;
        let analyst = srv.token(Role::Analyst).await;
        let admin = srv.token(Role::Admin).await;
        let res = srv
            .http
            .post(srv.url("/api/v1/scans"))
            .bearer_auth(&analyst)
            .body(fixture("scans/trivy/alpine-3.10.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let image = res.json::<Value>().await.unwrap()[0]["image"]["id"]
            .as_i64()
            .expect("the report names its image");

        // The ingest marked scores stale; the job (run here by hand) computes them.
        assert!(srv.state.store.take_risk_stale().await.unwrap());
        srv.state
            .store
            .recompute_risk(coastguard_core::now())
            .await
            .unwrap();
        let ranked = srv.get_json("/api/v1/risk?kind=image", &viewer).await;
        assert_eq!(ranked[0]["id"], image);
        assert_eq!(ranked[0]["top_factor"], "vulnerabilities");
        let score = ranked[0]["score"].as_i64().unwrap();
        assert!(score > 0 && score <= 100);
        let b = srv
            .get_json(&format!("/api/v1/risk/image/{image}"), &viewer)
            .await;
        assert_eq!(b["score"], score);
        let vulns = &b["factors"][0];
        assert_eq!(vulns["kind"], "vulnerabilities");
        assert!(vulns["items"][0]["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/vulnerabilities?image={image}&package=")));
        assert!(!b["fixes"].as_array().unwrap().is_empty());
        let bad = srv
            .get("/api/v1/risk?kind=galaxy", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 422);
        let err: Value = bad.json().await.unwrap();
        assert_eq!(err["error"]["location"], "kind");
        assert_eq!(
            srv.get("/api/v1/risk/container/424242", &viewer)
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            srv.http
                .get(srv.url("/api/v1/risk"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );

        // Snapshots: analysts take one now; viewers read trends and charts.
        assert_eq!(
            srv.call(Method::POST, "/api/v1/snapshots", &viewer, &Value::Null)
                .await
                .status(),
            403
        );
        let res = srv
            .call(Method::POST, "/api/v1/snapshots", &analyst, &Value::Null)
            .await;
        assert_eq!(res.status(), 200);
        let trends = srv.get_json("/api/v1/trends", &viewer).await;
        let days = trends["days"].as_array().unwrap();
        let today = days.last().unwrap();
        let open: i64 = ["critical", "high", "medium", "low", "unknown"]
            .iter()
            .map(|s| today["open"][s].as_i64().unwrap())
            .sum();
        let listed = srv
            .get_json("/api/v1/vulnerabilities?limit=1", &viewer)
            .await["total"]
            .as_i64()
            .unwrap();
        assert_eq!(open, listed, "today's snapshot counts what the list counts");
        let svg = srv
            .get("/api/v1/trends/charts/open", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(svg.status(), 200);
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        assert!(svg
            .text()
            .await
            .unwrap()
            .contains("<title>Open vulnerability findings by severity</title>"));
        let csv = srv
            .get("/api/v1/trends/charts/open?format=csv", &viewer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.starts_with("day,critical,high,medium,low,unknown,negligible\n"));
        assert!(csv
            .lines()
            .last()
            .unwrap()
            .starts_with(today["day"].as_str().unwrap()));
        for (path, location) in [
            ("/api/v1/trends/charts/pie", "chart"),
            ("/api/v1/trends/charts/open?format=png", "format"),
            ("/api/v1/trends?from=last-week", "from"),
            ("/api/v1/trends?host=1&team=payments", "team"),
            ("/api/v1/trends?host=web-1", "query"),
            ("/api/v1/trends/charts/open?team=%20", "team"),
        ] {
            let res = srv.get(path, &viewer).send().await.unwrap();
            assert_eq!(res.status(), 422, "{path}");
            assert_eq!(
                res.json::<Value>().await.unwrap()["error"]["location"],
                location,
                "{path}"
            );
        }
        // Trends name their scope and offer the others; a scope without snapshots is
        // empty, not an error.
        assert_eq!(trends["scope"]["kind"], "global");
        assert_eq!(trends["scopes"][0]["kind"], "global");
        let team = srv.get_json("/api/v1/trends?team=nobody", &viewer).await;
        assert_eq!(team["scope"]["key"], "nobody");
        assert!(team["days"].as_array().unwrap().is_empty());
        let res = srv
            .get(
                "/api/v1/trends/charts/flow?format=csv&team=a%22b%0D%0Ac",
                &viewer,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let disposition = res.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"coastguard-flow-team-a-b--c-"),
            "{disposition}"
        );
        let res = srv
            .get("/api/v1/trends?from=2026-02-01&to=2026-01-01", &viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);

        // The SLA: everyone reads it, only admins change it, and it is validated.
        let sla = srv.get_json("/api/v1/settings/sla", &viewer).await;
        assert_eq!(sla["critical_days"], 7);
        let strict = json!({"critical_days": 1, "high_days": 2, "medium_days": 3, "low_days": 4});
        assert_eq!(
            srv.call(Method::PUT, "/api/v1/settings/sla", &analyst, &strict)
                .await
                .status(),
            403
        );
        let res = srv
            .call(
                Method::PUT,
                "/api/v1/settings/sla",
                &admin,
                &json!({"critical_days": 0, "high_days": 2, "medium_days": 3, "low_days": 4}),
            )
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["location"],
            "critical_days"
        );
        let res = srv
            .call(Method::PUT, "/api/v1/settings/sla", &admin, &strict)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(srv.get_json("/api/v1/settings/sla", &viewer).await, strict);
        // Findings count from when Coastguard first saw them (moments ago), not from
        // the report's age: none is past even a one-day SLA yet.
        let trends = srv.get_json("/api/v1/trends", &viewer).await;
        assert_eq!(trends["sla"], strict);
        let today = trends["days"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(today["sla_breaches"].as_i64().unwrap(), 0);
    });
}
