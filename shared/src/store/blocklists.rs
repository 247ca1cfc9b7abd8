//! Blocklists (issue #20, ADR 0009): sources (`blocklist_sources`, written by the API,
//! audited), the set each source applied (`blocklist_entries`), the import log
//! (`blocklist_imports`) and an import's staged difference (`blocklist_staged`), written
//! by the scheduler inside fenced transactions.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Value};

use crate::blocklist::{ImportOutcome, ImportTrigger, ListFormat, ListKind, Schedule};
use crate::store::audit::{self, Actor, Entry};
use crate::store::{Count, fetch_all, fetch_one, fetch_optional, write_transaction};

/// Rows per multi-row statement (4 values a row: far inside both databases' limits).
pub const CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct SourceRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub format: String,
    pub csv_column: Option<i32>,
    pub jail: String,
    pub schedule: String,
    pub enabled: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_sha256: Option<String>,
    pub next_run_at_ms: Option<i64>,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Set while the source is being deleted (its purge not finished).
    pub deleted_at_ms: Option<i64>,
}

impl SourceRow {
    pub fn list_format(&self) -> ListFormat {
        let kind = ListKind::parse(&self.format).unwrap_or(ListKind::Plain);
        let column = self.csv_column.and_then(|c| u16::try_from(c).ok());
        ListFormat::new(kind, column).unwrap_or(ListFormat::PLAIN)
    }

    pub fn schedule(&self) -> Schedule {
        serde_json::from_str(&self.schedule).unwrap_or_default()
    }
}

const SOURCE: &str = "SELECT id, name, url, format, csv_column, jail, schedule, enabled, etag, \
    last_modified, content_sha256, next_run_at_ms, created_by, created_at_ms, updated_at_ms, \
    deleted_at_ms FROM blocklist_sources";

/// The sources, without those being deleted.
pub async fn sources<C: ConnectionTrait>(db: &C) -> Result<Vec<SourceRow>, DbErr> {
    fetch_all(
        db,
        &format!("{SOURCE} WHERE deleted_at_ms IS NULL ORDER BY name, id"),
        [],
    )
    .await
}

/// A source, unless it is being deleted.
pub async fn source<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<SourceRow>, DbErr> {
    fetch_optional(
        db,
        &format!("{SOURCE} WHERE id = $1 AND deleted_at_ms IS NULL"),
        [id.into()],
    )
    .await
}

/// A source, also one being deleted (the purge's view).
pub async fn source_even_deleted<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> Result<Option<SourceRow>, DbErr> {
    fetch_optional(db, &format!("{SOURCE} WHERE id = $1"), [id.into()]).await
}

/// The sources being deleted (their purge not finished yet).
pub async fn deleting<C: ConnectionTrait>(db: &C) -> Result<Vec<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    Ok(fetch_all::<Id, _>(
        db,
        "SELECT id FROM blocklist_sources WHERE deleted_at_ms IS NOT NULL ORDER BY id",
        [],
    )
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect())
}

/// A source's fields as the API validated them.
#[derive(Debug, Clone)]
pub struct SourceFields {
    pub name: String,
    pub url: String,
    pub format: ListFormat,
    pub jail: String,
    pub schedule: Schedule,
    pub enabled: bool,
}

fn schedule_json(s: &Schedule) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
}

fn audit_details(id: i64, f: &SourceFields) -> serde_json::Value {
    serde_json::json!({
        "id": id, "name": f.name, "url": f.url, "format": f.format, "jail": f.jail,
        "schedule": f.schedule, "enabled": f.enabled,
    })
}

