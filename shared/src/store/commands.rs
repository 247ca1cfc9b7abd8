//! The command queue (`commands`): the only code that writes the table, used by the API
//! (submit, read, expire one) and by the scheduler (expire, claim, finish, recover),
//! which fences every write with its lease. A command moves
//! `pending → running → succeeded | failed`, or back to `pending` when fail2ban was
//! unreachable; a pending command nobody claimed within the expiry fails, whichever
//! process notices first, with the one statement in [`expire`].

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Value};

use crate::commands::{Command, CommandKind, CommandStatus};
use crate::db;
use crate::error_code::ErrorCode;
use crate::lease::{Fence, fenced_execute, fenced_query};
use crate::store::audit::{self, Actor, Entry};
use crate::store::{Count, fetch_all, fetch_one, fetch_optional, fetch_page, write_transaction};

/// A command row as stored.
#[derive(Debug, Clone, FromQueryResult)]
pub struct CommandRow {
    pub id: i64,
    pub kind: CommandKind,
    /// The command as JSON ([`Command::to_payload`]).
    pub payload: String,
    pub status: CommandStatus,
    pub requested_by: Option<String>,
    pub request_id: Option<String>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub attempts: i32,
    /// What fail2ban answered, as JSON, for succeeded commands.
    pub result: Option<String>,
    pub error_code: Option<ErrorCode>,
    pub error: Option<String>,
}

const SELECT: &str = "SELECT id, kind, payload, status, requested_by, request_id, created_at_ms, \
    started_at_ms, finished_at_ms, attempts, result, error_code, error FROM commands";

/// Queues a command, audited with it (`command.<kind>`, result `queued`); returns its id.
pub async fn submit(
    db: &DatabaseConnection,
    actor: &Actor,
    command: &Command,
) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let kind = command.kind();
    let payload = command.to_payload();
    let txn = write_transaction(db).await?;
    let Id { id } = fetch_one(
        &txn,
        "INSERT INTO commands (kind, payload, status, requested_by, request_id, created_at_ms, attempts) \
         VALUES ($1, $2, 'pending', $3, $4, {now_ms}, 0) RETURNING id",
        [
            kind.into(),
            payload.clone().into(),
            actor.name.clone().into(),
            actor.request_id.clone().into(),
        ],
    )
    .await?;
    let payload_json = command.audit_payload();
    audit::record_command(
        &txn,
        actor,
        Entry {
            action: &format!("command.{kind}"),
            target: command.jail().map(|j| j.as_str()),
            result: "queued",
            details: Some(serde_json::json!({ "command_id": id, "payload": payload_json })),
        },
        id,
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// Queues a command the scheduler itself decided on (`requested_by` names the job), in
/// the caller's fenced transaction, audited as the job.
pub async fn enqueue_system<C: ConnectionTrait>(
    txn: &C,
    command: &Command,
    job: &str,
) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let kind = command.kind();
    let Id { id } = fetch_one(
        txn,
        "INSERT INTO commands (kind, payload, status, requested_by, request_id, created_at_ms, attempts) \
         VALUES ($1, $2, 'pending', $3, NULL, {now_ms}, 0) RETURNING id",
        [kind.into(), command.to_payload().into(), job.to_owned().into()],
    )
    .await?;
    let actor = Actor {
        name: Some(job.to_owned()),
        role: None,
        request_id: format!("scheduler-{id}"),
        client_ip: String::new(),
    };
    audit::record_command(
        txn,
        &actor,
        Entry {
            action: &format!("command.{kind}"),
            target: None,
            result: "queued",
            details: Some(
                serde_json::json!({ "command_id": id, "payload": command.audit_payload() }),
            ),
        },
        id,
    )
    .await?;
    Ok(id)
}

/// One command, after failing it if nobody picked it up within `expiry`.
pub async fn load(
    db: &DatabaseConnection,
    id: i64,
    expiry: Duration,
) -> Result<Option<CommandRow>, DbErr> {
    let select = format!("{SELECT} WHERE id = $1");
    let row: Option<CommandRow> = fetch_optional(db, &select, [id.into()]).await?;
    // Only a pending command can expire: a running or finished one is read, not written.
    if row
        .as_ref()
        .is_some_and(|r| r.status == CommandStatus::Pending)
        && expire(db, expiry, Scope::One(id)).await? > 0
    {
        return fetch_optional(db, &select, [id.into()]).await;
    }
    Ok(row)
}

