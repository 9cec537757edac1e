//! TLS007: Linkerd's opaque ports declared on one side of a connection only — a Service marks a
//! port opaque that its pods' proxies protocol-detect, or the pods treat a port as opaque that
//! the Service leaves to detection.
//!
//! The two sides are decided by different readers (see docs/linkerd-semantics.md §1.7): clients'
//! proxies follow the Service (its `config.linkerd.io/opaque-ports`, `appProtocol` from 2.18, or
//! the cluster default list), the server's proxy follows its own pod's annotation (or a
//! `Server`'s `proxyProtocol`). What the injector writes at creation is simulated here from the
//! Namespace annotation and the default list.

use std::collections::HashMap;

use meshaudit_engine::version::{LinkerdChannel, LinkerdRelease, Version};
use meshaudit_engine::Because;
use meshaudit_model::k8s::{IntOrString, Service, ServicePort, Workload};
use meshaudit_model::linkerd::{
    InjectMode, PortSet, ProxyProtocol, ServerPort, ServerSpec, DEFAULT_OPAQUE_PORTS,
    OPAQUE_PORTS_ANNOTATION,
};
use meshaudit_model::{Inventory, ObjectId, Step, Typed};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "TLS007",
    name: "linkerd-opaque-ports-inconsistent",
    title: "Linkerd opaque port declared on the Service or on its pods only",
    category: Category::Encryption,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &["SOC2:CC6.7", "SOC2:CC8.1", "GDPR:Art.32(1)(b)"],
    doc: r#"
## What it detects

A port that one side of a meshed connection carries as opaque TCP while the other runs
Linkerd's protocol detection on it. For every Service port (headless Services excepted, as in
`linkerd check --proxy`) and every meshed workload its selector picks:

- **Service opaque, pods not** (`medium`, on the workload's pod template): clients' proxies treat
  the port as opaque — the Service's `config.linkerd.io/opaque-ports`, an `appProtocol` of
  `linkerd.io/opaque` (Linkerd 2.18 on), or the cluster default list — but the server's proxy
  detects the protocol on the container port it targets, because neither the pod template, its
  Namespace (which the injector copies to new pods), the default list (which the injector adds
  only for `containerPort`s it sees declared), nor a `Server` with `proxyProtocol: opaque` makes
  it opaque there.
- **Pods opaque, Service not** (`low`, on the Service): the pods treat the container port as
  opaque, but the Service port that targets it is left to detection by clients.

How each side is decided, by whom, and how the injector fills annotations in at creation (the
Namespace's `config.linkerd.io/opaque-ports`, else the default list `proxy.opaquePorts` of
`linkerd-config`, `25,587,3306,4444,5432,6379,9300,11211` in the chart) follows Linkerd's source
and is written down in `docs/linkerd-semantics.md` §1.7. A `Server` selecting the port wins over
the pod annotation on the server side, whichever way it points (`proxyProtocol: opaque` makes it
opaque, the default `unknown` makes it detect, and a declared protocol — HTTP/1, HTTP/2, gRPC,
TLS, all spoken first by the client — stalls neither way, so it is never reported); a pod annotation holding an entry
that is not a port or range (such as a port name) is discarded whole by the policy controller,
which decides the server side. An `appProtocol` on the Service port decides the client side from
Linkerd 2.18 (edge-25.2.2) on, when `linkerd-config` shows that release or none. The injector is
assumed to cover the workloads and Services (its webhook selectors are ADM rules' business).

The category is `encryption` because the finding is about how the mesh carries a protocol in
transit — as opaque TCP over mutual TLS, or through protocol detection — and not about who may
call whom: no authorization decision changes with it.

## Why it matters

Opaque ports exist for protocols that protocol detection cannot handle, above all those where the
server speaks first (NATS, SMTP, MySQL): a proxy that detects waits up to 10 seconds for the
client's first bytes that never come, so every new connection stalls for the detection timeout
and many clients give up first. Declaring the port on the Service only makes the owners believe it
is handled while the server's proxy still detects; declaring it on the pods only leaves every
client's proxy detecting. Linkerd's own `linkerd check --proxy` warns about both ("opaque ports
are properly annotated").

## Example

```yaml
apiVersion: v1
kind: Service
metadata:
  name: events
  annotations:
    config.linkerd.io/opaque-ports: "4222"   # clients: opaque
spec:
  selector: {app: events}
  ports:
  - {port: 4222, targetPort: client}
---
# Deployment events: pod template without config.linkerd.io/opaque-ports, so its proxy detects
# on 4222 (not in the default list, so the injector adds nothing)
```

## Fix

Declare the port on both sides: add it to the pod template's (or the Namespace's)
`config.linkerd.io/opaque-ports`, or give the port a `Server` with `proxyProtocol: opaque`, and to
the Service's `config.linkerd.io/opaque-ports` (the Service port number). Linkerd reads a
Service's annotation as it changes; a pod's is read from the pod, so a changed pod template takes
effect as its new pods roll out (a Namespace annotation only reaches pods created after it).

## References

- Linkerd: Protocol detection and opaque ports — https://linkerd.io/2-edge/features/protocol-detection/
- Linkerd: Configuring protocol detection (opaque ports, default list) — https://linkerd.io/2-edge/tasks/configuring-protocol-detection/
- Linkerd: `linkerd check` "opaque ports are properly annotated" — https://linkerd.io/2-edge/tasks/troubleshooting/#linkerd-opaque-ports-definition
- linkerd2 source: the check (`pkg/healthcheck/healthcheck.go` `misconfiguredOpaqueAnnotation`) — https://github.com/linkerd/linkerd2/blob/main/pkg/healthcheck/healthcheck.go
- linkerd2 source: the injector's defaults (`pkg/inject/inject.go` `CreateOpaquePortsPatch`) — https://github.com/linkerd/linkerd2/blob/main/pkg/inject/inject.go
"#,
    check,
};

/// What a proxy does with a port's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Proxied as TCP without looking at it.
    Opaque,
    /// Protocol detection: waits (up to 10 s) for the client's first bytes.
    Detect,
    /// A Server declares the protocol (HTTP/1, HTTP/2, gRPC, TLS): no detection, and a client
    /// that speaks first, so neither side's choice stalls it.
    Declared,
}

