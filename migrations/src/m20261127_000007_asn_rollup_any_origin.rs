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
//!
//! Frozen: the SQL is written out as it was at this version (the live code it came from,
//! `shared::archive`, may change); a migration replayed later must do what it did then.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The rollup sets and grains after this migration (`shared::archive::rollup_layout()`
/// at this version).
const LAYOUT: &str = "o:h,d,w,4w,16w;j:h,d,w,4w,16w;c:h,d,w,4w,16w;a*:h,d,w,4w,16w;\
                      a:d,w,4w,16w;jc:d,w,4w,16w;ja:d,w,4w,16w";

const INSERT: &str =
    "INSERT INTO ban_rollups (dims, grain, bucket_ms, jail, origin, country, asn, bans)";

/// The hourly rows, from the ban events already folded (`id <= {hwm}`).
const HOURLY: &str = "SELECT 'a*', 'h', (at_ms - ((at_ms - 0) % 3600000)), '*', '*', '*', \
     COALESCE(asn, 0), COUNT(*) FROM ban_events WHERE kind = 'ban' AND id <= {hwm} \
     GROUP BY 3, 4, 5, 6, 7 ORDER BY 3, 7";

/// Each coarser grain from the hourly rows: (grain, alignment ms, size ms). Every bucket
/// nests in the coarser ones (whole hours; weeks start on the same Monday).
const COARSER: [(&str, i64, i64); 4] = [
    ("d", 0, 86_400_000),
    ("w", 345_600_000, 604_800_000),
    ("4w", 345_600_000, 2_419_200_000),
    ("16w", 345_600_000, 9_676_800_000),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE rollup_state ADD COLUMN sets TEXT NOT NULL DEFAULT ''")
            .await?;
        db.execute_unprepared(&format!(
            "UPDATE rollup_state SET sets = '{LAYOUT}' WHERE name = 'ban_rollups'"
        ))
        .await?;
        let hwm = lock_rollups(db).await?;
        db.execute_unprepared(&format!(
            "{INSERT} {}",
            HOURLY.replace("{hwm}", &hwm.to_string())
        ))
        .await?;
        for (grain, align, size) in COARSER {
            db.execute_unprepared(&format!(
                "{INSERT} SELECT 'a*', '{grain}', (bucket_ms - ((bucket_ms - {align}) % {size})), \
                 jail, origin, country, asn, SUM(bans) FROM ban_rollups WHERE dims = 'a*' AND grain = 'h' \
                 GROUP BY 3, 4, 5, 6, 7 ORDER BY 3, 7"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DELETE FROM ban_rollups WHERE dims = 'a*'")
            .await?;
        db.execute_unprepared("ALTER TABLE rollup_state DROP COLUMN sets")
            .await?;
        Ok(())
    }
}

/// Takes the rollup lock (a write to its row, held to the end of the migration's
/// transaction) and returns the high-water mark of the events folded so far.
async fn lock_rollups<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    db.execute_unprepared(
        "UPDATE rollup_state SET updated_at_ms = updated_at_ms WHERE name = 'ban_rollups'",
    )
    .await?;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT hwm_id FROM rollup_state WHERE name = 'ban_rollups'",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("rollup_state has no 'ban_rollups' row".into()))?;
    row.try_get("", "hwm_id")
}
