//! Who made a ban or an unban through BanGUI: `ban_events.actor` holds the user (or API
//! token) whose command wrote the event; fail2ban's own events leave it empty. The IP
//! timeline shows it ("manual, by alice"; "unbanned by bob").

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE ban_events ADD COLUMN actor VARCHAR")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE ban_events DROP COLUMN actor")
            .await?;
        Ok(())
    }
}
