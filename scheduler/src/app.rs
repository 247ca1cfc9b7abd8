//! The composition root: every dependency is built here once and passed down.

use std::sync::Arc;

use anyhow::Context;
use sea_orm::DatabaseConnection;
use shared::config::Config;
use shared::db::{Role, connect};
use shared::lease::{LeaseStore, SCHEDULER_LEASE, holder_identity};
use tokio_util::sync::CancellationToken;

use crate::fail2ban::Fail2ban;
use crate::geo::Geo;
use crate::http::SidePort;
use crate::jobs::{JobDeps, JobSet};
use crate::leadership::{LeaderStatus, Leadership};

pub struct App {
    config: Config,
    db: DatabaseConnection,
    leadership: Leadership,
    status: Arc<LeaderStatus>,
    side_port: SidePort,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = shared::metrics::install();
        let db = connect(&config.database_url, Role::Scheduler)
            .await
            .with_context(|| format!("cannot open {}", config.database_url.redacted()))?;
        let applied = migrations::up_guarded(&db)
            .await
            .context("database migration failed")?;
        if applied > 0 {
            tracing::info!(applied, "database migrated");
        }
        let holder = holder_identity(std::env::var("POD_NAME").ok().as_deref());
        let store = LeaseStore::new(SCHEDULER_LEASE, &holder, &config.lease);
        let status = Arc::new(LeaderStatus::new(&holder));
        let jobs = JobSet::standard(&config);
        let f2b = Arc::new(Fail2ban::new(config.fail2ban.clone()));
        // A standby too: it may lead any moment, and its first change should be quick.
        tokio::spawn({
            let f2b = f2b.clone();
            async move { f2b.program.warm_up().await }
        });
        let geo = Arc::new(Geo::from_config(&config.history).context("cannot load the geo data")?);
        tracing::info!(geo = %geo.describe(), "geo data loaded");
        let exporter = f2b.exporter.clone();
        let deps = JobDeps {
            f2b,
            geo,
            history: config.history.clone(),
            command_expiry: config.command_expiry,
            guard: Arc::new(crate::blocklist::guard(&config.blocklists)),
        };
        let leadership =
            Leadership::new(db.clone(), store, config.lease, jobs, status.clone(), deps);
        let side_port = SidePort::bind(config.scheduler_addr, metrics, status.clone(), exporter)
            .await
            .with_context(|| format!("cannot listen on {}", config.scheduler_addr))?;
        tracing::info!(
            holder = %holder,
            database = %config.database_url.redacted(),
            side_port = %side_port.local_addr(),
            fail2ban_socket = %config.fail2ban.socket.display(),
            "bangui-scheduler started"
        );
        Ok(Self {
            config,
            db,
            leadership,
            status,
            side_port,
        })
    }

    pub fn status(&self) -> Arc<LeaderStatus> {
        self.status.clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Leads or waits until `shutdown` fires, then stops jobs, releases the lease and
    /// closes the side port.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let side = tokio::spawn(self.side_port.serve(shutdown.clone()));
        let presence = tokio::spawn(announce_presence(
            self.db.clone(),
            self.status.holder.clone(),
            shutdown.clone(),
        ));
        self.leadership.run(shutdown).await;
        let _ = side.await;
        let _ = presence.await;
        self.db.close().await.ok();
        tracing::info!("bangui-scheduler stopped");
        Ok(())
    }
}

/// How often a scheduler process, leader or standby, says it is alive.
const PRESENCE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Records this process in `scheduler_instances` every [`PRESENCE_EVERY`] (the System
/// page lists standbys from it). Apart from the lease: a slow write here never delays a
/// renewal, and it needs no fence (it states a fact about this process only).
async fn announce_presence(db: DatabaseConnection, holder: String, shutdown: CancellationToken) {
    loop {
        if let Err(e) =
            shared::store::scheduler_instances::seen(&db, &holder, env!("CARGO_PKG_VERSION")).await
        {
            tracing::debug!(error = %e, "could not record this scheduler's presence");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PRESENCE_EVERY) => {}
        }
    }
}
