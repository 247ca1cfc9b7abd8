//! The acquire-or-renew, release and fenced-write statements against real SQLite and
//! PostgreSQL, with the database's own clock.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use shared::lease::{Fence, LeaseStore, LeaseTiming, fenced_execute, read_lease};
use testkit::db::{TestDb, backends};

fn timing(ttl_ms: u64) -> LeaseTiming {
    LeaseTiming::new(
        Duration::from_millis(ttl_ms),
        Duration::from_millis(ttl_ms / 4),
        Duration::from_millis(ttl_ms / 2),
    )
    .expect("valid timing")
}

async fn migrated(backend: testkit::db::Backend) -> (TestDb, DatabaseConnection) {
    let test_db = TestDb::create(backend).await;
    let db = test_db.connect().await;
    migrations::up_guarded(&db).await.expect("migrate");
    (test_db, db)
}

async fn heartbeat(db: &DatabaseConnection, fence: &Fence) -> u64 {
    fenced_execute(
        db,
        fence,
        "INSERT INTO scheduler_heartbeats (holder, token, written_at_ms) SELECT $1, $2, {now_ms} WHERE {fence}",
        vec![fence.holder.clone().into(), fence.token.into()],
    )
    .await
    .expect("fenced insert")
}

#[tokio::test]
async fn the_token_rises_only_when_the_holder_changes_and_release_keeps_the_row() {
    for backend in backends() {
        let (test_db, db) = migrated(backend).await;
        let t = timing(60_000);
        let a = LeaseStore::new("scheduler", "a", &t);
        let b = LeaseStore::new("scheduler", "b", &t);

        let first = a.acquire_or_renew(&db).await.expect("a").expect("a leads");
        assert_eq!(first.token, 1, "{backend:?}");
        assert_eq!(
            b.acquire_or_renew(&db).await.expect("b"),
            None,
            "{backend:?}: b must wait"
        );
        let renewed = a.acquire_or_renew(&db).await.expect("a").expect("a renews");
        assert_eq!(renewed.token, 1);
        assert!(renewed.expires_at_ms >= first.expires_at_ms);

        assert!(
            !b.release(&db, 1).await.expect("release"),
            "a stranger cannot release"
        );
        assert!(a.release(&db, 1).await.expect("release"));
        let row = read_lease(&db, "scheduler")
            .await
            .expect("read")
            .expect("row kept");
        assert_eq!((row.holder.as_str(), row.token), ("", 1));
        assert!(!row.is_valid());

        let taken = b.acquire_or_renew(&db).await.expect("b").expect("b leads");
        assert_eq!(taken.token, 2, "{backend:?}");
        assert!(
            !a.release(&db, 1).await.expect("stale release"),
            "a stale release is a no-op"
        );
        let again = a.acquire_or_renew(&db).await.expect("a");
        assert_eq!(again, None, "{backend:?}: b still holds it");
        drop(db);
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_with_the_next_token() {
    for backend in backends() {
        let (test_db, db) = migrated(backend).await;
        let t = timing(300);
        let a = LeaseStore::new("scheduler", "a", &t);
        let b = LeaseStore::new("scheduler", "b", &t);
        assert_eq!(
            a.acquire_or_renew(&db).await.expect("a").map(|g| g.token),
            Some(1)
        );
        assert_eq!(b.acquire_or_renew(&db).await.expect("b"), None);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(
            b.acquire_or_renew(&db).await.expect("b").map(|g| g.token),
            Some(2),
            "{backend:?}"
        );
        assert_eq!(
            a.acquire_or_renew(&db).await.expect("a"),
            None,
            "{backend:?}: a lost it"
        );
        drop(db);
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn sixteen_racing_candidates_produce_exactly_one_leader() {
    for backend in backends() {
        let (test_db, db) = migrated(backend).await;
        let t = timing(60_000);
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = LeaseStore::new("scheduler", &format!("c{i}"), &t);
            let conn = test_db.connect().await;
            tasks.push(tokio::spawn(
                async move { store.acquire_or_renew(&conn).await },
            ));
        }
        let mut winners = 0;
        for task in tasks {
            if task
                .await
                .expect("join")
                .expect("no database error")
                .is_some()
            {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "{backend:?}");
        drop(db);
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn fenced_writes_are_refused_after_expiry_or_takeover() {
    for backend in backends() {
        let (test_db, db) = migrated(backend).await;
        let t = timing(300);
        let a = LeaseStore::new("scheduler", "a", &t);
        let b = LeaseStore::new("scheduler", "b", &t);
        let grant = a.acquire_or_renew(&db).await.expect("a").expect("a leads");
        let fence_a = a.fence(grant.token);
        assert_eq!(
            heartbeat(&db, &fence_a).await,
            1,
            "{backend:?}: the holder may write"
        );
        assert_eq!(
            heartbeat(&db, &b.fence(grant.token)).await,
            0,
            "a stranger with the token may not"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(
            heartbeat(&db, &fence_a).await,
            0,
            "{backend:?}: expired lease may not write"
        );
        let gb = b.acquire_or_renew(&db).await.expect("b").expect("b leads");
        assert_eq!(
            heartbeat(&db, &fence_a).await,
            0,
            "the old holder may not write after takeover"
        );
        assert_eq!(heartbeat(&db, &b.fence(gb.token)).await, 1);
        drop(db);
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn a_fenced_transaction_that_outlives_its_lease_commits_nothing() {
    for backend in backends() {
        let (test_db, db) = migrated(backend).await;
        let t = timing(300);
        let a = LeaseStore::new("scheduler", "a", &t);
        let grant = a.acquire_or_renew(&db).await.expect("a").expect("a leads");
        let fence = a.fence(grant.token);
        let txn = shared::lease::fenced_transaction(&db, &fence)
            .await
            .expect("begin")
            .expect("held");
        shared::db::execute(
            &txn,
            "INSERT INTO settings (key, value, updated_at_ms) VALUES ('k', '1', 0)",
            [],
        )
        .await
        .expect("write");
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(
            !shared::lease::commit_fenced(txn, &fence)
                .await
                .expect("commit"),
            "{backend:?}"
        );
        let n = shared::db::query_all(&db, "SELECT key FROM settings", [])
            .await
            .expect("read")
            .len();
        assert_eq!(n, 0, "{backend:?}: the write was rolled back");
        drop(db);
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn the_leader_renews_while_its_own_fenced_transaction_is_open() {
    // On PostgreSQL a lease row held FOR SHARE for a whole job would make the leader's
    // own renewal wait, and a long job would cost it the lease.
    for backend in backends()
        .into_iter()
        .filter(|b| *b == testkit::db::Backend::Postgres)
    {
        let (test_db, db) = migrated(backend).await;
        let t = timing(60_000);
        let a = LeaseStore::new("scheduler", "a", &t);
        let grant = a.acquire_or_renew(&db).await.expect("a").expect("a leads");
        let fence = a.fence(grant.token);
        let txn = shared::lease::fenced_transaction(&db, &fence)
            .await
            .expect("begin")
            .expect("held");
        let other = test_db.connect().await;
        let renewed =
            tokio::time::timeout(Duration::from_secs(2), a.acquire_or_renew(&other)).await;
        assert!(
            matches!(renewed, Ok(Ok(Some(_)))),
            "the renewal must not wait for the job: {renewed:?}"
        );
        assert!(
            shared::lease::commit_fenced(txn, &fence)
                .await
                .expect("commit")
        );
        drop(db);
        test_db.drop_db().await;
    }
}
