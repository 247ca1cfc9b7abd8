//! fail2ban's own settings (issue #19, PRODUCT.md §1.9): the `[Definition]` keys of
//! `fail2ban.conf` BanGUI changes, each a type that carries its validity. The API checks
//! a change with them, the scheduler checks the command's payload again, sets each value
//! over the socket (`set loglevel INFO`) and writes it into `fail2ban.local`.

use serde::{Deserialize, Serialize};

use crate::domain::vocabulary;

vocabulary! {
    /// fail2ban's log levels, most severe first.
    pub enum ServerLogLevel {
        Critical => "CRITICAL",
        Error => "ERROR",
        Warning => "WARNING",
        Notice => "NOTICE",
        Info => "INFO",
        Debug => "DEBUG",
        TraceDebug => "TRACEDEBUG",
        HeavyDebug => "HEAVYDEBUG",
    }
}

/// Where fail2ban logs: one of its named targets or an absolute file path (whether the
/// file's folder is allowed is for the scheduler to say; it knows the host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LogTarget(String);

/// The named targets `logtarget` takes besides a file.
pub const NAMED_LOG_TARGETS: &[&str] = &["STDOUT", "STDERR", "SYSLOG", "SYSTEMD-JOURNAL"];

impl LogTarget {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        if let Some(named) = NAMED_LOG_TARGETS.iter().find(|n| n.eq_ignore_ascii_case(v)) {
            return Ok(Self((*named).to_owned()));
        }
        check_path(v, "logtarget")?;
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file it names, when it names one.
    pub fn file(&self) -> Option<&str> {
        (!NAMED_LOG_TARGETS.contains(&self.0.as_str())).then_some(self.0.as_str())
    }
}

/// `syslogsocket`: `auto` or the absolute path of a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SyslogSocket(String);

impl SyslogSocket {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        if v.eq_ignore_ascii_case("auto") {
            return Ok(Self("auto".into()));
        }
        check_path(v, "syslogsocket")?;
        Ok(Self(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A time in fail2ban's syntax (`str2seconds`): `-1`, or numbers each with an optional
/// unit (`1d`, `12h 30m`, `86400`), with its length in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fail2banTime(String);

impl Fail2banTime {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        fail2ban_seconds(v)
            .map(|_| Self(v.to_owned()))
            .ok_or_else(|| {
                format!(
                    "{:?} is not a fail2ban time (seconds, or numbers with units: 30m, 12h, 1d, 1w)",
                    v.chars().take(40).collect::<String>()
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn seconds(&self) -> i64 {
        fail2ban_seconds(&self.0).unwrap_or(0)
    }
}

macro_rules! string_glue {
    ($($t:ident),+) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(v: String) -> Result<Self, String> {
                Self::parse(&v)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
    )+};
}
string_glue!(LogTarget, SyslogSocket, Fail2banTime);

fn check_path(v: &str, field: &str) -> Result<(), String> {
    let ok = v.starts_with('/')
        && v.len() <= 4096
        && !v.split('/').any(|part| part == "..")
        && !v.chars().any(|c| c.is_control() || c.is_whitespace())
        && !v.contains("<F2B_");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} must be {} or an absolute path without spaces or \"..\"",
            if field == "logtarget" {
                "STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL"
            } else {
                "auto"
            }
        ))
    }
}

/// The longest `dbmaxmatches` BanGUI sets (fail2ban keeps that many log lines per ban).
pub const MAX_DBMAXMATCHES: u32 = 10_000;

/// A change to fail2ban's settings: the keys given are set, the others left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loglevel: Option<ServerLogLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logtarget: Option<LogTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslogsocket: Option<SyslogSocket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbpurgeage: Option<Fail2banTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "bounded_matches"
    )]
    pub dbmaxmatches: Option<u32>,
}

fn bounded_matches<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Option::<u32>::deserialize(d)?;
    match v {
        Some(n) if n > MAX_DBMAXMATCHES => Err(serde::de::Error::custom(format!(
            "dbmaxmatches is at most {MAX_DBMAXMATCHES}"
        ))),
        other => Ok(other),
    }
}

