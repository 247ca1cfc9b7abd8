//! fail2ban's configuration (ADR 0008, issue #18): every jail as the configuration
//! describes it (active or not, each setting with the file and line it comes from), the
//! jail's `.local` override, and changes to it, which are commands through the
//! scheduler's one validated write path (tested, recorded as a revision, written
//! atomically, reloaded, verified, rolled back). The API reads only the scheduler's
//! snapshot of the tree; it renders a change from the `.local` text stored there and
//! refuses it at once (409 `config_changed`) when the file moved on since the caller's
//! `expected_revision`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::commands::{Command, CommandKind};
use shared::config_edit::{
    self, LocalText, Revision, RevisionState, WriteReason, jail_local_path, set_options,
    unified_diff,
};
use shared::domain::{IpOrNet, JailName};
use shared::store::commands as queue;
use shared::store::{config_revisions, config_tree, snapshots};

use crate::auth::{Auth, Caller, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::commands::{CommandResponse, CommandView, parse_wait, submit};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::text::{JailText, Text, WaitText};
use crate::time::from_epoch_ms;
use crate::validate;

/// One effective setting and where it was set.
#[derive(Debug, Clone, Object)]
pub struct SettingView {
    /// The value as fail2ban uses it (interpolated; booleans `true`/`false`).
    pub value: String,
    /// The file that set it (empty for the values fail2ban adds itself).
    pub file: String,
    /// Its line in that file (0 for values fail2ban adds itself).
    pub line: u32,
}

/// A jail as the configuration describes it.
#[derive(Debug, Object)]
pub struct ConfigJailSummary {
    pub name: String,
    /// Whether the configuration enables it.
    pub enabled: bool,
    /// Whether fail2ban runs it now (per the latest snapshot).
    pub running: bool,
    /// The filter it uses (`sshd`, `sshd[mode=aggressive]`; empty: none).
    pub filter: Option<String>,
    /// The file that decides whether it is enabled (where `enabled` was set last).
    pub file: Option<String>,
    pub maxretry: Option<String>,
    pub findtime: Option<String>,
    pub bantime: Option<String>,
    /// Whether BanGUI's override `jail.d/<name>.local` exists.
    pub has_local: bool,
    /// Keys fail2ban could not read for this jail.
    pub problems: Vec<String>,
}

/// Where the configuration snapshot comes from and whether BanGUI may change it.
#[derive(Debug, Object)]
pub struct ConfigSource {
    /// fail2ban's configuration folder.
    pub root: String,
    pub read_at: DateTime<Utc>,
    /// Why the last read failed (the jails shown are those of the last good read).
    pub error: Option<String>,
    /// False when the scheduler cannot write `jail.d/`: BanGUI is read-only.
    pub writable: bool,
}

#[derive(Debug, Object)]
pub struct ConfigJailList {
    pub items: Vec<ConfigJailSummary>,
    pub source: ConfigSource,
}

/// A jail's override file, the one BanGUI writes.
#[derive(Debug, Object)]
pub struct LocalFileView {
    /// Relative to the configuration folder (`jail.d/sshd.local`).
    pub path: String,
    /// Its text (empty when it does not exist yet).
    pub text: String,
    /// The revision to send back as `expected_revision` (SHA-256 of the text).
    pub revision: String,
    pub exists: bool,
}

#[derive(Debug, Object)]
pub struct ConfigJailView {
    pub name: String,
    pub enabled: bool,
    pub running: bool,
    /// Every jail-level setting fail2ban reads, keyed by its name.
    pub settings: BTreeMap<String, SettingView>,
    pub problems: Vec<String>,
    pub local: LocalFileView,
    pub source: ConfigSource,
}

/// Structured settings; each given key is set in the jail's section of its `.local`.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename_all = "snake_case")]
pub struct JailSettingsInput {
    pub enabled: Option<bool>,
    /// Ports (`ssh`, `http,https`, `8000:8100`).
    pub port: Option<Text>,
    /// A filter under `filter.d` (`sshd`, `sshd[mode=aggressive]`); empty for none.
    pub filter: Option<Text>,
    /// Absolute paths (globs allowed), one log each.
    pub logpath: Option<Vec<Text>>,
    /// `auto`, `polling`, `pyinotify`, `gamin` or `systemd` (with `[options]`).
    pub backend: Option<Text>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub maxretry: Option<i64>,
    /// A fail2ban time: seconds or `10m`, `1h 30m`, `1d`, `1w`…
    pub findtime: Option<Text>,
    /// As `findtime`; `-1` bans forever.
    pub bantime: Option<Text>,
    #[oai(rename = "bantime.increment")]
    pub bantime_increment: Option<bool>,
    #[oai(rename = "bantime.factor")]
    pub bantime_factor: Option<Text>,
    #[oai(rename = "bantime.formula")]
    pub bantime_formula: Option<Text>,
    #[oai(rename = "bantime.multipliers")]
    pub bantime_multipliers: Option<Text>,
    #[oai(rename = "bantime.maxtime")]
    pub bantime_maxtime: Option<Text>,
    #[oai(rename = "bantime.rndtime")]
    pub bantime_rndtime: Option<Text>,
    #[oai(rename = "bantime.overalljails")]
    pub bantime_overalljails: Option<bool>,
    /// Addresses, networks or host names fail2ban never bans in this jail.
    pub ignoreip: Option<Vec<Text>>,
    /// The action lines (one action per line, fail2ban's syntax).
    pub action: Option<Text>,
}

/// The keys `unset` may name: the structured ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SettingKey {
    #[oai(rename = "enabled")]
    Enabled,
    #[oai(rename = "port")]
    Port,
    #[oai(rename = "filter")]
    Filter,
    #[oai(rename = "logpath")]
    Logpath,
    #[oai(rename = "backend")]
    Backend,
    #[oai(rename = "maxretry")]
    Maxretry,
    #[oai(rename = "findtime")]
    Findtime,
    #[oai(rename = "bantime")]
    Bantime,
    #[oai(rename = "bantime.increment")]
    BantimeIncrement,
    #[oai(rename = "bantime.factor")]
    BantimeFactor,
    #[oai(rename = "bantime.formula")]
    BantimeFormula,
    #[oai(rename = "bantime.multipliers")]
    BantimeMultipliers,
    #[oai(rename = "bantime.maxtime")]
    BantimeMaxtime,
    #[oai(rename = "bantime.rndtime")]
    BantimeRndtime,
    #[oai(rename = "bantime.overalljails")]
    BantimeOveralljails,
    #[oai(rename = "ignoreip")]
    Ignoreip,
    #[oai(rename = "action")]
    Action,
}

