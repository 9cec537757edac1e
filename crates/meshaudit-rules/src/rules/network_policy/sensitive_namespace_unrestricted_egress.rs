//! NET006: workloads marked as holding sensitive data may connect anywhere.

use meshaudit_engine::network_policy::NetVerdict;
use meshaudit_model::{Step, WorkloadId};

use meshaudit_engine::Because;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;

use super::isolation::isolatable_workloads;
use crate::rules::naming::list_workloads;
use meshaudit_engine::sensitivity::sensitive_marker;

pub static RULE: Rule = Rule {
    code: "NET006",
    name: "sensitive-namespace-unrestricted-egress",
    title: "Sensitive workloads have unrestricted egress",
    category: Category::NetworkPolicy,
    severity: Severity::High,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.6",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:1.3.2",
        "PCI-DSS:1.4.2",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

A namespace holding workloads marked as sensitive, where some of those workloads may open
connections to any address outside the cluster: no NetworkPolicy isolates their egress, or an
egress rule admits every destination (`to` missing, `namespaceSelector: {}`, `0.0.0.0/0`) on every
port. A namespace's or pod template's labels (or the pod template's annotations) mark it as
sensitive with one of:

- `data-classification` (or `data.classification`, `classification`,
  `meshaudit.io/data-classification`): `confidential`, `restricted`, `sensitive`, `secret`,
  `pii`, `phi`, `pci`, `cardholder`;
- `pci`, `pci-dss`, `hipaa`, `gdpr` or `meshaudit.io/sensitive`: `"true"`;
- `compliance` or `compliance-scope` naming PCI, HIPAA, GDPR, SOX or PHI.

## Why it matters

Unrestricted egress is the exfiltration path: a compromised workload that holds cardholder or
health data can send it anywhere. The mesh's `REGISTRY_ONLY` outbound policy is enforced by the
sidecar, which a compromised application can bypass; an egress NetworkPolicy is enforced by the
node. PCI DSS 1.3.2 requires outbound traffic from the cardholder data environment to be
restricted to what is necessary.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: payments
  labels:
    data-classification: pci
# ...and no NetworkPolicy isolating egress in payments
```

## Fix

Deny egress by default in the namespace and allow only what the workloads need: DNS, istiod
(15012), their in-cluster dependencies, and the external hosts they call through an egress gateway:

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-egress
  namespace: payments
spec:
  podSelector: {}
  policyTypes: ["Egress"]
```

## References

- Kubernetes: Network Policies, default deny all egress traffic — https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic
- Istio: Egress gateways, additional security considerations — https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/#additional-security-considerations
- PCI DSS v4.0, requirement 1.3.2 (outbound traffic from the CDE is restricted)
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let index = &ctx.graph().network_policies;
    for (name, namespace) in &inv.namespaces {
        let namespace_marker = sensitive_marker(&namespace.labels);
        let mut sensitive: Vec<(WorkloadId, String)> = Vec::new();
        for w in isolatable_workloads(inv, name) {
            let workload = &inv.workloads[w];
            let marker = sensitive_marker(&workload.labels)
                .or_else(|| sensitive_marker(&workload.annotations))
                .map(|m| format!("pod template {m}"))
                .or_else(|| namespace_marker.as_ref().map(|m| format!("namespace {m}")));
            if let Some(marker) = marker {
                sensitive.push((w, marker));
            }
        }
        if sensitive.is_empty() {
            continue;
        }
        let mut open: Vec<WorkloadId> = Vec::new();
        let mut reasons: Vec<Because> = Vec::new();
        for (w, _) in &sensitive {
            let decision = index.egress_to_outside(inv, *w);
            if decision.verdict == NetVerdict::Allowed {
                open.push(*w);
                if reasons.len() < 3 {
                    if let Some(why) = decision.because.first() {
                        reasons.push(why.clone());
                    }
                }
            }
        }
        if open.is_empty() {
            continue;
        }
        let Some((id, object)) = namespace_anchor(inv, name) else {
            continue;
        };
        let markers: Vec<String> = {
            let mut m: Vec<String> = sensitive
                .iter()
                .filter(|(w, _)| open.contains(w))
                .map(|(_, m)| m.clone())
                .collect();
            m.sort();
            m.dedup();
            m.truncate(3);
            m
        };
        let mut finding = Finding::new(
            &RULE,
            id,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "Namespace `{name}` holds sensitive workloads, and {} of them may connect to any address on any port: NetworkPolicy does not restrict their egress",
                open.len()
            ),
        )
        .resource(ResourceRef::namespace(name))
        .key("")
        .evidence(format!("marked sensitive by: {}", markers.join(", ")))
        .evidence(format!("unrestricted egress: {}", list_workloads(inv, &open, 5)));
        for r in &reasons {
            finding.add_because(inv, r);
        }
        finding = finding.remediation(format!(
            "Add a default-deny egress NetworkPolicy in `{name}` (podSelector: {{}}, policyTypes: [Egress]) and allow only DNS, istiod and the destinations these workloads need."
        ));
        if inv.namespace(name).and_then(|n| n.object).is_none() {
            finding.object = None;
        }
        out.push(finding);
    }
}
