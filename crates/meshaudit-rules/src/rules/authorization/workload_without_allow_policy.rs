//! AUTHZ002: a meshed workload that no ALLOW AuthorizationPolicy applies to.

use meshaudit_engine::membership::DataPlane;
use meshaudit_model::istio::AuthorizationAction;
use meshaudit_model::{Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ002",
    name: "workload-without-allow-policy",
    title: "Meshed workload has no ALLOW policy and no default deny",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:7.2.1",
        "PCI-DSS:7.3.3",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, ReplicationController or
bare Pod) whose pods run in the Istio mesh, and to which no ALLOW AuthorizationPolicy applies: none
selects it, none covers its namespace, and there is no mesh-wide one in the root namespace —
not even an allow-nothing (default-deny) policy.

Gateway workloads (ingress, egress and east-west gateways, which are proxies themselves) and
workloads that serve no port (no container port and no Service port targets them, e.g. most
Jobs and CronJobs) are not reported: there is nothing for a policy to authorize.

Membership follows Istio's injector: the namespace labels `istio-injection` / `istio.io/rev` /
`istio.io/dataplane-mode: ambient`, overridden by the pod's `sidecar.istio.io/inject` label.
Policies attached with `targetRef` bind to gateways and waypoints, not to sidecars, and do not count.

## Why it matters

With no ALLOW policy in effect, Istio allows every request that no DENY policy rejects: any
workload in the mesh (and, where mTLS is not STRICT, anything that can reach the pod) can call every
port, path and method of this workload. Least privilege between services (who may call whom) does
not exist for it, so one compromised workload can reach it freely.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments-worker
  namespace: payments   # labelled istio-injection: enabled
spec:
  template:
    metadata:
      labels:
        app: payments-worker
# ...and no AuthorizationPolicy in `payments` or `istio-system` applies to app=payments-worker
```

## Fix

Install a default deny (an ALLOW policy with no rules) mesh-wide or per namespace, then allow each
caller explicitly:

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
  namespace: istio-system
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: payments-worker
  namespace: payments
spec:
  selector:
    matchLabels:
      app: payments-worker
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/orders/sa/orders"]
```

## References

- Istio: Authorization policy reference — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Security best practices (default-deny) — https://istio.io/latest/docs/ops/best-practices/security/#use-default-deny-patterns
- NIST SP 800-204A, SM-DR1; NIST SP 800-204B §5.2.1
- CWE-862: Missing Authorization
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        let Some(node) = ctx.graph().workloads.get(w.index()) else {
            continue;
        };
        if !node.istio_data_plane().is_meshed() {
            continue;
        }
        let why = node
            .membership
            .because
            .last()
            .map(|b| b.fact.clone())
            .unwrap_or_default();
        // Gateways are proxies at the mesh edge, governed by their Gateway servers and
        // policies of their own; a workload that serves no port has nothing to authorize.
        if ctx
            .graph()
            .workloads
            .get(w.index())
            .is_some_and(|n| n.istio_data_plane() == DataPlane::Gateway)
        {
            continue;
        }
        let ports: Vec<String> = ctx
            .graph()
            .ports_of(w)
            .map(|s| s.port.to_string())
            .collect();
        if ports.is_empty() {
            continue;
        }
        // The policies that apply were resolved once, with the graph (in input order here).
        let mut indexes = node.authorization_policies.clone();
        indexes.sort_unstable();
        let applying = |action: AuthorizationAction| {
            indexes
                .iter()
                .map(|&i| &inv.istio.authorization_policies[i])
                .filter(move |p| p.spec.action == action)
        };
        if applying(AuthorizationAction::Allow).next().is_some() {
            continue;
        }
        let object = inv.object(workload.object);
        let path = [Step::Key("metadata"), Step::Key("name")];
        let mut finding = Finding::new(
            &RULE,
            workload.object,
            object,
            &path,
            format!(
                "{} {}/{} is in the mesh but no ALLOW AuthorizationPolicy applies to it and no default deny exists: every caller may reach every path and method of port{} {}",
                workload.kind,
                workload.namespace,
                workload.name,
                if ports.len() == 1 { "" } else { "s" },
                ports.join(", ")
            ),
        )
        .key("")
        .evidence(format!("in the mesh: {why}"))
        .evidence(format!(
            "no ALLOW policy selects labels {{{}}}, none covers namespace `{}`, none is mesh-wide in `{}`",
            workload
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            workload.namespace,
            inv.istio.root_namespace()
        ))
        .remediation(format!(
            "Add an allow-nothing AuthorizationPolicy (spec: {{}}) in `{}` or `{}`, and an ALLOW policy selecting {}/{} that names its callers.",
            workload.namespace,
            inv.istio.root_namespace(),
            workload.namespace,
            workload.name
        ));
        for deny in applying(AuthorizationAction::Deny) {
            finding = finding.evidence(format!(
                "only DENY policy {}/{} applies, which blocks what it matches and allows the rest",
                deny.namespace, deny.name
            ));
        }
        out.push(finding);
    }
}
