//! Opening the database and writing SQL that runs on SQLite and PostgreSQL alike.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    QueryResult, Statement, Value,
};

use crate::config::DatabaseUrl;

/// How long a statement may wait for SQLite's single writer before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Who is connecting; PostgreSQL shows it in `pg_stat_activity`.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    Api,
    Scheduler,
    Migrate,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Api => "bangui-api",
            Role::Scheduler => "bangui-scheduler",
            Role::Migrate => "bangui-migrate",
        }
    }
}

pub async fn connect(url: &DatabaseUrl, role: Role) -> Result<DatabaseConnection, DbErr> {
    if url.is_sqlite() {
        ensure_sqlite_parent_dir(url.expose());
    }
    let cache_size: &'static str = match role {
        Role::Api => "-2048",
        Role::Scheduler | Role::Migrate => "-131072",
    };
    let mut options = ConnectOptions::new(url.expose().to_owned());
    options
        .max_connections(if url.is_sqlite() { 8 } else { 10 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                // The scheduler writes: 128 MiB of page cache per connection (SQLite's
                // default is 2 MiB), since the archive's indexes are written in IP
                // order, not time order, and thrash a small cache once the file outgrows
                // it. The API only reads, through the memory map below, and keeps
                // SQLite's default: eight connections of 128 MiB held 420 MiB of
                // private memory per API process under the load benchmark (issue #23).
                .pragma("cache_size", cache_size)
                // Pages shared through the OS cache: a connection's own page cache is
                // dropped whenever another connection of the pool has written.
                .pragma("mmap_size", "17179869184")
                .pragma("temp_store", "memory")
                // Copy the write-ahead log back into the file every 512 MiB (131 072
                // pages) rather than SQLite's 4 MiB: the archive's binary-IP index takes
                // its entries in random order, and a page changed by many transactions
                // between two checkpoints is copied back once (ingest at 4 M events
                // 42 000 -> 53 000 events/s; Docs/performance.md). The log file is cut
                // back to 64 MiB after each checkpoint.
                .pragma("wal_autocheckpoint", "131072")
                .pragma("journal_size_limit", "67108864")
        });
    if !url.is_sqlite() {
        options
            .set_application_name(role.name())
            .statement_timeout(Duration::from_secs(30));
    }
    // A connection older than the last database fault is closed rather than reused
    // (`faults`): one that SQLite opened read-only while the file could not be written,
    // or one left inside a transaction that holds SQLite's write lock, would otherwise
    // serve every later request. Closing it releases its locks.
    options
        .map_sqlx_sqlite_before_acquire(|_, meta| {
            Box::pin(async move { Ok(faults::younger(meta.age)) })
        })
        .map_sqlx_postgres_before_acquire(|_, meta| {
            Box::pin(async move { Ok(faults::younger(meta.age)) })
        })
        .map_sqlx_sqlite_pool_opts(|o| {
            o.after_release(|_, meta| Box::pin(async move { Ok(faults::younger(meta.age)) }))
        })
        .map_sqlx_postgres_pool_opts(|o| {
            o.after_release(|_, meta| Box::pin(async move { Ok(faults::younger(meta.age)) }))
        });
    // Opening a SQLite file switches it to WAL, which needs a moment of exclusive access:
    // when another process is migrating or opening it at the same instant, SQLite says
    // "locked" at once instead of waiting. Retry for a while before giving up.
    let started = std::time::Instant::now();
    loop {
        match Database::connect(options.clone()).await {
            Err(e) if is_locked(&e) && started.elapsed() < CONNECT_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Faults that make a pooled connection unfit for reuse, and when the last one was seen.
///
/// Every portable statement (`query_all`, `query_one`, `execute`) and every API error
/// reports its failure here. A fault is an error of the connection rather than of the
/// statement: SQLite's read-only, I/O, cannot-open, full-disk and locked errors,
/// PostgreSQL's read-only transaction and connection failures. After one, the pool closes
/// every connection opened before it as it is released or acquired, so the process
/// recovers by itself once the database is writable again (a read-only SQLite handle
/// never becomes writable; a leaked transaction never lets go of the write lock).
/// One clock per process: a fault seen through one pool retires older connections of
/// every pool, which costs a reconnect at most.
pub mod faults {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use sea_orm::DbErr;

    static LAST: Mutex<Option<Instant>> = Mutex::new(None);

    /// Whether `e` says the connection (not the statement) is unfit.
    pub fn is_connection_fault(e: &DbErr) -> bool {
        match super::driver_code(e) {
            // READONLY, IOERR, FULL, CANTOPEN, and BUSY/LOCKED (a lock held too long).
            Some(super::DriverCode::Sqlite(c)) => matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14),
            // Connection exceptions, a read-only session, the server shutting down.
            Some(super::DriverCode::Postgres(c)) => {
                c.starts_with("08") || matches!(c.as_str(), "25006" | "57P01" | "57P02" | "57P03")
            }
            None => super::is_io(e),
        }
    }

    /// Records `e` when it is a connection fault; returns whether it was.
    pub fn note(e: &DbErr) -> bool {
        let fault = is_connection_fault(e);
        if fault && let Ok(mut last) = LAST.lock() {
            *last = Some(Instant::now());
        }
        fault
    }

    /// Whether a connection of this age was opened after the last fault (so may be used).
    pub fn younger(age: Duration) -> bool {
        let Ok(last) = LAST.lock() else {
            return true;
        };
        match *last {
            None => true,
            Some(at) => Instant::now()
                .checked_sub(age)
                .is_none_or(|opened| opened > at),
        }
    }
}

/// How long opening a database waits for another process that holds a lock on it.
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// SQLite's "busy" and "locked" errors.
pub fn is_locked(e: &DbErr) -> bool {
    let text = e.to_string();
    text.contains("database is locked")
        || text.contains("database is busy")
        || text.contains("(code: 5)")
}

/// SQLite refuses to create a file in a missing folder; `./var` is ours to create.
fn ensure_sqlite_parent_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        let _ = std::fs::create_dir_all(parent);
    }
}

