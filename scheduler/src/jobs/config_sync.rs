//! The configuration sync (ADR 0008): every few seconds, a fingerprint of fail2ban's
//! configuration tree (each `*.conf`/`*.local` file's path, size and modification time);
//! when it changed since the last read, the tree is read again (`config_tree::jails`)
//! and the snapshot replaced in one fenced transaction: the files read with their
//! SHA-256, and every jail with its jail-level settings and their origins. A tree that
//! cannot be read keeps the last good snapshot and records the error.

use shared::domain::JobName;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;
use sha2::{Digest, Sha256};
use shared::lease::{commit_fenced, fenced_transaction};
use shared::store::config_tree::{self, DefRow, FileRow, JailRow, ReadRow};
use shared::store::snapshots;

use super::{Job, JobContext, JobError};
use crate::config_tree::{defs, jails};

pub fn job(every: Duration) -> Job {
    Job::new(JobName::ConfigSync, every, Duration::from_secs(30), sync)
}

/// How often the scheduler checks that it can still write `jail.d/` when nothing changed.
const WRITABLE_EVERY_MS: i64 = 60_000;

/// How deep below the root the fingerprint looks (`filter.d/ignorecommands/…` is 2).
const MAX_DEPTH: usize = 3;

async fn sync(ctx: JobContext) -> Result<(), JobError> {
    read_if_changed(&ctx, false).await?;
    // What fail2ban runs with (a `set` by hand changes it without a file changing).
    crate::server_ops::observe(&ctx).await
}

/// Reads the tree again now, whatever its fingerprint (after a write).
pub async fn refresh(ctx: &JobContext) -> Result<(), JobError> {
    read_if_changed(ctx, true).await
}

async fn read_if_changed(ctx: &JobContext, force: bool) -> Result<(), JobError> {
    let _writer = ctx.f2b.config_writer.lock().await;
    let root = ctx.f2b.config.config_dir.clone();
    let root_text = root.display().to_string();
    let scan = root.clone();
    let (fingerprint, defs_print) = tokio::task::spawn_blocking(move || fingerprints(&scan))
        .await
        .unwrap_or_default();
    let last = config_tree::last_read(&ctx.db).await?;
    let now_ms = shared::db::db_now_ms(&ctx.db).await?;
    let same_tree = last
        .as_ref()
        .is_some_and(|r| r.root == root_text && r.fingerprint == fingerprint);
    if !force
        && same_tree
        && last
            .as_ref()
            .is_some_and(|r| now_ms - r.read_at_ms < WRITABLE_EVERY_MS)
    {
        return Ok(());
    }
    // Whether BanGUI may write is looked at with every read and at least once a minute
    // (a folder made read-only, or writable again, is noticed without a file changing).
    let probe = root.clone();
    let writable = tokio::task::spawn_blocking(move || writable(&probe))
        .await
        .unwrap_or(false);
    if !force && same_tree && last.as_ref().is_some_and(|r| r.writable == writable) {
        let txn = ctx.fenced_txn().await?;
        config_tree::touch(&txn, now_ms).await?;
        return ctx.commit(txn).await;
    }
    let version = snapshots::status(&ctx.db)
        .await?
        .and_then(|s| s.version)
        .unwrap_or_default();
    // Filters and actions are read again only when their folders changed since this
    // process last stored them (a jail's write touches neither).
    let with_defs = ctx
        .f2b
        .defs_read
        .lock()
        .map_or(true, |last| last.as_deref() != Some(defs_print.as_str()));
    let read_root = root.clone();
    let outcome = tokio::task::spawn_blocking(move || read(&read_root, &version, with_defs))
        .await
        .unwrap_or_else(|e| Err(format!("the read stopped: {e}")));
    let (snapshot, error) = match &outcome {
        Ok((files, jails, _)) => (Some((files.as_slice(), jails.as_slice())), None),
        Err(e) => (None, Some(e.clone())),
    };
    let row = ReadRow {
        root: root_text,
        read_at_ms: now_ms,
        fingerprint,
        error,
        writable,
    };
    let Some(txn) = fenced_transaction(&ctx.db, &ctx.fence).await? else {
        return Err(JobError::Fenced);
    };
    config_tree::replace(&txn, &row, snapshot).await?;
    let stored_defs = if let Ok((_, _, Some(defs))) = &outcome {
        config_tree::replace_defs(&txn, defs).await?;
        true
    } else {
        false
    };
    if !commit_fenced(txn, &ctx.fence).await? {
        return Err(JobError::Fenced);
    }
    if stored_defs && let Ok(mut last) = ctx.f2b.defs_read.lock() {
        *last = Some(defs_print);
    }
    match &outcome {
        Ok((files, jails, _)) => tracing::info!(
            files = files.len(),
            jails = jails.len(),
            "configuration read"
        ),
        Err(e) => tracing::warn!(error = %e, "the configuration could not be read"),
    }
    Ok(())
}

