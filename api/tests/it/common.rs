//! `spawn_app`: a real bangui-api on 127.0.0.1:0 over a fresh, migrated database.

use std::collections::HashMap;

use sea_orm::DatabaseConnection;
use shared::config::{Config, Sources};
use shared::testing::{Backend, TestDb};
use tokio_util::sync::CancellationToken;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    /// Authenticated as the admin (Bearer token) once set up.
    pub http: reqwest::Client,
    /// No credentials.
    pub anon: reqwest::Client,
    pub admin_token: String,
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
    let anon = reqwest::Client::new();
    let admin_token = if migrate {
        setup_admin(&anon, &base).await
    } else {
        String::new()
    };
    TestApp {
        http: bearer_client(&admin_token),
        anon,
        admin_token,
        base,
        db,
        test_db,
        shutdown,
        server,
    }
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// Sets BanGUI up with the test admin and returns an admin API token.
pub async fn setup_admin(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/setup"))
        .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("setup");
    assert_eq!(
        r.status(),
        201,
        "setup: {}",
        r.text().await.unwrap_or_default()
    );
    login_token(base, ADMIN, ADMIN_PASSWORD, "admin").await
}

/// Signs in as `user` and creates an API token with `role`.
pub async fn login_token(base: &str, user: &str, password: &str, role: &str) -> String {
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = jar
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(
        r.status(),
        200,
        "login: {}",
        r.text().await.unwrap_or_default()
    );
    let r = jar
        .post(format!("{base}/api/v1/auth/tokens"))
        .header("X-Requested-With", "bangui")
        .header("Origin", base)
        .json(&serde_json::json!({"name": "tests", "role": role}))
        .send()
        .await
        .expect("token");
    assert_eq!(
        r.status(),
        201,
        "token: {}",
        r.text().await.unwrap_or_default()
    );
    let v: serde_json::Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_owned()
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
