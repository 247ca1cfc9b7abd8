//! `GET /api/v1/status`: fail2ban as the scheduler last saw it, with the snapshot's age.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::db;
use shared::lease::{SCHEDULER_LEASE, read_lease};
use shared::store::snapshots;

use crate::auth::{Auth, Role};
use crate::error::ApiResult;
use crate::routes::ApiTags;
use crate::time::from_epoch_ms;

#[derive(Debug, Object)]
pub struct StatusView {
    /// Whether the last probe reached fail2ban.
    pub reachable: bool,
    pub version: Option<String>,
    pub jail_count: i32,
    pub currently_banned: i64,
    pub total_banned: i64,
    pub currently_failed: i64,
    pub total_failed: i64,
    /// The scheduler's view of where fail2ban is.
    pub socket: Option<String>,
    pub db_file: Option<String>,
    pub config_dir: Option<String>,
    /// When the scheduler last probed (null: never).
    pub checked_at: Option<DateTime<Utc>>,
    /// When fail2ban last answered.
    pub last_ok_at: Option<DateTime<Utc>>,
    /// Seconds since the last probe, by the database clock.
    pub age_seconds: Option<f64>,
    /// Why the last probe failed.
    pub error: Option<String>,
    /// Whether a scheduler currently holds the lease (no leader: the snapshot ages).
    pub scheduler_running: bool,
}

pub struct StatusApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<Auth>,
}

impl StatusApi {
    pub fn new(db: DatabaseConnection, auth: std::sync::Arc<Auth>) -> Self {
        Self { db, auth }
    }
}

#[OpenApi(tag = "ApiTags::Fail2ban")]
impl StatusApi {
    /// fail2ban's status snapshot: reachable, version, jails, totals and its age. Role: viewer.
    #[oai(path = "/status", method = "get", operation_id = "get_status")]
    async fn get_status(&self, req: &Request) -> ApiResult<Json<StatusView>> {
        self.auth.require(req, Role::Viewer).await?;
        Ok(Json(load_status(&self.db).await?))
    }
}

/// The status snapshot as the scheduler last wrote it (also shown on the setup page, before
/// anyone can sign in: the paths are the scheduler's configuration, not the API's).
pub async fn load_status(db: &DatabaseConnection) -> ApiResult<StatusView> {
    let now = db::db_now_ms(db).await?;
    let leader = read_lease(db, SCHEDULER_LEASE)
        .await?
        .is_some_and(|l| l.is_valid());
    let Some(r) = snapshots::status(db).await? else {
        return Ok(StatusView {
            reachable: false,
            version: None,
            jail_count: 0,
            currently_banned: 0,
            total_banned: 0,
            currently_failed: 0,
            total_failed: 0,
            socket: None,
            db_file: None,
            config_dir: None,
            checked_at: None,
            last_ok_at: None,
            age_seconds: None,
            error: Some("fail2ban has not been probed yet: is bangui-scheduler running?".into()),
            scheduler_running: leader,
        });
    };
    Ok(StatusView {
        reachable: r.reachable,
        version: r.version,
        jail_count: r.jail_count,
        currently_banned: r.currently_banned,
        total_banned: r.total_banned,
        currently_failed: r.currently_failed,
        total_failed: r.total_failed,
        socket: r.socket,
        db_file: r.db_file,
        config_dir: r.config_dir,
        checked_at: Some(from_epoch_ms(r.checked_at_ms)),
        last_ok_at: r.last_ok_at_ms.map(from_epoch_ms),
        age_seconds: Some(((now - r.checked_at_ms).max(0) as f64) / 1000.0),
        error: r.error,
        scheduler_running: leader,
    })
}
