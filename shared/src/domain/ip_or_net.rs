use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// An IPv4/IPv6 address or a CIDR network that may be banned: written canonically,
/// without host bits, and never so broad that one ban would lock out much of the
/// internet (`0.0.0.0/0`, `::/0`). IPv6 spellings of an IPv4 address (`::ffff:127.0.0.1`,
/// `::127.0.0.1`) are the IPv4 address, checked and stored as such: fail2ban turns
/// mapped addresses into IPv4 itself, so the rules must see what fail2ban will ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpOrNet {
    addr: IpAddr,
    prefix: u8,
}

/// The broadest networks a single ban may cover.
pub const MIN_V4_PREFIX: u8 = 8;
pub const MIN_V6_PREFIX: u8 = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpParseError {
    #[error("{0:?} is not an IPv4 or IPv6 address or CIDR network")]
    Malformed(String),
    #[error("{input:?}: the prefix /{prefix} is broader than /{min}, the broadest allowed")]
    TooBroad { input: String, prefix: u8, min: u8 },
    #[error("{input:?} has host bits set; the network is {network}")]
    HostBits { input: String, network: String },
    #[error("{0:?} is an unspecified, loopback, multicast or broadcast address")]
    NotBannable(String),
    #[error("{input:?} covers every IPv4 address (through {range}, where IPv6 writes them)")]
    CoversIpv4 { input: String, range: &'static str },
    #[error("{0:?} has spaces around it")]
    Spaces(String),
}

impl IpParseError {
    /// The stable error code the API answers with.
    pub fn code(&self) -> crate::error_code::ErrorCode {
        use crate::error_code::ErrorCode;
        match self {
            IpParseError::Malformed(_) => ErrorCode::InvalidIp,
            IpParseError::TooBroad { .. } => ErrorCode::PrefixTooBroad,
            IpParseError::HostBits { .. } => ErrorCode::InvalidIp,
            IpParseError::NotBannable(_) => ErrorCode::IpNotAllowed,
            IpParseError::CoversIpv4 { .. } => ErrorCode::PrefixTooBroad,
            IpParseError::Spaces(_) => ErrorCode::InvalidIp,
        }
    }
}

impl IpOrNet {
    pub fn parse(raw: &str) -> Result<Self, IpParseError> {
        let input = raw;
        let shown = || input.chars().take(80).collect::<String>();
        let malformed = || IpParseError::Malformed(shown());
        // Refused rather than trimmed: what is banned is exactly what was sent.
        if input.trim() != input {
            return Err(IpParseError::Spaces(shown()));
        }
        let (addr_text, prefix_text) = match input.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (input, None),
        };
        // Zone ids (fe80::1%eth0) and brackets are not bannable forms.
        let addr: IpAddr = addr_text.parse().map_err(|_| malformed())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| malformed())?
            }
            Some(_) => return Err(malformed()),
        };
        if prefix > max {
            return Err(malformed());
        }
        if let IpAddr::V6(v6) = addr
            && let Some(range) = covered_v4_range(v6, prefix)
        {
            return Err(IpParseError::CoversIpv4 {
                input: shown(),
                range,
            });
        }
        let (addr, prefix) = as_ipv4(addr, prefix);
        if let Some((v4, v4_prefix)) = translated_v4(addr, prefix) {
            // NAT64's well-known prefix stays IPv6 (it is a real IPv6 destination), but
            // the IPv4 address inside must pass the IPv4 rules.
            if v4_prefix < MIN_V4_PREFIX {
                return Err(IpParseError::TooBroad {
                    input: shown(),
                    prefix,
                    min: 96 + MIN_V4_PREFIX,
                });
            }
            if !bannable(IpAddr::V4(v4)) {
                return Err(IpParseError::NotBannable(shown()));
            }
        }
        let min = if addr.is_ipv4() {
            MIN_V4_PREFIX
        } else {
            MIN_V6_PREFIX
        };
        if prefix < min {
            return Err(IpParseError::TooBroad {
                input: shown(),
                prefix,
                min,
            });
        }
        let network = mask(addr, prefix);
        if network != addr {
            return Err(IpParseError::HostBits {
                input: shown(),
                network: format!("{network}/{prefix}"),
            });
        }
        if !bannable(addr) {
            return Err(IpParseError::NotBannable(shown()));
        }
        Ok(Self { addr, prefix })
    }

    /// Like [`Self::parse`] but for addresses that are not ban targets (trusted proxies):
    /// loopback and any prefix are allowed.
    pub fn parse_any(raw: &str) -> Result<Self, IpParseError> {
        let input = raw.trim();
        let malformed = || IpParseError::Malformed(input.chars().take(80).collect());
        let (addr_text, prefix_text) = input
            .split_once('/')
            .map_or((input, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr_text.parse().map_err(|_| malformed())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(malformed)?,
        };
        Ok(Self {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn is_single(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

/// The /96 ranges in which IPv6 writes IPv4 addresses: IPv4-mapped (fail2ban bans the
/// IPv4 address), IPv4-compatible (deprecated) and NAT64's well-known prefix.
const V4_IN_V6: [(Ipv6Addr, &str); 3] = [
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), "::ffff:0:0/96"),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), "::/96"),
    (
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        "64:ff9b::/96",
    ),
];

/// Which of [`V4_IN_V6`] a network broader than /96 swallows whole, if any.
fn covered_v4_range(addr: Ipv6Addr, prefix: u8) -> Option<&'static str> {
    (prefix < 96)
        .then(|| {
            V4_IN_V6
                .iter()
                .find(|(base, _)| mask(IpAddr::V6(*base), prefix) == IpAddr::V6(addr))
        })
        .flatten()
        .map(|(_, name)| *name)
}