/// What a side does with the port, and why.
struct Side {
    mode: Mode,
    because: Because,
}

type ServersByNamespace<'i> = HashMap<&'i str, Vec<&'i Typed<ServerSpec>>>;

/// What a pod template's proxy does on its container ports.
struct ServerSide<'a> {
    w: &'a Workload,
    /// The opaque-ports list that applies on the pod (its own, the Namespace's, or the
    /// injector's defaults), with where it comes from.
    list: PortSet,
    because: Because,
    /// The list is discarded by the policy controller (an entry is not a port).
    discarded: bool,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let defaults = inv
        .linkerd
        .config
        .as_ref()
        .map(|c| c.opaque_ports.value.clone())
        .unwrap_or_else(|| PortSet::parse(DEFAULT_OPAQUE_PORTS));
    let app_protocol_honoured = app_protocol_honoured(inv);
    // Servers by namespace, once: a Server only selects pods of its own namespace.
    let mut servers_by_namespace: ServersByNamespace<'_> = HashMap::new();
    for s in &inv.linkerd.servers {
        servers_by_namespace
            .entry(s.namespace.as_str())
            .or_default()
            .push(s);
    }
    for svc in &inv.services {
        let Some(selector) = svc.spec.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        if svc.spec.cluster_ip.as_deref() == Some("None") {
            // Headless: clients reach pods directly, and the pods' own list applies.
            continue;
        }
        let servers: Vec<ServerSide<'_>> = inv
            .workloads_matching_in(&svc.namespace, selector)
            .into_iter()
            .filter(|&wi| meshed(inv, &inv.workloads[wi]))
            .map(|wi| server_side(inv, &inv.workloads[wi], &defaults))
            .collect();
        if servers.is_empty() {
            continue;
        }
        let service_list = service_list(inv, svc, &defaults);
        // Pods opaque, Service not: (service port, workload, container port, why).
        let mut reverse: Vec<(u16, String, Because)> = Vec::new();
        for server in &servers {
            // Service opaque, pods not: (service port, container port, client why).
            let mut missing: Vec<(u16, u16, Because)> = Vec::new();
            let mut server_because: Vec<Because> = Vec::new();
            for (pi, sp) in svc.spec.ports.iter().enumerate() {
                let Some((cp, cp_name)) = target_port(server.w, sp) else {
                    continue;
                };
                let client = client_side(svc, pi, sp, &service_list, app_protocol_honoured);
                let srv = pod_side(&servers_by_namespace, server, cp, cp_name);
                match (client.mode, srv.mode) {
                    (Mode::Opaque, Mode::Detect) => {
                        missing.push((sp.port, cp, client.because));
                        server_because.push(srv.because);
                    }
                    (Mode::Detect, Mode::Opaque) => {
                        let w = server.w;
                        reverse.push((
                            sp.port,
                            format!("{} {}/{} port {cp}", w.kind, w.namespace, w.name),
                            srv.because,
                        ));
                    }
                    _ => {}
                }
            }
            if !missing.is_empty() {
                out.push(service_only(inv, svc, server, &missing, &server_because));
            }
        }
        if !reverse.is_empty() {
            out.push(pods_only(inv, svc, &service_list, &reverse));
        }
    }
}

