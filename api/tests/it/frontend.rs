//! The embedded web UI: index.html for client routes (never cached), hashed assets cached
//! for good, API paths still answering with the error envelope; browser error reports.

use testkit::db::backends;

use testkit::api::spawn_app;
use testkit::client::assert_error;

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
    let html = page.text().await.expect("html");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a script tag")
        .to_owned();
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
