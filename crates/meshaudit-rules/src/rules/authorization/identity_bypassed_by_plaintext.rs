//! AUTHZ005: a DENY on identities (or an ALLOW on "not" identities) on a workload that accepts
//! plaintext, where requests carry no identity.

use meshaudit_engine::graph::{Reach, Transport};
use meshaudit_model::istio::{AuthorizationAction, AuthorizationRule, MtlsMode};
use meshaudit_model::{AuthorizationPolicyId, Step, WorkloadId};

use super::policies::{policy_name, rule_targets_port};
use super::rule_paths::{source_path, when_path};
use crate::rules::naming::{join_limited, workload_name};
use meshaudit_engine::Because;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ005",
    name: "identity-policy-bypassed-by-plaintext",
    title: "Identity-based policy is bypassed by plaintext requests",
    category: Category::Authorization,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:7.2.1",
        "NIST-800-204A:SM-DR6",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

An AuthorizationPolicy that decides on the caller's mTLS identity in the direction plaintext
defeats, applied to a workload with a port that accepts plaintext (the port is behind the proxy
and its PeerAuthentication mode resolves to PERMISSIVE or DISABLE):

- a **DENY** rule matching `principals`, `namespaces` or `serviceAccounts` (or a `when`
  condition on `source.principal`, `source.namespace`, `source.serviceAccount`);
- an **ALLOW** rule using `notPrincipals`, `notNamespaces` or `notServiceAccounts` (or
  `notValues` on those conditions).

Ports where the effective-policy graph shows that a client without a sidecar is rejected
anyway (for example by a DENY rule with `notPrincipals: ["*"]`, the fix below) are not
reported. Severity is critical when the graph shows that a client without a sidecar actually
gets through on such a port (the ports are named), high otherwise.

## Why it matters

Principals and namespaces come from the client's mTLS certificate. A plaintext request has none:
Istio compares these fields against an empty value. A DENY on `namespaces: ["legacy"]` therefore
does not match a plaintext request from `legacy`, and an ALLOW with `notNamespaces: ["legacy"]`
matches it. Any pod without a sidecar (or whose traffic bypasses it) walks past the policy
meant to stop it. Istio published this as ISTIO-SECURITY-2021-004.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-legacy
  namespace: orders
spec:
  action: DENY
  rules:
  - from:
    - source:
        namespaces: ["legacy"]
# ...and namespace `orders` has no STRICT PeerAuthentication (PERMISSIVE by default)
```

## Fix

Require mTLS on the workload (PeerAuthentication `STRICT`), or make the policy also reject
requests without an identity: add a DENY rule with `notPrincipals: ["*"]` (or
`notNamespaces: ["*"]`), and write ALLOW rules with positive `principals`/`namespaces`.

```yaml
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: orders
spec:
  mtls:
    mode: STRICT
