//! IP ranges as NetworkPolicy `ipBlock` writes them (`10.0.0.0/8`, `::/0`).

use std::net::IpAddr;

/// Private ranges pod and node networks use: an `except` that cuts into one of them may
/// exclude pod addresses.
pub const PRIVATE_RANGES: [Cidr; 5] = [
    Cidr::v4([10, 0, 0, 0], 8),
    Cidr::v4([172, 16, 0, 0], 12),
    Cidr::v4([192, 168, 0, 0], 16),
    Cidr::v4([100, 64, 0, 0], 10),
    Cidr {
        addr: IpAddr::V6(std::net::Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)),
        prefix: 7,
    },
];

/// A parsed CIDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    const fn v4(octets: [u8; 4], prefix: u8) -> Cidr {
        let [a, b, c, d] = octets;
        Cidr {
            addr: IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.trim().split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Every address of its family.
    pub fn is_everything(&self) -> bool {
        self.prefix == 0
    }

    fn bits(addr: IpAddr) -> u128 {
        match addr {
            IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
            IpAddr::V6(a) => u128::from(a),
        }
    }

    /// Do the two ranges share an address?
    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.addr.is_ipv4() != other.addr.is_ipv4() {
            return false;
        }
        // IPv4 addresses sit in the top 32 bits, so one mask fits both families.
        let shorter = u32::from(self.prefix.min(other.prefix));
        let mask = if shorter == 0 {
            0
        } else {
            u128::MAX << (128 - shorter)
        };
        Cidr::bits(self.addr) & mask == Cidr::bits(other.addr) & mask
    }

    /// Is `addr` inside the range? Addresses of the other family never are.
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.overlaps(&Cidr {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
        })
    }

    /// Does the range share an address with a private range?
    pub fn overlaps_private(&self) -> bool {
        PRIVATE_RANGES.iter().any(|range| self.overlaps(range))
    }

    /// Is `other` inside this range and smaller than it?
    pub fn strictly_contains(&self, other: &Cidr) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && other.prefix > self.prefix
            && self.overlaps(other)
    }

    /// Is the whole range inside private address space?
    pub fn is_private(&self) -> bool {
        PRIVATE_RANGES
            .iter()
            .any(|range| range.prefix <= self.prefix && range.overlaps(self))
    }
}
