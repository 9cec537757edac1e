//! CERT006: a certificate's lifetime is too long for its role.

use meshaudit_engine::certificates::CertRole;

use super::describe::{date, describe, DAY};
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT006",
    name: "certificate-lifetime-too-long",
    title: "Certificate lifetime too long for its role",
    category: Category::Certificates,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.1", "PCI-DSS:4.2.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

A certificate whose lifetime (`notAfter` − `notBefore`) exceeds the limit for its role:

| role | limit | severity |
|---|---|---|
| leaf or gateway serving certificate | 398 days | `medium` |
| signing CA, chain intermediate, other CA, webhook CA | 5 years | `low` |
| trust anchor (root), or any self-signed CA | 10 years | `low` |

## Why it matters

A long-lived certificate is a long-lived key: if it leaks, it stays useful until it expires (and
revocation is rarely checked inside a mesh). 398 days is the CA/Browser Forum maximum for publicly
trusted server certificates, a sane ceiling for any serving certificate; a certificate that lives
years also means renewal is manual and forgotten (then it expires in an outage). NIST SP 800-57
suggests cryptoperiods of one to a few years for CA signing keys; intermediates of up to five
years and roots of up to ten are common practice. Beyond that, the key outlives the algorithms and
people that made it.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: shop-cert
  namespace: istio-system
type: kubernetes.io/tls
data:
  tls.crt: LS0tLS1CRUdJTi...   # valid 730 days, served by a Gateway
```

## Fix

Issue shorter-lived certificates and automate renewal (cert-manager `Certificate` with `duration`
and `renewBefore`; istio-csr; Linkerd's cert-manager setup for the issuer). Keep long lifetimes
for the offline root only.

## References

- CA/Browser Forum Baseline Requirements §6.3.2 (398-day maximum) — https://cabforum.org/working-groups/server/baseline-requirements/requirements/
- NIST SP 800-57 Part 1 Rev. 5, §5.3.6 (cryptoperiods) — https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final
- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Linkerd: Automatically rotating control plane TLS credentials — https://linkerd.io/2/tasks/automatically-rotating-control-plane-tls-credentials/
"#,
    check,
};

const LEAF_DAYS: i64 = 398;
// Calendar years: up to two (or three) leap days, plus a day of issuing slack.
const CA_DAYS: i64 = 5 * 365 + 3;
const ROOT_DAYS: i64 = 10 * 365 + 4;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for u in unique_certificates(inv) {
        let info = u.cert.info;
        let lifetime = (info.not_after - info.not_before) / DAY;
        // A self-signed authority (Istio's istio-ca-secret, a webhook's own root) is a root.
        let role = if u.cert.role.is_authority() && info.self_signed {
            CertRole::TrustAnchor
        } else {
            u.cert.role
        };
        let (limit, limit_words, severity, why) = match role {
            CertRole::Leaf | CertRole::GatewayServing => (
                LEAF_DAYS,
                "398 days",
                Severity::Medium,
                "the CA/Browser Forum maximum for serving certificates",
            ),
            CertRole::TrustAnchor => (
                ROOT_DAYS,
                "10 years",
                Severity::Low,
                "a common ceiling for an offline root",
            ),
            CertRole::SigningCa
            | CertRole::ChainIntermediate
            | CertRole::OtherCa
            | CertRole::WebhookCa => (
                CA_DAYS,
                "5 years",
                Severity::Low,
                "a common ceiling for an intermediate or signing CA (NIST SP 800-57 cryptoperiods)",
            ),
        };
        if lifetime <= limit {
            continue;
        }
        let years = lifetime as f64 / 365.0;
        let mut f = finding(
            &RULE,
            inv,
            &u,
            None,
            format!(
                "{} is valid for {lifetime} days ({years:.1} years, {} to {}), over the {limit_words} limit for its role: a leaked key stays usable that long",
                describe(inv, &u.cert),
                date(info.not_before),
                date(info.not_after)
            ),
        )
        .evidence(format!("limit {limit_words}: {why}"));
        f.severity = severity;
        out.push(f);
    }
}
