//! The store layer: one module per group of tables, each owning its SQL, its
//! transactions and the rules that must hold across statements (the last admin, an
//! audited change committing with its audit row, the command queue's state machine).
//! Handlers and jobs call these functions; they never write SQL of their own. The
//! hand-tuned analytics and archive SQL lives in its own query modules
//! (`api/src/history/`, `scheduler/src/archive/`).
//!
//! Statements are portable templates rendered by [`crate::db::render`] (`{now_ms}` is the
//! database clock, the only clock). Rows map to structs deriving sea-orm's
//! [`FromQueryResult`]; the helpers below are the only place that does it.

pub mod allowlist;
pub mod audit;
pub mod blocklists;
pub mod client_errors;
pub mod commands;
pub mod config_revisions;
pub mod config_tree;
pub mod fail2ban_log;
pub mod job_runs;
pub mod rate_limits;
pub mod scheduler_instances;
pub mod server_settings;
pub mod sessions;
pub mod settings;
pub mod snapshots;
pub mod tokens;
pub mod users;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, FromQueryResult,
    SqliteTransactionMode, TransactionOptions, TransactionTrait, Value,
};

use crate::db;

/// Every row of a portable query, mapped to `T`.
pub async fn fetch_all<T: FromQueryResult, C: ConnectionTrait>(
    db: &C,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Vec<T>, DbErr> {
    db::query_all(db, template, values)
        .await?
        .iter()
        .map(|row| T::from_query_result(row, ""))
        .collect()
}

/// The first row of a portable query, if any, mapped to `T`.
pub async fn fetch_optional<T: FromQueryResult, C: ConnectionTrait>(
    db: &C,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Option<T>, DbErr> {
    db::query_one(db, template, values)
        .await?
        .map(|row| T::from_query_result(&row, ""))
        .transpose()
}

/// The first row of a query that always returns one (`COUNT(*)`, `RETURNING` of an
/// insert); no row is an error.
pub async fn fetch_one<T: FromQueryResult, C: ConnectionTrait>(
    db: &C,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<T, DbErr> {
    fetch_optional(db, template, values)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("no row from: {template}")))
}

/// One page of `select` (`SELECT … FROM table`) under `where_sql` (` WHERE …` with
/// placeholders `$1…` for `values`), ordered by `order_by`, and how many rows match in
/// all.
pub async fn fetch_page<T: FromQueryResult, C: ConnectionTrait>(
    db: &C,
    select: &str,
    where_sql: &str,
    order_by: &str,
    mut values: Vec<Value>,
    limit: u32,
    offset: u64,
) -> Result<(Vec<T>, i64), DbErr> {
    let from = select.rfind(" FROM ").map_or(select, |at| &select[at..]);
    let total: Count = fetch_one(
        db,
        &format!("SELECT COUNT(*) AS n{from}{where_sql}"),
        values.clone(),
    )
    .await?;
    values.push(i64::from(limit).into());
    values.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
    let n = values.len();
    let rows = fetch_all(
        db,
        &format!(
            "{select}{where_sql} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
            n - 1,
            n
        ),
        values,
    )
    .await?;
    Ok((rows, total.n))
}

/// A single `COUNT(*) AS n`-style number.
#[derive(Debug, FromQueryResult)]
pub struct Count {
    pub n: i64,
}

/// Opens a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`): a deferred transaction that reads first and writes later fails with
/// "database is locked" when another writer committed in between, where this one waits
/// its turn. PostgreSQL takes row locks where the statements say so.
pub async fn write_transaction(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// `FOR UPDATE` on PostgreSQL, nothing on SQLite (whose write transaction already
/// excludes every other writer).
pub fn for_update<C: ConnectionTrait>(db: &C) -> &'static str {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => " FOR UPDATE",
        _ => "",
    }
}
