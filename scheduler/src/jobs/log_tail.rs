//! fail2ban's own log into the database (issue #19): every few seconds the scheduler asks
//! fail2ban where it logs (`get logtarget`) and, for a file, reads what was written since
//! its last look (at most 1 MiB a time, from the last 1 MiB on a first or rotated file),
//! parses it (time, level, logger, pid; continuation lines joined) and keeps the newest
//! entries. The API serves them; it never sees the file. Other targets (`SYSLOG`,
//! `SYSTEMD-JOURNAL`, `STDOUT`) are recorded as such, with no entries.

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
    Job::new("log_tail", every, Duration::from_secs(30), tail)
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

async fn tail(ctx: JobContext) -> Result<(), JobError> {
    let target = match ctx.f2b.client.server_get("logtarget").await {
        Ok(v) => target_of(&v).unwrap_or_default(),
        Err(e) if e.is_unavailable() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let last = fail2ban_log::state(&ctx.db).await?;
    let now = shared::db::db_now_ms(&ctx.db).await?;
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
