//! Every scheduler process, leader or standby (`scheduler_instances`): each says it is
//! alive on every lease tick, with its version, so the System page shows the standbys
//! (the lease row names only the leader) and the version of each binary.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::store::fetch_all;

/// Processes not seen for this long are forgotten.
pub const FORGET_MS: i64 = 86_400_000;

pub async fn seen<C: ConnectionTrait>(db: &C, holder: &str, version: &str) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "INSERT INTO scheduler_instances (holder, version, started_at_ms, seen_at_ms) \
         VALUES ($1, $2, {now_ms}, {now_ms}) ON CONFLICT (holder) DO UPDATE \
         SET version = excluded.version, seen_at_ms = excluded.seen_at_ms",
        [holder.into(), version.into()],
    )
    .await
    .map(|_| ())
}

/// A process as last seen.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Instance {
    pub holder: String,
    pub version: String,
    pub started_at_ms: i64,
    pub seen_at_ms: i64,
}

/// Processes seen since `since_ms`, the most recently seen first.
pub async fn list<C: ConnectionTrait>(db: &C, since_ms: i64) -> Result<Vec<Instance>, DbErr> {
    fetch_all(
        db,
        "SELECT holder, version, started_at_ms, seen_at_ms FROM scheduler_instances \
         WHERE seen_at_ms >= $1 ORDER BY seen_at_ms DESC, holder LIMIT 50",
        [since_ms.into()],
    )
    .await
}
