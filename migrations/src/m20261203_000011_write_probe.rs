//! `write_probe`: one row that `/readyz` rewrites (at most every few seconds per API
//! process) to prove the database takes writes, not just reads. A SQLite file that turned
//! read-only, or a PostgreSQL server that went into read-only mode, answers reads fine;
//! only a write tells.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE TABLE write_probe (id INTEGER PRIMARY KEY, probed_at_ms BIGINT NOT NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE write_probe")
            .await?;
        Ok(())
    }
}
