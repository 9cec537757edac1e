//! How an add-on is published: Services of type LoadBalancer/NodePort (or with external IPs)
//! selecting it, and Istio Gateway routes to its Service without end-user authentication at the
//! gateway.

use meshaudit_engine::authorization::Decision;
use meshaudit_engine::linkerd::membership::{target_port, InboundPath};
use meshaudit_engine::linkerd::policy::{ClientNetwork, LinkerdClient};
use meshaudit_engine::Because;
use meshaudit_model::istio::{AuthorizationAction, AuthorizationPolicySpec, GatewaySpec, Typed};
use meshaudit_model::selector::map_selects;
use meshaudit_model::{Inventory, Node, ObjectId, ServiceId, Step, VirtualServiceId, WorkloadId};

use crate::context::Context;
use crate::rules::istio_scope::gateway_workloads;

use meshaudit_engine::components::Component;

/// One way an add-on can be reached from outside the cluster.
#[derive(Debug, Clone)]
pub enum Exposure {
    /// `services[index]` is a LoadBalancer/NodePort Service (or has externalIPs) selecting it.
    Service { index: ServiceId, how: String },
    /// A VirtualService bound to a Gateway routes to its Service.
    Route {
        virtual_service: VirtualServiceId,
        route_path: Vec<String>,
        host: String,
        gateway: String,
    },
    /// A Gateway API HTTPRoute (`objects[object]`) attached to a Gateway sends requests to its
    /// Service, and no AuthorizationPolicy at that Gateway requires a user.
    HttpRoute {
        object: ObjectId,
        backend_path: Vec<String>,
        service: String,
        gateway: String,
    },
    /// A Kubernetes Ingress (`objects[object]`) sends a path to its Service, with no
    /// authentication annotation.
    Ingress {
        object: ObjectId,
        backend_path: Vec<String>,
        service: String,
    },
}

/// Ingress annotations that put authentication in front of the backends (ingress-nginx
/// external or basic auth; an OAuth2 proxy is wired through `auth-url`).
const INGRESS_AUTH_ANNOTATIONS: &[&str] = &[
    "nginx.ingress.kubernetes.io/auth-url",
    "nginx.ingress.kubernetes.io/auth-type",
    "nginx.ingress.kubernetes.io/auth-tls-verify-client",
];

/// `(path, service name)` of every backend of an Ingress (`networking.k8s.io/v1` and the older
/// `serviceName` form).
fn ingress_backends(node: &Node) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut push = |backend: &Node, path: Vec<String>| {
        let name = backend
            .at(&[Step::Key("service"), Step::Key("name")])
            .or_else(|| backend.get("serviceName"))
            .and_then(Node::as_str);
        if let Some(n) = name {
            out.push((path, n.to_owned()));
        }
    };
    if let Some(b) = node.at(&[Step::Key("spec"), Step::Key("defaultBackend")]) {
        push(b, vec!["spec".into(), "defaultBackend".into()]);
    }
    let rules = node
        .at(&[Step::Key("spec"), Step::Key("rules")])
        .and_then(Node::as_seq)
        .unwrap_or(&[]);
    for (ri, r) in rules.iter().enumerate() {
        let paths = r
            .at(&[Step::Key("http"), Step::Key("paths")])
            .and_then(Node::as_seq)
            .unwrap_or(&[]);
        for (pi, p) in paths.iter().enumerate() {
            if let Some(b) = p.get("backend") {
                push(
                    b,
                    vec![
                        "spec".into(),
                        "rules".into(),
                        ri.to_string(),
                        "http".into(),
                        "paths".into(),
                        pi.to_string(),
                        "backend".into(),
                    ],
                );
            }
        }
    }
    out
}

