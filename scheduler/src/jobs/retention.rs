//! Retention: ban events past `BANGUI_RETENTION` (default 365 days) leave the archive,
//! their counts leave the rollups and `ip_stats` in the same transaction, a few thousand
//! rows at a time so writers are never held up for long. The cut-off is rounded down to a
//! week boundary; rollup buckets that empty out are dropped. The same job
//! trims the other tables that would grow forever: expired sessions, stale rate-limit
//! rows, finished commands past `BANGUI_COMMAND_RETENTION`, audit rows past the archive
//! retention, and geo answers for IPs no longer in the archive.

use shared::domain::JobName;
use std::time::Duration;

use shared::archive::{self, Grain};
use shared::{archive::DAY_MS, db};

use super::{Job, JobContext, JobError};

/// Rows per purge transaction.
pub const BATCH: i64 = 5_000;

pub fn job(every: Duration) -> Job {
    Job::new(
        JobName::Retention,
        every,
        Duration::from_secs(1800),
        |ctx| async move { purge(&ctx).await.map(|_| ()) },
    )
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs every purge; returns how many ban events left the archive.
pub async fn purge(ctx: &JobContext) -> Result<u64, JobError> {
    let now = db::db_now_ms(&ctx.db).await?;
    // The instance settings win over the environment, read on every run (no restart).
    let retention = match shared::store::settings::retention_days(&ctx.db).await? {
        Some(days) => days * DAY_MS,
        None => ms(ctx.history.retention),
    };
    let cutoff = Grain::Week.floor(now - retention);
    let events = purge_events(ctx, cutoff).await?;
    purge_simple(ctx, now, cutoff).await?;
    Ok(events)
}

/// Purges ban events older than `cutoff` (ms) that the rollups already counted.
pub async fn purge_events(ctx: &JobContext, cutoff: i64) -> Result<u64, JobError> {
    let mut purged = 0;
    loop {
        ctx.ensure_leading()?;
        // The batch ends at the ban time of the BATCH-th oldest row (or the cut-off). It
        // walks the natural key, which starts with the ban time: an event is never older
        // than its ban, so every event before the cut-off has its ban time before it too
        // (PostgreSQL keeps no index on the event time alone; ADR 0004).
        let edge = db::query_one(
            &ctx.db,
            &format!(
                "SELECT banned_at_ms FROM ban_events WHERE banned_at_ms < $1 AND at_ms < $1 \
                 ORDER BY banned_at_ms LIMIT 1 OFFSET {}",
                BATCH - 1
            ),
            [cutoff.into()],
        )
        .await?
        .map(|r| r.try_get::<i64>("", "banned_at_ms"))
        .transpose()?;
        let until = edge.map_or(cutoff, |e| (e + 1).min(cutoff));
        let txn = ctx.fenced_txn().await?;
        let hwm = archive::lock_rollups(&txn).await?;
        // Rows the rollups have not counted yet stay until they have been.
        let old = "banned_at_ms < $1 AND at_ms < $2 AND id <= $3";
        for sql in archive::rollup_statements(old, -1) {
            db::execute(&txn, &sql, [until.into(), cutoff.into(), hwm.into()]).await?;
        }
        let n = db::execute(
            &txn,
            &format!("DELETE FROM ban_events WHERE {old}"),
            [until.into(), cutoff.into(), hwm.into()],
        )
        .await?;
        ctx.commit(txn).await?;
        purged += n;
        metrics::counter!("scheduler_retention_events_total").increment(n);
        if edge.is_none() || n == 0 {
            break;
        }
    }
    // Buckets wholly before the cut-off are empty now; longer ones that straddle it
    // (four and sixteen weeks) keep what is left of them.
    let txn = ctx.fenced_txn().await?;
    archive::lock_rollups(&txn).await?;
    db::execute(
        &txn,
        "DELETE FROM ban_rollups WHERE bucket_ms < $1 AND bans <= 0",
        [cutoff.into()],
    )
    .await?;
    ctx.commit(txn).await?;
    Ok(purged)
}

/// The other tables: each a bounded delete, repeated until nothing is left to delete.
async fn purge_simple(ctx: &JobContext, now: i64, cutoff: i64) -> Result<(), JobError> {
    let command_cutoff = now - ms(ctx.history.command_retention);
    let jobs: [(&str, &str, i64); 8] = [
        (
            "sessions",
            "token_hash IN (SELECT token_hash FROM sessions WHERE expires_at_ms < $1 LIMIT 5000)",
            now,
        ),
        (
            "rate_limits",
            "key IN (SELECT key FROM rate_limits WHERE window_start_ms < $1 \
             AND (blocked_until_ms IS NULL OR blocked_until_ms < $1) LIMIT 5000)",
            now - DAY_MS,
        ),
        (
            "commands",
            "id IN (SELECT id FROM commands WHERE status IN ('succeeded', 'failed') \
             AND created_at_ms < $1 LIMIT 5000)",
            command_cutoff,
        ),
        (
            "audit_log",
            "id IN (SELECT id FROM audit_log WHERE at_ms < $1 LIMIT 5000)",
            cutoff,
        ),
        (
            // The import log, kept as long as the history (a running import stays).
            "blocklist_imports",
            "id IN (SELECT id FROM blocklist_imports WHERE started_at_ms < $1 \
             AND finished_at_ms IS NOT NULL LIMIT 5000)",
            cutoff,
        ),
        (
            "geo_cache",
            "ip IN (SELECT g.ip FROM geo_cache g WHERE g.resolved_at_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM ip_stats s WHERE s.ip = g.ip) \
             AND NOT EXISTS (SELECT 1 FROM f2b_bans b WHERE b.ip = g.ip) LIMIT 5000)",
            // Never the IPs of events the rollups have not reached yet.
            now - DAY_MS,
        ),
        (
            "client_errors",
            "id IN (SELECT id FROM client_errors WHERE at_ms < $1 LIMIT 5000)",
            now - shared::store::client_errors::KEEP_MS,
        ),
        (
            "scheduler_instances",
            "holder IN (SELECT holder FROM scheduler_instances WHERE seen_at_ms < $1 LIMIT 5000)",
            now - shared::store::scheduler_instances::FORGET_MS,
        ),
    ];
    for (table, condition, arg) in jobs {
        loop {
            ctx.ensure_leading()?;
            let txn = ctx.fenced_txn().await?;
            let n = db::execute(
                &txn,
                &format!("DELETE FROM {table} WHERE {condition}"),
                [arg.into()],
            )
            .await?;
            ctx.commit(txn).await?;
            if table == "geo_cache" && n > 0 {
                // The insert path must offer these IPs again when they come back.
                ctx.geo.memo.forget_ips();
            }
            if n < 5000 {
                break;
            }
        }
    }
    Ok(())
}
