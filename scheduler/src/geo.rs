//! Where an IP is: its country and autonomous system, from local files first.
//!
//! - Country: a MaxMind DB file (`BANGUI_GEOIP_COUNTRY_DB`): the CC0
//!   `@ip-location-db/geo-whois-asn-country-mmdb` package the run command installs, or a
//!   GeoLite2-Country / City file.
//! - ASN: `BANGUI_GEOIP_ASN_DB`, a comma-separated list of files: the CSV range files of
//!   `@ip-location-db/asn` (CC-BY-4.0) or a GeoLite2-ASN `.mmdb`.
//! - Optionally an HTTP service (`BANGUI_GEO_HTTP_URL`, off by default), rate limited,
//!   used only by the geo job for IPs the files do not know.
//!
//! Lookups are in memory (microseconds), so the ban writers resolve every new IP as they
//! archive it; the API only reads what was written (`geo_cache`, `ban_events.country`).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;
use shared::config::HistoryConfig;

/// What is known about one IP. All `None`: unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    pub asn: Option<i64>,
    pub asn_org: Option<String>,
}

impl GeoInfo {
    pub fn is_known(&self) -> bool {
        self.country.is_some() || self.asn.is_some()
    }
}

/// Anything that answers "where is this IP" from memory.
pub trait GeoLookup: Send + Sync {
    fn lookup(&self, ip: IpAddr) -> GeoInfo;
}

#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
}

fn file_err(path: &Path, problem: impl ToString) -> GeoError {
    GeoError::File {
        path: path.to_owned(),
        problem: problem.to_string(),
    }
}

#[derive(Deserialize)]
struct IsoCountry {
    iso_code: Option<String>,
}

/// Accepts both the ip-location-db layout (`country_code`) and GeoLite2's
/// (`country.iso_code`, falling back to `registered_country`).
#[derive(Deserialize)]
struct CountryRecord {
    country_code: Option<String>,
    country: Option<IsoCountry>,
    registered_country: Option<IsoCountry>,
}

#[derive(Deserialize)]
struct AsnRecord {
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
}

/// ASN ranges from CSV files (`first,last,asn,organisation`), searched by binary search.
#[derive(Default)]
struct AsnRanges {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    orgs: HashMap<u32, String>,
}

impl AsnRanges {
    fn load_csv(&mut self, path: &Path) -> Result<(), GeoError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = || file_err(path, format!("line {}: not first,last,asn,org", n + 1));
            let mut parts = line.splitn(4, ',');
            let (Some(first), Some(last), Some(asn)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let org = parts.next().unwrap_or("").trim();
            let org = org
                .strip_prefix('"')
                .and_then(|o| o.strip_suffix('"'))
                .map_or_else(|| org.to_owned(), |o| o.replace("\"\"", "\""));
            let asn: u32 = asn.trim().parse().map_err(|_| bad())?;
            match (
                first.trim().parse::<IpAddr>().map_err(|_| bad())?,
                last.trim().parse::<IpAddr>().map_err(|_| bad())?,
            ) {
                (IpAddr::V4(a), IpAddr::V4(b)) => self.v4.push((a.into(), b.into(), asn)),
                (IpAddr::V6(a), IpAddr::V6(b)) => self.v6.push((a.into(), b.into(), asn)),
                _ => return Err(bad()),
            }
            if !org.is_empty() {
                self.orgs.entry(asn).or_insert(org);
            }
        }
        Ok(())
    }

    fn finish(&mut self) {
        self.v4.sort_unstable();
        self.v6.sort_unstable();
    }

    fn find<T: Ord + Copy>(ranges: &[(T, T, u32)], ip: T) -> Option<u32> {
        let i = ranges.partition_point(|(first, _, _)| *first <= ip);
        let (_, last, asn) = ranges.get(i.checked_sub(1)?)?;
        (ip <= *last).then_some(*asn)
    }

    fn lookup(&self, ip: IpAddr) -> Option<(u32, Option<&str>)> {
        let asn = match ip {
            IpAddr::V4(a) => Self::find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Self::find(&self.v4, u32::from(v4)),
                None => Self::find(&self.v6, u128::from(a)),
            },
        }?;
        Some((asn, self.orgs.get(&asn).map(String::as_str)))
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// The local geo data, loaded once at start.
#[derive(Default)]
pub struct GeoDb {
    country: Option<maxminddb::Reader<Vec<u8>>>,
    asn_mmdb: Vec<maxminddb::Reader<Vec<u8>>>,
    asn_ranges: AsnRanges,
}

