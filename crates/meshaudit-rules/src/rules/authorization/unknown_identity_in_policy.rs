//! AUTHZ006: a policy names a namespace or service account that the input shows does not exist
//! (a typo, or a leftover): the rule can never match it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use meshaudit_model::istio::AuthorizationAction;
use meshaudit_model::{Inventory, Step};

use super::identities::{
    identity_values, local_trust_domains, parse_principal, IdentityKind, IdentityValue,
};
use super::policies::{never_matches_severity, policy_name};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::join_limited;

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
leftover after a rename. When every value of the field (or `when` condition) is unknown, the
source or the whole rule never matches: in a DENY rule the protection silently does nothing
(high); in an ALLOW rule the legitimate caller is denied, or the rule is dead weight that hides
the real access list (medium). When the field still has values that exist (`namespaces:
["legacy", "legacy-old"]`, values are OR'd), only the unknown value is a dead entry (low).

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

/// (namespace, service account), as policies name them.
type AccountKey = (String, Option<String>);

/// The service accounts each namespace's workloads run as or its ServiceAccount objects
/// define, indexed once per run (policies name the same namespaces again and again).
struct KnownAccounts<'a> {
    by_namespace: HashMap<&'a str, BTreeSet<String>>,
    /// Answers already given, by (namespace, service account): policies repeat the same
    /// identities, and the spelling hint compares against every known name.
    answers: RefCell<HashMap<AccountKey, Option<String>>>,
}

impl<'a> KnownAccounts<'a> {
    fn new(inv: &'a Inventory) -> Self {
        let mut by_namespace: HashMap<&'a str, BTreeSet<String>> = HashMap::new();
        for w in &inv.workloads {
            by_namespace
                .entry(w.namespace.as_str())
                .or_default()
                .insert(w.service_account.clone());
        }
        for s in &inv.service_accounts {
            by_namespace
                .entry(s.namespace.as_str())
                .or_default()
                .insert(s.name.clone());
        }
        KnownAccounts {
            by_namespace,
            answers: RefCell::default(),
        }
    }

    fn in_namespace(&self, namespace: &str) -> Option<&BTreeSet<String>> {
        self.by_namespace.get(namespace)
    }
}

/// How many known service accounts the evidence names before "and N more".
const MAX_LISTED_ACCOUNTS: usize = 12;

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
        // The distance is at least the difference in length: skip what cannot be close.
        .filter(|c| name.chars().count().abs_diff(c.chars().count()) <= 2.max(c.len() / 4))
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Why `(namespace, service account)` names nobody, if it does not (answered once per pair).
fn unknown(
    inv: &Inventory,
    accounts: &KnownAccounts<'_>,
    complete: bool,
    ns: &str,
    sa: Option<&str>,
) -> Option<String> {
    let key = (ns.to_owned(), sa.map(str::to_owned));
    if let Some(answer) = accounts.answers.borrow().get(&key) {
        return answer.clone();
    }
    let answer = unknown_uncached(inv, accounts, complete, ns, sa);
    accounts.answers.borrow_mut().insert(key, answer.clone());
    answer
}

