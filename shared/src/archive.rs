//! The shape of the history archive both binaries agree on: the binary IP key, IP prefix
//! search ranges, the rollup grains and dimension sets, and the SQL that folds ban events
//! into `ban_rollups` and `ip_stats` (written by the scheduler, read by the API).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The fixed-width key of an IP: 16 bytes, IPv4 as the mapped address `::ffff:a.b.c.d`,
/// so one byte-wise index orders and range-scans both families.
pub fn ip_key(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The key stored for an archived IP text; empty for text that is not an address (so
/// it never matches an IP search, but the row is still written).
pub fn ip_key_of_text(ip: &str) -> Vec<u8> {
    ip.parse::<IpAddr>()
        .map(|a| ip_key(a).to_vec())
        .unwrap_or_default()
}

/// The most a ban's packed matched lines unpack to. fail2ban keeps at most `maxmatches`
/// lines a ban (a few kilobytes); anything larger in the column is not ours.
const MATCHES_UNPACKED_MAX: u64 = 4 << 20;

/// A ban's matched log lines (fail2ban's JSON array) as the archive stores them in
/// `matches_z`: raw DEFLATE. The lines of one ban repeat one format (a filter's lines
/// differ in a timestamp, a pid or a port), so they pack to a third or less.
pub fn pack_matches(json: &str) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 2 + 16),
        flate2::Compression::best(),
    );
    // Writing into a Vec cannot fail.
    let _ = z.write_all(json.as_bytes());
    z.finish().unwrap_or_default()
}

/// The JSON text [`pack_matches`] packed; `None` when the bytes are not such a packing.
pub fn unpack_matches(packed: &[u8]) -> Option<String> {
    use std::io::Read;
    let mut out = String::new();
    flate2::read::DeflateDecoder::new(packed)
        .take(MATCHES_UNPACKED_MAX)
        .read_to_string(&mut out)
        .ok()?;
    Some(out)
}

/// What an IP search means: one address, or every address of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    /// Canonical text: `192.0.2.7`, `10.1.0.0/16`, `2001:db8::/32`.
    pub text: String,
    pub first: [u8; 16],
    pub last: [u8; 16],
}

impl IpRange {
    pub fn is_single(&self) -> bool {
        self.first == self.last
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an IP address, a CIDR network or the start of an address (e.g. 10.1. or 2001:db8:)"
)]
pub struct BadIpSearch(pub String);

fn range_of(addr: IpAddr, prefix: u8) -> IpRange {
    let (bits, total) = match addr {
        IpAddr::V4(_) => (u32::from(prefix) + 96, 128),
        IpAddr::V6(_) => (u32::from(prefix), 128),
    };
    let key = u128::from_be_bytes(ip_key(addr));
    let host_bits = total - bits;
    let mask: u128 = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    let first = key & mask;
    let last = first | !mask;
    let net = match addr {
        IpAddr::V4(_) => IpAddr::V4(
            Ipv6Addr::from(first)
                .to_ipv4_mapped()
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
        ),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(first)),
    };
    let full = matches!((addr, prefix), (IpAddr::V4(_), 32) | (IpAddr::V6(_), 128));
    IpRange {
        text: if full {
            net.to_string()
        } else {
            format!("{net}/{prefix}")
        },
        first: first.to_be_bytes(),
        last: last.to_be_bytes(),
    }
}

