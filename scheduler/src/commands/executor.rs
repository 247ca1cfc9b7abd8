//! The command executor: while this process leads, claim the oldest pending command with
//! a fenced update, run it against fail2ban, and record the result. Polls every 100 ms
//! (pickup well inside 250 ms). Commands nobody picked up in time expire with
//! `scheduler_unavailable`; commands left `running` by a previous leader are retried
//! (every kind is idempotent at fail2ban) up to three attempts, then failed.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;
use shared::commands::{Command, CommandKind};
use shared::db;
use shared::domain::JailName;
use shared::error_code::ErrorCode;
use shared::store::commands::{self as queue, Claimed, Finish, Scope};
use tokio::sync::MutexGuard;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::ban_writer::{self, Origin};
use crate::commands::run_as;
use crate::config_write;
use crate::fail2ban::Fail2ban;
use crate::fail2ban::client::ClientError;
use crate::fail2ban::control::ControlError;
use crate::geo::Geo;
use crate::jobs::config_sync;
use crate::jobs::jail_sync::{self, Freshness, ObservedJail};
use crate::jobs::{JobContext, JobError, Worker};

/// How often an idle queue is looked at: the pickup delay of every command (half of it on
/// average). A cheap read of one index (`any_pending`), so 40 a second cost next to nothing.
const POLL: Duration = Duration::from_millis(25);
/// Wait before retrying a command fail2ban could not take (it is restarting): as long as
/// the command has waited so far (so tries come at 0.5, 1, 2, 4, 8 s…), within these
/// bounds.
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// The retry delay of a command that has been waiting `waited`.
fn retry_delay(waited: Duration) -> Duration {
    waited.clamp(RETRY_MIN, RETRY_MAX)
}

/// Whether the last command found fail2ban away. Logged when it changes, not on every try
/// of every waiting command.
#[derive(Default)]
struct Reachability {
    away: bool,
}
const MAX_ATTEMPTS: i32 = 3;
/// fail2ban opens its socket before it has added its jails, so right after a (re)connect
/// "unknown jail" usually means "not loaded yet". The API only queues commands for jails
/// the snapshot knows, so within this window such a command waits instead of failing.
const STARTUP_GRACE: Duration = Duration::from_secs(15);

pub fn worker() -> Worker {
    Worker::new("command_executor", run)
}

/// How one execution ended.
enum Outcome {
    Succeeded(serde_json::Value),
    Failed {
        code: ErrorCode,
        message: String,
    },
    /// fail2ban is not there: put the command back and try again shortly.
    Retry(String),
}

async fn run(ctx: JobContext, cancel: CancellationToken) {
    let mut reach = Reachability::default();
    if let Err(e) = recover_interrupted(&ctx).await {
        tracing::warn!(error = %e, "could not recover interrupted commands");
    }
    loop {
        let idle = match step(&ctx, &mut reach).await {
            Ok(worked) => !worked,
            Err(JobError::Fenced | JobError::NotLeader) => true,
            Err(e) => {
                tracing::warn!(error = %e, "command executor step failed");
                true
            }
        };
        if idle {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        } else if cancel.is_cancelled() {
            return;
        }
    }
}

/// Commands a previous leader left `running`: retried when attempts remain, else failed.
async fn recover_interrupted(ctx: &JobContext) -> Result<(), DbErr> {
    let (retried, failed) = queue::recover_interrupted(&ctx.db, &ctx.fence, MAX_ATTEMPTS).await?;
    if retried + failed > 0 {
        tracing::warn!(
            retried,
            failed,
            "resolved commands interrupted by a previous leader"
        );
    }
    Ok(())
}

