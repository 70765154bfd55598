//! Users, tokens and the audit log through the operations the API and UI call.

use coastguard_core::access;
use coastguard_core::auth::{token, Authed};
use coastguard_core::store::tokens::TokenRow;
use coastguard_core::{Error, StoreError};
use coastguard_model::{NewUser, Role};

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        name: name.into(),
        role,
        password: "a long enough passphrase".into(),
    }
}

#[tokio::test]
async fn users_story() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli();
        let alice = access::create_user(&state, &cli, new_user("Alice", Role::Analyst))
            .await
            .unwrap();
        assert_eq!(alice.name, "alice", "names are stored lowercase");
        assert_eq!(alice.role, Role::Analyst);

        // A second "alice" conflicts, whatever the case.
        let err = access::create_user(&state, &cli, new_user("ALICE", Role::Viewer))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");

        // Bad input names the field.
        let err = access::create_user(
            &state,
            &cli,
            NewUser {
                password: "short".into(),
                ..new_user("bob", Role::Viewer)
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { location: Some(f), .. } if f == "password"),
            "{err:?}"
        );
        let err = access::create_user(&state, &cli, new_user("bad name", Role::Viewer))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { location: Some(f), .. } if f == "name"),
            "{err:?}"
        );

        let root = access::create_user(&state, &cli, new_user("root", Role::Admin))
            .await
            .unwrap();
        let users = access::list_users(&state, &cli).await.unwrap();
        assert_eq!(
            users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["alice", "root"]
        );

        // Disabling bumps the session epoch (ends sessions); so does a new password.
        let before = db.store.user(alice.id).await.unwrap().session_epoch;
        access::update_user(&state, &cli, alice.id, None, Some(true))
            .await
            .unwrap();
        let after = db.store.user(alice.id).await.unwrap();
        assert!(after.disabled);
        assert_eq!(after.session_epoch, before + 1);
        access::reset_password(&state, &cli, alice.id, "another long passphrase".into())
            .await
            .unwrap();
        assert_eq!(
            db.store.user(alice.id).await.unwrap().session_epoch,
            before + 2
        );

        // The last enabled admin can't be demoted, disabled or deleted.
        let err = access::update_user(&state, &cli, root.id, Some(Role::Viewer), None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
        let err = access::delete_user(&state, &cli, root.id)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
        access::update_user(&state, &cli, alice.id, Some(Role::Admin), Some(false))
            .await
            .unwrap();
        access::update_user(&state, &cli, root.id, Some(Role::Viewer), None)
            .await
            .unwrap();

        access::delete_user(&state, &cli, root.id).await.unwrap();
        let err = access::delete_user(&state, &cli, root.id)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");

        let actions: Vec<String> = db
            .store
            .list_audit(None, 100)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                "user.delete",
                "user.update",
                "user.update",
                "user.reset_password",
                "user.update",
                "user.create",
                "user.create"
            ]
        );
    });
}

