//! Filters and actions (issue #19), as the scheduler last read them: `GET
//! /config/filters`, `/config/filters/{name}`, `/config/actions`, `/config/actions/{name}`.
//! Each with the files fail2ban reads for it, `[INCLUDES]`, every `[Definition]` and
//! `[Init]` key (raw text, interpolated value, file and line), the jails that use it, and
//! its `.local` override with its revision.
//!
//! Changes are commands through the scheduler's validated write path (admin): `PUT`
//! writes `<name>.local` (keys set or removed, or the whole text), `POST` creates a new
//! `<name>.conf`, `DELETE` removes one BanGUI created and no jail uses. The API refuses
//! what it can see at once (a bad key, a name taken, a file moved on, a jail using it).

use std::collections::{BTreeMap, BTreeSet};

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::commands::Command;
use shared::config_edit::{
    ConfigFile, DefKind, LocalText, Revision, WriteReason, referenced, set_options,
};
use shared::domain::FilterName;
use shared::store::config_revisions;
use shared::store::config_tree::{self, DefRow};

use crate::auth::{Auth, Caller, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::routes::commands::{CommandResponse, parse_wait, submit};
use crate::routes::config::{check_revision, last_read, refused, require_writable};
use crate::text::{Text, WaitText};

/// One key of `[Definition]` or `[Init]`.
#[derive(Debug, Object)]
pub struct DefValue {
    /// As written (the last file that sets it wins).
    pub raw: String,
    /// After interpolation (`%(…)s`); null when it needs something only a jail gives.
    pub value: Option<String>,
    /// `[Definition]` only: the value with `<tag>`s replaced as fail2ban's reader does
    /// (`<__prefix_line>`, `<lt_<logtype>/datepattern>`, …); what fail2ban runs, but for
    /// the tags only a jail or a log line fills (`<HOST>`, `<port>`).
    pub effective: Option<String>,
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
    /// Whether BanGUI created it (`POST`): only those may be deleted.
    pub created_by_bangui: bool,
    pub error: Option<String>,
}

/// A change to a filter's or action's `.local` (`filter.d/<name>.local`): keys of
/// `[Definition]` and `[Init]` set or removed (the rest of the file kept as it is), or
/// the whole text as `raw`; made against `expected_revision` (the `.local`'s revision).
#[derive(Debug, Object)]
#[oai(example)]
pub struct DefChange {
    /// `[Definition]` keys to set (`failregex`, `ignoreregex`, `datepattern`,
    /// `actionban`, …); a value of several lines is one item per line (one regex each).
    pub definition: Option<BTreeMap<String, Text>>,
    /// `[Init]` keys to set.
    pub init: Option<BTreeMap<String, Text>>,
    /// `[Definition]` keys to remove from the `.local`.
    pub unset_definition: Option<Vec<Text>>,
    /// `[Init]` keys to remove from the `.local`.
    pub unset_init: Option<Vec<Text>>,
    /// The whole new text of the `.local` (instead of the keys above).
    pub raw: Option<Text>,
    /// The `.local`'s revision the change was made against (`local.revision`).
    pub expected_revision: Text,
}

impl Example for DefChange {
    fn example() -> Self {
        Self {
            definition: Some(BTreeMap::from([(
                "ignoreregex".to_owned(),
                Text::from("^.*from 192\\.0\\.2\\.10 .*$"),
            )])),
            init: None,
            unset_definition: None,
            unset_init: None,
            raw: None,
            expected_revision: Text::from(Revision::of(None).as_str()),
        }
    }
}

/// A new filter or action, written as `<folder>/<name>.conf`: its `[Definition]` and
/// `[Init]` keys (a new filter includes fail2ban's `common.conf`, so
/// `%(__prefix_line)s` works), or its whole text as `raw`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct NewDef {
    /// 1-64 of `A-Z a-z 0-9 . _ @ -`, starting with a letter or digit; not taken.
    pub name: Text,
    pub definition: Option<BTreeMap<String, Text>>,
    pub init: Option<BTreeMap<String, Text>>,
    pub raw: Option<Text>,
}

impl Example for NewDef {
    fn example() -> Self {
        Self {
            name: Text::from("my-app"),
            definition: Some(BTreeMap::from([(
                "failregex".to_owned(),
                Text::from("^Login failed for .* from <HOST>$"),
            )])),
            init: None,
            raw: None,
        }
    }
}

