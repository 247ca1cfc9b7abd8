//! fail2ban's state under the metric names of the widely used fail2ban Prometheus
//! exporter (hectorjsmith/fail2ban-prometheus-exporter), so dashboards and alert rules
//! written for it keep working against BanGUI's scheduler (`/metrics` on the side port).
//!
//! The figures come from what the jobs read anyway (the status probe: up, version, jail
//! count; the jail sync: each jail's counters and settings), so exporting costs fail2ban
//! no extra call. They are rendered here rather than through the `metrics` recorder
//! because a jail that goes away must leave the output (a recorder keeps every series it
//! ever saw). Only the leader renders them: a standby has no fresh figures, and its
//! `f2b_up 0` would raise a false "fail2ban down" alert.
//!
//! The exporter's documentation names the three settings `jail_config_ban_time`,
//! `jail_config_find_time` and `jail_config_max_retry`, while its output (and so every
//! dashboard built on it) uses `f2b_config_jail_ban_time`, `f2b_config_jail_find_time`
//! and `f2b_config_jail_max_retries`. Both spellings are rendered, as are
//! `f2b_jail_config_*` (with `fail_count` for maxretry), the names BanGUI's issue and some
//! dashboards use.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::lock;

/// Why a socket call failed, as the exporter counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketError {
    /// The socket could not be connected to.
    Conn,
    /// A request failed on a connection (timeout, broken pipe, unreadable reply).
    Req,
}

static SOCKET_CONN_ERRORS: AtomicU64 = AtomicU64::new(0);
static SOCKET_REQ_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts one failed socket call (`f2b_errors{type}`), for the process's lifetime.
pub fn count_error(kind: SocketError) {
    match kind {
        SocketError::Conn => SOCKET_CONN_ERRORS.fetch_add(1, Ordering::Relaxed),
        SocketError::Req => SOCKET_REQ_ERRORS.fetch_add(1, Ordering::Relaxed),
    };
}

/// One jail's figures as fail2ban last reported them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JailFigures {
    pub banned_current: i64,
    pub banned_total: i64,
    pub failed_current: i64,
    pub failed_total: i64,
    /// Seconds; `-1` is a permanent ban, as fail2ban reports it.
    pub ban_time: Option<i64>,
    pub find_time: Option<i64>,
    pub max_retry: Option<i64>,
}

#[derive(Debug, Default)]
struct Snapshot {
    /// `None` until the status probe ran in this process.
    up: Option<bool>,
    version: Option<String>,
    jail_count: Option<i64>,
    jails: BTreeMap<String, JailFigures>,
}

/// The figures to render, updated by the jobs.
#[derive(Debug, Default)]
pub struct Exporter {
    snapshot: Mutex<Snapshot>,
}

impl Exporter {
    /// What the status probe saw: fail2ban answering (with its version and jail count) or not.
    pub fn probed(&self, up: bool, version: Option<&str>, jail_count: Option<i64>) {
        let mut s = lock(&self.snapshot);
        s.up = Some(up);
        if let Some(v) = version {
            s.version = Some(v.to_owned());
        }
        if jail_count.is_some() {
            s.jail_count = jail_count;
        }
    }

    /// Every running jail as the jail sync read it; jails not named are gone.
    pub fn jails(&self, jails: impl IntoIterator<Item = (String, JailFigures)>) {
        lock(&self.snapshot).jails = jails.into_iter().collect();
    }

    /// One jail read again after a command changed it.
    pub fn jail(&self, name: &str, figures: JailFigures) {
        lock(&self.snapshot).jails.insert(name.to_owned(), figures);
    }

