//! AUTHZ011: JWT-based policy (request principals, `request.auth.*`, claim-based routing) on
//! workloads that no RequestAuthentication covers, where no token is ever validated.

use std::collections::HashMap;

use meshaudit_model::istio::{AuthorizationAction, GatewaySpec, Typed};
use meshaudit_model::{AuthorizationPolicyId, Step, WorkloadId};

use super::policies::policy_name;
use super::rule_paths::{source_path, when_path};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{join_limited, workload_name};

pub static RULE: Rule = Rule {
    code: "AUTHZ011",
    name: "jwt-rule-without-request-authentication",
    title: "JWT-based rule on a workload without RequestAuthentication",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "PCI-DSS:8.3.1", "NIST-800-204B:EAUZ-SR-3"],
    doc: r#"
## What it detects

- An AuthorizationPolicy rule using `requestPrincipals`, `notRequestPrincipals` or a
  `request.auth.*` condition, applied to workloads that no RequestAuthentication selects. There,
  no JWT is validated, so the request principal and claims are always empty:
  - ALLOW with `requestPrincipals` / `request.auth.*` values never matches: those requests are
    denied (medium);
  - DENY with `requestPrincipals` / `request.auth.*` values never matches: the deny is bypassed
    (high);
  - DENY with `notRequestPrincipals` / `notValues` always matches: everything is denied (medium);
  - ALLOW with `notRequestPrincipals` / `notValues` always matches: the exclusion excludes
    nobody (medium).
- A VirtualService bound to a gateway that routes on `@request.auth.claims.*` headers, when no
  RequestAuthentication applies to that gateway's workloads (high): the claim is not taken from
  a validated token, so routing decisions rest on data the client controls or that is never set.

## Why it matters

Istio only fills request principals and `request.auth.*` from tokens that a RequestAuthentication
validated. Without one, JWT rules silently do the opposite of what they say: a DENY meant to block
a token subject lets it through, an ALLOW meant to admit users denies them. Claim-based routing
likewise requires the gateway to validate the JWT first.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-suspended
  namespace: orders
spec:
  selector:
    matchLabels:
      app: orders
  action: DENY
  rules:
  - from:
    - source:
        requestPrincipals: ["https://idp.example.com/suspended-user"]
# ...and no RequestAuthentication selects app=orders
```

## Fix

Add a RequestAuthentication for the same workloads (or the gateway), and require a token where
it matters (ALLOW with `requestPrincipals: ["*"]`).

```yaml
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: orders-jwt
  namespace: orders
spec:
  selector:
    matchLabels:
      app: orders
  jwtRules:
  - issuer: https://idp.example.com
    jwksUri: https://idp.example.com/.well-known/jwks.json
