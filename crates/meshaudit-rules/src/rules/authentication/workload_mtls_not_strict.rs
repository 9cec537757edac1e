//! AUTHN003: the workload-level PeerAuthentication in force lowers mTLS (top level or per port),
//! or names a port the workloads do not listen on.

use std::collections::{BTreeSet, HashMap};

use meshaudit_engine::{Because, ServerPort};
use meshaudit_model::istio::{MtlsMode, PeerAuthenticationSpec, Typed};
use meshaudit_model::{ObjectId, Step, WorkloadId};

use super::plaintext_bypass::{
    unmeshed_authz_because, unmeshed_authz_evidence, unmeshed_outcome, unmeshed_plaintext_open,
};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{join_limited, workload_name};

pub static RULE: Rule = Rule {
    code: "AUTHN003",
    name: "workload-mtls-not-strict",
    title: "Workload-level mTLS is PERMISSIVE or DISABLE",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A PeerAuthentication with a `selector` (a workload-level policy) that is in force for the
workloads it selects and lowers mutual TLS for them:

- its top-level `mtls.mode` is `PERMISSIVE` or `DISABLE`, or
- a `portLevelMtls` entry sets `PERMISSIVE` or `DISABLE` for a port.

Only the policy Istio actually applies is considered: when several selector policies match a
workload, istiod uses the oldest one (by `creationTimestamp`) as a whole and ignores the others,
port settings included.

It also reports a selector policy in the root namespace (`meshConfig.rootNamespace`, usually
`istio-system`; finding key `root-namespace-selector`). Istio ignores such a policy entirely: it
is neither the mesh-wide policy (that one has no selector) nor a workload policy (those count
only outside the root namespace), so for example a STRICT policy selecting
`istio: ingressgateway` in `istio-system` does nothing. This is `medium` when the policy asks
for `STRICT` (at the top level or for a port) and a workload it matches is not STRICT anyway, or
it matches no workload in the input: its owner believes plaintext is refused. It is `low`
otherwise. The evidence gives the mode each matched workload really gets.

It also reports a `portLevelMtls` key that none of the selected workloads listens on. The key is
the port of the workload (the container port, a Service's `targetPort`), not the Service port;
Istio silently ignores an entry for any other port. This is `low` when the ignored entry is
stricter than the mode really in force (a port someone meant to lock down is not), `info`
otherwise.

Severity is `high` when, according to the effective-policy graph, a client without a proxy gets
plaintext through to one of the affected ports and authorization lets at least some of its
requests through; `medium` when authorization still stops such clients (for example an ALLOW
policy that requires principals), which the finding's evidence says.

## Why it matters

A workload-level policy overrides the namespace and mesh-wide modes, so a single PERMISSIVE or
DISABLE selector policy punches a plaintext hole in an otherwise STRICT mesh. Any pod, with or
without a sidecar, can then send unencrypted, unauthenticated traffic to those ports, and
principal- or namespace-based authorization rules see no identity on those requests. With
`DISABLE`, meshed clients send plaintext too (auto mTLS stops offering mTLS to those endpoints).

## Example

```yaml
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: orders
  namespace: orders
spec:
  selector:
    matchLabels:
      app: orders
  mtls:
    mode: PERMISSIVE
  portLevelMtls:
    80:            # the Service port: Istio ignores it, the container listens on 8080
      mode: STRICT
```

## Fix

Set `mtls.mode: STRICT` (or delete the policy to inherit a STRICT namespace or mesh mode). If one
port must accept plaintext, for example a metrics port scraped by a collector without a sidecar,
keep the top level STRICT and relax only that port, keyed by the container port:

```yaml
spec:
  selector:
    matchLabels:
      app: orders
  mtls:
    mode: STRICT
  portLevelMtls:
    9102:
      mode: PERMISSIVE
```

A selector policy in the root namespace does nothing: move it into the namespace of the workloads
it selects, or drop the selector to make it the mesh-wide policy (which also covers the root
namespace's own workloads).

## References

- Istio: PeerAuthentication reference (port-level mTLS refers to the workload port) — https://istio.io/latest/docs/reference/config/security/peer_authentication/
- Istio: Authentication policy, policy precedence — https://istio.io/latest/docs/concepts/security/#peer-authentication
- Istio: Mutual TLS migration — https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/
- Istio issue 49098: a Service-port key in portLevelMtls silently does nothing — https://github.com/istio/istio/issues/49098
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

/// How much a mode protects, to compare an ignored port entry with what is in force.
fn strength(mode: MtlsMode) -> u8 {
    match mode {
        MtlsMode::Disable => 0,
        MtlsMode::Unset | MtlsMode::Permissive => 1,
        MtlsMode::Strict => 2,
    }
}

const MAX_LISTED: usize = 6;

/// A PeerAuthentication's `selector.matchLabels` as `k=v,k=v` (no spaces: the wording of this rule's
/// findings; [`crate::rules::naming::selector_text`] is for full label selectors).
fn peer_authentication_selector_text(policy: &Typed<PeerAuthenticationSpec>) -> String {
    policy
        .spec
        .selector
        .as_ref()
        .map(|s| {
            s.match_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Severity and evidence for a mode that applies to `ports`, and the policies that evidence
/// names (related locations).
fn exposure(
    ctx: &Context<'_>,
    ports: &[&ServerPort],
    mode: MtlsMode,
) -> (Severity, Vec<String>, Vec<Because>) {
    let inv = ctx.inventory;
    let mut evidence: Vec<String> = ports
        .iter()
        .take(MAX_LISTED)
        .map(|s| unmeshed_outcome(inv, s))
        .collect();
    if ports.len() > MAX_LISTED {
        evidence.push(format!("… and {} more port(s)", ports.len() - MAX_LISTED));
    }
    let open = ports.iter().find(|s| unmeshed_plaintext_open(s));
    let mut related = Vec::new();
    let severity = match open {
        Some(server) => {
            evidence.extend(unmeshed_authz_evidence(inv, server));
            related.extend(unmeshed_authz_because(server).cloned());
            Severity::High
        }
        None if ports.is_empty() => {
            evidence.push(
                "no port of the selected workloads behind a sidecar is in the input, so the exposure cannot be checked: severity medium"
                    .to_owned(),
            );
            Severity::Medium
        }
        None => {
            evidence.push(
                "authorization still stops clients without a proxy on these ports, so plaintext is accepted but not let through: severity medium"
                    .to_owned(),
            );
            Severity::Medium
        }
    };
    if mode == MtlsMode::Disable {
        evidence.push(
            "with DISABLE, meshed clients send plaintext too: auto mTLS stops offering mTLS to these endpoints, and authorization sees no peer identity"
                .to_owned(),
        );
    }
    (severity, evidence, related)
}

/// A selector policy in the root namespace: istiod ignores it (it is neither mesh-wide nor
/// workload-level), so whatever it asks for applies to no workload.
fn ignored_in_root(
    ctx: &Context<'_>,
    policy: &Typed<PeerAuthenticationSpec>,
    root: &str,
) -> Finding {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let name = format!("{}/{}", policy.namespace, policy.name);
    let mode = policy.spec.mode();
    let port_strict = policy
        .spec
        .port_level_mtls
        .values()
        .any(|m| m.mode() == MtlsMode::Strict);
    let asks_strict = mode == MtlsMode::Strict || port_strict;
    let matched: Vec<WorkloadId> = WorkloadId::enumerate(&inv.workloads)
        .filter(|(_, w)| {
            policy
                .spec
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&w.labels))
        })
        .map(|(i, _)| i)
        .collect();
    let names: Vec<String> = matched
        .iter()
        .map(|&w| workload_name(&inv.workloads[w]))
        .collect();
    let target = if matched.is_empty() {
        format!(
            "pods labelled {}",
            peer_authentication_selector_text(policy)
        )
    } else {
        join_limited(&names, MAX_LISTED)
    };
    let asked = if policy.spec.port_level_mtls.is_empty() {
        format!("mode {}", mode.as_str())
    } else {
        let ports: Vec<String> = policy
            .spec
            .port_level_mtls
            .iter()
            .map(|(p, m)| format!("{p}: {}", m.mode().as_str()))
            .collect();
        format!(
            "mode {} (portLevelMtls {})",
            mode.as_str(),
            ports.join(", ")
        )
    };
    let not_strict: Vec<WorkloadId> = matched
        .iter()
        .copied()
        .filter(|&w| graph.workload(w).mtls.workload.mode != MtlsMode::Strict)
        .collect();
    let mut message = format!(
        "PeerAuthentication {name} has a selector but is in the root namespace {root}, where Istio ignores selector policies: its {asked} does not apply to {target}"
    );
    if asks_strict && !not_strict.is_empty() {
        let modes: BTreeSet<&str> = not_strict
            .iter()
            .map(|&w| graph.workload(w).mtls.workload.mode.as_str())
            .collect();
        message.push_str(&format!(
            ", which run{} {} instead",
            if matched.len() == 1 { "s" } else { "" },
            modes.into_iter().collect::<Vec<_>>().join("/")
        ));
    }
    let path = [Step::Key("spec"), Step::Key("selector")];
    let mut finding = Finding::new(
        &RULE,
        policy.object,
        inv.object(policy.object),
        &path,
        message,
    )
    .key("root-namespace-selector")
    .evidence(format!(
        "istiod composes mTLS from the mesh-wide policy (selector-less, in {root}), the namespace policy and selector policies outside {root}; a selector policy in {root} takes part in none of these"
    ));
    if matched.is_empty() {
        finding = finding.evidence(format!(
            "selector {} matches no workload in the input",
            peer_authentication_selector_text(policy)
        ));
    }
    for &w in matched.iter().take(MAX_LISTED) {
        let decision = &graph.workload(w).mtls.workload;
        let because = decision
            .because
            .last()
            .map(|b| format!(": {}", b.render(inv)))
            .unwrap_or_default();
        finding = finding.evidence(format!(
            "{} runs {}{because}",
            workload_name(&inv.workloads[w]),
            decision.mode.as_str()
        ));
        if let Some(b) = decision.because.last() {
            finding.relate(inv, b);
        }
    }
    if matched.len() > MAX_LISTED {
        finding = finding.evidence(format!(
            "… and {} more workload(s)",
            matched.len() - MAX_LISTED
        ));
    }
    finding.severity = if asks_strict && (matched.is_empty() || !not_strict.is_empty()) {
        finding = finding.evidence(
            "the policy asks for STRICT, so its owner likely believes these workloads refuse plaintext: severity medium",
        );
        Severity::Medium
    } else {
        if asks_strict {
            finding = finding.evidence(
                "the workloads it matches are STRICT anyway through other policies, so ignoring it changes nothing today: severity low",
            );
        }
        Severity::Low
    };
    finding.remediation(format!(
        "Move PeerAuthentication {name} into the namespace of the workloads it is meant for (selector policies apply only in their own namespace). For workloads of {root} itself, or to cover the whole mesh, use a selector-less policy in {root}, which is mesh-wide."
    ))
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let root = inv.istio.root_namespace();
    let pas = ctx.peer_authentications();

    // Which workloads each selector policy is in force for, and which policies are shadowed.
    let mut in_force: HashMap<ObjectId, Vec<WorkloadId>> = HashMap::new();
    let mut shadowed: HashMap<ObjectId, String> = HashMap::new();
    for (i, w) in WorkloadId::enumerate(&inv.workloads) {
        let selecting = pas.selecting(w);
        let Some(first) = selecting.first() else {
            continue;
        };
        in_force.entry(first.object).or_default().push(i);
        for other in &selecting[1..] {
            shadowed
                .entry(other.object)
                .or_insert_with(|| format!("{}/{}", first.namespace, first.name));
        }
    }

    for policy in &inv.istio.peer_authentications {
        if !policy.spec.has_selector() {
            continue;
        }
        if policy.namespace == root {
            out.push(ignored_in_root(ctx, policy, root));
            continue;
        }
        let workloads = in_force.get(&policy.object).cloned().unwrap_or_default();
        if workloads.is_empty() && shadowed.contains_key(&policy.object) {
            // Every workload it selects uses an older policy: Istio ignores this one.
            continue;
        }
        let object = inv.object(policy.object);
        let name = format!("{}/{}", policy.namespace, policy.name);
        let names: Vec<String> = workloads
            .iter()
            .map(|&w| workload_name(&inv.workloads[w]))
            .collect();
        let scope_evidence = if workloads.is_empty() {
            format!(
                "selector {} matches no workload in the input; the policy applies to any pod of namespace {} that carries these labels",
                peer_authentication_selector_text(policy),
                policy.namespace
            )
        } else {
            format!(
                "in force (the oldest selector policy matching them) for {} workload(s): {}",
                workloads.len(),
                join_limited(&names, MAX_LISTED)
            )
        };
        let servers: Vec<&ServerPort> = workloads
            .iter()
            .flat_map(|&w| graph.ports_of(w))
            .filter(|s| s.proxied)
            .collect();
        let target = if workloads.is_empty() {
            format!(
                "pods labelled {}",
                peer_authentication_selector_text(policy)
            )
        } else {
            join_limited(&names, MAX_LISTED)
        };

        // Top-level mode.
        let mode = policy.spec.mode();
        if matches!(mode, MtlsMode::Permissive | MtlsMode::Disable) {
            let overridden = |port: u16| {
                policy
                    .spec
                    .port_level_mtls
                    .get(&u32::from(port))
                    .is_some_and(|m| m.mode() != MtlsMode::Unset)
            };
            let ports: Vec<&ServerPort> = servers
                .iter()
                .copied()
                .filter(|s| !overridden(s.port))
                .collect();
            let (severity, evidence, related) = exposure(ctx, &ports, mode);
            let subject = if workloads.len() == 1 {
                "it accepts"
            } else {
                "they accept"
            };
            let effect = if mode == MtlsMode::Disable {
                format!("{subject} only plaintext")
            } else {
                format!("{subject} plaintext from any client")
            };
            let path = [Step::Key("spec"), Step::Key("mtls"), Step::Key("mode")];
            let mut finding = Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "PeerAuthentication {name} sets mode {} for {target}: {effect}",
                    mode.as_str()
                ),
            )
            .key("mode")
            .evidence(scope_evidence.clone())
            .remediation(format!(
                "Set spec.mtls.mode: STRICT in PeerAuthentication {name} (or delete it to inherit a STRICT namespace or mesh mode); relax only the port that needs plaintext, keyed by its container port."
            ));
            for line in evidence {
                finding = finding.evidence(line);
            }
            for b in &related {
                finding.relate(inv, b);
            }
            finding.severity = severity;
            out.push(finding);
        }

        // Port-level entries.
        let mut known_ports: BTreeSet<u16> = BTreeSet::new();
        let mut service_ports: HashMap<u16, Vec<(String, Vec<u16>)>> = HashMap::new();
        for &w in &workloads {
            let workload = &inv.workloads[w];
            for c in &workload.containers {
                known_ports.extend(c.ports.iter().map(|p| p.container_port));
            }
            known_ports.extend(graph.ports_of(w).map(|s| s.port));
            for &s in &graph.workload(w).services {
                let service = &inv.services[s];
                for sp in &service.spec.ports {
                    known_ports.extend(sp.resolved_target_ports.iter().copied());
                    service_ports.entry(sp.port).or_default().push((
                        format!("{}/{}", service.namespace, service.name),
                        sp.resolved_target_ports.clone(),
                    ));
                }
            }
        }
        for (&port, setting) in &policy.spec.port_level_mtls {
            let key = port.to_string();
            let path = [
                Step::Key("spec"),
                Step::Key("portLevelMtls"),
                Step::Key(&key),
                Step::Key("mode"),
            ];
            let port_mode = setting.mode();
            let listens = u16::try_from(port).is_ok_and(|p| known_ports.contains(&p));
            if !workloads.is_empty() && !known_ports.is_empty() && !listens {
                let in_effect = graph.workload(workloads[0]).mtls.workload.mode;
                let stricter =
                    port_mode != MtlsMode::Unset && strength(port_mode) > strength(in_effect);
                let hint = u16::try_from(port)
                    .ok()
                    .and_then(|p| service_ports.get(&p))
                    .map(|services| {
                        let (svc, targets) = &services[0];
                        let targets: Vec<String> = targets.iter().map(u16::to_string).collect();
                        format!(
                            "port {port} is a port of Service {svc}, whose target port is {}: Istio reads the workload port, so key the entry by {}",
                            if targets.is_empty() { "unknown".to_owned() } else { targets.join("/") },
                            if targets.is_empty() { "the container port".to_owned() } else { targets.join("/") },
                        )
                    });
                let ports_text: Vec<String> = known_ports.iter().map(u16::to_string).collect();
                let mut finding = Finding::new(
                    &RULE,
                    policy.object,
                    object,
                    &path,
                    format!(
                        "PeerAuthentication {name} sets portLevelMtls for port {port}, which none of the selected workloads listens on: Istio ignores the entry{}",
                        if stricter {
                            format!(", so that traffic stays {}", in_effect.as_str())
                        } else {
                            String::new()
                        }
                    ),
                )
                .key(format!("port-{port}"))
                .evidence(scope_evidence.clone())
                .evidence(format!(
                    "the selected workloads listen on port(s) {}",
                    ports_text.join(", ")
                ));
                if let Some(hint) = hint {
                    finding = finding.evidence(hint);
                }
                finding = finding.remediation(format!(
                    "Key portLevelMtls in PeerAuthentication {name} by the container (target) port the application listens on, or remove the entry for port {port}."
                ));
                finding.severity = if stricter {
                    Severity::Low
                } else {
                    Severity::Info
                };
                out.push(finding);
                continue;
            }
            if !matches!(port_mode, MtlsMode::Permissive | MtlsMode::Disable) {
                continue;
            }
            let ports: Vec<&ServerPort> = servers
                .iter()
                .copied()
                .filter(|s| u32::from(s.port) == port)
                .collect();
            let (severity, evidence, related) = exposure(ctx, &ports, port_mode);
            let effect = if port_mode == MtlsMode::Disable {
                "it accepts only plaintext"
            } else {
                "it accepts plaintext from any client"
            };
            let mut finding = Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "PeerAuthentication {name} sets port {port} to {} for {target}: {effect}",
                    port_mode.as_str()
                ),
            )
            .key(format!("portLevelMtls.{port}"))
            .evidence(scope_evidence.clone())
            .remediation(format!(
                "Remove the portLevelMtls entry for port {port} from PeerAuthentication {name}, or set it to STRICT; if a client without a sidecar must reach it, allow only that client with an AuthorizationPolicy on that port."
            ));
            for line in evidence {
                finding = finding.evidence(line);
            }
            for b in &related {
                finding.relate(inv, b);
            }
            finding.severity = severity;
            out.push(finding);
        }
        if let Some(winner) = shadowed.get(&policy.object) {
            // Selected some workloads in force, others not: say so on its findings.
            let note = format!(
                "for other workloads it also selects, the older PeerAuthentication {winner} is in force and this one is ignored"
            );
            for f in out.iter_mut().rev() {
                if f.object != Some(policy.object) || f.rule.code != RULE.code {
                    break;
                }
                f.evidence.push(note.clone());
            }
        }
    }
}
