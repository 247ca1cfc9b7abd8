//! fail2ban's own settings as it runs them (issue #19): what `get loglevel`, `logtarget`,
//! `syslogsocket`, `dbfile`, `dbpurgeage` and `dbmaxmatches` answered when the scheduler
//! last asked (one row, JSON), beside the scheduler's archive interval (the Server tab
//! warns when fail2ban would purge bans before BanGUI archives them). Only the scheduler
//! can ask fail2ban; the API serves this row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE TABLE f2b_server_settings (id INTEGER PRIMARY KEY, settings TEXT NOT NULL, \
                 archive_interval_ms BIGINT NOT NULL, read_at_ms BIGINT NOT NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE f2b_server_settings")
            .await?;
        Ok(())
    }
}