#[tokio::test]
async fn tokens_story() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli();
        let created = access::create_token(&state, &cli, " ci ", Role::Analyst, Some(30))
            .await
            .unwrap();
        assert_eq!(created.token.name, "ci");
        assert!(token::looks_valid(&created.secret));
        assert!(created.secret.starts_with(&created.token.prefix));

        // Only the hash is stored: the secret appears nowhere in the database.
        let found = db
            .store
            .token_by_hash(&token::hash(&created.secret))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, created.token.id);
        let now = coastguard_core::now();
        assert!(found.is_active(now));
        assert!(!found.is_active(now + 31 * 86_400), "expires after 30 days");
        let stored_secret: i64 =
            coastguard_core::with_db!(db.store.db(), |pool| sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1 OR prefix = $1"
            )
            .bind(&created.secret)
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(stored_secret, 0);

        // last_used_at is written at most once a minute per token.
        db.store.touch_token(found.id, 1_000).await.unwrap();
        db.store.touch_token(found.id, 1_030).await.unwrap();
        assert_eq!(
            db.store.token(found.id).await.unwrap().last_used_at,
            Some(1_000)
        );
        db.store.touch_token(found.id, 1_061).await.unwrap();
        assert_eq!(
            db.store.token(found.id).await.unwrap().last_used_at,
            Some(1_061)
        );
        // The request path asks first, and writes nothing inside the minute.
        let row = db.store.token(found.id).await.unwrap();
        assert!(!row.needs_touch(1_100));
        assert!(row.needs_touch(1_122));
        let never = TokenRow {
            last_used_at: None,
            ..row
        };
        assert!(never.needs_touch(0));

        let revoked = access::revoke_token(&state, &cli, found.id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        let row = db
            .store
            .token_by_hash(&token::hash(&created.secret))
            .await
            .unwrap()
            .unwrap();
        assert!(!row.is_active(now));
        assert!(matches!(
            access::revoke_token(&state, &cli, 9_999).await.unwrap_err(),
            Error::NotFound(_)
        ));

        let err = access::create_token(&state, &cli, "x", Role::Viewer, Some(0))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { location: Some(f), .. } if f == "expires_in_days"),
            "{err:?}"
        );
        let err = access::create_token(&state, &cli, "   ", Role::Viewer, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { location: Some(f), .. } if f == "name"),
            "{err:?}"
        );
    });
}

#[tokio::test]
async fn audit_pages_newest_first() {
    crate::on_each_backend!(|db| {
        for i in 0..5 {
            db.store
                .audit(
                    &coastguard_core::store::AuditRecord {
                        actor_kind: "system",
                        actor_id: None,
                        actor_name: "test".into(),
                        action: "test.event",
                        target: Some(format!("n:{i}")),
                        detail: Some(serde_json::json!({ "i": i })),
                        ip: None,
                    },
                    100 + i,
                )
                .await
                .unwrap();
        }
        let first = db.store.list_audit(None, 2).await.unwrap();
        assert_eq!(
            first
                .items
                .iter()
                .map(|e| e.target.clone().unwrap())
                .collect::<Vec<_>>(),
            ["n:4", "n:3"]
        );
        let cursor = first.next_cursor.unwrap().parse().unwrap();
        let second = db.store.list_audit(Some(cursor), 2).await.unwrap();
        assert_eq!(
            second
                .items
                .iter()
                .map(|e| e.target.clone().unwrap())
                .collect::<Vec<_>>(),
            ["n:2", "n:1"]
        );
        let last = db
            .store
            .list_audit(Some(second.next_cursor.unwrap().parse().unwrap()), 2)
            .await
            .unwrap();
        assert_eq!(last.items.len(), 1);
        assert_eq!(last.next_cursor, None);
        assert_eq!(last.items[0].detail.as_deref(), Some("{\"i\":0}"));
    });
}

#[tokio::test]
async fn bootstrap_creates_one_admin_once() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let (name, generated) = access::bootstrap_admin(&state)
            .await
            .unwrap()
            .expect("created");
        assert_eq!(name, "admin");
        let password = generated.expect("a generated password when none is configured");
        let admin = db.store.user_by_name("admin").await.unwrap().unwrap();
        assert_eq!(admin.role, Role::Admin);
        assert!(coastguard_core::auth::password::verify(password, Some(admin.password_hash)).await);
        assert!(
            access::bootstrap_admin(&state).await.unwrap().is_none(),
            "only on an empty database"
        );
        assert!(matches!(
            db.store.user(424_242).await,
            Err(StoreError::NotFound)
        ));
    });
}