/// Parses an IP search: an address, a CIDR network, or the start of an address typed by
/// hand: `10.1.` / `10.1` (whole octets → `10.1.0.0/16`) or `2001:db8:` (whole groups →
/// `2001:db8::/32`).
pub fn parse_ip_search(raw: &str) -> Result<IpRange, BadIpSearch> {
    let s = raw.trim();
    let bad = || BadIpSearch(raw.chars().take(64).collect());
    if s.is_empty() || s.len() > 64 {
        return Err(bad());
    }
    if let Some((addr, prefix)) = s.split_once('/') {
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        return Ok(range_of(addr, prefix));
    }
    if let Ok(addr) = s.parse::<IpAddr>() {
        return Ok(range_of(addr, if addr.is_ipv4() { 32 } else { 128 }));
    }
    if s.contains(':') {
        let groups: Vec<&str> = s.trim_end_matches(':').split(':').collect();
        if groups.is_empty() || groups.len() > 7 || s.contains("::") {
            return Err(bad());
        }
        let mut octets = [0u16; 8];
        for (i, g) in groups.iter().enumerate() {
            if g.is_empty() || g.len() > 4 {
                return Err(bad());
            }
            octets[i] = u16::from_str_radix(g, 16).map_err(|_| bad())?;
        }
        let prefix = u8::try_from(groups.len() * 16).map_err(|_| bad())?;
        return Ok(range_of(IpAddr::V6(Ipv6Addr::from(octets)), prefix));
    }
    let parts: Vec<&str> = s.trim_end_matches('.').split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad());
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 {
            return Err(bad());
        }
        octets[i] = p.parse().map_err(|_| bad())?;
    }
    let prefix = u8::try_from(parts.len() * 8).map_err(|_| bad())?;
    Ok(range_of(IpAddr::V4(Ipv4Addr::from(octets)), prefix))
}

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// Weeks start on Monday 00:00 UTC; the epoch was a Thursday, so Monday 1970-01-05.
pub const WEEK_ALIGN_MS: i64 = 4 * DAY_MS;

/// The week a ban row `e` has in the binary-IP index (`ban_events_ban_ip_week`): whole
/// weeks since the epoch, truncated, as both databases and [`ip_week`] compute it. The
/// index is keyed week first so that new bans land in the current week's part of it, not
/// all over it (ADR 0003); a query about IPs names the weeks it reads
/// ([`ip_weeks_condition`]) and the index is probed once per week.
pub const IP_WEEK_SQL: &str = "e.at_ms / 604800000";

pub fn ip_week(at_ms: i64) -> i64 {
    at_ms / WEEK_MS
}

/// The condition "`e` lies in one of the IP index's weeks that `[from_ms, to_ms)` and the
/// archive (`span`, see [`ban_span`]) share". The archive's span is widened by a week on
/// each side for bans written after it was read.
pub fn ip_weeks_condition(from_ms: i64, to_ms: i64, span: Option<(i64, i64)>) -> String {
    let Some((first, last)) = span else {
        return "1 = 0".into();
    };
    let lo = from_ms.max(first.saturating_sub(WEEK_MS));
    let hi = to_ms.min(last.saturating_add(WEEK_MS));
    if lo >= hi {
        return "1 = 0".into();
    }
    let weeks: Vec<String> = (ip_week(lo)..=ip_week(hi - 1))
        .map(|w| w.to_string())
        .collect();
    format!("{IP_WEEK_SQL} IN ({})", weeks.join(", "))
}

/// When the archive's oldest and newest bans happened (two index probes); `None` when
/// it holds no ban.
pub async fn ban_span<C: sea_orm::ConnectionTrait>(
    db: &C,
) -> Result<Option<(i64, i64)>, sea_orm::DbErr> {
    let row = crate::db::query_one(
        db,
        "SELECT (SELECT at_ms FROM ban_events WHERE kind = 'ban' ORDER BY at_ms LIMIT 1) AS lo, \
         (SELECT at_ms FROM ban_events WHERE kind = 'ban' ORDER BY at_ms DESC LIMIT 1) AS hi",
        [],
    )
    .await?;
    Ok(match row {
        Some(r) => r
            .try_get::<Option<i64>>("", "lo")?
            .zip(r.try_get::<Option<i64>>("", "hi")?),
        None => None,
    })
}

/// The time buckets rollups are kept at, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Hour,
    Day,
    Week,
    /// Four weeks (Monday-aligned): a year is 13 of them, so year-long top lists sum
    /// a quarter of the rows weeks would need.
    Weeks4,
    /// Sixteen weeks: a year is three of them plus a few four-week and one-week pieces.
    Weeks16,
}

