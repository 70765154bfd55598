//! Browser sessions are rows in the database: a new process (pool) sees them.

use coastguard_core::sessions::SessionBackend;
use std::collections::HashMap;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

fn record(expiry: time::OffsetDateTime) -> Record {
    let mut data = HashMap::new();
    data.insert(
        "auth".to_string(),
        serde_json::json!({ "user_id": 7, "epoch": 0 }),
    );
    Record {
        id: Id::default(),
        data,
        expiry_date: expiry,
    }
}

#[tokio::test]
async fn sessions_survive_a_restart_and_expire() {
    crate::on_each_backend!(|db| {
        let store = SessionBackend::new(db.store.db());
        let now = time::OffsetDateTime::now_utc();
        let mut live = record(now + time::Duration::hours(1));
        store.create(&mut live).await.unwrap();
        let mut stale = record(now - time::Duration::hours(1));
        store.create(&mut stale).await.unwrap();

        let restarted = SessionBackend::new(db.reopen().await.db());
        let loaded = restarted
            .load(&live.id)
            .await
            .unwrap()
            .expect("session after restart");
        assert_eq!(loaded.data["auth"]["user_id"], 7);
        assert!(
            restarted.load(&stale.id).await.unwrap().is_none(),
            "expired sessions don't load"
        );

        restarted.delete_expired().await.unwrap();
        let rows: i64 = coastguard_core::with_db!(db.store.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(rows, 1);
        restarted.delete(&live.id).await.unwrap();
        assert!(store.load(&live.id).await.unwrap().is_none());
    });
}
