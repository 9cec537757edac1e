//! AUTHN002: a namespace-wide PeerAuthentication lowers mTLS to PERMISSIVE or DISABLE.

use meshaudit_model::istio::MtlsMode;
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN002",
    name: "namespace-mtls-not-strict",
    title: "Namespace-wide mTLS is PERMISSIVE or DISABLE",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A PeerAuthentication without a selector outside the root namespace (so it applies to the whole
namespace) whose `mtls.mode` is `PERMISSIVE` or `DISABLE`. A namespace policy overrides the
mesh-wide one, so this lowers mutual TLS for every workload of the namespace even when the mesh is
STRICT. `UNSET` inherits the mesh-wide mode and is not reported here.

## Why it matters

Every workload in the namespace that has no workload-level policy of its own accepts plaintext
(PERMISSIVE) or only plaintext (DISABLE). Pods outside the mesh can reach them without an identity,
traffic can be read on the wire, and principal- or namespace-based authorization rules cannot be
enforced for plaintext requests.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: legacy
spec:
  mtls:
    mode: DISABLE
```

## Fix

Remove the namespace policy (inherit the mesh's STRICT mode) or set `mtls.mode: STRICT`. If one
workload or port really must accept plaintext, use a PeerAuthentication with a `selector` and
`portLevelMtls` for just that port.

## References

- Istio: PeerAuthentication reference — https://istio.io/latest/docs/reference/config/security/peer_authentication/
- Istio: Authentication policy (policy precedence) — https://istio.io/latest/docs/concepts/security/#peer-authentication
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let root = inv.istio.root_namespace();
    for policy in &inv.istio.peer_authentications {
        if policy.namespace == root || policy.spec.has_selector() {
            continue;
        }
        let mode = policy.spec.mode();
        if !matches!(mode, MtlsMode::Permissive | MtlsMode::Disable) {
            continue;
        }
        let object = inv.object(policy.object);
        let path = [Step::Key("spec"), Step::Key("mtls"), Step::Key("mode")];
        let workloads = inv.workloads_in(&policy.namespace).count();
        let effect = if mode == MtlsMode::Disable {
            "its workloads accept only plaintext"
        } else {
            "its workloads accept plaintext from any client"
        };
        out.push(
            Finding::new(
                &RULE,
                policy.object,
                object,
                &path,
                format!(
                    "PeerAuthentication {}/{} sets mode {} for the whole namespace `{}`: {effect}",
                    policy.namespace,
                    policy.name,
                    mode.as_str(),
                    policy.namespace
                ),
            )
            .key("mode")
            .evidence(format!(
                "no selector, so it applies to all {workloads} workload(s) of namespace {} that have no workload-level policy",
                policy.namespace
            ))
            .remediation(format!(
                "Delete PeerAuthentication {}/{} to inherit the mesh-wide mode, or set \
                 spec.mtls.mode: STRICT; confine any plaintext exception to one workload and port.",
                policy.namespace, policy.name
            )),
        );
    }
}
