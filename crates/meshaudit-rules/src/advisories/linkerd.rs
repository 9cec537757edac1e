//! Linkerd's advisories as data (`data/linkerd-advisories.json`, bundled; or a newer file of the
//! same format given with `meshaudit scan --advisories FILE`), and which Linkerd releases each
//! one affects.
//!
//! The format is described in `docs/advisories.md`. Two kinds of entries:
//!
//! - advisories with explicit affected ranges per channel (`edge`, `stable_oss`, `enterprise`),
//!   as GitHub security advisories of linkerd/linkerd2 state them;
//! - fixes "derived" from release notes (`"affected": {"derived": true}`, or no `affected` at
//!   all): every release of a channel before the release the file lists as fixed for that
//!   channel is affected. A channel without a listed fix is not judged, and neither is the
//!   enterprise (vendor) channel, whose backports the release notes do not show.

use serde::{Deserialize, Deserializer};

use meshaudit_engine::version::{LinkerdChannel, LinkerdRelease, Version};

use super::{de_severity, AdvisoryError, AdvisorySeverity};

/// The bundled database, taken from the sources and on the date in its own fields.
pub const BUNDLED_JSON: &str = include_str!("../../data/linkerd-advisories.json");

/// The schema name the bundled file carries; a file with `advisories` and no `bulletins` is
/// read as this format too.
pub const SCHEMA: &str = "meshaudit/linkerd-advisories v1";

static BUNDLED: std::sync::LazyLock<LinkerdAdvisoryDb> = std::sync::LazyLock::new(|| {
    // A test parses the same text; a broken bundle fails the build's tests, never a user's scan.
    LinkerdAdvisoryDb::parse(BUNDLED_JSON).unwrap_or_default()
});

/// Parts of a Linkerd installation an advisory can be about, as running software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkerdPart {
    /// The controllers: destination, identity, proxy injector, policy controller.
    ControlPlane,
    /// `linkerd2-proxy`, in every meshed pod.
    Proxy,
    /// The `linkerd-init` container the injector adds (iptables).
    ProxyInit,
    /// The CNI plugin (instead of `linkerd-init`).
    Cni,
    /// The viz dashboard (`web`).
    VizDashboard,
    /// viz's bundled Prometheus image: judged by its own version.
    VizPrometheus,
    /// Extension controllers and their init containers (viz, jaeger, multicluster extras).
    Extensions,
}

impl LinkerdPart {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkerdPart::ControlPlane => "control plane",
            LinkerdPart::Proxy => "proxy",
            LinkerdPart::ProxyInit => "proxy-init",
            LinkerdPart::Cni => "CNI plugin",
            LinkerdPart::VizDashboard => "viz dashboard",
            LinkerdPart::VizPrometheus => "viz Prometheus",
            LinkerdPart::Extensions => "extensions",
        }
    }

    /// The parts one item of a `component` text names (`control plane (policy controller)`,
    /// `viz (Prometheus)`, `CLI`); an item nothing here runs (the CLI) names none.
    fn of_item(item: &str) -> Vec<LinkerdPart> {
        let item = item.trim().to_ascii_lowercase();
        if item.is_empty() || item == "cli" {
            return Vec::new();
        }
        if item.starts_with("proxy-init") {
            vec![LinkerdPart::ProxyInit]
        } else if item.contains("cni") {
            vec![LinkerdPart::Cni]
        } else if item.starts_with("proxy") {
            vec![LinkerdPart::Proxy]
        } else if item.starts_with("control plane") || item.starts_with("controller") {
            vec![LinkerdPart::ControlPlane]
        } else if item.starts_with("viz") {
            if item.contains("prometheus") {
                vec![LinkerdPart::VizPrometheus]
            } else if item.contains("dashboard") || item.contains("web") {
                vec![LinkerdPart::VizDashboard]
            } else {
                vec![LinkerdPart::VizDashboard, LinkerdPart::Extensions]
            }
        } else if item.starts_with("extension") {
            vec![LinkerdPart::Extensions]
        } else {
            // A component this build does not know: the control plane's release decides.
            vec![LinkerdPart::ControlPlane]
        }
    }

    /// The part a fix's note (`edge-23.4.2 (proxy)`) restricts it to, if it names one.
    fn of_note(note: &str) -> Option<LinkerdPart> {
        let note = note.to_ascii_lowercase();
        if note.starts_with("proxy-init") {
            Some(LinkerdPart::ProxyInit)
        } else if note.starts_with("proxy") {
            Some(LinkerdPart::Proxy)
        } else if note.contains("policy controller") || note.starts_with("control plane") {
            Some(LinkerdPart::ControlPlane)
        } else {
            None
        }
    }
}

