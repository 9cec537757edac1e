//! DEP006: a mesh dashboard (Kiali, Grafana, Prometheus, Jaeger, Zipkin, Linkerd viz) published
//! outside the cluster without authentication in front of it.

use meshaudit_model::{Inventory, Node, ObjectId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::exposure::{
    dashboards, describe, exposures, linkerd_refuses_unauthenticated, steps, Exposure,
};
use crate::rules::naming::workload_name;
use meshaudit_engine::components::Component;

pub static RULE: Rule = Rule {
    code: "DEP006",
    name: "dashboard-exposed",
    title: "Mesh dashboard is published outside the cluster",
    category: Category::Dependencies,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Kubernetes],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "PCI-DSS:1.2.5",
        "PCI-DSS:2.2.4",
        "HIPAA:164.312(a)(1)",
        "HIPAA:164.312(e)(1)",
    ],
    doc: r#"
## What it detects

A workload running a mesh add-on with a web UI or query API — Kiali, Grafana, Prometheus, Jaeger,
Zipkin, the Linkerd viz dashboard; recognised by image, or by an `app`/`app.kubernetes.io/name`
label — that is reachable from outside the cluster:

- a Service of type `LoadBalancer` or `NodePort`, or with `externalIPs`, selects it (the finding
  points at the Service's `spec.type`);
- a Kubernetes `Ingress` sends a path to its Service and carries no authentication annotation
  (ingress-nginx `auth-url`, `auth-type`, `auth-tls-verify-client`); the finding points at the
  backend;
- a Gateway API `HTTPRoute` sends requests to its Service and no AuthorizationPolicy attached to
  the parent Gateway (`targetRefs`, or a selector on `gateway.networking.k8s.io/gateway-name`)
  requires an authenticated user; the finding points at the `backendRefs` entry;
- a VirtualService bound to an Istio Gateway routes to its Service, and no AuthorizationPolicy
  applying at that gateway's proxies requires an authenticated user (an ALLOW policy whose every
  rule needs `requestPrincipals` or a `request.auth.*` condition, a DENY on
  `notRequestPrincipals`, or `action: CUSTOM` external authorization). The finding points at the
  route's `destination.host`. When the gateway's own Deployment is not in the input, policies
  are matched against the labels the Gateway selects by: a policy in the Gateway's namespace or
  the root namespace whose `selector.matchLabels` are a subset of the Gateway's `selector`
  applies to those pods.

`high`, except where the add-on's own login is known to be on: Kiali with a login strategy
(not `anonymous`) and Grafana without anonymous access (`GF_AUTH_ANONYMOUS_ENABLED`, or
`[auth.anonymous] enabled = true` in a ConfigMap of its namespace) are `medium`. Prometheus,
Jaeger, Zipkin and the Linkerd viz dashboard have no login of their own. A LoadBalancer or
NodePort Service in front of a Linkerd-meshed add-on whose proxy refuses clients without a mesh
identity on every published port — from outside `clusterNetworks` and from inside it (node
addresses, after the load balancer's source NAT) — by its `Server`, authorizations or default
inbound policy (`deny`, `all-authenticated`, `cluster-authenticated`) is `medium`: published, but
unreachable as long as that policy holds. Firewalls and load-balancer source ranges outside the
input are not seen.

## Why it matters

These add-ons show the mesh's topology, every service's traffic and errors, request traces with
headers and URLs, and (Kiali) can edit Istio configuration. Istio's sample add-on manifests are
meant for demos and ship without authentication; published through a load balancer or gateway
they give anyone on the internet a map of the system and often a way to change it.

## Example

```yaml
apiVersion: v1
kind: Service
metadata: {name: grafana, namespace: istio-system}
spec:
  type: LoadBalancer          # Istio's sample Grafana, now on a public IP
  selector: {app.kubernetes.io/name: grafana}
  ports: [{port: 3000}]
```

## Fix

Keep dashboards on `ClusterIP` and reach them with `kubectl port-forward` or `istioctl
dashboard`, or publish them only behind authentication: a gateway with `RequestAuthentication`
plus an AuthorizationPolicy requiring `requestPrincipals`, or an `action: CUSTOM` policy with an
OAuth2/OIDC proxy; enable the add-on's own login (Kiali `auth.strategy: token` or `openid`).

## References

- Istio: Remotely accessing telemetry addons (secure them before exposing) — https://istio.io/latest/docs/tasks/observability/gateways/
- Istio: Integrations (sample add-ons are not tuned for production) — https://istio.io/latest/docs/ops/integrations/
- Kiali: Authentication strategies — https://kiali.io/docs/configuration/authentication/
- Kubernetes: Service types — https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types
"#,
    check,
};

/// Kiali's login strategy from its ConfigMap or CR in the workload's namespace, if the input says.
fn kiali_strategy(ctx: &Context<'_>, namespace: &str) -> Option<String> {
    super::kiali_anonymous_access::strategies(ctx.inventory)
        .into_iter()
        .find(|s| s.namespace == namespace)
        .map(|s| s.strategy)
}

