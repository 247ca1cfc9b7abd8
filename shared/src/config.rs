//! The configuration contract shared by every BanGUI binary.
//!
//! Values come from `BANGUI_*` environment variables; an optional TOML file named by
//! `BANGUI_CONFIG_FILE` may supply the same keys (lower-case, without the prefix), and
//! the environment wins over the file. Everything is validated once, at start-up, so a
//! bad value stops the process with a message that names the variable.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::JailName;
use crate::duration::{format_duration, parse_duration};
use crate::lease::LeaseTiming;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./var/bangui.db?mode=rwc";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var}: {problem}")]
    Invalid { var: String, problem: String },
    #[error("BANGUI_CONFIG_FILE {path}: {problem}")]
    File { path: String, problem: String },
}

fn invalid(var: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var: var.to_owned(),
        problem: problem.into(),
    }
}

/// A database URL whose password never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let var = "BANGUI_DATABASE_URL";
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if known.iter().any(|scheme| raw.starts_with(scheme)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid(
                var,
                "must start with sqlite: or postgres:// (e.g. sqlite://./var/bangui.db?mode=rwc)",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The URL with any password replaced by `***`, safe to log.
    pub fn redacted(&self) -> String {
        redact_url_password(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}://{}:***{}",
                    &url[..scheme_end],
                    &userinfo[..colon],
                    &rest[at..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

/// How the scheduler reaches fail2ban, and how often it looks.
#[derive(Debug, Clone)]
pub struct Fail2banConfig {
    pub socket: PathBuf,
    /// fail2ban's sqlite file; `None` means "ask fail2ban with `get dbfile`".
    pub db: Option<PathBuf>,
    pub config_dir: PathBuf,
    /// The `fail2ban-client` program used for reloads and starting stopped jails.
    pub client: PathBuf,
    /// Whether `fail2ban-client` runs from a warm process (its imports loaded once, one
    /// fork per call) instead of a new interpreter per call.
    pub client_warm: bool,
    /// Per-command timeout on the socket.
    pub timeout: Duration,
    /// The `fail2ban-regex` program whose code the regex tester runs.
    pub regex_program: PathBuf,
    /// The wall-clock limit of one regex test.
    pub regex_timeout: Duration,
    /// Folders (besides the jails' own `logpath`s) whose files the regex tester may read.
    pub log_allow_dirs: Vec<PathBuf>,
    /// The journal folder `journalctl` reads when fail2ban logs to `SYSTEMD-JOURNAL`
    /// (`None`: the system's journal; a folder for a host journal mounted elsewhere).
    pub journal_dir: Option<PathBuf>,
    /// Whether BanGUI may start fail2ban (`fail2ban-client start`) when it stopped after a
    /// configuration change BanGUI rolled back (off where a service manager owns it).
    pub may_start: bool,
    pub status_interval: Duration,
    pub jail_sync_interval: Duration,
    /// How often the configuration tree's files are checked for changes (and re-read).
    pub config_sync_interval: Duration,
    /// How often expired allowlist entries are removed (and the files brought in line).
    pub allowlist_interval: Duration,
    /// How often fail2ban's own log is read for the API (`GET /config/log`).
    pub log_tail_interval: Duration,
    pub ban_sync_interval: Duration,
    pub archive_interval: Duration,
    /// Bans in this jail are reported with origin `blocklist`.
    pub blocklist_jail: JailName,
}

/// The history archive, its rollups, retention and geo data (scheduler side).
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Ban events (and audit rows) older than this are purged.
    pub retention: Duration,
    pub retention_interval: Duration,
    /// Finished commands older than this are purged.
    pub command_retention: Duration,
    pub rollup_interval: Duration,
    pub geo_interval: Duration,
    /// Cached geo answers older than this are looked up again.
    pub geo_max_age: Duration,
    pub geoip_country_db: Option<PathBuf>,
    pub geoip_asn_db: Vec<PathBuf>,
    /// `http(s)://…{ip}…`; `None`: no HTTP fallback (the default).
    pub geo_http_url: Option<String>,
    pub geo_http_per_minute: u32,
}

/// Blocklist downloads and imports (scheduler side; issue #20).
#[derive(Debug, Clone)]
pub struct BlocklistConfig {
    /// Networks a list may be fetched from although they are private, loopback or
    /// otherwise refused (an internal mirror).
    pub allow_nets: Vec<crate::domain::IpOrNet>,
    /// The most bytes one list may take, on the wire and unpacked.
    pub max_bytes: u64,
    /// The whole of one download attempt.
    pub timeout: Duration,
    /// Fixed answers for host names (`host=address`, like curl's `--resolve`), looked
    /// up instead of the system's resolver; their addresses are checked all the same.
    pub resolve: Vec<(String, std::net::IpAddr)>,
    /// How often due schedules are looked for.
    pub schedule_interval: Duration,
}

/// Everything both binaries read. Each binary uses the part it needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub api_addr: SocketAddr,
    pub scheduler_addr: SocketAddr,
    pub lease: LeaseTiming,
    pub heartbeat_interval: Duration,
    pub max_body_bytes: usize,
    /// A command nobody picked up within this time fails with `scheduler_unavailable`.
    pub command_expiry: Duration,
    pub fail2ban: Fail2banConfig,
    pub history: HistoryConfig,
    /// Whether the session cookie is marked `Secure` (off only for plain-http local use).
    pub cookie_secure: bool,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies).
    pub trusted_proxies: Vec<crate::domain::IpOrNet>,
    pub log: LogConfig,
    pub blocklists: BlocklistConfig,
    /// Whether each API replica reuses archive answers (dashboard, history) while the
    /// archive is unchanged (`api::answers`).
    pub answer_cache: bool,
}

/// Where raw settings come from: the environment first, then the optional file.
pub struct Sources {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
}

impl Sources {
    /// Reads the process environment and the file named by `BANGUI_CONFIG_FILE`.
    pub fn from_process() -> Result<Self, ConfigError> {
        Self::from_env(std::env::vars().collect())
    }

    pub fn from_env(env: HashMap<String, String>) -> Result<Self, ConfigError> {
        let file = match env.get("BANGUI_CONFIG_FILE") {
            Some(path) if !path.is_empty() => read_toml_file(path)?,
            _ => HashMap::new(),
        };
        Ok(Self { env, file })
    }

    /// The raw value for `BANGUI_<KEY>`, from the environment or else the file.
    pub fn get(&self, var: &str) -> Option<&str> {
        if let Some(v) = self.env.get(var) {
            return Some(v.as_str());
        }
        let key = var.trim_start_matches("BANGUI_").to_ascii_lowercase();
        self.file.get(&key).map(String::as_str)
    }

    pub fn string_or(&self, var: &str, default: &str) -> String {
        self.get(var)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or(default)
            .trim()
            .to_owned()
    }

    pub fn duration_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.get(var).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(raw) => parse_duration(raw).map_err(|problem| invalid(var, problem)),
        }
    }

    pub fn addr_or(&self, var: &str, default: &str) -> Result<SocketAddr, ConfigError> {
        let raw = self.string_or(var, default);
        raw.parse().map_err(|_| {
            invalid(
                var,
                format!("{raw:?} is not an address like 127.0.0.1:8080"),
            )
        })
    }

    pub fn bool_or(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self
            .string_or(var, if default { "true" } else { "false" })
            .to_ascii_lowercase()
            .as_str()
        {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(invalid(var, format!("{other:?} is not true or false"))),
        }
    }

    pub fn path_or(&self, var: &str, default: &str) -> PathBuf {
        PathBuf::from(self.string_or(var, default))
    }

    /// A job period: at least 1 s, the job scheduler's resolution.
    pub fn interval_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        let d = self.duration_or(var, default)?;
        if d < Duration::from_secs(1) {
            return Err(invalid(
                var,
                format!("{} is below the 1s minimum", format_duration(d)),
            ));
        }
        Ok(d)
    }

    pub fn usize_or(&self, var: &str, default: usize) -> Result<usize, ConfigError> {
        match self.get(var).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| invalid(var, format!("{raw:?} is not a whole number"))),
        }
    }
}

