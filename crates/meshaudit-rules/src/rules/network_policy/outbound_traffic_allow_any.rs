//! NET002: sidecars may send traffic to any external destination (outboundTrafficPolicy ALLOW_ANY).

use std::collections::HashMap;

use meshaudit_engine::membership::DataPlane;
use meshaudit_model::istio::{SidecarSpec, Typed};
use meshaudit_model::{Inventory, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;
use meshaudit_engine::peer_authentication::oldest;

pub static RULE: Rule = Rule {
    code: "NET002",
    name: "outbound-traffic-allow-any",
    title: "Sidecars may reach any external destination (ALLOW_ANY)",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.6",
        "PCI-DSS:1.3.2",
        "PCI-DSS:1.4.2",
        "NIST-800-204A:SM-DR2",
        "NIST-800-204B:ABAC-1",
    ],
    doc: r#"
## What it detects

- The mesh config (the `mesh` key of the `istio` ConfigMap) sets
  `outboundTrafficPolicy.mode: ALLOW_ANY` or leaves it unset — `ALLOW_ANY` is Istio's default.
  Reported only when the mesh config is in the input. Severity is **medium** when some sidecar
  workload of the input gets `ALLOW_ANY` (or no workload is in the input), **low** when every
  sidecar workload is covered by a `Sidecar` resource that sets `REGISTRY_ONLY`.
- A `Sidecar` resource that sets `outboundTrafficPolicy.mode: ALLOW_ANY` while the mesh is
  `REGISTRY_ONLY` (or the mesh config is not in the input), overriding it for the workloads it
  applies to (**medium**).

Which `Sidecar` applies to a workload: one in its namespace whose `workloadSelector` matches, else
the namespace's Sidecar without selector, else the root namespace's Sidecar without selector. If the
chosen Sidecar leaves `outboundTrafficPolicy` unset, the mesh value is used (Sidecars are not
merged).

## Why it matters

With `ALLOW_ANY`, a sidecar forwards connections to hosts it does not know through its
`PassthroughCluster`: a compromised or misbehaving workload can send data to any address on the
internet, and the mesh keeps no inventory of the external services it depends on. `REGISTRY_ONLY`
sends unknown destinations to a black hole, so every external dependency must be declared with a
`ServiceEntry` and can be routed through an egress gateway, logged and authorized.

`REGISTRY_ONLY` is not a hard boundary on its own: Istio's security best practices call it "not a
strong security boundary", since an application can bypass the sidecar (for instance when its
traffic is not captured). Pair it with Kubernetes `NetworkPolicy` egress rules (or a firewall) that
allow only the egress gateway to leave the cluster.

## Example

```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    outboundTrafficPolicy:
      mode: ALLOW_ANY
```

## Fix

Set `REGISTRY_ONLY` in the mesh config (`meshConfig.outboundTrafficPolicy.mode` in the install
values), declare every external dependency with a `ServiceEntry`, and remove `ALLOW_ANY` overrides
from `Sidecar` resources:

```yaml
data:
  mesh: |-
    outboundTrafficPolicy:
      mode: REGISTRY_ONLY
```

## References

- Istio: Accessing external services (outbound traffic policy, ALLOW_ANY is the default) — https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/
- Istio: Security best practices, egress traffic — https://istio.io/latest/docs/ops/best-practices/security/#understand-traffic-capture-limitations
- Istio: Sidecar reference (outboundTrafficPolicy) — https://istio.io/latest/docs/reference/config/networking/sidecar/
- Istio: Mesh config reference (outboundTrafficPolicy) — https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#MeshConfig-OutboundTrafficPolicy-Mode
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

const ALLOW_ANY: &str = "ALLOW_ANY";
const REGISTRY_ONLY: &str = "REGISTRY_ONLY";

fn mode_of(sidecar: &Typed<SidecarSpec>) -> Option<String> {
    sidecar
        .spec
        .outbound_traffic_policy
        .as_ref()
        .and_then(|p| p.mode.as_deref())
        .filter(|m| !m.is_empty())
        .map(str::to_ascii_uppercase)
}

fn has_selector(sidecar: &Typed<SidecarSpec>) -> bool {
    sidecar
        .spec
        .workload_selector
        .as_ref()
        .is_some_and(|s| !s.match_labels.is_empty())
}

/// Sidecar resources by namespace, so that each workload looks only at its own.
fn sidecars_by_namespace(inv: &Inventory) -> HashMap<&str, Vec<&Typed<SidecarSpec>>> {
    let mut by: HashMap<&str, Vec<&Typed<SidecarSpec>>> = HashMap::new();
    for s in &inv.istio.sidecars {
        by.entry(s.namespace.as_str()).or_default().push(s);
    }
    by
}

