//! fail2ban's configuration as the scheduler last read it (`config_files`, `config_jails`,
//! `config_reads`; ADR 0008). The scheduler replaces the snapshot in one fenced
//! transaction (writing only the rows that changed); readers get the files, the jails
//! and the read's time and error.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::store::{fetch_all, fetch_optional};

/// A file the last read used.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct FileRow {
    pub path: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub mtime_ms: i64,
    /// The text, for files of at most `config_edit::MAX_FILE_BYTES` that are UTF-8.
    pub content: Option<String>,
}

/// A jail of the last read: settings as JSON `{key: {value, file, line}}`, problems as a
/// JSON array of sentences.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct JailRow {
    pub name: String,
    pub enabled: bool,
    pub settings: String,
    pub problems: String,
}

impl JailRow {
    /// The value of one of its settings (`logpath`, `filter`, `action`, …), as read.
    pub fn setting_value(&self, key: &str) -> Option<String> {
        let settings: serde_json::Value = serde_json::from_str(&self.settings).ok()?;
        settings[key]["value"].as_str().map(str::to_owned)
    }
}

/// A filter or action of the last read (`kind` is `filter` or `action`; `server` for
/// fail2ban's own `fail2ban.conf` and its overrides, named `fail2ban`): the files read,
/// `[INCLUDES]`, and `[Definition]`/`[Init]` as JSON `{key: {raw, value, error, file,
/// line}}`; `error` when the files could not be read.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct DefRow {
    pub kind: String,
    pub name: String,
    pub files: String,
    pub includes: String,
    pub definition: String,
    pub init: String,
    pub error: Option<String>,
}

const DEF_COLUMNS: &str = "kind, name, files, includes, definition, init, error";

pub async fn defs<C: ConnectionTrait>(db: &C, kind: &str) -> Result<Vec<DefRow>, DbErr> {
    fetch_all(
        db,
        &format!("SELECT {DEF_COLUMNS} FROM config_defs WHERE kind = $1 ORDER BY name"),
        [kind.into()],
    )
    .await
}

pub async fn def<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    name: &str,
) -> Result<Option<DefRow>, DbErr> {
    fetch_optional(
        db,
        &format!("SELECT {DEF_COLUMNS} FROM config_defs WHERE kind = $1 AND name = $2"),
        [kind.into(), name.into()],
    )
    .await
}

/// Replaces the filters and actions with `rows`, writing only those that changed.
pub async fn replace_defs<C: ConnectionTrait>(txn: &C, rows: &[DefRow]) -> Result<(), DbErr> {
    let mut stored: HashMap<(String, String), DefRow> = HashMap::new();
    for kind in ["filter", "action", "server"] {
        for r in defs(txn, kind).await? {
            stored.insert((r.kind.clone(), r.name.clone()), r);
        }
    }
    for r in rows {
        if stored.get(&(r.kind.clone(), r.name.clone())) == Some(r) {
            continue;
        }
        crate::db::execute(
            txn,
            "INSERT INTO config_defs (kind, name, files, includes, definition, init, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, name) DO UPDATE SET \
             files = excluded.files, includes = excluded.includes, definition = excluded.definition, \
             init = excluded.init, error = excluded.error",
            [
                r.kind.clone().into(),
                r.name.clone().into(),
                r.files.clone().into(),
                r.includes.clone().into(),
                r.definition.clone().into(),
                r.init.clone().into(),
                r.error.clone().into(),
            ],
        )
        .await?;
    }
    let kept: HashSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.kind.as_str(), r.name.as_str()))
        .collect();
    for (kind, name) in stored.keys() {
        if !kept.contains(&(kind.as_str(), name.as_str())) {
            crate::db::execute(
                txn,
                "DELETE FROM config_defs WHERE kind = $1 AND name = $2",
                [kind.clone().into(), name.clone().into()],
            )
            .await?;
        }
    }
    Ok(())
}

/// The last read: where, when, what it looked at (a fingerprint of the files' paths,
/// sizes and times) and why it failed, if it did.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ReadRow {
    pub root: String,
    pub read_at_ms: i64,
    pub fingerprint: String,
    pub error: Option<String>,
    /// Whether the scheduler may write the folders BanGUI writes (`jail.d/`): when not,
    /// BanGUI is read-only and says so.
    pub writable: bool,
}

pub async fn last_read<C: ConnectionTrait>(db: &C) -> Result<Option<ReadRow>, DbErr> {
    fetch_optional(
        db,
        "SELECT root, read_at_ms, fingerprint, error, writable FROM config_reads WHERE id = 1",
        [],
    )
    .await
}

pub async fn jails<C: ConnectionTrait>(db: &C) -> Result<Vec<JailRow>, DbErr> {
    fetch_all(
        db,
        "SELECT name, enabled, settings, problems FROM config_jails ORDER BY name",
        [],
    )
    .await
}