impl Grain {
    pub const ALL: [Grain; 5] = [
        Grain::Hour,
        Grain::Day,
        Grain::Week,
        Grain::Weeks4,
        Grain::Weeks16,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Grain::Hour => "h",
            Grain::Day => "d",
            Grain::Week => "w",
            Grain::Weeks4 => "4w",
            Grain::Weeks16 => "16w",
        }
    }

    pub fn size_ms(self) -> i64 {
        match self {
            Grain::Hour => HOUR_MS,
            Grain::Day => DAY_MS,
            Grain::Week => WEEK_MS,
            Grain::Weeks4 => 4 * WEEK_MS,
            Grain::Weeks16 => 16 * WEEK_MS,
        }
    }

    pub fn align_ms(self) -> i64 {
        match self {
            Grain::Week | Grain::Weeks4 | Grain::Weeks16 => WEEK_ALIGN_MS,
            _ => 0,
        }
    }

    /// The start of the bucket holding `t`.
    pub fn floor(self, t: i64) -> i64 {
        t - (t - self.align_ms()).rem_euclid(self.size_ms())
    }

    pub fn is_aligned(self, t: i64) -> bool {
        self.floor(t) == t
    }

    /// SQL for the start of the bucket holding `col` (a positive epoch-ms column).
    pub fn bucket_sql(self, col: &str) -> String {
        format!(
            "({col} - (({col} - {}) % {}))",
            self.align_ms(),
            self.size_ms()
        )
    }
}

/// The dimension sets rollups are kept for. Every set but one also groups by origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dims {
    Origin,
    Jail,
    Country,
    /// ASN alone, every origin summed (`origin = '*'`): the year-long ASN top list sums
    /// a third of the rows the per-origin set would need (about 3 000 ASNs per bucket
    /// instead of 8 300 at 10 M events), and its hourly rows keep the range edges off the
    /// raw events.
    AsnAnyOrigin,
    Asn,
    JailCountry,
    JailAsn,
}

/// Which dimensions a question needs (as a filter or a grouping).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub origin: bool,
    pub jail: bool,
    pub country: bool,
    pub asn: bool,
}

impl Dims {
    /// Smallest first: [`Dims::covering`] takes the first that answers.
    pub const ALL: [Dims; 7] = [
        Dims::Origin,
        Dims::Jail,
        Dims::Country,
        Dims::AsnAnyOrigin,
        Dims::Asn,
        Dims::JailCountry,
        Dims::JailAsn,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Dims::Origin => "o",
            Dims::Jail => "j",
            Dims::Country => "c",
            Dims::AsnAnyOrigin => "a*",
            Dims::Asn => "a",
            Dims::JailCountry => "jc",
            Dims::JailAsn => "ja",
        }
    }

    /// Whether the set's rows are per jail (else their `jail` is `'*'`).
    pub fn has_jail(self) -> bool {
        self.has().jail
    }

    fn has(self) -> Needs {
        let (jail, country, asn) = match self {
            Dims::Origin => (false, false, false),
            Dims::Jail => (true, false, false),
            Dims::Country => (false, true, false),
            Dims::AsnAnyOrigin | Dims::Asn => (false, false, true),
            Dims::JailCountry => (true, true, false),
            Dims::JailAsn => (true, false, true),
        };
        Needs {
            origin: self != Dims::AsnAnyOrigin,
            jail,
            country,
            asn,
        }
    }

    /// The smallest set that answers a question needing `n`; `None` when no set does
    /// (country and ASN together), so the question is answered from the raw events.
    pub fn covering(n: Needs) -> Option<Dims> {
        Dims::ALL.into_iter().find(|d| {
            let h = d.has();
            (!n.origin || h.origin)
                && (!n.jail || h.jail)
                && (!n.country || h.country)
                && (!n.asn || h.asn)
        })
    }

    /// The grains this set is kept at. Hourly rows are kept only where they stay small
    /// (origin, jail, country: a few hundred per hour at most; ASN alone: one per ASN
    /// seen that hour); the ASN-by-origin and jail×country sets would have about one
    /// hourly row per event, so their sub-day edges are counted from the events instead.
    pub fn grains(self) -> &'static [Grain] {
        match self {
            Dims::Origin | Dims::Jail | Dims::Country | Dims::AsnAnyOrigin => &Grain::ALL,
            Dims::Asn | Dims::JailCountry | Dims::JailAsn => {
                &[Grain::Day, Grain::Week, Grain::Weeks4, Grain::Weeks16]
            }
        }
    }

    /// `(jail, origin, country, asn)` expressions over `ban_events` for this set.
    fn event_exprs(self) -> [&'static str; 4] {
        let h = self.has();
        [
            if h.jail { "jail" } else { "'*'" },
            if h.origin { "origin" } else { "'*'" },
            if h.country {
                "COALESCE(country, '')"
            } else {
                "'*'"
            },
            if h.asn { "COALESCE(asn, 0)" } else { "-1" },
        ]
    }
}

