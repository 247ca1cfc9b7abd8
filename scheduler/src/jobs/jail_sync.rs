//! The jail sync: counters of every running jail (`status <jail> short`) and its
//! settings (`get <jail> …`) into `f2b_jails`. Jails that stopped keep their row with
//! `running = false`, so the UI can offer to start them again.

use shared::domain::JobName;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json};
use shared::db;
use shared::domain::JailName;
use tokio::sync::Mutex;

use super::{Job, JobContext, JobError};
use crate::fail2ban::client::{ClientError, Fail2banClient};
use crate::fail2ban::replies::{JailCounters, to_json};

/// Settings change rarely (only through a reload); re-read them this often.
const SETTINGS_REFRESH: Duration = Duration::from_secs(30);

/// The `get <jail> <key>` settings kept in the snapshot.
const SETTINGS: &[&str] = &[
    "bantime",
    "findtime",
    "maxretry",
    "maxlines",
    "maxmatches",
    "usedns",
    "ignoreself",
    "ignoreip",
    "ignorecommand",
    "logpath",
    "logencoding",
    "journalmatch",
    "datepattern",
    "failregex",
    "ignoreregex",
    "prefregex",
    "actions",
    "bantime.increment",
    "bantime.factor",
    "bantime.formula",
    "bantime.multipliers",
    "bantime.maxtime",
    "bantime.rndtime",
    "bantime.overalljails",
];

/// Settings and the idle switch (when the server can report it; 1.0.2 cannot) of each
/// jail, with when they were read.
pub type SettingsCache = Mutex<HashMap<JailName, (Instant, Json, Option<bool>)>>;

/// One running jail as fail2ban reports it now.
pub struct ObservedJail {
    pub name: JailName,
    counters: JailCounters,
    settings: Json,
    idle: Option<bool>,
}

pub fn job(every: Duration) -> Job {
    Job::new(
        JobName::JailSync,
        every,
        every.max(Duration::from_secs(20)),
        sync,
    )
}

static IDLE_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// Reads the settings; a key the server does not know (older versions) is null.
async fn read_settings(
    client: &Fail2banClient,
    jail: &JailName,
) -> Result<(Json, Option<bool>), ClientError> {
    let mut map = Map::new();
    for key in SETTINGS {
        let value = match client.get(jail, key).await {
            Ok(v) => to_json(&v),
            Err(ClientError::Server(_)) => Json::Null,
            Err(e) => return Err(e),
        };
        map.insert((*key).to_owned(), value);
    }
    // fail2ban before 1.1 has no `get <jail> idle` and logs an ERROR for every ask: once
    // refused, it is not asked again (until the scheduler restarts, as after an upgrade).
    let idle = if IDLE_UNSUPPORTED.load(Ordering::Relaxed) {
        None
    } else {
        match client.get(jail, "idle").await {
            Ok(v) => v.as_bool(),
            Err(ClientError::Server(_)) => {
                IDLE_UNSUPPORTED.store(true, Ordering::Relaxed);
                None
            }
            Err(e) => return Err(e),
        }
    };
    Ok((Json::Object(map), idle))
}

/// Whether a cached entry may stand in for fail2ban's answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Settings read within `SETTINGS_REFRESH` are good enough (the periodic sync).
    Cached,
    /// Read everything now (after a command changed the jail).
    Now,
}

/// Counters and settings of one jail (`None`: fail2ban does not know it, e.g. it stopped).
/// Settings are read through `cache`, which keeps what was read.
pub async fn observe(
    client: &Fail2banClient,
    cache: &mut HashMap<JailName, (Instant, Json, Option<bool>)>,
    jail: &JailName,
    freshness: Freshness,
) -> Result<Option<ObservedJail>, ClientError> {
    let counters = match client.jail_counters(jail).await {
        Ok(c) => c,
        Err(e) if e.is_unknown_jail() => return Ok(None),
        Err(e) => return Err(e),
    };
    let fresh = cache
        .get(jail)
        .filter(|(at, _, _)| freshness == Freshness::Cached && at.elapsed() < SETTINGS_REFRESH);
    let (settings, idle) = match fresh {
        Some((_, s, idle)) => (s.clone(), *idle),
        None => match read_settings(client, jail).await {
            Ok((s, idle)) => {
                cache.insert(jail.clone(), (Instant::now(), s.clone(), idle));
                (s, idle)
            }
            Err(e) if e.is_unknown_jail() => return Ok(None),
            Err(e) => return Err(e),
        },
    };
    Ok(Some(ObservedJail {
        name: jail.clone(),
        counters,
        settings,
        idle,
    }))
}

