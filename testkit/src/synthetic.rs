//! Synthetic but realistic ban history for benchmarks and tests: a year of events,
//! skewed IP popularity (a few IPs come back thousands of times, most once), 50 jails
//! (sshd dominating), 150 countries and a few thousand ASNs with skew, IPv4 and IPv6,
//! origins mostly automatic with some blocklist imports and manual bans, and most bans
//! ending in an expiry or an unban. Deterministic for a seed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use scheduler::ban_writer::{BanEvent, CurrentBan, EventKind, Origin, Source};
use scheduler::geo::{GeoInfo, GeoLookup};

/// Samples indexes `0..n` with probability proportional to `1 / (i + 1)^s`.
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|i| {
                total += 1.0 / ((i + 1) as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    pub fn sample(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c < x)
            .min(self.cumulative.len() - 1)
    }
}

pub const JAILS: usize = 50;
pub const COUNTRIES: usize = 150;
const ASNS_PER_COUNTRY: usize = 20;

/// The jail names: real ones first, then numbered ones.
pub fn jail_name(i: usize) -> String {
    const KNOWN: [&str; 10] = [
        "sshd",
        "nginx-http-auth",
        "postfix",
        "dovecot",
        "recidive",
        "apache-auth",
        "nginx-botsearch",
        "sasl",
        "vsftpd",
        "blocklist-import",
    ];
    KNOWN
        .get(i)
        .map_or_else(|| format!("app-{i:02}"), |n| (*n).to_owned())
}

/// The geography of the synthetic IPs, known in advance so it can serve as the
/// scheduler's geo lookup (below a real test: the aggregates, not geo, are under test).
#[derive(Default)]
pub struct SyntheticGeo {
    places: HashMap<IpAddr, GeoInfo>,
}

impl GeoLookup for SyntheticGeo {
    fn lookup(&self, ip: IpAddr) -> GeoInfo {
        self.places.get(&ip).cloned().unwrap_or_default()
    }
}

/// A generator of `ban` events and their ends.
pub struct Generator {
    rng: StdRng,
    ips: Vec<IpAddr>,
    ip_pick: Zipf,
    jail_pick: Zipf,
    pub geo: SyntheticGeo,
}

/// ISO codes used for the synthetic countries (the first 150 of the table).
fn country_code(i: usize) -> String {
    shared::countries::COUNTRIES[i % shared::countries::COUNTRIES.len()]
        .0
        .to_owned()
}

impl Generator {
    /// `distinct_ips` IPs (about one in eight events is a new IP in practice).
    pub fn new(seed: u64, distinct_ips: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let country_pick = Zipf::new(COUNTRIES, 1.0);
        let asn_pick = Zipf::new(ASNS_PER_COUNTRY, 1.2);
        let mut ips = Vec::with_capacity(distinct_ips);
        let mut geo = SyntheticGeo::default();
        while ips.len() < distinct_ips {
            let ip = if rng.random_bool(0.85) {
                // Public-looking IPv4 (skip 0/8, 10/8, 127/8 and the multicast range).
                let a: u8 = rng.random_range(1..224);
                if [10, 127].contains(&a) {
                    continue;
                }
                IpAddr::V4(Ipv4Addr::new(a, rng.random(), rng.random(), rng.random()))
            } else {
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    rng.random_range(0x0200..0x0fff),
                    rng.random(),
                    rng.random(),
                    0,
                    0,
                    0,
                    rng.random_range(1..0xffff),
                ))
            };
            if geo.places.contains_key(&ip) {
                continue;
            }
            let c = country_pick.sample(&mut rng);
            // 2 % of IPs are in no database.
            let info = if rng.random_bool(0.02) {
                GeoInfo::default()
            } else {
                let asn = i64::try_from(64_512 + c * ASNS_PER_COUNTRY + asn_pick.sample(&mut rng))
                    .unwrap_or(0);
                GeoInfo {
                    country: Some(country_code(c)),
                    asn: Some(asn),
                    asn_org: Some(format!("Synthetic Networks {asn}")),
                }
            };
            geo.places.insert(ip, info);
            ips.push(ip);
        }
        Self {
            rng,
            // s = 0.7: the busiest IP gets about 0.5 % of all bans (a few an hour at ten
            // million a year), most IPs are banned once or twice.
            ip_pick: Zipf::new(ips.len(), 0.7),
            ips,
            jail_pick: Zipf::new(JAILS, 1.3),
            geo,
        }
    }

    /// About `n` events (bans and their ends) with ban times spread over
    /// `[from_ms, to_ms)`, in time order of the bans. Ends land after their ban.
    pub fn events(&mut self, n: usize, from_ms: i64, to_ms: i64) -> Vec<BanEvent> {
        let mut out = Vec::with_capacity(n);
        let bans = n * 100 / 182;
        let mut times: Vec<i64> = (0..bans)
            .map(|_| self.rng.random_range(from_ms..to_ms))
            .collect();
        times.sort_unstable();
        for at in times {
            let ip = self.ips[self.ip_pick.sample(&mut self.rng)];
            let roll: f64 = self.rng.random();
            let (origin, jail) = if roll < 0.09 {
                (Origin::Blocklist, jail_name(9))
            } else if roll < 0.12 {
                (Origin::Manual, jail_name(0))
            } else {
                let mut j = self.jail_pick.sample(&mut self.rng);
                if j == 9 {
                    j = 0;
                }
                (Origin::Auto, jail_name(j))
            };
            let bantime: i64 = [600, 3600, 86_400][self.rng.random_range(0..3)];
            let failures = (origin == Origin::Auto).then(|| self.rng.random_range(3..12));
            let ban = CurrentBan {
                jail,
                ip: ip.to_string(),
                banned_at_ms: at,
                expires_at_ms: Some(at + bantime * 1000),
                bantime_s: Some(bantime),
                bancount: 1,
                origin,
                failures,
                matches: failures.map(|f| {
                    let lines: Vec<String> = (0..f.min(3))
                        .map(|k| format!("sshd[{k}]: Failed password for root from {ip} port 22"))
                        .collect();
                    serde_json::to_string(&lines).unwrap_or_default()
                }),
            };
            let end = self.rng.random::<f64>();
            let end_event = if end < 0.75 {
                Some((EventKind::Expire, at + bantime * 1000))
            } else if end < 0.82 {
                Some((
                    EventKind::Unban,
                    at + self.rng.random_range(1_000..bantime * 1000),
                ))
            } else {
                None
            };
            out.push(BanEvent {
                kind: EventKind::Ban,
                at_ms: at,
                ban: ban.clone(),
                source: Source::Sync,
                actor: None,
                command_id: None,
            });
            if let Some((kind, end_at)) = end_event.filter(|(_, t)| *t < to_ms) {
                out.push(BanEvent {
                    kind,
                    at_ms: end_at,
                    ban,
                    source: Source::Sync,
                    actor: None,
                    command_id: None,
                });
            }
        }
        out
    }
}
