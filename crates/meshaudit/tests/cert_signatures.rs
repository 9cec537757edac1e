//! "Self-signed" and "issued by" are decided by signature, never by names: certificates made at
//! run time (rcgen) where the names say one thing and the keys another, run through the
//! certificate rules. Test names carry the rule code (`cargo test CERT008`).
//!
//! The Linkerd case: `linkerd install` (and many guides) name the trust anchor and the identity
//! issuer alike (`identity.linkerd.cluster.local`, or `root.linkerd.cluster.local`), so the
//! issuer names "itself" as its issuer although the anchor's key signed it.

use std::sync::Arc;

use base64::Engine as _;
use meshaudit_ingest::{ingest, SourceText};
use meshaudit_report::text::{render, TextOptions};
use meshaudit_report::ScanReport;
use meshaudit_rules::{analyze, Context, Finding, Settings, Suppressed, RULES};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

/// 2026-01-01T00:00:00Z, the fixed "now" of the rule tests.
const NOW: i64 = 1_767_225_600;

struct Cert {
    pem: String,
    params: CertificateParams,
    key: KeyPair,
}

impl Cert {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

/// A certificate named `cn` (a CA when `ca`), self-signed or signed by `by`, valid from 100 days
/// before NOW for `days` days. `key_ids`: whether it names its issuer's key (authority key id).
fn cert(cn: &str, ca: bool, by: Option<&Cert>, days: i64, key_ids: bool) -> Cert {
    let now = OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = if ca { Vec::new() } else { vec![cn.to_owned()] };
    let mut p = CertificateParams::new(names).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    p.use_authority_key_identifier_extension = key_ids;
    p.not_before = now - Duration::days(100);
    p.not_after = now - Duration::days(100) + Duration::days(days);
    let made = match by {
        None => p.self_signed(&key).unwrap(),
        Some(i) => p.signed_by(&key, &i.issuer()).unwrap(),
    };
    Cert {
        pem: made.pem(),
        params: p,
        key,
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret(ns: &str, name: &str, data: &[(&str, &str)]) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n"
    );
    for (k, v) in data {
        out.push_str(&format!("  {k}: {}\n", b64(v)));
    }
    out.push_str("---\n");
    out
}

fn trust_roots(pem: &str) -> String {
    let indented: String = pem.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: linkerd-identity-trust-roots\n  namespace: linkerd\ndata:\n  ca-bundle.crt: |\n{indented}---\n"
    )
}

/// Linkerd's control plane certificates: the issuer (with `ca.crt`), the trust roots, and a
/// workload-facing leaf the issuer signed.
fn linkerd(anchor: &Cert, issuer: &Cert, leaf: &Cert) -> String {
    [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: linkerd\n---\n".to_owned(),
        secret(
            "linkerd",
            "linkerd-identity-issuer",
            &[("crt.pem", &issuer.pem), ("ca.crt", &anchor.pem)],
        ),
        trust_roots(&anchor.pem),
        secret("linkerd", "web-tls", &[("tls.crt", &leaf.pem)]),
    ]
    .concat()
}

