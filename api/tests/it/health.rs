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
        app.get("/no/such/page").await;
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