/// What kind of entry an advisory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdvisoryKind {
    /// A vulnerability in Linkerd's own code (a GitHub security advisory).
    Linkerd,
    /// A CVE or advisory of a dependency or image that release notes say was patched.
    DependencyFix,
    /// A security fix named only by the release notes (`security_fixes_without_id`).
    SecurityFix,
    /// Another kind, as written.
    Other(String),
}

impl AdvisoryKind {
    pub fn as_str(&self) -> &str {
        match self {
            AdvisoryKind::Linkerd => "Linkerd advisory",
            AdvisoryKind::DependencyFix => "dependency fix",
            AdvisoryKind::SecurityFix => "security fix without an advisory id",
            AdvisoryKind::Other(k) => k,
        }
    }
}

fn de_kind<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AdvisoryKind>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|k| match k.as_str() {
        "linkerd" => AdvisoryKind::Linkerd,
        "dependency-fix" => AdvisoryKind::DependencyFix,
        "security-fix" => AdvisoryKind::SecurityFix,
        _ => AdvisoryKind::Other(k),
    }))
}

/// One affected range of one channel: `introduced` ≤ v (none: from the first release), and
/// v ≤ `last_affected` or v < `before` (none: every later release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRange {
    pub raw: Option<String>,
    pub introduced: Option<Version>,
    pub last_affected: Option<Version>,
    pub before: Option<Version>,
    /// The range is the data's inference, not the advisory's words.
    pub inferred: bool,
}

impl ReleaseRange {
    pub fn contains(&self, v: &Version) -> bool {
        self.introduced.as_ref().is_none_or(|i| v >= i)
            && self.last_affected.as_ref().is_none_or(|l| v <= l)
            && self.before.as_ref().is_none_or(|b| v < b)
    }

    /// `edge-24.10.3 through edge-25.1.2` for evidence: the raw text, else the bounds.
    pub fn describe(&self, channel: LinkerdChannel) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let r = |v: &Version| LinkerdRelease::new(channel, v.clone()).to_string();
        let from = self
            .introduced
            .as_ref()
            .map_or_else(|| "every release".to_owned(), |i| format!("from {}", r(i)));
        match (&self.last_affected, &self.before) {
            (Some(l), _) => format!("{from} through {}", r(l)),
            (None, Some(b)) => format!("{from} before {}", r(b)),
            (None, None) => format!("{from} on (no fixed release)"),
        }
    }
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    inferred: bool,
}

/// A release of `channel` as a range bound: `edge-25.2.1` in the edge list, `stable-2.14.10`
/// in the open-source stable list, `2.17.1` or `enterprise-2.17.1` in the enterprise list.
fn bound(text: &str, channel: LinkerdChannel) -> Result<Version, String> {
    let bad = || {
        format!(
            "`{text}` is not a release of the {} channel (expected {})",
            channel.as_str(),
            match channel {
                LinkerdChannel::Edge => "edge-YY.M.N",
                LinkerdChannel::Stable => "stable-2.X.Y",
                LinkerdChannel::Enterprise => "2.X.Y or enterprise-2.X.Y",
            }
        )
    };
    if let Some(r) = LinkerdRelease::parse(text) {
        return if r.channel == channel {
            Ok(r.version)
        } else {
            Err(bad())
        };
    }
    if channel == LinkerdChannel::Enterprise {
        if let Some(v) = Version::parse(text).filter(|v| v.patch.is_some()) {
            return Ok(v);
        }
    }
    Err(bad())
}

