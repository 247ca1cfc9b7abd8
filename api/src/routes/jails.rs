//! Jails: the snapshot of every jail (counters and settings), one jail's bans with
//! server-side paging and search, and the jail controls (start, stop, reload, idle,
//! ignore list, ignoreself), which go through the command queue.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::commands::Command;
use shared::store::snapshots;

use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult};
use crate::routes::bans::{BanPage, list_bans};
use crate::routes::commands::{CommandResponse, parse_wait, submit};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::text::{IpPrefixText, IpText, JailText, WaitText};
use crate::time::from_epoch_ms;
use crate::validate;

#[derive(Debug, Object)]
pub struct JailView {
    pub name: String,
    /// False once the jail was stopped (it can be started again).
    pub running: bool,
    pub idle: bool,
    pub currently_failed: i64,
    pub total_failed: i64,
    pub currently_banned: i64,
    pub total_banned: i64,
    /// Seconds; -1 is permanent.
    pub bantime: Option<i64>,
    pub findtime: Option<i64>,
    pub maxretry: Option<i64>,
    /// Everything fail2ban reports for the jail: ignoreip, ignoreself, logpath,
    /// failregex, ignoreregex, actions, datepattern, usedns and the bantime.* escalation
    /// settings.
    pub settings: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

impl From<snapshots::JailRow> for JailView {
    fn from(r: snapshots::JailRow) -> Self {
        let settings: serde_json::Value =
            serde_json::from_str(&r.settings).unwrap_or(serde_json::Value::Null);
        let int = |k: &str| settings.get(k).and_then(serde_json::Value::as_i64);
        Self {
            name: r.name,
            running: r.running,
            idle: r.idle,
            currently_failed: r.currently_failed,
            total_failed: r.total_failed,
            currently_banned: r.currently_banned,
            total_banned: r.total_banned,
            bantime: int("bantime"),
            findtime: int("findtime"),
            maxretry: int("maxretry"),
            updated_at: from_epoch_ms(r.updated_at_ms),
            settings,
        }
    }
}

#[derive(Debug, Object)]
pub struct JailList {
    pub items: Vec<JailView>,
}

#[derive(Debug, Object)]
pub struct IgnoreView {
    pub jail: String,
    /// IPs and networks fail2ban never bans in this jail.
    pub ignoreip: Vec<String>,
    /// Whether the host's own addresses are ignored.
    pub ignoreself: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SwitchRequest {
    pub on: bool,
}

impl poem_openapi::types::Example for SwitchRequest {
    fn example() -> Self {
        Self { on: true }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct IgnoreRequest {
    /// An IP or CIDR network.
    pub ip: IpText,
}

impl poem_openapi::types::Example for IgnoreRequest {
    fn example() -> Self {
        Self {
            ip: "198.51.100.0/24".into(),
        }
    }
}

pub struct JailsApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
}

impl JailsApi {
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
    ) -> Self {
        Self { db, expiry, auth }
    }

    async fn jail(&self, name: &str) -> ApiResult<JailView> {
        let jail = validate::known_jail(&self.db, name).await?;
        snapshots::jail(&self.db, &jail)
            .await?
            .map(Into::into)
            .ok_or_else(|| ApiError::not_found(format!("no jail {jail}")))
    }

    async fn command(
        &self,
        req: &Request,
        wait: Option<&str>,
        make: impl FnOnce(shared::domain::JailName) -> Command,
        name: &str,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let wait = parse_wait(wait)?;
        let jail = validate::known_jail(&self.db, name).await?;
        submit(&self.auth, &caller, &make(jail), wait, self.expiry).await
    }
}

#[OpenApi(tag = "ApiTags::Jails")]
impl JailsApi {
    /// Every jail fail2ban has (running or stopped) with counters and settings. Role: viewer.
    #[oai(path = "/jails", method = "get", operation_id = "list_jails")]
    async fn list(&self, req: &Request) -> ApiResult<Json<JailList>> {
        self.auth.require(req, Role::Viewer).await?;
        let items = snapshots::jails(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(JailList { items }))
    }

    /// One jail. Role: viewer.
    #[oai(path = "/jails/:name", method = "get", operation_id = "get_jail")]
    async fn get(&self, req: &Request, name: Path<JailText>) -> ApiResult<Json<JailView>> {
        self.auth.require(req, Role::Viewer).await?;
        Ok(Json(self.jail(&name.0).await?))
    }