/// `user` as the signed-in principal of a request.
fn signed_in(user: &coastguard_model::UserView) -> Authed<coastguard_core::auth::Viewer> {
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.extensions.insert(coastguard_core::auth::Principal {
        kind: coastguard_core::auth::principal::PrincipalKind::User { id: user.id },
        name: user.name.clone(),
        role: user.role,
    });
    Authed::from_parts(&parts).unwrap()
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_logins() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let user = access::create_user(&state, &Authed::cli(), new_user("hal", Role::Viewer))
            .await
            .unwrap();
        let by = signed_in(&user);
        let change = |current: &str| {
            access::change_own_password(
                &state,
                &by,
                current.into(),
                "a brand new passphrase".into(),
            )
        };
        // Five wrong guesses (the default limit) are checked and answered as such...
        for _ in 0..5 {
            let err = change("a guess").await.unwrap_err();
            assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
        }
        // ...then even the right one is refused, unchecked, until the lock ends.
        let err = change("a long enough passphrase").await.unwrap_err();
        assert!(matches!(err, Error::TooManyRequests(_)), "{err:?}");
        assert!(db
            .store
            .user(user.id)
            .await
            .unwrap()
            .password_hash
            .starts_with("$argon2id$"));
        let audit = db.store.list_audit(None, 100).await.unwrap().items;
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.action == "user.change_password_failed")
                .count(),
            5
        );
        assert!(!audit.iter().any(|e| e.action == "user.change_password"));
    });
}

/// Every change to users and tokens commits with its audit record or not at all: with
/// the audit log unwritable, each action fails and leaves the users and tokens exactly
/// as they were (and commits nothing half-way).
#[tokio::test]
async fn user_and_token_changes_commit_with_their_audit_record_or_not_at_all() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli();
        let alice = access::create_user(&state, &cli, new_user("alice", Role::Analyst))
            .await
            .unwrap();
        let bob = access::create_user(&state, &cli, new_user("bob", Role::Viewer))
            .await
            .unwrap();
        let token = access::create_token(&state, &cli, "ci", Role::Viewer, Some(30))
            .await
            .unwrap();
        // Everything an action could change, as text.
        let snapshot = || {
            let db = &db;
            async move {
                coastguard_core::with_db!(db.store.db(), |pool| {
                    let users: Vec<(i64, String, String, String, bool, i64)> = sqlx::query_as(
                        "SELECT id, name, role, password_hash, disabled, session_epoch FROM users ORDER BY id",
                    )
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    let tokens: Vec<(i64, String, Option<i64>)> =
                        sqlx::query_as("SELECT id, name, revoked_at FROM api_tokens ORDER BY id")
                            .fetch_all(pool)
                            .await
                            .unwrap();
                    format!("{users:?} {tokens:?}")
                })
            }
        };
        let before = snapshot().await;
        crate::exec(&db, "ALTER TABLE audit_log RENAME TO audit_log_away").await;
        let failures = [
            access::create_user(&state, &cli, new_user("carol", Role::Viewer))
                .await
                .err(),
            access::update_user(&state, &cli, alice.id, Some(Role::Viewer), Some(true))
                .await
                .err(),
            access::reset_password(&state, &cli, bob.id, "a brand new passphrase".into())
                .await
                .err(),
            access::delete_user(&state, &cli, bob.id).await.err(),
            access::create_token(&state, &cli, "ci-2", Role::Admin, None)
                .await
                .err(),
            access::revoke_token(&state, &cli, token.token.id)
                .await
                .err(),
        ];
        for (i, f) in failures.iter().enumerate() {
            assert!(matches!(f, Some(Error::Internal(_))), "action {i}: {f:?}");
        }
        crate::exec(&db, "ALTER TABLE audit_log_away RENAME TO audit_log").await;
        assert_eq!(snapshot().await, before, "no action left a change behind");

        // With the log back, the same actions commit, each with its record.
        access::delete_user(&state, &cli, bob.id).await.unwrap();
        access::revoke_token(&state, &cli, token.token.id)
            .await
            .unwrap();
        let actions: Vec<String> = coastguard_core::with_db!(db.store.db(), |pool| {
            sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(
            actions,
            [
                "user.create",
                "user.create",
                "token.create",
                "user.delete",
                "token.revoke"
            ]
        );
    });
}

