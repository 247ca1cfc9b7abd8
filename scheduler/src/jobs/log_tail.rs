//! fail2ban's own log into the database (issue #19): every few seconds the scheduler asks
//! fail2ban where it logs (`get logtarget`) and, for a file, reads what was written since
//! its last look (at most 1 MiB a time, from the last 1 MiB on a first or rotated file),
//! parses it (time, level, logger, pid; continuation lines joined) and keeps the newest
//! entries. For `SYSTEMD-JOURNAL` it asks `journalctl` for fail2ban's entries
//! (`SYSLOG_IDENTIFIER=fail2ban`) after the cursor it reached last time, in the system's
//! journal or `BANGUI_FAIL2BAN_JOURNAL_DIR`. The API serves them; it never sees the file.
//! Other targets (`SYSLOG`, `STDOUT`) are recorded as such, with no entries.

use shared::domain::JobName;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use chrono::TimeZone;
use shared::store::fail2ban_log::{self, LogState, NewEntry};

use super::{Job, JobContext, JobError};
use crate::fail2ban::codec::Value;

/// The most read in one look.
const CHUNK: u64 = 1 << 20;

pub fn job(every: Duration) -> Job {
    Job::new(JobName::LogTail, every, Duration::from_secs(30), tail)
}

/// The host's local time, as fail2ban writes it, in UTC epoch milliseconds.
fn local_ms(t: chrono::NaiveDateTime) -> Option<i64> {
    chrono::Local
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.timestamp_millis())
}

fn target_of(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        // Some versions answer with a list of targets.
        Value::List(items) | Value::Tuple(items) => items.iter().find_map(target_of),
        _ => None,
    }
}

struct NewLines {
    file_id: String,
    offset: i64,
    entries: Vec<NewEntry>,
    /// Started over: another file, or the same one rotated or truncated.
    restarted: bool,
}

fn read_new(path: &str, last: Option<&LogState>) -> std::io::Result<NewLines> {
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!("{path} is not a file")));
    }
    let file_id = format!("{}:{}", meta.dev(), meta.ino());
    let len = meta.len();
    let same = last.is_some_and(|s| {
        s.target == path
            && s.file_id.as_deref() == Some(file_id.as_str())
            && u64::try_from(s.offset_bytes).is_ok_and(|o| o <= len)
    });
    let start = if same {
        last.map_or(0, |s| s.offset_bytes as u64)
    } else {
        len.saturating_sub(CHUNK)
    };
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(CHUNK).read_to_end(&mut bytes)?;
    // Only whole lines; the rest is read next time.
    let mut end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    // A first read that began inside a line drops that piece.
    let mut begin = 0;
    if !same && start > 0 {
        begin = bytes
            .iter()
            .position(|b| *b == b'\n')
            .map_or(end, |i| i + 1);
    }
    end = end.max(begin);
    let text = String::from_utf8_lossy(&bytes[begin..end]);
    Ok(NewLines {
        file_id,
        offset: i64::try_from(start + end as u64).unwrap_or(i64::MAX),
        entries: fail2ban_log::parse(&text, local_ms),
        restarted: !same,
    })
}

/// The journal as a target: where the reading stands is its cursor.
const JOURNAL: &str = "SYSTEMD-JOURNAL";
const CURSOR: &str = "journal:";
/// The most entries read from the journal in one look (the first look reads the newest).
const JOURNAL_BATCH: usize = 2000;

/// fail2ban's entries in the journal after `cursor` (the newest [`JOURNAL_BATCH`] on a
/// first look), and the cursor of the last one.
async fn read_journal(
    dir: Option<&std::path::Path>,
    cursor: Option<&str>,
) -> std::io::Result<(Option<String>, Vec<NewEntry>)> {
    let mut cmd = tokio::process::Command::new("journalctl");
    cmd.args(["--no-pager", "-o", "json", "-n"])
        .arg(JOURNAL_BATCH.to_string())
        .arg("SYSLOG_IDENTIFIER=fail2ban");
    if let Some(dir) = dir {
        cmd.arg("-D").arg(dir);
    }
    if let Some(c) = cursor {
        cmd.arg(format!("--after-cursor={c}"));
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| {
        std::io::Error::other(format!(
            "journalctl is not available ({e}); BanGUI reads fail2ban's journal entries with it"
        ))
    })?;
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .map_err(|_| std::io::Error::other("journalctl did not answer within 10 s"))??;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "journalctl failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_journal(&String::from_utf8_lossy(&out.stdout)))
}

