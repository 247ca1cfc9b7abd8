//! Blocklists (issue #20, ADR 0009): how a source's list is read, where it is fetched
//! from, when it is imported, and the parser every import and preview uses. The API
//! validates sources with these types; the scheduler parses the downloaded bodies.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone as _, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{IpOrNet, vocabulary};

vocabulary! {
    /// How a list is written.
    pub enum ListKind {
        /// One address or CIDR per line; `#` and `;` start comments (FireHOL netsets,
        /// Spamhaus DROP/EDROP).
        Plain => "plain",
        /// Comma-separated; the address is in one column.
        Csv => "csv",
    }
}

vocabulary! {
    /// What started an import.
    pub enum ImportTrigger {
        Schedule => "schedule",
        Manual => "manual",
    }
}

vocabulary! {
    /// How an import ended (or that it runs).
    pub enum ImportOutcome {
        Running => "running",
        /// The difference was applied to fail2ban.
        Applied => "applied",
        /// The list had not changed (304, or the same content) and fail2ban held it all.
        Unchanged => "unchanged",
        Failed => "failed",
    }
}

/// The most columns a CSV source may name.
pub const MAX_CSV_COLUMN: u16 = 64;

/// A list's format: plain, or CSV with the (1-based) column holding the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawFormat")]
pub struct ListFormat {
    pub kind: ListKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u16>,
}

/// A format as read from JSON, before its checks.
#[derive(Deserialize)]
struct RawFormat {
    kind: ListKind,
    #[serde(default)]
    column: Option<u16>,
}

impl TryFrom<RawFormat> for ListFormat {
    type Error = String;
    fn try_from(r: RawFormat) -> Result<Self, String> {
        ListFormat::new(r.kind, r.column)
    }
}

impl ListFormat {
    pub const PLAIN: ListFormat = ListFormat {
        kind: ListKind::Plain,
        column: None,
    };

    /// A format as given: CSV needs a column from 1 to [`MAX_CSV_COLUMN`]; plain takes
    /// none.
    pub fn new(kind: ListKind, column: Option<u16>) -> Result<Self, String> {
        match (kind, column) {
            (ListKind::Plain, None) => Ok(Self::PLAIN),
            (ListKind::Plain, Some(_)) => Err("a plain list has no column".into()),
            (ListKind::Csv, Some(c)) if (1..=MAX_CSV_COLUMN).contains(&c) => Ok(Self {
                kind,
                column: Some(c),
            }),
            (ListKind::Csv, _) => Err(format!(
                "a CSV list needs the column of the address, 1 to {MAX_CSV_COLUMN}"
            )),
        }
    }
}

/// The longest URL a source may have.
pub const MAX_URL_LEN: usize = 2048;

/// An `http` or `https` URL with a host and without credentials: what a source may
/// name. Only a first check: the scheduler parses it again, resolves the host and checks
/// every address before it connects (`scheduler::net`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceUrl(String);

impl SourceUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = raw.trim();
        if url.is_empty() {
            return Err("the URL is empty".into());
        }
        if url.len() > MAX_URL_LEN {
            return Err(format!("the URL is longer than {MAX_URL_LEN} characters"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the URL holds spaces or control characters".into());
        }
        let lower = url.to_ascii_lowercase();
        let rest = if let Some(r) = lower.strip_prefix("https://") {
            r
        } else if let Some(r) = lower.strip_prefix("http://") {
            r
        } else {
            return Err("only http:// and https:// URLs are fetched".into());
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err("credentials in the URL are not accepted".into());
        }
        let host = if authority.starts_with('[') {
            authority
                .split(']')
                .next()
                .unwrap_or("")
                .trim_start_matches('[')
        } else {
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(Self(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SourceUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<SourceUrl> for String {
    fn from(u: SourceUrl) -> String {
        u.0
    }
}

vocabulary! {
    pub enum Weekday {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
}

impl Weekday {
    fn days_from_monday(self) -> i64 {
        Weekday::ALL.iter().position(|d| *d == self).unwrap_or(0) as i64
    }
}

/// The shortest interval between scheduled imports.
pub const MIN_INTERVAL_MINUTES: u32 = 5;
/// The longest: four weeks.
pub const MAX_INTERVAL_MINUTES: u32 = 40_320;

/// When a source is imported, in the instance's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Every `minutes` (at least 5) after the last scheduled run.
    Interval { minutes: u32 },
    /// Every hour at `minute`.
    Hourly { minute: u32 },
    /// Every day at `at`.
    Daily { at: ClockTime },
    /// Every week on `weekday` at `at`.
    Weekly { weekday: Weekday, at: ClockTime },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Daily {
            at: ClockTime { hour: 4, minute: 0 },
        }
    }
}

/// A time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime {
    hour: u32,
    minute: u32,
}

impl ClockTime {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{:?} is not a time of day HH:MM",
                raw.chars().take(16).collect::<String>()
            )
        };
        let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
        let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || !digits(m) {
            return Err(bad());
        }
        let (hour, minute) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(Self { hour, minute })
    }

    fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour, self.minute, 0).unwrap_or_default()
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl TryFrom<String> for ClockTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<ClockTime> for String {
    fn from(t: ClockTime) -> String {
        t.to_string()
    }
}