impl GeoDb {
    /// Loads the configured files; a configured file that cannot be read is an error
    /// (the operator asked for it), no files at all is fine (every IP stays unknown).
    pub fn load(country: Option<&Path>, asn: &[PathBuf]) -> Result<Self, GeoError> {
        let mut db = GeoDb::default();
        if let Some(path) = country {
            let reader = maxminddb::Reader::open_readfile(path).map_err(|e| file_err(path, e))?;
            db.country = Some(reader);
        }
        for path in asn {
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("mmdb"))
            {
                db.asn_mmdb
                    .push(maxminddb::Reader::open_readfile(path).map_err(|e| file_err(path, e))?);
            } else {
                db.asn_ranges.load_csv(path)?;
            }
        }
        db.asn_ranges.finish();
        Ok(db)
    }

    /// A one-line description for the start-up log.
    pub fn describe(&self) -> String {
        format!(
            "country db: {}; asn: {} mmdb file(s), {} IPv4 + {} IPv6 ranges",
            if self.country.is_some() {
                "loaded"
            } else {
                "none"
            },
            self.asn_mmdb.len(),
            self.asn_ranges.v4.len(),
            self.asn_ranges.v6.len()
        )
    }

    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.asn_mmdb.is_empty() && self.asn_ranges.is_empty()
    }

    fn country_of(&self, ip: IpAddr) -> Option<String> {
        let reader = self.country.as_ref()?;
        let rec: CountryRecord = reader.lookup(ip).ok()?.decode().ok()??;
        rec.country_code
            .or_else(|| rec.country.and_then(|c| c.iso_code))
            .or_else(|| rec.registered_country.and_then(|c| c.iso_code))
            .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase())
    }

    fn asn_of(&self, ip: IpAddr) -> Option<(i64, Option<String>)> {
        for reader in &self.asn_mmdb {
            let found: Option<AsnRecord> = reader.lookup(ip).ok().and_then(|r| r.decode().ok()?);
            if let Some(AsnRecord {
                autonomous_system_number: Some(n),
                autonomous_system_organization: org,
            }) = found
            {
                return Some((i64::from(n), org));
            }
        }
        self.asn_ranges
            .lookup(ip)
            .map(|(n, org)| (i64::from(n), org.map(str::to_owned)))
    }
}

/// Whether an address can be somewhere: private, loopback, link-local, shared,
/// documentation and other special-purpose ranges belong to no country (some data sets
/// place them anyway, from whois records of their registrant).
pub fn is_global(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_unspecified()
                || a.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

impl GeoLookup for GeoDb {
    fn lookup(&self, ip: IpAddr) -> GeoInfo {
        if !is_global(ip) {
            return GeoInfo::default();
        }
        let (asn, asn_org) = self.asn_of(ip).unzip();
        GeoInfo {
            country: self.country_of(ip),
            asn,
            asn_org: asn_org.flatten(),
        }
    }
}

/// The optional HTTP fallback: `url` with `{ip}` replaced, answering JSON with a country
/// code (`country_code`, `countryCode` or `country`), an ASN (`asn`, number or `"AS123"`)
/// and an organisation (`org`, `as_name`, `asn_org` or `isp`). At most `per_minute` calls.
pub struct HttpFallback {
    url: String,
    client: reqwest::Client,
    per_minute: u32,
    window: Mutex<(Instant, u32)>,
}

impl HttpFallback {
    pub fn new(url: String, per_minute: u32, timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            url,
            client: reqwest::Client::builder().timeout(timeout).build()?,
            per_minute,
            window: Mutex::new((Instant::now(), 0)),
        })
    }

    /// Takes one call from this minute's budget; false when it is spent.
    fn take(&self) -> bool {
        let Ok(mut w) = self.window.lock() else {
            return false;
        };
        if w.0.elapsed() >= Duration::from_secs(60) {
            *w = (Instant::now(), 0);
        }
        if w.1 >= self.per_minute {
            return false;
        }
        w.1 += 1;
        true
    }

    /// `Ok(None)` when the budget is spent (try again later).
    pub async fn lookup(&self, ip: IpAddr) -> Result<Option<GeoInfo>, String> {
        if !self.take() {
            return Ok(None);
        }
        let url = self.url.replace("{ip}", &ip.to_string());
        let body: serde_json::Value = self
            .client
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.without_url().to_string())?
            .json()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(Some(parse_http_answer(&body)))
    }
}