/// The database's own clock in epoch milliseconds: the one clock every lease and
/// timestamp uses. `clock_timestamp()` rather than `now()` because `now()` is frozen at
/// the start of a transaction.
pub fn now_ms_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        _ => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
    }
}

/// Renders a portable SQL template: `{now_ms}` becomes the database clock, `{by_rowid}`
/// after a table alias tells SQLite to use no secondary index for it (the row-id range
/// in the query is the narrow one; PostgreSQL's planner sees that from its statistics),
/// `{fence}` in `WITH x AS {fence} (…)` keeps PostgreSQL from folding the common table
/// expression into the statement (and lets SQLite fold it), `{unindexed}` right before a
/// column keeps SQLite from driving the query by that column's index (a unary plus;
/// PostgreSQL gets the bare column, which it can check inside a multi-column index,
/// where `+col` would cost a table read per row), and `$N` placeholders become `?N` on
/// SQLite (which numbers them the same way).
pub fn render(backend: DatabaseBackend, template: &str) -> String {
    let sqlite = backend == DatabaseBackend::Sqlite;
    let sql = template
        .replace("{now_ms}", now_ms_sql(backend))
        .replace("{by_rowid}", if sqlite { " NOT INDEXED" } else { "" })
        .replace("{unindexed}", if sqlite { "+" } else { "" })
        .replace(
            "{fence}",
            if sqlite {
                "NOT MATERIALIZED"
            } else {
                "MATERIALIZED"
            },
        );
    match backend {
        DatabaseBackend::Postgres => sql,
        _ => {
            // Placeholders used once each, in order, become plain `?`: binding many
            // numbered `?N` parameters costs SQLite time that grows with their count
            // (a 500-row insert took 5 times longer per row than a 50-row one).
            let numbers: Vec<&str> = sql
                .split('$')
                .skip(1)
                .map(|rest| {
                    let end = rest
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(rest.len());
                    &rest[..end]
                })
                .filter(|n| !n.is_empty())
                .collect();
            let in_order = numbers
                .iter()
                .enumerate()
                .all(|(i, n)| n.parse::<usize>().is_ok_and(|n| n == i + 1));
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('?');
                    if in_order {
                        while chars.peek().is_some_and(char::is_ascii_digit) {
                            chars.next();
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

pub fn statement(
    backend: DatabaseBackend,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    Statement::from_sql_and_values(backend, render(backend, template), values)
}

/// Runs a portable query and returns its rows.
pub async fn query_all<C: ConnectionTrait>(
    db: &C,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    db.query_all_raw(statement(backend, template, values))
        .await
        .inspect_err(|e| {
            faults::note(e);
        })
}

pub async fn query_one<C: ConnectionTrait>(
    db: &C,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Option<QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    db.query_one_raw(statement(backend, template, values))
        .await
        .inspect_err(|e| {
            faults::note(e);
        })
}

/// Runs a portable statement and returns the number of rows it touched.
pub async fn execute<C: ConnectionTrait>(
    db: &C,
    template: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    Ok(db
        .execute_raw(statement(backend, template, values))
        .await
        .inspect_err(|e| {
            faults::note(e);
        })?
        .rows_affected())
}

/// The database clock, for callers that need to show "now" next to stored times.
pub async fn db_now_ms<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let row = query_one(db, "SELECT {now_ms} AS now_ms", []).await?;
    row.ok_or_else(|| DbErr::Custom("the clock query returned no row".into()))?
        .try_get("", "now_ms")
}

/// A `LIKE` pattern matching values that start with `prefix`, with `%`, `_` and `\`
/// taken literally (use with `ESCAPE '\'`).
pub fn like_prefix(prefix: &str) -> String {
    let escaped = prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("{escaped}%")
}

/// What kind of failure a database error is, for deciding what to tell a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached, is overloaded, or gave up (connection lost, pool
    /// exhausted, statement timeout, SQLite busy, a serialization conflict): retrying
    /// later may work.
    Unavailable,
    /// A unique constraint refused the write; the text names it.
    UniqueViolation(String),
    /// A foreign key refused the write.
    ForeignKeyViolation(String),
    /// Anything else: a bug (wrong SQL, a column that does not decode, …).
    Other,
}

/// Classifies a database error (see [`Failure`]).
pub fn classify(e: &DbErr) -> Failure {
    use sea_orm::SqlErr;
    if let Some(sql) = e.sql_err() {
        match sql {
            SqlErr::UniqueConstraintViolation(m) => return Failure::UniqueViolation(m),
            SqlErr::ForeignKeyConstraintViolation(m) => return Failure::ForeignKeyViolation(m),
            _ => {}
        }
    }
    if matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) || is_io(e) {
        return Failure::Unavailable;
    }
    let unavailable = match driver_code(e) {
        // Connection exceptions (08…), a read-only session, serialization failure,
        // deadlock, statement timeout / cancel, shutdown, too many connections.
        Some(DriverCode::Postgres(code)) => {
            code.starts_with("08")
                || matches!(
                    code.as_str(),
                    "25006" | "40001" | "40P01" | "57014" | "57P01" | "57P02" | "57P03" | "53300"
                )
        }
        // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN: the database cannot take the
        // statement now; retrying after the fault is fixed may help.
        Some(DriverCode::Sqlite(code)) => matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14),
        None => is_locked(e),
    };
    if unavailable {
        Failure::Unavailable
    } else {
        Failure::Other
    }
}

/// The driver's own error code of a database error.
enum DriverCode {
    Sqlite(u32),
    Postgres(String),
}

fn sqlx_error(e: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::RuntimeErr;
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x))
        | DbErr::Query(RuntimeErr::SqlxError(x))
        | DbErr::Conn(RuntimeErr::SqlxError(x)) => Some(x.as_ref()),
        _ => None,
    }
}

