//! AUTHN006: a workload opts out of sidecar injection in a namespace that is in the mesh.

use meshaudit_engine::membership::{DataPlane, NamespaceMesh, INJECT_POD_LABEL};
use meshaudit_engine::Transport;
use meshaudit_model::{Step, WorkloadId};

use super::plaintext_bypass::{meshed_server_tally, MeshedServerOutcome};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{template_path, workload_name};

pub static RULE: Rule = Rule {
    code: "AUTHN006",
    name: "sidecar-injection-opt-out",
    title: "Workload opts out of sidecar injection in a meshed namespace",
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

A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, …) whose pod template sets
`sidecar.istio.io/inject: "false"` — as a label or as the legacy annotation — in a namespace
labelled for sidecar injection (`istio-injection: enabled` or `istio.io/rev`). The pods then run
without a sidecar although everything around them is meshed. Istio gateways, which carry the
label on purpose (they are proxies themselves), are not reported.

Severity is `high` when the workload serves ports that meshed clients reach in plaintext with no
authorization enforced (read from the effective-policy graph), `medium` when it only acts as a
client (its outgoing calls are plaintext and carry no identity).

## Why it matters

Without a sidecar, the workload's ports accept plaintext from anyone in the cluster and no
AuthorizationPolicy or PeerAuthentication applies to them; clients' auto mTLS quietly falls back
to plaintext for it. Its own calls carry no mesh identity, so STRICT servers reject them and
PERMISSIVE servers accept them unauthenticated. The opt-out is often added during debugging and
forgotten.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reports
  namespace: shop          # labelled istio-injection: enabled
spec:
  template:
    metadata:
      labels:
        app: reports
        sidecar.istio.io/inject: "false"
```

## Fix

Remove the opt-out and restart the workload so it gets a sidecar. If it really cannot run with one
(host networking, a protocol the proxy cannot handle), move it to a namespace outside the mesh and
keep the servers it calls STRICT, or exclude only the port that needs it.

## References

- Istio: Installing the sidecar, controlling the injection policy — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy
- Istio: Security best practices — https://istio.io/latest/docs/ops/best-practices/security/
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

const MAX_LISTED: usize = 6;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let mut tally = meshed_server_tally(graph);
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        let node = graph.workload(w);
        if node.istio_data_plane() != DataPlane::None || workload.host_network {
            continue;
        }
        let (value, place) = match (
            workload.labels.get(INJECT_POD_LABEL),
            workload.annotations.get(INJECT_POD_LABEL),
        ) {
            (Some(v), _) => (v, "labels"),
            (None, Some(v)) => (v, "annotations"),
            (None, None) => continue,
        };
        if value != "false" {
            continue;
        }
        let Some(namespace) = inv.namespace(&workload.namespace) else {
            continue;
        };
        let ns_mode = NamespaceMesh::of(namespace);
        let ns_label = match &ns_mode {
            NamespaceMesh::Injected => "istio-injection: enabled".to_owned(),
            NamespaceMesh::Revision(rev) => format!("istio.io/rev: {rev}"),
            _ => continue,
        };

        // As a server: what meshed clients get.
        let mut open_ports: Vec<String> = Vec::new();
        let mut served = 0usize;
        for server in graph.ports_of(w) {
            served += 1;
            let group = server.other_meshed();
            if group.transport == Transport::Plaintext && group.reach().is_open() {
                open_ports.push(server.port.to_string());
            }
        }
        // As a client: meshed servers it reaches in plaintext.
        let as_client = tally.clients(&[w], 0);
        let plaintext_to = as_client.count(MeshedServerOutcome::PlaintextOpen);
        let rejected_by = as_client.count(MeshedServerOutcome::Fails);

        let object = inv.object(workload.object);
        let path = template_path(
            &inv.workloads[w],
            &[
                Step::Key("metadata"),
                Step::Key(place),
                Step::Key(INJECT_POD_LABEL),
            ],
        );
        let name = workload_name(&inv.workloads[w]);
        let role = if open_ports.is_empty() {
            "its calls leave in plaintext without a mesh identity".to_owned()
        } else {
            format!(
                "meshed clients reach its port(s) {} in plaintext with no authorization enforced",
                open_ports.join(", ")
            )
        };
        let mut finding = Finding::new(
            &RULE,
            workload.object,
            object,
            &path,
            format!(
                "{name} sets {INJECT_POD_LABEL}: \"false\" in its pod {place} although namespace {} is in the mesh ({ns_label}): its pods run without a sidecar, and {role}",
                workload.namespace
            ),
        )
        .key(format!("{place}.{INJECT_POD_LABEL}"))
        .remediation(format!(
            "Remove {INJECT_POD_LABEL}: \"false\" from the pod template of {name} and restart it so it gets a sidecar; if it cannot run with one, move it out of the meshed namespace."
        ));
        if let Some(id) = namespace.object {
            finding = finding.because(
                inv,
                &meshaudit_engine::Because::at(
                    id,
                    &[Step::Key("metadata"), Step::Key("labels")],
                    format!("namespace is labelled {ns_label}"),
                ),
            );
        }
        if served > 0 {
            finding = finding.evidence(format!(
                "as a server: {served} port(s) in the input, {} of them reached by meshed clients in plaintext without authorization",
                open_ports.len()
            ));
            for server in graph.ports_of(w).take(MAX_LISTED) {
                let group = server.other_meshed();
                if let Some(b) = group.transport_because.last() {
                    finding = finding.because(inv, b);
                }
            }
        } else {
            finding = finding.evidence("as a server: no ports in the input");
        }
        finding = finding.evidence(format!(
            "as a client: {plaintext_to} meshed server port(s) accept its plaintext, {rejected_by} reject it"
        ));
        if open_ports.is_empty() {
            finding.severity = Severity::Medium;
            finding = finding.evidence(
                "severity medium: no port of it is reached in plaintext by meshed clients, it acts only as a client",
            );
        }
        out.push(finding);
    }
}
