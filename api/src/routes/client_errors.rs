//! Browser errors: the UI reports what went wrong in the browser (with the request id of
//! the failing call, when there was one). Reports are size-limited, rate-limited per
//! client address (per replica: a flood costs one replica little), scrubbed of secrets,
//! logged, counted and kept a week (`client_errors`, at most 200 an hour) for the System
//! page, which groups them by message.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use shared::store::client_errors;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::text::Text;

#[derive(Debug, Object)]
#[oai(example)]
pub struct ClientError {
    /// `error`, `unhandledrejection`, `render` or `api`.
    #[oai(validator(max_length = 32))]
    pub kind: Text,
    #[oai(validator(max_length = 2000))]
    pub message: Text,
    #[oai(validator(max_length = 8000))]
    pub stack: Option<Text>,
    /// The page (path only).
    #[oai(validator(max_length = 500))]
    pub url: Text,
    /// The request id of the API call that failed, if any.
    #[oai(validator(max_length = 64))]
    pub request_id: Option<Text>,
}

impl poem_openapi::types::Example for ClientError {
    fn example() -> Self {
        Self {
            kind: "error".into(),
            message: "TypeError: x is undefined".into(),
            stack: Some("at Dashboard (Dashboard-1a2b.js:1:200)".into()),
            url: "/".into(),
            request_id: Some("ui-3f2a9c1d".into()),
        }
    }
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Logged.
    #[oai(status = 204)]
    Logged,
}

/// Reports per client address per minute.
const PER_MINUTE: u32 = 30;
const KINDS: [&str; 4] = ["error", "unhandledrejection", "render", "api"];

/// Replaces anything that looks like a secret: API tokens, bearer and cookie values,
/// `password=…`/`"password": "…"` pairs.
pub fn scrub(text: &str) -> String {
    const KEYS: [&str; 7] = [
        "password",
        "passwd",
        "secret",
        "token",
        "cookie",
        "bangui_session",
        "authorization",
    ];
    let mut out = String::with_capacity(text.len());
    let mut redact_next = false;
    for word in text.split_inclusive(char::is_whitespace) {
        let (core, space) = word.split_at(word.trim_end().len());
        let lower = core.to_ascii_lowercase();
        if redact_next {
            if lower == "bearer" || lower == "basic" {
                out.push_str(word);
            } else {
                out.push_str("[redacted]");
                out.push_str(space);
                redact_next = false;
            }
            continue;
        }
        if core.contains("bgt_") {
            out.push_str("[redacted-token]");
            out.push_str(space);
            continue;
        }
        if lower == "bearer" {
            out.push_str(word);
            redact_next = true;
            continue;
        }
        match core.find(['=', ':']) {
            Some(i) if KEYS.iter().any(|k| lower[..i].contains(k)) => {
                out.push_str(&core[..=i]);
                if core[i + 1..].is_empty() {
                    redact_next = true;
                } else {
                    out.push_str("[redacted]");
                }
                out.push_str(space);
            }
            _ => out.push_str(word),
        }
    }
    out
}

pub struct ClientErrorsApi {
    auth: std::sync::Arc<Auth>,
    window: Mutex<HashMap<String, (Instant, u32)>>,
}

impl ClientErrorsApi {
    pub fn new(auth: std::sync::Arc<Auth>) -> Self {
        Self {
            auth,
            window: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, ip: &str) -> bool {
        let Ok(mut w) = self.window.lock() else {
            return false;
        };
        let now = Instant::now();
        if w.len() > 10_000 {
            w.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = w.entry(ip.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= PER_MINUTE
    }
}

#[OpenApi(tag = "ApiTags::Accounts")]
impl ClientErrorsApi {
    /// Report an error seen in the browser (at most 30 a minute per client; secrets are
    /// scrubbed before logging). Role: public.
    #[oai(
        path = "/client-errors",
        method = "post",
        operation_id = "report_client_error"
    )]
    async fn report(&self, req: &Request, body: Json<ClientError>) -> ApiResult<Accepted> {
        let ip = self.auth.client_ip(req);
        if !self.allow(&ip) {
            metrics::counter!("api_client_errors_dropped_total").increment(1);
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "too many error reports; try again in a minute",
            )
            .with_details(serde_json::json!({ "retry_after": 60 })));
        }
        let e = body.0;
        let kind: &'static str = KINDS
            .iter()
            .copied()
            .find(|k| *k == &*e.kind)
            .unwrap_or("other");
        metrics::counter!("api_client_errors_total", "kind" => kind).increment(1);
        tracing::warn!(
            target: "client_error",
            kind,
            client = %ip,
            page = %scrub(&e.url),
            failed_request_id = e.request_id.as_deref().map(scrub).unwrap_or_default(),
            message = %scrub(&e.message),
            stack = %e.stack.as_deref().map(scrub).unwrap_or_default(),
            "browser error"
        );
        let message = scrub(&e.message);
        let url = scrub(&e.url);
        let failed_request_id = e.request_id.as_deref().map(scrub);
        let username = req
            .extensions()
            .get::<crate::auth::Caller>()
            .map(|c| c.name.clone());
        let report = client_errors::Report {
            kind,
            message: &message,
            url: &url,
            request_id: failed_request_id.as_deref(),
            username: username.as_deref(),
        };
        // A report that cannot be kept is still logged above: never an error for the page.
        match client_errors::insert(&self.auth.db, &report).await {
            Ok(true) => {}
            Ok(false) => metrics::counter!("api_client_errors_not_kept_total").increment(1),
            Err(err) => tracing::warn!(error = %err, "could not keep a browser error report"),
        }
        Ok(Accepted::Logged)
    }
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn secrets_are_scrubbed() {
        assert_eq!(
            scrub("token bgt_abcdef123 leaked"),
            "token [redacted-token] leaked"
        );
        assert_eq!(scrub("password=hunter2 ok"), "password=[redacted] ok");
        assert_eq!(
            scrub(r#"{"password": "hunter2"}"#),
            r#"{"password": [redacted]"#
        );
        assert_eq!(
            scrub("Authorization: Bearer abc.def x"),
            "Authorization: Bearer [redacted] x"
        );
        assert_eq!(scrub("sent Bearer abc.def"), "sent Bearer [redacted]");
        assert_eq!(scrub("cookie=bangui_session=xyz"), "cookie=[redacted]");
        assert_eq!(scrub("plain message"), "plain message");
    }
}