```

## References

- Istio: ISTIO-SECURITY-2021-004 (authorization policies and plaintext) — https://istio.io/latest/news/security/istio-security-2021-004/
- Istio: Dependency on mutual TLS — https://istio.io/latest/docs/concepts/security/#dependency-on-mutual-tls
- Istio: Security best practices, safer authorization policy pattern — https://istio.io/latest/docs/ops/best-practices/security/#safer-authorization-policy-pattern
- Istio: PeerAuthentication reference — https://istio.io/latest/docs/reference/config/security/peer_authentication/
- NIST SP 800-204A, SM-DR6; CWE-287: Improper Authentication
"#,
    check,
};

const IDENTITY_KEYS: [&str; 3] = [
    "source.principal",
    "source.namespace",
    "source.serviceAccount",
];

/// The first field of `rule` that plaintext defeats for `action`, as (path, description).
fn risky_field(
    rule_index: usize,
    rule: &AuthorizationRule,
    action: AuthorizationAction,
) -> Option<(Vec<Step<'static>>, String)> {
    let deny = action == AuthorizationAction::Deny;
    for (j, from) in rule.from.iter().enumerate() {
        let Some(s) = from.source.as_ref() else {
            continue;
        };
        let fields: [(&'static str, &Vec<String>); 3] = if deny {
            [
                ("principals", &s.principals),
                ("namespaces", &s.namespaces),
                ("serviceAccounts", &s.service_accounts),
            ]
        } else {
            [
                ("notPrincipals", &s.not_principals),
                ("notNamespaces", &s.not_namespaces),
                ("notServiceAccounts", &s.not_service_accounts),
            ]
        };
        for (field, values) in fields {
            if !values.is_empty() {
                return Some((
                    source_path(rule_index, j, field),
                    format!("{field} [{}]", values.join(", ")),
                ));
            }
        }
    }
    for (j, c) in rule.when.iter().enumerate() {
        if !IDENTITY_KEYS.contains(&c.key.as_str()) {
            continue;
        }
        let (field, values) = if deny {
            ("values", &c.values)
        } else {
            ("notValues", &c.not_values)
        };
        if !values.is_empty() {
            return Some((
                when_path(rule_index, j, field),
                format!("when {} {field} [{}]", c.key, values.join(", ")),
            ));
        }
    }
    None
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for (p, policy) in AuthorizationPolicyId::enumerate(&inv.istio.authorization_policies) {
        let action = policy.spec.action;
        if !matches!(
            action,
            AuthorizationAction::Allow | AuthorizationAction::Deny
        ) {
            continue;
        }
        let risky: Vec<(usize, &AuthorizationRule, Vec<Step<'static>>, String)> = policy
            .spec
            .rules()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| risky_field(i, r, action).map(|(path, what)| (i, r, path, what)))
            .collect();
        let Some((first_rule, _, path, what)) = risky.first() else {
            continue;
        };
        // (workload, port, plaintext client gets through, evidence)
        // Per exposed port: the workload, port, whether plaintext gets through today, the
        // evidence line, and the PeerAuthentication facts behind its mode.
        #[allow(clippy::type_complexity)]
        let mut exposed: Vec<(WorkloadId, u16, bool, String, Vec<Because>)> = Vec::new();
        for w in ctx
            .graph()
            .workloads_of_authorization_policy(p)
            .iter()
            .copied()
        {
            for server in ctx.graph().ports_of(w) {
                if !server.proxied || server.mode.mode == MtlsMode::Strict {
                    continue;
                }
                if !risky
                    .iter()
                    .any(|(_, r, _, _)| rule_targets_port(r, server.port))
                {
                    continue;
                }
                let plain = server.other_unmeshed();
                // Plaintext that is rejected anyway (e.g. by a DENY `notPrincipals: ["*"]`,
                // the fix this rule recommends) cannot bypass the policy.
                if matches!(plain.reach(), Reach::Denied | Reach::Fails) {
                    continue;
                }
                let open = plain.transport == Transport::Plaintext && plain.reach().is_open();
                let chain: Vec<String> =
                    server.mode.because.iter().map(|b| b.render(inv)).collect();
                let chain = if chain.is_empty() {
                    "no PeerAuthentication applies, so Istio's default PERMISSIVE".to_owned()
                } else {
                    chain.join("; ")
                };
                exposed.push((
                    w,
                    server.port,
                    open,
                    format!(
                        "{} port {} is {}: {chain}{}",
                        workload_name(&inv.workloads[w]),
                        server.port,
                        server.mode.mode.as_str(),
                        if open {
                            "; the graph shows a client without a sidecar reaching it in plaintext and being allowed"
                        } else {
                            ""
                        }
                    ),
                    server.mode.because.clone(),
                ));
            }
        }
        if exposed.is_empty() {
            continue;
        }
        let open_ports: Vec<String> = exposed
            .iter()
            .filter(|e| e.2)
            .map(|(w, port, _, _, _)| format!("{} port {port}", workload_name(&inv.workloads[*w])))
            .collect();
        let all_ports: Vec<String> = exposed
            .iter()
            .map(|(w, port, _, _, _)| format!("{} port {port}", workload_name(&inv.workloads[*w])))
            .collect();
        let effect = if action == AuthorizationAction::Deny {
            "plaintext requests carry no identity, so this DENY does not match them and any client without a sidecar bypasses it"
        } else {
            "plaintext requests carry no identity, so they are \"not in\" the list and this ALLOW admits them"
        };
        let object = inv.object(policy.object);
        let mut finding = Finding::new(
            &RULE,
            policy.object,
            object,
            path,
            format!(
                "{} rule {first_rule} {} on {what}, but {} accept{} plaintext: {effect}",
                policy_name(policy),
                action.as_str(),
                join_limited(&all_ports, 4),
                if all_ports.len() == 1 { "s" } else { "" }
            ),
        )
        .remediation(format!(
            "Set PeerAuthentication mode STRICT for {}, or add a DENY rule with `notPrincipals: [\"*\"]` so requests without an identity are rejected{}.",
            join_limited(&all_ports, 4),
            if action == AuthorizationAction::Allow {
                ", and rewrite the ALLOW with positive principals or namespaces"
            } else {
                ""
            }
        ));
        if !open_ports.is_empty() {
            finding.severity = Severity::Critical;
            finding = finding.evidence(format!(
                "plaintext from a client without a sidecar gets through today on {}",
                join_limited(&open_ports, 6)
            ));
        }
        for (_, _, _, e, chain) in exposed.iter().take(6) {
            finding = finding.evidence(e.clone());
            for b in chain {
                finding.relate(inv, b);
            }
        }
        out.push(finding);
    }
}
