//! CERT001: a certificate the mesh relies on is expired or expires soon.

use meshaudit_engine::certificates::CertRole;

use super::describe::{date, describe, DAY};
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT001",
    name: "certificate-expiry",
    title: "Certificate expired or expiring soon",
    category: Category::Certificates,
    severity: Severity::Critical,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &[
        "SOC2:CC7.1",
        "SOC2:A1.2",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
        "NIST-800-204B:AC-2",
    ],
    doc: r#"
## What it detects

Any certificate in the input (Secrets, ConfigMaps, webhook `caBundle`s) whose `notAfter` has
passed or falls within the expiry thresholds (defaults 7, 30 and 60 days, configurable).

- An **authority** (a trust anchor such as Istio's `root-cert.pem` or Linkerd's trust roots, a
  signing CA such as `ca-cert.pem` or Linkerd's issuer, a chain intermediate, a webhook CA bundle,
  any other CA): `critical` when expired or within 7 days, `high` within 30, `medium` within 60.
- A **gateway serving certificate** (named by a Gateway `credentialName`): `critical` once
  expired, `high` within 30 days, `medium` within 60.
- Any **other leaf** certificate: `high` once expired, `high` within 30 days, `medium` within 60.

The same certificate repeated in one resource (a `cert-chain.pem` that copies `ca-cert.pem`) is
reported once.

## Why it matters

An expired authority breaks every identity it vouches for at the same moment: when Istio's root or
signing CA expires, every sidecar rejects every peer and the mesh stops (istio/istio#14516 — the
self-signed root expiring silently after a year); when Linkerd's issuer expires, the identity
service cannot issue certificates and proxies fail as their workload certificates lapse
(linkerd/linkerd2#9612, where `linkerd check` still passed days before). The defaults say why:
rotating a CA is a planned change (new intermediate, overlap in the trust bundle, rolling
restarts), so 7 days left for a CA is already an emergency and 30 days is the last comfortable
window; 60 days gives a quarter's planning notice. An expired gateway certificate takes the
public edge down for every client, which is why it is critical; another leaf breaks one service.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # notAfter 2026-01-06: 5 days left
  root-cert.pem: LS0tLS1CRUdJTi...
```

## Fix

Renew the certificate before it expires, and automate it: issue the mesh CA from cert-manager
(istio-csr or a `Certificate` for `cacerts`, Linkerd's documented cert-manager setup for the
issuer) with a `renewBefore` that leaves weeks, not days. For a root, add the new root to the trust
bundle first, roll workloads, then switch the signing CA.

## References

- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Istio issue #14516 (self-signed root expiry) — https://github.com/istio/istio/issues/14516
- Linkerd: Automatically rotating control plane TLS credentials — https://linkerd.io/2/tasks/automatically-rotating-control-plane-tls-credentials/
- Linkerd: Manually rotating the trust anchor — https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/
- NIST SP 800-57 Part 1 Rev. 5, §5.3 (cryptoperiods) — https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let t = ctx.expiry;
    for u in unique_certificates(inv) {
        let cert = &u.cert;
        let days = cert.days_left(ctx.now);
        let expired = cert.info.not_after <= ctx.now;
        let authority = cert.role.is_authority();
        // A certificate cert-manager renews is only a problem once its renewal is overdue:
        // short-lived issuers (Linkerd's documented 48h issuer) are always "days from expiry".
        if !expired {
            if let Some(renew_at) = managed_renewal_time(inv, cert) {
                if ctx.now < renew_at {
                    continue;
                }
            }
        }
        let severity = if expired {
            if authority || cert.role == CertRole::GatewayServing {
                Severity::Critical
            } else {
                Severity::High
            }
        } else if authority && days < t.critical_days {
            Severity::Critical
        } else if days < t.high_days {
            Severity::High
        } else if days < t.medium_days {
            Severity::Medium
        } else {
            continue;
        };
        let when = if expired {
            format!(
                "expired on {} ({} day(s) ago)",
                date(cert.info.not_after),
                (ctx.now - cert.info.not_after) / DAY
            )
        } else {
            format!(
                "expires on {} ({days} day(s) left)",
                date(cert.info.not_after)
            )
        };
        let effect = match (cert.role, expired) {
            (CertRole::TrustAnchor, _) => "every identity that chains to it stops verifying",
            (CertRole::SigningCa | CertRole::ChainIntermediate, _) => {
                "workload certificates it issued stop verifying and no new ones can be issued"
            }
            (CertRole::WebhookCa, _) => "the API server stops trusting the webhook",
            (CertRole::GatewayServing, true) => "clients of the gateway get TLS errors now",
            (CertRole::GatewayServing, false) => "clients of the gateway will get TLS errors",
            (CertRole::OtherCa, _) => "certificates it issued stop verifying",
            (CertRole::Leaf, true) => "peers reject it now",
            (CertRole::Leaf, false) => "peers will reject it",
        };
        let mut f = finding(
            &RULE,
            inv,
            &u,
            None,
            format!("{} {when}: {effect}", describe(inv, cert)),
        )
        .evidence(format!(
            "thresholds: critical within {} days (authorities), high within {}, medium within {}",
            t.critical_days, t.high_days, t.medium_days
        ));
        f.severity = severity;
        out.push(f);
    }
}

/// When cert-manager should have renewed `cert`, if a Certificate manages its Secret:
/// `notAfter - renewBefore` (or the percentage, or cert-manager's default of a third of the
/// lifetime).
fn managed_renewal_time(
    inv: &meshaudit_model::Inventory,
    cert: &meshaudit_engine::certificates::CertificateRef<'_>,
) -> Option<i64> {
    let object = inv.object(cert.object);
    if object.kind != "Secret" {
        return None;
    }
    let namespace = object.namespace.as_deref()?;
    let managed = inv
        .cert_manager
        .certificate_for_secret(namespace, &object.name);
    let annotated = object
        .annotations
        .contains_key("cert-manager.io/certificate-name");
    if managed.is_none() && !annotated {
        return None;
    }
    let lifetime = (cert.info.not_after - cert.info.not_before).max(0);
    let window = match managed.map(|c| &c.spec) {
        Some(spec) => match (spec.renew_before, spec.renew_before_percentage) {
            (Some(d), _) => d.secs(),
            (None, Some(p)) if (1..=99).contains(&p) => lifetime * p / 100,
            _ => lifetime / 3,
        },
        None => lifetime / 3,
    };
    Some(cert.info.not_after - window)
}