/// The oldest pending or running command of a kind, if any.
pub async fn in_flight<C: ConnectionTrait>(
    db: &C,
    kind: CommandKind,
) -> Result<Option<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let row: Option<Id> = fetch_optional(
        db,
        "SELECT id FROM commands WHERE kind = $1 AND status IN ('pending', 'running') ORDER BY id LIMIT 1",
        [kind.into()],
    )
    .await?;
    Ok(row.map(|r| r.id))
}

/// The payloads of the pending or running commands of a kind.
pub async fn unfinished_payloads<C: ConnectionTrait>(
    db: &C,
    kind: CommandKind,
) -> Result<Vec<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        payload: String,
    }
    let rows: Vec<Row> = fetch_all(
        db,
        "SELECT payload FROM commands WHERE kind = $1 AND status IN ('pending', 'running')",
        [kind.into()],
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.payload).collect())
}

/// What to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub status: Option<CommandStatus>,
    pub kind: Option<CommandKind>,
}

/// One page of commands, newest first, and how many match in all.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    filter: Filter,
    limit: u32,
    offset: u64,
) -> Result<(Vec<CommandRow>, i64), DbErr> {
    let mut where_sql = String::from(" WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    for (column, value) in [
        ("status", filter.status.map(CommandStatus::as_str)),
        ("kind", filter.kind.map(CommandKind::as_str)),
    ] {
        if let Some(v) = value {
            values.push(v.into());
            where_sql.push_str(&format!(" AND {column} = ${}", values.len()));
        }
    }
    fetch_page(db, SELECT, &where_sql, "id DESC", values, limit, offset).await
}

/// Which pending commands [`expire`] looks at.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// One command, by whoever reads it (the API: no lease needed, the update is
    /// conditional on `pending`, so it never overwrites a claim).
    One(i64),
    /// Every pending command, by the leading scheduler.
    All(&'a Fence),
}

/// Fails pending commands older than `expiry`: `fail2ban_unavailable` when an attempt
/// was made (fail2ban stayed away), else `scheduler_unavailable`. Returns how many.
pub async fn expire(
    db: &DatabaseConnection,
    expiry: Duration,
    scope: Scope<'_>,
) -> Result<u64, DbErr> {
    let expiry_ms = i64::try_from(expiry.as_millis()).unwrap_or(i64::MAX);
    let template = |scope_sql: &str| {
        format!(
            "UPDATE commands SET status = 'failed', finished_at_ms = {{now_ms}}, \
             error_code = CASE WHEN attempts > 0 THEN '{f2b}' ELSE '{sched}' END, \
             error = CASE WHEN attempts > 0 THEN 'fail2ban could not be reached before the command expired' \
                     ELSE 'no scheduler picked the command up in time: is bangui-scheduler running?' END \
             WHERE status = 'pending' AND created_at_ms < {{now_ms}} - $1 AND {scope_sql} \
             AND NOT (kind IN ('blocklist_import', 'blocklist_purge') AND EXISTS \
                 (SELECT 1 FROM commands r WHERE r.status = 'running' \
                  AND r.kind IN ('blocklist_import', 'blocklist_purge')))",
            f2b = ErrorCode::Fail2banUnavailable,
            sched = ErrorCode::SchedulerUnavailable,
        )
    };
    let n = match scope {
        Scope::One(id) => {
            db::execute(db, &template("id = $2"), [expiry_ms.into(), id.into()]).await?
        }
        Scope::All(fence) => {
            fenced_execute(db, fence, &template("{fence}"), vec![expiry_ms.into()]).await?
        }
    };
    if n > 0 {
        audit::complete_ended_commands(db).await?;
    }
    Ok(n)
}

/// Whether any command waits (a read: cheaper than the writes of [`expire`] and
/// [`claim`], which an idle queue does not need).
/// Whether a pending command may be claimed now (one waiting out its retry delay does not
/// count: an outage costs the idle executor no writes).
pub async fn any_pending<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    let n: Count = fetch_one(
        db,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM commands WHERE status = 'pending' \
         AND (not_before_ms IS NULL OR not_before_ms <= {now_ms}) LIMIT 1) p",
        [],
    )
    .await?;
    Ok(n.n > 0)
}

/// A command the scheduler claimed.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Claimed {
    pub id: i64,
    pub kind: CommandKind,
    pub payload: String,
    /// Who asked (recorded on the ban events the command writes).
    pub requested_by: Option<String>,
    pub request_id: Option<String>,
    pub attempts: i32,
    pub created_at_ms: i64,
}