/// An IPv6 spelling of IPv4 as the IPv4 address or network it stands for: IPv4-mapped
/// `::ffff:a.b.c.d` and IPv4-compatible `::a.b.c.d` (but `::` and `::1`, IPv6's own
/// unspecified and loopback addresses, stay IPv6). Anything else is returned as given.
fn as_ipv4(addr: IpAddr, prefix: u8) -> (IpAddr, u8) {
    let IpAddr::V6(v6) = addr else {
        return (addr, prefix);
    };
    let s = v6.segments();
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1 && prefix == 128);
    if prefix >= 96 && (mapped || compatible) {
        let low = u32::from(s[6]) << 16 | u32::from(s[7]);
        (IpAddr::V4(Ipv4Addr::from(low)), prefix - 96)
    } else {
        (addr, prefix)
    }
}

/// The IPv4 address and prefix inside NAT64's well-known prefix (64:ff9b::/96).
fn translated_v4(addr: IpAddr, prefix: u8) -> Option<(Ipv4Addr, u8)> {
    let IpAddr::V6(v6) = addr else {
        return None;
    };
    let s = v6.segments();
    (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && prefix >= 96).then(|| {
        (
            Ipv4Addr::from(u32::from(s[6]) << 16 | u32::from(s[7])),
            prefix - 96,
        )
    })
}

fn bannable(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_broadcast())
        }
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_loopback() || a.is_multicast()),
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

