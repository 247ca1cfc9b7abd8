//! A whole BanGUI over a real private fail2ban: the scheduler as a process, the API in
//! process, one database. Used by the end-to-end tests and the fail2ban benchmark.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::config::{Config, Sources};
use tokio_util::sync::CancellationToken;

use crate::client::admin_client;
use crate::db::{Backend, TestDb};
use crate::fail2ban::{PrivateFail2ban, fail2ban_env};
use crate::processes::{SchedulerProcess, Timings};

/// fail2ban, a scheduler process and an in-process API over one database.
pub struct Stack {
    pub f2b: PrivateFail2ban,
    pub scheduler: SchedulerProcess,
    pub base: String,
    pub http: reqwest::Client,
    pub test_db: TestDb,
    api_shutdown: CancellationToken,
    /// The scheduler's environment, for a standby ([`Self::standby`]).
    scheduler_env: Vec<(String, String)>,
}

impl Stack {
    pub async fn start(backend: Backend) -> Stack {
        Self::start_with(backend, &[]).await
    }

    /// Like [`Self::start`], with extra scheduler environment.
    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Stack {
        Self::start_on(PrivateFail2ban::start(), backend, extra).await
    }

    /// Like [`Self::start_with`], over a given fail2ban.
    pub async fn start_on(f2b: PrivateFail2ban, backend: Backend, extra: &[(&str, &str)]) -> Stack {
        let test_db = TestDb::create(backend).await;
        let mut env = fail2ban_env(&f2b);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let scheduler = SchedulerProcess::spawn_with(&test_db.url, Timings::SHORT, "e2e", &env);
        scheduler.wait_healthy().await;
        let scheduler_env = env;
        let mut env: HashMap<String, String> = HashMap::from([
            ("BANGUI_DATABASE_URL".into(), test_db.url.clone()),
            ("BANGUI_API_ADDR".into(), "127.0.0.1:0".into()),
            ("BANGUI_LOG".into(), "warn".into()),
        ]);
        // Both binaries read the blocklist jail: the API validates sources against it.
        env.extend(
            scheduler_env
                .iter()
                .filter(|(k, _)| k == "BANGUI_BLOCKLIST_JAIL")
                .cloned(),
        );
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
            scheduler_env,
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

    /// A second scheduler over the same database and fail2ban: a standby while the first
    /// leads.
    pub async fn standby(&self, name: &str) -> SchedulerProcess {
        let p = SchedulerProcess::spawn_with(
            &self.test_db.url,
            Timings::SHORT,
            name,
            &self.scheduler_env,
        );
        p.wait_healthy().await;
        p
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

    /// Sends a request that queues a command (`wait=10s` added, the API's longest) and,
    /// when it answers with the command still pending or running, follows it to its end.
    pub async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (code, mut cmd) = self
            .send(method, &format!("{path}{sep}wait=10s"), body)
            .await;
        let start = Instant::now();
        while (code == 200 || code == 202)
            && matches!(cmd["status"].as_str(), Some("pending" | "running"))
            && start.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cmd = self.get(&format!("/commands/{}", cmd["id"])).await;
        }
        (if code == 202 { 200 } else { code }, cmd)
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
