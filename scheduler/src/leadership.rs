//! The lease loop: acquire or renew on a fixed rhythm, start the job set on becoming
//! leader, and stop it (then release) on losing leadership or on shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use shared::lease::{Attempt, Elector, LeaseStore, LeaseTiming, StepDownReason, Transition};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::jobs::{JobContext, JobDeps, JobSet};

/// How long stopped jobs get to finish before they are aborted.
const JOB_STOP_GRACE: Duration = Duration::from_millis(800);
/// The longest a release may take on the way out.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the side port reports about this process.
#[derive(Debug)]
pub struct LeaderStatus {
    pub holder: String,
    leading: AtomicBool,
    token: AtomicI64,
}

impl LeaderStatus {
    pub fn new(holder: &str) -> Self {
        Self {
            holder: holder.to_owned(),
            leading: AtomicBool::new(false),
            token: AtomicI64::new(0),
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// The token of the current or last lease held; 0 if never.
    pub fn token(&self) -> i64 {
        self.token.load(Ordering::SeqCst)
    }

    fn set(&self, leading: bool, token: Option<i64>) {
        if let Some(t) = token {
            self.token.store(t, Ordering::SeqCst);
            metrics::gauge!("scheduler_lease_token").set(t as f64);
        }
        self.leading.store(leading, Ordering::SeqCst);
        metrics::gauge!("scheduler_is_leader").set(if leading { 1.0 } else { 0.0 });
    }
}

/// The job set while it runs under one token.
struct RunningJobs {
    token: i64,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
    valid_until: watch::Sender<Instant>,
}

pub struct Leadership {
    db: DatabaseConnection,
    store: LeaseStore,
    timing: LeaseTiming,
    jobs: JobSet,
    status: Arc<LeaderStatus>,
    deps: JobDeps,
}

impl Leadership {
    pub fn new(
        db: DatabaseConnection,
        store: LeaseStore,
        timing: LeaseTiming,
        jobs: JobSet,
        status: Arc<LeaderStatus>,
        deps: JobDeps,
    ) -> Self {
        status.set(false, None);
        metrics::counter!("scheduler_lease_renew_failures_total").absolute(0);
        Self {
            db,
            store,
            timing,
            jobs,
            status,
            deps,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut elector = Elector::new(self.timing);
        let mut running: Option<RunningJobs> = None;
        'lease: loop {
            let sent = Instant::now();
            let budget = elector
                .leading_until()
                .map_or(self.timing.renew_interval, |until| {
                    until
                        .saturating_duration_since(sent)
                        .min(self.timing.renew_interval)
                })
                .max(Duration::from_millis(1));
            let attempt = tokio::select! {
                _ = shutdown.cancelled() => break 'lease,
                r = tokio::time::timeout(budget, self.store.acquire_or_renew(&self.db)) => match r {
                    Ok(Ok(Some(grant))) => Attempt::Granted(grant.token),
                    Ok(Ok(None)) => Attempt::HeldByOther,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "lease attempt failed");
                        Attempt::Failed
                    }
                    Err(_) => {
                        tracing::warn!(timeout_ms = budget.as_millis() as u64, "lease attempt timed out");
                        Attempt::Failed
                    }
                },
            };
            if attempt == Attempt::Failed {
                metrics::counter!("scheduler_lease_renew_failures_total").increment(1);
            }
            let transition = elector.on_attempt(sent, Instant::now(), attempt);
            self.apply(transition, &mut running).await;
            if let (Some(r), Some(until)) = (&running, elector.leading_until()) {
                let _ = r.valid_until.send(until);
            }
            let next_attempt = sent + self.timing.renew_interval;
            loop {
                let wake = elector
                    .leading_until()
                    .map_or(next_attempt, |u| u.min(next_attempt));
                tokio::select! {
                    _ = shutdown.cancelled() => break 'lease,
                    _ = tokio::time::sleep_until(wake.into()) => {}
                }
                let transition = elector.on_tick(Instant::now());
                self.apply(transition, &mut running).await;
                if Instant::now() >= next_attempt {
                    break;
                }
            }
        }
        if let Some(jobs) = running.take() {
            tracing::info!(
                token = jobs.token,
                "shutting down: stopping jobs, then releasing the lease"
            );
            self.stop_and_release(jobs).await;
        }
    }

    async fn apply(&self, transition: Option<Transition>, running: &mut Option<RunningJobs>) {
        match transition {
            None => {}
            Some(Transition::BecameLeader(token)) => {
                tracing::info!(token, holder = %self.store.holder, "became leader");
                metrics::counter!("scheduler_lease_transitions_total", "to" => "leader")
                    .increment(1);
                self.status.set(true, Some(token));
                *running = Some(self.start_jobs(token));
            }
            Some(Transition::SteppedDown(reason)) => {
                tracing::warn!(reason = reason.as_str(), "lost leadership; stopping jobs");
                metrics::counter!("scheduler_lease_transitions_total", "to" => "follower")
                    .increment(1);
                // Stop acting first; the status flips before the jobs are even joined so
                // nothing reads a stale "leader".
                self.status.set(false, None);
                if let Some(jobs) = running.take() {
                    if reason == StepDownReason::DeadlineExceeded {
                        self.stop_and_release(jobs).await;
                    } else {
                        // The row already belongs to someone else: nothing to release.
                        stop_jobs(jobs).await;
                    }
                }
            }
        }
    }

    fn start_jobs(&self, token: i64) -> RunningJobs {
        let cancel = CancellationToken::new();
        let (valid_until, valid_rx) = watch::channel(Instant::now() + self.timing.renew_deadline);
        let ctx = JobContext::new(
            self.db.clone(),
            self.store.fence(token),
            self.deps.clone(),
            valid_rx,
        );
        let handle = tokio::spawn(self.jobs.clone().run(ctx, cancel.clone()));
        RunningJobs {
            token,
            cancel,
            handle,
            valid_until,
        }
    }

    /// Jobs stop first; only then is the lease given up, so a successor never overlaps
    /// with a job of ours.
    async fn stop_and_release(&self, jobs: RunningJobs) {
        let token = jobs.token;
        stop_jobs(jobs).await;
        match tokio::time::timeout(RELEASE_TIMEOUT, self.store.release(&self.db, token)).await {
            Ok(Ok(true)) => tracing::info!(token, "lease released"),
            Ok(Ok(false)) => tracing::info!(token, "lease already taken over; nothing to release"),
            Ok(Err(e)) => {
                tracing::warn!(token, error = %e, "lease release failed; it expires by ttl")
            }
            Err(_) => tracing::warn!(token, "lease release timed out; it expires by ttl"),
        }
        self.status.set(false, None);
    }
}

async fn stop_jobs(jobs: RunningJobs) {
    let _ = jobs.valid_until.send(Instant::now());
    jobs.cancel.cancel();
    let mut handle = jobs.handle;
    if tokio::time::timeout(JOB_STOP_GRACE, &mut handle)
        .await
        .is_err()
    {
        tracing::warn!("jobs did not stop in time; aborting them");
        handle.abort();
        let _ = handle.await;
    }
    tracing::info!(token = jobs.token, "jobs stopped");
}