fn driver_code(e: &DbErr) -> Option<DriverCode> {
    let sea_orm::sqlx::Error::Database(db) = sqlx_error(e)? else {
        return None;
    };
    let code = db.code()?.into_owned();
    if db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        code.parse().ok().map(DriverCode::Sqlite)
    } else {
        Some(DriverCode::Postgres(code))
    }
}

/// A lost connection or a closed pool.
fn is_io(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as X;
    matches!(
        sqlx_error(e),
        Some(X::Io(_) | X::Tls(_) | X::PoolClosed | X::WorkerCrashed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_placeholders_keep_their_numbers() {
        assert_eq!(
            render(DatabaseBackend::Sqlite, "SELECT $1, $2, $1, '$' || x$"),
            "SELECT ?1, ?2, ?1, '$' || x$"
        );
        assert_eq!(render(DatabaseBackend::Postgres, "SELECT $1"), "SELECT $1");
        assert_eq!(
            render(DatabaseBackend::Sqlite, "VALUES ($1, $2), ($3, $4)"),
            "VALUES (?, ?), (?, ?)"
        );
    }

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(like_prefix("10.1"), "10.1%");
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn the_clock_is_the_database_clock() {
        assert!(render(DatabaseBackend::Sqlite, "{now_ms}").contains("unixepoch"));
        assert!(render(DatabaseBackend::Postgres, "{now_ms}").contains("clock_timestamp"));
    }
}
