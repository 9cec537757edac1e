//! ADM001: a mesh's sidecar injector webhook has `failurePolicy: Ignore`.

use super::injection::{
    namespaces_injected_by, workloads_opted_in_by, CONSUL_INJECT, LINKERD_INJECT,
};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;
use meshaudit_engine::linkerd::membership::CONTROL_PLANE_COMPONENT_LABEL;
use meshaudit_engine::webhooks::{Product, Role};

pub static RULE: Rule = Rule {
    code: "ADM001",
    name: "injector-fails-open",
    title: "Sidecar injector webhook fails open",
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

A sidecar injector webhook — Istio's `*sidecar-injector.istio.io` webhooks (including revision
and revision-tag configurations), Linkerd's `linkerd-proxy-injector.linkerd.io`, Consul's
`*-connect-injector.consul.hashicorp.com` — whose effective `failurePolicy` is `Ignore`
(set explicitly, or left unset in an `admissionregistration.k8s.io/v1beta1` object, whose default
was `Ignore`).

Severity is `high`, and the evidence lists the namespaces of the input whose pods the webhook
injects (its selectors, then the mesh's own opt-in: Istio's labels, Linkerd's `linkerd.io/inject`
annotation, Consul's `consul.hashicorp.com/connect-inject` annotation) and the workloads that opt
in on their own pod template (the same label or annotation on the pod, in a namespace that does
not ask as a whole); `medium` when the input's Namespace objects show that it injects none of
them today and no workload of the input opts in at pod level. For Linkerd also when the input
has no Namespace object and every workload in it is a Linkerd control-plane component (label
`linkerd.io/control-plane-component`): a Helm render of the control plane shows no pod the
injector would mesh, just as `linkerd install` output of the same install, whose `linkerd`
Namespace opts out.

## Why it matters

With `Ignore`, the API server admits the pod unchanged whenever it cannot reach the injector:
istiod or the proxy-injector restarting, overloaded, unreachable through a NetworkPolicy, or its
serving certificate not trusted. The pod then starts **without a proxy**: no mTLS, no
authorization policy, no identity, and clients' automatic mTLS quietly falls back to plaintext.
Nothing reports it; the pod stays that way until it is recreated. Istio's injector defaults to
`Fail`; Linkerd's chart defaults `webhookFailurePolicy` to `Ignore` and its high-availability
values switch it to `Fail`; Consul's follows `connectInject.failurePolicy`.

## Example

```yaml
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: linkerd-proxy-injector-webhook-config
webhooks:
- name: linkerd-proxy-injector.linkerd.io
  failurePolicy: Ignore
  clientConfig:
    service: {name: linkerd-proxy-injector, namespace: linkerd, path: /}
```

## Fix

Set `failurePolicy: Fail` (Linkerd: `webhookFailurePolicy: Fail`, as in its HA values; Consul:
`connectInject.failurePolicy: Fail`; Istio: keep the default) and run the injector with several
replicas and a PodDisruptionBudget, so that pod creation waits for the injector instead of
silently skipping it. Keep the control-plane namespaces themselves out of the webhook's
namespaceSelector so the injector can always start.

## References

- Kubernetes: Dynamic Admission Control, failure policy — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy
- Linkerd: High availability (webhookFailurePolicy) — https://linkerd.io/2/features/ha/
- Istio: Sidecar injection problems — https://istio.io/latest/docs/ops/common-problems/injection/
- Consul on Kubernetes Helm values (connectInject.failurePolicy) — https://developer.hashicorp.com/consul/docs/k8s/helm
- NIST SP 800-204A, SM-DR6
"#,
    check,
};

/// Opted-in workloads named in the evidence; the rest are counted.
const MAX_LISTED: usize = 10;

/// How a pod asks the product's injector for its proxy.
fn opt_in_marker(product: Product) -> String {
    match product {
        Product::Linkerd => format!("{LINKERD_INJECT}: enabled or ingress"),
        Product::Consul => format!("{CONSUL_INJECT}: \"true\""),
        _ => "sidecar.istio.io/inject: \"true\" or istio.io/rev".to_owned(),
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for h in ctx.webhooks() {
        let (Some(product), Role::Injector) = (h.product, h.role) else {
            continue;
        };
        if !h.fails_open(inv) {
            continue;
        }
        let explicit = h.hook.failure_policy.is_some();
        let object = h.object(inv);
        let mut f = Finding::new(
            &RULE,
            h.config.object,
            object,
            &h.path(&["failurePolicy"]),
            format!(
                "{} injector {} has failurePolicy Ignore: when the API server cannot reach {}, pods are created without the {} proxy and nothing reports it",
                product.as_str(),
                h.describe(),
                h.target(),
                product.as_str()
            ),
        )
        .key(h.key("failurePolicy"))
        .evidence(if explicit {
            "failurePolicy: Ignore is set explicitly".to_owned()
        } else {
            format!(
                "failurePolicy is unset and {} defaults it to Ignore",
                object.api_version
            )
        })
        .evidence(format!(
            "it selects namespaces matching: {}; pods matching: {}",
            crate::rules::naming::selector_text(&h.namespace_selector()),
            crate::rules::naming::selector_text(&h.object_selector())
        ))
        .remediation(format!(
            "Set failurePolicy: Fail on {} (and run the injector highly available), so pods wait for the proxy instead of starting without it.",
            h.describe()
        ));
        f.mesh = product.mesh();
        // Exposure: the namespaces of the input whose pods it injects, and the workloads that
        // ask for its proxy on their own pod template.
        let opted_in = workloads_opted_in_by(inv, h);
        match namespaces_injected_by(inv, h) {
            Some(names) if names.is_empty() && opted_in.is_empty() => {
                f.severity = Severity::Medium;
                f = f.evidence(
                    "no namespace in the input is injected by it today and no workload opts in on its pod template; any that is labelled for it later is exposed",
                );
            }
            Some(names) if !names.is_empty() => {
                f = f.evidence(format!(
                    "namespaces whose pods it injects: {}",
                    names.join(", ")
                ));
            }
            // No Namespace object says which namespaces it injects; the workloads of the input
            // still show whether any of them would get its proxy.
            None if product == Product::Linkerd
                && opted_in.is_empty()
                && !inv.workloads.is_empty()
                && inv
                    .workloads
                    .iter()
                    .all(|w| w.labels.contains_key(CONTROL_PLANE_COMPONENT_LABEL)) =>
            {
                f.severity = Severity::Medium;
                f = f.evidence(
                    "the input holds Linkerd's control plane only (no Namespace object, and every workload carries linkerd.io/control-plane-component): it shows no pod the injector would mesh; any namespace that asks for it later is exposed",
                );
            }
            _ => {}
        }
        if !opted_in.is_empty() {
            let mut names: Vec<String> = opted_in
                .iter()
                .take(MAX_LISTED)
                .map(|&w| workload_name(&inv.workloads[w]))
                .collect();
            if opted_in.len() > MAX_LISTED {
                names.push(format!("and {} more", opted_in.len() - MAX_LISTED));
            }
            f = f.evidence(format!(
                "workloads that opt in on their pod template ({}): {}",
                opt_in_marker(product),
                names.join(", ")
            ));
        }
        out.push(f);
    }
}