impl SettingKey {
    fn as_str(self) -> &'static str {
        match self {
            SettingKey::Enabled => "enabled",
            SettingKey::Port => "port",
            SettingKey::Filter => "filter",
            SettingKey::Logpath => "logpath",
            SettingKey::Backend => "backend",
            SettingKey::Maxretry => "maxretry",
            SettingKey::Findtime => "findtime",
            SettingKey::Bantime => "bantime",
            SettingKey::BantimeIncrement => "bantime.increment",
            SettingKey::BantimeFactor => "bantime.factor",
            SettingKey::BantimeFormula => "bantime.formula",
            SettingKey::BantimeMultipliers => "bantime.multipliers",
            SettingKey::BantimeMaxtime => "bantime.maxtime",
            SettingKey::BantimeRndtime => "bantime.rndtime",
            SettingKey::BantimeOveralljails => "bantime.overalljails",
            SettingKey::Ignoreip => "ignoreip",
            SettingKey::Action => "action",
        }
    }
}

/// A change to a jail's `.local`: structured (`settings` and/or `unset`) or the whole
/// text (`raw`), made against `expected_revision`.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct JailChange {
    /// The `local.revision` the change was made against (409 `config_changed` when the
    /// file moved on).
    #[oai(validator(pattern = "^[0-9a-f]{64}$"))]
    pub expected_revision: String,
    pub settings: Option<JailSettingsInput>,
    /// Keys to remove from the override (their `.conf` values apply again).
    pub unset: Option<Vec<SettingKey>>,
    /// The whole new text of the `.local` (instead of `settings`/`unset`).
    #[oai(validator(max_length = 524288))]
    pub raw: Option<Text>,
}

/// A dry run of a change.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ValidateRequest {
    pub jail: JailText,
    #[oai(flatten)]
    pub change: JailChange,
}

impl Example for JailChange {
    fn example() -> Self {
        Self {
            expected_revision: Revision::of(None).to_string(),
            settings: Some(JailSettingsInput {
                enabled: Some(true),
                maxretry: Some(5),
                bantime: Some("1h".into()),
                ..Default::default()
            }),
            unset: None,
            raw: None,
        }
    }
}

impl Example for ValidateRequest {
    fn example() -> Self {
        Self {
            jail: "sshd".into(),
            change: JailChange::example(),
        }
    }
}

#[derive(Debug, Object)]
pub struct ValidateView {
    pub path: String,
    /// The file as the change would write it.
    pub text: String,
    /// Against the current file (empty: no change).
    pub diff: String,
    /// The `fail2ban-client -t` run on a copy of the tree: when it succeeded,
    /// `result.output` is what fail2ban said; when it failed, `error` is.
    pub test: CommandView,
}