fn unknown_uncached(
    inv: &Inventory,
    accounts: &KnownAccounts<'_>,
    complete: bool,
    ns: &str,
    sa: Option<&str>,
) -> Option<String> {
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
            let empty = BTreeSet::new();
            let known = accounts.in_namespace(ns).unwrap_or(&empty);
            if known.contains(sa) {
                return None;
            }
            let hint = closest(sa, known.iter())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            let names: Vec<String> = known.iter().map(|s| format!("`{s}`")).collect();
            Some(format!(
                "no workload in namespace `{ns}` runs as service account `{sa}` and no ServiceAccount object defines it; the namespace's workloads use {}{hint}",
                join_limited(&names, MAX_LISTED_ACCOUNTS)
            ))
        }
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let complete = namespaces_complete(inv);
    let domains = local_trust_domains(inv);
    let accounts = KnownAccounts::new(inv);
    for policy in &inv.istio.authorization_policies {
        let action = policy.spec.action;
        if action == AuthorizationAction::Audit {
            continue;
        }
        let object = inv.object(policy.object);
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            let values: Vec<(IdentityValue<'_>, Option<String>)> = identity_values(i, rule)
                .into_iter()
                .filter(|v| !v.negative)
                .map(|v| {
                    let why = why_unknown(inv, &accounts, complete, &domains, &v);
                    (v, why)
                })
                .collect();
            if values.iter().all(|(_, why)| why.is_none()) {
                continue;
            }
            // One field (or `when` condition) = the values sharing a path up to the index; its
            // values are OR'd, so it never matches only if every one of them is unknown.
            let group = |v: &IdentityValue<'_>| v.path[..v.path.len() - 1].to_vec();
            let dead_group = |g: &[Step<'_>]| {
                values
                    .iter()
                    .filter(|(v, _)| group(v) == g)
                    .all(|(_, why)| why.is_some())
            };
            // Fields of a source and `when` conditions are AND'd with each other, sources are
            // OR'd: the rule is dead if a `when` condition is, or if every source is.
            let source_of = |v: &IdentityValue<'_>| {
                (!v.field.starts_with("when ")).then(|| match v.path.get(4) {
                    Some(Step::Index(j)) => *j,
                    _ => 0,
                })
            };
            let dead_source = |j: usize| {
                values
                    .iter()
                    .filter(|(v, _)| source_of(v) == Some(j))
                    .any(|(v, _)| dead_group(&group(v)))
            };
            let rule_dead = values
                .iter()
                .any(|(v, _)| source_of(v).is_none() && dead_group(&group(v)))
                || (!rule.from.is_empty() && (0..rule.from.len()).all(dead_source));
            for (v, why) in &values {
                let Some(why) = why else { continue };
                let field_dead = dead_group(&group(v));
                let (severity, effect) = if rule_dead {
                    let severity = never_matches_severity(action);
                    let effect = if severity == Severity::High {
                        "the rule never matches, so the protection it was written for does nothing"
                            .to_owned()
                    } else {
                        "the rule never matches: the caller it was meant to admit is denied, or the rule is dead".to_owned()
                    };
                    (severity, effect)
                } else if field_dead {
                    let severity = never_matches_severity(action);
                    let effect = if severity == Severity::High {
                        format!("source {} of the rule never matches, so the protection it was written for does nothing; the rule still matches through its other sources", source_of(v).unwrap_or(0))
                    } else {
                        format!("source {} of the rule never matches: the caller it was meant to admit is denied; the rule still matches through its other sources", source_of(v).unwrap_or(0))
                    };
                    (severity, effect)
                } else {
                    let others: Vec<&str> = values
                        .iter()
                        .filter(|(o, w)| w.is_none() && group(o) == group(v))
                        .map(|(o, _)| o.value)
                        .collect();
                    (
                        Severity::Low,
                        format!(
                            "a dead entry, but not a dead rule: `{}` still matches {}",
                            v.field,
                            others
                                .iter()
                                .map(|o| format!("`{o}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
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
                .evidence(why.clone())
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

/// Why identity value `v` (exact, positive) names nobody in this input, if it does not.
fn why_unknown(
    inv: &Inventory,
    accounts: &KnownAccounts<'_>,
    complete: bool,
    domains: &[&str],
    v: &IdentityValue<'_>,
) -> Option<String> {
    if v.value.contains('*') {
        return None;
    }
    match v.kind {
        IdentityKind::Principal => match parse_principal(v.value) {
            Some((td, ns, sa)) if domains.contains(&td) => {
                unknown(inv, accounts, complete, ns, Some(sa))
            }
            _ => None,
        },
        IdentityKind::Namespace => unknown(inv, accounts, complete, v.value, None),
        IdentityKind::ServiceAccount => match v.value.split_once('/') {
            Some((ns, sa)) => unknown(inv, accounts, complete, ns, Some(sa)),
            None => None,
        },
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
