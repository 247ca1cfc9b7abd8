//! The persistent allowlist (issue #18): addresses and networks fail2ban never bans, for
//! every enabled jail or a list of jails, with a note, an author and an optional expiry.
//! Entries live in the database; every change queues an `allowlist_apply` command, which
//! writes them into the jails' `.local` files through the validated write path (so they
//! survive reloads). Entries broader than /16 (IPv4) or /48 (IPv6) need `confirm_broad`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::commands::Command;
use shared::domain::IpOrNet;
use shared::store::allowlist::{self, AllowRow, Change, NewEntry};
use shared::store::{commands as queue, config_tree};

use crate::auth::{Auth, Caller, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::routes::accounts::{Created, NoContent};
use crate::text::{IpText, JailText, Text};
use crate::time::from_epoch_ms;
use crate::validate;

/// The longest expiry an entry may have.
const MAX_EXPIRY_MS: i64 = 5 * 366 * 86_400_000;

#[derive(Debug, Object)]
pub struct AllowView {
    pub id: i64,
    /// An address or a CIDR network.
    pub entry: String,
    /// The jails it is for; null: every enabled jail.
    pub jails: Option<Vec<String>>,
    pub note: String,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it stops applying (null: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// The jails it applies to now (from the configuration).
    pub targets: Vec<String>,
    /// The targets whose `.local` does not carry it yet (the scheduler is writing them,
    /// or a write failed: see the revisions).
    pub pending: Vec<String>,
}

#[derive(Debug, Object)]
pub struct AllowList {
    pub items: Vec<AllowView>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AllowRequest {
    /// An address or a CIDR network (`198.51.100.7`, `2001:db8::/48`).
    pub entry: IpText,
    /// The jails it is for; leave it out for every enabled jail.
    #[oai(validator(min_items = 1, max_items = 200))]
    pub jails: Option<Vec<JailText>>,
    #[oai(validator(max_length = 500))]
    pub note: Option<Text>,
    /// How long it applies (`1h`, `7d`); leave it out for ever.
    #[oai(validator(max_length = 16))]
    pub expires_in: Option<Text>,
    /// Needed for networks broader than /16 (IPv4) or /48 (IPv6).
    pub confirm_broad: Option<bool>,
}

impl Example for AllowRequest {
    fn example() -> Self {
        Self {
            entry: "198.51.100.7".into(),
            jails: None,
            note: Some("office uplink".into()),
            expires_in: Some("30d".into()),
            confirm_broad: None,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct AllowChange {
    /// New jails (see `all_jails` for every enabled jail).
    #[oai(validator(min_items = 1, max_items = 200))]
    pub jails: Option<Vec<JailText>>,
    /// True: for every enabled jail.
    pub all_jails: Option<bool>,
    #[oai(validator(max_length = 500))]
    pub note: Option<Text>,
    /// A new expiry from now (`1h`, `7d`).
    #[oai(validator(max_length = 16))]
    pub expires_in: Option<Text>,
    /// True: it never expires.
    pub never_expires: Option<bool>,
}

impl Example for AllowChange {
    fn example() -> Self {
        Self {
            jails: Some(vec!["sshd".into()]),
            all_jails: None,
            note: None,
            expires_in: None,
            never_expires: Some(true),
        }
    }
}

pub struct AllowlistApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<Auth>,
}

fn refuse(code: ErrorCode, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message).with_details(json!({ "field": field }))
}

/// An entry: any address or network, broad ones only when confirmed.
fn entry(raw: &str, confirm_broad: bool) -> ApiResult<IpOrNet> {
    let ip = IpOrNet::parse_any(raw).map_err(|e| {
        ApiError::new(e.code(), e.to_string()).with_details(json!({ "field": "entry" }))
    })?;
    let min = if ip.addr().is_ipv4() { 16 } else { 48 };
    if ip.prefix() < min && !confirm_broad {
        return Err(refuse(
            ErrorCode::AllowlistTooBroad,
            "entry",
            format!(
                "{ip} covers more than a /{min}: fail2ban would never ban anyone in it. Send confirm_broad: true if that is meant"
            ),
        ));
    }
    Ok(ip)
}

fn expiry(raw: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let d = shared::duration::parse_duration(raw).map_err(|e| {
        refuse(
            ErrorCode::ValidationFailed,
            "expires_in",
            format!("expires_in: {e}"),
        )
    })?;
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if !(60_000..=MAX_EXPIRY_MS).contains(&ms) {
        return Err(refuse(
            ErrorCode::ValidationFailed,
            "expires_in",
            "expires_in must be between 1m and 5 years",
        ));
    }
    Ok(Some(ms))
}

impl AllowlistApi {
    pub fn new(db: DatabaseConnection, auth: std::sync::Arc<Auth>) -> Self {
        Self { db, auth }
    }

    /// Jail names, each valid and known to the configuration, without repeats.
    async fn jails(&self, raw: &[JailText]) -> ApiResult<Vec<String>> {
        let known: BTreeSet<String> = config_tree::jails(&self.db)
            .await?
            .into_iter()
            .map(|j| j.name)
            .collect();
        let mut out = BTreeSet::new();
        for j in raw {
            let jail = validate::jail_name(j)?;
            if !known.contains(jail.as_str()) {
                return Err(ApiError::new(
                    ErrorCode::UnknownJail,
                    format!("fail2ban's configuration has no jail {jail}"),
                )
                .with_details(json!({ "field": "jails", "jail": jail.as_str() })));
            }
            out.insert(jail.as_str().to_owned());
        }
        Ok(out.into_iter().collect())
    }

    async fn views(&self, rows: Vec<AllowRow>) -> ApiResult<Vec<AllowView>> {
        let jails = config_tree::jails(&self.db).await?;
        let mut applied: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (jail, entry) in allowlist::applied(&self.db).await? {
            applied.entry(entry).or_default().insert(jail);
        }
        let now = shared::db::db_now_ms(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let list = r.jail_list();
                let live = r.expires_at_ms.is_none_or(|e| e > now);
                let targets: Vec<String> = jails
                    .iter()
                    .filter(|j| live && list.as_ref().map_or(j.enabled, |l| l.contains(&j.name)))
                    .map(|j| j.name.clone())
                    .collect();
                let done = applied.get(&r.entry);
                let pending = targets
                    .iter()
                    .filter(|t| !done.is_some_and(|d| d.contains(*t)))
                    .cloned()
                    .collect();
                AllowView {
                    id: r.id,
                    entry: r.entry,
                    jails: list,
                    note: r.note,
                    author: r.author,
                    created_at: from_epoch_ms(r.created_at_ms),
                    updated_at: from_epoch_ms(r.updated_at_ms),
                    expires_at: r.expires_at_ms.map(from_epoch_ms),
                    targets,
                    pending,
                }
            })
            .collect())
    }

    async fn view(&self, id: i64) -> ApiResult<AllowView> {
        let row = allowlist::get(&self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no allowlist entry {id}")))?;
        Ok(self.views(vec![row]).await?.remove(0))
    }

    /// Has the scheduler bring the files in line.
    async fn apply(&self, caller: &Caller) -> ApiResult<()> {
        queue::submit(&self.db, &caller.into(), &Command::AllowlistApply).await?;
        Ok(())
    }
}

#[OpenApi(tag = "ApiTags::Config")]
impl AllowlistApi {
    /// The allowlist: every entry, which jails it applies to and where it is still being
    /// written. Role: viewer.
    #[oai(path = "/allowlist", method = "get", operation_id = "list_allowlist")]
    async fn list(&self, req: &Request) -> ApiResult<Json<AllowList>> {
        self.auth.require(req, Role::Viewer).await?;
        let rows = allowlist::all(&self.db).await?;
        Ok(Json(AllowList {
            items: self.views(rows).await?,
        }))
    }

    /// Add an entry (409 when it is listed already); the scheduler writes it into the
    /// jails' overrides and reloads them. Role: operator.
    #[oai(
        path = "/allowlist",
        method = "post",
        operation_id = "add_allowlist_entry"
    )]
    async fn add(&self, req: &Request, body: Json<AllowRequest>) -> ApiResult<Created<AllowView>> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let b = body.0;
        let ip = entry(&b.entry, b.confirm_broad.unwrap_or(false))?;
        let jails = match &b.jails {
            Some(list) => Some(self.jails(list).await?),
            None => None,
        };
        let note = b.note.as_deref().map(str::trim).unwrap_or("").to_owned();
        if note.contains(['\n', '\r']) {
            return Err(refuse(
                ErrorCode::ValidationFailed,
                "note",
                "note must be one line",
            ));
        }
        let expires_in = expiry(b.expires_in.as_deref())?;
        let expires_at_ms = match expires_in {
            Some(ms) => Some(shared::db::db_now_ms(&self.db).await? + ms),
            None => None,
        };
        let new = NewEntry {
            entry: ip.to_string(),
            jails,
            note,
            expires_at_ms,
        };
        let id = allowlist::add(&self.db, &(&caller).into(), &new)
            .await
            .map_err(|e| {
                let e = ApiError::from(e);
                if e.code == ErrorCode::Conflict {
                    refuse(
                        ErrorCode::AllowlistExists,
                        "entry",
                        format!("{ip} is on the allowlist already"),
                    )
                } else {
                    e
                }
            })?;
        self.apply(&caller).await?;
        Ok(Created::Created(Json(self.view(id).await?)))
    }

    /// Change an entry's jails, note or expiry. Role: operator.
    #[oai(
        path = "/allowlist/:id",
        method = "patch",
        operation_id = "change_allowlist_entry"
    )]
    async fn change(
        &self,
        req: &Request,
        id: Path<i64>,
        body: Json<AllowChange>,
    ) -> ApiResult<Json<AllowView>> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let b = body.0;
        if b.jails.is_some() && b.all_jails == Some(true) {
            return Err(refuse(
                ErrorCode::ValidationFailed,
                "jails",
                "give jails or all_jails, not both",
            ));
        }
        if b.expires_in.is_some() && b.never_expires == Some(true) {
            return Err(refuse(
                ErrorCode::ValidationFailed,
                "expires_in",
                "give expires_in or never_expires, not both",
            ));
        }
        let mut change = Change::default();
        if let Some(list) = &b.jails {
            change.jails = Some(Some(self.jails(list).await?));
        } else if b.all_jails == Some(true) {
            change.jails = Some(None);
        }
        if let Some(note) = &b.note {
            let note = note.trim();
            if note.contains(['\n', '\r']) {
                return Err(refuse(
                    ErrorCode::ValidationFailed,
                    "note",
                    "note must be one line",
                ));
            }
            change.note = Some(note.to_owned());
        }
        if let Some(ms) = expiry(b.expires_in.as_deref())? {
            change.expires_at_ms = Some(Some(shared::db::db_now_ms(&self.db).await? + ms));
        } else if b.never_expires == Some(true) {
            change.expires_at_ms = Some(None);
        }
        if !allowlist::change(&self.db, &(&caller).into(), id.0, &change).await? {
            return Err(ApiError::not_found(format!("no allowlist entry {}", id.0)));
        }
        self.apply(&caller).await?;
        Ok(Json(self.view(id.0).await?))
    }

    /// Remove an entry; the scheduler takes it out of the jails' overrides. Role: operator.
    #[oai(
        path = "/allowlist/:id",
        method = "delete",
        operation_id = "remove_allowlist_entry"
    )]
    async fn remove(&self, req: &Request, id: Path<i64>) -> ApiResult<NoContent> {
        let caller = self.auth.require(req, Role::Operator).await?;
        if !allowlist::remove(&self.db, &(&caller).into(), id.0).await? {
            return Err(ApiError::not_found(format!("no allowlist entry {}", id.0)));
        }
        self.apply(&caller).await?;
        Ok(NoContent::Done)
    }
}
