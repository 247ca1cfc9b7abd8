//! What BanGUI did when fail2ban stopped after a configuration change (issue #18): the
//! revision it rolled back carries an `alert` (what happened, in words) shown as a banner
//! until an admin acknowledges it (`acknowledged_by`, `acknowledged_at_ms`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "ALTER TABLE config_revisions ADD COLUMN alert TEXT",
            "ALTER TABLE config_revisions ADD COLUMN acknowledged_by TEXT",
            "ALTER TABLE config_revisions ADD COLUMN acknowledged_at_ms BIGINT",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for column in ["acknowledged_at_ms", "acknowledged_by", "alert"] {
            db.execute_unprepared(&format!(
                "ALTER TABLE config_revisions DROP COLUMN {column}"
            ))
            .await?;
        }
        Ok(())
    }
}
