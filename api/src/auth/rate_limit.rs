//! Sign-in throttling as the API answers it: 429 with `Retry-After` while a key is
//! blocked. The counting lives in `shared::store::rate_limits`, in the database, so it
//! holds across every API replica.

use sea_orm::DatabaseConnection;
use shared::store::rate_limits;

use crate::error::{ApiError, ApiResult, ErrorCode};

/// Refuses with 429 and `Retry-After` (seconds) while any key is blocked.
pub async fn check(db: &DatabaseConnection, keys: &[String]) -> ApiResult<()> {
    match rate_limits::blocked_for_ms(db, keys).await? {
        None => Ok(()),
        Some(left_ms) => {
            let secs = (left_ms + 999) / 1000;
            Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("too many failed sign-ins; try again in {secs} s"),
            )
            .with_details(serde_json::json!({ "retry_after": secs })))
        }
    }
}

/// Counts a failure against every key, blocking those over the limit.
pub async fn fail(db: &DatabaseConnection, keys: &[String]) -> ApiResult<()> {
    Ok(rate_limits::fail(db, keys).await?)
}

/// Forgets the failures of a key (after a successful sign-in).
pub async fn reset(db: &DatabaseConnection, key: &str) -> ApiResult<()> {
    Ok(rate_limits::reset(db, key).await?)
}
