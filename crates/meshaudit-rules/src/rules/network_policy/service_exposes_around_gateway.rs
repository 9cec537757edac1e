//! NET008: a LoadBalancer, NodePort or externalIPs Service in front of meshed workloads that
//! are not gateways.

use meshaudit_engine::network_policy::{NetVerdict, Source};
use meshaudit_model::istio::MtlsMode;
use meshaudit_model::{ServiceId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::isolation::is_gateway;

pub static RULE: Rule = Rule {
    code: "NET008",
    name: "service-exposes-around-gateway",
    title: "Service exposes meshed workloads outside the cluster, around the ingress gateway",
    category: Category::NetworkPolicy,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.6",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:1.3.1",
        "PCI-DSS:1.4.1",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR1",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

A Service of type `LoadBalancer` or `NodePort`, or with `externalIPs`, whose selector reaches
meshed workloads (with a sidecar or in ambient mode) that are not mesh gateways. Clients outside
the cluster then connect straight to the workload's proxy instead of going through the ingress
gateway. The severity follows what such a client gets, from the effective-policy graph and
NetworkPolicy:

- **high**: the port accepts plaintext (PERMISSIVE or DISABLE, or a port the sidecar does not
  capture), so outside clients reach the application with no mesh identity;
- **medium**: the port is STRICT, so outside connections fail today, but the workload is on the
  edge of the network without the gateway's TLS, routing and authentication;
- **low**: a NetworkPolicy already keeps outside addresses away from the port.

## Why it matters

The ingress gateway is where a mesh terminates external TLS, applies JWT validation and
authorization at the edge, and logs access. A Service that publishes a workload directly
bypasses all of it; under PERMISSIVE mTLS the workload accepts the outside world in plaintext,
and authorization policies that rely on principals cannot tell callers apart.

## Example

```yaml
apiVersion: v1
kind: Service
metadata:
  name: payments-api
  namespace: payments
spec:
  type: LoadBalancer          # published directly
  selector: {app: payments-api}
  ports:
    - port: 443
      targetPort: 8443
```

## Fix

Make the Service `ClusterIP` and publish the workload through the ingress gateway (a Gateway and
a VirtualService or HTTPRoute). If it must stay external, set STRICT mTLS for it and restrict
`loadBalancerSourceRanges` and its NetworkPolicy to the addresses that need it.

## References

- Istio: Ingress gateways — https://istio.io/latest/docs/tasks/traffic-management/ingress/ingress-control/
- Istio: Security best practices — https://istio.io/latest/docs/ops/best-practices/security/
- Kubernetes: Service types (LoadBalancer, NodePort, externalIPs) — https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types
- NIST SP 800-204A, SM-DR1, SM-DR2
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let index = &graph.network_policies;
    for (s, service) in ServiceId::enumerate(&inv.services) {
        let kind = service.spec.service_type();
        let external_ips = !service.spec.external_ips.is_empty();
        if !matches!(kind, "LoadBalancer" | "NodePort") && !external_ips {
            continue;
        }
        // Per exposed server port: (severity, line).
        let mut exposed: Vec<(Severity, String)> = Vec::new();
        for &sp in graph.servers_of_service(s) {
            let server = &graph.servers[sp];
            let w = server.workload;
            if is_gateway(ctx, w) || !graph.workload(w).istio_data_plane().is_meshed() {
                continue;
            }
            let workload = &inv.workloads[w];
            let plaintext = !server.proxied || server.mode.mode != MtlsMode::Strict;
            let network = index.ingress(inv, Source::Outside, w, server.port);
            let (severity, what) = match (network.verdict, plaintext) {
                (NetVerdict::Denied, _) => (
                    Severity::Low,
                    "NetworkPolicy keeps outside addresses away".to_owned(),
                ),
                (_, true) => (
                    Severity::High,
                    if server.proxied {
                        format!(
                            "{} mTLS: outside clients get in with plaintext",
                            server.mode.mode.as_str()
                        )
                    } else {
                        "not captured by the sidecar: outside clients reach the application directly".to_owned()
                    },
                ),
                (_, false) => (
                    Severity::Medium,
                    "STRICT mTLS: outside connections fail, but the port is published".to_owned(),
                ),
            };
            exposed.push((
                severity,
                format!(
                    "{} {}/{} port {} ({})",
                    workload.kind, workload.namespace, workload.name, server.port, what
                ),
            ));
        }
        let Some(severity) = exposed.iter().map(|(s, _)| *s).max() else {
            continue;
        };
        let object = inv.object(service.object);
        let path: &[Step<'_>] = if external_ips && !matches!(kind, "LoadBalancer" | "NodePort") {
            &[Step::Key("spec"), Step::Key("externalIPs")]
        } else {
            &[Step::Key("spec"), Step::Key("type")]
        };
        let how = match (kind, external_ips) {
            ("LoadBalancer" | "NodePort", true) => format!("is of type {kind} and has externalIPs"),
            (_, true) => "has externalIPs".to_owned(),
            _ => format!("is of type {kind}"),
        };
        let mut finding = Finding::new(
            &RULE,
            service.object,
            object,
            path,
            format!(
                "Service {}/{} {how}: it publishes meshed workloads outside the cluster without the ingress gateway",
                service.namespace, service.name
            ),
        );
        finding.severity = severity;
        for (_, line) in exposed.iter().take(5) {
            finding = finding.evidence(line.clone());
        }
        if exposed.len() > 5 {
            finding = finding.evidence(format!("and {} more port(s)", exposed.len() - 5));
        }
        finding = finding.remediation(format!(
            "Make Service {}/{} ClusterIP and route outside traffic through the ingress gateway (Gateway + VirtualService/HTTPRoute); if it must stay external, require STRICT mTLS on its ports and restrict loadBalancerSourceRanges and its NetworkPolicy.",
            service.namespace, service.name
        ));
        out.push(finding);
    }
}