/// Expires stale commands, then claims and runs one. Returns whether it ran one.
async fn step(ctx: &JobContext, reach: &mut Reachability) -> Result<bool, JobError> {
    ctx.ensure_leading()?;
    // A read first: an idle queue costs no write, so the leader does not take SQLite's
    // one write lock ten times a second for nothing (the API's writes wait behind it, and
    // a leader paused while holding it would keep a standby from taking over).
    if !queue::any_pending(&ctx.db).await? {
        return Ok(false);
    }
    expire_stale(ctx).await?;
    // Regex tests and blocklist previews (bounded reads) run beside the queue, two at a
    // time; blocklist imports and purges (long, many fail2ban calls) one at a time. With
    // a kind's slots taken, the next command of another kind is taken instead, so bans
    // never wait behind them.
    let read_slot = ctx.f2b.regex_tests.clone().try_acquire_owned().ok();
    let import_slot = ctx.blocklist_slot.clone().try_acquire_owned().ok();
    let mut skip = Vec::new();
    if read_slot.is_none() {
        skip.extend([CommandKind::RegexTest, CommandKind::BlocklistPreview]);
    }
    if import_slot.is_none() {
        skip.extend([CommandKind::BlocklistImport, CommandKind::BlocklistPurge]);
    }
    let Some(cmd) = queue::claim(&ctx.db, &ctx.fence, &skip).await? else {
        return Ok(false);
    };
    let span = tracing::info_span!("command", id = cmd.id, kind = %cmd.kind, request_id = cmd.request_id.as_deref().unwrap_or("-"));
    let permit = match cmd.kind {
        CommandKind::RegexTest | CommandKind::BlocklistPreview => read_slot,
        CommandKind::BlocklistImport | CommandKind::BlocklistPurge => import_slot,
        _ => None,
    };
    let id = cmd.id;
    if let Some(permit) = permit {
        // It may take its whole time: it runs beside the queue.
        let ctx = ctx.clone();
        tokio::spawn(
            run_as(id, async move {
                let _permit = permit;
                let mut own = Reachability::default();
                if let Err(e) = run_claimed(&ctx, cmd, &mut own).await {
                    tracing::warn!(error = %e, "the command's outcome was not recorded");
                }
            })
            .instrument(span),
        );
        return Ok(true);
    }
    run_as(id, run_claimed(ctx, cmd, reach))
        .instrument(span)
        .await
}

/// Runs a claimed command and records its outcome, inside the command's span.
async fn run_claimed(
    ctx: &JobContext,
    cmd: Claimed,
    reach: &mut Reachability,
) -> Result<bool, JobError> {
    // Debug: a command waiting for fail2ban runs again and again; its end is what counts.
    tracing::debug!(attempt = cmd.attempts, "running command");
    let started = std::time::Instant::now();
    // Parsed once: execute, the jail refresh and the snapshot update all use it.
    let command = Command::from_payload(&cmd.payload);
    // A command that bans or unbans holds the snapshot lock from before it asks fail2ban
    // until its outcome is recorded: a ban sync landing in between would otherwise find
    // the new ban first and archive it as fail2ban's own, without who asked for it.
    let writer = match &command {
        // A restart too: its gap would otherwise be recorded as every ban ending.
        Ok(
            Command::Ban { .. }
            | Command::Unban { .. }
            | Command::UnbanAll
            | Command::ServerRestart,
        ) => Some(ctx.f2b.snapshot_writer.lock().await),
        _ => None,
    };
    let outcome = match &command {
        Ok(command) => {
            ctx.ensure_leading()?;
            execute(ctx, &cmd, command).await
        }
        Err(e) => Outcome::Failed {
            code: ErrorCode::InvalidCommand,
            message: format!("unreadable payload: {e}"),
        },
    };
    metrics::counter!("scheduler_commands_total", "kind" => cmd.kind.as_str(), "outcome" => match &outcome {
        Outcome::Succeeded(_) => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Retry(_) => "retry",
    })
    .increment(1);
    let command = command.ok();
    let refreshed = match (&outcome, &command) {
        (Outcome::Succeeded(_), Some(command)) => refresh_jails(ctx, command).await,
        _ => Vec::new(),
    };
    let execute_ms = started.elapsed().as_millis() as u64;
    let retry = matches!(outcome, Outcome::Retry(_));
    record(
        ctx,
        &cmd,
        command.as_ref(),
        outcome,
        &refreshed,
        reach,
        writer,
    )
    .await?;
    let record_ms = (started.elapsed().as_millis() as u64).saturating_sub(execute_ms);
    if retry {
        tracing::debug!(execute_ms, record_ms, "command put back");
    } else {
        tracing::info!(
            attempt = cmd.attempts,
            execute_ms,
            record_ms,
            "command done"
        );
    }
    Ok(true)
}

