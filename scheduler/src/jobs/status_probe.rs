//! The status probe: is fail2ban reachable, which version, how many jails, and the
//! server-wide totals, written to `f2b_status`. When fail2ban is down the row says so
//! (reachable = false, the error) and keeps the last known figures, so the API can serve
//! the last snapshot with its age.

use shared::domain::JobName;
use std::time::Duration;

use sea_orm::Value;
use shared::lease::fenced_execute;

use super::{Job, JobContext, JobError};
use crate::fail2ban::client::ClientError;

pub const SERVER: &str = "default";

pub fn job(every: Duration) -> Job {
    Job::new(
        JobName::StatusProbe,
        every,
        every.max(Duration::from_secs(10)),
        probe,
    )
}

struct Observed {
    version: String,
    jail_count: i64,
    totals: [i64; 4],
    db_file: Option<String>,
}

async fn observe(ctx: &JobContext) -> Result<Observed, ClientError> {
    let client = &ctx.f2b.client;
    client.ping().await?;
    let version = client.version().await?;
    let jails = client.jails().await?;
    let mut totals = [0i64; 4];
    for jail in &jails {
        match client.jail_counters(jail).await {
            Ok(c) => {
                totals[0] += c.currently_banned;
                totals[1] += c.total_banned;
                totals[2] += c.currently_failed;
                totals[3] += c.total_failed;
            }
            // A jail stopped between the two calls.
            Err(e) if e.is_unknown_jail() => {}
            Err(e) => return Err(e),
        }
    }
    let db_file = match &ctx.f2b.config.db {
        Some(p) => Some(p.display().to_string()),
        None => client.dbfile().await.ok().flatten(),
    };
    Ok(Observed {
        version,
        jail_count: i64::try_from(jails.len()).unwrap_or(i64::MAX),
        totals,
        db_file,
    })
}

async fn probe(ctx: JobContext) -> Result<(), JobError> {
    let observed = observe(&ctx).await;
    ctx.ensure_leading()?;
    let cfg = &ctx.f2b.config;
    let socket = cfg.socket.display().to_string();
    let config_dir = cfg.config_dir.display().to_string();
    let written = match &observed {
        Ok(o) => {
            metrics::gauge!("fail2ban_up").set(1.0);
            ctx.f2b
                .exporter
                .probed(true, Some(&o.version), Some(o.jail_count));
            fenced_execute(
                &ctx.db,
                &ctx.fence,
                "INSERT INTO f2b_status (server, reachable, version, jail_count, currently_banned, \
                 total_banned, currently_failed, total_failed, socket, db_file, config_dir, checked_at_ms, \
                 last_ok_at_ms, error, lease_token) \
                 SELECT $1, true, $2, $3, $4, $5, $6, $7, $8, $9, $10, {now_ms}, {now_ms}, NULL, $11 WHERE {fence} \
                 ON CONFLICT (server) DO UPDATE SET reachable = true, version = excluded.version, \
                 jail_count = excluded.jail_count, currently_banned = excluded.currently_banned, \
                 total_banned = excluded.total_banned, currently_failed = excluded.currently_failed, \
                 total_failed = excluded.total_failed, socket = excluded.socket, db_file = excluded.db_file, \
                 config_dir = excluded.config_dir, checked_at_ms = excluded.checked_at_ms, \
                 last_ok_at_ms = excluded.last_ok_at_ms, error = NULL, lease_token = excluded.lease_token",
                vec![
                    SERVER.into(),
                    o.version.clone().into(),
                    o.jail_count.into(),
                    o.totals[0].into(),
                    o.totals[1].into(),
                    o.totals[2].into(),
                    o.totals[3].into(),
                    socket.into(),
                    o.db_file.clone().into(),
                    config_dir.into(),
                    ctx.fence.token.into(),
                ],
            )
            .await?
        }
        Err(e) => {
            metrics::gauge!("fail2ban_up").set(0.0);
            ctx.f2b.exporter.probed(false, None, None);
            let error = e.to_string();
            fenced_execute(
                &ctx.db,
                &ctx.fence,
                "INSERT INTO f2b_status (server, reachable, socket, config_dir, checked_at_ms, error, lease_token) \
                 SELECT $1, false, $2, $3, {now_ms}, $4, $5 WHERE {fence} \
                 ON CONFLICT (server) DO UPDATE SET reachable = false, socket = excluded.socket, \
                 config_dir = excluded.config_dir, checked_at_ms = excluded.checked_at_ms, \
                 error = excluded.error, lease_token = excluded.lease_token",
                vec![
                    SERVER.into(),
                    socket.into(),
                    config_dir.into(),
                    Value::from(error),
                    ctx.fence.token.into(),
                ],
            )
            .await?
        }
    };
    if written == 0 {
        return Err(JobError::Fenced);
    }
    if observed
        .as_ref()
        .is_err_and(|e| e.is_unavailable() && !matches!(e, ClientError::Unsupported(_)))
    {
        // fail2ban gone just after a configuration change: that change is rolled back.
        if let Err(e) = crate::config_write::after_outage(&ctx).await {
            tracing::warn!(error = %e.message, "could not roll back the change fail2ban stopped after");
        }
    }
    // Unreachable is reported in the row, not as a job failure: the probe did its job.
    Ok(())
}
