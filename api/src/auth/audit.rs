//! The audit log: every state change and every command, with who, from where, the
//! request id, what, on what, and how it ended. Rows are only ever inserted.

use sea_orm::DatabaseConnection;
use shared::db;

use super::Actor;

/// Records one entry. A failure to audit is logged, never hidden from the operator's
/// logs, but does not undo the action it describes.
pub async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    result: &str,
    details: Option<serde_json::Value>,
) {
    let written = db::execute(
        db,
        "INSERT INTO audit_log (at_ms, username, role, client_ip, request_id, action, target, result, details) \
         VALUES ({now_ms}, $1, $2, $3, $4, $5, $6, $7, $8)",
        [
            actor.name.clone().into(),
            actor.role.map(|r| r.as_str().to_owned()).into(),
            actor.client_ip.clone().into(),
            actor.request_id.clone().into(),
            action.into(),
            target.map(str::to_owned).into(),
            result.into(),
            details.map(|d| d.to_string()).into(),
        ],
    )
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}
