//! NET004: a namespace with NetworkPolicies, none of which denies egress from every pod by
//! default.

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::default_deny::{default_deny_findings, Direction};

pub static RULE: Rule = Rule {
    code: "NET004",
    name: "namespace-without-default-deny-egress",
    title: "Namespace has no default-deny egress NetworkPolicy",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.6",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:1.3.2",
        "PCI-DSS:1.4.2",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

A namespace that has NetworkPolicies, but none that selects every pod (`podSelector: {}`) and
isolates egress. A policy isolates egress when `policyTypes` lists `Egress`, or, without
`policyTypes`, when it has an `egress` section. Pods that no policy selects for egress may open
connections to any pod and any address; the finding lists them, and is low when every current
pod happens to be selected by a label-specific policy. Namespaces with no NetworkPolicy at all are
NET001's.

## Why it matters

Egress is how a compromised workload reaches the control plane, other tenants, the cloud metadata
endpoint and the internet. The mesh's `REGISTRY_ONLY` outbound policy is enforced by the sidecar,
which the application can bypass (excluded ports, UID 1337, pods without a proxy); NetworkPolicy is
enforced by the node and is the boundary that holds when the proxy does not.

## Example

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: ["Ingress"]     # ingress only: every pod may still connect anywhere
```

## Fix

Add a default deny for egress, then allow what the pods need — DNS (kube-system port 53 UDP and
TCP), the mesh control plane (istiod port 15012 for Istio sidecars), their dependencies:

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-egress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: ["Egress"]
```

## References

- Kubernetes: Network Policies, default deny all egress traffic — https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic
- Istio: Application requirements, ports used by Istio (15012 to istiod) — https://istio.io/latest/docs/ops/deployment/application-requirements/
- NSA/CISA Kubernetes Hardening Guidance v1.2, Network separation and hardening
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    default_deny_findings(ctx, &RULE, Direction::Egress, out);
}