    /// The Prometheus text exposition of the figures (empty before the first probe).
    pub fn render(&self) -> String {
        let s = lock(&self.snapshot);
        let Some(up) = s.up else {
            return String::new();
        };
        let mut out = String::with_capacity(512 + s.jails.len() * 700);
        family(
            &mut out,
            "f2b_up",
            "gauge",
            "Check if the fail2ban server is up",
        );
        let _ = writeln!(out, "f2b_up {}", u8::from(up));
        family(
            &mut out,
            "f2b_errors",
            "counter",
            "Number of errors found since startup",
        );
        let _ = writeln!(
            out,
            "f2b_errors{{type=\"socket_conn\"}} {}",
            SOCKET_CONN_ERRORS.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "f2b_errors{{type=\"socket_req\"}} {}",
            SOCKET_REQ_ERRORS.load(Ordering::Relaxed)
        );
        if let Some(n) = s.jail_count {
            family(
                &mut out,
                "f2b_jail_count",
                "gauge",
                "Number of defined jails",
            );
            let _ = writeln!(out, "f2b_jail_count {n}");
        }
        type Pick = fn(&JailFigures) -> Option<i64>;
        let per_jail: [(&str, &str, Pick); 11] = [
            (
                "f2b_jail_banned_current",
                "Number of IPs currently banned in this jail",
                |j| Some(j.banned_current),
            ),
            (
                "f2b_jail_banned_total",
                "Total number of IPs banned by this jail (includes expired bans)",
                |j| Some(j.banned_total),
            ),
            (
                "f2b_jail_failed_current",
                "Number of current failures on this jail's filter",
                |j| Some(j.failed_current),
            ),
            (
                "f2b_jail_failed_total",
                "Number of total failures on this jail's filter",
                |j| Some(j.failed_total),
            ),
            (
                "f2b_config_jail_ban_time",
                "How long an IP is banned for in this jail (in seconds)",
                |j| j.ban_time,
            ),
            (
                "f2b_config_jail_find_time",
                "How far back will the filter look for failures in this jail (in seconds)",
                |j| j.find_time,
            ),
            (
                "f2b_config_jail_max_retries",
                "The number of failures allowed until the IP is banned by this jail",
                |j| j.max_retry,
            ),
            (
                "f2b_jail_config_ban_time",
                "How long an IP is banned for in this jail (in seconds)",
                |j| j.ban_time,
            ),
            (
                "f2b_jail_config_find_time",
                "How far back will the filter look for failures in this jail (in seconds)",
                |j| j.find_time,
            ),
            (
                "f2b_jail_config_fail_count",
                "The number of failures allowed until the IP is banned by this jail",
                |j| j.max_retry,
            ),
            (
                "f2b_jail_config_max_retry",
                "The number of failures allowed until the IP is banned by this jail",
                |j| j.max_retry,
            ),
        ];
        for (name, help, pick) in &per_jail {
            if s.jails.values().all(|j| pick(j).is_none()) {
                continue;
            }
            family(&mut out, name, "gauge", help);
            for (jail, figures) in &s.jails {
                if let Some(v) = pick(figures) {
                    let _ = writeln!(out, "{name}{{jail=\"{}\"}} {v}", label(jail));
                }
            }
        }
        if let Some(v) = &s.version {
            family(
                &mut out,
                "f2b_version",
                "gauge",
                "Version of the exporter and fail2ban server",
            );
            let _ = writeln!(
                out,
                "f2b_version{{exporter=\"bangui-{}\",fail2ban=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION"),
                label(v)
            );
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value escaped as the text format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A jail's figures from what the jail sync read (`settings` as stored in `f2b_jails`).
pub fn figures(
    counters: &super::replies::JailCounters,
    settings: &serde_json::Value,
) -> JailFigures {
    let number = |key: &str| {
        let v = settings.get(key)?;
        v.as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    };
    JailFigures {
        banned_current: counters.currently_banned,
        banned_total: counters.total_banned,
        failed_current: counters.currently_failed,
        failed_total: counters.total_failed,
        ban_time: number("bantime"),
        find_time: number("findtime"),
        max_retry: number("maxretry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_before_the_first_probe_then_the_exporters_names() {
        let e = Exporter::default();
        assert_eq!(e.render(), "");
        e.probed(true, Some("1.0.2"), Some(2));
        e.jails([
            (
                "sshd".to_owned(),
                JailFigures {
                    banned_current: 3,
                    banned_total: 7,
                    failed_current: 1,
                    failed_total: 40,
                    ban_time: Some(600),
                    find_time: Some(600),
                    max_retry: Some(5),
                },
            ),
            ("we\"ird".to_owned(), JailFigures::default()),
        ]);
        let text = e.render();
        for line in [
            "f2b_up 1",
            "f2b_jail_count 2",
            "f2b_jail_banned_current{jail=\"sshd\"} 3",
            "f2b_jail_banned_total{jail=\"sshd\"} 7",
            "f2b_jail_failed_current{jail=\"sshd\"} 1",
            "f2b_jail_failed_total{jail=\"sshd\"} 40",
            "f2b_config_jail_ban_time{jail=\"sshd\"} 600",
            "f2b_config_jail_find_time{jail=\"sshd\"} 600",
            "f2b_config_jail_max_retries{jail=\"sshd\"} 5",
            "f2b_jail_config_ban_time{jail=\"sshd\"} 600",
            "f2b_jail_config_find_time{jail=\"sshd\"} 600",
            "f2b_jail_config_fail_count{jail=\"sshd\"} 5",
            "f2b_jail_banned_current{jail=\"we\\\"ird\"} 0",
            "# TYPE f2b_errors counter",
            "# TYPE f2b_jail_banned_total gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(text.contains("f2b_version{exporter=\"bangui-"));
        // A jail that went away leaves the output.
        e.jails([("sshd".to_owned(), JailFigures::default())]);
        assert!(!e.render().contains("we\\\"ird"));
        // Down: up is 0, the last figures stay (as the exporter's last scrape would).
        e.probed(false, None, None);
        assert!(e.render().lines().any(|l| l == "f2b_up 0"));
    }

    #[test]
    fn figures_read_numbers_in_any_form() {
        let c = super::super::replies::JailCounters {
            currently_failed: 1,
            total_failed: 2,
            currently_banned: 3,
            total_banned: 4,
        };
        let f = figures(
            &c,
            &serde_json::json!({"bantime": -1, "findtime": "600", "maxretry": 5.0}),
        );
        assert_eq!(
            (f.ban_time, f.find_time, f.max_retry),
            (Some(-1), Some(600), Some(5))
        );
    }
}