/// The findings of rule `code` on `yaml`, and their text rendering.
fn run(code: &str, name: &str, yaml: String) -> (Vec<Finding>, String) {
    let rule = RULES.iter().find(|r| r.code == code).unwrap();
    let ingested = ingest(&[SourceText {
        path: Arc::from(format!("{name}.yaml").as_str()),
        text: yaml,
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    let settings = Settings {
        select: vec![code.to_owned()],
        ..Settings::default()
    };
    let ctx = Context::new(&ingested.inventory, NOW);
    let (findings, _) = analyze(&ctx, &settings);
    let rules = [*rule];
    let rendered = render(
        &ScanReport {
            resources: ingested.inventory.objects.len(),
            findings: &findings,
            errors: &[],
            warnings: &[],
            suppressed: Suppressed::default(),
            rules: &rules,
        },
        &TextOptions::default(),
    );
    (findings, rendered)
}

fn snapshot(name: &str, rendered: &str) {
    insta::with_settings!({snapshot_path => "snapshots/signatures", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, rendered);
    });
}

/// The issuer really is the shared-subject case: it names itself as its issuer, yet only the
/// anchor's key verifies it.
fn assert_shared_subject(anchor: &Cert, issuer: &Cert) {
    let info =
        |c: &Cert| meshaudit_ingest::certs::certificates_in("crt.pem", c.pem.as_bytes()).remove(0);
    let (a, i) = (info(anchor), info(issuer));
    assert_eq!(i.subject, i.issuer, "the issuer names itself as its issuer");
    assert_eq!(i.subject, a.subject, "and shares the anchor's name");
    assert!(!i.self_signed && a.self_signed);
    assert_eq!(
        meshaudit_ingest::certs::issued_by(&i, &a),
        meshaudit_model::IssuerCheck::Issued
    );
}

#[allow(non_snake_case)]
mod CERT008 {
    use super::*;

    #[test]
    fn fires_on_the_self_signed_anchor_used_as_linkerd_issuer() {
        let anchor = cert("root.linkerd.cluster.local", true, None, 3650, true);
        let leaf = cert(
            "web.shop.serviceaccount.identity.linkerd.cluster.local",
            false,
            Some(&anchor),
            200,
            true,
        );
        let (findings, rendered) = run(
            "CERT008",
            "linkerd-anchor-as-issuer",
            linkerd(&anchor, &anchor, &leaf),
        );
        assert_eq!(findings.len(), 1, "{rendered}");
        assert_eq!(findings[0].severity.as_str(), "medium");
        assert_eq!(findings[0].resource.name, "linkerd-identity-issuer");
        snapshot("CERT008__linkerd-anchor-as-issuer", &rendered);
    }

    #[test]
    fn fires_on_a_self_signed_istio_signing_ca() {
        // ca-cert.pem signed itself; root-cert.pem holds another root: found by signature alone.
        let root = cert("Istio Root CA", true, None, 3650, true);
        let own = cert("Istio CA", true, None, 3650, true);
        let yaml = [
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n---\n".to_owned(),
            secret(
                "istio-system",
                "cacerts",
                &[("ca-cert.pem", &own.pem), ("root-cert.pem", &root.pem)],
            ),
        ]
        .concat();
        let (findings, rendered) = run("CERT008", "istio-self-signed-ca", yaml);
        assert_eq!(findings.len(), 1, "{rendered}");
        assert_eq!(findings[0].severity.as_str(), "medium");
        assert!(findings[0].message.contains("is self-signed"), "{rendered}");
        snapshot("CERT008__istio-self-signed-ca", &rendered);
    }

    #[test]
    fn does_not_fire_on_an_issuer_signed_by_the_anchor_with_the_same_name() {
        // Both naming habits: the Linkerd CLI's and the step guides'.
        for name in [
            "identity.linkerd.cluster.local",
            "root.linkerd.cluster.local",
        ] {
            let anchor = cert(name, true, None, 3650, true);
            let issuer = cert(name, true, Some(&anchor), 365, true);
            let leaf = cert(
                "web.shop.serviceaccount.identity.linkerd.cluster.local",
                false,
                Some(&issuer),
                1,
                true,
            );
            assert_shared_subject(&anchor, &issuer);
            let (findings, rendered) = run(
                "CERT008",
                "linkerd-shared-subject",
                linkerd(&anchor, &issuer, &leaf),
            );
            assert!(findings.is_empty(), "{name}: {rendered}");
        }
    }

    #[test]
    fn does_not_fire_on_an_istio_intermediate_named_like_its_root() {
        let root = cert("Istio Root CA", true, None, 3650, true);
        let ca = cert("Istio Root CA", true, Some(&root), 700, true);
        assert_shared_subject(&root, &ca);
        let chain = format!("{}{}", ca.pem, root.pem);
        let yaml = secret(
            "istio-system",
            "cacerts",
            &[
                ("ca-cert.pem", &ca.pem),
                ("root-cert.pem", &root.pem),
                ("cert-chain.pem", &chain),
            ],
        );
        let (findings, rendered) = run("CERT008", "istio-shared-subject", yaml);
        assert!(findings.is_empty(), "{rendered}");
    }
}

#[allow(non_snake_case)]
mod CERT009 {
    use super::*;

    #[test]
    fn fires_when_a_same_named_anchor_without_key_ids_did_not_sign_the_issuer() {
        // The anchor was re-generated under the same name; nothing carries an authority key id,
        // so only the signature shows that the bundle's anchor did not sign the issuer.
        let old = cert("root.linkerd.cluster.local", true, None, 3650, false);
        let new = cert("root.linkerd.cluster.local", true, None, 3650, false);
        let issuer = cert(
            "identity.linkerd.cluster.local",
            true,
            Some(&old),
            365,
            false,
        );
        let leaf = cert("web", false, Some(&issuer), 1, false);
        // ca.crt and the trust roots hold the new anchor: the old one is nowhere in the input.
        let yaml = linkerd(&new, &issuer, &leaf);
        let (findings, rendered) = run("CERT009", "linkerd-regenerated-anchor", yaml);
        assert_eq!(findings.len(), 1, "{rendered}");
        assert_eq!(findings[0].severity.as_str(), "critical");
        assert!(
            findings[0]
                .message
                .contains("signature does not verify with its public key"),
            "{rendered}"
        );
    }

    #[test]
    fn passes_when_the_shared_subject_issuer_was_signed_by_the_anchor() {
        let anchor = cert("identity.linkerd.cluster.local", true, None, 3650, false);
        let issuer = cert(
            "identity.linkerd.cluster.local",
            true,
            Some(&anchor),
            365,
            false,
        );
        let leaf = cert("web", false, Some(&issuer), 1, false);
        let (findings, rendered) = run(
            "CERT009",
            "linkerd-shared-subject",
            linkerd(&anchor, &issuer, &leaf),
        );
        assert!(findings.is_empty(), "{rendered}");
    }
}
