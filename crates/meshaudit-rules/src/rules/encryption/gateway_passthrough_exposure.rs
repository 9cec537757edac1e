//! TLS004: a Gateway forwards TLS it does not terminate for any host (AUTO_PASSTHROUGH or
//! PASSTHROUGH with a wildcard) on a gateway that is not a dedicated east-west gateway.

use meshaudit_model::istio::{GatewaySpec, Typed};
use meshaudit_model::selector::map_selects;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::istio_scope::gateway_workloads;

use super::gateway_common::{
    exposure, hosts_text, server_label, tls_mode, tls_path, Exposure, ExposureLines,
};
use meshaudit_model::WorkloadId;

pub static RULE: Rule = Rule {
    code: "TLS004",
    name: "gateway-passthrough-exposure",
    title: "Gateway passes TLS through for any in-mesh host",
    category: Category::Encryption,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "PCI-DSS:1.4.1",
        "NIST-800-204A:SM-DR1",
        "NIST-800-204B:ABAC-1",
    ],
    doc: r#"
## What it detects

A server of an Istio `Gateway` that does not terminate TLS and forwards it for a wildcard of hosts,
on a gateway that is not a dedicated east-west gateway:

- `tls.mode: AUTO_PASSTHROUGH` with hosts `*`, `*.local`, `*.cluster.local` or
  `*.svc.cluster.local` — **high** when the gateway workload is exposed by a `LoadBalancer` or
  `NodePort` Service (or its Services are not in the input), **medium** when only
  cluster-internal Services select it;
- `tls.mode: PASSTHROUGH` with hosts `*` — **medium** when exposed or unknown, **low** when
  internal only.

The gateway workloads are those whose labels match the Gateway's `selector`, in any namespace
(Istio's default; `PILOT_SCOPE_GATEWAY_TO_NAMESPACE` restricts it to the Gateway's namespace).
A gateway is taken as dedicated east-west when its selector or every selected workload carries
`istio: eastwestgateway` or `topology.istio.io/network`, and no Gateway that selects it has a
server that terminates TLS or serves plaintext. Such gateways are the documented multi-network
setup (`*.local` on port 15443) and are not reported.

## Why it matters

With `AUTO_PASSTHROUGH` the destination (service, subset and port) is encoded in the SNI and the
gateway forwards to that Envoy cluster without any VirtualService. Any client that can reach the
port can address any in-mesh service by SNI, bypassing the routes, hostnames and HTTP
authorization a normal ingress enforces; the only remaining control is mTLS at the destination
sidecar, and workloads in PERMISSIVE mode or without a sidecar keep no control at all. The mode
"assumes that both the source and the destination are using Istio mTLS" — it is meant for
east-west traffic between meshed clusters, not for an ingress gateway.

With `PASSTHROUGH` and `*`, the gateway forwards TLS for every SNI that some bound VirtualService
routes, so any team that binds a `tls` route to the gateway exposes its service on it, and the
gateway applies no TLS termination, certificate policy or HTTP authorization of its own.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gateway
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ["*.local"]
    tls:
      mode: AUTO_PASSTHROUGH
```

## Fix

Serve cross-network traffic from a dedicated east-west gateway (its own Deployment and Service,
reachable only from the peer networks) and remove the `AUTO_PASSTHROUGH` server from the ingress
gateway. On ingress gateways terminate TLS (`SIMPLE`/`MUTUAL` with a `credentialName`) or list the
exact SNI hosts a `PASSTHROUGH` server forwards:

```yaml
  servers:
  - port: {number: 443, name: tls-db, protocol: TLS}
    hosts: ["db.example.com"]
    tls:
      mode: PASSTHROUGH
