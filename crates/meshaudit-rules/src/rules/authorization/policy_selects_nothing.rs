//! AUTHZ008: an AuthorizationPolicy, PeerAuthentication or RequestAuthentication whose selector
//! matches no workload in its scope.

use meshaudit_model::istio::{AuthorizationAction, MtlsMode};
use meshaudit_model::k8s::Workload;
use meshaudit_model::selector::WorkloadSelector;
use meshaudit_model::{ObjectId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::join_limited;

pub static RULE: Rule = Rule {
    code: "AUTHZ008",
    name: "policy-selects-nothing",
    title: "Policy selector matches no workload",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "SOC2:CC8.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

An AuthorizationPolicy, PeerAuthentication or RequestAuthentication with a `selector.matchLabels`
that matches no workload in its scope: its own namespace, or every namespace for an
AuthorizationPolicy or RequestAuthentication in the root namespace. It is only reported when the
input contains workloads in that scope, so a partial input does not cause noise. Policies
attached with `targetRef(s)` and PeerAuthentications with a selector in the root namespace
(which Istio ignores altogether) are not checked here.

Severity follows what is lost: a DENY or CUSTOM AuthorizationPolicy that protects nothing is high;
an ALLOW policy, a RequestAuthentication or a STRICT PeerAuthentication that does not apply is
medium; an AUDIT policy or a non-STRICT PeerAuthentication is low.

## Why it matters

A selector that matches nothing is almost always a label typo or a stale policy after a
relabel. Istio accepts it silently: the protection it was written for (a deny list, external
authorization, JWT validation, strict mTLS) is simply not in force, and a review of the YAML
suggests otherwise.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-admin
  namespace: orders
spec:
  selector:
    matchLabels:
      app: order        # the Deployment's pods are labelled app: orders
  action: DENY
  rules:
  - to:
    - operation:
        notPaths: ["/api/*"]
```

## Fix

Make the selector match the pod template labels of the intended workload (not the Deployment's
own labels), or delete the stale policy.

```yaml
  selector:
    matchLabels:
      app: orders
```

## References

- Istio: Authorization policy reference (selector) — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Workload selector — https://istio.io/latest/docs/reference/config/type/workload-selector/
- Istio: PeerAuthentication reference — https://istio.io/latest/docs/reference/config/security/peer_authentication/
- Istio: RequestAuthentication reference — https://istio.io/latest/docs/reference/config/security/request_authentication/
- CWE-1188: Initialization of a Resource with an Insecure Default
"#,
    check,
};

struct Candidate<'a> {
    object: ObjectId,
    kind: &'static str,
    namespace: &'a str,
    name: &'a str,
    selector: &'a WorkloadSelector,
    mesh_wide: bool,
    severity: Severity,
    lost: String,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let root = inv.istio.root_namespace();
    let mut candidates = Vec::new();
    for p in &inv.istio.authorization_policies {
        let Some(selector) = p.spec.selector.as_ref().filter(|_| p.spec.has_selector()) else {
            continue;
        };
        if p.spec.has_target_refs() {
            continue;
        }
        let (severity, lost) = match p.spec.action {
            AuthorizationAction::Deny => (
                Severity::High,
                "its DENY rules protect nothing".to_owned(),
            ),
            AuthorizationAction::Custom => (
                Severity::High,
                "no request is sent to its external authorizer".to_owned(),
            ),
            AuthorizationAction::Allow => (
                Severity::Medium,
                "its ALLOW rules apply nowhere: the intended workload gets neither the access nor the default deny they imply".to_owned(),
            ),
            AuthorizationAction::Audit => (Severity::Low, "nothing is audited".to_owned()),
        };
        candidates.push(Candidate {
            object: p.object,
            kind: "AuthorizationPolicy",
            namespace: &p.namespace,
            name: &p.name,
            selector,
            mesh_wide: p.namespace == root,
            severity,
            lost,
        });
    }
    for p in &inv.istio.peer_authentications {
        let Some(selector) = p.spec.selector.as_ref().filter(|_| p.spec.has_selector()) else {
            continue;
        };
        if p.namespace == root {
            continue;
        }
        let strict = p.spec.mode() == MtlsMode::Strict
            || p.spec
                .port_level_mtls
                .values()
                .any(|m| m.mode() == MtlsMode::Strict);
        let (severity, lost) = if strict {
            (
                Severity::Medium,
                "the STRICT mTLS it sets is not in force".to_owned(),
            )
        } else {
            (
                Severity::Low,
                format!("its mode {} applies nowhere", p.spec.mode().as_str()),
            )
        };
        candidates.push(Candidate {
            object: p.object,
            kind: "PeerAuthentication",
            namespace: &p.namespace,
            name: &p.name,
            selector,
            mesh_wide: false,
            severity,
            lost,
        });
    }
    for p in &inv.istio.request_authentications {
        let Some(selector) = p
            .spec
            .selector
            .as_ref()
            .filter(|s| !s.match_labels.is_empty())
        else {
            continue;
        };
        if p.spec.target_ref.is_some() || !p.spec.target_refs.is_empty() {
            continue;
        }
        candidates.push(Candidate {
            object: p.object,
            kind: "RequestAuthentication",
            namespace: &p.namespace,
            name: &p.name,
            selector,
            mesh_wide: p.namespace == root,
            severity: Severity::Medium,
            lost: "no JWT is validated: invalid tokens are not rejected and request principals stay empty".to_owned(),
        });
    }

    for c in candidates {
        let scope_empty = if c.mesh_wide {
            inv.workloads.is_empty()
        } else {
            inv.workload_indexes_in(c.namespace).is_empty()
        };
        // Through the label index, within the scope.
        let selects_some = if c.mesh_wide {
            !inv.workloads_matching(&c.selector.match_labels).is_empty()
        } else {
            !inv.workloads_matching_in(c.namespace, &c.selector.match_labels)
                .is_empty()
        };
        if scope_empty || selects_some {
            continue;
        }
        let scope: Vec<&Workload> = if c.mesh_wide {
            inv.workloads.iter().collect()
        } else {
            inv.workloads_in(c.namespace).collect()
        };
        let labels: Vec<String> = c
            .selector
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let scope_text = if c.mesh_wide {
            "any namespace (root-namespace policy)".to_owned()
        } else {
            format!("namespace `{}`", c.namespace)
        };
        // Workloads that share a selector key: the likely intended targets.
        let near: Vec<String> = scope
            .iter()
            .filter_map(|w| {
                let shared: Vec<String> = c
                    .selector
                    .match_labels
                    .keys()
                    .filter_map(|k| w.labels.get(k).map(|v| format!("{k}={v}")))
                    .collect();
                (!shared.is_empty()).then(|| {
                    format!(
                        "{} {}/{} has {}",
                        w.kind,
                        w.namespace,
                        w.name,
                        shared.join(",")
                    )
                })
            })
            .collect();
        let object = inv.object(c.object);
        let path = [Step::Key("spec"), Step::Key("selector")];
        let mut f = Finding::new(
            &RULE,
            c.object,
            object,
            &path,
            format!(
                "{} {}/{} selects {} but no workload in {scope_text} has those labels: {}",
                c.kind,
                c.namespace,
                c.name,
                labels.join(","),
                c.lost
            ),
        )
        .evidence(format!(
            "{} workload(s) in {scope_text} are in the input; none has pod labels {}",
            scope.len(),
            labels.join(",")
        ))
        .remediation(format!(
            "Fix the selector of {} {}/{} to the pod template labels of the intended workload, or delete the policy if that workload is gone.",
            c.kind, c.namespace, c.name
        ));
        if !near.is_empty() {
            f = f.evidence(format!("closest by label key: {}", join_limited(&near, 3)));
        }
        f.severity = c.severity;
        out.push(f);
    }
}
