//! The command queue as the API sees it: enqueue a validated command (202), wait a
//! bounded time for its end (`?wait=5s`), read one or the recent ones. A command nobody
//! picked up within the expiry is failed here too (`scheduler_unavailable`), so a caller
//! learns of a stopped scheduler even when no scheduler is left to say so.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::{DatabaseConnection, QueryResult};
use shared::commands::{Command, CommandStatus};
use shared::db;

use crate::auth::{Auth, Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::routes::ApiTags;
use crate::time::from_epoch_ms;

/// The longest `?wait=` allowed.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
const WAIT_POLL: Duration = Duration::from_millis(25);

/// A command and where it stands.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CommandView {
    pub id: i64,
    /// `ban`, `unban`, `unban_all`, `jail_start`, `jail_stop`, `jail_idle`, `jail_reload`,
    /// `reload_all`, `ignoreip_add`, `ignoreip_remove`, `ignoreself_set`.
    pub kind: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub status: String,
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
    /// Stable code of the failure: `scheduler_unavailable`, `fail2ban_unavailable`,
    /// `unknown_jail`, `fail2ban_error`, `fail2ban_client_failed`, `jail_not_started`,
    /// `interrupted`.
    pub error_code: Option<String>,
    pub error: Option<String>,
}

impl poem_openapi::types::Example for CommandView {
    fn example() -> Self {
        Self {
            id: 42,
            kind: "ban".into(),
            status: "succeeded".into(),
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
        CommandStatus::parse(&self.status).is_some_and(CommandStatus::is_final)
    }

    fn from_row(r: &QueryResult) -> Result<Self, sea_orm::DbErr> {
        let json = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
        Ok(Self {
            id: r.try_get("", "id")?,
            kind: r.try_get("", "kind")?,
            status: r.try_get("", "status")?,
            payload: json(r.try_get("", "payload")?).unwrap_or(serde_json::Value::Null),
            requested_by: r.try_get("", "requested_by")?,
            request_id: r.try_get("", "request_id")?,
            created_at: from_epoch_ms(r.try_get("", "created_at_ms")?),
            started_at: r
                .try_get::<Option<i64>>("", "started_at_ms")?
                .map(from_epoch_ms),
            finished_at: r
                .try_get::<Option<i64>>("", "finished_at_ms")?
                .map(from_epoch_ms),
            attempts: r.try_get("", "attempts")?,
            result: json(r.try_get("", "result")?),
            error_code: r.try_get("", "error_code")?,
            error: r.try_get("", "error")?,
        })
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
    let d = shared::duration::parse_duration(raw).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_wait",
            format!("wait: {e}"),
        )
    })?;
    if d > MAX_WAIT {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_wait",
            "wait may be at most 10s",
        )
        .with_details(serde_json::json!({ "max": "10s" })));
    }
    Ok(Some(d))
}

const SELECT: &str = "SELECT id, kind, payload, status, requested_by, request_id, created_at_ms, \
    started_at_ms, finished_at_ms, attempts, result, error_code, error FROM commands";

/// Queues a command and answers with it (after waiting, if asked).
pub async fn submit(
    auth: &Auth,
    caller: &Caller,
    command: &Command,
    wait: Option<Duration>,
    expiry: Duration,
) -> ApiResult<CommandResponse> {
    let db = &auth.db;
    let row = db::query_one(
        db,
        "INSERT INTO commands (kind, payload, status, requested_by, request_id, created_at_ms, attempts) \
         VALUES ($1, $2, 'pending', $3, $4, {now_ms}, 0) RETURNING id",
        [
            command.kind().into(),
            command.to_payload().into(),
            caller.name.clone().into(),
            caller.request_id.to_string().into(),
        ],
    )
    .await
    .map_err(|e| ApiError::database(&e))?;
    let id: i64 = row
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the command was not stored",
            )
        })?
        .try_get("", "id")
        .map_err(|e| ApiError::database(&e))?;
    tracing::info!(command_id = id, kind = command.kind(), caller = %caller.name, "command queued");
    crate::routes::accounts::audit_command(
        auth,
        caller,
        command.kind(),
        command.jail().map(|j| j.as_str()),
        "queued",
        serde_json::json!({ "command_id": id, "payload": serde_json::from_str::<serde_json::Value>(&command.to_payload()).unwrap_or_default() }),
    )
    .await;
    let view = match wait {
        Some(d) => wait_for(db, id, d, expiry).await?,
        None => load(db, id, expiry).await?,
    };
    Ok(CommandResponse::of(view))
}

