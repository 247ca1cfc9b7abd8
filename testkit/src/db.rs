//! Test databases: a fresh SQLite file or a fresh PostgreSQL database per test, on every
//! backend the suite runs against (`BANGUI_TEST_BACKENDS`, default `sqlite,postgres`).
//! PostgreSQL is reached through `BANGUI_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the CI machine's trust-auth server).

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use shared::config::DatabaseUrl;

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

/// Whether this process may freeze files (`chattr +i` needs root), as
/// [`TestDb::set_writable`] does for SQLite.
pub fn can_freeze_files() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
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
        shared::db::connect(&self.database_url(), shared::db::Role::Migrate)
            .await
            .expect("connect to the test database")
    }

    /// The SQLite file, for tests that lock it from outside.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("bangui.db"))
    }

    /// The PostgreSQL database's name.
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }

    /// Runs `sql` on the PostgreSQL server as its administrator (from the maintenance
    /// database), for tests that change the test database from outside.
    pub async fn on_server(&self, sql: &str) {
        let admin = Database::connect(pg_admin_url())
            .await
            .expect("connect as the PostgreSQL administrator");
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        admin.close().await.ok();
    }

    /// Makes the database stop (`false`) or resume (`true`) taking writes, from outside
    /// the processes using it. SQLite: the file, its `-wal` and its folder become
    /// immutable (`chattr +i`: refused even to root and to files already open; the
    /// `-shm` stays, as a `chmod` would leave the memory SQLite mapped from it writable,
    /// where an immutable one would crash the process). PostgreSQL: new sessions are
    /// read-only by the database's default and existing ones are ended so they reconnect
    /// into it; on resume the default is reset but existing sessions stay read-only, for
    /// the processes to retire by themselves.
    pub async fn set_writable(&self, writable: bool) {
        if let Some(path) = self.sqlite_path() {
            let dir = path.parent().expect("folder").to_path_buf();
            let wal = path.with_extension("db-wal");
            let flag = if writable { "-i" } else { "+i" };
            // The folder last on the way in, first on the way out.
            let files = if writable {
                vec![dir, path, wal]
            } else {
                vec![path, wal, dir]
            };
            for file in files.iter().filter(|f| f.exists()) {
                let status = std::process::Command::new("chattr")
                    .arg(flag)
                    .arg(file)
                    .status()
                    .expect("chattr (e2fsprogs) runs");
                assert!(status.success(), "chattr {flag} {}", file.display());
            }
        } else if let Some(name) = self.pg_name.clone() {
            if writable {
                self.on_server(&format!(
                    "ALTER DATABASE \"{name}\" RESET default_transaction_read_only"
                ))
                .await;
            } else {
                self.on_server(&format!(
                    "ALTER DATABASE \"{name}\" SET default_transaction_read_only = on"
                ))
                .await;
                self.on_server(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await;
            }
        }
    }

    /// Removes the database. Call at the end of a test; a failed test leaves it behind
    /// for inspection (PostgreSQL) or in the temp dir (SQLite).
    pub async fn drop_db(self) {
        if let Some(dir) = &self.dir {
            // A test that failed while the files were frozen leaves them so.
            if can_freeze_files() {
                let _ = std::process::Command::new("chattr")
                    .args(["-R", "-i"])
                    .arg(dir)
                    .stderr(std::process::Stdio::null())
                    .status();
            }
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
