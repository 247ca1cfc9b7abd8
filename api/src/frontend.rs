//! The browser UI, built by Vite into `frontend/dist` and embedded in the binary (release
//! builds; debug builds read the folder from disk). Hashed files under `/assets/` are
//! cached forever; `index.html` is never cached, and every client route (a path without a
//! file extension outside `/api`) gets it, so deep links and reloads work.
//!
//! The build (`frontend/scripts/compress.mjs`) leaves a brotli (`.br`) and a gzip (`.gz`)
//! copy beside each text file; the copy the browser's `Accept-Encoding` allows is sent
//! (brotli first), with `Vary: Accept-Encoding`, so nothing is compressed per request.

use poem::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, Request, Response};
use rust_embed::RustEmbed;

use crate::middleware::compress::accepts;

#[derive(RustEmbed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>BanGUI</title>\
<p>The BanGUI web interface was not built into this binary. Build it with \
<code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code> (the run command does), \
then rebuild bangui-api. The API is at <a href=\"/api/docs/\">/api/docs/</a>.";

pub struct Frontend;

/// The encodings made at build time, best first: (Content-Encoding, file suffix).
const ENCODED: [(&str, &str); 2] = [("br", ".br"), ("gzip", ".gz")];

fn file(path: &str, immutable: bool, accept: &HeaderMap) -> Option<Response> {
    let asset = Assets::get(path)?;
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let encoded = ENCODED.iter().find_map(|(coding, suffix)| {
        if !accepts(accept, coding) {
            return None;
        }
        Assets::get(&format!("{path}{suffix}")).map(|f| (*coding, f.data))
    });
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, asset.metadata.mimetype())
        .header(header::CACHE_CONTROL, HeaderValue::from_static(cache))
        .header(header::VARY, HeaderValue::from_static("accept-encoding"));
    Some(match encoded {
        Some((coding, data)) => builder
            .header(header::CONTENT_ENCODING, coding)
            .body(data.into_owned()),
        None => builder.body(asset.data.into_owned()),
    })
}

impl Endpoint for Frontend {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Err(poem::Error::from_status(StatusCode::METHOD_NOT_ALLOWED));
        }
        let path = req.uri().path().trim_start_matches('/');
        if path.starts_with("api/") {
            return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
        }
        if !path.is_empty() && path != "index.html" {
            if let Some(resp) = file(path, path.starts_with("assets/"), req.headers()) {
                return Ok(resp);
            }
            // A missing asset (an old hashed file) is a 404, not the app; anything else is a
            // client route, dots included (`/history/192.0.2.7`).
            if path.starts_with("assets/") {
                return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
            }
        }
        Ok(file("index.html", false, req.headers()).unwrap_or_else(|| {
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .header(header::CACHE_CONTROL, "no-cache")
                .body(NOT_BUILT)
        }))
    }
}
