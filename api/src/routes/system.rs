//! The admin's view of the instance: its settings (time zone, session length, history
//! retention; stored in the database, read on use, so a change needs no restart) and the
//! System page (the scheduler's leader and standbys, job runs, the fail2ban connection,
//! the schema, the versions of both binaries, the browser's error reports).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use shared::domain::{JobName, TimeZone};
use shared::lease::{SCHEDULER_LEASE, read_lease};
use shared::store::settings::{self, RETENTION_DAYS, SESSION_MINUTES, Setting};
use shared::store::{client_errors, job_runs, scheduler_instances};

use crate::auth::{Actor, Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::routes::status::{StatusView, load_status};
use crate::text::Text;
use crate::time::from_epoch_ms;

/// A scheduler process not seen for this long is no longer listed as a standby.
const INSTANCE_STALE_MS: i64 = 60_000;
/// The window of the job summary and of the browser's error groups.
const JOB_WINDOW_MS: i64 = 3_600_000;

#[derive(Debug, Object)]
pub struct SettingsView {
    /// IANA time zone every time is shown in.
    pub timezone: String,
    /// Sliding session length in minutes.
    pub session_minutes: i64,
    /// Days of history (archive, audit log, import log) kept.
    pub retention_days: i64,
    /// Whether `retention_days` was set here (`false`: `BANGUI_RETENTION`'s default).
    pub retention_days_set: bool,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct SettingsChange {
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[oai(validator(max_length = 64))]
    pub timezone: Option<Text>,
    /// 5 to 43 200; applies to sessions from their next request.
    pub session_minutes: Option<i64>,
    /// 7 to 3 650; the retention job uses it from its next run.
    pub retention_days: Option<i64>,
}

impl poem_openapi::types::Example for SettingsChange {
    fn example() -> Self {
        Self {
            timezone: Some("Europe/Berlin".into()),
            session_minutes: Some(480),
            retention_days: Some(365),
        }
    }
}

#[derive(Debug, Object)]
pub struct SchedulerProcess {
    /// Identity of the process (pod or host, pid, random suffix).
    pub holder: String,
    /// `leader` or `standby`.
    pub role: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// The lease: the leader's fencing token, renewal and expiry (null for standbys).
    pub token: Option<i64>,
    pub renewed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct JobSummaryView {
    pub job: JobName,
    /// Runs in the last hour.
    pub runs: i64,
    pub failures: i64,
    pub avg_ms: f64,
    pub max_ms: i64,
    pub last_started_at: DateTime<Utc>,
    pub last_duration_ms: i64,
    pub last_ok: bool,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct SchemaView {
    /// The newest migration applied: the schema's version.
    pub version: Option<String>,
    pub applied: usize,
    /// Migrations this API knows but the database has not had (the scheduler applies them).
    pub pending: Vec<String>,
    /// Migrations in the database this API does not know (a newer build migrated it).
    pub unknown: Vec<String>,
}

#[derive(Debug, Object)]
pub struct ClientErrorGroup {
    /// `error`, `unhandledrejection`, `render` or `api`.
    pub kind: String,
    pub message: String,
    pub count: i64,
    /// Distinct signed-in users who saw it.
    pub users: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub last_url: String,
    pub last_request_id: Option<String>,
}

#[derive(Debug, Object)]
pub struct SystemView {
    /// The database clock when this was read.
    pub checked_at: DateTime<Utc>,
    /// This API process's version.
    pub api_version: String,
    /// Scheduler processes seen in the last minute, the leader first.
    pub schedulers: Vec<SchedulerProcess>,
    /// Whether a scheduler holds a valid lease.
    pub has_leader: bool,
    /// The highest fencing token ever granted.
    pub last_token: i64,
    /// Each job's runs in the last hour.
    pub jobs: Vec<JobSummaryView>,
    pub fail2ban: StatusView,
    pub schema: SchemaView,
    /// The browser's error reports of the last week, grouped by message, newest first.
    pub client_errors: Vec<ClientErrorGroup>,
}

pub struct SystemApi {
    auth: Arc<Auth>,
    retention_default: Duration,
}

impl SystemApi {
    pub fn new(auth: Arc<Auth>, retention_default: Duration) -> Self {
        Self {
            auth,
            retention_default,
        }
    }

    async fn settings_view(&self) -> ApiResult<SettingsView> {
        let db = &self.auth.db;
        let set = settings::retention_days(db).await?;
        let default_days =
            i64::try_from(self.retention_default.as_secs() / 86_400).unwrap_or(i64::MAX);
        Ok(SettingsView {
            timezone: settings::timezone(db).await?,
            session_minutes: settings::session_minutes(db).await?,
            retention_days: set.unwrap_or(default_days),
            retention_days_set: set.is_some(),
        })
    }
}

fn out_of_range(field: &str, range: &std::ops::RangeInclusive<i64>) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("{field}: {} to {}", range.start(), range.end()),
    )
    .with_details(serde_json::json!({ "field": field }))
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl SystemApi {
    /// The instance settings. Role: admin.
    #[oai(path = "/settings", method = "get", operation_id = "get_settings")]
    async fn get_settings(&self, req: &Request) -> ApiResult<Json<SettingsView>> {
        self.auth.require(req, Role::Admin).await?;
        Ok(Json(self.settings_view().await?))
    }

    /// Change any of the time zone, the session length and the history retention; they
    /// take effect without a restart. Audited as `settings.update`. Role: admin.
    #[oai(path = "/settings", method = "put", operation_id = "update_settings")]
    async fn update_settings(
        &self,
        req: &Request,
        body: Json<SettingsChange>,
    ) -> ApiResult<Json<SettingsView>> {
        let caller = self.auth.require(req, Role::Admin).await?;
        let mut changes = Vec::new();
        if let Some(raw) = body.timezone.as_deref() {
            let zone = TimeZone::parse(raw.trim()).map_err(|e| {
                ApiError::new(ErrorCode::InvalidTimezone, e.to_string())
                    .with_details(serde_json::json!({ "field": "timezone" }))
            })?;
            changes.push((Setting::Timezone, zone.name().to_owned()));
        }
        if let Some(m) = body.session_minutes {
            if !SESSION_MINUTES.contains(&m) {
                return Err(out_of_range("session_minutes", &SESSION_MINUTES));
            }
            changes.push((Setting::SessionMinutes, m.to_string()));
        }
        if let Some(d) = body.retention_days {
            if !RETENTION_DAYS.contains(&d) {
                return Err(out_of_range("retention_days", &RETENTION_DAYS));
            }
            changes.push((Setting::RetentionDays, d.to_string()));
        }
        if changes.is_empty() {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "nothing to change: give timezone, session_minutes or retention_days",
            ));
        }
        let actor: Actor = (&caller).into();
        settings::update(&self.auth.db, &actor, &changes).await?;
        Ok(Json(self.settings_view().await?))
    }

    /// The scheduler's leader and standbys, job runs, the fail2ban connection, the schema,
    /// both binaries' versions and the browser's error reports. Role: admin.
    #[oai(path = "/system", method = "get", operation_id = "get_system")]
    async fn get_system(&self, req: &Request) -> ApiResult<Json<SystemView>> {
        self.auth.require(req, Role::Admin).await?;
        let db = &self.auth.db;
        let now = shared::db::db_now_ms(db).await?;
        let lease = read_lease(db, SCHEDULER_LEASE).await?;
        let leader = lease.as_ref().filter(|l| l.is_valid());
        let mut schedulers: Vec<SchedulerProcess> =
            scheduler_instances::list(db, now - INSTANCE_STALE_MS)
                .await?
                .into_iter()
                .map(|i| {
                    let lead = leader.filter(|l| l.holder == i.holder);
                    SchedulerProcess {
                        role: if lead.is_some() { "leader" } else { "standby" }.into(),
                        token: lead.map(|l| l.token),
                        renewed_at: lead.map(|l| from_epoch_ms(l.renewed_at_ms)),
                        expires_at: lead.map(|l| from_epoch_ms(l.expires_at_ms)),
                        holder: i.holder,
                        version: i.version,
                        started_at: from_epoch_ms(i.started_at_ms),
                        seen_at: from_epoch_ms(i.seen_at_ms),
                    }
                })
                .collect();
        schedulers.sort_by_key(|s| s.role != "leader");
        let jobs = job_runs::summary(db, now - JOB_WINDOW_MS)
            .await?
            .into_iter()
            .map(|j| JobSummaryView {
                job: j.job,
                runs: j.runs,
                failures: j.failures,
                avg_ms: j.avg_ms,
                max_ms: j.max_ms,
                last_started_at: from_epoch_ms(j.last_started_at_ms),
                last_duration_ms: j.last_duration_ms,
                last_ok: j.last_ok,
                last_error: j.last_error,
                last_error_at: j.last_error_at_ms.map(from_epoch_ms),
            })
            .collect();
        let schema = migrations::status(db).await?;
        let client_errors = client_errors::groups(db, now - client_errors::KEEP_MS, 100)
            .await?
            .into_iter()
            .map(|g| ClientErrorGroup {
                kind: g.kind,
                message: g.message,
                count: g.count,
                users: g.users,
                first_at: from_epoch_ms(g.first_at_ms),
                last_at: from_epoch_ms(g.last_at_ms),
                last_url: g.last_url,
                last_request_id: g.last_request_id,
            })
            .collect();
        Ok(Json(SystemView {
            checked_at: from_epoch_ms(now),
            api_version: env!("CARGO_PKG_VERSION").into(),
            schedulers,
            has_leader: leader.is_some(),
            last_token: lease.as_ref().map_or(0, |l| l.token),
            jobs,
            fail2ban: load_status(db).await?,
            schema: SchemaView {
                version: schema.applied.last().cloned(),
                applied: schema.applied.len(),
                pending: schema.pending,
                unknown: schema.unknown,
            },
            client_errors,
        }))
    }
}
