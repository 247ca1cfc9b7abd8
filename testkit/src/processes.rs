//! Real `bangui-scheduler` processes for tests and the takeover benchmark.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use serde::Deserialize;

/// Where a BanGUI binary is: `BANGUI_BIN_DIR` when set, else beside the running test or
/// bench executable's folder (`target/<profile>/`, which `cargo test --workspace` and
/// `cargo build --bins` fill).
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("BANGUI_BIN_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            // target/<profile>/deps/<test>-<hash> -> target/<profile>
            Some(exe.parent()?.parent()?.to_path_buf())
        })
        .expect("the test executable's folder");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --workspace --bins, with --release for benches)",
        path.display()
    );
    path
}

/// Lease timings given to the processes under test.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub ttl: Duration,
    pub interval: Duration,
    pub deadline: Duration,
}

impl Timings {
    /// Short timings for tests: TTL 2 s, renew every 500 ms, deadline 1.5 s.
    pub const SHORT: Timings = Timings {
        ttl: Duration::from_millis(2000),
        interval: Duration::from_millis(500),
        deadline: Duration::from_millis(1500),
    };
    /// The production defaults (used by the takeover benchmark).
    #[allow(dead_code)]
    pub const DEFAULT: Timings = Timings {
        ttl: Duration::from_secs(15),
        interval: Duration::from_secs(5),
        deadline: Duration::from_secs(10),
    };
}

#[derive(Debug, Clone, Deserialize)]
pub struct Health {
    pub holder: String,
    pub leader: bool,
    pub token: i64,
}

pub struct SchedulerProcess {
    pub name: String,
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    http: reqwest::Client,
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SchedulerProcess {
    pub fn spawn(database_url: &str, timings: Timings, name: &str) -> Self {
        Self::spawn_with(database_url, timings, name, &[])
    }

    /// Like [`Self::spawn`] with extra environment (fail2ban paths, job intervals).
    pub fn spawn_with(
        database_url: &str,
        timings: Timings,
        name: &str,
        extra: &[(String, String)],
    ) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "bangui-scheduler-{name}-{}-{port}.log",
            std::process::id()
        ));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(binary("bangui-scheduler"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BANGUI_DATABASE_URL", database_url)
            .env("BANGUI_SCHEDULER_ADDR", format!("127.0.0.1:{port}"))
            .env("BANGUI_LEASE_TTL", format!("{}ms", timings.ttl.as_millis()))
            .env(
                "BANGUI_LEASE_RENEW_INTERVAL",
                format!("{}ms", timings.interval.as_millis()),
            )
            .env(
                "BANGUI_LEASE_RENEW_DEADLINE",
                format!("{}ms", timings.deadline.as_millis()),
            )
            .env("BANGUI_LOG_FORMAT", "json")
            .env("BANGUI_LOG", "info,sqlx=warn")
            .env("POD_NAME", name)
            // No fail2ban unless a test gives one: keep the jobs away from the host's.
            .env("BANGUI_FAIL2BAN_SOCKET", "/nonexistent/bangui-test.sock")
            .envs(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start bangui-scheduler");
        Self {
            name: name.to_owned(),
            child,
            port,
            log,
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(500))
                .build()
                .expect("http client"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn health(&self) -> Option<Health> {
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        self.http.get(url).send().await.ok()?.json().await.ok()
    }

    pub async fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        match self.http.get(url).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn wait_healthy(&self) -> Health {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(h) = self.health().await {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "{} never answered; log:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} {}", self.pid());
    }

    /// Waits for the process to exit and returns whether it exited with status 0.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<bool> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The structured log lines whose message is exactly `message`, as
    /// (timestamp, whole line).
    pub fn log_events(
        &self,
        message: &str,
    ) -> Vec<(chrono::DateTime<chrono::Utc>, serde_json::Value)> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == message)
            .filter_map(|v| {
                let ts = v["timestamp"].as_str()?.parse().ok()?;
                Some((ts, v))
            })
            .collect()
    }
}

impl Drop for SchedulerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.pid().to_string())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Polls every process until exactly one reports leading; returns its index.
pub async fn wait_for_single_leader(procs: &[&SchedulerProcess], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let mut leaders = Vec::new();
        for (i, p) in procs.iter().enumerate() {
            if p.health().await.is_some_and(|h| h.leader) {
                leaders.push(i);
            }
        }
        if leaders.len() == 1 {
            return leaders[0];
        }
        assert!(
            Instant::now() < deadline,
            "no single leader within {within:?} (leaders: {leaders:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The heartbeat log: (id, holder, token) in write order.
pub async fn heartbeats(db: &DatabaseConnection) -> Vec<(i64, String, i64)> {
    shared::db::query_all(
        db,
        "SELECT id, holder, token FROM scheduler_heartbeats ORDER BY id",
        [],
    )
    .await
    .expect("read heartbeats")
    .iter()
    .map(|r| {
        (
            r.try_get("", "id").expect("id"),
            r.try_get("", "holder").expect("holder"),
            r.try_get("", "token").expect("token"),
        )
    })
    .collect()
}

/// Asserts the fencing property on the heartbeat log: tokens never go down in write
/// order, and each token belongs to exactly one holder.
pub fn assert_tokens_never_interleave(rows: &[(i64, String, i64)]) {
    let mut owner: std::collections::HashMap<i64, &str> = Default::default();
    for pair in rows.windows(2) {
        assert!(
            pair[0].2 <= pair[1].2,
            "token went down: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    for (_, holder, token) in rows {
        let first = owner.entry(*token).or_insert(holder.as_str());
        assert_eq!(
            *first,
            holder.as_str(),
            "token {token} written by two holders"
        );
    }
}
