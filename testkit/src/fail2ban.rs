//! A private fail2ban-server for tests (PROTOCOL.md §5), from Debian's package, with its
//! own socket, database, logs and jails.

use std::path::PathBuf;

/// A private fail2ban-server started by `scripts/fail2ban-private.sh` in a temporary
/// folder (PROTOCOL.md §5): jails `sshd`, `web-auth`, `bulk` and `blocklist-import`,
/// dummy or no action, its own socket and database. Stopped on drop.
///
/// `BANGUI_TEST_F2B_VERSION` (0.11.2, 1.0.2, 1.1.0) picks the fail2ban: Debian's package
/// (1.0.2) by default, another through `fail2ban-at` on that version's own stock tree.
pub struct PrivateFail2ban {
    pub dir: PathBuf,
    /// On a full copy of the stock tree (`F2B_STOCK_TREE=1`).
    stock: bool,
    /// Another version than Debian's package.
    version: Option<String>,
}

/// The fail2ban version the tests run against, when not Debian's package.
pub fn test_version() -> Option<String> {
    std::env::var("BANGUI_TEST_F2B_VERSION")
        .ok()
        .filter(|v| !v.is_empty() && v != "1.0.2")
}

impl PrivateFail2ban {
    pub fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/fail2ban-private.sh")
    }

    pub fn start() -> Self {
        Self::start_tree(false)
    }

    /// Started on a full private copy of Debian's `/etc/fail2ban` (every stock jail,
    /// filter and action; our jails and a dummy action in `jail.local`).
    pub fn start_stock() -> Self {
        Self::start_tree(true)
    }

    fn start_tree(stock: bool) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bangui-f2b-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let me = Self {
            dir,
            stock,
            version: test_version(),
        };
        me.run("start");
        me
    }

    /// The fail2ban version this server runs (`None`: Debian's package).
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    fn run(&self, verb: &str) {
        let out = std::process::Command::new(Self::script())
            .arg(verb)
            .arg(&self.dir)
            .env("F2B_STOCK_TREE", if self.stock { "1" } else { "0" })
            .env("F2B_VERSION", self.version.as_deref().unwrap_or("1.0.2"))
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

    /// This server's version's `fail2ban-client`, as one program.
    pub fn client_program(&self) -> PathBuf {
        self.dir.join("bin/fail2ban-client")
    }

    /// This server's version's `fail2ban-regex`.
    pub fn regex_program(&self) -> PathBuf {
        match self.version {
            Some(_) => self.dir.join("bin/fail2ban-regex"),
            None => PathBuf::from("fail2ban-regex"),
        }
    }

    /// The sample logs this version ships for its stock filters
    /// (`fail2ban/tests/files/logs` in its package).
    pub fn sample_logs(&self) -> PathBuf {
        let out = std::process::Command::new(self.dir.join("bin/python"))
            .args([
                "-c",
                "import fail2ban, os; print(os.path.dirname(fail2ban.__file__))",
            ])
            .output()
            .expect("the version's python");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("tests/files/logs")
    }

    /// Runs `fail2ban-client` against this server and returns its stdout.
    pub fn client(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(self.client_program())
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
            .env("F2B_VERSION", self.version.as_deref().unwrap_or("1.0.2"))
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The scheduler's environment for a private fail2ban, with short job intervals.
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
    // Another version's client is a wrapper (run cold); Debian's stays warm.
    .chain(f2b.version().into_iter().flat_map(|_| {
        [
            (
                "BANGUI_FAIL2BAN_CLIENT",
                f2b.client_program().display().to_string(),
            ),
            (
                "BANGUI_FAIL2BAN_REGEX",
                f2b.regex_program().display().to_string(),
            ),
        ]
    }))
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