/// Whether the Service port's `appProtocol` decides the client side: Linkerd 2.18 on (edge-25.2.2
/// and later, enterprise 2.18 and later), or an install whose release the input does not show.
fn app_protocol_honoured(inv: &Inventory) -> bool {
    let Some(release) = inv
        .linkerd
        .config
        .as_ref()
        .and_then(|c| c.version.as_ref())
        .and_then(|v| LinkerdRelease::parse(&v.value))
    else {
        return true;
    };
    match release.channel {
        LinkerdChannel::Edge => release.version >= Version::new(25, 2, 2),
        LinkerdChannel::Enterprise => release.version >= Version::new(2, 18, 0),
        LinkerdChannel::Stable => false,
    }
}

/// Whether the pods of `w` get (or have) Linkerd's proxy: already injected, or asked for by the
/// template or its Namespace under the injector's precedence (docs/linkerd-semantics.md §1.1,
/// §1.3; webhook selectors are not evaluated here).
fn meshed(inv: &Inventory, w: &Workload) -> bool {
    let pod = w.linkerd();
    if pod.is_injected() {
        return true;
    }
    if w.host_network {
        return false;
    }
    let namespace = inv
        .namespace(&w.namespace)
        .and_then(|n| n.linkerd.annotations.inject.clone());
    if matches!(namespace, Some(InjectMode::Invalid(_))) {
        return false;
    }
    match &pod.annotations.inject {
        Some(mode) => mode.requests_injection(),
        None => namespace.is_some_and(|m| m.requests_injection()),
    }
}

/// The container port a Service port reaches on `w`, and its name.
fn target_port<'w>(w: &'w Workload, sp: &ServicePort) -> Option<(u16, Option<&'w str>)> {
    let named = |number: u16| {
        w.all_containers()
            .flat_map(|c| &c.ports)
            .find(|p| p.container_port == number)
            .and_then(|p| p.name.as_deref())
    };
    match &sp.target_port {
        None => Some((sp.port, named(sp.port))),
        Some(IntOrString::Int(_)) => {
            let n = sp.target_port.as_ref()?.as_port()?;
            Some((n, named(n)))
        }
        Some(IntOrString::String(name)) => match name.parse::<u16>() {
            Ok(n) => Some((n, named(n))),
            Err(_) => w
                .all_containers()
                .flat_map(|c| &c.ports)
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| (p.container_port, p.name.as_deref())),
        },
    }
}