fn ranges<'de, D: Deserializer<'de>>(
    d: D,
    channel: LinkerdChannel,
) -> Result<Vec<ReleaseRange>, D::Error> {
    let raw = Option::<Vec<RawRange>>::deserialize(d)?.unwrap_or_default();
    raw.into_iter()
        .map(|r| {
            let b = |t: Option<String>| t.map(|t| bound(&t, channel)).transpose();
            let range = ReleaseRange {
                introduced: b(r.introduced).map_err(serde::de::Error::custom)?,
                last_affected: b(r.last_affected).map_err(serde::de::Error::custom)?,
                before: b(r.before).map_err(serde::de::Error::custom)?,
                raw: r.raw,
                inferred: r.inferred,
            };
            if range.introduced.is_none() && range.last_affected.is_none() && range.before.is_none()
            {
                return Err(serde::de::Error::custom(format!(
                    "a {} range needs introduced, last_affected or before",
                    channel.as_str()
                )));
            }
            if let (Some(i), Some(l)) = (&range.introduced, &range.last_affected) {
                if l < i {
                    return Err(serde::de::Error::custom(format!(
                        "last_affected {l} is before introduced {i}"
                    )));
                }
            }
            if let (Some(i), Some(b)) = (&range.introduced, &range.before) {
                if b <= i {
                    return Err(serde::de::Error::custom(format!(
                        "before {b} is not after introduced {i}"
                    )));
                }
            }
            Ok(range)
        })
        .collect()
}

fn de_edge<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ReleaseRange>, D::Error> {
    ranges(d, LinkerdChannel::Edge)
}

fn de_stable<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ReleaseRange>, D::Error> {
    ranges(d, LinkerdChannel::Stable)
}

fn de_enterprise<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ReleaseRange>, D::Error> {
    ranges(d, LinkerdChannel::Enterprise)
}

/// Which releases of each channel an advisory affects.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkerdAffected {
    /// Derived from the fixes: every release of a channel before its listed fix.
    #[serde(default)]
    pub derived: bool,
    #[serde(default, deserialize_with = "de_edge")]
    pub edge: Vec<ReleaseRange>,
    #[serde(default, deserialize_with = "de_stable")]
    pub stable_oss: Vec<ReleaseRange>,
    #[serde(default, deserialize_with = "de_enterprise")]
    pub enterprise: Vec<ReleaseRange>,
}

impl LinkerdAffected {
    fn is_explicit(&self) -> bool {
        !(self.edge.is_empty() && self.stable_oss.is_empty() && self.enterprise.is_empty())
    }

    fn ranges(&self, channel: LinkerdChannel) -> &[ReleaseRange] {
        match channel {
            LinkerdChannel::Edge => &self.edge,
            LinkerdChannel::Stable => &self.stable_oss,
            LinkerdChannel::Enterprise => &self.enterprise,
        }
    }
}

/// What a fixed entry names: a release, or a Linkerd major (`version-2.20`, the git tag of the
/// edge release that became that major).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixTarget {
    Release(LinkerdRelease),
    /// `version-2.20`: major 2, minor 20.
    Major(Version),
}

/// One entry of `fixed`: `edge-23.4.2 (proxy)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// As written.
    pub text: String,
    pub target: FixTarget,
    /// The words in parentheses after the release, if any.
    pub note: Option<String>,
}

