//! ADM006: a mesh or policy-engine webhook's `timeoutSeconds` blocks API writes for long, or is
//! so short that a fail-open injector silently skips pods.

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::webhooks::Role;

/// The `admissionregistration.k8s.io/v1` default.
const DEFAULT_TIMEOUT: u32 = 10;
/// Above this, one slow webhook holds each matching write for longer than most clients wait.
const LONG_TIMEOUT: u32 = 15;
/// Below this, a fail-open injector gives up on istiod/proxy-injector under ordinary load.
const SHORT_TIMEOUT: u32 = 5;

pub static RULE: Rule = Rule {
    code: "ADM006",
    name: "webhook-timeout",
    title: "Admission webhook timeout too long, or too short for a fail-open injector",
    category: Category::Admission,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.8", "SOC2:A1.2", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

For the webhooks of meshes (injectors, configuration validators) and policy engines (Gatekeeper,
Kyverno):

- a sidecar injector with `failurePolicy: Ignore` and `timeoutSeconds` below 5 — `medium`: under
  ordinary load (a burst of pod creations, istiod or the proxy-injector busy or starting) calls time
  out and the pods are admitted **without a proxy**;
- any of them waiting more than 15 seconds — `low`: each matching write waits that long whenever
  the webhook hangs. `timeoutSeconds` defaults to 10 in `admissionregistration.k8s.io/v1` but to
  30 in the old `v1beta1`, so an old configuration without the field is reported too.

## Why it matters

The API server waits up to `timeoutSeconds` for a webhook and then applies its failure policy.
The Kubernetes documentation recommends small timeouts because the wait is added to the latency
of every matching request, and webhooks are called one after another: several slow webhooks add
up, `kubectl` and controllers time out, deployments stall during a control-plane incident. The
other way round, a timeout shorter than the injector's worst-case answer turns a slow response
into a silently uninjected pod when the injector fails open — the same outcome as an outage.

## Example

```yaml
webhooks:
- name: linkerd-proxy-injector.linkerd.io
  failurePolicy: Ignore
  timeoutSeconds: 2
```

## Fix

Keep `timeoutSeconds` near the default of 10 seconds. For injectors, prefer `failurePolicy: Fail`
(ADM001); if an injector must fail open, do not shorten its timeout below what it needs under
load.

## References

- Kubernetes: Dynamic Admission Control, timeouts — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#timeouts
- Kubernetes: Admission webhook good practices (latency) — https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for h in ctx.webhooks() {
        let Some(product) = h.product else { continue };
        if h.role == Role::Other {
            continue;
        }
        let timeout = h.timeout(inv);
        let source = if h.hook.timeout_seconds.is_some() {
            format!("timeoutSeconds: {timeout}")
        } else {
            format!(
                "timeoutSeconds unset: the default of {}",
                h.object(inv).api_version
            )
        };
        let (severity, message, remediation) = if h.role == Role::Injector
            && h.fails_open(inv)
            && timeout < SHORT_TIMEOUT
        {
            (
                    Severity::Medium,
                    format!(
                        "{} injector {} gives up after {timeout} s and has failurePolicy Ignore: a slow answer admits the pod without a proxy",
                        product.as_str(),
                        h.describe()
                    ),
                    format!(
                        "Set failurePolicy: Fail on {}, or raise timeoutSeconds to the default of {DEFAULT_TIMEOUT}.",
                        h.describe()
                    ),
                )
        } else if timeout > LONG_TIMEOUT {
            (
                    Severity::Low,
                    format!(
                        "{} {} waits up to {timeout} s ({source}): when it hangs, every write it matches waits that long before failurePolicy {} applies",
                        product.as_str(),
                        h.describe(),
                        h.failure_policy(inv)
                    ),
                    format!(
                        "Lower timeoutSeconds of {} to {DEFAULT_TIMEOUT} or less.",
                        h.describe()
                    ),
                )
        } else {
            continue;
        };
        out.push(
            Finding::new(
                &RULE,
                h.config.object,
                h.object(inv),
                &h.path(&["timeoutSeconds"]),
                message,
            )
            .key(h.key("timeoutSeconds"))
            .evidence(format!(
                "{} webhook ({}), {source}, failurePolicy: {}",
                product.as_str(),
                h.role.as_str(),
                h.failure_policy(inv)
            ))
            .remediation(remediation)
            .with_mesh(product.mesh())
            .with_severity(severity),
        );
    }
}
