//! The audit log (`audit_log`): who did what, from where, on what, and how it ended.
//! Rows are only ever inserted. A change and its audit row are written in one
//! transaction by the store that makes the change ([`record`] takes the transaction).

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
    crate::db::execute(
        db,
        "INSERT INTO audit_log (at_ms, username, role, client_ip, request_id, action, target, result, details) \
         VALUES ({now_ms}, $1, $2, $3, $4, $5, $6, $7, $8)",
        [
            actor.name.clone().into(),
            actor.role.map(|r| r.as_str()).into(),
            actor.client_ip.clone().into(),
            actor.request_id.clone().into(),
            entry.action.into(),
            entry.target.map(str::to_owned).into(),
            entry.result.into(),
            entry.details.map(|d| d.to_string()).into(),
        ],
    )
    .await
    .map(|_| ())
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
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub username: Option<String>,
    /// Matches the start of the action (`user.` matches `user.create`).
    pub action_prefix: Option<String>,
    pub since_ms: Option<i64>,
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
        if let Some(s) = self.since_ms {
            values.push(s.into());
            sql.push_str(&format!(" AND at_ms >= ${}", values.len()));
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
        "SELECT id, at_ms, username, role, client_ip, request_id, action, target, result, details \
         FROM audit_log",
        &where_sql,
        "id DESC",
        values,
        limit,
        offset,
    )
    .await
}
