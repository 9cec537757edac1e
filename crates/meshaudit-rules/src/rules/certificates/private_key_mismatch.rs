//! CERT014: a Secret's private key does not belong to the certificate next to it.

use meshaudit_engine::certificates::{certificates, CertRole};
use meshaudit_model::k8s::Secret;
use meshaudit_model::Step;

use super::describe::{role_words, subject};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT014",
    name: "private-key-mismatch",
    title: "Private key does not match its certificate",
    category: Category::Certificates,
    severity: Severity::Critical,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul, Mesh::Kubernetes],
    compliance: &["SOC2:A1.2", "SOC2:CC6.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

A Secret whose private key is not the key of the certificate stored beside it:

- `tls.key` with `tls.crt` (`kubernetes.io/tls` Secrets: gateway credentials, Linkerd's issuer
  when made by cert-manager, webhook serving certificates);
- `ca-key.pem` with `ca-cert.pem` (Istio's plug-in CA `cacerts` and self-signed
  `istio-ca-secret`);
- `key.pem` with `crt.pem` (Linkerd's `linkerd-identity-issuer`), and in general `X.key` with
  `X.crt` and `X-key.pem` with `X-cert.pem`.

At ingest meshaudit derives the public key from each private key (PEM `PRIVATE KEY` PKCS#8,
`RSA PRIVATE KEY` PKCS#1, `EC PRIVATE KEY` SEC1) and keeps only the SHA-256 of that public key;
the rule compares it with the certificate's subjectPublicKeyInfo hash. The private key itself is
never kept, logged or printed. Keys whose public half cannot be derived without arithmetic (an EC
key saved without its public point, an Ed25519 key without its public key) and encrypted keys are
not compared.

`critical` when the certificate is an authority (Istio's signing CA, Linkerd's issuer, any CA):
the mesh cannot issue workload certificates. `high` for a gateway serving certificate or another
leaf: that TLS listener cannot start. The finding points at the key field.

## Why it matters

A key and certificate that do not belong together cannot be used at all. istiod refuses to load a
plug-in CA whose `ca-key.pem` does not match `ca-cert.pem` (or falls back to a self-signed CA), so
no workload can get or renew a certificate; Linkerd's identity service fails to start with a
mismatched issuer key; Envoy rejects a gateway credential whose key does not match, and the HTTPS
listener is never served. This is the usual result of rotating the certificate but pasting the
old key (or the other way round), and it only shows when the component restarts.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # the new intermediate
  ca-key.pem: LS0tLS1CRUdJTi...    # the previous intermediate's key
  root-cert.pem: LS0tLS1CRUdJTi...
  cert-chain.pem: LS0tLS1CRUdJTi...
```

## Fix

Store the key that was generated with the certificate's request, together with that certificate,
in one update (`kubectl create secret generic cacerts --from-file=...` or `kubectl create secret
tls`). Check a pair before applying it: `openssl x509 -noout -pubkey -in ca-cert.pem` and `openssl
pkey -pubout -in ca-key.pem` must print the same public key. Let cert-manager write both halves
where it can.

## References

- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Istio: Secure gateways (credentialName with tls.crt and tls.key) — https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/
- Linkerd: Generating your own mTLS root certificates — https://linkerd.io/2/tasks/generate-certificates/
- Kubernetes: TLS Secrets — https://kubernetes.io/docs/concepts/configuration/secret/#tls-secrets
- RFC 5280 §4.1.2.7 (subjectPublicKeyInfo) — https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.7
"#,
    check,
};

/// The certificate keys a private-key key pairs with, most specific first.
fn certificate_keys(key: &str) -> Vec<String> {
    let mut out: Vec<String> = match key {
        "tls.key" => vec!["tls.crt".into()],
        "ca-key.pem" => vec!["ca-cert.pem".into()],
        "key.pem" => vec!["crt.pem".into(), "cert.pem".into(), "tls.crt".into()],
        "ca.key" => vec!["ca.crt".into()],
        _ => Vec::new(),
    };
    if let Some(stem) = key.strip_suffix(".key") {
        out.push(format!("{stem}.crt"));
    }
    if let Some(stem) = key.strip_suffix("-key.pem") {
        out.push(format!("{stem}-cert.pem"));
        out.push(format!("{stem}.pem"));
    }
    if let Some(stem) = key.strip_suffix("_key") {
        out.push(format!("{stem}_cert"));
    }
    out.dedup();
    out
}

/// Where the key's entry is: `data` or `stringData`.
fn field_of(inv: &meshaudit_model::Inventory, secret: &Secret, key: &str) -> &'static str {
    let node = &inv.object(secret.object).node;
    if node.get("data").and_then(|d| d.get(key)).is_some() {
        "data"
    } else if node.get("stringData").and_then(|d| d.get(key)).is_some() {
        "stringData"
    } else {
        "data"
    }
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let certs = certificates(inv);
    for secret in &inv.secrets {
        for (key_name, key_hash) in &secret.private_key_public_sha256 {
            // The first certificate (the leaf of a chain file) of the paired key.
            let Some(cert) = certificate_keys(key_name).iter().find_map(|ck| {
                certs
                    .iter()
                    .find(|c| c.object == secret.object && c.key == *ck)
            }) else {
                continue;
            };
            if cert.info.public_key_sha256 == *key_hash {
                continue;
            }
            let authority = cert.role.is_authority();
            let effect = match (cert.role, cert.mesh) {
                (CertRole::SigningCa | CertRole::TrustAnchor, Mesh::Istio) => {
                    "istiod cannot load this CA, so it cannot sign (or renew) workload certificates"
                }
                (CertRole::SigningCa | CertRole::TrustAnchor, Mesh::Linkerd) => {
                    "Linkerd's identity service cannot issue workload certificates with it"
                }
                (CertRole::GatewayServing, _) => {
                    "the gateway cannot load the credential, so its TLS listener fails"
                }
                _ if authority => "nothing can be signed with this CA",
                _ => "whatever serves this certificate cannot complete a TLS handshake",
            };
            let place = format!("Secret {}/{}", secret.namespace, secret.name);
            let field = field_of(inv, secret, key_name);
            let path = [Step::Key(field), Step::Key(key_name)];
            let mut f = Finding::new(
                &RULE,
                secret.object,
                inv.object(secret.object),
                &path,
                format!(
                    "the private key in {key_name} of {place} does not belong to {} ({}, {}): {effect}",
                    cert.key,
                    subject(cert),
                    role_words(cert.role)
                ),
            )
            .key(format!("{}:{key_name}", cert.key))
            .evidence(format!(
                "role: {} ({})",
                cert.role.as_str(),
                cert.role_because
            ))
            .evidence(format!(
                "public key SHA-256 of {}: {}…; of the key in {key_name}: {}… (the private key itself is not kept)",
                cert.key,
                short(&cert.info.public_key_sha256),
                short(key_hash)
            ));
            f.mesh = cert.mesh;
            f.severity = if authority {
                Severity::Critical
            } else {
                Severity::High
            };
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::certificate_keys;

    #[test]
    fn pairs() {
        assert_eq!(certificate_keys("tls.key"), vec!["tls.crt"]);
        assert_eq!(
            certificate_keys("ca-key.pem"),
            vec!["ca-cert.pem", "ca.pem"]
        );
        assert!(certificate_keys("password").is_empty());
    }
}
