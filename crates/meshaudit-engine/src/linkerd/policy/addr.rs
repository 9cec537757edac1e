//! Sets of IP addresses (unions of CIDRs, minus exceptions), to answer questions about networks
//! without knowing client addresses: does an authorization admit every address of the cluster
//! networks, some of them, or none?

use std::net::IpAddr;

use meshaudit_model::cidr::Cidr;
use meshaudit_model::linkerd::Network;

/// Inclusive ranges, sorted and merged, per address family. IPv4 addresses are kept as their
/// 32-bit values (in a `u128`), IPv6 as their 128-bit values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

const V4_MAX: u128 = u32::MAX as u128;

fn range_of(cidr: &Cidr) -> (bool, u128, u128) {
    match cidr.addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let prefix = u32::from(cidr.prefix.min(32));
            let host_mask: u32 = if prefix == 0 {
                u32::MAX
            } else {
                u32::MAX.checked_shr(prefix).unwrap_or(0)
            };
            let low = bits & !host_mask;
            (true, u128::from(low), u128::from(low | host_mask))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let prefix = u32::from(cidr.prefix.min(128));
            let host_mask: u128 = if prefix == 0 {
                u128::MAX
            } else {
                u128::MAX.checked_shr(prefix).unwrap_or(0)
            };
            let low = bits & !host_mask;
            (false, low, low | host_mask)
        }
    }
}

/// Sorts and merges ranges that overlap or touch.
fn normalize(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn subtract(a: &[(u128, u128)], b: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(lo, hi) in a {
        let mut cur = lo;
        let mut done = false;
        for &(blo, bhi) in b {
            if bhi < cur || blo > hi {
                continue;
            }
            if blo > cur {
                out.push((cur, blo - 1));
            }
            if bhi >= hi {
                done = true;
                break;
            }
            cur = bhi + 1;
        }
        if !done {
            out.push((cur, hi));
        }
    }
    out
}

fn intersects(a: &[(u128, u128)], b: &[(u128, u128)]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (alo, ahi) = a[i];
        let (blo, bhi) = b[j];
        if alo <= bhi && blo <= ahi {
            return true;
        }
        if ahi < bhi {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}

impl AddrSet {
    /// Every IPv4 and every IPv6 address (`0.0.0.0/0` and `::/0`).
    pub fn everything() -> AddrSet {
        AddrSet {
            v4: vec![(0, V4_MAX)],
            v6: vec![(0, u128::MAX)],
        }
    }

    pub fn from_cidrs<'c>(cidrs: impl IntoIterator<Item = &'c Cidr>) -> AddrSet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for c in cidrs {
            let (is_v4, lo, hi) = range_of(c);
            if is_v4 {
                v4.push((lo, hi));
            } else {
                v6.push((lo, hi));
            }
        }
        AddrSet {
            v4: normalize(v4),
            v6: normalize(v6),
        }
    }

    /// The addresses a `networks` list admits: each entry's CIDR minus that entry's exceptions.
    pub fn from_networks<'n>(networks: impl IntoIterator<Item = &'n Network>) -> AddrSet {
        let mut out = AddrSet::default();
        for n in networks {
            let range = AddrSet::from_cidrs([&n.cidr.cidr]);
            let except = AddrSet::from_cidrs(n.except.iter().flatten().map(|e| &e.cidr));
            out = out.union(&range.minus(&except));
        }
        out
    }

    pub fn union(&self, other: &AddrSet) -> AddrSet {
        let join = |a: &[(u128, u128)], b: &[(u128, u128)]| {
            normalize(a.iter().chain(b).copied().collect())
        };
        AddrSet {
            v4: join(&self.v4, &other.v4),
            v6: join(&self.v6, &other.v6),
        }
    }

    pub fn minus(&self, other: &AddrSet) -> AddrSet {
        AddrSet {
            v4: subtract(&self.v4, &other.v4),
            v6: subtract(&self.v6, &other.v6),
        }
    }

    /// Every address not in the set.
    pub fn complement(&self) -> AddrSet {
        AddrSet::everything().minus(self)
    }

    /// The set's IPv4 addresses only.
    pub fn ipv4_only(&self) -> AddrSet {
        AddrSet {
            v4: self.v4.clone(),
            v6: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Both families whole.
    pub fn is_everything(&self) -> bool {
        *self == AddrSet::everything()
    }

    /// Is every address of `other` in this set?
    pub fn covers(&self, other: &AddrSet) -> bool {
        other.minus(self).is_empty()
    }

    /// Do the two sets share an address?
    pub fn intersects(&self, other: &AddrSet) -> bool {
        intersects(&self.v4, &other.v4) || intersects(&self.v6, &other.v6)
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let (ranges, bits) = match addr {
            IpAddr::V4(a) => (&self.v4, u128::from(u32::from(a))),
            IpAddr::V6(a) => (&self.v6, u128::from(a)),
        };
        ranges.iter().any(|&(lo, hi)| lo <= bits && bits <= hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshaudit_model::linkerd::CidrList;

    fn set(text: &str) -> AddrSet {
        AddrSet::from_cidrs(&CidrList::parse(text).cidrs)
    }

    fn network(json: &str) -> Network {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn cidrs_become_ranges_and_merge() {
        let s = set("10.0.0.0/9,10.128.0.0/9");
        assert_eq!(s, set("10.0.0.0/8"));
        assert!(s.contains("10.255.255.255".parse().unwrap()));
        assert!(!s.contains("11.0.0.0".parse().unwrap()));
        assert!(set("0.0.0.0/0,::/0").is_everything());
        assert!(!set("0.0.0.0/0").is_everything());
        assert!(set("::/0").contains("2001:db8::1".parse().unwrap()));
        assert!(set("192.0.2.7/32").contains("192.0.2.7".parse().unwrap()));
        assert!(!set("192.0.2.7/32").contains("192.0.2.8".parse().unwrap()));
    }

    #[test]
    fn exceptions_are_cut_out_and_coverage_is_exact() {
        let n = network(r#"{"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}"#);
        let admitted = AddrSet::from_networks([&n]);
        assert!(!admitted.contains("10.1.2.3".parse().unwrap()));
        assert!(admitted.contains("8.8.8.8".parse().unwrap()));
        let cluster = set("10.0.0.0/8,172.16.0.0/12");
        assert!(!admitted.covers(&cluster));
        assert!(admitted.intersects(&cluster));
        assert!(!admitted.intersects(&set("10.0.0.0/8")));
        let outside = cluster.complement();
        assert!(!outside.contains("10.0.0.1".parse().unwrap()));
        assert!(outside.contains("1.1.1.1".parse().unwrap()));
        assert!(outside.contains("fd00::1".parse().unwrap()));
        assert!(set("0.0.0.0/0,::/0").covers(&outside));
        assert!(!set("0.0.0.0/0").covers(&outside));
        assert!(cluster.union(&outside).is_everything());
        assert!(cluster.minus(&cluster).is_empty());
    }
}
