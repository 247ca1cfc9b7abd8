//! Stored times are UTC epoch milliseconds; the API shows them as RFC 3339 UTC.

use chrono::{DateTime, Utc};

pub fn from_epoch_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
