//! Instance settings (`settings`): one row per key, chosen at setup.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::domain::vocabulary;
use crate::store::fetch_optional;

vocabulary! {
    /// The keys of the `settings` table.
    pub enum Setting {
        /// Present once the first admin exists.
        Setup => "setup",
        /// The display time zone (IANA name).
        Timezone => "timezone",
        /// The sliding session length in minutes.
        SessionMinutes => "session_minutes",
        /// How many days of history (archive, audit log, import log) are kept; unset: the
        /// scheduler's `BANGUI_HISTORY_RETENTION`.
        RetentionDays => "retention_days",
    }
}

/// The bounds of `retention_days`: a week to ten years.
pub const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 7..=3650;

/// The bounds of `session_minutes`: five minutes to thirty days.
pub const SESSION_MINUTES: std::ops::RangeInclusive<i64> = 5..=43_200;

/// The session length when none was chosen: 12 hours.
pub const DEFAULT_SESSION_MINUTES: i64 = 720;

pub async fn get<C: ConnectionTrait>(db: &C, key: Setting) -> Result<Option<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        value: String,
    }
    Ok(fetch_optional::<Row, _>(
        db,
        "SELECT value FROM settings WHERE key = $1",
        [key.into()],
    )
    .await?
    .map(|r| r.value))
}

/// Inserts a key unless it exists; returns whether this call inserted it.
pub async fn insert_if_absent<C: ConnectionTrait>(
    db: &C,
    key: Setting,
    value: &str,
    by: &str,
) -> Result<bool, DbErr> {
    let n = crate::db::execute(
        db,
        "INSERT INTO settings (key, value, updated_at_ms, updated_by) VALUES ($1, $2, {now_ms}, $3) \
         ON CONFLICT (key) DO NOTHING",
        [key.into(), value.into(), by.into()],
    )
    .await?;
    Ok(n > 0)
}

pub async fn put<C: ConnectionTrait>(
    db: &C,
    key: Setting,
    value: &str,
    by: &str,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "INSERT INTO settings (key, value, updated_at_ms, updated_by) VALUES ($1, $2, {now_ms}, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms, \
         updated_by = excluded.updated_by",
        [key.into(), value.into(), by.into()],
    )
    .await
    .map(|_| ())
}

pub async fn setup_completed<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    Ok(get(db, Setting::Setup).await?.is_some())
}

/// The display time zone chosen at setup (UTC when none was).
pub async fn timezone<C: ConnectionTrait>(db: &C) -> Result<String, DbErr> {
    Ok(get(db, Setting::Timezone)
        .await?
        .unwrap_or_else(|| "UTC".into()))
}

/// The session length chosen at setup.
pub async fn session_minutes<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(get(db, Setting::SessionMinutes)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SESSION_MINUTES))
}

/// The history retention chosen in the settings, if any (the scheduler's environment
/// decides otherwise). Read by the retention job on every run: a change needs no restart.
pub async fn retention_days<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbErr> {
    Ok(get(db, Setting::RetentionDays)
        .await?
        .and_then(|v| v.parse().ok())
        .filter(|d| RETENTION_DAYS.contains(d)))
}

/// Sets several keys at once, audited as `settings.update` with the old and new values,
/// in one transaction.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::store::audit::Actor,
    changes: &[(Setting, String)],
) -> Result<(), DbErr> {
    let txn = crate::store::write_transaction(db).await?;
    let by = actor.name.clone().unwrap_or_default();
    let mut details = serde_json::Map::new();
    for (key, value) in changes {
        let old = get(&txn, *key).await?;
        put(&txn, *key, value, &by).await?;
        details.insert(
            key.as_str().to_owned(),
            serde_json::json!({ "from": old, "to": value }),
        );
    }
    crate::store::audit::record(
        &txn,
        actor,
        crate::store::audit::Entry::ok("settings.update", None)
            .with_details(serde_json::Value::Object(details)),
    )
    .await?;
    txn.commit().await
}
