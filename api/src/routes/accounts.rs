//! First-run setup, sign-in and sessions, API tokens, users and the audit log. Each
//! handler parses its input, calls a store (`shared::store::*`) and shapes the answer;
//! the rules (the last admin, audit rows committed with their change) live in the stores.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::StatusCode;
use poem::web::cookie::{Cookie, SameSite};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use shared::domain::{TimeZone, Username};
use shared::store::audit::{self, Entry};
use shared::store::rate_limits::Attempt;

use shared::store::users::{self, UserError};
use shared::store::{sessions, settings, tokens};

use crate::auth::{Actor, Auth, Role, SESSION_COOKIE, Via, credentials, password, rate_limit};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::routes::status::{StatusView, load_status};
use crate::text::{PasswordText, Text, UsernameText};
use crate::time::from_epoch_ms;

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::NotFound(_) => ApiError::not_found(e.to_string()),
            UserError::UsernameTaken(_) => ApiError::new(ErrorCode::UsernameTaken, e.to_string()),
            UserError::LastAdmin => ApiError::new(ErrorCode::LastAdmin, e.to_string()),
            UserError::SetupDone => ApiError::new(ErrorCode::SetupDone, e.to_string()),
            UserError::Db(db) => db.into(),
        }
    }
}

fn username_of(raw: &str) -> ApiResult<Username> {
    Username::parse(raw).map_err(|e| {
        ApiError::new(ErrorCode::InvalidUsername, e.to_string())
            .with_details(serde_json::json!({ "field": "username" }))
    })
}

