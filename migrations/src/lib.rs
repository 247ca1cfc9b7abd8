//! BanGUI's schema, one file per migration, and a migration runner that is safe to start
//! from several processes at once.

use std::time::{Duration, Instant};

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

mod m20261126_000001_foundation;
mod m20261126_000002_fail2ban;
mod m20261126_000003_accounts;
mod m20261126_000004_history;
mod m20261127_000005_ip_week_index;
mod m20261127_000006_pg_event_time_index;
mod m20261127_000007_asn_rollup_any_origin;
mod m20261202_000008_username_any_case;
mod m20261202_000009_event_actor;
mod m20261202_000010_command_backoff;
mod m20261203_000011_write_probe;
mod m20261203_000012_config_tree;
mod m20261203_000013_config_writes;
mod m20261203_000014_config_alerts;
mod m20261203_000015_allowlist;
mod m20261203_000016_fail2ban_log;
mod m20261203_000017_config_defs;
mod m20261203_000018_server_settings;
mod m20261203_000019_blocklists;
mod m20261204_000020_blocklist_deleting;
mod m20261204_000021_observability;
mod m20261204_000022_compact_storage;
mod m20261205_000023_packed_matches;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_foundation::Migration),
            Box::new(m20261126_000002_fail2ban::Migration),
            Box::new(m20261126_000003_accounts::Migration),
            Box::new(m20261126_000004_history::Migration),
            Box::new(m20261127_000005_ip_week_index::Migration),
            Box::new(m20261127_000006_pg_event_time_index::Migration),
            Box::new(m20261127_000007_asn_rollup_any_origin::Migration),
            Box::new(m20261202_000008_username_any_case::Migration),
            Box::new(m20261202_000009_event_actor::Migration),
            Box::new(m20261202_000010_command_backoff::Migration),
            Box::new(m20261203_000011_write_probe::Migration),
            Box::new(m20261203_000012_config_tree::Migration),
            Box::new(m20261203_000013_config_writes::Migration),
            Box::new(m20261203_000014_config_alerts::Migration),
            Box::new(m20261203_000015_allowlist::Migration),
            Box::new(m20261203_000016_fail2ban_log::Migration),
            Box::new(m20261203_000017_config_defs::Migration),
            Box::new(m20261203_000018_server_settings::Migration),
            Box::new(m20261203_000019_blocklists::Migration),
            Box::new(m20261204_000020_blocklist_deleting::Migration),
            Box::new(m20261204_000021_observability::Migration),
            Box::new(m20261204_000022_compact_storage::Migration),
            Box::new(m20261205_000023_packed_matches::Migration),
        ]
    }
}

/// The advisory-lock key every BanGUI process uses to serialise migrations on PostgreSQL.
const PG_MIGRATION_LOCK_KEY: i64 = 0x42A7_6E75_1000_0001;

/// How long a migrator waits for another one that holds the lock.
const LOCK_PATIENCE: Duration = Duration::from_secs(120);

/// Applies every pending migration inside one transaction that first takes a database
/// lock (PostgreSQL: a transaction-scoped advisory lock; SQLite: `BEGIN EXCLUSIVE`), so
/// concurrent callers run one after the other and the later ones find nothing to do.
/// Returns how many migrations this call applied.
pub async fn up_guarded(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let started = Instant::now();
    loop {
        match up_once(db).await {
            Err(e) if shared::db::is_locked(&e) && started.elapsed() < LOCK_PATIENCE => {
                tracing::info!(error = %e, "another process is migrating; waiting");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

async fn up_once(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let backend = db.get_database_backend();
    let txn = match backend {
        DatabaseBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Exclusive),
                ..Default::default()
            })
            .await?
        }
        _ => db.begin().await?,
    };
    begin_migrating(&txn).await?;
    let pending = Migrator::get_pending_migrations(&txn).await?.len();
    if pending > 0 {
        Migrator::up(&txn, None).await?;
    }
    txn.commit().await?;
    Ok(pending)
}

/// Readies a migration transaction. On PostgreSQL: waits for the transaction-scoped
/// migration lock (SQLite's `BEGIN EXCLUSIVE`, or its single writer, already serialises),
/// still under the pool's statement timeout, then lifts that timeout for the migrations.
async fn begin_migrating(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1)",
            [PG_MIGRATION_LOCK_KEY.into()],
        ))
        .await?;
        // The pool's 30 s statement timeout is for requests and jobs; a migration that
        // builds a rollup set from a 10 M-event archive takes longer (000007: about a
        // minute), and cut short it would only roll back and fail every start-up.
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await?;
    }
    Ok(())
}

/// Rolls back the newest `steps` migrations under the same lock as [`up_guarded`].
pub async fn down_guarded(db: &DatabaseConnection, steps: u32) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    begin_migrating(&txn).await?;
    Migrator::down(&txn, Some(steps)).await?;
    txn.commit().await
}

/// Where the database's schema stands relative to this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    pub applied: Vec<String>,
    pub pending: Vec<String>,
    /// Migrations recorded in the database that this build does not know (a newer build
    /// migrated it).
    pub unknown: Vec<String>,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty()
    }

    /// The name of the newest migration this build knows.
    pub fn expected_version() -> String {
        Migrator::migrations()
            .last()
            .map(|m| m.name().to_owned())
            .unwrap_or_default()
    }
}

/// Reads the schema state without creating or changing anything (safe for the API).
pub async fn status<C: ConnectionTrait>(db: &C) -> Result<SchemaStatus, DbErr> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let pending: Vec<String> = Migrator::get_pending_migrations_read_only(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let applied: Vec<String> = known
        .iter()
        .filter(|n| !pending.contains(n))
        .cloned()
        .collect();
    let recorded = recorded_migrations(db).await.unwrap_or_default();
    let unknown = recorded
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect();
    Ok(SchemaStatus {
        applied,
        pending,
        unknown,
    })
}

async fn recorded_migrations<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?;
    rows.iter().map(|r| r.try_get("", "version")).collect()
}
