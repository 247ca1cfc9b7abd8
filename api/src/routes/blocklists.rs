//! Blocklists (issue #20, ADR 0009): sources of addresses and networks to ban, imported
//! on a schedule or on demand. The API keeps the sources (audited) and serves the import
//! log; downloads, parsing and every fail2ban call happen in the scheduler, through
//! commands (`blocklist_preview`, `blocklist_import`, `blocklist_purge`).

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::blocklist::{
    ClockTime, ImportOutcome, ImportTrigger, InvalidLine, ListFormat, ListKind, Schedule,
    SourceUrl, Weekday,
};
use shared::commands::Command;
use shared::domain::{JailName, TimeZone};
use shared::store::blocklists::{self as store, ImportRow, Removed, SourceFields, SourceRow};
use shared::store::{config_tree, settings};

use crate::auth::{Auth, Caller, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::routes::accounts::Created;
use crate::routes::commands::{CommandResponse, MAX_WAIT, parse_wait, submit};
use crate::text::{JailText, Text, WaitText};
use crate::time::from_epoch_ms;
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ScheduleKind {
    Interval,
    Hourly,
    Daily,
    Weekly,
}

/// When a source is imported, in the instance's time zone: `{kind: "interval",
/// minutes}` (5 to 40 320), `{kind: "hourly", minute}`, `{kind: "daily", at: "HH:MM"}`
/// or `{kind: "weekly", weekday, at: "HH:MM"}`.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ScheduleSpec {
    pub kind: ScheduleKind,
    #[oai(validator(minimum(value = "5"), maximum(value = "40320")))]
    pub minutes: Option<u32>,
    #[oai(validator(minimum(value = "0"), maximum(value = "59")))]
    pub minute: Option<u32>,
    pub weekday: Option<Weekday>,
    /// `HH:MM`, 24-hour.
    #[oai(validator(max_length = 5))]
    pub at: Option<Text>,
}

impl Example for ScheduleSpec {
    fn example() -> Self {
        Self {
            kind: ScheduleKind::Daily,
            minutes: None,
            minute: None,
            weekday: None,
            at: Some(Text("04:30".into())),
        }
    }
}

impl From<Schedule> for ScheduleSpec {
    fn from(s: Schedule) -> Self {
        let mut spec = ScheduleSpec {
            kind: ScheduleKind::Daily,
            minutes: None,
            minute: None,
            weekday: None,
            at: None,
        };
        match s {
            Schedule::Interval { minutes } => {
                spec.kind = ScheduleKind::Interval;
                spec.minutes = Some(minutes);
            }
            Schedule::Hourly { minute } => {
                spec.kind = ScheduleKind::Hourly;
                spec.minute = Some(minute);
            }
            Schedule::Daily { at } => spec.at = Some(Text(at.to_string())),
            Schedule::Weekly { weekday, at } => {
                spec.kind = ScheduleKind::Weekly;
                spec.weekday = Some(weekday);
                spec.at = Some(Text(at.to_string()));
            }
        }
        spec
    }
}

fn refuse(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed, message).with_details(json!({ "field": field }))
}

impl ScheduleSpec {
    fn parse(&self) -> ApiResult<Schedule> {
        let at = || -> ApiResult<ClockTime> {
            let raw = self
                .at
                .as_deref()
                .ok_or_else(|| refuse("schedule.at", "this schedule needs at: \"HH:MM\""))?;
            ClockTime::parse(raw).map_err(|e| refuse("schedule.at", e))
        };
        let schedule = match self.kind {
            ScheduleKind::Interval => Schedule::Interval {
                minutes: self
                    .minutes
                    .ok_or_else(|| refuse("schedule.minutes", "an interval needs minutes"))?,
            },
            ScheduleKind::Hourly => Schedule::Hourly {
                minute: self.minute.unwrap_or(0),
            },
            ScheduleKind::Daily => Schedule::Daily { at: at()? },
            ScheduleKind::Weekly => Schedule::Weekly {
                weekday: self.weekday.ok_or_else(|| {
                    refuse("schedule.weekday", "a weekly schedule needs a weekday")
                })?,
                at: at()?,
            },
        };
        schedule.check().map_err(|e| refuse("schedule", e))?;
        Ok(schedule)
    }
}

