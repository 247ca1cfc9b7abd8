//! Sign-in throttling as the API answers it: 429 with `Retry-After` while a key is
//! blocked, a pause before the password check while a username is under attack. The
//! counting lives in `shared::store::rate_limits`, in the database, so it holds across
//! every API replica.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use shared::store::rate_limits::{self, Attempt, Reservation};

use crate::error::{ApiError, ApiResult, ErrorCode};

/// Reserves this attempt before its password is checked: refuses with 429 and
/// `Retry-After` (seconds) while blocked, and waits out any slow-down.
pub async fn reserve(db: &DatabaseConnection, attempt: &Attempt<'_>) -> ApiResult<()> {
    match rate_limits::reserve(db, attempt).await? {
        Reservation::Granted { slow_down_ms } => {
            if slow_down_ms > 0 {
                tokio::time::sleep(Duration::from_millis(slow_down_ms.unsigned_abs())).await;
            }
            Ok(())
        }
        Reservation::Blocked { retry_after_ms } => {
            let secs = (retry_after_ms + 999) / 1000;
            Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("too many failed sign-ins; try again in {secs} s"),
            )
            .with_details(serde_json::json!({ "retry_after": secs })))
        }
    }
}

/// Forgets the attempts of a user who signed in.
pub async fn succeeded(db: &DatabaseConnection, attempt: &Attempt<'_>) -> ApiResult<()> {
    Ok(rate_limits::succeeded(db, attempt).await?)
}
