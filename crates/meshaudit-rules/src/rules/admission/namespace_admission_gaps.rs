//! ADM009: per namespace that runs workloads, the mesh and policy-engine webhooks that do not
//! protect it, and why.

use meshaudit_model::selector::Labels;
use meshaudit_model::Step;

use super::common::{
    asks_for, excludes_by_name, hooks, is_kubernetes_system, labels_known, namespace_annotations,
    namespace_labels, selector_text, FindingExt, Hook, Product, Role, GATEKEEPER_IGNORE_LABEL,
};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::helpers::namespace_anchor;

pub static RULE: Rule = Rule {
    code: "ADM009",
    name: "namespace-admission-gaps",
    title: "Namespace not protected by some mesh or policy webhook",
    category: Category::Admission,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &[
        "SOC2:CC6.8",
        "SOC2:CC8.1",
        "PCI-DSS:2.2.1",
        "CIS-K8S:5.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

For every namespace that runs workloads in the input, the admission webhooks of meshes and policy
engines that do not protect it — one finding on the Namespace, listing each webhook and why:

| webhook | gap | severity |
|---|---|---|
| mesh configuration validation (Istio, Linkerd) or policy engine (Gatekeeper `validation.gatekeeper.sh`, Kyverno `validate.kyverno.svc-fail`) | its `namespaceSelector` excludes an application namespace (including through Gatekeeper's `admission.gatekeeper.sh/ignore` label) | `medium` |
| the same | it excludes `kube-system`, `kube-public` or `kube-node-lease` | `info` |
| a mesh's sidecar injector, for a namespace asking that mesh for injection (labels for Istio, the `linkerd.io/inject` annotation for Linkerd) | it does not select the namespace | `low` (AUTHN009 / ADM003 report the missing sidecars themselves) |
| any of them | it covers the namespace but with `failurePolicy: Ignore`, so the namespace is unprotected whenever the webhook is down | `low` (ADM001, ADM007, ADM008 report the setting) |

The finding takes the highest severity of its lines. Not listed: a webhook leaving out the
namespace of its own service (an engine or control plane exempting itself, which it needs in
order to restart), Istio validators in their shipped `Ignore` state with an empty `caBundle` (istiod
switches them to `Fail`), and injectors for namespaces that do not ask for that mesh. Selectors
are matched against the namespace's labels plus the automatic `kubernetes.io/metadata.name`.

## Why it matters

A webhook's selectors decide where it applies, and they drift: a namespace labelled for one team's
convenience, an exemption copied from a chart example, a policy engine told to skip "system"
namespaces that now run applications. The result is a namespace where privileged pods, sidecar
opt-outs or invalid mesh policy are admitted although the cluster "has" the control. This finding
is the map of where each control does not reach, with the selector term that causes it.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: batch
  labels:
    admission.gatekeeper.sh/ignore: "true"   # Gatekeeper skips every request in this namespace
```

## Fix

Narrow each webhook's exclusions to the control-plane and system namespaces that need them, remove
exemption labels from application namespaces, and make the webhooks fail closed.

## References

- Kubernetes: Matching requests by namespaceSelector — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-namespaceselector
- Gatekeeper: Exempting namespaces — https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces/
- Kyverno: Webhook configuration (namespaceSelector) — https://kyverno.io/docs/installation/customization/
- Istio: Installing the sidecar — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- Linkerd: Automatic proxy injection — https://linkerd.io/2/features/proxy-injection/
"#,
    check,
};

struct Gap {
    severity: Severity,
    line: String,
}

fn own_namespace<'a>(h: &Hook<'a>) -> Option<&'a str> {
    h.hook
        .client_config
        .service
        .as_ref()
        .map(|s| s.namespace.as_str())
}

fn exclusion(h: &Hook<'_>, ns_labels: &Labels) -> String {
    if h.product == Some(Product::Gatekeeper) && ns_labels.contains_key(GATEKEEPER_IGNORE_LABEL) {
        format!("the namespace carries {GATEKEEPER_IGNORE_LABEL}")
    } else {
        format!(
            "its namespaceSelector ({}) excludes the namespace",
            selector_text(&h.namespace_selector())
        )
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let all = hooks(inv);
    let protective: Vec<&Hook<'_>> = all
        .iter()
        .filter(|h| match h.role {
            Role::ConfigValidation | Role::Injector => true,
            // Kyverno's `-ignore` webhooks exist for policies that chose to fail open.
            Role::PolicyValidation => !h.hook.name.contains("-ignore"),
            _ => false,
        })
        .collect();
    if protective.is_empty() {
        return;
    }
    let plain = Labels::new();
    let no_annotations = Default::default();
    for name in inv.namespaces.keys() {
        let workloads = inv.workload_indexes_in(name).len();
        if workloads == 0 {
            continue;
        }
        let ns_labels = namespace_labels(inv, name);
        let ns_annotations = namespace_annotations(inv, name);
        let known = labels_known(inv, name);
        let mut gaps: Vec<Gap> = Vec::new();
        let mut seen: Vec<(String, &str)> = Vec::new();
        for h in &protective {
            let Some(product) = h.product else { continue };
            if own_namespace(h) == Some(name.as_str()) {
                continue;
            }
            // Without the Namespace object only an exclusion by name is certain.
            let selected = if known {
                h.selects_namespace(&ns_labels)
            } else {
                !excludes_by_name(&h.namespace_selector(), name)
            };
            let what = format!("{} {}", product.as_str(), h.role.as_str());
            let (severity, why) = match h.role {
                Role::Injector => {
                    if !asks_for(product, &ns_labels, ns_annotations, &plain, &no_annotations) {
                        continue;
                    }
                    // Several webhooks make up one injector; one selecting the namespace is enough.
                    let any = protective.iter().any(|o| {
                        o.role == Role::Injector
                            && o.product == Some(product)
                            && o.selects(&ns_labels, &plain)
                    });
                    if any {
                        if !h.selects(&ns_labels, &plain) || !h.fails_open(inv) {
                            continue;
                        }
                        (Severity::Low, "it injects here but fails open (failurePolicy Ignore): pods start without a proxy whenever it is down".to_owned())
                    } else {
                        (
                            Severity::Low,
                            format!(
                                "the namespace asks for the {} proxy but {}",
                                product.as_str(),
                                exclusion(h, &ns_labels)
                            ),
                        )
                    }
                }
                _ => {
                    if !selected {
                        let sev = if is_kubernetes_system(name) {
                            Severity::Info
                        } else {
                            Severity::Medium
                        };
                        (sev, exclusion(h, &ns_labels))
                    } else if h.fails_open(inv) {
                        let istio_unpatched = product == Product::Istio
                            && h.hook.client_config.ca_bundle_certificates.is_empty();
                        if istio_unpatched {
                            continue;
                        }
                        (Severity::Low, "it covers the namespace but fails open (failurePolicy Ignore): nothing is checked while it is down".to_owned())
                    } else {
                        continue;
                    }
                }
            };
            // One line per configuration and reason: Istio's injector has four webhooks.
            let dedup = (format!("{}|{why}", h.config.name), "");
            if seen.contains(&dedup) {
                continue;
            }
            seen.push(dedup);
            gaps.push(Gap {
                severity,
                line: format!(
                    "{what} — {} {}: {why}",
                    super::common::kind_name(h.config.kind),
                    h.config.name
                ),
            });
        }
        if gaps.is_empty() {
            continue;
        }
        let Some((id, object)) = namespace_anchor(inv, name) else {
            continue;
        };
        // Most severe first; input order otherwise.
        gaps.sort_by_key(|g| std::cmp::Reverse(g.severity));
        let severity = gaps
            .iter()
            .map(|g| g.severity)
            .max()
            .unwrap_or(Severity::Info);
        let names: Vec<String> = gaps
            .iter()
            .map(|g| g.line.split(" — ").next().unwrap_or("").to_owned())
            .collect();
        let mut f = Finding::new(
            &RULE,
            id,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "Namespace {name} ({workloads} workload(s)) is left out, or only fail-open covered, by {} admission webhook(s): {}",
                gaps.len(),
                names.join("; ")
            ),
        )
        .resource(ResourceRef::namespace(name))
        .key("admission-gaps")
        .remediation(format!(
            "Make the listed webhooks select namespace {name} (remove the exemption label or narrow their namespaceSelector to control-plane namespaces) and set them to failurePolicy: Fail."
        ))
        .with_mesh(Mesh::Kubernetes)
        .with_severity(severity);
        for g in &gaps {
            f = f.evidence(format!("[{}] {}", g.severity, g.line));
        }
        if inv.namespace(name).and_then(|n| n.object).is_none() {
            f.object = None;
            f = f.evidence(format!(
                "the input has no Namespace object for {name}: only its automatic name label is known"
            ));
        }
        out.push(f);
    }
}
