//! AUTHZ014: a Linkerd Server that no authorization opens to anybody, on meshed pods that
//! serve clients.

use meshaudit_engine::linkerd::policy::{PolicyTarget, RouteId};
use meshaudit_engine::Because;
use meshaudit_model::{Idx, LinkerdServerId, ServiceId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ014",
    name: "linkerd-server-authorizes-nobody",
    title: "Linkerd Server admits no client",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &["SOC2:A1.2", "SOC2:CC8.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

A Linkerd `Server` that selects ports of meshed pods, while nothing authorizes any client on it:
no `AuthorizationPolicy` targeting it (or its namespace, or one of its routes) that Linkerd
accepts, no valid `ServerAuthorization` selecting it, and an `accessPolicy` of `deny` — which is
what a Server without `accessPolicy` has. Policies that target it but that Linkerd ignores (a
missing or invalid authentication, an unsupported ref) are listed as evidence.

`medium` when a Service routes to one of its ports: clients are expected and every one of them
is refused. `low` when no Service of the input routes there (the port may be unused).

## Why it matters

Once a Server selects a port, Linkerd no longer applies the default policy there: only the
Server's authorizations admit clients. With none, every request gets HTTP 403 (gRPC
`PERMISSION_DENIED`) and every other connection is refused — localhost and kubelet `httpGet`
probes excepted, so the pods stay Ready while their callers fail. This is an availability
problem, not an exposure: usually the AuthorizationPolicy was forgotten, deleted, or written
against a MeshTLSAuthentication whose name is wrong.

## Example

```yaml
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: ledger-grpc
  namespace: billing
spec:
  podSelector:
    matchLabels:
      app: ledger
  port: grpc
  proxyProtocol: gRPC
# ...and no AuthorizationPolicy or ServerAuthorization for it
```

## Fix

Authorize the callers the port serves, by identity:

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: ledger-from-payments-api
  namespace: billing
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: ledger-grpc
  requiredAuthenticationRefs:
  - kind: ServiceAccount
    name: payments-api
```

If the port must really refuse everyone, say so with `accessPolicy: deny` and silence the
finding with a `meshaudit.io/ignore: AUTHZ014` annotation.

## References

- Linkerd: Authorization policy, Server (default deny once a Server selects a port) — https://linkerd.io/2.18/reference/authorization-policy/#server
- Linkerd: Server policy, policy rejections — https://linkerd.io/2.18/features/server-policy/
- linkerd2 policy controller, `client_authzs` — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/inbound/index.rs
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if inv.linkerd.servers.is_empty() {
        return;
    }
    let lp = ctx.linkerd_policy();
    for (s, server) in LinkerdServerId::enumerate(&inv.linkerd.servers) {
        let facts = lp.server(s);
        if !facts.authorizations.is_empty()
            || facts
                .routes
                .iter()
                .any(|&r| !lp.route(r).authorizations.is_empty())
        {
            continue;
        }
        let governed: Vec<(WorkloadId, u16)> = facts
            .governs
            .iter()
            .copied()
            .filter(|&(w, _)| lp.gets_proxy(w))
            .collect();
        if governed.is_empty() {
            continue;
        }
        let object = inv.object(server.object);
        let mut services: Vec<(ServiceId, usize, u16)> = Vec::new();
        for &(w, port) in &governed {
            for (si, pi) in lp.services_to(w, port) {
                if !services.iter().any(|&(a, b, _)| (a, b) == (si, pi)) {
                    services.push((si, pi, port));
                }
            }
        }
        let access = match server.spec.access_policy {
            Some(_) => "accessPolicy deny".to_owned(),
            None => "no accessPolicy (deny)".to_owned(),
        };
        let mut f = Finding::new(
            &RULE,
            server.object,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "Server {}/{} selects {} but nothing authorizes any client there ({access}, no AuthorizationPolicy or ServerAuthorization Linkerd accepts): every caller is refused",
                server.namespace,
                server.name,
                lp.describe_ports(&governed, 3)
            ),
        )
        .key("");
        if services.is_empty() {
            f.severity = Severity::Low;
            f = f.evidence("no Service of the input routes to these ports");
        }
        for &(si, pi, port) in &services {
            let svc = &inv.services[si];
            let p = &svc.spec.ports[pi];
            let b = Because::at(
                svc.object,
                &[Step::Key("spec"), Step::Key("ports"), Step::Index(pi)],
                format!(
                    "port {}{} routes to container port {port}: its clients are refused (HTTP 403, gRPC PERMISSION_DENIED, or the connection is closed)",
                    p.port,
                    p.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                ),
            );
            f.add_because(inv, &b);
        }
        // Policies meant for this Server that Linkerd ignores.
        for (pi, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
            if p.namespace != server.namespace {
                continue;
            }
            let pf = lp.policy(pi);
            let aimed = match &pf.target {
                PolicyTarget::Server { name, .. } => *name == server.name,
                PolicyTarget::Namespace { .. } => true,
                PolicyTarget::HttpRoute { route: Some(r), .. } => {
                    facts.routes.contains(&RouteId::Http(*r))
                }
                PolicyTarget::GrpcRoute { route: Some(r), .. } => {
                    facts.routes.contains(&RouteId::Grpc(*r))
                }
                _ => false,
            };
            if !aimed {
                continue;
            }
            for problem in &pf.problems {
                let b = Because::at(
                    p.object,
                    &problem.path(),
                    format!(
                        "targets it, but Linkerd ignores the policy: {}",
                        lp.problem_text(pi, problem)
                    ),
                );
                f.add_because(inv, &b);
            }
        }
        for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
            let sf = lp.server_authorization(i);
            if let (true, Some(problem)) = (sf.servers.contains(&s), sf.problem) {
                let b = Because::at(
                    saz.object,
                    &[Step::Key("spec"), Step::Key("client")],
                    format!("selects it, but {problem}"),
                );
                f.add_because(inv, &b);
            }
        }
        let b = Because::at(
            server.object,
            &[Step::Key("spec"), Step::Key("accessPolicy")],
            "a Server's own fallback is accessPolicy, deny when not set: no client is admitted without an authorization",
        );
        f.relate(inv, &b);
        f = f.remediation(format!(
            "Add an AuthorizationPolicy targeting Server {}/{} that requires the identities of its callers (a MeshTLSAuthentication or a ServiceAccount ref), or fix the policy Linkerd ignores.",
            server.namespace, server.name
        ));
        out.push(f);
    }
}