/// Whether Grafana in workload `w` lets users in without logging in: the
/// `GF_AUTH_ANONYMOUS_ENABLED` environment variable (Istio's sample sets it), or an
/// `[auth.anonymous]` section with `enabled = true` in a ConfigMap of its namespace.
fn grafana_anonymous(inv: &Inventory, w: WorkloadId) -> bool {
    let workload = &inv.workloads[w];
    let object = inv.object(workload.object);
    let mut steps: Vec<Step<'_>> = workload
        .template_path
        .iter()
        .map(|k| Step::Key(k))
        .collect();
    steps.extend([Step::Key("spec"), Step::Key("containers")]);
    let env_on = object
        .node
        .at(&steps)
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("env").and_then(Node::as_seq))
        .flatten()
        .any(|e| {
            e.get("name").and_then(Node::as_str) == Some("GF_AUTH_ANONYMOUS_ENABLED")
                && e.get("value")
                    .and_then(Node::scalar_text)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        });
    env_on
        || inv
            .config_maps
            .iter()
            .filter(|c| c.namespace == workload.namespace)
            .flat_map(|c| c.data.values())
            .any(|text| {
                let mut in_section = false;
                text.lines().any(|line| {
                    let line = line.trim();
                    if line.starts_with('[') {
                        in_section = line == "[auth.anonymous]";
                        return false;
                    }
                    in_section && line.replace(' ', "").eq_ignore_ascii_case("enabled=true")
                })
            })
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for (w, component) in dashboards(ctx) {
        let workload = &inv.workloads[w];
        for e in exposures(ctx, w) {
            let mut severity = Severity::High;
            let mut extra = None;
            if component == Component::Kiali {
                match kiali_strategy(ctx, &workload.namespace) {
                    Some(s) if s != "anonymous" => {
                        severity = Severity::Medium;
                        extra = Some(format!("Kiali asks for a login (auth.strategy: {s})"));
                    }
                    Some(_) => extra = Some("Kiali runs with auth.strategy: anonymous".to_owned()),
                    None => {}
                }
            }
            if component == Component::Grafana {
                if grafana_anonymous(inv, w) {
                    extra = Some(
                        "Grafana allows anonymous access (GF_AUTH_ANONYMOUS_ENABLED / [auth.anonymous] enabled = true)"
                            .to_owned(),
                    );
                } else {
                    // Grafana asks for a login unless anonymous access is turned on.
                    severity = Severity::Medium;
                    extra = Some(
                        "Grafana's own login is not turned off in the input (anonymous access not enabled); it is still reachable by anyone to try passwords on"
                            .to_owned(),
                    );
                }
            }
            let mut refused = None;
            if let Exposure::Service { index, .. } = &e {
                refused = linkerd_refuses_unauthenticated(ctx, w, &inv.services[*index]);
                if refused.is_some() && severity == Severity::High {
                    severity = Severity::Medium;
                }
            }
            let (object_id, path, key): (ObjectId, Vec<Step<'_>>, String) = match &e {
                Exposure::Service { index, .. } => (
                    inv.services[*index].object,
                    vec![Step::Key("spec"), Step::Key("type")],
                    format!("service:{}", workload_name(&inv.workloads[w])),
                ),
                Exposure::Route {
                    virtual_service,
                    route_path,
                    gateway,
                    ..
                } => (
                    inv.istio.virtual_services[*virtual_service].object,
                    steps(route_path),
                    format!("{}:{gateway}", route_path.join(".")),
                ),
                Exposure::HttpRoute {
                    object,
                    backend_path,
                    gateway,
                    ..
                } => (
                    *object,
                    steps(backend_path),
                    format!("{}:{gateway}", backend_path.join(".")),
                ),
                Exposure::Ingress {
                    object,
                    backend_path,
                    ..
                } => (
                    *object,
                    steps(backend_path),
                    format!("ingress:{}", backend_path.join(".")),
                ),
            };
            let object = inv.object(object_id);
            let mut f = Finding::new(
                &RULE,
                object_id,
                object,
                &path,
                format!(
                    "{} {} publishes {} ({}) outside the cluster {}",
                    object.kind,
                    object.qualified_name(),
                    component.as_str(),
                    workload_name(&inv.workloads[w]),
                    if refused.is_some() {
                        "without authentication in front of it; only its Linkerd proxy's policy keeps clients out for now"
                    } else if severity == Severity::High {
                        "without authentication in front of it"
                    } else {
                        "with only the add-on's own login in front of it"
                    }
                ),
            )
            .key(key)
            .evidence(format!("{} runs {}", workload_name(&inv.workloads[w]), component.as_str()))
            .evidence(describe(inv, &e))
            .remediation(match &e {
                Exposure::Service { .. } => format!(
                    "Make the Service ClusterIP and use `kubectl port-forward` / `istioctl dashboard`, or publish {} only behind authentication.",
                    component.as_str()
                ),
                Exposure::HttpRoute { gateway, .. } => format!(
                    "Require an authenticated user at Gateway {gateway} (an AuthorizationPolicy with targetRefs to the Gateway requiring requestPrincipals, or action CUSTOM with an OIDC proxy), or remove the route."
                ),
                Exposure::Ingress { .. } => format!(
                    "Put authentication in front of {} on the Ingress (an OAuth2/OIDC proxy through nginx.ingress.kubernetes.io/auth-url, or the controller's equivalent), or remove the rule.",
                    component.as_str()
                ),
                Exposure::Route { gateway, .. } => format!(
                    "Require an authenticated user at Gateway {gateway} (RequestAuthentication plus an AuthorizationPolicy requiring requestPrincipals, or action CUSTOM with an OIDC proxy), or remove the route."
                ),
            });
            if let Some(x) = extra {
                f = f.evidence(x);
            }
            for b in refused.iter().flatten() {
                f.add_because(inv, b);
            }
            f.mesh = component.mesh();
            f.severity = severity;
            out.push(f);
        }
    }
}