/// Adds a source, audited (`blocklist.create`); its first run is `next_run_at_ms`. A
/// URL that is taken is a unique violation.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    f: &SourceFields,
    next_run_at_ms: Option<i64>,
) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let txn = write_transaction(db).await?;
    let Id { id } = fetch_one(
        &txn,
        "INSERT INTO blocklist_sources (name, url, format, csv_column, jail, schedule, enabled, \
         next_run_at_ms, created_by, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {now_ms}, {now_ms}) RETURNING id",
        [
            f.name.clone().into(),
            f.url.clone().into(),
            f.format.kind.as_str().into(),
            f.format.column.map(i32::from).into(),
            f.jail.clone().into(),
            schedule_json(&f.schedule).into(),
            f.enabled.into(),
            next_run_at_ms.into(),
            actor.name.clone().into(),
        ],
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Entry {
            action: "blocklist.create",
            target: Some(&f.url),
            result: "ok",
            details: Some(audit_details(id, f)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// Replaces a source's fields, audited (`blocklist.change`). A new URL or format forgets
/// the validators and the hash, so the next import reads the list in full. Returns false
/// when there is no such source.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    f: &SourceFields,
    next_run_at_ms: Option<i64>,
) -> Result<bool, DbErr> {
    let txn = write_transaction(db).await?;
    let Some(before) = source(&txn, id).await? else {
        return Ok(false);
    };
    let reread = before.url != f.url || before.list_format() != f.format;
    crate::db::execute(
        &txn,
        "UPDATE blocklist_sources SET name = $2, url = $3, format = $4, csv_column = $5, jail = $6, \
         schedule = $7, enabled = $8, next_run_at_ms = $9, updated_at_ms = {now_ms}, \
         etag = CASE WHEN $10 THEN NULL ELSE etag END, \
         last_modified = CASE WHEN $10 THEN NULL ELSE last_modified END, \
         content_sha256 = CASE WHEN $10 THEN NULL ELSE content_sha256 END WHERE id = $1",
        [
            id.into(),
            f.name.clone().into(),
            f.url.clone().into(),
            f.format.kind.as_str().into(),
            f.format.column.map(i32::from).into(),
            f.jail.clone().into(),
            schedule_json(&f.schedule).into(),
            f.enabled.into(),
            next_run_at_ms.into(),
            reread.into(),
        ],
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Entry {
            action: "blocklist.change",
            target: Some(&f.url),
            result: "ok",
            details: Some(audit_details(id, f)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    NotFound,
    /// It had no import history and held no entry: gone.
    Deleted,
    /// It has import history and the caller did not confirm that it goes too: disabled
    /// (no more imports, its entries stay banned), not deleted.
    HasHistory {
        imports: i64,
        entries: i64,
    },
    /// Confirmed: hidden from now on, disabled; its entries are to be unbanned and it is
    /// to be forgotten by a purge command.
    Deleting,
}

/// Removes a source, audited (`blocklist.delete`, or `blocklist.disable`). One without
/// import history is deleted; one with history only when `purge` confirms its history
/// goes too: then it is marked deleted (the API no longer shows it) and the caller queues
/// the purge. Without that confirmation it is disabled instead. A source already
/// being deleted answers `Deleting` again when `purge` is asked (the purge is queued
/// again), else `NotFound`.
pub async fn remove(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    purge: bool,
) -> Result<Removed, DbErr> {
    let txn = write_transaction(db).await?;
    let Some(row) = source_even_deleted(&txn, id).await? else {
        return Ok(Removed::NotFound);
    };
    if row.deleted_at_ms.is_some() {
        return Ok(if purge {
            Removed::Deleting
        } else {
            Removed::NotFound
        });
    }
    let history: Count = fetch_one(
        &txn,
        "SELECT COUNT(*) AS n FROM blocklist_imports WHERE source_id = $1",
        [id.into()],
    )
    .await?;
    let held: Count = fetch_one(
        &txn,
        "SELECT COUNT(*) AS n FROM blocklist_entries WHERE source_id = $1",
        [id.into()],
    )
    .await?;
    let outcome = if history.n == 0 && held.n == 0 {
        crate::db::execute(
            &txn,
            "DELETE FROM blocklist_sources WHERE id = $1",
            [id.into()],
        )
        .await?;
        Removed::Deleted
    } else if purge {
        crate::db::execute(
            &txn,
            "UPDATE blocklist_sources SET enabled = false, next_run_at_ms = NULL, \
             deleted_at_ms = {now_ms}, updated_at_ms = {now_ms} WHERE id = $1",
            [id.into()],
        )
        .await?;
        Removed::Deleting
    } else {
        // Not confirmed: disabled, not deleted (PRODUCT.md §1.8); its entries stay banned.
        crate::db::execute(
            &txn,
            "UPDATE blocklist_sources SET enabled = false, next_run_at_ms = NULL, \
             updated_at_ms = {now_ms} WHERE id = $1",
            [id.into()],
        )
        .await?;
        Removed::HasHistory {
            imports: history.n,
            entries: held.n,
        }
    };
    audit::record(
        &txn,
        actor,
        Entry {
            action: if matches!(outcome, Removed::HasHistory { .. }) {
                "blocklist.disable"
            } else {
                "blocklist.delete"
            },
            target: Some(&row.url),
            result: "ok",
            details: Some(serde_json::json!({
                "id": id, "name": row.name, "imports": history.n, "entries": held.n,
                "purge": outcome == Removed::Deleting,
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Forgets a source and its history once its entries were unbanned (the purge command).
pub async fn forget<C: ConnectionTrait>(db: &C, id: i64) -> Result<(), DbErr> {
    for sql in [
        "DELETE FROM blocklist_staged WHERE import_id IN (SELECT id FROM blocklist_imports WHERE source_id = $1)",
        "DELETE FROM blocklist_imports WHERE source_id = $1",
        "DELETE FROM blocklist_entries WHERE source_id = $1",
        "DELETE FROM blocklist_sources WHERE id = $1",
    ] {
        crate::db::execute(db, sql, [id.into()]).await?;
    }
    Ok(())
}

/// The entries an unfinished import of the source staged to ban: fail2ban may hold
/// some of them already (a leader lost mid-import), so a purge unbans them too.
pub async fn staged_bans<C: ConnectionTrait>(db: &C, source_id: i64) -> Result<Vec<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        entry: String,
    }
    Ok(fetch_all::<Row, _>(
        db,
        "SELECT s.entry FROM blocklist_staged s JOIN blocklist_imports i ON i.id = s.import_id \
         WHERE i.source_id = $1 AND i.finished_at_ms IS NULL AND s.action = 'ban'",
        [source_id.into()],
    )
    .await?
    .into_iter()
    .map(|r| r.entry)
    .collect())
}

/// How many entries each source holds in fail2ban.
pub async fn entry_counts<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        source_id: i64,
        n: i64,
    }
    let rows: Vec<Row> = fetch_all(
        db,
        "SELECT source_id, COUNT(*) AS n FROM blocklist_entries GROUP BY source_id",
        [],
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.source_id, r.n)).collect())
}

/// The entries a source has applied, sorted.
pub async fn entries<C: ConnectionTrait>(db: &C, source_id: i64) -> Result<Vec<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        entry: String,
    }
    let rows: Vec<Row> = fetch_all(
        db,
        "SELECT entry FROM blocklist_entries WHERE source_id = $1 ORDER BY entry",
        [source_id.into()],
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.entry).collect())
}

/// Of `candidates`, those another source banning into the same jail still holds.
pub async fn held_by_others<C: ConnectionTrait>(
    db: &C,
    source_id: i64,
    jail: &str,
    candidates: &[String],
) -> Result<HashSet<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        entry: String,
    }
    let mut held = HashSet::new();
    for chunk in candidates.chunks(CHUNK) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let mut values: Vec<Value> = vec![source_id.into(), jail.into()];
        values.extend(chunk.iter().map(|e| Value::from(e.clone())));
        let rows: Vec<Row> = fetch_all(
            db,
            &format!(
                "SELECT DISTINCT e.entry FROM blocklist_entries e \
                 JOIN blocklist_sources s ON s.id = e.source_id \
                 WHERE e.source_id <> $1 AND s.jail = $2 AND e.entry IN ({})",
                marks.join(", ")
            ),
            values,
        )
        .await?;
        held.extend(rows.into_iter().map(|r| r.entry));
    }
    Ok(held)
}