/// A write of a configuration file.
#[derive(Debug, Object)]
pub struct RevisionSummary {
    pub id: i64,
    pub path: String,
    pub jail: Option<String>,
    pub reason: WriteReason,
    pub state: RevisionState,
    pub author: Option<String>,
    pub request_id: Option<String>,
    pub command_id: Option<i64>,
    /// Why it was rolled back, in fail2ban's words.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What BanGUI did when fail2ban stopped after this change (an alert until
    /// acknowledged).
    pub alert: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct AlertList {
    /// Rollbacks after fail2ban stopped, not acknowledged yet, newest first.
    pub items: Vec<RevisionSummary>,
}

#[derive(Debug, Object)]
pub struct RevisionPage {
    pub items: Vec<RevisionSummary>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Object)]
pub struct RevisionView {
    #[oai(flatten)]
    pub summary: RevisionSummary,
    /// The file before (empty when it did not exist).
    pub previous_content: String,
    pub previous_existed: bool,
    /// The file as written.
    pub content: String,
    pub diff: String,
}

/// Which side of a revision a restore brings back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RestoreSide {
    /// The content the revision wrote.
    After,
    /// The content it replaced (undo).
    Before,
}

fn summary(r: &config_revisions::RevisionRow) -> RevisionSummary {
    RevisionSummary {
        id: r.id,
        path: r.path.clone(),
        jail: r.jail.clone(),
        reason: r.reason,
        state: r.state,
        author: r.author.clone(),
        request_id: r.request_id.clone(),
        command_id: r.command_id,
        error: r.error.clone(),
        created_at: from_epoch_ms(r.created_at_ms),
        finished_at: r.finished_at_ms.map(from_epoch_ms),
        alert: r.alert.clone(),
        acknowledged_by: r.acknowledged_by.clone(),
        acknowledged_at: r.acknowledged_at_ms.map(from_epoch_ms),
    }
}

pub(crate) fn refused(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ConfigRefused, message).with_details(json!({ "field": field }))
}

