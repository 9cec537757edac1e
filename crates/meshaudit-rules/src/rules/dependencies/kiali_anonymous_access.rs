//! DEP007: Kiali configured with `auth.strategy: anonymous`.

use meshaudit_model::{Inventory, Location, ObjectId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::embedded::embedded_document;
use super::exposure::{dashboards, describe, exposures};
use crate::rules::naming::workload_name;
use meshaudit_engine::components::Component;

pub static RULE: Rule = Rule {
    code: "DEP007",
    name: "kiali-anonymous-access",
    title: "Kiali lets anyone in without logging in",
    category: Category::Dependencies,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.2",
        "SOC2:CC6.3",
        "PCI-DSS:7.2.1",
        "PCI-DSS:8.2.1",
        "HIPAA:164.312(a)(1)",
        "HIPAA:164.312(d)",
    ],
    doc: r#"
## What it detects

Kiali configured with `auth.strategy: anonymous`, in a Kiali custom resource
(`kiali.io/v1alpha1`, `spec.auth.strategy`) or in the `kiali` ConfigMap (the `config.yaml` key
that Kiali's Helm chart and Istio's sample add-on write). `high`; `critical` when the Kiali
workload is also published outside the cluster without authentication (see DEP006); `medium` when
`deployment.view_only_mode: true` makes it read-only.

## Why it matters

With the anonymous strategy Kiali serves every user with its own service account's rights: the
full service graph, traffic, workload details, and — unless view-only — the power to create and
edit Istio configuration (AuthorizationPolicies, VirtualServices) in the namespaces it can access.
Anyone who can reach the UI, including any pod in the cluster, can read the mesh and rewrite its
security policy. Istio's sample `kiali.yaml` uses this strategy for demos.

## Example

```yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: kiali, namespace: istio-system}
data:
  config.yaml: |
    auth:
      strategy: anonymous
```

## Fix

Use a login strategy: `token` (Kubernetes service account tokens), `openid` (your identity
provider), `openshift` or `header` behind an authenticating proxy, and keep Kiali on a ClusterIP
Service.

## References

- Kiali: Authentication strategies (anonymous is for demos) — https://kiali.io/docs/configuration/authentication/
- Kiali: The Kiali CR reference (`spec.auth.strategy`, `deployment.view_only_mode`) — https://kiali.io/docs/configuration/kialis.kiali.io/
- Istio: Kiali integration — https://istio.io/latest/docs/ops/integrations/kiali/
"#,
    check,
};

/// Kiali's login strategy as one object in the input sets it.
pub struct KialiStrategy {
    pub object: ObjectId,
    pub namespace: String,
    pub strategy: String,
    pub view_only: bool,
    /// Where `strategy` is written.
    pub location: Location,
    pub path: Vec<Step<'static>>,
    pub source: String,
}

/// Strategies set by Kiali CRs and `kiali` ConfigMaps.
pub fn strategies(inv: &Inventory) -> Vec<KialiStrategy> {
    let mut out = Vec::new();
    for (id, object) in inv.objects_with_ids() {
        if object.kind == "Kiali" && object.group() == "kiali.io" {
            let spec = object.node.get("spec");
            let Some(strategy) = spec
                .and_then(|s| s.at(&[Step::Key("auth"), Step::Key("strategy")]))
                .and_then(|n| n.as_str())
            else {
                continue;
            };
            let view_only = spec
                .and_then(|s| s.at(&[Step::Key("deployment"), Step::Key("view_only_mode")]))
                .is_some_and(|n| matches!(n.value, meshaudit_model::Value::Bool(true)));
            let path = vec![Step::Key("spec"), Step::Key("auth"), Step::Key("strategy")];
            out.push(KialiStrategy {
                object: id,
                namespace: object.namespace.clone().unwrap_or_default(),
                strategy: strategy.to_ascii_lowercase(),
                view_only,
                location: object.location_of(&path),
                path,
                source: format!("Kiali {} spec.auth.strategy", object.qualified_name()),
            });
        }
    }
    for cm in &inv.config_maps {
        if !cm.name.starts_with("kiali") || !cm.data.contains_key("config.yaml") {
            continue;
        }
        let object = inv.object(cm.object);
        let Some(doc) = embedded_document(object, "config.yaml") else {
            continue;
        };
        let Some(entry) = doc.root.get("auth").and_then(|a| a.entry("strategy")) else {
            continue;
        };
        let Some(strategy) = entry.value.as_str() else {
            continue;
        };
        let view_only = doc
            .root
            .at(&[Step::Key("deployment"), Step::Key("view_only_mode")])
            .is_some_and(|n| matches!(n.value, meshaudit_model::Value::Bool(true)));
        out.push(KialiStrategy {
            object: cm.object,
            namespace: cm.namespace.clone(),
            strategy: strategy.to_ascii_lowercase(),
            view_only,
            location: doc.location(object, entry.key_line, entry.key_column),
            path: vec![Step::Key("data"), Step::Key("config.yaml")],
            source: format!(
                "ConfigMap {}/{} config.yaml auth.strategy",
                cm.namespace, cm.name
            ),
        });
    }
    out
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let kiali_workloads: Vec<WorkloadId> = dashboards(ctx)
        .into_iter()
        .filter(|(_, c)| *c == Component::Kiali)
        .map(|(w, _)| w)
        .collect();
    for s in strategies(inv) {
        if s.strategy != "anonymous" {
            continue;
        }
        let object = inv.object(s.object);
        let mut f = Finding::new(
            &RULE,
            s.object,
            object,
            &s.path,
            format!(
                "{} {} sets Kiali's auth.strategy to anonymous: anyone who reaches Kiali uses it with Kiali's own permissions{}",
                object.kind,
                object.qualified_name(),
                if s.view_only { " (read-only: view_only_mode is on)" } else { ", including editing Istio configuration" }
            ),
        )
        .key("auth.strategy")
        .evidence(format!("{}: anonymous", s.source))
        .remediation(
            "Set auth.strategy to token or openid (or header behind an authenticating proxy) and keep Kiali on a ClusterIP Service.",
        );
        f.location = s.location.clone();
        f.severity = if s.view_only {
            Severity::Medium
        } else {
            Severity::High
        };
        let same_ns: Vec<WorkloadId> = kiali_workloads
            .iter()
            .copied()
            .filter(|&w| inv.workloads[w].namespace == s.namespace)
            .collect();
        for w in same_ns {
            let published = exposures(ctx, w);
            if let Some(e) = published.first() {
                f = f.evidence(format!(
                    "{} is published outside the cluster: {}",
                    workload_name(&inv.workloads[w]),
                    describe(inv, e)
                ));
                if !s.view_only {
                    f.severity = Severity::Critical;
                }
            } else {
                f = f.evidence(format!(
                    "{} is not published outside the cluster in the input (reachable from inside it)",
                    workload_name(&inv.workloads[w])
                ));
            }
        }
        out.push(f);
    }
}
