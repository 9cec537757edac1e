//! NET003/NET004: namespaces without a default-deny NetworkPolicy for one direction.

use meshaudit_model::k8s::NetworkPolicy;
use meshaudit_model::{Step, WorkloadId};

use super::isolation::isolatable_workloads;
use crate::context::Context;
use crate::finding::{Finding, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;
use crate::rules::naming::list_workloads;

/// Does a policy's `podSelector` select every pod of its namespace?
fn selects_whole_namespace(policy: &NetworkPolicy) -> bool {
    policy.spec.pod_selector.is_empty()
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
    rule: &'static Rule,
    direction: Direction,
    out: &mut Vec<Finding>,
) {
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
        let Some((id, object)) = namespace_anchor(inv, name) else {
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
