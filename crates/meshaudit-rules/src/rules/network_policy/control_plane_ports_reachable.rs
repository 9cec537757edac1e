//! NET009: istiod's plaintext xDS, debug and monitoring ports reachable from every pod.

use meshaudit_engine::network_policy::{NetVerdict, Source};
use meshaudit_model::{Step, WorkloadId};

use meshaudit_engine::Because;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use meshaudit_engine::components::is_istiod;

pub static RULE: Rule = Rule {
    code: "NET009",
    name: "control-plane-ports-reachable",
    title: "istiod's plaintext and debug ports are reachable from every pod",
    category: Category::NetworkPolicy,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.6",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:1.3.1",
        "PCI-DSS:1.4.1",
        "GDPR:Art.32(1)(b)",
        "NIST-800-204A:SM-DR2",
    ],
    doc: r#"
## What it detects

An istiod Deployment (named `istiod` or `istiod-<revision>`, labelled `app: istiod` or
`istio: pilot`, or running a `pilot` image) whose ports beyond the secure xDS port are open to
every pod of the cluster, because no NetworkPolicy isolates istiod for ingress or a rule admits
every pod on them:

- **15010** (high): xDS and the CA over plaintext gRPC, meant only for trusted networks;
- **8080** (high): istiod's HTTP debug interface (`/debug/...`: config dumps, connected proxies,
  push status), served on the container port unless `ENABLE_DEBUG_ON_HTTP=false`;
- **15014** (medium): control-plane monitoring (metrics, and the debug endpoints over it on some
  versions).

Port 15012 (xDS and CA over TLS), 15017 (the webhook) and 443 must stay reachable and are not
reported.

## Why it matters

Every sidecar needs istiod on 15012; no workload needs 15010 or 8080. From any pod, the plaintext
port serves the mesh's configuration without authenticating the caller, and the debug interface
lists every proxy, its configuration and the mesh's push state — a map of the mesh and its
policies for an attacker who gained one pod. Istio's own security guidance is to keep these ports
away from workloads.

## Example

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: istiod-open
  namespace: istio-system
spec:
  podSelector:
    matchLabels: {app: istiod}
  ingress:
    - {}            # every source, every port
```

## Fix

Isolate istiod for ingress and allow only the ports workloads and the API server need:

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: istiod-ingress
  namespace: istio-system
spec:
  podSelector:
    matchLabels: {app: istiod}
  policyTypes: ["Ingress"]
  ingress:
    - ports:
        - port: 15012       # xDS and CA over TLS, from every sidecar
        - port: 15017       # the admission webhooks, from the API server
    - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: monitoring}
      ports:
        - port: 15014
```

## References

- Istio: Application requirements, ports used by Istio (15010 plaintext, 8080 debug, 15014 monitoring) — https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
- Istio: Security best practices, control plane — https://istio.io/latest/docs/ops/best-practices/security/
- NIST SP 800-204A, SM-DR2
"#,
    check,
};

/// The ports, what they are, and their severity.
const PORTS: [(u16, &str, Severity); 3] = [
    (15010, "xDS and CA over plaintext gRPC", Severity::High),
    (8080, "the HTTP debug interface", Severity::High),
    (15014, "control-plane monitoring", Severity::Medium),
];

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let index = &ctx.graph().network_policies;
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        if !is_istiod(workload) {
            continue;
        }
        let mut open: Vec<(u16, &str, Severity, Option<Because>)> = Vec::new();
        for (port, what, severity) in PORTS {
            let decision = index.ingress(inv, Source::AnyPod, w, port);
            if decision.verdict == NetVerdict::Allowed {
                open.push((port, what, severity, decision.because.first().cloned()));
            }
        }
        let Some(severity) = open.iter().map(|o| o.2).max() else {
            continue;
        };
        let object = inv.object(workload.object);
        let ports: Vec<String> = open.iter().map(|o| o.0.to_string()).collect();
        let mut finding = Finding::new(
            &RULE,
            workload.object,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "{} {}/{} accepts connections from every pod on port(s) {}, which no workload needs: only 15012 (xDS and CA over TLS) and 15017 (webhooks) should be open to them",
                workload.kind,
                workload.namespace,
                workload.name,
                ports.join(", ")
            ),
        )
        .key(ports.join(","));
        finding.severity = severity;
        for (port, what, _, why) in &open {
            let text = why.as_ref().map(|b| b.render(inv)).unwrap_or_default();
            finding = finding.evidence(format!("port {port} ({what}): {text}"));
            if let Some(b) = why {
                finding.relate(inv, b);
            }
        }
        finding = finding.remediation(format!(
            "Isolate {}/{} for ingress with a NetworkPolicy that admits only 15012 and 15017 from everywhere (and 15014 from monitoring); set ENABLE_DEBUG_ON_HTTP=false on istiod.",
            workload.namespace, workload.name
        ));
        out.push(finding);
    }
}
