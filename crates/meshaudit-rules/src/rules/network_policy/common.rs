//! Lookups the NetworkPolicy rules share.

use meshaudit_engine::membership::DataPlane;
use meshaudit_model::k8s::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule};
use meshaudit_model::selector::LabelSelector;
use meshaudit_model::{Inventory, WorkloadId};

use crate::context::Context;

/// Workloads NetworkPolicy can isolate in `namespace` (host-network pods are left out: common
/// CNIs do not apply policy to them).
pub fn isolatable_workloads(inv: &Inventory, namespace: &str) -> Vec<WorkloadId> {
    inv.workload_indexes_in(namespace)
        .iter()
        .copied()
        .filter(|&w| !inv.workloads[w].host_network)
        .collect()
}

/// `Kind name` of up to `max` workloads, then "and N more".
pub fn list_workloads(inv: &Inventory, workloads: &[WorkloadId], max: usize) -> String {
    let mut names: Vec<String> = workloads
        .iter()
        .take(max)
        .map(|&w| {
            let wl = &inv.workloads[w];
            format!("{} {}", wl.kind, wl.name)
        })
        .collect();
    if workloads.len() > max {
        names.push(format!("and {} more", workloads.len() - max));
    }
    names.join(", ")
}

/// Does a policy's `podSelector` select every pod of its namespace?
pub fn selects_whole_namespace(policy: &NetworkPolicy) -> bool {
    policy.spec.pod_selector.is_empty()
}

/// A peer list that admits every pod and every address: absent or empty `from`/`to`, or a peer
/// that does (see [`peer_is_everyone`]). The index of that peer, if one.
pub enum Everyone {
    /// The rule has no `from`/`to`: every source or destination.
    NoPeers,
    /// This peer (index in `from`/`to`) matches everyone.
    Peer(usize),
}

pub fn rule_admits_everyone(rule: &NetworkPolicyRule) -> Option<Everyone> {
    match rule.from.as_deref() {
        None | Some([]) => Some(Everyone::NoPeers),
        Some(peers) => peers.iter().position(peer_is_everyone).map(Everyone::Peer),
    }
}

/// `namespaceSelector: {}` (with no or an empty `podSelector`): every pod of every namespace;
/// or an `ipBlock` of `0.0.0.0/0` / `::/0` with no exception that keeps pod networks out.
pub fn peer_is_everyone(peer: &NetworkPolicyPeer) -> bool {
    if let Some(block) = &peer.ip_block {
        return meshaudit_engine::network_policy::ip_block_covers_pods(block);
    }
    peer.namespace_selector
        .as_ref()
        .is_some_and(LabelSelector::is_empty)
        && peer
            .pod_selector
            .as_ref()
            .is_none_or(LabelSelector::is_empty)
}

pub use meshaudit_engine::components::is_istiod;
use meshaudit_engine::linkerd::membership::Inject;

/// A mesh's entry points are meant to be reached from outside: Istio's gateways (ingress and
/// egress), and an ingress controller whose Linkerd proxy runs in ingress mode
/// (`linkerd.io/inject: ingress`).
pub fn is_gateway(ctx: &Context<'_>, w: WorkloadId) -> bool {
    ctx.graph().workload(w).istio_data_plane() == DataPlane::Gateway
        || ctx.linkerd_membership()[w.index()].mode == Some(Inject::Ingress)
}