fn history_config(src: &Sources) -> Result<HistoryConfig, ConfigError> {
    let existing_file = |var: &str, raw: &str| {
        let path = PathBuf::from(raw);
        if path.is_file() {
            Ok(path)
        } else {
            Err(invalid(var, format!("{raw:?} is not a readable file")))
        }
    };
    let geoip_country_db = src
        .get("BANGUI_GEOIP_COUNTRY_DB")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| existing_file("BANGUI_GEOIP_COUNTRY_DB", v))
        .transpose()?;
    let geoip_asn_db = src
        .string_or("BANGUI_GEOIP_ASN_DB", "")
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| existing_file("BANGUI_GEOIP_ASN_DB", v))
        .collect::<Result<Vec<_>, _>>()?;
    let geo_http_url = match src.string_or("BANGUI_GEO_HTTP_URL", "") {
        url if url.is_empty() => None,
        url if (url.starts_with("https://") || url.starts_with("http://"))
            && url.contains("{ip}") =>
        {
            Some(url)
        }
        url => {
            return Err(invalid(
                "BANGUI_GEO_HTTP_URL",
                format!("{url:?} must be an http(s) URL containing {{ip}}"),
            ));
        }
    };
    let geo_http_per_minute = u32::try_from(src.usize_or("BANGUI_GEO_HTTP_PER_MINUTE", 30)?)
        .ok()
        .filter(|n| (1..=6000).contains(n))
        .ok_or_else(|| invalid("BANGUI_GEO_HTTP_PER_MINUTE", "must be between 1 and 6000"))?;
    let retention = src.duration_or("BANGUI_RETENTION", Duration::from_secs(365 * 86_400))?;
    if retention < Duration::from_secs(86_400) {
        return Err(invalid("BANGUI_RETENTION", "must be at least 1d"));
    }
    Ok(HistoryConfig {
        retention,
        retention_interval: src
            .interval_or("BANGUI_RETENTION_INTERVAL", Duration::from_secs(3600))?,
        command_retention: src
            .duration_or("BANGUI_COMMAND_RETENTION", Duration::from_secs(30 * 86_400))?,
        rollup_interval: src.interval_or("BANGUI_ROLLUP_INTERVAL", Duration::from_secs(60))?,
        geo_interval: src.interval_or("BANGUI_GEO_INTERVAL", Duration::from_secs(10))?,
        geo_max_age: src.duration_or("BANGUI_GEO_MAX_AGE", Duration::from_secs(30 * 86_400))?,
        geoip_country_db,
        geoip_asn_db,
        geo_http_url,
        geo_http_per_minute,
    })
}