/// Records that a source's set gained `added` and lost `removed` (inside the import's
/// last fenced transaction).
pub async fn apply_entries<C: ConnectionTrait>(
    db: &C,
    source_id: i64,
    added: &[String],
    removed: &[String],
) -> Result<(), DbErr> {
    let conflict = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => " ON CONFLICT DO NOTHING",
        _ => "",
    };
    let insert = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "INSERT",
        _ => "INSERT OR IGNORE",
    };
    for chunk in added.chunks(CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect();
        let mut values: Vec<Value> = vec![source_id.into()];
        values.extend(chunk.iter().map(|e| Value::from(e.clone())));
        crate::db::execute(
            db,
            &format!(
                "{insert} INTO blocklist_entries (source_id, entry) VALUES {}{conflict}",
                rows.join(", ")
            ),
            values,
        )
        .await?;
    }
    for chunk in removed.chunks(CHUNK) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let mut values: Vec<Value> = vec![source_id.into()];
        values.extend(chunk.iter().map(|e| Value::from(e.clone())));
        crate::db::execute(
            db,
            &format!(
                "DELETE FROM blocklist_entries WHERE source_id = $1 AND entry IN ({})",
                marks.join(", ")
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

/// Enabled sources whose next run has come (by the database's clock).
pub async fn due<C: ConnectionTrait>(db: &C) -> Result<Vec<SourceRow>, DbErr> {
    fetch_all(
        db,
        &format!(
            "{SOURCE} WHERE enabled = true AND next_run_at_ms IS NOT NULL \
             AND next_run_at_ms <= {{now_ms}} ORDER BY next_run_at_ms, id"
        ),
        [],
    )
    .await
}

pub async fn set_next_run<C: ConnectionTrait>(
    db: &C,
    id: i64,
    next_run_at_ms: Option<i64>,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "UPDATE blocklist_sources SET next_run_at_ms = $2 WHERE id = $1",
        [id.into(), next_run_at_ms.into()],
    )
    .await
    .map(|_| ())
}

/// What the source keeps of an applied import: the validators for the next
/// conditional request and the hash of the content it applied.
pub async fn remember_content<C: ConnectionTrait>(
    db: &C,
    id: i64,
    sha256: Option<&str>,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "UPDATE blocklist_sources SET content_sha256 = $2, etag = $3, last_modified = $4 WHERE id = $1",
        [id.into(), sha256.into(), etag.into(), last_modified.into()],
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ImportRow {
    pub id: i64,
    pub source_id: i64,
    pub trigger_kind: String,
    pub command_id: Option<i64>,
    pub requested_by: Option<String>,
    pub request_id: Option<String>,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub outcome: String,
    pub phase: String,
    pub http_status: Option<i32>,
    pub bytes: Option<i64>,
    pub entries: Option<i64>,
    pub added: i64,
    pub removed: i64,
    pub unchanged: i64,
    /// Dropped entries left banned because another source holds them.
    pub kept: i64,
    pub invalid: i64,
    pub invalid_samples: Option<String>,
    pub allowlisted: i64,
    pub total_ops: i64,
    pub done_ops: i64,
    pub fail2ban_calls: i64,
    pub content_sha256: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub notes: Option<String>,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

impl ImportRow {
    pub fn outcome(&self) -> ImportOutcome {
        ImportOutcome::parse(&self.outcome).unwrap_or(ImportOutcome::Failed)
    }

    pub fn trigger(&self) -> ImportTrigger {
        ImportTrigger::parse(&self.trigger_kind).unwrap_or(ImportTrigger::Manual)
    }

    pub fn note_list(&self) -> Vec<String> {
        self.notes
            .as_deref()
            .and_then(|n| serde_json::from_str(n).ok())
            .unwrap_or_default()
    }
}

const IMPORT: &str = "SELECT id, source_id, trigger_kind, command_id, requested_by, request_id, \
    started_at_ms, finished_at_ms, outcome, phase, http_status, bytes, entries, added, removed, \
    unchanged, kept, invalid, invalid_samples, allowlisted, total_ops, done_ops, fail2ban_calls, \
    content_sha256, etag, last_modified, notes, error_code, error FROM blocklist_imports";

pub async fn import<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<ImportRow>, DbErr> {
    fetch_optional(db, &format!("{IMPORT} WHERE id = $1"), [id.into()]).await
}

/// A page of the import log, newest first: one source's or every source's, older than
/// `before_id` when given.
pub async fn imports<C: ConnectionTrait>(
    db: &C,
    source_id: Option<i64>,
    before_id: Option<i64>,
    limit: u32,
) -> Result<Vec<ImportRow>, DbErr> {
    fetch_all(
        db,
        &format!(
            "{IMPORT} WHERE ($1 IS NULL OR source_id = $1) AND ($2 IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3"
        ),
        [source_id.into(), before_id.into(), i64::from(limit).into()],
    )
    .await
}

/// Each source's newest import.
pub async fn latest_imports<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, ImportRow>, DbErr> {
    let rows: Vec<ImportRow> = fetch_all(
        db,
        &format!("{IMPORT} WHERE id IN (SELECT MAX(id) FROM blocklist_imports GROUP BY source_id)"),
        [],
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.source_id, r)).collect())
}

/// The import of a source still running (or left running by a leader that went away).
pub async fn unfinished<C: ConnectionTrait>(
    db: &C,
    source_id: i64,
) -> Result<Option<ImportRow>, DbErr> {
    fetch_optional(
        db,
        &format!("{IMPORT} WHERE source_id = $1 AND finished_at_ms IS NULL"),
        [source_id.into()],
    )
    .await
}

/// Who started an import.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    pub source_id: i64,
    pub trigger: ImportTrigger,
    pub command_id: Option<i64>,
    pub requested_by: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub async fn start_import<C: ConnectionTrait>(db: &C, s: &Start<'_>) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let Id { id } = fetch_one(
        db,
        "INSERT INTO blocklist_imports (source_id, trigger_kind, command_id, requested_by, request_id, \
         started_at_ms, outcome, phase) VALUES ($1, $2, $3, $4, $5, {now_ms}, 'running', 'fetching') \
         RETURNING id",
        [
            s.source_id.into(),
            s.trigger.as_str().into(),
            s.command_id.into(),
            s.requested_by.into(),
            s.request_id.into(),
        ],
    )
    .await?;
    Ok(id)
}

