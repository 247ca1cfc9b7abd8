//! One request id end to end, and the scheduler's processes (issue #21):
//! - `audit_log` gains the command an entry queued (`command_id`) and that command's
//!   outcome (`outcome`: `succeeded`/`failed`, when, and the error), written once by the
//!   scheduler when the command ends. The audit row outlives the command row (commands are
//!   kept for days, the audit log for the history's retention), so the outcome is copied,
//!   not joined. Indexes serve that write and `GET /audit?request_id=`.
//! - `ban_events` gains `command_id`: the command that made a manual or blocklist ban or
//!   unban, so the IP timeline can name the request (through the command's audit row).
//! - `scheduler_instances`: every scheduler process, leader or standby, says it is alive
//!   (holder, version, started, last seen), so the System page lists the standbys too.
//! - `client_errors`: the browser's error reports, kept a week (the API's replicas share
//!   nothing else), so the System page can group them by message.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE audit_log ADD COLUMN command_id BIGINT",
    "ALTER TABLE audit_log ADD COLUMN outcome TEXT",
    "ALTER TABLE audit_log ADD COLUMN outcome_at_ms BIGINT",
    "ALTER TABLE audit_log ADD COLUMN outcome_error TEXT",
    "CREATE INDEX audit_log_command ON audit_log (command_id)",
    "CREATE INDEX audit_log_request ON audit_log (request_id)",
    "ALTER TABLE ban_events ADD COLUMN command_id BIGINT",
    "CREATE TABLE scheduler_instances (holder TEXT PRIMARY KEY, version TEXT NOT NULL, \
     started_at_ms BIGINT NOT NULL, seen_at_ms BIGINT NOT NULL)",
    "CREATE TABLE client_errors ({id}, at_ms BIGINT NOT NULL, kind TEXT NOT NULL, \
     message TEXT NOT NULL, url TEXT NOT NULL, request_id TEXT, username TEXT)",
    "CREATE INDEX client_errors_at ON client_errors (at_ms)",
];

const DOWN: &[&str] = &[
    "DROP TABLE client_errors",
    "DROP TABLE scheduler_instances",
    "ALTER TABLE ban_events DROP COLUMN command_id",
    "DROP INDEX audit_log_request",
    "DROP INDEX audit_log_command",
    "ALTER TABLE audit_log DROP COLUMN outcome_error",
    "ALTER TABLE audit_log DROP COLUMN outcome_at_ms",
    "ALTER TABLE audit_log DROP COLUMN outcome",
    "ALTER TABLE audit_log DROP COLUMN command_id",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let id = match m.get_database_backend() {
            DatabaseBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
            _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        for sql in UP {
            let sql = sql.replace("{id}", id);
            m.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for sql in DOWN {
            m.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
