//! What the admission rules share: recognising each webhook for what it is (a mesh's sidecar
//! injector or config validator, a policy engine), and the facts every rule reads about it
//! (its effective failure policy, what it calls, which namespaces and pods it selects).

use std::collections::{BTreeMap, BTreeSet};

use meshaudit_engine::membership::{NamespaceMesh, INJECT_POD_LABEL, REVISION_LABEL};
use meshaudit_model::k8s::{Webhook, WebhookConfiguration, WebhookKind, Workload};
use meshaudit_model::selector::{LabelSelector, Labels};
use meshaudit_model::{Inventory, Object, Step};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Product {
    Istio,
    Linkerd,
    Consul,
    Gatekeeper,
    Kyverno,
}

impl Product {
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Istio => "Istio",
            Product::Linkerd => "Linkerd",
            Product::Consul => "Consul",
            Product::Gatekeeper => "OPA Gatekeeper",
            Product::Kyverno => "Kyverno",
        }
    }

    pub fn mesh(self) -> Mesh {
        match self {
            Product::Istio => Mesh::Istio,
            Product::Linkerd => Mesh::Linkerd,
            Product::Consul => Mesh::Consul,
            Product::Gatekeeper | Product::Kyverno => Mesh::Kubernetes,
        }
    }
}

/// What a webhook does for its product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Adds the mesh's proxy to pods.
    Injector,
    /// Rejects invalid mesh configuration (Istio, Linkerd).
    ConfigValidation,
    /// Enforces a policy engine's admission policies.
    PolicyValidation,
    /// A policy engine's mutations.
    PolicyMutation,
    /// Gatekeeper's `check-ignore-label.gatekeeper.sh`: keeps namespaces from exempting themselves.
    IgnoreLabelGuard,
    /// Anything else of a known product (Consul's CRD defaulting, Kyverno's policy checks, ...).
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Injector => "sidecar injector",
            Role::ConfigValidation => "mesh configuration validation",
            Role::PolicyValidation => "policy enforcement",
            Role::PolicyMutation => "policy mutation",
            Role::IgnoreLabelGuard => "ignore-label guard",
            Role::Other => "other",
        }
    }
}

/// One webhook of one configuration, with what it was recognised as.
#[derive(Debug, Clone, Copy)]
pub struct Hook<'a> {
    pub config: &'a WebhookConfiguration,
    pub index: usize,
    pub hook: &'a Webhook,
    pub product: Option<Product>,
    pub role: Role,
}