/// What was fetched and parsed, and the difference staged: the import moves to its
/// `applying` phase (in the same fenced transaction as [`stage`]).
#[derive(Debug, Clone, Default)]
pub struct Parsed<'a> {
    pub http_status: Option<u16>,
    pub bytes: Option<u64>,
    pub entries: u64,
    pub unchanged: u64,
    pub invalid: u64,
    pub invalid_samples: Option<String>,
    pub allowlisted: u64,
    pub total_ops: u64,
    /// What the difference will do: entries to ban, to unban, and dropped ones kept.
    pub added: u64,
    pub removed: u64,
    pub kept: u64,
    pub content_sha256: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

fn n(v: u64) -> Value {
    i64::try_from(v).unwrap_or(i64::MAX).into()
}

pub async fn parsed<C: ConnectionTrait>(db: &C, id: i64, p: &Parsed<'_>) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "UPDATE blocklist_imports SET phase = 'applying', http_status = $2, bytes = $3, entries = $4, \
         unchanged = $5, invalid = $6, invalid_samples = $7, allowlisted = $8, total_ops = $9, \
         content_sha256 = $10, etag = $11, last_modified = $12, added = $13, removed = $14, \
         kept = $15 WHERE id = $1",
        [
            id.into(),
            p.http_status.map(i32::from).into(),
            p.bytes.map(n).unwrap_or(Value::BigInt(None)),
            n(p.entries),
            n(p.unchanged),
            n(p.invalid),
            p.invalid_samples.clone().into(),
            n(p.allowlisted),
            n(p.total_ops),
            p.content_sha256.into(),
            p.etag.into(),
            p.last_modified.into(),
            n(p.added),
            n(p.removed),
            n(p.kept),
        ],
    )
    .await
    .map(|_| ())
}

