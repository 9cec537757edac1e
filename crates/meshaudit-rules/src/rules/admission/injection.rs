//! Which pods each mesh's injector webhook adds its proxy to: what a pod and its namespace ask
//! for, read the way each injector reads it, and whether the product is installed at all.

use std::collections::BTreeMap;

use meshaudit_engine::components::control_plane_of;
use meshaudit_engine::membership::{NamespaceMesh, INJECT_POD_LABEL, REVISION_LABEL};
use meshaudit_engine::webhooks::{Hook, Product};
use meshaudit_model::k8s::Workload;
use meshaudit_model::selector::Labels;
use meshaudit_model::{Inventory, WorkloadId};

use super::namespaces::{labels_known, namespace_annotations, namespace_labels};

pub const LINKERD_INJECT: &str = "linkerd.io/inject";
pub const CONSUL_INJECT: &str = "consul.hashicorp.com/connect-inject";
pub const ISTIO_INJECT: &str = INJECT_POD_LABEL;

/// The namespaces of the input (those with a Namespace object, whose labels are known) in which
/// this injector webhook adds its proxy to plain pods; `None` when the input has no Namespace
/// object at all, so nothing can be said.
pub fn namespaces_injected_by(inv: &Inventory, h: &Hook<'_>) -> Option<Vec<String>> {
    let product = h.product?;
    let mut known = false;
    let mut out = Vec::new();
    let plain = Labels::new();
    let none = BTreeMap::new();
    for name in inv.namespaces.keys() {
        if !labels_known(inv, name) {
            continue;
        }
        known = true;
        let labels = namespace_labels(inv, name);
        if h.selects(&labels, &plain)
            && asks_for(
                product,
                &labels,
                namespace_annotations(inv, name),
                &plain,
                &none,
            )
        {
            out.push(name.clone());
        }
    }
    known.then_some(out)
}

/// Workloads of the input that opt in to this injector on their own pod template (Linkerd's
/// `linkerd.io/inject` annotation, Consul's `consul.hashicorp.com/connect-inject`, Istio's
/// `sidecar.istio.io/inject` label or revision label) where their namespace does not ask for
/// it as a whole, and whose pods the webhook is called for: the injector's exposure beyond
/// [`namespaces_injected_by`]. Indexes into `inv.workloads`.
pub fn workloads_opted_in_by(inv: &Inventory, h: &Hook<'_>) -> Vec<WorkloadId> {
    let Some(product) = h.product else {
        return Vec::new();
    };
    let plain = Labels::new();
    let none = BTreeMap::new();
    WorkloadId::enumerate(&inv.workloads)
        .filter(|(_, w)| {
            if w.host_network {
                return false;
            }
            let ns_labels = namespace_labels(inv, &w.namespace);
            let ns_annotations = namespace_annotations(inv, &w.namespace);
            h.selects(&ns_labels, &w.labels)
                && asks_for(
                    product,
                    &ns_labels,
                    ns_annotations,
                    &w.labels,
                    &w.annotations,
                )
                && !asks_for(product, &ns_labels, ns_annotations, &plain, &none)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Is the product's control plane in the input: its Deployments (by the names and labels its
/// installers use) or any of its webhooks?
pub fn installed(inv: &Inventory, hooks: &[Hook<'_>], product: Product) -> bool {
    hooks.iter().any(|h| h.product == Some(product))
        || inv
            .workloads
            .iter()
            .any(|w| control_plane_of(w) == Some(product))
}

/// A pod template that already carries a mesh's proxy (injected output, or a cluster dump).
pub fn already_has_proxy(w: &Workload, product: Product) -> bool {
    let name = match product {
        Product::Istio => "istio-proxy",
        Product::Linkerd => "linkerd-proxy",
        Product::Consul => "consul-dataplane",
        _ => return false,
    };
    w.containers.iter().any(|c| c.name == name)
        || w.init_containers.iter().any(|c| c.name == name)
        || (product == Product::Consul && w.containers.iter().any(|c| c.name == "envoy-sidecar"))
}

/// What a pod asks of each mesh's injector, read the way each injector reads it.
pub fn asks_for(
    product: Product,
    ns_labels: &Labels,
    ns_annotations: Option<&BTreeMap<String, String>>,
    pod_labels: &Labels,
    pod_annotations: &BTreeMap<String, String>,
) -> bool {
    match product {
        // Istio's documented label logic, as the engine's membership reads it.
        Product::Istio => {
            let pod = pod_labels
                .get(INJECT_POD_LABEL)
                .or_else(|| pod_annotations.get(INJECT_POD_LABEL))
                .map(String::as_str);
            if pod == Some("false") {
                return false;
            }
            match NamespaceMesh::of_labels(ns_labels) {
                NamespaceMesh::Disabled => false,
                NamespaceMesh::Injected | NamespaceMesh::Revision(_) => true,
                NamespaceMesh::Ambient | NamespaceMesh::Unlabelled => {
                    pod_labels.get(INJECT_POD_LABEL).map(String::as_str) == Some("true")
                        || pod_labels.contains_key(REVISION_LABEL)
                }
            }
        }
        // Linkerd reads annotations only; the pod's wins over the namespace's.
        Product::Linkerd => {
            let enabled = |v: &str| matches!(v, "enabled" | "ingress");
            match pod_annotations.get(LINKERD_INJECT) {
                Some(v) => enabled(v),
                None => ns_annotations
                    .and_then(|a| a.get(LINKERD_INJECT))
                    .is_some_and(|v| enabled(v)),
            }
        }
        // Without `connectInject.default: true` (not visible in manifests) Consul injects
        // only pods that ask with the annotation.
        Product::Consul => pod_annotations.get(CONSUL_INJECT).map(String::as_str) == Some("true"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn linkerd_reads_annotations_and_the_pod_wins() {
        let none = map(&[]);
        let ns_on = map(&[(LINKERD_INJECT, "enabled")]);
        let pod_off = map(&[(LINKERD_INJECT, "disabled")]);
        let pod_ingress = map(&[(LINKERD_INJECT, "ingress")]);
        assert!(asks_for(
            Product::Linkerd,
            &none,
            Some(&ns_on),
            &none,
            &none
        ));
        assert!(!asks_for(
            Product::Linkerd,
            &none,
            Some(&ns_on),
            &none,
            &pod_off
        ));
        assert!(asks_for(Product::Linkerd, &none, None, &none, &pod_ingress));
        // A label is not an annotation: Linkerd ignores it.
        assert!(!asks_for(Product::Linkerd, &ns_on, None, &ns_on, &none));
    }

    #[test]
    fn istio_opt_outs_beat_namespace_labels() {
        let none = map(&[]);
        let ns = map(&[("istio-injection", "enabled")]);
        let off = map(&[(ISTIO_INJECT, "false")]);
        assert!(asks_for(Product::Istio, &ns, None, &none, &none));
        assert!(!asks_for(Product::Istio, &ns, None, &off, &none));
        assert!(!asks_for(Product::Istio, &ns, None, &none, &off));
        assert!(!asks_for(
            Product::Istio,
            &map(&[("istio-injection", "disabled")]),
            None,
            &map(&[(ISTIO_INJECT, "true")]),
            &none
        ));
        assert!(asks_for(
            Product::Istio,
            &none,
            None,
            &map(&[("istio.io/rev", "canary")]),
            &none
        ));
        assert!(!asks_for(Product::Istio, &none, None, &none, &none));
    }
}