async fn expire_stale(ctx: &JobContext) -> Result<(), DbErr> {
    let n = queue::expire(&ctx.db, ctx.command_expiry, Scope::All(&ctx.fence)).await?;
    if n > 0 {
        tracing::warn!(expired = n, "commands expired unexecuted");
    }
    Ok(())
}

/// `connection_age`: how long the client's connection had been open when the error came.
fn client_failure(e: ClientError, connection_age: Option<Duration>) -> Outcome {
    if matches!(e, ClientError::Unsupported(_)) {
        // Waiting will not help: the server has to be upgraded.
        return Outcome::Failed {
            code: ErrorCode::Fail2banUnsupported,
            message: e.to_string(),
        };
    }
    if e.is_unavailable() {
        return Outcome::Retry(e.to_string());
    }
    if e.is_unknown_jail() && connection_age.is_some_and(|age| age < STARTUP_GRACE) {
        return Outcome::Retry(format!(
            "fail2ban has just come up and may still be loading its jails: {e}"
        ));
    }
    if e.is_unknown_jail() {
        return Outcome::Failed {
            code: ErrorCode::UnknownJail,
            message: e.to_string(),
        };
    }
    Outcome::Failed {
        code: ErrorCode::Fail2banError,
        message: e.to_string(),
    }
}

fn control_failure(e: ControlError) -> Outcome {
    Outcome::Failed {
        code: ErrorCode::Fail2banClientFailed,
        message: e.to_string(),
    }
}

fn blocklist_outcome(result: Result<serde_json::Value, crate::blocklist::Failure>) -> Outcome {
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(crate::blocklist::Failure::Refused(r)) => Outcome::Failed {
            code: r.code,
            message: r.message,
        },
        Err(crate::blocklist::Failure::Retry(message)) => Outcome::Retry(message),
        // Recorded only if the lease is still ours after all; the next leader (this one
        // again, or another) continues from the first chunk not done.
        Err(crate::blocklist::Failure::Lost) => {
            Outcome::Retry("leadership changed during the import".into())
        }
    }
}

