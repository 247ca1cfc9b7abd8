//! The outermost middleware: gives every request an id, a tracing span, a body size
//! limit, panic protection, metrics, and turns every error into the one envelope (with
//! `Retry-After` or `Allow` where its details name them). The JSON body rules come
//! later, after the caller is known (`contract`).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use poem::PathPattern;
use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use shared::request_id::RequestId;
use tracing::Instrument;

use crate::error::{ErrorBody, classify};

pub struct RequestContext {
    max_body_bytes: usize,
}

impl RequestContext {
    pub fn new(max_body_bytes: usize) -> Self {
        Self { max_body_bytes }
    }
}

impl<E: Endpoint> Middleware<E> for RequestContext {
    type Output = RequestContextEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestContextEndpoint {
            inner,
            max_body_bytes: self.max_body_bytes,
        }
    }
}

pub struct RequestContextEndpoint<E> {
    inner: E,
    max_body_bytes: usize,
}

impl<E: Endpoint> Endpoint for RequestContextEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let request_id =
            RequestId::from_headers(header(RequestId::HEADER), header(RequestId::TRACEPARENT));
        req.extensions_mut().insert(request_id.clone());
        let method = req.method().to_string();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %method,
            path = %req.uri().path(),
        );
        async move {
            let outcome = match self.limit_body(&mut req).await {
                Err(resp) => Err(resp),
                Ok(()) => AssertUnwindSafe(self.inner.call(req))
                    .catch_unwind()
                    .await
                    .map_err(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        tracing::error!(panic = %what, "handler panicked");
                        poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR)
                    })
                    .and_then(|r| r),
            };
            let mut resp = match outcome {
                Ok(output) => output.into_response(),
                Err(err) => error_response(&err, &request_id),
            };
            let route = resp
                .data::<PathPattern>()
                .map(|p| p.0.to_string())
                .unwrap_or_else(|| "unmatched".to_owned());
            let status = resp.status().as_u16();
            let elapsed = started.elapsed().as_secs_f64();
            let status_label = status.to_string();
            metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status_label.clone()).increment(1);
            metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method, "status" => status_label).record(elapsed);
            if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
                resp.headers_mut().insert(RequestId::HEADER, v);
            }
            if status >= 500 {
                tracing::warn!(status, elapsed_ms = elapsed * 1000.0, "request failed");
            } else {
                tracing::debug!(status, elapsed_ms = elapsed * 1000.0, "request done");
            }
            Ok(resp)
        }
        .instrument(span)
        .await
    }
}

/// The body limit of `POST /config/regex-test`: 1 MiB of lines with room for JSON's
/// escapes and the regexes.
const REGEX_TEST_BODY_BYTES: usize = 2 * 1024 * 1024;

impl<E> RequestContextEndpoint<E> {
    /// Refuses bodies above the limit, whether announced by Content-Length or streamed.
    async fn limit_body(&self, req: &mut Request) -> Result<(), poem::Error> {
        let too_large = || poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE);
        // The regex tester takes up to 1 MiB of lines, which JSON makes larger.
        let limit = if req.uri().path().ends_with("/config/regex-test") {
            self.max_body_bytes.max(REGEX_TEST_BODY_BYTES)
        } else {
            self.max_body_bytes
        };
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        if declared == Some(0) {
            return Ok(());
        }
        let body = req.take_body();
        let bytes = body.into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => poem::Error::from_string(other.to_string(), StatusCode::BAD_REQUEST),
        })?;
        req.set_body(bytes);
        Ok(())
    }
}

fn error_response(err: &poem::Error, request_id: &RequestId) -> Response {
    let (status, code, message) = classify(err);
    let api = err.downcast_ref::<crate::error::ApiError>();
    let body = ErrorBody {
        error_code: code,
        message,
        details: api
            .and_then(|e| e.details.clone())
            .or_else(|| crate::error::param_details(err)),
        request_id: request_id.to_string(),
    };
    // The one log line of a failed request, with what went wrong underneath.
    let cause = api.and_then(crate::error::ApiError::cause_chain);
    let cause = cause.as_deref().unwrap_or("");
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error_code = %code, error = %err, cause, "request error");
    } else {
        tracing::info!(status = status.as_u16(), error_code = %code, error = %err, cause, "request refused");
    }
    let retry_after = body
        .details
        .as_ref()
        .and_then(|d| d.get("retry_after"))
        .and_then(serde_json::Value::as_i64);
    let allow = body
        .details
        .as_ref()
        .and_then(|d| d.get("allow"))
        .and_then(serde_json::Value::as_str)
        .and_then(|a| HeaderValue::from_str(a).ok());
    let mut resp = poem::web::Json(body).into_response();
    resp.set_status(status);
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut()
            .insert(poem::http::header::RETRY_AFTER, v);
    }
    if let Some(v) = allow {
        resp.headers_mut().insert(poem::http::header::ALLOW, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use poem::{EndpointExt, Route, Server, get, handler};

    use super::RequestContext;

    #[handler]
    fn explode() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_the_envelope_and_the_server_survives() {
        let endpoint = Route::new()
            .at("/explode", get(explode))
            .at("/fine", get(poem::endpoint::make_sync(|_| "fine")))
            .with(RequestContext::new(1024));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let server =
            tokio::spawn(Server::new(poem::listener::TcpListener::bind(addr)).run(endpoint));
        let http = reqwest::Client::new();
        let mut resp = None;
        for _ in 0..50 {
            if let Ok(r) = http.get(format!("http://{addr}/explode")).send().await {
                resp = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let body = testkit::client::assert_error(resp.expect("server up"), 500, "internal").await;
        assert!(
            !body["message"].as_str().unwrap_or("").contains("boom"),
            "panic text must not leak"
        );
        let ok = http
            .get(format!("http://{addr}/fine"))
            .send()
            .await
            .expect("req");
        assert_eq!(ok.status(), 200);
        server.abort();
    }
}
