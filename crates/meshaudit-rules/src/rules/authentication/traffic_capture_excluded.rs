//! AUTHN007: a meshed workload's annotations let traffic bypass its sidecar.

use meshaudit_engine::membership::{
    DataPlane, EXCLUDE_INBOUND_PORTS, EXCLUDE_OUTBOUND_IP_RANGES, EXCLUDE_OUTBOUND_PORTS,
    INCLUDE_INBOUND_PORTS, INCLUDE_OUTBOUND_IP_RANGES,
};
use meshaudit_model::{Step, WorkloadId};

use super::plaintext_bypass::{unmeshed_plaintext_open, BypassReach, BypassTally, Bypassing};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{template_path, workload_name};

pub static RULE: Rule = Rule {
    code: "AUTHN007",
    name: "traffic-capture-excluded",
    title: "Sidecar traffic capture excludes ports or addresses",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A workload with an Istio sidecar whose pod template narrows what iptables redirects to the proxy,
with one finding per annotation:

- `traffic.sidecar.istio.io/excludeInboundPorts`, or `includeInboundPorts` set to anything but
  `"*"` (an empty value captures no inbound traffic at all): connections to those ports reach the
  application directly — `high` when the effective-policy graph shows a port the workload serves
  taking plaintext that way, `medium` when the input shows no listener on the affected ports;
- `excludeOutboundPorts`, `excludeOutboundIPRanges`, or `includeOutboundIPRanges: ""`: the
  application's connections to those ports or addresses leave without the proxy — `medium`;
- `includeOutboundIPRanges` narrowed to some ranges: traffic to every other address leaves
  without the proxy — `low`.

## Why it matters

Traffic that bypasses the sidecar gets none of the mesh's protection. An excluded inbound port
accepts plaintext from any pod, with no PeerAuthentication and no AuthorizationPolicy applied,
even in a STRICT mesh. Excluded outbound traffic is sent in plaintext without the workload's
identity (STRICT servers reject it, PERMISSIVE ones accept it unauthenticated) and escapes egress
controls such as `REGISTRY_ONLY` and egress gateways.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  template:
    metadata:
      annotations:
        traffic.sidecar.istio.io/excludeInboundPorts: "8080"
        traffic.sidecar.istio.io/excludeOutboundPorts: "5432"
```

## Fix

Remove the annotations so every port goes through the sidecar. If a port must bypass it (for
example a health port probed by the kubelet), keep the exclusion to that one port, make sure the
application does not serve anything sensitive on it, and protect it with a NetworkPolicy.

## References

- Istio: Resource annotations (traffic.sidecar.istio.io/*) — https://istio.io/latest/docs/reference/config/annotations/
- Istio: Security best practices, understand traffic capture limitations — https://istio.io/latest/docs/ops/best-practices/security/#understand-traffic-capture-limitations
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

fn ports(text: &str) -> Vec<u16> {
    text.split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let mut tally = BypassTally::new(graph);
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        if graph.workload(w).istio_data_plane() != DataPlane::Sidecar {
            continue;
        }
        let name = workload_name(&inv.workloads[w]);
        let object = inv.object(workload.object);
        for key in [
            INCLUDE_INBOUND_PORTS,
            EXCLUDE_INBOUND_PORTS,
            EXCLUDE_OUTBOUND_PORTS,
            EXCLUDE_OUTBOUND_IP_RANGES,
            INCLUDE_OUTBOUND_IP_RANGES,
        ] {
            let Some(value) = workload.annotations.get(key) else {
                continue;
            };
            let value = value.trim();
            let path = template_path(
                &inv.workloads[w],
                &[
                    Step::Key("metadata"),
                    Step::Key("annotations"),
                    Step::Key(key),
                ],
            );
            let short = key.trim_start_matches("traffic.sidecar.istio.io/");
            let finding = match key {
                INCLUDE_INBOUND_PORTS | EXCLUDE_INBOUND_PORTS => {
                    if key == INCLUDE_INBOUND_PORTS && value == "*" {
                        continue;
                    }
                    if key == EXCLUDE_INBOUND_PORTS && ports(value).is_empty() {
                        continue;
                    }
                    let listed = ports(value);
                    // Server ports this annotation takes away from the proxy.
                    let bypassed: Vec<_> = graph
                        .ports_of(w)
                        .filter(|s| {
                            !s.proxied
                                && if key == EXCLUDE_INBOUND_PORTS {
                                    listed.contains(&s.port)
                                } else {
                                    !listed.contains(&s.port)
                                }
                        })
                        .collect();
                    let what = if key == INCLUDE_INBOUND_PORTS {
                        if value.is_empty() {
                            "captures no inbound traffic at all".to_owned()
                        } else {
                            format!("captures only inbound port(s) {value}")
                        }
                    } else {
                        format!("excludes inbound port(s) {value} from the sidecar")
                    };
                    let port_list: Vec<String> =
                        bypassed.iter().map(|s| s.port.to_string()).collect();
                    let message = if bypassed.is_empty() {
                        format!(
                            "{name} {what}: connections to those ports skip mTLS and authorization"
                        )
                    } else {
                        format!(
                            "{name} {what}: port(s) {} skip mTLS and authorization, so any pod can send them plaintext",
                            port_list.join(", ")
                        )
                    };
                    let mut f =
                        Finding::new(&RULE, workload.object, object, &path, message).key(short);
                    for s in &bypassed {
                        let open = unmeshed_plaintext_open(s);
                        f = f.evidence(format!(
                            "graph: a client without a proxy reaches {name} port {} in plaintext, {}",
                            s.port,
                            if open {
                                "with no authorization enforced (allowed)"
                            } else {
                                "but it does not get through"
                            }
                        ));
                    }
                    if bypassed.iter().any(|s| unmeshed_plaintext_open(s)) {
                        f.severity = Severity::High;
                    } else {
                        f.severity = Severity::Medium;
                        f = f.evidence(
                            "severity medium: the input shows no port the workload serves on the excluded ports",
                        );
                    }
                    f
                }
                EXCLUDE_OUTBOUND_PORTS
                | EXCLUDE_OUTBOUND_IP_RANGES
                | INCLUDE_OUTBOUND_IP_RANGES => {
                    let (what, severity) = match key {
                        EXCLUDE_OUTBOUND_PORTS => {
                            if ports(value).is_empty() {
                                continue;
                            }
                            (
                                format!("lets its connections to port(s) {value} leave without the sidecar"),
                                Severity::Medium,
                            )
                        }
                        EXCLUDE_OUTBOUND_IP_RANGES => {
                            if value.is_empty() {
                                continue;
                            }
                            (
                                format!(
                                    "lets its connections to {value} leave without the sidecar"
                                ),
                                Severity::Medium,
                            )
                        }
                        _ => {
                            if value == "*" {
                                continue;
                            }
                            if value.is_empty() {
                                (
                                    "redirects none of its outbound traffic to the sidecar"
                                        .to_owned(),
                                    Severity::Medium,
                                )
                            } else {
                                (
                                    format!(
                                        "redirects only outbound traffic to {value} to the sidecar; connections to any other address leave without it"
                                    ),
                                    Severity::Low,
                                )
                            }
                        }
                    };
                    // What the graph says about its calls to meshed servers: it models
                    // excluded ports and "everything bypasses", not address ranges.
                    let excluded_ports = ports(value);
                    let bypass_all = (key == INCLUDE_OUTBOUND_IP_RANGES && value.is_empty())
                        || (key == EXCLUDE_OUTBOUND_IP_RANGES
                            && value
                                .split(',')
                                .map(str::trim)
                                .any(|r| r == "*" || r == "0.0.0.0/0" || r == "::/0"));
                    let modelled = key == EXCLUDE_OUTBOUND_PORTS || bypass_all;
                    let capture = &graph.workload(w).membership.capture;
                    let bypassing = if key == EXCLUDE_OUTBOUND_PORTS {
                        Bypassing::Ports(&excluded_ports)
                    } else if capture.outbound_bypass_all
                        || !capture.proxy_uid_containers.is_empty()
                    {
                        Bypassing::All
                    } else {
                        Bypassing::Ports(&capture.excluded_outbound_ports)
                    };
                    let BypassReach {
                        plaintext,
                        failing,
                        example,
                    } = if modelled {
                        tally.reach(inv, w, bypassing)
                    } else {
                        BypassReach {
                            plaintext: 0,
                            failing: 0,
                            example: None,
                        }
                    };
                    let mut f = Finding::new(
                        &RULE,
                        workload.object,
                        object,
                        &path,
                        format!(
                            "{name} {what}: that traffic is sent without mTLS, without its mesh identity, and outside egress policy"
                        ),
                    )
                    .key(short);
                    if let Some(e) = example {
                        f = f.evidence(e);
                    }
                    if !modelled {
                        f = f.evidence(
                            "which meshed servers are affected depends on their addresses, which the input does not show",
                        );
                    } else if plaintext + failing > 0 {
                        f = f.evidence(format!(
                            "graph: {plaintext} meshed server port(s) accept its bypassing plaintext, {failing} reject it (STRICT)"
                        ));
                    }
                    f.severity = severity;
                    f
                }
                _ => continue,
            };
            let fix = if key == INCLUDE_INBOUND_PORTS || key == EXCLUDE_INBOUND_PORTS {
                format!("Remove the {key} annotation from the pod template of {name} so every inbound port goes through the sidecar; if one port must bypass it, serve nothing sensitive there and restrict it with a NetworkPolicy.")
            } else {
                format!("Remove the {key} annotation from the pod template of {name} so its outbound traffic goes through the sidecar; restrict any destination that must be reached directly with an egress NetworkPolicy.")
            };
            out.push(finding.remediation(fix));
        }
    }
}
