//! `spawn_app`: a real bangui-api on 127.0.0.1:0 over a fresh, migrated database.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;
use shared::config::{Config, Sources};
use shared::testing::{Backend, TestDb};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: DatabaseConnection,
    pub test_db: TestDb,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub fn config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::from([
        ("BANGUI_DATABASE_URL".into(), url.into()),
        ("BANGUI_API_ADDR".into(), "127.0.0.1:0".into()),
        ("BANGUI_LOG".into(), "warn".into()),
    ]);
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Config::from_sources(&Sources::from_env(env).expect("sources")).expect("config")
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, true, &[]).await
}

pub async fn spawn_app_with(backend: Backend, migrate: bool, extra: &[(&str, &str)]) -> TestApp {
    let test_db = TestDb::create(backend).await;
    let db = test_db.connect().await;
    if migrate {
        migrations::up_guarded(&db).await.expect("migrate");
    }
    let app = api::app::App::build(config(&test_db.url, extra))
        .await
        .expect("build app");
    let base = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        base,
        http: reqwest::Client::new(),
        db,
        test_db,
        shutdown,
        server,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.db.close().await.ok();
        self.test_db.drop_db().await;
    }
}

/// Asserts the error envelope and returns it.
pub async fn assert_error(resp: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let header_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    let body: serde_json::Value = resp.json().await.expect("a JSON error body");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], header_id.as_str(), "{body}");
    body
}
