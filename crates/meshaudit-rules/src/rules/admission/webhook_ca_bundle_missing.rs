//! ADM005: a webhook called through a Service has no usable `caBundle`, and nothing in the
//! input will put one there.

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::webhooks::{Product, Role};

pub static RULE: Rule = Rule {
    code: "ADM005",
    name: "webhook-ca-bundle-missing",
    title: "Admission webhook has no CA bundle to verify its server",
    category: Category::Admission,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd, Mesh::Istio, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.8", "SOC2:CC6.7", "PCI-DSS:2.2.1", "PCI-DSS:4.2.1"],
    doc: r#"
## What it detects

A webhook with `clientConfig.service` whose `caBundle` is missing or empty, or holds no
certificate that can be parsed, when nothing will fill it in:

- **Linkerd** writes the bundle at install time (`linkerd install`, the chart's
  `proxyInjector.caBundle` / `policyValidator.caBundle` / `profileValidator.caBundle`), or lets
  cert-manager's CA injector write it (`cert-manager.io/inject-ca-from` annotations). An empty
  bundle without such an annotation stays empty — `high` for the proxy injector, and for other
  webhooks on pods that fail closed (no pod they select can be created); `medium` for the
  validators, which then either store invalid ServiceProfiles and policy resources unchecked
  (`Ignore`, as ADM007 describes; the policy controller ignores the invalid ones) or reject
  every change to them (`Fail`); `low` for other Linkerd webhooks that fail open (viz's
  tap-injector: pods then start without tap).
- **Istio** (istiod patches the bundles of its injector and validator webhooks at runtime, once
  it is serving), **Consul** (the connect-injector manages its webhook certificate and patches the
  bundle), **Gatekeeper** (its cert rotator) and **Kyverno** (it writes its webhook
  configurations itself) overwrite the bundle with their own CA, so an empty one in manifests is
  the normal installed state and is not reported; neither is a configuration annotated for
  cert-manager's CA injector (`cert-manager.io/inject-ca-from`, `inject-ca-from-secret`,
  `inject-apiserver-ca`).
- Any other webhook: `medium` (the API server falls back to the system trust roots, which an
  in-cluster serving certificate rarely chains to).

If the patching controller is not running, the webhook's calls fail all the same; that is a
runtime state no manifest shows, so check it on the cluster (`kubectl get
mutatingwebhookconfiguration -o yaml`) — a scan of a live dump reports it here only for products
that do not patch.

Expired or expiring bundle certificates are reported by CERT001 on the same field, a bundle that
does not trust the webhook's serving certificate by ADM010; this rule does not repeat them.

## Why it matters

The API server calls a Service-backed webhook over TLS and verifies the serving certificate
against `caBundle`. With no bundle it cannot verify it and every call fails. A `Fail` webhook then
rejects every request it matches (no pods created in injected namespaces); an `Ignore` webhook is
skipped for every request — Linkerd's injector, whose chart defaults to `Ignore`, then lets every
pod start without a proxy, and its validators let invalid policy through.

## Example

```yaml
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: linkerd-proxy-injector-webhook-config   # no cert-manager.io/inject-ca-from annotation
webhooks:
- name: linkerd-proxy-injector.linkerd.io
  clientConfig:
    service: {name: linkerd-proxy-injector, namespace: linkerd, path: /}
    caBundle: ""
```

## Fix

Put the CA that signed the webhook's serving certificate into `caBundle` (Linkerd:
`proxyInjector.caBundle`, or `proxyInjector.externalSecret` with `injectCaFrom` so cert-manager
injects it), and automate its renewal.

## References

- Kubernetes: Dynamic Admission Control, contacting the webhook (caBundle) — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook
- Linkerd: Automatically rotating webhook TLS credentials — https://linkerd.io/2/tasks/automatically-rotating-webhook-tls-credentials/
- cert-manager: CA injector — https://cert-manager.io/docs/concepts/ca-injector/
- Istio: Webhook management (istiod patches caBundle) — https://istio.io/latest/docs/ops/configuration/mesh/webhook/
"#,
    check,
};

const CA_INJECTOR_ANNOTATIONS: [&str; 3] = [
    "cert-manager.io/inject-ca-from",
    "cert-manager.io/inject-ca-from-secret",
    "cert-manager.io/inject-apiserver-ca",
];

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for h in ctx.webhooks() {
        let cc = &h.hook.client_config;
        if cc.service.is_none() || !cc.ca_bundle_certificates.is_empty() {
            continue;
        }
        let present = cc
            .ca_bundle
            .as_deref()
            .is_some_and(|b| !b.trim().is_empty());
        let object = h.object(inv);
        let ca_injector = CA_INJECTOR_ANNOTATIONS
            .iter()
            .find(|a| object.annotations.contains_key(**a));
        let patched_at_runtime = matches!(
            h.product,
            Some(Product::Istio | Product::Consul | Product::Gatekeeper | Product::Kyverno)
        );
        // These controllers overwrite whatever bundle the manifests hold with their own.
        if patched_at_runtime || ca_injector.is_some() {
            continue;
        }
        let linkerd = h.product == Some(Product::Linkerd);
        // What a broken bundle costs depends on what the webhook does and how it fails.
        let severity = match (linkerd, h.role, h.fails_open(inv)) {
            (false, _, _) => Severity::Medium,
            (true, Role::ConfigValidation, _) => Severity::Medium,
            (true, Role::Injector, _) | (true, _, false) => Severity::High,
            (true, _, true) => Severity::Low,
        };
        let (what, why) = match (present, linkerd) {
            (true, _) => (
                "has a caBundle that holds no readable certificate",
                "the API server cannot verify the webhook's serving certificate, so every call fails",
            ),
            (false, true) => (
                "has no caBundle",
                "the API server cannot verify Linkerd's webhook serving certificate, so every call fails",
            ),
            (false, false) => (
                "has no caBundle",
                "the API server can only check the webhook against its system trust roots, which an in-cluster serving certificate rarely chains to, so calls fail",
            ),
        };
        let effect = match (h.fails_open(inv), h.role) {
            (true, Role::Injector) => {
                "failurePolicy Ignore then lets every pod start without a proxy"
            }
            (true, Role::Other) if linkerd => {
                "failurePolicy Ignore then skips it for every request: pods start without what it adds"
            }
            (true, _) => "failurePolicy Ignore then admits every request unchecked",
            (false, _) => "failurePolicy Fail then rejects every request it matches",
        };
        let mut f = Finding::new(
            &RULE,
            h.config.object,
            object,
            &if cc.ca_bundle.is_some() {
                h.path(&["clientConfig", "caBundle"])
            } else {
                h.path(&["clientConfig"])
            },
            format!("{} {what}: {why}; {effect}", h.describe()),
        )
        .key(h.key("clientConfig.caBundle"))
        .evidence(format!("it calls {}", h.target()))
        .remediation(format!(
            "Set caBundle of {} to the CA that signed the webhook's serving certificate (or let cert-manager's CA injector write it).",
            h.describe()
        ))
        .with_mesh(h.product.map_or(Mesh::Kubernetes, |p| p.mesh()))
        .with_severity(severity);
        f = if present {
            f.evidence("the bundle decodes to no PEM or DER certificate")
        } else if linkerd {
            f.evidence("Linkerd writes the bundle at install time or through cert-manager's CA injector; nothing patches it later")
        } else {
            f.evidence("no cert-manager CA injector annotation, and no controller of a known product patches this webhook")
        };
        out.push(f);
    }
}