/// The Service's opaque-ports list for clients, with where it comes from: its annotation, else
/// what the injector writes on it at creation (the Namespace's list, else the default ports its
/// ports or target ports use), else the cluster default list.
fn service_list(inv: &Inventory, svc: &Service, defaults: &PortSet) -> (PortSet, Because) {
    let object = inv.object(svc.object);
    if let Some(text) = object.annotations.get(OPAQUE_PORTS_ANNOTATION) {
        return (
            PortSet::parse(text),
            Because::at(
                svc.object,
                &annotation_path(&[]),
                format!("{OPAQUE_PORTS_ANNOTATION}: \"{text}\""),
            ),
        );
    }
    if let Some((ns_object, list)) = namespace_list(inv, &svc.namespace) {
        return (
            list.clone(),
            Because::at(
                ns_object,
                &annotation_path(&[]),
                format!(
                    "{OPAQUE_PORTS_ANNOTATION}: \"{}\", which the injector copies onto the Service when it is created",
                    list.text
                ),
            ),
        );
    }
    // The injector's patch: default ports the Service exposes or targets by number.
    let patched: Vec<String> = svc
        .spec
        .ports
        .iter()
        .filter(|p| {
            let target = match &p.target_port {
                None => Some(p.port),
                Some(t) => t.as_port(),
            };
            target.is_some_and(|t| defaults.contains(t))
        })
        .map(|p| p.port.to_string())
        .collect();
    if !patched.is_empty() {
        let list = PortSet::parse(&patched.join(","));
        return (
            list,
            Because::at(
                svc.object,
                &[Step::Key("spec"), Step::Key("ports")],
                format!(
                    "no {OPAQUE_PORTS_ANNOTATION}: the injector writes \"{}\" at creation (its ports that target a default opaque port: {})",
                    patched.join(","),
                    defaults.text
                ),
            ),
        );
    }
    (
        defaults.clone(),
        Because::object(
            svc.object,
            format!(
                "no {OPAQUE_PORTS_ANNOTATION}: clients use the cluster default list ({})",
                defaults.text
            ),
        ),
    )
}

/// The client side of Service port `sp` (index `pi`).
fn client_side(
    svc: &Service,
    pi: usize,
    sp: &ServicePort,
    (list, because): &(PortSet, Because),
    app_protocol_honoured: bool,
) -> Side {
    if let (true, Some(app)) = (app_protocol_honoured, sp.app_protocol.as_deref()) {
        // From 2.18 any appProtocol wins over the list for its port.
        let opaque = matches!(app, "linkerd.io/opaque" | "linkerd.io/tcp");
        return Side {
            mode: if opaque { Mode::Opaque } else { Mode::Detect },
            because: Because::at(
                svc.object,
                &[
                    Step::Key("spec"),
                    Step::Key("ports"),
                    Step::Index(pi),
                    Step::Key("appProtocol"),
                ],
                format!(
                    "appProtocol: {app} (Linkerd 2.18 on: it decides port {} for clients)",
                    sp.port
                ),
            ),
        };
    }
    Side {
        mode: if list.contains(sp.port) {
            Mode::Opaque
        } else {
            Mode::Detect
        },
        because: because.clone(),
    }
}

/// The Namespace's own `config.linkerd.io/opaque-ports`, with its object.
fn namespace_list<'i>(inv: &'i Inventory, namespace: &str) -> Option<(ObjectId, &'i PortSet)> {
    let ns = inv.namespace(namespace)?;
    let list = ns.linkerd.annotations.opaque_ports.as_ref()?;
    Some((ns.object?, list))
}

fn annotation_path<'a>(template: &[&'a str]) -> Vec<Step<'a>> {
    template
        .iter()
        .map(|k| Step::Key(k))
        .chain([
            Step::Key("metadata"),
            Step::Key("annotations"),
            Step::Key(OPAQUE_PORTS_ANNOTATION),
        ])
        .collect()
}

