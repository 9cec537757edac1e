//! CERT004: a certificate is signed with MD5 or SHA-1.

use super::describe::describe;
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT004",
    name: "weak-certificate-signature",
    title: "Certificate signed with MD5 or SHA-1",
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

A certificate whose issuer signed it with a broken hash:

- MD5 (or MD2): `critical` when the certificate is an authority (trust anchor, signing CA,
  intermediate, webhook CA, other CA), `high` otherwise;
- SHA-1: `high`.

A **self-signed** certificate (a root, or a certificate trusted by being pinned) is reported at
`medium` when it is a CA and `low` otherwise: nobody verifies a root's signature over itself — it
is trusted because it sits in the trust bundle, so a collision on that signature gains an attacker
nothing — but a SHA-1 or MD5 root marks a CA made with legacy tooling, and compliance regimes
(PCI DSS, FIPS-validated stacks) reject such signatures anywhere in a chain. Replace it at the next
rotation.

## Why it matters

Chosen-prefix collisions let an attacker who gets one certificate signed obtain a valid signature
on a different certificate: practical for MD5 since 2008 (a rogue CA certificate was made that
way) and for SHA-1 since 2020 (SHA-1 is a Shambles). If a mesh CA or intermediate carries such a
signature, or issues with it, a forged CA certificate can mint any workload identity. NIST SP
800-131A disallows SHA-1 for signature generation, and Go (since 1.18, so istiod, Linkerd's
identity service and the Kubernetes API server) rejects SHA-1 signatures when it verifies a chain,
so such a chain also breaks.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # sha1WithRSAEncryption, signed by the root
```

## Fix

Re-issue the certificate with a SHA-256 (or stronger) signature: `openssl ... -sha256`, or any
current tool (step, cfssl, cert-manager), which default to SHA-256. For the signing CA this is a
CA rotation; keep the root in the trust bundle while workloads roll.

## References

- NIST SP 800-131A Rev. 2, §9 (hash functions for signatures) — https://csrc.nist.gov/pubs/sp/800/131/a/r2/final
- CA/Browser Forum Baseline Requirements §7.1.3.2 (signature algorithms) — https://cabforum.org/working-groups/server/baseline-requirements/requirements/
- RFC 5280 §6.1 (path validation: the trust anchor's own signature is not verified) — https://www.rfc-editor.org/rfc/rfc5280#section-6.1
- SHA-1 is a Shambles (chosen-prefix collision, 2020) — https://sha-mbles.github.io/
"#,
    check,
};

#[derive(PartialEq)]
enum Hash {
    Md5,
    Sha1,
}

fn weak_hash(alg: &str) -> Option<Hash> {
    let a = alg.to_ascii_lowercase();
    if a.contains("md5")
        || a.contains("md2")
        || matches!(a.as_str(), "1.2.840.113549.1.1.4" | "1.2.840.113549.1.1.2")
    {
        Some(Hash::Md5)
    } else if a.contains("sha1")
        || a.contains("sha-1")
        || matches!(
            a.as_str(),
            "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" | "1.2.840.10040.4.3" | "1.2.840.10045.4.1"
        )
    {
        Some(Hash::Sha1)
    } else {
        None
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for u in unique_certificates(inv) {
        let info = u.cert.info;
        let Some(hash) = weak_hash(&info.signature_algorithm) else {
            continue;
        };
        let name = if hash == Hash::Md5 { "MD5" } else { "SHA-1" };
        let authority = u.cert.role.is_authority();
        let (severity, effect) = if info.self_signed {
            (
                if info.is_ca == Some(true) || authority {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                "it is self-signed, so that signature is never relied on (it is trusted by being in the bundle); replace it at the next rotation".to_owned(),
            )
        } else if hash == Hash::Md5 {
            (
                if authority {
                    Severity::Critical
                } else {
                    Severity::High
                },
                format!(
                    "MD5 collisions are practical: a forged certificate can carry {}'s signature",
                    info.issuer
                ),
            )
        } else {
            (
                Severity::High,
                "SHA-1 chosen-prefix collisions are practical, and Go-based verifiers (istiod, the API server) reject SHA-1 signatures".to_owned(),
            )
        };
        let mut f = finding(
            &RULE,
            inv,
            &u,
            None,
            format!(
                "{} is signed with {name} ({}): {effect}",
                describe(inv, &u.cert),
                info.signature_algorithm
            ),
        );
        f.severity = severity;
        out.push(f);
    }
}
