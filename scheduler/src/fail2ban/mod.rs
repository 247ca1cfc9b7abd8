//! Everything that speaks to fail2ban: the pickle codec, the socket client actor, typed
//! replies, the `fail2ban-client` runner, and the read-only reader of fail2ban's own
//! database. [`Fail2ban`] bundles them for jobs and the command executor.

pub mod client;
pub mod codec;
pub mod control;
pub mod database;
pub mod exporter;
pub mod replies;
pub mod warm;

use std::collections::HashSet;
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
    /// Jails an import is banning into right now (`blocklist::apply`): the ban sync leaves
    /// them alone meanwhile (the import records what it bans), so a 100 000-entry import
    /// is not slowed by re-reading its own bans every few seconds.
    importing: std::sync::Mutex<HashSet<String>>,
    /// What the ban sync read last (`jobs::ban_sync`), so unchanged jails are not re-read.
    pub ban_sync_memo: std::sync::Mutex<crate::jobs::ban_sync::Memo>,
    /// fail2ban's figures under the Prometheus exporter's names (`/metrics`).
    pub exporter: Arc<exporter::Exporter>,
    db: Mutex<Option<Fail2banDb>>,
}

/// Marks a jail as being imported into until dropped ([`Fail2ban::importing`]).
pub struct Importing<'a> {
    f2b: &'a Fail2ban,
    jail: String,
    /// Set by [`Importing::settle`]: (lease token, the jail's counters).
    settled: Option<(i64, (i64, i64))>,
}

impl Importing<'_> {
    /// The import recorded all it did; the jail now shows these (currently banned, total
    /// banned) counters. Call it holding the snapshot lock.
    pub fn settle(mut self, token: i64, counters: (i64, i64)) {
        self.settled = Some((token, counters));
    }
}

impl Drop for Importing<'_> {
    fn drop(&mut self) {
        lock(&self.f2b.importing).remove(&self.jail);
        let mut memo = lock(&self.f2b.ban_sync_memo);
        match self.settled {
            Some((token, counters)) => memo.settled(token, &self.jail, counters),
            // Unknown how far it went: the next sync reads the jail in full.
            None => memo.forget(&self.jail),
        }
    }
}

/// A std mutex's guard; a panic elsewhere while holding it left plain data behind, still
/// usable.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
            importing: Default::default(),
            ban_sync_memo: Default::default(),
            exporter: Default::default(),
            db: Mutex::new(None),
        }
    }

    /// Marks `jail` as being imported into while the guard lives.
    pub fn importing(&self, jail: &str) -> Importing<'_> {
        lock(&self.importing).insert(jail.to_owned());
        Importing {
            f2b: self,
            jail: jail.to_owned(),
            settled: None,
        }
    }

    /// The jails being imported into now.
    pub fn importing_jails(&self) -> HashSet<String> {
        lock(&self.importing).clone()
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
