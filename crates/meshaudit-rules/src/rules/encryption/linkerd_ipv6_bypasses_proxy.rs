//! TLS008: a dual-stack (or IPv6) Service in front of Linkerd-meshed pods while Linkerd handles
//! IPv4 only (`disableIPv6`, the chart's default): IPv6 connections are never redirected to the
//! proxy, so they travel in plaintext, with no identity and no authorization policy.
//!
//! With `disableIPv6: true` proxy-init (or the CNI plugin) writes iptables rules and no ip6tables
//! rule, and the proxy listens on `0.0.0.0` only (docs/linkerd-semantics.md §1.6a). The Service's
//! `ipFamilies`, `clusterIPs` and `ipFamilyPolicy` tell whether its pods have IPv6 addresses.

use meshaudit_engine::linkerd::membership::{target_port, InboundPath};
use meshaudit_model::k8s::{Ipv6Presence, Service};
use meshaudit_model::{Inventory, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Related, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "TLS008",
    name: "linkerd-ipv6-bypasses-proxy",
    title: "IPv6 traffic to Linkerd-meshed pods bypasses the proxy (disableIPv6)",
    category: Category::Encryption,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.7",
        "PCI-DSS:4.2.1",
        "HIPAA:164.312(e)(1)",
        "NIST-800-204A:SM-DR6",
        "GDPR:Art.32(1)(a)",
    ],
    doc: r#"
## What it detects

A Service with IPv6 addresses that selects Linkerd-meshed pods, while Linkerd's proxies handle
IPv4 only. Linkerd handles IPv6 only when installed with `disableIPv6: false` (the key appeared in
2.16; its default is `true`, and earlier releases handle IPv4 only). Otherwise proxy-init (or the
CNI plugin) redirects IPv4 connections to the proxy and leaves IPv6 ones alone, and the proxy
listens on IPv4 addresses only.

The Service has IPv6 addresses when its `spec.ipFamilies` or `spec.clusterIPs` name IPv6 (the
API server fills both in, so dumps of a live cluster say what the Service really has) or its
`ipFamilyPolicy` is `RequireDualStack`: `high`. `PreferDualStack` alone gets IPv6 only on a
dual-stack cluster, which the input cannot tell: `medium`.

Only ports that reach the proxy are reported (a port skipped with
`config.linkerd.io/skip-inbound-ports` is plaintext over both families; AUTHN015 reports it).
`disableIPv6` is read from `linkerd-config`; without it in the input, the chart's default applies.

## Why it matters

Connections over IPv6 — dual-stack clients often prefer it — go from application to application
directly: no mutual TLS, no identity, and no `Server`, `AuthorizationPolicy` or default inbound
policy, since the proxy never sees them. A mesh that looks locked down over IPv4 is open over
IPv6, and a meshed client's own proxy does not see its outgoing IPv6 connections either. Since
2.16 Linkerd documents IPv6 as opt-in, and its proxy-init fails rather than let IPv6 traffic
bypass the proxy once IPv6 is enabled.

## Example

```yaml
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: billing}
spec:
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  selector: {app: payments}
  ports: [{port: 8080}]
# linkerd-config values: disableIPv6 not set (true)
```

## Fix

Install Linkerd with `disableIPv6: false` (control plane and, when used, the linkerd-cni chart)
on a dual-stack or IPv6 cluster, then restart the meshed pods so proxy-init writes ip6tables rules;
or make the Service single-stack IPv4 (`ipFamilyPolicy: SingleStack`, `ipFamilies: [IPv4]`) if
IPv6 is not needed. A NetworkPolicy that admits only IPv4 peers also keeps IPv6 clients out.

## References

