//! The one error envelope, for every way a request can fail.

use poem::{EndpointExt, Route, Server, get, handler};
use shared::testing::backends;

use crate::common::{assert_error, spawn_app};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_envelope() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        assert_error(app.get("/api/v1/nothing-here").await, 404, "not_found").await;
        let r = app
            .http
            .delete(app.url("/api/v1/scheduler"))
            .send()
            .await
            .expect("req");
        assert_error(r, 405, "method_not_allowed").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_well_formed_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = spawn_app(backends()[0]).await;
    let r = app
        .http
        .get(app.url("/api/v1/nothing"))
        .header("X-Request-Id", "trace-abc.123")
        .send()
        .await
        .expect("req");
    assert_eq!(r.headers()["x-request-id"], "trace-abc.123");
    let body = assert_error(r, 404, "not_found").await;
    assert_eq!(body["request_id"], "trace-abc.123");

    let r = app
        .http
        .get(app.url("/healthz"))
        .header("X-Request-Id", "<script>alert(1)</script>")
        .send()
        .await
        .expect("req");
    let id = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    app.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_whether_declared_or_streamed() {
    let app =
        crate::common::spawn_app_with(backends()[0], true, &[("BANGUI_MAX_BODY_BYTES", "4096")])
            .await;
    let big = vec![b'x'; 10_000];
    let r = app
        .http
        .post(app.url("/api/v1/scheduler"))
        .body(big.clone())
        .send()
        .await
        .expect("req");
    assert_error(r, 413, "payload_too_large").await;
    // Chunked: no Content-Length, so the limit must hold while reading.
    let chunks: Vec<Vec<u8>> = big.chunks(1000).map(<[u8]>::to_vec).collect();
    let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    let r = app
        .http
        .post(app.url("/api/v1/scheduler"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("req");
    assert_error(r, 413, "payload_too_large").await;
    app.stop().await;
}

#[handler]
fn explode() -> &'static str {
    panic!("boom")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_with_the_envelope_and_the_server_survives() {
    let endpoint = Route::new()
        .at("/explode", get(explode))
        .at("/fine", get(poem::endpoint::make_sync(|_| "fine")))
        .with(api::middleware::request_context::RequestContext::new(1024));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let server = tokio::spawn(Server::new(poem::listener::TcpListener::bind(addr)).run(endpoint));
    let http = reqwest::Client::new();
    let mut resp = None;
    for _ in 0..50 {
        if let Ok(r) = http.get(format!("http://{addr}/explode")).send().await {
            resp = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let body = assert_error(resp.expect("server up"), 500, "internal").await;
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