/// A key of a filter or action file: what configparser reads as one (lower-cased).
fn check_key(field: &str, key: &str) -> ApiResult<String> {
    let ok = (1..=64).contains(&key.len())
        && key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(key.to_lowercase())
    } else {
        Err(refused(
            field,
            format!(
                "{key:?} is not a key BanGUI writes (1-64 of A-Z a-z 0-9 _ - ., starting with a letter or _)"
            ),
        ))
    }
}

/// A value: any text but control characters (a line break separates the lines of a list).
fn check_value(field: &str, key: &str, value: &str) -> ApiResult<String> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(refused(
            field,
            format!("{key}: control characters other than line breaks and tabs are not accepted"),
        ));
    }
    if value.len() > 64 * 1024 {
        return Err(refused(
            field,
            format!("{key}: a value may be at most 64 KiB"),
        ));
    }
    Ok(value.trim().to_owned())
}

/// Applies keys to set and remove, section by section.
fn apply_keys(
    text: &str,
    sets: &[(&str, &Option<BTreeMap<String, Text>>)],
    unsets: &[(&str, &Option<Vec<Text>>)],
) -> ApiResult<String> {
    let mut out = text.to_owned();
    for (section, map) in sets {
        let field = section.to_lowercase();
        let mut changes = Vec::new();
        for (k, v) in map.iter().flatten() {
            let key = check_key(&field, k)?;
            changes.push((key.clone(), Some(check_value(&field, &key, v)?)));
        }
        out = set_options(&out, section, &changes);
    }
    for (section, keys) in unsets {
        let field = format!("unset_{}", section.to_lowercase());
        let mut changes = Vec::new();
        for k in keys.iter().flatten() {
            changes.push((check_key(&field, k)?, None));
        }
        out = set_options(&out, section, &changes);
    }
    Ok(out)
}

