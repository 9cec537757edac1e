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