async fn execute(ctx: &JobContext, cmd: &Claimed, command: &Command) -> Outcome {
    let refused = |r: config_write::Refusal| Outcome::Failed {
        code: r.code,
        message: r.message,
    };
    // The snapshot the API serves (and checks revisions against) follows a write before
    // the command reports its end (a refused or rolled-back one left the file as it was).
    let reread = |written: Result<serde_json::Value, config_write::Refusal>| async move {
        if written.is_ok()
            && let Err(e) = config_sync::refresh(ctx).await
        {
            tracing::warn!(error = %e, "could not read the configuration again after the write");
        }
        written.map_or_else(refused, Outcome::Succeeded)
    };
    match command {
        Command::ConfigWrite { .. } | Command::FileWrite { .. } => {
            return reread(config_write::write(ctx, cmd, command).await).await;
        }
        Command::DefDelete { def, name } => {
            return reread(config_write::delete_def(ctx, cmd, *def, name).await).await;
        }
        Command::ServerSet {
            settings,
            expected_revision,
        } => {
            return reread(crate::server_ops::set(ctx, cmd, settings, expected_revision).await)
                .await;
        }
        Command::ServerFlushLogs => {
            return crate::server_ops::flush_logs(ctx)
                .await
                .map_or_else(refused, Outcome::Succeeded);
        }
        Command::ServerRestart => {
            return crate::server_ops::restart(ctx)
                .await
                .map_or_else(refused, Outcome::Succeeded);
        }
        Command::ConfigTest { jail, text } => {
            return config_write::test(ctx, jail, text)
                .await
                .map_or_else(refused, Outcome::Succeeded);
        }
        Command::AllowlistApply => {
            return crate::allowlist::apply(ctx, cmd)
                .await
                .map_or_else(refused, Outcome::Succeeded);
        }
        Command::RegexTest(test) => {
            return crate::regex_test::run(ctx, test)
                .await
                .map_or_else(refused, Outcome::Succeeded);
        }
        Command::BlocklistPreview { url, format } => {
            return crate::blocklist::preview(ctx, url.as_str(), *format)
                .await
                .map_or_else(refused, Outcome::Succeeded);
        }
        Command::BlocklistImport { source, trigger } => {
            return blocklist_outcome(crate::blocklist::import(ctx, cmd, *source, *trigger).await);
        }
        Command::BlocklistPurge { source } => {
            return blocklist_outcome(crate::blocklist::purge(ctx, *source).await);
        }
        _ => {}
    }
    let f2b: &Fail2ban = &ctx.f2b;
    let c = &f2b.client;
    let failed = |e: ClientError| client_failure(e, c.connection_age());
    let result: Result<serde_json::Value, Outcome> = async {
        Ok(match command {
            Command::Ban { jail, ips } => {
                let newly = c.ban(jail, ips).await.map_err(failed)?;
                json!({ "newly_banned": newly, "requested": ips.len() })
            }
            Command::Unban { ips, jail } => {
                let removed = c.unban(jail.as_ref(), ips).await.map_err(failed)?;
                json!({ "unbanned": removed, "requested": ips.len() })
            }
            Command::UnbanAll => {
                json!({ "unbanned": c.unban_all().await.map_err(failed)? })
            }
            Command::JailStop { jail } => {
                c.stop_jail(jail).await.map_err(failed)?;
                json!({ "jail": jail, "running": false })
            }
            Command::JailStart { jail } | Command::JailReload { jail } => {
                let output = f2b
                    .program
                    .reload_jail(jail)
                    .await
                    .map_err(control_failure)?;
                // `reload --if-exists` succeeds quietly when the jail is not configured.
                let running = c.jails().await.map_err(failed)?.contains(jail);
                if !running {
                    return Err(Outcome::Failed {
                        code: ErrorCode::JailNotStarted,
                        message: format!(
                            "fail2ban did not start {jail}; is it configured and enabled? {output}"
                        ),
                    });
                }
                json!({ "jail": jail, "running": true, "output": output })
            }
            Command::ReloadAll => {
                let output = f2b.program.reload_all().await.map_err(control_failure)?;
                json!({ "output": output })
            }
            Command::JailIdle { jail, on } => {
                c.set_idle(jail, *on).await.map_err(failed)?;
                json!({ "jail": jail, "idle": on })
            }
            Command::IgnoreipAdd { jail, ip } => {
                json!({ "ignoreip": c.add_ignoreip(jail, ip).await.map_err(failed)? })
            }
            Command::IgnoreipRemove { jail, ip } => {
                json!({ "ignoreip": c.del_ignoreip(jail, ip).await.map_err(failed)? })
            }
            Command::IgnoreselfSet { jail, on } => {
                json!({ "ignoreself": c.set_ignoreself(jail, *on).await.map_err(failed)? })
            }
            Command::ConfigWrite { .. }
            | Command::ConfigTest { .. }
            | Command::AllowlistApply
            | Command::RegexTest(_)
            | Command::FileWrite { .. }
            | Command::DefDelete { .. }
            | Command::ServerSet { .. }
            | Command::ServerFlushLogs
            | Command::ServerRestart
            | Command::BlocklistImport { .. }
            | Command::BlocklistPreview { .. }
            | Command::BlocklistPurge { .. } => {
                unreachable!("handled above")
            }
        })
    }
    .await;
    match result {
        Ok(v) => Outcome::Succeeded(v),
        Err(o) => o,
    }
}

