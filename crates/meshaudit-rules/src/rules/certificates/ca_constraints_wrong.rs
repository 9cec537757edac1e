//! CERT007: basicConstraints / keyUsage do not fit the certificate's role.

use meshaudit_engine::certificates::CertRole;

use super::describe::describe;
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT007",
    name: "ca-constraints-wrong",
    title: "CA constraints wrong for the certificate's role",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.1", "PCI-DSS:4.2.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

The basicConstraints and keyUsage extensions (RFC 5280 §4.2.1.9, §4.2.1.3) do not match the role
the mesh gives the certificate:

- an **authority** (trust anchor, signing CA such as Istio's `ca-cert.pem` or Linkerd's issuer,
  chain intermediate, other CA) without `basicConstraints CA:TRUE`: `high`;
- an authority whose keyUsage lacks `keyCertSign`: `high`; with no keyUsage extension at all:
  `medium` (RFC 5280 requires it, but common verifiers tolerate its absence);
- a **leaf** (gateway serving certificate, other leaf) with `CA:TRUE`: `high`; with `keyCertSign`
  but not `CA:TRUE`: `medium`.

Not reported: a `pathLenConstraint` of 0 on a signing CA (it only signs workload leaves, which is
exactly what 0 allows); webhook `caBundle`s (the API server accepts a self-signed serving
certificate pinned there as its own trust anchor); v1 certificates, which have no extensions and
are reported by CERT005.

## Why it matters

A CA certificate without CA:TRUE or keyCertSign cannot sign: verifiers (Go's crypto/x509,
BoringSSL in Envoy) reject every chain through it, so istiod or Linkerd's identity service issues
certificates no proxy accepts — an outage at the next rotation. The opposite is a security hole: a
serving certificate with CA:TRUE and keyCertSign is a CA; whoever steals it from the gateway (the
most exposed workload) can mint certificates that clients trusting its issuer chain accept.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # basicConstraints: CA:FALSE
```

## Fix

Re-issue the certificate with the extensions of its role. A CA: `basicConstraints=critical,CA:TRUE`
(add `pathlen:0` for a CA that signs only leaves) and `keyUsage=critical,keyCertSign,cRLSign`
(plus `digitalSignature` for Linkerd's issuer). A leaf: `basicConstraints=critical,CA:FALSE`,
`keyUsage=critical,digitalSignature,keyEncipherment` and an extendedKeyUsage of `serverAuth` /
`clientAuth`.

## References

- RFC 5280 §4.2.1.9 (basicConstraints) and §4.2.1.3 (keyUsage) — https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.9
- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Linkerd: Generating your own mTLS root certificates — https://linkerd.io/2/tasks/generate-certificates/
- CA/Browser Forum Baseline Requirements §7.1.2 (certificate profiles) — https://cabforum.org/working-groups/server/baseline-requirements/requirements/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for u in unique_certificates(inv) {
        let info = u.cert.info;
        if info.version < 3 {
            continue;
        }
        let cert_sign = info.key_usage.iter().any(|k| k == "keyCertSign");
        let mut push = |aspect: &str, severity: Severity, message: String, why: &str| {
            let mut f = finding(&RULE, inv, &u, Some(aspect), message).evidence(why.to_owned());
            f.severity = severity;
            out.push(f);
        };
        match u.cert.role {
            CertRole::TrustAnchor
            | CertRole::SigningCa
            | CertRole::ChainIntermediate
            | CertRole::OtherCa => {
                let what = describe(inv, &u.cert);
                if info.is_ca != Some(true) {
                    let bc = if info.is_ca == Some(false) {
                        "basicConstraints CA:FALSE"
                    } else {
                        "no basicConstraints extension"
                    };
                    push(
                        "basicConstraints",
                        Severity::High,
                        format!(
                            "{what} has {bc}: it is not a CA, so verifiers reject every certificate chained through it"
                        ),
                        "RFC 5280 §4.2.1.9: a certificate that signs certificates must assert CA:TRUE",
                    );
                }
                if info.key_usage.is_empty() {
                    push(
                        "keyUsage",
                        Severity::Medium,
                        format!(
                            "{what} has no keyUsage extension: RFC 5280 requires keyCertSign on a CA certificate, and strict verifiers reject it"
                        ),
                        "RFC 5280 §4.2.1.3: conforming CAs MUST include keyUsage with keyCertSign in CA certificates",
                    );
                } else if !cert_sign {
                    push(
                        "keyCertSign",
                        Severity::High,
                        format!(
                            "{what} has keyUsage {} without keyCertSign: its signatures on certificates are rejected",
                            info.key_usage.join(", ")
                        ),
                        "RFC 5280 §4.2.1.3: keyCertSign must be set for a key that verifies certificate signatures",
                    );
                }
            }
            CertRole::GatewayServing | CertRole::Leaf => {
                let what = describe(inv, &u.cert);
                if info.is_ca == Some(true) {
                    push(
                        "basicConstraints",
                        Severity::High,
                        format!(
                            "{what} has basicConstraints CA:TRUE{}: a serving certificate that can mint certificates; whoever steals its key becomes a CA",
                            if cert_sign { " and keyCertSign" } else { "" }
                        ),
                        "a leaf must be CA:FALSE (RFC 5280 §4.2.1.9) so that its key cannot issue certificates",
                    );
                } else if cert_sign {
                    push(
                        "keyCertSign",
                        Severity::Medium,
                        format!(
                            "{what} has keyUsage keyCertSign without CA:TRUE: verifiers reject what it signs today, but the key was meant to sign certificates"
                        ),
                        "RFC 5280 §4.2.1.3: keyCertSign only belongs on CA certificates",
                    );
                }
            }
            CertRole::WebhookCa => {}
        }
    }
}