/// An invalid line of a list.
#[derive(Debug, Object)]
pub struct InvalidLineView {
    /// The line number (from 1).
    pub line: u64,
    pub text: String,
    pub reason: String,
}

impl From<InvalidLine> for InvalidLineView {
    fn from(l: InvalidLine) -> Self {
        Self {
            line: l.line,
            text: l.text,
            reason: l.reason,
        }
    }
}

/// One import: the import log's row.
#[derive(Debug, Object)]
pub struct ImportView {
    pub id: i64,
    pub source_id: i64,
    pub trigger: ImportTrigger,
    /// `running` until it ends: `applied`, `unchanged` (nothing asked of fail2ban) or
    /// `failed`.
    pub outcome: ImportOutcome,
    /// `fetching`, `applying` (see `done_ops` of `total_ops`) or `done`.
    pub phase: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// The list server's answer (304: unchanged since the last import).
    pub http_status: Option<i32>,
    /// Bytes downloaded.
    pub bytes: Option<i64>,
    /// Distinct valid entries in the list.
    pub entries: Option<i64>,
    /// Entries banned by this import.
    pub added: i64,
    /// Entries unbanned because the list dropped them.
    pub removed: i64,
    /// Entries in the list before and still banned.
    pub unchanged: i64,
    /// Dropped entries left banned because another source or a manual ban holds them.
    pub kept: i64,
    /// Lines that are not an address or network BanGUI bans.
    pub invalid: i64,
    pub invalid_samples: Vec<InvalidLineView>,
    /// Entries skipped because they overlap the allowlist.
    pub allowlisted: i64,
    /// Entries to ban and unban, and how many are done.
    pub total_ops: i64,
    pub done_ops: i64,
    /// Calls made to fail2ban (0 for an unchanged list).
    pub fail2ban_calls: i64,
    /// What else happened (the blocklist jail created, entries banned again).
    pub notes: Vec<String>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub command_id: Option<i64>,
    pub requested_by: Option<String>,
    pub request_id: Option<String>,
}

impl From<ImportRow> for ImportView {
    fn from(r: ImportRow) -> Self {
        let samples: Vec<InvalidLine> = r
            .invalid_samples
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        Self {
            id: r.id,
            source_id: r.source_id,
            trigger: r.trigger(),
            outcome: r.outcome(),
            notes: r.note_list(),
            phase: r.phase,
            started_at: from_epoch_ms(r.started_at_ms),
            finished_at: r.finished_at_ms.map(from_epoch_ms),
            duration_ms: r.finished_at_ms.map(|f| f - r.started_at_ms),
            http_status: r.http_status,
            bytes: r.bytes,
            entries: r.entries,
            added: r.added,
            removed: r.removed,
            unchanged: r.unchanged,
            kept: r.kept,
            invalid: r.invalid,
            invalid_samples: samples.into_iter().map(Into::into).collect(),
            allowlisted: r.allowlisted,
            total_ops: r.total_ops,
            done_ops: r.done_ops,
            fail2ban_calls: r.fail2ban_calls,
            error_code: r.error_code,
            error: r.error,
            command_id: r.command_id,
            requested_by: r.requested_by,
            request_id: r.request_id,
        }
    }
}

#[derive(Debug, Object)]
pub struct ImportList {
    /// Newest first.
    pub items: Vec<ImportView>,
    /// Pass as `before` for the next page; null on the last.
    pub next_before: Option<i64>,
}

