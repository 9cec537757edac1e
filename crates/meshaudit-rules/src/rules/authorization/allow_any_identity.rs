//! AUTHZ003: an ALLOW rule's source admits every mesh identity (wildcard principals or
//! namespaces).

use meshaudit_model::istio::{AuthorizationAction, Condition, Source};

use super::identities::local_trust_domains;
use super::policies::policy_name;
use super::rule_paths::source_path;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ003",
    name: "allow-any-identity",
    title: "ALLOW rule admits every mesh identity",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "PCI-DSS:7.2.1",
        "NIST-800-204A:SM-DR1",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

A `from.source` of an ALLOW AuthorizationPolicy whose `principals`, `namespaces` or
`serviceAccounts` match every workload identity of the mesh, and which no other source field
narrows down:

- `principals: ["*"]`, `"<trust-domain>/*"` or `"<trust-domain>/ns/*"` (any identity);
- suffix patterns that do not pin the namespace, such as `"*/sa/default"` (the `default`
  service account of every namespace) or `"*/sa/api"`;
- `namespaces: ["*"]`, `serviceAccounts: ["*"]` or `"*/<name>"`.

The values of one field are OR'd, so `principals: ["cluster.local/ns/shop/sa/web", "*"]` is as
wide as `["*"]`. A source is not reported when another of its fields has only narrow values
(fields are AND'd), nor when a `when` condition of the rule narrows the caller
(`source.principal`, `source.namespace`, `source.serviceAccount` with narrow values, or
`source.ip`, `remote.ip`, `request.auth.*`).

Istio matches principals by exact value, prefix (`x*`), suffix (`*x`) or presence (`*`).

## Why it matters

A wildcard identity still requires mutual TLS (plaintext requests carry no identity and do not
match), so it keeps out clients without a sidecar. But every workload in the mesh, in every
namespace, including ones deployed later, passes the rule: a compromised pod anywhere can reach
the workload. `*/sa/default` is worse than it looks, since every pod that names no service account
runs as `default`.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: orders
  namespace: orders
spec:
  selector:
    matchLabels:
      app: orders
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/*"]
```

## Fix

Name the callers: exact principals (`cluster.local/ns/frontend/sa/web`) or the namespaces that
need access. If the intent is "any mesh workload" only as an mTLS requirement, combine it with
a restriction on the operations, or require STRICT mTLS with a PeerAuthentication instead.

```yaml
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/frontend/sa/web"]
```

## References

- Istio: Authorization policy reference (source, principals, namespaces) — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Security best practices, safer authorization policy patterns — https://istio.io/latest/docs/ops/best-practices/security/#safer-authorization-policy-pattern
- Istio: Dependency on mutual TLS — https://istio.io/latest/docs/concepts/security/#dependency-on-mutual-tls
- NIST SP 800-204A, SM-DR1; CWE-285: Improper Authorization
"#,
    check,
};

/// What a principal pattern covers, if it covers every namespace.
pub(super) fn principal_covers_all(pattern: &str, domains: &[&str]) -> Option<&'static str> {
    if pattern == "*" {
        return Some("every identity");
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        // `cluster.local/*`, `cluster.local/ns/*`: any namespace and service account.
        if domains
            .iter()
            .any(|td| format!("{td}/ns/").starts_with(prefix))
        {
            return Some("every identity of the trust domain");
        }
        return None;
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        if suffix.contains("/ns/") {
            return None;
        }
        // A suffix pins the namespace only if it has characters before `/sa/`.
        return match suffix.find("/sa/") {
            Some(0) => Some("that service account in every namespace"),
            Some(_) => None,
            None => Some("matching service accounts in every namespace"),
        };
    }
    None
}

pub(super) fn service_account_covers_all(pattern: &str) -> Option<&'static str> {
    if pattern == "*" {
        return Some("every service account");
    }
    pattern
        .strip_prefix("*/")
        .filter(|sa| !sa.contains('/'))
        .map(|_| "that service account in every namespace")
}

