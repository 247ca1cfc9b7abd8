//! The persistent allowlist (`allowlist`, `allowlist_applied`; issue #18). The API adds,
//! changes and removes entries (each audited with its change); the scheduler reads the
//! active ones, removes expired ones (fenced), and records which entries it wrote into
//! which jail's `.local`.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Value};

use crate::store::audit::{self, Actor, Entry};
use crate::store::{fetch_all, fetch_one, fetch_optional, write_transaction};

/// An entry as stored; `jails` is a JSON array, `NULL` for every enabled jail.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct AllowRow {
    pub id: i64,
    pub entry: String,
    pub jails: Option<String>,
    pub note: String,
    pub author: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: Option<i64>,
}

impl AllowRow {
    /// The jails it names (`None`: every enabled jail).
    pub fn jail_list(&self) -> Option<Vec<String>> {
        self.jails
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
    }
}

const SELECT: &str = "SELECT id, entry, jails, note, author, created_at_ms, updated_at_ms, \
    expires_at_ms FROM allowlist";

/// Every entry, expired or not, oldest first.
pub async fn all<C: ConnectionTrait>(db: &C) -> Result<Vec<AllowRow>, DbErr> {
    fetch_all(db, &format!("{SELECT} ORDER BY id"), []).await
}

/// The entries in force now.
pub async fn active<C: ConnectionTrait>(db: &C) -> Result<Vec<AllowRow>, DbErr> {
    fetch_all(
        db,
        &format!("{SELECT} WHERE expires_at_ms IS NULL OR expires_at_ms > {{now_ms}} ORDER BY id"),
        [],
    )
    .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<AllowRow>, DbErr> {
    fetch_optional(db, &format!("{SELECT} WHERE id = $1"), [id.into()]).await
}

/// A new entry's fields (the entry already parsed and normalised by the caller).
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub entry: String,
    pub jails: Option<Vec<String>>,
    pub note: String,
    pub expires_at_ms: Option<i64>,
}

fn jails_json(jails: &Option<Vec<String>>) -> Value {
    jails
        .as_ref()
        .map(|j| serde_json::to_string(j).unwrap_or_else(|_| "[]".into()))
        .into()
}

/// Adds an entry, audited (`allowlist.add`). A duplicate entry is a unique violation.
pub async fn add(db: &DatabaseConnection, actor: &Actor, new: &NewEntry) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let txn = write_transaction(db).await?;
    let Id { id } = fetch_one(
        &txn,
        "INSERT INTO allowlist (entry, jails, note, author, created_at_ms, updated_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, {now_ms}, {now_ms}, $5) RETURNING id",
        [
            new.entry.clone().into(),
            jails_json(&new.jails),
            new.note.clone().into(),
            actor.name.clone().into(),
            new.expires_at_ms.into(),
        ],
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Entry {
            action: "allowlist.add",
            target: Some(&new.entry),
            result: "ok",
            details: Some(serde_json::json!({
                "id": id, "jails": new.jails, "note": new.note, "expires_at_ms": new.expires_at_ms,
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// A change to an entry: each `Some` replaces that field.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub jails: Option<Option<Vec<String>>>,
    pub note: Option<String>,
    pub expires_at_ms: Option<Option<i64>>,
}

/// Changes an entry, audited (`allowlist.change`). Returns false when there is none.
pub async fn change(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    change: &Change,
) -> Result<bool, DbErr> {
    let txn = write_transaction(db).await?;
    let Some(row) = get(&txn, id).await? else {
        return Ok(false);
    };
    let jails = change.jails.clone().unwrap_or_else(|| row.jail_list());
    let note = change.note.clone().unwrap_or(row.note.clone());
    let expires = change.expires_at_ms.unwrap_or(row.expires_at_ms);
    crate::db::execute(
        &txn,
        "UPDATE allowlist SET jails = $2, note = $3, expires_at_ms = $4, updated_at_ms = {now_ms} \
         WHERE id = $1",
        [
            id.into(),
            jails_json(&jails),
            note.clone().into(),
            expires.into(),
        ],
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Entry {
            action: "allowlist.change",
            target: Some(&row.entry),
            result: "ok",
            details: Some(serde_json::json!({
                "id": id, "jails": jails, "note": note, "expires_at_ms": expires,
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Removes an entry, audited (`allowlist.remove`). Returns false when there is none.
pub async fn remove(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<bool, DbErr> {
    let txn = write_transaction(db).await?;
    let Some(row) = get(&txn, id).await? else {
        return Ok(false);
    };
    crate::db::execute(&txn, "DELETE FROM allowlist WHERE id = $1", [id.into()]).await?;
    audit::record(
        &txn,
        actor,
        Entry {
            action: "allowlist.remove",
            target: Some(&row.entry),
            result: "ok",
            details: Some(serde_json::json!({ "id": id })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Removes the entries whose time is up (the scheduler, in its fenced transaction).
/// Returns them.
pub async fn remove_expired<C: ConnectionTrait>(txn: &C) -> Result<Vec<AllowRow>, DbErr> {
    let gone: Vec<AllowRow> = fetch_all(
        txn,
        &format!("{SELECT} WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= {{now_ms}}"),
        [],
    )
    .await?;
    for row in &gone {
        crate::db::execute(txn, "DELETE FROM allowlist WHERE id = $1", [row.id.into()]).await?;
    }
    Ok(gone)
}

/// What the scheduler wrote for the allowlist into each jail's `.local`: `(jail, entry)`.
pub async fn applied<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, String)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Pair {
        jail: String,
        entry: String,
    }
    let rows: Vec<Pair> = fetch_all(
        db,
        "SELECT jail, entry FROM allowlist_applied ORDER BY jail, entry",
        [],
    )
    .await?;
    Ok(rows.into_iter().map(|p| (p.jail, p.entry)).collect())
}

/// Records what a jail's `.local` now holds for the allowlist (fenced by the caller).
pub async fn set_applied<C: ConnectionTrait>(
    txn: &C,
    jail: &str,
    entries: &[String],
) -> Result<(), DbErr> {
    crate::db::execute(
        txn,
        "DELETE FROM allowlist_applied WHERE jail = $1",
        [jail.into()],
    )
    .await?;
    for entry in entries {
        crate::db::execute(
            txn,
            "INSERT INTO allowlist_applied (jail, entry) VALUES ($1, $2)",
            [jail.into(), entry.clone().into()],
        )
        .await?;
    }
    Ok(())
}
