//! AUTHZ006: a policy names a namespace or service account that the input shows does not exist
//! (a typo, or a leftover): the rule can never match it.

use std::collections::BTreeSet;

use meshaudit_model::istio::AuthorizationAction;
use meshaudit_model::Inventory;

use super::common::{
    identity_values, local_trust_domains, never_matches_severity, parse_principal, policy_name,
    IdentityKind,
};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ006",
    name: "unknown-identity-in-policy",
    title: "Policy names a namespace or service account that does not exist",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "PCI-DSS:7.2.1", "NIST-800-204B:5.2.1"],
    doc: r#"
## What it detects

An exact value (no wildcard) in `principals`, `namespaces` or `serviceAccounts` of an
AuthorizationPolicy rule (or a `source.principal` / `source.namespace` / `source.serviceAccount`
condition) that names:

- a namespace that does not exist in the input, when the input looks like a whole cluster (it
  declares a `Namespace` object for every namespace its objects live in, and at least two); or
- a service account of a namespace the input declares and runs workloads in, which no workload
  there uses and no `ServiceAccount` object defines (`default` always exists and is never
  reported).

Principals of a foreign trust domain are AUTHZ007's concern.

## Why it matters

Such a value can never match a caller: it is usually a typo (`fronted` for `frontend`) or a
leftover after a rename. In a DENY rule the protection silently does nothing (high). In an ALLOW
rule the legitimate caller is denied, or the rule is dead weight that hides the real access list
(medium).

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: orders
  namespace: orders
spec:
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/frontend/sa/wbe"]   # the Deployment runs as `web`
```

## Fix

Correct the namespace or service-account name, or delete the value if the caller is gone.

```yaml
        principals: ["cluster.local/ns/frontend/sa/web"]
```

## References

- Istio: Authorization policy reference (principals, namespaces) — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Authorization conditions (source.principal, source.namespace) — https://istio.io/latest/docs/reference/config/security/conditions/
- Kubernetes: Service accounts — https://kubernetes.io/docs/concepts/security/service-accounts/
- CWE-863: Incorrect Authorization
"#,
    check,
};

/// The input declares every namespace its objects live in (and at least two): it looks like a
/// whole cluster, so a namespace missing from it does not exist.
fn namespaces_complete(inv: &Inventory) -> bool {
    inv.namespaces.len() >= 2 && inv.namespaces.values().all(|n| n.object.is_some())
}

fn service_accounts_in(inv: &Inventory, namespace: &str) -> BTreeSet<String> {
    inv.workloads_in(namespace)
        .map(|w| w.service_account.clone())
        .chain(
            inv.service_accounts
                .iter()
                .filter(|s| s.namespace == namespace)
                .map(|s| s.name.clone()),
        )
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Why `(namespace, service account)` names nobody, if it does not.
fn unknown(inv: &Inventory, complete: bool, ns: &str, sa: Option<&str>) -> Option<String> {
    if ns.is_empty() || ns.contains('*') {
        return None;
    }
    // Namespaces every cluster has, and the mesh's root namespace.
    let builtin = ["default", "kube-system", "kube-public", "kube-node-lease"];
    match inv.namespace(ns) {
        None if builtin.contains(&ns) || ns == inv.istio.root_namespace() => None,
        None if complete => {
            let hint = closest(ns, inv.namespaces.keys())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            Some(format!(
                "namespace `{ns}` does not exist: the input declares {} namespaces and it is not one of them{hint}",
                inv.namespaces.len()
            ))
        }
        None => None,
        Some(n) => {
            let sa = sa.filter(|s| !s.is_empty() && !s.contains('*') && *s != "default")?;
            if n.object.is_none() || inv.workloads_in(ns).next().is_none() {
                return None;
            }
            let known = service_accounts_in(inv, ns);
            if known.contains(sa) {
                return None;
            }
            let hint = closest(sa, known.iter())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            Some(format!(
                "no workload in namespace `{ns}` runs as service account `{sa}` and no ServiceAccount object defines it; the namespace's workloads use {}{hint}",
                known.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ))
        }
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let complete = namespaces_complete(inv);
    let domains = local_trust_domains(inv);
    for policy in &inv.istio.authorization_policies {
        let action = policy.spec.action;
        if action == AuthorizationAction::Audit {
            continue;
        }
        let object = inv.object(policy.object);
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            for v in identity_values(i, rule) {
                if v.negative || v.value.contains('*') {
                    continue;
                }
                let why = match v.kind {
                    IdentityKind::Principal => match parse_principal(v.value) {
                        Some((td, ns, sa)) if domains.contains(&td) => {
                            unknown(inv, complete, ns, Some(sa))
                        }
                        _ => None,
                    },
                    IdentityKind::Namespace => unknown(inv, complete, v.value, None),
                    IdentityKind::ServiceAccount => match v.value.split_once('/') {
                        Some((ns, sa)) => unknown(inv, complete, ns, Some(sa)),
                        None => None,
                    },
                };
                let Some(why) = why else { continue };
                let severity = never_matches_severity(action);
                let effect = if severity == Severity::High {
                    "the rule never matches, so the protection it was written for does nothing"
                } else {
                    "the rule never matches: the caller it was meant to admit is denied, or the rule is dead"
                };
                let mut f = Finding::new(
                    &RULE,
                    policy.object,
                    object,
                    &v.path,
                    format!(
                        "{} ({}) rule {i} {} `{}` names no identity in this input: {effect}",
                        policy_name(policy),
                        action.as_str(),
                        v.field,
                        v.value
                    ),
                )
                .evidence(why)
                .remediation(format!(
                    "Correct `{}` in {} rule {i} to the caller's real namespace and service account, or remove it.",
                    v.value,
                    policy_name(policy)
                ));
                f.severity = severity;
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("wbe", "web"), 2);
        assert_eq!(edit_distance("fronted", "frontend"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