/// Writes one observed jail into `f2b_jails` (inside the caller's fenced transaction).
pub async fn store<C: ConnectionTrait>(
    txn: &C,
    jail: &ObservedJail,
    now: i64,
) -> Result<(), sea_orm::DbErr> {
    let c = &jail.counters;
    db::execute(
        txn,
        "INSERT INTO f2b_jails (name, running, idle, currently_failed, total_failed, currently_banned, \
         total_banned, settings, updated_at_ms) VALUES ($1, true, COALESCE($2, false), $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (name) DO UPDATE SET running = true, \
         idle = CASE WHEN $9 THEN excluded.idle ELSE f2b_jails.idle END, \
         currently_failed = excluded.currently_failed, total_failed = excluded.total_failed, \
         currently_banned = excluded.currently_banned, total_banned = excluded.total_banned, \
         settings = excluded.settings, updated_at_ms = excluded.updated_at_ms",
        [
            jail.name.as_str().into(),
            jail.idle.into(),
            c.currently_failed.into(),
            c.total_failed.into(),
            c.currently_banned.into(),
            c.total_banned.into(),
            jail.settings.to_string().into(),
            now.into(),
            // fail2ban before 1.1 cannot report idle: keep what the last command set.
            jail.idle.is_some().into(),
        ],
    )
    .await?;
    Ok(())
}

async fn sync(ctx: JobContext) -> Result<(), JobError> {
    let client = &ctx.f2b.client;
    let jails = match client.jails().await {
        Ok(j) => j,
        // The status probe reports fail2ban being away; the snapshot stays as it was.
        Err(e) if e.is_unavailable() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut observed: Vec<ObservedJail> = Vec::new();
    let mut cache = ctx.f2b.jail_settings.lock().await;
    cache.retain(|name, _| jails.contains(name));
    for jail in jails {
        if let Some(o) = observe(client, &mut cache, &jail, Freshness::Cached).await? {
            observed.push(o);
        }
    }
    drop(cache);
    ctx.f2b.exporter.jails(observed.iter().map(|o| {
        (
            o.name.as_str().to_owned(),
            crate::fail2ban::exporter::figures(&o.counters, &o.settings),
        )
    }));
    ctx.ensure_leading()?;
    let txn = ctx.fenced_txn().await?;
    let now = db::db_now_ms(&txn).await?;
    for jail in &observed {
        store(&txn, jail, now).await?;
    }
    mark_stopped(
        &txn,
        &observed
            .iter()
            .map(|j| j.name.as_str().to_owned())
            .collect::<Vec<_>>(),
        now,
    )
    .await?;
    ctx.commit(txn).await?;
    Ok(())
}

async fn mark_stopped<C: ConnectionTrait>(
    txn: &C,
    running: &[String],
    now: i64,
) -> Result<(), sea_orm::DbErr> {
    let rows = db::query_all(txn, "SELECT name FROM f2b_jails WHERE running = true", []).await?;
    for r in rows {
        let name: String = r.try_get("", "name")?;
        if !running.contains(&name) {
            db::execute(
                txn,
                "UPDATE f2b_jails SET running = false, idle = false, currently_failed = 0, currently_banned = 0, \
                 updated_at_ms = $2 WHERE name = $1",
                [name.into(), now.into()],
            )
            .await?;
        }
    }
    Ok(())
}
