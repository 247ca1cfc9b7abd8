//! fail2ban's own settings and lifecycle (issue #19): `server_set` sets `loglevel`,
//! `logtarget`, `syslogsocket`, `dbpurgeage` and `dbmaxmatches` over the socket and writes
//! them into `fail2ban.local` through the validated write path; `server_flush_logs` has
//! fail2ban reopen its log; `server_restart` restarts it and waits until it runs its jails
//! with their bans again. What fail2ban runs with is kept in `f2b_server_settings` for the
//! API (it cannot ask fail2ban).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::config_edit::{ConfigFile, LocalText, Revision, WriteReason, set_options};
use shared::error_code::ErrorCode;
use shared::server_settings::ServerSettings;
use shared::store::commands::Claimed;
use shared::store::server_settings::{self as store, ServerSettingsRow};

use crate::config_write::{self, Refusal, WriteRequest};
use crate::fail2ban::codec::Value;
use crate::jobs::{JobContext, JobError};

/// How long a restarted fail2ban gets to run its jails and their bans again.
const RESTART_WITHIN: Duration = Duration::from_secs(60);

fn refusal(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Asks fail2ban for its settings and stores them when they changed.
pub async fn observe(ctx: &JobContext) -> Result<(), JobError> {
    let client = &ctx.f2b.client;
    let mut settings = serde_json::Map::new();
    for key in crate::config_tree::defs::SERVER_KEYS {
        let value = match client.server_get(key).await {
            Ok(v) => v,
            // Not reachable: nothing new to say; the status shows why.
            Err(e) if e.is_unavailable() => return Ok(()),
            Err(e) => {
                tracing::debug!(key, error = %e, "fail2ban did not give a setting");
                continue;
            }
        };
        let Some(text) = setting_text(&value) else {
            continue;
        };
        settings.insert((*key).to_owned(), text.into());
    }
    let row = ServerSettingsRow {
        settings: serde_json::Value::Object(settings).to_string(),
        archive_interval_ms: i64::try_from(ctx.f2b.config.archive_interval.as_millis())
            .unwrap_or(i64::MAX),
        read_at_ms: shared::db::db_now_ms(&ctx.db).await?,
    };
    let stored = store::get(&ctx.db).await?;
    let same = stored.as_ref().is_some_and(|s| {
        s.settings == row.settings && s.archive_interval_ms == row.archive_interval_ms
    });
    // Unchanged settings are written again once a minute, so the read time says how fresh.
    if same && stored.is_some_and(|s| row.read_at_ms - s.read_at_ms < 60_000) {
        return Ok(());
    }
    let txn = ctx.fenced_txn().await?;
    store::put(&txn, &row).await?;
    ctx.commit(txn).await
}

/// A setting's answer as text: a word, a number, or the first word of a list (some
/// versions answer `logtarget` with a list of targets).
pub fn setting_text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::List(items) | Value::Tuple(items) => items.iter().find_map(setting_text),
        _ => None,
    }
}