impl Fix {
    fn parse(text: &str) -> Result<Fix, String> {
        let trimmed = text.trim();
        let (head, note) = match trimmed.split_once('(') {
            Some((h, n)) => (h.trim(), Some(n.trim_end_matches(')').trim().to_owned())),
            None => (trimmed, None),
        };
        let target = if let Some(major) = head.strip_prefix("version-") {
            match Version::parse(major) {
                Some(v) if v.patch.is_none() => FixTarget::Major(Version::new(v.major, v.minor, 0)),
                _ => return Err(format!("fixed `{text}`: `{head}` is not version-2.X")),
            }
        } else {
            FixTarget::Release(LinkerdRelease::parse(head).ok_or_else(|| {
                format!(
                    "fixed `{text}`: `{head}` is not a Linkerd release (edge-YY.M.N, stable-2.X.Y, enterprise-2.X.Y or version-2.X)"
                )
            })?)
        };
        Ok(Fix {
            text: trimmed.to_owned(),
            target,
            note,
        })
    }

    /// The part the note restricts this fix to, if any.
    fn part(&self) -> Option<LinkerdPart> {
        self.note.as_deref().and_then(LinkerdPart::of_note)
    }

    fn applies_to(&self, part: LinkerdPart) -> bool {
        self.part().is_none_or(|p| p == part)
    }

    /// A version of the component's own image the note gives (`edge-25.3.4 (v2.55.1)`).
    fn image_version(&self) -> Option<Version> {
        let note = self.note.as_deref()?;
        note.starts_with(['v', 'V'])
            .then(|| Version::parse(note))
            .flatten()
            .filter(|v| v.patch.is_some())
    }

    /// The release of `channel` this fix is, as a version of that channel (a major counts
    /// for the stable and enterprise channels, as `2.X.0`).
    fn version_in(&self, channel: LinkerdChannel) -> Option<Version> {
        match &self.target {
            FixTarget::Release(r) if r.channel == channel => Some(r.version.clone()),
            FixTarget::Major(v) if channel != LinkerdChannel::Edge => Some(v.clone()),
            _ => None,
        }
    }
}

fn fixes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fix>, D::Error> {
    Option::<Vec<String>>::deserialize(d)?
        .unwrap_or_default()
        .iter()
        .map(|t| Fix::parse(t).map_err(serde::de::Error::custom))
        .collect()
}

/// The releases that fix an advisory, per channel.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkerdFixed {
    #[serde(default, deserialize_with = "fixes")]
    pub edge: Vec<Fix>,
    /// Open-source stable releases (`stable-2.14.2`) or majors (`version-2.20`).
    #[serde(default, deserialize_with = "fixes")]
    pub stable: Vec<Fix>,
    /// `null` in the bundled data where fixed vendor releases were not confirmed.
    #[serde(default, deserialize_with = "fixes")]
    pub enterprise: Vec<Fix>,
    #[serde(default)]
    pub enterprise_note: Option<String>,
}

impl LinkerdFixed {
    fn all(&self) -> impl Iterator<Item = &Fix> {
        self.edge.iter().chain(&self.stable).chain(&self.enterprise)
    }

    fn is_empty(&self) -> bool {
        self.edge.is_empty() && self.stable.is_empty() && self.enterprise.is_empty()
    }
}

/// One advisory or security fix.
#[derive(Debug, Clone, Deserialize)]
pub struct LinkerdAdvisory {
    pub id: String,
    /// `None` in `security_fixes_without_id` (read as [`AdvisoryKind::SecurityFix`]).
    #[serde(default, deserialize_with = "de_kind")]
    pub kind: Option<AdvisoryKind>,
    #[serde(default)]
    pub cves: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "de_severity")]
    pub severity: Option<AdvisorySeverity>,
    #[serde(default)]
    pub cvss: Option<f64>,
    #[serde(default)]
    pub summary: String,
    /// What it is about: `proxy`, `control plane (policy controller)`, `viz (Prometheus)`...
    #[serde(default)]
    pub component: String,
    /// `None`: derived from the fixes, like `{"derived": true}`.
    #[serde(default)]
    pub affected: Option<LinkerdAffected>,
    #[serde(default)]
    pub fixed: LinkerdFixed,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Why an advisory applies to a release: the affected range it falls in, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub range: String,
    /// The range is derived from the fixes or marked inferred by the data.
    pub inferred: bool,
}

impl LinkerdAdvisory {
    pub fn kind(&self) -> AdvisoryKind {
        self.kind.clone().unwrap_or(AdvisoryKind::SecurityFix)
    }