fn wrong_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password")
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AuthMethod {
    /// The `bangui_session` cookie from `POST /auth/login`.
    Session,
    /// An API token (`Authorization: Bearer …`).
    Token,
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
    pub username: UsernameText,
    /// At least 12 characters, not the username, not a common password.
    pub password: PasswordText,
    /// IANA time zone for showing times (default UTC).
    pub timezone: Option<Text>,
    /// Session length in minutes (5 to 43 200; default 720).
    #[oai(validator(minimum(value = "5"), maximum(value = "43200")))]
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
pub struct StrengthRequest {
    #[oai(validator(max_length = 1024))]
    pub password: Text,
    /// The username it is for (a password close to it is weak).
    pub username: Option<Text>,
}

impl poem_openapi::types::Example for StrengthRequest {
    fn example() -> Self {
        Self {
            password: "correct horse battery staple".into(),
            username: Some("admin".into()),
        }
    }
}

/// A password's strength by the policy.
#[derive(Debug, Object)]
pub struct PasswordStrength {
    /// zxcvbn's estimate: 0 (guessed at once) to 4 (more than 10^10 guesses).
    #[oai(validator(maximum(value = "4")))]
    pub score: u8,
    /// The score a new password needs.
    pub min_score: u8,
    /// Whether setup, a new user or a password change would take it.
    pub acceptable: bool,
    /// The rule it breaks, as a sentence; null when acceptable.
    pub problem: Option<String>,
    /// zxcvbn's warning, if any.
    pub warning: Option<String>,
    /// zxcvbn's suggestions.
    pub suggestions: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    pub username: Text,
    pub password: Text,
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
    pub role: Role,
    /// When the session ends unless used (sliding); null for API tokens.
    pub expires_at: Option<DateTime<Utc>>,
    /// How the caller signed in.
    pub via: AuthMethod,
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
    pub current_password: Text,
    pub new_password: PasswordText,
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
    /// What the token is for; 1 to 64 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub name: Text,
    /// Never above your own role.
    pub role: Role,
    /// Days until the token expires (1 to 3650); omitted: never.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    pub expires_in_days: Option<i64>,
}

impl poem_openapi::types::Example for TokenRequest {
    fn example() -> Self {
        Self {
            name: "grafana".into(),
            role: Role::Viewer,
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
    pub role: Role,
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
    pub role: Role,
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
    pub username: UsernameText,
    pub password: PasswordText,
    pub role: Role,
}

impl poem_openapi::types::Example for NewUser {
    fn example() -> Self {
        Self {
            username: "operator1".into(),
            password: "a long passphrase for ops".into(),
            role: Role::Operator,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

impl poem_openapi::types::Example for UserChange {
    fn example() -> Self {
        Self {
            role: Some(Role::Viewer),
            disabled: Some(false),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PasswordReset {
    pub password: PasswordText,
}

impl poem_openapi::types::Example for PasswordReset {
    fn example() -> Self {
        Self {
            password: "a fresh long passphrase".into(),
        }
    }
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

impl From<tokens::Token> for TokenView {
    fn from(t: tokens::Token) -> Self {
        Self {
            id: t.id,
            name: t.name,
            user: t.username,
            prefix: t.prefix,
            role: t.role,
            created_at: from_epoch_ms(t.created_at_ms),
            expires_at: t.expires_at_ms.map(from_epoch_ms),
            last_used_at: t.last_used_at_ms.map(from_epoch_ms),
            revoked: t.revoked_at_ms.is_some(),
        }
    }
}

impl From<users::User> for UserView {
    fn from(u: users::User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            role: u.role,
            disabled: u.disabled,
            created_at: from_epoch_ms(u.created_at_ms),
        }
    }
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

    /// Writes an audit entry that describes no change (a refused sign-in): a failure to
    /// write it is logged, and does not change the answer.
    async fn audit_refusal(&self, actor: &Actor, action: &str, target: &str) {
        let entry = Entry::ok(action, Some(target)).with_result("denied");
        if let Err(e) = audit::record(&self.auth.db, actor, entry).await {
            tracing::error!(error = %e, action, "could not write the audit log");
        }
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

    /// How strong a candidate password is, by the same rules setup, new users and password
    /// changes apply (zxcvbn's estimate, the common-password list, length, the username):
    /// what the setup page's meter shows. Nothing is stored or logged. Role: public while
    /// setup is pending, any signed-in user afterwards (401 otherwise).
    #[oai(
        path = "/auth/password-strength",
        method = "post",
        operation_id = "password_strength"
    )]
    async fn password_strength(
        &self,
        req: &Request,
        body: Json<StrengthRequest>,
    ) -> ApiResult<Json<PasswordStrength>> {
        if self.auth.setup_completed().await? {
            self.auth.require(req, Role::Viewer).await?;
        }
        let username = body.username.as_deref().unwrap_or_default();
        let a = password::assess(username, &body.password);
        Ok(Json(PasswordStrength {
            score: a.score,
            min_score: password::MIN_SCORE,
            acceptable: a.problem.is_none(),
            problem: a.problem,
            warning: a.warning,
            suggestions: a.suggestions,
        }))
    }

    /// Create the first admin (once; 409 afterwards). Role: public.
    #[oai(path = "/setup", method = "post", operation_id = "setup")]
    async fn setup(&self, req: &Request, body: Json<SetupRequest>) -> ApiResult<Created<UserView>> {
        let username = username_of(&body.username)?;
        password::check_policy(username.as_str(), &body.password)?;
        let minutes = body
            .session_minutes
            .unwrap_or(settings::DEFAULT_SESSION_MINUTES);
        if !(5..=43_200).contains(&minutes) {
            return Err(
                ApiError::bad_request("session_minutes must be between 5 and 43200")
                    .with_details(serde_json::json!({ "field": "session_minutes" })),
            );
        }
        let timezone = match body.timezone.as_deref() {
            None => TimeZone::UTC,
            Some(raw) => TimeZone::parse(raw).map_err(|e| {
                ApiError::new(ErrorCode::InvalidTimezone, e.to_string())
                    .with_details(serde_json::json!({ "field": "timezone" }))
            })?,
        };
        if self.auth.setup_completed().await? {
            return Err(UserError::SetupDone.into());
        }
        let hash = password::hash(body.password.to_string()).await?;
        let mut actor = self.auth.actor(req);
        actor.name = Some(username.to_string());
        actor.role = Some(Role::Admin);
        let admin = users::NewUser {
            username: username.into_string(),
            password_hash: hash,
            role: Role::Admin,
        };
        let user = users::setup_first_admin(&self.auth.db, &actor, admin, timezone.name(), minutes)
            .await?;
        self.auth.mark_setup_completed();
        Ok(Created::Created(Json(user.into())))
    }

    /// Sign in: sets the `bangui_session` cookie. Attempts are limited per username and
    /// client address (429 with Retry-After) and slowed down per username. Role: public.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(&self, req: &Request, body: Json<LoginRequest>) -> ApiResult<LoginResponse> {
        self.auth.ensure_setup().await?;
        let actor = self.auth.actor(req);
        let name = body.username.trim().to_lowercase();
        let attempt = Attempt {
            username: &name,
            address: &actor.client_ip,
        };
        rate_limit::reserve(&self.auth.db, &attempt).await?;
        let found = users::credentials_by_name(&self.auth.db, &name).await?;
        // Without a stored hash `verify` still does the work, so an unknown user takes as
        // long as a wrong password.
        let stored = found.as_ref().map(|c| c.password_hash.clone());
        let verified = password::verify(body.password.to_string(), stored).await;
        let Some(user) = found.filter(|_| verified) else {
            self.audit_refusal(&actor, "login", &name).await;
            return Err(wrong_credentials());
        };
        rate_limit::succeeded(&self.auth.db, &attempt).await?;
        let minutes = self.auth.session_minutes().await?;
        let token = credentials::new_secret("");
        let mut who = actor;
        who.name = Some(user.username.clone());
        who.role = Some(user.role);
        let expires = sessions::open(
            &self.auth.db,
            &who,
            user.id,
            &credentials::hash_token(&token),
            minutes * 60_000,
        )
        .await?;
        let view = SessionView {
            user: user.username,
            role: user.role,
            expires_at: Some(from_epoch_ms(expires)),
            via: AuthMethod::Session,
            timezone: settings::timezone(&self.auth.db).await?,
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
        let session = match &caller.via {
            Via::Session { token_hash } => Some(token_hash.as_str()),
            Via::Token { .. } => None,
        };
        sessions::close(&self.auth.db, &(&caller).into(), session).await?;
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
        sessions::close_all(&self.auth.db, &(&caller).into(), caller.user_id).await?;
        Ok(LogoutResponse::Done(self.cookie("", 0)))
    }

    /// Who the caller is. Role: viewer.
    #[oai(path = "/auth/session", method = "get", operation_id = "get_session")]
    async fn session(&self, req: &Request) -> ApiResult<Json<SessionView>> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let (via, expires_at) = match &caller.via {
            Via::Session { token_hash } => (
                AuthMethod::Session,
                sessions::expires_at_ms(&self.auth.db, token_hash)
                    .await?
                    .map(from_epoch_ms),
            ),
            Via::Token { .. } => (AuthMethod::Token, None),
        };
        Ok(Json(SessionView {
            user: caller.name,
            role: caller.role,
            expires_at,
            via,
            timezone: settings::timezone(&self.auth.db).await?,
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
        let actor: Actor = (&caller).into();
        let stored = users::password_hash(&self.auth.db, caller.user_id).await?;
        if !password::verify(body.current_password.to_string(), stored).await {
            self.audit_refusal(&actor, "password.change", &caller.name)
                .await;
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "the current password is wrong",
            )
            .with_status(StatusCode::FORBIDDEN));
        }
        password::check_policy(&caller.name, &body.new_password)?;
        let hash = password::hash(body.new_password.to_string()).await?;
        let keep = match &caller.via {
            Via::Session { token_hash } => Some(token_hash.as_str()),
            Via::Token { .. } => None,
        };
        users::set_password(
            &self.auth.db,
            &actor,
            caller.user_id,
            hash,
            keep,
            "password.change",
        )
        .await?;
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
        if body.role > caller.role {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a token cannot have a higher role than its creator",
            ));
        }
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "name: 1 to 64 characters, not only spaces",
            )
            .with_details(serde_json::json!({ "field": "name" })));
        }
        let days = body.expires_in_days;
        if days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(ApiError::bad_request("expires_in_days: 1 to 3650")
                .with_details(serde_json::json!({ "field": "expires_in_days" })));
        }
        let token = credentials::new_secret("bgt_");
        let new = tokens::NewToken {
            user_id: caller.user_id,
            name: name.to_owned(),
            prefix: token.chars().take(12).collect(),
            token_hash: credentials::hash_token(&token),
            role: body.role,
            expires_in_ms: days.map(|d| d * 86_400_000),
        };
        let info = tokens::create(&self.auth.db, &(&caller).into(), new).await?;
        Ok(Created::Created(Json(NewToken {
            token,
            info: info.into(),
        })))
    }

    /// API tokens: your own, or everyone's for an admin. Role: viewer.
    #[oai(path = "/auth/tokens", method = "get", operation_id = "list_tokens")]
    async fn list_tokens(&self, req: &Request) -> ApiResult<Json<TokenList>> {
        let caller = self.auth.require(req, Role::Viewer).await?;
        let owner = (caller.role != Role::Admin).then_some(caller.user_id);
        let items = tokens::list(&self.auth.db, owner).await?;
        Ok(Json(TokenList {
            items: items.into_iter().map(Into::into).collect(),
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
        let owner = (caller.role != Role::Admin).then_some(caller.user_id);
        if !tokens::revoke(&self.auth.db, &(&caller).into(), id.0, owner).await? {
            return Err(ApiError::not_found(format!(
                "no active token {} of yours",
                id.0
            )));
        }
        Ok(NoContent::Done)
    }

    /// Every user. Role: admin.
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list_users(&self, req: &Request) -> ApiResult<Json<UserList>> {
        self.auth.require(req, Role::Admin).await?;
        let items = users::list(&self.auth.db).await?;
        Ok(Json(UserList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// Create a user. Usernames are unique regardless of case. Role: admin.
    #[oai(path = "/users", method = "post", operation_id = "create_user")]
    async fn create_user(
        &self,
        req: &Request,
        body: Json<NewUser>,
    ) -> ApiResult<Created<UserView>> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let username = username_of(&body.username)?;
        password::check_policy(username.as_str(), &body.password)?;
        let new = users::NewUser {
            username: username.into_string(),
            password_hash: password::hash(body.password.to_string()).await?,
            role: body.role,
        };
        let user = users::create(&self.auth.db, &(&caller).into(), new).await?;
        Ok(Created::Created(Json(user.into())))
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
        let change = users::Change {
            role: body.role,
            disabled: body.disabled,
        };
        let user = users::update(&self.auth.db, &(&caller).into(), id.0, change).await?;
        Ok(Json(user.into()))
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
        let user = users::get(&self.auth.db, id.0).await?;
        password::check_policy(&user.username, &body.password)?;
        let hash = password::hash(body.password.to_string()).await?;
        users::set_password(
            &self.auth.db,
            &(&caller).into(),
            id.0,
            hash,
            None,
            "user.password_reset",
        )
        .await?;
        Ok(NoContent::Done)
    }

    /// Delete a user (and their sessions and tokens). Not the last active admin. Role: admin.
    #[oai(path = "/users/:id", method = "delete", operation_id = "delete_user")]
    async fn delete_user(&self, req: &Request, id: Path<i64>) -> ApiResult<NoContent> {
        let caller = self.auth.require(req, Role::Admin).await?;
        users::delete(&self.auth.db, &(&caller).into(), id.0).await?;
        Ok(NoContent::Done)
    }
}
