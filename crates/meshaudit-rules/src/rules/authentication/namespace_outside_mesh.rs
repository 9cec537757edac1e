//! AUTHN005: a namespace with workloads is left out of the mesh while Istio is in use.

use meshaudit_engine::membership::{NamespaceMesh, INJECTION_LABEL};
use meshaudit_engine::server_tally::ServerTally;
use meshaudit_engine::{Client, EdgeGroup, Graph, ServerPort, Transport};
use meshaudit_model::{Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "AUTHN005",
    name: "namespace-outside-mesh",
    title: "Namespace with workloads is outside the mesh",
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

A `Namespace` in the input that has workloads running without a proxy because the namespace is not
enrolled in the mesh — it has none of the labels `istio-injection: enabled`, `istio.io/rev`, or
`istio.io/dataplane-mode: ambient`, or it is explicitly labelled `istio-injection: disabled` —
while Istio is in use (other workloads of the input are meshed). `kube-system`, `kube-public`,
`kube-node-lease` and Istio's root namespace are not reported.

The finding counts, from the effective-policy graph, the meshed server ports its workloads reach
in plaintext with authorization letting them through. Severity is `high` when at least one meshed
server accepts that plaintext, `medium` when every meshed server rejects it (STRICT) or denies it.

## Why it matters

Workloads outside the mesh have no workload identity and no sidecar: their calls are plaintext,
they cannot be named in authorization rules, and meshed servers that accept them (PERMISSIVE
mode) cannot tell them apart from any other pod in the cluster. Their own ports are reachable by
anyone without mutual TLS or authorization. A forgotten namespace is also the usual reason a mesh
cannot be switched to STRICT.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels:
    team: platform     # no istio-injection / istio.io/rev label
```

## Fix

Enroll the namespace and restart its workloads so they get a sidecar (or ztunnel in ambient mode):

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels:
    istio-injection: enabled     # or istio.io/rev: <revision>
```

If the namespace must stay outside the mesh, make sure meshed servers are STRICT and do not
accept its plaintext, and record the exception.

## References

- Istio: Installing the sidecar (automatic injection labels) — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- Istio: Mutual TLS migration — https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/
- Istio: Security best practices — https://istio.io/latest/docs/ops/best-practices/security/
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

const SKIPPED: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];
const MAX_LISTED: usize = 6;

/// What a client without a proxy gets at a meshed server port behind a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Rejected (STRICT) or denied.
    Rejected,
    /// Its plaintext gets through (some requests at least).
    PlaintextOpen,
}

fn outcome(graph: &Graph, server: &ServerPort, group: &EdgeGroup) -> Option<Outcome> {
    if !graph
        .workload(server.workload)
        .istio_data_plane()
        .is_meshed()
        || !server.proxied
    {
        return None;
    }
    Some(
        if group.transport == Transport::Plaintext && group.reach().is_open() {
            Outcome::PlaintextOpen
        } else {
            Outcome::Rejected
        },
    )
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let mut tally = ServerTally::new(graph, outcome);
    if !crate::rules::istio_scope::istio_in_use(inv) {
        return;
    }
    let meshed = |w: WorkloadId| graph.workload(w).istio_data_plane().is_meshed();
    if !inv.workload_ids().any(meshed) {
        return;
    }
    let root = inv.istio.root_namespace();
    let mut by_namespace: std::collections::HashMap<&str, Vec<WorkloadId>> =
        std::collections::HashMap::new();
    for (i, w) in WorkloadId::enumerate(&inv.workloads) {
        by_namespace
            .entry(w.namespace.as_str())
            .or_default()
            .push(i);
    }
    for (name, namespace) in &inv.namespaces {
        let Some(object_id) = namespace.object else {
            continue;
        };
        if SKIPPED.contains(&name.as_str()) || name == root {
            continue;
        }
        let ns_mode = NamespaceMesh::of(namespace);
        if ns_mode.is_meshed() {
            continue;
        }
        // A namespace another mesh (Linkerd) injects is in that mesh, not outside any.
        if namespace.linkerd.annotations.inject.is_some() {
            continue;
        }
        let unmeshed: Vec<WorkloadId> = by_namespace
            .get(name.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|&w| graph.workload(w).mesh.is_none())
            .collect();
        if unmeshed.is_empty() {
            continue;
        }

        // What its workloads get at meshed servers.
        let reach = tally.clients(&unmeshed, MAX_LISTED);
        let open = reach.count(Outcome::PlaintextOpen);
        let rejected = reach.count(Outcome::Rejected);
        let mut examples: Vec<String> = Vec::new();
        for &s in reach.first(Outcome::PlaintextOpen) {
            let server = &graph.servers[s];
            let first_open = unmeshed.iter().find_map(|&c| {
                let group = server.group_for(graph, Client::Workload(c));
                (outcome(graph, server, group) == Some(Outcome::PlaintextOpen))
                    .then_some((c, group))
            });
            if let Some((c, group)) = first_open {
                examples.push(format!(
                    "{} reaches {} port {} in plaintext ({}), authorization {}",
                    workload_name(&inv.workloads[c]),
                    workload_name(&inv.workloads[server.workload]),
                    server.port,
                    server.mode.mode.as_str(),
                    group.reach().as_str()
                ));
            }
        }

        let object = inv.object(object_id);
        let (path, why): (Vec<Step<'_>>, String) = if ns_mode == NamespaceMesh::Disabled {
            (
                vec![
                    Step::Key("metadata"),
                    Step::Key("labels"),
                    Step::Key(INJECTION_LABEL),
                ],
                format!("it is labelled {INJECTION_LABEL}: disabled"),
            )
        } else {
            (
                vec![Step::Key("metadata"), Step::Key("labels")],
                "it has no istio-injection, istio.io/rev or istio.io/dataplane-mode label"
                    .to_owned(),
            )
        };
        let exposure = if open == 0 {
            "no meshed server in the input accepts their plaintext".to_owned()
        } else {
            format!(
                "{} meshed server port(s) accept their plaintext and let it through",
                open
            )
        };
        let names: Vec<String> = unmeshed
            .iter()
            .map(|&w| workload_name(&inv.workloads[w]))
            .collect();
        let mut finding = Finding::new(
            &RULE,
            object_id,
            object,
            &path,
            format!(
                "Namespace {name} is outside the mesh ({why}): its {} workload(s) run without a sidecar and no mesh identity; {exposure}",
                unmeshed.len()
            ),
        )
        .key("namespace")
        .evidence(format!(
            "workloads without a proxy: {}{}",
            names.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().join(", "),
            if names.len() > MAX_LISTED {
                format!(" and {} more", names.len() - MAX_LISTED)
            } else {
                String::new()
            }
        ))
        .remediation(format!(
            "Label namespace {name} istio-injection: enabled (or istio.io/rev: <revision>) and restart its workloads; if it must stay outside the mesh, keep meshed servers STRICT."
        ));
        for line in examples {
            finding = finding.evidence(line);
        }
        if open > MAX_LISTED {
            finding = finding.evidence(format!(
                "… and {} more meshed server port(s) open to its plaintext",
                open - MAX_LISTED
            ));
        }
        if rejected > 0 {
            finding = finding.evidence(format!(
                "{} meshed server port(s) reject or deny its plaintext (STRICT mode or authorization)",
                rejected
            ));
        }
        if open == 0 {
            finding.severity = Severity::Medium;
            finding = finding.evidence(
                "severity medium: no meshed server accepts its plaintext today, but whatever its workloads serve has no mTLS or authorization",
            );
        }
        out.push(finding);
    }
}
