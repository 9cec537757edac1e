//! Certificate problems planted in a mesh made at run time (rcgen, real clock), scanned as a new
//! user would: each must be found on the right resource, and a sound set of modern certificates
//! must produce nothing above `low`. Weak keys and SHA-1/MD5 signatures cannot be made with
//! rcgen's crypto provider; they are covered by the static fixtures of CERT003/CERT004.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

struct Ca {
    pem: String,
    params: CertificateParams,
    key: KeyPair,
}

fn ca(cn: &str, from_days: i64, to_days: i64, issuer: Option<&Ca>) -> Ca {
    let now = OffsetDateTime::now_utc();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "shop");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    p.not_before = now + Duration::days(from_days);
    p.not_after = now + Duration::days(to_days) + Duration::hours(12);
    let cert = match issuer {
        None => p.self_signed(&key).unwrap(),
        Some(i) => p
            .signed_by(&key, &Issuer::from_params(&i.params, &i.key))
            .unwrap(),
    };
    Ca {
        pem: cert.pem(),
        params: p,
        key,
    }
}

fn leaf(names: &[&str], from_days: i64, to_days: i64, issuer: &Ca) -> String {
    let now = OffsetDateTime::now_utc();
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p.use_authority_key_identifier_extension = true;
    p.not_before = now + Duration::days(from_days);
    p.not_after = now + Duration::days(to_days) + Duration::hours(12);
    p.signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
        .unwrap()
        .pem()
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

fn gateway(credential: &str, host: &str) -> String {
    format!(
        r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: shop, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
    - port: {{number: 443, name: https, protocol: HTTPS}}
      hosts: [{host}]
      tls: {{mode: SIMPLE, credentialName: {credential}, minProtocolVersion: TLSV1_2}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istio-ingressgateway, namespace: istio-system}}
spec:
  selector: {{matchLabels: {{istio: ingressgateway}}}}
  template:
    metadata: {{labels: {{istio: ingressgateway}}}}
    spec:
      containers:
        - {{name: istio-proxy, image: docker.io/istio/proxyv2:1.30.0, args: [proxy, router]}}
---
"#
    )
}

fn istiod(env: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  selector: {{matchLabels: {{app: istiod}}}}
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec:
      containers:
        - name: discovery
          image: docker.io/istio/pilot:1.30.0
          env: [{env}]
---
"#
    )
}

