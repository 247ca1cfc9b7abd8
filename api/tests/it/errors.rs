//! The one error envelope, for every way a request can fail.

use testkit::db::backends;

use testkit::api::spawn_app;
use testkit::client::assert_error;

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
async fn the_caller_is_checked_before_the_input_and_wrong_methods_name_the_allowed_ones() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        // Anonymous: told to sign in, whatever is wrong with the parameters or body.
        for r in [
            app.anon
                .get(app.url("/api/v1/bans?page=0&page_size=-3"))
                .send()
                .await,
            app.anon
                .post(app.url("/api/v1/bans"))
                .header("content-type", "text/plain")
                .body("not json")
                .send()
                .await,
            app.anon
                .post(app.url("/api/v1/bans"))
                .json(&serde_json::json!({"jail": 5}))
                .send()
                .await,
            app.anon
                .get(app.url("/api/v1/history/not-an-ip"))
                .send()
                .await,
        ] {
            assert_error(r.expect("req"), 401, "unauthorized").await;
        }
        // Signed in: now the input is judged.
        assert_error(app.get("/api/v1/bans?page=0").await, 400, "bad_request").await;
        let r = app
            .http
            .post(app.url("/api/v1/bans"))
            .json(&serde_json::json!({"jail": 5, "ips": ["192.0.2.1"]}))
            .send()
            .await
            .expect("req");
        assert_error(r, 400, "bad_request").await;
        // A method the path lacks: 405 with Allow, before anything else.
        for (method, path, allow) in [
            (reqwest::Method::DELETE, "/api/v1/bans", "GET, POST, HEAD"),
            (reqwest::Method::PUT, "/api/v1/users/7", "PATCH, DELETE"),
            (reqwest::Method::GET, "/api/v1/auth/login", "POST"),
        ] {
            let r = app
                .anon
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("req");
            assert_eq!(
                r.headers().get("allow").and_then(|v| v.to_str().ok()),
                Some(allow),
                "{method} {path}"
            );
            assert_error(r, 405, "method_not_allowed").await;
        }
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
        testkit::api::spawn_app_with(backends()[0], true, &[("BANGUI_MAX_BODY_BYTES", "4096")])
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

/// What a database error becomes, for errors made by a real database.
async fn answer_to(db: &sea_orm::DatabaseConnection, sql: &str) -> api::error::ApiError {
    let err = shared::db::execute(db, sql, []).await.expect_err(sql);
    api::error::ApiError::from(err)
}

#[tokio::test]
async fn database_errors_keep_their_cause_and_get_the_status_they_deserve() {
    use api::error::ErrorCode;
    for backend in backends() {
        let app = spawn_app(backend).await;
        // A bug (a column that does not exist): 500 `internal`, the SQL stays in the cause.
        let bug = answer_to(&app.db, "SELECT no_such_column FROM users").await;
        assert_eq!(
            (bug.status.as_u16(), bug.code),
            (500, ErrorCode::Internal),
            "{backend:?}"
        );
        assert!(!bug.message.contains("no_such_column"), "{}", bug.message);
        assert!(
            bug.cause_chain()
                .is_some_and(|c| c.contains("no_such_column")),
            "{backend:?}: {:?}",
            bug.cause_chain()
        );
        // A unique violation nobody named better: 409 `conflict`.
        let dup = answer_to(
            &app.db,
            "INSERT INTO settings (key, value, updated_at_ms, updated_by) VALUES ('setup', 'x', 0, 'x')",
        )
        .await;
        assert_eq!(
            (dup.status.as_u16(), dup.code),
            (409, ErrorCode::Conflict),
            "{backend:?}"
        );
        // A pool that can no longer reach the database: 503 `database_unavailable`.
        let gone = app.test_db.connect().await;
        gone.clone().close().await.ok();
        let down = answer_to(&gone, "SELECT 1").await;
        assert_eq!(
            (down.status.as_u16(), down.code),
            (503, ErrorCode::DatabaseUnavailable),
            "{backend:?}: {:?}",
            down.cause_chain()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_database_that_went_away_answers_503_with_the_request_id_and_no_sql() {
    for backend in backends() {
        if backend != testkit::db::Backend::Postgres {
            continue;
        }
        let app = spawn_app(backend).await;
        assert_eq!(app.get("/api/v1/jails").await.status(), 200);
        // Drop the database under the running API (its connections are terminated).
        let name = app.test_db.url.rsplit('/').next().expect("name").to_owned();
        let admin_url = std::env::var("BANGUI_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = sea_orm::Database::connect(&admin_url).await.expect("admin");
        shared::db::execute(
            &admin,
            &format!("DROP DATABASE \"{name}\" WITH (FORCE)"),
            [],
        )
        .await
        .expect("drop");
        let body = assert_error(app.get("/api/v1/jails").await, 503, "database_unavailable").await;
        assert!(
            !body.to_string().to_lowercase().contains("select"),
            "{body}"
        );
        admin.close().await.ok();
        app.stop().await;
    }
}
