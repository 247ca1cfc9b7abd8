//! PostgreSQL drops the all-kinds event-time index `ban_events_at` (ADR 0004). Ban rows
//! have their own time index (`ban_events_ban_at`, which the lists and edge counts use
//! anyway), and retention walks the natural key, which starts with the ban time; the index
//! only cost writes: without it the 10 M archive import went from 42 000 to 48 700 events/s.
//! SQLite keeps it: its writer is not short of time, and its planner uses it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP INDEX IF EXISTS ban_events_at")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "CREATE INDEX IF NOT EXISTS ban_events_at ON ban_events (at_ms)",
                )
                .await?;
        }
        Ok(())
    }
}