/// A line of a value: no newline (a newline would start another key).
fn one_line(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let v = value.trim();
    if v.contains(['\n', '\r']) {
        return Err(refused(field, format!("{field} must be one line")));
    }
    if v.chars().count() > max {
        return Err(refused(
            field,
            format!("{field} may be at most {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

fn matches_all(value: &str, ok: impl Fn(char) -> bool) -> bool {
    value.chars().all(ok)
}

/// fail2ban's time syntax (`str2seconds`): `-1`, or numbers each with an optional unit.
pub fn is_fail2ban_time(value: &str) -> bool {
    shared::server_settings::fail2ban_seconds(value).is_some()
}

/// The structured settings as `(key, value)` lines for the `.local`, every value checked.
fn render_settings(s: &JailSettingsInput) -> ApiResult<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut put = |k: &str, v: String| out.push((k.to_owned(), Some(v)));
    let bool_text = |b: bool| if b { "true" } else { "false" }.to_owned();
    if let Some(b) = s.enabled {
        put("enabled", bool_text(b));
    }
    if let Some(v) = &s.port {
        let v = one_line("port", v, 200)?;
        if v.is_empty() || !matches_all(&v, |c| c.is_ascii_alphanumeric() || ":,- ".contains(c)) {
            return Err(refused(
                "port",
                "port: names or numbers, separated by , and ranges with :",
            ));
        }
        put("port", v);
    }
    if let Some(v) = &s.filter {
        let v = one_line("filter", v, 500)?;
        let (name, args) = v
            .split_once('[')
            .map_or((v.as_str(), None), |(n, a)| (n, Some(a)));
        let name_ok = matches_all(name, |c| c.is_ascii_alphanumeric() || "._@-".contains(c))
            && !name.starts_with('.');
        let args_ok = args.is_none_or(|a| a.ends_with(']') && !a.contains(['<', '>']));
        if !name_ok || !args_ok {
            return Err(refused(
                "filter",
                "filter: a name under filter.d, optionally with [options]",
            ));
        }
        put("filter", v);
    }
    if let Some(paths) = &s.logpath {
        if paths.is_empty() || paths.len() > 100 {
            return Err(refused("logpath", "logpath: 1 to 100 paths"));
        }
        let mut lines = Vec::new();
        for p in paths {
            let p = one_line("logpath", p, 4096)?;
            if !p.starts_with('/') {
                return Err(refused(
                    "logpath",
                    format!("logpath: {p:?} is not an absolute path"),
                ));
            }
            lines.push(p);
        }
        put("logpath", lines.join("\n"));
    }
    if let Some(v) = &s.backend {
        let v = one_line("backend", v, 500)?;
        let name = v.split('[').next().unwrap_or("");
        if !["auto", "polling", "pyinotify", "gamin", "systemd"].contains(&name)
            || (v.contains('[') && !v.ends_with(']'))
        {
            return Err(refused(
                "backend",
                "backend: auto, polling, pyinotify, gamin or systemd[…]",
            ));
        }
        put("backend", v);
    }
    if let Some(n) = s.maxretry {
        put("maxretry", n.to_string());
    }
    for (key, value) in [
        ("findtime", &s.findtime),
        ("bantime", &s.bantime),
        ("bantime.maxtime", &s.bantime_maxtime),
        ("bantime.rndtime", &s.bantime_rndtime),
    ] {
        if let Some(v) = value {
            let v = one_line(key, v, 64)?;
            if !is_fail2ban_time(&v) {
                return Err(refused(
                    key,
                    format!("{key}: {v:?} is not a fail2ban time (600, 10m, 1h 30m, 1d, -1)"),
                ));
            }
            put(key, v);
        }
    }
    for (key, value) in [
        ("bantime.increment", s.bantime_increment),
        ("bantime.overalljails", s.bantime_overalljails),
    ] {
        if let Some(b) = value {
            put(key, bool_text(b));
        }
    }
    if let Some(v) = &s.bantime_factor {
        let v = one_line("bantime.factor", v, 32)?;
        if v.parse::<f64>()
            .map_or(true, |f| !f.is_finite() || f <= 0.0)
        {
            return Err(refused(
                "bantime.factor",
                "bantime.factor: a positive number",
            ));
        }
        put("bantime.factor", v);
    }
    if let Some(v) = &s.bantime_multipliers {
        let v = one_line("bantime.multipliers", v, 500)?;
        if v.is_empty() || !v.split_whitespace().all(|w| w.parse::<u64>().is_ok()) {
            return Err(refused(
                "bantime.multipliers",
                "bantime.multipliers: whole numbers separated by spaces",
            ));
        }
        put("bantime.multipliers", v);
    }
    if let Some(v) = &s.bantime_formula {
        let v = one_line("bantime.formula", v, 500)?;
        put("bantime.formula", v);
    }
    if let Some(list) = &s.ignoreip {
        let mut words = Vec::new();
        for raw in list {
            let w = one_line("ignoreip", raw, 253)?;
            let host = !w.is_empty()
                && matches_all(&w, |c| c.is_ascii_alphanumeric() || ".-".contains(c))
                && !w.starts_with('-');
            if IpOrNet::parse_any(&w).is_err() && !host {
                return Err(refused(
                    "ignoreip",
                    format!("ignoreip: {w:?} is not an address, a network or a host name"),
                ));
            }
            words.push(w);
        }
        put("ignoreip", words.join(" "));
    }
    if let Some(v) = &s.action {
        if v.chars().count() > 8000 {
            return Err(refused("action", "action may be at most 8000 characters"));
        }
        put("action", v.trim().to_owned());
    }
    Ok(out)
}

/// The new text of a jail's `.local` for a change.
pub fn render_change(jail: &str, current: &str, change: &JailChange) -> ApiResult<String> {
    let structured = change.settings.is_some() || change.unset.is_some();
    let text = match (&change.raw, structured) {
        (Some(_), true) => {
            return Err(refused(
                "raw",
                "give either raw or settings/unset, not both",
            ));
        }
        (None, false) => {
            return Err(refused("settings", "give settings, unset or raw"));
        }
        (Some(raw), false) => raw.0.clone(),
        (None, true) => {
            let mut changes = match &change.settings {
                Some(s) => render_settings(s)?,
                None => Vec::new(),
            };
            for key in change.unset.iter().flatten() {
                if changes.iter().any(|(k, _)| k == key.as_str()) {
                    return Err(refused(
                        key.as_str(),
                        format!("{} is both set and unset", key.as_str()),
                    ));
                }
                changes.push((key.as_str().to_owned(), None));
            }
            set_options(current, jail, &changes)
        }
    };
    config_edit::check_text(&text).map_err(|e| refused("raw", e.to_string()))?;
    Ok(text)
}

/// The scheduler's last read of fail2ban's tree (503 `not_ready` before its first).
pub(crate) async fn last_read(db: &DatabaseConnection) -> ApiResult<config_tree::ReadRow> {
    config_tree::last_read(db).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotReady,
            "the scheduler has not read fail2ban's configuration yet",
        )
    })
}

/// Refuses a change where the scheduler cannot write the tree (409 `config_read_only`).
pub(crate) fn require_writable(read: &config_tree::ReadRow) -> ApiResult<()> {
    if read.writable {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::ConfigReadOnly,
            format!(
                "the scheduler cannot write {}: BanGUI shows the configuration read-only",
                read.root
            ),
        ))
    }
}

