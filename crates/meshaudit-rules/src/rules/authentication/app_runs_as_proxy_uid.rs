//! AUTHN008: an application container of a meshed workload runs as UID 1337, the proxy's user.

use meshaudit_engine::membership::{DataPlane, PROXY_UID};
use meshaudit_model::{Step, WorkloadId};

use super::plaintext_bypass::{BypassReach, BypassTally, Bypassing};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{template_path, workload_name};

pub static RULE: Rule = Rule {
    code: "AUTHN008",
    name: "app-runs-as-proxy-uid",
    title: "Application container runs as the sidecar's UID 1337",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A container other than `istio-proxy`, in a workload that gets an Istio sidecar, whose effective
`runAsUser` is `1337` — set on the container's `securityContext`, or inherited from the pod's
`securityContext`. Istio gateways (whose only container is the proxy) are not reported.

## Why it matters

Istio's iptables rules let every packet sent by UID 1337 leave the pod without redirection, so the
proxy's own connections do not loop back into it. An application running as that UID is treated
the same way: all of its outbound connections bypass the sidecar. They are sent in plaintext,
without the workload's mesh identity, outside egress controls and telemetry — STRICT servers
reject them, PERMISSIVE ones accept them unauthenticated. Istio's application requirements say
not to run applications as UID 1337.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1337
      containers:
      - name: orders
        image: registry.example.com/orders:1.0
```

## Fix

Run the application as any other non-root UID (the proxy's UID is reserved):

```yaml
      securityContext:
        runAsUser: 10001
        runAsNonRoot: true
```

## References

- Istio: Application requirements (UID 1337) — https://istio.io/latest/docs/ops/deployment/application-requirements/
- Istio: Security best practices, understand traffic capture limitations — https://istio.io/latest/docs/ops/best-practices/security/#understand-traffic-capture-limitations
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let mut tally = BypassTally::new(graph);
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        let node = graph.workload(w);
        if node.istio_data_plane() != DataPlane::Sidecar
            || node.membership.capture.proxy_uid_containers.is_empty()
        {
            continue;
        }
        let name = workload_name(&inv.workloads[w]);
        // What the graph says about its calls to meshed servers.
        let BypassReach {
            plaintext,
            failing,
            example,
        } = tally.reach(inv, w, Bypassing::All);
        let object = inv.object(workload.object);
        for (index, container) in workload.containers.iter().enumerate() {
            if container.name == "istio-proxy"
                || workload.effective_uid(container) != Some(PROXY_UID)
            {
                continue;
            }
            let (path, source) = if container.run_as_user.is_some() {
                (
                    template_path(
                        &inv.workloads[w],
                        &[
                            Step::Key("spec"),
                            Step::Key("containers"),
                            Step::Index(index),
                            Step::Key("securityContext"),
                            Step::Key("runAsUser"),
                        ],
                    ),
                    "its securityContext",
                )
            } else {
                (
                    template_path(
                        &inv.workloads[w],
                        &[
                            Step::Key("spec"),
                            Step::Key("securityContext"),
                            Step::Key("runAsUser"),
                        ],
                    ),
                    "the pod's securityContext",
                )
            };
            let mut f = Finding::new(
                &RULE,
                workload.object,
                object,
                &path,
                format!(
                    "Container {} of {name} runs as UID {PROXY_UID} (from {source}), the sidecar's own user: iptables does not redirect its outbound connections, so they bypass the sidecar, leave in plaintext and carry no mesh identity",
                    container.name
                ),
            )
            .key(format!("containers.{}", container.name))
            .remediation(format!(
                "Run container {} of {name} as another non-root UID (for example runAsUser: 10001); UID {PROXY_UID} is reserved for the proxy.",
                container.name
            ));
            if let Some(e) = &example {
                f = f.evidence(e.clone());
            }
            f = f.evidence(format!(
                "graph: {plaintext} meshed server port(s) accept its bypassing plaintext, {failing} reject it (STRICT)"
            ));
            out.push(f);
        }
    }
}