/// Re-reads the jails a successful command changed, so the snapshot the API serves agrees
/// with the command before it reports success (the periodic sync would take up to its
/// interval, and settings up to `jail_sync`'s cache age). Settings are read afresh when
/// the command changed them; counters always. Best effort: fail2ban going away right
/// after the command does not undo its success, the next sync catches up.
async fn refresh_jails(ctx: &JobContext, command: &Command) -> Vec<ObservedJail> {
    let client = &ctx.f2b.client;
    let mut cache = ctx.f2b.jail_settings.lock().await;
    let (jails, freshness) = match command {
        Command::ConfigWrite { jail, .. } => (vec![jail.clone()], Freshness::Now),
        Command::ConfigTest { .. }
        | Command::RegexTest(_)
        | Command::ServerSet { .. }
        | Command::ServerFlushLogs
        | Command::BlocklistPreview { .. } => return Vec::new(),
        Command::BlocklistImport { .. } | Command::BlocklistPurge { .. } => {
            // The import recorded its bans itself; the jail's counters follow at the next
            // sync, and a created jail's settings are read afresh.
            cache.clear();
            return Vec::new();
        }
        Command::AllowlistApply
        | Command::FileWrite { .. }
        | Command::DefDelete { .. }
        | Command::ServerRestart => {
            // Any jail may have been reloaded: read their settings afresh next time.
            cache.clear();
            return Vec::new();
        }
        Command::JailStart { jail }
        | Command::JailReload { jail }
        | Command::JailIdle { jail, .. }
        | Command::IgnoreipAdd { jail, .. }
        | Command::IgnoreipRemove { jail, .. }
        | Command::IgnoreselfSet { jail, .. } => (vec![jail.clone()], Freshness::Now),
        Command::Ban { jail, .. }
        | Command::Unban {
            jail: Some(jail), ..
        } => (vec![jail.clone()], Freshness::Cached),
        Command::JailStop { jail } => {
            cache.remove(jail);
            return Vec::new();
        }
        Command::ReloadAll => {
            // A reload may change any jail's settings: read them all again.
            cache.clear();
            return Vec::new();
        }
        Command::Unban { jail: None, .. } | Command::UnbanAll => match client.jails().await {
            Ok(jails) => (jails, Freshness::Cached),
            Err(e) => {
                tracing::warn!(error = %e, "could not list the jails to refresh their counters");
                return Vec::new();
            }
        },
    };
    let mut out = Vec::with_capacity(jails.len());
    for jail in &jails {
        match jail_sync::observe(client, &mut cache, jail, freshness).await {
            Ok(Some(o)) => out.push(o),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(jail = %jail, error = %e, "could not refresh the jail after the command");
                break;
            }
        }
    }
    out
}

/// Records the outcome and updates the snapshot at once (bans, the jails the command
/// changed, the running-jail count), so the API shows the change as soon as the command
/// reports success. One fenced transaction.
async fn record(
    ctx: &JobContext,
    cmd: &Claimed,
    command: Option<&Command>,
    outcome: Outcome,
    refreshed: &[ObservedJail],
    reach: &mut Reachability,
    writer: Option<MutexGuard<'_, ()>>,
) -> Result<(), JobError> {
    // Commands that record their own bans (blocklist imports) or none leave the snapshot
    // alone here: they need not wait for a ban sync of a large jail.
    let own_records = matches!(
        command,
        Some(
            Command::BlocklistImport { .. }
                | Command::BlocklistPreview { .. }
                | Command::BlocklistPurge { .. }
                | Command::RegexTest(_)
        )
    );
    let _writer = match writer {
        Some(held) => Some(held),
        None if own_records => None,
        None => Some(ctx.f2b.snapshot_writer.lock().await),
    };
    let txn = ctx.fenced_txn().await?;
    let finish = match outcome {
        Outcome::Succeeded(result) => {
            let now = db::db_now_ms(&txn).await?;
            for jail in refreshed {
                jail_sync::store(&txn, jail, now).await?;
            }
            if let Some(command) = command {
                apply_to_snapshot(&txn, command, cmd.requested_by.as_deref(), &ctx.geo).await?;
            }
            tracing::info!("command succeeded");
            Finish::Succeeded(result)
        }
        Outcome::Failed { code, message } => {
            tracing::warn!(error_code = %code, error = %message, "command failed");
            Finish::Failed { code, message }
        }
        Outcome::Retry(message) => {
            let now = db::db_now_ms(&txn).await?;
            let waited = Duration::from_millis(u64::try_from(now - cmd.created_at_ms).unwrap_or(0));
            let delay = retry_delay(waited);
            if reach.away {
                tracing::debug!(error = %message, delay_ms = delay.as_millis() as u64, "the command waits");
            } else {
                reach.away = true;
                tracing::warn!(error = %message, "fail2ban unavailable; commands wait and are retried, less often the longer they wait");
            }
            Finish::Retry { message, delay }
        }
    };
    if reach.away && !matches!(finish, Finish::Retry { .. }) {
        reach.away = false;
        tracing::info!("fail2ban takes commands again");
    }
    let still_ours = queue::finish(&txn, cmd.id, ctx.fence.token, &finish).await?;
    ctx.commit(txn).await?;
    if !still_ours {
        tracing::warn!("the command row changed while it ran; result not recorded");
    }
    Ok(())
}

