//! ADM002: two sidecar injectors (two revisions, or two meshes) both inject the same pods.

use std::collections::BTreeMap;

use meshaudit_model::selector::Labels;
use meshaudit_model::Step;

use super::injection::{already_has_proxy, asks_for};
use super::namespaces::{namespace_annotations, namespace_labels};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;
use crate::rules::naming::{template_path, workload_name};
use meshaudit_engine::webhooks::{Hook, Role};

pub static RULE: Rule = Rule {
    code: "ADM002",
    name: "injectors-overlap",
    title: "Two sidecar injectors select the same pods",
    category: Category::Admission,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC8.1",
        "PCI-DSS:2.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A namespace (or, where pod labels make the difference, a workload) for which injector webhooks
calling **different** injectors would each add a proxy:

- two meshes: e.g. Istio's injector and Linkerd's `linkerd-proxy-injector` (with
  `linkerd.io/inject: enabled`) or Consul's connect-injector (with
  `consul.hashicorp.com/connect-inject: "true"`) both take the pod — `high`;
- two Istio control planes: e.g. the default revision's `namespace.sidecar-injector.istio.io`
  and a revision tag's webhooks (`istio-revision-tag-default`, pointing at `istiod-1-24`) both
  selecting `istio-injection: enabled`, or a revision webhook with a too-wide selector — `medium`.

Each injector's own decision is applied: the webhook's `namespaceSelector` and `objectSelector`
(with the automatic `kubernetes.io/metadata.name` label), then Istio's
`sidecar.istio.io/inject: "false"` opt-out, Linkerd's `linkerd.io/inject` annotation (pod over
namespace), Consul's `consul.hashicorp.com/connect-inject` annotation. Webhooks that call the same
Service (or URL host), whatever their path, are one injector. Pod templates that already contain the proxy are not judged.

## Why it matters

Two meshes' proxies in one pod both install traffic redirection; the result is a pod whose traffic
loops, fails, or leaves through the proxy whose policy does not apply — identities and mTLS
guarantees are no longer what either mesh reports. Two Istio revisions selecting the same pods
make the revision a pod gets depend on webhook order: a canary upgrade or a rollback silently does
not happen for some pods, which then run an old proxy (with its CVEs) or talk to the wrong istiod.

## Example

```yaml
# istio-sidecar-injector (istiod) and istio-revision-tag-default (istiod-canary) both have:
- name: namespace.sidecar-injector.istio.io
  namespaceSelector:
    matchLabels: {istio-injection: enabled}
```

## Fix

Keep exactly one injector per pod: when a revision tag takes over the default selectors, remove
the old default-revision webhooks (`istioctl tag` and `istioctl x revision` manage this); never
label or annotate one namespace for two meshes; narrow custom injector selectors with
`istio.io/rev` / `linkerd.io/inject` conditions.

## References

- Istio: Canary upgrades, default tag and revision tags — https://istio.io/latest/docs/setup/upgrade/canary/
- Istio: Installing the sidecar (injection labels) — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- Linkerd: Automatic proxy injection — https://linkerd.io/2/features/proxy-injection/
- Kubernetes: Dynamic Admission Control (webhook ordering, reinvocation) — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
"#,
    check,
};

/// The injectors (by what they call) that would add a proxy to such a pod.
fn injecting<'h, 'a>(
    injectors: &'h [Hook<'a>],
    ns_labels: &Labels,
    ns_annotations: Option<&BTreeMap<String, String>>,
    pod_labels: &Labels,
    pod_annotations: &BTreeMap<String, String>,
) -> BTreeMap<String, &'h Hook<'a>> {
    let mut out = BTreeMap::new();
    for h in injectors {
        let Some(product) = h.product else { continue };
        if h.selects(ns_labels, pod_labels)
            && asks_for(
                product,
                ns_labels,
                ns_annotations,
                pod_labels,
                pod_annotations,
            )
        {
            out.entry(h.backend()).or_insert(h);
        }
    }
    out
}

