//! One error envelope for every failure the API can answer with:
//! `{error_code, message, details?, request_id}`.
//!
//! Handlers return [`ApiError`]; the request middleware turns it, and every other
//! `poem::Error` (bad JSON, unknown route, wrong method, too large, a caught panic), into
//! the envelope with the request's id. Codes are stable snake_case strings that clients
//! may switch on; `Docs/api.md` lists them.

use std::sync::Arc;

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;
use shared::db::Failure;
pub use shared::error_code::ErrorCode;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Object)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub error_code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// Structured context (which field, which limit), when there is any.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The request id, also sent as the `X-Request-Id` header.
    pub request_id: String,
}

/// An error a handler answers with. `cause` keeps what went wrong underneath (a database
/// error, …) for the one log line the request middleware writes; it never reaches the
/// response body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
    #[source]
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error with the code's own status ([`ErrorCode::http_status`]).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            details: None,
            cause: None,
        }
    }

    /// The same code with another status (`invalid_credentials` is 403 where the caller
    /// is already signed in).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::new(ErrorCode::Internal, "internal error").caused_by(cause)
    }

    /// The cause chain, for the log line: "outer: inner: innermost".
    pub fn cause_chain(&self) -> Option<String> {
        let first = self.cause.as_deref()?;
        let mut text = first.to_string();
        let mut next = first.source();
        while let Some(e) = next {
            text.push_str(": ");
            text.push_str(&e.to_string());
            next = e.source();
        }
        Some(text)
    }
}

/// A database error: 503 when retrying may help (connection lost, pool exhausted,
/// timeout, busy), 409 `conflict` for a unique or foreign-key violation nobody turned into
/// a better answer, and 500 `internal` for everything else (a bug). The SQL and the
/// driver's text stay in the log.
impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        // A read-only or broken connection is retired from the pool (`db::faults`).
        shared::db::faults::note(&e);
        let answer = match shared::db::classify(&e) {
            Failure::Unavailable => Self::new(
                ErrorCode::DatabaseUnavailable,
                "the database did not answer; try again shortly",
            ),
            Failure::UniqueViolation(_) | Failure::ForeignKeyViolation(_) => Self::new(
                ErrorCode::Conflict,
                "the change conflicts with the stored data",
            ),
            Failure::Other => Self::new(ErrorCode::Internal, "internal error"),
        };
        answer.caused_by(e)
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }
}

/// The code and message for a `poem::Error` that did not come from a handler.
pub fn classify(err: &poem::Error) -> (StatusCode, ErrorCode, String) {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return (api.status, api.code, api.message.clone());
    }
    if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return (
            StatusCode::BAD_REQUEST,
            param_code(param.name),
            err.to_string(),
        );
    }
    let status = err.status();
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        s if s.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    };
    let message = match status {
        StatusCode::NOT_FOUND => "no such resource".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here".to_owned(),
        s if s.is_server_error() => "internal error".to_owned(),
        _ => err.to_string(),
    };
    (status, code, message)
}

/// The code of a query parameter that is not one of its allowed values: the history and
/// dashboard filters have their own codes, every other parameter `bad_request`.
fn param_code(name: &str) -> ErrorCode {
    match name {
        "origin" => ErrorCode::InvalidOrigin,
        "state" => ErrorCode::InvalidState,
        "sort" => ErrorCode::InvalidSort,
        "series" => ErrorCode::InvalidSeries,
        _ => ErrorCode::BadRequest,
    }
}

/// The details of a poem-openapi parameter error: which field.
pub fn param_details(err: &poem::Error) -> Option<serde_json::Value> {
    err.downcast_ref::<poem_openapi::error::ParseParamError>()
        .map(|p| serde_json::json!({ "field": p.name }))
}

/// The error responses every operation may give, for the OpenAPI document.
#[derive(ApiResponse)]
#[allow(dead_code)]
enum DocumentedErrors {
    /// Input that does not fit this document's schema: a wrong type, a missing field,
    /// malformed JSON, a key given twice in one object (`bad_request`), a value outside
    /// an enum (`invalid_origin`, `invalid_state`, `invalid_sort`, `invalid_series`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No valid credentials (`unauthorized`, `invalid_credentials`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Not allowed for this caller's role (`forbidden`, `csrf_failed`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Not found (`not_found`, `unknown_jail`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Conflicts with the stored state (`conflict`; some operations name a more specific code).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Body too large (`payload_too_large`).
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// A body that is not `application/json` in UTF-8 (`unsupported_media_type`).
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Input that fits the schema but that a rule refuses (`invalid_ip`,
    /// `prefix_too_broad`, `ip_not_allowed`, `too_many_ips`, `invalid_jail_name`,
    /// `invalid_wait`, `invalid_username`, `invalid_timezone`, `weak_password`,
    /// `invalid_range`, `invalid_country`, `invalid_asn`, `invalid_ip_search`,
    /// `page_too_deep`, `validation_failed`); `details.field` names the field.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many failed sign-ins (`rate_limited`; see `Retry-After`).
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>),
    /// Unexpected failure (`internal`).
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// A dependency is down (`database_unavailable`, `setup_required`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        DocumentedErrors::meta()
    }

    fn register(registry: &mut Registry) {
        DocumentedErrors::register(registry);
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
