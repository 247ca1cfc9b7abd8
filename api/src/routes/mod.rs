//! Every HTTP surface of the API: `/api/v1/*` described by OpenAPI, plus the
//! orchestrator endpoints `/healthz`, `/readyz` and `/metrics`.

pub mod accounts;
pub mod allowlist;
pub mod audit;
pub mod bans;
pub mod blocklists;
pub mod client_errors;
pub mod commands;
pub mod config;
pub mod config_defs;
pub mod dashboard;
pub mod fail2ban_log;
pub mod health;
pub mod history;
pub mod jails;
pub mod regex_test;
pub mod scheduler;
pub mod server_config;
pub mod status;
pub mod system;

use std::time::Duration;

use poem_openapi::{OpenApiService, Tags};
use sea_orm::DatabaseConnection;

#[derive(Tags)]
pub enum ApiTags {
    /// fail2ban's status as the scheduler last saw it.
    Fail2ban,
    /// Jails: counters, settings, controls, ignore lists.
    Jails,
    /// Current bans: list, search, ban, unban.
    Bans,
    /// The command queue: what was asked of fail2ban and how it ended.
    Commands,
    /// The scheduler's lease and job runs.
    Scheduler,
    /// Setup, sign-in, sessions, API tokens, users and the audit log.
    Accounts,
    /// The ban archive: dashboard aggregates, history, IP timelines and geo data.
    History,
    /// fail2ban's configuration: jails as configured, their overrides, validated
    /// changes and revisions.
    Config,
    /// Blocklist sources, their imports into fail2ban and the import log.
    Blocklists,
}

pub type Apis = (
    accounts::AccountsApi,
    status::StatusApi,
    jails::JailsApi,
    bans::BansApi,
    commands::CommandsApi,
    scheduler::SchedulerApi,
    dashboard::DashboardApi,
    history::HistoryApi,
    client_errors::ClientErrorsApi,
    config::ConfigApi,
    allowlist::AllowlistApi,
    regex_test::RegexTestApi,
    fail2ban_log::Fail2banLogApi,
    config_defs::ConfigDefsApi,
    server_config::ServerConfigApi,
    // poem-openapi implements `OpenApi` for tuples of at most 16: the rest nest.
    (
        blocklists::BlocklistsApi,
        audit::AuditApi,
        system::SystemApi,
    ),
);
pub type ApiService = OpenApiService<Apis, ()>;

pub fn default_page() -> u32 {
    1
}

pub fn default_page_size() -> u32 {
    50
}

/// The `/api/v1` service with every operation.
pub fn api_service(
    db: DatabaseConnection,
    command_expiry: Duration,
    auth: std::sync::Arc<crate::auth::Auth>,
    blocklist_jail: shared::domain::JailName,
    retention_default: Duration,
    answers: std::sync::Arc<crate::answers::Answers>,
) -> ApiService {
    OpenApiService::new(
        (
            accounts::AccountsApi::new(auth.clone()),
            status::StatusApi::new(db.clone(), auth.clone()),
            jails::JailsApi::new(db.clone(), command_expiry, auth.clone()),
            bans::BansApi::new(db.clone(), command_expiry, auth.clone()),
            commands::CommandsApi::new(db.clone(), command_expiry, auth.clone()),
            scheduler::SchedulerApi::new(db.clone(), auth.clone()),
            dashboard::DashboardApi::new(db.clone(), auth.clone(), answers.clone()),
            history::HistoryApi::new(db.clone(), auth.clone(), answers),
            client_errors::ClientErrorsApi::new(auth.clone()),
            config::ConfigApi::new(db.clone(), command_expiry, auth.clone()),
            allowlist::AllowlistApi::new(db.clone(), auth.clone()),
            regex_test::RegexTestApi::new(db.clone(), command_expiry, auth.clone()),
            fail2ban_log::Fail2banLogApi::new(db.clone(), auth.clone()),
            config_defs::ConfigDefsApi::new(db.clone(), command_expiry, auth.clone()),
            server_config::ServerConfigApi::new(db.clone(), command_expiry, auth.clone()),
            (
                blocklists::BlocklistsApi::new(db, command_expiry, auth.clone(), blocklist_jail),
                audit::AuditApi::new(auth.clone()),
                system::SystemApi::new(auth, retention_default),
            ),
        ),
        "BanGUI API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Monitor, manage and configure fail2ban. Errors always use the envelope \
         {error_code, message, details?, request_id}. Every operation states the role it \
         needs (`Role: viewer|operator|admin|public` in its description); authenticate with \
         the `bangui_session` cookie from POST /auth/login (browser; unsafe methods also need \
         `X-Requested-With: bangui` and a same-origin Origin) or `Authorization: Bearer <API token>`. Commands that act on fail2ban answer \
         202 with the queued command, or wait up to `?wait=10s` for its end.",
    )
    .server("/api/v1")
}