fn parse_http_answer(body: &serde_json::Value) -> GeoInfo {
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| body.get(*k).and_then(serde_json::Value::as_str))
            .map(str::to_owned)
    };
    let country = text(&["country_code", "countryCode", "country"])
        .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        .map(|c| c.to_ascii_uppercase());
    let asn = body.get("asn").and_then(|v| {
        v.as_i64().or_else(|| {
            v.as_str()
                .map(|s| s.trim_start_matches("AS").trim_start_matches("as"))
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
        })
    });
    GeoInfo {
        country,
        asn,
        asn_org: text(&["as_name", "asn_org", "org", "isp"]),
    }
}

/// Most keys a [`CacheMemo`] set holds before it starts over (18 MiB of IPs at most).
const MEMO_CAPACITY: usize = 500_000;

/// A bounded set with a generation: emptied when full, and by [`Self::forget`], which
/// also moves the generation on so that what was checked before cannot be added after.
struct Memo<K> {
    inner: Mutex<(u64, HashSet<K>)>,
}

impl<K: Hash + Eq> Memo<K> {
    fn new() -> Self {
        Self {
            inner: Mutex::new((0, HashSet::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (u64, HashSet<K>)> {
        // The set is only a shortcut: whatever a panicking holder left is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn contains(&self, key: &K) -> bool {
        self.lock().1.contains(key)
    }

    fn generation(&self) -> u64 {
        self.lock().0
    }

    /// Adds `keys` unless the memo was forgotten since `generation` was read.
    fn add(&self, generation: u64, keys: impl IntoIterator<Item = K>) {
        let mut guard = self.lock();
        if guard.0 != generation {
            return;
        }
        for key in keys {
            if guard.1.len() >= MEMO_CAPACITY {
                guard.1.clear();
            }
            guard.1.insert(key);
        }
    }

    fn forget(&self) {
        let mut guard = self.lock();
        guard.0 += 1;
        guard.1.clear();
    }
}

/// Which IPs already have a `geo_cache` row and which ASNs an `asn_names` row, so the
/// archive's insert path need not offer them again: an offer is an index probe per IP
/// and batch (an eighth of the ingest time on SQLite, a sixth on PostgreSQL at 1 M).
/// Only keys the database turned away as already there are remembered, never rows this
/// process inserted itself (their transaction may still roll back); the retention job
/// forgets the IPs whenever it deletes cache rows.
pub struct CacheMemo {
    ips: Memo<[u8; 16]>,
    asns: Memo<i64>,
}

impl CacheMemo {
    fn new() -> Self {
        Self {
            ips: Memo::new(),
            asns: Memo::new(),
        }
    }

    pub fn has_ip(&self, key: &[u8; 16]) -> bool {
        self.ips.contains(key)
    }

    pub fn has_asn(&self, asn: i64) -> bool {
        self.asns.contains(&asn)
    }

    /// Read before offering rows; pass to the `add_` call after the answer.
    pub fn generation(&self) -> (u64, u64) {
        (self.ips.generation(), self.asns.generation())
    }

    pub fn add_ips(&self, generation: (u64, u64), keys: impl IntoIterator<Item = [u8; 16]>) {
        self.ips.add(generation.0, keys);
    }

    pub fn add_asns(&self, generation: (u64, u64), asns: impl IntoIterator<Item = i64>) {
        self.asns.add(generation.1, asns);
    }

    /// After `geo_cache` rows were deleted.
    pub fn forget_ips(&self) {
        self.ips.forget();
    }
}

/// The scheduler's geo sources: the local files and the optional HTTP fallback, and what
/// it knows the database already holds.
pub struct Geo {
    pub local: Box<dyn GeoLookup>,
    pub http: Option<HttpFallback>,
    pub memo: CacheMemo,
    description: String,
}

impl Geo {
    pub fn new(local: Box<dyn GeoLookup>, http: Option<HttpFallback>, description: String) -> Self {
        Self {
            local,
            http,
            memo: CacheMemo::new(),
            description,
        }
    }

    pub fn from_config(c: &HistoryConfig) -> Result<Self, GeoError> {
        let db = GeoDb::load(c.geoip_country_db.as_deref(), &c.geoip_asn_db)?;
        let http = match &c.geo_http_url {
            Some(url) => Some(
                HttpFallback::new(url.clone(), c.geo_http_per_minute, Duration::from_secs(5))
                    .map_err(|e| file_err(Path::new("BANGUI_GEO_HTTP_URL"), e))?,
            ),
            None => None,
        };
        let description = format!(
            "{}; http fallback: {}",
            db.describe(),
            if http.is_some() { "on" } else { "off" }
        );
        Ok(Self::new(Box::new(db), http, description))
    }

    pub fn describe(&self) -> &str {
        &self.description
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_ranges_are_found_by_binary_search() {
        let dir = std::env::temp_dir().join(format!("bangui-asn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("asn.csv");
        std::fs::write(
            &path,
            "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n1.0.4.0,1.0.7.255,38803,Gtelecom\n\
             2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n",
        )
        .expect("write");
        let db = GeoDb::load(None, std::slice::from_ref(&path)).expect("load");
        let at = |ip: &str| db.lookup(ip.parse().expect("ip"));
        assert_eq!(at("1.0.0.7").asn, Some(13335));
        assert_eq!(at("1.0.0.7").asn_org.as_deref(), Some("Cloudflare, Inc."));
        assert_eq!(at("1.0.5.1").asn, Some(38803));
        assert_eq!(at("1.0.2.1").asn, None);
        assert_eq!(at("0.0.0.1").asn, None);
        assert_eq!(at("2001:200:1::1").asn, Some(2500));
        assert_eq!(at("::ffff:1.0.0.9").asn, Some(13335));
        std::fs::write(&path, "garbage\n").expect("write");
        assert!(GeoDb::load(None, &[path]).is_err());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_memo_keeps_nothing_checked_before_it_was_forgotten() {
        let m = CacheMemo::new();
        let g = m.generation();
        m.add_ips(g, [[1; 16]]);
        m.add_asns(g, [7]);
        assert!(m.has_ip(&[1; 16]) && m.has_asn(7));
        let before = m.generation();
        m.forget_ips();
        assert!(!m.has_ip(&[1; 16]) && m.has_asn(7));
        m.add_ips(before, [[2; 16]]);
        assert!(
            !m.has_ip(&[2; 16]),
            "an answer from before the forget is dropped"
        );
        m.add_ips(m.generation(), [[2; 16]]);
        assert!(m.has_ip(&[2; 16]));
        let full = Memo::new();
        full.add(0, 0..MEMO_CAPACITY + 5);
        assert!(full.lock().1.len() <= MEMO_CAPACITY, "bounded");
    }

    #[test]
    fn special_purpose_addresses_are_nowhere() {
        for ip in [
            "10.1.2.3",
            "192.168.1.1",
            "127.0.0.1",
            "100.64.0.1",
            "192.0.2.1",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::1",
        ] {
            assert!(!is_global(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_global(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn http_answers_of_common_shapes_are_read() {
        let g = parse_http_answer(
            &serde_json::json!({"countryCode": "de", "as": "x", "asn": "AS3320 Deutsche Telekom", "isp": "DTAG"}),
        );
        assert_eq!(g.country.as_deref(), Some("DE"));
        assert_eq!(g.asn, Some(3320));
        assert_eq!(g.asn_org.as_deref(), Some("DTAG"));
        let g = parse_http_answer(&serde_json::json!({"country": "Germany"}));
        assert_eq!(g, GeoInfo::default());
    }
}
