//! fail2ban's own settings as it last answered them (`f2b_server_settings`, one row):
//! written by the scheduler, read by the API's Server tab.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::store::fetch_optional;

#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ServerSettingsRow {
    /// JSON `{key: value}` of what `get <key>` answered (values as text).
    pub settings: String,
    pub archive_interval_ms: i64,
    pub read_at_ms: i64,
}

impl ServerSettingsRow {
    pub fn value(&self, key: &str) -> Option<String> {
        let map: serde_json::Value = serde_json::from_str(&self.settings).ok()?;
        map[key].as_str().map(str::to_owned)
    }
}

pub async fn get<C: ConnectionTrait>(db: &C) -> Result<Option<ServerSettingsRow>, DbErr> {
    fetch_optional(
        db,
        "SELECT settings, archive_interval_ms, read_at_ms FROM f2b_server_settings WHERE id = 1",
        [],
    )
    .await
}

pub async fn put<C: ConnectionTrait>(db: &C, row: &ServerSettingsRow) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "INSERT INTO f2b_server_settings (id, settings, archive_interval_ms, read_at_ms) \
         VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, \
         archive_interval_ms = excluded.archive_interval_ms, read_at_ms = excluded.read_at_ms",
        [
            row.settings.clone().into(),
            row.archive_interval_ms.into(),
            row.read_at_ms.into(),
        ],
    )
    .await?;
    Ok(())
}
