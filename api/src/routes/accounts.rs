//! First-run setup, sign-in and sessions, API tokens, users and the audit log.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::StatusCode;
use poem::web::cookie::{Cookie, SameSite};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::{QueryResult, TransactionTrait};
use shared::db;

use crate::auth::{
    Actor, Auth, Caller, Role, SESSION_COOKIE, Via, audit, credentials, password, rate_limit,
};
use crate::error::{ApiError, ApiResult};
use crate::routes::status::{StatusView, load_status};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::time::from_epoch_ms;

fn dberr(e: sea_orm::DbErr) -> ApiError {
    ApiError::database(&e)
}

fn last_admin() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "last_admin",
        "this is the last active admin",
    )
}

fn role_of(raw: &str) -> ApiResult<Role> {
    Role::parse(raw).ok_or_else(|| {
        ApiError::bad_request(format!("role {raw:?}: use viewer, operator or admin"))
    })
}

fn username_of(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_username",
            "usernames are 1-64 of A-Z a-z 0-9 . _ - @",
        ))
    }
}

#[derive(Debug, Object)]
pub struct SetupState {
    pub completed: bool,
    /// The fail2ban connection as the scheduler sees it; only while setup is pending (the
    /// setup page shows it), null afterwards so the public endpoint tells nothing.
    pub fail2ban: Option<StatusView>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SetupRequest {
    pub username: String,
    /// At least 12 characters, not the username, not a common password.
    pub password: String,
    /// IANA time zone for showing times (default UTC).
    pub timezone: Option<String>,
    /// Session length in minutes (5 to 43 200; default 720).
    pub session_minutes: Option<i64>,
}

impl poem_openapi::types::Example for SetupRequest {
    fn example() -> Self {
        Self {
            username: "admin".into(),
            password: "correct horse battery staple".into(),
            timezone: Some("Europe/Berlin".into()),
            session_minutes: Some(720),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl poem_openapi::types::Example for LoginRequest {
    fn example() -> Self {
        Self {
            username: "admin".into(),
            password: "correct horse battery staple".into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct SessionView {
    pub user: String,
    pub role: String,
    /// When the session ends unless used (sliding); null for API tokens.
    pub expires_at: Option<DateTime<Utc>>,
    /// `session` or `token`.
    pub via: String,
    /// The instance's display time zone (IANA name, chosen at setup); the UI shows times
    /// in it unless this browser picked another.
    pub timezone: String,
}

#[derive(ApiResponse)]
pub enum LoginResponse {
    /// Signed in; the `bangui_session` cookie is set.
    #[oai(status = 200)]
    Ok(Json<SessionView>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
pub enum LogoutResponse {
    /// Signed out; the cookie is cleared.
    #[oai(status = 204)]
    Done(#[oai(header = "Set-Cookie")] String),
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

impl poem_openapi::types::Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: "correct horse battery staple".into(),
            new_password: "another long passphrase here".into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct TokenRequest {
    pub name: String,
    /// viewer, operator or admin; never above your own role.
    pub role: String,
    pub expires_in_days: Option<i64>,
}

impl poem_openapi::types::Example for TokenRequest {
    fn example() -> Self {
        Self {
            name: "grafana".into(),
            role: "viewer".into(),
            expires_in_days: Some(90),
        }
    }
}

#[derive(Debug, Object)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub user: String,
    /// The first characters, to recognise a token; the secret itself is never stored.
    pub prefix: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

#[derive(Debug, Object)]
pub struct NewToken {
    /// Shown once: send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub info: TokenView,
}

#[derive(Debug, Object)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

#[derive(Debug, Object)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct UserList {
    pub items: Vec<UserView>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: String,
}

impl poem_openapi::types::Example for NewUser {
    fn example() -> Self {
        Self {
            username: "operator1".into(),
            password: "a long passphrase for ops".into(),
            role: "operator".into(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct UserChange {
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

impl poem_openapi::types::Example for UserChange {
    fn example() -> Self {
        Self {
            role: Some("viewer".into()),
            disabled: Some(false),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PasswordReset {
    pub password: String,
}

impl poem_openapi::types::Example for PasswordReset {
    fn example() -> Self {
        Self {
            password: "a fresh long passphrase".into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user: Option<String>,
    pub role: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub result: String,
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(ApiResponse)]
pub enum Created<T: poem_openapi::types::ToJSON + Send + Sync> {
    #[oai(status = 201)]
    Created(Json<T>),
}

#[derive(ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Done,
}

fn token_view(r: &QueryResult) -> Result<TokenView, sea_orm::DbErr> {
    Ok(TokenView {
        id: r.try_get("", "id")?,
        name: r.try_get("", "name")?,
        user: r.try_get("", "username")?,
        prefix: r.try_get("", "prefix")?,
        role: r.try_get("", "role")?,
        created_at: from_epoch_ms(r.try_get("", "created_at_ms")?),
        expires_at: r
            .try_get::<Option<i64>>("", "expires_at_ms")?
            .map(from_epoch_ms),
        last_used_at: r
            .try_get::<Option<i64>>("", "last_used_at_ms")?
            .map(from_epoch_ms),
        revoked: r.try_get::<Option<i64>>("", "revoked_at_ms")?.is_some(),
    })
}

fn user_view(r: &QueryResult) -> Result<UserView, sea_orm::DbErr> {
    Ok(UserView {
        id: r.try_get("", "id")?,
        username: r.try_get("", "username")?,
        role: r.try_get("", "role")?,
        disabled: r.try_get("", "disabled")?,
        created_at: from_epoch_ms(r.try_get("", "created_at_ms")?),
    })
}

pub struct AccountsApi {
    auth: Arc<Auth>,
}

impl AccountsApi {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }

    fn cookie(&self, value: &str, max_age_s: i64) -> String {
        let mut c = Cookie::new_with_str(SESSION_COOKIE, value);
        c.set_http_only(true);
        c.set_same_site(SameSite::Strict);
        c.set_path("/");
        c.set_secure(self.auth.cookie_secure);
        c.set_max_age(std::time::Duration::from_secs(max_age_s.max(0) as u64));
        c.to_string()
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: Option<&str>,
        result: &str,
        details: Option<serde_json::Value>,
    ) {
        audit::record(&self.auth.db, actor, action, target, result, details).await;
    }

    /// Runs one statement on the accounts database.
    async fn exec(
        &self,
        sql: &str,
        values: impl IntoIterator<Item = sea_orm::Value>,
    ) -> ApiResult<u64> {
        db::execute(&self.auth.db, sql, values).await.map_err(dberr)
    }

    async fn set_password_hash(&self, user_id: i64, hash: String) -> ApiResult<()> {
        self.exec(
            "UPDATE users SET password_hash = $2, updated_at_ms = {now_ms} WHERE id = $1",
            [user_id.into(), hash.into()],
        )
        .await
        .map(|_| ())
    }

    /// Ends every session of a user, except the one with `keep_token_hash`.
    async fn end_sessions(&self, user_id: i64, keep_token_hash: Option<&str>) -> ApiResult<u64> {
        self.exec(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
            [user_id.into(), keep_token_hash.unwrap_or_default().into()],
        )
        .await
    }

    /// Active admins other than `except`.
    async fn other_active_admins(&self, except: i64) -> ApiResult<i64> {
        db::query_one(&self.auth.db, "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = false AND id <> $1", [except.into()])
            .await
            .and_then(|r| r.map_or(Ok(0), |r| r.try_get("", "n")))
            .map_err(dberr)
    }

    /// The zone chosen at setup (UTC when none was).
    async fn display_timezone(&self) -> ApiResult<String> {
        Ok(db::query_one(
            &self.auth.db,
            "SELECT value FROM settings WHERE key = 'timezone'",
            [],
        )
        .await
        .map_err(dberr)?
        .and_then(|r| r.try_get::<String>("", "value").ok())
        .unwrap_or_else(|| "UTC".into()))
    }

    async fn user(&self, id: i64) -> ApiResult<UserView> {
        let row = db::query_one(
            &self.auth.db,
            "SELECT id, username, role, disabled, created_at_ms FROM users WHERE id = $1",
            [id.into()],
        )
        .await
        .map_err(dberr)?
        .ok_or_else(|| ApiError::not_found(format!("no user {id}")))?;
        user_view(&row).map_err(dberr)
    }
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Whether the first admin exists. Role: public.
    #[oai(path = "/setup", method = "get", operation_id = "get_setup")]
    async fn get_setup(&self) -> ApiResult<Json<SetupState>> {
        let completed = self.auth.setup_completed().await?;
        let fail2ban = if completed {
            None
        } else {
            Some(load_status(&self.auth.db).await?)
        };
        Ok(Json(SetupState {
            completed,
            fail2ban,
        }))
    }

    /// Create the first admin (once; 409 afterwards). Role: public.
    #[oai(path = "/setup", method = "post", operation_id = "setup")]
    async fn setup(&self, req: &Request, body: Json<SetupRequest>) -> ApiResult<Created<UserView>> {
        let username = username_of(&body.username)?;
        password::check_policy(&username, &body.password)?;
        let minutes = body.session_minutes.unwrap_or(720);
        if !(5..=43_200).contains(&minutes) {
            return Err(ApiError::bad_request(
                "session_minutes must be between 5 and 43200",
            ));
        }
        let timezone = body.timezone.clone().unwrap_or_else(|| "UTC".into());
        if timezone.len() > 64
            || !timezone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
        {
            return Err(ApiError::bad_request(
                "timezone must be an IANA name like Europe/Berlin",
            ));
        }
        let hash = password::hash(body.password.clone()).await?;
        let conflict = || {
            ApiError::new(
                StatusCode::CONFLICT,
                "setup_done",
                "BanGUI is already set up",
            )
        };
        if self.auth.setup_completed().await? {
            return Err(conflict());
        }
        // The `setup` settings row is the lock: of two racing processes, one inserts it.
        let txn = self.auth.db.begin().await.map_err(dberr)?;
        let won = db::execute(
            &txn,
            "INSERT INTO settings (key, value, updated_at_ms, updated_by) VALUES ('setup', 'true', {now_ms}, $1) ON CONFLICT (key) DO NOTHING",
            [username.clone().into()],
        )
        .await
        .map_err(dberr)?;
        if won == 0 {
            txn.rollback().await.ok();
            return Err(conflict());
        }
        for (key, value) in [
            ("timezone", timezone.clone()),
            ("session_minutes", minutes.to_string()),
        ] {
            db::execute(
                &txn,
                "INSERT INTO settings (key, value, updated_at_ms, updated_by) VALUES ($1, $2, {now_ms}, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key.into(), value.into(), username.clone().into()],
            )
            .await
            .map_err(dberr)?;
        }
        let row = db::query_one(
            &txn,
            "INSERT INTO users (username, password_hash, role, disabled, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, 'admin', false, {now_ms}, {now_ms}) RETURNING id, username, role, disabled, created_at_ms",
            [username.clone().into(), hash.into()],
        )
        .await
        .map_err(dberr)?
        .ok_or_else(conflict)?;
        txn.commit().await.map_err(dberr)?;
        self.auth.mark_setup_completed();
        let user = user_view(&row).map_err(dberr)?;
        let mut actor = self.auth.actor(req);
        actor.name = Some(username.clone());
        actor.role = Some(Role::Admin);
        self.audit(
            &actor,
            "setup",
            Some(&username),
            "ok",
            Some(serde_json::json!({ "timezone": timezone, "session_minutes": minutes })),
        )
        .await;
        Ok(Created::Created(Json(user)))
    }

    /// Sign in: sets the `bangui_session` cookie. Failures are rate limited per client and
    /// per username (429 with Retry-After). Role: public.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(&self, req: &Request, body: Json<LoginRequest>) -> ApiResult<LoginResponse> {
        self.auth.ensure_setup().await?;
        let actor = self.auth.actor(req);
        let name = body.username.trim().to_lowercase();
        let keys = [format!("ip:{}", actor.client_ip), format!("user:{name}")];
        rate_limit::check(&self.auth.db, &keys).await?;
        let row = db::query_one(
            &self.auth.db,
            "SELECT id, username, role, password_hash FROM users WHERE lower(username) = $1 AND disabled = false",
            [name.clone().into()],
        )
        .await
        .map_err(dberr)?;
        let stored = row
            .as_ref()
            .and_then(|r| r.try_get::<String>("", "password_hash").ok());
        if !password::verify(body.password.clone(), stored).await {
            rate_limit::fail(&self.auth.db, &keys).await?;
            self.audit(&actor, "login", Some(&name), "denied", None)
                .await;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong username or password",
            ));
        }
        let row = row.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong username or password",
            )
        })?;
        rate_limit::reset(&self.auth.db, &keys[1]).await?;
        let user_id: i64 = row.try_get("", "id").map_err(dberr)?;
        let username: String = row.try_get("", "username").map_err(dberr)?;
        let role: String = row.try_get("", "role").map_err(dberr)?;
        let minutes = self.auth.session_minutes().await?;
        let token = credentials::new_secret("");
        let expires = db::query_one(
            &self.auth.db,
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, last_seen_at_ms, expires_at_ms, client_ip) \
             VALUES ($1, $2, {now_ms}, {now_ms}, {now_ms} + $3, $4) RETURNING expires_at_ms",
            [credentials::hash_token(&token).into(), user_id.into(), (minutes * 60_000).into(), actor.client_ip.clone().into()],
        )
        .await
        .map_err(dberr)?
        .and_then(|r| r.try_get::<i64>("", "expires_at_ms").ok())
        .unwrap_or_default();
        let mut who = actor.clone();
        who.name = Some(username.clone());
        who.role = Role::parse(&role);
        self.audit(&who, "login", Some(&username), "ok", None).await;
        let view = SessionView {
            user: username,
            role,
            expires_at: Some(from_epoch_ms(expires)),
            via: "session".into(),
            timezone: self.display_timezone().await?,
        };
        Ok(LoginResponse::Ok(
            Json(view),
            self.cookie(&token, minutes * 60),
        ))
    }

    /// End this session. Role: viewer.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, req: &Request) -> ApiResult<LogoutResponse> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        if let Via::Session { token_hash } = &caller.via {
            db::execute(
                &self.auth.db,
                "DELETE FROM sessions WHERE token_hash = $1",
                [token_hash.clone().into()],
            )
            .await
            .map_err(dberr)?;
        }
        self.audit(&(&caller).into(), "logout", Some(&caller.name), "ok", None)
            .await;
        Ok(LogoutResponse::Done(self.cookie("", 0)))
    }

    /// End every session of the caller, on every device. Role: viewer.
    #[oai(
        path = "/auth/logout-all",
        method = "post",
        operation_id = "logout_all"
    )]
    async fn logout_all(&self, req: &Request) -> ApiResult<LogoutResponse> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let n = self.end_sessions(caller.user_id, None).await?;
        self.audit(
            &(&caller).into(),
            "logout_all",
            Some(&caller.name),
            "ok",
            Some(serde_json::json!({ "sessions": n })),
        )
        .await;
        Ok(LogoutResponse::Done(self.cookie("", 0)))
    }

    /// Who the caller is. Role: viewer.
    #[oai(path = "/auth/session", method = "get", operation_id = "get_session")]
    async fn session(&self, req: &Request) -> ApiResult<Json<SessionView>> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let expires_at = match &caller.via {
            Via::Session { token_hash } => db::query_one(
                &self.auth.db,
                "SELECT expires_at_ms FROM sessions WHERE token_hash = $1",
                [token_hash.clone().into()],
            )
            .await
            .map_err(dberr)?
            .and_then(|r| r.try_get::<i64>("", "expires_at_ms").ok())
            .map(from_epoch_ms),
            Via::Token { .. } => None,
        };
        let via = if matches!(caller.via, Via::Session { .. }) {
            "session"
        } else {
            "token"
        };
        let timezone = self.display_timezone().await?;
        Ok(Json(SessionView {
            user: caller.name,
            role: caller.role.as_str().into(),
            expires_at,
            via: via.into(),
            timezone,
        }))
    }

    /// Change your own password; your other sessions end. Role: viewer.
    #[oai(
        path = "/auth/password",
        method = "post",
        operation_id = "change_password"
    )]
    async fn change_password(
        &self,
        req: &Request,
        body: Json<PasswordChange>,
    ) -> ApiResult<NoContent> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let stored = db::query_one(
            &self.auth.db,
            "SELECT password_hash FROM users WHERE id = $1",
            [caller.user_id.into()],
        )
        .await
        .map_err(dberr)?
        .and_then(|r| r.try_get::<String>("", "password_hash").ok());
        if !password::verify(body.current_password.clone(), stored).await {
            self.audit(
                &(&caller).into(),
                "password.change",
                Some(&caller.name),
                "denied",
                None,
            )
            .await;
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_credentials",
                "the current password is wrong",
            ));
        }
        password::check_policy(&caller.name, &body.new_password)?;
        let hash = password::hash(body.new_password.clone()).await?;
        self.set_password_hash(caller.user_id, hash).await?;
        let keep = match &caller.via {
            Via::Session { token_hash } => Some(token_hash.as_str()),
            Via::Token { .. } => None,
        };
        self.end_sessions(caller.user_id, keep).await?;
        self.audit(
            &(&caller).into(),
            "password.change",
            Some(&caller.name),
            "ok",
            None,
        )
        .await;
        Ok(NoContent::Done)
    }

