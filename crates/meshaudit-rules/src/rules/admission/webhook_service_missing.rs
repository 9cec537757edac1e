//! ADM004: a webhook calls a Service that the input shows does not exist, or a port it lacks.

use super::injection::{namespaces_injected_by, workloads_opted_in_by};
use super::namespaces::covered_namespaces;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::webhooks::Role;

pub static RULE: Rule = Rule {
    code: "ADM004",
    name: "webhook-service-missing",
    title: "Admission webhook calls a Service that does not exist",
    category: Category::Admission,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.8", "SOC2:CC8.1", "SOC2:A1.2", "PCI-DSS:2.2.1"],
    doc: r#"
## What it detects

A webhook whose `clientConfig.service` names a Service that is not in the input although the
input covers that Service's namespace, or a Service that
exists but has no port equal to `clientConfig.service.port` (443 when unset). Webhooks whose
Service namespace the input does not cover are not judged: scanning one application's folder
says nothing about `istio-system`.

Severity: `high` when the webhook fails closed (`failurePolicy: Fail`: every request it matches
is rejected) or when it is a mesh or policy-engine webhook failing open (the security control is
silently off); `medium` for other webhooks failing open, and for a sidecar injector that the
input's Namespace objects show injects no namespace today.

"Covers" means some Service or workload of the input lives in that namespace: a chart that only
puts a ServiceAccount there (Istio's `base` chart in `istio-system`) does not count.

## Why it matters

The API server cannot call the webhook. With `Fail`, every matched request is rejected: no pod
can be created in injected namespaces, no mesh configuration can be changed. With `Ignore`,
every matched request is admitted unchecked: pods start without a sidecar, invalid or
policy-violating objects are accepted. This is what a revision left behind after an Istio canary
upgrade (`istiod-1-22` deleted, its webhook still there), a renamed Helm release, or a
half-uninstalled policy engine looks like.

## Example

```yaml
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: istio-sidecar-injector-1-22
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig:
    service: {name: istiod-1-22, namespace: istio-system, path: /inject}   # istiod-1-22 removed
```

## Fix

Point the webhook at the Service that serves it (right name, namespace and port), or delete the
webhook configuration of the removed component (`istioctl uninstall --revision`, `helm
uninstall`, `istioctl tag remove`).

## References

- Kubernetes: Dynamic Admission Control, service reference — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#service-reference
- Istio: Canary upgrades (uninstalling the old control plane) — https://istio.io/latest/docs/setup/upgrade/canary/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let covered = covered_namespaces(inv);
    for h in ctx.webhooks() {
        let Some(svc) = &h.hook.client_config.service else {
            continue;
        };
        if !covered.contains(svc.namespace.as_str()) {
            continue;
        }
        let port = svc.port.unwrap_or(443);
        let service = inv
            .services
            .iter()
            .find(|s| s.namespace == svc.namespace && s.name == svc.name);
        let (problem, path, key) = match service {
            None => (
                format!(
                    "calls Service {}/{}, which is not in the input although namespace {} is",
                    svc.namespace, svc.name, svc.namespace
                ),
                h.path(&["clientConfig", "service", "name"]),
                h.key("clientConfig.service"),
            ),
            Some(s) if !s.spec.ports.iter().any(|p| p.port == port) => (
                format!(
                    "calls port {port} of Service {}/{}, which exposes only {}",
                    svc.namespace,
                    svc.name,
                    s.spec
                        .ports
                        .iter()
                        .map(|p| p.port.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                if svc.port.is_some() {
                    h.path(&["clientConfig", "service", "port"])
                } else {
                    h.path(&["clientConfig", "service"])
                },
                h.key("clientConfig.service.port"),
            ),
            Some(_) => continue,
        };
        let fails_open = h.fails_open(inv);
        let security = h.product.is_some() && h.role != Role::Other;
        let effect = match (fails_open, h.role) {
            (false, Role::Injector) => {
                "every pod it selects is rejected: no pod can be created there"
            }
            (false, _) => "every request it matches is rejected",
            (true, Role::Injector) => {
                "failurePolicy Ignore admits every pod it selects without a proxy"
            }
            (true, _) => "failurePolicy Ignore admits every request it matches unchecked",
        };
        let mut severity = if !fails_open || security {
            Severity::High
        } else {
            Severity::Medium
        };
        // Exposure of an injector: the namespaces of the input it injects.
        let injected = if h.role == Role::Injector {
            namespaces_injected_by(inv, h)
        } else {
            None
        };
        // Pods that opt in on their own template are injected too (Linkerd, Consul).
        let opted_in = if h.role == Role::Injector {
            workloads_opted_in_by(inv, h)
        } else {
            Vec::new()
        };
        if injected.as_ref().is_some_and(Vec::is_empty) && opted_in.is_empty() {
            severity = Severity::Medium;
        }
        let mut f = Finding::new(
                &RULE,
                h.config.object,
                h.object(inv),
                &path,
                format!("{} {problem}: {effect}", h.describe()),
            )
            .key(key)
            .evidence(format!(
                "failurePolicy: {}",
                h.failure_policy(inv)
            ))
            .evidence(match h.product {
                Some(p) => format!("recognised as {} ({})", p.as_str(), h.role.as_str()),
                None => "not a mesh or policy-engine webhook".to_owned(),
            })
            .remediation(format!(
                "Point {} at the Service that serves it, or delete the webhook configuration {} if its component was removed.",
                h.describe(),
                h.config.name
            ))
            .with_mesh(h.product.map_or(Mesh::Kubernetes, |p| p.mesh()))
            .with_severity(severity);
        if !opted_in.is_empty() {
            let names: Vec<String> = opted_in
                .iter()
                .take(10)
                .map(|&w| {
                    let w = &inv.workloads[w];
                    format!("{} {}/{}", w.kind, w.namespace, w.name)
                })
                .collect();
            f = f.evidence(format!(
                "workloads that opt in on their pod template: {}{}",
                names.join(", "),
                if opted_in.len() > 10 {
                    format!(" and {} more", opted_in.len() - 10)
                } else {
                    String::new()
                }
            ));
        }
        match &injected {
            Some(names) if names.is_empty() && opted_in.is_empty() => {
                f = f.evidence("no namespace in the input is injected by it today; any labelled for it later is affected");
            }
            Some(names) if names.is_empty() => {}
            Some(names) => {
                f = f.evidence(format!(
                    "namespaces whose pods it injects: {}",
                    names.join(", ")
                ));
            }
            None => {}
        }
        out.push(f);
    }
}
