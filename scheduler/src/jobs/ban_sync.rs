//! The ban sync: the current bans from the socket (`banned`), enriched with fail2ban's
//! database when there is one, diffed against the last snapshot. New pairs become `ban`
//! events, vanished pairs become `expire` (their time was up) or `unban` events, and
//! `f2b_bans` is replaced by what fail2ban says now. One fenced transaction per run.
//!
//! Only the jails whose ban counters moved since the last read are read and diffed (see
//! [`Memo`]; everything at least once a minute and on every new lease term), and a jail
//! an import is banning into is left to the import: a blocklist jail holding 100 000
//! bans would otherwise be read in full every few seconds.

use shared::domain::JobName;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use shared::domain::JailName;

use shared::db;

use super::{Job, JobContext, JobError};
use crate::ban_writer::{
    self, BanEvent, CurrentBan, EventKind, Origin, Source, jail_bantimes, load_current_except,
    normalize_ip,
};
use crate::fail2ban::client::ClientError;
use crate::fail2ban::database::ArchivedBan;

/// A vanished ban whose expiry is this close is taken to have expired, not been lifted.
const EXPIRY_SLACK_MS: i64 = 2_000;

pub fn job(every: Duration) -> Job {
    Job::new(
        JobName::BanSync,
        every,
        every.max(Duration::from_secs(30)),
        sync,
    )
}

type Key = (String, String);