async fn apply_to_snapshot<C: ConnectionTrait>(
    txn: &C,
    command: &Command,
    actor: Option<&str>,
    geo: &Geo,
) -> Result<(), DbErr> {
    let now = db::db_now_ms(txn).await?;
    match command {
        Command::Ban { jail, ips } => {
            // A ban asked for through the API is manual, whatever the jail: a blocklist
            // import must not unban it when the list drops the address.
            let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
            ban_writer::record_bans(txn, jail.as_str(), &ips, Origin::Manual, actor, geo, now)
                .await?;
        }
        Command::Unban { ips, jail } => {
            let targets: Vec<String> = ips
                .iter()
                .filter(|i| i.is_single())
                .map(ToString::to_string)
                .collect();
            let jail = jail.as_ref().map(JailName::as_str);
            ban_writer::record_unbans(txn, jail, &targets, actor, geo, now).await?;
        }
        Command::UnbanAll => {
            let all = ban_writer::load_current(txn).await?;
            ban_writer::end_bans(txn, all, now, actor, geo).await?;
        }
        Command::JailIdle { jail, on } => {
            db::execute(
                txn,
                "UPDATE f2b_jails SET idle = $2 WHERE name = $1",
                [jail.as_str().into(), (*on).into()],
            )
            .await?;
        }
        Command::JailStop { jail } => {
            db::execute(
                txn,
                "UPDATE f2b_jails SET running = false, idle = false, currently_banned = 0, currently_failed = 0 \
                 WHERE name = $1",
                [jail.as_str().into()],
            )
            .await?;
            count_running_jails(txn).await?;
        }
        Command::JailStart { .. } | Command::JailReload { .. } => {
            count_running_jails(txn).await?;
        }
        Command::ConfigWrite { jail, .. } => {
            // A deactivated jail is gone from fail2ban: the snapshot says so at once.
            db::execute(
                txn,
                "UPDATE f2b_jails SET running = false, idle = false, currently_banned = 0, currently_failed = 0 \
                 WHERE name = $1 AND NOT EXISTS \
                 (SELECT 1 FROM config_jails c WHERE c.name = $1 AND c.enabled = true)",
                [jail.as_str().into()],
            )
            .await?;
            count_running_jails(txn).await?;
        }
        _ => {}
    }
    Ok(())
}

/// The status row's jail count follows a start or stop at once (the status probe would
/// take up to its interval), so the status bar agrees with the jail list.
async fn count_running_jails<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    db::execute(
        txn,
        "UPDATE f2b_status SET jail_count = (SELECT COUNT(*) FROM f2b_jails WHERE running = true)",
        [],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fail2ban::codec::ServerError;

    fn unknown_jail() -> ClientError {
        ClientError::Server(ServerError {
            class: "fail2ban.exceptions.UnknownJailException".into(),
            message: "web-auth".into(),
        })
    }

    fn kind(o: Outcome) -> String {
        match o {
            Outcome::Succeeded(_) => "succeeded".into(),
            Outcome::Failed { code, .. } => code.as_str().into(),
            Outcome::Retry(_) => "retry".into(),
        }
    }

    #[test]
    fn a_waiting_command_is_retried_less_often_the_longer_it_waits() {
        assert_eq!(retry_delay(Duration::ZERO), RETRY_MIN);
        assert_eq!(retry_delay(Duration::from_secs(3)), Duration::from_secs(3));
        assert_eq!(retry_delay(Duration::from_secs(3600)), RETRY_MAX);
    }

    #[test]
    fn an_unknown_jail_waits_only_while_fail2ban_has_just_come_up() {
        let young = Some(Duration::from_secs(1));
        let old = Some(STARTUP_GRACE + Duration::from_secs(1));
        assert_eq!(kind(client_failure(unknown_jail(), young)), "retry");
        assert_eq!(kind(client_failure(unknown_jail(), old)), "unknown_jail");
        assert_eq!(kind(client_failure(unknown_jail(), None)), "unknown_jail");
        let gone = ClientError::Unreachable("no socket".into());
        assert_eq!(kind(client_failure(gone, old)), "retry");
        let other = ClientError::Protocol("bad".into());
        assert_eq!(kind(client_failure(other, young)), "fail2ban_error");
    }
}