/// The revision a change was made against, when the file (as the snapshot has it) is
/// still at it; 409 `config_changed` with the current one otherwise.
pub(crate) fn check_revision(
    path: &str,
    expected: &str,
    current: Option<&str>,
) -> ApiResult<Revision> {
    let expected =
        Revision::parse(expected).map_err(|e| refused("expected_revision", e.to_string()))?;
    let on_record = Revision::of(current);
    if expected != on_record {
        return Err(ApiError::new(
            ErrorCode::ConfigChanged,
            format!(
                "{path} changed since revision {expected}; reload it and make the change again"
            ),
        )
        .with_details(json!({ "path": path, "revision": on_record.as_str() })));
    }
    Ok(expected)
}

pub struct ConfigApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
}

/// A new text for a jail's override, made against a revision.
struct Change {
    text: String,
    expected: String,
    reason: WriteReason,
    restores: Option<i64>,
}

/// A jail's configuration and override, from the snapshot.
struct Current {
    jail: JailName,
    row: config_tree::JailRow,
    read: config_tree::ReadRow,
    local_path: String,
    local: Option<String>,
}

impl ConfigApi {
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
    ) -> Self {
        Self { db, expiry, auth }
    }

    async fn source(&self) -> ApiResult<config_tree::ReadRow> {
        last_read(&self.db).await
    }

    async fn current(&self, name: &str) -> ApiResult<Current> {
        let jail = validate::jail_name(name)?;
        let read = self.source().await?;
        let row = config_tree::jail(&self.db, jail.as_str())
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::UnknownJail,
                    format!("fail2ban's configuration has no jail {jail}"),
                )
                .with_details(json!({ "jail": jail.as_str() }))
            })?;
        let local_path = jail_local_path(jail.as_str());
        let full = format!("{}/{local_path}", read.root.trim_end_matches('/'));
        let local = config_tree::file(&self.db, &full)
            .await?
            .map(|f| f.content.unwrap_or_default());
        Ok(Current {
            jail,
            row,
            read,
            local_path,
            local,
        })
    }

    fn running_names(rows: &[snapshots::JailRow]) -> std::collections::HashSet<String> {
        rows.iter()
            .filter(|j| j.running)
            .map(|j| j.name.clone())
            .collect()
    }

    /// Queues a write of `text` made against `expected`, after the checks the API can make.
    async fn write(
        &self,
        caller: &Caller,
        current: &Current,
        change: Change,
        wait: Option<std::time::Duration>,
    ) -> ApiResult<CommandResponse> {
        let Change {
            text,
            expected,
            reason,
            restores,
        } = change;
        require_writable(&current.read)?;
        let expected = check_revision(&current.local_path, &expected, current.local.as_deref())?;
        let text = LocalText::parse(text).map_err(|e| refused("raw", e.to_string()))?;
        let command = Command::ConfigWrite {
            jail: current.jail.clone(),
            text,
            expected_revision: expected,
            reason,
            restores,
        };
        match submit(&self.auth, caller, &command, wait, self.expiry).await {
            Err(e) if e.code == ErrorCode::Conflict => {
                // The write in flight may be one nobody picked up in time (no scheduler):
                // reading it fails it when it is past the expiry, and then this one goes.
                if let Some(id) = queue::in_flight(&self.db, CommandKind::ConfigWrite).await? {
                    queue::load(&self.db, id, self.expiry).await?;
                }
                submit(&self.auth, caller, &command, wait, self.expiry)
                    .await
                    .map_err(|e| in_flight(e, &current.local_path))
            }
            other => other,
        }
    }
}

/// One configuration write at a time (a unique index on in-flight `config_write`
/// commands): a second one is refused while the first is pending or running.
fn in_flight(e: ApiError, path: &str) -> ApiError {
    // A unique violation is the only `conflict` a command insert can meet.
    if e.code == ErrorCode::Conflict {
        ApiError::new(
            ErrorCode::ConfigChanged,
            "another configuration change is being applied; reload and try again when it ends",
        )
        .with_details(json!({ "path": path }))
    } else {
        e
    }
}

fn source_view(read: &config_tree::ReadRow) -> ConfigSource {
    ConfigSource {
        root: read.root.clone(),
        read_at: from_epoch_ms(read.read_at_ms),
        error: read.error.clone(),
        writable: read.writable,
    }
}

