//! NET007: a NetworkPolicy whose podSelector matches no pod of its namespace.

use std::collections::BTreeSet;

use meshaudit_model::{NetworkPolicyId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "NET007",
    name: "network-policy-selects-nothing",
    title: "NetworkPolicy selects no pod",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &["SOC2:CC6.6", "PCI-DSS:1.2.7", "NIST-800-204A:SM-DR2"],
    doc: r#"
## What it detects

A NetworkPolicy whose `podSelector` matches none of the workloads the input has in its namespace
(a label typo, a renamed app, labels on the Deployment instead of its pod template), or only
`hostNetwork` pods, which NetworkPolicy does not isolate. It is reported only when the input holds
workloads of that namespace, so scanning a folder of policies alone does not raise it. It is
medium when a pod label of the namespace is close to the selector's value (a likely typo: the
finding names it) or when it selects only `hostNetwork` pods, low otherwise — the policy may be
meant for pods deployed from other manifests.

## Why it matters

A policy that selects nothing does nothing, silently: the pods it was meant to isolate stay open
(or are governed only by other policies), while the policy's presence suggests they are
protected. NetworkPolicy matches pod labels — the labels of the pod template, not those of the
Deployment.

## Example

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-api
  namespace: payments
spec:
  podSelector:
    matchLabels: {app: postgress}      # the pods are labelled app: postgres
  ingress:
    - from:
        - podSelector: {matchLabels: {app: api}}
```

## Fix

Make the selector match the pod template's labels (`kubectl get pods -n NS --show-labels`), or
delete the policy if its workload is gone.

## References

- Kubernetes: Network Policies, the NetworkPolicy resource (`podSelector` selects pods in the policy's namespace) — https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
- Kubernetes: Labels and selectors — https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let index = &ctx.graph().network_policies;
    for (p, policy) in NetworkPolicyId::enumerate(&inv.network_policies) {
        let selector = &policy.spec.pod_selector;
        let in_namespace = inv.workload_indexes_in(&policy.namespace);
        if selector.is_empty() || in_namespace.is_empty() || !index.selected_by(p).is_empty() {
            continue;
        }
        let host_only: Vec<WorkloadId> = in_namespace
            .iter()
            .copied()
            .filter(|&w| selector.matches(&inv.workloads[w].labels))
            .collect();
        let object = inv.object(policy.object);
        let message = if host_only.is_empty() {
            format!(
                "NetworkPolicy {}/{} selects none of the {} workload(s) the input has in `{}`: it isolates and allows nothing",
                policy.namespace,
                policy.name,
                in_namespace.len(),
                policy.namespace
            )
        } else {
            format!(
                "NetworkPolicy {}/{} selects only hostNetwork pods, which NetworkPolicy does not isolate: it has no effect",
                policy.namespace, policy.name
            )
        };
        let mut finding = Finding::new(
            &RULE,
            policy.object,
            object,
            &[Step::Key("spec"), Step::Key("podSelector")],
            message,
        );
        if !host_only.is_empty() {
            // The intended pods are right there; they just run in the node's network.
            out.push(
                finding
                    .evidence(format!(
                        "selected, but hostNetwork: {}",
                        crate::rules::naming::list_workloads(inv, &host_only, 5)
                    ))
                    .evidence("common CNIs do not apply NetworkPolicy to pods in the node's network namespace")
                    .remediation(format!(
                        "Protect the hostNetwork pods selected by NetworkPolicy {}/{} with node-level firewalling (or a CNI host policy), or run them without hostNetwork.",
                        policy.namespace, policy.name
                    )),
            );
            continue;
        }
        // Pod labels that share a key with the selector: a value close to the selector's is
        // the likely intended one (a typo), which makes the finding medium; without one the
        // policy may be meant for pods deployed from other manifests, so it is low.
        let wanted: Vec<(&str, &str)> = selector
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let keys: BTreeSet<&str> = wanted
            .iter()
            .map(|(k, _)| *k)
            .chain(
                selector
                    .match_expressions
                    .iter()
                    .flatten()
                    .map(|r| r.key.as_str()),
            )
            .collect();
        let mut near: BTreeSet<String> = BTreeSet::new();
        let mut close: BTreeSet<String> = BTreeSet::new();
        for &w in in_namespace {
            for (k, v) in &inv.workloads[w].labels {
                if !keys.contains(k.as_str()) {
                    continue;
                }
                near.insert(format!("{k}={v}"));
                if wanted
                    .iter()
                    .any(|(wk, wv)| *wk == k.as_str() && looks_like(wv, v))
                {
                    close.insert(format!("{k}={v}"));
                }
            }
        }
        if !close.is_empty() {
            let listed: Vec<String> = close.into_iter().take(3).collect();
            finding = finding.evidence(format!(
                "did you mean {}? (pod labels in `{}` close to the selector)",
                listed.join(" or "),
                policy.namespace
            ));
        } else {
            finding.severity = Severity::Low;
            if !near.is_empty() {
                let listed: Vec<String> = near.into_iter().take(6).collect();
                finding = finding.evidence(format!(
                    "pod labels in `{}` with the same keys: {}",
                    policy.namespace,
                    listed.join(", ")
                ));
            }
            finding = finding.evidence(
                "no pod label is close to the selector: if the workloads it protects are deployed from other manifests, scan those too",
            );
        }
        finding = finding.remediation(format!(
            "Fix the podSelector of NetworkPolicy {}/{} to match the pod template labels of the workloads it protects, or delete it.",
            policy.namespace, policy.name
        ));
        out.push(finding);
    }
}

/// A likely typo of `wanted`: equal ignoring case, one contained in the other, or at most two
/// edits apart.
fn looks_like(wanted: &str, actual: &str) -> bool {
    let (a, b) = (wanted.to_ascii_lowercase(), actual.to_ascii_lowercase());
    a == b
        || (a.len() >= 3 && b.contains(&a))
        || (b.len() >= 3 && a.contains(&b))
        || edit_distance(&a, &b) <= 2
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_look_alike() {
        assert!(looks_like("postgress", "postgres"));
        assert!(looks_like("payments-api", "payments-api-v2"));
        assert!(looks_like("Web", "web"));
        assert!(!looks_like("istiod", "istio-ingressgateway"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
