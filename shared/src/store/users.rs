//! Users (`users`) and the rules that span them: usernames are unique regardless of
//! case, the first admin is created once, and the last active admin can never be
//! demoted, disabled or deleted, not even by two admins at the same moment. Every
//! change commits together with its audit row.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult};

use crate::db::{self, Failure};
use crate::domain::Role;
use crate::store::audit::{self, Actor, Entry};
use crate::store::settings::{self, Setting};
use crate::store::{fetch_all, fetch_one, fetch_optional, for_update, write_transaction};

/// A user as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at_ms: i64,
}

impl User {
    fn is_active_admin(&self) -> bool {
        self.role == Role::Admin && !self.disabled
    }
}

const USER_COLUMNS: &str = "id, username, role, disabled, created_at_ms";

/// What signing in needs: the stored hash of an enabled user.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Credentials {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no user {0}")]
    NotFound(i64),
    #[error("{0} exists")]
    UsernameTaken(String),
    #[error("this is the last active admin")]
    LastAdmin,
    #[error("BanGUI is already set up")]
    SetupDone,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
}

/// A change of role and/or the disabled flag.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<User>, DbErr> {
    fetch_all(
        db,
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
        [],
    )
    .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> Result<User, UserError> {
    fetch_optional(
        db,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
        [id.into()],
    )
    .await?
    .ok_or(UserError::NotFound(id))
}

/// The credentials of an enabled user, by name in any case.
pub async fn credentials_by_name<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<Credentials>, DbErr> {
    fetch_optional(
        db,
        "SELECT id, username, role, password_hash FROM users \
         WHERE lower(username) = lower($1) AND disabled = false",
        [username.into()],
    )
    .await
}

/// The stored password hash of a user.
pub async fn password_hash<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<String>, DbErr> {
    #[derive(FromQueryResult)]
    struct Hash {
        password_hash: String,
    }
    Ok(fetch_optional::<Hash, _>(
        db,
        "SELECT password_hash FROM users WHERE id = $1",
        [id.into()],
    )
    .await?
    .map(|h| h.password_hash))
}

/// Creates the first admin and the instance's settings, once: of two racing calls (on
/// any number of replicas) exactly one wins; the other gets [`UserError::SetupDone`].
pub async fn setup_first_admin(
    db: &DatabaseConnection,
    actor: &Actor,
    admin: NewUser,
    timezone: &str,
    session_minutes: i64,
) -> Result<User, UserError> {
    let txn = write_transaction(db).await?;
    // The `setup` row is the lock: of two racing transactions, one inserts it.
    if !settings::insert_if_absent(&txn, Setting::Setup, "true", &admin.username).await? {
        return Err(UserError::SetupDone);
    }
    settings::put(&txn, Setting::Timezone, timezone, &admin.username).await?;
    settings::put(
        &txn,
        Setting::SessionMinutes,
        &session_minutes.to_string(),
        &admin.username,
    )
    .await?;
    let user = insert(
        &txn,
        &NewUser {
            role: Role::Admin,
            ..admin
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Entry::ok("setup", Some(&user.username)).with_details(serde_json::json!({
            "timezone": timezone, "session_minutes": session_minutes
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewUser,
) -> Result<User, UserError> {
    let txn = write_transaction(db).await?;
    let user = insert(&txn, &new).await?;
    audit::record(
        &txn,
        actor,
        Entry::ok("user.create", Some(&user.username))
            .with_details(serde_json::json!({ "role": user.role })),
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// The unique index on `lower(username)` decides, so "Bob" and "bob" created at the same
/// moment cannot both succeed.
async fn insert<C: ConnectionTrait>(db: &C, new: &NewUser) -> Result<User, UserError> {
    fetch_one(
        db,
        &format!(
            "INSERT INTO users (username, password_hash, role, disabled, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, false, {{now_ms}}, {{now_ms}}) RETURNING {USER_COLUMNS}"
        ),
        [
            new.username.clone().into(),
            new.password_hash.clone().into(),
            new.role.into(),
        ],
    )
    .await
    .map_err(|e| match db::classify(&e) {
        Failure::UniqueViolation(_) => UserError::UsernameTaken(new.username.clone()),
        _ => UserError::Db(e),
    })
}

/// Locks the active admins (PostgreSQL; in id order, so two changes never deadlock) and
/// the user, then refuses a change that would leave no active admin. A concurrent
/// change that demoted another admin has committed before the lock is granted, and
/// PostgreSQL re-checks locked rows against the condition, so both changes see it.
async fn lock_for_change<C: ConnectionTrait>(
    txn: &C,
    id: i64,
    loses_admin: impl Fn(&User) -> bool,
) -> Result<User, UserError> {
    #[derive(FromQueryResult)]
    struct Id {
        id: i64,
    }
    let lock = for_update(txn);
    let admins: Vec<Id> = fetch_all(
        txn,
        &format!(
            "SELECT id FROM users WHERE role = 'admin' AND disabled = false ORDER BY id{lock}"
        ),
        [],
    )
    .await?;
    let user: User = fetch_optional(
        txn,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1{lock}"),
        [id.into()],
    )
    .await?
    .ok_or(UserError::NotFound(id))?;
    if user.is_active_admin() && loses_admin(&user) && admins.iter().all(|a| a.id == id) {
        return Err(UserError::LastAdmin);
    }
    Ok(user)
}

/// Changes a user's role or disabled flag; disabling ends their sessions.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    change: Change,
) -> Result<User, UserError> {
    let txn = write_transaction(db).await?;
    let before = lock_for_change(&txn, id, |_| {
        change.role.is_some_and(|r| r != Role::Admin) || change.disabled == Some(true)
    })
    .await?;
    let after: User = fetch_one(
        &txn,
        &format!(
            "UPDATE users SET role = COALESCE($2, role), disabled = COALESCE($3, disabled), \
             updated_at_ms = {{now_ms}} WHERE id = $1 RETURNING {USER_COLUMNS}"
        ),
        [
            id.into(),
            change.role.map(Role::as_str).into(),
            change.disabled.into(),
        ],
    )
    .await?;
    if change.disabled == Some(true) {
        crate::store::sessions::end_all(&txn, id, None).await?;
    }
    audit::record(
        &txn,
        actor,
        Entry::ok("user.update", Some(&before.username)).with_details(serde_json::json!({
            "role": change.role, "disabled": change.disabled
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes a user; their sessions and API tokens go with them (ON DELETE CASCADE).
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<User, UserError> {
    let txn = write_transaction(db).await?;
    let user = lock_for_change(&txn, id, |_| true).await?;
    db::execute(&txn, "DELETE FROM users WHERE id = $1", [id.into()]).await?;
    audit::record(&txn, actor, Entry::ok("user.delete", Some(&user.username))).await?;
    txn.commit().await?;
    Ok(user)
}

/// Sets a new password hash and ends the user's sessions except `keep_session` (the
/// hash of the session that asked, when a user changes their own password).
pub async fn set_password(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    password_hash: String,
    keep_session: Option<&str>,
    action: &str,
) -> Result<(), UserError> {
    let txn = write_transaction(db).await?;
    let user = get(&txn, id).await?;
    db::execute(
        &txn,
        "UPDATE users SET password_hash = $2, updated_at_ms = {now_ms} WHERE id = $1",
        [id.into(), password_hash.into()],
    )
    .await?;
    crate::store::sessions::end_all(&txn, id, keep_session).await?;
    audit::record(&txn, actor, Entry::ok(action, Some(&user.username))).await?;
    txn.commit().await?;
    Ok(())
}
