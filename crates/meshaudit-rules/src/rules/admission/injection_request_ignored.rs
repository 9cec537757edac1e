//! ADM003: pods or namespaces ask a mesh for its proxy, but none of that mesh's injector
//! webhooks is called for them (object or namespace selectors skip them), or they ask in a way
//! the injector does not read.

use std::collections::BTreeMap;

use meshaudit_model::selector::Labels;
use meshaudit_model::Step;

use super::injection::{already_has_proxy, asks_for, ISTIO_INJECT, LINKERD_INJECT};
use super::namespaces::{labels_known, namespace_annotations, namespace_labels};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::naming::{selector_text, template_path, workload_name};
use meshaudit_engine::webhooks::{Hook, Product, Role};

pub static RULE: Rule = Rule {
    code: "ADM003",
    name: "injection-request-ignored",
    title: "Pods ask for a sidecar that no injector webhook adds",
    category: Category::Admission,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.8",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

Pods that ask a mesh for its proxy while the input's injector webhooks of that mesh are never
called for them:

- **Istio**: a workload whose namespace or pod labels ask for injection (`istio-injection:
  enabled`, `istio.io/rev`, `sidecar.istio.io/inject: "true"`) but whose pod labels make every
  Istio injector's `objectSelector` skip it, while plain pods of the same namespace are injected
  (a namespace that no injector selects at all is AUTHN009's); and pods that ask by themselves
  (pod label `sidecar.istio.io/inject: "true"` or `istio.io/rev`) in an unlabelled namespace that
  no injector takes; and a pod template asking with the legacy **annotation**
  `sidecar.istio.io/inject: "true"` in a namespace without an injection label, where the injector
  webhooks' `objectSelector`s (which read labels) never call istiod for it.
- **Linkerd**: a namespace annotated `linkerd.io/inject: enabled` (or `ingress`) that the
  proxy-injector's `namespaceSelector` excludes (e.g. `config.linkerd.io/admission-webhooks:
  disabled`, `kube-system`) — reported on the Namespace; a workload annotated so whose labels the
  `objectSelector` excludes; and `linkerd.io/inject` written as a **label** where Linkerd only
  reads the **annotation** (on the Namespace or the pod template) — reported whether or not the
  injector is in the input.
- **Consul**: a workload annotated `consul.hashicorp.com/connect-inject: "true"` that the
  connect-injector's selectors skip.

Pod templates that already contain the proxy are not judged.

## Why it matters

The owners believe these pods are in the mesh; the API server never asks the injector, so they
run without a proxy: plaintext, no identity, no authorization policy, and clients' automatic mTLS
silently downgrades. Selector exclusions are meant for control-plane components; a label added
later for another purpose (`app.kubernetes.io/part-of`, `linkerd.io/control-plane-component`) can
move an application pod into the excluded set.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    linkerd.io/inject: enabled    # a label: Linkerd reads the annotation and ignores this
```

## Fix

Ask the way the injector reads it (Linkerd: `metadata.annotations`, on the Namespace or the pod
template), and make the injector's selectors exclude only control-plane pods and namespaces;
then restart the workloads so their pods are recreated through the injector.

## References

- Linkerd: Automatic proxy injection (annotations, namespace and pod) — https://linkerd.io/2/features/proxy-injection/
- Linkerd control-plane Helm chart values (proxyInjector.namespaceSelector, objectSelector) — https://github.com/linkerd/linkerd2/blob/main/charts/linkerd-control-plane/README.md
- Istio: Installing the sidecar (injection logic) — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- Consul: Configure automatic injection (connect-inject annotation) — https://developer.hashicorp.com/consul/docs/k8s/connect
- Kubernetes: Matching requests: namespaceSelector and objectSelector — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-objectselector
"#,
    check,
};

/// Why each injector is not called for such a pod: the first of its selectors that excludes it.
fn why_not(injectors: &[&Hook<'_>], ns_labels: &Labels) -> Vec<String> {
    injectors
        .iter()
        .map(|h| {
            if !h.selects_namespace(ns_labels) {
                format!(
                    "{}: namespaceSelector ({}) excludes the namespace",
                    h.describe(),
                    selector_text(&h.namespace_selector())
                )
            } else {
                format!(
                    "{}: objectSelector ({}) excludes these pod labels",
                    h.describe(),
                    selector_text(&h.object_selector())
                )
            }
        })
        .collect()
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let all = ctx.webhooks();
    let mut by_product: BTreeMap<Product, Vec<&Hook<'_>>> = BTreeMap::new();
    for h in all.iter().filter(|h| h.role == Role::Injector) {
        if let Some(p) = h.product {
            by_product.entry(p).or_default().push(h);
        }
    }
    let no_annotations = BTreeMap::new();
    let plain = Labels::new();
    for name in inv.namespaces.keys() {
        let ns_labels = namespace_labels(inv, name);
        let ns_annotations = namespace_annotations(inv, name);
        let ns_object = inv.namespace(name).and_then(|n| n.object);
        let workloads: Vec<_> = inv.workloads_in(name).collect();

        // Linkerd's request written as a label on the Namespace.
        if let (Some(id), Some(value)) = (ns_object, ns_labels.get(LINKERD_INJECT)) {
            if !ns_annotations.is_some_and(|a| a.contains_key(LINKERD_INJECT)) {
                out.push(
                    Finding::new(
                        &RULE,
                        id,
                        inv.object(id),
                        &[Step::Key("metadata"), Step::Key("labels"), Step::Key(LINKERD_INJECT)],
                        format!(
                            "Namespace {name} has the label {LINKERD_INJECT}: {value}, but Linkerd's proxy injector reads only the annotation: its pods get no Linkerd proxy"
                        ),
                    )
                    .resource(ResourceRef::namespace(name))
                    .key("linkerd-label")
                    .evidence(format!("{} workload(s) in the namespace", workloads.len()))
                    .remediation(format!(
                        "Move {LINKERD_INJECT}: {value} from metadata.labels to metadata.annotations of namespace {name}, then restart its workloads."
                    ))
                    .with_mesh(Mesh::Linkerd),
                );
            }
        }

        // Namespace-level requests the mesh's injectors never see (Linkerd; Istio's is AUTHN009).
        let mut namespace_reported: Vec<Product> = Vec::new();
        if let Some(linkerd) = by_product.get(&Product::Linkerd) {
            let asks = asks_for(
                Product::Linkerd,
                &ns_labels,
                ns_annotations,
                &plain,
                &no_annotations,
            );
            if asks && !linkerd.iter().any(|h| h.selects(&ns_labels, &plain)) {
                if let (Some(id), true) = (
                    ns_object,
                    linkerd.iter().all(|h| !h.selects_namespace(&ns_labels)),
                ) {
                    let mut f = Finding::new(
                        &RULE,
                        id,
                        inv.object(id),
                        &[Step::Key("metadata"), Step::Key("annotations"), Step::Key(LINKERD_INJECT)],
                        format!(
                            "Namespace {name} is annotated {LINKERD_INJECT} for injection, but the Linkerd proxy injector's namespaceSelector excludes it: its pods get no Linkerd proxy"
                        ),
                    )
                    .resource(ResourceRef::namespace(name))
                    .key("linkerd-namespace")
                    .remediation(format!(
                        "Remove the label that excludes namespace {name} from the proxy injector (e.g. config.linkerd.io/admission-webhooks: disabled), or stop annotating it for injection."
                    ))
                    .with_mesh(Mesh::Linkerd);
                    for line in why_not(linkerd, &ns_labels) {
                        f = f.evidence(line);
                    }
                    f = f.evidence(format!("{} workload(s) in the namespace", workloads.len()));
                    out.push(f);
                    namespace_reported.push(Product::Linkerd);
                }
            }
        }
        let istio_takes_plain_pods = by_product
            .get(&Product::Istio)
            .is_some_and(|hs| hs.iter().any(|h| h.selects(&ns_labels, &plain)));

        for w in &workloads {
            // Linkerd's request written as a pod label.
            if let Some(value) = w.labels.get(LINKERD_INJECT) {
                if !w.annotations.contains_key(LINKERD_INJECT)
                    && !already_has_proxy(w, Product::Linkerd)
                {
                    out.push(
                        Finding::new(
                            &RULE,
                            w.object,
                            inv.object(w.object),
                            &template_path(w, &[Step::Key("metadata"), Step::Key("labels"), Step::Key(LINKERD_INJECT)]),
                            format!(
                                "{} sets the pod label {LINKERD_INJECT}: {value}, but Linkerd's proxy injector reads only the annotation",
                                workload_name(w)
                            ),
                        )
                        .key("linkerd-label")
                        .remediation(format!(
                            "Move {LINKERD_INJECT}: {value} to the pod template's metadata.annotations."
                        ))
                        .with_mesh(Mesh::Linkerd),
                    );
                }
            }
            // Istio's legacy annotation asks istiod, but the injector webhooks' objectSelectors
            // read labels: in a namespace without an injection label nothing calls istiod.
            if let Some(istio) = by_product.get(&Product::Istio) {
                let annotated = w.annotations.get(ISTIO_INJECT).map(String::as_str) == Some("true");
                if annotated
                    && !w.labels.contains_key(ISTIO_INJECT)
                    && !w.host_network
                    && !already_has_proxy(w, Product::Istio)
                    && !asks_for(
                        Product::Istio,
                        &ns_labels,
                        ns_annotations,
                        &w.labels,
                        &w.annotations,
                    )
                    && labels_known(inv, name)
                    && !istio.iter().any(|h| h.selects(&ns_labels, &w.labels))
                {
                    out.push(
                        Finding::new(
                            &RULE,
                            w.object,
                            inv.object(w.object),
                            &template_path(w, &[Step::Key("metadata"), Step::Key("annotations"), Step::Key(ISTIO_INJECT)]),
                            format!(
                                "{} asks for the Istio sidecar with the annotation {ISTIO_INJECT}: \"true\", but the injector webhooks select pods by label: in namespace {name}, which has no injection label, none of them is called",
                                workload_name(w)
                            ),
                        )
                        .key("istio-annotation")
                        .evidence(format!("{} Istio injector webhook(s) in the input; none selects these pod labels in namespace {name}", istio.len()))
                        .remediation(format!(
                            "Set {ISTIO_INJECT}: \"true\" as a label of the pod template (metadata.labels), or label namespace {name} for injection."
                        ))
                        .with_mesh(Mesh::Istio),
                    );
                }
            }
            for (&product, injectors) in &by_product {
                if already_has_proxy(w, product) || namespace_reported.contains(&product) {
                    continue;
                }
                if !asks_for(
                    product,
                    &ns_labels,
                    ns_annotations,
                    &w.labels,
                    &w.annotations,
                ) {
                    continue;
                }
                if injectors.iter().any(|h| h.selects(&ns_labels, &w.labels)) {
                    continue;
                }
                let namespace_level =
                    asks_for(product, &ns_labels, ns_annotations, &plain, &no_annotations);
                // A labelled namespace no Istio injector takes at all is AUTHN009's finding.
                if product == Product::Istio && namespace_level && !istio_takes_plain_pods {
                    continue;
                }
                if w.host_network {
                    continue;
                }
                // With the namespace only implied its labels are unknown: a namespaceSelector
                // that fails on them proves nothing.
                if !labels_known(inv, name)
                    && injectors
                        .iter()
                        .all(|h| h.object_selector().matches(&w.labels))
                {
                    continue;
                }
                let mut f = Finding::new(
                    &RULE,
                    w.object,
                    inv.object(w.object),
                    &template_path(w, &[Step::Key("metadata"), Step::Key("labels")]),
                    format!(
                        "{} asks for the {} proxy, but none of the {} {} injector webhook(s) is called for its pods: they run without a proxy",
                        workload_name(w),
                        product.as_str(),
                        injectors.len(),
                        product.as_str()
                    ),
                )
                .key(format!("{}-injection", product.as_str().to_ascii_lowercase()))
                .remediation(format!(
                    "Change the pod labels of {} or the injector's selectors so that an injector webhook selects these pods, then restart the workload.",
                    workload_name(w)
                ))
                .with_mesh(product.mesh());
                if namespace_level {
                    f = f.evidence(format!(
                        "namespace {name} asks for injection, and plain pods there are injected"
                    ));
                }
                for line in why_not(injectors, &ns_labels) {
                    f = f.evidence(line);
                }
                out.push(f);
            }
        }
    }
}