fn settings_of(row: &config_tree::JailRow) -> BTreeMap<String, SettingView> {
    serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&row.settings)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                SettingView {
                    value: v["value"].as_str().unwrap_or_default().to_owned(),
                    file: v["file"].as_str().unwrap_or_default().to_owned(),
                    line: v["line"]
                        .as_u64()
                        .and_then(|l| u32::try_from(l).ok())
                        .unwrap_or(0),
                },
            )
        })
        .collect()
}

fn problems_of(row: &config_tree::JailRow) -> Vec<String> {
    serde_json::from_str(&row.problems).unwrap_or_default()
}

#[OpenApi(tag = "ApiTags::Config")]
impl ConfigApi {
    /// Every jail the configuration describes, enabled or not, with where it is enabled
    /// and its main settings; `enabled` and `q` (part of the name) filter. Role: viewer.
    #[oai(
        path = "/config/jails",
        method = "get",
        operation_id = "list_config_jails"
    )]
    async fn list(
        &self,
        req: &Request,
        enabled: Query<Option<bool>>,
        #[oai(validator(max_length = 64))] q: Query<Option<Text>>,
    ) -> ApiResult<Json<ConfigJailList>> {
        self.auth.require(req, Role::Viewer).await?;
        let read = self.source().await?;
        let running = Self::running_names(&snapshots::jails(&self.db).await?);
        let root = read.root.trim_end_matches('/').to_owned();
        let locals: std::collections::HashSet<String> = config_tree::files(&self.db)
            .await?
            .into_iter()
            .filter_map(|f| f.path.strip_prefix(&format!("{root}/")).map(str::to_owned))
            .collect();
        let needle =
            q.0.as_deref()
                .map(|s| s.trim().to_lowercase())
                .unwrap_or_default();
        let items = config_tree::jails(&self.db)
            .await?
            .into_iter()
            .filter(|j| enabled.0.is_none_or(|e| e == j.enabled))
            .filter(|j| needle.is_empty() || j.name.to_lowercase().contains(&needle))
            .map(|j| {
                let settings = settings_of(&j);
                let value = |k: &str| settings.get(k).map(|s| s.value.clone());
                ConfigJailSummary {
                    running: running.contains(&j.name),
                    filter: value("filter"),
                    file: settings
                        .get("enabled")
                        .map(|s| s.file.clone())
                        .filter(|f| !f.is_empty()),
                    maxretry: value("maxretry"),
                    findtime: value("findtime"),
                    bantime: value("bantime"),
                    has_local: locals.contains(&jail_local_path(&j.name)),
                    problems: problems_of(&j),
                    enabled: j.enabled,
                    name: j.name,
                }
            })
            .collect();
        Ok(Json(ConfigJailList {
            items,
            source: source_view(&read),
        }))
    }

    /// One jail as the configuration describes it: every setting with the file and line
    /// it comes from, and its override file with the revision to edit against. Role: viewer.
    #[oai(
        path = "/config/jails/:name",
        method = "get",
        operation_id = "get_config_jail"
    )]
    async fn get(&self, req: &Request, name: Path<JailText>) -> ApiResult<Json<ConfigJailView>> {
        self.auth.require(req, Role::Viewer).await?;
        let c = self.current(&name.0).await?;
        let running = snapshots::jail(&self.db, &c.jail)
            .await?
            .is_some_and(|j| j.running);
        Ok(Json(ConfigJailView {
            name: c.row.name.clone(),
            enabled: c.row.enabled,
            running,
            settings: settings_of(&c.row),
            problems: problems_of(&c.row),
            local: LocalFileView {
                path: c.local_path.clone(),
                revision: Revision::of(c.local.as_deref()).to_string(),
                exists: c.local.is_some(),
                text: c.local.clone().unwrap_or_default(),
            },
            source: source_view(&c.read),
        }))
    }

    /// Change a jail's override (`jail.d/<name>.local`): structured `settings`/`unset`
    /// or the whole `raw` text, against `expected_revision`. The scheduler tests the
    /// change with `fail2ban-client -t`, records a revision, writes the file atomically,
    /// reloads the jail and checks it runs as written; any failure restores the previous
    /// file (`config_rolled_back`, with fail2ban's words). 409 `config_changed` when the
    /// file moved on or another change is being applied. Role: admin.
    #[oai(
        path = "/config/jails/:name",
        method = "put",
        operation_id = "update_config_jail"
    )]
    async fn update(
        &self,
        req: &Request,
        name: Path<JailText>,
        wait: Query<Option<WaitText>>,
        body: Json<JailChange>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        let c = self.current(&name.0).await?;
        let current_text = c.local.clone().unwrap_or_default();
        let text = render_change(c.jail.as_str(), &current_text, &body.0)?;
        let change = Change {
            text,
            expected: body.0.expected_revision.clone(),
            reason: WriteReason::Edit,
            restores: None,
        };
        self.write(&caller, &c, change, wait).await
    }

    /// Enable a jail in its override and start it; rolled back when fail2ban cannot run
    /// it (a missing log file, an unknown filter). Role: admin.
    #[oai(
        path = "/config/jails/:name/activate",
        method = "post",
        operation_id = "activate_config_jail"
    )]
    async fn activate(
        &self,
        req: &Request,
        name: Path<JailText>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.switch(req, &name.0, wait.0.as_deref(), true).await
    }

    /// Disable a jail in its override and stop it. Role: admin.
    #[oai(
        path = "/config/jails/:name/deactivate",
        method = "post",
        operation_id = "deactivate_config_jail"
    )]
    async fn deactivate(
        &self,
        req: &Request,
        name: Path<JailText>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        self.switch(req, &name.0, wait.0.as_deref(), false).await
    }

    /// A dry run: the file a change would write, its diff, and what
    /// `fail2ban-client -t` says of the tree with it (on a copy; nothing is written).
    /// Waits for the test up to `wait` (default 10s). Role: admin.
    #[oai(
        path = "/config/validate",
        method = "post",
        operation_id = "validate_config"
    )]
    async fn validate(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
        body: Json<ValidateRequest>,
    ) -> ApiResult<Json<ValidateView>> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait.0.as_deref())?.or(Some(crate::routes::commands::MAX_WAIT));
        let c = self.current(&body.0.jail).await?;
        let current_text = c.local.clone().unwrap_or_default();
        let text = render_change(c.jail.as_str(), &current_text, &body.0.change)?;
        let diff = unified_diff(&current_text, &text, &c.local_path);
        let local = LocalText::parse(text.clone()).map_err(|e| refused("raw", e.to_string()))?;
        let command = Command::ConfigTest {
            jail: c.jail.clone(),
            text: local,
        };
        let test = match submit(&self.auth, &caller, &command, wait, self.expiry).await? {
            CommandResponse::Accepted(Json(v)) | CommandResponse::Done(Json(v)) => v,
        };
        Ok(Json(ValidateView {
            path: c.local_path,
            text,
            diff,
            test,
        }))
    }

    /// Writes of configuration files, newest first; `file` narrows to one
    /// (`jail.d/sshd.local`). Role: viewer.
    #[oai(
        path = "/config/revisions",
        method = "get",
        operation_id = "list_config_revisions"
    )]
    async fn revisions(
        &self,
        req: &Request,
        #[oai(validator(max_length = 300))] file: Query<Option<Text>>,
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
    ) -> ApiResult<Json<RevisionPage>> {
        self.auth.require(req, Role::Viewer).await?;
        let offset = u64::from(page.0 - 1) * u64::from(page_size.0);
        let path = file.0.as_deref().map(str::trim).filter(|f| !f.is_empty());
        let (rows, total) = config_revisions::page(&self.db, path, page_size.0, offset).await?;
        Ok(Json(RevisionPage {
            items: rows.iter().map(summary).collect(),
            total,
            page: page.0,
            page_size: page_size.0,
        }))
    }

    /// One revision: the file before and after, and the diff between them. Role: viewer.
    #[oai(
        path = "/config/revisions/:id",
        method = "get",
        operation_id = "get_config_revision"
    )]
    async fn revision(&self, req: &Request, id: Path<i64>) -> ApiResult<Json<RevisionView>> {
        self.auth.require(req, Role::Viewer).await?;
        let r = self.load_revision(id.0).await?;
        let before = r.previous_content.clone().unwrap_or_default();
        let after = r.content.clone().unwrap_or_default();
        Ok(Json(RevisionView {
            summary: summary(&r),
            diff: unified_diff(&before, &after, &r.path),
            previous_existed: r.previous_content.is_some(),
            previous_content: before,
            content: after,
        }))
    }

    /// Changes BanGUI rolled back because fail2ban stopped after them, until an admin
    /// acknowledges them (the UI shows them as a banner). Role: viewer.
    #[oai(
        path = "/config/alerts",
        method = "get",
        operation_id = "list_config_alerts"
    )]
    async fn alerts(&self, req: &Request) -> ApiResult<Json<AlertList>> {
        self.auth.require(req, Role::Viewer).await?;
        let rows = config_revisions::open_alerts(&self.db).await?;
        Ok(Json(AlertList {
            items: rows.iter().map(summary).collect(),
        }))
    }

    /// Acknowledge an alert: the banner goes away (audited). Role: admin.
    #[oai(
        path = "/config/alerts/:id/acknowledge",
        method = "post",
        operation_id = "acknowledge_config_alert"
    )]
    async fn acknowledge(&self, req: &Request, id: Path<i64>) -> ApiResult<Json<RevisionSummary>> {
        let caller = self.auth.require(req, Role::Admin).await?;
        if !config_revisions::acknowledge(&self.db, &(&caller).into(), id.0).await? {
            return Err(ApiError::not_found(format!("no open alert {}", id.0)));
        }
        Ok(Json(summary(&self.load_revision(id.0).await?)))
    }

    /// Write a revision's content back (`side=after`, the default) or the content it
    /// replaced (`side=before`: undo), through the same validated path. Role: admin.
    #[oai(
        path = "/config/revisions/:id/restore",
        method = "post",
        operation_id = "restore_config_revision"
    )]
    async fn restore(
        &self,
        req: &Request,
        id: Path<i64>,
        side: Query<Option<RestoreSide>>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait.0.as_deref())?;
        let r = self.load_revision(id.0).await?;
        let side = side.0.unwrap_or(RestoreSide::After);
        let Some(jail) = r.jail.as_deref() else {
            return self.restore_file(&caller, &r, side, wait).await;
        };
        let c = self.current(jail).await?;
        let text = match side {
            RestoreSide::After => r.content.clone(),
            RestoreSide::Before => r.previous_content.clone(),
        }
        .unwrap_or_default();
        let expected = Revision::of(c.local.as_deref()).to_string();
        let change = Change {
            text,
            expected,
            reason: WriteReason::Restore,
            restores: Some(r.id),
        };
        self.write(&caller, &c, change, wait).await
    }
}

