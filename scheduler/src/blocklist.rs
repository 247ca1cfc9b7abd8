//! Blocklist imports (issue #20, ADR 0009): a source's list is fetched through the one
//! guarded client (`net`), parsed with the manual bans' validator, compared with what the
//! source applied before, and only the difference goes to fail2ban, 500 entries a call.
//!
//! An import is a `blocklist_import` command and leaves a row in the import log. Its
//! difference is staged in the database before the first fail2ban call and each chunk
//! is marked done in a fenced transaction after fail2ban answered, so a new leader that
//! runs the command again continues from the first chunk not done: nothing is applied
//! twice, nothing is missed. The `blocklist_schedule` job queues the imports whose time
//! has come; slots missed while no scheduler ran collapse into one run.

use shared::domain::JobName;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use shared::blocklist::{self, ImportOutcome, ImportTrigger, ListFormat, ParseCounts, Schedule};
use shared::commands::{Command, CommandKind};
use shared::config::BlocklistConfig;
use shared::config_edit::{ConfigFile, Revision, WriteReason};
use shared::db;
use shared::domain::{IpOrNet, JailName, TimeZone};
use shared::error_code::ErrorCode;
use shared::store::blocklists::{self as store, Finish, ImportRow, Parsed, SourceRow, Start};
use shared::store::commands::{self as queue, Claimed};
use shared::store::{allowlist, config_tree, settings};

use crate::ban_writer::{self, Origin};
use crate::config_write::{self, Refusal, WriteRequest};
use crate::jobs::{Job, JobContext, JobError};
use crate::net::{FetchError, Fetched, Guard, Limits, Resolver, SystemResolver, Validators};

/// Entries per fail2ban call (`set <jail> banip a b c …`).
pub const CHUNK: usize = 500;
/// fail2ban calls whose bans are recorded in one transaction (a new leader may ask
/// fail2ban again for at most this many calls' entries, which it already holds).
const GROUP: usize = 10;
/// Groups after which the snapshot lock is let go (the pipeline drained).
const DRAIN: usize = 4;
/// Groups after which PostgreSQL's statistics are refreshed (the ban snapshot grows).
const ANALYZE_EVERY: usize = 2;
/// Rows written per transaction when staging a large difference.
const ROWS_PER_TXN: usize = 5_000;
/// Entries a preview shows.
const PREVIEW_ENTRIES: usize = 100;

const BAN: &str = "ban";
const UNBAN: &str = "unban";
/// Dropped entries another source (or a manual ban) still holds: left banned, and no
/// longer this source's.
const KEEP: &str = "keep";

/// Looks names up in the operator's fixed map first (`BANGUI_BLOCKLIST_RESOLVE`), then
/// with the system's resolver. Every answer is checked all the same.
struct FixedThenSystem {
    fixed: HashMap<String, IpAddr>,
}

impl Resolver for FixedThenSystem {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        match self.fixed.get(&host.to_ascii_lowercase()) {
            Some(ip) => {
                let ip = *ip;
                Box::pin(async move { Ok(vec![ip]) })
            }
            None => SystemResolver.lookup(host, port),
        }
    }
}

/// The guarded client blocklists are fetched with.
pub fn guard(config: &BlocklistConfig) -> Guard {
    Guard::new(
        config.allow_nets.clone(),
        Arc::new(FixedThenSystem {
            fixed: config.resolve.iter().cloned().collect(),
        }),
        Limits {
            max_bytes: config.max_bytes,
            connect_timeout: Duration::from_secs(10),
            timeout: config.timeout,
        },
    )
}

/// Why an import stopped.
pub enum Failure {
    /// It cannot go on: the command fails with this code.
    Refused(Refusal),
    /// fail2ban is away: the command is put back and continues later where it stopped.
    Retry(String),
    /// This process no longer leads: the next leader continues the import.
    Lost,
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

impl From<JobError> for Failure {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Fenced | JobError::NotLeader => Failure::Lost,
            other => Failure::Refused(other.into()),
        }
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        JobError::from(e).into()
    }
}

