//! NET005: an ingress rule that admits every source.

use meshaudit_model::k8s::NetworkPolicyPort;
use meshaudit_model::{NetworkPolicyId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::isolation::is_gateway;
use super::peers::{rule_admits_everyone, Everyone};
use crate::rules::naming::list_workloads;
use meshaudit_engine::components::is_istiod;

pub static RULE: Rule = Rule {
    code: "NET005",
    name: "network-policy-allows-everywhere",
    title: "NetworkPolicy admits connections from everywhere",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.6",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:1.3.1",
        "GDPR:Art.32(1)(b)",
        "CIS-K8S:5.3.2",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

An ingress rule of a NetworkPolicy that admits every source: a rule with no `from` (including the
empty rule `- {}`), a peer `namespaceSelector: {}` with no or an empty `podSelector` (every pod of
every namespace), or an `ipBlock` of `0.0.0.0/0` or `::/0` (every address, pods included, unless an
exception takes out a whole private range). It is high when the rule also has no `ports`: the
policy then isolates nothing for the pods it selects. Policies that select only mesh entry points
(Istio gateways, ingress controllers meshed in Linkerd's `ingress` mode), which exist to be reached
from everywhere, are left out, and so are rules that open only istiod's
ports 15012 (xDS and CA over TLS, which every sidecar needs) and 15017 (its webhooks) to everyone.

## Why it matters

NetworkPolicies are additive: one rule that admits everyone makes every other rule for the same
pods irrelevant. Such rules are often added to "make it work" and never narrowed, and they open the
pod to pods of every tenant and, through an `ipBlock`, to any address that can route to it —
including ports the sidecar does not capture, where the mesh's mTLS and authorization do not
apply.

## Example

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-allow
  namespace: payments
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
    - from:
        - namespaceSelector: {}      # every namespace
```

## Fix

Name the callers: their namespace (the `kubernetes.io/metadata.name` label every namespace has)
and their pods, and the ports they use:

```yaml
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: orders}
          podSelector:
            matchLabels: {app: orders}
      ports:
        - port: 8443
```

## References

- Kubernetes: Network Policies, behavior of `to` and `from` selectors — https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors
- Kubernetes API: NetworkPolicyIngressRule (an empty or missing `from` matches all sources) — https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

/// istiod's ports every sidecar (15012, xDS and CA over TLS) and the API server (15017, the
/// webhooks) must reach.
const ISTIOD_PUBLIC_PORTS: [u16; 2] = [15012, 15017];

fn only_istiod_public_ports(ports: Option<&[NetworkPolicyPort]>) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return false;
    };
    ports.iter().all(|p| {
        p.end_port.is_none()
            && p.port
                .as_ref()
                .and_then(|v| v.as_port())
                .is_some_and(|n| ISTIOD_PUBLIC_PORTS.contains(&n))
    })
}

fn ports_text(ports: Option<&[NetworkPolicyPort]>) -> Option<String> {
    let ports = ports.filter(|p| !p.is_empty())?;
    let listed: Vec<String> = ports
        .iter()
        .map(|p| {
            let port = match &p.port {
                None => "any port".to_owned(),
                Some(meshaudit_model::k8s::IntOrString::Int(n)) => n.to_string(),
                Some(meshaudit_model::k8s::IntOrString::String(s)) => s.clone(),
            };
            let range = p.end_port.map(|e| format!("-{e}")).unwrap_or_default();
            format!("{port}{range}/{}", p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect();
    Some(listed.join(", "))
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let index = &ctx.graph().network_policies;
    for (p, policy) in NetworkPolicyId::enumerate(&inv.network_policies) {
        if !policy.spec.isolates_ingress() {
            continue;
        }
        let selected = index.selected_by(p);
        if !selected.is_empty() && selected.iter().all(|&w| is_gateway(ctx, w)) {
            continue;
        }
        // istiod must be reachable by every sidecar on its xDS port and by the API server on
        // its webhook port: a rule that opens only those to everyone is what NET009 asks for.
        let istiod_only =
            !selected.is_empty() && selected.iter().all(|&w| is_istiod(&inv.workloads[w]));
        for (r, rule) in policy.spec.ingress.iter().flatten().enumerate() {
            let Some(everyone) = rule_admits_everyone(rule) else {
                continue;
            };
            if istiod_only && only_istiod_public_ports(rule.ports.as_deref()) {
                continue;
            }
            let mut path = vec![Step::Key("spec"), Step::Key("ingress"), Step::Index(r)];
            let (what, outside) = match everyone {
                Everyone::NoPeers => (
                    "has no `from`, so it admits every pod and every address".to_owned(),
                    true,
                ),
                Everyone::Peer(i) => {
                    path.extend([Step::Key("from"), Step::Index(i)]);
                    let peer = &rule.from.as_deref().unwrap_or_default()[i];
                    match &peer.ip_block {
                        Some(b) => (
                            format!("admits ipBlock {}, every address including pods", b.cidr),
                            true,
                        ),
                        None => (
                            "admits `namespaceSelector: {}`, every pod of every namespace"
                                .to_owned(),
                            false,
                        ),
                    }
                }
            };
            let ports = ports_text(rule.ports.as_deref());
            let object = inv.object(policy.object);
            let mut finding = Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "NetworkPolicy {}/{} ingress rule {r} {what}{}",
                    policy.namespace,
                    policy.name,
                    match &ports {
                        Some(p) => format!(", on {p}"),
                        None =>
                            ", on every port: the policy isolates nothing for the pods it selects"
                                .to_owned(),
                    }
                ),
            );
            if ports.is_none() {
                finding.severity = Severity::High;
            }
            finding = finding.evidence(if selected.is_empty() {
                "it selects no workload of the input".to_owned()
            } else {
                format!("selects: {}", list_workloads(inv, selected, 5))
            });
            if outside {
                finding = finding.evidence("sources outside the cluster match too (load balancers, nodes, anything that can route to the pod)");
            }
            finding = finding.remediation(format!(
                "Replace ingress rule {r} of NetworkPolicy {}/{} with peers that name the callers (namespaceSelector on kubernetes.io/metadata.name plus podSelector) and the ports they use.",
                policy.namespace, policy.name
            ));
            out.push(finding);
        }
    }
}
