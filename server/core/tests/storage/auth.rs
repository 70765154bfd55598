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
        let user = db.add_user("carol", Role::Viewer, &hash, 10).await;
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
                .throttle_locked_until("pair:carol|-", t + 2 + 602)
                .await
                .unwrap(),
            None
        );

        // A disabled user can't sign in, with the same generic outcome.
        let mut w = db.store.begin().await.unwrap();
        w.update_user(
            user.id,
            &coastguard_core::store::users::UserChange {
                role: None,
                disabled: Some(true),
            },
            t,
        )
        .await
        .unwrap();
        let record = coastguard_core::store::AuditRecord::system("user.update", "user:carol");
        w.audit(&record, t).await.unwrap();
        w.commit().await.unwrap();
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
async fn throttle_counts_attempts_within_a_window() {
    crate::on_each_backend!(|db| {
        let policy = ThrottlePolicy {
            max_failures: 3,
            window: 100,
            lockout: 50,
        };
        let s = &db.store;
        let key = "ip:1.2.3.4";
        let attempts = |at: i64| async move {
            let r = s.throttle_reserve(key, policy, at).await.unwrap();
            (r.attempts, r.allowed, r.locked_until)
        };
        assert_eq!(attempts(1_000).await, (1, true, None));
        assert_eq!(attempts(1_010).await, (2, true, None));
        // The window (100 s from the first attempt) has passed: counting restarts.
        assert_eq!(attempts(1_200).await, (1, true, None));
        assert_eq!(attempts(1_201).await, (2, true, None));
        // The third attempt may go ahead, and locks the key for the ones after it.
        assert_eq!(attempts(1_202).await, (3, true, Some(1_252)));
        assert_eq!(attempts(1_203).await, (4, false, Some(1_252)));
        assert_eq!(
            s.throttle_locked_until(key, 1_251).await.unwrap(),
            Some(1_252)
        );
        assert_eq!(s.throttle_locked_until(key, 1_252).await.unwrap(), None);
        assert_eq!(
            s.throttle_locked_until("ip:5.6.7.8", 1_251).await.unwrap(),
            None
        );
        // Once the lock has run out, counting restarts.
        assert_eq!(attempts(1_252).await, (1, true, None));
        // A refund gives an attempt back, and lifts the lock its reservation set.
        s.throttle_refund(key, policy).await.unwrap();
        assert_eq!(attempts(1_253).await, (1, true, None));
        assert_eq!(attempts(1_254).await, (2, true, None));
        assert_eq!(attempts(1_255).await, (3, true, Some(1_305)));
        s.throttle_refund(key, policy).await.unwrap();
        assert_eq!(s.throttle_locked_until(key, 1_256).await.unwrap(), None);
        // Pruning forgets counters whose window and lock are over.
        assert_eq!(s.throttle_prune(policy, 1_260).await.unwrap(), 0);
        assert_eq!(s.throttle_prune(policy, 1_400).await.unwrap(), 1);
    });
}

#[tokio::test]
async fn concurrent_reservations_never_exceed_the_limit() {
    crate::on_each_backend!(|db| {
        let policy = ThrottlePolicy {
            max_failures: 5,
            window: 10_000,
            lockout: 60,
        };
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store.throttle_reserve("pair:x|-", policy, 5_000).await
            }));
        }
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap().unwrap().allowed);
        }
        assert_eq!(allowed, 5);
        let counted: i64 = coastguard_core::with_db!(db.store.db(), |pool| sqlx::query_scalar(
            "SELECT failures FROM login_attempts WHERE key = 'pair:x|-'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(counted, 40);
    });
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out() {
    crate::on_each_backend!(|db| {
        let hash = password::hash(PASSWORD.into()).await.unwrap();
        db.add_user("admin", Role::Admin, &hash, 10).await;
        let policy = LoginPolicy::new(5, 900, 900);
        let t = 2_000_000;
        let attempt = |name: &'static str, password: &'static str, ip: &'static str, at: i64| {
            login(&db.store, policy, name, password, Some(ip), at)
        };
        for i in 0..7 {
            let outcome = attempt("admin", "guess", "127.0.0.2", t + i).await.unwrap();
            assert_eq!(
                matches!(outcome, LoginOutcome::Locked { .. }),
                i >= 4,
                "attempt {i}: {outcome:?}"
            );
        }
        // The stranger's address is locked for this name even with the right password...
        let refused = attempt("admin", PASSWORD, "127.0.0.2", t + 8)
            .await
            .unwrap();
        assert!(
            matches!(refused, LoginOutcome::Locked { .. }),
            "{refused:?}"
        );
        // ...but the owner, from an address that has not failed, is never refused.
        let owner = attempt("admin", PASSWORD, "127.0.0.1", t + 9)
            .await
            .unwrap();
        assert!(matches!(owner, LoginOutcome::Success(_)), "{owner:?}");
        // Nor after another name's failures from the owner's own address.
        for i in 0..5 {
            attempt("someone", "guess", "127.0.0.1", t + 10 + i)
                .await
                .unwrap();
        }
        let owner = attempt("admin", PASSWORD, "127.0.0.1", t + 20)
            .await
            .unwrap();
        assert!(matches!(owner, LoginOutcome::Success(_)), "{owner:?}");
    });
}