/// `server_set`: each given setting set at runtime and written into `fail2ban.local`.
pub async fn set(
    ctx: &JobContext,
    cmd: &Claimed,
    settings: &ServerSettings,
    expected: &Revision,
) -> Result<serde_json::Value, Refusal> {
    let changes = settings.changes();
    if changes.is_empty() {
        return Err(refusal(ErrorCode::ConfigRefused, "no setting to change"));
    }
    if let Some(file) = settings.logtarget.as_ref().and_then(|t| t.file()) {
        let current = ctx
            .f2b
            .client
            .server_get("logtarget")
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        let allow = ctx.f2b.config.log_allow_dirs.clone();
        let file = file.to_owned();
        tokio::task::spawn_blocking(move || log_file_allowed(&file, current.as_deref(), &allow))
            .await
            .map_err(|e| refusal(ErrorCode::Internal, e.to_string()))??;
    }
    let written = {
        let _writer = ctx.f2b.config_writer.lock().await;
        let root = ctx.f2b.config.config_dir.clone();
        let target = tokio::task::spawn_blocking(move || {
            config_write::resolve(&root, &ConfigFile::ServerLocal)
        })
        .await
        .map_err(|e| refusal(ErrorCode::Internal, e.to_string()))??;
        let current = target.current.clone().unwrap_or_default();
        let edits: Vec<(String, Option<String>)> = changes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some(v.clone())))
            .collect();
        let text = LocalText::parse(set_options(&current, "Definition", &edits))
            .map_err(|e| refusal(ErrorCode::ConfigRefused, e.to_string()))?;
        config_write::write_file(
            ctx,
            &WriteRequest {
                file: &ConfigFile::ServerLocal,
                text: Some(text.as_str()),
                expected,
                reason: WriteReason::Server,
                command: cmd,
                resumable: true,
            },
        )
        .await?
    };
    // The file may have said so already while fail2ban runs otherwise (a `set` by hand):
    // what was asked is set either way.
    let asked: Vec<(String, String)> = changes
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    config_write::set_server(ctx, &asked)
        .await
        .map_err(|e| refusal(ErrorCode::Fail2banError, e))?;
    if let Err(e) = observe(ctx).await {
        tracing::warn!(error = %e, "could not read fail2ban's settings back");
    }
    let mut out = written;
    let warnings = settings
        .dbpurgeage
        .as_ref()
        .map(|t| {
            shared::server_settings::purge_age_warnings(
                t.seconds(),
                ctx.f2b.config.archive_interval.as_secs() as i64,
            )
        })
        .unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("warnings".into(), json!(warnings));
        map.insert(
            "settings".into(),
            json!(
                asked
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
            ),
        );
    }
    Ok(out)
}

/// A log file fail2ban may be told to write: an absolute path whose folder exists and is
/// under `BANGUI_LOG_ALLOW_DIRS`, `/var/log`, or the folder of the file it writes now;
/// the file itself a plain file or not there yet (never a link: fail2ban, as root, would
/// append to whatever it points at).
fn log_file_allowed(
    file: &str,
    current: Option<&str>,
    allow: &[std::path::PathBuf],
) -> Result<(), Refusal> {
    let refuse = |m: String| refusal(ErrorCode::LogPathRefused, m);
    let path = Path::new(file);
    let parent = path
        .parent()
        .ok_or_else(|| refuse(format!("{file} has no folder")))?;
    let real =
        std::fs::canonicalize(parent).map_err(|e| refuse(format!("{}: {e}", parent.display())))?;
    let mut allowed: Vec<std::path::PathBuf> = allow.to_vec();
    allowed.push("/var/log".into());
    if let Some(dir) = current
        .filter(|c| c.starts_with('/'))
        .and_then(|c| Path::new(c).parent())
    {
        allowed.push(dir.to_path_buf());
    }
    let inside = allowed
        .iter()
        .any(|dir| std::fs::canonicalize(dir).is_ok_and(|dir| real.starts_with(dir)));
    if !inside {
        return Err(refuse(format!(
            "{file} is not under /var/log, BANGUI_LOG_ALLOW_DIRS or the folder fail2ban logs to now"
        )));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(refuse(format!("{file} is a symbolic link"))),
        Ok(m) if !m.is_file() => Err(refuse(format!("{file} is not a plain file"))),
        _ => Ok(()),
    }
}

/// `server_flush_logs`: fail2ban closes and reopens its log file.
pub async fn flush_logs(ctx: &JobContext) -> Result<serde_json::Value, Refusal> {
    let said = ctx
        .f2b
        .client
        .call(&["flushlogs"], None)
        .await
        .map_err(|e| {
            refusal(
                if e.is_unavailable() {
                    ErrorCode::Fail2banUnavailable
                } else {
                    ErrorCode::Fail2banError
                },
                e.to_string(),
            )
        })?;
    Ok(json!({ "result": said.as_str().map_or_else(|| said.to_string(), str::to_owned) }))
}

