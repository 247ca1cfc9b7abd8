//! A command fail2ban could not take waits before its next try: `commands.not_before_ms`
//! (UTC epoch ms, null: now). The wait grows with how long the command has been waiting,
//! so commands queued during an outage are retried about once every ten seconds instead of
//! twice a second each.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE commands ADD COLUMN not_before_ms BIGINT")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE commands DROP COLUMN not_before_ms")
            .await?;
        Ok(())
    }
}
