//! A blocklist source being deleted (issue #20): `DELETE /blocklists/{id}?purge=true`
//! hides it at once (the API answers 404 for it from then on) and the scheduler unbans
//! its entries and forgets it. `deleted_at_ms` marks it in between, so a purge that did
//! not finish (fail2ban away, leader lost) is queued again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE blocklist_sources ADD COLUMN deleted_at_ms BIGINT")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE blocklist_sources DROP COLUMN deleted_at_ms")
            .await?;
        Ok(())
    }
}