impl Schedule {
    /// The schedule's own limits (the types cover the rest).
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Schedule::Interval { minutes }
                if !(MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&minutes) =>
            {
                Err(format!(
                    "an interval is {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES} minutes"
                ))
            }
            Schedule::Hourly { minute } if minute > 59 => Err("minute is 0 to 59".into()),
            _ => Ok(()),
        }
    }

    /// The first run strictly after `after_ms` (UTC epoch ms), in time zone `tz`. Local
    /// times a daylight-saving change skips run at the first minute after the gap; a
    /// repeated hour runs once, the first time.
    pub fn next_after(&self, after_ms: i64, tz: chrono_tz::Tz) -> i64 {
        let after = DateTime::<Utc>::from_timestamp_millis(after_ms).unwrap_or_default();
        match *self {
            Schedule::Interval { minutes } => after_ms + i64::from(minutes) * 60_000,
            Schedule::Hourly { minute } => {
                // Whole hours are whole hours in every zone BanGUI knows except a few
                // with half-hour offsets: count in the local clock.
                let local = after.with_timezone(&tz);
                let base = local
                    .with_minute(minute)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0));
                let mut candidate = base.map_or(after, |t| t.with_timezone(&Utc));
                while candidate <= after {
                    candidate += Duration::hours(1);
                }
                candidate.timestamp_millis()
            }
            Schedule::Daily { at } => first_local_after(after, tz, at, None),
            Schedule::Weekly { weekday, at } => first_local_after(after, tz, at, Some(weekday)),
        }
    }
}

/// The first instant after `after` whose local date (on `weekday`, when given) and time
/// are `at` in `tz`.
fn first_local_after(
    after: DateTime<Utc>,
    tz: chrono_tz::Tz,
    at: ClockTime,
    weekday: Option<Weekday>,
) -> i64 {
    let start = after.with_timezone(&tz).date_naive();
    for offset in 0..16 {
        let day = start + Duration::days(offset);
        if let Some(w) = weekday
            && i64::from(day.weekday().num_days_from_monday()) != w.days_from_monday()
        {
            continue;
        }
        let mut naive = day.and_time(at.naive());
        // A skipped local time (spring forward): the first minute that exists after it.
        let mut instant = None;
        for _ in 0..=180 {
            if let Some(t) = tz.from_local_datetime(&naive).earliest() {
                instant = Some(t.with_timezone(&Utc));
                break;
            }
            naive += Duration::minutes(1);
        }
        if let Some(t) = instant
            && t > after
        {
            return t.timestamp_millis();
        }
    }
    // Unreachable with a real zone; a day later keeps the job from spinning.
    (after + Duration::days(1)).timestamp_millis()
}

/// Invalid lines kept as samples, each cut to this many characters.
pub const MAX_SAMPLES: usize = 20;
const SAMPLE_CHARS: usize = 200;

/// An invalid line: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidLine {
    pub line: u64,
    pub text: String,
    pub reason: String,
}

/// What reading a list found, besides its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseCounts {
    /// Lines read (comments and blank lines included).
    pub lines: u64,
    /// Valid entries (repeats included).
    pub valid: u64,
    pub invalid: u64,
    pub invalid_samples: Vec<InvalidLine>,
    /// Valid entries skipped because they overlap the allowlist.
    pub allowlisted: u64,
}

