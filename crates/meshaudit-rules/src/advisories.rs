//! The advisory databases the `dependencies` rules match component versions against: the
//! published Istio security bulletins as data (`data/istio-advisories.json`, bundled), Linkerd's
//! advisories and security fixes (`data/linkerd-advisories.json`, see [`linkerd`]), or newer
//! files of the same formats given with `meshaudit scan --advisories FILE` (see [`parse_any`]).
//!
//! Also the version numbers those advisories speak of, and how they compare.

pub mod linkerd;

use std::sync::LazyLock;

use serde::{Deserialize, Deserializer};

/// The bundled database, taken from the Istio bulletins on the date in its `taken` field.
pub const BUNDLED_JSON: &str = include_str!("../data/istio-advisories.json");

static BUNDLED: LazyLock<AdvisoryDb> = LazyLock::new(|| {
    // A test parses the same text; a broken bundle fails the build's tests, never a user's scan.
    AdvisoryDb::parse(BUNDLED_JSON).unwrap_or_else(|_| AdvisoryDb::default())
});

pub use meshaudit_engine::version::Version;

/// A version field of the file: parsed while deserializing, so a mistake is reported at its
/// line and column.
fn de_version<'de, D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
    let s = String::deserialize(d)?;
    parse_bound(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{s}` is not a version (expected MAJOR.MINOR.PATCH, or 0 for \"every earlier release\")"
        ))
    })
}

fn de_opt_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Version>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse_bound(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a version (expected MAJOR.MINOR.PATCH)"
            ))
        }),
    }
}

fn de_versions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Version>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    list.iter()
        .map(|s| {
            parse_bound(s).ok_or_else(|| {
                serde::de::Error::custom(format!("fixed version `{s}` is not a version"))
            })
        })
        .collect()
}

/// `0` (every earlier release) or a full version.
fn parse_bound(s: &str) -> Option<Version> {
    if s.trim() == "0" {
        return Some(Version::new(0, 0, 0));
    }
    Version::parse(s).map(|mut v| {
        v.patch.get_or_insert(0);
        v
    })
}

fn de_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AdvisorySeverity>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "critical" => Ok(Some(AdvisorySeverity::Critical)),
            "high" => Ok(Some(AdvisorySeverity::High)),
            "medium" | "moderate" => Ok(Some(AdvisorySeverity::Medium)),
            "low" => Ok(Some(AdvisorySeverity::Low)),
            "none" | "informational" | "info" => Ok(Some(AdvisorySeverity::Info)),
            _ => Err(serde::de::Error::custom(format!(
                "severity `{s}` is not one of Critical, High, Medium, Low"
            ))),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AdvisorySeverity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl AdvisorySeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            AdvisorySeverity::Info => "none",
            AdvisorySeverity::Low => "Low",
            AdvisorySeverity::Medium => "Medium",
            AdvisorySeverity::High => "High",
            AdvisorySeverity::Critical => "Critical",
        }
    }
}

/// One affected range: `introduced` ≤ v, and v ≤ `last_affected` or v < `before`; no upper
/// bound means every later release too (a configuration advisory, or one without a fix).
#[derive(Debug, Clone, Deserialize)]
pub struct AffectedRange {
    #[serde(default)]
    pub raw: Option<String>,
    #[serde(deserialize_with = "de_version")]
    pub introduced: Version,
    #[serde(default, deserialize_with = "de_opt_version")]
    pub last_affected: Option<Version>,
    #[serde(default, deserialize_with = "de_opt_version")]
    pub before: Option<Version>,
}

impl AffectedRange {
    pub fn is_bounded(&self) -> bool {
        self.last_affected.is_some() || self.before.is_some()
    }

    /// Whether `v` (with a known patch) is in the range. A pre-release of `X.Y.Z` counts as
    /// `X.Y.Z` for the lower bound: it carries the code the release introduced.
    pub fn contains(&self, v: &Version) -> bool {
        let release = Version {
            pre: None,
            ..v.clone()
        };
        if release < self.introduced {
            return false;
        }
        if let Some(last) = &self.last_affected {
            if v > last {
                return false;
            }
        }
        if let Some(before) = &self.before {
            if v >= before {
                return false;
            }
        }
        true
    }

    /// Whether every patch release of `line` (`major.minor`) is in the range: what a floating
    /// `1.22` tag can be said to be.
    pub fn covers_whole_minor(&self, line: &Version) -> bool {
        let first = Version::new(line.major, line.minor, 0);
        if !self.contains(&first) {
            return false;
        }
        match (&self.last_affected, &self.before) {
            (None, None) => true,
            (Some(last), _) => !(last.major == line.major && last.minor == line.minor),
            (None, Some(before)) => {
                (before.major, before.minor) > (line.major, line.minor)
                    && !(before.major == line.major && before.minor == line.minor)
            }
        }
    }
}

/// One bulletin.
#[derive(Debug, Clone, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub cves: Vec<String>,
    #[serde(default)]
    pub cvss: Option<f64>,
    #[serde(default, deserialize_with = "de_severity")]
    pub severity: Option<AdvisorySeverity>,
    pub affected: Vec<AffectedRange>,
    #[serde(default, deserialize_with = "de_versions")]
    pub fixed: Vec<Version>,
    /// What the bulletin is about: `envoy`, `istiod`, `istio-cni`, `istio config (authz)`...
    #[serde(default)]
    pub component: String,
    /// The bulletin's own words on when a mesh is exposed.
    #[serde(default)]
    pub config_preconditions: Option<String>,
    /// Conditions meshaudit checks on the input (all must hold); see [`Check`].
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Parts of Istio a bulletin can be about, as running software.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// istiod (`pilot` image).
    ControlPlane,
    /// Envoy-based proxies (`proxyv2` image): sidecars and gateways.
    Proxy,
    /// The CNI node agent (`install-cni` image).
    Cni,
}

impl Advisory {
    /// Which parts' versions decide whether the bulletin applies, from its `component`.
    pub fn parts(&self) -> Vec<Part> {
        let c = self.component.to_ascii_lowercase();
        let mut parts = Vec::new();
        if c.contains("istiod") || c.contains("pilot") || c.starts_with("istio config") {
            parts.push(Part::ControlPlane);
        }
        if c.contains("envoy") || c.contains("istio-proxy") {
            parts.push(Part::Proxy);
        }
        if c.contains("cni") {
            parts.push(Part::Cni);
        }
        if parts.is_empty() {
            // `istio`, add-ons shipped with a release, or a component this build does not know:
            // the control plane's release number decides.
            parts.push(Part::ControlPlane);
        }
        parts
    }

    /// Configuration-only: some affected range has no upper bound.
    pub fn is_config_only(&self) -> bool {
        self.affected.iter().any(|r| !r.is_bounded())
    }

    /// Whether release `v` is affected. A version without a patch (floating tag) is affected
    /// only if every patch of its minor line is.
    pub fn affects(&self, v: &Version) -> bool {
        if v.patch.is_none() {
            return self.affected.iter().any(|r| r.covers_whole_minor(v));
        }
        self.affected.iter().any(|r| r.contains(v))
    }

    /// The fixed release of `v`'s minor line, if the bulletin names one above `v`.
    pub fn fix_for(&self, v: &Version) -> Option<&Version> {
        self.fixed
            .iter()
            .filter(|f| f.same_minor(v) && *f > v)
            .min()
    }
}

/// Conditions meshaudit evaluates on the input before it reports a bulletin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Some EnvoyFilter exists.
    Envoyfilter,
    /// Some EnvoyFilter carries Lua code.
    EnvoyfilterLua,
    /// Some RequestAuthentication exists.
    RequestAuthentication,
    /// A Kiali workload runs.
    KialiPresent,
    /// A Gateway server uses `tls.mode: AUTO_PASSTHROUGH`.
    GatewayAutoPassthrough,
    /// An AuthorizationPolicy on an ingress gateway matches `to.operation.ports` 80 or 443.
    #[serde(rename = "authz-gateway-ports-80-443")]
    AuthzGatewayPorts80443,
    /// An AuthorizationPolicy matches peer identities (`principals`, `namespaces`) while mTLS is
    /// not STRICT mesh-wide.
    AuthzPrincipalsWithoutStrict,
    /// A VirtualService bound to the `mesh` gateway names a host of another namespace.
    VirtualserviceMeshGatewayForeignHost,
    /// The mesh config defines a Datadog tracing provider.
    DatadogTracer,
}

impl Check {
    pub fn describe(self) -> &'static str {
        match self {
            Check::Envoyfilter => "an EnvoyFilter is in use",
            Check::EnvoyfilterLua => "an EnvoyFilter runs Lua code",
            Check::RequestAuthentication => "a RequestAuthentication (JWT) is in use",
            Check::KialiPresent => "Kiali is deployed",
            Check::GatewayAutoPassthrough => "a Gateway server uses tls.mode AUTO_PASSTHROUGH",
            Check::AuthzGatewayPorts80443 => {
                "an AuthorizationPolicy on an ingress gateway matches ports 80/443"
            }
            Check::AuthzPrincipalsWithoutStrict => {
                "an AuthorizationPolicy matches principals or namespaces while mesh-wide mTLS is not STRICT"
            }
            Check::VirtualserviceMeshGatewayForeignHost => {
                "a VirtualService bound to the mesh gateway names another namespace's host"
            }
            Check::DatadogTracer => "the mesh config traces to Datadog",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AdvisoryDb {
    #[serde(default)]
    pub schema: Option<String>,
    /// When the data was taken from its source.
    #[serde(default)]
    pub taken: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub bulletins: Vec<Advisory>,
}

/// A database file that could not be read: where, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct AdvisoryError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl AdvisoryError {
    /// A syntax or type error of the JSON parser, which knows its position.
    fn from_json(e: &serde_json::Error) -> AdvisoryError {
        AdvisoryError {
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_owned(),
        }
    }
}

impl AdvisoryDb {
    /// The database shipped with meshaudit.
    pub fn bundled() -> &'static AdvisoryDb {
        &BUNDLED
    }

    /// Parses and validates a database in the bundled format.
    pub fn parse(text: &str) -> Result<AdvisoryDb, AdvisoryError> {
        let db: AdvisoryDb =
            serde_json::from_str(text).map_err(|e| AdvisoryError::from_json(&e))?;
        for (i, b) in db.bulletins.iter().enumerate() {
            let problem = if b.id.trim().is_empty() {
                Some("has an empty `id`".to_owned())
            } else if b.affected.is_empty() {
                Some("has no `affected` range".to_owned())
            } else {
                b.affected
                    .iter()
                    .find_map(|r| match (&r.last_affected, &r.before) {
                        (Some(l), _) if *l < r.introduced => Some(format!(
                            "has last_affected {l} before introduced {}",
                            r.introduced
                        )),
                        (_, Some(b)) if *b <= r.introduced => Some(format!(
                            "has before {b} not after introduced {}",
                            r.introduced
                        )),
                        _ => None,
                    })
            };
            if let Some(p) = problem {
                let (line, column) = locate_entry(text, "bulletins", i);
                return Err(AdvisoryError {
                    line,
                    column,
                    message: format!("bulletin {} ({}) {p}", i + 1, b.id),
                });
            }
        }
        Ok(db)
    }

    /// A one-line description for evidence: where the data is from and when it was taken.
    pub fn provenance(&self) -> String {
        match (&self.taken, self.bulletins.len()) {
            (Some(t), n) => format!("{n} bulletins, taken {t}"),
            (None, n) => format!("{n} bulletins"),
        }
    }
}

/// An advisory database file (`--advisories FILE`), recognised by its content.
#[derive(Debug, Clone)]
pub enum AdvisoryFile {
    /// Istio security bulletins (a top-level `bulletins` list).
    Istio(AdvisoryDb),
    /// Linkerd advisories (a top-level `advisories` list, schema
    /// [`linkerd::SCHEMA`]).
    Linkerd(linkerd::LinkerdAdvisoryDb),
}

impl AdvisoryFile {
    /// `Istio security bulletins` / `Linkerd advisories`, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            AdvisoryFile::Istio(_) => "Istio security bulletins",
            AdvisoryFile::Linkerd(_) => "Linkerd advisories",
        }
    }
}

/// Reads a database in either bundled format: a `schema` naming Linkerd's format, or a
/// top-level `advisories` list, makes it a Linkerd database; a `bulletins` list an Istio one.
pub fn parse_any(text: &str) -> Result<AdvisoryFile, AdvisoryError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| AdvisoryError::from_json(&e))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema.starts_with("meshaudit/linkerd-advisories")
        || value.get("bulletins").is_none() && value.get("advisories").is_some()
    {
        return linkerd::LinkerdAdvisoryDb::parse(text).map(AdvisoryFile::Linkerd);
    }
    if value.get("bulletins").is_some() {
        return AdvisoryDb::parse(text).map(AdvisoryFile::Istio);
    }
    Err(AdvisoryError {
        line: 1,
        column: 1,
        message: "neither Istio security bulletins (a top-level `bulletins` list) nor Linkerd advisories (a top-level `advisories` list)".to_owned(),
    })
}

/// Line and column of the `"id"` key of the `index`-th entry of the top-level list `key`, for
/// semantic errors (the JSON parser only positions syntax and type errors).
fn locate_entry(text: &str, key: &str, index: usize) -> (usize, usize) {
    let Some(start) = text.find(&format!("\"{key}\"")) else {
        return (1, 1);
    };
    let offset = text[start..]
        .match_indices("\"id\"")
        .nth(index)
        .map_or(start, |(o, _)| start + o);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(v("1.22.0"), Version::new(1, 22, 0));
        assert_eq!(v("1.22.0-distroless"), Version::new(1, 22, 0));
        assert_eq!(v("v1.30.1"), Version::new(1, 30, 1));
        assert_eq!(v("1.17.2-ent"), Version::new(1, 17, 2));
        assert_eq!(v("1.22").patch, None);
        let beta = v("1.23.0-beta.1");
        assert_eq!(beta.pre.as_deref(), Some("beta.1"));
        assert!(beta < v("1.23.0"));
        assert!(beta > v("1.22.9"));
        assert!(v("1.9.10") > v("1.9.9"));
        assert!(v("1.10.0") > v("1.9.9"));
        assert!(Version::parse("latest").is_none());
        assert!(Version::parse("1").is_none());
        assert!(Version::parse("1.2.3.4").is_none());
        assert!(Version::parse("sha256").is_none());
    }

    #[test]
    fn ranges_follow_the_file_semantics() {
        let r = AffectedRange {
            raw: None,
            introduced: v("1.22.0"),
            last_affected: Some(v("1.22.4")),
            before: None,
        };
        assert!(r.contains(&v("1.22.0")));
        assert!(r.contains(&v("1.22.4")));
        assert!(!r.contains(&v("1.22.5")));
        assert!(!r.contains(&v("1.21.9")));
        // A pre-release of the first affected release carries its code.
        assert!(r.contains(&v("1.22.0-rc.1")));
        assert!(!r.covers_whole_minor(&v("1.22")));
        let all_before = AffectedRange {
            raw: None,
            introduced: Version::new(0, 0, 0),
            last_affected: None,
            before: Some(v("1.19.0")),
        };
        assert!(all_before.contains(&v("1.18.7")));
        assert!(!all_before.contains(&v("1.19.0")));
        assert!(all_before.covers_whole_minor(&v("1.18")));
        assert!(!all_before.covers_whole_minor(&v("1.19")));
        let open = AffectedRange {
            raw: None,
            introduced: v("1.6.0"),
            last_affected: None,
            before: None,
        };
        assert!(open.contains(&v("1.30.4")) && !open.is_bounded());
    }

    #[test]
    fn the_bundled_database_is_valid_and_dated() {
        let db = AdvisoryDb::parse(BUNDLED_JSON).expect("bundled advisories parse");
        assert!(db.bulletins.len() >= 57);
        assert!(db.taken.is_some() && db.source.is_some());
        let ids: std::collections::HashSet<&str> =
            db.bulletins.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids.len(), db.bulletins.len(), "duplicate bulletin ids");
        // Spot checks against the bulletins as published.
        let b = db
            .bulletins
            .iter()
            .find(|b| b.id == "ISTIO-SECURITY-2024-006")
            .unwrap();
        assert!(b.affects(&v("1.22.0")) && b.affects(&v("1.23.1")));
        assert!(!b.affects(&v("1.22.5")) && !b.affects(&v("1.24.0")));
        assert_eq!(b.fix_for(&v("1.22.3")), Some(&v("1.22.5")));
        assert_eq!(b.parts(), vec![Part::Proxy]);
        let cni = db
            .bulletins
            .iter()
            .find(|b| b.id == "ISTIO-SECURITY-2023-005")
            .unwrap();
        assert_eq!(cni.parts(), vec![Part::Cni]);
    }

    #[test]
    fn files_are_recognised_by_their_content() {
        assert!(matches!(
            parse_any(BUNDLED_JSON),
            Ok(AdvisoryFile::Istio(db)) if !db.bulletins.is_empty()
        ));
        assert!(matches!(
            parse_any(linkerd::BUNDLED_JSON),
            Ok(AdvisoryFile::Linkerd(db)) if !db.advisories.is_empty()
        ));
        assert!(matches!(
            parse_any(r#"{"advisories": []}"#),
            Ok(AdvisoryFile::Linkerd(_))
        ));
        let e = parse_any(r#"{"items": []}"#).unwrap_err();
        assert!(e.message.contains("neither"), "{e}");
        let e = parse_any("{\n  \"advisories\": [\n    {\"id\": 3}\n  ]\n}").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(parse_any("[1, 2").is_err());
    }

    #[test]
    fn a_bad_file_says_where() {
        let e = AdvisoryDb::parse("{\n \"bulletins\": [\n  {\"id\": \"X\", \"affected\": [{\"introduced\": \"one\"}]}\n ]\n}")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("`one` is not a version"), "{e}");
        let e =
            AdvisoryDb::parse("{\"bulletins\": [{\"id\": \"X\", \"affected\": []}]}").unwrap_err();
        assert!(e.message.contains("no `affected` range"), "{e}");
        let e = AdvisoryDb::parse("{\"bulletins\": [").unwrap_err();
        assert_eq!(e.line, 1);
        let e = AdvisoryDb::parse(
            "{\"bulletins\": [{\"id\": \"X\", \"severity\": \"Huge\", \"affected\": [{\"introduced\": \"1.0.0\"}]}]}",
        )
        .unwrap_err();
        assert!(e.message.contains("Huge"), "{e}");
    }
}
