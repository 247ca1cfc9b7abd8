//! Which addresses the scheduler may fetch from (ADR 0009): none that reach the host
//! itself, the operator's private networks, or a cloud's metadata service, in any of the
//! spellings IPv6 gives an IPv4 address. An operator's own trusted networks
//! (`BANGUI_BLOCKLIST_ALLOW_NETS`) override the refusal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use shared::domain::IpOrNet;

/// Why the scheduler will not connect to `ip`, or `None` when it may.
pub fn refused_because(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_refused(v4),
        IpAddr::V6(v6) => v6_refused(v6),
    }
}

/// Whether `ip` may be fetched from: not refused, or inside a trusted network.
pub fn allowed(ip: IpAddr, trusted: &[IpOrNet]) -> Result<(), &'static str> {
    if trusted.iter().any(|net| net.contains(ip)) {
        return Ok(());
    }
    refused_because(ip).map_or(Ok(()), Err)
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn v4_refused(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([169, 254, 169, 254], 32, "a cloud metadata address"),
        ([0, 0, 0, 0], 8, "an unspecified (\"this network\") address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([100, 64, 0, 0], 10, "a carrier-grade NAT (shared) address"),
        ([192, 0, 0, 0], 24, "an IETF protocol address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([192, 88, 99, 0], 24, "a 6to4 relay address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved or broadcast address"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn v6_refused(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    // IPv4 written as IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64
    // 64:ff9b::a.b.c.d): judged as the IPv4 address it reaches.
    let embedded = |ip: Ipv6Addr| Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32);
    if in_v6(ip, Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96)
        || in_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96)
        || (in_v6(ip, Ipv6Addr::UNSPECIFIED, 96) && bits > 1)
    {
        return v4_refused(embedded(ip)).or_else(|| {
            // `::a.b.c.d` with a public a.b.c.d is deprecated and never a list server.
            in_v6(ip, Ipv6Addr::UNSPECIFIED, 96).then_some("an IPv4-compatible address")
        });
    }
    // 6to4 (2002:AABB:CCDD::/48) carries an IPv4 address in bits 16..48.
    if in_v6(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        let v4 = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
        if let Some(why) = v4_refused(v4) {
            return Some(why);
        }
    }
    let ranges: &[(Ipv6Addr, u32, &str)] = &[
        (
            Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254),
            128,
            "a cloud metadata address",
        ),
        (Ipv6Addr::UNSPECIFIED, 128, "an unspecified address"),
        (Ipv6Addr::LOCALHOST, 128, "a loopback address"),
        (
            Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
            48,
            "a local-use NAT64 address",
        ),
        (
            Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
            64,
            "a discard-only address",
        ),
        (
            Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
            32,
            "a Teredo address",
        ),
        (
            Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 0),
            48,
            "a benchmarking address",
        ),
        (
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
            32,
            "a documentation address",
        ),
        (
            Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
            7,
            "a unique-local (private) address",
        ),
        (
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
            10,
            "a link-local address",
        ),
        (
            Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
            10,
            "a site-local address",
        ),
        (
            Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
            8,
            "a multicast address",
        ),
    ];
    ranges
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, *net, *prefix))
        .map(|(_, _, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn every_inside_or_special_range_is_refused_in_every_spelling() {
        for refused in [
            "169.254.169.254",
            "fd00:ec2::254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            "64:ff9b:1::1",
            "2001::1",
            // IPv4 inside IPv6.
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
            "2002:7f00:0001::1",
        ] {
            assert!(
                refused_because(ip(refused)).is_some(),
                "{refused} must be refused"
            );
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ok in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "169.255.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(refused_because(ip(ok)), None, "{ok} is public");
        }
    }

    #[test]
    fn trusted_networks_override_the_refusal_and_nothing_else() {
        let trusted = vec![IpOrNet::parse_any("127.0.0.1/32").expect("net")];
        assert!(allowed(ip("127.0.0.1"), &trusted).is_ok());
        assert!(allowed(ip("127.0.0.2"), &trusted).is_err());
        assert!(allowed(ip("10.0.0.1"), &trusted).is_err());
        assert!(allowed(ip("8.8.8.8"), &[]).is_ok());
        assert_eq!(
            allowed(ip("169.254.169.254"), &[]),
            Err("a cloud metadata address")
        );
    }
}