/// Reads a list line by line and hands every valid entry that does not overlap
/// `allowlist` to `entry`. Each candidate goes through [`IpOrNet::parse`], the manual
/// bans' validator. A CSV list's first line may be a header: when its column is not an
/// address, it is skipped without counting as invalid.
pub fn parse(
    body: &[u8],
    format: ListFormat,
    allowlist: &[IpOrNet],
    mut entry: impl FnMut(IpOrNet),
) -> ParseCounts {
    let mut counts = ParseCounts::default();
    let mut first_data_line = true;
    let mut lines = body.split(|b| *b == b'\n').peekable();
    let mut line_no = 0u64;
    while let Some(raw) = lines.next() {
        // The empty "line" after a final line break is not one.
        if raw.is_empty() && lines.peek().is_none() {
            break;
        }
        line_no += 1;
        counts.lines += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let invalid = |counts: &mut ParseCounts, text: &str, reason: String| {
            counts.invalid += 1;
            if counts.invalid_samples.len() < MAX_SAMPLES {
                counts.invalid_samples.push(InvalidLine {
                    line: line_no,
                    text: text.chars().take(SAMPLE_CHARS).collect(),
                    reason,
                });
            }
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            invalid(
                &mut counts,
                &String::from_utf8_lossy(raw),
                "not UTF-8 text".into(),
            );
            continue;
        };
        let candidate = match format.kind {
            ListKind::Plain => {
                let content = text.split(['#', ';']).next().unwrap_or("").trim();
                content.split_whitespace().next()
            }
            ListKind::Csv => {
                let trimmed = text.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    None
                } else {
                    let column = usize::from(format.column.unwrap_or(1).max(1)) - 1;
                    match csv_field(trimmed, column) {
                        Some(f) => Some(f),
                        None => {
                            first_data_line = false;
                            invalid(&mut counts, text, format!("no column {}", column + 1));
                            continue;
                        }
                    }
                }
            }
        };
        let Some(candidate) = candidate.map(str::trim).filter(|c| !c.is_empty()) else {
            continue;
        };
        let header = std::mem::replace(&mut first_data_line, false) && format.kind == ListKind::Csv;
        match IpOrNet::parse(candidate) {
            Ok(ip) => {
                counts.valid += 1;
                if allowlist.iter().any(|a| overlaps(a, &ip)) {
                    counts.allowlisted += 1;
                } else {
                    entry(ip);
                }
            }
            Err(_)
                if header
                    && candidate.parse::<std::net::IpAddr>().is_err()
                    && !candidate.contains('/') => {}
            Err(e) => invalid(&mut counts, text, e.to_string()),
        }
    }
    counts
}

/// Whether two networks share an address.
pub fn overlaps(a: &IpOrNet, b: &IpOrNet) -> bool {
    a.contains(b.addr()) || b.contains(a.addr())
}