/// `journalctl -o json` lines as entries: the time (`__REALTIME_TIMESTAMP`, µs), the
/// level (`PRIORITY`, syslog's numbers), fail2ban's logger name (`LOGGER`), the pid and
/// the message (text, or bytes when journald kept it as such).
fn parse_journal(output: &str) -> (Option<String>, Vec<NewEntry>) {
    let mut cursor = None;
    let mut entries = Vec::new();
    for line in output.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        let message = match &v["MESSAGE"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(bytes) => String::from_utf8_lossy(
                &bytes
                    .iter()
                    .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect::<Vec<u8>>(),
            )
            .into_owned(),
            _ => continue,
        };
        let level = text("PRIORITY")
            .and_then(|p| p.parse::<u8>().ok())
            .map(|p| {
                match p {
                    0..=2 => "CRITICAL",
                    3 => "ERROR",
                    4 => "WARNING",
                    5 => "NOTICE",
                    6 => "INFO",
                    _ => "DEBUG",
                }
                .to_owned()
            });
        entries.push(NewEntry {
            at_ms: text("__REALTIME_TIMESTAMP")
                .and_then(|t| t.parse::<i64>().ok())
                .map(|us| us / 1000),
            level,
            logger: text("LOGGER"),
            pid: text("_PID").and_then(|p| p.parse().ok()),
            message: message.trim_end().to_owned(),
        });
        cursor = text("__CURSOR").or(cursor);
    }
    (cursor, entries)
}

async fn tail(ctx: JobContext) -> Result<(), JobError> {
    let target = match ctx.f2b.client.server_get("logtarget").await {
        Ok(v) => target_of(&v).unwrap_or_default(),
        Err(e) if e.is_unavailable() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let last = fail2ban_log::state(&ctx.db).await?;
    let now = shared::db::db_now_ms(&ctx.db).await?;
    if target == JOURNAL {
        return tail_journal(&ctx, target, last, now).await;
    }
    let is_file = target.starts_with('/');
    let outcome = if is_file {
        let path = target.clone();
        let prior = last.clone();
        Some(
            tokio::task::spawn_blocking(move || read_new(&path, prior.as_ref()))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r),
        )
    } else {
        None
    };
    let txn = ctx.fenced_txn().await?;
    let state = match outcome {
        Some(Ok(read)) => {
            if read.restarted {
                fail2ban_log::clear(&txn).await?;
            }
            fail2ban_log::append(&txn, &read.entries).await?;
            LogState {
                target,
                file_id: Some(read.file_id),
                offset_bytes: read.offset,
                read_at_ms: now,
                error: None,
            }
        }
        Some(Err(e)) => LogState {
            target: target.clone(),
            file_id: last.as_ref().and_then(|s| s.file_id.clone()),
            offset_bytes: last.as_ref().map_or(0, |s| s.offset_bytes),
            read_at_ms: now,
            error: Some(format!("cannot read {target}: {e}")),
        },
        None => {
            if last.as_ref().is_some_and(|s| s.target != target) {
                fail2ban_log::clear(&txn).await?;
            }
            LogState {
                target,
                file_id: None,
                offset_bytes: 0,
                read_at_ms: now,
                error: None,
            }
        }
    };
    fail2ban_log::set_state(&txn, &state).await?;
    ctx.commit(txn).await
}

async fn tail_journal(
    ctx: &JobContext,
    target: String,
    last: Option<LogState>,
    now: i64,
) -> Result<(), JobError> {
    let cursor = last
        .as_ref()
        .filter(|s| s.target == target)
        .and_then(|s| s.file_id.as_deref())
        .and_then(|id| id.strip_prefix(CURSOR))
        .map(str::to_owned);
    let read = read_journal(ctx.f2b.config.journal_dir.as_deref(), cursor.as_deref()).await;
    let txn = ctx.fenced_txn().await?;
    let state = match read {
        Ok((next, entries)) => {
            if cursor.is_none() {
                fail2ban_log::clear(&txn).await?;
            }
            fail2ban_log::append(&txn, &entries).await?;
            LogState {
                target,
                file_id: next.or(cursor).map(|c| format!("{CURSOR}{c}")),
                offset_bytes: 0,
                read_at_ms: now,
                error: None,
            }
        }
        Err(e) => LogState {
            target,
            file_id: cursor.map(|c| format!("{CURSOR}{c}")),
            offset_bytes: 0,
            read_at_ms: now,
            error: Some(e.to_string()),
        },
    };
    fail2ban_log::set_state(&txn, &state).await?;
    ctx.commit(txn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_entries_read_as_fail2ban_wrote_them() {
        let out = concat!(
            r#"{"__REALTIME_TIMESTAMP":"1764770000123456","LOGGER":"fail2ban.actions","PRIORITY":"5","__CURSOR":"s=a;i=1","SYSLOG_IDENTIFIER":"fail2ban","MESSAGE":"[sshd] Ban 192.0.2.1","_PID":"42"}"#,
            "
",
            r#"{"__REALTIME_TIMESTAMP":"1764770001000000","PRIORITY":"3","__CURSOR":"s=a;i=2","MESSAGE":[104,105,10],"_PID":"42"}"#,
            "
not json
"
        );
        let (cursor, entries) = parse_journal(out);
        assert_eq!(cursor.as_deref(), Some("s=a;i=2"));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].at_ms, Some(1_764_770_000_123));
        assert_eq!(entries[0].level.as_deref(), Some("NOTICE"));
        assert_eq!(entries[0].logger.as_deref(), Some("fail2ban.actions"));
        assert_eq!(entries[0].pid, Some(42));
        assert_eq!(entries[0].message, "[sshd] Ban 192.0.2.1");
        assert_eq!(entries[1].level.as_deref(), Some("ERROR"));
        assert_eq!(entries[1].message, "hi");
    }
}
