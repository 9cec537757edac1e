//! NET012: sidecars whose egress no Sidecar resource scopes: they see every service of the mesh.

use std::collections::BTreeMap;

use meshaudit_engine::membership::DataPlane;
use meshaudit_model::istio::{SidecarSpec, Typed};
use meshaudit_model::{Inventory, ObjectId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;
use meshaudit_engine::peer_authentication::oldest;

pub static RULE: Rule = Rule {
    code: "NET012",
    name: "sidecar-egress-unscoped",
    title: "Sidecars' egress is not scoped by a Sidecar resource",
    category: Category::NetworkPolicy,
    severity: Severity::Low,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.6", "NIST-800-204A:SM-DR2"],
    doc: r#"
## What it detects

Namespaces with sidecar workloads whose default Sidecar resource does not scope egress: there is
no Sidecar without a `workloadSelector` in the namespace nor in the root namespace, or the one that
applies has no `egress` section or lists `*/*` (every namespace, every host). One finding per such
namespace (on the Namespace), or one on the Sidecar resource that applies to several.

## Why it matters

Without a Sidecar `egress` list, every proxy receives the configuration of every service in the
mesh and can route to all of them: the blast radius of one compromised workload is the whole mesh
(within what authorization allows), and istiod pushes far more configuration than needed. A
namespace default such as `./*` plus `istio-system/*` limits what the proxies know and route to;
with `outboundTrafficPolicy: REGISTRY_ONLY` it also closes egress to unlisted external hosts.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: istio-system      # the root namespace: the mesh-wide default
spec:
  egress:
    - hosts: ["*/*"]           # no scoping
```

## Fix

Give each namespace (or the mesh, in the root namespace) a default Sidecar that lists what its
workloads call:

```yaml
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: shop
spec:
  egress:
    - hosts: ["./*", "istio-system/*", "payments/payments-api.payments.svc.cluster.local"]
```

## References

- Istio: Sidecar reference (egress, namespace and root-namespace defaults) — https://istio.io/latest/docs/reference/config/networking/sidecar/
- Istio: Configuration scoping best practices — https://istio.io/latest/docs/ops/best-practices/traffic-management/#set-default-routes-for-services
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

fn unscoped(sidecar: &Typed<SidecarSpec>) -> bool {
    sidecar.spec.egress.is_empty()
        || sidecar
            .spec
            .egress
            .iter()
            .any(|e| e.hosts.iter().any(|h| h == "*/*" || h == "*"))
}

fn namespace_default<'a>(inv: &'a Inventory, namespace: &str) -> Option<&'a Typed<SidecarSpec>> {
    let defaults: Vec<&Typed<SidecarSpec>> = inv
        .istio
        .sidecars
        .iter()
        .filter(|s| {
            s.namespace == namespace
                && s.spec
                    .workload_selector
                    .as_ref()
                    .is_none_or(|sel| sel.match_labels.is_empty())
        })
        .collect();
    oldest(inv, &defaults)
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let root = inv.istio.root_namespace();
    let root_default = namespace_default(inv, root);
    // The Sidecar that applies to each namespace with sidecars (None: no Sidecar at all).
    let mut by_sidecar: BTreeMap<Option<ObjectId>, Vec<String>> = BTreeMap::new();
    for name in inv.namespaces.keys() {
        let has_sidecars = inv
            .workload_indexes_in(name)
            .iter()
            .any(|&w| graph.workload(w).istio_data_plane() == DataPlane::Sidecar);
        if !has_sidecars {
            continue;
        }
        let applies = namespace_default(inv, name).or(root_default);
        match applies {
            Some(s) if !unscoped(s) => {}
            Some(s) => by_sidecar
                .entry(Some(s.object))
                .or_default()
                .push(name.clone()),
            None => by_sidecar.entry(None).or_default().push(name.clone()),
        }
    }
    for (sidecar, namespaces) in by_sidecar {
        match sidecar {
            None => {
                for name in namespaces {
                    let Some((id, object)) = namespace_anchor(inv, &name) else {
                        continue;
                    };
                    let mut finding = Finding::new(
                        &RULE,
                        id,
                        object,
                        &[Step::Key("metadata"), Step::Key("name")],
                        format!(
                            "The sidecars in namespace `{name}` are not scoped by any Sidecar resource: they receive and can route to every service of the mesh"
                        ),
                    )
                    .resource(ResourceRef::namespace(&name))
                    .key("")
                    .evidence(format!(
                        "no Sidecar without workloadSelector in `{name}` or in the root namespace `{root}`"
                    ))
                    .remediation(format!(
                        "Add a Sidecar named default in `{name}` (or in `{root}` for the whole mesh) whose egress hosts list what its workloads call, e.g. ./* and {root}/*."
                    ));
                    if inv.namespace(&name).and_then(|n| n.object).is_none() {
                        finding.object = None;
                    }
                    out.push(finding);
                }
            }
            Some(id) => {
                let Some(sc) = inv.istio.sidecars.iter().find(|s| s.object == id) else {
                    continue;
                };
                let object = inv.object(id);
                let path: &[Step<'_>] = if sc.spec.egress.is_empty() {
                    &[Step::Key("spec")]
                } else {
                    &[Step::Key("spec"), Step::Key("egress")]
                };
                let what = if sc.spec.egress.is_empty() {
                    "has no egress section"
                } else {
                    "lists */* in its egress hosts"
                };
                let finding = Finding::new(
                    &RULE,
                    id,
                    object,
                    path,
                    format!(
                        "Sidecar {}/{} {what}: the sidecars it applies to receive and can route to every service of the mesh",
                        sc.namespace, sc.name
                    ),
                )
                .evidence(format!("applies to the namespace(s): {}", namespaces.join(", ")))
                .remediation(format!(
                    "List the hosts the workloads call in the egress of Sidecar {}/{} (e.g. ./* and {root}/*) instead of */*.",
                    sc.namespace, sc.name
                ));
                out.push(finding);
            }
        }
    }
}
