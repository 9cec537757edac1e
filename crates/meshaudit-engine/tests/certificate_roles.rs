//! The certificate inventory finds every certificate of the input and names its role from
//! where the mesh keeps it.

use std::sync::Arc;

use base64::Engine as _;
use meshaudit_engine::certificates::{certificates, CertRole};
use meshaudit_ingest::{ingest, SourceText};
use meshaudit_model::Mesh;

fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    (cert, rcgen::Issuer::new(params, key))
}

fn leaf(name: &str, issuer: &rcgen::Issuer<'_, rcgen::KeyPair>) -> rcgen::Certificate {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.signed_by(&key, issuer).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn roles_follow_where_each_mesh_keeps_its_certificates() {
    let (root, root_issuer) = ca("root");
    let gw = leaf("shop.example.com", &root_issuer);
    let (self_ca, _) = ca("istio self-signed");
    let yaml = format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: cacerts, namespace: istio-system}}
data:
  root-cert.pem: {root}
  ca-cert.pem: {root}
---
apiVersion: v1
kind: Secret
metadata: {{name: istio-ca-secret, namespace: istio-system}}
data:
  ca-cert.pem: {self_ca}
---
apiVersion: v1
kind: Secret
metadata: {{name: shop-tls, namespace: istio-system}}
type: kubernetes.io/tls
data:
  tls.crt: {gw}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: gw, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
    - port: {{number: 443, name: https, protocol: HTTPS}}
      hosts: [shop.example.com]
      tls: {{mode: SIMPLE, credentialName: shop-tls}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: linkerd-identity-trust-roots, namespace: linkerd}}
data:
  ca-bundle.crt: |
{indented}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: istio-validator}}
webhooks:
  - name: validation.istio.io
    clientConfig:
      service: {{name: istiod, namespace: istio-system}}
      caBundle: {root}
    sideEffects: None
    admissionReviewVersions: [v1]
"#,
        root = b64(&root.pem()),
        self_ca = b64(&self_ca.pem()),
        gw = b64(&gw.pem()),
        indented = root
            .pem()
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let ingested = ingest(&[SourceText {
        path: Arc::from("certs.yaml"),
        text: yaml,
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    let inv = &ingested.inventory;
    let found: Vec<(String, String, CertRole, Mesh)> = certificates(inv)
        .into_iter()
        .map(|c| {
            (
                inv.object(c.object).name.clone(),
                c.key.clone(),
                c.role,
                c.mesh,
            )
        })
        .collect();
    let expect = [
        (
            "cacerts",
            "root-cert.pem",
            CertRole::TrustAnchor,
            Mesh::Istio,
        ),
        ("cacerts", "ca-cert.pem", CertRole::SigningCa, Mesh::Istio),
        (
            "istio-ca-secret",
            "ca-cert.pem",
            CertRole::SigningCa,
            Mesh::Istio,
        ),
        ("shop-tls", "tls.crt", CertRole::GatewayServing, Mesh::Istio),
        (
            "linkerd-identity-trust-roots",
            "ca-bundle.crt",
            CertRole::TrustAnchor,
            Mesh::Linkerd,
        ),
        (
            "istio-validator",
            "webhooks[0].clientConfig.caBundle",
            CertRole::WebhookCa,
            Mesh::Istio,
        ),
    ];
    for (name, key, role, mesh) in expect {
        assert!(
            found
                .iter()
                .any(|(n, k, r, m)| n == name && k == key && *r == role && *m == mesh),
            "{name} {key}: expected {role:?}/{mesh:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

/// A CA named `name` signed by `issuer` (params and key), whatever its name.
fn ca_signed_by(name: &str, issuer: &rcgen::Issuer<'_, rcgen::KeyPair>) -> rcgen::Certificate {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.signed_by(&key, issuer).unwrap()
}

#[test]
fn chain_roles_follow_the_signature_not_the_name() {
    // cert-chain.pem: an intermediate named exactly like its root (signed by the root), the
    // root, and a root whose signature cannot be checked (ECDSA P-521 with SHA-512).
    let (root, root_issuer) = ca("Shared Name CA");
    let namesake = ca_signed_by("Shared Name CA", &root_issuer);
    let p521 = include_str!("../../meshaudit-ingest/tests/data/p521-self-signed.crt");
    let chain = format!("{}{}{p521}", namesake.pem(), root.pem());
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: cacerts, namespace: istio-system}}\ndata:\n  cert-chain.pem: {}\n",
        b64(&chain)
    );
    let ingested = ingest(&[SourceText {
        path: Arc::from("chain.yaml"),
        text: yaml,
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    let certs = certificates(&ingested.inventory);
    let roles: Vec<(&str, CertRole)> = certs.iter().map(|c| (c.key.as_str(), c.role)).collect();
    assert_eq!(
        roles,
        [
            ("cert-chain.pem", CertRole::ChainIntermediate),
            ("cert-chain.pem#2", CertRole::TrustAnchor),
            ("cert-chain.pem#3", CertRole::ChainIntermediate),
        ]
    );
    assert!(certs[0].info.self_issued() && !certs[0].info.self_signed);
    assert!(!certs[0].role_because.contains("could not be checked"));
    // The unverifiable one says why it is not taken as self-signed.
    assert!(
        certs[2]
            .role_because
            .contains("its signature could not be checked")
            && certs[2].role_because.contains("ecdsa-with-SHA512"),
        "{}",
        certs[2].role_because
    );
}
