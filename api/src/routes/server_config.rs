//! fail2ban's own settings (issue #19, Server tab): `GET /config/server` shows each of
//! `loglevel`, `logtarget`, `syslogsocket`, `dbfile`, `dbpurgeage` and `dbmaxmatches` as
//! fail2ban runs it and as its files set it (with the file and line), with warnings;
//! `PUT /config/server` changes any of them but `dbfile` (a command: set over the socket,
//! written into `fail2ban.local` through the validated write path); `POST
//! /config/server/flush-logs` and `/config/server/restart` are commands too.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::commands::Command;
use shared::config_edit::{Revision, SERVER_LOCAL};
use shared::server_settings::{
    Fail2banTime, LogTarget, MAX_DBMAXMATCHES, ServerLogLevel, ServerSettings, SyslogSocket,
    fail2ban_seconds, purge_age_warnings,
};
use shared::store::config_tree;
use shared::store::server_settings as runtime;

use crate::auth::{Auth, Role};
use crate::error::ApiResult;
use crate::routes::ApiTags;
use crate::routes::commands::{CommandResponse, parse_wait, submit};
use crate::routes::config::{LocalFileView, check_revision, last_read, refused, require_writable};
use crate::text::{Text, WaitText};
use crate::time::from_epoch_ms;

/// One setting: as fail2ban runs it and as its files set it.
#[derive(Debug, Object)]
pub struct ServerSettingView {
    /// What fail2ban answered to `get <key>` (times in seconds); null until the
    /// scheduler has asked.
    pub running: Option<String>,
    /// What fail2ban's files set (`fail2ban.conf`, `fail2ban.d/`, `fail2ban.local`).
    pub configured: Option<String>,
    /// The file that set it last, and its line.
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Object)]
pub struct ServerView {
    pub loglevel: ServerSettingView,
    pub logtarget: ServerSettingView,
    pub syslogsocket: ServerSettingView,
    /// Read-only: BanGUI reads fail2ban's database, it does not move it.
    pub dbfile: ServerSettingView,
    pub dbpurgeage: ServerSettingView,
    pub dbmaxmatches: ServerSettingView,
    /// `dbpurgeage` in seconds (as running, else as configured).
    pub dbpurgeage_seconds: Option<i64>,
    /// How often BanGUI's scheduler archives fail2ban's bans.
    pub archive_interval_seconds: Option<i64>,
    /// What is unwise about the settings (a purge age shorter than a day or than the
    /// archive interval).
    pub warnings: Vec<String>,
    /// `fail2ban.local`, the file BanGUI writes, with the revision to change it against.
    pub local: LocalFileView,
    /// The files fail2ban reads for its settings, in order.
    pub files: Vec<String>,
    /// When the scheduler last asked fail2ban (null: not yet).
    pub read_at: Option<DateTime<Utc>>,
    /// False when the scheduler cannot write the configuration folder.
    pub writable: bool,
    /// Why fail2ban's settings files could not be read, if they could not.
    pub error: Option<String>,
}

/// A change to fail2ban's settings: the fields given are set, the others left alone.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ServerChange {
    pub loglevel: Option<ServerLogLevel>,
    /// `STDOUT`, `STDERR`, `SYSLOG`, `SYSTEMD-JOURNAL`, or an absolute file path under
    /// `/var/log`, `BANGUI_LOG_ALLOW_DIRS` or the folder fail2ban logs to now.
    pub logtarget: Option<Text>,
    /// `auto` or the absolute path of the syslog socket.
    pub syslogsocket: Option<Text>,
    /// How long fail2ban keeps bans in its database (`1d`, `7d`, seconds).
    pub dbpurgeage: Option<Text>,
    /// How many matched log lines fail2ban keeps per ban.
    #[oai(validator(minimum(value = "0"), maximum(value = "10000")))]
    pub dbmaxmatches: Option<u32>,
    /// Refused: the database file is read-only here.
    pub dbfile: Option<Text>,
    /// `local.revision` of `GET /config/server`.
    pub expected_revision: Text,
}

impl Example for ServerChange {
    fn example() -> Self {
        Self {
            loglevel: Some(ServerLogLevel::Info),
            logtarget: None,
            syslogsocket: None,
            dbpurgeage: Some(Text::from("7d")),
            dbmaxmatches: None,
            dbfile: None,
            expected_revision: Text::from(Revision::of(None).as_str()),
        }
    }
}

pub struct ServerConfigApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
}

impl ServerConfigApi {
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
    ) -> Self {
        Self { db, expiry, auth }
    }

    async fn root(&self) -> ApiResult<config_tree::ReadRow> {
        last_read(&self.db).await
    }

    async fn local(&self, root: &str) -> ApiResult<Option<String>> {
        Ok(config_tree::file(
            &self.db,
            &format!("{}/{SERVER_LOCAL}", root.trim_end_matches('/')),
        )
        .await?
        .map(|f| f.content.unwrap_or_default()))
    }

    fn settings(change: &ServerChange) -> ApiResult<ServerSettings> {
        if change.dbfile.is_some() {
            return Err(refused(
                "dbfile",
                "dbfile is read-only: BanGUI reads fail2ban's database where it is",
            ));
        }
        let field = |name: &'static str| move |e: String| refused(name, e);
        let settings = ServerSettings {
            loglevel: change.loglevel,
            logtarget: change
                .logtarget
                .as_deref()
                .map(LogTarget::parse)
                .transpose()
                .map_err(field("logtarget"))?,
            syslogsocket: change
                .syslogsocket
                .as_deref()
                .map(SyslogSocket::parse)
                .transpose()
                .map_err(field("syslogsocket"))?,
            dbpurgeage: change
                .dbpurgeage
                .as_deref()
                .map(Fail2banTime::parse)
                .transpose()
                .map_err(field("dbpurgeage"))?,
            dbmaxmatches: change.dbmaxmatches.filter(|n| *n <= MAX_DBMAXMATCHES),
        };
        if settings
            .dbpurgeage
            .as_ref()
            .is_some_and(|t| t.seconds() < 0)
        {
            return Err(refused(
                "dbpurgeage",
                "dbpurgeage must be a length of time (fail2ban does not take -1 here)",
            ));
        }
        if settings.is_empty() {
            return Err(refused(
                "loglevel",
                "give at least one of loglevel, logtarget, syslogsocket, dbpurgeage, dbmaxmatches",
            ));
        }
        Ok(settings)
    }
}

