//! fail2ban's own log, as the scheduler last read it (`f2b_log`, `f2b_log_state`; issue
//! #19): the scheduler appends what fail2ban wrote since its last look and keeps the newest
//! [`KEEP`] entries; the API serves them, filtered by level and text.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use crate::store::{fetch_all, fetch_optional};

/// How many entries are kept.
pub const KEEP: i64 = 5000;

/// fail2ban's levels, least severe first (`NOTICE` is its own, between INFO and WARNING).
pub const LEVELS: [&str; 7] = [
    "HEAVYDEBUG",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "CRITICAL",
];

/// One entry: a line fail2ban wrote, with the lines that continue it (a traceback).
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct LogEntry {
    pub id: i64,
    /// When, in UTC epoch milliseconds (fail2ban writes the host's local time).
    pub at_ms: Option<i64>,
    pub level: Option<String>,
    pub logger: Option<String>,
    pub pid: Option<i64>,
    pub message: String,
}

/// An entry as parsed, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub at_ms: Option<i64>,
    pub level: Option<String>,
    pub logger: Option<String>,
    pub pid: Option<i64>,
    pub message: String,
}

/// Where the reading stands.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct LogState {
    /// fail2ban's `logtarget`: a file, `STDOUT`, `SYSLOG`, `SYSTEMD-JOURNAL`, …
    pub target: String,
    /// The file read (device and inode), to notice a rotation.
    pub file_id: Option<String>,
    pub offset_bytes: i64,
    pub read_at_ms: i64,
    pub error: Option<String>,
}

/// Parses fail2ban's log text into entries: a line that starts with its time stamp
/// (`2026-12-03 12:39:54,688 fail2ban.filter [123]: INFO    message`) starts an entry,
/// any other line continues the previous one. `local_to_utc_ms` turns the host's local
/// time (as written) into epoch milliseconds.
pub fn parse(
    text: &str,
    local_to_utc_ms: impl Fn(chrono::NaiveDateTime) -> Option<i64>,
) -> Vec<NewEntry> {
    let mut out: Vec<NewEntry> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        match parse_head(line) {
            Some((at, rest)) => {
                let (logger, pid, level, message) = split_rest(rest);
                out.push(NewEntry {
                    at_ms: local_to_utc_ms(at),
                    level,
                    logger,
                    pid,
                    message,
                });
            }
            None if line.trim().is_empty() => {}
            None => match out.last_mut() {
                Some(last) => {
                    last.message.push('\n');
                    last.message.push_str(line);
                }
                None => out.push(NewEntry {
                    at_ms: None,
                    level: None,
                    logger: None,
                    pid: None,
                    message: line.to_owned(),
                }),
            },
        }
    }
    out
}

fn parse_head(line: &str) -> Option<(chrono::NaiveDateTime, &str)> {
    let stamp = line.get(..23)?;
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S,%3f").ok()?;
    Some((at, line[23..].trim_start()))
}

/// `fail2ban.filter  [123]: INFO    message` into its parts; what does not fit stays
/// in the message.
fn split_rest(rest: &str) -> (Option<String>, Option<i64>, Option<String>, String) {
    let Some((head, tail)) = rest.split_once("]: ") else {
        return (None, None, None, rest.to_owned());
    };
    let Some((logger, pid)) = head.split_once('[') else {
        return (None, None, None, rest.to_owned());
    };
    let tail = tail.trim_start();
    let (level, message) = match tail.split_once(char::is_whitespace) {
        Some((word, message)) if LEVELS.contains(&word) => {
            (Some(word.to_owned()), message.trim_start())
        }
        _ => (None, tail),
    };
    (
        Some(logger.trim().to_owned()),
        pid.trim().parse().ok(),
        level,
        message.to_owned(),
    )
}

pub async fn state<C: ConnectionTrait>(db: &C) -> Result<Option<LogState>, DbErr> {
    fetch_optional(
        db,
        "SELECT target, file_id, offset_bytes, read_at_ms, error FROM f2b_log_state WHERE id = 1",
        [],
    )
    .await
}