/// Adds a note to the import log row ("created the jail …").
pub async fn note<C: ConnectionTrait>(db: &C, id: i64, text: &str) -> Result<(), DbErr> {
    let mut notes = import(db, id)
        .await?
        .map(|r| r.note_list())
        .unwrap_or_default();
    notes.push(text.to_owned());
    crate::db::execute(
        db,
        "UPDATE blocklist_imports SET notes = $2 WHERE id = $1",
        [
            id.into(),
            serde_json::to_string(&notes).unwrap_or_default().into(),
        ],
    )
    .await
    .map(|_| ())
}

/// A JSON array of texts as a set of rows (`SELECT value FROM …`), one parameter however
/// many: `json_each` on SQLite, `jsonb_array_elements_text` on PostgreSQL.
fn json_rows<C: ConnectionTrait>(db: &C, param: &str) -> String {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            format!("(SELECT jsonb_array_elements_text({param}::jsonb) AS value)")
        }
        _ => format!("(SELECT value FROM json_each({param}))"),
    }
}

/// Stages part of the difference an import applies (before the first fail2ban call).
pub async fn stage<C: ConnectionTrait>(
    db: &C,
    import_id: i64,
    action: &str,
    entries: &[String],
) -> Result<(), DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(entries).unwrap_or_else(|_| "[]".into());
    crate::db::execute(
        db,
        &format!(
            "INSERT INTO blocklist_staged (import_id, action, entry, done) \
             SELECT $1, $2, value, false FROM {} v",
            json_rows(db, "$3")
        ),
        [import_id.into(), action.into(), list.into()],
    )
    .await
    .map(|_| ())
}

