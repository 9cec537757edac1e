//! ADM008: a policy engine's enforcement webhook fails open, or Gatekeeper's exemption label is
//! not guarded.

use super::namespaces::GATEKEEPER_IGNORE_LABEL;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::webhooks::{Hook, Product, Role};

pub static RULE: Rule = Rule {
    code: "ADM008",
    name: "policy-engine-webhook-weak",
    title: "Policy engine webhook fails open or can be opted out of",
    category: Category::Admission,
    severity: Severity::Medium,
    meshes: &[Mesh::Kubernetes],
    compliance: &["SOC2:CC6.8", "SOC2:CC8.1", "PCI-DSS:2.2.1", "CIS-K8S:5.2.1"],
    doc: r#"
## What it detects

The admission webhooks of OPA Gatekeeper and Kyverno, when they are in the input:

- Gatekeeper's `validation.gatekeeper.sh` (in `gatekeeper-validating-webhook-configuration`)
  with `failurePolicy: Ignore` — the chart's `validatingWebhookFailurePolicy` default — `medium`;
- Gatekeeper's validation webhook present without its `check-ignore-label.gatekeeper.sh` webhook,
  or with that webhook failing open — `medium`: `check-ignore-label` is what stops anyone who may
  label namespaces from adding `admission.gatekeeper.sh/ignore` to any namespace besides the
  exempted ones;
- Kyverno's resource validation webhook (`kyverno-resource-validating-webhook-cfg`) failing open:
  `validate.kyverno.svc-fail` set to `Ignore` — `medium`; the `validate.kyverno.svc-ignore`
  webhook, which Kyverno creates for policies that chose `failurePolicy: Ignore` — `low`, since
  those policies' owners chose it (it still means they are not enforced when Kyverno is down).

Each engine exempting its **own** namespace (Gatekeeper's `kubernetes.io/metadata.name NotIn
[gatekeeper-system]`, Kyverno's default exclusion of `kyverno`) is expected — the engine must
be able to restart when its webhook is down — and is not reported; which other namespaces an
engine leaves out is reported per namespace by ADM009.

## Why it matters

A policy engine that fails open enforces nothing while it is unavailable: the window in which a
privileged pod, a hostPath mount or a sidecar opt-out is admitted is the window in which the
engine is down, overloaded, or being upgraded — and an attacker who can disturb it (evicting its
pods, exhausting its memory) chooses that window. An unguarded exemption label turns namespace
label rights into a policy bypass.

## Example

```yaml
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: gatekeeper-validating-webhook-configuration
webhooks:
- name: validation.gatekeeper.sh
  failurePolicy: Ignore
  namespaceSelector:
    matchExpressions:
    - {key: admission.gatekeeper.sh/ignore, operator: DoesNotExist}
```

## Fix

Run the engine highly available and set its enforcement webhook to `Fail` (Gatekeeper:
`validatingWebhookFailurePolicy: Fail`; Kyverno: `failurePolicy: Fail` on policies, which is
the default), keep Gatekeeper's `check-ignore-label.gatekeeper.sh` webhook with `Fail`, and
exempt only the engine's own namespace and the cluster's system namespaces.

## References

- Gatekeeper: Failing closed / exempting namespaces — https://open-policy-agent.github.io/gatekeeper/website/docs/failing-closed/
- Gatekeeper: Exempting namespaces (admission.gatekeeper.sh/ignore) — https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces/
- Kyverno: Policy settings (failurePolicy) — https://kyverno.io/docs/writing-policies/policy-settings/
- Kyverno: Webhook configuration — https://kyverno.io/docs/installation/customization/
- CIS Kubernetes Benchmark 5.2.1 (an active policy control mechanism)
"#,
    check,
};

fn fails_open_finding(ctx: &Context<'_>, h: &Hook<'_>, severity: Severity, why: &str) -> Finding {
    let inv = ctx.inventory;
    Finding::new(
        &RULE,
        h.config.object,
        h.object(inv),
        &h.path(&["failurePolicy"]),
        format!(
            "{} {} has failurePolicy Ignore: {why}",
            h.product.map_or("", |p| p.as_str()),
            h.describe()
        ),
    )
    .key(h.key("failurePolicy"))
    .evidence(format!("it calls {}", h.target()))
    .remediation(format!(
        "Set failurePolicy: Fail on {} and run the engine with several replicas and a PodDisruptionBudget.",
        h.describe()
    ))
    .with_mesh(Mesh::Kubernetes)
    .with_severity(severity)
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let all = ctx.webhooks();
    for h in all {
        match (h.product, h.role) {
            (Some(Product::Gatekeeper), Role::PolicyValidation) => {
                if h.fails_open(inv) {
                    out.push(fails_open_finding(
                        ctx,
                        h,
                        Severity::Medium,
                        "while Gatekeeper is unreachable, every request is admitted without its constraints",
                    ));
                }
                let guard = all.iter().find(|g| {
                    g.product == Some(Product::Gatekeeper) && g.role == Role::IgnoreLabelGuard
                });
                let uses_label = h
                    .namespace_selector()
                    .match_expressions
                    .iter()
                    .flatten()
                    .any(|r| r.key == GATEKEEPER_IGNORE_LABEL);
                match guard {
                    None if uses_label => out.push(
                        Finding::new(
                            &RULE,
                            h.config.object,
                            h.object(inv),
                            &h.path(&["namespaceSelector"]),
                            format!(
                                "OPA Gatekeeper {} skips namespaces labelled {GATEKEEPER_IGNORE_LABEL}, and no check-ignore-label.gatekeeper.sh webhook stops anyone who may label namespaces from adding it",
                                h.describe()
                            ),
                        )
                        .key("check-ignore-label")
                        .evidence(format!(
                            "{} Gatekeeper webhook(s) in the input, none named check-ignore-label.gatekeeper.sh",
                            all.iter().filter(|g| g.product == Some(Product::Gatekeeper)).count()
                        ))
                        .remediation(
                            "Install Gatekeeper's check-ignore-label.gatekeeper.sh webhook (failurePolicy: Fail) so only the exempted namespaces may carry the ignore label.",
                        )
                        .with_mesh(Mesh::Kubernetes),
                    ),
                    Some(g) if g.fails_open(inv) => out.push(fails_open_finding(
                        ctx,
                        g,
                        Severity::Medium,
                        &format!("while Gatekeeper is unreachable, any namespace can be labelled {GATEKEEPER_IGNORE_LABEL} and so exempted from every constraint"),
                    )),
                    _ => {}
                }
            }
            (Some(Product::Kyverno), Role::PolicyValidation) if h.fails_open(inv) => {
                let by_policy = h.hook.name.contains("-ignore");
                out.push(if by_policy {
                    fails_open_finding(
                        ctx,
                        h,
                        Severity::Low,
                        "Kyverno created it for policies set to failurePolicy Ignore; those policies are not enforced while Kyverno is unreachable",
                    )
                    .remediation(
                        "Kyverno manages this webhook: set failurePolicy: Fail (the default) on the policies that chose Ignore, and the webhook goes away.",
                    )
                } else {
                    fails_open_finding(
                        ctx,
                        h,
                        Severity::Medium,
                        "while Kyverno is unreachable, every request is admitted without its policies",
                    )
                });
            }
            _ => {}
        }
    }
}
