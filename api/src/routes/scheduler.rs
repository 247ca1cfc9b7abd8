//! `GET /api/v1/scheduler`: who leads, with which token, since when, and what the jobs
//! did recently. Read from the lease row and the job-run log the scheduler writes.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::domain::JobName;
use shared::lease::{SCHEDULER_LEASE, read_lease};
use shared::store::job_runs;

use crate::error::ApiResult;
use crate::routes::ApiTags;
use crate::time::from_epoch_ms;

/// How many recent job runs the answer carries.
const RECENT_RUNS: i64 = 20;

#[derive(Debug, Object)]
pub struct LeaderView {
    /// Identity of the leading scheduler process (pod or host, pid, random suffix).
    pub holder: String,
    /// Fencing token of this leadership; rises on every change of holder.
    pub token: i64,
    pub acquired_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct JobRunView {
    pub job: JobName,
    pub holder: String,
    pub token: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Debug, Object)]
pub struct SchedulerView {
    /// The current leader, or null when no scheduler holds a valid lease.
    pub leader: Option<LeaderView>,
    /// The highest token ever granted (0 if no scheduler ever ran).
    pub last_token: i64,
    /// The database clock when this answer was read.
    pub checked_at: DateTime<Utc>,
    /// The most recent job runs, newest first.
    pub recent_runs: Vec<JobRunView>,
}

pub struct SchedulerApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<crate::auth::Auth>,
}

impl SchedulerApi {
    pub fn new(db: DatabaseConnection, auth: std::sync::Arc<crate::auth::Auth>) -> Self {
        Self { db, auth }
    }
}

#[OpenApi(tag = "ApiTags::Scheduler")]
impl SchedulerApi {
    /// Current scheduler leader and recent job runs. Role: viewer.
    #[oai(path = "/scheduler", method = "get", operation_id = "get_scheduler")]
    async fn get_scheduler(&self, req: &poem::Request) -> ApiResult<Json<SchedulerView>> {
        self.auth.require(req, crate::auth::Role::Viewer).await?;
        let now_ms = shared::db::db_now_ms(&self.db).await?;
        let lease = read_lease(&self.db, SCHEDULER_LEASE).await?;
        let leader = lease.as_ref().filter(|l| l.is_valid()).map(|l| LeaderView {
            holder: l.holder.clone(),
            token: l.token,
            acquired_at: from_epoch_ms(l.acquired_at_ms),
            renewed_at: from_epoch_ms(l.renewed_at_ms),
            expires_at: from_epoch_ms(l.expires_at_ms),
        });
        let recent_runs = job_runs::recent(&self.db, RECENT_RUNS)
            .await?
            .into_iter()
            .map(|r| JobRunView {
                job: r.job,
                holder: r.holder,
                token: r.token,
                started_at: from_epoch_ms(r.started_at_ms),
                finished_at: from_epoch_ms(r.finished_at_ms),
                duration_ms: r.finished_at_ms - r.started_at_ms,
                ok: r.ok,
                error: r.error,
            })
            .collect();
        Ok(Json(SchedulerView {
            leader,
            last_token: lease.map_or(0, |l| l.token),
            checked_at: from_epoch_ms(now_ms),
            recent_runs,
        }))
    }
}
