//! Exceptions in SQL on both databases: migration 0020 (the suppressions and the
//! accepted configuration findings an older release stored become exceptions of the one
//! model, with their ids, who made and revoked them, when, and a history; what they
//! covered stays covered), and a cluster scope covering that cluster's findings and
//! alert groups only.

use coastguard_core::testing;
use coastguard_core::with_db;
use coastguard_model::exceptions::{ExceptionKind, ExceptionStatus, Verdict};

const DAY: i64 = 86_400;

async fn exec(db: &testing::TestDb, sql: &str) {
    crate::exec(db, sql).await
}

#[tokio::test]
async fn suppressions_and_acceptances_become_exceptions_with_their_history() {
    for db in testing::backends_at(19).await {
        eprintln!("backend: {:?}", db.backend);
        let now = coastguard_core::now();
        let (t0, t1, t2) = (now - 40 * DAY, now - 20 * DAY, now - 10 * DAY);
        // What release 0019 stored: an image, a vulnerability with an alias, a finding
        // suppressed by a manual suppression, a revoked one (the revocation audited), a
        // VEX one waiting for an image, and two accepted configuration findings of one
        // check on one subject plus an open one.
        exec(&db, &format!(
            "INSERT INTO images (id, digest, first_seen_at, last_seen_at) VALUES (7, 'sha256:aa', {t0}, {t0})"
        )).await;
        exec(&db, "INSERT INTO vulnerabilities (id, vuln_id, severity, updated_at) VALUES (3, 'CVE-2024-0001', 'high', 1)").await;
        exec(&db, "INSERT INTO vulnerability_aliases (alias, vulnerability_id) VALUES ('CVE-2024-0001', 3), ('GHSA-xxxx', 3)").await;
        exec(&db, &format!(
            "INSERT INTO suppressions (id, vuln_id, image_id, pkg_name, kind, justification, source, created_by, created_at, expires_at) \
             VALUES (5, 'GHSA-xxxx', 7, 'openssl', 'accepted', 'behind the WAF', 'manual', 'alice', {t0}, {})",
            now + 30 * DAY
        )).await;
        exec(&db, &format!(
            "INSERT INTO suppressions (id, vuln_id, kind, justification, source, created_by, created_at, revoked_at) \
             VALUES (6, 'CVE-2024-0001', 'accepted', 'for the demo', 'manual', 'alice', {t0}, {t1})"
        )).await;
        exec(
            &db,
            &format!(
                "INSERT INTO audit_log (at, actor_kind, actor_name, action, target) \
             VALUES ({t1}, 'user', 'bob', 'suppression.revoke', 'suppression:6')"
            ),
        )
        .await;
        exec(&db, &format!(
            "INSERT INTO suppressions (id, vuln_id, image_digest, kind, justification, source, created_by, created_at) \
             VALUES (9, 'CVE-2024-0001', 'sha256:bb', 'not_affected', 'vulnerable_code_not_present', 'vex', 'ci', {t1})"
        )).await;
        for (id, instance, state, reason) in [
            (20, "/a", "accepted", "'lab box'"),
            (21, "/b", "accepted", "'lab box'"),
            (22, "/c", "open", "NULL"),
        ] {
            let accepted = if state == "accepted" {
                format!("'carol', {}", now + 5 * DAY)
            } else {
                "NULL, NULL".to_string()
            };
            exec(&db, &format!(
                "INSERT INTO config_findings (id, check_id, subject_kind, subject_id, instance, severity, state, \
                 first_seen_at, last_seen_at, accepted_reason, accepted_by, accepted_until) \
                 VALUES ({id}, 'container.mount', 'container', 4, '{instance}', 'medium', '{state}', {t0}, {t0}, {reason}, {accepted})"
            )).await;
        }
        exec(
            &db,
            &format!(
                "INSERT INTO audit_log (at, actor_kind, actor_name, action, target) \
             VALUES ({t2}, 'user', 'carol', 'finding.accept', 'config_finding:21')"
            ),
        )
        .await;

        db.store
            .db()
            .migrate()
            .await
            .expect("migrate to the latest");

        let store = &db.store;
        let (manual, history) = store.exception(5, now).await.unwrap();
        assert_eq!(manual.kind, ExceptionKind::Vulnerability);
        assert_eq!(
            (
                manual.target.as_str(),
                manual.verdict,
                manual.package.as_deref()
            ),
            ("GHSA-xxxx", Verdict::Accepted, Some("openssl"))
        );
        assert_eq!(manual.image.as_ref().map(|i| i.id), Some(7));
        assert_eq!(
            (
                manual.reason.as_str(),
                manual.owner.as_str(),
                manual.created_by.as_str()
            ),
            ("behind the WAF", "alice", "alice")
        );
        assert_eq!(manual.severity, coastguard_model::Severity::High);
        assert_eq!(
            (manual.created_at, manual.effective_at, manual.expires_at),
            (t0, Some(t0), Some(now + 30 * DAY))
        );
        assert_eq!(manual.status, ExceptionStatus::Active);
        let steps: Vec<(&str, &str)> = history
            .iter()
            .map(|h| (h.action.as_str(), h.actor.as_str()))
            .collect();
        assert_eq!(steps, [("created", "alice"), ("migrated", "coastguard")]);
        assert_eq!(history[0].at, t0);

        let (revoked, history) = store.exception(6, now).await.unwrap();
        assert_eq!(revoked.status, ExceptionStatus::Revoked);
        assert_eq!(
            (revoked.revoked_at, revoked.revoked_by.as_deref()),
            (Some(t1), Some("bob"))
        );
        let steps: Vec<(&str, &str, i64)> = history
            .iter()
            .map(|h| (h.action.as_str(), h.actor.as_str(), h.at))
            .collect();
        assert_eq!(
            steps[..2],
            [("created", "alice", t0), ("revoked", "bob", t1)]
        );

        let (vex, _) = store.exception(9, now).await.unwrap();
        assert_eq!(
            (
                vex.source.as_str(),
                vex.verdict,
                vex.pending_image.as_deref()
            ),
            ("vex", Verdict::NotAffected, Some("sha256:bb"))
        );

        // Each accepted finding: an exception of its own (that finding exactly), dated by
        // the audit record of its acceptance or the migration; the open one untouched.
        let tied: Vec<(i64, Option<i64>, String)> = with_db!(store.db(), |pool| sqlx::query_as(
            "SELECT id, exception_id, state FROM config_findings ORDER BY id"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        let first = tied[0]
            .1
            .expect("an accepted finding is tied to its exception");
        let config = tied[1]
            .1
            .expect("an accepted finding is tied to its exception");
        assert_ne!(first, config);
        assert_eq!(tied[2], (22, None, "open".to_string()));
        assert!(first > 9, "new ids come after the moved ones: {first}");
        let (accepted, history) = store.exception(config, now).await.unwrap();
        assert_eq!(accepted.kind, ExceptionKind::Configuration);
        assert_eq!(accepted.target, "container.mount");
        assert_eq!(accepted.subject.as_deref(), Some("container:4 (/b)"));
        assert_eq!(
            (
                accepted.reason.as_str(),
                accepted.owner.as_str(),
                accepted.source.as_str()
            ),
            ("lab box", "carol", "migrated")
        );
        assert_eq!(
            (accepted.created_at, accepted.expires_at),
            (t2, Some(now + 5 * DAY))
        );
        assert_eq!(accepted.severity, coastguard_model::Severity::Medium);
        assert_eq!(accepted.covers, 1);
        assert!(accepted.expiring, "ends within 14 days");
        assert_eq!(history.len(), 2);

        // The model's own pass keeps what they covered covered, and no more.
        store.apply_exceptions(now).await.unwrap();
        let states: Vec<String> = with_db!(store.db(), |pool| sqlx::query_scalar(
            "SELECT state FROM config_findings ORDER BY id"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert_eq!(states, ["accepted", "accepted", "open"]);
        // When the acceptance's time is up, both come back and are untied.
        store.apply_exceptions(now + 6 * DAY).await.unwrap();
        let tied: Vec<(Option<i64>, String)> = with_db!(store.db(), |pool| sqlx::query_as(
            "SELECT exception_id, state FROM config_findings ORDER BY id"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert!(
            tied.iter().all(|(e, s)| e.is_none() && s == "open"),
            "{tied:?}"
        );
        let suppressions: i64 = with_db!(store.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM exceptions"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(suppressions, 5);
    }
}

#[tokio::test]
async fn a_cluster_scope_covers_what_is_in_that_cluster_only() {
    crate::on_each_backend!(|db| {
        let now = coastguard_core::now();
        for (id, name) in [(1, "prod"), (2, "dev")] {
            exec(&db, &format!(
                "INSERT INTO clusters (id, name, created_at, updated_at) VALUES ({id}, '{name}', 1, 1)"
            ))
            .await;
            exec(&db, &format!(
                "INSERT INTO pods (id, cluster_id, namespace, name, uid, first_seen_at, last_seen_at) \
                 VALUES ({id}, {id}, 'shop', 'web-{id}', 'uid-{id}', 1, 1)"
            ))
            .await;
            exec(&db, &format!(
                "INSERT INTO config_findings (id, check_id, subject_kind, subject_id, instance, severity, state, first_seen_at, last_seen_at) \
                 VALUES ({id}, 'k8s.pod.privileged', 'pod', {id}, '', 'high', 'open', 1, 1)"
            ))
            .await;
            exec(&db, &format!(
                "INSERT INTO runtime_alerts (id, source, rule, severity, output, at, last_at, pod_id, namespace, dedup_key) \
                 VALUES ({id}, 'falco', 'Terminal shell in container', 'high', 'a shell', 1, 1, {id}, 'shop', 'k{id}')"
            ))
            .await;
        }
        let mut w = db.store.begin_pass().await.unwrap();
        for (kind, target) in [
            (ExceptionKind::Configuration, "k8s.pod.privileged"),
            (ExceptionKind::Runtime, "Terminal shell in container"),
        ] {
            w.insert_exception(
                &coastguard_core::exceptions::store::NewExceptionRow {
                    kind,
                    target,
                    verdict: Verdict::Accepted,
                    image_id: None,
                    package: None,
                    subject: None,
                    host: None,
                    cluster: Some("prod"),
                    namespace: None,
                    workload: None,
                    severity: coastguard_model::Severity::High,
                    reason: "the prod mesh needs it",
                    owner: "alice",
                    created_by: "alice",
                    expires_at: None,
                    effective: true,
                },
                now,
            )
            .await
            .unwrap();
        }
        let covered = w.apply_exceptions(None, now).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!((covered.accepted, covered.alerts_covered), (1, 1));
        let findings: Vec<(i64, String)> = with_db!(db.store.db(), |pool| sqlx::query_as(
            "SELECT id, state FROM config_findings ORDER BY id"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert_eq!(
            findings,
            [(1, "accepted".to_string()), (2, "open".to_string())]
        );
        let groups: Vec<(i64, Option<i64>)> = with_db!(db.store.db(), |pool| sqlx::query_as(
            "SELECT id, exception_id FROM runtime_alerts ORDER BY id"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert!(groups[0].1.is_some() && groups[1].1.is_none(), "{groups:?}");
        let (runtime, _) = db.store.exception(groups[0].1.unwrap(), now).await.unwrap();
        assert_eq!(runtime.cluster.as_deref(), Some("prod"));
        assert_eq!(runtime.scope(), "cluster prod");
    });
}
