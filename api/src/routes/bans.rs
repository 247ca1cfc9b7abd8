//! Current bans: list and search them, ban, unban, clear. Reads come from the scheduler's
//! snapshot (`f2b_bans`); changes go through the command queue.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::commands::Command;
use shared::domain::{JailName, Origin};
use shared::store::snapshots;

use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::commands::{CommandResponse, parse_wait, submit};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::text::{IpList, IpPrefixText, JailFilter, JailText, WaitText};
use crate::time::from_epoch_ms;
use crate::validate;

/// One current ban.
#[derive(Debug, Object)]
pub struct BanView {
    pub jail: String,
    pub ip: String,
    pub banned_at: DateTime<Utc>,
    /// Null for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
    pub bantime_s: Option<i64>,
    /// How often fail2ban has banned this IP (escalation counter).
    pub bancount: i32,
    pub origin: Origin,
    pub failures: Option<i32>,
}

#[derive(Debug, Object)]
pub struct BanPage {
    pub items: Vec<BanView>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct BanRequest {
    /// The jail to ban in.
    pub jail: JailText,
    /// IPv4/IPv6 addresses or CIDR networks (at most 20 000; IPv4 /8 and IPv6 /32 at the broadest).
    pub ips: IpList,
}

impl poem_openapi::types::Example for BanRequest {
    fn example() -> Self {
        Self {
            jail: "sshd".into(),
            ips: IpList::from(["192.0.2.10", "2001:db8::5", "198.51.100.0/24"]),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct UnbanRequest {
    pub ips: IpList,
    /// Unban from this jail only; omitted: from every jail.
    pub jail: Option<JailText>,
}

impl poem_openapi::types::Example for UnbanRequest {
    fn example() -> Self {
        Self {
            ips: IpList::from(["192.0.2.10"]),
            jail: Some("sshd".into()),
        }
    }
}

impl From<snapshots::BanRow> for BanView {
    fn from(r: snapshots::BanRow) -> Self {
        Self {
            jail: r.jail,
            ip: r.ip,
            banned_at: from_epoch_ms(r.banned_at_ms),
            expires_at: r.expires_at_ms.map(from_epoch_ms),
            bantime_s: r.bantime_s,
            bancount: r.bancount,
            origin: r.origin,
            failures: r.failures,
        }
    }
}

/// Lists current bans, newest first, optionally of one jail and matching an IP prefix.
pub async fn list_bans(
    db: &DatabaseConnection,
    jail: Option<JailName>,
    q: Option<&str>,
    page: u32,
    page_size: u32,
) -> ApiResult<BanPage> {
    // The length counts the spaces around it too, as the schema's maxLength does.
    let too_long = q.is_some_and(|q| q.chars().count() > 64);
    let ip_prefix = q.map(str::trim).filter(|q| !q.is_empty());
    let allowed = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    if too_long || ip_prefix.is_some_and(|q| !q.chars().all(allowed)) {
        return Err(ApiError::new(
            ErrorCode::InvalidIpSearch,
            "q: the start of an IP address (digits, a-f, '.' and ':'), at most 64 characters",
        )
        .with_details(serde_json::json!({ "field": "q" })));
    }
    let filter = snapshots::BanFilter {
        jail,
        ip_prefix: ip_prefix.map(str::to_owned),
    };
    let offset = u64::from(page - 1) * u64::from(page_size);
    let (rows, total) = snapshots::bans_page(db, &filter, page_size, offset).await?;
    Ok(BanPage {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page,
        page_size,
    })
}

pub struct BansApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
}

impl BansApi {
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
    ) -> Self {
        Self { db, expiry, auth }
    }
}

#[OpenApi(tag = "ApiTags::Bans")]
impl BansApi {
    /// Current bans of every jail, newest first; `q` matches the start of the IP. Role: viewer.
    #[oai(path = "/bans", method = "get", operation_id = "list_bans")]
    async fn list(
        &self,
        req: &Request,
        jail: Query<Option<JailFilter>>,
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
        let jail = jail
            .0
            .as_deref()
            .filter(|j| !j.is_empty())
            .map(validate::jail_name)
            .transpose()?;
        Ok(Json(
            list_bans(&self.db, jail, q.0.as_deref(), page.0, page_size.0).await?,
        ))
    }

    /// Ban IPs or networks in a jail. Role: operator.
    #[oai(path = "/bans", method = "post", operation_id = "ban")]
    async fn ban(
        &self,
        req: &Request,
        body: Json<BanRequest>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        let ips = validate::ip_list(&body.ips)?;
        let jail = validate::known_jail(&self.db, &body.jail).await?;
        submit(
            &self.auth,
            &caller,
            &Command::Ban { jail, ips },
            wait,
            self.expiry,
        )
        .await
    }

    /// Unban IPs from one jail, or from every jail when `jail` is omitted. Role: operator.
    #[oai(path = "/bans/unban", method = "post", operation_id = "unban")]
    async fn unban(
        &self,
        req: &Request,
        body: Json<UnbanRequest>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        let ips = validate::ip_list(&body.ips)?;
        let jail = match body.jail.as_deref() {
            Some(j) => Some(validate::known_jail(&self.db, j).await?),
            None => None,
        };
        submit(
            &self.auth,
            &caller,
            &Command::Unban { ips, jail },
            wait,
            self.expiry,
        )
        .await
    }

    /// Lift every ban in every jail. Role: operator.
    #[oai(path = "/bans/clear", method = "post", operation_id = "clear_bans")]
    async fn clear(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        submit(&self.auth, &caller, &Command::UnbanAll, wait, self.expiry).await
    }
}