impl<'a> Hook<'a> {
    pub fn object<'i>(&self, inv: &'i Inventory) -> &'i Object {
        inv.object(self.config.object)
    }

    /// `webhooks[i].<tail>`.
    pub fn path<'s>(&self, tail: &[&'s str]) -> Vec<Step<'s>> {
        let mut path = vec![Step::Key("webhooks"), Step::Index(self.index)];
        path.extend(tail.iter().map(|k| Step::Key(k)));
        path
    }

    /// `webhooks[i].<tail>` as a fingerprint key.
    pub fn key(&self, tail: &str) -> String {
        if tail.is_empty() {
            format!("webhooks[{}]", self.index)
        } else {
            format!("webhooks[{}].{tail}", self.index)
        }
    }

    /// `webhook sidecar-injector.istio.io (MutatingWebhookConfiguration istio-sidecar-injector)`.
    pub fn describe(&self) -> String {
        format!(
            "webhook {} ({} {})",
            self.hook.name,
            kind_name(self.config.kind),
            self.config.name
        )
    }

    /// The failure policy the API server applies: `Fail` unless set, except for
    /// `admissionregistration.k8s.io/v1beta1` objects, whose default was `Ignore`.
    pub fn failure_policy(&self, inv: &Inventory) -> &'a str {
        match self.hook.failure_policy.as_deref() {
            Some(p) => p,
            None if self.object(inv).api_version.ends_with("/v1beta1") => "Ignore",
            None => "Fail",
        }
    }

    /// The timeout the API server applies: `timeoutSeconds`, else 10 s in
    /// `admissionregistration.k8s.io/v1` and 30 s in `v1beta1`.
    pub fn timeout(&self, inv: &Inventory) -> u32 {
        match self.hook.timeout_seconds {
            Some(t) => t,
            None if self.object(inv).api_version.ends_with("/v1beta1") => 30,
            None => 10,
        }
    }

    pub fn fails_open(&self, inv: &Inventory) -> bool {
        self.failure_policy(inv) == "Ignore"
    }

    /// What the API server calls: `service istio-system/istiod:443/inject` or the URL.
    pub fn target(&self) -> String {
        let cc = &self.hook.client_config;
        match (&cc.service, &cc.url) {
            (Some(s), _) => format!(
                "service {}/{}:{}{}",
                s.namespace,
                s.name,
                s.port.unwrap_or(443),
                s.path.as_deref().unwrap_or("")
            ),
            (None, Some(url)) => format!("URL {url}"),
            (None, None) => "nothing (no clientConfig)".to_owned(),
        }
    }

    /// The server behind the webhook, without the path: webhooks of one injector differ in path
    /// (Istio's multi-cluster `/inject/cluster/<c>/net/<n>`) but call the same istiod.
    pub fn backend(&self) -> String {
        let cc = &self.hook.client_config;
        match (&cc.service, &cc.url) {
            (Some(s), _) => format!(
                "service {}/{}:{}",
                s.namespace,
                s.name,
                s.port.unwrap_or(443)
            ),
            (None, Some(url)) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                format!("URL {}", rest.split('/').next().unwrap_or(rest))
            }
            (None, None) => String::new(),
        }
    }

    pub fn namespace_selector(&self) -> LabelSelector {
        self.hook.namespace_selector.clone().unwrap_or_default()
    }

    pub fn object_selector(&self) -> LabelSelector {
        self.hook.object_selector.clone().unwrap_or_default()
    }

    /// Does the API server call this webhook for objects in a namespace with these labels?
    pub fn selects_namespace(&self, ns_labels: &Labels) -> bool {
        self.hook
            .namespace_selector
            .as_ref()
            .is_none_or(|s| s.matches(ns_labels))
    }

    /// Does the API server call this webhook for a pod with these labels in such a namespace?
    pub fn selects(&self, ns_labels: &Labels, pod_labels: &Labels) -> bool {
        self.selects_namespace(ns_labels)
            && self
                .hook
                .object_selector
                .as_ref()
                .is_none_or(|s| s.matches(pod_labels))
    }
}

pub fn kind_name(kind: WebhookKind) -> &'static str {
    match kind {
        WebhookKind::Mutating => "MutatingWebhookConfiguration",
        WebhookKind::Validating => "ValidatingWebhookConfiguration",
    }
}

