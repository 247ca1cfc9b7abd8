//! The command queue as the API sees it: enqueue a validated command (202), wait a
//! bounded time for its end (`?wait=5s`), read one or the recent ones. A command nobody
//! picked up within the expiry is failed here too (`scheduler_unavailable`), so a caller
//! learns of a stopped scheduler even when no scheduler is left to say so.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::commands::{Command, CommandKind, CommandStatus};
use shared::store::commands::{self as queue, CommandRow};

use crate::auth::{Auth, Caller, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::time::from_epoch_ms;

/// The longest `?wait=` allowed.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// How often a waiting request looks at its command: often at first (most commands end
/// within a few hundred milliseconds, and the answer should follow at once), less often
/// the longer it waits (a 10 s wait costs about 110 reads, not 400).
fn wait_poll(waited: Duration) -> Duration {
    (Duration::from_millis(10) + waited / 8).min(Duration::from_millis(100))
}

/// A command and where it stands.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CommandView {
    pub id: i64,
    pub kind: CommandKind,
    pub status: CommandStatus,
    /// What was asked, as validated.
    pub payload: serde_json::Value,
    pub requested_by: Option<String>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    /// What fail2ban answered, for succeeded commands.
    pub result: Option<serde_json::Value>,
    /// Why it failed: `scheduler_unavailable`, `fail2ban_unavailable`, `unknown_jail`,
    /// `fail2ban_error`, `fail2ban_client_failed`, `jail_not_started`, `interrupted` or
    /// `invalid_command`.
    pub error_code: Option<ErrorCode>,
    pub error: Option<String>,
}

impl poem_openapi::types::Example for CommandView {
    fn example() -> Self {
        Self {
            id: 42,
            kind: CommandKind::Ban,
            status: CommandStatus::Succeeded,
            payload: serde_json::json!({"kind": "ban", "jail": "sshd", "ips": ["192.0.2.10"]}),
            requested_by: Some("anonymous".into()),
            request_id: Some("3f2a9c0e6b7d4e1f8a5b2c9d0e1f2a3b".into()),
            created_at: from_epoch_ms(1_795_700_000_000),
            started_at: Some(from_epoch_ms(1_795_700_000_080)),
            finished_at: Some(from_epoch_ms(1_795_700_000_120)),
            attempts: 1,
            result: Some(serde_json::json!({"newly_banned": 1, "requested": 1})),
            error_code: None,
            error: None,
        }
    }
}