    /// Which parts' releases decide whether it applies, from `component`.
    pub fn parts(&self) -> Vec<LinkerdPart> {
        let mut parts: Vec<LinkerdPart> = split_items(&self.component)
            .into_iter()
            .flat_map(LinkerdPart::of_item)
            .collect();
        if parts.is_empty() && self.component.trim().is_empty() {
            parts.push(LinkerdPart::ControlPlane);
        }
        parts.sort();
        parts.dedup();
        parts
    }

    fn is_derived(&self) -> bool {
        self.affected
            .as_ref()
            .is_none_or(|a| a.derived || !a.is_explicit())
    }

    /// Whether `release` of `part` is affected, and by which range.
    pub fn affects(&self, part: LinkerdPart, release: &LinkerdRelease) -> Option<Match> {
        if part == LinkerdPart::VizPrometheus || !self.parts().contains(&part) {
            return None;
        }
        let v = &release.version;
        if !self.is_derived() {
            let affected = self.affected.as_ref()?;
            let range = affected
                .ranges(release.channel)
                .iter()
                .find(|r| r.contains(v))?;
            return Some(Match {
                range: range.describe(release.channel),
                inferred: range.inferred,
            });
        }
        let fixes: Vec<(Version, &Fix)> = match release.channel {
            LinkerdChannel::Edge => &self.fixed.edge,
            LinkerdChannel::Stable => &self.fixed.stable,
            // Vendor builds backport fixes the release notes do not show.
            LinkerdChannel::Enterprise => return None,
        }
        .iter()
        .filter(|f| f.applies_to(part))
        .filter_map(|f| Some((f.version_in(release.channel)?, f)))
        .collect();
        let channel = release.channel.as_str();
        if release.channel == LinkerdChannel::Edge {
            // One line: the last listed fix completes it.
            let (last, fix) = fixes.iter().max_by(|a, b| a.0.cmp(&b.0))?;
            return (v < last).then(|| Match {
                range: format!(
                    "every {channel} release before {} (derived from the fix)",
                    fix.text
                ),
                inferred: true,
            });
        }
        // Stable: a fix in v's own minor line decides; a line older than every fixed one
        // never got the fix.
        let in_line = fixes
            .iter()
            .filter(|(f, _)| f.same_minor(v))
            .max_by(|a, b| a.0.cmp(&b.0));
        let affected = match in_line {
            Some((f, fix)) => (v < f).then(|| fix.text.clone()),
            None => fixes
                .iter()
                .all(|(f, _)| v < f)
                .then(|| {
                    fixes
                        .iter()
                        .map(|(_, fix)| fix.text.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|_| !fixes.is_empty()),
        }?;
        Some(Match {
            range: format!("{channel} releases before {affected} (derived from the fix)"),
            inferred: true,
        })
    }

    /// Whether viz's Prometheus image at `version` is older than the image the fixes moved
    /// to (the version their notes give, e.g. `edge-25.3.4 (v2.55.1)`).
    pub fn affects_prometheus(&self, version: &Version) -> Option<Match> {
        if !self.parts().contains(&LinkerdPart::VizPrometheus) {
            return None;
        }
        let (target, release) = self.prometheus_fix()?;
        (version < &target).then(|| Match {
            range: format!(
                "Prometheus images older than v{target}, the one {release} ships (derived from the fix)"
            ),
            inferred: true,
        })
    }

    /// The newest Prometheus image the fixes name, and the release (`edge-25.3.4`) that
    /// ships it.
    pub fn prometheus_fix(&self) -> Option<(Version, &str)> {
        self.fixed
            .all()
            .filter_map(|f| {
                let release = f.text.split(' ').next().unwrap_or(&f.text);
                Some((f.image_version()?, release))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
    }

    /// The edge release that fixes it for `part`, if the data names one.
    pub fn edge_fix(&self, part: LinkerdPart) -> Option<&Fix> {
        self.fixed
            .edge
            .iter()
            .filter(|f| f.applies_to(part))
            .filter(|f| f.version_in(LinkerdChannel::Edge).is_some())
            .max_by(|a, b| {
                a.version_in(LinkerdChannel::Edge)
                    .cmp(&b.version_in(LinkerdChannel::Edge))
            })
    }

    /// The fixed releases, as written, for evidence.
    pub fn fixed_text(&self) -> String {
        let all: Vec<&str> = self.fixed.all().map(|f| f.text.as_str()).collect();
        if all.is_empty() {
            "no fixed release listed".to_owned()
        } else {
            format!("fixed in {}", all.join(", "))
        }
    }
}

/// Splits `proxy, control plane (policy controller)` at the commas outside parentheses.
fn split_items(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// The database: advisories and the security fixes without an id, in file order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkerdAdvisoryDb {
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub taken: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub advisories: Vec<LinkerdAdvisory>,
    #[serde(default)]
    pub security_fixes_without_id: Vec<LinkerdAdvisory>,
}

impl LinkerdAdvisoryDb {
    /// The database shipped with meshaudit.
    pub fn bundled() -> &'static LinkerdAdvisoryDb {
        &BUNDLED
    }

    /// Every entry: advisories first, then the security fixes without an id.
    pub fn entries(&self) -> impl Iterator<Item = &LinkerdAdvisory> {
        self.advisories
            .iter()
            .chain(&self.security_fixes_without_id)
    }

    /// Parses and validates a database in the bundled format.
    pub fn parse(text: &str) -> Result<LinkerdAdvisoryDb, AdvisoryError> {
        let db: LinkerdAdvisoryDb =
            serde_json::from_str(text).map_err(|e| AdvisoryError::from_json(&e))?;
        for (list, key) in [
            (&db.advisories, "advisories"),
            (&db.security_fixes_without_id, "security_fixes_without_id"),
        ] {
            for (i, a) in list.iter().enumerate() {
                let problem = if a.id.trim().is_empty() {
                    Some("has an empty `id`".to_owned())
                } else if a.is_derived() && a.fixed.is_empty() {
                    Some(
                        "has no explicit affected range and no fixed release to derive one from"
                            .to_owned(),
                    )
                } else {
                    None
                };
                if let Some(p) = problem {
                    let (line, column) = super::locate_entry(text, key, i);
                    return Err(AdvisoryError {
                        line,
                        column,
                        message: format!("{key} entry {} ({}) {p}", i + 1, a.id),
                    });
                }
            }
        }
        Ok(db)
    }

    /// A one-line description for evidence: how many entries, and when the data was taken.
    pub fn provenance(&self) -> String {
        let n = self.advisories.len() + self.security_fixes_without_id.len();
        match &self.taken {
            Some(t) => format!("{n} advisories and fixes, taken {t}"),
            None => format!("{n} advisories and fixes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> LinkerdRelease {
        LinkerdRelease::parse(s).unwrap()
    }

    fn db() -> LinkerdAdvisoryDb {
        LinkerdAdvisoryDb::parse(BUNDLED_JSON).expect("bundled Linkerd advisories parse")
    }

    fn find<'a>(db: &'a LinkerdAdvisoryDb, id: &str) -> &'a LinkerdAdvisory {
        db.entries().find(|a| a.id == id).unwrap()
    }

    #[test]
    fn the_bundled_database_is_valid_and_dated() {
        let db = db();
        assert_eq!(db.schema.as_deref(), Some(SCHEMA));
        assert!(db.taken.is_some() && db.source.is_some());
        assert!(db.advisories.len() >= 21 && !db.security_fixes_without_id.is_empty());
        let ids: std::collections::HashSet<&str> = db.entries().map(|a| a.id.as_str()).collect();
        assert_eq!(ids.len(), db.entries().count(), "duplicate ids");
    }

    #[test]
    fn explicit_ranges_follow_each_channel() {
        let db = db();
        let a = find(&db, "GHSA-42mr-jpwh-m9rv");
        assert_eq!(a.kind(), AdvisoryKind::Linkerd);
        assert_eq!(a.parts(), [LinkerdPart::Proxy]);
        // Both edge ranges: before edge-25.2.1, and the outbound range up to edge-25.1.2.
        let m = a.affects(LinkerdPart::Proxy, &rel("edge-25.1.2")).unwrap();
        assert!(m.range.contains("before edge-25.2.1"), "{m:?}");
        assert!(a.affects(LinkerdPart::Proxy, &rel("edge-25.2.1")).is_none());
        assert!(a
            .affects(LinkerdPart::Proxy, &rel("stable-2.14.10"))
            .is_some());
        assert!(a
            .affects(LinkerdPart::Proxy, &rel("stable-2.12.6"))
            .is_none());
        assert!(a
            .affects(LinkerdPart::Proxy, &rel("enterprise-2.17.1"))
            .is_some());
        assert!(a
            .affects(LinkerdPart::Proxy, &rel("enterprise-2.17.2"))
            .is_none());
        // It is about the proxy, not the controllers.
        assert!(a
            .affects(LinkerdPart::ControlPlane, &rel("edge-25.1.2"))
            .is_none());
        assert_eq!(a.edge_fix(LinkerdPart::Proxy).unwrap().text, "edge-25.2.1");
        // An inferred enterprise range says so.
        let shutdown = find(&db, "GHSA-6v94-gj6x-jqj7");
        let m = shutdown
            .affects(LinkerdPart::Proxy, &rel("enterprise-2.15.3"))
            .unwrap();
        assert!(m.inferred);
        assert!(shutdown
            .affects(LinkerdPart::Proxy, &rel("edge-24.6.2"))
            .is_none());
        assert!(shutdown
            .affects(LinkerdPart::Proxy, &rel("edge-24.6.1"))
            .is_some());
    }

    #[test]
    fn derived_ranges_come_from_the_fixes() {
        let db = db();
        let go = find(&db, "GO-TOOLCHAIN-2026-03");
        assert_eq!(go.parts(), [LinkerdPart::ControlPlane]);
        assert!(go
            .affects(LinkerdPart::ControlPlane, &rel("edge-25.1.2"))
            .is_some());
        assert!(go
            .affects(LinkerdPart::ControlPlane, &rel("edge-26.3.3"))
            .is_none());
        // version-2.20 in the stable list: every open-source stable predates it.
        assert!(go
            .affects(LinkerdPart::ControlPlane, &rel("stable-2.14.10"))
            .is_some());
        // Vendor builds are not judged on derived ranges.
        assert!(go
            .affects(LinkerdPart::ControlPlane, &rel("enterprise-2.19.1"))
            .is_none());
        // Per stable line: fixed in 2.14.1 and 2.13.7; 2.12 never was.
        let webpki = find(&db, "RUSTSEC-2023-0052");
        for (r, hit) in [
            ("stable-2.14.0", true),
            ("stable-2.14.1", false),
            ("stable-2.13.6", true),
            ("stable-2.13.7", false),
            ("stable-2.12.6", true),
            ("edge-23.9.2", true),
            ("edge-23.9.3", false),
        ] {
            assert_eq!(
                webpki.affects(LinkerdPart::Proxy, &rel(r)).is_some(),
                hit,
                "{r}"
            );
        }
        // A fix whose note names the proxy does not fix the policy controller.
        let h2 = find(&db, "CVE-2023-26964");
        assert!(h2
            .affects(LinkerdPart::Proxy, &rel("stable-2.13.1"))
            .is_none());
        assert!(h2
            .affects(LinkerdPart::ControlPlane, &rel("stable-2.13.1"))
            .is_some());
        assert!(h2
            .affects(LinkerdPart::ControlPlane, &rel("stable-2.12.5"))
            .is_none());
        // A channel without a listed fix is not judged.
        let anyhow = find(&db, "RUSTSEC-2026-0190");
        assert!(anyhow
            .affects(LinkerdPart::ControlPlane, &rel("stable-2.14.10"))
            .is_none());
        // Only the CLI: nothing in a cluster runs it.
        let cli = find(&db, "LINKERD-edge-22.2.4-inject-https");
        assert!(cli.parts().is_empty());
        assert_eq!(cli.kind(), AdvisoryKind::SecurityFix);
    }

    #[test]
    fn viz_prometheus_is_judged_by_its_own_image() {
        let db = db();
        let p = find(&db, "PROMETHEUS-IMAGE-CVES");
        assert_eq!(p.parts(), [LinkerdPart::VizPrometheus]);
        let v = |s: &str| Version::parse(s).unwrap();
        let m = p.affects_prometheus(&v("v2.48.1")).unwrap();
        assert!(m.range.contains("v2.55.1"), "{m:?}");
        assert!(p.affects_prometheus(&v("v2.55.1")).is_none());
        assert!(p.affects_prometheus(&v("v3.1.0")).is_none());
        assert!(p
            .affects(LinkerdPart::VizPrometheus, &rel("edge-25.1.2"))
            .is_none());
    }

    #[test]
    fn components_name_parts() {
        let parts = |c: &str| {
            LinkerdAdvisory {
                id: "X".into(),
                kind: None,
                cves: vec![],
                aliases: vec![],
                severity: None,
                cvss: None,
                summary: String::new(),
                component: c.into(),
                affected: None,
                fixed: LinkerdFixed::default(),
                published: None,
                url: None,
            }
            .parts()
        };
        assert_eq!(
            parts("proxy, control plane (policy controller)"),
            [LinkerdPart::ControlPlane, LinkerdPart::Proxy]
        );
        assert_eq!(
            parts("proxy-init, CNI plugin"),
            [LinkerdPart::ProxyInit, LinkerdPart::Cni]
        );
        assert_eq!(parts("viz (web dashboard)"), [LinkerdPart::VizDashboard]);
        assert_eq!(
            parts("extensions (init container)"),
            [LinkerdPart::Extensions]
        );
        assert_eq!(parts("control plane, CLI"), [LinkerdPart::ControlPlane]);
        assert_eq!(parts("something new"), [LinkerdPart::ControlPlane]);
    }

    #[test]
    fn a_bad_file_says_where() {
        let e = LinkerdAdvisoryDb::parse(
            "{\n \"advisories\": [\n  {\"id\": \"X\", \"affected\": {\"edge\": [{\"before\": \"stable-2.14.1\"}]}}\n ]\n}",
        )
        .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(
            e.message
                .contains("`stable-2.14.1` is not a release of the edge channel"),
            "{e}"
        );
        let e = LinkerdAdvisoryDb::parse(
            "{\"advisories\": [{\"id\": \"X\", \"fixed\": {\"edge\": [\"edge-25\"]}}]}",
        )
        .unwrap_err();
        assert!(
            e.message.contains("`edge-25` is not a Linkerd release"),
            "{e}"
        );
        let e = LinkerdAdvisoryDb::parse(
            "{\"advisories\": [\n {\"id\": \"A\", \"fixed\": {\"edge\": [\"edge-25.2.1\"]}},\n {\"id\": \"B\"}\n]}",
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.message.contains("entry 2 (B)")),
            (3, true),
            "{e}"
        );
        let e = LinkerdAdvisoryDb::parse(
            "{\"advisories\": [{\"id\": \"X\", \"affected\": {\"edge\": [{\"raw\": \"all\"}]}}]}",
        )
        .unwrap_err();
        assert!(e.message.contains("needs introduced"), "{e}");
        let e = LinkerdAdvisoryDb::parse(
            "{\"advisories\": [{\"id\": \"X\", \"severity\": \"severe\", \"fixed\": {\"edge\": [\"edge-25.2.1\"]}}]}",
        )
        .unwrap_err();
        assert!(e.message.contains("severe"), "{e}");
        assert!(LinkerdAdvisoryDb::parse("{\"advisories\": [").is_err());
    }
}
