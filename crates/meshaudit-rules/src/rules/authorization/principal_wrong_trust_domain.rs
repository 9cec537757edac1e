//! AUTHZ007: a principal whose trust domain is not the mesh's (nor an alias, nor
//! `cluster.local`): it never matches a workload of this mesh.

use std::collections::BTreeSet;

use meshaudit_model::istio::AuthorizationAction;
use meshaudit_model::Inventory;

use super::identities::{identity_values, local_trust_domains, IdentityKind};
use super::policies::policy_name;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ007",
    name: "principal-wrong-trust-domain",
    title: "Principal names a foreign trust domain and never matches",
    category: Category::Authorization,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "PCI-DSS:7.2.1", "NIST-800-204B:5.2.1"],
    doc: r#"
## What it detects

A value in `principals` / `notPrincipals` (or a `source.principal` condition) of an
AuthorizationPolicy whose trust-domain part (before `/ns/`) is none of: the mesh's trust domain
(`meshConfig.trustDomain`), one of `meshConfig.trustDomainAliases`, or `cluster.local` (which in a
policy always stands for the local trust domain). A value written with a `spiffe://` prefix is
reported too: Istio principals are written without it, so it never matches.

Suffix patterns (`*/ns/a/sa/b`) carry no trust domain and are not checked.

When the input has no mesh config (the `istio` ConfigMap), the trust domain is unknown. A custom
trust domain that is the only one the policies use is then taken to be the mesh's own and not
reported; when the policies use several different custom trust domains, each is reported at low
severity, since they cannot all match unless they are aliases. `spiffe://` values are reported
either way.

## Why it matters

Workloads of this mesh present identities in the local trust domain only, so the value can never
match one of them. A DENY rule built on it protects nothing (high); an ALLOW rule built on it
denies the callers it was written for, or is dead (medium). For `notPrincipals` the effect is
reversed: an ALLOW's exclusion excludes nobody (high), a DENY's exemption exempts nobody (medium).
Typical causes: a copy from another cluster, a trust-domain migration without
`trustDomainAliases`, or a `spiffe://` prefix.

## Example

```yaml
# meshConfig.trustDomain: prod.example.com, no aliases
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-batch
  namespace: payments
spec:
  action: DENY
  rules:
  - from:
    - source:
        principals: ["staging.example.com/ns/batch/sa/importer"]
```

## Fix

Write principals with the mesh's trust domain, or with `cluster.local`, which Istio rewrites to
the current trust domain and its aliases. During a migration, list the old domain in
`meshConfig.trustDomainAliases`.

```yaml
        principals: ["cluster.local/ns/batch/sa/importer"]
```

## References

- Istio: Authorization policy trust domain migration — https://istio.io/latest/docs/tasks/security/authorization/authz-td-migration/
- Istio: Authorization policy reference (principals) — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Mesh configuration (trustDomain, trustDomainAliases) — https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/
- CWE-863: Incorrect Authorization
"#,
    check,
};

/// The trust-domain part of a principal pattern, when it has one.
fn trust_domain_of(value: &str) -> Option<&str> {
    if value.starts_with('*') {
        return None;
    }
    let td = match value.split_once("/ns/") {
        Some((td, _)) => td,
        None => value.strip_suffix('*')?.split_once('/')?.0,
    };
    (!td.is_empty() && !td.contains('*')).then_some(td)
}

