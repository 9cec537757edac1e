//! AUTHZ001: an ALLOW AuthorizationPolicy has a rule that matches every request.

use meshaudit_model::istio::{AuthorizationAction, AuthorizationRule, Operation};
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ001",
    name: "allow-policy-matches-everything",
    title: "ALLOW policy matches every request",
    category: Category::Authorization,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:7.2.1",
        "PCI-DSS:7.3.3",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

An AuthorizationPolicy with `action: ALLOW` (the default) containing a rule that every request
matches: an empty rule (`rules: [{}]`), or a rule whose `from` sources are all empty, whose `to`
operations are empty or only `"*"`, and which has no `when` conditions.

A policy with no rules at all (`spec: {}`) is the opposite — it allows nothing — and is not reported.

## Why it matters

Once any ALLOW policy applies to a workload, Istio denies requests that no ALLOW rule matches; that
is how least privilege is built. A rule that matches everything makes every other ALLOW policy on
the same workloads meaningless: any caller, with or without an identity, reaches every path and
method. Applied in the root namespace it opens the whole mesh.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-all
  namespace: orders
spec:
  action: ALLOW
  rules:
  - {}
```

## Fix

Replace the catch-all rule with rules that name the callers (`from.source.principals` or
`namespaces`) and, where it matters, the operations (`to.operation.methods`, `paths`, `ports`).

```yaml
spec:
  selector:
    matchLabels:
      app: orders
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/frontend/sa/web"]
    to:
    - operation:
        methods: ["GET", "POST"]
        paths: ["/api/orders*"]
```

## References

- Istio: Authorization policy reference — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Authorization (allow-all and allow-nothing) — https://istio.io/latest/docs/concepts/security/#allow-all-and-default-deny-all-authorization-policies
- NIST SP 800-204A, SM-DR1 (deny what is not explicitly allowed)
- CWE-862: Missing Authorization
"#,
    check,
};

fn operation_matches_everything(op: &Operation) -> bool {
    let wildcard_or_empty = |v: &Vec<String>| v.is_empty() || v.iter().any(|s| s == "*");
    op.not_hosts.is_empty()
        && op.not_ports.is_empty()
        && op.not_methods.is_empty()
        && op.not_paths.is_empty()
        && wildcard_or_empty(&op.hosts)
        && wildcard_or_empty(&op.ports)
        && wildcard_or_empty(&op.methods)
        && wildcard_or_empty(&op.paths)
}

/// True when every request matches the rule. `from` and `to` entries are ORed, so one
/// match-all entry is enough; `when` conditions are ANDed, so any condition restricts.
pub fn rule_matches_everything(rule: &AuthorizationRule) -> bool {
    let from_all = rule.from.is_empty()
        || rule
            .from
            .iter()
            .any(|f| f.source.as_ref().is_none_or(|s| s.is_empty()));
    let to_all = rule.to.is_empty()
        || rule.to.iter().any(|t| {
            t.operation
                .as_ref()
                .is_none_or(operation_matches_everything)
        });
    from_all && to_all && rule.when.is_empty()
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let root = inv.istio.root_namespace();
    for policy in &inv.istio.authorization_policies {
        if policy.spec.action != AuthorizationAction::Allow {
            continue;
        }
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            if !rule_matches_everything(rule) {
                continue;
            }
            let scope = if policy.spec.has_target_refs() {
                "the resources it targets".to_owned()
            } else if let Some(sel) = policy
                .spec
                .selector
                .as_ref()
                .filter(|s| !s.match_labels.is_empty())
            {
                let labels: Vec<String> = sel
                    .match_labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let selected = inv
                    .workloads
                    .iter()
                    .filter(|w| {
                        (policy.namespace == root || w.namespace == policy.namespace)
                            && sel.matches(&w.labels)
                    })
                    .count();
                format!(
                    "workloads labelled {} ({selected} in the input)",
                    labels.join(",")
                )
            } else if policy.namespace == root {
                "every workload in the mesh".to_owned()
            } else {
                format!("every workload in namespace `{}`", policy.namespace)
            };
            let object = inv.object(policy.object);
            let path = [Step::Key("spec"), Step::Key("rules"), Step::Index(i)];
            let mut finding = Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "AuthorizationPolicy {}/{} allows every request to {scope}: rule {i} matches any source, operation and condition",
                    policy.namespace, policy.name
                ),
            )
            .key(format!("spec.rules[{i}]"))
            .evidence(format!("action ALLOW, rule at {}", object.location_of(&path)))
            .remediation(format!(
                "Replace rule {i} of AuthorizationPolicy {}/{} with rules that name the allowed callers (from.source.principals or namespaces) and operations.",
                policy.namespace, policy.name
            ));
            if policy.namespace == root && !policy.spec.has_selector() {
                finding.severity = Severity::Critical;
                finding = finding.evidence(
                    "the policy is in the root namespace without a selector: it applies mesh-wide",
                );
            }
            out.push(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshaudit_model::istio::{Condition, RuleFrom, RuleTo, Source};

    #[test]
    fn empty_rule_matches_everything_and_restrictions_do_not() {
        assert!(rule_matches_everything(&AuthorizationRule::default()));
        let with_principal = AuthorizationRule {
            from: vec![RuleFrom {
                source: Some(Source {
                    principals: vec!["cluster.local/ns/a/sa/b".into()],
                    ..Source::default()
                }),
            }],
            ..AuthorizationRule::default()
        };
        assert!(!rule_matches_everything(&with_principal));
        let wildcard_path = AuthorizationRule {
            to: vec![RuleTo {
                operation: Some(Operation {
                    paths: vec!["*".into()],
                    ..Operation::default()
                }),
            }],
            ..AuthorizationRule::default()
        };
        assert!(rule_matches_everything(&wildcard_path));
        let get_only = AuthorizationRule {
            to: vec![RuleTo {
                operation: Some(Operation {
                    methods: vec!["GET".into()],
                    ..Operation::default()
                }),
            }],
            ..AuthorizationRule::default()
        };
        assert!(!rule_matches_everything(&get_only));
        let conditioned = AuthorizationRule {
            when: vec![Condition {
                key: "request.headers[x]".into(),
                values: vec!["1".into()],
                not_values: vec![],
            }],
            ..AuthorizationRule::default()
        };
        assert!(!rule_matches_everything(&conditioned));
    }
}