/// The source's set becomes what the import applied: its staged bans join it, its
/// dropped entries (unbanned or kept) leave it. Set-based; may run again.
pub async fn commit_entries<C: ConnectionTrait>(
    db: &C,
    import_id: i64,
    source_id: i64,
) -> Result<(), DbErr> {
    let insert = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO blocklist_entries (source_id, entry) SELECT $1, entry FROM blocklist_staged \
             WHERE import_id = $2 AND action = 'ban' ON CONFLICT DO NOTHING"
        }
        _ => {
            "INSERT OR IGNORE INTO blocklist_entries (source_id, entry) SELECT $1, entry \
             FROM blocklist_staged WHERE import_id = $2 AND action = 'ban'"
        }
    };
    crate::db::execute(db, insert, [source_id.into(), import_id.into()]).await?;
    crate::db::execute(
        db,
        "DELETE FROM blocklist_entries WHERE source_id = $1 AND entry IN \
         (SELECT entry FROM blocklist_staged WHERE import_id = $2 AND action IN ('unban', 'keep'))",
        [source_id.into(), import_id.into()],
    )
    .await
    .map(|_| ())
}

/// Staged entries of `action` not done yet, after `after` (the last of the previous
/// chunk; the key order), at most `limit`.
pub async fn pending<C: ConnectionTrait>(
    db: &C,
    import_id: i64,
    action: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        entry: String,
    }
    let rows: Vec<Row> = fetch_all(
        db,
        "SELECT entry FROM blocklist_staged WHERE import_id = $1 AND action = $2 AND done = false \
         AND ($3 IS NULL OR entry > $3) ORDER BY entry LIMIT $4",
        [
            import_id.into(),
            action.into(),
            after.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.entry).collect())
}

/// Refreshes PostgreSQL's statistics of the tables a large import just grew, so its
/// lookups by key use the indexes (a table the planner still thinks empty is scanned
/// whole for every list of 500). Nothing to do on SQLite.
pub async fn refresh_statistics<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        crate::db::execute(db, "ANALYZE blocklist_staged, f2b_bans", []).await?;
    }
    Ok(())
}

/// The same for the archive, after an import added many bans: the next import's unbans
/// find the bans they end by key (a sample of rows, whatever the archive's size).
pub async fn refresh_archive_statistics<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        crate::db::execute(db, "ANALYZE ban_events", []).await?;
    }
    Ok(())
}

/// Forgets what an import staged (before it stages again).
pub async fn clear_staged<C: ConnectionTrait>(db: &C, import_id: i64) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "DELETE FROM blocklist_staged WHERE import_id = $1",
        [import_id.into()],
    )
    .await
    .map(|_| ())
}

/// Marks a group [`pending`] gave done once fail2ban answered, and counts the progress
/// and the calls.
pub async fn chunk_done<C: ConnectionTrait>(
    db: &C,
    import_id: i64,
    action: &str,
    entries: &[String],
    calls: u64,
) -> Result<(), DbErr> {
    // The group is every entry not done from its first to its last (the order
    // `pending` reads them in): a range, which the primary key serves.
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        crate::db::execute(
            db,
            "UPDATE blocklist_staged SET done = true WHERE import_id = $1 AND action = $2 \
             AND entry >= $3 AND entry <= $4",
            [
                import_id.into(),
                action.into(),
                first.clone().into(),
                last.clone().into(),
            ],
        )
        .await?;
    }
    crate::db::execute(
        db,
        "UPDATE blocklist_imports SET done_ops = done_ops + $2, fail2ban_calls = fail2ban_calls + $3 \
         WHERE id = $1",
        [import_id.into(), n(entries.len() as u64), n(calls)],
    )
    .await
    .map(|_| ())
}

/// How an import ended.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub outcome: ImportOutcome,
    pub added: u64,
    pub removed: u64,
    pub kept: u64,
    pub error_code: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Ends an import: its counts, outcome and time; its staged rows go.
pub async fn finish_import<C: ConnectionTrait>(
    db: &C,
    id: i64,
    f: &Finish<'_>,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "UPDATE blocklist_imports SET outcome = $2, phase = 'done', added = $3, removed = $4, kept = $5, \
         error_code = $6, error = $7, finished_at_ms = {now_ms} WHERE id = $1",
        [
            id.into(),
            f.outcome.as_str().into(),
            n(f.added),
            n(f.removed),
            n(f.kept),
            f.error_code.into(),
            f.error.into(),
        ],
    )
    .await?;
    crate::db::execute(
        db,
        "DELETE FROM blocklist_staged WHERE import_id = $1",
        [id.into()],
    )
    .await
    .map(|_| ())
}