/// A list of OR'd values narrows the callers only if it is non-empty and none of its values
/// already covers everyone.
fn list_narrows<'a>(values: &'a [String], covers_all: impl Fn(&'a str) -> bool) -> bool {
    !values.is_empty() && !values.iter().any(|v| covers_all(v))
}

/// Other fields of the source that narrow who matches (then the wildcard only requires mTLS).
/// Fields of a source are AND'd, the values of one field are OR'd: `["ns/a/sa/b", "*"]` is
/// as wide as `["*"]`.
fn narrowed(s: &Source, domains: &[&str]) -> bool {
    list_narrows(&s.principals, |p| {
        principal_covers_all(p, domains).is_some()
    }) || list_narrows(&s.namespaces, |n| n == "*")
        || list_narrows(&s.service_accounts, |a| {
            service_account_covers_all(a).is_some()
        })
        || !s.request_principals.is_empty()
        || !s.ip_blocks.is_empty()
        || !s.remote_ip_blocks.is_empty()
}

/// A `when` condition of the rule that narrows the callers by identity (conditions are AND'd
/// with the sources), as its key.
fn narrowing_condition<'a>(conditions: &'a [Condition], domains: &[&str]) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| {
            let key = c.key.as_str();
            match key {
                "source.principal" => {
                    list_narrows(&c.values, |p| principal_covers_all(p, domains).is_some())
                }
                "source.namespace" => list_narrows(&c.values, |n| n == "*"),
                "source.serviceAccount" => {
                    list_narrows(&c.values, |a| service_account_covers_all(a).is_some())
                }
                "request.auth.principal" | "source.ip" | "remote.ip" => !c.values.is_empty(),
                _ => key.starts_with("request.auth.claims[") && !c.values.is_empty(),
            }
        })
        .map(|c| c.key.as_str())
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let domains = local_trust_domains(inv);
    for policy in &inv.istio.authorization_policies {
        if policy.spec.action != AuthorizationAction::Allow {
            continue;
        }
        let object = inv.object(policy.object);
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            if narrowing_condition(&rule.when, &domains).is_some() {
                continue;
            }
            let restricted_ops = !rule.to.is_empty() || !rule.when.is_empty();
            for (j, from) in rule.from.iter().enumerate() {
                let Some(source) = from.source.as_ref() else {
                    continue;
                };
                if narrowed(source, &domains) {
                    continue;
                }
                let hits = source
                    .principals
                    .iter()
                    .map(|p| ("principals", p, principal_covers_all(p, &domains)))
                    .chain(
                        source
                            .namespaces
                            .iter()
                            .map(|n| ("namespaces", n, (n == "*").then_some("every namespace"))),
                    )
                    .chain(
                        source
                            .service_accounts
                            .iter()
                            .map(|a| ("serviceAccounts", a, service_account_covers_all(a))),
                    );
                let mut seen_fields = Vec::new();
                for (field, value, covers) in hits {
                    let Some(covers) = covers else { continue };
                    if seen_fields.contains(&field) {
                        continue;
                    }
                    seen_fields.push(field);
                    let k = match field {
                        "principals" => source.principals.iter().position(|p| p == value),
                        "namespaces" => source.namespaces.iter().position(|p| p == value),
                        _ => source.service_accounts.iter().position(|p| p == value),
                    }
                    .unwrap_or(0);
                    let mut path = source_path(i, j, field);
                    path.push(meshaudit_model::Step::Index(k));
                    let ops = if restricted_ops {
                        "for the operations and conditions of the rule"
                    } else {
                        "for every path, method and port"
                    };
                    let mut finding = Finding::new(
                        &RULE,
                        policy.object,
                        object,
                        &path,
                        format!(
                            "{} rule {i} allows {field} `{value}`, which matches {covers}: any meshed workload in any namespace passes, {ops}",
                            policy_name(policy)
                        ),
                    )
                    .evidence(format!(
                        "Istio matches `{value}` as {}{}",
                        if value == "*" {
                            "any non-empty value".to_owned()
                        } else if let Some(suffix) = value.strip_prefix('*') {
                            format!("a suffix match on `{suffix}`")
                        } else {
                            format!("a prefix match on `{}`", value.trim_end_matches('*'))
                        },
                        if field == "principals" {
                            format!("; trust domains that count as local here: {}", domains.join(", "))
                        } else {
                            String::new()
                        }
                    ))
                    .evidence(
                        "no field of this source (principals, namespaces, serviceAccounts, requestPrincipals, ipBlocks) and no `when` condition on the caller narrows the callers",
                    )
                    .evidence("plaintext requests carry no identity and do not match, so the rule still requires mTLS")
                    .remediation(format!(
                        "Replace `{value}` in {} rule {i} with the exact principals or namespaces of the callers that need access.",
                        policy_name(policy)
                    ));
                    let all: &[String] = match field {
                        "principals" => &source.principals,
                        "namespaces" => &source.namespaces,
                        _ => &source.service_accounts,
                    };
                    if all.len() > 1 {
                        let others: Vec<String> = all
                            .iter()
                            .filter(|v| *v != value)
                            .map(|v| format!("`{v}`"))
                            .collect();
                        finding = finding.evidence(format!(
                            "the values of `{field}` are OR'd: `{value}` admits everyone, whatever the other values ({}) name",
                            others.join(", ")
                        ));
                    }
                    if policy.namespace == inv.istio.root_namespace() && !policy.spec.has_selector()
                    {
                        finding = finding.evidence(
                            "the policy is in the root namespace without a selector: it applies to every workload of the mesh",
                        );
                    }
                    out.push(finding);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_that_cover_every_namespace() {
        let d = ["cluster.local"];
        assert!(principal_covers_all("*", &d).is_some());
        assert!(principal_covers_all("cluster.local/*", &d).is_some());
        assert!(principal_covers_all("cluster.local/ns/*", &d).is_some());
        assert!(principal_covers_all("*/sa/default", &d).is_some());
        assert!(principal_covers_all("*default", &d).is_some());
        assert!(principal_covers_all("cluster.local/ns/a/*", &d).is_none());
        assert!(principal_covers_all("*-prod/sa/api", &d).is_none());
        assert!(principal_covers_all("*/ns/a/sa/b", &d).is_none());
        assert!(principal_covers_all("cluster.local/ns/a/sa/b", &d).is_none());
        assert!(principal_covers_all("other.td/*", &d).is_none());
        assert!(service_account_covers_all("*/default").is_some());
        assert!(service_account_covers_all("ns/*").is_none());
    }

    fn source(principals: &[&str], namespaces: &[&str]) -> Source {
        Source {
            principals: principals.iter().map(|s| s.to_string()).collect(),
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            ..Source::default()
        }
    }

    #[test]
    fn or_lists_narrow_only_without_a_wildcard_value() {
        let d = ["cluster.local"];
        assert!(!narrowed(
            &source(&["cluster.local/ns/shop/sa/web", "*"], &[]),
            &d
        ));
        assert!(narrowed(
            &source(&["cluster.local/ns/shop/sa/web"], &[]),
            &d
        ));
        assert!(narrowed(&source(&["*"], &["shop"]), &d));
        assert!(!narrowed(&source(&["*"], &["shop", "*"]), &d));
    }

    #[test]
    fn when_conditions_on_the_caller_narrow() {
        let d = ["cluster.local"];
        let cond = |key: &str, values: &[&str]| Condition {
            key: key.to_owned(),
            values: values.iter().map(|s| s.to_string()).collect(),
            not_values: Vec::new(),
        };
        assert!(narrowing_condition(&[cond("source.namespace", &["shop"])], &d).is_some());
        assert!(narrowing_condition(&[cond("source.namespace", &["shop", "*"])], &d).is_none());
        assert!(narrowing_condition(&[cond("source.principal", &["*"])], &d).is_none());
        assert!(narrowing_condition(&[cond("request.headers[x]", &["a"])], &d).is_none());
    }
}
