//! AUTHN001: the mesh-wide PeerAuthentication is missing or not STRICT.

use meshaudit_model::istio::MtlsMode;
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, ResourceRef, Severity};
use crate::rule::Rule;
use crate::rules::anchor::namespace_anchor;
use meshaudit_engine::peer_authentication::oldest;

pub static RULE: Rule = Rule {
    code: "AUTHN001",
    name: "mesh-mtls-not-strict",
    title: "Mesh-wide mTLS is not STRICT",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(d)",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

An Istio mesh whose mesh-wide peer authentication does not require mutual TLS: the
PeerAuthentication without a selector in the root namespace (`istio-system` unless the mesh config
sets `rootNamespace`) has mode `PERMISSIVE`, `DISABLE` or `UNSET`, or there is no such policy at all
while the input covers the root namespace or the mesh config (a scan of one application's manifests
cannot tell whether the mesh-wide policy exists elsewhere, so it is not reported then). When
several selector-less policies exist in the root namespace, Istio uses the oldest one
(`creationTimestamp`, else the first in the input).

## Why it matters

Without a mesh-wide policy Istio's default is `PERMISSIVE`: every sidecar accepts both mutual TLS and
plaintext. Any pod in the cluster, including pods without a sidecar, can then call every workload
that has no stricter policy of its own, unencrypted and without a verifiable identity, and
authorization rules based on principals or namespaces no longer hold for those calls. `DISABLE`
turns mutual TLS off entirely. PERMISSIVE is meant as a migration step, not a resting state.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: PERMISSIVE
```

## Fix

Set the mesh-wide PeerAuthentication in the root namespace to `mtls.mode: STRICT`, after checking
that every client of the mesh's workloads has a sidecar; keep exceptions narrow (a workload or a
port) and documented.

```yaml
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
```

## References

- Istio: PeerAuthentication reference — https://istio.io/latest/docs/reference/config/security/peer_authentication/
- Istio: Mutual TLS migration — https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/
- Istio: Security best practices — https://istio.io/latest/docs/ops/best-practices/security/
- NIST SP 800-204A, SM-DR6 (proxy-to-proxy traffic over mutually authenticated TLS)
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !crate::rules::istio_scope::istio_in_use(inv) {
        return;
    }
    let root = inv.istio.root_namespace();
    let mesh_wide: Vec<_> = inv
        .istio
        .peer_authentications
        .iter()
        .filter(|p| p.namespace == root && !p.spec.has_selector())
        .collect();
    let Some(policy) = oldest(inv, &mesh_wide) else {
        // Only say "missing" when the input covers the mesh's own configuration (the root
        // namespace or the mesh config); one application's manifests cannot show it.
        let covers_root = inv.namespace(root).is_some() || inv.istio.mesh_config.is_some();
        if !covers_root {
            return;
        }
        let Some((id, object)) = namespace_anchor(inv, root) else {
            return;
        };
        let mut finding = Finding::new(
            &RULE,
            id,
            object,
            &[],
            format!(
                "No mesh-wide PeerAuthentication in the root namespace `{root}`: Istio's default \
                 is PERMISSIVE, so every workload without a STRICT policy of its own accepts plaintext"
            ),
        )
        .resource(ResourceRef::namespace(root))
        .key("missing")
        .evidence(format!("root namespace: {root}"))
        .evidence("PeerAuthentication without selector in the root namespace: none");
        if inv.namespace(root).and_then(|n| n.object).is_none() {
            finding.object = None;
        }
        out.push(finding);
        return;
    };
    let mode = policy.spec.mode();
    if mode == MtlsMode::Strict {
        return;
    }
    let object = inv.object(policy.object);
    let path: &[Step<'_>] = if policy.spec.mtls.as_ref().and_then(|m| m.mode).is_some() {
        &[Step::Key("spec"), Step::Key("mtls"), Step::Key("mode")]
    } else {
        &[Step::Key("spec")]
    };
    let effect = match mode {
        MtlsMode::Disable => "mutual TLS is off mesh-wide: sidecars accept only plaintext",
        _ => "every workload without a STRICT policy of its own accepts plaintext from any client",
    };
    let mut finding = Finding::new(
        &RULE,
        policy.object,
        object,
        path,
        format!(
            "Mesh-wide PeerAuthentication {}/{} sets mode {}: {effect}",
            policy.namespace,
            policy.name,
            mode.as_str()
        ),
    )
    .key("mode")
    .evidence(format!(
        "PeerAuthentication {}/{} ({}) has no selector in the root namespace `{root}`",
        policy.namespace,
        policy.name,
        object.location_of(path)
    ))
    .remediation(format!(
        "Set spec.mtls.mode: STRICT in PeerAuthentication {}/{} once every client has a sidecar; \
         keep PERMISSIVE only on the workloads or ports that still need it.",
        policy.namespace, policy.name
    ));
    if mode == MtlsMode::Unset {
        finding = finding.evidence("mode UNSET at mesh level means Istio's default, PERMISSIVE");
    }
    if mode == MtlsMode::Disable {
        finding.severity = Severity::Critical;
    }
    if mesh_wide.len() > 1 {
        finding = finding.evidence(format!(
            "{} mesh-wide PeerAuthentications exist; Istio applies only the oldest",
            mesh_wide.len()
        ));
    }
    out.push(finding);
}