/// One jail of the last read.
pub async fn jail<C: ConnectionTrait>(db: &C, name: &str) -> Result<Option<JailRow>, DbErr> {
    fetch_optional(
        db,
        "SELECT name, enabled, settings, problems FROM config_jails WHERE name = $1",
        [name.into()],
    )
    .await
}

pub async fn files<C: ConnectionTrait>(db: &C) -> Result<Vec<FileRow>, DbErr> {
    fetch_all(
        db,
        "SELECT path, sha256, size_bytes, mtime_ms, content FROM config_files ORDER BY path",
        [],
    )
    .await
}

/// One file of the last read, by its full path.
pub async fn file<C: ConnectionTrait>(db: &C, path: &str) -> Result<Option<FileRow>, DbErr> {
    fetch_optional(
        db,
        "SELECT path, sha256, size_bytes, mtime_ms, content FROM config_files WHERE path = $1",
        [path.into()],
    )
    .await
}

/// Records that the tree was looked at again and found unchanged.
pub async fn touch<C: ConnectionTrait>(txn: &C, read_at_ms: i64) -> Result<(), DbErr> {
    crate::db::execute(
        txn,
        "UPDATE config_reads SET read_at_ms = $1 WHERE id = 1",
        [read_at_ms.into()],
    )
    .await?;
    Ok(())
}

/// Replaces the snapshot inside the caller's (fenced) transaction. A failed read keeps
/// the files and jails of the last good one and records only its error. Only what
/// changed is written: after one file's write that is one file and its jails, not the
/// hundred-odd rows (and half a megabyte of text) of the whole tree.
pub async fn replace<C: ConnectionTrait>(
    txn: &C,
    read: &ReadRow,
    snapshot: Option<(&[FileRow], &[JailRow])>,
) -> Result<(), DbErr> {
    if let Some((files, jails)) = snapshot {
        #[derive(FromQueryResult)]
        struct Stored {
            path: String,
            sha256: String,
            size_bytes: i64,
            mtime_ms: i64,
        }
        let stored: HashMap<String, (String, i64, i64)> = fetch_all::<Stored, _>(
            txn,
            "SELECT path, sha256, size_bytes, mtime_ms FROM config_files",
            [],
        )
        .await?
        .into_iter()
        .map(|f| (f.path, (f.sha256, f.size_bytes, f.mtime_ms)))
        .collect();
        for f in files {
            let unchanged = stored.get(&f.path).is_some_and(|(sha, size, mtime)| {
                (sha, *size, *mtime) == (&f.sha256, f.size_bytes, f.mtime_ms)
            });
            if unchanged {
                continue;
            }
            crate::db::execute(
                txn,
                "INSERT INTO config_files (path, sha256, size_bytes, mtime_ms, content) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (path) DO UPDATE SET \
                 sha256 = excluded.sha256, size_bytes = excluded.size_bytes, \
                 mtime_ms = excluded.mtime_ms, content = excluded.content",
                [
                    f.path.clone().into(),
                    f.sha256.clone().into(),
                    f.size_bytes.into(),
                    f.mtime_ms.into(),
                    f.content.clone().into(),
                ],
            )
            .await?;
        }
        let kept: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        for gone in stored.keys().filter(|p| !kept.contains(p.as_str())) {
            crate::db::execute(
                txn,
                "DELETE FROM config_files WHERE path = $1",
                [gone.clone().into()],
            )
            .await?;
        }

        let stored: HashMap<String, JailRow> = self::jails(txn)
            .await?
            .into_iter()
            .map(|j| (j.name.clone(), j))
            .collect();
        for j in jails.iter().filter(|j| stored.get(&j.name) != Some(*j)) {
            crate::db::execute(
                txn,
                "INSERT INTO config_jails (name, enabled, settings, problems) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, \
                 settings = excluded.settings, problems = excluded.problems",
                [
                    j.name.clone().into(),
                    j.enabled.into(),
                    j.settings.clone().into(),
                    j.problems.clone().into(),
                ],
            )
            .await?;
        }
        let kept: HashSet<&str> = jails.iter().map(|j| j.name.as_str()).collect();
        for gone in stored.keys().filter(|n| !kept.contains(n.as_str())) {
            crate::db::execute(
                txn,
                "DELETE FROM config_jails WHERE name = $1",
                [gone.clone().into()],
            )
            .await?;
        }
    }
    crate::db::execute(
        txn,
        "INSERT INTO config_reads (id, root, read_at_ms, fingerprint, error, writable) \
         VALUES (1, $1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET root = excluded.root, read_at_ms = excluded.read_at_ms, \
           fingerprint = excluded.fingerprint, error = excluded.error, writable = excluded.writable",
        [
            read.root.clone().into(),
            read.read_at_ms.into(),
            read.fingerprint.clone().into(),
            read.error.clone().into(),
            read.writable.into(),
        ],
    )
    .await?;
    Ok(())
}
