//! Every HTTP surface of the API: `/api/v1/*` described by OpenAPI, plus the
//! orchestrator endpoints `/healthz`, `/readyz` and `/metrics`.

pub mod health;
pub mod scheduler;

use poem_openapi::{OpenApiService, Tags};
use sea_orm::DatabaseConnection;

#[derive(Tags)]
pub enum ApiTags {
    /// The scheduler's lease and job runs.
    Scheduler,
}

pub type ApiService = OpenApiService<scheduler::SchedulerApi, ()>;

/// The `/api/v1` service with every operation.
pub fn api_service(db: DatabaseConnection) -> ApiService {
    OpenApiService::new(
        scheduler::SchedulerApi::new(db),
        "BanGUI API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Monitor, manage and configure fail2ban. Errors always use the envelope \
         {error_code, message, details?, request_id}.",
    )
    .server("/api/v1")
}
