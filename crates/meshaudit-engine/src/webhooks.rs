//! Admission webhooks recognised for what they are — a mesh's sidecar injector or config
//! validator, a policy engine's enforcement — once per input, with the facts every rule reads
//! about them (the failure policy the API server applies, what it calls, what it selects).

use meshaudit_model::k8s::{Webhook, WebhookConfiguration, WebhookKind};
use meshaudit_model::selector::{LabelSelector, Labels};
use meshaudit_model::{Inventory, Object, Step, WebhookId};

pub use crate::components::Product;

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
    /// Its position in `config.webhooks`.
    pub index: WebhookId,
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
        let mut path = vec![Step::Key("webhooks"), Step::Index(self.index.index())];
        path.extend(tail.iter().map(|k| Step::Key(k)));
        path
    }

    /// `webhooks[i].<tail>` as a fingerprint key.
    pub fn key(&self, tail: &str) -> String {
        if tail.is_empty() {
            format!("webhooks[{}]", self.index.index())
        } else {
            format!("webhooks[{}].{tail}", self.index.index())
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
        for (index, hook) in WebhookId::enumerate(&config.webhooks) {
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