async fn sync(ctx: JobContext) -> Result<(), JobError> {
    // Taken before reading fail2ban: a command's snapshot write landing between our read
    // and our diff would otherwise look like an unban.
    let _writer = ctx.f2b.snapshot_writer.lock().await;
    let started = std::time::Instant::now();
    let plan = match plan(&ctx).await {
        Ok(p) => p,
        Err(e) if e.is_unavailable() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let banned = match read_bans(&ctx, &plan).await {
        Ok(b) => b,
        Err(e) if e.is_unavailable() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let enrich = enrichment(&ctx, &plan.skipped).await;
    let blocklist_jail = ctx.f2b.config.blocklist_jail.as_str().to_owned();
    ctx.ensure_leading()?;

    let read_ms = started.elapsed().as_millis() as u64;
    // Read outside the write transaction: only holders of the snapshot lock write the
    // snapshot, and SQLite's one writer (the lease's renewal among others) need not wait
    // while 100 000 bans are compared.
    let now = db::db_now_ms(&ctx.db).await?;
    // The jails skipped keep their rows as they are.
    let previous: HashMap<Key, CurrentBan> = load_current_except(&ctx.db, &plan.skipped)
        .await?
        .into_iter()
        .map(|b| ((b.jail.clone(), b.ip.clone()), b))
        .collect();
    let bantimes = jail_bantimes(&ctx.db).await?;

    let mut current: HashMap<Key, CurrentBan> = HashMap::new();
    for (jail, ips) in &banned {
        for raw in ips {
            let key = (jail.as_str().to_owned(), normalize_ip(raw));
            let from_db = enrich.get(&key);
            let ban = describe(
                &key,
                from_db,
                previous.get(&key),
                bantimes.get(&key.0),
                &blocklist_jail,
                now,
            );
            current.insert(key, ban);
        }
    }

    let mut events = Vec::new();
    let mut changed = Vec::new();
    for (key, ban) in &current {
        match previous.get(key) {
            None => {
                events.push(BanEvent {
                    kind: EventKind::Ban,
                    at_ms: ban.banned_at_ms,
                    ban: ban.clone(),
                    source: Source::Sync,
                    actor: None,
                    command_id: None,
                });
                changed.push(ban.clone());
            }
            // Banned again between two polls: the old ban ended, a new one began.
            Some(old) if old.banned_at_ms + 5_000 < ban.banned_at_ms => {
                events.push(BanEvent {
                    kind: EventKind::Expire,
                    at_ms: old
                        .expires_at_ms
                        .unwrap_or(ban.banned_at_ms)
                        .min(ban.banned_at_ms),
                    ban: old.clone(),
                    source: Source::Sync,
                    actor: None,
                    command_id: None,
                });
                events.push(BanEvent {
                    kind: EventKind::Ban,
                    at_ms: ban.banned_at_ms,
                    ban: ban.clone(),
                    source: Source::Sync,
                    actor: None,
                    command_id: None,
                });
                changed.push(ban.clone());
            }
            // f2b_bans keeps no matched lines: compare what it stores.
            Some(old)
                if *old
                    != CurrentBan {
                        matches: None,
                        ..ban.clone()
                    } =>
            {
                changed.push(ban.clone())
            }
            Some(_) => {}
        }
    }
    let mut gone = Vec::new();
    for (key, old) in &previous {
        if current.contains_key(key) {
            continue;
        }
        let expired = old
            .expires_at_ms
            .is_some_and(|e| e <= now + EXPIRY_SLACK_MS);
        let (kind, at_ms) = if expired {
            (EventKind::Expire, old.expires_at_ms.unwrap_or(now).min(now))
        } else {
            (EventKind::Unban, now)
        };
        events.push(BanEvent {
            kind,
            at_ms,
            ban: old.clone(),
            source: Source::Sync,
            actor: None,
            command_id: None,
        });
        gone.push(key.clone());
    }

    if !(events.is_empty() && changed.is_empty() && gone.is_empty()) {
        let txn = ctx.fenced_txn().await?;
        ban_writer::insert_events(&txn, &events, &ctx.geo, ban_writer::Duplicates::Skip).await?;
        ban_writer::upsert_current(&txn, &changed, now).await?;
        ban_writer::delete_current(&txn, &gone).await?;
        ctx.commit(txn).await?;
    }
    ctx.ensure_leading()?;
    plan.remember(&ctx);
    if !events.is_empty() {
        tracing::info!(
            events = events.len(),
            read = current.len(),
            jails_read = plan.read.len(),
            jails_skipped = plan.skipped.len(),
            read_ms,
            write_ms = (started.elapsed().as_millis() as u64).saturating_sub(read_ms),
            "ban snapshot updated"
        );
    }
    metrics::gauge!("fail2ban_current_bans").set(plan.banned_now() as f64);
    Ok(())
}

/// Every jail is read in full at least this often, whatever its counters say.
const FULL_EVERY: Duration = Duration::from_secs(60);

/// What the last sync read: each jail's (currently banned, total banned) counters then.
/// A jail whose counters have not moved since holds the same bans (every ban adds to the
/// total, every end takes from the current count), so it is not read again; a jail that
/// changed is read once more on the next sync, because fail2ban writes a ban's database
/// row (failures, matches) just after the ban itself.
#[derive(Debug, Default, Clone)]
pub struct Memo {
    /// The lease token the memo was made under: a new term reads everything.
    token: Option<i64>,
    full_at: Option<Instant>,
    seen: HashMap<String, (i64, i64)>,
    changed: HashSet<String>,
}

impl Memo {
    /// Whether the snapshot still holds the jail's bans: its counters are those read
    /// last, and that read found nothing changed.
    fn holds(&self, jail: &str, counters: (i64, i64)) -> bool {
        self.seen.get(jail) == Some(&counters) && !self.changed.contains(jail)
    }

    /// The jail is read in full next time.
    pub fn forget(&mut self, jail: &str) {
        self.seen.remove(jail);
    }

    /// An import recorded everything it did in the jail, which now shows `counters`: the
    /// snapshot holds what fail2ban holds, so the next sync need not read it again (a
    /// ban fail2ban made itself in that jail meanwhile is read by the next full sync).
    pub fn settled(&mut self, token: i64, jail: &str, counters: (i64, i64)) {
        if self.token == Some(token) {
            self.seen.insert(jail.to_owned(), counters);
            self.changed.remove(jail);
        }
    }
}

/// This sync's reading plan.
struct Plan {
    full: bool,
    /// Every running jail's counters.
    counters: HashMap<String, (i64, i64)>,
    /// The jails to read from fail2ban and diff.
    read: Vec<JailName>,
    /// The jails left alone: unchanged since the last read, or being imported into.
    skipped: Vec<String>,
    importing: HashSet<String>,
}

async fn plan(ctx: &JobContext) -> Result<Plan, ClientError> {
    let client = &ctx.f2b.client;
    let jails = client.jails().await?;
    let importing = ctx.f2b.importing_jails();
    let memo = crate::fail2ban::lock(&ctx.f2b.ban_sync_memo).clone();
    let full = memo.token != Some(ctx.fence.token)
        || memo.full_at.is_none_or(|t| t.elapsed() >= FULL_EVERY);
    let mut plan = Plan {
        full,
        counters: HashMap::new(),
        read: Vec::new(),
        skipped: Vec::new(),
        importing,
    };
    for jail in jails {
        let c = match client.jail_counters(&jail).await {
            // Stopped since `status` listed it: its snapshot rows are diffed as gone.
            Err(e) if e.is_unknown_jail() => continue,
            other => other?,
        };
        let counters = (c.currently_banned, c.total_banned);
        let name = jail.as_str().to_owned();
        if plan.importing.contains(&name) || (!full && memo.holds(&name, counters)) {
            plan.skipped.push(name.clone());
        } else {
            plan.read.push(jail);
        }
        plan.counters.insert(name, counters);
    }
    Ok(plan)
}

impl Plan {
    /// How many bans fail2ban holds now, in every jail.
    fn banned_now(&self) -> i64 {
        self.counters.values().map(|c| c.0).sum()
    }

    /// Stores what was read, once it is in the database.
    fn remember(&self, ctx: &JobContext) {
        let mut memo = crate::fail2ban::lock(&ctx.f2b.ban_sync_memo);
        if memo.token != Some(ctx.fence.token) {
            *memo = Memo {
                token: Some(ctx.fence.token),
                ..Memo::default()
            };
        }
        let mut changed = HashSet::new();
        for jail in &self.read {
            let name = jail.as_str();
            let now = self.counters.get(name).copied();
            if memo.seen.get(name).copied() != now {
                changed.insert(name.to_owned());
            }
            if let Some(c) = now {
                memo.seen.insert(name.to_owned(), c);
            }
        }
        memo.seen
            .retain(|j, _| self.counters.contains_key(j) && !self.importing.contains(j));
        memo.changed = changed;
        if self.full {
            memo.full_at = Some(Instant::now());
        }
    }
}

/// The bans of the jails to read: one `banned` call when that is every jail, else one
/// `get <jail> banned` per jail.
async fn read_bans(
    ctx: &JobContext,
    plan: &Plan,
) -> Result<Vec<(JailName, Vec<String>)>, ClientError> {
    let client = &ctx.f2b.client;
    if plan.skipped.is_empty() {
        return client.banned().await;
    }
    let mut out = Vec::with_capacity(plan.read.len());
    for jail in &plan.read {
        match client.banned_in(jail).await {
            Ok(ips) => out.push((jail.clone(), ips)),
            // Stopped meanwhile: it holds no bans now.
            Err(e) if e.is_unknown_jail() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// fail2ban's `bips` table by (jail, ip), or nothing when its database is unavailable.
async fn enrichment(ctx: &JobContext, skipped: &[String]) -> HashMap<Key, ArchivedBan> {
    let Some(db) = ctx.f2b.archive_db().await else {
        return HashMap::new();
    };
    match db.current(skipped).await {
        Ok(rows) => rows
            .into_iter()
            .map(|b| ((b.jail.clone(), normalize_ip(&b.ip)), b))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading fail2ban's database failed; using the socket only");
            ctx.f2b.reset_archive_db().await;
            HashMap::new()
        }
    }
}

/// What we know of one current ban: fail2ban's database first, then what we had, then
/// the jail's configured ban time from now.
fn describe(
    key: &Key,
    from_db: Option<&ArchivedBan>,
    previous: Option<&CurrentBan>,
    jail_bantime: Option<&i64>,
    blocklist_jail: &str,
    now: i64,
) -> CurrentBan {
    let origin = |manual: bool| {
        if key.0 == blocklist_jail {
            Origin::Blocklist
        } else if manual {
            Origin::Manual
        } else {
            Origin::Auto
        }
    };
    match (from_db, previous) {
        (Some(b), prev) => {
            let banned_at_ms = b.time_of_ban_s * 1000;
            // A ban the executor recorded a moment before fail2ban's own second-resolution
            // time keeps its time (and origin), so events are not doubled.
            let same_ban = prev.filter(|p| (p.banned_at_ms - banned_at_ms).abs() <= 5_000);
            CurrentBan {
                jail: key.0.clone(),
                ip: key.1.clone(),
                banned_at_ms: same_ban.map_or(banned_at_ms, |p| p.banned_at_ms),
                expires_at_ms: b.expires_at_s().map(|e| e * 1000),
                bantime_s: Some(b.bantime_s),
                bancount: b.bancount,
                origin: same_ban.map_or_else(|| origin(b.looks_manual()), |p| p.origin),
                failures: b.failures,
                matches: b.matches.clone(),
            }
        }
        (None, Some(p)) => p.clone(),
        (None, None) => {
            let bantime = jail_bantime.copied();
            CurrentBan {
                jail: key.0.clone(),
                ip: key.1.clone(),
                banned_at_ms: now,
                expires_at_ms: bantime.filter(|b| *b >= 0).map(|b| now + b * 1000),
                bantime_s: bantime,
                bancount: 1,
                origin: origin(false),
                failures: None,
                matches: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(j: &str, ip: &str) -> Key {
        (j.into(), ip.into())
    }

    #[test]
    fn a_jail_is_read_again_only_when_its_counters_move() {
        let mut memo = Memo {
            token: Some(7),
            ..Memo::default()
        };
        assert!(!memo.holds("sshd", (0, 0)), "never read");
        memo.seen.insert("sshd".into(), (2, 5));
        memo.changed.insert("sshd".into());
        assert!(
            !memo.holds("sshd", (2, 5)),
            "changed at the last read: once more"
        );
        memo.changed.clear();
        assert!(memo.holds("sshd", (2, 5)));
        assert!(!memo.holds("sshd", (1, 5)), "a ban ended");
        assert!(!memo.holds("sshd", (2, 6)), "one ended, one began");
        memo.settled(8, "sshd", (9, 9));
        assert!(
            memo.holds("sshd", (2, 5)),
            "settled under another term: ignored"
        );
        memo.settled(7, "sshd", (9, 9));
        assert!(memo.holds("sshd", (9, 9)), "an import settled it");
        memo.forget("sshd");
        assert!(!memo.holds("sshd", (9, 9)));
    }

    #[test]
    fn the_blocklist_jail_and_manual_bans_get_their_origin() {
        let manual = ArchivedBan {
            jail: "web".into(),
            ip: "192.0.2.1".into(),
            time_of_ban_s: 100,
            bantime_s: 600,
            bancount: 1,
            failures: Some(0),
            matches: Some("[]".into()),
        };
        let auto = ArchivedBan {
            failures: Some(3),
            matches: Some("[\"x\"]".into()),
            ..manual.clone()
        };
        let k = key("web", "192.0.2.1");
        assert_eq!(
            describe(&k, Some(&manual), None, None, "blocklist-import", 0).origin,
            Origin::Manual
        );
        assert_eq!(
            describe(&k, Some(&auto), None, None, "blocklist-import", 0).origin,
            Origin::Auto
        );
        let kb = key("blocklist-import", "192.0.2.1");
        assert_eq!(
            describe(&kb, Some(&auto), None, None, "blocklist-import", 0).origin,
            Origin::Blocklist
        );
        let b = describe(&k, Some(&auto), None, None, "blocklist-import", 0);
        assert_eq!(
            (b.banned_at_ms, b.expires_at_ms, b.failures),
            (100_000, Some(700_000), Some(3))
        );
    }

    #[test]
    fn without_fail2bans_database_the_jail_bantime_gives_the_expiry() {
        let b = describe(
            &key("web", "192.0.2.1"),
            None,
            None,
            Some(&600),
            "blocklist-import",
            1_000,
        );
        assert_eq!(
            (b.banned_at_ms, b.expires_at_ms, b.origin),
            (1_000, Some(601_000), Origin::Auto)
        );
        let permanent = describe(
            &key("web", "192.0.2.1"),
            None,
            None,
            Some(&-1),
            "blocklist-import",
            1_000,
        );
        assert_eq!(permanent.expires_at_ms, None);
    }

    #[test]
    fn a_command_recorded_ban_keeps_its_time_and_origin() {
        let prev = CurrentBan {
            jail: "web".into(),
            ip: "192.0.2.1".into(),
            banned_at_ms: 100_400,
            expires_at_ms: Some(700_400),
            bantime_s: Some(600),
            bancount: 1,
            origin: Origin::Manual,
            failures: None,
            matches: None,
        };
        let db = ArchivedBan {
            jail: "web".into(),
            ip: "192.0.2.1".into(),
            time_of_ban_s: 100,
            bantime_s: 600,
            bancount: 1,
            failures: Some(0),
            matches: Some("[]".into()),
        };
        let b = describe(
            &key("web", "192.0.2.1"),
            Some(&db),
            Some(&prev),
            None,
            "blocklist-import",
            0,
        );
        assert_eq!((b.banned_at_ms, b.origin), (100_400, Origin::Manual));
    }
}