```

## References

- Istio: RequestAuthentication reference — https://istio.io/latest/docs/reference/config/security/request_authentication/
- Istio: Authorization conditions (request.auth.*) — https://istio.io/latest/docs/reference/config/security/conditions/
- Istio: JWT claim based routing — https://istio.io/latest/docs/tasks/security/authentication/jwt-route/
- Istio: Authorization policy reference (requestPrincipals) — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- CWE-287: Improper Authentication
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    check_policies(ctx, out);
    check_claim_routing(ctx, out);
}

fn check_policies(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for (p, policy) in AuthorizationPolicyId::enumerate(&inv.istio.authorization_policies) {
        let action = policy.spec.action;
        if !matches!(
            action,
            AuthorizationAction::Allow | AuthorizationAction::Deny
        ) {
            continue;
        }
        // (path, what, negative)
        let mut fields: Vec<(usize, Vec<Step<'static>>, String, bool)> = Vec::new();
        for (i, rule) in policy.spec.rules().iter().enumerate() {
            for (j, from) in rule.from.iter().enumerate() {
                let Some(s) = from.source.as_ref() else {
                    continue;
                };
                for (field, values, negative) in [
                    ("requestPrincipals", &s.request_principals, false),
                    ("notRequestPrincipals", &s.not_request_principals, true),
                ] {
                    if !values.is_empty() {
                        fields.push((
                            i,
                            source_path(i, j, field),
                            format!("{field} [{}]", values.join(", ")),
                            negative,
                        ));
                    }
                }
            }
            for (j, c) in rule.when.iter().enumerate() {
                if !c.key.starts_with("request.auth.") {
                    continue;
                }
                for (field, values, negative) in [
                    ("values", &c.values, false),
                    ("notValues", &c.not_values, true),
                ] {
                    if !values.is_empty() {
                        fields.push((
                            i,
                            when_path(i, j, field),
                            format!("when {} {field} [{}]", c.key, values.join(", ")),
                            negative,
                        ));
                    }
                }
            }
        }
        if fields.is_empty() {
            continue;
        }
        let uncovered: Vec<String> = ctx
            .graph()
            .workloads_of_authorization_policy(p)
            .iter()
            .copied()
            .filter(|&w| ctx.graph().workload(w).request_authentications.is_empty())
            .map(|w| workload_name(&inv.workloads[w]))
            .collect();
        if uncovered.is_empty() {
            continue;
        }
        let object = inv.object(policy.object);
        for (i, path, what, negative) in fields {
            let (severity, effect) = match (action, negative) {
                (AuthorizationAction::Deny, false) => (
                    Severity::High,
                    "this DENY never matches, so the requests it targets are not denied",
                ),
                (AuthorizationAction::Deny, true) => (
                    Severity::Medium,
                    "this DENY matches every request, so all matching traffic is denied",
                ),
                (_, false) => (
                    Severity::Medium,
                    "this ALLOW never matches, so the requests it means to admit are denied",
                ),
                (_, true) => (
                    Severity::Medium,
                    "this ALLOW's exclusion never excludes anyone",
                ),
            };
            let mut f = Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "{} rule {i} ({}) uses {what}, but no RequestAuthentication applies to {}: request principals and claims are always empty there, and {effect}",
                    policy_name(policy),
                    action.as_str(),
                    join_limited(&uncovered, 3)
                ),
            )
            .evidence(format!(
                "workloads the policy applies to without any RequestAuthentication: {}",
                join_limited(&uncovered, 8)
            ))
            .evidence("Istio sets request.auth.* and request principals only from a JWT validated by a RequestAuthentication")
            .remediation(format!(
                "Add a RequestAuthentication selecting {} with the issuer these rules expect, or remove the JWT conditions from {} rule {i}.",
                join_limited(&uncovered, 3),
                policy_name(policy)
            ));
            f.severity = severity;
            out.push(f);
        }
    }
}

fn check_claim_routing(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if inv
        .istio
        .request_authentications
        .iter()
        .any(|r| r.spec.target_ref.is_some() || !r.spec.target_refs.is_empty())
    {
        // Attached by targetRef (Gateway API): which gateway it covers is not resolved here.
        return;
    }
    let gateways: HashMap<(&str, &str), &Typed<GatewaySpec>> = inv
        .istio
        .gateways
        .iter()
        .map(|g| ((g.namespace.as_str(), g.name.as_str()), g))
        .collect();
    for vs in &inv.istio.virtual_services {
        let routes_on_claims = inv
            .object(vs.object)
            .node
            .at(&["spec".into(), "http".into()])
            .and_then(|n| n.as_seq())
            .into_iter()
            .flatten()
            .filter_map(|route| route.get("match").and_then(|n| n.as_seq()))
            .flatten()
            .filter_map(|m| m.get("headers").and_then(|n| n.as_map()))
            .flatten()
            .any(|entry| entry.key.starts_with("@request.auth.claims"));
        if !routes_on_claims {
            continue;
        }
        // Gateway workloads the VirtualService is bound to, per gateway reference.
        let mut gateway_workloads: Vec<(String, Vec<WorkloadId>)> = Vec::new();
        for g in &vs.spec.gateways {
            if g == "mesh" {
                continue;
            }
            let (ns, name) = g
                .split_once('/')
                .unwrap_or((vs.namespace.as_str(), g.as_str()));
            let Some(gw) = gateways.get(&(ns, name)) else {
                continue;
            };
            if gw.spec.selector.is_empty() {
                continue;
            }
            let workloads = inv.workloads_matching(&gw.spec.selector);
            if !workloads.is_empty() {
                gateway_workloads.push((format!("{ns}/{name}"), workloads));
            }
        }
        let unvalidated: Vec<(String, Vec<String>)> = gateway_workloads
            .into_iter()
            .filter(|(_, ws)| {
                ws.iter()
                    .all(|&w| ctx.graph().workload(w).request_authentications.is_empty())
            })
            .map(|(g, ws)| {
                (
                    g,
                    ws.iter()
                        .map(|&w| workload_name(&inv.workloads[w]))
                        .collect(),
                )
            })
            .collect();
        if unvalidated.is_empty() {
            continue;
        }
        let object = inv.object(vs.object);
        let Some(http) = object
            .node
            .at(&["spec".into(), "http".into()])
            .and_then(|n| n.as_seq())
        else {
            continue;
        };
        for (i, route) in http.iter().enumerate() {
            let Some(matches) = route.get("match").and_then(|n| n.as_seq()) else {
                continue;
            };
            for (j, m) in matches.iter().enumerate() {
                let Some(headers) = m.get("headers").and_then(|n| n.as_map()) else {
                    continue;
                };
                for entry in headers {
                    if !entry.key.starts_with("@request.auth.claims") {
                        continue;
                    }
                    let path = [
                        Step::Key("spec"),
                        Step::Key("http"),
                        Step::Index(i),
                        Step::Key("match"),
                        Step::Index(j),
                        Step::Key("headers"),
                        Step::Key(&entry.key),
                    ];
                    let gateways: Vec<String> =
                        unvalidated.iter().map(|(g, _)| g.clone()).collect();
                    let mut f = Finding::new(
                        &RULE,
                        vs.object,
                        object,
                        &path,
                        format!(
                            "VirtualService {}/{} routes http[{i}] on `{}`, but no RequestAuthentication applies to the workloads of gateway {}: the claim is not from a validated token, so the route decision cannot be trusted",
                            vs.namespace,
                            vs.name,
                            entry.key,
                            gateways.join(", ")
                        ),
                    )
                    .remediation(format!(
                        "Add a RequestAuthentication selecting the gateway workloads of {} (in their namespace or the root namespace), and an AuthorizationPolicy requiring a valid token on the routed hosts.",
                        gateways.join(", ")
                    ));
                    for (g, ws) in &unvalidated {
                        f = f.evidence(format!(
                            "Gateway {g} selects {}, none of which a RequestAuthentication applies to",
                            join_limited(ws, 4)
                        ));
                    }
                    f.severity = Severity::High;
                    out.push(f);
                }
            }
        }
    }
}
