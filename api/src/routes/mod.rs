//! Every HTTP surface of the API: `/api/v1/*` described by OpenAPI, plus the
//! orchestrator endpoints `/healthz`, `/readyz` and `/metrics`.

pub mod bans;
pub mod commands;
pub mod health;
pub mod jails;
pub mod scheduler;
pub mod status;

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
}

pub type Apis = (
    status::StatusApi,
    jails::JailsApi,
    bans::BansApi,
    commands::CommandsApi,
    scheduler::SchedulerApi,
);
pub type ApiService = OpenApiService<Apis, ()>;

pub fn default_page() -> u32 {
    1
}

pub fn default_page_size() -> u32 {
    50
}

/// The `/api/v1` service with every operation.
pub fn api_service(db: DatabaseConnection, command_expiry: Duration) -> ApiService {
    OpenApiService::new(
        (
            status::StatusApi::new(db.clone()),
            jails::JailsApi::new(db.clone(), command_expiry),
            bans::BansApi::new(db.clone(), command_expiry),
            commands::CommandsApi::new(db.clone(), command_expiry),
            scheduler::SchedulerApi::new(db),
        ),
        "BanGUI API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Monitor, manage and configure fail2ban. Errors always use the envelope \
         {error_code, message, details?, request_id}. Commands that act on fail2ban answer \
         202 with the queued command, or wait up to `?wait=10s` for its end.",
    )
    .server("/api/v1")
}