fn client_failure(e: crate::fail2ban::client::ClientError) -> Failure {
    if matches!(e, crate::fail2ban::client::ClientError::Unsupported(_)) {
        Failure::Refused(Refusal::new(ErrorCode::Fail2banUnsupported, e.to_string()))
    } else if e.is_unavailable() {
        Failure::Retry(e.to_string())
    } else if e.is_unknown_jail() {
        Failure::Refused(Refusal::new(ErrorCode::UnknownJail, e.to_string()))
    } else {
        Failure::Refused(Refusal::new(ErrorCode::Fail2banError, e.to_string()))
    }
}

/// The allowlist as networks (entries in force now).
async fn allowlisted(ctx: &JobContext) -> Result<Vec<IpOrNet>, sea_orm::DbErr> {
    Ok(allowlist::active(&ctx.db)
        .await?
        .iter()
        .filter_map(|r| IpOrNet::parse_any(&r.entry).ok())
        .collect())
}

/// A list read into its sorted, distinct entries (canonical text) and counts.
fn read_list(body: &[u8], format: ListFormat, allow: &[IpOrNet]) -> (Vec<String>, ParseCounts) {
    let mut set = BTreeSet::new();
    let counts = blocklist::parse(body, format, allow, |e| {
        set.insert(e);
    });
    // Sorted as text, the order the difference is computed in.
    let mut entries: Vec<String> = set.into_iter().map(|e| e.to_string()).collect();
    entries.sort_unstable();
    (entries, counts)
}

/// `blocklist_preview`: fetch and parse, nothing banned. Memory stays bounded: entries
/// are counted, only the first ones kept.
pub async fn preview(
    ctx: &JobContext,
    url: &str,
    format: ListFormat,
) -> Result<serde_json::Value, Refusal> {
    let fetched = ctx
        .guard
        .fetch(url, &Validators::default())
        .await
        .map_err(|e| Refusal::new(e.code(), e.to_string()))?;
    let Fetched::Body {
        bytes,
        wire_bytes,
        status,
        url: final_url,
        ..
    } = fetched
    else {
        return Err(Refusal::new(
            ErrorCode::HttpStatus,
            "the server answered 304 to a request without validators",
        ));
    };
    let allow = allowlisted(ctx).await?;
    let (entries, counts) = tokio::task::spawn_blocking(move || {
        let mut first = Vec::new();
        let counts = blocklist::parse(&bytes, format, &allow, |e| {
            if first.len() < PREVIEW_ENTRIES {
                first.push(e.to_string());
            }
        });
        (first, counts)
    })
    .await
    .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
    Ok(json!({
        "http_status": status,
        "bytes": wire_bytes,
        "url": final_url,
        "lines": counts.lines,
        "entries": counts.valid,
        "invalid": counts.invalid,
        "invalid_samples": counts.invalid_samples,
        "allowlisted": counts.allowlisted,
        "first_entries": entries,
    }))
}

/// `blocklist_import`: the whole import, or the rest of one a previous leader started.
pub async fn import(
    ctx: &JobContext,
    cmd: &Claimed,
    source_id: i64,
    trigger: ImportTrigger,
) -> Result<serde_json::Value, Failure> {
    let Some(source) = store::source(&ctx.db, source_id).await? else {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            format!("no blocklist source {source_id}"),
        )
        .into());
    };
    let jail = JailName::parse(&source.jail)
        .map_err(|e| Refusal::new(ErrorCode::InvalidJailName, e.to_string()))?;
    let started = Instant::now();
    let import_id = match store::unfinished(&ctx.db, source_id).await? {
        Some(row) if row.command_id == Some(cmd.id) && row.phase == "applying" => {
            tracing::warn!(
                import = row.id,
                "continuing an import a previous leader started"
            );
            return apply(ctx, &source, &jail, &row, started).await;
        }
        Some(row) if row.command_id == Some(cmd.id) => row.id,
        Some(row) => {
            // Another command's import, left behind (it failed or was given up): its
            // staged difference is finished first so the entries stay what fail2ban holds.
            if row.phase == "applying" {
                tracing::warn!(import = row.id, "finishing an import left behind");
                apply(ctx, &source, &jail, &row, started).await?;
            } else {
                settle_failed(
                    ctx,
                    row.id,
                    ErrorCode::Interrupted,
                    "the import was interrupted before it applied anything",
                )
                .await?;
            }
            begin(ctx, cmd, source_id, trigger).await?
        }
        None => begin(ctx, cmd, source_id, trigger).await?,
    };
    match fetch_and_stage(ctx, cmd, &source, &jail, import_id).await {
        Ok(Staged::Unchanged(result)) => Ok(result),
        Ok(Staged::Ready) => {
            let row = store::import(&ctx.db, import_id)
                .await?
                .ok_or_else(|| Refusal::new(ErrorCode::Internal, "the import row went away"))?;
            apply(ctx, &source, &jail, &row, started).await
        }
        Err(Failure::Refused(r)) => {
            settle_failed(ctx, import_id, r.code, &r.message).await?;
            Err(Failure::Refused(r))
        }
        Err(retry) => Err(retry),
    }
}

