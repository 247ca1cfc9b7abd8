//! The archive import: new rows of fail2ban's own `bans` table (read-only, from a
//! high-water mark on `timeofban`) become `ban` events with their failures and matched
//! lines, so bans that began and expired between two ban syncs are not missed; a ban
//! already over by now also gets its `expire` event. fail2ban forgets bans after a day
//! and at once on unban; this copy is what survives.

use shared::domain::JobName;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sea_orm::DatabaseBackend;
use shared::db;
use tokio::sync::MutexGuard;
use tokio::task::JoinSet;

use super::{Job, JobContext, JobError};
use crate::ban_writer::{
    self, BanEvent, CurrentBan, Duplicates, EventKind, Origin, Source, normalize_ip,
};

/// Rows read per batch.
const BATCH: i64 = 5_000;
/// How long one run keeps reading full batches. One batch a run (the first design) capped
/// the import at BATCH rows per interval, 170 bans/s at the default 30 s: a busy host
/// (the load benchmark's 1 000 bans/s) fell further behind every run.
const RUN_BUDGET: Duration = Duration::from_secs(20);
const STATE_KEY: &str = "fail2ban_bans";

pub fn job(every: Duration) -> Job {
    Job::new(JobName::ArchiveSync, every, Duration::from_secs(60), import)
}

async fn import(ctx: JobContext) -> Result<(), JobError> {
    let started = std::time::Instant::now();
    while import_batch(&ctx).await? == BATCH as usize && started.elapsed() < RUN_BUDGET {}
    Ok(())
}

/// Imports up to [`BATCH`] rows past the high-water mark; returns how many were read.
async fn import_batch(ctx: &JobContext) -> Result<usize, JobError> {
    if !ctx.f2b.importing_jails().is_empty() {
        // A blocklist import records its own bans (the rows it adds to fail2ban's table
        // are read afterwards, found recorded): waiting keeps the database for it.
        return Ok(0);
    }
    let Some(f2b_db) = ctx.f2b.archive_db().await else {
        return Ok(0);
    };
    let high_water: i64 = db::query_one(
        &ctx.db,
        "SELECT high_water_s FROM archive_state WHERE name = $1",
        [STATE_KEY.into()],
    )
    .await?
    .map(|r| r.try_get("", "high_water_s"))
    .transpose()?
    .unwrap_or(0);
    let rows = match f2b_db.bans_since(high_water, BATCH).await {
        Ok(r) => r,
        Err(e) => {
            ctx.f2b.reset_archive_db().await;
            return Err(e.into());
        }
    };
    if rows.is_empty() {
        return Ok(0);
    }
    let blocklist_jail = ctx.f2b.config.blocklist_jail.as_str();
    let max_seen = rows
        .iter()
        .map(|r| r.time_of_ban_s)
        .max()
        .unwrap_or(high_water);
    // Rows of the last second may still grow; the natural key makes re-reading harmless.
    // Only a full batch stuck on one second must move past it.
    let next_mark = if rows.len() as i64 == BATCH && max_seen == high_water {
        max_seen + 1
    } else {
        max_seen
    };

    ctx.ensure_leading()?;
    let writer = ctx.f2b.snapshot_writer.lock().await;
    let now = db::db_now_ms(&ctx.db).await?;
    let min_ms = rows.iter().map(|r| r.time_of_ban_s).min().unwrap_or(0) * 1000;
    // Bans the sync or the executor already recorded, within a few seconds of fail2ban's
    // own (second-resolution) time. Nothing else writes them while we hold the lock.
    // By (jail, ip): a blocklist import puts 100 000 bans in one window, and the batch
    // looks each of its rows up.
    let mut known: HashMap<(String, String), Vec<i64>> = HashMap::new();
    for r in db::query_all(
        &ctx.db,
        "SELECT jail, ip, banned_at_ms FROM ban_events WHERE kind = 'ban' AND at_ms >= $1 AND at_ms <= $2",
        [(min_ms - 5_000).into(), (max_seen * 1000 + 5_000).into()],
    )
    .await?
    {
        known
            .entry((r.try_get("", "jail")?, r.try_get("", "ip")?))
            .or_default()
            .push(r.try_get("", "banned_at_ms")?);
    }
    // Only a batch with bans already over needs to know which are still current.
    let any_over = rows
        .iter()
        .any(|r| r.expires_at_s().is_some_and(|e| e * 1000 <= now));
    let current: HashSet<(String, String)> = if any_over {
        db::query_all(&ctx.db, "SELECT jail, ip FROM f2b_bans", [])
            .await?
            .iter()
            .map(|r| Ok((r.try_get("", "jail")?, r.try_get("", "ip")?)))
            .collect::<Result<_, sea_orm::DbErr>>()?
    } else {
        HashSet::new()
    };

    let mut events = Vec::new();
    for row in &rows {
        let ip = normalize_ip(&row.ip);
        let banned_at_ms = row.time_of_ban_s * 1000;
        let recorded = known
            .get(&(row.jail.clone(), ip.clone()))
            .is_some_and(|ats| ats.iter().any(|at| (at - banned_at_ms).abs() <= 5_000));
        let origin = if row.jail == blocklist_jail {
            Origin::Blocklist
        } else if row.looks_manual() {
            Origin::Manual
        } else {
            Origin::Auto
        };
        let ban = CurrentBan {
            jail: row.jail.clone(),
            ip: ip.clone(),
            banned_at_ms,
            expires_at_ms: row.expires_at_s().map(|e| e * 1000),
            bantime_s: Some(row.bantime_s),
            bancount: row.bancount,
            origin,
            failures: row.failures,
            matches: row.matches.clone(),
        };
        if recorded {
            // The ban sync saw it and records its end itself.
            continue;
        }
        events.push(BanEvent {
            kind: EventKind::Ban,
            at_ms: banned_at_ms,
            ban: ban.clone(),
            source: Source::Archive,
            actor: None,
            command_id: None,
        });
        let over = ban.expires_at_ms.is_some_and(|e| e <= now);
        if over && !current.contains(&(row.jail.clone(), ip)) {
            let at_ms = ban.expires_at_ms.unwrap_or(now);
            events.push(BanEvent {
                kind: EventKind::Expire,
                at_ms,
                ban,
                source: Source::Archive,
                actor: None,
                command_id: None,
            });
        }
    }
    let written = write_events(ctx, &writer, events).await?;
    // The mark moves once the events are in; should that fail, the next run reads them
    // again and finds them recorded.
    let txn = ctx.fenced_txn().await?;
    db::execute(
        &txn,
        "INSERT INTO archive_state (name, high_water_s, updated_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET high_water_s = excluded.high_water_s, updated_at_ms = excluded.updated_at_ms",
        [STATE_KEY.into(), next_mark.into(), now.into()],
    )
    .await?;
    ctx.commit(txn).await?;
    if written > 0 {
        tracing::info!(
            read = rows.len(),
            written,
            high_water = next_mark,
            "imported fail2ban's ban archive"
        );
    }
    Ok(rows.len())
}