impl ConfigApi {
    /// Restores a revision of a filter's, action's or fail2ban's own file.
    async fn restore_file(
        &self,
        caller: &Caller,
        r: &config_revisions::RevisionRow,
        side: RestoreSide,
        wait: Option<std::time::Duration>,
    ) -> ApiResult<CommandResponse> {
        let file = shared::config_edit::ConfigFile::from_relative(&r.path)
            .ok_or_else(|| refused("id", format!("BanGUI does not write {}", r.path)))?;
        let text = match side {
            RestoreSide::After => r.content.clone(),
            RestoreSide::Before => r.previous_content.clone(),
        }
        .ok_or_else(|| {
            refused(
                "side",
                format!(
                    "{} did not exist then; delete the filter or action instead",
                    r.path
                ),
            )
        })?;
        let read = self.source().await?;
        require_writable(&read)?;
        let full = format!("{}/{}", read.root.trim_end_matches('/'), r.path);
        let current = config_tree::file(&self.db, &full)
            .await?
            .map(|f| f.content.unwrap_or_default());
        let text = LocalText::parse(text).map_err(|e| refused("raw", e.to_string()))?;
        let command = Command::FileWrite {
            file,
            text,
            expected_revision: Revision::of(current.as_deref()),
            reason: WriteReason::Restore,
            restores: Some(r.id),
        };
        submit(&self.auth, caller, &command, wait, self.expiry).await
    }