fn severity(set: &BTreeMap<String, &Hook<'_>>) -> Severity {
    let first = set.values().next().and_then(|h| h.product);
    if set.values().all(|h| h.product == first) {
        Severity::Medium
    } else {
        Severity::High
    }
}

fn list(set: &BTreeMap<String, &Hook<'_>>) -> Vec<String> {
    set.values()
        .map(|h| {
            format!(
                "{} (calls {}, {})",
                h.describe(),
                h.target(),
                h.product.map_or("", |p| p.as_str())
            )
        })
        .collect()
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let all = ctx.webhooks();
    let injectors: Vec<Hook<'_>> = all
        .iter()
        .copied()
        .filter(|h| h.role == Role::Injector)
        .collect();
    if injectors.len() < 2 {
        return;
    }
    let none = BTreeMap::new();
    for name in inv.namespaces.keys() {
        let ns_labels = namespace_labels(inv, name);
        let ns_annotations = namespace_annotations(inv, name);
        let at_namespace = injecting(
            &injectors,
            &ns_labels,
            ns_annotations,
            &Labels::new(),
            &none,
        );
        let workloads: Vec<_> = inv.workloads_in(name).collect();
        let ns_reported =
            at_namespace.len() >= 2 && inv.namespace(name).and_then(|n| n.object).is_some();
        if ns_reported {
            if let Some((id, object)) = namespace_anchor(inv, name) {
                let mut f = Finding::new(
                    &RULE,
                    id,
                    object,
                    &[Step::Key("metadata"), Step::Key("labels")],
                    format!(
                        "Namespace {name} is selected by {} different sidecar injectors: its pods get a proxy from whichever runs first, or two proxies",
                        at_namespace.len()
                    ),
                )
                .resource(ResourceRef::namespace(name))
                .key("injectors")
                .remediation(format!(
                    "Make exactly one injector select namespace {name}: remove the stale webhook (old revision or tag) or the other mesh's injection label/annotation."
                ));
                for line in list(&at_namespace) {
                    f = f.evidence(format!("injects here: {line}"));
                }
                if !workloads.is_empty() {
                    f = f.evidence(format!(
                        "{} workload(s) in the namespace, e.g. {}",
                        workloads.len(),
                        workload_name(workloads[0])
                    ));
                }
                f.severity = severity(&at_namespace);
                f.mesh = at_namespace
                    .values()
                    .next()
                    .and_then(|h| h.product)
                    .map_or(Mesh::Kubernetes, |p| p.mesh());
                out.push(f);
            }
        }
        for w in workloads {
            let set = injecting(
                &injectors,
                &ns_labels,
                ns_annotations,
                &w.labels,
                &w.annotations,
            );
            if set.len() < 2 || (ns_reported && set.keys().eq(at_namespace.keys())) {
                continue;
            }
            if set
                .values()
                .any(|h| h.product.is_some_and(|p| already_has_proxy(w, p)))
            {
                continue;
            }
            let path = template_path(w, &[Step::Key("metadata")]);
            let mut f = Finding::new(
                &RULE,
                w.object,
                inv.object(w.object),
                &path,
                format!(
                    "{}: {} different sidecar injectors take its pods, so they get a proxy from whichever runs first, or two proxies",
                    workload_name(w),
                    set.len()
                ),
            )
            .key("injectors")
            .remediation(
                "Make exactly one injector select these pods: fix the webhooks' selectors, or drop the other mesh's injection label/annotation from the pod template.",
            );
            for line in list(&set) {
                f = f.evidence(format!("injects these pods: {line}"));
            }
            f.severity = severity(&set);
            f.mesh = set
                .values()
                .next()
                .and_then(|h| h.product)
                .map_or(Mesh::Kubernetes, |p| p.mesh());
            out.push(f);
        }
    }
}
