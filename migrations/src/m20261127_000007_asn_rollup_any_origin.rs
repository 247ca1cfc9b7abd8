//! Adds the rollup set "ASN, every origin summed" (`dims = 'a*'`, hourly to 16-weekly),
//! built here from the events the rollups already hold. The year-long ASN top list read
//! 60–80 000 per-origin rows at 10 M events (68 ms on PostgreSQL, above the 50 ms
//! target); this set has a third of them, and its hourly rows keep the range edges off the
//! raw events (`Docs/performance.md`).
//!
//! Also records the sets the rollups are kept for (`rollup_state.sets`): every rollup
//! writer checks it under the rollup lock, so a scheduler of another version (still
//! running during an upgrade) stops writing instead of leaving a set it does not know
//! short. The set is built after taking that lock, so the rollup job, retention and geo
//! corrections never see it half built.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Value;
use shared::history::{Dims, backfill_statements, lock_rollups, rollup_layout};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE rollup_state ADD COLUMN sets TEXT NOT NULL DEFAULT ''")
            .await?;
        shared::db::execute(
            db,
            "UPDATE rollup_state SET sets = $1 WHERE name = 'ban_rollups'",
            [Value::from(rollup_layout())],
        )
        .await?;
        let hwm = lock_rollups(db).await?;
        for sql in backfill_statements(Dims::AsnAnyOrigin, hwm) {
            shared::db::execute(db, &sql, []).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let sql = format!(
            "DELETE FROM ban_rollups WHERE dims = '{}'",
            Dims::AsnAnyOrigin.code()
        );
        db.execute_unprepared(&sql).await?;
        db.execute_unprepared("ALTER TABLE rollup_state DROP COLUMN sets")
            .await?;
        Ok(())
    }
}
