//! AUTHZ009: the mesh has no default deny (no allow-nothing AuthorizationPolicy mesh-wide or per
//! namespace), so every new workload starts open.

use std::collections::{BTreeMap, BTreeSet};

use meshaudit_engine::membership::DataPlane;
use meshaudit_model::istio::AuthorizationAction;
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;
use crate::rules::istio_scope::istio_in_use;

pub static RULE: Rule = Rule {
    code: "AUTHZ009",
    name: "no-default-deny",
    title: "No default-deny AuthorizationPolicy",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:7.2.1",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

A mesh with meshed workloads but no "allow-nothing" AuthorizationPolicy (an ALLOW policy with no
rules and no selector) in the root namespace:

- if no namespace has one either, one finding on the root namespace (medium);
- if some namespaces have one, one finding (low) for each other namespace with meshed
  workloads in which every workload already has some ALLOW policy. Workloads with no ALLOW
  policy at all are reported one by one by AUTHZ002, so their namespaces are not repeated here.

## Why it matters

Without a default deny, Istio allows every request to a workload that no ALLOW policy selects.
Today's workloads may each have a careful ALLOW policy, but the next Deployment, a renamed label,
or a policy deleted by mistake leaves a workload open to every caller, silently. A default deny
turns those mistakes into visible 403s instead of open access (deny by default, NIST SP 800-204A
SM-DR1).

## Example

```yaml
# istio-system has no AuthorizationPolicy with `spec: {}`; each namespace only has
# per-workload ALLOW policies.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: orders
  namespace: orders
spec:
  selector:
    matchLabels:
      app: orders
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/frontend/sa/web"]
```

## Fix

Add a mesh-wide allow-nothing policy in the root namespace (or one per namespace), then keep
explicit ALLOW policies for each workload.

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
  namespace: istio-system
spec: {}
```

## References

- Istio: Security best practices, use default-deny patterns — https://istio.io/latest/docs/ops/best-practices/security/#use-default-deny-patterns
- Istio: Allow-nothing, deny-all and allow-all policies — https://istio.io/latest/docs/concepts/security/#allow-all-and-default-deny-all-authorization-policies
- Istio: Authorization policy reference — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- NIST SP 800-204A, SM-DR1; CWE-276: Incorrect Default Permissions
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !istio_in_use(inv) {
        return;
    }
    let root = inv.istio.root_namespace();
    let allow_nothing_in: BTreeSet<&str> = inv
        .istio
        .authorization_policies
        .iter()
        .filter(|p| {
            p.spec.action == AuthorizationAction::Allow
                && p.spec.rules().is_empty()
                && !p.spec.has_selector()
                && !p.spec.has_target_refs()
        })
        .map(|p| p.namespace.as_str())
        .collect();
    if allow_nothing_in.contains(root) {
        return;
    }
    // Meshed workloads per namespace: (total, with some ALLOW policy).
    let mut meshed: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, node) in ctx.graph().workloads_with_ids() {
        if !matches!(
            node.istio_data_plane(),
            DataPlane::Sidecar | DataPlane::Ambient
        ) {
            continue;
        }
        let has_allow = node.authorization_policies.iter().any(|&p| {
            inv.istio.authorization_policies[p].spec.action == AuthorizationAction::Allow
        });
        let e = meshed
            .entry(inv.workloads[i].namespace.as_str())
            .or_default();
        e.0 += 1;
        e.1 += usize::from(has_allow);
    }
    if meshed.is_empty() {
        return;
    }
    let path = [Step::Key("metadata"), Step::Key("name")];
    if allow_nothing_in.is_empty() {
        let Some((id, object)) = namespace_anchor(inv, root) else {
            return;
        };
        let total: usize = meshed.values().map(|e| e.0).sum();
        let covered: usize = meshed.values().map(|e| e.1).sum();
        let mut f = Finding::new(
            &RULE,
            id,
            object,
            &path,
            format!(
                "No default deny in the mesh: no allow-nothing AuthorizationPolicy (spec: {{}}) in root namespace `{root}` nor in any namespace, so every workload no ALLOW policy selects accepts every caller ({total} meshed workload(s) in {} namespace(s))",
                meshed.len()
            ),
        )
        .resource(ResourceRef::namespace(root))
        .key("")
        .evidence(format!(
            "{covered} of {total} meshed workload(s) have an ALLOW policy today; the others are reported by AUTHZ002"
        ))
        .evidence(format!(
            "namespaces with meshed workloads: {}",
            meshed.keys().copied().collect::<Vec<_>>().join(", ")
        ))
        .remediation(format!(
            "Add an AuthorizationPolicy named allow-nothing with `spec: {{}}` in `{root}`, after making sure each workload has the ALLOW policies it needs."
        ));
        if inv.namespace(root).is_none() {
            f = f.evidence(format!(
                "namespace `{root}` is not in the input; the finding points at the first Istio resource"
            ));
        }
        out.push(f);
        return;
    }
    for (ns, (total, covered)) in &meshed {
        if allow_nothing_in.contains(ns) || covered < total {
            // Open workloads are AUTHZ002's findings.
            continue;
        }
        let Some((id, object)) = namespace_anchor(inv, ns) else {
            continue;
        };
        let mut f = Finding::new(
            &RULE,
            id,
            object,
            &path,
            format!(
                "Namespace `{ns}` has no default deny: its {total} meshed workload(s) each have an ALLOW policy, but a new workload there starts with every caller allowed (other namespaces have an allow-nothing policy, `{root}` has none)"
            ),
        )
        .resource(ResourceRef::namespace(ns))
        .key("")
        .evidence(format!(
            "allow-nothing policies exist in: {}",
            allow_nothing_in.iter().copied().collect::<Vec<_>>().join(", ")
        ))
        .remediation(format!(
            "Add an AuthorizationPolicy with `spec: {{}}` in `{ns}`, or one in `{root}` for the whole mesh."
        ));
        f.severity = Severity::Low;
        out.push(f);
    }
}