fn scan(name: &str, yaml: &str) -> Vec<Value> {
    let dir =
        std::env::temp_dir().join(format!("meshaudit-certscen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join("mesh.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args([
            "scan",
            "mesh.yaml",
            "--format",
            "json",
            "--no-config",
            "--select",
            "certificates",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    assert!(doc["errors"].as_array().unwrap().is_empty(), "{doc}");
    doc["findings"].as_array().unwrap().clone()
}

/// `(rule, severity, Kind ns/name)` of every finding.
fn keys(findings: &[Value]) -> BTreeSet<(String, String, String)> {
    findings
        .iter()
        .map(|f| {
            let r = &f["resource"];
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                format!(
                    "{} {}/{}",
                    r["kind"].as_str().unwrap(),
                    r["namespace"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

#[test]
fn planted_certificate_problems_are_found_on_the_right_resource() {
    // Istio plug-in CA whose signing CA expired yesterday; its root expires in 20 days.
    let istio_root = ca("Istio Root", -3000, 20, None);
    let istio_int = ca("Istio Intermediate", -400, -1, Some(&istio_root));
    // A second mesh's Secret where a self-signed root is used directly as the signing CA.
    let direct = ca("Direct Root", -10, 3000, None);
    // Gateway certificate expiring in 3 days.
    let edge_ca = ca("Edge CA", -100, 3000, None);
    let gw_leaf = leaf(&["shop.example.com"], -85, 3, &edge_ca);
    // Linkerd issuer expired 2 days ago, under a healthy trust anchor.
    let anchor = ca("root.linkerd.cluster.local", -100, 3000, None);
    let issuer = ca("identity.linkerd.cluster.local", -365, -2, Some(&anchor));
    // A certificate that is not valid yet.
    let future = leaf(&["future.example.com"], 30, 400, &edge_ca);
    let yaml = [
        secret(
            "istio-system",
            "cacerts",
            &[
                ("root-cert.pem", &istio_root.pem),
                ("ca-cert.pem", &istio_int.pem),
                (
                    "cert-chain.pem",
                    &format!("{}{}", istio_int.pem, istio_root.pem),
                ),
            ],
        ),
        secret("istio-system", "shop-tls", &[("tls.crt", &gw_leaf)]),
        gateway("shop-tls", "shop.example.com"),
        secret(
            "linkerd",
            "linkerd-identity-issuer",
            &[("crt.pem", &issuer.pem), ("ca.crt", &anchor.pem)],
        ),
        secret("shop", "future-tls", &[("tls.crt", &future)]),
        // Workload certificates valid for 30 days (Istio's default is 24 hours).
        istiod("{name: DEFAULT_WORKLOAD_CERT_TTL, value: 720h}"),
    ]
    .concat();
    let found = keys(&scan("planted", &yaml));
    let has = |rule: &str, severity: &str, resource: &str| {
        found.contains(&(rule.to_owned(), severity.to_owned(), resource.to_owned()))
    };
    // Expired signing CA: critical on the cacerts Secret.
    assert!(
        has("CERT001", "critical", "Secret istio-system/cacerts"),
        "{found:#?}"
    );
    // The root that signs workload certificates expires in 20 days.
    assert!(
        has("CERT001", "high", "Secret istio-system/cacerts"),
        "{found:#?}"
    );
    // Gateway certificate expiring within days.
    assert!(
        found.iter().any(|(r, s, res)| r == "CERT001"
            && (s == "high" || s == "critical")
            && res == "Secret istio-system/shop-tls"),
        "{found:#?}"
    );
    // Expired Linkerd issuer.
    assert!(
        has(
            "CERT001",
            "critical",
            "Secret linkerd/linkerd-identity-issuer"
        ),
        "{found:#?}"
    );
    // Not yet valid.
    assert!(
        found
            .iter()
            .any(|(r, _, res)| r == "CERT002" && res == "Secret shop/future-tls"),
        "{found:#?}"
    );
    // Long workload certificate TTL, on istiod.
    assert!(
        found
            .iter()
            .any(|(r, _, res)| r == "CERT015" && res == "Deployment istio-system/istiod"),
        "{found:#?}"
    );

    // Another mesh whose plug-in CA is a self-signed root used directly as the signing CA.
    let other = secret(
        "istio-system",
        "cacerts",
        &[("ca-cert.pem", &direct.pem), ("root-cert.pem", &direct.pem)],
    );
    let found = keys(&scan("direct-root", &other));
    assert!(
        found.contains(&(
            "CERT008".to_owned(),
            "medium".to_owned(),
            "Secret istio-system/cacerts".to_owned()
        )),
        "{found:#?}"
    );
}

#[test]
fn a_sound_modern_setup_has_nothing_above_low() {
    let root = ca("Istio Root", -30, 3000, None);
    let int = ca("Istio Intermediate", -30, 700, Some(&root));
    let edge_ca = ca("Edge CA", -30, 3000, None);
    let gw_leaf = leaf(&["shop.example.com"], -10, 80, &edge_ca);
    let yaml = [
        secret(
            "istio-system",
            "cacerts",
            &[
                ("root-cert.pem", &root.pem),
                ("ca-cert.pem", &int.pem),
                ("cert-chain.pem", &format!("{}{}", int.pem, root.pem)),
            ],
        ),
        secret("istio-system", "shop-tls", &[("tls.crt", &gw_leaf)]),
        gateway("shop-tls", "shop.example.com"),
        istiod("{name: DEFAULT_WORKLOAD_CERT_TTL, value: 24h}"),
    ]
    .concat();
    let findings = scan("sound", &yaml);
    for f in &findings {
        let severity = f["severity"].as_str().unwrap();
        assert!(matches!(severity, "low" | "info"), "{f:#}");
    }
}
