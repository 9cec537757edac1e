//! CERT002: a certificate's validity has not started yet.

use super::describe::{date, describe, DAY};
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT002",
    name: "certificate-not-yet-valid",
    title: "Certificate not yet valid",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC7.1", "SOC2:A1.2", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

A certificate whose `notBefore` is still in the future. `high` for authorities (trust anchors,
signing CAs, intermediates, webhook CA bundles, other CAs), `medium` for leaf and gateway
certificates.

## Why it matters

Until `notBefore`, every verifier rejects the certificate, exactly as if it had expired. A future
`notBefore` usually means the certificate was made on a machine whose clock runs ahead, or was
deliberately post-dated. A mesh CA in that state makes istiod or Linkerd's identity service issue
workload certificates that no proxy accepts (or fail to start), and the outage lasts until the
date arrives or the CA is re-issued.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # notBefore 2026-01-04, three days from now
```

## Fix

Re-issue the certificate from a machine with a correct clock (NTP), with `notBefore` at or
slightly before the issuing time, and only then install it. Check the clocks of the machines that
run the CA tooling.

## References

- RFC 5280 §4.1.2.5 (validity) — https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5
- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Linkerd: Generating your own mTLS root certificates — https://linkerd.io/2/tasks/generate-certificates/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for u in unique_certificates(inv) {
        let cert = &u.cert;
        if cert.info.not_before <= ctx.now {
            continue;
        }
        let wait = (cert.info.not_before - ctx.now + DAY - 1) / DAY;
        let authority = cert.role.is_authority();
        let mut f = finding(
            &RULE,
            inv,
            &u,
            None,
            format!(
                "{} is not valid until {} ({wait} day(s) from now): every verifier rejects it until then",
                describe(inv, cert),
                date(cert.info.not_before)
            ),
        )
        .evidence(format!(
            "notBefore {}; likely made with a clock ahead of this cluster's",
            date(cert.info.not_before)
        ));
        f.severity = if authority {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(f);
    }
}