/// Add-on workloads: indexes with the component their image (or `app` label) names.
pub fn dashboards(ctx: &crate::context::Context<'_>) -> Vec<(WorkloadId, Component)> {
    let inv = ctx.inventory;
    let mut out: Vec<(WorkloadId, Component)> = ctx
        .dependency_instances()
        .iter()
        .filter(|i| i.component.is_dashboard())
        .map(|i| (i.workload, i.component))
        .collect();
    for (wi, w) in WorkloadId::enumerate(&inv.workloads) {
        if out.iter().any(|(i, _)| *i == wi) {
            continue;
        }
        let app = w
            .labels
            .get("app.kubernetes.io/name")
            .or_else(|| w.labels.get("app"))
            .map(String::as_str);
        let c = match app {
            Some("kiali") => Component::Kiali,
            Some("grafana") => Component::Grafana,
            Some("prometheus") => Component::Prometheus,
            Some("jaeger" | "tracing") => Component::Jaeger,
            Some("zipkin") => Component::Zipkin,
            _ => continue,
        };
        out.push((wi, c));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The Services (same namespace, non-empty selector) that select workload `w`.
pub fn services_of(inv: &Inventory, w: WorkloadId) -> Vec<ServiceId> {
    let workload = &inv.workloads[w];
    ServiceId::enumerate(&inv.services)
        .filter(|(_, s)| {
            s.namespace == workload.namespace
                && s.spec
                    .selector
                    .as_ref()
                    .is_some_and(|sel| !sel.is_empty() && map_selects(sel, &workload.labels))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether `host` (as a VirtualService destination written in `namespace`) names Service `name`
/// in `service_ns`.
fn host_names(host: &str, namespace: &str, name: &str, service_ns: &str) -> bool {
    host == name && namespace == service_ns
        || host == format!("{name}.{service_ns}")
        || host == format!("{name}.{service_ns}.svc")
        || host == format!("{name}.{service_ns}.svc.cluster.local")
}

/// Whether an AuthorizationPolicy requires an authenticated end user for what it selects
/// (CUSTOM external authorization, an ALLOW whose every rule needs a request principal or a
/// `request.auth.*` condition, or a DENY on `notRequestPrincipals`).
fn requires_user(p: &Typed<AuthorizationPolicySpec>) -> bool {
    match p.spec.action {
        AuthorizationAction::Custom => true,
        AuthorizationAction::Allow => {
            !p.spec.rules().is_empty()
                && p.spec.rules().iter().all(|r| {
                    r.from.iter().any(|f| {
                        f.source
                            .as_ref()
                            .is_some_and(|s| !s.request_principals.is_empty())
                    }) || r.when.iter().any(|c| c.key.starts_with("request.auth."))
                })
        }
        AuthorizationAction::Deny => p.spec.rules().iter().any(|r| {
            r.from.iter().any(|f| {
                f.source
                    .as_ref()
                    .is_some_and(|s| !s.not_request_principals.is_empty())
            })
        }),
        AuthorizationAction::Audit => false,
    }
}

/// Whether an AuthorizationPolicy applying at one of `gateway_workloads` requires an
/// authenticated end user.
fn gateway_requires_user(ctx: &Context<'_>, gateway_workloads: &[WorkloadId]) -> bool {
    let inv = ctx.inventory;
    let root = inv.istio.root_namespace();
    inv.istio.authorization_policies.iter().any(|p| {
        let applies = gateway_workloads.iter().any(|&g| {
            let w = &inv.workloads[g];
            (p.namespace == w.namespace || p.namespace == root)
                && p.spec
                    .selector
                    .as_ref()
                    .is_none_or(|s| s.matches(&w.labels))
        });
        applies && requires_user(p)
    })
}

/// For an Istio Gateway whose proxies are not in the input: whether an AuthorizationPolicy that
/// applies to the pods it selects requires an authenticated end user. A policy applies when it
/// is in the Gateway's namespace or the root namespace and its `selector.matchLabels` are a
/// subset of the labels the Gateway selects by (or it has no selector; policies bound by
/// `targetRefs` attach elsewhere).
fn gateway_selector_requires_user(inv: &Inventory, gateway: &Typed<GatewaySpec>) -> bool {
    let root = inv.istio.root_namespace();
    inv.istio.authorization_policies.iter().any(|p| {
        (p.namespace == gateway.namespace || p.namespace == root)
            && p.spec.target_ref.is_none()
            && p.spec.target_refs.is_empty()
            && p.spec
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&gateway.spec.selector))
            && requires_user(p)
    })
}

/// Whether an AuthorizationPolicy attached to the Gateway API Gateway `namespace/name` (by
/// `targetRef(s)`, or by selecting the `gateway.networking.k8s.io/gateway-name` label Istio puts
/// on the gateway's pods) requires an authenticated end user.
fn gateway_api_requires_user(inv: &Inventory, namespace: &str, name: &str) -> bool {
    inv.istio.authorization_policies.iter().any(|p| {
        if p.namespace != namespace {
            return false;
        }
        let by_ref = p
            .spec
            .target_ref
            .iter()
            .chain(&p.spec.target_refs)
            .any(|t| t.kind == "Gateway" && t.name == name);
        let by_label = p.spec.selector.as_ref().is_some_and(|s| {
            s.match_labels
                .get("gateway.networking.k8s.io/gateway-name")
                .is_some_and(|v| v == name)
        });
        (by_ref || by_label) && requires_user(p)
    })
}

/// Ways workload `w` is reachable from outside the cluster without end-user authentication.
pub fn exposures(ctx: &Context<'_>, w: WorkloadId) -> Vec<Exposure> {
    let inv = ctx.inventory;
    let mut out = Vec::new();
    let services = services_of(inv, w);
    for &si in &services {
        let s = &inv.services[si];
        let t = s.spec.service_type();
        if t == "LoadBalancer" || t == "NodePort" {
            out.push(Exposure::Service {
                index: si,
                how: format!("type {t}"),
            });
        } else if !s.spec.external_ips.is_empty() {
            out.push(Exposure::Service {
                index: si,
                how: format!("externalIPs {}", s.spec.external_ips.join(", ")),
            });
        }
    }
    for (vi, vs) in VirtualServiceId::enumerate(&inv.istio.virtual_services) {
        let gateways: Vec<&String> = vs.spec.gateways.iter().filter(|g| *g != "mesh").collect();
        if gateways.is_empty() {
            continue;
        }
        let object = inv.object(vs.object);
        for (route_path, host) in destination_hosts(&object.node) {
            let Some(&si) = services.iter().find(|&&si| {
                let s = &inv.services[si];
                host_names(&host, &vs.namespace, &s.name, &s.namespace)
            }) else {
                continue;
            };
            let _ = si;
            for g in &gateways {
                let (gns, gname) = g
                    .split_once('/')
                    .unwrap_or((vs.namespace.as_str(), g.as_str()));
                let Some(gateway) = inv
                    .istio
                    .gateways
                    .iter()
                    .find(|x| x.namespace == gns && x.name == gname)
                else {
                    continue;
                };
                let proxies = gateway_workloads(ctx, gateway);
                let protected = if proxies.is_empty() {
                    // The gateway's Deployment is not in the input: its pods carry the labels
                    // the Gateway selects by.
                    gateway_selector_requires_user(inv, gateway)
                } else {
                    gateway_requires_user(ctx, &proxies)
                };
                if protected {
                    continue;
                }
                out.push(Exposure::Route {
                    virtual_service: vi,
                    route_path: route_path.clone(),
                    host: host.clone(),
                    gateway: format!("{gns}/{gname}"),
                });
            }
        }
    }
    for (oi, object) in inv.objects_with_ids() {
        if object.kind == "HTTPRoute" && object.group() == "gateway.networking.k8s.io" {
            http_route_exposures(inv, oi, &services, &mut out);
            continue;
        }
        if object.kind != "Ingress"
            || !matches!(object.group(), "networking.k8s.io" | "extensions")
            || INGRESS_AUTH_ANNOTATIONS
                .iter()
                .any(|a| object.annotations.contains_key(*a))
        {
            continue;
        }
        let ns = object.namespace.as_deref().unwrap_or("default");
        for (backend_path, name) in ingress_backends(&object.node) {
            if services.iter().any(|&si| {
                let s = &inv.services[si];
                s.namespace == ns && s.name == name
            }) {
                out.push(Exposure::Ingress {
                    object: oi,
                    backend_path,
                    service: name,
                });
            }
        }
    }
    out
}

/// HTTPRoute `objects[oi]`: backends that are one of `services`, for each parent Gateway that
/// no AuthorizationPolicy protects with end-user authentication.
fn http_route_exposures(
    inv: &Inventory,
    oi: ObjectId,
    services: &[ServiceId],
    out: &mut Vec<Exposure>,
) {
    let route = inv.object(oi);
    let ns = route.namespace.as_deref().unwrap_or("default");
    let node = &route.node;
    let parents: Vec<(String, String)> = node
        .at(&[Step::Key("spec"), Step::Key("parentRefs")])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter(|p| {
            p.get("kind")
                .and_then(Node::as_str)
                .is_none_or(|k| k == "Gateway")
        })
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?.to_owned();
            let pns = p
                .get("namespace")
                .and_then(Node::as_str)
                .unwrap_or(ns)
                .to_owned();
            Some((pns, name))
        })
        .collect();
    let rules = node
        .at(&[Step::Key("spec"), Step::Key("rules")])
        .and_then(Node::as_seq)
        .unwrap_or(&[]);
    for (ri, r) in rules.iter().enumerate() {
        let refs = r.get("backendRefs").and_then(Node::as_seq).unwrap_or(&[]);
        for (bi, b) in refs.iter().enumerate() {
            if b.get("kind")
                .and_then(Node::as_str)
                .is_some_and(|k| k != "Service")
            {
                continue;
            }
            let Some(name) = b.get("name").and_then(Node::as_str) else {
                continue;
            };
            let bns = b.get("namespace").and_then(Node::as_str).unwrap_or(ns);
            if !services.iter().any(|&si| {
                let s = &inv.services[si];
                s.namespace == bns && s.name == name
            }) {
                continue;
            }
            for (gns, gname) in &parents {
                if gateway_api_requires_user(inv, gns, gname) {
                    continue;
                }
                out.push(Exposure::HttpRoute {
                    object: oi,
                    backend_path: vec![
                        "spec".into(),
                        "rules".into(),
                        ri.to_string(),
                        "backendRefs".into(),
                        bi.to_string(),
                        "name".into(),
                    ],
                    service: name.to_owned(),
                    gateway: format!("{gns}/{gname}"),
                });
            }
        }
    }
}

/// `(path, host)` of every `route[].destination.host` under `spec.http|tcp|tls`.
fn destination_hosts(node: &Node) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    for kind in ["http", "tcp", "tls"] {
        let Some(routes) = node
            .at(&[Step::Key("spec"), Step::Key(kind)])
            .and_then(Node::as_seq)
        else {
            continue;
        };
        for (ri, r) in routes.iter().enumerate() {
            let Some(dests) = r.get("route").and_then(Node::as_seq) else {
                continue;
            };
            for (di, d) in dests.iter().enumerate() {
                if let Some(h) = d
                    .at(&[Step::Key("destination"), Step::Key("host")])
                    .and_then(Node::as_str)
                {
                    out.push((
                        vec![
                            "spec".to_owned(),
                            kind.to_owned(),
                            ri.to_string(),
                            "route".to_owned(),
                            di.to_string(),
                            "destination".to_owned(),
                            "host".to_owned(),
                        ],
                        h.to_owned(),
                    ));
                }
            }
        }
    }
    out
}