/// Whether the scheduler can write `jail.d/` (or create it): a file is made and removed,
/// the only test that also sees read-only mounts and access rules beyond the mode bits.
fn writable(root: &Path) -> bool {
    let dir = root.join("jail.d");
    let dir = if dir.is_dir() {
        dir
    } else {
        root.to_path_buf()
    };
    let probe = dir.join(format!(".bangui-probe-{:08x}", rand::random::<u32>()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => std::fs::remove_file(&probe).is_ok(),
        Err(_) => false,
    }
}

/// The tree's `*.conf`/`*.local` files with their sizes and times, hashed: all of them,
/// and those of `filter.d/`, `action.d/` and fail2ban's own (`fail2ban.conf`, …) alone.
fn fingerprints(root: &Path) -> (String, String) {
    let mut entries = Vec::new();
    collect(root, 0, &mut entries);
    entries.sort();
    let (filters, actions) = (root.join("filter.d"), root.join("action.d"));
    let server = |p: &Path| {
        p.strip_prefix(root)
            .ok()
            .and_then(|r| r.to_str())
            .is_some_and(|r| r.starts_with("fail2ban.") || r.starts_with("fail2ban.d/"))
    };
    let mut all = Sha256::new();
    let mut defs = Sha256::new();
    for (path, size, mtime) in entries {
        let line = format!("{}\0{size}\0{mtime}\n", path.display());
        if path.starts_with(&filters) || path.starts_with(&actions) || server(&path) {
            defs.update(&line);
        }
        all.update(line);
    }
    (hex(&all.finalize()), hex(&defs.finalize()))
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, u64, i64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                collect(&path, depth + 1, out);
            }
        } else if path
            .extension()
            .is_some_and(|e| e == "conf" || e == "local")
        {
            out.push((path, meta.len(), mtime_ms(&meta)));
        }
    }
}

fn mtime_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What one read of the tree gives: the files, the jails, the filters and actions (when
/// they were read).
type Snapshot = (Vec<FileRow>, Vec<JailRow>, Option<Vec<DefRow>>);

/// Reads the jails and hashes the files they came from, and every filter and action
/// file (`filter.d/`, `action.d/`), used by a jail or not: what the API lists and tests.
fn read(root: &Path, version: &str, with_defs: bool) -> Result<Snapshot, String> {
    let tree = jails::read_with_files(root, version).map_err(|e| e.to_string())?;
    let mut paths: Vec<PathBuf> = tree.files.clone();
    // fail2ban's own settings files (the Server tab shows and edits `fail2ban.local`).
    if let Ok(server) = crate::config_tree::files::read(root, "fail2ban") {
        paths.extend(server.files.into_iter().filter(|f| !tree.files.contains(f)));
    }
    for folder in ["filter.d", "action.d"] {
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir(root.join(folder)) {
            for entry in entries.flatten() {
                let path = entry.path();
                let wanted = path
                    .extension()
                    .is_some_and(|e| e == "conf" || e == "local");
                if wanted && path.is_file() && !paths.contains(&path) {
                    found.push(path);
                }
            }
        }
        found.sort();
        paths.extend(found);
    }
    let mut files = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(FileRow {
            path: path.display().to_string(),
            sha256: hex(&Sha256::digest(&bytes)),
            size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            mtime_ms: mtime_ms(&meta),
            content: (bytes.len() <= shared::config_edit::MAX_FILE_BYTES)
                .then(|| String::from_utf8(bytes).ok())
                .flatten(),
        });
    }
    let jails = tree
        .jails
        .into_iter()
        .map(|j| {
            let settings: serde_json::Map<String, serde_json::Value> = j
                .settings
                .into_iter()
                .map(|(k, s)| {
                    (
                        k,
                        json!({ "value": s.value, "file": s.file.display().to_string(), "line": s.line }),
                    )
                })
                .collect();
            JailRow {
                name: j.name,
                enabled: j.enabled,
                settings: serde_json::Value::Object(settings).to_string(),
                problems: json!(j.problems).to_string(),
            }
        })
        .collect();
    Ok((files, jails, with_defs.then(|| read_defs(root))))
}

/// Every filter and action, read as fail2ban reads them; one that cannot be read is
/// listed with why.
fn read_defs(root: &Path) -> Vec<DefRow> {
    let mut rows = Vec::new();
    for (kind, folder) in [("filter", "filter.d"), ("action", "action.d")] {
        for name in defs::names(root, folder) {
            let row = match defs::read(root, folder, &name) {
                Ok(d) => DefRow {
                    kind: kind.into(),
                    name: d.name,
                    files: json!(d.files).to_string(),
                    includes: d.includes.to_string(),
                    definition: d.definition.to_string(),
                    init: d.init.to_string(),
                    error: None,
                },
                Err(e) => DefRow {
                    kind: kind.into(),
                    name,
                    files: "[]".into(),
                    includes: "{}".into(),
                    definition: "{}".into(),
                    init: "{}".into(),
                    error: Some(e.to_string()),
                },
            };
            rows.push(row);
        }
    }
    rows.push(match defs::read_server(root) {
        Ok(d) => DefRow {
            kind: "server".into(),
            name: d.name,
            files: json!(d.files).to_string(),
            includes: d.includes.to_string(),
            definition: d.definition.to_string(),
            init: d.init.to_string(),
            error: None,
        },
        Err(e) => DefRow {
            kind: "server".into(),
            name: "fail2ban".into(),
            files: "[]".into(),
            includes: "{}".into(),
            definition: "{}".into(),
            init: "{}".into(),
            error: Some(e.to_string()),
        },
    });
    rows
}