async fn begin(
    ctx: &JobContext,
    cmd: &Claimed,
    source_id: i64,
    trigger: ImportTrigger,
) -> Result<i64, Failure> {
    ctx.ensure_leading()?;
    let txn = ctx.fenced_txn().await?;
    let id = store::start_import(
        &txn,
        &Start {
            source_id,
            trigger,
            command_id: Some(cmd.id),
            requested_by: cmd.requested_by.as_deref(),
            request_id: cmd.request_id.as_deref(),
        },
    )
    .await?;
    ctx.commit(txn).await?;
    Ok(id)
}

async fn settle_failed(
    ctx: &JobContext,
    import_id: i64,
    code: ErrorCode,
    message: &str,
) -> Result<(), JobError> {
    let txn = ctx.fenced_txn().await?;
    store::finish_import(
        &txn,
        import_id,
        &Finish {
            outcome: ImportOutcome::Failed,
            added: 0,
            removed: 0,
            kept: 0,
            error_code: Some(code.as_str()),
            error: Some(message),
        },
    )
    .await?;
    ctx.commit(txn).await
}

enum Staged {
    /// Nothing to do: the import is finished, this is its result.
    Unchanged(serde_json::Value),
    /// The difference is staged; apply it.
    Ready,
}

/// Fetches, parses and diffs, then stages the difference in one fenced transaction.
async fn fetch_and_stage(
    ctx: &JobContext,
    cmd: &Claimed,
    source: &SourceRow,
    jail: &JailName,
    import_id: i64,
) -> Result<Staged, Failure> {
    // A source whose applied content is known asks conditionally.
    let validators = if source.content_sha256.is_some() {
        Validators {
            etag: source.etag.clone(),
            last_modified: source.last_modified.clone(),
        }
    } else {
        Validators::default()
    };
    let t0 = Instant::now();
    let fetched = ctx.guard.fetch(&source.url, &validators).await;
    let fetch_ms = t0.elapsed().as_millis() as u64;
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            if let FetchError::HttpStatus { status, .. } = &e {
                let txn = ctx.fenced_txn().await?;
                db::execute(
                    &txn,
                    "UPDATE blocklist_imports SET http_status = $2 WHERE id = $1",
                    [import_id.into(), i32::from(*status).into()],
                )
                .await?;
                ctx.commit(txn).await?;
            }
            return Err(Refusal::new(e.code(), e.to_string()).into());
        }
    };
    // Sorted here, not by the database: PostgreSQL's collation may order text otherwise.
    let mut previous = store::entries(&ctx.db, source.id).await?;
    previous.sort_unstable();
    let banned_now: HashSet<String> = db::query_all(
        &ctx.db,
        "SELECT ip FROM f2b_bans WHERE jail = $1",
        [jail.as_str().into()],
    )
    .await?
    .iter()
    .filter_map(|r| r.try_get::<String>("", "ip").ok())
    .collect();
    let (http_status, bytes, new_set, counts, sha, new_validators) = match fetched {
        Fetched::NotModified => (
            304u16,
            0u64,
            previous.clone(),
            ParseCounts::default(),
            source.content_sha256.clone(),
            validators,
        ),
        Fetched::Body {
            bytes,
            wire_bytes,
            status,
            validators,
            ..
        } => {
            let sha = hex(&Sha256::digest(&bytes));
            let allow = allowlisted(ctx).await?;
            let format = source.list_format();
            let (set, counts) =
                tokio::task::spawn_blocking(move || read_list(&bytes, format, &allow))
                    .await
                    .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?;
            (status, wire_bytes, set, counts, Some(sha), validators)
        }
    };
    let diff = Diff::of(&previous, &new_set, &banned_now);
    let read_ms = t0.elapsed().as_millis() as u64 - fetch_ms;
    // Dropped entries another source banning into this jail holds, or that a manual ban
    // holds, stay banned.
    let others = store::held_by_others(&ctx.db, source.id, jail.as_str(), &diff.dropped).await?;
    let manual: HashSet<String> = db::query_all(
        &ctx.db,
        "SELECT ip FROM f2b_bans WHERE jail = $1 AND origin = 'manual'",
        [jail.as_str().into()],
    )
    .await?
    .iter()
    .filter_map(|r| r.try_get::<String>("", "ip").ok())
    .collect();
    let (keep, unban): (Vec<String>, Vec<String>) = diff
        .dropped
        .iter()
        .cloned()
        .partition(|e| others.contains(e) || manual.contains(e));
    let bans: Vec<String> = diff.added.iter().chain(&diff.missing).cloned().collect();
    let samples = (!counts.invalid_samples.is_empty())
        .then(|| serde_json::to_string(&counts.invalid_samples).unwrap_or_default());
    let parsed = Parsed {
        http_status: Some(http_status),
        bytes: Some(bytes),
        entries: new_set.len() as u64,
        unchanged: diff.unchanged,
        invalid: counts.invalid,
        invalid_samples: samples,
        allowlisted: counts.allowlisted,
        total_ops: (bans.len() + unban.len()) as u64,
        added: bans.len() as u64,
        removed: unban.len() as u64,
        kept: keep.len() as u64,
        content_sha256: sha.as_deref(),
        etag: new_validators.etag.as_deref(),
        last_modified: new_validators.last_modified.as_deref(),
    };
    if bans.is_empty() && unban.is_empty() && keep.is_empty() {
        // Nothing changed in fail2ban's terms: no call at all.
        let txn = ctx.fenced_txn().await?;
        store::parsed(&txn, import_id, &parsed).await?;
        store::remember_content(
            &txn,
            source.id,
            sha.as_deref(),
            parsed.etag,
            parsed.last_modified,
        )
        .await?;
        store::finish_import(
            &txn,
            import_id,
            &Finish {
                outcome: ImportOutcome::Unchanged,
                added: 0,
                removed: 0,
                kept: 0,
                error_code: None,
                error: None,
            },
        )
        .await?;
        ctx.commit(txn).await?;
        return Ok(Staged::Unchanged(json!({
            "import_id": import_id, "outcome": "unchanged", "http_status": http_status,
            "entries": new_set.len(), "unchanged": diff.unchanged, "added": 0, "removed": 0,
            "invalid": counts.invalid, "allowlisted": counts.allowlisted, "fail2ban_calls": 0,
        })));
    }
    if !bans.is_empty() {
        ensure_jail(ctx, cmd, source, jail, import_id).await?;
    }
    tracing::info!(
        source = %source.name,
        fetch_ms,
        read_ms,
        to_ban = bans.len(),
        to_unban = unban.len(),
        "blocklist list read"
    );
    // Staged in short transactions (SQLite has one writer, and the lease must renew
    // meanwhile); the import is `applying` only once all of it is there, so a leader lost
    // half-way stages it again from the start.
    ctx.ensure_leading()?;
    let txn = ctx.fenced_txn().await?;
    store::clear_staged(&txn, import_id).await?;
    ctx.commit(txn).await?;
    for (action, entries) in [(BAN, &bans), (UNBAN, &unban), (KEEP, &keep)] {
        for chunk in entries.chunks(ROWS_PER_TXN) {
            ctx.ensure_leading()?;
            let txn = ctx.fenced_txn().await?;
            store::stage(&txn, import_id, action, chunk).await?;
            ctx.commit(txn).await?;
        }
    }
    if bans.len() + unban.len() >= ROWS_PER_TXN {
        store::refresh_statistics(&ctx.db).await?;
    }
    let txn = ctx.fenced_txn().await?;
    store::parsed(&txn, import_id, &parsed).await?;
    if !diff.missing.is_empty() {
        store::note(
            &txn,
            import_id,
            &format!(
                "{} entries of the list were no longer banned in {jail}; banned again",
                diff.missing.len()
            ),
        )
        .await?;
    }
    ctx.commit(txn).await?;
    Ok(Staged::Ready)
}

