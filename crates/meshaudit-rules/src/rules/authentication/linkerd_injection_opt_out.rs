//! AUTHN016: a workload opted out of Linkerd's proxy in an injected namespace, while a Service
//! exposes it to its meshed peers.

use meshaudit_engine::linkerd::membership::{annotation, namespace_annotation, NotMeshed};
use meshaudit_model::linkerd::{InjectMode, INJECT_ANNOTATION};
use meshaudit_model::{ServiceId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN016",
    name: "linkerd-injection-opt-out",
    title: "Workload opted out of Linkerd's proxy in an injected namespace",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A workload whose pod template sets `linkerd.io/inject: disabled` — or a value the proxy injector
does not know (`"false"`, `enable`), which makes it refuse the pod just the same — in a namespace
annotated `linkerd.io/inject: enabled` or `ingress`, while a Service of the input exposes it. Its
pods run without a proxy among meshed peers. `high` when other workloads of the namespace are
meshed in the input, `medium` otherwise.

A workload that no Service exposes (a CronJob or Job, which Linkerd's docs suggest keeping out of
the mesh because the proxy would keep the pod running) is not reported: it only acts as a client.
Host-network pods, which Linkerd never injects, and Linkerd's own control plane are not reported.

## Why it matters

Meshed clients reach a pod without a proxy in plaintext: the destination controller gives them no
identity for it, so there is no mutual TLS, and no Linkerd policy — no `Server`, no
`AuthorizationPolicy`, no default policy — protects its ports. Any pod of the cluster can call it.
Its own calls carry no mesh identity, so servers that require one refuse it, and servers on an
`*-unauthenticated` default admit it unidentified. Opt-outs are often added while debugging a
start-up problem and forgotten.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tax
  namespace: checkout      # annotated linkerd.io/inject: enabled
spec:
  template:
    metadata:
      annotations:
        linkerd.io/inject: disabled
```

## Fix

Remove the annotation (or correct its value) and restart the workload so the injector adds the
proxy. If the pod really cannot run with a proxy, move it to a namespace outside the mesh and keep
the servers it calls on a default policy that requires an identity, or protect its ports with a
NetworkPolicy.

## References

- Linkerd: Automatic proxy injection — https://linkerd.io/2.18/features/proxy-injection/
- Linkerd: Automatic mTLS (traffic to or from non-meshed pods is not encrypted) — https://linkerd.io/2.18/features/automatic-mtls/
- linkerd2 source: pkg/inject/report.go (the injection truth table) — https://github.com/linkerd/linkerd2/blob/main/pkg/inject/report.go
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

const MAX_LISTED: usize = 6;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let memberships = ctx.linkerd_membership();
    let app_ports = ctx.linkerd_app_ports();
    // Memberships are in workload order (none when the input holds nothing of Linkerd).
    for (w, m) in inv.workload_ids().zip(memberships) {
        let workload = &inv.workloads[w];
        if m.control_plane
            || workload.host_network
            || !matches!(
                m.not_meshed,
                Some(NotMeshed::PodDisabled | NotMeshed::InvalidPodValue)
            )
        {
            continue;
        }
        let Some(ns) = namespace_annotation(inv, &workload.namespace, INJECT_ANNOTATION) else {
            continue;
        };
        if !InjectMode::parse(ns.value).is_some_and(|mode| mode.requests_injection()) {
            continue;
        }
        let Some(pod) = annotation(inv, workload, INJECT_ANNOTATION, false) else {
            continue;
        };
        // Exposed: ports a Service of the input targets.
        let exposed: Vec<_> = app_ports[w.index()]
            .iter()
            .filter(|p| !p.services.is_empty())
            .collect();
        if exposed.is_empty() {
            continue;
        }
        let mut services: Vec<ServiceId> =
            exposed.iter().flat_map(|p| p.services.clone()).collect();
        services.sort_unstable();
        services.dedup();
        let peers: Vec<WorkloadId> = inv
            .workload_indexes_in(&workload.namespace)
            .iter()
            .copied()
            .filter(|&p| {
                p != w && memberships[p.index()].meshed && !memberships[p.index()].control_plane
            })
            .collect();
        let name = format!("{} {}/{}", workload.kind, workload.namespace, workload.name);
        let ports: Vec<String> = exposed.iter().map(|p| p.port.to_string()).collect();
        let service_names: Vec<String> = services
            .iter()
            .map(|&s| {
                let svc = &inv.services[s];
                format!("Service {}/{}", svc.namespace, svc.name)
            })
            .collect();
        let opt_out = if m.not_meshed == Some(NotMeshed::InvalidPodValue) {
            format!(
                "sets linkerd.io/inject: \"{}\" in its pod template, a value the proxy injector does not know, so it refuses the pod",
                pod.value
            )
        } else {
            "sets linkerd.io/inject: disabled in its pod template".to_owned()
        };
        let peers_text = if peers.is_empty() {
            "the input shows no meshed workload there".to_owned()
        } else {
            let listed: Vec<String> = peers
                .iter()
                .take(MAX_LISTED)
                .map(|&p| inv.workloads[p].name.clone())
                .collect();
            format!(
                "{} meshed workload(s) there ({}{})",
                peers.len(),
                listed.join(", "),
                if peers.len() > MAX_LISTED {
                    ", …"
                } else {
                    ""
                }
            )
        };
        let message = format!(
            "{name} {opt_out} although namespace {} injects its pods (linkerd.io/inject: {}): it runs without a Linkerd proxy while {} expose(s) port(s) {} — meshed peers and any other pod reach it in plaintext, with no identity and no Linkerd policy; {peers_text}",
            workload.namespace,
            ns.value,
            service_names.join(", "),
            ports.join(", "),
        );
        let mut f = Finding::new(
            &RULE,
            workload.object,
            inv.object(workload.object),
            &pod.path,
            message,
        )
        .key(format!("metadata.annotations.{INJECT_ANNOTATION}"));
        for b in &m.because {
            f.add_because(inv, b);
        }
        for &s in &services {
            let svc = &inv.services[s];
            f.relate(
                inv,
                &meshaudit_engine::Because::at(
                    svc.object,
                    &[Step::Key("spec"), Step::Key("selector")],
                    format!("selects the pods of {name}, which have no proxy"),
                ),
            );
        }
        if peers.is_empty() {
            f.severity = Severity::Medium;
            f = f.evidence(
                "severity medium: the input shows no other meshed workload in the namespace",
            );
        }
        out.push(f.remediation(format!(
            "Remove linkerd.io/inject from the pod template of {name} (or set it to enabled) and restart it so the injector adds the proxy; if it cannot run with one, move it out of namespace {} and protect its ports with a NetworkPolicy.",
            workload.namespace
        )));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    /// A value the injector does not know opts the pod out just the same (ingest also reports
    /// it as a problem, which keeps it out of the fixtures: they must be valid input).
    #[test]
    fn an_unknown_inject_value_is_an_opt_out_too() {
        let yaml = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
  annotations: {linkerd.io/inject: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tax, namespace: shop}
spec:
  template:
    metadata:
      annotations: {linkerd.io/inject: "false"}
      labels: {app: tax}
    spec:
      containers:
      - name: tax
        image: example/tax:1
---
apiVersion: v1
kind: Service
metadata: {name: tax, namespace: shop}
spec:
  selector: {app: tax}
  ports: [{port: 8080}]
"#;
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        let ctx = Context::new(&ingested.inventory, 0);
        let mut out = Vec::new();
        check(&ctx, &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0]
            .message
            .contains("sets linkerd.io/inject: \"false\" in its pod template, a value the proxy injector does not know"));
        // No other meshed workload in the input: medium.
        assert_eq!(out[0].severity, Severity::Medium);
        assert_eq!(out[0].location.line, 13);
    }
}
