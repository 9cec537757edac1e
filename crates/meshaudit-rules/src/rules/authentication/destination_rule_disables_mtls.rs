//! AUTHN004: a DestinationRule turns TLS off (`tls.mode: DISABLE`) for a host whose workloads
//! have a sidecar.

use std::collections::BTreeSet;

use meshaudit_engine::destination_rule::{
    host_match, normalized_host, service_host, DestinationRules,
};
use meshaudit_engine::membership::DataPlane;
use meshaudit_model::istio::{ClientTlsMode, ClientTlsSettings, DestinationRuleSpec, Typed};
use meshaudit_model::selector::{map_selects, Labels};
use meshaudit_model::Step;

use super::common::workload_name;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN004",
    name: "destination-rule-disables-mtls",
    title: "DestinationRule disables TLS to a meshed service",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A DestinationRule that sets `tls.mode: DISABLE` (in `trafficPolicy`, in a `portLevelSettings`
entry, or in a subset's traffic policy) for a host that resolves to a Kubernetes Service whose
selected workloads run an Istio sidecar. Only rules that some client actually uses are reported:
istiod picks one DestinationRule per client (the client's namespace first, then the service's
namespace, then the root namespace, honouring `exportTo` and `workloadSelector`).

What happens depends on the mTLS mode of the server port the traffic reaches:

- the server accepts plaintext (`PERMISSIVE` or `DISABLE`): the client sidecars send plaintext
  instead of mutual TLS — `high`;
- the server requires mutual TLS (`STRICT`): the server rejects the plaintext connections, so
  the calls fail (connection reset, 503) — `medium`, an availability problem that usually leads
  someone to weaken the server's mode next.

## Why it matters

Auto mTLS already sends Istio mutual TLS to every endpoint with a sidecar. An explicit
`DISABLE` overrides it: the traffic between two meshed workloads leaves encrypted-capable proxies
in plaintext, readable and modifiable on the network, and the server sees no client identity, so
authorization rules on principals or namespaces no longer match. Against a STRICT server the same
setting breaks the service instead.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: orders
  namespace: shop
spec:
  host: orders.shop.svc.cluster.local
  trafficPolicy:
    tls:
      mode: DISABLE
```

## Fix

Delete the `tls` block (auto mTLS then sends mutual TLS to sidecar endpoints) or set
`mode: ISTIO_MUTUAL`. Keep `DISABLE` only for destinations that really run without a sidecar.

```yaml
spec:
  host: orders.shop.svc.cluster.local
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
```

## References

- Istio: DestinationRule reference (ClientTLSSettings) — https://istio.io/latest/docs/reference/config/networking/destination-rule/
- Istio: TLS configuration, auto mTLS — https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/#auto-mtls
- Istio: 503 errors after setting a DestinationRule — https://istio.io/latest/docs/ops/common-problems/network-issues/
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

/// One place in a DestinationRule that sets `tls.mode: DISABLE`.
struct DisablePlace {
    path: Vec<Step<'static>>,
    what: String,
    /// Only this service port (from `portLevelSettings`).
    port: Option<u32>,
    /// Only endpoints with these labels (a subset).
    subset: Option<Labels>,
}

fn is_disable(tls: Option<&ClientTlsSettings>) -> bool {
    tls.and_then(|t| t.mode) == Some(ClientTlsMode::Disable)
}

fn disable_places(spec: &DestinationRuleSpec) -> Vec<DisablePlace> {
    let mut out = Vec::new();
    if let Some(tp) = &spec.traffic_policy {
        if is_disable(tp.tls.as_ref()) {
            out.push(DisablePlace {
                path: vec![
                    Step::Key("spec"),
                    Step::Key("trafficPolicy"),
                    Step::Key("tls"),
                    Step::Key("mode"),
                ],
                what: "trafficPolicy".to_owned(),
                port: None,
                subset: None,
            });
        }
        for (i, pl) in tp.port_level_settings.iter().enumerate() {
            if is_disable(pl.tls.as_ref()) {
                let port = pl.port.as_ref().and_then(|p| p.number);
                out.push(DisablePlace {
                    path: vec![
                        Step::Key("spec"),
                        Step::Key("trafficPolicy"),
                        Step::Key("portLevelSettings"),
                        Step::Index(i),
                        Step::Key("tls"),
                        Step::Key("mode"),
                    ],
                    what: format!(
                        "portLevelSettings for port {}",
                        port.map_or("?".to_owned(), |p| p.to_string())
                    ),
                    port: Some(port.unwrap_or(0)),
                    subset: None,
                });
            }
        }
    }
    for (j, subset) in spec.subsets.iter().enumerate() {
        let Some(tp) = &subset.traffic_policy else {
            continue;
        };
        if is_disable(tp.tls.as_ref()) {
            out.push(DisablePlace {
                path: vec![
                    Step::Key("spec"),
                    Step::Key("subsets"),
                    Step::Index(j),
                    Step::Key("trafficPolicy"),
                    Step::Key("tls"),
                    Step::Key("mode"),
                ],
                what: format!("subset {}", subset.name),
                port: None,
                subset: Some(subset.labels.clone()),
            });
        }
        for (k, pl) in tp.port_level_settings.iter().enumerate() {
            if is_disable(pl.tls.as_ref()) {
                let port = pl.port.as_ref().and_then(|p| p.number);
                out.push(DisablePlace {
                    path: vec![
                        Step::Key("spec"),
                        Step::Key("subsets"),
                        Step::Index(j),
                        Step::Key("trafficPolicy"),
                        Step::Key("portLevelSettings"),
                        Step::Index(k),
                        Step::Key("tls"),
                        Step::Key("mode"),
                    ],
                    what: format!(
                        "subset {} port {}",
                        subset.name,
                        port.map_or("?".to_owned(), |p| p.to_string())
                    ),
                    port: Some(port.unwrap_or(0)),
                    subset: Some(subset.labels.clone()),
                });
            }
        }
    }
    out
}

/// Does any client use this rule for `service`? Clients in every namespace of the input, and
/// clients elsewhere (no namespace of their own in the input), are asked.
fn used_by_some_client(
    ctx: &Context<'_>,
    rules: &DestinationRules<'_>,
    dr: &Typed<DestinationRuleSpec>,
    service: &meshaudit_model::k8s::Service,
) -> bool {
    let inv = ctx.inventory;
    let is_this = |hit: Option<(usize, &Typed<DestinationRuleSpec>)>| {
        hit.is_some_and(|(_, d)| d.object == dr.object)
    };
    if dr
        .spec
        .workload_selector
        .as_ref()
        .is_some_and(|s| !s.match_labels.is_empty())
    {
        return inv
            .workloads_in(&dr.namespace)
            .any(|w| is_this(rules.lookup(&w.namespace, Some(&w.labels), service)));
    }
    let mut namespaces: BTreeSet<&str> = inv.namespaces.keys().map(String::as_str).collect();
    namespaces.insert("");
    namespaces.insert(dr.namespace.as_str());
    namespaces
        .into_iter()
        .any(|ns| is_this(rules.lookup(ns, None, service)))
}

struct Hit {
    service: String,
    service_port: u16,
    workload: usize,
    target_port: u16,
    mode: meshaudit_model::istio::MtlsMode,
    mode_because: String,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    use meshaudit_model::istio::MtlsMode;
    let inv = ctx.inventory;
    let graph = &ctx.graph;
    let rules = DestinationRules::new(inv);
    for dr in &inv.istio.destination_rules {
        let places = disable_places(&dr.spec);
        if places.is_empty() {
            continue;
        }
        let host = normalized_host(&dr.spec.host, &dr.namespace);
        let services: Vec<usize> = inv
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| host_match(&host, &service_host(s)).is_some())
            .filter(|(_, s)| used_by_some_client(ctx, &rules, dr, s))
            .map(|(i, _)| i)
            .collect();
        if services.is_empty() {
            continue;
        }
        let object = inv.object(dr.object);
        let name = format!("{}/{}", dr.namespace, dr.name);
        for place in places {
            let mut hits: Vec<Hit> = Vec::new();
            for server in &graph.servers {
                let node = &graph.workloads[server.workload];
                if node.membership.data_plane != DataPlane::Sidecar {
                    continue;
                }
                let workload = &inv.workloads[server.workload];
                if let Some(labels) = &place.subset {
                    if labels.is_empty() || !map_selects(labels, &workload.labels) {
                        continue;
                    }
                }
                for via in &server.services {
                    if !services.contains(&via.service) {
                        continue;
                    }
                    if place.port.is_some_and(|p| p != u32::from(via.port)) {
                        continue;
                    }
                    let service = &inv.services[via.service];
                    let because = server
                        .mode
                        .because
                        .last()
                        .map(|b| b.render(inv))
                        .unwrap_or_default();
                    hits.push(Hit {
                        service: format!("{}/{}", service.namespace, service.name),
                        service_port: via.port,
                        workload: server.workload,
                        target_port: server.port,
                        mode: server.mode.mode,
                        mode_because: because,
                    });
                }
            }
            if hits.is_empty() {
                continue;
            }
            let plaintext: Vec<&Hit> = hits.iter().filter(|h| h.mode != MtlsMode::Strict).collect();
            let strict: Vec<&Hit> = hits.iter().filter(|h| h.mode == MtlsMode::Strict).collect();
            let describe = |hs: &[&Hit]| {
                let mut seen: Vec<String> = Vec::new();
                for h in hs {
                    let text = format!("Service {} port {}", h.service, h.service_port);
                    if !seen.contains(&text) {
                        seen.push(text);
                    }
                }
                seen.join(", ")
            };
            let message = if !plaintext.is_empty() {
                let mut m = format!(
                    "DestinationRule {name} sets tls.mode DISABLE ({}) for {}: traffic to {} is sent in plaintext although the servers have sidecars",
                    place.what,
                    host,
                    describe(&plaintext)
                );
                if !strict.is_empty() {
                    m.push_str(&format!(
                        "; connections to {} will be reset: the server requires mTLS",
                        describe(&strict)
                    ));
                }
                m
            } else {
                format!(
                    "DestinationRule {name} sets tls.mode DISABLE ({}) for {}: connections to {} will be reset: the server requires mTLS",
                    place.what,
                    host,
                    describe(&strict)
                )
            };
            let mut finding = Finding::new(&RULE, dr.object, object, &place.path, message)
                .remediation(format!(
                    "Remove the tls block ({}) of DestinationRule {name} so auto mTLS sends mutual TLS to the sidecars, or set mode: ISTIO_MUTUAL.",
                    crate::finding::render_path(&place.path[..place.path.len() - 1])
                ));
            for h in hits.iter().take(8) {
                let effect = if h.mode == MtlsMode::Strict {
                    "STRICT, so plaintext connections are rejected".to_owned()
                } else {
                    format!("{}, so plaintext is accepted", h.mode.as_str())
                };
                finding = finding.evidence(format!(
                    "Service {} port {} leads to {} port {} (sidecar), whose mode is {effect}",
                    h.service,
                    h.service_port,
                    workload_name(inv, h.workload),
                    h.target_port
                ));
                if !h.mode_because.is_empty() {
                    finding = finding.evidence(h.mode_because.clone());
                }
            }
            if hits.len() > 8 {
                finding = finding.evidence(format!("… and {} more", hits.len() - 8));
            }
            if plaintext.iter().any(|h| h.mode == MtlsMode::Disable) {
                finding = finding.evidence(
                    "a server port is DISABLE as well (its PeerAuthentication turns mTLS off): fix that too, or the traffic stays plaintext under auto mTLS, or fails with ISTIO_MUTUAL",
                );
            }
            finding.severity = if plaintext.is_empty() {
                Severity::Medium
            } else {
                Severity::High
            };
            out.push(finding);
        }
    }
}
