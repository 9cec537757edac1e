//! The engine's recognition of webhooks, as the admission rules rely on it: each product's
//! injector and validators by their names, and one backend per injector whatever its path.

use meshaudit_engine::webhooks::{classify, Hook, Product, Role};
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
