//! Orchestrator endpoints: liveness, readiness (database reachable, writable, schema
//! current) and Prometheus metrics. Readiness never shows the driver's error text: it is
//! public, and the log has it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

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
pub async fn readyz(
    db: Data<&DatabaseConnection>,
    probe: Data<&std::sync::Arc<WriteProbe>>,
) -> poem::Result<Json<Value>> {
    let expected = migrations::SchemaStatus::expected_version();
    let status = tokio::time::timeout(READY_CHECK_TIMEOUT, migrations::status(*db))
        .await
        .map_err(|_| not_ready("the database did not answer in time", json!({})))?
        .map_err(|e| {
            shared::db::faults::note(&e);
            tracing::warn!(error = %e, "readiness: the database is unreachable");
            not_ready("the database is unreachable", json!({}))
        })?;
    if !status.is_current() {
        return Err(not_ready(
            "the database schema is not at the version this build expects",
            json!({ "expected": expected, "pending": status.pending, "unknown": status.unknown }),
        )
        .into());
    }
    probe.writable(&db).await?;
    Ok(Json(json!({ "status": "ready", "schema": expected })))
}

/// How long a successful write probe vouches for the database: probes are frequent
/// (every replica, every few seconds) and each is a write.
const WRITE_PROBE_VALID: Duration = Duration::from_secs(5);

/// The last successful write probe of this API process.
#[derive(Default)]
pub struct WriteProbe {
    last_ok: Mutex<Option<Instant>>,
}

impl WriteProbe {
    /// Proves the database takes a write (a read-only SQLite file or PostgreSQL server
    /// answers reads fine), at most once per [`WRITE_PROBE_VALID`] while it keeps
    /// succeeding.
    async fn writable(&self, db: &DatabaseConnection) -> Result<(), ApiError> {
        let fresh = self
            .last_ok
            .lock()
            .ok()
            .and_then(|last| *last)
            .is_some_and(|at| at.elapsed() < WRITE_PROBE_VALID);
        if fresh {
            return Ok(());
        }
        let probe = shared::db::execute(
            db,
            "INSERT INTO write_probe (id, probed_at_ms) VALUES (1, {now_ms}) \
             ON CONFLICT (id) DO UPDATE SET probed_at_ms = excluded.probed_at_ms",
            [],
        );
        let outcome = tokio::time::timeout(READY_CHECK_TIMEOUT, probe).await;
        if let Ok(mut last) = self.last_ok.lock() {
            *last = matches!(outcome, Ok(Ok(_))).then(Instant::now);
        }
        match outcome {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database does not take writes");
                Err(not_ready("the database does not take writes", json!({})))
            }
            Err(_) => Err(not_ready(
                "the database did not take a write in time",
                json!({}),
            )),
        }
    }
}

fn not_ready(message: &str, details: Value) -> ApiError {
    ApiError::new(ErrorCode::NotReady, message).with_details(details)
}

#[handler]
pub fn metrics(handle: Data<&PrometheusHandle>) -> String {
    handle.run_upkeep();
    handle.render()
}
