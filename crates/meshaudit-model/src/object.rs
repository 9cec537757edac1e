//! A Kubernetes object as read from the input, with its origin and the raw positioned tree.

use std::collections::BTreeMap;

use crate::location::Location;
use crate::node::{Node, Step};

/// Which object of [`crate::Inventory::objects`] a resource, finding or piece of evidence is
/// about. A type of its own, not a bare `usize`, so that it cannot be mixed up with a position in
/// one of the inventory's other lists (workloads, Services, policies): those have their own
/// index types, [`crate::idx::Idx`].
///
/// Ids are made where objects are made: by ingest as it adds each object
/// ([`ObjectId::from_index`]), and by [`crate::Inventory::objects_with_ids`] for code that walks
/// every object. A `usize` inside, so that turning a position into an id is free and cannot
/// fail.
///
/// A number is not an id:
///
/// ```compile_fail
/// let id: meshaudit_model::ObjectId = 3;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(usize);

impl ObjectId {
    /// The id of the object at `index` in [`crate::Inventory::objects`]. Only for code that
    /// creates objects (ingest) or walks the whole list.
    pub const fn from_index(index: usize) -> Self {
        ObjectId(index)
    }

    /// The object's position in [`crate::Inventory::objects`].
    pub const fn index(self) -> usize {
        self.0
    }
}

/// A typed resource (usually its `spec`) with the identity of the object it came from. Every
/// mesh's resources use it: `object` indexes [`crate::Inventory::objects`], where the labels,
/// annotations, API version and positions of the object stay reachable.
#[derive(Debug, Clone)]
pub struct Typed<T> {
    pub object: ObjectId,
    pub namespace: String,
    pub name: String,
    pub spec: T,
}

/// The annotation users put on an object to silence findings on it.
pub const IGNORE_ANNOTATION: &str = "meshaudit.io/ignore";

#[derive(Debug, Clone)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `None` for cluster-scoped kinds; namespaced objects without one land in `default`, as
    /// `kubectl apply` would put them.
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Where the document starts.
    pub origin: Location,
    /// The chart template a Helm-rendered document came from (`# Source:` comment).
    pub helm_source: Option<String>,
    /// The document, with secret values already removed for `Secret` objects.
    pub node: Node,
}

impl Object {
    /// API group: `security.istio.io`, or the empty string for the core group.
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }

    /// API version without the group: `v1beta1`.
    pub fn version(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or(self.api_version.as_str(), |(_, v)| v)
    }

    /// Where a finding about `path` should point: the field if it is present, else the object's
    /// name, else the start of the document.
    pub fn location_of(&self, path: &[Step<'_>]) -> Location {
        self.node
            .position_of(path)
            .map(|(line, column)| Location::new(self.origin.path.clone(), line, column))
            .unwrap_or_else(|| self.name_location())
    }

    pub fn name_location(&self) -> Location {
        self.node
            .position_of(&["metadata".into(), "name".into()])
            .map(|(line, column)| Location::new(self.origin.path.clone(), line, column))
            .unwrap_or_else(|| self.origin.clone())
    }

    /// `namespace/name`, or `name` for cluster-scoped objects.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Rule codes (or `all`) listed in the `meshaudit.io/ignore` annotation.
    pub fn ignored_rules(&self) -> Vec<&str> {
        self.annotations
            .get(IGNORE_ANNOTATION)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Kinds that live outside namespaces. Unknown kinds are taken as written.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "Namespace" | "Node" | "PersistentVolume")
            | (
                "admissionregistration.k8s.io",
                "MutatingWebhookConfiguration"
                    | "ValidatingWebhookConfiguration"
                    | "ValidatingAdmissionPolicy"
                    | "ValidatingAdmissionPolicyBinding"
            )
            | (
                "rbac.authorization.k8s.io",
                "ClusterRole" | "ClusterRoleBinding"
            )
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("cert-manager.io", "ClusterIssuer")
            | ("storage.k8s.io", "StorageClass")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("gateway.networking.k8s.io", "GatewayClass")
            // linkerd-viz and metrics-server register aggregated APIs.
            | ("apiregistration.k8s.io", "APIService")
    )
}
