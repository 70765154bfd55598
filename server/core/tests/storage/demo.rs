//! The demo estate, loaded through the production paths, on both backends: what it
//! shows, that it tells the same story every time, that secrets it plants are never
//! stored, and that it never goes into a database holding anything else.

use coastguard_core::demo::{self, estate, vulns, Holds};
use coastguard_core::posture::snapshots::{day_start, Scope, DAY};
use coastguard_core::testing::TestDb;
use coastguard_model::findings::SubjectKind;
use coastguard_model::inventory::ListQuery;
use coastguard_model::trends::SlaPolicy;
use coastguard_model::vulns::{VulnQuery, VulnState};
use coastguard_model::Severity;

const PASSWORD: &str = "demo-password-long-enough";
/// A fixed moment, so two loads can be compared field by field.
const NOW: i64 = 1_790_000_000;

async fn loaded(db: &TestDb) -> coastguard_core::AppState {
    let mut state = db.state();
    state.demo = true;
    let out = demo::load(&state, PASSWORD, NOW).await.expect("demo loads");
    assert_eq!(out.hosts, 4);
    state
}

async fn vuln_state(db: &TestDb, vuln: &str, image: &str) -> VulnState {
    let detail = db.store.vulnerability_detail(vuln).await.unwrap();
    detail
        .findings
        .iter()
        .find(|f| f.image.name == image)
        .unwrap_or_else(|| panic!("{vuln} not found on {image}"))
        .state
}

