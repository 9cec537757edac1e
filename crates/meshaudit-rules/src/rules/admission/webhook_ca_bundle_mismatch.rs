//! ADM010: a webhook's `caBundle` does not vouch for the serving certificate the input shows
//! for the webhook's Service.

use meshaudit_model::k8s::Secret;
use meshaudit_model::CertificateInfo;

use super::common::{FindingExt, Role};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

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
chain in the same Secret. Issuers are matched by authority/subject key identifier, else by name.

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

/// Does `ca` vouch for `cert`: the same certificate, or its issuer?
fn vouches(ca: &CertificateInfo, cert: &CertificateInfo) -> bool {
    if ca.fingerprint_sha256 == cert.fingerprint_sha256 {
        return true;
    }
    match (&cert.authority_key_id, &ca.subject_key_id) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => ca.subject == cert.issuer,
    }
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

    fn cert(subject: &str, issuer: &str, ski: Option<&str>, aki: Option<&str>) -> CertificateInfo {
        CertificateInfo {
            source: "tls.crt".into(),
            subject: subject.into(),
            issuer: issuer.into(),
            serial: "1".into(),
            not_before: 0,
            not_after: 1,
            version: 3,
            is_ca: None,
            self_signed: subject == issuer,
            dns_names: Vec::new(),
            uris: Vec::new(),
            ip_addresses: Vec::new(),
            key_algorithm: "EC".into(),
            key_bits: Some(256),
            signature_algorithm: "ecdsa-with-SHA256".into(),
            key_usage: Vec::new(),
            extended_key_usage: Vec::new(),
            path_len: None,
            subject_key_id: ski.map(str::to_owned),
            authority_key_id: aki.map(str::to_owned),
            fingerprint_sha256: format!("{subject}|{ski:?}"),
            public_key_sha256: String::new(),
        }
    }

    #[test]
    fn key_identifiers_decide_over_names() {
        let leaf = cert("CN=webhook", "CN=ca", Some("11"), Some("aa"));
        assert!(vouches(&cert("CN=ca", "CN=ca", Some("aa"), None), &leaf));
        // Same name, another key: a re-generated CA does not vouch for the old leaf.
        assert!(!vouches(&cert("CN=ca", "CN=ca", Some("bb"), None), &leaf));
        // Without key identifiers, the issuer name decides.
        let plain = cert("CN=webhook", "CN=ca", None, None);
        assert!(vouches(&cert("CN=ca", "CN=ca", None, None), &plain));
        assert!(!vouches(&cert("CN=other", "CN=other", None, None), &plain));
        // The certificate itself (a self-signed serving certificate) vouches for itself.
        assert!(vouches(&leaf, &leaf));
    }
}