/// What changes between the set a source applied and the new one.
#[derive(Debug, Default, PartialEq, Eq)]
struct Diff {
    added: Vec<String>,
    dropped: Vec<String>,
    /// In both sets and still banned.
    unchanged: u64,
    /// In both sets but no longer banned in fail2ban (restarted without its database,
    /// unbanned by hand): banned again.
    missing: Vec<String>,
}

impl Diff {
    /// `previous` and `next` sorted and distinct.
    fn of(previous: &[String], next: &[String], banned: &HashSet<String>) -> Self {
        let mut d = Diff::default();
        let (mut i, mut j) = (0, 0);
        while i < previous.len() || j < next.len() {
            match (previous.get(i), next.get(j)) {
                (Some(p), Some(n)) if p == n => {
                    if banned.contains(p) {
                        d.unchanged += 1;
                    } else {
                        d.missing.push(p.clone());
                    }
                    i += 1;
                    j += 1;
                }
                (Some(p), Some(n)) if p < n => {
                    d.dropped.push(p.clone());
                    i += 1;
                }
                (Some(p), None) => {
                    d.dropped.push(p.clone());
                    i += 1;
                }
                (_, Some(n)) => {
                    d.added.push(n.clone());
                    j += 1;
                }
                (None, None) => break,
            }
        }
        d
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The configured blocklist jail, created through the validated write path when the
/// configuration has no such jail (`jail.d/bangui-blocklist.local`).
async fn ensure_jail(
    ctx: &JobContext,
    cmd: &Claimed,
    source: &SourceRow,
    jail: &JailName,
    import_id: i64,
) -> Result<(), Failure> {
    let configured = config_tree::jails(&ctx.db)
        .await?
        .into_iter()
        .any(|j| j.name == jail.as_str() && j.enabled);
    if configured {
        return Ok(());
    }
    if jail != &ctx.f2b.config.blocklist_jail {
        return Err(Refusal::new(
            ErrorCode::UnknownJail,
            format!(
                "source {} bans into {jail}, which fail2ban's configuration does not enable",
                source.name
            ),
        )
        .into());
    }
    let text = blocklist_jail_text(jail);
    let written = {
        let _writer = ctx.f2b.config_writer.lock().await;
        let file = ConfigFile::BlocklistJail;
        let root = ctx.f2b.config.config_dir.clone();
        let current = {
            let file = file.clone();
            tokio::task::spawn_blocking(move || config_write::resolve(&root, &file))
                .await
                .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))??
                .current
        };
        config_write::write_file(
            ctx,
            &WriteRequest {
                file: &file,
                text: Some(&text),
                expected: &Revision::of(current.as_deref()),
                reason: WriteReason::Activate,
                command: cmd,
                resumable: false,
            },
        )
        .await?
    };
    if let Err(e) = crate::jobs::config_sync::refresh(ctx).await {
        tracing::warn!(error = %e, "could not read the configuration again after creating the blocklist jail");
    }
    tracing::info!(jail = %jail, result = %written, "created the blocklist jail");
    let txn = ctx.fenced_txn().await?;
    store::note(
        &txn,
        import_id,
        &format!(
            "created the jail {jail} in {} (no log input, the host's banaction, bans kept until an import drops them)",
            shared::config_edit::BLOCKLIST_JAIL_LOCAL
        ),
    )
    .await?;
    ctx.commit(txn).await?;
    Ok(())
}

