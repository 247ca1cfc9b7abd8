//! Filters and actions (issue #19), as the scheduler last read them: `GET
//! /config/filters`, `/config/filters/{name}`, `/config/actions`, `/config/actions/{name}`.
//! Each with the files fail2ban reads for it, `[INCLUDES]`, every `[Definition]` and
//! `[Init]` key (raw text, interpolated value, file and line), the jails that use it, and
//! its `.local` override with its revision.

use std::collections::{BTreeMap, BTreeSet};

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use shared::config_edit::Revision;
use shared::domain::FilterName;
use shared::store::config_tree::{self, DefRow};

use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::text::Text;

/// One key of `[Definition]` or `[Init]`.
#[derive(Debug, Object)]
pub struct DefValue {
    /// As written (the last file that sets it wins).
    pub raw: String,
    /// After interpolation (`%(…)s`); null when it needs something only a jail gives.
    pub value: Option<String>,
    /// Why it could not be interpolated, if it could not.
    pub error: Option<String>,
    pub file: String,
    pub line: u32,
}

#[derive(Debug, Object)]
pub struct Includes {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Debug, Object)]
pub struct DefSummary {
    pub name: String,
    /// The jails of the configuration that use it.
    pub used_by: Vec<String>,
    /// Whether `<name>.local` exists.
    pub has_local: bool,
    /// Why fail2ban's files for it could not be read, if they could not.
    pub error: Option<String>,
}

#[derive(Debug, Object)]
pub struct DefList {
    pub items: Vec<DefSummary>,
}

#[derive(Debug, Object)]
pub struct DefLocal {
    /// `filter.d/<name>.local` or `action.d/<name>.local`.
    pub path: String,
    pub exists: bool,
    pub text: String,
    /// SHA-256 of `text` (of empty text when the file is missing).
    pub revision: String,
}

#[derive(Debug, Object)]
pub struct DefView {
    pub name: String,
    /// The files fail2ban reads for it, in order (includes and `.local` among them).
    pub files: Vec<String>,
    pub includes: Includes,
    pub definition: BTreeMap<String, DefValue>,
    pub init: BTreeMap<String, DefValue>,
    pub used_by: Vec<String>,
    pub local: DefLocal,
    pub error: Option<String>,
}

pub struct ConfigDefsApi {
    db: DatabaseConnection,
    auth: std::sync::Arc<Auth>,
}

#[derive(Clone, Copy)]
enum Kind {
    Filter,
    Action,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Filter => "filter",
            Kind::Action => "action",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Kind::Filter => "filter.d",
            Kind::Action => "action.d",
        }
    }
}

/// The names a jail's `filter` or `action` value refers to: each line's first word
/// without its `[options]`.
fn referenced(value: &str) -> impl Iterator<Item = &str> {
    value.lines().filter_map(|l| {
        let word = l.split_whitespace().next()?;
        let name = word.split('[').next().unwrap_or(word);
        (!name.is_empty()).then_some(name)
    })
}

fn values(json: &str) -> BTreeMap<String, DefValue> {
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).unwrap_or_default();
    parsed
        .into_iter()
        .map(|(k, v)| {
            let text = |key: &str| v[key].as_str().map(str::to_owned);
            (
                k,
                DefValue {
                    raw: text("raw").unwrap_or_default(),
                    value: text("value"),
                    error: text("error"),
                    file: text("file").unwrap_or_default(),
                    line: v["line"]
                        .as_u64()
                        .and_then(|l| u32::try_from(l).ok())
                        .unwrap_or(0),
                },
            )
        })
        .collect()
}

impl ConfigDefsApi {
    pub fn new(db: DatabaseConnection, auth: std::sync::Arc<Auth>) -> Self {
        Self { db, auth }
    }

