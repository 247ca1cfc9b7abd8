//! fail2ban's own log as the scheduler last read it (issue #19): the newest lines of the
//! log file fail2ban writes (`f2b_log`, each with its time, level, logger and pid parsed),
//! and where the reading stands (`f2b_log_state`: the target, which file and how far), so
//! the API can serve the tail without seeing the file.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let id = match m.get_database_backend() {
            DatabaseBackend::Postgres => "id BIGSERIAL PRIMARY KEY",
            _ => "id INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        let db = m.get_connection();
        db.execute_unprepared(&format!(
            "CREATE TABLE f2b_log ({id}, at_ms BIGINT, level TEXT, logger TEXT, pid BIGINT, \
             message TEXT NOT NULL)"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE TABLE f2b_log_state (id INTEGER PRIMARY KEY, target TEXT NOT NULL, \
             file_id TEXT, offset_bytes BIGINT NOT NULL, read_at_ms BIGINT NOT NULL, error TEXT)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP TABLE f2b_log_state").await?;
        db.execute_unprepared("DROP TABLE f2b_log").await?;
        Ok(())
    }
}