/// The list that applies on the pods of workload `wi`: their template's annotation, else (for a
/// template still to be injected) the Namespace's, which the injector copies, else the default
/// ports the template declares as `containerPort`s, which the injector writes.
fn server_side<'a>(inv: &Inventory, w: &'a Workload, defaults: &PortSet) -> ServerSide<'a> {
    let pod = w.linkerd();
    let make = |list: PortSet, because: Because| ServerSide {
        w,
        discarded: !list.invalid.is_empty(),
        list,
        because,
    };
    if let Some(list) = &pod.annotations.opaque_ports {
        return make(
            list.clone(),
            Because::at(
                w.object,
                &annotation_path(w.template_path),
                format!("{OPAQUE_PORTS_ANNOTATION}: \"{}\"", list.text),
            ),
        );
    }
    if pod.is_injected() {
        // The injector has run: what it did not write is not there.
        return make(
            PortSet::EMPTY,
            Because::object(
                w.object,
                format!("injected pod template without {OPAQUE_PORTS_ANNOTATION}"),
            ),
        );
    }
    if let Some((ns_object, list)) = namespace_list(inv, &w.namespace) {
        return make(
            list.clone(),
            Because::at(
                ns_object,
                &annotation_path(&[]),
                format!(
                    "{OPAQUE_PORTS_ANNOTATION}: \"{}\", which the injector copies onto new pods",
                    list.text
                ),
            ),
        );
    }
    let declared: Vec<String> = w
        .all_containers()
        .flat_map(|c| &c.ports)
        .map(|p| p.container_port)
        .filter(|p| defaults.contains(*p))
        .map(|p| p.to_string())
        .collect();
    let mut path: Vec<Step<'_>> = w.template_path.iter().map(|k| Step::Key(k)).collect();
    path.push(Step::Key("metadata"));
    make(
        PortSet::parse(&declared.join(",")),
        Because::at(
            w.object,
            &path,
            if declared.is_empty() {
                format!(
                    "no {OPAQUE_PORTS_ANNOTATION} on the pod template or its Namespace, and no declared containerPort in the default list ({}): the injector writes none",
                    defaults.text
                )
            } else {
                format!(
                    "no {OPAQUE_PORTS_ANNOTATION} on the pod template or its Namespace: the injector writes \"{}\" (its declared containerPorts in the default list {})",
                    declared.join(","),
                    defaults.text
                )
            },
        ),
    )
}

/// The server side of container port `cp` of `server`'s pods: a Server selecting it decides;
/// else the pod's list (discarded whole when an entry is not a port).
fn pod_side(
    servers: &ServersByNamespace<'_>,
    server: &ServerSide<'_>,
    cp: u16,
    cp_name: Option<&str>,
) -> Side {
    let w = server.w;
    let in_namespace = servers
        .get(w.namespace.as_str())
        .map_or(&[][..], Vec::as_slice);
    let selecting = in_namespace.iter().find(|s| {
        s.spec
            .pod_selector
            .as_ref()
            .is_some_and(|sel| sel.matches(&w.labels))
            && match &s.spec.port {
                ServerPort::Number(n) => *n == cp,
                ServerPort::Name(n) => Some(n.as_str()) == cp_name,
            }
    });
    if let Some(s) = selecting {
        let protocol = s.spec.proxy_protocol;
        return Side {
            mode: match protocol {
                ProxyProtocol::Opaque => Mode::Opaque,
                ProxyProtocol::Unknown => Mode::Detect,
                _ => Mode::Declared,
            },
            because: Because::at(
                s.object,
                &[Step::Key("spec"), Step::Key("proxyProtocol")],
                format!(
                    "Server {}/{} selects port {cp} with proxyProtocol {} (a Server wins over the pod annotation)",
                    s.namespace,
                    s.name,
                    protocol.as_str()
                ),
            ),
        };
    }
    if server.discarded {
        let bad: Vec<&str> = server
            .list
            .invalid
            .iter()
            .map(|e| e.entry.as_str())
            .collect();
        return Side {
            mode: Mode::Detect,
            because: Because::at(
                server.because.object.unwrap_or(w.object),
                &server.because.steps(),
                format!(
                    "{}; the policy controller discards the whole list because {} is not a port or range",
                    server.because.fact,
                    bad.join(", ")
                ),
            ),
        };
    }
    Side {
        mode: if server.list.contains(cp) {
            Mode::Opaque
        } else {
            Mode::Detect
        },
        because: server.because.clone(),
    }
}

