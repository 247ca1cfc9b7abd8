use testkit::db::backends;

use testkit::api::{spawn_app, spawn_app_with};
use testkit::client::assert_error;

#[tokio::test]
async fn healthz_and_readyz_answer_on_a_migrated_database() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let r = app.get("/healthz").await;
        assert_eq!(r.status(), 200);
        let r = app.get("/readyz").await;
        assert_eq!(r.status(), 200, "{backend:?}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["schema"], migrations::SchemaStatus::expected_version());
        app.stop().await;
    }
}

#[tokio::test]
async fn readyz_refuses_until_the_schema_is_migrated() {
    for backend in backends() {
        let app = spawn_app_with(backend, false, &[]).await;
        assert_eq!(
            app.get("/healthz").await.status(),
            200,
            "alive even when not ready"
        );
        let body = assert_error(app.get("/readyz").await, 503, "not_ready").await;
        assert_eq!(
            body["details"]["pending"][0], "m20261126_000001_foundation",
            "{body}"
        );
        migrations::up_guarded(&app.db).await.expect("migrate");
        assert_eq!(app.get("/readyz").await.status(), 200, "{backend:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        app.get("/healthz").await;
        app.get("/api/v1/no-such-thing").await;
        let text = app.get("/metrics").await.text().await.expect("text");
        assert!(
            text.contains(r#"http_requests_total{route="/healthz",method="GET",status="200"}"#),
            "{text}"
        );
        assert!(text.contains(r#"status="404""#), "{text}");
        assert!(
            text.contains("http_request_duration_seconds_bucket"),
            "{text}"
        );
        app.stop().await;
    }
}

/// A write through the API at `base`: a new API token.
async fn write_at(app: &testkit::api::TestApp, base: &str) -> reqwest::Response {
    app.http
        .post(format!("{base}/api/v1/auth/tokens"))
        .json(&serde_json::json!({"name": "probe", "role": "viewer"}))
        .send()
        .await
        .expect("req")
}

/// Polls `check` for up to `secs` seconds.
async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    false
}

#[tokio::test]
async fn a_database_that_stops_taking_writes_is_reported_and_recovered_from_without_a_restart() {
    if !testkit::db::can_freeze_files() {
        eprintln!("skipped: making the SQLite file immutable needs root (chattr +i)");
        return;
    }
    for backend in backends() {
        let app = spawn_app(backend).await;
        assert_eq!(app.get("/readyz").await.status(), 200, "{backend:?}");
        app.test_db.set_writable(false).await;
        // A second API process starts during the outage: SQLite opens its connections
        // read-only, and they would stay so.
        let second = api::app::App::build(testkit::config(&app.test_db.url, &[]))
            .await
            .expect("an API starts while the database takes no writes");
        let second_base = format!("http://{}", second.local_addr());
        let stop_second = tokio_util::sync::CancellationToken::new();
        tokio::spawn(second.run_until_stopped(stop_second.clone()));
        assert_eq!(
            write_at(&app, &second_base).await.status(),
            503,
            "{backend:?}: the second process while read-only"
        );
        // Writes answer 503 database_unavailable (never 500), reads go on, and readiness
        // says the database takes no writes, in its own words only.
        assert!(
            eventually(15, || async {
                write_at(&app, &app.base).await.status() == 503
            })
            .await,
            "{backend:?}: a write while read-only"
        );
        assert_error(write_at(&app, &app.base).await, 503, "database_unavailable").await;
        assert_eq!(
            app.get("/api/v1/jails").await.status(),
            200,
            "{backend:?}: reads"
        );
        assert!(
            eventually(15, || async { app.get("/readyz").await.status() == 503 }).await,
            "{backend:?}: readiness while read-only"
        );
        let body = assert_error(app.get("/readyz").await, 503, "not_ready").await;
        let text = body.to_string();
        assert!(text.contains("does not take writes"), "{text}");
        for raw in [
            "code:",
            "readonly",
            "read-only transaction",
            "I/O",
            "SQL",
            "sqlx",
        ] {
            assert!(
                !text.contains(raw),
                "{backend:?}: readiness leaks {raw:?}: {text}"
            );
        }
        // Writable again: the same process recovers within seconds, no restart.
        app.test_db.set_writable(true).await;
        assert!(
            eventually(20, || async {
                write_at(&app, &app.base).await.status() == 201
            })
            .await,
            "{backend:?}: writes after recovery"
        );
        assert!(
            eventually(10, || async { app.get("/readyz").await.status() == 200 }).await,
            "{backend:?}: ready after recovery"
        );
        assert!(
            eventually(20, || async {
                write_at(&app, &second_base).await.status() == 201
            })
            .await,
            "{backend:?}: the process started during the outage writes after it"
        );
        stop_second.cancel();
        app.stop().await;
    }
}
