//! AUTHZ004: ALLOW rules with negative matches, DENY rules with positive HTTP matches (the
//! direction Istio's safer-policy guidance warns about).

use meshaudit_model::istio::{AuthorizationAction, AuthorizationRule};
use meshaudit_model::Step;

use super::allow_any_identity::{principal_covers_all, service_account_covers_all};
use super::identities::local_trust_domains;
use super::policies::policy_name;
use super::rule_paths::{operation_fields, operation_path, source_fields, source_path, when_path};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ004",
    name: "unsafe-match-direction",
    title: "Authorization rule matches in the unsafe direction",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "PCI-DSS:7.2.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

Rules that contradict Istio's safer authorization pattern ("ALLOW with positive matching, DENY
with negative matching"):

- an **ALLOW** rule using a negative field: `notPrincipals`, `notNamespaces`,
  `notServiceAccounts`, `notRequestPrincipals`, `notIpBlocks`, `notRemoteIpBlocks`, `notPaths`,
  `notMethods`, `notHosts`, `notPorts`, or `when[].notValues` (medium; low when the same rule
  also requires specific caller identities with positive `principals`, `namespaces`,
  `serviceAccounts` or a `when` condition on `source.principal`/`source.namespace`/
  `source.serviceAccount`, since then only those callers gain the extra requests);
- a **DENY** rule using a positive HTTP match: `paths`, `hosts` or `methods` (low). A value of
  `"*"` is not reported: it matches every request.

## Why it matters

