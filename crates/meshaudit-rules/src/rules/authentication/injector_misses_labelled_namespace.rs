//! AUTHN009: a namespace labelled for sidecar injection that no injector webhook selects, or one
//! with conflicting injection labels.

use meshaudit_engine::membership::{injector_webhooks, DataPlane, INJECTION_LABEL, REVISION_LABEL};
use meshaudit_model::selector::Labels;
use meshaudit_model::{Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "AUTHN009",
    name: "injector-misses-labelled-namespace",
    title: "Namespace labelled for injection is not selected by any injector",
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

When the input contains Istio's sidecar injector webhooks (MutatingWebhookConfigurations whose
webhooks are named `*sidecar-injector.istio.io`): a `Namespace` labelled for injection
(`istio-injection: enabled` or `istio.io/rev: <revision>`) that none of those webhooks selects —
typically a revision label naming a revision or tag that is not installed, or a revision whose
webhooks were deactivated. This is `high`.

It also reports, at `low`, a namespace that carries both `istio-injection` and `istio.io/rev`:
`istio-injection` wins and the revision label is ignored, so the namespace is not on the revision
its owners think.

## Why it matters

The label says "meshed", so people and tools assume the namespace's pods have sidecars, but the
API server never calls an injector for them: every pod starts without a proxy, without mTLS and
without authorization, and clients' auto mTLS silently falls back to plaintext. This happens
after canary upgrades, when a revision is removed while namespaces still point at it.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/rev: canary     # only the "stable" revision's injector is installed
```

## Fix

Point the namespace at an installed revision or tag (`istio.io/rev: stable`, or a revision tag
such as `prod-stable`), or install the missing revision, then restart the namespace's workloads.
Use either `istio-injection` or `istio.io/rev` on a namespace, never both.

## References

- Istio: Installing the sidecar (injection labels and precedence) — https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- Istio: Canary upgrades and revision tags — https://istio.io/latest/docs/setup/upgrade/canary/
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let injectors = injector_webhooks(inv);
    // A pod with only application labels: what namespace-level injection is about.
    let plain_pod = Labels::new();
    for (name, namespace) in &inv.namespaces {
        let Some(object_id) = namespace.object else {
            continue;
        };
        let object = inv.object(object_id);
        let injection = namespace.labels.get(INJECTION_LABEL);
        let revision = namespace.labels.get(REVISION_LABEL);

        if let (Some(inj), Some(rev)) = (injection, revision) {
            let path = [
                Step::Key("metadata"),
                Step::Key("labels"),
                Step::Key(REVISION_LABEL),
            ];
            let mut f = Finding::new(
                &RULE,
                object_id,
                object,
                &path,
                format!(
                    "Namespace {name} has both {INJECTION_LABEL}: {inj} and {REVISION_LABEL}: {rev}: {INJECTION_LABEL} wins, so the revision label is ignored"
                ),
            )
            .key("both-labels")
            .evidence("Istio: if a namespace has both labels, istio-injection takes precedence")
            .remediation(format!(
                "Keep one injection label on namespace {name}: remove {INJECTION_LABEL} to use revision {rev}, or remove {REVISION_LABEL}."
            ));
            f.severity = Severity::Low;
            out.push(f);
        }

        if injectors.is_empty() {
            continue;
        }
        let (label, value) = match (injection.map(String::as_str), revision) {
            (Some("enabled"), _) => (INJECTION_LABEL, "enabled".to_owned()),
            (None, Some(rev)) => (REVISION_LABEL, rev.clone()),
            _ => continue,
        };
        let by_webhook = injectors.iter().any(|h| {
            h.namespace_selector.matches(&namespace.labels) && h.object_selector.matches(&plain_pod)
        });
        let workloads: Vec<WorkloadId> = inv.workload_indexes_in(name).to_vec();
        let any_injected = workloads
            .iter()
            .any(|&w| graph.workload(w).istio_data_plane() == DataPlane::Sidecar);
        if by_webhook || any_injected {
            continue;
        }
        let path = [Step::Key("metadata"), Step::Key("labels"), Step::Key(label)];
        let webhooks: Vec<String> = injectors
            .iter()
            .map(|h| format!("{} ({})", h.name, inv.object(h.configuration).name))
            .collect();
        let uninjected: Vec<String> = workloads
            .iter()
            .filter(|&&w| graph.workload(w).istio_data_plane() == DataPlane::None)
            .map(|&w| workload_name(&inv.workloads[w]))
            .collect();
        let mut f = Finding::new(
            &RULE,
            object_id,
            object,
            &path,
            format!(
                "Namespace {name} is labelled {label}: {value}, but none of the {} sidecar injector webhook(s) in the input selects it: its pods start without a sidecar",
                injectors.len()
            ),
        )
        .key(format!("labels.{label}"))
        .evidence(format!("injector webhooks in the input: {}", webhooks.join(", ")))
        .remediation(format!(
            "Point namespace {name} at an installed revision or revision tag (or install the missing one), then restart its workloads."
        ));
        if uninjected.is_empty() {
            f = f.evidence("no workload of the namespace is in the input");
        } else {
            f = f.evidence(format!(
                "{} workload(s) therefore run without a sidecar: {}",
                uninjected.len(),
                uninjected.join(", ")
            ));
        }
        out.push(f);
    }
}