pub use meshaudit_engine::sensitivity::sensitive_marker;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_peers() {
        let peer: NetworkPolicyPeer = serde_json::from_str(r#"{"namespaceSelector": {}}"#).unwrap();
        assert!(peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer = serde_json::from_str(
            r#"{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "x"}}}"#,
        )
        .unwrap();
        assert!(!peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer = serde_json::from_str(
            r#"{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}"#,
        )
        .unwrap();
        assert!(peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer =
            serde_json::from_str(r#"{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}"#)
                .unwrap();
        assert!(!peer_is_everyone(&peer));
        let peer: NetworkPolicyPeer = serde_json::from_str(r#"{"podSelector": {}}"#).unwrap();
        assert!(!peer_is_everyone(&peer));
    }
}

/// Which direction a default-deny check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    pub fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    pub fn isolates(self, policy: &NetworkPolicy) -> bool {
        match self {
            Direction::Ingress => policy.spec.isolates_ingress(),
            Direction::Egress => policy.spec.isolates_egress(),
        }
    }
}

/// NET003/NET004: namespaces that have NetworkPolicies (NET001 covers those with none) but
/// none that isolates every pod for `direction`.
pub fn default_deny_findings(
    ctx: &Context<'_>,
    rule: &'static crate::rule::Rule,
    direction: Direction,
    out: &mut Vec<crate::finding::Finding>,
) {
    use crate::finding::{Finding, ResourceRef, Severity};
    use meshaudit_model::Step;

    let inv = ctx.inventory;
    let index = &ctx.graph().network_policies;
    for name in inv.namespaces.keys() {
        let workloads = isolatable_workloads(inv, name);
        let policies: Vec<&NetworkPolicy> = inv.network_policies_in(name).collect();
        if workloads.is_empty() || policies.is_empty() {
            continue;
        }
        if policies
            .iter()
            .any(|p| selects_whole_namespace(p) && direction.isolates(p))
        {
            continue;
        }
        let Some((id, object)) = crate::rules::helpers::namespace_anchor(inv, name) else {
            continue;
        };
        let open: Vec<WorkloadId> = workloads
            .iter()
            .copied()
            .filter(|&w| match direction {
                Direction::Ingress => index.ingress_policies(w).is_empty(),
                Direction::Egress => index.egress_policies(w).is_empty(),
            })
            .collect();
        let dir = direction.as_str();
        let (severity, message) = if open.is_empty() {
            (
                Severity::Low,
                format!(
                    "Namespace `{name}` has no default-deny NetworkPolicy for {dir}: its {} workload(s) are isolated today by policies that select them by label, but a new pod with other labels would be open",
                    workloads.len()
                ),
            )
        } else {
            (
                rule.severity,
                format!(
                    "Namespace `{name}` has no default-deny NetworkPolicy for {dir}: {} of its {} workload(s) are selected by no {dir} policy and {}",
                    open.len(),
                    workloads.len(),
                    match direction {
                        Direction::Ingress => "accept connections from any pod",
                        Direction::Egress => "may connect to any pod or address",
                    }
                ),
            )
        };
        let listed: Vec<String> = policies
            .iter()
            .map(|p| {
                let types = if direction.isolates(p) {
                    format!("isolates {dir}")
                } else {
                    format!("does not isolate {dir}")
                };
                let selector = if selects_whole_namespace(p) {
                    "every pod".to_owned()
                } else {
                    "some pods".to_owned()
                };
                format!("{} ({selector}, {types})", p.name)
            })
            .collect();
        let mut finding = Finding::new(
            rule,
            id,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            message,
        )
        .resource(ResourceRef::namespace(name))
        .key("");
        finding.severity = severity;
        if !open.is_empty() {
            finding =
                finding.evidence(format!("open for {dir}: {}", list_workloads(inv, &open, 5)));
        }
        finding = finding
            .evidence(format!("NetworkPolicies in `{name}`: {}", listed.join("; ")))
            .remediation(format!(
                "Add a NetworkPolicy in `{name}` with `podSelector: {{}}` and `policyTypes: [{}]` and no {dir} rules, then keep the policies that allow the flows the workloads need.",
                direction.policy_type()
            ));
        if inv.namespace(name).and_then(|n| n.object).is_none() {
            finding.object = None;
            finding = finding.evidence(format!(
                "the input has no Namespace object for `{name}`; pointing at the first object in it"
            ));
        }
        out.push(finding);
    }
}

/// `namespace/name` of up to `max` workloads, then "and N more".
pub fn list_workloads_qualified(inv: &Inventory, workloads: &[WorkloadId], max: usize) -> String {
    let mut names: Vec<String> = workloads
        .iter()
        .take(max)
        .map(|&w| {
            let wl = &inv.workloads[w];
            format!("{}/{}", wl.namespace, wl.name)
        })
        .collect();
    if workloads.len() > max {
        names.push(format!("and {} more", workloads.len() - max));
    }
    names.join(", ")
}