/// One command, expiring it first if nobody picked it up in time.
pub async fn load(db: &DatabaseConnection, id: i64, expiry: Duration) -> ApiResult<CommandView> {
    expire_if_stale(db, id, expiry).await?;
    let row = db::query_one(db, &format!("{SELECT} WHERE id = $1"), [id.into()])
        .await
        .map_err(|e| ApiError::database(&e))?
        .ok_or_else(|| ApiError::not_found(format!("no command {id}")))?;
    CommandView::from_row(&row).map_err(|e| ApiError::database(&e))
}

async fn wait_for(
    db: &DatabaseConnection,
    id: i64,
    wait: Duration,
    expiry: Duration,
) -> ApiResult<CommandView> {
    let until = Instant::now() + wait;
    loop {
        let view = load(db, id, expiry).await?;
        if view.is_final() || Instant::now() >= until {
            return Ok(view);
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// Fails a command still pending after the expiry. Conditional on `pending`, so it can
/// never overwrite a command the scheduler claimed in the meantime.
async fn expire_if_stale(db: &DatabaseConnection, id: i64, expiry: Duration) -> ApiResult<()> {
    let expiry_ms = i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX);
    db::execute(
        db,
        "UPDATE commands SET status = 'failed', finished_at_ms = {now_ms}, \
         error_code = CASE WHEN attempts > 0 THEN 'fail2ban_unavailable' ELSE 'scheduler_unavailable' END, \
         error = CASE WHEN attempts > 0 THEN 'fail2ban could not be reached before the command expired' \
                 ELSE 'no scheduler picked the command up in time: is bangui-scheduler running?' END \
         WHERE id = $1 AND status = 'pending' AND created_at_ms < {now_ms} - $2",
        [id.into(), expiry_ms.into()],
    )
    .await
    .map_err(|e| ApiError::database(&e))?;
    Ok(())
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
        /// `pending`, `running`, `succeeded` or `failed`.
        status: Query<Option<String>>,
        kind: Query<Option<String>>,
        #[oai(
            default = "crate::routes::default_page",
            validator(minimum(value = "1"))
        )]
        page: Query<u32>,
        #[oai(
            default = "crate::routes::default_page_size",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        page_size: Query<u32>,
    ) -> ApiResult<Json<CommandPage>> {
        self.auth.require(req, Role::Viewer).await?;
        if let Some(s) = status.0.as_deref()
            && CommandStatus::parse(s).is_none()
        {
            return Err(ApiError::bad_request(format!("unknown status {s:?}")));
        }
        let mut filter = String::from(" WHERE 1 = 1");
        let mut values: Vec<sea_orm::Value> = Vec::new();
        for (column, value) in [("status", &status.0), ("kind", &kind.0)] {
            if let Some(v) = value {
                values.push(v.clone().into());
                filter.push_str(&format!(" AND {column} = ${}", values.len()));
            }
        }
        let total: i64 = db::query_one(
            &self.db,
            &format!("SELECT COUNT(*) AS n FROM commands{filter}"),
            values.clone(),
        )
        .await
        .and_then(|r| r.map_or(Ok(0), |r| r.try_get("", "n")))
        .map_err(|e| ApiError::database(&e))?;
        let offset = i64::from(page.0 - 1) * i64::from(page_size.0);
        values.push(i64::from(page_size.0).into());
        values.push(offset.into());
        let n = values.len();
        let rows = db::query_all(
            &self.db,
            &format!(
                "{SELECT}{filter} ORDER BY id DESC LIMIT ${} OFFSET ${}",
                n - 1,
                n
            ),
            values,
        )
        .await
        .map_err(|e| ApiError::database(&e))?;
        let items = rows
            .iter()
            .map(CommandView::from_row)
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::database(&e))?;
        Ok(Json(CommandPage {
            items,
            total,
            page: page.0,
            page_size: page_size.0,
        }))
    }
}
