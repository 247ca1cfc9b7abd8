//! The audit log (`audit_log`): who did what, from where, on what, and how it ended.
//! A change and its audit row are written in one transaction by the store that makes the
//! change ([`record`] takes the transaction). Rows are never edited, with one exception:
//! the row that queued a command is completed once with that command's outcome
//! ([`complete_command`]), so the log answers "what happened" and not only "who asked".

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use crate::domain::Role;
use crate::store::fetch_page;

/// Who made a request, authenticated or not.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub request_id: String,
    pub client_ip: String,
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub target: Option<&'a str>,
    /// `ok`, `denied`, `queued`, …
    pub result: &'a str,
    pub details: Option<serde_json::Value>,
}

impl<'a> Entry<'a> {
    pub fn ok(action: &'a str, target: Option<&'a str>) -> Self {
        Self {
            action,
            target,
            result: "ok",
            details: None,
        }
    }

    pub fn with_result(mut self, result: &'a str) -> Self {
        self.result = result;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// Writes one entry, on `db` or inside the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    entry: Entry<'_>,
) -> Result<(), DbErr> {
    insert(db, actor, entry, None).await
}

/// Writes the entry of a queued command; the scheduler completes it with the outcome.
pub async fn record_command<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    entry: Entry<'_>,
    command_id: i64,
) -> Result<(), DbErr> {
    insert(db, actor, entry, Some(command_id)).await
}

async fn insert<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    entry: Entry<'_>,
    command_id: Option<i64>,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "INSERT INTO audit_log (at_ms, username, role, client_ip, request_id, action, target, result, details, \
         command_id) VALUES ({now_ms}, $1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            actor.name.clone().into(),
            actor.role.map(|r| r.as_str()).into(),
            actor.client_ip.clone().into(),
            actor.request_id.clone().into(),
            entry.action.into(),
            entry.target.map(str::to_owned).into(),
            entry.result.into(),
            entry.details.map(|d| d.to_string()).into(),
            command_id.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// Completes the entry of command `command_id` with how it ended (`succeeded` or
/// `failed`, and the error), once. Run in the transaction that records the outcome.
pub async fn complete_command<C: ConnectionTrait>(
    db: &C,
    command_id: i64,
    outcome: &str,
    error: Option<&str>,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "UPDATE audit_log SET outcome = $2, outcome_at_ms = {now_ms}, outcome_error = $3 \
         WHERE command_id = $1 AND outcome IS NULL",
        [
            command_id.into(),
            outcome.into(),
            error.map(str::to_owned).into(),
        ],
    )
    .await
    .map(|_| ())
}

/// Completes the entries of commands that ended in bulk (expired, or interrupted too
/// often) from the command rows themselves.
pub async fn complete_ended_commands<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    crate::db::execute(
        db,
        "UPDATE audit_log SET \
         outcome = (SELECT c.status FROM commands c WHERE c.id = audit_log.command_id), \
         outcome_at_ms = (SELECT c.finished_at_ms FROM commands c WHERE c.id = audit_log.command_id), \
         outcome_error = (SELECT c.error_code || ': ' || c.error FROM commands c WHERE c.id = audit_log.command_id) \
         WHERE outcome IS NULL AND command_id IN \
         (SELECT id FROM commands WHERE status IN ('succeeded', 'failed'))",
        [],
    )
    .await
}

/// An entry as stored.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Row {
    pub id: i64,
    pub at_ms: i64,
    pub username: Option<String>,
    pub role: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub result: String,
    /// JSON text.
    pub details: Option<String>,
    pub command_id: Option<i64>,
    /// How the queued command ended: `succeeded`, `failed`; null while it has not.
    pub outcome: Option<String>,
    pub outcome_at_ms: Option<i64>,
    pub outcome_error: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub username: Option<String>,
    /// Matches the start of the action (`user.` matches `user.create`).
    pub action_prefix: Option<String>,
    /// The entry's own result (`ok`, `denied`, `queued`, …) or, for a command, its
    /// outcome (`succeeded`, `failed`).
    pub result: Option<String>,
    pub since_ms: Option<i64>,
    /// Entries before this time.
    pub until_ms: Option<i64>,
    pub request_id: Option<String>,
}

impl Filter {
    fn sql(&self) -> (String, Vec<Value>) {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut values: Vec<Value> = Vec::new();
        if let Some(u) = &self.username {
            values.push(u.clone().into());
            sql.push_str(&format!(" AND username = ${}", values.len()));
        }
        if let Some(a) = &self.action_prefix {
            values.push(crate::db::like_prefix(a).into());
            sql.push_str(&format!(" AND action LIKE ${} ESCAPE '\\'", values.len()));
        }
        if let Some(r) = &self.result {
            values.push(r.clone().into());
            let n = values.len();
            sql.push_str(&format!(" AND (result = ${n} OR outcome = ${n})"));
        }
        if let Some(s) = self.since_ms {
            values.push(s.into());
            sql.push_str(&format!(" AND at_ms >= ${}", values.len()));
        }
        if let Some(u) = self.until_ms {
            values.push(u.into());
            sql.push_str(&format!(" AND at_ms < ${}", values.len()));
        }
        if let Some(r) = &self.request_id {
            values.push(r.clone().into());
            sql.push_str(&format!(" AND request_id = ${}", values.len()));
        }
        (sql, values)
    }
}

/// One page of entries, newest first, and how many match in all.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    filter: &Filter,
    limit: u32,
    offset: u64,
) -> Result<(Vec<Row>, i64), DbErr> {
    let (where_sql, values) = filter.sql();
    fetch_page(
        db,
        "SELECT id, at_ms, username, role, client_ip, request_id, action, target, result, details, \
         command_id, outcome, outcome_at_ms, outcome_error FROM audit_log",
        &where_sql,
        "id DESC",
        values,
        limit,
        offset,
    )
    .await
}
