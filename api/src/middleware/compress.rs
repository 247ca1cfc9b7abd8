//! Compressed JSON: a JSON response larger than [`MIN_BYTES`] goes out gzipped when the
//! client accepts gzip (the dashboard's lists and the OpenAPI document shrink five- to
//! tenfold). Small answers are left alone: compressing them costs more than it saves.
//! Every JSON answer says `Vary: Accept-Encoding`, so a cache never serves gzip to a
//! client that did not ask for it. The UI's files are compressed at build time instead
//! (`crate::frontend`).

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use poem::http::{HeaderMap, HeaderValue, Method, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

/// Bodies below this many bytes are sent as they are.
pub const MIN_BYTES: usize = 1024;

/// Whether `Accept-Encoding` allows `coding` (named, or `*`, with a non-zero q-value).
pub fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case(coding) || name == "*") && !q_zero
        })
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

pub struct CompressJson;

impl<E: Endpoint> Middleware<E> for CompressJson {
    type Output = CompressJsonEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CompressJsonEndpoint { inner }
    }
}

pub struct CompressJsonEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for CompressJsonEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let gzip = req.method() != Method::HEAD && accepts(req.headers(), "gzip");
        let mut resp = self.inner.call(req).await?.into_response();
        if !is_json(&resp) || resp.headers().contains_key(header::CONTENT_ENCODING) {
            return Ok(resp);
        }
        resp.headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
        if !gzip {
            return Ok(resp);
        }
        let body = resp.take_body().into_bytes().await?;
        if body.len() < MIN_BYTES {
            resp.set_body(body);
            return Ok(resp);
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
        let packed = encoder.write_all(&body).and_then(|()| encoder.finish());
        match packed {
            Ok(packed) => {
                let h = resp.headers_mut();
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                h.remove(header::CONTENT_LENGTH);
                resp.set_body(packed);
            }
            // Writing to memory does not fail; if it ever did, the plain body still goes.
            Err(_) => resp.set_body(body),
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn reads_accept_encoding_with_q_values_and_wildcards() {
        assert!(accepts(&headers("gzip, deflate, br"), "br"));
        assert!(accepts(&headers("gzip, deflate, br"), "gzip"));
        assert!(accepts(&headers("GZIP"), "gzip"));
        assert!(accepts(&headers("br;q=1.0, gzip;q=0.5"), "gzip"));
        assert!(!accepts(&headers("br;q=1.0, gzip;q=0"), "gzip"));
        assert!(!accepts(&headers("identity"), "gzip"));
        assert!(accepts(&headers("*"), "br"));
        assert!(!accepts(&headers("*;q=0"), "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }
}
