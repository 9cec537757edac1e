//! Which Istio policies apply to a workload.
//!
//! Istio's rule for `selector`-based policies (AuthorizationPolicy, RequestAuthentication,
//! PeerAuthentication): a policy in the root namespace applies mesh-wide (to every namespace),
//! a policy elsewhere applies to its own namespace; without a selector it applies to every
//! workload in that scope, with one only to workloads whose labels match. Policies attached with
//! `targetRef(s)` bind to gateways or services (waypoints), never to sidecar workloads.

use meshaudit_model::k8s::Workload;
use meshaudit_model::selector::WorkloadSelector;

/// How a policy reaches a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope {
    /// Root namespace, no selector.
    MeshWide,
    /// Policy's namespace, no selector.
    NamespaceWide,
    /// A selector matching the workload's labels.
    Selected,
}

/// Scope by which a selector-based policy applies to `workload`, if it does.
pub fn applies_to(
    root_namespace: &str,
    policy_namespace: &str,
    selector: Option<&WorkloadSelector>,
    has_target_refs: bool,
    workload: &Workload,
) -> Option<PolicyScope> {
    if has_target_refs {
        return None;
    }
    let mesh_wide = policy_namespace == root_namespace;
    if !mesh_wide && policy_namespace != workload.namespace {
        return None;
    }
    match selector.filter(|s| !s.match_labels.is_empty()) {
        None if mesh_wide => Some(PolicyScope::MeshWide),
        None => Some(PolicyScope::NamespaceWide),
        Some(sel) if sel.matches(&workload.labels) => Some(PolicyScope::Selected),
        Some(_) => None,
    }
}
