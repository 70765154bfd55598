//! Leases keep scheduled jobs on one replica at a time.

#[tokio::test]
async fn leases_go_to_one_holder_until_they_expire() {
    crate::on_each_backend!(|db| {
        let s = &db.store;
        assert!(s
            .try_lease("snapshot", "replica-a", 60, 1_000)
            .await
            .unwrap());
        assert!(!s
            .try_lease("snapshot", "replica-b", 60, 1_030)
            .await
            .unwrap());
        // The holder renews.
        assert!(s
            .try_lease("snapshot", "replica-a", 60, 1_050)
            .await
            .unwrap());
        assert!(!s
            .try_lease("snapshot", "replica-b", 60, 1_100)
            .await
            .unwrap());
        // Expired: another replica takes over.
        assert!(s
            .try_lease("snapshot", "replica-b", 60, 1_110)
            .await
            .unwrap());
        assert!(!s
            .try_lease("snapshot", "replica-a", 60, 1_111)
            .await
            .unwrap());
        // Released: free at once. Releasing someone else's lease does nothing.
        s.release_lease("snapshot", "replica-a").await.unwrap();
        assert!(!s
            .try_lease("snapshot", "replica-a", 60, 1_112)
            .await
            .unwrap());
        s.release_lease("snapshot", "replica-b").await.unwrap();
        assert!(s
            .try_lease("snapshot", "replica-a", 60, 1_113)
            .await
            .unwrap());
        // Leases are per job name.
        assert!(s
            .try_lease("housekeeping", "replica-b", 60, 1_113)
            .await
            .unwrap());
    });
}

#[tokio::test]
async fn two_replicas_racing_get_one_lease() {
    crate::on_each_backend!(|db| {
        let mut tasks = Vec::new();
        for i in 0..10 {
            let store = db.reopen().await;
            tasks.push(tokio::spawn(async move {
                store
                    .try_lease("race", &format!("replica-{i}"), 60, 2_000)
                    .await
                    .unwrap()
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += i32::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
    });
}
