//! Orchestrator endpoints: liveness, readiness (database reachable and schema current)
//! and Prometheus metrics.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use poem::handler;
use poem::web::{Data, Json};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorCode};

const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[handler]
pub fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[handler]
pub async fn readyz(db: Data<&DatabaseConnection>) -> poem::Result<Json<Value>> {
    let expected = migrations::SchemaStatus::expected_version();
    let status = tokio::time::timeout(READY_CHECK_TIMEOUT, migrations::status(*db))
        .await
        .map_err(|_| not_ready("the database did not answer in time", json!({})))?
        .map_err(|e| {
            not_ready(
                "the database is unreachable",
                json!({ "cause": e.to_string() }),
            )
        })?;
    if !status.is_current() {
        return Err(not_ready(
            "the database schema is not at the version this build expects",
            json!({ "expected": expected, "pending": status.pending, "unknown": status.unknown }),
        )
        .into());
    }
    Ok(Json(json!({ "status": "ready", "schema": expected })))
}

fn not_ready(message: &str, details: Value) -> ApiError {
    ApiError::new(ErrorCode::NotReady, message).with_details(details)
}

#[handler]
pub fn metrics(handle: Data<&PrometheusHandle>) -> String {
    handle.run_upkeep();
    handle.render()
}