An ALLOW with a negative match allows everything *not* listed, including callers and requests
nobody thought of: plaintext clients (their principal and namespace are empty, so they are "not
in" any list), new namespaces, path variants. A DENY with a positive path, host or method match
blocks only the exact spellings listed: `/admin/` vs `/admin`, `//admin`, `/ADMIN`, `%2Fadmin`,
a host with a port suffix, or a lower-case method can slip through unless path normalization and
case handling line up exactly. With the safe direction, a mistake yields a 403, not a bypass.

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
  - to:
    - operation:
        notPaths: ["/admin*"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-admin
  namespace: orders
spec:
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/admin"]
```

## Fix

List what is allowed in ALLOW rules (`paths: ["/api/*"]`, `principals: [...]`), and phrase DENY
rules negatively (`notPaths: ["/api/*"]` denies everything but the public API). Set
`meshConfig.pathNormalization` to at least `BASE` (the default) or `MERGE_SLASHES` when path
matches matter.

```yaml
spec:
  action: ALLOW
  rules:
  - to:
    - operation:
        paths: ["/api/orders*"]
```

## References

- Istio: Security best practices, safer authorization policy pattern — https://istio.io/latest/docs/ops/best-practices/security/#safer-authorization-policy-pattern
- Istio: Security best practices, understand path normalization — https://istio.io/latest/docs/ops/best-practices/security/#understand-path-normalization-in-authorization-policy
- Istio: Authorization policy reference — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- CWE-863: Incorrect Authorization
"#,
    check,
};

/// Who an ALLOW rule lets in, judged from its positive identity matches.
enum Callers {
    /// No positive identity match: any caller, including plaintext clients.
    Anyone,
    /// Every source requires an mTLS identity, but a wildcard admits any mesh identity.
    AnyIdentity(String),
    /// Every source (or a `when` condition) names specific identities.
    Named(String),
}

fn callers(rule: &AuthorizationRule, domains: &[&str]) -> Callers {
    let covers = |field: &str, v: &str| match field {
        "principals" | "source.principal" => principal_covers_all(v, domains).is_some(),
        "serviceAccounts" | "source.serviceAccount" => service_account_covers_all(v).is_some(),
        _ => v == "*",
    };
    // `when` conditions are AND'd with the sources: an identity condition there applies to
    // every caller of the rule.
    let mut any_identity = None;
    for c in &rule.when {
        let key = c.key.as_str();
        if !matches!(
            key,
            "source.principal" | "source.namespace" | "source.serviceAccount"
        ) || c.values.is_empty()
        {
            continue;
        }
        let shown = format!("when {key} [{}]", c.values.join(", "));
        if !c.values.iter().any(|v| covers(key, v)) {
            return Callers::Named(shown);
        }
        any_identity.get_or_insert(shown);
    }
    // Sources are OR'd (and a rule without `from` matches any source): the rule names its
    // callers only if every source does. Within a source, fields are AND'd and the values of
    // one field are OR'd, so one narrow field (no wildcard value) is enough.
    let mut named = Vec::new();
    let mut identity = Vec::new();
    for from in &rule.from {
        let Some(s) = from.source.as_ref() else {
            continue;
        };
        let fields = [
            ("principals", &s.principals),
            ("namespaces", &s.namespaces),
            ("serviceAccounts", &s.service_accounts),
        ];
        let show = |(f, vals): &(&str, &Vec<String>)| format!("{f} [{}]", vals.join(", "));
        if let Some(field) = fields
            .iter()
            .find(|(f, vals)| !vals.is_empty() && !vals.iter().any(|v| covers(f, v)))
        {
            named.push(show(field));
        } else if let Some(field) = fields.iter().find(|(_, vals)| !vals.is_empty()) {
            identity.push(show(field));
        }
    }
    let sources = rule.from.len();
    if sources > 0 && named.len() == sources {
        return Callers::Named(named.join("; "));
    }
    if let Some(w) = any_identity {
        return Callers::AnyIdentity(w);
    }
    if sources > 0 && named.len() + identity.len() == sources {
        return Callers::AnyIdentity(identity.join("; "));
    }
    Callers::Anyone
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for policy in &inv.istio.authorization_policies {
        let action = policy.spec.action;
        if !matches!(
            action,
            AuthorizationAction::Allow | AuthorizationAction::Deny
        ) {
            continue;
        }
        let object = inv.object(policy.object);
        let name = policy_name(policy);
        let domains = local_trust_domains(inv);
        let mut emit = |i: usize,
                        path: Vec<Step<'_>>,
                        field: &str,
                        values: &[String],
                        severity: Severity| {
            let shown = format!("[{}]", values.join(", "));
            let mut severity = severity;
            let (message, why, fix) = if action == AuthorizationAction::Allow {
                let (effect, why) = match callers(&policy.spec.rules()[i], &domains) {
                    Callers::Named(who) => {
                        severity = Severity::Low;
                        (
                            format!("the callers the rule names ({who}) may make any request not listed; other callers and plaintext clients still do not match"),
                            format!("rule {i} also requires {who}, a positive identity match, so the negative `{field}` only widens what those callers may do; low severity"),
                        )
                    }
                    Callers::AnyIdentity(who) => (
                        format!("every request not listed is allowed for any mesh identity ({who}); plaintext clients do not match"),
                        format!("an ALLOW rule with `{field}` matches whatever is absent from the list; the rule's {who} requires an mTLS identity but admits every one"),
                    ),
                    Callers::Anyone => (
                        "every request not listed is allowed, including unexpected callers and plaintext clients".to_owned(),
                        format!("an ALLOW rule with `{field}` matches whatever is absent from the list; requests without an identity or attribute (plaintext, no token) are absent from every list, and the rule names no caller identity"),
                    ),
                };
                (
                    format!(
                        "{name} rule {i} ALLOWs with the negative match {field} {shown}: {effect}"
                    ),
                    why,
                    format!(
                        "Rewrite rule {i} of {name} with positive matches listing what is allowed, or move the exclusion into a DENY policy with `{field}`."
                    ),
                )
            } else {
                (
                    format!(
                        "{name} rule {i} DENYs with the positive match {field} {shown}: requests that spell the {} differently are not denied",
                        field.trim_end_matches('s')
                    ),
                    "a DENY with a positive match blocks only the exact forms listed; path normalization, case or port variants can bypass it".to_owned(),
                    format!(
                        "Phrase rule {i} of {name} negatively (e.g. `not{}` listing what is allowed), or replace it with an ALLOW policy listing what is permitted.",
                        capitalize(field)
                    ),
                )
            };
            let mut f = Finding::new(&RULE, policy.object, object, &path, message)
                .evidence(why)
                .remediation(fix);
            f.severity = severity;
            out.push(f);
        };
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            for (j, from) in rule.from.iter().enumerate() {
                let Some(s) = from.source.as_ref() else {
                    continue;
                };
                if action != AuthorizationAction::Allow {
                    continue;
                }
                for (field, values) in source_fields(s) {
                    if field.starts_with("not") && !values.is_empty() {
                        emit(i, source_path(i, j, field), field, values, Severity::Medium);
                    }
                }
            }
            for (j, to) in rule.to.iter().enumerate() {
                let Some(o) = to.operation.as_ref() else {
                    continue;
                };
                for (field, values) in operation_fields(o) {
                    if values.is_empty() {
                        continue;
                    }
                    if action == AuthorizationAction::Allow && field.starts_with("not") {
                        emit(
                            i,
                            operation_path(i, j, field),
                            field,
                            values,
                            Severity::Medium,
                        );
                    } else if action == AuthorizationAction::Deny
                        && matches!(field, "paths" | "hosts" | "methods")
                        && !values.iter().any(|v| v == "*")
                    {
                        emit(i, operation_path(i, j, field), field, values, Severity::Low);
                    }
                }
            }
            if action == AuthorizationAction::Allow {
                for (j, c) in rule.when.iter().enumerate() {
                    if !c.not_values.is_empty() {
                        emit(
                            i,
                            when_path(i, j, "notValues"),
                            &format!("when {} notValues", c.key),
                            &c.not_values,
                            Severity::Medium,
                        );
                    }
                }
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
