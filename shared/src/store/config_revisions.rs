//! Every write of a configuration file (`config_revisions`, ADR 0008): the content before
//! (`NULL`: the file did not exist) and after, why, who asked, through which command, and
//! how it ended. The scheduler records a revision (fenced) before it touches the file and
//! settles it after, so a leader lost in between leaves the next one what it needs to
//! finish or roll back. The API lists and shows them and restores one through a new
//! write.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use crate::config_edit::{RevisionState, WriteReason};
use crate::store::{fetch_one, fetch_optional, fetch_page};

/// A revision as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct RevisionRow {
    pub id: i64,
    /// The file, relative to fail2ban's configuration folder (`jail.d/sshd.local`).
    pub path: String,
    pub jail: Option<String>,
    pub reason: WriteReason,
    pub command_id: Option<i64>,
    pub previous_content: Option<String>,
    pub content: Option<String>,
    pub author: Option<String>,
    pub request_id: Option<String>,
    pub state: RevisionState,
    /// Why it was rolled back: fail2ban's own words.
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    /// What BanGUI did when fail2ban stopped after this change (shown until acknowledged).
    pub alert: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at_ms: Option<i64>,
}

const SELECT: &str = "SELECT id, path, jail, reason, command_id, previous_content, content, \
    author, request_id, state, error, created_at_ms, finished_at_ms, alert, acknowledged_by, \
    acknowledged_at_ms FROM config_revisions";

/// What a new revision records.
#[derive(Debug, Clone)]
pub struct NewRevision<'a> {
    pub path: &'a str,
    pub jail: Option<&'a str>,
    pub reason: WriteReason,
    pub command_id: Option<i64>,
    pub previous_content: Option<&'a str>,
    pub content: Option<&'a str>,
    pub author: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// Records a revision `applying`; run it inside the leader's fenced transaction.
pub async fn insert<C: ConnectionTrait>(db: &C, r: &NewRevision<'_>) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let opt = |v: Option<&str>| Value::from(v.map(str::to_owned));
    let Id { id } = fetch_one(
        db,
        "INSERT INTO config_revisions (path, jail, reason, command_id, previous_content, content, \
         author, request_id, state, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'applying', {now_ms}) RETURNING id",
        [
            r.path.into(),
            opt(r.jail),
            r.reason.into(),
            r.command_id.into(),
            opt(r.previous_content),
            opt(r.content),
            opt(r.author),
            opt(r.request_id),
        ],
    )
    .await?;
    Ok(id)
}

/// Settles a revision (`applied`, or `rolled_back` with fail2ban's words and, when
/// fail2ban stopped, an alert); fenced by the caller's transaction.
pub async fn settle<C: ConnectionTrait>(
    db: &C,
    id: i64,
    state: RevisionState,
    error: Option<&str>,
    alert: Option<&str>,
) -> Result<(), DbErr> {
    crate::db::execute(
        db,
        "UPDATE config_revisions SET state = $2, error = $3, alert = $4, finished_at_ms = {now_ms} \
         WHERE id = $1",
        [
            id.into(),
            state.into(),
            error.map(str::to_owned).into(),
            alert.map(str::to_owned).into(),
        ],
    )
    .await?;
    Ok(())
}

/// The newest write, when it was applied within the last `within_ms`: the change that
/// may be why fail2ban stopped. (Only the newest: one outage rolls back one change.)
pub async fn newest_if_recently_applied<C: ConnectionTrait>(
    db: &C,
    within_ms: i64,
) -> Result<Option<RevisionRow>, DbErr> {
    fetch_optional(
        db,
        &format!(
            "{SELECT} WHERE id = (SELECT MAX(id) FROM config_revisions) \
             AND state = 'applied' AND finished_at_ms >= {{now_ms}} - $1"
        ),
        [within_ms.into()],
    )
    .await
}

/// Rollbacks with an alert nobody acknowledged yet, newest first.
pub async fn open_alerts<C: ConnectionTrait>(db: &C) -> Result<Vec<RevisionRow>, DbErr> {
    crate::store::fetch_all(
        db,
        &format!("{SELECT} WHERE alert IS NOT NULL AND acknowledged_at_ms IS NULL ORDER BY id DESC LIMIT 50"),
        [],
    )
    .await
}

/// Acknowledges a revision's alert, audited (`config.alert_acknowledge`). Returns false
/// when there is no such open alert.
pub async fn acknowledge(
    db: &sea_orm::DatabaseConnection,
    actor: &crate::store::audit::Actor,
    id: i64,
) -> Result<bool, DbErr> {
    let txn = crate::store::write_transaction(db).await?;
    let n = crate::db::execute(
        &txn,
        "UPDATE config_revisions SET acknowledged_by = $2, acknowledged_at_ms = {now_ms} \
         WHERE id = $1 AND alert IS NOT NULL AND acknowledged_at_ms IS NULL",
        [id.into(), actor.name.clone().into()],
    )
    .await?;
    if n > 0 {
        crate::store::audit::record(
            &txn,
            actor,
            crate::store::audit::Entry {
                action: "config.alert_acknowledge",
                target: None,
                result: "ok",
                details: Some(serde_json::json!({ "revision_id": id })),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(n > 0)
}

/// The revision a command recorded, if it got that far (a new leader retrying the
/// command finds it).
pub async fn by_command<C: ConnectionTrait>(
    db: &C,
    command_id: i64,
) -> Result<Option<RevisionRow>, DbErr> {
    fetch_optional(
        db,
        &format!("{SELECT} WHERE command_id = $1 ORDER BY id DESC LIMIT 1"),
        [command_id.into()],
    )
    .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<RevisionRow>, DbErr> {
    fetch_optional(db, &format!("{SELECT} WHERE id = $1"), [id.into()]).await
}

/// One page of revisions, newest first, of one file or all.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    path: Option<&str>,
    limit: u32,
    offset: u64,
) -> Result<(Vec<RevisionRow>, i64), DbErr> {
    let (where_sql, values): (&str, Vec<Value>) = match path {
        Some(p) => (" WHERE path = $1", vec![p.into()]),
        None => ("", Vec::new()),
    };
    fetch_page(db, SELECT, where_sql, "id DESC", values, limit, offset).await
}

/// Whether BanGUI created the file at `path` (a filter or action's `.conf`): its newest
/// applied creation or removal is a creation.
pub async fn created_by_bangui<C: ConnectionTrait>(db: &C, path: &str) -> Result<bool, DbErr> {
    #[derive(FromQueryResult)]
    struct Reason {
        reason: String,
    }
    let newest: Option<Reason> = fetch_optional(
        db,
        "SELECT reason FROM config_revisions WHERE path = $1 AND state = 'applied' \
         AND reason IN ('create', 'delete') ORDER BY id DESC LIMIT 1",
        [path.into()],
    )
    .await?;
    Ok(newest.is_some_and(|r| r.reason == WriteReason::Create.as_str()))
}