/// Lanes a large batch is split into on PostgreSQL. Two kept the two cores busy only
/// while both lanes were in the database at once; a third fills the gaps while one lane
/// commits or the client builds its next statement (10 M events: 41 000 -> 45 000 events/s;
/// a fourth added nothing).
const LANES: usize = 3;

/// Batches smaller than this many events per lane go in one transaction: lanes only pay
/// off once each has a few statements' worth of rows.
const LANE_MIN_EVENTS: usize = 2_000;

/// Writes a batch of events into the archive (skipping any already there). On
/// PostgreSQL a large batch is split by IP into [`LANES`] lanes, each its own fenced
/// transaction on its own connection, written at the same time: PostgreSQL serves a
/// connection with one process, and one process on one core was what limited the
/// archive's write rate (ADR 0004, Docs/performance.md). A ban and its end share an IP,
/// so they share a lane; no two lanes touch the same row. The lanes commit separately:
/// if one fails the batch is partly written, and writing it again skips what is there.
///
/// The caller has filtered out the events it knows are archived, so each lane first
/// writes without `ON CONFLICT` (PostgreSQL's speculative insertion cost a sixth of the
/// write time); should an event be there after all, that lane is written again skipping
/// duplicates.
///
/// `_writer` is the snapshot-writer lock, held by the caller for the whole call: the
/// lanes take event ids at once, and the rollup job reads the newest id under the same
/// lock, so it never sees one lane's ids before the others' are final.
pub async fn write_events(
    ctx: &JobContext,
    _writer: &MutexGuard<'_, ()>,
    events: Vec<BanEvent>,
) -> Result<u64, JobError> {
    let postgres = ctx.db.get_database_backend() == DatabaseBackend::Postgres;
    if !postgres || events.len() < LANES * LANE_MIN_EVENTS {
        return write_lane(ctx, events).await;
    }
    let mut lanes: Vec<Vec<BanEvent>> = vec![Vec::new(); LANES];
    for e in events {
        lanes[lane_of(&e.ban.ip)].push(e);
    }
    let mut running = JoinSet::new();
    for lane in lanes {
        let ctx = ctx.clone();
        running.spawn(async move { write_lane(&ctx, lane).await });
    }
    // Dropping the set (an error below, or the caller giving up) aborts the other lanes;
    // their transactions roll back.
    let mut written = 0;
    while let Some(done) = running.join_next().await {
        written += match done {
            Ok(lane) => lane?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                return Err(sea_orm::DbErr::Custom(format!("an archive lane stopped: {e}")).into());
            }
        };
    }
    Ok(written)
}

async fn write_lane(ctx: &JobContext, events: Vec<BanEvent>) -> Result<u64, JobError> {
    let txn = ctx.fenced_txn().await?;
    match ban_writer::insert_events(&txn, &events, &ctx.geo, Duplicates::Unexpected).await {
        Ok(written) => {
            ctx.commit(txn).await?;
            return Ok(written);
        }
        Err(e) if ban_writer::is_duplicate(&e) => {
            tracing::info!("some events of the batch were archived already; skipping them");
            txn.rollback().await?;
        }
        Err(e) => return Err(e.into()),
    }
    let txn = ctx.fenced_txn().await?;
    let written = ban_writer::insert_events(&txn, &events, &ctx.geo, Duplicates::Skip).await?;
    ctx.commit(txn).await?;
    Ok(written)
}

/// Which lane an IP goes to (FNV-1a of its text: cheap, and stable across runs).
fn lane_of(ip: &str) -> usize {
    let hash = ip.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % LANES as u64) as usize
}
