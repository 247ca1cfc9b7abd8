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

/// One job's runs over the kept window (the heartbeat job keeps a bounded window).
#[derive(Debug, Clone, FromQueryResult)]
pub struct JobSummary {
    pub job: JobName,
    pub runs: i64,
    pub failures: i64,
    pub avg_ms: f64,
    pub max_ms: i64,
    pub last_started_at_ms: i64,
    pub last_duration_ms: i64,
    pub last_ok: bool,
    /// The error of the most recent failed run, if any.
    pub last_error: Option<String>,
    pub last_error_at_ms: Option<i64>,
}

/// Every job that ran since `since_ms`: counts, durations and the last failure.
pub async fn summary<C: ConnectionTrait>(db: &C, since_ms: i64) -> Result<Vec<JobSummary>, DbErr> {
    fetch_all(
        db,
        "SELECT s.job, s.runs, s.failures, s.avg_ms, s.max_ms, \
         l.started_at_ms AS last_started_at_ms, l.finished_at_ms - l.started_at_ms AS last_duration_ms, \
         l.ok AS last_ok, f.error AS last_error, f.finished_at_ms AS last_error_at_ms FROM \
         (SELECT job, COUNT(*) AS runs, SUM(CASE WHEN ok THEN 0 ELSE 1 END) AS failures, \
          CAST(AVG(finished_at_ms - started_at_ms) AS DOUBLE PRECISION) AS avg_ms, \
          MAX(finished_at_ms - started_at_ms) AS max_ms, MAX(id) AS last_id, \
          MAX(CASE WHEN ok THEN NULL ELSE id END) AS failed_id \
          FROM scheduler_job_runs WHERE started_at_ms >= $1 GROUP BY job) s \
         JOIN scheduler_job_runs l ON l.id = s.last_id \
         LEFT JOIN scheduler_job_runs f ON f.id = s.failed_id ORDER BY s.job",
        [since_ms.into()],
    )
    .await
}
