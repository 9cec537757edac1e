//! CERT005: an X.509 version 1 certificate.

use super::describe::describe;
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT005",
    name: "certificate-version-one",
    title: "X.509 version 1 certificate",
    category: Category::Certificates,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.1", "PCI-DSS:4.2.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

A certificate of X.509 version 1 (or 2), which cannot carry extensions: no basicConstraints, no
keyUsage, no subject alternative names, no key identifiers. `high` when the certificate plays an
authority role (trust anchor, signing CA, intermediate, webhook CA, other CA), `medium` otherwise.

CERT007 (CA constraints) does not report the missing basicConstraints of a v1 certificate again.

## Why it matters

A v1 CA cannot be constrained: nothing limits what it may sign or how deep a chain below it may go,
and verifiers have to guess whether it is a CA at all (RFC 5280 allows v1 roots only as locally
configured trust anchors). A v1 leaf has no subjectAltName, so it carries no SPIFFE identity and
no DNS names that modern clients check (hostname checks on the Common Name were removed from Go and
browsers). v1 certificates come from old `openssl x509 -req` invocations without an extensions
file: a sign the PKI process was never reviewed.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  root-cert.pem: LS0tLS1CRUdJTi...   # Version: 1, no extensions
```

## Fix

Re-issue the certificate as v3 with the extensions its role needs: `basicConstraints=critical,
CA:TRUE` and `keyUsage=critical, keyCertSign, cRLSign` for a CA; `basicConstraints=CA:FALSE`,
`keyUsage=digitalSignature` and the subjectAltNames for a leaf (`openssl x509 -req -extfile ...
-extensions ...`, or step / cfssl / cert-manager, which always make v3).

## References

- RFC 5280 §4.1.2.1 (version) and §6.1 (v1 trust anchors) — https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.1
- CA/Browser Forum Baseline Requirements §7.1.1 (version 3 required) — https://cabforum.org/working-groups/server/baseline-requirements/requirements/
- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for u in unique_certificates(inv) {
        let version = u.cert.info.version;
        if version >= 3 {
            continue;
        }
        let authority = u.cert.role.is_authority();
        let effect = if authority {
            "it has no basicConstraints or keyUsage, so nothing limits what this CA may sign"
        } else {
            "it has no extensions: no subjectAltName, no key usage, no CA:FALSE"
        };
        let mut f = finding(
            &RULE,
            inv,
            &u,
            None,
            format!(
                "{} is an X.509 v{version} certificate: {effect}",
                describe(inv, &u.cert)
            ),
        );
        f.severity = if authority {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(f);
    }
}