/// The Sidecar resource Istio uses for workload `index`, if any.
fn chosen_sidecar<'a>(
    inv: &'a Inventory,
    by_namespace: &HashMap<&str, Vec<&'a Typed<SidecarSpec>>>,
    index: WorkloadId,
) -> Option<&'a Typed<SidecarSpec>> {
    let w = &inv.workloads[index];
    let root = inv.istio.root_namespace();
    let in_ns: &[&Typed<SidecarSpec>] = by_namespace
        .get(w.namespace.as_str())
        .map_or(&[], Vec::as_slice);
    let selecting: Vec<&Typed<SidecarSpec>> = in_ns
        .iter()
        .copied()
        .filter(|s| {
            has_selector(s)
                && s.spec
                    .workload_selector
                    .as_ref()
                    .is_some_and(|sel| sel.matches(&w.labels))
        })
        .collect();
    if let Some(s) = oldest(inv, &selecting) {
        return Some(s);
    }
    let namespace_default: Vec<&Typed<SidecarSpec>> =
        in_ns.iter().copied().filter(|s| !has_selector(s)).collect();
    if let Some(s) = oldest(inv, &namespace_default) {
        return Some(s);
    }
    let root_default: Vec<&Typed<SidecarSpec>> = by_namespace
        .get(root)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .copied()
        .filter(|s| !has_selector(s))
        .collect();
    oldest(inv, &root_default)
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let mesh_mode: Option<String> = inv.istio.mesh_config.as_ref().map(|m| {
        m.config
            .outbound_traffic_policy
            .as_ref()
            .and_then(|p| p.mode.as_deref())
            .filter(|m| !m.is_empty())
            .map_or_else(|| ALLOW_ANY.to_owned(), str::to_ascii_uppercase)
    });

    // Effective mode per sidecar workload.
    let mut allow_any_workloads: Vec<String> = Vec::new();
    let mut sidecar_workloads = 0usize;
    let mut chosen: Vec<(WorkloadId, Option<&Typed<SidecarSpec>>)> = Vec::new();
    let by_namespace = sidecars_by_namespace(inv);
    for (i, w) in WorkloadId::enumerate(&inv.workloads) {
        let meshed = ctx
            .graph()
            .workloads
            .get(i.index())
            .is_some_and(|n| n.istio_data_plane() == DataPlane::Sidecar);
        if !meshed {
            continue;
        }
        sidecar_workloads += 1;
        let sidecar = chosen_sidecar(inv, &by_namespace, i);
        chosen.push((i, sidecar));
        let effective = sidecar
            .and_then(mode_of)
            .or_else(|| mesh_mode.clone())
            .unwrap_or_else(|| ALLOW_ANY.to_owned());
        if effective != REGISTRY_ONLY {
            allow_any_workloads.push(workload_name(w));
        }
    }

    if let (Some(source), Some(mode)) = (&inv.istio.mesh_config, &mesh_mode) {
        if mode != REGISTRY_ONLY {
            let object = inv.object(source.object);
            let explicit = source
                .config
                .outbound_traffic_policy
                .as_ref()
                .and_then(|p| p.mode.as_deref())
                .is_some_and(|m| !m.is_empty());
            let path = [Step::Key("data"), Step::Key("mesh")];
            let mut f = Finding::new(
                &RULE,
                source.object,
                object,
                &path,
                format!(
                    "Mesh config {} {}: sidecars forward traffic to any external destination through PassthroughCluster",
                    object.qualified_name(),
                    if explicit {
                        format!("sets outboundTrafficPolicy.mode {mode}")
                    } else {
                        "leaves outboundTrafficPolicy.mode unset (default ALLOW_ANY)".to_owned()
                    }
                ),
            )
            .key("outboundTrafficPolicy");
            if let Some(line) = mesh_field_line(inv, source) {
                f.location.line = line.0;
                f.location.column = line.1;
            }
            if sidecar_workloads == 0 {
                f = f.evidence("no sidecar workload is in the input; every sidecar that uses the mesh default gets ALLOW_ANY");
            } else if allow_any_workloads.is_empty() {
                f.severity = Severity::Low;
                f = f.evidence(format!(
                    "all {sidecar_workloads} sidecar workloads of the input are covered by a Sidecar that sets REGISTRY_ONLY; new workloads without one get ALLOW_ANY, so severity is lowered"
                ));
            } else {
                let shown: Vec<&str> = allow_any_workloads
                    .iter()
                    .take(5)
                    .map(String::as_str)
                    .collect();
                f = f.evidence(format!(
                    "{} of {sidecar_workloads} sidecar workloads get ALLOW_ANY: {}{}",
                    allow_any_workloads.len(),
                    shown.join(", "),
                    if allow_any_workloads.len() > 5 {
                        ", …"
                    } else {
                        ""
                    }
                ));
            }
            for s in inv
                .istio
                .sidecars
                .iter()
                .filter(|s| mode_of(s).as_deref() == Some(REGISTRY_ONLY))
            {
                f = f.evidence(format!(
                    "Sidecar {}/{} ({}) sets REGISTRY_ONLY for the workloads it applies to",
                    s.namespace,
                    s.name,
                    inv.object(s.object).origin
                ));
            }
            f = f
                .evidence("REGISTRY_ONLY is not a hard boundary by itself: pair it with NetworkPolicy egress rules or an egress gateway")
                .remediation(format!(
                    "Set outboundTrafficPolicy.mode: REGISTRY_ONLY in mesh config {} (meshConfig in the install values), declare external dependencies with ServiceEntries, and restrict egress with NetworkPolicy.",
                    object.qualified_name()
                ));
            out.push(f);
        }
    }

    for sidecar in &inv.istio.sidecars {
        if mode_of(sidecar).as_deref() != Some(ALLOW_ANY) {
            continue;
        }
        let mesh_note = match mesh_mode.as_deref() {
            Some(REGISTRY_ONLY) => "overriding the mesh-wide REGISTRY_ONLY",
            Some(_) => continue, // the mesh-level finding covers it
            None => "(the mesh config is not in the input)",
        };
        let object = inv.object(sidecar.object);
        let path = [
            Step::Key("spec"),
            Step::Key("outboundTrafficPolicy"),
            Step::Key("mode"),
        ];
        let applies: Vec<String> = chosen
            .iter()
            .filter(|(_, s)| s.is_some_and(|s| s.object == sidecar.object))
            .map(|(i, _)| workload_name(&inv.workloads[*i]))
            .collect();
        let scope = if has_selector(sidecar) {
            "the workloads its workloadSelector matches"
        } else if sidecar.namespace == inv.istio.root_namespace() {
            "every namespace without a Sidecar of its own"
        } else {
            "every workload of the namespace without a more specific Sidecar"
        };
        let mut f = Finding::new(
            &RULE,
            sidecar.object,
            object,
            &path,
            format!(
                "Sidecar {}/{} sets outboundTrafficPolicy.mode ALLOW_ANY {mesh_note}: {scope} may reach any external destination",
                sidecar.namespace, sidecar.name
            ),
        );
        f = if applies.is_empty() {
            f.evidence("no sidecar workload of the input uses this Sidecar")
        } else {
            f.evidence(format!("applies to: {}", applies.join(", ")))
        };
        f = f
            .evidence("REGISTRY_ONLY is not a hard boundary by itself: pair it with NetworkPolicy egress rules or an egress gateway")
            .remediation(format!(
                "Remove outboundTrafficPolicy from Sidecar {}/{} (inherit the mesh's REGISTRY_ONLY) and declare the external hosts these workloads need with ServiceEntries.",
                sidecar.namespace, sidecar.name
            ));
        out.push(f);
    }
}

/// Line and column of `outboundTrafficPolicy` (its `mode` if written) inside the embedded mesh
/// config, when the `mesh` value is a YAML block whose lines map to lines of the file.
fn mesh_field_line(
    inv: &Inventory,
    source: &meshaudit_model::istio::MeshConfigSource,
) -> Option<(u32, u32)> {
    let object = inv.object(source.object);
    if object.origin.path.ends_with(".json") {
        return None;
    }
    let entry = object.node.get("data")?.entry("mesh")?;
    let text = entry.value.as_str()?;
    if !text.contains('\n') {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("outboundTrafficPolicy:"))?;
    let mut target = start;
    for (k, l) in lines.iter().enumerate().skip(start + 1) {
        if !l.starts_with(' ') && !l.trim().is_empty() {
            break;
        }
        if l.trim_start().starts_with("mode:") {
            target = k;
            break;
        }
    }
    let indent = lines[target].len() - lines[target].trim_start().len();
    let line = source.first_line + u32::try_from(target).ok()?;
    let column = entry.key_column + 2 + u32::try_from(indent).ok()?;
    Some((line, column))
}
