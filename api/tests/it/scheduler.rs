//! `GET /api/v1/scheduler` reads the lease row with the database clock.

use testkit::db::backends;

use testkit::api::spawn_app;

async fn exec(app: &testkit::api::TestApp, sql: &str) {
    shared::db::execute(&app.db, sql, []).await.expect("sql");
}

#[tokio::test]
async fn no_lease_row_means_no_leader() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let body: serde_json::Value = app
            .get("/api/v1/scheduler")
            .await
            .json()
            .await
            .expect("json");
        assert!(body["leader"].is_null(), "{body}");
        assert_eq!(body["last_token"], 0);
        assert_eq!(body["recent_runs"], serde_json::json!([]));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_valid_lease_is_shown_and_an_expired_or_released_one_is_not() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        exec(
            &app,
            "INSERT INTO scheduler_lease VALUES ('scheduler', 'pod-0-1-abc', 7, \
             {now_ms} - 5000, {now_ms}, {now_ms} + 10000)",
        )
        .await;
        exec(
            &app,
            "INSERT INTO scheduler_job_runs (job, holder, token, started_at_ms, finished_at_ms, ok, error) VALUES \
             ('heartbeat', 'pod-0-1-abc', 7, 1000, 1250, true, NULL), \
             ('heartbeat', 'pod-0-1-abc', 7, 2000, 2010, false, 'boom')",
        )
        .await;
        let body: serde_json::Value = app
            .get("/api/v1/scheduler")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            body["leader"]["holder"], "pod-0-1-abc",
            "{backend:?} {body}"
        );
        assert_eq!(body["leader"]["token"], 7);
        assert_eq!(body["last_token"], 7);
        let runs = body["recent_runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0]["ok"], false, "newest first");
        assert_eq!(runs[0]["error"], "boom");
        assert_eq!(runs[1]["duration_ms"], 250);
        assert_eq!(runs[1]["started_at"], "1970-01-01T00:00:01+00:00");

        exec(
            &app,
            "UPDATE scheduler_lease SET expires_at_ms = {now_ms} - 1",
        )
        .await;
        let body: serde_json::Value = app
            .get("/api/v1/scheduler")
            .await
            .json()
            .await
            .expect("json");
        assert!(body["leader"].is_null(), "{backend:?}: expired {body}");
        assert_eq!(body["last_token"], 7);

        exec(
            &app,
            "UPDATE scheduler_lease SET holder = '', expires_at_ms = {now_ms} + 10000",
        )
        .await;
        let body: serde_json::Value = app
            .get("/api/v1/scheduler")
            .await
            .json()
            .await
            .expect("json");
        assert!(body["leader"].is_null(), "{backend:?}: released {body}");
        app.stop().await;
    }
}