- Linkerd: IPv6 support (opt-in with `disableIPv6=false`, since 2.16) — https://linkerd.io/2-edge/features/ipv6/
- linkerd2 chart: `disableIPv6` and proxy-init's `--ipv6=false` — https://github.com/linkerd/linkerd2/blob/main/charts/partials/templates/_proxy-init.tpl
- linkerd2-proxy-init #388: ignoring ip6tables failures "can cause IPv6 traffic to bypass the proxy" — https://github.com/linkerd/linkerd2-proxy-init/pull/388
- Kubernetes: IPv4/IPv6 dual-stack Services (`ipFamilies`, `ipFamilyPolicy`) — https://kubernetes.io/docs/concepts/services-networking/dual-stack/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if ctx.linkerd_policy().handles_ipv6() {
        return;
    }
    let memberships = ctx.linkerd_membership();
    if memberships.is_empty() {
        return;
    }
    for service in &inv.services {
        let Some(presence) = service.spec.ipv6() else {
            continue;
        };
        let Some(selector) = service.spec.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        // Meshed workloads the Service leads to, with the Service ports that reach their proxy.
        let mut reached: Vec<(WorkloadId, Vec<u16>)> = Vec::new();
        for w in inv.workloads_matching_in(&service.namespace, selector) {
            let Some(capture) = memberships
                .get(w.index())
                .filter(|m| m.meshed)
                .and_then(|m| m.capture.as_ref())
            else {
                continue;
            };
            let ports: Vec<u16> = service
                .spec
                .ports
                .iter()
                .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
                .filter(|p| {
                    target_port(p, &inv.workloads[w])
                        .is_some_and(|t| capture.inbound(t) != InboundPath::Skipped)
                })
                .map(|p| p.port)
                .collect();
            if !ports.is_empty() {
                reached.push((w, ports));
            }
        }
        if reached.is_empty() {
            continue;
        }
        out.push(finding(inv, service, presence, &reached));
    }
}

fn finding(
    inv: &Inventory,
    service: &Service,
    presence: Ipv6Presence,
    reached: &[(WorkloadId, Vec<u16>)],
) -> Finding {
    let object = inv.object(service.object);
    let spec = &service.spec;
    let (path, has): (Vec<Step<'_>>, String) = if spec.ip_families.iter().any(|f| f == "IPv6") {
        (
            vec![Step::Key("spec"), Step::Key("ipFamilies")],
            format!(
                "has IPv6 addresses (ipFamilies {})",
                spec.ip_families.join(", ")
            ),
        )
    } else if presence == Ipv6Presence::Certain
        && spec.ip_family_policy.as_deref() != Some("RequireDualStack")
    {
        (
            vec![Step::Key("spec"), Step::Key("clusterIPs")],
            format!(
                "has IPv6 addresses (clusterIPs {})",
                spec.cluster_ips.join(", ")
            ),
        )
    } else if presence == Ipv6Presence::Certain {
        (
            vec![Step::Key("spec"), Step::Key("ipFamilyPolicy")],
            "requires dual stack (ipFamilyPolicy RequireDualStack)".to_owned(),
        )
    } else {
        (
                vec![Step::Key("spec"), Step::Key("ipFamilyPolicy")],
                "prefers dual stack (ipFamilyPolicy PreferDualStack), so it has IPv6 addresses on a dual-stack cluster".to_owned(),
            )
    };
    let mut ports: Vec<u16> = reached
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let ports_text = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let workloads: Vec<String> = reached
        .iter()
        .map(|(w, _)| workload_name(&inv.workloads[*w]))
        .collect();
    let config = inv.linkerd.config.as_ref();
    let setter = match config {
        Some(c) if c.disable_ipv6.written => "linkerd-config sets disableIPv6: true",
        Some(_) => "linkerd-config leaves disableIPv6 at the chart's default, true",
        None => "Linkerd's default is disableIPv6: true (no linkerd-config in the input)",
    };
    let mut f = Finding::new(
        &RULE,
        service.object,
        object,
        &path,
        format!(
            "Service {} {has} and leads to Linkerd-meshed {} on port {ports_text}, but {setter}: IPv6 connections are not redirected to the proxy, so they reach the application in plaintext, with no identity and no authorization policy",
            object.qualified_name(),
            workloads.join(", "),
        ),
    );
    if presence == Ipv6Presence::Possible {
        f.severity = Severity::Medium;
    }
    f = f.evidence(format!(
        "{setter}: proxy-init writes no ip6tables rule and the proxy listens on IPv4 only"
    ));
    if let Some(c) = config {
        f.related.push(Related {
            location: c.disable_ipv6.location.clone(),
            message: format!(
                "ConfigMap {}/linkerd-config: {setter}",
                c.control_plane_namespace
            ),
        });
    }
    for (w, p) in reached {
        let w = &inv.workloads[*w];
        f = f.evidence(format!(
            "{} {}/{} runs Linkerd's proxy; Service port(s) {} reach it",
            w.kind,
            w.namespace,
            w.name,
            p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    f.remediation(
        "Install Linkerd with disableIPv6: false (and the linkerd-cni chart too, if used) and restart the meshed pods, or make the Service single-stack IPv4 (ipFamilyPolicy: SingleStack, ipFamilies: [IPv4]).",
    )
}