/// Claims the oldest pending command for this leader (fenced), skipping commands still
/// waiting out a retry delay.
pub async fn claim(
    db: &DatabaseConnection,
    fence: &Fence,
    skip_kinds: &[CommandKind],
) -> Result<Option<Claimed>, DbErr> {
    let skip_locked = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let mut values = vec![fence.token.into()];
    let skip = if skip_kinds.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..skip_kinds.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        values.extend(skip_kinds.iter().map(|k| Value::from(k.as_str())));
        format!(" AND kind NOT IN ({})", marks.join(", "))
    };
    let sql = format!(
        "UPDATE commands SET status = 'running', started_at_ms = {{now_ms}}, attempts = attempts + 1, \
         lease_token = $1 \
         WHERE id = (SELECT id FROM commands WHERE status = 'pending'{skip} \
                     AND (not_before_ms IS NULL OR not_before_ms <= {{now_ms}}) \
                     ORDER BY id LIMIT 1{skip_locked}) \
         AND status = 'pending' AND {{fence}} \
         RETURNING id, kind, payload, requested_by, request_id, attempts, created_at_ms"
    );
    fenced_query(db, fence, &sql, values)
        .await?
        .first()
        .map(|row| Claimed::from_query_result(row, ""))
        .transpose()
}

/// Commands a previous leader left `running`: back to `pending` while fewer than
/// `max_attempts` were made, else failed (`interrupted`). Returns (retried, failed).
pub async fn recover_interrupted(
    db: &DatabaseConnection,
    fence: &Fence,
    max_attempts: i32,
) -> Result<(u64, u64), DbErr> {
    let retried = fenced_execute(
        db,
        fence,
        "UPDATE commands SET status = 'pending', lease_token = NULL, \
         error = 'interrupted by a scheduler change; retrying' \
         WHERE status = 'running' AND (lease_token IS NULL OR lease_token <> $1) AND attempts < $2 AND {fence}",
        vec![fence.token.into(), max_attempts.into()],
    )
    .await?;
    let failed = fenced_execute(
        db,
        fence,
        &format!(
            "UPDATE commands SET status = 'failed', error_code = '{}', \
             error = 'the scheduler stopped while running this command, too many times', finished_at_ms = {{now_ms}} \
             WHERE status = 'running' AND (lease_token IS NULL OR lease_token <> $1) AND {{fence}}",
            ErrorCode::Interrupted
        ),
        vec![fence.token.into()],
    )
    .await?;
    if failed > 0 {
        audit::complete_ended_commands(db).await?;
    }
    Ok((retried, failed))
}

/// How a claimed command ended.
#[derive(Debug, Clone)]
pub enum Finish {
    Succeeded(serde_json::Value),
    Failed {
        code: ErrorCode,
        message: String,
    },
    /// fail2ban was not there: back to `pending` for at least `delay`, this attempt not
    /// counted.
    Retry {
        message: String,
        delay: Duration,
    },
}

/// Records how a claimed command ended, only while it is still this leader's claim
/// (`lease_token`). Run it inside the leader's fenced transaction. Returns whether the
/// row was still ours.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    id: i64,
    lease_token: i64,
    how: &Finish,
) -> Result<bool, DbErr> {
    let n = match how {
        Finish::Succeeded(result) => {
            db::execute(
                db,
                "UPDATE commands SET status = 'succeeded', finished_at_ms = {now_ms}, result = $2, \
                 error = NULL, error_code = NULL WHERE id = $1 AND status = 'running' AND lease_token = $3",
                [id.into(), result.to_string().into(), lease_token.into()],
            )
            .await?
        }
        Finish::Failed { code, message } => {
            db::execute(
                db,
                "UPDATE commands SET status = 'failed', finished_at_ms = {now_ms}, error_code = $2, error = $3 \
                 WHERE id = $1 AND status = 'running' AND lease_token = $4",
                [id.into(), (*code).into(), message.clone().into(), lease_token.into()],
            )
            .await?
        }
        Finish::Retry { message, delay } => {
            let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            db::execute(
                db,
                "UPDATE commands SET status = 'pending', lease_token = NULL, error = $2, \
                 not_before_ms = {now_ms} + $4, \
                 attempts = CASE WHEN attempts > 1 THEN attempts - 1 ELSE attempts END \
                 WHERE id = $1 AND status = 'running' AND lease_token = $3",
                [
                    id.into(),
                    message.clone().into(),
                    lease_token.into(),
                    delay_ms.into(),
                ],
            )
            .await?
        }
    };
    if n > 0 {
        match how {
            Finish::Succeeded(_) => audit::complete_command(db, id, "succeeded", None).await?,
            Finish::Failed { code, message } => {
                let error = format!("{code}: {message}");
                audit::complete_command(db, id, "failed", Some(&error)).await?;
            }
            Finish::Retry { .. } => {}
        }
    }
    Ok(n > 0)
}
