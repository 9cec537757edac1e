//! Release numbers as meshes and their add-ons write them, ordered as releases are.

use std::cmp::Ordering;
use std::fmt;

/// A release number: `1.22.0`, `1.22` (no patch: a floating tag), `1.23.0-beta.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    /// `None` when only `major.minor` is known.
    pub patch: Option<u64>,
    /// Pre-release label (`beta.1`, `rc.0`); sorts before the release itself.
    pub pre: Option<String>,
}

impl Version {
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch: Some(patch),
            pre: None,
        }
    }

    /// Parses `1.22.0`, `v1.22.0`, `1.22`, `1.23.0-beta.1`, `1.22.0-distroless`,
    /// `1.17.2-ent`. Build flavours after a `-` (`distroless`, `debug`, `ent`, `ubi`) are not part
    /// of the version; `alpha`, `beta` and `rc` labels are pre-releases.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let (core, suffix) = match text.find(['-', '+', '_']) {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let mut parts = core.split('.');
        let major = parse_number(parts.next()?)?;
        let minor = parse_number(parts.next()?)?;
        let patch = match parts.next() {
            Some(p) => Some(parse_number(p)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        let pre = suffix
            .filter(|s| {
                let s = s.to_ascii_lowercase();
                ["alpha", "beta", "rc", "pre"]
                    .iter()
                    .any(|p| s.starts_with(p))
            })
            .map(str::to_owned);
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    /// `1.22`.
    pub fn minor_line(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    pub fn same_minor(&self, other: &Version) -> bool {
        self.major == other.major && self.minor == other.minor
    }

    /// Full comparison; a missing patch sorts as 0.
    fn key_cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch.unwrap_or(0))
            .cmp(&(other.major, other.minor, other.patch.unwrap_or(0)))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }

    /// Number of minor releases `self` is behind `other` (negative when ahead); across majors
    /// only the sign is meaningful.
    pub fn minors_behind(&self, other: &Version) -> i64 {
        if self.major != other.major {
            return if self.major < other.major { 99 } else { -99 };
        }
        other.minor as i64 - self.minor as i64
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key_cmp(other)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(p) = self.patch {
            write!(f, ".{p}")?;
        }
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Linkerd's release channels. Their numbers live in different spaces: `edge-25.1.2` is a
/// year.month.sequence, `stable-2.14.10` and `enterprise-2.17.1` are 2.minor.patch, so releases
/// of two channels never compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkerdChannel {
    /// `edge-YY.M.N`: the open-source channel since 2024.
    Edge,
    /// `stable-2.X.Y`: the open-source stable channel, which ended with `stable-2.14.10`.
    Stable,
    /// `enterprise-2.X.Y`: Buoyant Enterprise for Linkerd, a vendor build.
    Enterprise,
}

impl LinkerdChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkerdChannel::Edge => "edge",
            LinkerdChannel::Stable => "stable",
            LinkerdChannel::Enterprise => "enterprise",
        }
    }

    /// The channel a prefix (`edge`, `stable`, `enterprise`) names.
    pub fn parse(prefix: &str) -> Option<LinkerdChannel> {
        match prefix {
            "edge" => Some(LinkerdChannel::Edge),
            "stable" => Some(LinkerdChannel::Stable),
            "enterprise" => Some(LinkerdChannel::Enterprise),
            _ => None,
        }
    }
}

/// A Linkerd release as its images, `linkerdVersion` and `linkerd.io/proxy-version` write it:
/// `edge-25.1.2`, `stable-2.14.10`, `enterprise-2.17.1` (a hotpatch suffix such as
/// `enterprise-2.17.1-1` is read as its base release).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkerdRelease {
    pub channel: LinkerdChannel,
    pub version: Version,
}

impl LinkerdRelease {
    pub fn new(channel: LinkerdChannel, version: Version) -> Self {
        LinkerdRelease { channel, version }
    }

    /// Parses `<channel>-<major>.<minor>.<patch>`; a release without its patch (`edge-25.1`)
    /// or without a channel is not a Linkerd release.
    pub fn parse(text: &str) -> Option<LinkerdRelease> {
        let text = text.trim();
        let (prefix, rest) = text.split_once('-')?;
        let channel = LinkerdChannel::parse(prefix)?;
        let version = Version::parse(rest)?;
        version.patch?;
        Some(LinkerdRelease { channel, version })
    }

    /// How `self` compares with `other`; `None` across channels, whose numbers do not compare.
    pub fn cmp_in_channel(&self, other: &LinkerdRelease) -> Option<Ordering> {
        (self.channel == other.channel).then(|| self.version.cmp(&other.version))
    }
}

impl fmt::Display for LinkerdRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.channel.as_str(), self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkerd_releases_parse_by_channel() {
        let r = LinkerdRelease::parse("edge-25.1.2").unwrap();
        assert_eq!(r.channel, LinkerdChannel::Edge);
        assert_eq!(r.version, Version::new(25, 1, 2));
        assert_eq!(r.to_string(), "edge-25.1.2");
        let s = LinkerdRelease::parse("stable-2.14.10").unwrap();
        assert_eq!(
            (s.channel, s.version.clone()),
            (LinkerdChannel::Stable, Version::new(2, 14, 10))
        );
        let e = LinkerdRelease::parse("enterprise-2.17.1-1").unwrap();
        assert_eq!(
            (e.channel, e.version),
            (LinkerdChannel::Enterprise, Version::new(2, 17, 1))
        );
        for bad in [
            "edge-25.1",
            "2.14.10",
            "version-2.16",
            "edge-",
            "latest",
            "edge-x.y.z",
        ] {
            assert!(LinkerdRelease::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn linkerd_releases_compare_only_within_a_channel() {
        let p = |s: &str| LinkerdRelease::parse(s).unwrap();
        assert_eq!(
            p("edge-25.1.2").cmp_in_channel(&p("edge-25.2.1")),
            Some(Ordering::Less)
        );
        // edge-24.10.3 is later than edge-24.9.1: numbers, not text.
        assert_eq!(
            p("edge-24.10.3").cmp_in_channel(&p("edge-24.9.1")),
            Some(Ordering::Greater)
        );
        assert_eq!(p("stable-2.14.10").cmp_in_channel(&p("edge-25.1.2")), None);
    }
}
