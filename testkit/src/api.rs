//! `spawn_app`: a real bangui-api, in this process, on 127.0.0.1:0 over a fresh, migrated
//! database.

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::client::{bearer_client, setup_admin};
use crate::config;
use crate::db::{Backend, TestDb};

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
        setup_admin(&base).await
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