/// Field `index` of a CSV line (RFC 4180 quoting), without its quotes.
fn csv_field(line: &str, index: usize) -> Option<&str> {
    let mut field = 0;
    let mut start = 0;
    let mut quoted = false;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i <= bytes.len() {
        let at_end = i == bytes.len();
        let b = if at_end { b',' } else { bytes[i] };
        if b == b'"' {
            quoted = !quoted;
        } else if b == b',' && (!quoted || at_end) {
            if field == index {
                let f = line[start..i].trim();
                return Some(
                    f.strip_prefix('"')
                        .and_then(|f| f.strip_suffix('"'))
                        .unwrap_or(f),
                );
            }
            field += 1;
            start = i + 1;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str, format: ListFormat, allow: &[&str]) -> (Vec<String>, ParseCounts) {
        let allow: Vec<IpOrNet> = allow
            .iter()
            .map(|a| IpOrNet::parse_any(a).expect("allow"))
            .collect();
        let mut out = Vec::new();
        let counts = parse(body.as_bytes(), format, &allow, |e| out.push(e.to_string()));
        (out, counts)
    }

    #[test]
    fn plain_lists_read_as_firehol_and_spamhaus_write_them() {
        let body = "# FireHOL level1\n;comment\n\n192.0.2.1\n198.51.100.0/24 ; SBL123\n\
                    203.0.113.9   # trailing\r\n2001:db8::/32\nnot-an-ip\n10.0.0.0/4\n\
                    192.0.2.1/24\n127.0.0.1\n203.0.113.10\t42\n";
        let (out, c) = run(body, ListFormat::PLAIN, &["203.0.113.10"]);
        assert_eq!(
            out,
            [
                "192.0.2.1",
                "198.51.100.0/24",
                "203.0.113.9",
                "2001:db8::/32"
            ]
        );
        assert_eq!(c.valid, 5);
        assert_eq!(c.allowlisted, 1);
        assert_eq!(c.invalid, 4);
        assert_eq!(c.lines, 12);
        let lines: Vec<u64> = c.invalid_samples.iter().map(|s| s.line).collect();
        assert_eq!(lines, [8, 9, 10, 11]);
        assert!(
            c.invalid_samples[1].reason.contains("broader"),
            "{:?}",
            c.invalid_samples
        );
        assert!(c.invalid_samples[2].reason.contains("host bits"));
    }

    #[test]
    fn csv_lists_read_one_column_and_skip_a_header() {
        let fmt = ListFormat::new(ListKind::Csv, Some(2)).expect("fmt");
        let body =
            "id,address,note\n1,192.0.2.7,x\n2,\"198.51.100.0/24\",\"a, b\"\n3\n# c\n4,bogus,y\n";
        let (out, c) = run(body, fmt, &[]);
        assert_eq!(out, ["192.0.2.7", "198.51.100.0/24"]);
        assert_eq!(c.invalid, 2, "{:?}", c.invalid_samples);
        assert!(ListFormat::new(ListKind::Csv, None).is_err());
        assert!(ListFormat::new(ListKind::Plain, Some(1)).is_err());
    }

    #[test]
    fn samples_are_bounded_and_bytes_that_are_not_text_are_invalid() {
        let mut body = Vec::new();
        for i in 0..100 {
            body.extend_from_slice(format!("bad{i}\n").as_bytes());
        }
        body.extend_from_slice(b"\xff\xfe\n192.0.2.1");
        let c = parse(&body, ListFormat::PLAIN, &[], |_| {});
        assert_eq!(c.invalid, 101);
        assert_eq!(c.valid, 1);
        assert_eq!(c.invalid_samples.len(), MAX_SAMPLES);
    }

    #[test]
    fn urls_are_http_with_a_host_and_no_credentials() {
        for good in [
            "https://lists.example.org/drop.txt",
            "http://[2001:db8::1]:8080/x",
            "HTTP://a/",
        ] {
            assert!(SourceUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x/",
            "file:///etc/passwd",
            "http://",
            "http://u:p@host/",
            "https://a b/",
            "gopher://x",
            "",
            "http://:80/",
        ] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .timestamp_millis()
    }

    #[test]
    fn schedules_give_the_next_run_in_the_instance_zone() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().expect("tz");
        let daily = Schedule::Daily {
            at: ClockTime::parse("03:30").expect("t"),
        };
        // 02:00 UTC on 1 Dec is 03:00 in Berlin: today at 03:30 local, 02:30 UTC.
        assert_eq!(
            daily.next_after(at("2026-12-01T02:00:00Z"), berlin),
            at("2026-12-01T02:30:00Z")
        );
        assert_eq!(
            daily.next_after(at("2026-12-01T02:30:00Z"), berlin),
            at("2026-12-02T02:30:00Z")
        );
        // Spring forward: 02:30 does not exist on 29 March 2026 in Berlin.
        let skipped = Schedule::Daily {
            at: ClockTime::parse("02:30").expect("t"),
        };
        assert_eq!(
            skipped.next_after(at("2026-03-28T23:00:00Z"), berlin),
            at("2026-03-29T01:00:00Z")
        );
        let weekly = Schedule::Weekly {
            weekday: Weekday::Mon,
            at: ClockTime::parse("00:00").expect("t"),
        };
        // 2 Dec 2026 is a Wednesday; the next Monday is 7 Dec, midnight UTC.
        assert_eq!(
            weekly.next_after(at("2026-12-02T12:00:00Z"), chrono_tz::UTC),
            at("2026-12-07T00:00:00Z")
        );
        let hourly = Schedule::Hourly { minute: 15 };
        assert_eq!(
            hourly.next_after(at("2026-12-02T12:15:00Z"), berlin),
            at("2026-12-02T13:15:00Z")
        );
        assert_eq!(
            hourly.next_after(at("2026-12-02T12:14:59Z"), berlin),
            at("2026-12-02T12:15:00Z")
        );
        let every = Schedule::Interval { minutes: 5 };
        assert_eq!(every.next_after(0, berlin), 300_000);
        assert!(Schedule::Interval { minutes: 4 }.check().is_err());
        assert!(Schedule::Hourly { minute: 60 }.check().is_err());
        assert!(ClockTime::parse("24:00").is_err());
        assert!(ClockTime::parse("7:00").is_err());
        let json: Schedule =
            serde_json::from_str(r#"{"kind":"weekly","weekday":"sun","at":"23:59"}"#)
                .expect("json");
        assert_eq!(
            json,
            Schedule::Weekly {
                weekday: Weekday::Sun,
                at: ClockTime::parse("23:59").expect("t")
            }
        );
        assert!(serde_json::from_str::<Schedule>(r#"{"kind":"daily","at":"99:00"}"#).is_err());
    }
}