/// The blocklist jail: no filter and no log to read, the default ban action, bans that
/// last until an import drops them.
pub fn blocklist_jail_text(jail: &JailName) -> String {
    format!(
        "# Created by BanGUI for blocklist imports (BANGUI_BLOCKLIST_JAIL). Entries are banned\n\
         # and unbanned by the imports; this jail reads no log.\n\
         [{jail}]\n\
         enabled = true\n\
         filter =\n\
         backend = polling\n\
         logpath = /dev/null\n\
         maxretry = 1\n\
         bantime = -1\n"
    )
}

/// Asks fail2ban to ban (or unban) a group, 500 entries a call; returns the calls made.
async fn ask(
    ctx: &JobContext,
    jail: &JailName,
    action: &str,
    group: &[String],
) -> Result<u64, Failure> {
    let mut calls = 0;
    for chunk in group.chunks(CHUNK) {
        let ips: Vec<IpOrNet> = chunk
            .iter()
            .filter_map(|e| IpOrNet::parse(e).ok())
            .collect();
        ctx.ensure_leading()?;
        let client = &ctx.f2b.client;
        if action == BAN {
            client.ban(jail, &ips).await.map_err(client_failure)?;
        } else {
            client
                .unban(Some(jail), &ips)
                .await
                .map_err(client_failure)?;
        }
        calls += 1;
    }
    Ok(calls)
}

