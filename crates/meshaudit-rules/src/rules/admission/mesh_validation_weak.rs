//! ADM007: a mesh's configuration validation webhook is missing, or fails open.

use meshaudit_model::selector::Labels;
use meshaudit_model::Step;

use super::injection::installed;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::components::control_plane_of;
use meshaudit_engine::webhooks::{Hook, Product, Role};

pub static RULE: Rule = Rule {
    code: "ADM007",
    name: "mesh-validation-webhook-weak",
    title: "Mesh configuration validation webhook missing or failing open",
    category: Category::Admission,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd],
    compliance: &[
        "SOC2:CC8.1",
        "SOC2:CC6.8",
        "PCI-DSS:2.2.1",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

When the input shows the mesh is installed (its control-plane Deployment, or any of its webhooks):

- **Istio**: no `validation.istio.io` / `rev.validation.istio.io` webhook at all; or none whose
  `objectSelector` takes configuration without an `istio.io/rev` label (the revision validator
  `istio-validator-<rev>-istio-system` only checks objects labelled for its revision; the
  `istiod-default-validator` checks the rest); or a validator with `failurePolicy: Ignore`
  **and** a `caBundle` already in place. Istio ships its validators with `Ignore` and an empty
  bundle and istiod switches them to `Fail` when it patches the bundle in, so `Ignore` with an
  empty bundle is the normal state of install manifests and is not reported.
- **Linkerd**: no `linkerd-sp-validator` or no `linkerd-policy-validator` webhook, or either with
  `failurePolicy: Ignore` (the chart's `webhookFailurePolicy` default; Linkerd does not switch it).
  Missing validators are reported only when the input holds the control plane (a controller
  Deployment or the proxy injector's webhook): an extension's manifests alone (viz's
  tap-injector) are applied apart from the control plane, which ships the validators.

Consul validates its configuration entries through the Consul servers rather than a separate
validating webhook; its webhooks are checked by ADM001, ADM004–ADM006.

## Why it matters

Validation webhooks are what stops a malformed AuthorizationPolicy, PeerAuthentication,
VirtualService, Server or AuthorizationPolicy (Linkerd) from being stored. Without them, the
mistake is accepted silently and only shows when the control plane rejects or misreads it at
runtime: Istio skips invalid resources (a policy that was meant to deny does not), Linkerd's policy
controller ignores an invalid Server or authorization. A validator that fails open does the same
whenever it is unreachable — during upgrades, exactly when configuration changes most.

## Example

```yaml
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: linkerd-policy-validator-webhook-config
webhooks:
- name: linkerd-policy-validator.linkerd.io
  failurePolicy: Ignore
```

## Fix

Install the validators with the mesh (Istio: `global.configValidation: true`, the default, and
keep `istiod-default-validator`; Linkerd: keep both validators) and let them fail closed
(Linkerd: `webhookFailurePolicy: Fail`; Istio: do not pin `failurePolicy: Ignore` in GitOps
tools — ignore the field's drift instead).

## References

- Istio: Configuration validation webhook — https://istio.io/latest/docs/ops/common-problems/validation/
- Istio: Webhook management — https://istio.io/latest/docs/ops/configuration/mesh/webhook/
- Linkerd: High availability (webhookFailurePolicy) — https://linkerd.io/2/features/ha/
- Kubernetes: Dynamic Admission Control, failure policy — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let all = ctx.webhooks();
    for product in [Product::Istio, Product::Linkerd] {
        if !installed(inv, all, product) {
            continue;
        }
        let validators: Vec<&Hook<'_>> = all
            .iter()
            .filter(|h| h.product == Some(product) && h.role == Role::ConfigValidation)
            .collect();
        for h in &validators {
            if !h.fails_open(inv) {
                continue;
            }
            let has_bundle = !h.hook.client_config.ca_bundle_certificates.is_empty();
            if product == Product::Istio && !has_bundle {
                continue;
            }
            out.push(
                Finding::new(
                    &RULE,
                    h.config.object,
                    h.object(inv),
                    &h.path(&["failurePolicy"]),
                    format!(
                        "{} validation {} has failurePolicy Ignore: whenever {} is unreachable, invalid {} configuration is stored unchecked",
                        product.as_str(),
                        h.describe(),
                        h.target(),
                        product.as_str()
                    ),
                )
                .key(h.key("failurePolicy"))
                .evidence(if product == Product::Istio {
                    "the caBundle is already in place, so istiod's switch to Fail has not happened or was reverted".to_owned()
                } else {
                    "Linkerd's webhookFailurePolicy applies to its validators and is never switched at runtime".to_owned()
                })
                .remediation(format!("Set failurePolicy: Fail on {}.", h.describe()))
                .with_mesh(product.mesh()),
            );
        }
        let missing: Vec<(String, String)> = match product {
            Product::Istio if validators.is_empty() => {
                vec![(
                    "validation.istio.io".to_owned(),
                    "no validation.istio.io webhook".to_owned(),
                )]
            }
            Product::Istio
                if !validators
                    .iter()
                    .any(|h| h.selects(&Labels::new(), &Labels::new())) =>
            {
                vec![("default-validator".to_owned(), format!(
                    "no validation webhook takes configuration without an istio.io/rev label (the {} validator(s) in the input all select by revision)",
                    validators.len()
                ))]
            }
            Product::Linkerd => ["linkerd-sp-validator", "linkerd-policy-validator"]
                .into_iter()
                .filter(|v| {
                    !validators.iter().any(|h| {
                        h.hook.name.starts_with(v)
                            || h.hook
                                .client_config
                                .service
                                .as_ref()
                                .is_some_and(|s| s.name == *v)
                    })
                })
                .map(|v| (v.to_owned(), format!("no {v} webhook")))
                .collect(),
            _ => Vec::new(),
        };
        // Linkerd's validators come with its control plane; an extension alone (viz and its
        // tap-injector) is a partial input, not a control plane without validation.
        let control_plane_shown = product != Product::Linkerd
            || inv
                .workloads
                .iter()
                .any(|w| control_plane_of(w) == Some(product))
            || all
                .iter()
                .any(|h| h.product == Some(product) && h.role != Role::Other);
        if missing.is_empty() || !control_plane_shown {
            continue;
        }
        // Point at what shows the mesh is installed: its control plane, else an injector.
        let anchor = inv
            .workloads
            .iter()
            .find(|w| control_plane_of(w) == Some(product))
            .map(|w| {
                (
                    w.object,
                    Vec::from([Step::Key("metadata"), Step::Key("name")]),
                    format!("{} {}/{}", w.kind, w.namespace, w.name),
                )
            })
            .or_else(|| {
                all.iter()
                    .find(|h| h.product == Some(product))
                    .map(|h| (h.config.object, h.path(&[]), h.describe()))
            });
        let Some((id, path, shown_by)) = anchor else {
            continue;
        };
        for (key, what) in missing {
            out.push(
                Finding::new(
                    &RULE,
                    id,
                    inv.object(id),
                    &path,
                    format!(
                        "{} is installed but its configuration is not validated at admission: {what}",
                        product.as_str()
                    ),
                )
                .key(format!("missing-validation:{key}"))
                .evidence(format!("{} is installed: {shown_by}", product.as_str()))
                .evidence(format!(
                    "{} {} validation webhook(s) in the input",
                    validators.len(),
                    product.as_str()
                ))
                .remediation(match product {
                    Product::Istio => "Install Istio's validation webhooks with the control plane (global.configValidation: true) and keep istiod-default-validator for unlabelled configuration.".to_owned(),
                    _ => "Install Linkerd's sp-validator and policy-validator webhooks with the control plane, with webhookFailurePolicy: Fail.".to_owned(),
                })
                .with_mesh(product.mesh())
                .with_severity(Severity::Medium),
            );
        }
    }
}
