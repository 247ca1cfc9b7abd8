//! The heartbeat: every interval the leader appends a row carrying its holder and token,
//! fenced by the lease. The table is the proof that leaders never interleave: ordered by
//! id, the tokens never go down. It also trims its own and the job-run history.

use shared::domain::JobName;
use std::time::Duration;

use shared::lease::fenced_execute;

use super::{Job, JobContext, JobError};

/// How long heartbeats and job runs are kept.
const KEEP_MS: i64 = 3_600_000;

pub fn job(every: Duration) -> Job {
    Job::new(JobName::Heartbeat, every, Duration::from_secs(10), beat)
}

async fn beat(ctx: JobContext) -> Result<(), JobError> {
    let written = fenced_execute(
        &ctx.db,
        &ctx.fence,
        "INSERT INTO scheduler_heartbeats (holder, token, written_at_ms) \
         SELECT $1, $2, {now_ms} WHERE {fence}",
        vec![ctx.fence.holder.clone().into(), ctx.fence.token.into()],
    )
    .await?;
    if written == 0 {
        return Err(JobError::Fenced);
    }
    for table in ["scheduler_heartbeats", "scheduler_job_runs"] {
        let column = if table == "scheduler_heartbeats" {
            "written_at_ms"
        } else {
            "finished_at_ms"
        };
        fenced_execute(
            &ctx.db,
            &ctx.fence,
            &format!("DELETE FROM {table} WHERE {column} < {{now_ms}} - $1 AND {{fence}}"),
            vec![KEEP_MS.into()],
        )
        .await?;
    }
    Ok(())
}
