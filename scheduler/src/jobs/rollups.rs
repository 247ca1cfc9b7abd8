//! Keeps `ban_rollups` and `ip_stats` current: folds ban events with ids above the
//! high-water mark into them, a batch per fenced transaction, the mark moving in the same
//! transaction. A run that is stopped half-way leaves nothing half-counted (the
//! transaction rolls back) and the next run picks up at the mark, so catching up after
//! downtime is just more batches.
//!
//! No lower id can appear after the mark passed it: every writer of `ban_events` holds
//! the scheduler's one snapshot-writer lock, and the newest id is read under it, so every
//! id up to it belongs to a finished write (the archive import's two lanes take ids at
//! the same time and commit one after the other; see `archive_sync::write_events`).

use shared::domain::JobName;
use std::time::Duration;

use shared::{archive, db};

use super::{Job, JobContext, JobError};

/// Events per transaction: small enough that a SQLite writer waits at most a few hundred
/// milliseconds behind it, large enough that catching up on millions goes quickly.
pub const BATCH: i64 = 20_000;

pub fn job(every: Duration) -> Job {
    Job::new(
        JobName::Rollups,
        every,
        Duration::from_secs(600),
        |ctx| async move { catch_up(&ctx, BATCH).await.map(|_| ()) },
    )
}

/// Folds every pending event in, batch by batch. Returns how many events were folded.
pub async fn catch_up(ctx: &JobContext, batch: i64) -> Result<i64, JobError> {
    let mut total = 0;
    loop {
        ctx.ensure_leading()?;
        match step(ctx, batch).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

async fn scalar(ctx: &JobContext, sql: &str) -> Result<Option<i64>, JobError> {
    let row = db::query_one(&ctx.db, sql, []).await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>>("", "v")?,
        None => None,
    })
}

/// One batch; returns the number of event ids it advanced over (0: nothing pending).
pub async fn step(ctx: &JobContext, batch: i64) -> Result<i64, JobError> {
    let newest = {
        let _writers = ctx.f2b.snapshot_writer.lock().await;
        scalar(ctx, "SELECT MAX(id) AS v FROM ban_events").await?
    };
    let Some(max_id) = newest else {
        return Ok(0);
    };
    // Rows from before the history migration wait for the geo job to fill them in.
    let unresolved = scalar(
        ctx,
        "SELECT MIN(id) AS v FROM ban_events WHERE ip_bin IS NULL",
    )
    .await?;
    let txn = ctx.fenced_txn().await?;
    let hwm = archive::lock_rollups(&txn).await?;
    let mut hi = max_id.min(hwm.saturating_add(batch));
    if let Some(first_unresolved) = unresolved {
        hi = hi.min(first_unresolved - 1);
    }
    if hi <= hwm {
        // Nothing to do; the transaction only touched the lock row.
        txn.rollback().await?;
        return Ok(0);
    }
    for sql in archive::rollup_statements("id > $1 AND id <= $2", 1) {
        db::execute(&txn, &sql, [hwm.into(), hi.into()]).await?;
    }
    db::execute(
        &txn,
        "UPDATE rollup_state SET hwm_id = $1, updated_at_ms = {now_ms} WHERE name = 'ban_rollups'",
        [hi.into()],
    )
    .await?;
    ctx.commit(txn).await?;
    metrics::counter!("scheduler_rollup_events_total")
        .increment(u64::try_from(hi - hwm).unwrap_or(0));
    Ok(hi - hwm)
}
