//! AUTHZ012: an authorization rule with HTTP-only fields applied to ports Istio handles as TCP.

use meshaudit_engine::protocol::Layer;
use meshaudit_model::istio::{AuthorizationAction, AuthorizationRule};

use super::policies::{policy_name, rule_targets_port};
use super::rule_paths::rule_path;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{join_limited, workload_name};
use meshaudit_model::AuthorizationPolicyId;

pub static RULE: Rule = Rule {
    code: "AUTHZ012",
    name: "http-rule-on-tcp-port",
    title: "HTTP-only authorization rule applies to a TCP port",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "PCI-DSS:7.2.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

An ALLOW or DENY AuthorizationPolicy rule that uses HTTP-only fields (`paths`, `notPaths`,
`methods`, `notMethods`, `hosts`, `notHosts`, `requestPrincipals`, `notRequestPrincipals`, or a
`request.*` condition) and applies to a workload port that Istio handles as TCP by its protocol
selection: `appProtocol` or a port name of `tcp`, `tls`, `https`, `mongo`, `mysql`, `redis`, or
an undeclared well-known server-first port (25, 53, 3306, 27017). Ports whose protocol Istio
sniffs are not reported. A rule restricted by `ports` / `destination.port` is only checked on
those ports.

## Why it matters

On a TCP port the proxy cannot see HTTP attributes, and istiod rewrites the policy:

- an **ALLOW** rule with an HTTP-only field is dropped entirely: the clients it was written to
  admit are denied (often discovered as a broken database or gRPC-over-TLS connection);
- a **DENY** rule keeps only its connection-level fields: a DENY on `methods: ["DELETE"]` denies
  **all** TCP connections to the workload that the rest of the rule matches, far more than
  intended.

Either way the policy does not do what it says, and the owner rarely expects it.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ledger-db
  namespace: payments
spec:
  selector:
    matchLabels:
      app: ledger-db        # Service port named `tcp-postgres`
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/payments/sa/ledger"]
    to:
    - operation:
        methods: ["GET"]
```

## Fix

Use only connection-level fields (principals, namespaces, ipBlocks, ports) for TCP ports, and
scope HTTP rules to the HTTP ports with `to.operation.ports`. If the port really carries HTTP,
name it `http-...` or set `appProtocol: http`.

```yaml
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/payments/sa/ledger"]
    to:
    - operation:
        ports: ["5432"]
```

## References

- Istio: Authorization for TCP traffic — https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/
- Istio: Authorization conditions (which attributes are HTTP-only) — https://istio.io/latest/docs/reference/config/security/conditions/
- Istio: Protocol selection — https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
- CWE-863: Incorrect Authorization
"#,
    check,
};

/// The HTTP-only fields a rule uses, by name.
fn http_fields(rule: &AuthorizationRule) -> Vec<String> {
    let mut out = Vec::new();
    for o in rule.to.iter().filter_map(|t| t.operation.as_ref()) {
        for (name, values) in [
            ("hosts", &o.hosts),
            ("notHosts", &o.not_hosts),
            ("methods", &o.methods),
            ("notMethods", &o.not_methods),
            ("paths", &o.paths),
            ("notPaths", &o.not_paths),
        ] {
            if !values.is_empty() && !out.iter().any(|x| x == name) {
                out.push(name.to_owned());
            }
        }
    }
    for s in rule.from.iter().filter_map(|f| f.source.as_ref()) {
        for (name, values) in [
            ("requestPrincipals", &s.request_principals),
            ("notRequestPrincipals", &s.not_request_principals),
        ] {
            if !values.is_empty() && !out.iter().any(|x| x == name) {
                out.push(name.to_owned());
            }
        }
    }
    for c in &rule.when {
        if c.key.starts_with("request.") {
            out.push(format!("when {}", c.key));
        }
    }
    out
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
        let workloads = ctx.graph().workloads_of_authorization_policy(p).to_vec();
        if workloads.is_empty() {
            continue;
        }
        let object = inv.object(policy.object);
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            let fields = http_fields(rule);
            if fields.is_empty() {
                continue;
            }
            let mut hits = Vec::new();
            for &w in &workloads {
                for server in ctx.graph().ports_of(w) {
                    if server.proxied
                        && server.protocol.layer() == Layer::Tcp
                        && rule_targets_port(rule, server.port)
                    {
                        hits.push((w, server));
                    }
                }
            }
            if hits.is_empty() {
                continue;
            }
            let ports: Vec<String> = hits
                .iter()
                .map(|(w, s)| {
                    format!(
                        "{} port {} ({})",
                        workload_name(&inv.workloads[*w]),
                        s.port,
                        s.protocol.as_str()
                    )
                })
                .collect();
            let effect = if action == AuthorizationAction::Allow {
                "istiod drops this ALLOW rule on those ports, so the clients it was written to admit are denied"
            } else {
                "istiod drops the HTTP fields of this DENY rule on those ports and denies every TCP connection the rest of the rule matches"
            };
            let path = rule_path(i);
            let mut f = Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "{} rule {i} ({}) uses HTTP-only {} but applies to TCP {}: {effect}",
                    policy_name(policy),
                    action.as_str(),
                    fields.join(", "),
                    join_limited(&ports, 3)
                ),
            )
            .remediation(format!(
                "Scope rule {i} of {} to the HTTP ports with `to.operation.ports`, use only connection-level fields for the TCP ports, or declare the port's protocol as HTTP if it is.",
                policy_name(policy)
            ));
            for (_, server) in hits.iter().take(4) {
                f = f.evidence(format!(
                    "protocol of port {}: {}",
                    server.port,
                    server.protocol_because.render(inv)
                ));
                f.relate(inv, &server.protocol_because);
            }
            out.push(f);
        }
    }
}
