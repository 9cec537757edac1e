//! TLS001: a Gateway server serves plaintext HTTP without redirecting to HTTPS.

use std::collections::HashMap;

use meshaudit_model::selector::Labels;
use meshaudit_model::Step;

use super::gateway_common::{exposure, Exposure};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::istio_scope::gateway_workloads;

pub static RULE: Rule = Rule {
    code: "TLS001",
    name: "gateway-plaintext-http",
    title: "Gateway serves plaintext HTTP without redirect",
    category: Category::Encryption,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "HIPAA:164.312(e)(2)(ii)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
    ],
    doc: r#"
## What it detects

A server of an Istio `Gateway` whose port protocol is a plaintext one (`HTTP`, `HTTP2`, `GRPC`)
and which does not set `tls.httpsRedirect: true`, so the gateway answers requests over unencrypted
HTTP instead of sending clients to HTTPS.

Severity follows how the gateway workloads are exposed: high when a Service of type
LoadBalancer or NodePort (or with externalIPs) selects them, or when they are not in the input;
medium when only cluster-internal Services select them.

Egress gateways are not reported: a Gateway whose selector is `istio: egressgateway`, or whose
selected workloads all carry that label. Istio's documented egress pattern sends plain HTTP from
the sidecars to the egress gateway on port 80 (inside the mesh, over mTLS when the
DestinationRule says `ISTIO_MUTUAL`), and the gateway originates TLS to the external host;
TLS006 checks that origination.

## Why it matters

Everything sent to that listener — credentials, session cookies, bearer tokens, personal data —
crosses the network in clear text and can be read or changed by anyone on the path. Clients that
follow a plain `http://` link never upgrade. A server that only redirects (`httpsRedirect: true`)
answers every request with a 301 to HTTPS and carries no application traffic.

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
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts: ["shop.example.com"]
```

## Fix

Redirect the plaintext server to HTTPS and serve the hosts on a TLS server:

```yaml
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
    tls:
      httpsRedirect: true
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["shop.example.com"]
    tls:
      mode: SIMPLE
      credentialName: shop-tls
      minProtocolVersion: TLSV1_2
```

## References

- Istio: Gateway reference (ServerTLSSettings.httpsRedirect) — https://istio.io/latest/docs/reference/config/networking/gateway/
- Istio: Secure gateways — https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/
- Istio: Egress gateways (HTTP traffic to the egress gateway on port 80) — https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/
- PCI DSS v4.0, 4.2.1 (strong cryptography for data in transit over open networks)
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

const PLAINTEXT_PROTOCOLS: &[&str] = &["HTTP", "HTTP2", "GRPC"];

const EGRESS_LABEL: (&str, &str) = ("istio", "egressgateway");

fn is_egress_label(labels: &Labels) -> bool {
    labels.get(EGRESS_LABEL.0).map(String::as_str) == Some(EGRESS_LABEL.1)
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for gateway in &inv.istio.gateways {
        let workloads = gateway_workloads(ctx, gateway);
        // Egress gateways take plain HTTP from the mesh by design (Istio's egress pattern).
        if is_egress_label(&gateway.spec.selector)
            || (!workloads.is_empty()
                && workloads
                    .iter()
                    .all(|&w| is_egress_label(&inv.workloads[w].labels)))
        {
            continue;
        }
        let exposure = exposure(ctx, &workloads);
        // Servers per port number: a port shared by several servers (one per host) needs its
        // hosts in the key to keep each finding's fingerprint its own.
        let mut servers_on_port: HashMap<u32, usize> = HashMap::new();
        for server in &gateway.spec.servers {
            if let Some(port) = &server.port {
                *servers_on_port.entry(port.number).or_default() += 1;
            }
        }
        for (i, server) in gateway.spec.servers.iter().enumerate() {
            let Some(port) = &server.port else { continue };
            let protocol = port.protocol.to_ascii_uppercase();
            if !PLAINTEXT_PROTOCOLS.contains(&protocol.as_str()) {
                continue;
            }
            if server.tls.as_ref().and_then(|t| t.https_redirect) == Some(true) {
                continue;
            }
            let object = inv.object(gateway.object);
            let path = [
                Step::Key("spec"),
                Step::Key("servers"),
                Step::Index(i),
                Step::Key("port"),
            ];
            let hosts = if server.hosts.is_empty() {
                "no hosts".to_owned()
            } else {
                server.hosts.join(", ")
            };
            let (severity, reach) = match &exposure {
                Exposure::External(_) => (Severity::High, " to clients outside the cluster"),
                Exposure::Internal(_) => (Severity::Medium, " to clients inside the cluster"),
                Exposure::Unknown => (Severity::High, ""),
            };
            let mut f = Finding::new(
                    &RULE,
                    gateway.object,
                    object,
                    &path,
                    format!(
                        "Gateway {}/{} serves {hosts} over plaintext {protocol} on port {}{reach} without redirecting to HTTPS",
                        gateway.namespace, gateway.name, port.number
                    ),
                )
                .key(if servers_on_port.get(&port.number).copied().unwrap_or(0) > 1 {
                    format!("port {}:{}", port.number, server.hosts.join(","))
                } else {
                    format!("port {}", port.number)
                })
                .evidence(format!(
                    "server {i}: protocol {}, tls.httpsRedirect not set",
                    port.protocol
                ))
                .remediation(format!(
                    "Set tls.httpsRedirect: true on the port-{} server of Gateway {}/{} and serve {hosts} on an HTTPS server with a credentialName.",
                    port.number, gateway.namespace, gateway.name
                ));
            match &exposure {
                Exposure::External(lines) => lines.add_to(inv, &mut f, 4),
                Exposure::Internal(lines) => {
                    lines.add_to(inv, &mut f, 4);
                    f = f.evidence(
                        "only cluster-internal Services select the gateway workloads, so severity is lowered to medium",
                    );
                }
                Exposure::Unknown => {
                    f = f.evidence(
                        "no workload matching the selector is in the input; assuming the gateway is reachable from outside the cluster",
                    );
                }
            }
            f.severity = severity;
            out.push(f);
        }
    }
}
