//! ADM009: per namespace that runs workloads, the mesh and policy-engine webhooks that do not
//! protect it, and why.

use meshaudit_model::selector::Labels;
use meshaudit_model::Step;

use super::injection::asks_for;
use super::namespaces::{
    excludes_by_name, is_kubernetes_system, labels_known, namespace_annotations, namespace_labels,
    GATEKEEPER_IGNORE_LABEL,
};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;
use crate::rules::naming::selector_text;
use meshaudit_engine::webhooks::{Hook, Product, Role};

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
| the same | it excludes `kube-system`, `kube-public` or `kube-node-lease`, or Linkerd's validators exclude a namespace of Linkerd's own components (labelled `linkerd.io/cni-resource`, `linkerd.io/is-control-plane` or `linkerd.io/extension`, such as the `linkerd-cni` namespace its CNI chart labels `config.linkerd.io/admission-webhooks: disabled`) | `info` |
| a mesh's sidecar injector, for a namespace asking that mesh for injection (labels for Istio, the `linkerd.io/inject` annotation for Linkerd) | it does not select the namespace | `low` (AUTHN009 / ADM003 report the missing sidecars themselves) |
| any of them | it covers the namespace but with `failurePolicy: Ignore`, so the namespace is unprotected whenever the webhook is down | `low` (ADM001, ADM007, ADM008 report the setting) |
| Gatekeeper's `Config` (`config.gatekeeper.sh`, named `config`) | a `spec.match` entry with `processes` `webhook` or `*` whose `excludedNamespaces` (with `*` wildcards) names the namespace: the webhook is called but admits everything there | `medium` (`info` for Kubernetes' own namespaces) |

The finding takes the highest severity of its lines. Not listed: a webhook leaving out the
namespace of its own service (an engine or control plane exempting itself, which it needs in
order to restart), Istio validators in their shipped `Ignore` state with an empty `caBundle` (istiod
switches them to `Fail`), and injectors for namespaces that do not ask for that mesh. Selectors
are matched against the namespace's labels plus the automatic `kubernetes.io/metadata.name`; for
a namespace the input only implies (no Namespace object, labels unknown), only an exclusion by
that name label is reported.

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
- Gatekeeper: Exempting namespaces (label, Config excludedNamespaces) — https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces/
- Kyverno: Webhook configuration (namespaceSelector) — https://kyverno.io/docs/installation/customization/
- Istio: Installing the sidecar — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- Linkerd: Automatic proxy injection — https://linkerd.io/2/features/proxy-injection/
"#,
    check,
};

/// One `spec.match` entry of Gatekeeper's `Config` (named `config`) that takes namespaces out of
/// the admission webhook: its `processes` include `webhook` or `*`.
struct ConfigExclusion {
    config: String,
    index: usize,
    patterns: Vec<String>,
    /// The Config's own namespace: Gatekeeper's, which it may exempt.
    namespace: Option<String>,
}

fn gatekeeper_config_exclusions(inv: &meshaudit_model::Inventory) -> Vec<ConfigExclusion> {
    let mut out = Vec::new();
    for o in &inv.objects {
        if o.kind != "Config" || o.group() != "config.gatekeeper.sh" || o.name != "config" {
            continue;
        }
        let entries = o
            .node
            .at(&[Step::Key("spec"), Step::Key("match")])
            .and_then(|n| n.as_seq())
            .unwrap_or_default();
        for (index, entry) in entries.iter().enumerate() {
            let list = |key: &str| -> Vec<String> {
                entry
                    .get(key)
                    .and_then(|n| n.as_seq())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            };
            let processes = list("processes");
            if !processes.iter().any(|p| p == "*" || p == "webhook") {
                continue;
            }
            out.push(ConfigExclusion {
                config: format!("{}/{}", o.namespace.as_deref().unwrap_or(""), o.name),
                index,
                patterns: list("excludedNamespaces"),
                namespace: o.namespace.clone(),
            });
        }
    }
    out
}

/// Gatekeeper's namespace patterns: `*` matches any run of characters (`kube-*`, `*-system`).
fn glob_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

struct Gap {
    severity: Severity,
    line: String,
}

/// A namespace of Linkerd's own components (CNI plugin, control plane, an extension), by the
/// labels Linkerd's charts put on it: Linkerd opts these out of its own webhooks on purpose.
fn linkerd_component_namespace(ns_labels: &Labels) -> bool {
    [
        "linkerd.io/cni-resource",
        "linkerd.io/is-control-plane",
        "linkerd.io/extension",
    ]
    .iter()
    .any(|k| ns_labels.contains_key(*k))
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
    let all = ctx.webhooks();
    let protective: Vec<&Hook<'_>> = all
        .iter()
        .filter(|h| match h.role {
            Role::ConfigValidation | Role::Injector => true,
            // Kyverno's `-ignore` webhooks exist for policies that chose to fail open.
            Role::PolicyValidation => !h.hook.name.contains("-ignore"),
            _ => false,
        })
        .collect();
    let config_exclusions = gatekeeper_config_exclusions(inv);
    if protective.is_empty() && config_exclusions.is_empty() {
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
                        let sev = if is_kubernetes_system(name)
                            || (product == Product::Linkerd
                                && linkerd_component_namespace(&ns_labels))
                        {
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
                    meshaudit_engine::webhooks::kind_name(h.config.kind),
                    h.config.name
                ),
            });
        }
        // Gatekeeper's Config excludes namespaces inside Gatekeeper: the webhook is still called
        // and admits everything there.
        for ex in &config_exclusions {
            if ex.namespace.as_deref() == Some(name.as_str()) {
                continue;
            }
            let Some(pattern) = ex.patterns.iter().find(|p| glob_matches(p, name)) else {
                continue;
            };
            let severity = if is_kubernetes_system(name) {
                Severity::Info
            } else {
                Severity::Medium
            };
            gaps.push(Gap {
                severity,
                line: format!(
                    "{} {} — Config {}: spec.match[{}].excludedNamespaces ({pattern}) exempts it from the admission webhook",
                    Product::Gatekeeper.as_str(),
                    Role::PolicyValidation.as_str(),
                    ex.config,
                    ex.index
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
        let mut names: Vec<&str> = Vec::new();
        for g in &gaps {
            let what = g.line.split(" — ").next().unwrap_or("");
            if !names.contains(&what) {
                names.push(what);
            }
        }
        let mut f = Finding::new(
            &RULE,
            id,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "Namespace {name} ({workloads} workload(s)) has {} admission gap(s), left out or only fail-open covered by: {}",
                gaps.len(),
                names.join("; ")
            ),
        )
        .resource(ResourceRef::namespace(name))
        .key("admission-gaps")
        .remediation(format!(
            "Make the listed webhooks cover namespace {name} (remove the exemption label or Gatekeeper Config entry, narrow their namespaceSelector to control-plane namespaces) and set them to failurePolicy: Fail."
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

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn gatekeeper_patterns() {
        assert!(glob_matches("kube-*", "kube-system"));
        assert!(!glob_matches("kube-*", "mykube-system"));
        assert!(glob_matches("*-system", "istio-system"));
        assert!(glob_matches("team-*-dev", "team-a-dev"));
        assert!(!glob_matches("team-*-dev", "team-a-prod"));
        assert!(glob_matches("payments", "payments"));
        assert!(!glob_matches("payments", "payments-2"));
        assert!(glob_matches("*", "anything"));
        assert!(!glob_matches("a*a", "a"));
    }
}
