//! A whole BanGUI over a real private fail2ban: the scheduler as a process, the API in
//! process, one database. Used by the end-to-end tests and the fail2ban benchmark.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::config::{Config, Sources};
use shared::testing::{Backend, PrivateFail2ban, TestDb};
use tokio_util::sync::CancellationToken;

use crate::common::{SchedulerProcess, Timings};

/// fail2ban, a scheduler process and an in-process API over one database.
pub struct Stack {
    pub f2b: PrivateFail2ban,
    pub scheduler: SchedulerProcess,
    pub base: String,
    pub http: reqwest::Client,
    pub test_db: TestDb,
    api_shutdown: CancellationToken,
}

pub fn fail2ban_env(f2b: &PrivateFail2ban) -> Vec<(String, String)> {
    [
        ("BANGUI_FAIL2BAN_SOCKET", f2b.socket().display().to_string()),
        (
            "BANGUI_FAIL2BAN_CONFIG_DIR",
            f2b.config_dir().display().to_string(),
        ),
        ("BANGUI_STATUS_INTERVAL", "1s".into()),
        ("BANGUI_JAIL_SYNC_INTERVAL", "1s".into()),
        ("BANGUI_BAN_SYNC_INTERVAL", "1s".into()),
        ("BANGUI_ARCHIVE_SYNC_INTERVAL", "2s".into()),
        ("BANGUI_FAIL2BAN_TIMEOUT", "5s".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Sets BanGUI up through `base` (`…/api/v1`) and returns a client that acts as the
/// admin with an API token.
pub async fn admin_client(base: &str) -> reqwest::Client {
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = jar
        .post(format!("{base}/setup"))
        .json(&serde_json::json!({"username": "admin", "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("setup");
    assert!(
        r.status() == 201 || r.status() == 409,
        "setup: {}",
        r.status()
    );
    let r = jar
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login");
    let origin = base.trim_end_matches("/api/v1");
    let r = jar
        .post(format!("{base}/auth/tokens"))
        .header("X-Requested-With", "bangui")
        .header("Origin", origin)
        .json(&serde_json::json!({"name": "tests", "role": "admin"}))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 201, "token");
    let v: Value = r.json().await.expect("json");
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", v["token"].as_str().expect("token"));
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&bearer).expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .expect("client")
}

impl Stack {
    pub async fn start(backend: Backend) -> Stack {
        Self::start_with(backend, &[]).await
    }

    /// Like [`Self::start`], with extra scheduler environment.
    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Stack {
        let f2b = PrivateFail2ban::start();
        let test_db = TestDb::create(backend).await;
        let mut env = fail2ban_env(&f2b);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let scheduler = SchedulerProcess::spawn_with(&test_db.url, Timings::SHORT, "e2e", &env);
        scheduler.wait_healthy().await;
        let env: HashMap<String, String> = HashMap::from([
            ("BANGUI_DATABASE_URL".into(), test_db.url.clone()),
            ("BANGUI_API_ADDR".into(), "127.0.0.1:0".into()),
            ("BANGUI_LOG".into(), "warn".into()),
        ]);
        let config = Config::from_sources(&Sources::from_env(env).expect("env")).expect("config");
        let app = api::app::App::build(config).await.expect("api");
        let base = format!("http://{}/api/v1", app.local_addr());
        let api_shutdown = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(api_shutdown.clone()));
        let http = admin_client(&base).await;
        let stack = Stack {
            f2b,
            scheduler,
            base,
            http,
            test_db,
            api_shutdown,
        };
        stack
            .eventually("the jails are synced", Duration::from_secs(20), || async {
                let jails = stack.get("/jails").await;
                jails["items"]
                    .as_array()
                    .is_some_and(|a| a.len() == 4)
                    .then_some(())
            })
            .await;
        stack
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        r.json().await.expect("JSON")
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Polls `check` until it gives a value or `within` passes.
    pub async fn eventually<T, F, Fut>(&self, what: &str, within: Duration, check: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(
                start.elapsed() < within,
                "timed out waiting for: {what}\nscheduler log:\n{}",
                self.scheduler
                    .log_text()
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn ban_of(&self, jail: &str, ip: &str) -> Option<Value> {
        let page = self.get(&format!("/jails/{jail}/bans?q={ip}")).await;
        page["items"]
            .as_array()?
            .iter()
            .find(|b| b["ip"] == ip)
            .cloned()
    }

    pub async fn stop(self) {
        self.api_shutdown.cancel();
        drop(self.scheduler);
        drop(self.f2b);
        self.test_db.drop_db().await;
    }
}