/// A blocklist source.
#[derive(Debug, Object)]
pub struct SourceView {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub format: ListKind,
    /// The column holding the address (CSV only, from 1).
    pub csv_column: Option<u16>,
    /// The jail its entries are banned in.
    pub jail: String,
    pub schedule: ScheduleSpec,
    pub enabled: bool,
    /// When it is imported next (null: disabled).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Entries it holds banned in fail2ban now.
    pub entries: i64,
    pub last_import: Option<ImportView>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct SourceList {
    pub items: Vec<SourceView>,
    /// The time zone schedules are read in.
    pub timezone: String,
    /// The jail sources ban into by default (created on the first import when missing).
    pub default_jail: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SourceRequest {
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Text,
    /// `http(s)://…`; the scheduler refuses hosts that resolve to private, loopback,
    /// link-local or metadata addresses (`ssrf_refused`) unless trusted.
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: Text,
    /// Default `plain`.
    pub format: Option<ListKind>,
    /// For `csv`: the column holding the address (from 1).
    #[oai(validator(minimum(value = "1"), maximum(value = "64")))]
    pub csv_column: Option<u16>,
    /// Default: the blocklist jail (`BANGUI_BLOCKLIST_JAIL`).
    pub jail: Option<JailText>,
    /// Default: daily at 04:00.
    pub schedule: Option<ScheduleSpec>,
    /// Default true: the first import runs at once, then on the schedule.
    pub enabled: Option<bool>,
}

impl Example for SourceRequest {
    fn example() -> Self {
        Self {
            name: Text("Spamhaus DROP".into()),
            url: Text("https://www.spamhaus.org/drop/drop.txt".into()),
            format: Some(ListKind::Plain),
            csv_column: None,
            jail: None,
            schedule: Some(ScheduleSpec::example()),
            enabled: Some(true),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SourceChange {
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Option<Text>,
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: Option<Text>,
    pub format: Option<ListKind>,
    #[oai(validator(minimum(value = "1"), maximum(value = "64")))]
    pub csv_column: Option<u16>,
    pub jail: Option<JailText>,
    pub schedule: Option<ScheduleSpec>,
    pub enabled: Option<bool>,
}

impl Example for SourceChange {
    fn example() -> Self {
        Self {
            name: None,
            url: None,
            format: None,
            csv_column: None,
            jail: None,
            schedule: None,
            enabled: Some(false),
        }
    }
}

/// A list to try before it is saved.
#[derive(Debug, Object)]
#[oai(example)]
pub struct PreviewRequest {
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: Text,
    pub format: Option<ListKind>,
    #[oai(validator(minimum(value = "1"), maximum(value = "64")))]
    pub csv_column: Option<u16>,
}

impl Example for PreviewRequest {
    fn example() -> Self {
        Self {
            url: Text("https://www.spamhaus.org/drop/drop.txt".into()),
            format: None,
            csv_column: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum Removal {
    /// Deleted: it had never been imported.
    #[oai(status = 204)]
    Deleted,
    /// `?purge=true`: the source is gone from the API at once; the scheduler unbans its
    /// entries and forgets its import log (the command).
    #[oai(status = 202)]
    Purging(Json<Box<crate::routes::commands::CommandView>>),
}

pub struct BlocklistsApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
    default_jail: JailName,
}

fn format_of(kind: Option<ListKind>, column: Option<u16>) -> ApiResult<ListFormat> {
    ListFormat::new(kind.unwrap_or(ListKind::Plain), column).map_err(|e| refuse("csv_column", e))
}

fn url_of(raw: &str) -> ApiResult<SourceUrl> {
    SourceUrl::parse(raw).map_err(|e| {
        ApiError::new(ErrorCode::SsrfRefused, e).with_details(json!({ "field": "url" }))
    })
}

fn name_of(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(refuse("name", "name must be one line of text"));
    }
    Ok(name.to_owned())
}

impl BlocklistsApi {
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
        default_jail: JailName,
    ) -> Self {
        Self {
            db,
            expiry,
            auth,
            default_jail,
        }
    }

    async fn zone(&self) -> ApiResult<TimeZone> {
        Ok(TimeZone::parse(&settings::timezone(&self.db).await?).unwrap_or(TimeZone::UTC))
    }

    /// The blocklist jail (created on the first import), or a jail the configuration
    /// enables.
    async fn jail(&self, raw: Option<&JailText>) -> ApiResult<String> {
        let Some(raw) = raw else {
            return Ok(self.default_jail.to_string());
        };
        let jail = validate::jail_name(raw)?;
        if jail == self.default_jail {
            return Ok(jail.to_string());
        }
        let known = config_tree::jails(&self.db)
            .await?
            .into_iter()
            .any(|j| j.name == jail.as_str() && j.enabled);
        if !known {
            return Err(ApiError::new(
                ErrorCode::UnknownJail,
                format!(
                    "fail2ban's configuration enables no jail {jail}; use {} (created on the first import) or an enabled jail",
                    self.default_jail
                ),
            )
            .with_details(json!({ "field": "jail" })));
        }
        Ok(jail.to_string())
    }

    async fn views(&self, rows: Vec<SourceRow>) -> ApiResult<Vec<SourceView>> {
        let counts = store::entry_counts(&self.db).await?;
        let mut latest = store::latest_imports(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let format = r.list_format();
                SourceView {
                    id: r.id,
                    entries: counts.get(&r.id).copied().unwrap_or(0),
                    last_import: latest.remove(&r.id).map(Into::into),
                    schedule: r.schedule().into(),
                    name: r.name,
                    url: r.url,
                    format: format.kind,
                    csv_column: format.column,
                    jail: r.jail,
                    enabled: r.enabled,
                    next_run_at: r.next_run_at_ms.filter(|_| r.enabled).map(from_epoch_ms),
                    created_by: r.created_by,
                    created_at: from_epoch_ms(r.created_at_ms),
                    updated_at: from_epoch_ms(r.updated_at_ms),
                }
            })
            .collect())
    }

    /// A source, or 404.
    async fn source(&self, id: i64) -> ApiResult<SourceRow> {
        store::source(&self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no blocklist source {id}")))
    }

    async fn view(&self, id: i64) -> ApiResult<SourceView> {
        let row = self.source(id).await?;
        Ok(self.views(vec![row]).await?.remove(0))
    }

    fn taken(url: &str) -> impl FnOnce(sea_orm::DbErr) -> ApiError + '_ {
        move |e| {
            let e = ApiError::from(e);
            if e.code == ErrorCode::Conflict {
                ApiError::new(
                    ErrorCode::BlocklistExists,
                    format!("a source with the URL {url} exists already"),
                )
                .with_details(json!({ "field": "url" }))
            } else {
                e
            }
        }
    }

    async fn command(
        &self,
        caller: &Caller,
        command: Command,
        wait: Option<&str>,
    ) -> ApiResult<CommandResponse> {
        let wait = parse_wait(wait)?;
        submit(&self.auth, caller, &command, wait, self.expiry).await
    }
}

#[OpenApi(tag = "ApiTags::Blocklists")]
impl BlocklistsApi {
    /// Every blocklist source with its last import, the entries it holds and its next
    /// run. Role: viewer.
    #[oai(path = "/blocklists", method = "get", operation_id = "list_blocklists")]
    async fn list(&self, req: &Request) -> ApiResult<Json<SourceList>> {
        self.auth.require(req, Role::Viewer).await?;
        let rows = store::sources(&self.db).await?;
        Ok(Json(SourceList {
            items: self.views(rows).await?,
            timezone: self.zone().await?.name().to_owned(),
            default_jail: self.default_jail.to_string(),
        }))
    }

    /// Add a source (409 `blocklist_exists` when its URL is listed already). Enabled, its
    /// first import runs at once. Role: operator.
    #[oai(
        path = "/blocklists",
        method = "post",
        operation_id = "create_blocklist"
    )]
    async fn create(
        &self,
        req: &Request,
        body: Json<SourceRequest>,
    ) -> ApiResult<Created<SourceView>> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let b = body.0;
        let fields = SourceFields {
            name: name_of(&b.name)?,
            url: url_of(&b.url)?.to_string(),
            format: format_of(b.format, b.csv_column)?,
            jail: self.jail(b.jail.as_ref()).await?,
            schedule: match &b.schedule {
                Some(s) => s.parse()?,
                None => Schedule::default(),
            },
            enabled: b.enabled.unwrap_or(true),
        };
        let next = if fields.enabled {
            Some(shared::db::db_now_ms(&self.db).await?)
        } else {
            None
        };
        let id = store::create(&self.db, &(&caller).into(), &fields, next)
            .await
            .map_err(Self::taken(&fields.url))?;
        Ok(Created::Created(Json(self.view(id).await?)))
    }