/// `server_restart`: fail2ban's own `restart` where BanGUI may start fail2ban
/// (`BANGUI_FAIL2BAN_MAY_START`), else every jail restarted inside the running server
/// (`reload --restart --all`: a supervisor such as systemd keeps its process). Then waits
/// until fail2ban runs every jail it ran before, with at least as many bans (fail2ban
/// restores them from its database), or says what did not come back. The caller holds
/// the snapshot lock: a ban sync in between would record the restart's gap as unbans.
pub async fn restart(ctx: &JobContext) -> Result<serde_json::Value, Refusal> {
    let client = &ctx.f2b.client;
    let unavailable = |e: crate::fail2ban::client::ClientError| {
        refusal(ErrorCode::Fail2banUnavailable, e.to_string())
    };
    let jails_before = client.jails().await.map_err(unavailable)?;
    let bans_before = total(&client.banned().await.map_err(unavailable)?);
    let started = Instant::now();
    let server = ctx.f2b.config.may_start;
    let program = &ctx.f2b.program;
    let ran = if server {
        program.restart_server().await
    } else {
        program.restart_jails().await
    };
    ran.map_err(|e| {
        refusal(
            ErrorCode::Fail2banClientFailed,
            format!("fail2ban's restart failed: {e}"),
        )
    })?;
    let until = Instant::now() + RESTART_WITHIN;
    let (jails_after, bans_after) = loop {
        let now = match (client.jails().await, client.banned().await) {
            (Ok(j), Ok(b)) => Some((j, total(&b))),
            _ => None,
        };
        if let Some((jails, bans)) = &now {
            let all_back = jails_before.iter().all(|j| jails.contains(j));
            if all_back && *bans >= bans_before {
                break (jails.clone(), *bans);
            }
        }
        if Instant::now() >= until {
            let Some((jails, bans)) = now else {
                return Err(refusal(
                    ErrorCode::Fail2banUnavailable,
                    format!(
                        "fail2ban did not answer within {} s of its restart",
                        RESTART_WITHIN.as_secs()
                    ),
                ));
            };
            let missing: Vec<&str> = jails_before
                .iter()
                .filter(|j| !jails.contains(j))
                .map(|j| j.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(refusal(
                    ErrorCode::JailNotStarted,
                    format!(
                        "fail2ban restarted without {} (see its log for why)",
                        missing.join(", ")
                    ),
                ));
            }
            // Fewer bans: some ran out while fail2ban restarted.
            break (jails, bans);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tracing::info!(
        server,
        duration_ms = started.elapsed().as_millis() as u64,
        bans_before,
        bans_after,
        "fail2ban restarted"
    );
    if let Err(e) = observe(ctx).await {
        tracing::warn!(error = %e, "could not read fail2ban's settings after the restart");
    }
    Ok(json!({
        "mode": if server { "server" } else { "jails" },
        "jails": jails_after,
        "bans_before": bans_before,
        "bans_after": bans_after,
        "duration_ms": started.elapsed().as_millis() as u64,
    }))
}

fn total(banned: &[(shared::domain::JailName, Vec<String>)]) -> usize {
    banned.iter().map(|(_, ips)| ips.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_goes_only_where_logs_go() {
        let dir = std::env::temp_dir().join(format!("bangui-logs-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        let allow = vec![dir.clone()];
        let inside = dir.join("sub/fail2ban.log");
        assert!(log_file_allowed(inside.to_str().expect("utf8"), None, &allow).is_ok());
        assert!(log_file_allowed("/etc/cron.d/evil", None, &allow).is_err());
        assert!(log_file_allowed("/nonexistent-folder/x.log", None, &allow).is_err());
        // The folder of the file fail2ban writes now is allowed too.
        assert!(log_file_allowed("/etc/x.log", Some("/etc/fail2ban.log"), &[]).is_ok());
        let link = dir.join("link.log");
        std::os::unix::fs::symlink("/etc/passwd", &link).expect("link");
        let e = log_file_allowed(link.to_str().expect("utf8"), None, &allow).expect_err("link");
        assert_eq!(e.code, ErrorCode::LogPathRefused);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
