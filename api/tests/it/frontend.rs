//! The embedded web UI: index.html for client routes (never cached), hashed assets cached
//! for good, API paths still answering with the error envelope; browser error reports.

use testkit::db::backends;

use testkit::api::spawn_app;
use testkit::client::assert_error;

/// The path of the first script index.html loads.
fn first_script(html: &str) -> String {
    html.split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a script tag")
        .to_owned()
}

fn built() -> bool {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../frontend/dist/index.html")
        .exists()
}

#[tokio::test]
async fn the_ui_is_served_with_an_spa_fallback_and_the_right_caching() {
    let app = spawn_app(backends()[0]).await;
    let page = app.anon.get(app.url("/")).send().await.expect("GET /");
    if !built() {
        assert!(
            std::env::var("CI").is_err(),
            "CI builds the frontend before the tests"
        );
        assert_eq!(page.status(), 503);
        app.stop().await;
        return;
    }
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("script-src") || csp.starts_with("default-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("'unsafe-eval'"));
    let script = first_script(&page.text().await.expect("html"));
    assert!(script.starts_with("/assets/"), "{script}");
    // Client routes get the same page (deep links, reloads).
    for route in [
        "/history/2001:db8::1",
        "/history/192.0.2.7",
        "/jails/sshd",
        "/map?country=DE",
        "/login",
    ] {
        let r = app.anon.get(app.url(route)).send().await.expect("route");
        assert_eq!(r.status(), 200, "{route}");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert!(r.text().await.expect("html").contains(&script), "{route}");
    }
    let asset = app.anon.get(app.url(&script)).send().await.expect("asset");
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .expect("ct")
            .contains("javascript")
    );
    // Missing files are 404, unknown API paths keep the JSON envelope.
    let missing = app
        .anon
        .get(app.url("/assets/gone-1234.js"))
        .send()
        .await
        .expect("gone");
    assert_eq!(missing.status(), 404);
    assert_error(
        app.anon
            .get(app.url("/api/v1/nope"))
            .send()
            .await
            .expect("api"),
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.anon
            .get(app.url("/api/other"))
            .send()
            .await
            .expect("api"),
        404,
        "not_found",
    )
    .await;
    app.stop().await;
}

/// GET `path` with an `Accept-Encoding`, returning (status, content-encoding, vary, body).
async fn fetch_encoded(
    app: &testkit::api::TestApp,
    path: &str,
    accept: &str,
) -> (u16, Option<String>, String, Vec<u8>) {
    let r = app
        .http
        .get(app.url(path))
        .header("accept-encoding", accept)
        .send()
        .await
        .expect("req");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    let (status, encoding, vary) = (
        r.status().as_u16(),
        header("content-encoding"),
        header("vary").unwrap_or_default(),
    );
    (
        status,
        encoding,
        vary,
        r.bytes().await.expect("body").to_vec(),
    )
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[tokio::test]
async fn assets_go_out_as_built_brotli_or_gzip_and_large_json_gzipped() {
    let app = spawn_app(backends()[0]).await;
    // JSON: the OpenAPI document is large, so gzipped when accepted, the same bytes inside.
    let (_, plain_enc, vary, plain) = fetch_encoded(&app, "/api/v1/openapi.json", "identity").await;
    assert_eq!(plain_enc, None);
    assert!(vary.contains("accept-encoding"), "{vary}");
    let (status, enc, vary, packed) =
        fetch_encoded(&app, "/api/v1/openapi.json", "gzip, deflate, br").await;
    assert_eq!((status, enc.as_deref()), (200, Some("gzip")));
    assert!(vary.contains("accept-encoding"), "{vary}");
    assert!(
        packed.len() * 4 < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
    assert_eq!(gunzip(&packed), plain);
    // Small answers go as they are; a refusal of gzip (q=0) is honoured.
    let (_, enc, _, _) = fetch_encoded(&app, "/api/v1/setup", "gzip").await;
    assert_eq!(enc, None, "small JSON is not compressed");
    let (_, enc, _, _) = fetch_encoded(&app, "/api/v1/openapi.json", "br, gzip;q=0").await;
    assert_eq!(enc, None);

    if built() {
        let html = String::from_utf8(fetch_encoded(&app, "/", "identity").await.3).expect("html");
        let script = first_script(&html);
        let (_, enc, vary, plain) = fetch_encoded(&app, &script, "identity").await;
        assert_eq!(enc, None);
        assert!(vary.contains("accept-encoding"));
        let (_, enc, _, br) = fetch_encoded(&app, &script, "gzip, deflate, br").await;
        assert_eq!(enc.as_deref(), Some("br"), "brotli first");
        assert!(br.len() * 3 < plain.len());
        let (_, enc, _, gz) = fetch_encoded(&app, &script, "gzip").await;
        assert_eq!(enc.as_deref(), Some("gzip"));
        assert_eq!(gunzip(&gz), plain, "the gzip copy is the same file");
    }
    app.stop().await;
}

#[tokio::test]
async fn browser_errors_are_accepted_limited_and_validated() {
    let app = spawn_app(backends()[0]).await;
    let url = app.url("/api/v1/client-errors");
    let report = serde_json::json!({"kind": "error", "message": "boom password=hunter2", "url": "/", "request_id": "ui-1"});
    let r = app
        .anon
        .post(&url)
        .json(&report)
        .send()
        .await
        .expect("report");
    assert_eq!(r.status(), 204);
    let huge = serde_json::json!({"kind": "error", "message": "x".repeat(5000), "url": "/"});
    assert_error(
        app.anon.post(&url).json(&huge).send().await.expect("huge"),
        400,
        "bad_request",
    )
    .await;
    let mut limited = false;
    for _ in 0..40 {
        let r = app
            .anon
            .post(&url)
            .json(&report)
            .send()
            .await
            .expect("report");
        if r.status() == 429 {
            limited = true;
            break;
        }
        assert_eq!(r.status(), 204);
    }
    assert!(limited, "at most 30 a minute");
    app.stop().await;
}
