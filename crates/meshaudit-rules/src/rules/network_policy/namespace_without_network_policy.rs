//! NET001: a namespace that runs workloads has no NetworkPolicy at all.

use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;

pub static RULE: Rule = Rule {
    code: "NET001",
    name: "namespace-without-network-policy",
    title: "Namespace has no NetworkPolicy",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:1.3.1",
        "PCI-DSS:1.3.2",
        "GDPR:Art.32(1)(b)",
        "CIS-K8S:5.3.2",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

A namespace that has at least one workload in the input but no NetworkPolicy at all, so every pod
in it is open for ingress and egress at layer 3/4.

## Why it matters

A service mesh controls what its proxies accept, but it does not stop traffic that bypasses the
proxy: ports excluded from capture, pods without a sidecar, `hostNetwork` pods, and anything a
compromised container sends directly. NetworkPolicy is the independent second layer: without it any
pod in the cluster can open connections to these pods and they can reach anything, including the
control plane and the internet. The CIS Kubernetes Benchmark (5.3.2) requires a policy in every
namespace.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: orders
# ...Deployments in `orders`, and no NetworkPolicy with namespace: orders
```

## Fix

Start with a default deny for both directions, then allow the flows the namespace needs (its
callers, its dependencies, DNS, and the mesh control plane):

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: orders
spec:
  podSelector: {}
  policyTypes: ["Ingress", "Egress"]
```

## References

- Kubernetes: Network Policies — https://kubernetes.io/docs/concepts/services-networking/network-policies/
- CIS Kubernetes Benchmark v1.9, 5.3.2 (all namespaces have NetworkPolicies defined)
- NIST SP 800-204A, SM-DR2
- CWE-923: Improper Restriction of Communication Channel to Intended Endpoints
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for name in inv.namespaces.keys() {
        let workloads: Vec<_> = inv.workloads_in(name).collect();
        if workloads.is_empty() || inv.network_policies_in(name).next().is_some() {
            continue;
        }
        let Some((id, object)) = namespace_anchor(inv, name) else {
            continue;
        };
        let explicit = inv.namespace(name).and_then(|n| n.object).is_some();
        let path: &[Step<'_>] = &[Step::Key("metadata"), Step::Key("name")];
        let listed: Vec<String> = workloads
            .iter()
            .take(5)
            .map(|w| format!("{} {}", w.kind, w.name))
            .collect();
        let more = workloads.len().saturating_sub(listed.len());
        let mut finding = Finding::new(
            &RULE,
            id,
            object,
            path,
            format!(
                "Namespace `{name}` runs {} workload(s) and has no NetworkPolicy: its pods accept connections from any pod and may connect anywhere",
                workloads.len()
            ),
        )
        .resource(ResourceRef::namespace(name))
        .key("")
        .evidence(format!(
            "workloads: {}{}",
            listed.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ))
        .evidence(format!("NetworkPolicies with namespace `{name}`: none"))
        .remediation(format!(
            "Add a default-deny NetworkPolicy (podSelector: {{}}, policyTypes: [Ingress, Egress]) in `{name}`, then allow the flows its workloads need."
        ));
        if !explicit {
            // The namespace is only implied; its annotations cannot silence anything.
            finding.object = None;
            finding = finding.evidence(format!(
                "the input has no Namespace object for `{name}`; pointing at the first object in it"
            ));
        }
        out.push(finding);
    }
}
