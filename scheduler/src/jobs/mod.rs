//! The job set: what the leader runs on a schedule. Each job is a small async function
//! over a [`JobContext`]; this module runs them with clokwerk, bounds them in time,
//! counts them and records each run (fenced) for `GET /api/v1/scheduler`.
//!
//! Later jobs (status probe, jail sync, archive import, …) plug in at
//! [`JobSet::standard`].

pub mod archive_sync;
pub mod ban_sync;
pub mod config_sync;
pub mod geo_resolve;
pub mod heartbeat;
pub mod jail_sync;
pub mod log_tail;
pub mod retention;
pub mod rollups;
pub mod status_probe;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clokwerk::{AsyncScheduler, Interval};
use sea_orm::DatabaseConnection;
use shared::config::Config;
use shared::domain::JobName;
use shared::lease::{Fence, fenced_execute};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use shared::config::HistoryConfig;

use crate::fail2ban::Fail2ban;
use crate::geo::Geo;

/// How often the job loop looks for due jobs.
const TICK: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the lease is no longer ours; the write was refused")]
    Fenced,
    #[error("no longer leader")]
    NotLeader,
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    #[error(transparent)]
    Db(sea_orm::DbErr),
    #[error(transparent)]
    Fail2ban(#[from] crate::fail2ban::client::ClientError),
}

/// A failed statement or transaction of a job. A fault of the connection (read-only,
/// I/O, a lock held too long) retires the pool's older connections, so a transaction
/// left open by a failed commit cannot keep SQLite's write lock (`db::faults`).
impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        shared::db::faults::note(&e);
        JobError::Db(e)
    }
}

/// What the jobs use besides the database, built once by the composition root.
#[derive(Clone)]
pub struct JobDeps {
    pub f2b: Arc<Fail2ban>,
    pub geo: Arc<Geo>,
    pub history: HistoryConfig,
    /// Pending commands older than this fail with `scheduler_unavailable`.
    pub command_expiry: Duration,
    /// The one way out to the network (blocklists).
    pub guard: Arc<crate::net::Guard>,
}

/// What a job may use: the database, its fence, fail2ban, geo data, and the local
/// leadership deadline.
#[derive(Clone)]
pub struct JobContext {
    pub db: DatabaseConnection,
    pub fence: Fence,
    pub f2b: Arc<Fail2ban>,
    pub geo: Arc<Geo>,
    pub history: HistoryConfig,
    /// Pending commands older than this fail with `scheduler_unavailable`.
    pub command_expiry: Duration,
    pub guard: Arc<crate::net::Guard>,
    /// Blocklist imports and purges run beside the command queue, one at a time.
    pub blocklist_slot: Arc<tokio::sync::Semaphore>,
    valid_until: watch::Receiver<Instant>,
}

impl JobContext {
    pub fn new(
        db: DatabaseConnection,
        fence: Fence,
        deps: JobDeps,
        valid_until: watch::Receiver<Instant>,
    ) -> Self {
        Self {
            db,
            fence,
            f2b: deps.f2b,
            geo: deps.geo,
            history: deps.history,
            command_expiry: deps.command_expiry,
            guard: deps.guard,
            blocklist_slot: Arc::new(tokio::sync::Semaphore::new(1)),
            valid_until,
        }
    }

    /// A fenced transaction, or `JobError::Fenced` when the lease is gone.
    pub async fn fenced_txn(&self) -> Result<sea_orm::DatabaseTransaction, JobError> {
        shared::lease::fenced_transaction(&self.db, &self.fence)
            .await?
            .ok_or(JobError::Fenced)
    }

    /// Commits a [`Self::fenced_txn`] if the lease is still ours, else `JobError::Fenced`.
    pub async fn commit(&self, txn: sea_orm::DatabaseTransaction) -> Result<(), JobError> {
        if shared::lease::commit_fenced(txn, &self.fence).await? {
            Ok(())
        } else {
            Err(JobError::Fenced)
        }
    }

    /// The leadership deadline this context runs under.
    pub fn valid_until(&self) -> watch::Receiver<Instant> {
        self.valid_until.clone()
    }

    /// Whether this process may still act as leader by its own clock. Jobs check it
    /// before every side effect the database cannot fence (a fail2ban call).
    pub fn is_leading(&self) -> bool {
        Instant::now() < *self.valid_until.borrow()
    }

    pub fn ensure_leading(&self) -> Result<(), JobError> {
        if self.is_leading() {
            Ok(())
        } else {
            Err(JobError::NotLeader)
        }
    }
}

type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type JobFn = Arc<dyn Fn(JobContext) -> JobFuture + Send + Sync>;

#[derive(Clone)]
pub struct Job {
    pub name: JobName,
    pub every: Duration,
    pub timeout: Duration,
    run: JobFn,
}

impl Job {
    pub fn new<F, Fut>(name: JobName, every: Duration, timeout: Duration, f: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        Self {
            name,
            every,
            timeout,
            run: Arc::new(move |ctx| Box::pin(f(ctx))),
        }
    }

