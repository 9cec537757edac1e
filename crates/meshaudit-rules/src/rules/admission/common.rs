//! What the admission rules share: recognising each webhook for what it is (a mesh's sidecar
//! injector or config validator, a policy engine), and the facts every rule reads about it
//! (its effective failure policy, what it calls, which namespaces and pods it selects).

use std::collections::{BTreeMap, BTreeSet};

use meshaudit_engine::membership::{NamespaceMesh, INJECT_POD_LABEL, REVISION_LABEL};
use meshaudit_model::k8s::Workload;
use meshaudit_model::selector::{LabelSelector, Labels};
use meshaudit_model::{Inventory, Step, WorkloadId};

use crate::finding::{Finding, Mesh};

/// Builder-style setters the admission rules use on findings.
pub trait FindingExt {
    #[must_use]
    fn with_mesh(self, mesh: Mesh) -> Self;
    #[must_use]
    fn with_severity(self, severity: crate::finding::Severity) -> Self;
}

impl FindingExt for Finding {
    fn with_mesh(mut self, mesh: Mesh) -> Self {
        self.mesh = mesh;
        self
    }

    fn with_severity(mut self, severity: crate::finding::Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// Set by the API server on every namespace since Kubernetes 1.21, so selectors may rely on it
/// even where the input's Namespace object does not spell it out.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
pub const LINKERD_INJECT: &str = "linkerd.io/inject";
pub const CONSUL_INJECT: &str = "consul.hashicorp.com/connect-inject";
pub const ISTIO_INJECT: &str = INJECT_POD_LABEL;
/// Gatekeeper skips namespaces carrying this label (any value).
pub const GATEKEEPER_IGNORE_LABEL: &str = "admission.gatekeeper.sh/ignore";

pub use meshaudit_engine::components::control_plane_of;
pub use meshaudit_engine::webhooks::{kind_name, Hook, Product, Role};

/// A namespace's labels as the API server matches them: with `kubernetes.io/metadata.name`.
pub fn namespace_labels(inv: &Inventory, name: &str) -> Labels {
    let mut labels = inv
        .namespace(name)
        .map(|n| n.labels.clone())
        .unwrap_or_default();
    labels
        .entry(NAMESPACE_NAME_LABEL.to_owned())
        .or_insert_with(|| name.to_owned());
    labels
}

pub fn namespace_annotations<'i>(
    inv: &'i Inventory,
    name: &str,
) -> Option<&'i BTreeMap<String, String>> {
    inv.namespace(name)
        .and_then(|n| n.object)
        .map(|id| &inv.object(id).annotations)
}

/// Namespaces the input really describes — some Service or workload lives there — so that a
/// Service missing from them is missing from the cluster. A chart that only drops a
/// ServiceAccount into `istio-system` (Istio's `base`) does not count.
pub fn covered_namespaces(inv: &Inventory) -> BTreeSet<&str> {
    inv.services
        .iter()
        .map(|s| s.namespace.as_str())
        .chain(inv.workloads.iter().map(|w| w.namespace.as_str()))
        .collect()
}

/// Whether the input has the namespace's `Namespace` object, so its labels are known.
pub fn labels_known(inv: &Inventory, name: &str) -> bool {
    inv.namespace(name).and_then(|n| n.object).is_some()
}

/// For a namespace whose labels are unknown: does the selector exclude it on its name alone
/// (`kubernetes.io/metadata.name`), the only label the API server is sure to set?
pub fn excludes_by_name(selector: &LabelSelector, name: &str) -> bool {
    let only_name = LabelSelector {
        match_labels: selector.match_labels.as_ref().map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() == NAMESPACE_NAME_LABEL)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        match_expressions: selector.match_expressions.as_ref().map(|e| {
            e.iter()
                .filter(|r| r.key == NAMESPACE_NAME_LABEL)
                .cloned()
                .collect()
        }),
    };
    let labels: Labels = [(NAMESPACE_NAME_LABEL.to_owned(), name.to_owned())].into();
    !only_name.matches(&labels)
}

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

