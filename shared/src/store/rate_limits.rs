//! Sign-in throttling (`rate_limits`), held in the database so it holds across every API
//! replica: per key (client IP, username), 5 failures in a minute block the key for a
//! minute, and every further failure while blocked doubles the block (up to an hour).

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::db;
use crate::store::fetch_optional;

const WINDOW_MS: i64 = 60_000;
const MAX_FAILURES: i32 = 5;
const BLOCK_MS: i64 = 60_000;
const MAX_BLOCK_MS: i64 = 3_600_000;

/// How long the first blocked key of `keys` stays blocked, if any is.
pub async fn blocked_for_ms<C: ConnectionTrait>(
    db: &C,
    keys: &[String],
) -> Result<Option<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Left {
        left_ms: i64,
    }
    for key in keys {
        let left: Option<Left> = fetch_optional(
            db,
            "SELECT blocked_until_ms - {now_ms} AS left_ms FROM rate_limits \
             WHERE key = $1 AND blocked_until_ms > {now_ms}",
            [key.clone().into()],
        )
        .await?;
        if let Some(l) = left {
            return Ok(Some(l.left_ms));
        }
    }
    Ok(None)
}

/// Counts a failure against every key, blocking those over the limit.
pub async fn fail<C: ConnectionTrait>(db: &C, keys: &[String]) -> Result<(), DbErr> {
    for key in keys {
        db::execute(
            db,
            "INSERT INTO rate_limits (key, window_start_ms, failures, blocked_until_ms) VALUES ($1, {now_ms}, 1, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN rate_limits.window_start_ms < {now_ms} - $2 AND rate_limits.blocked_until_ms < {now_ms} \
                               THEN 1 ELSE rate_limits.failures + 1 END, \
               window_start_ms = CASE WHEN rate_limits.window_start_ms < {now_ms} - $2 AND rate_limits.blocked_until_ms < {now_ms} \
                               THEN {now_ms} ELSE rate_limits.window_start_ms END",
            [key.clone().into(), WINDOW_MS.into()],
        )
        .await?;
        // Growing back-off: the 5th failure blocks 1 min, each later one doubles it.
        db::execute(
            db,
            "UPDATE rate_limits SET blocked_until_ms = {now_ms} + CASE failures - $2 \
               WHEN 0 THEN $3 WHEN 1 THEN 2 * $3 WHEN 2 THEN 4 * $3 WHEN 3 THEN 8 * $3 \
               WHEN 4 THEN 16 * $3 WHEN 5 THEN 32 * $3 ELSE $4 END \
             WHERE key = $1 AND failures >= $2",
            [
                key.clone().into(),
                MAX_FAILURES.into(),
                BLOCK_MS.into(),
                MAX_BLOCK_MS.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Forgets the failures of a key (after a successful sign-in).
pub async fn reset<C: ConnectionTrait>(db: &C, key: &str) -> Result<(), DbErr> {
    db::execute(db, "DELETE FROM rate_limits WHERE key = $1", [key.into()])
        .await
        .map(|_| ())
}