/// The SLA, the image policy, suppressions, risk acceptance and engines change with their
/// audit record or not at all.
#[tokio::test]
async fn settings_and_suppressions_commit_with_their_audit_record_or_not_at_all() {
    crate::on_each_backend!(|db| {
        let state = db.state();
        let cli = Authed::cli();
        let sla = coastguard_model::trends::SlaPolicy {
            critical_days: 3,
            ..Default::default()
        };
        let policy = coastguard_model::docker::Policy {
            image_max_age_days: 30,
            ..Default::default()
        };
        // A scanner's misconfiguration to accept.
        let report = crate::scans::fixture("scans/trivy/misconfig-dockerfile.json");
        let image = "sha256:5555555555555555555555555555555555555555555555555555555555555555";
        let analyst = cli.as_analyst();
        coastguard_core::scans::ingest::ingest(
            &state,
            &analyst,
            &report,
            Some(image.into()),
            "api",
        )
        .await
        .unwrap();
        let finding: i64 = coastguard_core::with_db!(db.store.db(), |pool| {
            sqlx::query_scalar("SELECT id FROM config_findings WHERE check_id LIKE 'trivy:%'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        let accept = coastguard_model::inventory::AcceptRisk {
            reason: "lab box".into(),
            expires_in_days: None,
        };
        let engine = |name: &str| coastguard_model::inventory::NewEngine {
            name: name.into(),
            endpoint: "unix:///run/no-engine-here.sock".into(),
            ..Default::default()
        };
        let kept = coastguard_core::docker::manage::add_engine(&state, &cli, engine("kept"))
            .await
            .unwrap();
        crate::exec(&db, "ALTER TABLE audit_log RENAME TO audit_log_away").await;
        let added = coastguard_core::docker::manage::add_engine(&state, &cli, engine("new")).await;
        assert!(added.is_err());
        let removed = coastguard_core::docker::manage::remove_engine(&state, &cli, kept.id).await;
        assert!(removed.is_err());
        let accepted = coastguard_core::exceptions::compat::accept_finding(
            &state,
            &analyst,
            finding,
            accept.clone(),
        )
        .await;
        assert!(accepted.is_err());
        assert!(coastguard_core::posture::set_sla(&state, &cli, sla)
            .await
            .is_err());
        assert!(
            coastguard_core::docker::manage::set_policy(&state, &cli, policy.clone())
                .await
                .is_err()
        );
        let suppression = coastguard_model::vulns::NewSuppression {
            vuln_id: "CVE-2024-1234".into(),
            image_id: None,
            pkg_name: None,
            kind: coastguard_model::vulns::SuppressionKind::Accepted,
            justification: "compensating control".into(),
            expires_in_days: None,
        };
        assert!(coastguard_core::exceptions::compat::create_suppression(
            &state,
            &analyst,
            suppression.clone()
        )
        .await
        .is_err());
        crate::exec(&db, "ALTER TABLE audit_log_away RENAME TO audit_log").await;
        let suppressions: i64 = coastguard_core::with_db!(db.store.db(), |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM exceptions")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(suppressions, 0);
        let id =
            coastguard_core::exceptions::compat::create_suppression(&state, &analyst, suppression)
                .await
                .unwrap();
        coastguard_core::exceptions::compat::revoke_suppression(&state, &analyst, id)
            .await
            .unwrap();
        assert_eq!(
            coastguard_core::posture::sla(&state).await,
            coastguard_model::trends::SlaPolicy::default()
        );
        assert_eq!(
            state.store.policy().await,
            coastguard_model::docker::Policy::default()
        );
        let finding_state: String = coastguard_core::with_db!(db.store.db(), |pool| {
            sqlx::query_scalar("SELECT state FROM config_findings WHERE id = $1")
                .bind(finding)
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(finding_state, "open");
        let engines: Vec<String> = coastguard_core::with_db!(db.store.db(), |pool| {
            sqlx::query_scalar("SELECT name FROM hosts ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(engines, ["kept"]);
        coastguard_core::exceptions::compat::accept_finding(&state, &analyst, finding, accept)
            .await
            .unwrap();
        coastguard_core::exceptions::compat::unaccept_finding(&state, &analyst, finding)
            .await
            .unwrap();
        coastguard_core::posture::set_sla(&state, &cli, sla)
            .await
            .unwrap();
        assert_eq!(coastguard_core::posture::sla(&state).await, sla);
    });
}
