//! AUTHZ019: a Linkerd Server, route or policy that selects no pod port.

use meshaudit_engine::components::LINKERD_EXTENSION_LABEL;
use meshaudit_engine::linkerd::policy::{NothingSelected, PolicyTarget, RouteId};
use meshaudit_engine::Because;
use meshaudit_model::{Idx, LinkerdServerId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ019",
    name: "linkerd-policy-selects-nothing",
    title: "Linkerd Server, route or policy selects nothing",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &["SOC2:CC6.1", "SOC2:CC8.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

Linkerd policy resources that apply to no pod port, in namespaces where the input has
workloads (so a partial input does not cause noise):

- a `Server` whose `podSelector` matches no pod template of its namespace, or whose `port` name
  no selected pod declares (the proxy's own `linkerd-proxy` and `linkerd-admin` count on meshed
  pods even when the template does not list them); `low` when every port it selects is governed
  by an older Server instead (Linkerd 2.18 keeps the oldest; earlier releases picked either), and
  when a Linkerd extension's chart ships the Server (label `linkerd.io/extension`) for pods that
  are not there: the multicluster chart creates Servers for the service mirrors that
  `linkerd multicluster link` adds later, and viz keeps its Prometheus Server when its own
  Prometheus is disabled;
- an `HTTPRoute` or `GRPCRoute` whose Server parent does not exist, or that Linkerd refuses (a
  parent in another namespace, with `port` or `sectionName`); `low` when attached to a Server
  whose `proxyProtocol` does not use it (an HTTPRoute on an `opaque`, `TLS` or `gRPC` Server, a
  GRPCRoute on any other, an HTTPRoute next to a GRPCRoute on the same Server);
- an `AuthorizationPolicy` targeting a route attached to no Server, or its `Namespace` while no
  Server of the namespace governs a port (namespace-wide policies apply to Servers only, never
  to ports on the default policy);
- a `ServerAuthorization` whose `server.selector` matches no Server's labels.

Policies targeting a Server that selects nothing are listed on that Server's finding.

## Why it matters

A selector that selects nothing is a typo or a stale resource after a relabel. Linkerd accepts
it silently: the port it was written for stays on the default policy (often
`all-unauthenticated`), and the authorizations that were to restrict it protect nothing, while
the YAML suggests otherwise.

## Example

```yaml
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: payments-api-admin
  namespace: billing
spec:
  podSelector:
    matchLabels:
      app: payments        # the pods are labelled app: payments-api
  port: admin-http
```

## Fix

Make the selector match the pod template's labels and the port a container port name (or
number) of those pods; point routes at an existing Server of their namespace without `port` or
`sectionName`; delete resources whose workload is gone.

## References

- Linkerd: Authorization policy reference (Server podSelector and port; HTTPRoute parentRefs) — https://linkerd.io/2.18/reference/authorization-policy/
- Linkerd: Configuring per-route authorization policy — https://linkerd.io/2.18/tasks/configuring-per-route-policy/
- linkerd2 policy controller, route parent refs (`ParentRef::from_http_parent_ref`) — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/inbound/routes.rs
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !inv.linkerd.is_present() {
        return;
    }
    let lp = ctx.linkerd_policy();

    for (s, server) in LinkerdServerId::enumerate(&inv.linkerd.servers) {
        let Some(nothing) = lp.server_selects_nothing(s) else {
            continue;
        };
        let object = inv.object(server.object);
        // Extension charts ship Servers ahead of (or without) their pods; no port of the input
        // was meant to be protected by them.
        let shipped_by = object.labels.get(LINKERD_EXTENSION_LABEL);
        let (path, what, severity): (Vec<Step<'_>>, String, Severity) = match &nothing {
            NothingSelected::NoPod { workloads } => (
                vec![Step::Key("spec"), Step::Key("podSelector")],
                format!(
                    "its podSelector matches none of the {workloads} pod template(s) of namespace `{}`",
                    server.namespace
                ),
                if shipped_by.is_some() {
                    Severity::Low
                } else {
                    Severity::Medium
                },
            ),
            NothingSelected::NoPort { pods } => (
                vec![Step::Key("spec"), Step::Key("port")],
                format!(
                    "no pod it selects ({}) has a TCP container port named `{}`",
                    pods.iter()
                        .take(3)
                        .map(|&w| {
                            let wl = &inv.workloads[w];
                            format!("{} {}", wl.kind, wl.name)
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    server.spec.port
                ),
                Severity::Medium,
            ),
            NothingSelected::Shadowed { by } => (
                vec![Step::Key("spec"), Step::Key("port")],
                format!(
                    "every port it selects is also selected by {}, which Linkerd 2.18 and later apply instead (older, or first by name); earlier releases picked either at random",
                    by.iter()
                        .map(|&o| format!("Server {}", inv.linkerd.servers[o].name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Severity::Low,
            ),
        };
        let consequence = match (&nothing, shipped_by) {
            (NothingSelected::NoPod { .. }, Some(extension)) => format!(
                "Linkerd's `{extension}` extension ships it (label {LINKERD_EXTENSION_LABEL}) for pods the input does not run, such as the service mirrors `linkerd multicluster link` adds later"
            ),
            _ => "the ports it was written for stay on the default policy".to_owned(),
        };
        let mut f = Finding::new(
            &RULE,
            server.object,
            object,
            &path,
            format!(
                "Server {}/{} governs no pod port: {what}; {consequence}",
                server.namespace, server.name
            ),
        )
        .key("");
        // What was meant to apply through it.
        for (pi, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
            if matches!(&lp.policy(pi).target, PolicyTarget::Server { server: Some(t), .. } if *t == s)
            {
                f.add_because(
                    inv,
                    &Because::at(
                        p.object,
                        &[Step::Key("spec"), Step::Key("targetRef")],
                        "targets it, so it protects nothing",
                    ),
                );
            }
        }
        for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
            if lp.server_authorization(i).servers.contains(&s) {
                f.add_because(
                    inv,
                    &Because::at(
                        saz.object,
                        &[Step::Key("spec"), Step::Key("server")],
                        "selects it, so it protects nothing",
                    ),
                );
            }
        }
        f.severity = severity;
        let fix = match nothing {
            NothingSelected::NoPod { .. } if shipped_by.is_some() => format!(
                "Nothing is exposed: Server {}/{} applies once the extension's pods run. Remove it through the extension's chart only if they never will.",
                server.namespace, server.name
            ),
            NothingSelected::NoPod { .. } => format!(
                "Make the podSelector of Server {}/{} match the pod template labels of the intended workload (not the Deployment's own labels), or delete the Server.",
                server.namespace, server.name
            ),
            NothingSelected::NoPort { .. } => format!(
                "Set `port` of Server {}/{} to a container port name (or number) the selected pods declare.",
                server.namespace, server.name
            ),
            NothingSelected::Shadowed { .. } => format!(
                "Delete Server {}/{} or narrow the other Server's selector: one Server per pod port.",
                server.namespace, server.name
            ),
        };
        out.push(f.remediation(fix));
    }

    // Routes.
    let routes = Idx::all(&inv.linkerd.http_routes)
        .map(RouteId::Http)
        .chain(Idx::all(&inv.linkerd.grpc_routes).map(RouteId::Grpc));
    for id in routes {
        let facts = lp.route(id);
        let (object_id, namespace) = match id {
            RouteId::Http(i) => (
                inv.linkerd.http_routes[i].object,
                &inv.linkerd.http_routes[i].namespace,
            ),
            RouteId::Grpc(i) => (
                inv.linkerd.grpc_routes[i].object,
                &inv.linkerd.grpc_routes[i].namespace,
            ),
        };
        if inv.workload_indexes_in(namespace).is_empty() {
            continue;
        }
        let object = inv.object(object_id);
        let label = lp.route_label(id);
        if let Some((index, why)) = facts.invalid_parent {
            out.push(Finding::new(
                &RULE,
                object_id,
                object,
                &[Step::Key("spec"), Step::Key("parentRefs"), Step::Index(index)],
                format!(
                    "{label} has a Server parent Linkerd does not accept ({why}): Linkerd ignores the whole route for inbound policy"
                ),
            )
            .remediation(format!(
                "Attach {label} to a Server of its own namespace by name only (no `port`, no `sectionName`)."
            )));
            continue;
        }
        for parent in facts.parents.iter().filter(|p| p.server.is_none()) {
            out.push(Finding::new(
                &RULE,
                object_id,
                object,
                &[
                    Step::Key("spec"),
                    Step::Key("parentRefs"),
                    Step::Index(parent.index),
                ],
                format!(
                    "{label} is attached to Server `{}`, which does not exist in namespace `{namespace}`: Linkerd does not accept the route, and policies on it apply to nothing",
                    parent.name
                ),
            )
            .remediation(format!(
                "Point the parentRef of {label} at the Server of the port it is meant for, or delete the route."
            )));
        }
        for parent in &facts.parents {
            let Some(s) = parent.server else { continue };
            if let Some((_, why)) = lp.server(s).unused_routes.iter().find(|(r, _)| *r == id) {
                let mut f = Finding::new(
                    &RULE,
                    object_id,
                    object,
                    &[
                        Step::Key("spec"),
                        Step::Key("parentRefs"),
                        Step::Index(parent.index),
                    ],
                    format!(
                        "{label} is attached to Server {namespace}/{} but is not used: {why} (proxyProtocol {})",
                        parent.name,
                        inv.linkerd.servers[s].spec.proxy_protocol.as_str()
                    ),
                );
                f.severity = Severity::Low;
                out.push(f.remediation(format!(
                    "Delete {label}, or give Server {namespace}/{} the proxyProtocol its routes need.",
                    parent.name
                )));
            }
        }
    }

    // Policies whose route or namespace target reaches no port.
    for (pi, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
        let facts = lp.policy(pi);
        if !facts.problems.is_empty() || inv.workload_indexes_in(&p.namespace).is_empty() {
            continue;
        }
        let reason = match &facts.target {
            PolicyTarget::HttpRoute { route: Some(r), .. }
                if lp.route_servers(RouteId::Http(*r)).is_empty() =>
            {
                Some(format!(
                    "its target {} is attached to no Server that uses it",
                    lp.route_label(RouteId::Http(*r))
                ))
            }
            PolicyTarget::GrpcRoute { route: Some(r), .. }
                if lp.route_servers(RouteId::Grpc(*r)).is_empty() =>
            {
                Some(format!(
                    "its target {} is attached to no Server that uses it",
                    lp.route_label(RouteId::Grpc(*r))
                ))
            }
            PolicyTarget::Namespace { .. } if lp.policy_governs(pi).is_empty() => Some(format!(
                "it targets namespace `{}`, where no Server governs a port; namespace-wide policies apply to Servers only, never to ports on the default policy",
                p.namespace
            )),
            _ => None,
        };
        if let Some(reason) = reason {
            out.push(Finding::new(
                &RULE,
                p.object,
                inv.object(p.object),
                &[Step::Key("spec"), Step::Key("targetRef")],
                format!(
                    "AuthorizationPolicy {}/{} applies to no pod port: {reason}",
                    p.namespace, p.name
                ),
            )
            .remediation(format!(
                "Target AuthorizationPolicy {}/{} at the Servers (or routes attached to them) of the ports it is meant to authorize.",
                p.namespace, p.name
            )));
        }
    }

    for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
        if saz.spec.server.name.is_some()
            || !lp.server_authorization(i).servers.is_empty()
            || inv.workload_indexes_in(&saz.namespace).is_empty()
        {
            continue;
        }
        out.push(Finding::new(
            &RULE,
            saz.object,
            inv.object(saz.object),
            &[Step::Key("spec"), Step::Key("server"), Step::Key("selector")],
            format!(
                "ServerAuthorization {}/{} selects Servers by labels no Server of namespace `{}` carries (it selects Servers by their own labels, not pods'): it applies to nothing",
                saz.namespace, saz.name, saz.namespace
            ),
        )
        .remediation(format!(
            "Make `server.selector` of ServerAuthorization {}/{} match the labels of the intended Servers' own metadata, or name the Server with `server.name`.",
            saz.namespace, saz.name
        )));
    }
}