/// Records a group fail2ban took (bans or unbans in the archive and the snapshot, the
/// group marked done) in one fenced transaction; returns the time it took (ms).
async fn record(
    ctx: &JobContext,
    import_id: i64,
    jail: &JailName,
    action: &str,
    actor: &str,
    taken: Option<(Vec<String>, u64)>,
) -> Result<u64, Failure> {
    let Some((group, calls)) = taken else {
        return Ok(0);
    };
    let started = Instant::now();
    let txn = ctx.fenced_txn().await?;
    let now = db::db_now_ms(&txn).await?;
    if action == BAN {
        ban_writer::record_bans(
            &txn,
            jail.as_str(),
            &group,
            Origin::Blocklist,
            Some(actor),
            &ctx.geo,
            now,
        )
        .await?;
    } else {
        ban_writer::record_unbans(
            &txn,
            Some(jail.as_str()),
            &group,
            Some(actor),
            &ctx.geo,
            now,
        )
        .await?;
    }
    store::chunk_done(&txn, import_id, action, &group, calls).await?;
    ctx.commit(txn).await?;
    Ok(started.elapsed().as_millis() as u64)
}

/// Applies the staged difference chunk by chunk, then records the new set.
async fn apply(
    ctx: &JobContext,
    source: &SourceRow,
    jail: &JailName,
    row: &ImportRow,
    started: Instant,
) -> Result<serde_json::Value, Failure> {
    let actor = format!("blocklist:{}", source.name);
    let importing = ctx.f2b.importing(jail.as_str());
    let (mut fail2ban_ms, mut record_ms, mut lock_wait_ms, mut chunks) = (0u64, 0u64, 0u64, 0u64);
    let applying_from_ms = started.elapsed().as_millis() as u64;
    let mut recorded_groups = 0usize;
    for action in [BAN, UNBAN] {
        let mut after: Option<String> = None;
        // Pipelined: while the database records the group fail2ban took last, fail2ban
        // takes the next one. The snapshot lock is held while a taken group is not
        // recorded yet (a ban sync would record it as fail2ban's own), and let go every
        // DRAIN groups so other writers wait at most that long.
        let mut taken: Option<(Vec<String>, u64)> = None;
        let mut writer = None;
        let mut steps = 0usize;
        loop {
            let next =
                store::pending(&ctx.db, row.id, action, after.as_deref(), CHUNK * GROUP).await?;
            if let Some(last) = next.last() {
                after = Some(last.clone());
            }
            if next.is_empty() && taken.is_none() {
                break;
            }
            ctx.ensure_leading()?;
            if writer.is_none() {
                let waiting = Instant::now();
                writer = Some(ctx.f2b.snapshot_writer.lock().await);
                lock_wait_ms += waiting.elapsed().as_millis() as u64;
            }
            let asked = Instant::now();
            let (calls, recorded) = tokio::join!(
                ask(ctx, jail, action, &next),
                record(ctx, row.id, jail, action, &actor, taken.take())
            );
            fail2ban_ms += asked.elapsed().as_millis() as u64;
            record_ms += recorded?;
            let calls = calls?;
            chunks += calls;
            steps += 1;
            recorded_groups += 1;
            if !next.is_empty() {
                taken = Some((next, calls));
            }
            if steps.is_multiple_of(DRAIN) || taken.is_none() {
                record_ms += record(ctx, row.id, jail, action, &actor, taken.take()).await?;
                writer = None;
            }
            if recorded_groups.is_multiple_of(ANALYZE_EVERY) {
                store::refresh_statistics(&ctx.db).await?;
            }
        }
        drop(writer);
    }
    {
        // Everything done is recorded: the ban sync need not read the jail again.
        let _writer = ctx.f2b.snapshot_writer.lock().await;
        if let Ok(c) = ctx.f2b.client.jail_counters(jail).await {
            importing.settle(ctx.fence.token, (c.currently_banned, c.total_banned));
        }
    }
    if row.added >= ROWS_PER_TXN as i64 {
        store::refresh_archive_statistics(&ctx.db).await?;
    }
    let finishing = Instant::now();
    ctx.ensure_leading()?;
    let txn = ctx.fenced_txn().await?;
    store::commit_entries(&txn, row.id, source.id).await?;
    store::remember_content(
        &txn,
        source.id,
        row.content_sha256.as_deref(),
        row.etag.as_deref(),
        row.last_modified.as_deref(),
    )
    .await?;
    store::finish_import(
        &txn,
        row.id,
        &Finish {
            // As staged: a leader lost while the staged rows went reads fewer of them.
            outcome: ImportOutcome::Applied,
            added: u64::try_from(row.added).unwrap_or(0),
            removed: u64::try_from(row.removed).unwrap_or(0),
            kept: u64::try_from(row.kept).unwrap_or(0),
            error_code: None,
            error: None,
        },
    )
    .await?;
    ctx.commit(txn).await?;
    let done = store::import(&ctx.db, row.id).await?;
    tracing::info!(
        source = %source.name,
        added = row.added,
        removed = row.removed,
        kept = row.kept,
        chunks,
        staged_after_ms = applying_from_ms,
        lock_wait_ms,
        fail2ban_ms,
        record_ms,
        finish_ms = finishing.elapsed().as_millis() as u64,
        ms = started.elapsed().as_millis() as u64,
        "blocklist import applied"
    );
    Ok(json!({
        "import_id": row.id, "outcome": "applied",
        "http_status": done.as_ref().and_then(|d| d.http_status),
        "entries": done.as_ref().and_then(|d| d.entries),
        "unchanged": done.as_ref().map_or(0, |d| d.unchanged),
        "invalid": done.as_ref().map_or(0, |d| d.invalid),
        "allowlisted": done.as_ref().map_or(0, |d| d.allowlisted),
        "added": row.added, "removed": row.removed, "kept": row.kept,
        "fail2ban_calls": done.as_ref().map_or(0, |d| d.fail2ban_calls),
    }))
}

