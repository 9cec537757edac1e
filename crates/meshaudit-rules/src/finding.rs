//! The finding model: what every rule emits and every report renders.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use meshaudit_engine::Because;
use meshaudit_model::{Inventory, Location, Object, ObjectId, Step};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rule::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => {
                return Err(format!(
                    "unknown severity `{s}` (expected critical, high, medium, low or info)"
                ))
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Authentication,
    Authorization,
    Certificates,
    Encryption,
    Logging,
    NetworkPolicy,
    Admission,
    Dependencies,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Authentication,
        Category::Authorization,
        Category::Certificates,
        Category::Encryption,
        Category::Logging,
        Category::NetworkPolicy,
        Category::Admission,
        Category::Dependencies,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Authentication => "authentication",
            Category::Authorization => "authorization",
            Category::Certificates => "certificates",
            Category::Encryption => "encryption",
            Category::Logging => "logging",
            Category::NetworkPolicy => "network-policy",
            Category::Admission => "admission",
            Category::Dependencies => "dependencies",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mesh (or plain Kubernetes, for mesh-independent checks) a rule is about.
pub use meshaudit_model::Mesh;

/// The object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceRef {
    pub fn of(object: &Object) -> Self {
        ResourceRef {
            api_version: object.api_version.clone(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
        }
    }

    /// A `Namespace` the input may only imply.
    pub fn namespace(name: &str) -> Self {
        ResourceRef {
            api_version: "v1".to_owned(),
            kind: "Namespace".to_owned(),
            namespace: None,
            name: name.to_owned(),
        }
    }

    /// `Kind namespace/name` for people.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub mesh: Mesh,
    pub resource: ResourceRef,
    /// The object whose annotations may silence the finding.
    pub object: Option<ObjectId>,
    pub location: Location,
    pub message: String,
    pub evidence: Vec<String>,
    /// Other places the evidence points at (the policy that decided, the mode it inherits),
    /// each with what it says there: SARIF `relatedLocations`.
    pub related: Vec<Related>,
    pub remediation: String,
    /// What distinguishes this finding from others of the same rule on the same resource
    /// (a field path, a port), so the fingerprint survives unrelated edits.
    pub key: String,
    /// The rendered kustomization whose inventory produced the finding (`overlays/prod`), when
    /// a scan audits several: part of the fingerprint, so one problem in two overlays is two
    /// findings.
    pub kustomization: Option<Arc<str>>,
    /// The file kustomize rendered the resource from (`base/deployment.yaml`).
    pub source: Option<String>,
    /// 0, or this finding's rank among findings that would otherwise share a fingerprint (see
    /// `analyze`): the last resort that keeps fingerprints unique.
    pub occurrence: u32,
}

/// A place a finding's evidence points at, other than the finding's own location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Related {
    pub location: Location,
    /// What the evidence says about that place.
    pub message: String,
}

/// Related locations a finding checks for repeats as they are added; beyond, repeats are
/// dropped in one pass when the rule is done.
const RELATED_CHECKED_ON_PUSH: usize = 32;

impl Finding {
    /// A finding on `object`, located at `path` (or at the object's name if the field is absent).
    pub fn new(
        rule: &'static Rule,
        object_id: ObjectId,
        object: &Object,
        path: &[Step<'_>],
        message: impl Into<String>,
    ) -> Self {
        let evidence = object
            .helm_source
            .iter()
            .map(|t| format!("rendered from Helm template {t}"))
            .collect();
        Finding {
            rule,
            severity: rule.severity,
            mesh: rule.meshes.first().copied().unwrap_or(Mesh::Kubernetes),
            resource: ResourceRef::of(object),
            object: Some(object_id),
            location: object.location_of(path),
            message: message.into(),
            evidence,
            related: Vec::new(),
            remediation: rule.fix_summary(),
            key: render_path(path),
            kustomization: None,
            source: None,
            occurrence: 0,
        }
    }

    #[must_use]
    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    /// An evidence line from the engine's evidence chain: the fact with its resource and place,
    /// and that place as a related location when the fact comes from a resource.
    #[must_use]
    pub fn because(mut self, inventory: &Inventory, because: &Because) -> Self {
        self.add_because(inventory, because);
        self
    }

    /// [`because`](Self::because) for a finding being assembled in place.
    pub fn add_because(&mut self, inventory: &Inventory, because: &Because) {
        self.evidence.push(because.render(inventory));
        self.relate(inventory, because);
    }

    /// Only the related location of `because` (for evidence worded by the rule itself).
    pub fn relate(&mut self, inventory: &Inventory, because: &Because) {
        let (Some(id), Some(location)) = (because.object, because.location(inventory)) else {
            return;
        };
        let object = inventory.object(id);
        let related = Related {
            location,
            message: format!(
                "{} {}: {}",
                object.kind,
                object.qualified_name(),
                because.fact
            ),
        };
        // Short lists are kept free of repeats as they grow; a long one (a finding on every
        // workload of a namespace or cluster) is deduplicated once, by `dedup_related`, so
        // that relating n places stays linear.
        if self.related.len() >= RELATED_CHECKED_ON_PUSH || !self.related.contains(&related) {
            self.related.push(related);
        }
    }

    /// Drops repeated related locations, keeping the first of each, in order.
    pub fn dedup_related(&mut self) {
        if self.related.len() <= RELATED_CHECKED_ON_PUSH {
            return;
        }
        let mut seen: std::collections::HashSet<Related> =
            std::collections::HashSet::with_capacity(self.related.len());
        self.related.retain(|r| seen.insert(r.clone()));
    }

    #[must_use]
    pub fn remediation(mut self, text: impl Into<String>) -> Self {
        self.remediation = text.into();
        self
    }

    /// Sets the mesh the finding is about (for rules whose findings vary by mesh).
    #[must_use]
    pub fn with_mesh(mut self, mesh: Mesh) -> Self {
        self.mesh = mesh;
        self
    }

    /// Sets a severity other than the rule's default.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    #[must_use]
    pub fn resource(mut self, resource: ResourceRef) -> Self {
        self.resource = resource;
        self
    }

    /// Stable identity: rule, resource and key, and the kustomization when there is one; never
    /// the file, line or message, so moving or rewording things does not make an old finding
    /// look new. Findings of plain manifests hash exactly what they always did, so existing
    /// baselines keep matching.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.rule.code,
            api_group(&self.resource.api_version),
            &self.resource.kind,
            self.resource.namespace.as_deref().unwrap_or(""),
            &self.resource.name,
            &self.key,
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        if let Some(k) = &self.kustomization {
            h.update(b"kustomization\0");
            h.update(k.as_bytes());
            h.update([0u8]);
        }
        if self.occurrence > 0 {
            h.update(b"occurrence\0");
            h.update(self.occurrence.to_string().as_bytes());
            h.update([0u8]);
        }
        let digest = h.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

pub use meshaudit_model::node::render_path;
