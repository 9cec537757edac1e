//! Is a workload's Istio sidecar (or ambient data plane) really there?
//!
//! Follows the default injector's selectors: the namespace label `istio-injection` or
//! `istio.io/rev`, overridden per pod by the `sidecar.istio.io/inject` label (or the legacy
//! annotation), and ambient mode through `istio.io/dataplane-mode`.

use meshaudit_model::k8s::{Namespace, Workload};
use meshaudit_model::Inventory;

pub const INJECTION_LABEL: &str = "istio-injection";
pub const REVISION_LABEL: &str = "istio.io/rev";
pub const INJECT_POD_LABEL: &str = "sidecar.istio.io/inject";
pub const DATAPLANE_MODE_LABEL: &str = "istio.io/dataplane-mode";

/// How a namespace opts into the mesh, read from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceMesh {
    /// `istio-injection: enabled`.
    Injected,
    /// `istio.io/rev: <revision>`.
    Revision(String),
    /// `istio.io/dataplane-mode: ambient`.
    Ambient,
    /// `istio-injection: disabled`.
    Disabled,
    /// No mesh label.
    Unlabelled,
}

impl NamespaceMesh {
    pub fn of(namespace: &Namespace) -> Self {
        let labels = &namespace.labels;
        match labels.get(INJECTION_LABEL).map(String::as_str) {
            Some("enabled") => return NamespaceMesh::Injected,
            Some("disabled") => return NamespaceMesh::Disabled,
            _ => {}
        }
        if let Some(rev) = labels.get(REVISION_LABEL) {
            return NamespaceMesh::Revision(rev.clone());
        }
        if labels.get(DATAPLANE_MODE_LABEL).map(String::as_str) == Some("ambient") {
            return NamespaceMesh::Ambient;
        }
        NamespaceMesh::Unlabelled
    }

    pub fn is_meshed(&self) -> bool {
        matches!(
            self,
            NamespaceMesh::Injected | NamespaceMesh::Revision(_) | NamespaceMesh::Ambient
        )
    }
}

/// Whether a namespace is part of the mesh (by its labels).
pub fn namespace_in_mesh(inventory: &Inventory, namespace: &str) -> bool {
    inventory
        .namespace(namespace)
        .is_some_and(|ns| NamespaceMesh::of(ns).is_meshed())
}

/// Whether a workload's pods run with an Istio data plane, and why.
pub fn workload_mesh_membership(inventory: &Inventory, workload: &Workload) -> (bool, String) {
    if workload.host_network {
        return (
            false,
            "pods use hostNetwork, which Istio does not inject".to_owned(),
        );
    }
    let ns_mode = inventory
        .namespace(&workload.namespace)
        .map_or(NamespaceMesh::Unlabelled, NamespaceMesh::of);
    let pod_opt = workload
        .labels
        .get(INJECT_POD_LABEL)
        .or_else(|| workload.annotations.get(INJECT_POD_LABEL))
        .map(String::as_str);
    match (pod_opt, &ns_mode) {
        (Some("false"), _) => (
            false,
            format!("pod template sets {INJECT_POD_LABEL}: \"false\""),
        ),
        (_, NamespaceMesh::Disabled) => (
            false,
            format!(
                "namespace {} is labelled {INJECTION_LABEL}: disabled",
                workload.namespace
            ),
        ),
        (Some("true"), _) => (
            true,
            format!("pod template sets {INJECT_POD_LABEL}: \"true\""),
        ),
        (_, NamespaceMesh::Injected) => (
            true,
            format!(
                "namespace {} is labelled {INJECTION_LABEL}: enabled",
                workload.namespace
            ),
        ),
        (_, NamespaceMesh::Revision(rev)) => (
            true,
            format!(
                "namespace {} is labelled {REVISION_LABEL}: {rev}",
                workload.namespace
            ),
        ),
        (_, NamespaceMesh::Ambient) => (
            true,
            format!("namespace {} is in ambient mode", workload.namespace),
        ),
        (_, NamespaceMesh::Unlabelled) => (
            false,
            format!("namespace {} has no injection label", workload.namespace),
        ),
    }
}
