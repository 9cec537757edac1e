//! CERT003: a certificate's public key is too weak.

use super::describe::describe;
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT003",
    name: "weak-certificate-key",
    title: "Certificate key too weak",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &[
        "SOC2:CC6.1",
        "PCI-DSS:4.2.1",
        "HIPAA:164.312(e)(2)(ii)",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A certificate whose public key is below current minimums:

- RSA shorter than 2048 bits: `high`; shorter than 1024 bits: `critical` (factorable today);
- elliptic-curve keys on curves below P-256 (P-192, P-224): `high`;
- DSA keys (any size): `high`.

## Why it matters

NIST SP 800-131A disallows RSA below 2048 bits and DSA for new signatures, and SP 800-57 rates
1024-bit RSA and 224-bit-or-smaller curves at under 112 bits of security. For a CA key this is the
worst case: whoever recovers the key of the mesh's signing CA or trust anchor can mint any
workload identity and pass every authorization policy. Modern TLS stacks also refuse such keys
(Go rejects RSA below 1024 bits; BoringSSL, which Envoy uses, has dropped DSA), so a weak key is
also a compatibility outage waiting for an upgrade.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # RSA 1024-bit key
```

## Fix

Re-issue the certificate with a new key: EC P-256 (or P-384) or RSA 2048 bits or more (3072 for
a root meant to last beyond 2030). For a CA, this is a CA rotation: add the new root to the trust
bundle before switching.

## References

- NIST SP 800-131A Rev. 2 (transitioning key lengths) — https://csrc.nist.gov/pubs/sp/800/131/a/r2/final
- NIST SP 800-57 Part 1 Rev. 5, Table 2 (security strengths) — https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final
- CA/Browser Forum Baseline Requirements §6.1.5 (key sizes) — https://cabforum.org/working-groups/server/baseline-requirements/requirements/
- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for u in unique_certificates(inv) {
        let info = u.cert.info;
        let alg = info.key_algorithm.as_str();
        let (severity, what) = if alg == "RSA" {
            match info.key_bits {
                Some(bits) if bits < 1024 => (
                    Severity::Critical,
                    format!("a {bits}-bit RSA key (factorable with public tools)"),
                ),
                Some(bits) if bits < 2048 => (
                    Severity::High,
                    format!("a {bits}-bit RSA key (below the 2048-bit minimum)"),
                ),
                _ => continue,
            }
        } else if matches!(alg, "EC P-192" | "EC P-224") {
            (
                Severity::High,
                format!(
                    "an {} key (under 112 bits of security; P-256 is the minimum)",
                    alg
                ),
            )
        } else if alg == "DSA" {
            (
                Severity::High,
                "a DSA key (disallowed for signatures by NIST SP 800-131A, unsupported by modern TLS stacks)".to_owned(),
            )
        } else {
            continue;
        };
        let impact = if u.cert.role.is_authority() {
            ": whoever recovers this CA key can mint any identity it vouches for"
        } else {
            ""
        };
        let mut f = finding(
            &RULE,
            inv,
            &u,
            None,
            format!("{} has {what}{impact}", describe(inv, &u.cert)),
        )
        .evidence(format!(
            "public key: {}{}",
            alg,
            info.key_bits
                .map(|b| format!(", {b} bits"))
                .unwrap_or_default()
        ));
        f.severity = severity;
        out.push(f);
    }
}