#[OpenApi(tag = "ApiTags::Config")]
impl ServerConfigApi {
    /// fail2ban's own settings as it runs them and as its files set them, with warnings
    /// and `fail2ban.local`'s revision. Role: viewer.
    #[oai(
        path = "/config/server",
        method = "get",
        operation_id = "get_server_config"
    )]
    async fn get(&self, req: &Request) -> ApiResult<Json<ServerView>> {
        self.auth.require(req, Role::Viewer).await?;
        let read = self.root().await?;
        let def = config_tree::def(&self.db, "server", "fail2ban").await?;
        let definition: serde_json::Value = def
            .as_ref()
            .and_then(|d| serde_json::from_str(&d.definition).ok())
            .unwrap_or_default();
        let running = runtime::get(&self.db).await?;
        let view = |key: &str| {
            let c = &definition[key];
            ServerSettingView {
                running: running.as_ref().and_then(|r| r.value(key)),
                configured: c["value"].as_str().map(str::to_owned),
                file: c["file"].as_str().map(str::to_owned),
                line: c["line"].as_u64().and_then(|l| u32::try_from(l).ok()),
            }
        };
        let dbpurgeage = view("dbpurgeage");
        let dbpurgeage_seconds = dbpurgeage
            .running
            .as_deref()
            .or(dbpurgeage.configured.as_deref())
            .and_then(fail2ban_seconds);
        let archive_interval_seconds = running.as_ref().map(|r| r.archive_interval_ms / 1000);
        let warnings = match (dbpurgeage_seconds, archive_interval_seconds) {
            (Some(age), Some(every)) if age >= 0 => purge_age_warnings(age, every),
            _ => Vec::new(),
        };
        let local = self.local(&read.root).await?;
        Ok(Json(ServerView {
            loglevel: view("loglevel"),
            logtarget: view("logtarget"),
            syslogsocket: view("syslogsocket"),
            dbfile: view("dbfile"),
            dbmaxmatches: view("dbmaxmatches"),
            dbpurgeage,
            dbpurgeage_seconds,
            archive_interval_seconds,
            warnings,
            local: LocalFileView {
                path: SERVER_LOCAL.to_owned(),
                revision: Revision::of(local.as_deref()).to_string(),
                exists: local.is_some(),
                text: local.unwrap_or_default(),
            },
            files: def
                .as_ref()
                .and_then(|d| serde_json::from_str(&d.files).ok())
                .unwrap_or_default(),
            read_at: running.as_ref().map(|r| from_epoch_ms(r.read_at_ms)),
            writable: read.writable,
            error: def.and_then(|d| d.error),
        }))
    }

    /// Change any of fail2ban's settings but `dbfile`, against `expected_revision` (of
    /// `fail2ban.local`): the scheduler tests the tree with the change, records a
    /// revision, writes `fail2ban.local`, sets each value over the socket and reads it
    /// back; a failure restores the file and the values. The result lists `warnings`
    /// (a short `dbpurgeage`). Role: admin.
    #[oai(
        path = "/config/server",
        method = "put",
        operation_id = "update_server_config"
    )]
    async fn update(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
        body: Json<ServerChange>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        let settings = Self::settings(&body.0)?;
        let read = self.root().await?;
        require_writable(&read)?;
        let local = self.local(&read.root).await?;
        let expected = check_revision(SERVER_LOCAL, &body.0.expected_revision, local.as_deref())?;
        let command = Command::ServerSet {
            settings,
            expected_revision: expected,
        };
        submit(&self.auth, &caller, &command, wait, self.expiry).await
    }

    /// fail2ban closes and reopens its log file (after the file was rotated by another
    /// tool). Role: admin.
    #[oai(
        path = "/config/server/flush-logs",
        method = "post",
        operation_id = "flush_server_logs"
    )]
    async fn flush_logs(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        submit(
            &self.auth,
            &caller,
            &Command::ServerFlushLogs,
            wait,
            self.expiry,
        )
        .await
    }

    /// Restart fail2ban: its own `restart` where BanGUI may start fail2ban
    /// (`BANGUI_FAIL2BAN_MAY_START`), else every jail restarted in the running server.
    /// The command ends when fail2ban runs every jail it ran before with its bans
    /// restored (`mode`, `jails`, `bans_before`, `bans_after` in the result).
    /// Role: admin.
    #[oai(
        path = "/config/server/restart",
        method = "post",
        operation_id = "restart_server"
    )]
    async fn restart(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        submit(
            &self.auth,
            &caller,
            &Command::ServerRestart,
            wait,
            self.expiry,
        )
        .await
    }
}
