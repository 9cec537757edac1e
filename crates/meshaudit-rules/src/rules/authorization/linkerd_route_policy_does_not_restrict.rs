//! AUTHZ020: a Linkerd route-level AuthorizationPolicy that looks meant to restrict its route,
//! while the Server's own authorizations already admit other clients on every route.

use meshaudit_engine::linkerd::policy::{AuthzSource, RouteId};
use meshaudit_model::{Idx, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ020",
    name: "linkerd-route-policy-does-not-restrict",
    title: "Linkerd route policy cannot restrict its route",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "PCI-DSS:7.2.1",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

An `AuthorizationPolicy` that targets an `HTTPRoute` or `GRPCRoute` attached to a Server, while
that Server's own authorizations — AuthorizationPolicies on the Server or its namespace,
ServerAuthorizations, a permissive `accessPolicy` — admit clients the route policy does not.
Those clients reach the route anyway.

## Why it matters

Linkerd evaluates a request on a route against the route's own authorizations *and* all of its
Server's: a route-level policy can only add access, never narrow it. A policy written to keep
`/admin` for an operator job while the Server authorizes the web front end leaves `/admin` open
to the front end — and to anyone who compromises it. Per-route restriction works only when the
Server itself authorizes nobody (`accessPolicy: deny` and no Server-level policy), with every
client authorized route by route.

## Example

```yaml
# Server cart-http is authorized for storefront/web by AuthorizationPolicy cart-from-web...
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: cart-admin-janitor
  namespace: checkout
spec:
  targetRef:
    group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: cart-admin          # /admin
  requiredAuthenticationRefs:
  - group: policy.linkerd.io
    kind: MeshTLSAuthentication
    name: cart-janitors
# ...so web reaches /admin too.
```

## Fix

Move the Server-level authorization to the routes it is meant for: retarget `cart-from-web` to
the `cart-api` HTTPRoute, keep the Server at `accessPolicy: deny` with no Server-level policy,
and authorize each route for its own callers.

## References

- Linkerd: Configuring per-route authorization policy — https://linkerd.io/2.18/tasks/configuring-per-route-policy/
- Linkerd: Authorization policy reference (AuthorizationPolicy targets) — https://linkerd.io/2.18/reference/authorization-policy/#authorizationpolicy
- linkerd2-proxy, route authorizations chained with the server's (`mk_authorizations`) — https://github.com/linkerd/linkerd2-proxy/blob/main/linkerd/proxy/server-policy/src/authz.rs
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if inv.linkerd.http_routes.is_empty() && inv.linkerd.grpc_routes.is_empty() {
        return;
    }
    let lp = ctx.linkerd_policy();
    let routes = Idx::all(&inv.linkerd.http_routes)
        .map(RouteId::Http)
        .chain(Idx::all(&inv.linkerd.grpc_routes).map(RouteId::Grpc));
    for id in routes {
        let facts = lp.route(id);
        if facts.authorizations.is_empty() {
            continue;
        }
        for s in lp.route_servers(id) {
            let server = &inv.linkerd.servers[s];
            let sf = lp.server(s);
            if !sf.governs.iter().any(|&(w, _)| lp.gets_proxy(w)) {
                continue;
            }
            let uncovered: Vec<_> = sf
                .authorizations
                .iter()
                .filter(|a| !facts.authorizations.iter().any(|b| lp.includes(b, a)))
                .collect();
            if uncovered.is_empty() {
                continue;
            }
            for route_authz in &facts.authorizations {
                let AuthzSource::Policy(pi) = route_authz.source else {
                    continue;
                };
                let p = &inv.linkerd.authorization_policies[pi];
                let others: Vec<String> = uncovered
                    .iter()
                    .map(|a| format!("{} ({})", a.label, a.describe_authentication()))
                    .collect();
                let mut f = Finding::new(
                    &RULE,
                    p.object,
                    inv.object(p.object),
                    &[Step::Key("spec"), Step::Key("targetRef")],
                    format!(
                        "{} authorizes {} on {} ({}), but Server {}/{} admits others on every route it carries: {} reach the route too — a route-level policy only adds access",
                        route_authz.label,
                        route_authz.describe_authentication(),
                        lp.route_label(id),
                        facts.matches,
                        server.namespace,
                        server.name,
                        others.join("; ")
                    ),
                )
                .key(server.name.clone());
                for a in &uncovered {
                    for b in &a.because {
                        f.add_because(inv, b);
                    }
                }
                out.push(f.remediation(format!(
                    "Authorize the Server's clients on their own routes instead of on Server {}/{} (retarget those policies to the routes they are meant for, keep the Server at accessPolicy deny), so {} admits only its own callers.",
                    server.namespace,
                    server.name,
                    lp.route_label(id)
                )));
            }
        }
    }
}