/// Trust domains (other than the local ones) that principals of the input name, `spiffe://`
/// values aside.
fn foreign_trust_domains<'a>(inv: &'a Inventory, domains: &[&str]) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    for policy in &inv.istio.authorization_policies {
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            for v in identity_values(i, rule) {
                if v.kind != IdentityKind::Principal || v.value.starts_with("spiffe://") {
                    continue;
                }
                if let Some(td) = trust_domain_of(v.value).filter(|td| !domains.contains(td)) {
                    out.insert(td);
                }
            }
        }
    }
    out
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let domains = local_trust_domains(inv);
    // Without a mesh config the trust domain is unknown: a custom domain used by every policy
    // is most likely the mesh's own; several different ones cannot all be (short of aliases).
    let unknown_domain = inv.istio.mesh_config.is_none();
    let foreign = if unknown_domain {
        foreign_trust_domains(inv, &domains)
    } else {
        BTreeSet::new()
    };
    for policy in &inv.istio.authorization_policies {
        let action = policy.spec.action;
        if action == AuthorizationAction::Audit {
            continue;
        }
        let object = inv.object(policy.object);
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            for v in identity_values(i, rule) {
                if v.kind != IdentityKind::Principal {
                    continue;
                }
                let Some(td) = trust_domain_of(v.value) else {
                    continue;
                };
                if domains.contains(&td) {
                    continue;
                }
                let spiffe = v.value.strip_prefix("spiffe://");
                let guess = unknown_domain && spiffe.is_none();
                if guess && foreign.len() <= 1 {
                    continue;
                }
                let (severity, effect) = match (action, v.negative) {
                    (AuthorizationAction::Allow, false) => (
                        Severity::Medium,
                        "the ALLOW never admits the caller it names",
                    ),
                    (AuthorizationAction::Allow, true) => (
                        Severity::High,
                        "the ALLOW's exclusion excludes nobody, so that caller is allowed",
                    ),
                    (_, false) => (
                        Severity::High,
                        "the DENY never matches, so the caller it names is not denied",
                    ),
                    (_, true) => (
                        Severity::Medium,
                        "the DENY's exemption exempts nobody, so that caller is denied too",
                    ),
                };
                let why = match spiffe {
                    Some(_) => "it is written with a `spiffe://` prefix, which Istio principals never carry".to_owned(),
                    None => format!(
                        "its trust domain `{td}` is not the mesh's ({}), not an alias and not `cluster.local`",
                        inv.istio.trust_domain()
                    ),
                };
                let fixed = match spiffe {
                    Some(rest) => rest.to_owned(),
                    None => format!("cluster.local{}", &v.value[td.len()..]),
                };
                let message = if guess {
                    format!(
                        "{} rule {i} {} `{}` names trust domain `{td}`, but the input has no mesh config, so the mesh's trust domain is unknown, and the policies name {} different custom trust domains ({}): unless `{td}` is the mesh's trust domain or an alias, {effect}",
                        policy_name(policy),
                        v.field,
                        v.value,
                        foreign.len(),
                        foreign.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                } else {
                    format!(
                        "{} rule {i} {} `{}` can never match a workload of this mesh: {why}; {effect}",
                        policy_name(policy),
                        v.field,
                        v.value
                    )
                };
                let mut f = Finding::new(&RULE, policy.object, object, &v.path, message);
                if guess {
                    f = f.evidence(
                        "no mesh config (ConfigMap istio-system/istio, key `mesh`) in the input: the mesh's trust domain and aliases are unknown (Istio's default is cluster.local); `cluster.local` in a policy always matches local workloads",
                    ).evidence(
                        "low severity: without the mesh config this cannot be decided; include the mesh config in the input for a definite answer",
                    );
                } else {
                    f = f.evidence(format!(
                        "trust domains that match local workloads: {}{}",
                        domains.join(", "),
                        match &inv.istio.mesh_config {
                            Some(m) => format!(" (from {})", inv.object(m.object).qualified_name()),
                            None => " (no mesh config in the input: Istio's default)".to_owned(),
                        }
                    ));
                }
                f = f
                .remediation(if spiffe.is_some() {
                    format!(
                        "Write `{fixed}` instead of `{}` in {} rule {i}: principals are written without `spiffe://`.",
                        v.value,
                        policy_name(policy)
                    )
                } else {
                    format!(
                        "Write `{fixed}` instead of `{}` in {} rule {i}, or add `{td}` to meshConfig.trustDomainAliases if it is this mesh's former trust domain.",
                        v.value,
                        policy_name(policy)
                    )
                });
                f.severity = if guess { Severity::Low } else { severity };
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_domain_part() {
        assert_eq!(trust_domain_of("td.io/ns/a/sa/b"), Some("td.io"));
        assert_eq!(trust_domain_of("td.io/*"), Some("td.io"));
        assert_eq!(
            trust_domain_of("spiffe://td.io/ns/a/sa/b"),
            Some("spiffe://td.io")
        );
        assert_eq!(trust_domain_of("*/ns/a/sa/b"), None);
        assert_eq!(trust_domain_of("*"), None);
        assert_eq!(trust_domain_of("td*"), None);
    }
}