fn port_list(ports: impl Iterator<Item = u16>) -> String {
    let mut v: Vec<u16> = ports.collect();
    v.sort_unstable();
    v.dedup();
    v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

/// Service opaque, pods not: on the workload, whose pods need the annotation.
fn service_only(
    inv: &Inventory,
    svc: &Service,
    server: &ServerSide<'_>,
    missing: &[(u16, u16, Because)],
    server_because: &[Because],
) -> Finding {
    let w = server.w;
    let object = inv.object(w.object);
    let annotation = annotation_path(w.template_path);
    let path: Vec<Step<'_>> = if w.annotations.contains_key(OPAQUE_PORTS_ANNOTATION) {
        annotation
    } else {
        w.template_path
            .iter()
            .map(|k| Step::Key(k))
            .chain([Step::Key("metadata")])
            .collect()
    };
    let service_ports = port_list(missing.iter().map(|m| m.0));
    let container_ports = port_list(missing.iter().map(|m| m.1));
    let mut f = Finding::new(
        &RULE,
        w.object,
        object,
        &path,
        format!(
            "Service {}/{} marks port {service_ports} opaque for its clients, but the proxy of {} {} runs protocol detection on container port {container_ports}: a protocol whose server speaks first (NATS, SMTP, MySQL) stalls every new connection until the 10 s detection timeout",
            svc.namespace,
            svc.name,
            w.kind,
            object.qualified_name()
        ),
    )
    .key(format!("opaque-ports:service:{}", svc.name));
    for (_, _, because) in missing {
        f.add_because(inv, because);
    }
    for because in server_because {
        f.add_because(inv, because);
    }
    f.evidence.dedup();
    f.remediation(format!(
        "Add {container_ports} to `config.linkerd.io/opaque-ports` on the pod template of {} {} (or its Namespace), or select the port with a Server whose proxyProtocol is opaque; then restart its pods.",
        w.kind,
        object.qualified_name()
    ))
}