/// Turns a stored path (`spec`, `http`, `0`, ...) into steps: numbers are indexes.
pub fn steps(path: &[String]) -> Vec<Step<'_>> {
    path.iter()
        .map(|p| match p.parse::<usize>() {
            Ok(i) => Step::Index(i),
            Err(_) => Step::Key(p.as_str()),
        })
        .collect()
}

/// `Service istio-system/grafana (type LoadBalancer)` or
/// `VirtualService istio-system/grafana via Gateway istio-system/public`.
pub fn describe(inv: &Inventory, e: &Exposure) -> String {
    match e {
        Exposure::Service { index, how } => {
            let s = &inv.services[*index];
            format!("Service {}/{} ({how})", s.namespace, s.name)
        }
        Exposure::Route {
            virtual_service,
            host,
            gateway,
            ..
        } => {
            let vs = &inv.istio.virtual_services[*virtual_service];
            format!(
                "VirtualService {}/{} routes Gateway {gateway} to `{host}`, and no AuthorizationPolicy at that gateway requires an authenticated user",
                vs.namespace, vs.name
            )
        }
        Exposure::HttpRoute {
            object,
            service,
            gateway,
            ..
        } => format!(
            "HTTPRoute {} sends requests from Gateway {gateway} to Service `{service}`, and no AuthorizationPolicy attached to that Gateway requires an authenticated user",
            inv.object(*object).qualified_name()
        ),
        Exposure::Ingress {
            object, service, ..
        } => {
            let o = inv.object(*object);
            format!(
                "Ingress {} sends requests to Service `{service}` and has no authentication annotation (nginx auth-url / auth-type)",
                o.qualified_name()
            )
        }
    }
}