    /// Create an API token (shown once). Role: viewer (a token never exceeds its creator's role).
    #[oai(path = "/auth/tokens", method = "post", operation_id = "create_token")]
    async fn create_token(
        &self,
        req: &Request,
        body: Json<TokenRequest>,
    ) -> ApiResult<Created<NewToken>> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let role = role_of(&body.role)?;
        if role > caller.role {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a token cannot have a higher role than its creator",
            ));
        }
        let name = body.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(ApiError::bad_request("name: 1 to 64 characters"));
        }
        let days = body.expires_in_days;
        if days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(ApiError::bad_request("expires_in_days: 1 to 3650"));
        }
        let token = credentials::new_secret("bgt_");
        let prefix: String = token.chars().take(12).collect();
        let row = db::query_one(
            &self.auth.db,
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, role, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, {now_ms}, CASE WHEN $6 IS NULL THEN NULL ELSE {now_ms} + $6 END) RETURNING id",
            [caller.user_id.into(), name.into(), prefix.into(), credentials::hash_token(&token).into(), role.as_str().into(), days.map(|d| d * 86_400_000).into()],
        )
        .await
        .map_err(dberr)?
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the token was not stored"))?;
        let id: i64 = row.try_get("", "id").map_err(dberr)?;
        let info = self.token(id).await?;
        self.audit(
            &(&caller).into(),
            "token.create",
            Some(name),
            "ok",
            Some(serde_json::json!({ "id": id, "role": role.as_str() })),
        )
        .await;
        Ok(Created::Created(Json(NewToken { token, info })))
    }

    /// API tokens: your own, or everyone's for an admin. Role: viewer.
    #[oai(path = "/auth/tokens", method = "get", operation_id = "list_tokens")]
    async fn list_tokens(&self, req: &Request) -> ApiResult<Json<TokenList>> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let all = caller.role == Role::Admin;
        let rows = db::query_all(
            &self.auth.db,
            "SELECT t.id, t.name, u.username, t.prefix, t.role, t.created_at_ms, t.expires_at_ms, t.last_used_at_ms, t.revoked_at_ms \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE $1 OR t.user_id = $2 ORDER BY t.id",
            [all.into(), caller.user_id.into()],
        )
        .await
        .map_err(dberr)?;
        Ok(Json(TokenList {
            items: rows
                .iter()
                .map(token_view)
                .collect::<Result<_, _>>()
                .map_err(dberr)?,
        }))
    }

    /// Revoke an API token (yours, or any for an admin). Role: viewer.
    #[oai(
        path = "/auth/tokens/:id",
        method = "delete",
        operation_id = "revoke_token"
    )]
    async fn revoke_token(&self, req: &Request, id: Path<i64>) -> ApiResult<NoContent> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let n = db::execute(
            &self.auth.db,
            "UPDATE api_tokens SET revoked_at_ms = {now_ms} WHERE id = $1 AND revoked_at_ms IS NULL AND ($2 OR user_id = $3)",
            [id.0.into(), (caller.role == Role::Admin).into(), caller.user_id.into()],
        )
        .await
        .map_err(dberr)?;
        if n == 0 {
            return Err(ApiError::not_found(format!(
                "no active token {} of yours",
                id.0
            )));
        }
        self.audit(
            &(&caller).into(),
            "token.revoke",
            Some(&id.0.to_string()),
            "ok",
            None,
        )
        .await;
        Ok(NoContent::Done)
    }

    /// Every user. Role: admin.
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list_users(&self, req: &Request) -> ApiResult<Json<UserList>> {
        self.auth.require(req, Role::Admin).await?;
        let rows = db::query_all(
            &self.auth.db,
            "SELECT id, username, role, disabled, created_at_ms FROM users ORDER BY id",
            [],
        )
        .await
        .map_err(dberr)?;
        Ok(Json(UserList {
            items: rows
                .iter()
                .map(user_view)
                .collect::<Result<_, _>>()
                .map_err(dberr)?,
        }))
    }

    /// Create a user. Role: admin.
    #[oai(path = "/users", method = "post", operation_id = "create_user")]
    async fn create_user(
        &self,
        req: &Request,
        body: Json<NewUser>,
    ) -> ApiResult<Created<UserView>> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let username = username_of(&body.username)?;
        let role = role_of(&body.role)?;
        password::check_policy(&username, &body.password)?;
        let taken = db::query_one(
            &self.auth.db,
            "SELECT 1 AS x FROM users WHERE lower(username) = lower($1)",
            [username.clone().into()],
        )
        .await
        .map_err(dberr)?
        .is_some();
        if taken {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "username_taken",
                format!("{username} exists"),
            ));
        }
        let hash = password::hash(body.password.clone()).await?;
        let row = db::query_one(
            &self.auth.db,
            "INSERT INTO users (username, password_hash, role, disabled, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, false, {now_ms}, {now_ms}) RETURNING id, username, role, disabled, created_at_ms",
            [username.clone().into(), hash.into(), role.as_str().into()],
        )
        .await
        .map_err(|_| ApiError::new(StatusCode::CONFLICT, "username_taken", format!("{username} exists")))?
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "username_taken", "exists"))?;
        self.audit(
            &(&caller).into(),
            "user.create",
            Some(&username),
            "ok",
            Some(serde_json::json!({ "role": role.as_str() })),
        )
        .await;
        Ok(Created::Created(Json(user_view(&row).map_err(dberr)?)))
    }

    /// Change a user's role or disable/enable them. The last active admin can be neither
    /// demoted nor disabled. Role: admin.
    #[oai(path = "/users/:id", method = "patch", operation_id = "update_user")]
    async fn update_user(
        &self,
        req: &Request,
        id: Path<i64>,
        body: Json<UserChange>,
    ) -> ApiResult<Json<UserView>> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let user = self.user(id.0).await?;
        let role = body.role.as_deref().map(role_of).transpose()?;
        let losing_admin = user.role == "admin"
            && !user.disabled
            && (role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
        if losing_admin && self.other_active_admins(id.0).await? == 0 {
            return Err(last_admin());
        }
        if let Some(r) = role {
            db::execute(
                &self.auth.db,
                "UPDATE users SET role = $2, updated_at_ms = {now_ms} WHERE id = $1",
                [id.0.into(), r.as_str().into()],
            )
            .await
            .map_err(dberr)?;
        }
        if let Some(d) = body.disabled {
            db::execute(
                &self.auth.db,
                "UPDATE users SET disabled = $2, updated_at_ms = {now_ms} WHERE id = $1",
                [id.0.into(), d.into()],
            )
            .await
            .map_err(dberr)?;
            if d {
                self.end_sessions(id.0, None).await?;
            }
        }
        self.audit(
            &(&caller).into(),
            "user.update",
            Some(&user.username),
            "ok",
            Some(serde_json::json!({ "role": body.role, "disabled": body.disabled })),
        )
        .await;
        Ok(Json(self.user(id.0).await?))
    }

    /// Set a new password for a user; their sessions end. Role: admin.
    #[oai(
        path = "/users/:id/password",
        method = "post",
        operation_id = "reset_user_password"
    )]
    async fn reset_password(
        &self,
        req: &Request,
        id: Path<i64>,
        body: Json<PasswordReset>,
    ) -> ApiResult<NoContent> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let user = self.user(id.0).await?;
        password::check_policy(&user.username, &body.password)?;
        let hash = password::hash(body.password.clone()).await?;
        self.set_password_hash(id.0, hash).await?;
        self.end_sessions(id.0, None).await?;
        self.audit(
            &(&caller).into(),
            "user.password_reset",
            Some(&user.username),
            "ok",
            None,
        )
        .await;
        Ok(NoContent::Done)
    }

    /// Delete a user (and their sessions and tokens). Not the last active admin. Role: admin.
    #[oai(path = "/users/:id", method = "delete", operation_id = "delete_user")]
    async fn delete_user(&self, req: &Request, id: Path<i64>) -> ApiResult<NoContent> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let user = self.user(id.0).await?;
        if user.role == "admin" && !user.disabled && self.other_active_admins(id.0).await? == 0 {
            return Err(last_admin());
        }
        // Sessions and API tokens go with the user (ON DELETE CASCADE).
        self.exec("DELETE FROM users WHERE id = $1", [id.0.into()])
            .await?;
        self.audit(
            &(&caller).into(),
            "user.delete",
            Some(&user.username),
            "ok",
            None,
        )
        .await;
        Ok(NoContent::Done)
    }

    /// The audit log, newest first; filter by user, action prefix and time. Role: admin.
    #[oai(path = "/audit", method = "get", operation_id = "list_audit")]
    async fn list_audit(
        &self,
        req: &Request,
        user: Query<Option<String>>,
        /// Matches the start of the action, e.g. `user.` or `command.ban`.
        action: Query<Option<String>>,
        /// Only entries at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        #[oai(default = "default_page", validator(minimum(value = "1")))] page: Query<u32>,
        #[oai(
            default = "default_page_size",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        page_size: Query<u32>,
    ) -> ApiResult<Json<AuditPage>> {
        self.auth.require(req, Role::Admin).await?;
        let mut filter = String::from(" WHERE 1 = 1");
        let mut values: Vec<sea_orm::Value> = Vec::new();
        if let Some(u) = &user.0 {
            values.push(u.clone().into());
            filter.push_str(&format!(" AND username = ${}", values.len()));
        }
        if let Some(a) = &action.0 {
            values.push(crate::validate::like_prefix(a).into());
            filter.push_str(&format!(" AND action LIKE ${} ESCAPE '\\'", values.len()));
        }
        if let Some(s) = since.0 {
            values.push(s.timestamp_millis().into());
            filter.push_str(&format!(" AND at_ms >= ${}", values.len()));
        }
        let total: i64 = db::query_one(
            &self.auth.db,
            &format!("SELECT COUNT(*) AS n FROM audit_log{filter}"),
            values.clone(),
        )
        .await
        .and_then(|r| r.map_or(Ok(0), |r| r.try_get("", "n")))
        .map_err(dberr)?;
        values.push(i64::from(page_size.0).into());
        values.push((i64::from(page.0 - 1) * i64::from(page_size.0)).into());
        let n = values.len();
        let rows = db::query_all(
            &self.auth.db,
            &format!("SELECT id, at_ms, username, role, client_ip, request_id, action, target, result, details FROM audit_log{filter} ORDER BY id DESC LIMIT ${} OFFSET ${}", n - 1, n),
            values,
        )
        .await
        .map_err(dberr)?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("", "id")?,
                    at: from_epoch_ms(r.try_get("", "at_ms")?),
                    user: r.try_get("", "username")?,
                    role: r.try_get("", "role")?,
                    client_ip: r.try_get("", "client_ip")?,
                    request_id: r.try_get("", "request_id")?,
                    action: r.try_get("", "action")?,
                    target: r.try_get("", "target")?,
                    result: r.try_get("", "result")?,
                    details: r
                        .try_get::<Option<String>>("", "details")?
                        .and_then(|d| serde_json::from_str(&d).ok()),
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(dberr)?;
        Ok(Json(AuditPage {
            items,
            total,
            page: page.0,
            page_size: page_size.0,
        }))
    }
}

impl AccountsApi {
    async fn token(&self, id: i64) -> ApiResult<TokenView> {
        let row = db::query_one(
            &self.auth.db,
            "SELECT t.id, t.name, u.username, t.prefix, t.role, t.created_at_ms, t.expires_at_ms, t.last_used_at_ms, t.revoked_at_ms \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
            [id.into()],
        )
        .await
        .map_err(dberr)?
        .ok_or_else(|| ApiError::not_found(format!("no token {id}")))?;
        token_view(&row).map_err(dberr)
    }
}

/// Used by the command routes: audit a queued command.
pub async fn audit_command(
    auth: &Auth,
    caller: &Caller,
    kind: &str,
    target: Option<&str>,
    result: &str,
    details: serde_json::Value,
) {
    audit::record(
        &auth.db,
        &caller.into(),
        &format!("command.{kind}"),
        target,
        result,
        Some(details),
    )
    .await;
}
