//! One error envelope for every failure the API can answer with:
//! `{error_code, message, details?, request_id}`.
//!
//! Handlers return [`ApiError`]; the request middleware turns it, and every other
//! `poem::Error` (bad JSON, unknown route, wrong method, too large, a caught panic), into
//! the envelope with the request's id. Codes are stable snake_case strings that clients
//! may switch on; `Docs/api.md` lists them.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Object)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`.
    pub error_code: String,
    /// A sentence for people.
    pub message: String,
    /// Structured context (which field, which limit), when there is any.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The request id, also sent as the `X-Request-Id` header.
    pub request_id: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A database failure: logged here with its cause, answered without it.
    pub fn database(err: &sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "database error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer; try again shortly",
        )
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }
}

/// The code and message for a `poem::Error` that did not come from a handler.
pub fn classify(err: &poem::Error) -> (StatusCode, &'static str, String) {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return (api.status, api.code, api.message.clone());
    }
    let status = err.status();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    let message = match status {
        StatusCode::NOT_FOUND => "no such resource".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here".to_owned(),
        s if s.is_server_error() => "internal error".to_owned(),
        _ => err.to_string(),
    };
    (status, code, message)
}

/// The error responses every operation may give, for the OpenAPI document.
#[derive(ApiResponse)]
#[allow(dead_code)]
enum DocumentedErrors {
    /// Malformed input (`bad_request`, `invalid_ip`, `prefix_too_broad`, `ip_not_allowed`,
    /// `invalid_jail_name`, `too_many_ips`, `invalid_wait`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not allowed for this caller's role (`forbidden`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Not found (`not_found`, `unknown_jail`).
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Body too large (`payload_too_large`).
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// Unexpected failure (`internal`).
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// A dependency is down (`database_unavailable`).
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
