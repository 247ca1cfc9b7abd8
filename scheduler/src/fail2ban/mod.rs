//! Everything that speaks to fail2ban: the pickle codec, the socket client actor, typed
//! replies, the `fail2ban-client` runner, and the read-only reader of fail2ban's own
//! database. [`Fail2ban`] bundles them for jobs and the command executor.

pub mod client;
pub mod codec;
pub mod control;
pub mod database;
pub mod replies;
pub mod warm;

use std::path::PathBuf;
use std::sync::Arc;

use shared::config::Fail2banConfig;
use tokio::sync::Mutex;

use self::client::Fail2banClient;
use self::control::ClientProgram;
use self::database::Fail2banDb;

/// The scheduler's handles on one fail2ban server.
pub struct Fail2ban {
    pub config: Fail2banConfig,
    pub client: Fail2banClient,
    pub program: ClientProgram,
    /// Held by whoever writes the ban snapshot (`f2b_bans`, `ban_events`): the ban sync,
    /// the archive import and the command executor. On PostgreSQL two of them inserting
    /// the same (jail, ip) at once would wait on each other's unique-key locks, and
    /// deadlock; one writer at a time (all in this one leader process) avoids that. The
    /// rollup job reads the newest event id under it (see `jobs::rollups`).
    pub snapshot_writer: Mutex<()>,
    /// The jails' settings as last read (`jobs::jail_sync`); a command that changes a
    /// jail re-reads them, so the next sync cannot put older settings back.
    pub jail_settings: crate::jobs::jail_sync::SettingsCache,
    /// Held by whoever reads or writes the configuration tree (the configuration sync and
    /// the configuration writes), so a sync that read the tree just before a write cannot
    /// store its older picture after the write's.
    pub config_writer: Mutex<()>,
    /// The fingerprint of `filter.d/` and `action.d/` when this process last stored the
    /// filters and actions read from them (`jobs::config_sync`).
    pub defs_read: std::sync::Mutex<Option<String>>,
    /// Regex tests running beside the command queue (two at most).
    pub regex_tests: Arc<tokio::sync::Semaphore>,
    /// fail2ban-regex's code, warm, for the regex tester (started on its first test;
    /// `None` when warm runs are off).
    pub regex_runner: Option<warm::WarmRunner>,
    db: Mutex<Option<Fail2banDb>>,
}

impl Fail2ban {
    pub fn new(config: Fail2banConfig) -> Self {
        let regex_runner = config
            .client_warm
            .then(|| warm::WarmRunner::new(Some(crate::regex_test::DRIVER)));
        let client = Fail2banClient::spawn(&config.socket, config.timeout);
        let program = ClientProgram::new(
            config.client.clone(),
            config.socket.clone(),
            config.config_dir.clone(),
            config.timeout * 6,
            config.client_warm,
        );
        Self {
            config,
            client,
            program,
            snapshot_writer: Mutex::new(()),
            jail_settings: Default::default(),
            config_writer: Mutex::new(()),
            defs_read: std::sync::Mutex::new(None),
            regex_tests: Arc::new(tokio::sync::Semaphore::new(2)),
            regex_runner,
            db: Mutex::new(None),
        }
    }

    /// fail2ban's database, opened on first use (from `BANGUI_FAIL2BAN_DB`, else from
    /// `get dbfile`). `None` when fail2ban runs without one or it cannot be read; BanGUI
    /// then works from the socket alone.
    pub async fn archive_db(&self) -> Option<Fail2banDb> {
        let mut guard = self.db.lock().await;
        if let Some(db) = guard.as_ref() {
            return Some(db.clone());
        }
        let path: PathBuf = match &self.config.db {
            Some(p) => p.clone(),
            None => match self.client.dbfile().await {
                Ok(Some(p)) => PathBuf::from(p),
                _ => return None,
            },
        };
        match Fail2banDb::open(&path).await {
            Ok(db) => {
                tracing::info!(path = %path.display(), "reading fail2ban's database");
                *guard = Some(db.clone());
                Some(db)
            }
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "fail2ban's database is not readable");
                None
            }
        }
    }

    /// Forgets the database handle after an error, so the next use reopens it (the file
    /// may have been replaced by a fail2ban restart).
    pub async fn reset_archive_db(&self) {
        *self.db.lock().await = None;
    }
}
