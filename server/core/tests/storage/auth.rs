//! Signing in: success, generic failures, throttling per user name and per address.

use coastguard_core::auth::login::{login, LoginOutcome, LoginPolicy};
use coastguard_core::auth::password;
use coastguard_core::store::ThrottlePolicy;
use coastguard_model::Role;

const PASSWORD: &str = "the right passphrase";

#[tokio::test]
async fn login_story() {
    crate::on_each_backend!(|db| {
        let hash = password::hash(PASSWORD.into()).await.unwrap();
        let user = db
            .store
            .create_user("carol", Role::Viewer, &hash, 10)
            .await
            .unwrap();
        let policy = LoginPolicy::new(3, 900, 600);
        let t = 1_000_000;

        let ok = login(&db.store, policy, " Carol ", PASSWORD, Some("10.0.0.1"), t)
            .await
            .unwrap();
        assert!(
            matches!(ok, LoginOutcome::Success(ref u) if u.id == user.id),
            "{ok:?}"
        );
        assert_eq!(db.store.user(user.id).await.unwrap().last_login_at, Some(t));

        // Wrong password and unknown user look the same.
        assert!(matches!(
            login(&db.store, policy, "carol", "wrong", None, t)
                .await
                .unwrap(),
            LoginOutcome::Invalid
        ));
        assert!(matches!(
            login(&db.store, policy, "nobody", PASSWORD, None, t)
                .await
                .unwrap(),
            LoginOutcome::Invalid
        ));

        // Third failure for carol trips the lock; then even the right password is refused.
        assert!(matches!(
            login(&db.store, policy, "carol", "wrong", None, t + 1)
                .await
                .unwrap(),
            LoginOutcome::Invalid
        ));
        let locked = login(&db.store, policy, "carol", "wrong", None, t + 2)
            .await
            .unwrap();
        assert!(
            matches!(locked, LoginOutcome::Locked { until } if until == t + 2 + 600),
            "{locked:?}"
        );
        let refused = login(&db.store, policy, "carol", PASSWORD, None, t + 3)
            .await
            .unwrap();
        assert!(
            matches!(refused, LoginOutcome::Locked { .. }),
            "{refused:?}"
        );

        // After the lockout the right password works again and clears the counter.
        let back = login(&db.store, policy, "carol", PASSWORD, None, t + 2 + 601)
            .await
            .unwrap();
        assert!(matches!(back, LoginOutcome::Success(_)), "{back:?}");
        assert_eq!(
            db.store
                .throttle_locked_until("user:carol", t + 2 + 602)
                .await
                .unwrap(),
            None
        );

        // A disabled user can't sign in, with the same generic outcome.
        db.store
            .update_user(
                user.id,
                &coastguard_core::store::users::UserChange {
                    role: None,
                    disabled: Some(true),
                },
                t,
            )
            .await
            .unwrap();
        let disabled = login(&db.store, policy, "carol", PASSWORD, None, t + 700)
            .await
            .unwrap();
        assert!(matches!(disabled, LoginOutcome::Invalid), "{disabled:?}");

        // Failures are audited; a name that is no user is not stored.
        let audit = db.store.list_audit(None, 100).await.unwrap().items;
        let failed: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "auth.login_failed")
            .collect();
        assert_eq!(failed.len(), 5);
        assert!(failed.iter().any(|e| e.actor_name == "(unknown user)"));
        assert!(!audit.iter().any(|e| e.actor_name.contains("nobody")));
        assert_eq!(audit.iter().filter(|e| e.action == "auth.login").count(), 2);
    });
}

#[tokio::test]
async fn throttle_counts_within_a_window() {
    crate::on_each_backend!(|db| {
        let policy = ThrottlePolicy {
            max_failures: 3,
            window: 100,
            lockout: 50,
        };
        let s = &db.store;
        assert_eq!(
            s.throttle_failure("ip:1.2.3.4", policy, 1_000)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.throttle_failure("ip:1.2.3.4", policy, 1_010)
                .await
                .unwrap(),
            None
        );
        // The window (100 s from the first failure) has passed: counting restarts.
        assert_eq!(
            s.throttle_failure("ip:1.2.3.4", policy, 1_200)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.throttle_failure("ip:1.2.3.4", policy, 1_201)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            s.throttle_failure("ip:1.2.3.4", policy, 1_202)
                .await
                .unwrap(),
            Some(1_252)
        );
        assert_eq!(
            s.throttle_locked_until("ip:1.2.3.4", 1_251).await.unwrap(),
            Some(1_252)
        );
        assert_eq!(
            s.throttle_locked_until("ip:1.2.3.4", 1_252).await.unwrap(),
            None
        );
        assert_eq!(
            s.throttle_locked_until("ip:5.6.7.8", 1_251).await.unwrap(),
            None
        );
        // Pruning forgets counters whose window and lock are over.
        assert_eq!(s.throttle_prune(policy, 1_260).await.unwrap(), 0);
        assert_eq!(s.throttle_prune(policy, 1_400).await.unwrap(), 1);
    });
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    crate::on_each_backend!(|db| {
        let policy = ThrottlePolicy {
            max_failures: 1_000,
            window: 10_000,
            lockout: 60,
        };
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store.throttle_failure("user:x", policy, 5_000).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let failures: i64 = coastguard_core::with_db!(db.store.db(), |pool| sqlx::query_scalar(
            "SELECT failures FROM login_attempts WHERE key = 'user:x'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(failures, 20);
    });
}
