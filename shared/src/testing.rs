//! Test databases: a fresh SQLite file or a fresh PostgreSQL database per test, on every
//! backend the suite runs against (`BANGUI_TEST_BACKENDS`, default `sqlite,postgres`).
//! PostgreSQL is reached through `BANGUI_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the CI machine's trust-auth server).

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::config::DatabaseUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The backends this run covers.
pub fn backends() -> Vec<Backend> {
    let raw = std::env::var("BANGUI_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    raw.split(',')
        .filter_map(|b| match b.trim() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            _ => None,
        })
        .collect()
}

fn pg_admin_url() -> String {
    std::env::var("BANGUI_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    dir: Option<PathBuf>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn create(backend: Backend) -> Self {
        // BANGUI_TEST_RUN_ID groups one suite run's databases so its script can sweep
        // up after a failed test.
        let run = std::env::var("BANGUI_TEST_RUN_ID").unwrap_or_else(|_| "adhoc".into());
        let suffix = format!("{run}_{}_{:08x}", std::process::id(), rand::random::<u32>());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("bangui-test-{suffix}"));
                std::fs::create_dir_all(&dir).expect("create a temporary directory");
                let url = format!("sqlite://{}/bangui.db?mode=rwc", dir.display());
                Self {
                    backend,
                    url,
                    dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("bangui_test_{suffix}");
                let admin = Database::connect(pg_admin_url()).await.expect(
                    "PostgreSQL for tests (set BANGUI_TEST_PG_URL or BANGUI_TEST_BACKENDS=sqlite)",
                );
                admin
                    .execute_raw(Statement::from_string(
                        admin.get_database_backend(),
                        format!("CREATE DATABASE \"{name}\""),
                    ))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let admin_url = pg_admin_url();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                let url = format!("{base}/{name}");
                Self {
                    backend,
                    url,
                    dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("test URLs are valid")
    }

    pub async fn connect(&self) -> DatabaseConnection {
        crate::db::connect(&self.database_url(), crate::db::Role::Migrate)
            .await
            .expect("connect to the test database")
    }

    /// The SQLite file, for tests that lock it from outside.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("bangui.db"))
    }

    /// Removes the database. Call at the end of a test; a failed test leaves it behind
    /// for inspection (PostgreSQL) or in the temp dir (SQLite).
    pub async fn drop_db(self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = &self.pg_name
            && let Ok(admin) = Database::connect(pg_admin_url()).await
        {
            let _ = admin
                .execute_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                ))
                .await;
            admin.close().await.ok();
        }
    }
}

/// A private fail2ban-server started by `scripts/fail2ban-private.sh` in a temporary
/// folder (PROTOCOL.md §5): jails `sshd`, `web-auth`, `bulk` and `blocklist-import`,
/// dummy or no action, its own socket and database. Stopped on drop.
pub struct PrivateFail2ban {
    pub dir: PathBuf,
}

impl PrivateFail2ban {
    pub fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/fail2ban-private.sh")
    }

    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bangui-f2b-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let me = Self { dir };
        me.run("start");
        me
    }

    fn run(&self, verb: &str) {
        let out = std::process::Command::new(Self::script())
            .arg(verb)
            .arg(&self.dir)
            .output()
            .expect("run fail2ban-private.sh");
        assert!(
            out.status.success(),
            "fail2ban-private.sh {verb}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the same server again (after [`Self::stop`]).
    pub fn restart(&self) {
        self.run("start");
    }

    pub fn stop(&self) {
        self.run("stop");
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("f2b.sock")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("conf")
    }

    pub fn db_file(&self) -> PathBuf {
        self.dir.join("f2b.sqlite3")
    }

    /// Appends `count` epoch-dated failure lines for `ip` to the `web-auth` (or `bulk`)
    /// log; two are enough for a ban in `web-auth`.
    pub fn fail(&self, log: &str, ip: &str, count: usize) {
        use std::io::Write;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join(log))
            .expect("open the log");
        for _ in 0..count {
            writeln!(f, "{now} failure from {ip}").expect("write the log");
        }
    }

    /// Runs `fail2ban-client` against this server and returns its stdout.
    pub fn client(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("fail2ban-client")
            .arg("-s")
            .arg(self.socket())
            .args(args)
            .output()
            .expect("run fail2ban-client");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The IPs fail2ban itself reports banned in `jail`.
    pub fn banned(&self, jail: &str) -> Vec<String> {
        self.client(&["get", jail, "banip"])
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for PrivateFail2ban {
    fn drop(&mut self) {
        let _ = std::process::Command::new(Self::script())
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
