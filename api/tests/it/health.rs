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

/// Makes the test database stop taking writes, from outside the API: the SQLite file, its
/// `-wal` and its folder become immutable (`chattr +i`: refused even to root and to files
/// already open; the `-shm` stays, as a `chmod` would leave the memory SQLite already
/// mapped from it writable, where an immutable one would crash the process); PostgreSQL sessions become read-only (new ones by the
/// database's default, existing ones are ended so they reconnect into it).
async fn stop_writes(app: &testkit::api::TestApp, on: bool) {
    if let Some(path) = app.test_db.sqlite_path() {
        let dir = path.parent().expect("folder").to_path_buf();
        let wal = path.with_extension("db-wal");
        let flag = if on { "+i" } else { "-i" };
        // The folder last on the way in, first on the way out.
        let mut files = vec![path, wal];
        if on {
            files.push(dir);
        } else {
            files.insert(0, dir);
        }
        for file in files.iter().filter(|f| f.exists()) {
            let status = std::process::Command::new("chattr")
                .arg(flag)
                .arg(file)
                .status()
                .expect("chattr (e2fsprogs) runs");
            assert!(status.success(), "chattr {flag} {}", file.display());
        }
    } else if let Some(name) = app.test_db.pg_name() {
        if on {
            app.test_db
                .on_server(&format!(
                    "ALTER DATABASE \"{name}\" SET default_transaction_read_only = on"
                ))
                .await;
            app.test_db
                .on_server(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await;
        } else {
            // Existing sessions stay read-only: the API must retire them by itself.
            app.test_db
                .on_server(&format!(
                    "ALTER DATABASE \"{name}\" RESET default_transaction_read_only"
                ))
                .await;
        }
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
    if !nix_root() {
        eprintln!("skipped: making the SQLite file immutable needs root (chattr +i)");
        return;
    }
    for backend in backends() {
        let app = spawn_app(backend).await;
        assert_eq!(app.get("/readyz").await.status(), 200, "{backend:?}");
        stop_writes(&app, true).await;
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
        stop_writes(&app, false).await;
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

fn nix_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
