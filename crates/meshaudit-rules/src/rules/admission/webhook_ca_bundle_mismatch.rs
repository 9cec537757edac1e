//! ADM010: a webhook's `caBundle` does not vouch for the serving certificate the input shows
//! for the webhook's Service.

use meshaudit_ingest::certs::issued_by;
use meshaudit_model::k8s::Secret;
use meshaudit_model::CertificateInfo;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::webhooks::Role;

pub static RULE: Rule = Rule {
    code: "ADM010",
    name: "webhook-ca-bundle-mismatch",
    title: "Webhook CA bundle does not trust the webhook's serving certificate",
    category: Category::Admission,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd, Mesh::Istio, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:CC6.8", "SOC2:CC6.7", "PCI-DSS:2.2.1", "PCI-DSS:4.2.1"],
    doc: r#"
## What it detects

A webhook called through `clientConfig.service` whose `caBundle` holds certificates, when the
input also holds the webhook's serving certificate — a TLS Secret in the Service's namespace with
a certificate for `<service>.<namespace>.svc` (Linkerd's `linkerd-proxy-injector-k8s-tls`,
Gatekeeper's `gatekeeper-webhook-server-cert`, a cert-manager Certificate's Secret, ...) — and no
certificate of the bundle is that certificate, its issuer, or the issuer of a certificate of its
chain in the same Secret. A bundle certificate is an issuer when the certificate names it as its
issuer and its signature verifies with that certificate's key (names alone never decide; when the
signature uses an algorithm meshaudit cannot verify, names and key identifiers do).

Severity: `high` for mesh and policy-engine webhooks and for any webhook failing closed, `medium`
otherwise. Expiry of the bundle itself is CERT001's.

## Why it matters

The API server trusts exactly the bundle. After a webhook certificate is rotated by hand (a new
self-signed certificate from a re-run `helm template`, a new cert-manager issuer) without the
bundle following, every call fails TLS verification: a `Fail` webhook then rejects everything it
matches — no pod starts in injected namespaces — and an `Ignore` webhook is silently skipped, so
pods start without a sidecar and policies go unenforced. Nothing else reports it: the webhook
itself is healthy.

## Example

```yaml
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: linkerd-proxy-injector-webhook-config
webhooks:
- name: linkerd-proxy-injector.linkerd.io
  clientConfig:
    service: {name: linkerd-proxy-injector, namespace: linkerd}
    caBundle: LS0t...   # the previous certificate; Secret linkerd-proxy-injector-k8s-tls was renewed
```

## Fix

Put the CA that issued the current serving certificate into `caBundle` — better, let it be
managed: cert-manager's CA injector (`cert-manager.io/inject-ca-from`), Linkerd's `injectCaFrom`
values, the product's own patching controller.

## References

- Kubernetes: Dynamic Admission Control, contacting the webhook (caBundle) — https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook
- Linkerd: Automatically rotating webhook TLS credentials — https://linkerd.io/2/tasks/automatically-rotating-webhook-tls-credentials/
- cert-manager: CA injector — https://cert-manager.io/docs/concepts/ca-injector/
"#,
    check,
};

/// Does `ca` vouch for `cert`: the same certificate, or its issuer — decided by signature
/// (names alone never link two certificates; a re-generated CA with the same name does not
/// vouch for certificates the old one issued).
fn vouches(ca: &CertificateInfo, cert: &CertificateInfo) -> bool {
    ca.fingerprint_sha256 == cert.fingerprint_sha256 || issued_by(cert, ca).linked()
}

