//! AUTHN015: application ports that Linkerd's proxy skips: plaintext, no identity, no policy.

use std::collections::{BTreeMap, BTreeSet};

use meshaudit_engine::linkerd::membership::{InboundPath, Level, LinkerdMembership, SkipList};
use meshaudit_engine::Because;
use meshaudit_model::{Inventory, ObjectId, ServiceId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN015",
    name: "linkerd-port-skips-proxy",
    title: "Linkerd proxy skips application ports",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A meshed workload whose traffic on application ports bypasses its Linkerd proxy, reported on the
place that sets the list (the pod template's annotation, the Namespace's annotation the injector
copies, `linkerd-init`'s arguments in a template that already carries the proxy, or
`proxyInit.ignoreInboundPorts`/`ignoreOutboundPorts` in `linkerd-config`), one finding per place and
direction:

- `config.linkerd.io/skip-inbound-ports` (ports and `low-high` ranges) covering a port the workload
  serves — a container port it declares or a Service's `targetPort` — `high`;
- `config.linkerd.io/skip-outbound-ports` covering a port of a Service in the input whose pods are
  meshed (the Service `port` clients dial; the target port for headless Services) — `medium`.

A list that covers no port the input shows served, the chart's own default (`4567,4568`, Galera)
and Linkerd's control-plane components (which skip `443,6443` outbound to reach the API server) are
not reported.

## Why it matters

iptables hands skipped ports to the application directly. An inbound skipped port has no mesh TLS,
no client identity and no Linkerd policy at all — any pod, meshed or not, sends it plaintext that
no `Server` or default policy can refuse — and the destination controller stops giving clients an
identity for that port, so even meshed callers fall back to plaintext. Outbound skipped ports leave
the pod without the proxy: the call is plaintext and carries no identity, so the meshed server sees
an unauthenticated client, and identity-based authorizations refuse it or, worse, were written to
admit it.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: checkout
spec:
  template:
    metadata:
      annotations:
        config.linkerd.io/skip-inbound-ports: "9090"
```

## Fix

Remove the port from the skip list and let the proxy handle it. Protocols the proxy cannot detect
(server-speaks-first protocols such as MySQL, NATS, SMTP) need `config.linkerd.io/opaque-ports` —
mutual TLS without protocol detection — not a skip. If a port really must bypass the proxy, serve
nothing sensitive on it and restrict it with a NetworkPolicy.

## References

- Linkerd: Proxy configuration (skip-inbound-ports, skip-outbound-ports) — https://linkerd.io/2.18/reference/proxy-configuration/
- Linkerd: Protocol detection and opaque ports — https://linkerd.io/2.18/features/protocol-detection/
- Linkerd: Automatic mTLS (skipped ports bypass the proxy) — https://linkerd.io/2.18/features/automatic-mtls/
- linkerd2 source: controller/api/destination/endpoint_translator.go (no identity for skipped ports) — https://github.com/linkerd/linkerd2/blob/main/controller/api/destination/endpoint_translator.go
- linkerd2-proxy-init source: pkg/iptables/iptables.go — https://github.com/linkerd/linkerd2-proxy-init/blob/main/pkg/iptables/iptables.go
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

const MAX_LISTED: usize = 6;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    Inbound,
    Outbound,
}

/// A port taken away from the proxy, with the Services it is reached through
/// (`Service checkout/orders`).
/// A port taken away from the proxy, with the Services that lead to it (inbound only: the
/// Services of an outbound port are looked up once per finding, not copied per workload).
type Covered = (u16, Vec<ServiceId>);

/// One place that sets a skip list, and what it takes away from the proxy.
struct Group {
    level: Level,
    because: Because,
    /// The list's text as written.
    text: String,
    /// Per workload: the covered ports, each with what it is (`Service checkout/orders`).
    workloads: Vec<(WorkloadId, Vec<Covered>)>,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let memberships = ctx.linkerd_membership();
    let app_ports = ctx.linkerd_app_ports();
    let meshed_service_ports = meshed_service_ports(inv, memberships);
    let mut groups: BTreeMap<(Direction, ObjectId, String), Group> = BTreeMap::new();
    // Memberships are in workload order (none when the input holds nothing of Linkerd).
    for (w, m) in inv.workload_ids().zip(memberships) {
        let Some(capture) = m.capture.as_ref().filter(|_| !m.control_plane) else {
            continue;
        };
        // Inbound: served ports the proxy never sees.
        let inbound: Vec<Covered> = app_ports[w.index()]
            .iter()
            .filter(|p| capture.inbound(p.port) == InboundPath::Skipped)
            .map(|p| (p.port, p.services.clone()))
            .collect();
        add(
            &mut groups,
            Direction::Inbound,
            &capture.skip_inbound,
            w,
            inbound,
        );
        // Outbound: ports of meshed Services the pod's calls leave for without the proxy.
        let outbound: Vec<Covered> = meshed_service_ports
            .keys()
            .filter(|port| capture.skip_outbound.ports.contains(**port))
            .map(|port| (*port, Vec::new()))
            .collect();
        add(
            &mut groups,
            Direction::Outbound,
            &capture.skip_outbound,
            w,
            outbound,
        );
    }
    for ((direction, object, _), group) in groups {
        out.push(finding(
            ctx,
            direction,
            object,
            &group,
            &meshed_service_ports,
        ));
    }
}

fn add(
    groups: &mut BTreeMap<(Direction, ObjectId, String), Group>,
    direction: Direction,
    list: &SkipList,
    w: WorkloadId,
    covered: Vec<Covered>,
) {
    // The chart's own defaults are Linkerd's choice, not the user's.
    if list.level == Level::Default || covered.is_empty() {
        return;
    }
    let Some(because) = list.because.as_ref() else {
        return;
    };
    let Some(object) = because.object else {
        return;
    };
    groups
        .entry((direction, object, because.field_text()))
        .or_insert_with(|| Group {
            level: list.level,
            because: because.clone(),
            text: list.ports.text.clone(),
            workloads: Vec::new(),
        })
        .workloads
        .push((w, covered));
}

/// Ports clients dial to reach meshed pods through a Service of the input (the `port`, or the
/// target port for headless Services), with the Services. Services of Linkerd's control plane
/// (its webhooks, which the API server calls) are left out.
fn meshed_service_ports(
    inv: &Inventory,
    memberships: &[LinkerdMembership],
) -> BTreeMap<u16, BTreeSet<ServiceId>> {
    let mut out: BTreeMap<u16, BTreeSet<ServiceId>> = BTreeMap::new();
    for (s, service) in ServiceId::enumerate(&inv.services) {
        let Some(selector) = service.spec.selector.as_ref().filter(|m| !m.is_empty()) else {
            continue;
        };
        let headless = service.spec.cluster_ip.as_deref() == Some("None");
        for w in inv.workloads_matching_in(&service.namespace, selector) {
            let m = &memberships[w.index()];
            if !m.meshed || m.control_plane {
                continue;
            }
            for port in &service.spec.ports {
                if port.protocol.as_deref().is_some_and(|p| p != "TCP") {
                    continue;
                }
                let Some(target) =
                    meshaudit_engine::linkerd::membership::target_port(port, &inv.workloads[w])
                else {
                    continue;
                };
                if !m.captures_inbound(target) {
                    continue;
                }
                let dialled = if headless { target } else { port.port };
                out.entry(dialled).or_default().insert(s);
            }
        }
    }
    out
}

fn service_name(inv: &Inventory, s: ServiceId) -> String {
    let svc = &inv.services[s];
    format!("Service {}/{}", svc.namespace, svc.name)
}

fn finding(
    ctx: &Context<'_>,
    direction: Direction,
    object: ObjectId,
    group: &Group,
    meshed_service_ports: &BTreeMap<u16, BTreeSet<ServiceId>>,
) -> Finding {
    let inv = ctx.inventory;
    let o = inv.object(object);
    let field = group.because.field_text();
    let setter = match group.level {
        Level::Cluster => format!(
            "linkerd-config ({}: \"{}\")",
            if direction == Direction::Inbound {
                "proxyInit.ignoreInboundPorts"
            } else {
                "proxyInit.ignoreOutboundPorts"
            },
            group.text
        ),
        Level::Namespace => format!(
            "Namespace {} ({}: \"{}\")",
            o.name,
            annotation_key(direction),
            group.text
        ),
        _ if field.contains("initContainers") => format!(
            "linkerd-init of {} {} ({})",
            o.kind,
            o.qualified_name(),
            group.text
        ),
        _ => format!(
            "the pod template of {} {} ({}: \"{}\")",
            o.kind,
            o.qualified_name(),
            annotation_key(direction),
            group.text
        ),
    };
    let listed: Vec<String> = group
        .workloads
        .iter()
        .take(MAX_LISTED)
        .map(|(w, ports)| {
            let workload = &inv.workloads[*w];
            let ports: Vec<String> = ports
                .iter()
                .map(|(port, services)| {
                    if services.is_empty() || direction == Direction::Outbound {
                        port.to_string()
                    } else {
                        let names: Vec<String> =
                            services.iter().map(|&s| service_name(inv, s)).collect();
                        format!("{port} via {}", names.join(", "))
                    }
                })
                .collect();
            format!(
                "{} {}/{} ({})",
                workload.kind,
                workload.namespace,
                workload.name,
                ports.join("; ")
            )
        })
        .collect();
    let more = group.workloads.len().saturating_sub(MAX_LISTED);
    let listed = if more > 0 {
        format!("{} and {more} more", listed.join(", "))
    } else {
        listed.join(", ")
    };
    let message = match direction {
        Direction::Inbound => format!(
            "{setter} keeps served ports away from the Linkerd proxy — {listed}: connections to them reach the application with no mesh TLS, no client identity and no Linkerd policy, and meshed clients send them plaintext too"
        ),
        Direction::Outbound => {
            let ports: BTreeSet<u16> = group
                .workloads
                .iter()
                .flat_map(|(_, covered)| covered.iter().map(|(port, _)| *port))
                .collect();
            // Every Service on those ports, named once, the first few by name.
            let ids: BTreeSet<ServiceId> = ports
                .iter()
                .filter_map(|p| meshed_service_ports.get(p))
                .flatten()
                .copied()
                .collect();
            let names: BTreeSet<String> = ids.into_iter().map(|s| service_name(inv, s)).collect();
            let services: Vec<&str> = names.iter().map(String::as_str).take(MAX_LISTED).collect();
            format!(
                "{setter} lets calls to port(s) {} of meshed services ({}) leave without the Linkerd proxy — from {listed}: they travel in plaintext without the caller's mesh identity",
                ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                services.join(", ")
            )
        }
    };
    let mut f = Finding::new(&RULE, object, o, &group.because.steps(), message).key(
        if direction == Direction::Inbound {
            "skip-inbound-ports"
        } else {
            "skip-outbound-ports"
        },
    );
    if group.level == Level::Cluster {
        if let Some(c) = inv.linkerd.config.as_ref() {
            f.location = if direction == Direction::Inbound {
                c.ignore_inbound_ports.location.clone()
            } else {
                c.ignore_outbound_ports.location.clone()
            };
        }
    }
    f.add_because(inv, &group.because);
    for (w, ports) in &group.workloads {
        let workload = &inv.workloads[*w];
        let ports: Vec<String> = ports.iter().map(|(p, _)| p.to_string()).collect();
        f.relate(
            inv,
            &Because::at(
                workload.object,
                &[Step::Key("metadata"), Step::Key("name")],
                format!(
                    "meshed; {} port(s) {} bypass its proxy",
                    if direction == Direction::Inbound {
                        "served"
                    } else {
                        "outbound"
                    },
                    ports.join(", ")
                ),
            ),
        );
    }
    if direction == Direction::Outbound {
        f.severity = Severity::Medium;
    }
    let fix = match direction {
        Direction::Inbound => format!(
            "Remove the served ports from {setter} so the proxy handles them (use config.linkerd.io/opaque-ports for protocols it cannot detect) and restart the pods; if a port must bypass the proxy, serve nothing sensitive there and restrict it with a NetworkPolicy."
        ),
        Direction::Outbound => format!(
            "Remove the meshed services' ports from {setter} so those calls go through the proxy with mutual TLS and the caller's identity, and restart the pods."
        ),
    };
    f.remediation(fix)
}

fn annotation_key(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => meshaudit_model::linkerd::SKIP_INBOUND_PORTS_ANNOTATION,
        Direction::Outbound => meshaudit_model::linkerd::SKIP_OUTBOUND_PORTS_ANNOTATION,
    }
}
