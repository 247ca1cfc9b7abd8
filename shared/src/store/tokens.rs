//! API tokens (`api_tokens`): the hash of each secret and a short prefix to recognise it.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult};

use crate::db;
use crate::domain::Role;
use crate::store::audit::{self, Actor, Entry};
use crate::store::{fetch_all, fetch_one, fetch_optional, write_transaction};

/// A token as the API shows it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub prefix: String,
    pub role: Role,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

const SELECT: &str = "SELECT t.id, t.name, u.username, t.prefix, t.role, t.created_at_ms, \
    t.expires_at_ms, t.last_used_at_ms, t.revoked_at_ms FROM api_tokens t JOIN users u ON u.id = t.user_id";

/// Who a live token belongs to, with the database clock's "now".
#[derive(Debug, Clone, FromQueryResult)]
pub struct Identity {
    pub token_id: i64,
    pub user_id: i64,
    pub username: String,
    /// The token's own role; the caller gets the lower of this and `user_role`.
    pub role: Role,
    pub user_role: Role,
    pub last_used_at_ms: i64,
    pub now_ms: i64,
}

/// A token to create; the secret is already hashed.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub token_hash: String,
    pub role: Role,
    pub expires_in_ms: Option<i64>,
}

/// The identity behind a token that is neither revoked nor expired, of an enabled user.
pub async fn identity<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<Identity>, DbErr> {
    fetch_optional(
        db,
        "SELECT t.id AS token_id, u.id AS user_id, u.username, t.role, u.role AS user_role, \
         COALESCE(t.last_used_at_ms, 0) AS last_used_at_ms, {now_ms} AS now_ms \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at_ms IS NULL \
         AND (t.expires_at_ms IS NULL OR t.expires_at_ms > {now_ms}) AND u.disabled = false",
        [token_hash.into()],
    )
    .await
}

pub async fn touch<C: ConnectionTrait>(db: &C, id: i64) -> Result<(), DbErr> {
    db::execute(
        db,
        "UPDATE api_tokens SET last_used_at_ms = {now_ms} WHERE id = $1",
        [id.into()],
    )
    .await
    .map(|_| ())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<Token>, DbErr> {
    fetch_optional(db, &format!("{SELECT} WHERE t.id = $1"), [id.into()]).await
}

/// Every token, or only those of `owner`.
pub async fn list<C: ConnectionTrait>(db: &C, owner: Option<i64>) -> Result<Vec<Token>, DbErr> {
    fetch_all(
        db,
        &format!("{SELECT} WHERE $1 OR t.user_id = $2 ORDER BY t.id"),
        [owner.is_none().into(), owner.unwrap_or_default().into()],
    )
    .await
}

/// Stores a new token, audited with it.
pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewToken) -> Result<Token, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let txn = write_transaction(db).await?;
    let Id { id } = fetch_one(
        &txn,
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, role, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5, {now_ms}, CASE WHEN $6 IS NULL THEN NULL ELSE {now_ms} + $6 END) RETURNING id",
        [
            new.user_id.into(),
            new.name.clone().into(),
            new.prefix.into(),
            new.token_hash.into(),
            new.role.into(),
            new.expires_in_ms.into(),
        ],
    )
    .await?;
    let token = fetch_one(&txn, &format!("{SELECT} WHERE t.id = $1"), [id.into()]).await?;
    audit::record(
        &txn,
        actor,
        Entry::ok("token.create", Some(&new.name))
            .with_details(serde_json::json!({ "id": id, "role": new.role })),
    )
    .await?;
    txn.commit().await?;
    Ok(token)
}

/// Revokes an active token of `owner` (any owner when `None`), audited with it. Returns
/// whether a token was revoked.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    owner: Option<i64>,
) -> Result<bool, DbErr> {
    let txn = write_transaction(db).await?;
    let n = db::execute(
        &txn,
        "UPDATE api_tokens SET revoked_at_ms = {now_ms} \
         WHERE id = $1 AND revoked_at_ms IS NULL AND ($2 OR user_id = $3)",
        [
            id.into(),
            owner.is_none().into(),
            owner.unwrap_or_default().into(),
        ],
    )
    .await?;
    if n > 0 {
        audit::record(
            &txn,
            actor,
            Entry::ok("token.revoke", Some(&id.to_string())),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(n > 0)
}