fn blocklist_config(src: &Sources) -> Result<BlocklistConfig, ConfigError> {
    let allow_nets = src
        .string_or("BANGUI_BLOCKLIST_ALLOW_NETS", "")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| proxy_net(p).map_err(|e| invalid("BANGUI_BLOCKLIST_ALLOW_NETS", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let max_bytes = src.usize_or("BANGUI_BLOCKLIST_MAX_BYTES", 32 * 1024 * 1024)? as u64;
    if max_bytes < 1024 {
        return Err(invalid(
            "BANGUI_BLOCKLIST_MAX_BYTES",
            "must be at least 1024",
        ));
    }
    let resolve = src
        .string_or("BANGUI_BLOCKLIST_RESOLVE", "")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let bad = || {
                invalid(
                    "BANGUI_BLOCKLIST_RESOLVE",
                    format!("{pair:?} is not host=address"),
                )
            };
            let (host, addr) = pair.split_once('=').ok_or_else(bad)?;
            let host = host.trim().to_ascii_lowercase();
            if host.is_empty() {
                return Err(bad());
            }
            Ok((host, addr.trim().parse().map_err(|_| bad())?))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BlocklistConfig {
        allow_nets,
        max_bytes,
        timeout: src.duration_or("BANGUI_BLOCKLIST_TIMEOUT", Duration::from_secs(60))?,
        resolve,
        schedule_interval: src.interval_or(
            "BANGUI_BLOCKLIST_SCHEDULE_INTERVAL",
            Duration::from_secs(30),
        )?,
    })
}

/// A trusted proxy address or network; unlike a ban target, loopback is fine here.
fn proxy_net(raw: &str) -> Result<crate::domain::IpOrNet, String> {
    crate::domain::IpOrNet::parse_any(raw).map_err(|e| e.to_string())
}

fn read_toml_file(path: &str) -> Result<HashMap<String, String>, ConfigError> {
    let file_err = |problem: String| ConfigError::File {
        path: path.to_owned(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(file_err(format!(
                        "key {key}: expected a string, number or boolean, got {}",
                        other.type_str()
                    )));
                }
            };
            Ok((key.to_ascii_lowercase(), text))
        })
        .collect()
}