/// Statements that build dimension set `dims` from scratch, for a set added after the
/// archive already holds events: its finest grain from the ban events already folded
/// (`id <= hwm`), each coarser grain from the finest grain's rows (every bucket nests in
/// the coarser ones: all are whole hours, weeks start on the same Monday). Run them in the
/// transaction that took [`lock_rollups`] (which returned `hwm`).
pub fn backfill_statements(dims: Dims, hwm: i64) -> Vec<String> {
    let [jail, origin, country, asn] = dims.event_exprs();
    let (finest, coarser) = dims.grains().split_first().expect("every set has a grain");
    let insert =
        "INSERT INTO ban_rollups (dims, grain, bucket_ms, jail, origin, country, asn, bans)";
    let code = dims.code();
    let mut out = vec![format!(
        "{insert} SELECT '{code}', '{}', {}, {jail}, {origin}, {country}, {asn}, COUNT(*) \
         FROM ban_events WHERE kind = 'ban' AND id <= {hwm} GROUP BY 3, 4, 5, 6, 7 ORDER BY 3, 7",
        finest.code(),
        finest.bucket_sql("at_ms"),
    )];
    for g in coarser {
        out.push(format!(
            "{insert} SELECT '{code}', '{}', {}, jail, origin, country, asn, SUM(bans) \
             FROM ban_rollups WHERE dims = '{code}' AND grain = '{}' GROUP BY 3, 4, 5, 6, 7 ORDER BY 3, 7",
            g.code(),
            g.bucket_sql("bucket_ms"),
            finest.code(),
        ));
    }
    out
}

