//! Filters and actions as the scheduler last read them (issue #19): for each
//! `filter.d/<name>` and `action.d/<name>`, the files read, `[INCLUDES]`, and every
//! `[Definition]` and `[Init]` key with its raw text, origin and interpolated value (JSON),
//! so the API can show them without reading files.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE TABLE config_defs (kind TEXT NOT NULL, name TEXT NOT NULL, \
                 files TEXT NOT NULL, includes TEXT NOT NULL, definition TEXT NOT NULL, \
                 init TEXT NOT NULL, error TEXT, PRIMARY KEY (kind, name))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE config_defs")
            .await?;
        Ok(())
    }
}
