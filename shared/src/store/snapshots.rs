//! Reads of fail2ban's state as the scheduler last wrote it: the status row
//! (`f2b_status`), the jails (`f2b_jails`) and the current bans (`f2b_bans`). The
//! scheduler's writers of these tables are `scheduler/src/jobs/*_sync.rs` and
//! `scheduler/src/ban_writer.rs`.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use crate::domain::{JailName, Origin};
use crate::store::{Count, fetch_all, fetch_one, fetch_optional, fetch_page};

/// The status probe's last result.
#[derive(Debug, Clone, FromQueryResult)]
pub struct StatusRow {
    pub reachable: bool,
    pub version: Option<String>,
    pub jail_count: i32,
    pub currently_banned: i64,
    pub total_banned: i64,
    pub currently_failed: i64,
    pub total_failed: i64,
    pub socket: Option<String>,
    pub db_file: Option<String>,
    pub config_dir: Option<String>,
    pub checked_at_ms: i64,
    pub last_ok_at_ms: Option<i64>,
    pub error: Option<String>,
}

pub async fn status<C: ConnectionTrait>(db: &C) -> Result<Option<StatusRow>, DbErr> {
    fetch_optional(
        db,
        "SELECT reachable, version, jail_count, currently_banned, total_banned, currently_failed, \
         total_failed, socket, db_file, config_dir, checked_at_ms, last_ok_at_ms, error \
         FROM f2b_status WHERE server = 'default'",
        [],
    )
    .await
}

/// One jail with its counters and settings.
#[derive(Debug, Clone, FromQueryResult)]
pub struct JailRow {
    pub name: String,
    pub running: bool,
    pub idle: bool,
    pub currently_failed: i64,
    pub total_failed: i64,
    pub currently_banned: i64,
    pub total_banned: i64,
    /// Everything fail2ban reports for the jail, as JSON text.
    pub settings: String,
    pub updated_at_ms: i64,
}

const JAIL_SELECT: &str = "SELECT name, running, idle, currently_failed, total_failed, \
    currently_banned, total_banned, settings, updated_at_ms FROM f2b_jails";

pub async fn jails<C: ConnectionTrait>(db: &C) -> Result<Vec<JailRow>, DbErr> {
    fetch_all(db, &format!("{JAIL_SELECT} ORDER BY name"), []).await
}

pub async fn jail<C: ConnectionTrait>(db: &C, name: &JailName) -> Result<Option<JailRow>, DbErr> {
    fetch_optional(
        db,
        &format!("{JAIL_SELECT} WHERE name = $1"),
        [name.as_str().into()],
    )
    .await
}

/// Whether fail2ban has the jail (running or stopped), per the latest jail snapshot.
pub async fn jail_exists<C: ConnectionTrait>(db: &C, name: &JailName) -> Result<bool, DbErr> {
    let n: Count = fetch_one(
        db,
        "SELECT COUNT(*) AS n FROM f2b_jails WHERE name = $1",
        [name.as_str().into()],
    )
    .await?;
    Ok(n.n > 0)
}

/// One current ban.
#[derive(Debug, Clone, FromQueryResult)]
pub struct BanRow {
    pub jail: String,
    pub ip: String,
    pub banned_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub bantime_s: Option<i64>,
    pub bancount: i32,
    pub origin: Origin,
    pub failures: Option<i32>,
}

/// Which current bans to list.
#[derive(Debug, Clone, Default)]
pub struct BanFilter {
    pub jail: Option<JailName>,
    /// The start of the IP, any case.
    pub ip_prefix: Option<String>,
}

/// One page of current bans, newest first, and how many match in all.
pub async fn bans_page<C: ConnectionTrait>(
    db: &C,
    filter: &BanFilter,
    limit: u32,
    offset: u64,
) -> Result<(Vec<BanRow>, i64), DbErr> {
    let mut where_sql = String::from(" WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if let Some(j) = &filter.jail {
        values.push(j.as_str().into());
        where_sql.push_str(&format!(" AND jail = ${}", values.len()));
    }
    if let Some(q) = &filter.ip_prefix {
        values.push(crate::db::like_prefix(&q.to_lowercase()).into());
        where_sql.push_str(&format!(
            " AND lower(ip) LIKE ${} ESCAPE '\\'",
            values.len()
        ));
    }
    fetch_page(
        db,
        "SELECT jail, ip, banned_at_ms, expires_at_ms, bantime_s, bancount, origin, failures \
         FROM f2b_bans",
        &where_sql,
        "banned_at_ms DESC, jail, ip",
        values,
        limit,
        offset,
    )
    .await
}