/// Kubernetes' own namespaces.
pub fn is_kubernetes_system(name: &str) -> bool {
    matches!(name, "kube-system" | "kube-public" | "kube-node-lease")
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

/// `Deployment shop/orders`.
pub fn workload_name(w: &Workload) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// The path of a field of a workload's pod template.
pub fn template_path<'a>(w: &Workload, tail: &[Step<'a>]) -> Vec<Step<'a>> {
    let mut path: Vec<Step<'a>> = w.template_path.iter().map(|k| Step::Key(k)).collect();
    path.extend_from_slice(tail);
    path
}

/// A selector in one line, as a user would write it: `istio-injection=enabled, env notin (dev)`.
pub fn selector_text(selector: &LabelSelector) -> String {
    use meshaudit_model::selector::SelectorOperator as Op;
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in selector.match_expressions.iter().flatten() {
        let values = r.values.as_deref().unwrap_or_default().join(",");
        parts.push(match r.operator {
            Op::In => format!("{} in ({values})", r.key),
            Op::NotIn => format!("{} notin ({values})", r.key),
            Op::Exists => r.key.clone(),
            Op::DoesNotExist => format!("!{}", r.key),
        });
    }
    if parts.is_empty() {
        "everything".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshaudit_engine::webhooks::classify;
    use meshaudit_model::k8s::{
        Webhook, WebhookClientConfig, WebhookConfiguration, WebhookKind, WebhookService,
    };
    use meshaudit_model::WebhookId;

    fn config(kind: WebhookKind, name: &str, hook: &str, service: &str) -> WebhookConfiguration {
        WebhookConfiguration {
            object: meshaudit_model::ObjectId::from_index(0),
            name: name.into(),
            kind,
            webhooks: vec![Webhook {
                name: hook.into(),
                failure_policy: None,
                namespace_selector: None,
                object_selector: None,
                client_config: WebhookClientConfig {
                    service: Some(WebhookService {
                        namespace: "x".into(),
                        name: service.into(),
                        path: None,
                        port: None,
                    }),
                    ..WebhookClientConfig::default()
                },
                timeout_seconds: None,
                side_effects: None,
                reinvocation_policy: None,
            }],
        }
    }

    fn class(kind: WebhookKind, name: &str, hook: &str, service: &str) -> (Option<Product>, Role) {
        let c = config(kind, name, hook, service);
        classify(&c, &c.webhooks[0])
    }

    #[test]
    fn recognises_each_products_webhooks() {
        use WebhookKind::*;
        let cases = [
            (
                Mutating,
                "istio-sidecar-injector",
                "rev.namespace.sidecar-injector.istio.io",
                "istiod",
                Some(Product::Istio),
                Role::Injector,
            ),
            (
                Mutating,
                "istio-revision-tag-prod",
                "rev.object.sidecar-injector.istio.io",
                "istiod-1-24",
                Some(Product::Istio),
                Role::Injector,
            ),
            (
                Validating,
                "istio-validator-istio-system",
                "rev.validation.istio.io",
                "istiod",
                Some(Product::Istio),
                Role::ConfigValidation,
            ),
            (
                Validating,
                "istiod-default-validator",
                "validation.istio.io",
                "istiod",
                Some(Product::Istio),
                Role::ConfigValidation,
            ),
            (
                Mutating,
                "linkerd-proxy-injector-webhook-config",
                "linkerd-proxy-injector.linkerd.io",
                "linkerd-proxy-injector",
                Some(Product::Linkerd),
                Role::Injector,
            ),
            (
                Validating,
                "linkerd-sp-validator-webhook-config",
                "linkerd-sp-validator.linkerd.io",
                "linkerd-sp-validator",
                Some(Product::Linkerd),
                Role::ConfigValidation,
            ),
            (
                Validating,
                "linkerd-policy-validator-webhook-config",
                "linkerd-policy-validator.linkerd.io",
                "linkerd-policy-validator",
                Some(Product::Linkerd),
                Role::ConfigValidation,
            ),
            (
                Mutating,
                "consul-connect-injector",
                "consul-connect-injector.consul.hashicorp.com",
                "consul-connect-injector",
                Some(Product::Consul),
                Role::Injector,
            ),
            (
                Mutating,
                "consul-connect-injector",
                "consul-mutate-peeringdialers.consul.hashicorp.com",
                "consul-connect-injector",
                Some(Product::Consul),
                Role::Other,
            ),
            (
                Validating,
                "gatekeeper-validating-webhook-configuration",
                "validation.gatekeeper.sh",
                "gatekeeper-webhook-service",
                Some(Product::Gatekeeper),
                Role::PolicyValidation,
            ),
            (
                Validating,
                "gatekeeper-validating-webhook-configuration",
                "check-ignore-label.gatekeeper.sh",
                "gatekeeper-webhook-service",
                Some(Product::Gatekeeper),
                Role::IgnoreLabelGuard,
            ),
            (
                Validating,
                "kyverno-resource-validating-webhook-cfg",
                "validate.kyverno.svc-fail",
                "kyverno-svc",
                Some(Product::Kyverno),
                Role::PolicyValidation,
            ),
            (
                Mutating,
                "kyverno-resource-mutating-webhook-cfg",
                "mutate.kyverno.svc-fail",
                "kyverno-svc",
                Some(Product::Kyverno),
                Role::PolicyMutation,
            ),
            (
                Validating,
                "kyverno-policy-validating-webhook-cfg",
                "validate-policy.kyverno.svc",
                "kyverno-svc",
                Some(Product::Kyverno),
                Role::Other,
            ),
            (
                Validating,
                "cert-manager-webhook",
                "webhook.cert-manager.io",
                "cert-manager-webhook",
                None,
                Role::Other,
            ),
            // A mutating webhook merely named like Istio's validator is not a validator.
            (
                Mutating,
                "odd",
                "validation.istio.io",
                "istiod",
                Some(Product::Istio),
                Role::Other,
            ),
        ];
        for (kind, config, hook, service, product, role) in cases {
            assert_eq!(
                class(kind, config, hook, service),
                (product, role),
                "{hook}"
            );
        }
    }

    #[test]
    fn one_injector_is_one_backend_whatever_the_path() {
        let mut a = config(
            WebhookKind::Mutating,
            "a",
            "namespace.sidecar-injector.istio.io",
            "istiod",
        );
        let b = a.clone();
        if let Some(s) = a.webhooks[0].client_config.service.as_mut() {
            s.path = Some("/inject/cluster/east/net/network1".into());
        }
        let hook = |c: &WebhookConfiguration| {
            let (product, role) = classify(c, &c.webhooks[0]);
            Hook {
                config: c,
                index: WebhookId::new(0),
                hook: &c.webhooks[0],
                product,
                role,
            }
            .backend()
        };
        assert_eq!(hook(&a), hook(&b));
        assert_eq!(hook(&a), "service x/istiod:443");
        let mut url = b.clone();
        url.webhooks[0].client_config.service = None;
        url.webhooks[0].client_config.url =
            Some("https://istiod.example.com:15017/inject/cluster/c1".into());
        assert_eq!(hook(&url), "URL istiod.example.com:15017");
    }

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

    #[test]
    fn unknown_labels_exclude_only_by_name() {
        use meshaudit_model::selector::{LabelRequirement, SelectorOperator};
        let selector = LabelSelector {
            match_labels: Some(map(&[("team", "shop")])),
            match_expressions: Some(vec![LabelRequirement {
                key: NAMESPACE_NAME_LABEL.into(),
                operator: SelectorOperator::NotIn,
                values: Some(vec!["kube-system".into()]),
            }]),
        };
        assert!(excludes_by_name(&selector, "kube-system"));
        // `team=shop` may well be on the real namespace: not a reason to call it excluded.
        assert!(!excludes_by_name(&selector, "orders"));
    }

    #[test]
    fn namespace_labels_include_the_automatic_name_label() {
        let inv = Inventory::default();
        assert_eq!(
            namespace_labels(&inv, "shop")
                .get(NAMESPACE_NAME_LABEL)
                .map(String::as_str),
            Some("shop")
        );
    }
}