pub async fn set_state<C: ConnectionTrait>(txn: &C, s: &LogState) -> Result<(), DbErr> {
    crate::db::execute(
        txn,
        "INSERT INTO f2b_log_state (id, target, file_id, offset_bytes, read_at_ms, error) \
         VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET target = excluded.target, \
         file_id = excluded.file_id, offset_bytes = excluded.offset_bytes, \
         read_at_ms = excluded.read_at_ms, error = excluded.error",
        [
            s.target.clone().into(),
            s.file_id.clone().into(),
            s.offset_bytes.into(),
            s.read_at_ms.into(),
            s.error.clone().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Forgets every entry (another file, or a rotation: the new file is read from its start).
pub async fn clear<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    crate::db::execute(txn, "DELETE FROM f2b_log", []).await?;
    Ok(())
}

/// Appends entries and keeps the newest [`KEEP`]. A continuation of the last stored entry
/// (the first parsed piece has no time) is appended to it.
pub async fn append<C: ConnectionTrait>(txn: &C, entries: &[NewEntry]) -> Result<(), DbErr> {
    let mut entries = entries;
    if let Some(first) = entries.first()
        && first.at_ms.is_none()
        && first.level.is_none()
    {
        let updated = crate::db::execute(
            txn,
            "UPDATE f2b_log SET message = message || $1 WHERE id = (SELECT MAX(id) FROM f2b_log)",
            [format!("\n{}", first.message).into()],
        )
        .await?;
        if updated > 0 {
            entries = &entries[1..];
        }
    }
    for e in entries.iter().rev().take(KEEP as usize).rev() {
        crate::db::execute(
            txn,
            "INSERT INTO f2b_log (at_ms, level, logger, pid, message) VALUES ($1, $2, $3, $4, $5)",
            [
                e.at_ms.into(),
                e.level.clone().into(),
                e.logger.clone().into(),
                e.pid.into(),
                e.message.clone().into(),
            ],
        )
        .await?;
    }
    crate::db::execute(
        txn,
        "DELETE FROM f2b_log WHERE id <= (SELECT MAX(id) FROM f2b_log) - $1",
        [KEEP.into()],
    )
    .await?;
    Ok(())
}

/// The newest `limit` entries at `min_level` or above (when given) whose message or
/// logger holds `q` (case-insensitively), oldest first.
pub async fn tail<C: ConnectionTrait>(
    db: &C,
    limit: u32,
    min_level: Option<&str>,
    q: Option<&str>,
) -> Result<Vec<LogEntry>, DbErr> {
    let mut sql =
        String::from("SELECT id, at_ms, level, logger, pid, message FROM f2b_log WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if let Some(min) = min_level
        && let Some(at) = LEVELS.iter().position(|l| l.eq_ignore_ascii_case(min))
    {
        let wanted: Vec<String> = LEVELS[at..]
            .iter()
            .map(|l| {
                values.push((*l).into());
                format!("${}", values.len())
            })
            .collect();
        sql.push_str(&format!(" AND level IN ({})", wanted.join(", ")));
    }
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        values.push(
            format!(
                "%{}%",
                q.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
            .into(),
        );
        let n = values.len();
        sql.push_str(&format!(
            " AND (LOWER(message) LIKE ${n} ESCAPE '\\' OR LOWER(COALESCE(logger, '')) LIKE ${n} ESCAPE '\\')"
        ));
    }
    values.push(i64::from(limit).into());
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", values.len()));
    let mut rows: Vec<LogEntry> = fetch_all(db, &sql, values).await?;
    rows.reverse();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail2bans_lines_and_their_continuations_are_parsed() {
        let text = "2026-12-03 12:39:54,688 fail2ban.configreader   [24961]: WARNING 'allowipv6' not defined\n\
                    2026-12-03 12:39:55,001 fail2ban.actions        [24961]: NOTICE  [sshd] Ban 192.0.2.7\n\
                    Traceback (most recent call last):\n  File \"x\", line 1\n\
                    2026-12-03 12:39:56,000 fail2ban                [1]: ERROR   Failed: boom\n\
                    not a log line at all\n";
        let utc = |t: chrono::NaiveDateTime| Some(t.and_utc().timestamp_millis());
        let e = parse(text, utc);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].level.as_deref(), Some("WARNING"));
        assert_eq!(e[0].logger.as_deref(), Some("fail2ban.configreader"));
        assert_eq!(e[0].pid, Some(24961));
        assert_eq!(e[0].message, "'allowipv6' not defined");
        assert_eq!(e[1].level.as_deref(), Some("NOTICE"));
        assert!(e[1].message.ends_with("line 1"), "{:?}", e[1].message);
        assert_eq!(e[2].message, "Failed: boom\nnot a log line at all");
        assert_eq!(e[0].at_ms, Some(1_796_301_594_688));
        // A piece that starts mid-entry stands alone, without a time.
        let e = parse("  continued\n", utc);
        assert_eq!(e[0].at_ms, None);
    }
}
