//! AUTHN010: a RequestAuthentication validates tokens but nothing requires one.

use meshaudit_engine::membership::DataPlane;
use meshaudit_model::istio::{AuthorizationAction, AuthorizationRule};
use meshaudit_model::{RequestAuthenticationId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "AUTHN010",
    name: "request-authentication-optional",
    title: "RequestAuthentication without a policy that requires a token",
    category: Category::Authentication,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "HIPAA:164.312(d)",
        "PCI-DSS:8.3.1",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

A RequestAuthentication that applies to workloads of the input, where no AuthorizationPolicy
applying to those workloads requires a request principal: no ALLOW rule with
`from.source.requestPrincipals` (or a `when` condition on `request.auth.*`), no DENY rule with
`notRequestPrincipals` (or `notValues` on `request.auth.*`), and no CUSTOM policy delegating the
decision to an external authorizer.

Severity is `medium`, and `high` when a workload is reachable from outside the cluster: it is an
Istio gateway, or a Service of type `LoadBalancer` or `NodePort` (or with `externalIPs`) selects
it.

## Why it matters

A RequestAuthentication only rejects requests whose token is invalid. In Istio's words, "a
request that does not contain any authentication credentials will be accepted but will not have
any authenticated identity". Teams often add a RequestAuthentication believing the API now needs a
JWT; without an authorization rule that demands one, simply leaving the `Authorization` header out
bypasses authentication.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: api-jwt
  namespace: shop
spec:
  selector:
    matchLabels:
      app: api
  jwtRules:
  - issuer: https://auth.example.com/
    jwksUri: https://auth.example.com/.well-known/jwks.json
```

## Fix

Add an AuthorizationPolicy that requires a valid token on the same workloads:

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: api-require-jwt
  namespace: shop
spec:
  selector:
    matchLabels:
      app: api
  action: DENY
  rules:
  - from:
    - source:
        notRequestPrincipals: ["*"]
```

## References

- Istio: RequestAuthentication reference — https://istio.io/latest/docs/reference/config/security/request_authentication/
- Istio: Authorization with JWT (require a valid token) — https://istio.io/latest/docs/tasks/security/authorization/authz-jwt/
- Istio: End-user authentication — https://istio.io/latest/docs/tasks/security/authentication/authn-policy/#end-user-authentication
- NIST SP 800-204A, SM-DR1
- CWE-306: Missing Authentication for Critical Function
"#,
    check,
};

/// Does the rule, under `action`, make a request without a token fail?
fn requires_token(rule: &AuthorizationRule, action: AuthorizationAction) -> bool {
    let sources = rule.from.iter().filter_map(|f| f.source.as_ref());
    let auth_conditions = rule
        .when
        .iter()
        .filter(|c| c.key.starts_with("request.auth."));
    match action {
        AuthorizationAction::Allow => {
            sources.clone().any(|s| !s.request_principals.is_empty())
                || auth_conditions.clone().any(|c| !c.values.is_empty())
        }
        AuthorizationAction::Deny => {
            sources
                .clone()
                .any(|s| !s.not_request_principals.is_empty())
                || auth_conditions.clone().any(|c| !c.not_values.is_empty())
        }
        _ => false,
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let policies = &inv.istio.authorization_policies;
    for (r, ra) in RequestAuthenticationId::enumerate(&inv.istio.request_authentications) {
        let applies = graph.workloads_of_request_authentication(r);
        let optional: Vec<WorkloadId> = applies
            .iter()
            .copied()
            .filter(|&w| {
                !graph.workload(w).authorization_policies.iter().any(|&p| {
                    let policy = &policies[p];
                    policy.spec.action == AuthorizationAction::Custom
                        || policy
                            .spec
                            .rules()
                            .iter()
                            .any(|rule| requires_token(rule, policy.spec.action))
                })
            })
            .collect();
        if optional.is_empty() {
            continue;
        }
        let external: Vec<(WorkloadId, String)> = optional
            .iter()
            .filter_map(|&w| {
                let node = graph.workload(w);
                if node.istio_data_plane() == DataPlane::Gateway {
                    return Some((w, "it is an Istio gateway".to_owned()));
                }
                node.services.iter().find_map(|&s| {
                    let service = &inv.services[s];
                    let kind = service.spec.service_type();
                    (matches!(kind, "LoadBalancer" | "NodePort")
                        || !service.spec.external_ips.is_empty())
                    .then(|| {
                        format!(
                            "Service {}/{} exposes it outside the cluster (type {kind})",
                            service.namespace, service.name
                        )
                    })
                    .map(|why| (w, why))
                })
            })
            .collect();
        let names: Vec<String> = optional
            .iter()
            .map(|&w| workload_name(&inv.workloads[w]))
            .collect();
        let object = inv.object(ra.object);
        let path = [Step::Key("spec"), Step::Key("jwtRules")];
        let mut f = Finding::new(
            &RULE,
            ra.object,
            object,
            &path,
            format!(
                "RequestAuthentication {}/{} validates tokens for {}, but no AuthorizationPolicy requires one: requests with no token are accepted",
                ra.namespace,
                ra.name,
                names.join(", ")
            ),
        )
        .key("optional")
        .evidence(
            "Istio accepts a request without credentials; only an invalid token is rejected (401)",
        )
        .remediation(format!(
            "Add an AuthorizationPolicy on the same workloads as RequestAuthentication {}/{} that requires a token: DENY with from.source.notRequestPrincipals: [\"*\"], or ALLOW rules with requestPrincipals.",
            ra.namespace, ra.name
        ));
        for &w in &optional {
            let count = graph.workload(w).authorization_policies.len();
            f = f.evidence(format!(
                "{}: {count} AuthorizationPolic{}, none with requestPrincipals (ALLOW) or notRequestPrincipals (DENY)",
                workload_name(&inv.workloads[w]),
                if count == 1 { "y applies" } else { "ies apply" }
            ));
        }
        if external.is_empty() {
            f = f.evidence("severity medium: none of these workloads is exposed outside the cluster in the input");
        } else {
            for (w, why) in &external {
                f = f.evidence(format!(
                    "{} is reachable from outside: {why}, so anyone can call it without a token",
                    workload_name(&inv.workloads[*w])
                ));
            }
            f.severity = Severity::High;
        }
        out.push(f);
    }
}