#[tokio::test]
async fn the_story_is_stored_as_its_sources_would_store_it() {
    crate::on_each_backend!(|db| {
        let state = loaded(&db).await;
        assert!(matches!(
            demo::examine(db.store.db()).await.unwrap(),
            Holds::Demo(_)
        ));

        // Four engines, seventeen containers running and one removed 30 days ago.
        let hosts = db.store.list_hosts(&ListQuery::default()).await.unwrap();
        assert_eq!(hosts.total, 4);
        let running = db
            .store
            .list_containers(
                &ListQuery {
                    state: Some("running".into()),
                    per_page: Some(100),
                    ..ListQuery::default()
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(running.total, 17);
        let all = db
            .store
            .list_containers(
                &ListQuery {
                    include_gone: Some(true),
                    per_page: Some(100),
                    ..ListQuery::default()
                },
                None,
            )
            .await
            .unwrap();
        let cron = all.items.iter().find(|c| c.name == "legacy-cron").unwrap();
        assert_eq!(
            cron.gone_at.map(day_start),
            Some(day_start(NOW - 30 * DAY - 120 * 60))
        );

        // The build host's engine listens on plain TCP: the check saw the engine's facts.
        let tcp = db
            .store
            .list_config_findings(&ListQuery {
                check: Some("host.tcp_without_tls".into()),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(tcp.items.len(), 1);
        assert_eq!(tcp.items[0].subject_name, "build-01");

        // Hardening 30 days ago resolved the API's secret in its environment.
        let secrets = db
            .store
            .list_config_findings(&ListQuery {
                check: Some("container.secret_in_env".into()),
                state: Some("all".into()),
                per_page: Some(100),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        let api = secrets
            .items
            .iter()
            .find(|f| f.subject_name == "shop-api-1")
            .unwrap();
        assert_eq!(api.state.as_str(), "resolved");
        assert!(secrets
            .items
            .iter()
            .any(|f| f.subject_name == "grafana" && f.state.as_str() == "open"));

        // The analyst's acceptance of docker-gc's socket mount, 44 days ago for 90.
        let sock = db
            .store
            .list_config_findings(&ListQuery {
                check: Some("container.docker_socket".into()),
                state: Some("all".into()),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        let gc = sock
            .items
            .iter()
            .find(|f| f.subject_name == "docker-gc")
            .unwrap();
        assert_eq!(gc.state.as_str(), "accepted");
        assert_eq!(gc.accepted_by.as_deref(), Some(demo::ANALYST));

        // Vulnerabilities: Log4Shell fixed 40 days ago and known exploited; Text4Shell
        // not affecting payments by its team's VEX; Looney Tunables accepted on postgres.
        assert_eq!(
            vuln_state(
                &db,
                vulns::LOG4SHELL.id,
                "registry.demo.invalid/shop/payments:1.9.3"
            )
            .await,
            VulnState::Fixed
        );
        assert!(
            db.store
                .vulnerability_detail(vulns::LOG4SHELL.id)
                .await
                .unwrap()
                .known_exploited
        );
        assert_eq!(
            vuln_state(
                &db,
                vulns::TEXT4SHELL.id,
                "registry.demo.invalid/shop/payments:1.9.3"
            )
            .await,
            VulnState::Suppressed
        );
        assert_eq!(
            vuln_state(&db, vulns::LOONEY_TUNABLES.id, "postgres:15.4").await,
            VulnState::Suppressed
        );
        assert_eq!(
            vuln_state(
                &db,
                vulns::REGRESSHION.id,
                "jenkins/inbound-agent:3107.v665000b_51092-15"
            )
            .await,
            VulnState::Open
        );

        // Open findings now, counted from the estate's own description: every carried
        // vulnerability whose window includes today, less the two suppressions.
        let expected_open: i64 = estate::IMAGES
            .iter()
            .filter(|i| !i.scan_days().is_empty())
            .map(|i| {
                let last = *i.scan_days().last().unwrap();
                i.vulns
                    .iter()
                    .filter(|c| last <= c.from && c.until.is_none_or(|u| last > u))
                    .count() as i64
            })
            .sum::<i64>()
            - 2;
        let overview = db.store.overview(7, NOW).await.unwrap();
        assert_eq!(overview.open_vulnerabilities.total(), expected_open);
        assert_eq!(overview.suppressed_vulnerabilities, 2);
        assert_eq!(overview.hosts, 4);
        assert_eq!(overview.containers_running, 17);
        assert_eq!(overview.images, estate::IMAGES.len() as i64);
        // etl-worker was never scanned; docker-gc's last scan is 25 days old.
        assert_eq!(overview.coverage.unscanned, 1);
        assert_eq!(overview.coverage.outdated, 1);

        // Risk: every image and running container has a score; the riskiest image has
        // a known-exploited or critical vulnerability open.
        let ranking = db
            .store
            .risk_ranking(coastguard_model::risk::RiskSubject::Image, 50)
            .await
            .unwrap();
        assert!(ranking.len() >= 10, "{} images scored", ranking.len());
        assert!(ranking[0].score > 0);

        // Ninety days of posture, ending today: the first week's scans found the estate's
        // vulnerabilities, critical ones peaked mid-story and were mostly fixed since
        // (Log4Shell, the Go images' upgrades), and something was fixed along the way.
        let trends = db
            .store
            .trends(
                &Scope::Global,
                day_start(NOW) - 89 * DAY,
                day_start(NOW),
                SlaPolicy::default(),
            )
            .await
            .unwrap();
        assert_eq!(trends.days.len(), 90);
        let first = &trends.days[0];
        let last = trends.days.last().unwrap();
        assert!(first.open.total() > 0);
        assert!(trends.days.iter().map(|d| d.fixed_findings).sum::<i64>() > 10);
        assert!(
            trends
                .days
                .iter()
                .skip(1)
                .map(|d| d.new_findings)
                .sum::<i64>()
                > 5
        );
        assert_ne!(first.open, last.open);
        let peak = trends
            .days
            .iter()
            .map(|d| d.open.get(Severity::Critical))
            .max()
            .unwrap();
        assert!(
            peak > last.open.get(Severity::Critical) + 3,
            "peak {peak}, now {:?}",
            last.open
        );
        assert!(trends.days.iter().map(|d| d.open.total()).max().unwrap() > last.open.total());
        // Teams have their own trends.
        let scopes = db.store.trend_scopes().await.unwrap();
        assert!(
            scopes.iter().any(|s| s.label.contains("payments")),
            "{scopes:?}"
        );

        // The audit log says who did what: the pipeline's uploads, the analyst's calls.
        let audit = db.store.list_audit(None, 500).await.unwrap();
        assert!(
            audit
                .items
                .iter()
                .filter(|e| e.action == "exception.create" && e.actor_name == demo::ANALYST)
                .count()
                >= 2
        );
        assert!(audit
            .items
            .iter()
            .any(|e| e.action == "scan.ingest" && e.actor_name == "demo:ci-pipeline"));
        drop(state);
    });
}

#[tokio::test]
async fn planted_secrets_are_found_and_never_stored() {
    crate::on_each_backend!(|db| {
        loaded(&db).await;
        let planted = [
            "Summer2023!",
            "ghp_DEMOdemoDEMOdemoDEMOdemoDEMOdemo0000",
            "grafana-admin-2023",
            "9f3c1e7a2b8d4f60a1c3e5b7d9f1a3c5",
        ];
        let mut facts = Vec::new();
        for kind in [SubjectKind::Container, SubjectKind::Image] {
            let listing = match kind {
                SubjectKind::Container => db
                    .store
                    .list_containers(
                        &ListQuery {
                            include_gone: Some(true),
                            per_page: Some(100),
                            ..ListQuery::default()
                        },
                        None,
                    )
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>(),
                _ => db
                    .store
                    .list_images(&ListQuery {
                        per_page: Some(100),
                        ..ListQuery::default()
                    })
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|i| i.id)
                    .collect(),
            };
            for id in listing {
                facts.push(
                    db.store
                        .facts_json(kind, id)
                        .await
                        .unwrap()
                        .unwrap_or_default(),
                );
            }
        }
        let all = facts.join("\n");
        for secret in planted {
            assert!(!all.contains(secret), "{secret} stored in clear");
        }
        // ...and each was found.
        let found = db
            .store
            .list_config_findings(&ListQuery {
                q: Some("secret".into()),
                state: Some("all".into()),
                per_page: Some(100),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        let subjects: Vec<&str> = found
            .items
            .iter()
            .map(|f| f.subject_name.as_str())
            .collect();
        for who in [
            "shop-api-1",
            "grafana",
            "jenkins-agent",
            "jenkins/inbound-agent:3107.v665000b_51092-15",
        ] {
            assert!(
                subjects.contains(&who),
                "no secret finding on {who}: {subjects:?}"
            );
        }
    });
}

#[tokio::test]
async fn every_load_tells_the_same_story() {
    crate::on_each_backend!(|db| {
        loaded(&db).await;
        let other = coastguard_core::testing::sqlite().await;
        loaded(&other).await;
        assert_eq!(
            db.store.overview(7, NOW).await.unwrap(),
            other.store.overview(7, NOW).await.unwrap()
        );
        let q = VulnQuery {
            state: Some("all".into()),
            limit: Some(500),
            ..VulnQuery::default()
        };
        let ids = |page: coastguard_model::vulns::VulnPage| {
            let mut v: Vec<(String, String, String, i64)> = page
                .items
                .into_iter()
                .map(|f| {
                    (
                        f.vuln_id,
                        f.image.name,
                        format!("{:?}", f.state),
                        f.first_seen_at,
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            ids(db.store.list_vuln_findings(&q).await.unwrap()),
            ids(other.store.list_vuln_findings(&q).await.unwrap())
        );
    });
}

#[tokio::test]
async fn never_loads_into_a_database_that_holds_anything_else() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        assert_eq!(demo::examine(db.store.db()).await.unwrap(), Holds::Nothing);
        coastguard_core::access::create_user(
            &state,
            &coastguard_core::auth::Authed::cli(),
            coastguard_model::NewUser {
                name: "someone".into(),
                role: coastguard_model::Role::Viewer,
                password: "a-real-users-password".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            demo::examine(db.store.db()).await.unwrap(),
            Holds::Other("a Coastguard estate")
        );
        let refused = demo::load(&state, PASSWORD, NOW).await.unwrap_err();
        assert!(refused.to_string().contains("empty database"), "{refused}");
        // Nothing of the demo went in: no mark, no hosts.
        assert!(demo::mark(&db.store).await.unwrap().is_none());
        assert_eq!(
            db.store
                .list_hosts(&ListQuery::default())
                .await
                .unwrap()
                .total,
            0
        );
    });
}

#[tokio::test]
async fn its_tables_can_be_dropped_and_it_loads_again() {
    crate::on_each_backend!(|db| {
        loaded(&db).await;
        db.store.db().drop_all_tables().await.unwrap();
        assert!(db.store.db().table_names().await.unwrap().is_empty());
        assert_eq!(demo::examine(db.store.db()).await.unwrap(), Holds::Nothing);
        db.store.db().migrate().await.unwrap();
        loaded(&db).await;
    });
}