/// Whether the add-on's Linkerd proxy refuses clients without a mesh identity — from outside
/// `clusterNetworks` and from inside it — on every port `service` publishes; with why (the
/// deciding Server, authorizations or default policy). None when a port bypasses the proxy or
/// admits such clients, or when the workload runs no Linkerd proxy.
pub fn linkerd_refuses_unauthenticated(
    ctx: &Context<'_>,
    w: WorkloadId,
    service: &meshaudit_model::k8s::Service,
) -> Option<Vec<Because>> {
    let membership = ctx
        .linkerd_membership()
        .get(w.index())
        .filter(|m| m.meshed)?;
    let capture = membership.capture.as_ref()?;
    let workload = &ctx.inventory.workloads[w];
    let policy = ctx.linkerd_policy();
    let mut because = Vec::new();
    for port in &service.spec.ports {
        let target = target_port(port, workload)?;
        if capture.inbound(target) == InboundPath::Skipped {
            return None;
        }
        for from in [ClientNetwork::Outside, ClientNetwork::ClusterPod] {
            let d = policy.authorize_port(w, target, &LinkerdClient::Unauthenticated { from });
            if d.decision != Decision::Denied {
                return None;
            }
            for b in d.because {
                if !because.contains(&b) {
                    because.push(b);
                }
            }
        }
    }
    because.push(Because::default(
        "severity medium: Linkerd's proxy refuses clients without a mesh identity on every published port, so the add-on is published but unreachable while that policy holds",
    ));
    Some(because)
}