impl CommandView {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

impl From<CommandRow> for CommandView {
    fn from(r: CommandRow) -> Self {
        let json = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
        Self {
            id: r.id,
            kind: r.kind,
            status: r.status,
            payload: json(Some(r.payload)).unwrap_or(serde_json::Value::Null),
            requested_by: r.requested_by,
            request_id: r.request_id,
            created_at: from_epoch_ms(r.created_at_ms),
            started_at: r.started_at_ms.map(from_epoch_ms),
            finished_at: r.finished_at_ms.map(from_epoch_ms),
            attempts: r.attempts,
            result: json(r.result),
            error_code: r.error_code,
            error: r.error,
        }
    }
}

#[derive(Debug, Object)]
pub struct CommandPage {
    pub items: Vec<CommandView>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// The answer to every command-making call.
#[derive(ApiResponse)]
pub enum CommandResponse {
    /// Queued (or still running when `wait` ran out): poll `GET /commands/{id}`.
    #[oai(status = 202)]
    Accepted(Json<CommandView>),
    /// Finished within `wait`: `status` is `succeeded` or `failed`.
    #[oai(status = 200)]
    Done(Json<CommandView>),
}

impl CommandResponse {
    fn of(view: CommandView) -> Self {
        if view.is_final() {
            Self::Done(Json(view))
        } else {
            Self::Accepted(Json(view))
        }
    }
}

/// Parses `?wait=` (e.g. `5s`, `500ms`), at most [`MAX_WAIT`].
pub fn parse_wait(wait: Option<&str>) -> ApiResult<Option<Duration>> {
    let Some(raw) = wait.filter(|w| !w.is_empty()) else {
        return Ok(None);
    };
    let d = shared::duration::parse_duration(raw)
        .map_err(|e| ApiError::new(ErrorCode::InvalidWait, format!("wait: {e}")))?;
    if d > MAX_WAIT {
        return Err(
            ApiError::new(ErrorCode::InvalidWait, "wait may be at most 10s")
                .with_details(serde_json::json!({ "max": "10s" })),
        );
    }
    Ok(Some(d))
}

/// Queues a command (audited with it) and answers with it, after waiting if asked.
pub async fn submit(
    auth: &Auth,
    caller: &Caller,
    command: &Command,
    wait: Option<Duration>,
    expiry: Duration,
) -> ApiResult<CommandResponse> {
    let id = queue::submit(&auth.db, &caller.into(), command).await?;
    tracing::info!(command_id = id, kind = %command.kind(), caller = %caller.name, "command queued");
    let view = match wait {
        Some(d) => wait_for(&auth.db, id, d, expiry).await?,
        None => load(&auth.db, id, expiry).await?,
    };
    Ok(CommandResponse::of(view))
}

/// One command, expiring it first if nobody picked it up in time.
pub async fn load(db: &DatabaseConnection, id: i64, expiry: Duration) -> ApiResult<CommandView> {
    queue::load(db, id, expiry)
        .await?
        .map(Into::into)
        .ok_or_else(|| ApiError::not_found(format!("no command {id}")))
}

async fn wait_for(
    db: &DatabaseConnection,
    id: i64,
    wait: Duration,
    expiry: Duration,
) -> ApiResult<CommandView> {
    let started = Instant::now();
    let until = started + wait;
    loop {
        let view = load(db, id, expiry).await?;
        if view.is_final() || Instant::now() >= until {
            return Ok(view);
        }
        tokio::time::sleep(wait_poll(started.elapsed())).await;
    }
}

pub struct CommandsApi {
    db: DatabaseConnection,
    expiry: Duration,
    auth: std::sync::Arc<Auth>,
}

impl CommandsApi {
    pub fn new(db: DatabaseConnection, expiry: Duration, auth: std::sync::Arc<Auth>) -> Self {
        Self { db, expiry, auth }
    }
}

#[OpenApi(tag = "ApiTags::Commands")]
impl CommandsApi {
    /// One command and its state. Role: viewer.
    #[oai(path = "/commands/:id", method = "get", operation_id = "get_command")]
    async fn get_command(&self, req: &Request, id: Path<i64>) -> ApiResult<Json<CommandView>> {
        self.auth.require(req, Role::Viewer).await?;
        Ok(Json(load(&self.db, id.0, self.expiry).await?))
    }

    /// Recent commands, newest first; filter by status and kind. Role: viewer.
    #[oai(path = "/commands", method = "get", operation_id = "list_commands")]
    async fn list_commands(
        &self,
        req: &Request,
        status: Query<Option<CommandStatus>>,
        kind: Query<Option<CommandKind>>,
        #[oai(
            default = "crate::routes::default_page",
            validator(minimum(value = "1"), maximum(value = "1000000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "crate::routes::default_page_size",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        page_size: Query<u32>,
    ) -> ApiResult<Json<CommandPage>> {
        self.auth.require(req, Role::Viewer).await?;
        let filter = queue::Filter {
            status: status.0,
            kind: kind.0,
        };
        let offset = u64::from(page.0 - 1) * u64::from(page_size.0);
        let (rows, total) = queue::page(&self.db, filter, page_size.0, offset).await?;
        let items = rows.into_iter().map(Into::into).collect();
        Ok(Json(CommandPage {
            items,
            total,
            page: page.0,
            page_size: page_size.0,
        }))
    }
}