/// Recognises a webhook by its name, its configuration's name and the service it calls — the
/// names each product's charts and controllers use.
pub fn classify(config: &WebhookConfiguration, hook: &Webhook) -> (Option<Product>, Role) {
    let name = hook.name.as_str();
    let service = hook
        .client_config
        .service
        .as_ref()
        .map_or("", |s| s.name.as_str());
    let mutating = config.kind == WebhookKind::Mutating;
    // Istio: `sidecar-injector.istio.io` and its `rev.`/`namespace.`/`object.` variants (also in
    // revision tag configurations), `validation.istio.io` and `rev.validation.istio.io`.
    if name.ends_with("sidecar-injector.istio.io") && mutating {
        return (Some(Product::Istio), Role::Injector);
    }
    if name.ends_with("validation.istio.io") && !mutating {
        return (Some(Product::Istio), Role::ConfigValidation);
    }
    if name.ends_with(".istio.io") {
        return (Some(Product::Istio), Role::Other);
    }
    // Linkerd: the proxy injector and the ServiceProfile / policy validators.
    if name == "linkerd-proxy-injector.linkerd.io"
        || (mutating && service == "linkerd-proxy-injector")
        || config.name == "linkerd-proxy-injector-webhook-config"
    {
        return (Some(Product::Linkerd), Role::Injector);
    }
    if !mutating
        && (matches!(
            name,
            "linkerd-sp-validator.linkerd.io" | "linkerd-policy-validator.linkerd.io"
        ) || matches!(service, "linkerd-sp-validator" | "linkerd-policy-validator"))
    {
        return (Some(Product::Linkerd), Role::ConfigValidation);
    }
    if name.ends_with(".linkerd.io") {
        return (Some(Product::Linkerd), Role::Other);
    }
    // Consul: `<release>-connect-injector.consul.hashicorp.com` calling `/mutate`; the chart's
    // other webhooks (peering, CRD defaulting) share the suffix.
    if name.ends_with("connect-injector.consul.hashicorp.com") && mutating {
        return (Some(Product::Consul), Role::Injector);
    }
    if name.ends_with(".consul.hashicorp.com") {
        return (Some(Product::Consul), Role::Other);
    }
    // OPA Gatekeeper.
    match name {
        "validation.gatekeeper.sh" => return (Some(Product::Gatekeeper), Role::PolicyValidation),
        "check-ignore-label.gatekeeper.sh" => {
            return (Some(Product::Gatekeeper), Role::IgnoreLabelGuard)
        }
        "mutation.gatekeeper.sh" => return (Some(Product::Gatekeeper), Role::PolicyMutation),
        _ => {}
    }
    if name.ends_with(".gatekeeper.sh") || service == "gatekeeper-webhook-service" {
        return (Some(Product::Gatekeeper), Role::Other);
    }
    // Kyverno registers its resource webhooks itself (`validate.kyverno.svc-fail`,
    // `validate.kyverno.svc-ignore`, `mutate.kyverno.svc-*`, fine-grained variants) in
    // `kyverno-resource-{validating,mutating}-webhook-cfg`.
    if name.contains(".kyverno.svc") || service == "kyverno-svc" {
        let resource = config.name.starts_with("kyverno-resource-");
        let role = match (resource, mutating) {
            (true, false) => Role::PolicyValidation,
            (true, true) => Role::PolicyMutation,
            _ => Role::Other,
        };
        return (Some(Product::Kyverno), role);
    }
    (None, Role::Other)
}

/// Every webhook of the input, classified, in input order.
pub fn hooks(inv: &Inventory) -> Vec<Hook<'_>> {
    let mut out = Vec::new();
    for config in &inv.webhook_configurations {
        for (index, hook) in config.webhooks.iter().enumerate() {
            let (product, role) = classify(config, hook);
            out.push(Hook {
                config,
                index,
                hook,
                product,
                role,
            });
        }
    }
    out
}

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
pub fn workloads_opted_in_by(inv: &Inventory, h: &Hook<'_>) -> Vec<usize> {
    let Some(product) = h.product else {
        return Vec::new();
    };
    let plain = Labels::new();
    let none = BTreeMap::new();
    inv.workloads
        .iter()
        .enumerate()
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

/// The product whose control plane a workload is, if any.
pub fn control_plane_of(w: &Workload) -> Option<Product> {
    let label = |k: &str| w.labels.get(k).map(String::as_str);
    if w.name == "istiod" || w.name.starts_with("istiod-") || label("app") == Some("istiod") {
        return Some(Product::Istio);
    }
    if label("linkerd.io/control-plane-component").is_some_and(|c| {
        matches!(
            c,
            "destination" | "identity" | "proxy-injector" | "controller"
        )
    }) {
        return Some(Product::Linkerd);
    }
    if label("app") == Some("consul") && label("component") == Some("connect-injector") {
        return Some(Product::Consul);
    }
    if w.name == "gatekeeper-controller-manager"
        || label("control-plane") == Some("controller-manager")
            && label("gatekeeper.sh/operation").is_some()
    {
        return Some(Product::Gatekeeper);
    }
    if matches!(w.name.as_str(), "kyverno" | "kyverno-admission-controller")
        || label("app.kubernetes.io/component") == Some("admission-controller")
            && label("app.kubernetes.io/part-of").is_some_and(|p| p.starts_with("kyverno"))
    {
        return Some(Product::Kyverno);
    }
    None
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
    use meshaudit_model::k8s::{WebhookClientConfig, WebhookService};

    fn config(kind: WebhookKind, name: &str, hook: &str, service: &str) -> WebhookConfiguration {
        WebhookConfiguration {
            object: 0,
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
                index: 0,
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
