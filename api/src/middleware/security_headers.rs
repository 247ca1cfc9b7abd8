//! Security headers on every response: a strict Content-Security-Policy (no inline
//! script), no framing, no MIME sniffing, same-origin referrers, HSTS when BanGUI is
//! served securely, and `Cache-Control: no-store` on every API answer. The API explorer under /api/docs needs inline script and style, so it
//! alone gets a CSP that allows them.

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";
/// The web UI: Fluent UI writes its styles at run time, so styles (never scripts) may be
/// inline; the favicon is a data: URL.
const CSP_UI: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";
const CSP_DOCS: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; object-src 'none'";

pub struct SecurityHeaders {
    hsts: bool,
}

impl SecurityHeaders {
    pub fn new(hsts: bool) -> Self {
        Self { hsts }
    }
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner,
            hsts: self.hsts,
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    hsts: bool,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path();
        let csp = if path.starts_with("/api/docs") {
            CSP_DOCS
        } else if path.starts_with("/api/") || ["/healthz", "/readyz", "/metrics"].contains(&path) {
            CSP
        } else {
            CSP_UI
        };
        // API answers hold account data and, once, a new token's secret: no cache (the
        // browser's included) may keep them. The UI's files set their own caching.
        let no_store = csp == CSP;
        let mut resp = self.inner.call(req).await?.into_response();
        let h = resp.headers_mut();
        if no_store {
            h.insert("cache-control", HeaderValue::from_static("no-store"));
        }
        h.insert("content-security-policy", HeaderValue::from_static(csp));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
        if self.hsts {
            h.insert(
                "strict-transport-security",
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        Ok(resp)
    }
}