pub struct ConfigDefsApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
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
                    effective: text("effective"),
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
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
    ) -> Self {
        Self { db, expiry, auth }
    }

    /// Which jails use each name of this kind.
    async fn users(&self, kind: DefKind) -> ApiResult<BTreeMap<String, BTreeSet<String>>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for jail in config_tree::jails(&self.db).await? {
            let value = jail.setting_value(kind.as_str()).unwrap_or_default();
            for name in referenced(&value) {
                out.entry(name.to_owned())
                    .or_default()
                    .insert(jail.name.clone());
            }
        }
        Ok(out)
    }

    async fn root(&self) -> ApiResult<String> {
        Ok(last_read(&self.db).await?.root)
    }

    async fn list(
        &self,
        req: &Request,
        kind: DefKind,
        q: Option<&str>,
    ) -> ApiResult<Json<DefList>> {
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
        let items = config_tree::defs(&self.db, kind.as_str())
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

    fn unknown(kind: DefKind, name: &str) -> ApiError {
        let code = match kind {
            DefKind::Filter => ErrorCode::UnknownFilter,
            DefKind::Action => ErrorCode::UnknownAction,
        };
        ApiError::new(code, format!("no {kind} {name} in the configuration"))
            .with_details(json!({ "name": name.chars().take(64).collect::<String>() }))
    }

    /// The snapshot's text of a file (`None`: no such file).
    async fn file_text(&self, root: &str, relative: &str) -> ApiResult<Option<String>> {
        Ok(config_tree::file(&self.db, &format!("{root}/{relative}"))
            .await?
            .map(|f| f.content.unwrap_or_default()))
    }

    async fn writable(&self) -> ApiResult<String> {
        let read = last_read(&self.db).await?;
        require_writable(&read)?;
        Ok(read.root.trim_end_matches('/').to_owned())
    }

    async fn queue(
        &self,
        caller: &Caller,
        command: Command,
        wait: Option<&str>,
    ) -> ApiResult<CommandResponse> {
        let wait = parse_wait(wait)?;
        submit(&self.auth, caller, &command, wait, self.expiry).await
    }

    async fn update(
        &self,
        req: &Request,
        kind: DefKind,
        name: &str,
        wait: Option<&str>,
        change: &DefChange,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let name = FilterName::parse(name).map_err(|_| Self::unknown(kind, name))?;
        let root = self.writable().await?;
        if config_tree::def(&self.db, kind.as_str(), name.as_str())
            .await?
            .is_none()
        {
            return Err(Self::unknown(kind, name.as_str()));
        }
        let file = ConfigFile::DefLocal {
            kind,
            name: name.clone(),
        };
        let current = self.file_text(&root, &file.relative()).await?;
        let expected = check_revision(
            &file.relative(),
            &change.expected_revision,
            current.as_deref(),
        )?;
        let structured = change.definition.is_some()
            || change.init.is_some()
            || change.unset_definition.is_some()
            || change.unset_init.is_some();
        let text = match (&change.raw, structured) {
            (Some(_), true) => {
                return Err(refused(
                    "raw",
                    "give either raw or definition/init/unset keys, not both",
                ));
            }
            (None, false) => {
                return Err(refused(
                    "definition",
                    "give definition, init, unset_definition, unset_init or raw",
                ));
            }
            (Some(raw), false) => raw.0.clone(),
            (None, true) => apply_keys(
                current.as_deref().unwrap_or(""),
                &[("Definition", &change.definition), ("Init", &change.init)],
                &[
                    ("Definition", &change.unset_definition),
                    ("Init", &change.unset_init),
                ],
            )?,
        };
        let text = LocalText::parse(text).map_err(|e| refused("raw", e.to_string()))?;
        self.queue(
            &caller,
            Command::FileWrite {
                file,
                text,
                expected_revision: expected,
                reason: WriteReason::Edit,
                restores: None,
            },
            wait,
        )
        .await
    }

    async fn create(
        &self,
        req: &Request,
        kind: DefKind,
        wait: Option<&str>,
        new: &NewDef,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let name = FilterName::parse(new.name.trim()).map_err(|e| {
            ApiError::new(ErrorCode::ConfigRefused, e.to_string())
                .with_details(json!({ "field": "name" }))
        })?;
        let root = self.writable().await?;
        let conf = ConfigFile::DefConf {
            kind,
            name: name.clone(),
        };
        let local = ConfigFile::DefLocal {
            kind,
            name: name.clone(),
        };
        let taken = config_tree::def(&self.db, kind.as_str(), name.as_str())
            .await?
            .is_some()
            || self.file_text(&root, &conf.relative()).await?.is_some()
            || self.file_text(&root, &local.relative()).await?.is_some();
        if taken {
            return Err(ApiError::new(
                ErrorCode::ConfigExists,
                format!("there is a {kind} {name} already; change it with PUT"),
            )
            .with_details(json!({ "name": name.as_str() })));
        }
        let structured = new.definition.is_some() || new.init.is_some();
        let text = match (&new.raw, structured) {
            (Some(_), true) => {
                return Err(refused(
                    "raw",
                    "give either raw or definition/init keys, not both",
                ));
            }
            (Some(raw), false) => raw.0.clone(),
            (None, _) => {
                let has_failregex = new
                    .definition
                    .as_ref()
                    .is_some_and(|d| d.keys().any(|k| k.eq_ignore_ascii_case("failregex")));
                if kind == DefKind::Filter && !has_failregex {
                    return Err(refused(
                        "definition",
                        "a new filter needs a failregex in definition",
                    ));
                }
                let mut head = format!("# {kind} {name}, created with BanGUI.\n");
                if kind == DefKind::Filter {
                    head.push_str("\n[INCLUDES]\nbefore = common.conf\n");
                }
                head.push_str("\n[Definition]\n");
                apply_keys(
                    &head,
                    &[("Definition", &new.definition), ("Init", &new.init)],
                    &[],
                )?
            }
        };
        let text = LocalText::parse(text).map_err(|e| refused("raw", e.to_string()))?;
        self.queue(
            &caller,
            Command::FileWrite {
                file: conf,
                text,
                expected_revision: Revision::of(None),
                reason: WriteReason::Create,
                restores: None,
            },
            wait,
        )
        .await
    }

    async fn delete(
        &self,
        req: &Request,
        kind: DefKind,
        name: &str,
        wait: Option<&str>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let name = FilterName::parse(name).map_err(|_| Self::unknown(kind, name))?;
        self.writable().await?;
        if config_tree::def(&self.db, kind.as_str(), name.as_str())
            .await?
            .is_none()
        {
            return Err(Self::unknown(kind, name.as_str()));
        }
        let users = self.users(kind).await?;
        if let Some(jails) = users.get(name.as_str()).filter(|u| !u.is_empty()) {
            let jails: Vec<&str> = jails.iter().map(String::as_str).collect();
            return Err(ApiError::new(
                ErrorCode::ConfigInUse,
                format!(
                    "{kind} {name} is used by {}; assign another to them first",
                    jails.join(", ")
                ),
            )
            .with_details(json!({ "used_by": jails })));
        }
        let conf = ConfigFile::DefConf {
            kind,
            name: name.clone(),
        };
        if !config_revisions::created_by_bangui(&self.db, &conf.relative()).await? {
            return Err(ApiError::new(
                ErrorCode::ConfigNotOwned,
                format!(
                    "BanGUI did not create {kind} {name}; it deletes only the {kind}s it created"
                ),
            ));
        }
        self.queue(&caller, Command::DefDelete { def: kind, name }, wait)
            .await
    }

    async fn one(&self, req: &Request, kind: DefKind, name: &str) -> ApiResult<Json<DefView>> {
        self.auth.require(req, Role::Viewer).await?;
        let unknown = || Self::unknown(kind, name);
        let name = FilterName::parse(name).map_err(|_| unknown())?;
        let root = self.root().await?;
        let row: DefRow = config_tree::def(&self.db, kind.as_str(), name.as_str())
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
        let created_by_bangui = config_revisions::created_by_bangui(
            &self.db,
            &ConfigFile::DefConf {
                kind,
                name: name.clone(),
            }
            .relative(),
        )
        .await?;
        Ok(Json(DefView {
            created_by_bangui,
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
        self.list(req, DefKind::Filter, q.0.as_deref()).await
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
        self.one(req, DefKind::Filter, &name.0).await
    }

    /// Change a filter's `.local` (`filter.d/<name>.local`): `definition`/`init` keys set,
    /// `unset_*` keys removed, or the whole `raw` text, against `expected_revision`. The
    /// scheduler tests the tree with the change (`fail2ban-client -t`, and fail2ban's own
    /// code loads the filter and compiles its regexes), records a revision, writes the
    /// file atomically, reloads the jails that use it and checks they run; any failure
    /// restores the previous file (`config_rolled_back`). Role: admin.
    #[oai(
        path = "/config/filters/:name",
        method = "put",
        operation_id = "update_filter"
    )]
    async fn update_filter(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] name: Path<String>,
        wait: Query<Option<WaitText>>,
        body: Json<DefChange>,
    ) -> ApiResult<CommandResponse> {
        self.update(req, DefKind::Filter, &name.0, wait.0.as_deref(), &body.0)
            .await
    }

    /// Create a filter as `filter.d/<name>.conf` (409 `config_exists` when the name is
    /// taken); a jail uses it once its `filter` names it (the jail editor). Role: admin.
    #[oai(
        path = "/config/filters",
        method = "post",
        operation_id = "create_filter"
    )]
    async fn create_filter(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
        body: Json<NewDef>,
    ) -> ApiResult<CommandResponse> {
        self.create(req, DefKind::Filter, wait.0.as_deref(), &body.0)
            .await
    }

    /// Delete a filter BanGUI created (`config_not_owned` for any other), with its
    /// `.local`; refused while a jail of the configuration names it (`config_in_use`).
    /// Role: admin.
    #[oai(
        path = "/config/filters/:name",
        method = "delete",
        operation_id = "delete_filter"
    )]
    async fn delete_filter(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] name: Path<String>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.delete(req, DefKind::Filter, &name.0, wait.0.as_deref())
            .await
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
        self.list(req, DefKind::Action, q.0.as_deref()).await
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
        self.one(req, DefKind::Action, &name.0).await
    }

    /// Change an action's `.local` (`action.d/<name>.local`), as for filters: the jails
    /// that use it are reloaded and must run again. Role: admin.
    #[oai(
        path = "/config/actions/:name",
        method = "put",
        operation_id = "update_action"
    )]
    async fn update_action(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] name: Path<String>,
        wait: Query<Option<WaitText>>,
        body: Json<DefChange>,
    ) -> ApiResult<CommandResponse> {
        self.update(req, DefKind::Action, &name.0, wait.0.as_deref(), &body.0)
            .await
    }

    /// Create an action as `action.d/<name>.conf` (`actionstart`, `actionban`,
    /// `actionunban`, … in `definition`; `[Init]` in `init`). Role: admin.
    #[oai(
        path = "/config/actions",
        method = "post",
        operation_id = "create_action"
    )]
    async fn create_action(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
        body: Json<NewDef>,
    ) -> ApiResult<CommandResponse> {
        self.create(req, DefKind::Action, wait.0.as_deref(), &body.0)
            .await
    }

    /// Delete an action BanGUI created, when no jail names it. Role: admin.
    #[oai(
        path = "/config/actions/:name",
        method = "delete",
        operation_id = "delete_action"
    )]
    async fn delete_action(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] name: Path<String>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.delete(req, DefKind::Action, &name.0, wait.0.as_deref())
            .await
    }
}