/// `blocklist_purge`: the entries of a source being deleted unbanned (those no other
/// source or manual ban holds; with those an interrupted import staged), then the source
/// forgotten with its import log. Run again, it finds less to do.
pub async fn purge(ctx: &JobContext, source_id: i64) -> Result<serde_json::Value, Failure> {
    let Some(source) = store::source_even_deleted(&ctx.db, source_id).await? else {
        return Ok(json!({ "source": source_id, "purged": true, "unbanned": 0 }));
    };
    let jail = JailName::parse(&source.jail)
        .map_err(|e| Refusal::new(ErrorCode::InvalidJailName, e.to_string()))?;
    let actor = format!("blocklist:{}", source.name);
    let _importing = ctx.f2b.importing(jail.as_str());
    let mut entries = store::entries(&ctx.db, source_id).await?;
    entries.extend(store::staged_bans(&ctx.db, source_id).await?);
    entries.sort_unstable();
    entries.dedup();
    let others = store::held_by_others(&ctx.db, source_id, jail.as_str(), &entries).await?;
    let manual: HashSet<String> = db::query_all(
        &ctx.db,
        "SELECT ip FROM f2b_bans WHERE jail = $1 AND origin = 'manual'",
        [jail.as_str().into()],
    )
    .await?
    .iter()
    .filter_map(|r| r.try_get::<String>("", "ip").ok())
    .collect();
    let mut unbanned = 0;
    for chunk in entries.chunks(CHUNK) {
        let go: Vec<String> = chunk
            .iter()
            .filter(|e| !others.contains(*e) && !manual.contains(*e))
            .cloned()
            .collect();
        let ips: Vec<IpOrNet> = go.iter().filter_map(|e| IpOrNet::parse(e).ok()).collect();
        ctx.ensure_leading()?;
        let _writer = ctx.f2b.snapshot_writer.lock().await;
        if !ips.is_empty() {
            ctx.f2b
                .client
                .unban(Some(&jail), &ips)
                .await
                .map_err(client_failure)?;
        }
        let txn = ctx.fenced_txn().await?;
        let now = db::db_now_ms(&txn).await?;
        ban_writer::record_unbans(&txn, Some(jail.as_str()), &go, Some(&actor), &ctx.geo, now)
            .await?;
        store::apply_entries(&txn, source_id, &[], chunk).await?;
        ctx.commit(txn).await?;
        unbanned += go.len();
    }
    let txn = ctx.fenced_txn().await?;
    store::forget(&txn, source_id).await?;
    ctx.commit(txn).await?;
    tracing::info!(source = %source.name, unbanned, "blocklist source purged");
    Ok(json!({ "source": source_id, "purged": true, "unbanned": unbanned }))
}

