use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// An IPv4/IPv6 address or a CIDR network that may be banned: written canonically,
/// without host bits, and never so broad that one ban would lock out much of the
/// internet (`0.0.0.0/0`, `::/0`).
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
        }
    }
}

impl IpOrNet {
    pub fn parse(raw: &str) -> Result<Self, IpParseError> {
        let input = raw.trim();
        let shown = || input.chars().take(80).collect::<String>();
        let malformed = || IpParseError::Malformed(shown());
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
            IpOrNet::parse(" 198.51.100.0/24 ")
                .expect("net")
                .to_string(),
            "198.51.100.0/24"
        );
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
        ] {
            assert_eq!(code(bad), "invalid_ip", "{bad:?}");
        }
        assert_eq!(code("0.0.0.0/0"), "prefix_too_broad");
        assert_eq!(code("10.0.0.0/7"), "prefix_too_broad");
        assert_eq!(code("::/0"), "prefix_too_broad");
        assert_eq!(code("2001:db8::/31"), "prefix_too_broad");
        assert_eq!(code("192.0.2.5/24"), "invalid_ip");
        for special in [
            "0.0.0.0",
            "127.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "ff02::1",
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
            let text = if prefix == 128 { addr.to_string() } else { format!("{addr}/{prefix}") };
            prop_assert_eq!(IpOrNet::parse(&text).expect("valid").to_string(), text);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,60}") {
            let _ = IpOrNet::parse(&s);
        }
    }
}