    /// Which jails use each name of this kind.
    async fn users(&self, kind: Kind) -> ApiResult<BTreeMap<String, BTreeSet<String>>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for jail in config_tree::jails(&self.db).await? {
            let value = jail.setting_value(kind.word()).unwrap_or_default();
            for name in referenced(&value) {
                out.entry(name.to_owned())
                    .or_default()
                    .insert(jail.name.clone());
            }
        }
        Ok(out)
    }

    async fn root(&self) -> ApiResult<String> {
        config_tree::last_read(&self.db)
            .await?
            .map(|r| r.root)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotReady,
                    "the scheduler has not read fail2ban's configuration yet",
                )
            })
    }

    async fn list(&self, req: &Request, kind: Kind, q: Option<&str>) -> ApiResult<Json<DefList>> {
        self.auth.require(req, Role::Viewer).await?;
        let root = self.root().await?;
        let users = self.users(kind).await?;
        let locals: BTreeSet<String> = config_tree::files(&self.db)
            .await?
            .into_iter()
            .map(|f| f.path)
            .filter(|p| p.ends_with(".local"))
            .collect();
        let q = q.map(str::to_lowercase);
        let items = config_tree::defs(&self.db, kind.word())
            .await?
            .into_iter()
            .filter(|d| {
                q.as_deref()
                    .is_none_or(|q| d.name.to_lowercase().contains(q))
            })
            .map(|d| DefSummary {
                used_by: users
                    .get(&d.name)
                    .map(|u| u.iter().cloned().collect())
                    .unwrap_or_default(),
                has_local: locals.contains(&format!("{root}/{}/{}.local", kind.folder(), d.name)),
                error: d.error,
                name: d.name,
            })
            .collect();
        Ok(Json(DefList { items }))
    }

    async fn one(&self, req: &Request, kind: Kind, name: &str) -> ApiResult<Json<DefView>> {
        self.auth.require(req, Role::Viewer).await?;
        let unknown = || {
            let code = match kind {
                Kind::Filter => ErrorCode::UnknownFilter,
                Kind::Action => ErrorCode::NotFound,
            };
            ApiError::new(
                code,
                format!("no {} {name} in the configuration", kind.word()),
            )
        };
        let name = FilterName::parse(name).map_err(|_| unknown())?;
        let root = self.root().await?;
        let row: DefRow = config_tree::def(&self.db, kind.word(), name.as_str())
            .await?
            .ok_or_else(unknown)?;
        let local_path = format!("{}/{}.local", kind.folder(), name);
        let local = config_tree::file(&self.db, &format!("{root}/{local_path}")).await?;
        let text = local
            .as_ref()
            .and_then(|f| f.content.clone())
            .unwrap_or_default();
        let includes: serde_json::Value = serde_json::from_str(&row.includes).unwrap_or_default();
        let list = |k: &str| -> Vec<String> {
            includes[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let users = self.users(kind).await?;
        Ok(Json(DefView {
            files: serde_json::from_str(&row.files).unwrap_or_default(),
            includes: Includes {
                before: list("before"),
                after: list("after"),
            },
            definition: values(&row.definition),
            init: values(&row.init),
            used_by: users
                .get(name.as_str())
                .map(|u| u.iter().cloned().collect())
                .unwrap_or_default(),
            local: DefLocal {
                path: local_path,
                exists: local.is_some(),
                revision: Revision::of(Some(&text)).to_string(),
                text,
            },
            error: row.error,
            name: row.name,
        }))
    }
}

#[OpenApi(tag = "ApiTags::Config")]
impl ConfigDefsApi {
    /// Every filter of `filter.d/` (`?q=` part of the name), with the jails that use it.
    /// Role: viewer.
    #[oai(
        path = "/config/filters",
        method = "get",
        operation_id = "list_filters"
    )]
    async fn filters(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] q: Query<Option<Text>>,
    ) -> ApiResult<Json<DefList>> {
        self.list(req, Kind::Filter, q.0.as_deref()).await
    }

    /// One filter: files, `[INCLUDES]`, `[Definition]` (`failregex`, `ignoreregex`,
    /// `datepattern`, `prefregex`, …) and `[Init]` with origins and interpolated values,
    /// the jails that use it, and its `.local`. Role: viewer.
    #[oai(
        path = "/config/filters/:name",
        method = "get",
        operation_id = "get_filter"
    )]
    async fn filter(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] name: Path<String>,
    ) -> ApiResult<Json<DefView>> {
        self.one(req, Kind::Filter, &name.0).await
    }

    /// Every action of `action.d/` (`?q=` part of the name), with the jails that use it.
    /// Role: viewer.
    #[oai(
        path = "/config/actions",
        method = "get",
        operation_id = "list_actions"
    )]
    async fn actions(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] q: Query<Option<Text>>,
    ) -> ApiResult<Json<DefList>> {
        self.list(req, Kind::Action, q.0.as_deref()).await
    }

    /// One action: files, `[INCLUDES]`, `[Definition]` (`actionstart`, `actionban`,
    /// `actionunban`, …) and `[Init]` with origins and interpolated values, the jails
    /// that use it, and its `.local`. Role: viewer.
    #[oai(
        path = "/config/actions/:name",
        method = "get",
        operation_id = "get_action"
    )]
    async fn action(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] name: Path<String>,
    ) -> ApiResult<Json<DefView>> {
        self.one(req, Kind::Action, &name.0).await
    }
}