    /// One bounded, counted, recorded run.
    async fn run_once(&self, ctx: JobContext) {
        if !ctx.is_leading() {
            return;
        }
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, (self.run)(ctx.clone())).await {
            Ok(r) => r,
            Err(_) => Err(JobError::TimedOut(self.timeout)),
        };
        let elapsed = started.elapsed();
        tracing::debug!(job = %self.name, ms = elapsed.as_millis() as u64, "job ran");
        metrics::counter!("scheduler_job_runs_total", "job" => self.name.as_str()).increment(1);
        metrics::histogram!("scheduler_job_duration_seconds", "job" => self.name.as_str())
            .record(elapsed.as_secs_f64());
        if result.is_ok() {
            // For alerts on a job that stopped succeeding (the archive import lagging).
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            metrics::gauge!("scheduler_job_last_success_timestamp_seconds", "job" => self.name.as_str())
                .set(now);
        }
        if let Err(e) = &result {
            metrics::counter!("scheduler_job_failures_total", "job" => self.name.as_str())
                .increment(1);
            tracing::warn!(job = %self.name, error = %e, "job failed");
        }
        if matches!(result, Err(JobError::Fenced | JobError::NotLeader)) {
            return;
        }
        if let Err(e) = record_run(&ctx, self.name, elapsed, result.as_ref().err()).await {
            tracing::debug!(job = %self.name, error = %e, "could not record the job run");
        }
    }
}

async fn record_run(
    ctx: &JobContext,
    job: JobName,
    elapsed: Duration,
    error: Option<&JobError>,
) -> Result<u64, sea_orm::DbErr> {
    let elapsed_ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
    fenced_execute(
        &ctx.db,
        &ctx.fence,
        "INSERT INTO scheduler_job_runs (job, holder, token, started_at_ms, finished_at_ms, ok, error) \
         SELECT $1, $2, $3, {now_ms} - $4, {now_ms}, $5, $6 WHERE {fence}",
        vec![
            job.as_str().into(),
            ctx.fence.holder.clone().into(),
            ctx.fence.token.into(),
            elapsed_ms.into(),
            error.is_none().into(),
            error.map(ToString::to_string).into(),
        ],
    )
    .await
}

type WorkerFn = Arc<
    dyn Fn(JobContext, CancellationToken) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// A loop that runs for as long as the process leads (the command executor), next to
/// the scheduled jobs, under the same cancellation.
#[derive(Clone)]
pub struct Worker {
    pub name: &'static str,
    run: WorkerFn,
}

impl Worker {
    pub fn new<F, Fut>(name: &'static str, f: F) -> Self
    where
        F: Fn(JobContext, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            name,
            run: Arc::new(move |ctx, cancel| Box::pin(f(ctx, cancel))),
        }
    }
}

/// The jobs and workers a leader runs.
#[derive(Clone)]
pub struct JobSet {
    jobs: Vec<Job>,
    workers: Vec<Worker>,
}

impl JobSet {
    pub fn new(jobs: Vec<Job>, workers: Vec<Worker>) -> Self {
        Self { jobs, workers }
    }

    /// Every job of a production scheduler, built from configuration.
    pub fn standard(config: &Config) -> Self {
        let f = &config.fail2ban;
        Self::new(
            vec![
                heartbeat::job(config.heartbeat_interval),
                status_probe::job(f.status_interval),
                jail_sync::job(f.jail_sync_interval),
                config_sync::job(f.config_sync_interval),
                crate::allowlist::expiry_job(f.allowlist_interval),
                log_tail::job(f.log_tail_interval),
                ban_sync::job(f.ban_sync_interval),
                archive_sync::job(f.archive_interval),
                geo_resolve::job(config.history.geo_interval),
                rollups::job(config.history.rollup_interval),
                retention::job(config.history.retention_interval),
                crate::blocklist::schedule_job(config.blocklists.schedule_interval),
            ],
            vec![crate::commands::executor::worker()],
        )
    }

    /// Runs every job once at once (clokwerk would wait a full interval first), then on
    /// its schedule, until `cancel` fires. Cancelling drops the running job futures.
    pub async fn run(self, ctx: JobContext, cancel: CancellationToken) {
        let workers: Vec<_> = self
            .workers
            .iter()
            .map(|w| tokio::spawn((w.run)(ctx.clone(), cancel.clone())))
            .collect();
        self.run_jobs(ctx, cancel).await;
        for w in workers {
            let _ = w.await;
        }
    }

    async fn run_jobs(&self, ctx: JobContext, cancel: CancellationToken) {
        let mut scheduler = AsyncScheduler::with_tz(chrono::Utc);
        for job in &self.jobs {
            let seconds = u32::try_from(job.every.as_secs().max(1)).unwrap_or(u32::MAX);
            let (job, ctx) = (job.clone(), ctx.clone());
            scheduler.every(Interval::Seconds(seconds)).run(move || {
                let (job, ctx) = (job.clone(), ctx.clone());
                async move { job.run_once(ctx).await }
            });
        }
        let startup = futures_join_all(self.jobs.iter().map(|j| j.run_once(ctx.clone())));
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = startup => {}
        }
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = scheduler.run_pending() => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }
}

/// Runs futures one after another (jobs are few; ordering keeps start-up predictable).
async fn futures_join_all<F: Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    for f in futures {
        f.await;
    }
}