/// The rollup sets and grains this build folds, e.g. `o:h,d,w,4w,16w;j:…`. The migration
/// that last changed them stores it in `rollup_state.sets`.
pub fn rollup_layout() -> String {
    Dims::ALL
        .iter()
        .map(|d| {
            let grains: Vec<&str> = d.grains().iter().map(|g| g.code()).collect();
            format!("{}:{}", d.code(), grains.join(","))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Takes the rollup lock for the rest of the transaction and returns the high-water
/// mark: events with `id <= hwm` are counted in the rollups. Every writer that changes
/// rolled-up rows (rollup job, geo correction, retention) goes through here first, so
/// they never interleave.
///
/// Fails when the database's rollup sets are not this build's: during an upgrade an older
/// scheduler can still run after a newer migration added a set, and would leave that set
/// short of every event it folds; it stops writing instead, until it is replaced.
pub async fn lock_rollups<C: sea_orm::ConnectionTrait>(txn: &C) -> Result<i64, sea_orm::DbErr> {
    crate::db::execute(
        txn,
        "UPDATE rollup_state SET updated_at_ms = {now_ms} WHERE name = 'ban_rollups'",
        [],
    )
    .await?;
    let row = crate::db::query_one(
        txn,
        "SELECT hwm_id, sets FROM rollup_state WHERE name = 'ban_rollups'",
        [],
    )
    .await?
    .ok_or_else(|| sea_orm::DbErr::Custom("rollup_state has no 'ban_rollups' row".into()))?;
    let sets: String = row.try_get("", "sets")?;
    let ours = rollup_layout();
    if sets != ours {
        return Err(sea_orm::DbErr::Custom(format!(
            "the database keeps rollup sets \"{sets}\" but this build folds \"{ours}\": \
             another BanGUI version migrated it; not writing rollups until this process is replaced"
        )));
    }
    row.try_get("", "hwm_id")
}

/// Events with ids above this are not in the rollups yet.
pub async fn rollup_mark<C: sea_orm::ConnectionTrait>(db: &C) -> Result<i64, sea_orm::DbErr> {
    Ok(crate::db::query_one(
        db,
        "SELECT hwm_id FROM rollup_state WHERE name = 'ban_rollups'",
        [],
    )
    .await?
    .map(|r| r.try_get("", "hwm_id"))
    .transpose()?
    .unwrap_or(0))
}

/// The (jail, origin) expressions of the per-IP tables' rows: each ban counts under its
/// own jail and origin, under either alone, and under neither (`'*'`: any).
const IP_FILTER_SETS: [(&str, &str); 4] = [
    ("jail", "origin"),
    ("'*'", "origin"),
    ("jail", "'*'"),
    ("'*'", "'*'"),
];

/// The value of the per-IP tables' `jail`/`origin` column that a filter reads: the
/// filter's value, or `'*'` (every jail/origin) without one.
pub fn ip_filter_key(value: Option<&str>) -> String {
    value.unwrap_or(ANY).to_owned()
}

/// "Any jail/origin" in the per-IP tables.
pub const ANY: &str = "*";

/// Statements that add (`sign` 1) or remove (`sign` -1) the ban rows of `ban_events`
/// matching `filter` (a SQL condition over ban_events, may use placeholders) to/from every
/// rollup and `ip_stats`. Run them in one transaction with the change they account for,
/// each with the values of the filter's placeholders.
///
/// Each reads the matching rows first, with no `kind` condition, so that no partial
/// (`kind = 'ban'`) index qualifies: without statistics (a table just bulk-loaded, before
/// autovacuum got to it) PostgreSQL walked a whole partial index for an id range
/// instead of the primary key (2 700 instead of 7 000 events/s at 10 M).
pub fn rollup_statements(filter: &str, sign: i8) -> Vec<String> {
    let with = format!(
        "WITH e AS {{fence}} (SELECT kind, at_ms, jail, origin, country, asn, ip, ip_bin, \
         failures, match_count FROM ban_events WHERE {filter}) "
    );
    rollup_statements_over(sign)
        .into_iter()
        .map(|sql| format!("{with}{sql}"))
        .collect()
}

/// [`rollup_statements`] over the rows of `e`.
fn rollup_statements_over(sign: i8) -> Vec<String> {
    let mut out = Vec::with_capacity(Dims::ALL.len() * Grain::ALL.len() + 12);
    for dims in Dims::ALL {
        let [jail, origin, country, asn] = dims.event_exprs();
        for &grain in dims.grains() {
            out.push(format!(
                "INSERT INTO ban_rollups (dims, grain, bucket_ms, jail, origin, country, asn, bans) \
                 SELECT '{}', '{}', {}, {jail}, {origin}, {country}, {asn}, {sign} * COUNT(*) \
                 FROM e WHERE kind = 'ban' GROUP BY 3, 4, 5, 6, 7 \
                 ON CONFLICT (dims, grain, bucket_ms, jail, origin, country, asn) \
                 DO UPDATE SET bans = ban_rollups.bans + excluded.bans",
                dims.code(),
                grain.code(),
                grain.bucket_sql("at_ms"),
            ));
        }
    }
    // Per IP under every jail/origin filter: the split rows and the '*' (all) rows.
    for (jail, origin) in IP_FILTER_SETS {
        out.push(format!(
            "INSERT INTO ip_weeks (ip, week_ms, jail, origin, bans) \
             SELECT ip, {}, {jail}, {origin}, {sign} * COUNT(*) FROM e \
             WHERE kind = 'ban' GROUP BY 1, 2, 3, 4 \
             ON CONFLICT (ip, jail, origin, week_ms) DO UPDATE SET bans = ip_weeks.bans + excluded.bans",
            Grain::Week.bucket_sql("at_ms")
        ));
        out.push(format!(
            "INSERT INTO ip_totals (ip, jail, origin, bans) \
             SELECT ip, {jail}, {origin}, {sign} * COUNT(*) FROM e \
             WHERE kind = 'ban' GROUP BY 1, 2, 3 \
             ON CONFLICT (ip, jail, origin) DO UPDATE SET bans = ip_totals.bans + excluded.bans"
        ));
    }
    out.push(format!(
        "INSERT INTO ip_stats (ip, ip_bin, bans, failures, matches) SELECT ip, ip_bin, {sign} * COUNT(*), \
         {sign} * SUM(COALESCE(failures, 0)), {sign} * SUM(COALESCE(match_count, 0)) \
         FROM e WHERE kind = 'ban' GROUP BY ip, ip_bin \
         ON CONFLICT (ip) DO UPDATE SET bans = ip_stats.bans + excluded.bans, \
         failures = ip_stats.failures + excluded.failures, matches = ip_stats.matches + excluded.matches"
    ));
    if sign < 0 {
        // Rollup rows that reach zero are harmless (readers skip empty sums) and are
        // dropped with their bucket by the retention job; the per-IP tables are kept
        // tight because repeat-offender search walks them by count.
        // Every statement uses the filter's placeholders: PostgreSQL prepares a text once
        // with the parameter count of its first use.
        out.push(
            "DELETE FROM ip_stats WHERE bans <= 0 AND ip IN (SELECT ip FROM e WHERE kind = 'ban')"
                .to_owned(),
        );
        for table in ["ip_weeks", "ip_totals"] {
            out.push(format!(
                "DELETE FROM {table} WHERE bans <= 0 AND ip IN (SELECT ip FROM e WHERE kind = 'ban')"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(k: &[u8; 16]) -> String {
        k.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn ip_weeks_cover_the_range_within_the_archive() {
        let w = WEEK_MS;
        // A range inside the archive: the weeks it touches, edges included.
        assert_eq!(
            ip_weeks_condition(10 * w, 12 * w, Some((0, 100 * w))),
            "e.at_ms / 604800000 IN (10, 11)"
        );
        assert_eq!(
            ip_weeks_condition(10 * w - 1, 12 * w + 1, Some((0, 100 * w))),
            "e.at_ms / 604800000 IN (9, 10, 11, 12)"
        );
        // All time: the archive's weeks and one more on each side.
        assert_eq!(
            ip_weeks_condition(i64::MIN, i64::MAX, Some((50 * w + 5, 52 * w))),
            "e.at_ms / 604800000 IN (49, 50, 51, 52)"
        );
        // No ban yet, or a range outside the archive: nothing to read.
        assert_eq!(ip_weeks_condition(0, 10 * w, None), "1 = 0");
        assert_eq!(
            ip_weeks_condition(0, 10 * w, Some((20 * w, 30 * w))),
            "1 = 0"
        );
        assert_eq!(ip_week(w - 1), 0);
        assert_eq!(ip_week(w), 1);
    }

    #[test]
    fn matched_lines_pack_small_and_unpack_to_the_same_text() {
        let lines: Vec<String> = (0..5)
            .map(|k| {
                format!(
                    "2026-12-05 08:55:{k:02} web1 sshd[{}]: Failed password for invalid user u{k} from 192.0.2.7 port {} ssh2",
                    4000 + k,
                    50_000 + 7 * k
                )
            })
            .collect();
        let json = serde_json::to_string(&lines).expect("json");
        let packed = pack_matches(&json);
        assert!(
            packed.len() * 2 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack_matches(&packed).as_deref(), Some(json.as_str()));
        for text in ["", "[]", "[\"é ü \\\" \u{0000}\"]"] {
            assert_eq!(unpack_matches(&pack_matches(text)).as_deref(), Some(text));
        }
        // Not a packing (plain text left by an older writer, random bytes): no text, no panic.
        assert_eq!(unpack_matches(b"\xff\xff\xff\xff"), None);
    }

    #[test]
    fn ipv4_keys_are_mapped_and_ordered_with_ipv6() {
        let k = ip_key("192.0.2.1".parse().expect("ip"));
        assert_eq!(hex(&k), "00000000000000000000ffffc0000201");
        let a = ip_key("10.0.0.1".parse().expect("ip"));
        let b = ip_key("10.0.0.2".parse().expect("ip"));
        assert!(a < b);
        assert!(ip_key_of_text("nonsense").is_empty());
    }

    #[test]
    fn searches_become_ranges() {
        let r = parse_ip_search("10.1.").expect("prefix");
        assert_eq!(r.text, "10.1.0.0/16");
        assert_eq!(hex(&r.first), "00000000000000000000ffff0a010000");
        assert_eq!(hex(&r.last), "00000000000000000000ffff0a01ffff");
        let r = parse_ip_search("2001:db8:").expect("v6 prefix");
        assert_eq!(r.text, "2001:db8::/32");
        assert_eq!(hex(&r.last), "20010db8ffffffffffffffffffffffff");
        let r = parse_ip_search("2001:DB8::5").expect("v6");
        assert!(r.is_single());
        assert_eq!(r.text, "2001:db8::5");
        let r = parse_ip_search("192.0.2.77/24").expect("cidr");
        assert_eq!(r.text, "192.0.2.0/24");
        assert_eq!(
            parse_ip_search("0.0.0.0/0").expect("all v4").text,
            "0.0.0.0/0"
        );
        assert_eq!(parse_ip_search("::/0").expect("all v6").last, [0xff; 16]);
        for bad in [
            "",
            "10.1.2.3.4",
            "300.1.",
            "10.0.0.0/33",
            "2001:db8::/129",
            "a:b::c:",
            "x",
            "1..2",
        ] {
            assert!(parse_ip_search(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grains_floor_to_their_boundaries() {
        let t = 1_764_000_000_123; // 2025-11-24 16:00:00.123 UTC, a Monday
        assert_eq!(Grain::Hour.floor(t), 1_764_000_000_000);
        assert_eq!(Grain::Day.floor(t), 1_763_942_400_000);
        assert_eq!(Grain::Week.floor(t), 1_763_942_400_000);
        assert!(Grain::Week.is_aligned(WEEK_ALIGN_MS));
    }

    #[test]
    fn the_smallest_covering_set_is_chosen() {
        let n = |jail, country, asn| Needs {
            origin: true,
            jail,
            country,
            asn,
        };
        assert_eq!(Dims::covering(Needs::default()), Some(Dims::Origin));
        assert_eq!(Dims::covering(n(false, false, false)), Some(Dims::Origin));
        assert_eq!(Dims::covering(n(true, false, false)), Some(Dims::Jail));
        assert_eq!(
            Dims::covering(n(true, true, false)),
            Some(Dims::JailCountry)
        );
        assert_eq!(Dims::covering(n(false, false, true)), Some(Dims::Asn));
        // Without an origin filter or grouping the ASN question reads the smaller set.
        let asn_only = Needs {
            asn: true,
            ..Needs::default()
        };
        assert_eq!(Dims::covering(asn_only), Some(Dims::AsnAnyOrigin));
        assert_eq!(Dims::covering(n(true, false, true)), Some(Dims::JailAsn));
        assert_eq!(Dims::covering(n(false, true, true)), None);
    }
}