    async fn load_revision(&self, id: i64) -> ApiResult<config_revisions::RevisionRow> {
        config_revisions::get(&self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no revision {id}")))
    }

    async fn switch(
        &self,
        req: &Request,
        name: &str,
        wait: Option<&str>,
        on: bool,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let wait = parse_wait(wait)?;
        let c = self.current(name).await?;
        let current_text = c.local.clone().unwrap_or_default();
        let text = set_options(
            &current_text,
            c.jail.as_str(),
            &[("enabled".to_owned(), Some(on.to_string()))],
        );
        let expected = Revision::of(c.local.as_deref()).to_string();
        let reason = if on {
            WriteReason::Activate
        } else {
            WriteReason::Deactivate
        };
        let change = Change {
            text,
            expected,
            reason,
            restores: None,
        };
        self.write(&caller, &c, change, wait).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail2ban_times_are_told_from_other_text() {
        for ok in [
            "600", "10m", "1h 30m", "1d", "-1", "1w", "2mo", "1.5h", "1y", "3600s",
        ] {
            assert!(is_fail2ban_time(ok), "{ok}");
        }
        for bad in ["", "ten", "1x", "-2", "m", "1h;rm", "%(bantime)s"] {
            assert!(!is_fail2ban_time(bad), "{bad}");
        }
    }
}
