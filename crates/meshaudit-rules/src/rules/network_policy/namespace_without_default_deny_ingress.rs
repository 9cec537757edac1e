//! NET003: a namespace with NetworkPolicies, none of which denies ingress to every pod by
//! default.

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::default_deny::{default_deny_findings, Direction};

pub static RULE: Rule = Rule {
    code: "NET003",
    name: "namespace-without-default-deny-ingress",
    title: "Namespace has no default-deny ingress NetworkPolicy",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.6",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:1.3.1",
        "PCI-DSS:1.4.1",
        "GDPR:Art.32(1)(b)",
        "CIS-K8S:5.3.2",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

A namespace that has NetworkPolicies, but none that selects every pod (`podSelector: {}`) and
isolates ingress. Pods that no policy selects for ingress accept connections from any pod of the
cluster; the finding lists them. When every current pod happens to be selected by a policy that
names it by label, the finding is low: a new Deployment with other labels would still be open.
Namespaces with no NetworkPolicy at all are NET001's.

## Why it matters

NetworkPolicy is an allow-list only for the pods a policy selects: a pod selected by no policy for
ingress is not isolated at all. Policies written per application leave every other pod — and every
pod added later — open, including ports a sidecar does not capture and pods without a proxy. A
default deny makes "closed unless allowed" the rule of the namespace, which is what the mesh's
own authorization assumes as its second layer.

## Example

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-from-web
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
    - from:
        - podSelector: {matchLabels: {app: web}}
# ...and no policy with podSelector: {} for Ingress: shop/web and shop/db accept anything
```

## Fix

Add a default deny for ingress, then keep the policies that allow what each workload needs
(callers, the ingress gateway, monitoring):

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: ["Ingress"]
```

## References

- Kubernetes: Network Policies, isolated and non-isolated pods; default policies — https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies
- CIS Kubernetes Benchmark v1.9, 5.3.2 (all namespaces have NetworkPolicies defined)
- NSA/CISA Kubernetes Hardening Guidance v1.2, Network separation and hardening (default deny)
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    default_deny_findings(ctx, &RULE, Direction::Ingress, out);
}