/// Pods opaque, Service not: on the Service, whose clients need the annotation.
fn pods_only(
    inv: &Inventory,
    svc: &Service,
    (_, service_because): &(PortSet, Because),
    reverse: &[(u16, String, Because)],
) -> Finding {
    let object = inv.object(svc.object);
    // The annotation to extend, else the first Service port concerned.
    let first = reverse.first().map(|r| r.0);
    let index = svc.spec.ports.iter().position(|p| Some(p.port) == first);
    let path = match index {
        _ if object.annotations.contains_key(OPAQUE_PORTS_ANNOTATION) => annotation_path(&[]),
        Some(i) => vec![Step::Key("spec"), Step::Key("ports"), Step::Index(i)],
        None => vec![Step::Key("metadata")],
    };
    let ports = port_list(reverse.iter().map(|r| r.0));
    let pods: Vec<&str> = reverse.iter().map(|r| r.1.as_str()).collect();
    let mut f = Finding::new(
        &RULE,
        svc.object,
        object,
        &path,
        format!(
            "Service {} leaves port {ports} to protocol detection by its clients' proxies, but its pods treat the port it targets as opaque ({}): clients stall on protocols whose server speaks first, and the two sides disagree on what the connection carries",
            object.qualified_name(),
            pods.join("; ")
        ),
    )
    .key("opaque-ports:pods");
    f.severity = Severity::Low;
    f.add_because(inv, service_because);
    for (_, _, because) in reverse {
        f.add_because(inv, because);
    }
    f.evidence.dedup();
    f = f.resource(ResourceRef::of(object));
    f.remediation(format!(
        "Add {ports} to `config.linkerd.io/opaque-ports` on Service {} (the Service port numbers), or on Linkerd 2.18 and later set `appProtocol: linkerd.io/opaque` on those ports.",
        object.qualified_name()
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    fn run(yaml: &str) -> Vec<Finding> {
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
        let ctx = Context::new(&ingested.inventory, 0);
        let mut out = Vec::new();
        check(&ctx, &mut out);
        out
    }

    fn mesh(
        ns_annotations: &str,
        pod_annotations: &str,
        svc_annotations: &str,
        port: u16,
    ) -> String {
        format!(
            "apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations: {{linkerd.io/inject: enabled{ns_annotations}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: db, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata:
      labels: {{app: db}}
      annotations: {{a: b{pod_annotations}}}
    spec:
      containers:
      - name: db
        image: registry.example.com/db:1.0.0
        ports:
        - {{name: db, containerPort: {port}}}
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
  annotations: {{a: b{svc_annotations}}}
spec:
  selector: {{app: db}}
  ports:
  - {{port: {port}, targetPort: db}}
"
        )
    }

    const OPAQUE: &str = ", config.linkerd.io/opaque-ports: '4222'";

    #[test]
    fn service_only_is_reported_on_the_workload() {
        let found = run(&mesh("", "", OPAQUE, 4222));
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.resource.kind, "Deployment");
        assert!(f.message.contains("port 4222"), "{}", f.message);
        assert!(!f.related.is_empty(), "the Service is a related location");
    }

    #[test]
    fn the_namespace_the_injector_copies_and_a_server_count_on_the_pod_side() {
        // The Namespace lists it: the injector copies it onto new pods (and onto the Service).
        assert!(run(&mesh(OPAQUE, "", "", 4222)).is_empty());
        assert!(run(&mesh(OPAQUE, "", OPAQUE, 4222)).is_empty());
        // Both sides written.
        assert!(run(&mesh("", OPAQUE, OPAQUE, 4222)).is_empty());
        // A Server with proxyProtocol opaque makes the pod side opaque.
        let server = "---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  port: db
  proxyProtocol: opaque
";
        assert!(run(&format!("{}{server}", mesh("", "", OPAQUE, 4222))).is_empty());
        // ...and a Server that detects overrides the pod's own annotation.
        let detect = server.replace("  proxyProtocol: opaque\n", "");
        let found = run(&format!("{}{detect}", mesh("", OPAQUE, OPAQUE, 4222)));
        assert_eq!(found.len(), 1);
        assert!(found[0]
            .evidence
            .join("\n")
            .contains("proxyProtocol unknown"));
        // A declared protocol (TLS: the client speaks first) stalls neither side.
        let tls = server.replace("proxyProtocol: opaque", "proxyProtocol: TLS");
        assert!(run(&format!("{}{tls}", mesh("", "", OPAQUE, 4222))).is_empty());
        assert!(run(&format!("{}{tls}", mesh("", "", "", 4222))).is_empty());
    }

    #[test]
    fn default_ports_follow_what_the_injector_writes() {
        // 3306 is a default: declared as a containerPort, the injector adds it to the pod, and
        // the Service gets it too.
        assert!(run(&mesh("", "", "", 3306)).is_empty());
        let svc = ", config.linkerd.io/opaque-ports: '3306'";
        assert!(run(&mesh("", "", svc, 3306)).is_empty());
        // A pod annotation replaces the default list: 3306 no longer opaque on the pod.
        let pod = ", config.linkerd.io/opaque-ports: '8080'";
        let found = run(&mesh("", pod, svc, 3306));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].resource.kind, "Deployment");
    }

    #[test]
    fn pods_only_is_reported_on_the_service_at_low() {
        let found = run(&mesh("", OPAQUE, "", 4222));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].resource.kind, "Service");
        assert_eq!(found[0].severity, Severity::Low);
        // appProtocol linkerd.io/opaque on the Service port fixes it (2.18 on).
        let yaml = mesh("", OPAQUE, "", 4222).replace(
            "  - {port: 4222, targetPort: db}",
            "  - {port: 4222, targetPort: db, appProtocol: linkerd.io/opaque}",
        );
        assert!(run(&yaml).is_empty());
    }

    #[test]
    fn a_named_entry_discards_the_pod_list() {
        let pod = ", config.linkerd.io/opaque-ports: 'db'";
        let found = run(&mesh("", pod, OPAQUE, 4222));
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .evidence
                .join("\n")
                .contains("discards the whole list"),
            "{:?}",
            found[0].evidence
        );
    }

    #[test]
    fn unmeshed_and_headless_backends_are_not_judged() {
        let unmeshed = mesh("", ", linkerd.io/inject: disabled", OPAQUE, 4222);
        assert!(run(&unmeshed).is_empty());
        let headless = mesh("", "", OPAQUE, 4222).replace(
            "  selector: {app: db}\n  ports:",
            "  clusterIP: None\n  selector: {app: db}\n  ports:",
        );
        assert!(run(&headless).is_empty());
    }
}
