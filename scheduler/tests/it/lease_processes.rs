//! Real `bangui-scheduler` processes fighting over one database: election, SIGKILL,
//! SIGSTOP/SIGCONT, database loss and SIGTERM, with short lease timings.

use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use testkit::db::{Backend, TestDb, backends};

use testkit::processes::{
    SchedulerProcess, Timings, assert_tokens_never_interleave, heartbeats, wait_for_single_leader,
};

/// Slack for process scheduling and the 20 ms health polling on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(1000);

async fn start(test_db: &TestDb, timings: Timings, names: &[&str]) -> Vec<SchedulerProcess> {
    let procs: Vec<SchedulerProcess> = names
        .iter()
        .map(|n| SchedulerProcess::spawn(&test_db.url, timings, n))
        .collect();
    for p in &procs {
        p.wait_healthy().await;
    }
    procs
}

/// The last `n` lines of a log.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn refs(procs: &[SchedulerProcess]) -> Vec<&SchedulerProcess> {
    procs.iter().collect()
}

/// Waits until a process other than `old` leads; returns it and how long it took.
async fn wait_for_new_leader(
    procs: &[SchedulerProcess],
    old: usize,
    since: Instant,
    within: Duration,
) -> (usize, Duration) {
    loop {
        for (i, p) in procs.iter().enumerate() {
            if i != old && p.health().await.is_some_and(|h| h.leader) {
                return (i, since.elapsed());
            }
        }
        assert!(
            since.elapsed() < within,
            "no takeover within {within:?}; logs:\n{}",
            procs
                .iter()
                .map(|p| format!("--- {}\n{}", p.name, tail(&p.log_text(), 12)))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn three_schedulers_elect_exactly_one_leader_and_tokens_never_interleave() {
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        let procs = start(&test_db, Timings::SHORT, &["s0", "s1", "s2"]).await;
        let leader = wait_for_single_leader(&refs(&procs), Duration::from_secs(10)).await;
        // Watch for a while: never two leaders, and the same one throughout.
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            let mut leading = Vec::new();
            for (i, p) in procs.iter().enumerate() {
                if p.health().await.is_some_and(|h| h.leader) {
                    leading.push(i);
                }
            }
            assert!(leading.len() <= 1, "{backend:?}: two leaders {leading:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let db = test_db.connect().await;
        let rows = heartbeats(&db).await;
        assert!(
            rows.len() >= 2,
            "{backend:?}: the leader's heartbeat job ran ({rows:?})"
        );
        assert_tokens_never_interleave(&rows);
        let holder = procs[leader].health().await.expect("health").holder;
        assert!(
            rows.iter().all(|(_, h, _)| *h == holder),
            "{backend:?}: only the leader wrote"
        );
        let metrics = procs[leader].metrics().await;
        assert!(metrics.contains("scheduler_is_leader 1"), "{metrics}");
        assert!(metrics.contains("scheduler_lease_token 1"), "{metrics}");
        assert!(
            metrics.contains("scheduler_lease_renew_failures_total"),
            "{metrics}"
        );
        assert!(
            metrics.contains("scheduler_job_runs_total{job=\"heartbeat\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("scheduler_job_duration_seconds_bucket{job=\"heartbeat\""),
            "{metrics}"
        );
        let follower = procs[(leader + 1) % 3].metrics().await;
        assert!(follower.contains("scheduler_is_leader 0"), "{follower}");
        drop(procs);
        db.close().await.ok();
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn a_standby_leads_within_ttl_plus_interval_after_the_leader_is_killed() {
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        let mut procs = start(&test_db, Timings::SHORT, &["k0", "k1", "k2"]).await;
        let leader = wait_for_single_leader(&refs(&procs), Duration::from_secs(10)).await;
        let old_token = procs[leader].health().await.expect("health").token;
        procs[leader].signal("KILL");
        let killed = Instant::now();
        let limit = Timings::SHORT.ttl + Timings::SHORT.interval + SLACK;
        let (new, took) = wait_for_new_leader(&procs, leader, killed, limit).await;
        assert!(took <= limit, "{backend:?}: takeover took {took:?}");
        let new_token = procs[new].health().await.expect("health").token;
        assert_eq!(new_token, old_token + 1, "{backend:?}");
        let _ = procs[leader].wait_exit(Duration::from_secs(1)).await;
        let db = test_db.connect().await;
        assert_tokens_never_interleave(&heartbeats(&db).await);
        drop(procs);
        db.close().await.ok();
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn a_paused_leader_writes_nothing_after_waking_and_steps_down() {
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        let procs = start(&test_db, Timings::SHORT, &["p0", "p1"]).await;
        let leader = wait_for_single_leader(&refs(&procs), Duration::from_secs(10)).await;
        let old = procs[leader].health().await.expect("health");
        // Pause a leader in its steady state, past the first run of every job: on SQLite a
        // process paused inside a write transaction holds the one write lock, and no
        // standby can write the lease until it wakes (no split brain, but no takeover).
        tokio::time::sleep(Duration::from_secs(1)).await;
        procs[leader].signal("STOP");
        let stopped = Instant::now();
        let limit = Timings::SHORT.ttl + Timings::SHORT.interval + SLACK;
        let (new, _) = wait_for_new_leader(&procs, leader, stopped, limit).await;
        let new_token = procs[new].health().await.expect("health").token;
        assert!(new_token > old.token);
        // Stay paused well beyond the TTL, then wake the old leader up.
        tokio::time::sleep(Duration::from_secs(1)).await;
        procs[leader].signal("CONT");
        tokio::time::sleep(Timings::SHORT.interval * 3).await;
        let woke = procs[leader].health().await.expect("old leader answers");
        assert!(
            !woke.leader,
            "{backend:?}: the old leader must have stepped down"
        );
        assert!(
            procs[new].health().await.expect("health").leader,
            "the new leader keeps leading"
        );

        let db = test_db.connect().await;
        let rows = heartbeats(&db).await;
        assert_tokens_never_interleave(&rows);
        let first_new = rows
            .iter()
            .find(|(_, _, t)| *t == new_token)
            .map(|(id, _, _)| *id)
            .expect("the new leader wrote heartbeats");
        let late: Vec<_> = rows
            .iter()
            .filter(|(id, h, _)| *h == old.holder && *id > first_new)
            .collect();
        assert!(
            late.is_empty(),
            "{backend:?}: the woken leader wrote {late:?}"
        );
        let runs = shared::db::query_all(
            &db,
            "SELECT COUNT(*) AS n FROM scheduler_job_runs WHERE holder = $1 AND token = $2 \
             AND id > (SELECT MIN(id) FROM scheduler_job_runs WHERE token = $3)",
            [
                old.holder.clone().into(),
                old.token.into(),
                new_token.into(),
            ],
        )
        .await
        .expect("job runs");
        let n: i64 = runs[0].try_get("", "n").expect("count");
        assert_eq!(n, 0, "{backend:?}: no job run recorded by the woken leader");
        drop(procs);
        db.close().await.ok();
        test_db.drop_db().await;
    }
}

/// Makes the database unusable for every scheduler: SQLite through an exclusive lock on
/// the file; PostgreSQL through terminated backends and a lock on the lease table.
async fn cut_off_database(
    backend: Backend,
    db: &DatabaseConnection,
) -> sea_orm::DatabaseTransaction {
    match backend {
        Backend::Sqlite => db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Exclusive),
                ..Default::default()
            })
            .await
            .expect("exclusive lock"),
        Backend::Postgres => {
            let txn = db.begin().await.expect("begin");
            let pg = sea_orm::DatabaseBackend::Postgres;
            txn.execute_raw(Statement::from_string(
                pg,
                "LOCK TABLE scheduler_lease IN ACCESS EXCLUSIVE MODE",
            ))
            .await
            .expect("lock the lease table");
            db.execute_raw(Statement::from_string(
                pg,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = 'bangui-scheduler' AND datname = current_database()",
            ))
            .await
            .expect("terminate the schedulers' connections");
            txn
        }
    }
}

#[tokio::test]
async fn a_leader_that_loses_the_database_stops_leading_within_the_renew_deadline() {
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        let procs = start(&test_db, Timings::SHORT, &["d0", "d1"]).await;
        let leader = wait_for_single_leader(&refs(&procs), Duration::from_secs(10)).await;
        let db = test_db.connect().await;
        let lock = cut_off_database(backend, &db).await;
        let cut = Instant::now();
        let limit = Timings::SHORT.deadline + SLACK;
        loop {
            if !procs[leader].health().await.expect("health").leader {
                break;
            }
            assert!(
                cut.elapsed() < limit,
                "{backend:?}: still leading after {:?}",
                cut.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Nobody can lead while the database is unusable.
        tokio::time::sleep(Timings::SHORT.ttl).await;
        for p in &procs {
            assert!(
                !p.health().await.expect("health").leader,
                "{backend:?}: {} leads blind",
                p.name
            );
        }
        // Jobs stopped within 1 s of the step-down, by the leader's own log.
        let lost = procs[leader].log_events("lost leadership; stopping jobs");
        let stopped = procs[leader].log_events("jobs stopped");
        let (lost_at, _) = lost.first().expect("a step-down was logged");
        let (stopped_at, _) = stopped
            .iter()
            .find(|(t, _)| t >= lost_at)
            .expect("jobs stopped");
        assert!(
            (*stopped_at - *lost_at).num_milliseconds() < 1000,
            "{backend:?}: jobs took too long to stop"
        );
        lock.rollback().await.expect("release the lock");
        // The database is back: someone leads again.
        wait_for_single_leader(
            &refs(&procs),
            Timings::SHORT.ttl + Timings::SHORT.interval + SLACK * 5,
        )
        .await;
        assert_tokens_never_interleave(&heartbeats(&db).await);
        drop(procs);
        db.close().await.ok();
        test_db.drop_db().await;
    }
}

#[tokio::test]
async fn sigterm_stops_jobs_releases_the_lease_and_a_standby_leads_well_before_the_ttl() {
    // A long TTL makes "well before the TTL" unambiguous.
    let timings = Timings {
        ttl: Duration::from_secs(6),
        interval: Duration::from_millis(500),
        deadline: Duration::from_millis(1500),
    };
    for backend in backends() {
        let test_db = TestDb::create(backend).await;
        let mut procs = start(&test_db, timings, &["t0", "t1"]).await;
        let leader = wait_for_single_leader(&refs(&procs), Duration::from_secs(10)).await;
        procs[leader].signal("TERM");
        let termed = Instant::now();
        let exited = procs[leader].wait_exit(Duration::from_secs(5)).await;
        assert_eq!(
            exited,
            Some(true),
            "{backend:?}: clean exit; log:\n{}",
            procs[leader].log_text()
        );
        let (_, took) = wait_for_new_leader(&procs, leader, termed, timings.ttl).await;
        assert!(
            took < timings.ttl / 2,
            "{backend:?}: takeover after SIGTERM took {took:?}"
        );
        let log = procs[leader].log_text();
        let order = ["jobs stopped", "lease released", "bangui-scheduler stopped"].map(|m| {
            log.find(m)
                .unwrap_or_else(|| panic!("{backend:?}: {m:?} not logged:\n{log}"))
        });
        assert!(
            order[0] < order[1] && order[1] < order[2],
            "{backend:?}: jobs stop before the release"
        );
        drop(procs);
        test_db.drop_db().await;
    }
}