impl fmt::Display for IpOrNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl TryFrom<String> for IpOrNet {
    type Error = IpParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IpOrNet> for String {
    fn from(value: IpOrNet) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_addresses_and_networks_canonically() {
        assert_eq!(
            IpOrNet::parse("192.0.2.10").expect("v4").to_string(),
            "192.0.2.10"
        );
        assert_eq!(
            IpOrNet::parse("198.51.100.0/24").expect("net").to_string(),
            "198.51.100.0/24"
        );
        // IPv6 spellings of IPv4 are the IPv4 address or network, shown as such.
        for (given, stored) in [
            ("::ffff:192.0.2.10", "192.0.2.10"),
            ("::FFFF:c000:20a", "192.0.2.10"),
            ("0:0:0:0:0:ffff:192.0.2.10", "192.0.2.10"),
            ("::192.0.2.10", "192.0.2.10"),
            ("::ffff:198.51.100.0/120", "198.51.100.0/24"),
            ("64:ff9b::192.0.2.10", "64:ff9b::c000:20a"),
        ] {
            assert_eq!(IpOrNet::parse(given).expect(given).to_string(), stored);
        }
        assert_eq!(
            IpOrNet::parse("2001:DB8:0:0::5").expect("v6").to_string(),
            "2001:db8::5"
        );
        assert_eq!(
            IpOrNet::parse("2001:db8::/32").expect("v6 net").to_string(),
            "2001:db8::/32"
        );
        assert_eq!(
            IpOrNet::parse("192.0.2.10/32").expect("/32").to_string(),
            "192.0.2.10"
        );
    }

    #[test]
    fn refuses_garbage_broad_networks_host_bits_and_special_addresses() {
        let code = |s: &str| IpOrNet::parse(s).expect_err(s).code().as_str();
        for bad in [
            "",
            "not-an-ip",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4/",
            "1.2.3.4/33",
            "1.2.3.4/-1",
            "1.2.3.4/+8",
            "[2001:db8::1]",
            "fe80::1%eth0",
            "192.0.2.1<F2B_END_COMMAND>",
            "1.2.3.4/24/8",
            "１.2.3.4",
            " 192.0.2.1",
            "192.0.2.1 ",
            "192.0.2.1\n",
        ] {
            assert_eq!(code(bad), "invalid_ip", "{bad:?}");
        }
        assert_eq!(code("0.0.0.0/0"), "prefix_too_broad");
        assert_eq!(code("10.0.0.0/7"), "prefix_too_broad");
        assert_eq!(code("::/0"), "prefix_too_broad");
        assert_eq!(code("2001:db8::/31"), "prefix_too_broad");
        assert_eq!(code("192.0.2.5/24"), "invalid_ip");
        // Networks that would swallow every IPv4 address through IPv6.
        for broad in [
            "::ffff:0:0/96",
            "::/32",
            "::/95",
            "::ffff:0.0.0.0/100",
            "64:ff9b::/96",
            "64:ff9b::/64",
            "64:ff9b::/100",
        ] {
            assert_eq!(code(broad), "prefix_too_broad", "{broad}");
        }
        for special in [
            "0.0.0.0",
            "127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:0.0.0.0",
            "::ffff:255.255.255.255",
            "::ffff:224.0.0.1",
            "::127.0.0.1",
            "64:ff9b::127.0.0.1",
            "::ffff:127.0.0.0/104",
        ] {
            assert_eq!(code(special), "ip_not_allowed", "{special}");
        }
    }

    #[test]
    fn containment() {
        let net = IpOrNet::parse("198.51.100.0/24").expect("net");
        assert!(net.contains("198.51.100.77".parse().expect("ip")));
        assert!(!net.contains("198.51.101.1".parse().expect("ip")));
        assert!(!net.contains("2001:db8::1".parse().expect("ip")));
    }

    proptest! {
        #[test]
        fn v4_networks_round_trip(bits in any::<u32>(), prefix in 8u8..=32) {
            let addr = mask(IpAddr::V4(Ipv4Addr::from(bits)), prefix);
            prop_assume!(bannable(addr));
            let text = if prefix == 32 { addr.to_string() } else { format!("{addr}/{prefix}") };
            let parsed = IpOrNet::parse(&text).expect("valid");
            prop_assert_eq!(parsed.to_string(), text);
        }

        #[test]
        fn v6_networks_round_trip(bits in any::<u128>(), prefix in 32u8..=128) {
            let addr = mask(IpAddr::V6(Ipv6Addr::from(bits)), prefix);
            prop_assume!(bannable(addr));
            prop_assume!(as_ipv4(addr, prefix) == (addr, prefix));
            prop_assume!(translated_v4(addr, prefix).is_none());
            prop_assume!(covered_v4_range(Ipv6Addr::from(bits), prefix).is_none());
            let text = if prefix == 128 { addr.to_string() } else { format!("{addr}/{prefix}") };
            prop_assert_eq!(IpOrNet::parse(&text).expect("valid").to_string(), text);
        }

        /// Whatever IPv4 address the rules refuse, every IPv6 way of writing it is refused
        /// too; and an accepted one is accepted as the same IPv4 address.
        #[test]
        fn every_ipv6_spelling_of_an_ipv4_address_gets_the_ipv4_verdict(
            bits in prop_oneof![
                any::<u32>(),
                Just(0u32),
                Just(u32::MAX),
                (0u32..1 << 24).prop_map(|b| 127 << 24 | b),
                (0u32..1 << 28).prop_map(|b| 224 << 24 | b),
            ],
            upper in any::<bool>(),
        ) {
            let v4 = Ipv4Addr::from(bits);
            let verdict = IpOrNet::parse(&v4.to_string()).map_err(|e| e.code());
            let [a, b, c, d] = v4.octets();
            let hex = format!("{:x}:{:x}", u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            let mut spellings = vec![
                format!("::ffff:{v4}"),
                format!("::ffff:{hex}"),
                format!("0:0:0:0:0:ffff:{v4}"),
                format!("0000:0000:0000:0000:0000:ffff:{hex}"),
                format!("::ffff:{v4}/128"),
            ];
            // IPv4-compatible, except where it spells IPv6's own :: and ::1.
            if bits > 1 {
                spellings.push(format!("::{v4}"));
            }
            for text in spellings {
                let text = if upper { text.to_uppercase() } else { text };
                match (&verdict, IpOrNet::parse(&text)) {
                    (Ok(expected), Ok(got)) => prop_assert_eq!(got, *expected, "{}", text),
                    (Err(code), Err(e)) => prop_assert_eq!(e.code(), *code, "{}", text),
                    (v, got) => prop_assert!(false, "{} -> {:?}, but {} -> {:?}", v4, v, text, got),
                }
            }
            // NAT64 stays IPv6 but inherits the IPv4 refusal.
            let nat64 = format!("64:ff9b::{v4}");
            if verdict.is_err() {
                let refused = IpOrNet::parse(&nat64).is_err();
                prop_assert!(refused, "{} accepted", nat64);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,60}") {
            let _ = IpOrNet::parse(&s);
        }
    }
}