    /// One source. Role: viewer.
    #[oai(
        path = "/blocklists/:id",
        method = "get",
        operation_id = "get_blocklist"
    )]
    async fn get(&self, req: &Request, id: Path<i64>) -> ApiResult<Json<SourceView>> {
        self.auth.require(req, Role::Viewer).await?;
        Ok(Json(self.view(id.0).await?))
    }

    /// Change a source. A new schedule (or enabling it) moves its next run; a new URL or
    /// format reads the list in full at the next import. Role: operator.
    #[oai(
        path = "/blocklists/:id",
        method = "patch",
        operation_id = "change_blocklist"
    )]
    async fn change(
        &self,
        req: &Request,
        id: Path<i64>,
        body: Json<SourceChange>,
    ) -> ApiResult<Json<SourceView>> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let row = self.source(id.0).await?;
        let b = body.0;
        let before = row.list_format();
        let kind = b.format.unwrap_or(before.kind);
        let column = if b.csv_column.is_some() {
            b.csv_column
        } else if kind == ListKind::Csv {
            before.column
        } else {
            None
        };
        let schedule = match &b.schedule {
            Some(s) => s.parse()?,
            None => row.schedule(),
        };
        let fields = SourceFields {
            name: match &b.name {
                Some(n) => name_of(n)?,
                None => row.name.clone(),
            },
            url: match &b.url {
                Some(u) => url_of(u)?.to_string(),
                None => row.url.clone(),
            },
            format: format_of(Some(kind), column)?,
            jail: match &b.jail {
                Some(j) => self.jail(Some(j)).await?,
                None => row.jail.clone(),
            },
            schedule,
            enabled: b.enabled.unwrap_or(row.enabled),
        };
        let next = if !fields.enabled {
            None
        } else if !row.enabled || row.next_run_at_ms.is_none() {
            // Enabled again: import now, then on the schedule.
            Some(shared::db::db_now_ms(&self.db).await?)
        } else if schedule != row.schedule() {
            let now = shared::db::db_now_ms(&self.db).await?;
            Some(schedule.next_after(now, self.zone().await?.tz()))
        } else {
            row.next_run_at_ms
        };
        if !store::update(&self.db, &(&caller).into(), id.0, &fields, next)
            .await
            .map_err(Self::taken(&fields.url))?
        {
            return Err(ApiError::not_found(format!("no blocklist source {}", id.0)));
        }
        Ok(Json(self.view(id.0).await?))
    }

    /// Delete a source. One that was never imported is deleted (204). One with import
    /// history goes only with `purge=true`, which confirms that its import log goes too:
    /// it is gone from the API at once, and the scheduler unbans its entries (those no
    /// other source or manual ban holds) and forgets it (202, the command). Without it,
    /// the source is disabled, not deleted: no more imports, its entries stay banned, and
    /// the answer is 409 `blocklist_has_history` (so no client takes it for deleted).
    /// Role: operator.
    #[oai(
        path = "/blocklists/:id",
        method = "delete",
        operation_id = "delete_blocklist"
    )]
    async fn remove(
        &self,
        req: &Request,
        id: Path<i64>,
        purge: Query<Option<bool>>,
    ) -> ApiResult<Removal> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let purge = purge.0 == Some(true);
        match store::remove(&self.db, &(&caller).into(), id.0, purge).await? {
            Removed::NotFound => Err(ApiError::not_found(format!("no blocklist source {}", id.0))),
            Removed::Deleted => Ok(Removal::Deleted),
            Removed::HasHistory { imports, entries } => Err(ApiError::new(
                ErrorCode::BlocklistHasHistory,
                format!(
                    "blocklist source {} has {imports} imports and holds {entries} banned entries: \
                     it was disabled, not deleted (its entries stay banned); delete it with \
                     ?purge=true to unban them and forget its import log",
                    id.0
                ),
            )
            .with_details(json!({ "imports": imports, "entries": entries, "disabled": true }))),
            Removed::Deleting => {
                let queued = self
                    .command(&caller, Command::BlocklistPurge { source: id.0 }, None)
                    .await?;
                Ok(match queued {
                    CommandResponse::Accepted(view) | CommandResponse::Done(view) => {
                        Removal::Purging(Json(Box::new(view.0)))
                    }
                })
            }
        }
    }

    /// Download and parse a saved source's list without banning anything: the command's
    /// `result` holds `{http_status, bytes, lines, entries, invalid, invalid_samples,
    /// allowlisted, first_entries}` (the first 100). A refused or failed download fails
    /// the command with `ssrf_refused`, `too_large`, `timeout`, `http_status` or
    /// `network_error`. Waits up to `wait` (default 10s). Role: operator.
    #[oai(
        path = "/blocklists/:id/preview",
        method = "post",
        operation_id = "preview_blocklist"
    )]
    async fn preview_source(
        &self,
        req: &Request,
        id: Path<i64>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let row = self.source(id.0).await?;
        let command = Command::BlocklistPreview {
            url: url_of(&row.url)?,
            format: row.list_format(),
        };
        let wait = parse_wait(wait.0.as_deref())?.or(Some(MAX_WAIT));
        submit(&self.auth, &caller, &command, wait, self.expiry).await
    }

    /// Like the preview of a saved source, for a URL and format not saved yet (the
    /// add/edit form's live preview). Role: operator.
    #[oai(
        path = "/blocklists/preview",
        method = "post",
        operation_id = "preview_blocklist_draft"
    )]
    async fn preview_draft(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
        body: Json<PreviewRequest>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let command = Command::BlocklistPreview {
            url: url_of(&body.0.url)?,
            format: format_of(body.0.format, body.0.csv_column)?,
        };
        let wait = parse_wait(wait.0.as_deref())?.or(Some(MAX_WAIT));
        submit(&self.auth, &caller, &command, wait, self.expiry).await
    }

    /// Import a source now (also when disabled): the difference with its previous import
    /// is banned and unbanned in fail2ban, 500 entries a call. The command's `result`
    /// holds the import's counts (`import_id`, `outcome`, `added`, `removed`,
    /// `unchanged`, `invalid`, `allowlisted`, `fail2ban_calls`); follow a long one in
    /// `GET /blocklists/{id}` (`last_import.done_ops` of `total_ops`). Role: operator.
    #[oai(
        path = "/blocklists/:id/import",
        method = "post",
        operation_id = "import_blocklist"
    )]
    async fn import(
        &self,
        req: &Request,
        id: Path<i64>,
        wait: Query<Option<WaitText>>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        self.source(id.0).await?;
        self.command(
            &caller,
            Command::BlocklistImport {
                source: id.0,
                trigger: ImportTrigger::Manual,
            },
            wait.0.as_deref(),
        )
        .await
    }

    /// One source's import log, newest first (`before`: an import id from
    /// `next_before`). Role: viewer.
    #[oai(
        path = "/blocklists/:id/imports",
        method = "get",
        operation_id = "list_blocklist_imports"
    )]
    async fn source_imports(
        &self,
        req: &Request,
        id: Path<i64>,
        before: Query<Option<i64>>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Json<ImportList>> {
        self.auth.require(req, Role::Viewer).await?;
        self.source(id.0).await?;
        self.page(Some(id.0), before.0, limit.0).await
    }

    /// Every source's import log, newest first. Role: viewer.
    #[oai(
        path = "/blocklists/imports",
        method = "get",
        operation_id = "list_all_blocklist_imports"
    )]
    async fn all_imports(
        &self,
        req: &Request,
        before: Query<Option<i64>>,
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<u32>,
    ) -> ApiResult<Json<ImportList>> {
        self.auth.require(req, Role::Viewer).await?;
        self.page(None, before.0, limit.0).await
    }
}

fn default_limit() -> u32 {
    50
}

impl BlocklistsApi {
    async fn page(
        &self,
        source: Option<i64>,
        before: Option<i64>,
        limit: u32,
    ) -> ApiResult<Json<ImportList>> {
        let rows = store::imports(&self.db, source, before, limit + 1).await?;
        let more = rows.len() > limit as usize;
        let items: Vec<ImportView> = rows
            .into_iter()
            .take(limit as usize)
            .map(Into::into)
            .collect();
        let next_before = more.then(|| items.last().map(|i| i.id)).flatten();
        Ok(Json(ImportList { items, next_before }))
    }
}