```

## References

- Istio: Gateway reference (ServerTLSSettings.TLSmode AUTO_PASSTHROUGH, PASSTHROUGH) — https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings-TLSmode
- Istio: Install multi-primary on different networks (east-west gateway) — https://istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/
- Istio: Ingress gateway without TLS termination — https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-sni-passthrough/
- NIST SP 800-204A, SM-DR1
"#,
    check,
};

/// Host patterns that cover every in-mesh service.
const MESH_WILDCARDS: &[&str] = &["*", "*.local", "*.cluster.local", "*.svc.cluster.local"];

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for gateway in &inv.istio.gateways {
        let mut workloads: Option<Vec<WorkloadId>> = None;
        for (i, server) in gateway.spec.servers.iter().enumerate() {
            let mode = tls_mode(server);
            let auto = match mode.as_deref() {
                Some("AUTO_PASSTHROUGH") => true,
                Some("PASSTHROUGH") => false,
                _ => continue,
            };
            let wildcards: Vec<&str> = server
                .hosts
                .iter()
                .map(|h| h.rsplit_once('/').map_or(h.as_str(), |(_, host)| host))
                .filter(|h| {
                    if auto {
                        MESH_WILDCARDS.contains(h)
                    } else {
                        *h == "*"
                    }
                })
                .collect();
            if wildcards.is_empty() {
                continue;
            }
            let selected = workloads.get_or_insert_with(|| gateway_workloads(ctx, gateway));
            let not_east_west = match dedicated_east_west(ctx, gateway, selected) {
                Ok(()) => continue,
                Err(why) => why,
            };
            let exposure = exposure(ctx, selected);
            let none = ExposureLines::default();
            let (severity, reach, lines) = match (&exposure, auto) {
                (Exposure::External(l), true) => (Severity::High, "from outside the cluster", l),
                (Exposure::External(l), false) => (Severity::Medium, "from outside the cluster", l),
                (Exposure::Internal(l), true) => (Severity::Medium, "from inside the cluster", l),
                (Exposure::Internal(l), false) => (Severity::Low, "from inside the cluster", l),
                (Exposure::Unknown, true) => (Severity::High, "", &none),
                (Exposure::Unknown, false) => (Severity::Medium, "", &none),
            };
            let label = server_label(server, i);
            let hosts = hosts_text(server);
            let gw = format!("{}/{}", gateway.namespace, gateway.name);
            let who = if reach.is_empty() {
                "any client that can reach the port".to_owned()
            } else {
                format!("any client that can reach the port {reach}")
            };
            let message = if auto {
                format!(
                    "Gateway {gw} {label} uses AUTO_PASSTHROUGH for {hosts}: {who} can address any in-mesh service by SNI, without a VirtualService or gateway-side authorization"
                )
            } else {
                format!(
                    "Gateway {gw} {label} passes TLS through for hosts {hosts}: {who} reaches every service a VirtualService routes on this gateway, without TLS termination or gateway-side authorization"
                )
            };
            let object = inv.object(gateway.object);
            let path = tls_path(i, "mode");
            let mut f =
                Finding::new(&RULE, gateway.object, object, &path, message).evidence(format!(
                    "server {i}: tls.mode {}, hosts {hosts}",
                    mode.as_deref().unwrap_or_default()
                ));
            f = f.evidence(format!(
                "selector {} is not a dedicated east-west gateway: {not_east_west}",
                gateway_selector_text(gateway)
            ));
            lines.add_to(inv, &mut f, usize::MAX);
            match exposure {
                Exposure::Unknown => {
                    f = f.evidence(
                        "no workload matching the selector is in the input; assuming the gateway is reachable from outside the cluster",
                    )
                }
                Exposure::Internal(_) => {
                    f = f.evidence(
                        "only cluster-internal Services select the gateway workloads, so severity is lowered",
                    )
                }
                Exposure::External(_) => {}
            }
            if !auto {
                for vs in bound_virtual_services(ctx, gateway) {
                    f = f.evidence(vs);
                }
            }
            f = f.remediation(if auto {
                format!(
                    "Remove the AUTO_PASSTHROUGH server ({label}) from Gateway {gw}; serve cross-network traffic from a dedicated east-west gateway reachable only from peer networks."
                )
            } else {
                format!(
                    "List the exact SNI hosts on the {label} server of Gateway {gw} instead of *, or terminate TLS at the gateway (SIMPLE/MUTUAL with a credentialName)."
                )
            });
            f.severity = severity;
            out.push(f);
        }
    }
}

/// A Gateway's `selector` as `k=v,k=v`, or `{}` when it selects every gateway proxy (unlike
/// [`crate::rules::naming::selector_text`], which reads full label selectors).
fn gateway_selector_text(gateway: &Typed<GatewaySpec>) -> String {
    if gateway.spec.selector.is_empty() {
        return "{} (every gateway proxy)".to_owned();
    }
    let pairs: Vec<String> = gateway
        .spec
        .selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.join(",")
}

fn is_east_west_labels(labels: &meshaudit_model::selector::Labels) -> bool {
    labels.get("istio").map(String::as_str) == Some("eastwestgateway")
        || labels.contains_key("topology.istio.io/network")
}

/// `Ok` for an east-west gateway that serves nothing but passthrough traffic, else why not.
fn dedicated_east_west(
    ctx: &Context<'_>,
    gateway: &Typed<GatewaySpec>,
    workloads: &[WorkloadId],
) -> Result<(), &'static str> {
    let inv = ctx.inventory;
    let marked = is_east_west_labels(&gateway.spec.selector)
        || (!workloads.is_empty()
            && workloads
                .iter()
                .all(|&w| is_east_west_labels(&inv.workloads[w].labels)));
    if !marked {
        return Err("neither the selector nor the selected workloads carry istio=eastwestgateway or topology.istio.io/network");
    }
    // Every Gateway configuring the same proxies: same selector, or one selecting a workload of ours.
    let passthrough_only = inv
        .istio
        .gateways
        .iter()
        .filter(|other| {
            other.spec.selector == gateway.spec.selector
                || workloads.iter().any(|&w| {
                    !other.spec.selector.is_empty()
                        && map_selects(&other.spec.selector, &inv.workloads[w].labels)
                })
        })
        .flat_map(|other| other.spec.servers.iter())
        .all(|s| {
            matches!(
                tls_mode(s).as_deref(),
                Some("AUTO_PASSTHROUGH" | "PASSTHROUGH" | "ISTIO_MUTUAL")
            )
        });
    if passthrough_only {
        Ok(())
    } else {
        Err("the same gateway proxies also serve ingress (a server that terminates TLS or serves plaintext)")
    }
}

/// VirtualServices bound to this Gateway, as evidence lines.
fn bound_virtual_services(ctx: &Context<'_>, gateway: &Typed<GatewaySpec>) -> Vec<String> {
    let inv = ctx.inventory;
    let full = format!("{}/{}", gateway.namespace, gateway.name);
    inv.istio
        .virtual_services
        .iter()
        .filter(|vs| {
            vs.spec
                .gateways
                .iter()
                .any(|g| g == &full || (g == &gateway.name && vs.namespace == gateway.namespace))
        })
        .map(|vs| {
            format!(
                "VirtualService {}/{} ({}) is bound to this gateway for hosts {}",
                vs.namespace,
                vs.name,
                inv.object(vs.object).origin,
                vs.spec.hosts.join(", ")
            )
        })
        .collect()
}