impl Config {
    pub fn from_process() -> Result<Self, ConfigError> {
        Self::from_sources(&Sources::from_process()?)
    }

    pub fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let database_url =
            DatabaseUrl::parse(&src.string_or("BANGUI_DATABASE_URL", DEFAULT_DATABASE_URL))?;
        let lease = LeaseTiming::new(
            src.duration_or("BANGUI_LEASE_TTL", Duration::from_secs(15))?,
            src.duration_or("BANGUI_LEASE_RENEW_INTERVAL", Duration::from_secs(5))?,
            src.duration_or("BANGUI_LEASE_RENEW_DEADLINE", Duration::from_secs(10))?,
        )
        .map_err(|problem| invalid("BANGUI_LEASE_TTL/RENEW_INTERVAL/RENEW_DEADLINE", problem))?;
        let heartbeat_interval =
            src.interval_or("BANGUI_HEARTBEAT_INTERVAL", Duration::from_secs(1))?;
        let fail2ban = Fail2banConfig {
            socket: src.path_or("BANGUI_FAIL2BAN_SOCKET", "/var/run/fail2ban/fail2ban.sock"),
            db: src
                .get("BANGUI_FAIL2BAN_DB")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            config_dir: src.path_or("BANGUI_FAIL2BAN_CONFIG_DIR", "/etc/fail2ban"),
            client: src.path_or("BANGUI_FAIL2BAN_CLIENT", "fail2ban-client"),
            client_warm: src.bool_or("BANGUI_FAIL2BAN_CLIENT_WARM", true)?,
            timeout: src.duration_or("BANGUI_FAIL2BAN_TIMEOUT", Duration::from_secs(10))?,
            regex_program: src.path_or("BANGUI_FAIL2BAN_REGEX", "fail2ban-regex"),
            regex_timeout: src.duration_or("BANGUI_REGEX_TEST_TIMEOUT", Duration::from_secs(10))?,
            log_allow_dirs: src
                .string_or("BANGUI_LOG_ALLOW_DIRS", "")
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .collect(),
            journal_dir: src
                .get("BANGUI_FAIL2BAN_JOURNAL_DIR")
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            may_start: src.bool_or("BANGUI_FAIL2BAN_MAY_START", false)?,
            status_interval: src.interval_or("BANGUI_STATUS_INTERVAL", Duration::from_secs(5))?,
            jail_sync_interval: src
                .interval_or("BANGUI_JAIL_SYNC_INTERVAL", Duration::from_secs(5))?,
            config_sync_interval: src
                .interval_or("BANGUI_CONFIG_SYNC_INTERVAL", Duration::from_secs(10))?,
            allowlist_interval: src
                .interval_or("BANGUI_ALLOWLIST_INTERVAL", Duration::from_secs(30))?,
            log_tail_interval: src
                .interval_or("BANGUI_LOG_TAIL_INTERVAL", Duration::from_secs(3))?,
            ban_sync_interval: src
                .interval_or("BANGUI_BAN_SYNC_INTERVAL", Duration::from_secs(5))?,
            archive_interval: src
                .interval_or("BANGUI_ARCHIVE_SYNC_INTERVAL", Duration::from_secs(30))?,
            blocklist_jail: JailName::parse(
                &src.string_or("BANGUI_BLOCKLIST_JAIL", "blocklist-import"),
            )
            .map_err(|e| invalid("BANGUI_BLOCKLIST_JAIL", e.to_string()))?,
        };
        let history = history_config(src)?;
        let command_expiry = src.duration_or("BANGUI_COMMAND_EXPIRY", Duration::from_secs(60))?;
        let cookie_secure = src.bool_or("BANGUI_COOKIE_SECURE", true)?;
        let trusted_proxies = src
            .string_or("BANGUI_TRUSTED_PROXIES", "")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| proxy_net(p).map_err(|e| invalid("BANGUI_TRUSTED_PROXIES", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let format = match src.string_or("BANGUI_LOG_FORMAT", "pretty").as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => {
                return Err(invalid(
                    "BANGUI_LOG_FORMAT",
                    format!("{other:?} is not json or pretty"),
                ));
            }
        };
        let filter = src.string_or("BANGUI_LOG", "info");
        tracing_subscriber::EnvFilter::try_new(&filter)
            .map_err(|e| invalid("BANGUI_LOG", format!("{filter:?}: {e}")))?;
        let max_body_bytes = src.usize_or("BANGUI_MAX_BODY_BYTES", 1024 * 1024)?;
        if max_body_bytes < 1024 {
            return Err(invalid("BANGUI_MAX_BODY_BYTES", "must be at least 1024"));
        }
        Ok(Self {
            database_url,
            api_addr: src.addr_or("BANGUI_API_ADDR", "127.0.0.1:8080")?,
            scheduler_addr: src.addr_or("BANGUI_SCHEDULER_ADDR", "127.0.0.1:9090")?,
            lease,
            heartbeat_interval,
            max_body_bytes,
            command_expiry,
            fail2ban,
            history,
            cookie_secure,
            trusted_proxies,
            log: LogConfig { format, filter },
            blocklists: blocklist_config(src)?,
            answer_cache: src.bool_or("BANGUI_ANSWER_CACHE", true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_sources(&Sources::from_env(env)?)
    }

    #[test]
    fn defaults_match_the_documented_contract() {
        let c = cfg(&[]).expect("defaults are valid");
        assert_eq!(c.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(c.api_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.scheduler_addr.to_string(), "127.0.0.1:9090");
        assert_eq!(c.lease.ttl, Duration::from_secs(15));
        assert_eq!(c.lease.renew_interval, Duration::from_secs(5));
        assert_eq!(c.lease.renew_deadline, Duration::from_secs(10));
        assert_eq!(c.log.format, LogFormat::Pretty);
        assert_eq!(c.log.filter, "info");
    }

    #[test]
    fn lease_timings_are_refused_when_inconsistent() {
        let e = cfg(&[("BANGUI_LEASE_TTL", "10s")]).expect_err("ttl == deadline");
        assert!(e.to_string().contains("ttl"), "{e}");
        let e = cfg(&[("BANGUI_LEASE_RENEW_INTERVAL", "9s")]).expect_err("deadline < 1.2 interval");
        assert!(e.to_string().contains("1.2"), "{e}");
        assert!(
            cfg(&[
                ("BANGUI_LEASE_TTL", "2s"),
                ("BANGUI_LEASE_RENEW_INTERVAL", "500ms"),
                ("BANGUI_LEASE_RENEW_DEADLINE", "1500ms"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("BANGUI_DATABASE_URL", "mysql://x"),
            ("BANGUI_API_ADDR", "localhost"),
            ("BANGUI_LEASE_TTL", "15 parsecs"),
            ("BANGUI_LOG_FORMAT", "xml"),
            ("BANGUI_LOG", "info,[[["),
        ] {
            let e = cfg(&[(var, value)]).expect_err(var);
            assert!(
                e.to_string()
                    .starts_with(var.split('/').next().unwrap_or(var)),
                "{e}"
            );
        }
    }

    #[test]
    fn debug_output_redacts_the_database_password() {
        let c = cfg(&[(
            "BANGUI_DATABASE_URL",
            "postgres://bangui:s3cret@db:5432/bangui",
        )])
        .expect("valid");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://bangui:***@db:5432/bangui"),
            "{shown}"
        );
    }

    #[test]
    fn a_toml_file_adds_settings_and_the_environment_wins() {
        let dir = std::env::temp_dir().join(format!("bangui-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("bangui.toml");
        std::fs::write(
            &path,
            "api_addr = \"127.0.0.1:7000\"\nlog_format = \"json\"\n",
        )
        .expect("write");
        let path = path.to_string_lossy().to_string();
        let c = cfg(&[
            ("BANGUI_CONFIG_FILE", &path),
            ("BANGUI_LOG_FORMAT", "pretty"),
        ])
        .expect("valid");
        assert_eq!(c.api_addr.to_string(), "127.0.0.1:7000");
        assert_eq!(c.log.format, LogFormat::Pretty);
        std::fs::write(&path, "api_addr = [1]\n").expect("write");
        assert!(matches!(
            cfg(&[("BANGUI_CONFIG_FILE", &path)]),
            Err(ConfigError::File { .. })
        ));
    }
}