/// The `blocklist_schedule` job: queues an import for every enabled source whose time
/// has come and moves its next run to the first slot after now (missed slots collapse
/// into this one run). A source with an import queued or running is not queued twice.
/// A source being deleted whose purge is no longer queued or running (it failed, or
/// expired while fail2ban was away) gets its purge queued again.
pub fn schedule_job(every: Duration) -> Job {
    Job::new(
        JobName::BlocklistSchedule,
        every,
        Duration::from_secs(60),
        |ctx| async move { run_schedules(ctx).await },
    )
}

/// The sources a queued or running command of `kind` works on.
async fn busy_sources(ctx: &JobContext, kind: CommandKind) -> Result<HashSet<i64>, sea_orm::DbErr> {
    Ok(queue::unfinished_payloads(&ctx.db, kind)
        .await?
        .iter()
        .filter_map(|p| match Command::from_payload(p) {
            Ok(Command::BlocklistImport { source, .. } | Command::BlocklistPurge { source }) => {
                Some(source)
            }
            _ => None,
        })
        .collect())
}

async fn run_schedules(ctx: JobContext) -> Result<(), JobError> {
    let due = store::due(&ctx.db).await?;
    let deleting = store::deleting(&ctx.db).await?;
    if due.is_empty() && deleting.is_empty() {
        return Ok(());
    }
    let tz = TimeZone::parse(&settings::timezone(&ctx.db).await?)
        .unwrap_or(TimeZone::UTC)
        .tz();
    let importing = busy_sources(&ctx, CommandKind::BlocklistImport).await?;
    let purging = busy_sources(&ctx, CommandKind::BlocklistPurge).await?;
    ctx.ensure_leading()?;
    let txn = ctx.fenced_txn().await?;
    let now = db::db_now_ms(&txn).await?;
    for source in &due {
        let schedule: Schedule = source.schedule();
        store::set_next_run(&txn, source.id, Some(schedule.next_after(now, tz))).await?;
        if importing.contains(&source.id) {
            continue;
        }
        queue::enqueue_system(
            &txn,
            &Command::BlocklistImport {
                source: source.id,
                trigger: ImportTrigger::Schedule,
            },
            JobName::BlocklistSchedule.as_str(),
        )
        .await?;
        tracing::info!(source = %source.name, "scheduled blocklist import queued");
    }
    for source in deleting.into_iter().filter(|s| !purging.contains(s)) {
        queue::enqueue_system(
            &txn,
            &Command::BlocklistPurge { source },
            JobName::BlocklistSchedule.as_str(),
        )
        .await?;
        tracing::warn!(
            source,
            "the purge of a deleted blocklist source queued again"
        );
    }
    ctx.commit(txn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_difference_is_what_was_added_dropped_and_lost() {
        let banned: HashSet<String> = ["a", "b"].iter().map(|s| (*s).to_owned()).collect();
        let d = Diff::of(
            &v(&["a", "b", "c", "e"]),
            &v(&["b", "c", "d", "f"]),
            &banned,
        );
        assert_eq!(d.added, v(&["d", "f"]));
        assert_eq!(d.dropped, v(&["a", "e"]));
        assert_eq!(d.unchanged, 1);
        assert_eq!(d.missing, v(&["c"]));
        let same = Diff::of(&v(&["a", "b"]), &v(&["a", "b"]), &banned);
        assert_eq!(
            same,
            Diff {
                unchanged: 2,
                ..Diff::default()
            }
        );
    }

    #[test]
    fn the_blocklist_jail_reads_no_log_and_keeps_its_bans() {
        let jail = JailName::parse("blocklist-import").expect("jail");
        let text = blocklist_jail_text(&jail);
        assert!(text.contains("[blocklist-import]\nenabled = true\nfilter =\n"));
        assert!(text.contains("bantime = -1"));
        assert!(
            !text.contains("banaction"),
            "the host's banaction is inherited"
        );
    }
}
