//! NET011: a ServiceEntry to an external host that workloads reach directly, with no egress
//! gateway and no NetworkPolicy boundary.

use meshaudit_engine::membership::DataPlane;
use meshaudit_engine::network_policy::NetVerdict;
use meshaudit_model::istio::{ServiceEntrySpec, Typed, VirtualServiceSpec};
use meshaudit_model::{Inventory, Node, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use crate::rules::naming::list_workloads_qualified;

pub static RULE: Rule = Rule {
    code: "NET011",
    name: "external-service-without-egress-boundary",
    title: "External service reached directly, with no egress gateway or NetworkPolicy boundary",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.6",
        "PCI-DSS:1.3.2",
        "HIPAA:164.312(e)(1)",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

A ServiceEntry for hosts outside the mesh (`location: MESH_EXTERNAL`, the default) that
workloads reach straight from their sidecars: no VirtualService sends the hosts through an egress
gateway (a route whose destination is an `egressgateway` Service), and the meshed workloads that
can see the ServiceEntry (its `exportTo`, every namespace by default) include some whose egress
no NetworkPolicy restricts. The finding lists those workloads.

## Why it matters

A ServiceEntry tells sidecars a host is allowed; with `REGISTRY_ONLY` it is the mesh's egress
allow-list. But that list is enforced by the sidecar of the very workload it is meant to contain:
an application that bypasses its proxy (excluded ports, UID 1337, a pod without injection) reaches
any address. Istio's guidance is to send external traffic through an egress gateway and to pair it
with NetworkPolicy so that only the gateway may leave the cluster — then the allow-list holds even
when a workload is compromised, and egress is logged in one place.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: stripe
  namespace: payments
spec:
  hosts: ["api.stripe.com"]
  ports:
    - {number: 443, name: tls, protocol: TLS}
  resolution: DNS
# ...no VirtualService routing api.stripe.com via istio-egressgateway, and no egress
# NetworkPolicy in payments
```

## Fix

Route the host through the egress gateway (a Gateway on the egress gateway, and a VirtualService
from `mesh` to the gateway and from the gateway to the host), and deny egress from the
namespaces except to the egress gateway, DNS and istiod. At least, restrict the workloads' egress
with NetworkPolicy.

## References

- Istio: Egress gateways (and its "additional security considerations") — https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/
- Istio: Accessing external services — https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/
- Istio: ServiceEntry reference (`location`, `exportTo`) — https://istio.io/latest/docs/reference/config/networking/service-entry/
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

/// Does a VirtualService route somewhere through an egress gateway? Reads route destinations
/// from the raw document (`spec.http|tls|tcp[].route[].destination.host`).
fn routes_via_egress_gateway(inv: &Inventory, vs: &Typed<VirtualServiceSpec>) -> bool {
    let node = &inv.object(vs.object).node;
    ["http", "tls", "tcp"].iter().any(|kind| {
        node.at(&[Step::Key("spec"), Step::Key(kind)])
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
            .flat_map(|route| {
                route
                    .get("route")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
            })
            .filter_map(|r| r.at(&[Step::Key("destination"), Step::Key("host")]))
            .filter_map(Node::as_str)
            .any(|host| host.contains("egressgateway"))
    })
}

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.ends_with(&format!(".{suffix}")) || host == suffix,
        None => pattern == host || pattern == "*",
    }
}

/// Namespaces a ServiceEntry is visible to: `None` for every namespace.
fn visible_to(entry: &Typed<ServiceEntrySpec>) -> Option<Vec<String>> {
    let export = entry.spec.export_to.as_ref()?;
    if export.iter().any(|e| e == "*") || export.is_empty() {
        return None;
    }
    Some(
        export
            .iter()
            .map(|e| {
                if e == "." {
                    entry.namespace.clone()
                } else {
                    e.clone()
                }
            })
            .collect(),
    )
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let index = &graph.network_policies;
    // Meshed clients with a sidecar, and whether their egress is unrestricted; computed once.
    let open_clients: Vec<WorkloadId> = graph
        .workloads_with_ids()
        .filter(|(_, node)| node.istio_data_plane() == DataPlane::Sidecar)
        .map(|(w, _)| w)
        .filter(|&w| index.egress_to_outside(inv, w).verdict == NetVerdict::Allowed)
        .collect();
    let gateway_routes: Vec<&Typed<VirtualServiceSpec>> = inv
        .istio
        .virtual_services
        .iter()
        .filter(|vs| routes_via_egress_gateway(inv, vs))
        .collect();
    for entry in &inv.istio.service_entries {
        let location = entry.spec.location.as_deref().unwrap_or("MESH_EXTERNAL");
        if !location.eq_ignore_ascii_case("MESH_EXTERNAL") || entry.spec.hosts.is_empty() {
            continue;
        }
        let direct: Vec<&String> = entry
            .spec
            .hosts
            .iter()
            .filter(|host| {
                !gateway_routes.iter().any(|vs| {
                    vs.spec
                        .hosts
                        .iter()
                        .any(|h| host_matches(h, host) || host_matches(host, h))
                })
            })
            .collect();
        if direct.is_empty() {
            continue;
        }
        let visible = visible_to(entry);
        let clients: Vec<WorkloadId> = open_clients
            .iter()
            .copied()
            .filter(|&w| {
                visible
                    .as_ref()
                    .is_none_or(|v| v.contains(&inv.workloads[w].namespace))
            })
            .collect();
        if clients.is_empty() {
            continue;
        }
        let object = inv.object(entry.object);
        let hosts: Vec<&str> = direct.iter().map(|h| h.as_str()).collect();
        let finding = Finding::new(
            &RULE,
            entry.object,
            object,
            &[Step::Key("spec"), Step::Key("hosts")],
            format!(
                "ServiceEntry {}/{} lets sidecars reach {} directly: no egress gateway carries it, and {} workload(s) that see it may connect to any address",
                entry.namespace,
                entry.name,
                hosts.join(", "),
                clients.len()
            ),
        )
        .evidence("no VirtualService routes these hosts through an egress gateway")
        .evidence(format!(
            "egress not restricted by NetworkPolicy: {}",
            list_workloads_qualified(inv, &clients, 5)
        ))
        .evidence(match &visible {
            None => "exportTo: every namespace".to_owned(),
            Some(v) => format!("exportTo: {}", v.join(", ")),
        })
        .remediation(format!(
            "Route {} through the egress gateway and restrict these workloads' egress with NetworkPolicy to the egress gateway, DNS and istiod.",
            hosts.join(", ")
        ));
        out.push(finding);
    }
}
