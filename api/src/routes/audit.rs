//! The audit log: who did what, from where, on what, and how it ended. Filter by user,
//! action, result, time range and request id; export the same selection as CSV.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use shared::store::audit;

use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::{ApiTags, default_page, default_page_size};
use crate::time::from_epoch_ms;

/// The most rows one export holds (newest first); narrow the filter for older ones.
pub const EXPORT_MAX_ROWS: u32 = 100_000;

#[derive(Debug, Object)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user: Option<String>,
    pub role: Option<Role>,
    pub client_ip: Option<String>,
    /// The request that did it: the browser's, a client's `X-Request-Id`, or the trace id
    /// of its `traceparent`.
    pub request_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// `ok`, `denied`, `failed`, `queued` (a command), …
    pub result: String,
    pub details: Option<serde_json::Value>,
    /// The command this entry queued, if any.
    pub command_id: Option<i64>,
    /// How that command ended: `succeeded` or `failed`; null while it has not (or for
    /// entries that queued nothing).
    pub outcome: Option<String>,
    pub outcome_at: Option<DateTime<Utc>>,
    /// Why the command failed: `error_code: message`.
    pub outcome_error: Option<String>,
}

impl From<audit::Row> for AuditEntry {
    fn from(r: audit::Row) -> Self {
        Self {
            id: r.id,
            at: from_epoch_ms(r.at_ms),
            user: r.username,
            role: r.role.as_deref().and_then(Role::parse),
            client_ip: r.client_ip,
            request_id: r.request_id,
            action: r.action,
            target: r.target,
            result: r.result,
            details: r.details.and_then(|d| serde_json::from_str(&d).ok()),
            command_id: r.command_id,
            outcome: r.outcome,
            outcome_at: r.outcome_at_ms.map(from_epoch_ms),
            outcome_error: r.outcome_error,
        }
    }
}

#[derive(Debug, Object)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

#[derive(ApiResponse)]
pub enum CsvExport {
    /// The selected entries as CSV (RFC 4180, a header row, times in UTC ISO 8601).
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

/// One CSV field: quoted when it holds a separator, a quote or a line break; a leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

const CSV_HEADER: &str = "id,at,user,role,client_ip,request_id,action,target,result,command_id,outcome,outcome_at,outcome_error,details";

fn csv_row(r: &audit::Row) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(csv_field).unwrap_or_default();
    [
        r.id.to_string(),
        from_epoch_ms(r.at_ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        opt(&r.username),
        opt(&r.role),
        opt(&r.client_ip),
        opt(&r.request_id),
        csv_field(&r.action),
        opt(&r.target),
        csv_field(&r.result),
        r.command_id.map(|c| c.to_string()).unwrap_or_default(),
        opt(&r.outcome),
        r.outcome_at_ms
            .map(|t| from_epoch_ms(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default(),
        opt(&r.outcome_error),
        opt(&r.details),
    ]
    .join(",")
}

pub struct AuditApi {
    auth: Arc<Auth>,
}

impl AuditApi {
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }
}

/// The filter every audit operation takes, checked.
fn filter(
    user: Option<String>,
    action: Option<String>,
    result: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    request_id: Option<String>,
) -> ApiResult<audit::Filter> {
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        // Each value fits the schema; only the pair breaks a rule: 422, like every range.
        return Err(
            ApiError::new(ErrorCode::InvalidRange, "since must be before until")
                .with_details(serde_json::json!({ "field": "since" })),
        );
    }
    let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(audit::Filter {
        username: nonempty(user),
        action_prefix: nonempty(action),
        result: nonempty(result),
        since_ms: since.map(|s| s.timestamp_millis()),
        until_ms: until.map(|u| u.timestamp_millis()),
        request_id: nonempty(request_id),
    })
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl AuditApi {
    /// The audit log, newest first; filter by user, action prefix, result, time range and
    /// request id. Role: admin.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/audit", method = "get", operation_id = "list_audit")]
    async fn list_audit(
        &self,
        req: &Request,
        /// The user or token owner, exactly.
        #[oai(validator(max_length = 64))]
        user: Query<Option<String>>,
        /// Matches the start of the action, e.g. `user.` or `command.ban`.
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
        /// The entry's result (`ok`, `denied`, `queued`, …) or its command's outcome
        /// (`succeeded`, `failed`).
        #[oai(validator(max_length = 32))]
        result: Query<Option<String>>,
        /// Only entries at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        /// Only entries before this time.
        until: Query<Option<DateTime<Utc>>>,
        /// Only the entries of this request.
        #[oai(validator(max_length = 128))]
        request_id: Query<Option<String>>,
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
    ) -> ApiResult<Json<AuditPage>> {
        self.auth.require(req, Role::Admin).await?;
        let filter = filter(user.0, action.0, result.0, since.0, until.0, request_id.0)?;
        let offset = u64::from(page.0 - 1) * u64::from(page_size.0);
        let (rows, total) = audit::page(&self.auth.db, &filter, page_size.0, offset).await?;
        Ok(Json(AuditPage {
            items: rows.into_iter().map(Into::into).collect(),
            total,
            page: page.0,
            page_size: page_size.0,
        }))
    }

    /// The audit log as CSV, with the same filters as the list (at most 100 000 entries,
    /// newest first). Role: admin.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/audit/export", method = "get", operation_id = "export_audit")]
    async fn export_audit(
        &self,
        req: &Request,
        #[oai(validator(max_length = 64))] user: Query<Option<String>>,
        #[oai(validator(max_length = 64))] action: Query<Option<String>>,
        #[oai(validator(max_length = 32))] result: Query<Option<String>>,
        since: Query<Option<DateTime<Utc>>>,
        until: Query<Option<DateTime<Utc>>>,
        #[oai(validator(max_length = 128))] request_id: Query<Option<String>>,
    ) -> ApiResult<CsvExport> {
        self.auth.require(req, Role::Admin).await?;
        let filter = filter(user.0, action.0, result.0, since.0, until.0, request_id.0)?;
        let (rows, _) = audit::page(&self.auth.db, &filter, EXPORT_MAX_ROWS, 0).await?;
        let mut body = String::with_capacity(64 + rows.len() * 160);
        body.push_str(CSV_HEADER);
        body.push_str("\r\n");
        for r in &rows {
            body.push_str(&csv_row(r));
            body.push_str("\r\n");
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        Ok(CsvExport::Csv(
            PlainText(body),
            format!("attachment; filename=\"bangui-audit-{stamp}.csv\""),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }
}