impl ServerSettings {
    /// `(key, value)` in the order fail2ban is asked to take them: the log target before
    /// the level, so a new file gets the new level's first lines.
    pub fn changes(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(v) = &self.logtarget {
            out.push(("logtarget", v.as_str().to_owned()));
        }
        if let Some(v) = &self.syslogsocket {
            out.push(("syslogsocket", v.as_str().to_owned()));
        }
        if let Some(v) = self.loglevel {
            out.push(("loglevel", v.as_str().to_owned()));
        }
        if let Some(v) = &self.dbpurgeage {
            out.push(("dbpurgeage", v.as_str().to_owned()));
        }
        if let Some(v) = self.dbmaxmatches {
            out.push(("dbmaxmatches", v.to_string()));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.changes().is_empty()
    }
}

/// What is unwise about a `dbpurgeage`: fail2ban deletes bans older than it from its
/// database, so BanGUI's archive must read them before.
pub fn purge_age_warnings(seconds: i64, archive_every_secs: i64) -> Vec<String> {
    let mut out = Vec::new();
    if seconds < 86_400 {
        out.push(format!(
            "dbpurgeage is {seconds} s, under one day: fail2ban forgets bans (and cannot restore them after a restart) sooner than most expect"
        ));
    }
    if seconds <= archive_every_secs {
        out.push(format!(
            "dbpurgeage ({seconds} s) is not longer than BanGUI's archive sync interval ({archive_every_secs} s): fail2ban may delete bans before BanGUI archives them"
        ));
    }
    out
}

/// fail2ban's `str2seconds`: `-1`, or numbers each with an optional unit; `None` when it
/// is not one (`mo` and `y` are a twelfth of a leap-averaged year and such a year).
pub fn fail2ban_seconds(value: &str) -> Option<i64> {
    const YEAR: f64 = (365.0 * 3.0 + 366.0) * 86_400.0 / 4.0;
    let unit = |u: &str| -> Option<f64> {
        Some(match u {
            "" | "s" | "sec" | "secs" | "second" | "seconds" | "ss" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" | "mm" => 60.0,
            "h" | "hou" | "hour" | "hours" | "hh" => 3600.0,
            "d" | "da" | "dd" | "day" | "days" => 86_400.0,
            "w" | "wk" | "we" | "wee" | "ww" | "week" | "weeks" => 604_800.0,
            "mo" | "mon" | "month" | "months" => YEAR / 12.0,
            "y" | "yy" | "ye" | "yea" | "yr" | "year" | "years" => YEAR,
            _ => return None,
        })
    };
    let v = value.trim();
    if v == "-1" {
        return Some(-1);
    }
    let mut rest = v;
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok().filter(|_| digits > 0)?;
        rest = rest[digits..].trim_start();
        let len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        total += n * unit(&rest[..len].to_ascii_lowercase())?;
        rest = rest[len..].trim_start();
        any = true;
    }
    (any && total.is_finite() && total < 1e15).then_some(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail2ban_times_read_as_fail2ban_reads_them() {
        assert_eq!(fail2ban_seconds("1d"), Some(86_400));
        assert_eq!(fail2ban_seconds("1h 30m"), Some(5_400));
        assert_eq!(fail2ban_seconds("600"), Some(600));
        assert_eq!(fail2ban_seconds("-1"), Some(-1));
        assert_eq!(fail2ban_seconds("2w"), Some(1_209_600));
        for bad in ["", "d", "1x", "1d;rm", "--1", "1 d e"] {
            assert_eq!(fail2ban_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_refuse_what_fail2ban_should_not_get() {
        assert_eq!(
            LogTarget::parse("systemd-journal").expect("named").as_str(),
            "SYSTEMD-JOURNAL"
        );
        assert_eq!(
            LogTarget::parse("/var/log/fail2ban.log")
                .expect("file")
                .file(),
            Some("/var/log/fail2ban.log")
        );
        for bad in [
            "fail2ban.log",
            "/var/log/../etc/x",
            "/var/log/a b",
            "",
            "/x\ny",
        ] {
            assert!(LogTarget::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SyslogSocket::parse("auto").is_ok());
        assert!(SyslogSocket::parse("/dev/log").is_ok());
        assert!(SyslogSocket::parse("dev/log").is_err());
        let s: ServerSettings =
            serde_json::from_str(r#"{"loglevel":"DEBUG","dbpurgeage":"2d"}"#).expect("parse");
        assert_eq!(
            s.changes(),
            vec![("loglevel", "DEBUG".into()), ("dbpurgeage", "2d".into())]
        );
        assert!(serde_json::from_str::<ServerSettings>(r#"{"loglevel":"LOUD"}"#).is_err());
        assert!(serde_json::from_str::<ServerSettings>(r#"{"dbmaxmatches":10001}"#).is_err());
        assert!(serde_json::from_str::<ServerSettings>(r#"{"dbpurgeage":"soon"}"#).is_err());
    }

    #[test]
    fn a_short_purge_age_is_warned_about() {
        assert!(purge_age_warnings(86_400 * 7, 60).is_empty());
        assert_eq!(purge_age_warnings(3_600, 60).len(), 1);
        assert_eq!(purge_age_warnings(30, 60).len(), 2);
    }
}
