//! The binary-IP index keyed week first (ADR 0003): `(at_ms / 604800000, ip_bin, at_ms)`
//! over ban rows. The old `(ip_bin, at_ms)` index took each new ban at a random place, so
//! once it outgrew the writer's cache nearly every ban changed another page of it (the
//! 10 M ingest rate); week first, new bans land in the current week's part only. Queries
//! about IPs name their weeks (`shared::archive::ip_weeks_condition`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Lists come out in (at_ms, id) order: SQLite ends every index with the row id,
/// PostgreSQL needs it spelled out.
fn id_column(m: &SchemaManager) -> &'static str {
    match m.get_database_backend() {
        DatabaseBackend::Postgres => ", id",
        _ => "",
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let id = id_column(m);
        db.execute_unprepared("DROP INDEX ban_events_ban_ip_at")
            .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX ban_events_ban_ip_week ON ban_events \
             ((at_ms / 604800000), ip_bin, at_ms{id}) WHERE kind = 'ban'"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let id = id_column(m);
        db.execute_unprepared("DROP INDEX ban_events_ban_ip_week")
            .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX ban_events_ban_ip_at ON ban_events (ip_bin, at_ms{id}) WHERE kind = 'ban'"
        ))
        .await?;
        Ok(())
    }
}
