//! fail2ban's own log (issue #19): `GET /config/log` serves the newest entries the
//! scheduler read from fail2ban's `logtarget` file (the API never sees the file), with
//! their time, level, logger and pid, filtered by level and text.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::store::fail2ban_log;

use crate::auth::{Auth, Role};
use crate::error::ApiResult;
use crate::routes::ApiTags;
use crate::text::Text;
use crate::time::from_epoch_ms;

/// The least severe level to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    fn fail2ban_name(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Notice => "NOTICE",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }
}

#[derive(Debug, Object)]
pub struct LogLine {
    pub id: i64,
    /// When fail2ban wrote it (null: a line without a time stamp).
    pub time: Option<DateTime<Utc>>,
    /// `DEBUG`, `INFO`, `NOTICE`, `WARNING`, `ERROR`, `CRITICAL` (null: not given).
    pub level: Option<String>,
    /// The part of fail2ban that wrote it (`fail2ban.actions`).
    pub logger: Option<String>,
    pub pid: Option<i64>,
    /// The message, with any lines that continue it (a traceback).
    pub message: String,
}

#[derive(Debug, Object)]
pub struct LogView {
    /// fail2ban's `logtarget`: a file, `SYSTEMD-JOURNAL` (read with `journalctl`), or
    /// `SYSLOG`, `STDOUT`, `STDERR` (which BanGUI does not read: `lines` is empty). Null
    /// until the scheduler asked.
    pub target: Option<String>,
    /// Whether the target is a file.
    pub file: bool,
    /// Whether BanGUI reads the target (a file, or the journal).
    pub readable: bool,
    /// When the scheduler last looked (null: never).
    pub read_at: Option<DateTime<Utc>>,
    /// Why the last look failed (the file could not be read), if it did.
    pub error: Option<String>,
    /// The newest entries that pass the filters, oldest first.
    pub lines: Vec<LogLine>,
}

pub struct Fail2banLogApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<Auth>,
}

impl Fail2banLogApi {
    pub fn new(db: DatabaseConnection, auth: std::sync::Arc<Auth>) -> Self {
        Self { db, auth }
    }
}

fn default_lines() -> u32 {
    200
}

#[OpenApi(tag = "ApiTags::Config")]
impl Fail2banLogApi {
    /// The tail of fail2ban's own log, as the scheduler read it from fail2ban's
    /// `logtarget` file or the journal (every `BANGUI_LOG_TAIL_INTERVAL`; the newest 5 000 entries are
    /// kept): `lines` (1–5 000, default 200) of them at `level` or above whose message or
    /// logger holds `q`. Role: viewer.
    #[oai(
        path = "/config/log",
        method = "get",
        operation_id = "get_fail2ban_log"
    )]
    async fn log(
        &self,
        req: &Request,
        #[oai(
            default = "default_lines",
            validator(minimum(value = "1"), maximum(value = "5000"))
        )]
        lines: Query<u32>,
        level: Query<Option<LogLevel>>,
        #[oai(validator(max_length = 200))] q: Query<Option<Text>>,
    ) -> ApiResult<Json<LogView>> {
        self.auth.require(req, Role::Viewer).await?;
        let state = fail2ban_log::state(&self.db).await?;
        let q = q.0.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let rows =
            fail2ban_log::tail(&self.db, lines.0, level.0.map(LogLevel::fail2ban_name), q).await?;
        Ok(Json(LogView {
            file: state.as_ref().is_some_and(|s| s.target.starts_with('/')),
            readable: state
                .as_ref()
                .is_some_and(|s| s.target.starts_with('/') || s.target == "SYSTEMD-JOURNAL"),
            target: state.as_ref().map(|s| s.target.clone()),
            read_at: state.as_ref().map(|s| from_epoch_ms(s.read_at_ms)),
            error: state.and_then(|s| s.error),
            lines: rows
                .into_iter()
                .map(|r| LogLine {
                    id: r.id,
                    time: r.at_ms.map(from_epoch_ms),
                    level: r.level,
                    logger: r.logger,
                    pid: r.pid,
                    message: r.message,
                })
                .collect(),
        }))
    }
}
