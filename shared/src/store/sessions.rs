//! Browser sessions (`sessions`): the hash of the cookie's secret, never the secret.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult};

use crate::db;
use crate::domain::Role;
use crate::store::audit::{self, Actor, Entry};
use crate::store::{fetch_one, fetch_optional, write_transaction};

/// Who a live session belongs to, with the database clock's "now".
#[derive(Debug, Clone, FromQueryResult)]
pub struct Identity {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub last_seen_at_ms: i64,
    pub now_ms: i64,
}

/// The identity behind a session that has not expired, of an enabled user.
pub async fn identity<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<Identity>, DbErr> {
    fetch_optional(
        db,
        "SELECT u.id AS user_id, u.username, u.role, s.last_seen_at_ms, {now_ms} AS now_ms \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at_ms > {now_ms} AND u.disabled = false",
        [token_hash.into()],
    )
    .await
}

/// Sliding expiry: the session ends `ttl_ms` after this use.
pub async fn touch<C: ConnectionTrait>(db: &C, token_hash: &str, ttl_ms: i64) -> Result<(), DbErr> {
    db::execute(
        db,
        "UPDATE sessions SET last_seen_at_ms = {now_ms}, expires_at_ms = {now_ms} + $2 WHERE token_hash = $1",
        [token_hash.into(), ttl_ms.into()],
    )
    .await
    .map(|_| ())
}

/// When a session ends unless used again.
pub async fn expires_at_ms<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        expires_at_ms: i64,
    }
    Ok(fetch_optional::<Row, _>(
        db,
        "SELECT expires_at_ms FROM sessions WHERE token_hash = $1",
        [token_hash.into()],
    )
    .await?
    .map(|r| r.expires_at_ms))
}

/// Opens a session after a successful sign-in, audited with it; returns its end.
pub async fn open(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    token_hash: &str,
    ttl_ms: i64,
) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        expires_at_ms: i64,
    }
    let txn = write_transaction(db).await?;
    let row: Row = fetch_one(
        &txn,
        "INSERT INTO sessions (token_hash, user_id, created_at_ms, last_seen_at_ms, expires_at_ms, client_ip) \
         VALUES ($1, $2, {now_ms}, {now_ms}, {now_ms} + $3, $4) RETURNING expires_at_ms",
        [
            token_hash.into(),
            user_id.into(),
            ttl_ms.into(),
            actor.client_ip.clone().into(),
        ],
    )
    .await?;
    audit::record(&txn, actor, Entry::ok("login", actor.name.as_deref())).await?;
    txn.commit().await?;
    Ok(row.expires_at_ms)
}

/// Ends one session (sign-out), audited with it.
pub async fn close(
    db: &DatabaseConnection,
    actor: &Actor,
    token_hash: Option<&str>,
) -> Result<(), DbErr> {
    let txn = write_transaction(db).await?;
    if let Some(hash) = token_hash {
        db::execute(
            &txn,
            "DELETE FROM sessions WHERE token_hash = $1",
            [hash.into()],
        )
        .await?;
    }
    audit::record(&txn, actor, Entry::ok("logout", actor.name.as_deref())).await?;
    txn.commit().await
}

/// Ends every session of a user except `keep` (a token hash); returns how many ended.
pub async fn end_all<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    db::execute(
        db,
        "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
        [user_id.into(), keep.unwrap_or_default().into()],
    )
    .await
}

/// Ends every session of the actor's user on every device, audited with it.
pub async fn close_all(db: &DatabaseConnection, actor: &Actor, user_id: i64) -> Result<u64, DbErr> {
    let txn = write_transaction(db).await?;
    let n = end_all(&txn, user_id, None).await?;
    audit::record(
        &txn,
        actor,
        Entry::ok("logout_all", actor.name.as_deref())
            .with_details(serde_json::json!({ "sessions": n })),
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}