/// The TLS Secret serving `service.namespace.svc`, and that certificate's index in it.
fn serving_secret<'i>(
    secrets: &'i [Secret],
    namespace: &str,
    service: &str,
) -> Option<(&'i Secret, usize)> {
    let names = [
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ];
    secrets
        .iter()
        .filter(|s| s.namespace == namespace)
        .find_map(|s| {
            s.certificates
                .iter()
                .position(|c| {
                    c.is_ca != Some(true) && c.dns_names.iter().any(|d| names.contains(d))
                })
                .map(|i| (s, i))
        })
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for h in ctx.webhooks() {
        let cc = &h.hook.client_config;
        let Some(svc) = &cc.service else { continue };
        if cc.ca_bundle_certificates.is_empty() {
            continue;
        }
        let Some((secret, leaf)) = serving_secret(&inv.secrets, &svc.namespace, &svc.name) else {
            continue;
        };
        let serving = &secret.certificates[leaf];
        // The serving certificate and the rest of its Secret's chain: the bundle may hold any
        // issuer up the chain.
        let trusted = std::iter::once(serving)
            .chain(secret.certificates.iter())
            .any(|c| cc.ca_bundle_certificates.iter().any(|ca| vouches(ca, c)));
        if trusted {
            continue;
        }
        let security = h.product.is_some() && h.role != Role::Other;
        let severity = if security || !h.fails_open(inv) {
            Severity::High
        } else {
            Severity::Medium
        };
        let effect = match (h.fails_open(inv), h.role) {
            (true, Role::Injector) => {
                "failurePolicy Ignore then lets every pod start without a proxy"
            }
            (true, _) => "failurePolicy Ignore then admits every request unchecked",
            (false, _) => "failurePolicy Fail then rejects every request it matches",
        };
        let bundle: Vec<String> = cc
            .ca_bundle_certificates
            .iter()
            .map(|c| format!("{} (issuer {})", c.subject, c.issuer))
            .collect();
        let mut f = Finding::new(
                &RULE,
                h.config.object,
                h.object(inv),
                &h.path(&["clientConfig", "caBundle"]),
                format!(
                    "{}: its caBundle does not trust the serving certificate of Service {}/{} (Secret {}/{}), so the API server's calls fail TLS verification; {effect}",
                    h.describe(),
                    svc.namespace,
                    svc.name,
                    secret.namespace,
                    secret.name
                ),
            )
            .key(h.key("clientConfig.caBundle"))
            .evidence(format!(
                "serving certificate {}: subject {}, issuer {}, names {}",
                serving.source,
                serving.subject,
                serving.issuer,
                serving.dns_names.join(", ")
            ))
            .evidence(format!("caBundle holds: {}", bundle.join("; ")))
            .remediation(format!(
                "Set caBundle of {} to the CA that issued Secret {}/{}'s certificate, or let cert-manager's CA injector manage it.",
                h.describe(),
                secret.namespace,
                secret.name
            ))
            .with_mesh(h.product.map_or(Mesh::Kubernetes, |p| p.mesh()))
            .with_severity(severity);
        if let Some(namesake) = cc
            .ca_bundle_certificates
            .iter()
            .find(|c| c.subject == serving.issuer)
        {
            f = f.evidence(format!(
                "the bundle's {} has the issuer's name but another key (subject key id {}, the certificate names authority key id {}): the CA was re-generated",
                namesake.subject,
                namesake.subject_key_id.as_deref().unwrap_or("none"),
                serving.authority_key_id.as_deref().unwrap_or("none")
            ));
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshaudit_ingest::certs::certificates_in;

    fn cert(
        cn: &str,
        issuer: Option<(&rcgen::CertificateParams, &rcgen::KeyPair)>,
    ) -> (rcgen::CertificateParams, rcgen::KeyPair, CertificateInfo) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.svc")]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let der = match issuer {
            None => params.self_signed(&key).unwrap(),
            Some((p, k)) => params
                .signed_by(&key, &rcgen::Issuer::from_params(p, k))
                .unwrap(),
        };
        let info = certificates_in("tls.crt", der.der()).remove(0);
        (params, key, info)
    }

    #[test]
    fn signatures_decide_not_names() {
        let (ca_p, ca_k, ca) = cert("ca", None);
        let (_, _, leaf) = cert("webhook", Some((&ca_p, &ca_k)));
        assert!(vouches(&ca, &leaf));
        // Same name, another key: a re-generated CA does not vouch for the old leaf.
        let (_, _, regenerated) = cert("ca", None);
        assert!(!vouches(&regenerated, &leaf));
        // Another CA altogether.
        let (_, _, other) = cert("other", None);
        assert!(!vouches(&other, &leaf));
        // The certificate itself (a self-signed serving certificate) vouches for itself.
        assert!(vouches(&leaf, &leaf));
        assert!(vouches(&ca, &ca));
    }
}
