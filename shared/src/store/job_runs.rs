//! The scheduler's job-run log (`scheduler_job_runs`), as the API reads it.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::domain::JobName;
use crate::store::fetch_all;

#[derive(Debug, Clone, FromQueryResult)]
pub struct JobRun {
    pub job: JobName,
    pub holder: String,
    pub token: i64,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub ok: bool,
    pub error: Option<String>,
}

/// The most recent runs, newest first.
pub async fn recent<C: ConnectionTrait>(db: &C, limit: i64) -> Result<Vec<JobRun>, DbErr> {
    fetch_all(
        db,
        "SELECT job, holder, token, started_at_ms, finished_at_ms, ok, error \
         FROM scheduler_job_runs ORDER BY id DESC LIMIT $1",
        [limit.into()],
    )
    .await
}