    /// A jail's current bans, newest first, paged; `q` matches the start of the IP. Role: viewer.
    #[oai(
        path = "/jails/:name/bans",
        method = "get",
        operation_id = "list_jail_bans"
    )]
    async fn bans(
        &self,
        req: &Request,
        name: Path<JailText>,
        q: Query<Option<IpPrefixText>>,
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "1000000"))
        )]
        page: Query<u32>,
        #[oai(
            default = "default_page_size",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        page_size: Query<u32>,
    ) -> ApiResult<Json<BanPage>> {
        self.auth.require(req, Role::Viewer).await?;
        let jail = validate::known_jail(&self.db, &name.0).await?;
        Ok(Json(
            list_bans(&self.db, Some(jail), q.0.as_deref(), page.0, page_size.0).await?,
        ))
    }

    /// Start a stopped jail (`fail2ban-client reload --if-exists`). Role: operator.
    #[oai(
        path = "/jails/:name/start",
        method = "post",
        operation_id = "start_jail"
    )]
    async fn start(
        &self,
        req: &Request,
        name: Path<JailText>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::JailStart { jail },
            &name.0,
        )
        .await
    }

    /// Stop a jail (its bans are lifted by its actions). Role: operator.
    #[oai(
        path = "/jails/:name/stop",
        method = "post",
        operation_id = "stop_jail"
    )]
    async fn stop(
        &self,
        req: &Request,
        name: Path<JailText>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::JailStop { jail },
            &name.0,
        )
        .await
    }

    /// Reload one jail's configuration. Role: operator.
    #[oai(
        path = "/jails/:name/reload",
        method = "post",
        operation_id = "reload_jail"
    )]
    async fn reload(
        &self,
        req: &Request,
        name: Path<JailText>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::JailReload { jail },
            &name.0,
        )
        .await
    }

    /// Pause (`on: true`) or resume a jail without stopping it. Role: operator.
    #[oai(
        path = "/jails/:name/idle",
        method = "put",
        operation_id = "set_jail_idle"
    )]
    async fn idle(
        &self,
        req: &Request,
        name: Path<JailText>,
        body: Json<SwitchRequest>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let on = body.on;
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::JailIdle { jail, on },
            &name.0,
        )
        .await
    }

    /// Reload fail2ban's whole configuration (also brings stopped jails back). Role: operator.
    #[oai(path = "/jails/reload", method = "post", operation_id = "reload_all")]
    async fn reload_all(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        submit(&self.auth, &caller, &Command::ReloadAll, wait, self.expiry).await
    }

    /// A jail's ignore list and ignoreself switch (from the last jail sync). Role: viewer.
    #[oai(
        path = "/jails/:name/ignore",
        method = "get",
        operation_id = "get_jail_ignore"
    )]
    async fn ignore(&self, req: &Request, name: Path<JailText>) -> ApiResult<Json<IgnoreView>> {
        self.auth.require(req, Role::Viewer).await?;
        let jail = self.jail(&name.0).await?;
        let ignoreip = jail
            .settings
            .get("ignoreip")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let ignoreself = jail
            .settings
            .get("ignoreself")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Ok(Json(IgnoreView {
            jail: jail.name,
            ignoreip,
            ignoreself,
        }))
    }

    /// Add an IP or network to a jail's ignore list (runtime; lost at reload). Role: operator.
    #[oai(
        path = "/jails/:name/ignore",
        method = "post",
        operation_id = "add_jail_ignore"
    )]
    async fn ignore_add(
        &self,
        req: &Request,
        name: Path<JailText>,
        body: Json<IgnoreRequest>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let ip = validate::ip(&body.ip, "ip")?;
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::IgnoreipAdd { jail, ip },
            &name.0,
        )
        .await
    }

    /// Remove an IP or network from a jail's ignore list. Role: operator.
    #[oai(
        path = "/jails/:name/ignore",
        method = "delete",
        operation_id = "remove_jail_ignore"
    )]
    async fn ignore_remove(
        &self,
        req: &Request,
        name: Path<JailText>,
        ip: Query<String>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let ip = validate::ip(&ip.0, "ip")?;
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::IgnoreipRemove { jail, ip },
            &name.0,
        )
        .await
    }

    /// Switch ignoring the host's own addresses. Role: operator.
    #[oai(
        path = "/jails/:name/ignoreself",
        method = "put",
        operation_id = "set_jail_ignoreself"
    )]
    async fn ignoreself(
        &self,
        req: &Request,
        name: Path<JailText>,
        body: Json<SwitchRequest>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let on = body.on;
        self.command(
            req,
            wait.0.as_deref(),
            |jail| Command::IgnoreselfSet { jail, on },
            &name.0,
        )
        .await
    }
}
