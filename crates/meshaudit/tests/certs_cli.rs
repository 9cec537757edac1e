//! `meshaudit certs` as a user runs it, on certificates made at run time with rcgen: a root,
//! intermediate and leaf chain, an expired and a not-yet-valid certificate, an orphan leaf,
//! in PEM and DER files and in Secret manifests; garbage files; private keys; config
//! thresholds.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("meshaudit-certs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A certificate and its key, as PEM and DER.
struct Made {
    pem: String,
    der: Vec<u8>,
    key_pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    p
}

fn leaf_params(cn: &str, days: i64) -> CertificateParams {
    let mut p = CertificateParams::new(vec!["api.example.com".to_owned()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names.push(SanType::URI(
        "spiffe://cluster.local/ns/payments/sa/api"
            .try_into()
            .unwrap(),
    ));
    p.subject_alt_names
        .push(SanType::IpAddress("10.0.0.7".parse().unwrap()));
    p.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(days) + Duration::hours(12);
    p
}

fn made(cert: &rcgen::Certificate, key: &KeyPair) -> Made {
    Made {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
    }
}

struct Pki {
    root: Made,
    intermediate: Made,
    leaf: Made,
    expired: Made,
    not_yet_valid: Made,
    orphan: Made,
}

fn pki() -> Pki {
    let now = OffsetDateTime::now_utc();
    let root_key = KeyPair::generate().unwrap();
    let mut root_p = ca_params("Test Root CA");
    root_p.not_before = now - Duration::days(10);
    root_p.not_after = now + Duration::days(3650);
    let root_cert = root_p.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::from_params(&root_p, &root_key);

    let int_key = KeyPair::generate().unwrap();
    let mut int_p = ca_params("Test Intermediate CA");
    int_p.not_before = now - Duration::days(10);
    int_p.not_after = now + Duration::days(365);
    let int_cert = int_p.signed_by(&int_key, &root_issuer).unwrap();
    let int_issuer = Issuer::from_params(&int_p, &int_key);

    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf_params("api", 20)
        .signed_by(&leaf_key, &int_issuer)
        .unwrap();

    let exp_key = KeyPair::generate().unwrap();
    let mut exp_p = leaf_params("old", 0);
    exp_p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    exp_p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let exp_cert = exp_p.self_signed(&exp_key).unwrap();

    let nyv_key = KeyPair::generate().unwrap();
    let mut nyv_p = leaf_params("future", 100);
    nyv_p.not_before = now + Duration::days(10);
    let nyv_cert = nyv_p.self_signed(&nyv_key).unwrap();

    // Signed by a CA the input does not hold.
    let other_key = KeyPair::generate().unwrap();
    let other_p = ca_params("Absent CA");
    let other_issuer = Issuer::from_params(&other_p, &other_key);
    let orphan_key = KeyPair::generate().unwrap();
    let orphan_cert = leaf_params("orphan", 200)
        .signed_by(&orphan_key, &other_issuer)
        .unwrap();

    Pki {
        root: made(&root_cert, &root_key),
        intermediate: made(&int_cert, &int_key),
        leaf: made(&leaf_cert, &leaf_key),
        expired: made(&exp_cert, &exp_key),
        not_yet_valid: made(&nyv_cert, &nyv_key),
        orphan: made(&orphan_cert, &orphan_key),
    }
}

fn b64(s: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret(namespace: &str, name: &str, secret_type: &str, data: &[(&str, String)]) -> String {
    let mut s = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\ntype: {secret_type}\ndata:\n"
    );
    for (k, v) in data {
        s.push_str(&format!("  {k}: {}\n", b64(v)));
    }
    s
}

/// Writes the whole set under `dir`: manifests in mesh/, files in certs/.
fn write_set(dir: &TempDir, p: &Pki) {
    let cacerts = secret(
        "istio-system",
        "cacerts",
        "Opaque",
        &[
            ("ca-cert.pem", p.intermediate.pem.clone()),
            ("ca-key.pem", p.intermediate.key_pem.clone()),
            ("root-cert.pem", p.root.pem.clone()),
            (
                "cert-chain.pem",
                format!("{}{}", p.intermediate.pem, p.root.pem),
            ),
        ],
    );
    let tls = secret(
        "web",
        "old-tls",
        "kubernetes.io/tls",
        &[
            ("tls.crt", p.expired.pem.clone()),
            ("tls.key", p.expired.key_pem.clone()),
        ],
    );
    dir.write("mesh/secrets.yaml", format!("{cacerts}---\n{tls}"));
    dir.write(
        "certs/leaf.crt",
        format!("{}{}", p.leaf.pem, p.leaf.key_pem),
    );
    dir.write("certs/leaf.key", &p.leaf.key_pem);
    dir.write("certs/intermediate.der", &p.intermediate.der);
    dir.write("certs/future.pem", &p.not_yet_valid.pem);
    dir.write("certs/orphan.cer", &p.orphan.pem);
    dir.write("certs/ca-key.pem", &p.intermediate.key_pem);
}

fn certs_json(dir: &Path, args: &[&str]) -> (Value, Output) {
    let mut all = vec!["certs", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (doc, out)
}

fn entry<'a>(doc: &'a Value, place: &str) -> &'a Value {
    doc["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["where"].as_str().unwrap().ends_with(place))
        .unwrap_or_else(|| panic!("no certificate at {place}: {doc:#}"))
}

fn assert_no_key(p: &Pki, out: &Output) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("BEGIN PRIVATE KEY"), "{all}");
    for key in [&p.intermediate.key_pem, &p.leaf.key_pem, &p.expired.key_pem] {
        let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        // Neither the PEM body lines nor their base64 (as in the Secret) appear.
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!all.contains(line), "key material printed: {line}");
        }
        assert!(!all.contains(&b64(key)[..40]), "base64 key printed");
        assert!(!body.is_empty());
    }
}

#[test]
fn json_lists_every_certificate_with_role_expiry_and_chain() {
    let dir = TempDir::new("json");
    let p = pki();
    write_set(&dir, &p);
    let (doc, out) = certs_json(&dir.0, &["mesh", "certs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_no_key(&p, &out);
    // The private-key-only .pem is skipped with a note, not an error.
    assert!(
        text(&out.stderr).contains("ca-key.pem: holds a private key"),
        "{}",
        text(&out.stderr)
    );

    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "schemaVersion",
            "tool",
            "generatedAt",
            "errors",
            "certificates",
            "otherFindings"
        ]
    );
    assert_eq!(doc["schemaVersion"], 1);
    assert_eq!(doc["tool"]["name"], "meshaudit");
    let certs = doc["certificates"].as_array().unwrap();
    // cacerts: 4 (ca-cert, root-cert, chain x2), old-tls: 1, files: leaf, intermediate,
    // future, orphan.
    assert_eq!(certs.len(), 9, "{doc:#}");
    let fields: Vec<&str> = certs[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for f in [
        "where",
        "resource",
        "key",
        "location",
        "role",
        "roleBecause",
        "mesh",
        "subject",
        "issuer",
        "sans",
        "publicKey",
        "signatureAlgorithm",
        "notBefore",
        "notAfter",
        "daysLeft",
        "validity",
        "chain",
        "findings",
    ] {
        assert!(fields.contains(&f), "missing {f} in {fields:?}");
    }
    // Sorted by days left, soonest first.
    let days: Vec<i64> = certs
        .iter()
        .map(|c| c["daysLeft"].as_i64().unwrap())
        .collect();
    let mut sorted = days.clone();
    sorted.sort_unstable();
    assert_eq!(days, sorted);

    // Roles from where the certificate lives.
    let root = entry(&doc, "Secret istio-system/cacerts root-cert.pem");
    assert_eq!(root["role"], "trust-anchor");
    assert_eq!(root["mesh"], "istio");
    assert_eq!(root["chain"]["status"], "self-signed");
    assert_eq!(root["resource"]["kind"], "Secret");
    assert_eq!(root["key"], "root-cert.pem");
    assert!(root["location"]["line"].as_u64().unwrap() > 0);
    let signing = entry(&doc, "Secret istio-system/cacerts ca-cert.pem");
    assert_eq!(signing["role"], "signing-ca");
    assert_eq!(signing["subject"], "CN=Test Intermediate CA");
    assert_eq!(signing["issuer"], "CN=Test Root CA");
    assert_eq!(signing["chain"]["status"], "issuer-in-input");
    let issuer_place = signing["chain"]["issuer"].as_str().unwrap();
    assert_eq!(entry(&doc, issuer_place)["subject"], "CN=Test Root CA");
    assert_eq!(
        entry(&doc, "cacerts cert-chain.pem")["role"],
        "chain-intermediate"
    );
    assert_eq!(
        entry(&doc, "cacerts cert-chain.pem#2")["role"],
        "trust-anchor"
    );

    // Expired (in a Secret) and not yet valid (in a file).
    let old = entry(&doc, "Secret web/old-tls tls.crt");
    assert!(old["daysLeft"].as_i64().unwrap() < -365, "{old:#}");
    assert_eq!(old["validity"], "expired");
    assert_eq!(old["notAfter"], "2021-01-01T00:00:00Z");
    assert_eq!(old["chain"]["status"], "self-signed");
    assert_eq!(certs[0]["where"], "Secret web/old-tls tls.crt");
    let future = entry(&doc, "future.pem");
    assert_eq!(future["validity"], "not-yet-valid");
    assert!(future["daysLeft"].as_i64().unwrap() > 90);
    assert_eq!(future["resource"], Value::Null);
    assert_eq!(future["mesh"], Value::Null);

    // The leaf file: names, key, chain to the intermediate, days left.
    let leaf = entry(&doc, "leaf.crt");
    assert_eq!(leaf["role"], "leaf");
    assert_eq!(leaf["validity"], "valid");
    assert_eq!(leaf["daysLeft"], 20);
    assert_eq!(leaf["sans"]["dns"], serde_json::json!(["api.example.com"]));
    assert_eq!(
        leaf["sans"]["uri"],
        serde_json::json!(["spiffe://cluster.local/ns/payments/sa/api"])
    );
    assert_eq!(leaf["sans"]["ip"], serde_json::json!(["10.0.0.7"]));
    assert_eq!(leaf["publicKey"]["algorithm"], "EC P-256");
    assert_eq!(leaf["publicKey"]["bits"], 256);
    assert_eq!(leaf["signatureAlgorithm"], "ecdsa-with-SHA256");
    assert_eq!(leaf["chain"]["status"], "issuer-in-input");
    let leaf_issuer = leaf["chain"]["issuer"].as_str().unwrap();
    assert_eq!(
        entry(&doc, leaf_issuer)["subject"],
        "CN=Test Intermediate CA"
    );
    let not_after = leaf["notAfter"].as_str().unwrap();
    assert!(
        not_after.len() == 20 && not_after.ends_with('Z') && &not_after[10..11] == "T",
        "{not_after}"
    );

    // DER read; a CA in a file is a CA.
    let der = entry(&doc, "intermediate.der");
    assert_eq!(der["subject"], "CN=Test Intermediate CA");
    assert_eq!(der["role"], "ca");
    assert_eq!(der["chain"]["status"], "issuer-in-input");

    // The issuer is absent.
    let orphan = entry(&doc, "orphan.cer");
    assert_eq!(orphan["chain"]["status"], "issuer-not-in-input");
    assert_eq!(orphan["chain"]["issuer"], Value::Null);
    assert_eq!(orphan["issuer"], "CN=Absent CA");
}

#[test]
fn table_shows_soonest_first_with_chain_and_validity() {
    let dir = TempDir::new("table");
    let p = pki();
    write_set(&dir, &p);
    let out = run(&dir.0, &["certs", "mesh", "certs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_no_key(&p, &out);
    let t = text(&out.stdout);
    let mut lines = t.lines();
    let header = lines.next().unwrap();
    for col in ["DAYS", "NOT-AFTER", "ROLE", "MESH", "WHERE"] {
        assert!(header.contains(col), "{header}");
    }
    let first = lines.next().unwrap();
    assert!(first.contains("2021-01-01"), "{t}");
    assert!(first.contains("Secret web/old-tls tls.crt"), "{t}");
    assert!(t.contains("EXPIRED"), "{t}");
    assert!(t.contains("NOT YET VALID"), "{t}");
    assert!(t.contains("chain:     self-signed"), "{t}");
    assert!(t.contains("chain:     issuer not in input"), "{t}");
    assert!(t.contains("chain:     issued by "), "{t}");
    assert!(
        t.contains("names:     DNS:api.example.com, URI:spiffe://cluster.local/ns/payments/sa/api, IP:10.0.0.7"),
        "{t}"
    );
    assert!(t.contains("trust-anchor"), "{t}");
    assert!(t.contains("signing-ca"), "{t}");
    assert!(
        t.contains("9 certificate(s): 1 expired, 1 not yet valid"),
        "{t}"
    );
    // The leaf (20 days) comes before the intermediate (365 days).
    assert!(t.find("leaf.crt").unwrap() < t.find("intermediate.der").unwrap());
}

#[test]
fn der_and_pem_on_the_command_line_and_stdin() {
    let dir = TempDir::new("direct");
    let p = pki();
    dir.write("root.der", &p.root.der);
    dir.write("bundle", format!("{}{}", p.intermediate.pem, p.root.pem));
    let (doc, out) = certs_json(&dir.0, &["root.der", "bundle"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(doc["certificates"].as_array().unwrap().len(), 3);
    assert_eq!(entry(&doc, "bundle")["subject"], "CN=Test Intermediate CA");
    assert_eq!(entry(&doc, "bundle#2")["subject"], "CN=Test Root CA");
    assert_eq!(entry(&doc, "root.der")["chain"]["status"], "self-signed");

    let out = run_stdin(
        &dir.0,
        &["certs", "-", "--format", "json"],
        p.leaf.pem.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry(&doc, "<stdin>")["subject"], "CN=api");
    assert_eq!(
        entry(&doc, "<stdin>")["chain"]["status"],
        "issuer-not-in-input"
    );

    // Manifests on stdin still work.
    let manifest = secret("ns", "s", "Opaque", &[("ca.crt", p.root.pem.clone())]);
    let out = run_stdin(
        &dir.0,
        &["certs", "-", "--format", "json"],
        manifest.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        entry(&doc, "Secret ns/s ca.crt")["location"]["path"],
        "<stdin>"
    );
}

#[test]
fn garbage_files_are_errors_and_the_rest_is_still_shown() {
    let dir = TempDir::new("garbage");
    let p = pki();
    dir.write("good.pem", &p.root.pem);
    dir.write("garbage.pem", "this is not a certificate\n\u{1}\u{2}\u{3}");
    dir.write("random.der", [0x30u8, 0x82, 0xff, 0xff, 0x01, 0x02, 0x03]);
    // A well-formed PEM block whose DER is cut short.
    let cut = &p.leaf.der[..p.leaf.der.len() - 20];
    let broken = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64(cut)
    );
    dir.write("broken.crt", format!("{broken}{}", p.intermediate.pem));
    dir.write("empty.cer", "");
    let out = run(
        &dir.0,
        &[
            "certs",
            "good.pem",
            "garbage.pem",
            "random.der",
            "broken.crt",
            "empty.cer",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("garbage.pem: no certificate found"), "{err}");
    assert!(err.contains("random.der: no certificate found"), "{err}");
    assert!(err.contains("empty.cer: no certificate found"), "{err}");
    assert!(
        err.contains("broken.crt: 1 of its 2 PEM CERTIFICATE blocks could not be parsed"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let t = text(&out.stdout);
    assert!(t.contains("good.pem"), "{t}");
    assert!(t.contains("CN=Test Intermediate CA"), "{t}");

    // JSON carries the errors too.
    let (doc, out) = certs_json(&dir.0, &["good.pem", "garbage.pem"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(doc["errors"][0]["path"], "garbage.pem");
    assert_eq!(doc["certificates"].as_array().unwrap().len(), 1);

    // A folder with nothing readable, and a missing path.
    std::fs::create_dir_all(dir.0.join("nothing")).unwrap();
    dir.write("nothing/readme.txt", "hi");
    let out = run(&dir.0, &["certs", "nothing", "missing.pem"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("nothing: folder holds no manifest"), "{err}");
    assert!(err.contains("missing.pem"), "{err}");
}

#[test]
fn config_thresholds_are_validated_for_scan_and_certs() {
    let dir = TempDir::new("config");
    let p = pki();
    dir.write("root.pem", &p.root.pem);
    dir.write(
        "mesh.yaml",
        secret("ns", "s", "Opaque", &[("ca.crt", p.root.pem.clone())]),
    );
    dir.write(
        "meshaudit.toml",
        "fail-on = \"never\"\n[certificates]\nexpiry-critical-days = 14\nexpiry-high-days = 45\nexpiry-medium-days = 90\n",
    );
    let out = run(&dir.0, &["certs", "root.pem", "mesh.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&dir.0, &["scan", "mesh.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    dir.write(
        "meshaudit.toml",
        "[certificates]\nexpiry-high-days = 90\nexpiry-medium-days = 10\nexpiry-low-days = 1\n",
    );
    for cmd in ["certs", "scan"] {
        let out = run(&dir.0, &[cmd, "mesh.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = text(&out.stderr);
        assert!(
            err.contains("meshaudit.toml:3:22: `certificates`: expiry-high-days (90) must not be larger than expiry-medium-days (10)"),
            "{cmd}: {err}"
        );
        assert!(
            err.contains("meshaudit.toml:4:1: unknown key `certificates.expiry-low-days`"),
            "{cmd}: {err}"
        );
        assert!(out.stdout.is_empty(), "{cmd}");
    }
    dir.write("bad.toml", "[certificates]\nexpiry-critical-days = -3\n");
    let out = run(&dir.0, &["certs", "--config", "bad.toml", "root.pem"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.toml:2:24: `certificates.expiry-critical-days` must be a positive number of days, found -3"),
        "{}",
        text(&out.stderr)
    );
    // --no-config ignores it.
    let out = run(&dir.0, &["certs", "--no-config", "root.pem"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn output_file_and_help() {
    let dir = TempDir::new("output");
    let p = pki();
    dir.write("root.pem", &p.root.pem);
    let out = run(
        &dir.0,
        &["certs", "root.pem", "-f", "json", "-o", "out.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("out.json")).unwrap()).unwrap();
    assert_eq!(doc["certificates"].as_array().unwrap().len(), 1);
    let out = run(&dir.0, &["certs", "--help"]);
    assert!(text(&out.stdout).contains("--format"));
}

/// Certificate rule findings are attached to the certificate they are about (key convention:
/// the certificate's key, optionally followed by `:detail`).
#[test]
fn rule_findings_are_attached_to_their_certificate() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args([
            "certs",
            "crates/meshaudit-rules/fixtures/CERT009/fires-istio.yaml",
            "--format",
            "json",
            "--no-config",
        ])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ca = entry(&doc, "Secret istio-system/cacerts ca-cert.pem");
    let rules: Vec<&str> = ca["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"CERT009"), "{ca:#}");
    let root = entry(&doc, "Secret istio-system/cacerts root-cert.pem");
    assert!(root["findings"].as_array().unwrap().is_empty(), "{root:#}");
}

/// Certificates from files are judged by the same rules as those in manifests.
#[test]
fn rule_findings_cover_certificate_files() {
    let dir = TempDir::new("file-findings");
    let p = pki();
    dir.write("certs/old.pem", &p.expired.pem);
    dir.write("certs/future.pem", &p.not_yet_valid.pem);
    let (doc, out) = certs_json(&dir.0, &["certs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rules = |place: &str| -> Vec<String> {
        entry(&doc, place)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        rules("certs/old.pem").contains(&"CERT001".to_owned()),
        "{doc:#}"
    );
    assert!(
        rules("certs/future.pem").contains(&"CERT002".to_owned()),
        "{doc:#}"
    );
}

#[test]
fn chain_status_is_decided_by_signature_not_by_names() {
    // Linkerd's default naming: anchor and issuer are both identity.linkerd.cluster.local, the
    // issuer signed by the anchor. A re-generated anchor with the same name signed nothing here.
    // And a P-521/SHA-512 root, whose signature meshaudit cannot check.
    let dir = TempDir::new("chain-signatures");
    let now = OffsetDateTime::now_utc();
    let window = |mut p: CertificateParams| {
        p.not_before = now - Duration::days(10);
        p.not_after = now + Duration::days(300);
        p
    };
    let anchor_key = KeyPair::generate().unwrap();
    let anchor_p = window(ca_params("identity.linkerd.cluster.local"));
    let anchor = anchor_p.self_signed(&anchor_key).unwrap();
    let issuer_key = KeyPair::generate().unwrap();
    let issuer = window(ca_params("identity.linkerd.cluster.local"))
        .signed_by(&issuer_key, &Issuer::from_params(&anchor_p, &anchor_key))
        .unwrap();
    let other_key = KeyPair::generate().unwrap();
    let regenerated = window(ca_params("identity.linkerd.cluster.local"))
        .self_signed(&other_key)
        .unwrap();
    dir.write("anchor.pem", anchor.pem());
    dir.write("issuer.pem", issuer.pem());
    dir.write("regenerated.pem", regenerated.pem());
    dir.write(
        "p521.pem",
        include_str!("../../meshaudit-ingest/tests/data/p521-self-signed.crt"),
    );
    let (doc, out) = certs_json(
        &dir.0,
        &[
            "--no-config",
            "regenerated.pem",
            "issuer.pem",
            "anchor.pem",
            "p521.pem",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let chain = |place: &str| entry(&doc, place)["chain"].clone();
    assert_eq!(chain("anchor.pem")["status"], "self-signed");
    assert_eq!(chain("regenerated.pem")["status"], "self-signed");
    // The issuer names itself as its issuer, but only the anchor's key verifies it; the
    // same-named regenerated anchor comes first in the input and is passed over.
    let issuer_entry = entry(&doc, "issuer.pem");
    assert_eq!(issuer_entry["selfSigned"], false);
    assert_eq!(issuer_entry["chain"]["status"], "issuer-in-input");
    assert!(
        issuer_entry["chain"]["issuer"]
            .as_str()
            .unwrap()
            .ends_with("anchor.pem"),
        "{issuer_entry:#}"
    );
    let p521 = entry(&doc, "p521.pem");
    assert_eq!(p521["selfSigned"], false);
    assert_eq!(p521["chain"]["status"], "self-issued-unverified");
    assert!(
        p521["chain"]["unverified"]
            .as_str()
            .unwrap()
            .contains("ecdsa-with-SHA512"),
        "{p521:#}"
    );
    assert!(p521["roleBecause"]
        .as_str()
        .unwrap()
        .contains("its signature could not be checked"));
    assert!(chain("anchor.pem")["unverified"].is_null());
    // The table says the same.
    let out = run(
        &dir.0,
        &[
            "certs",
            "--no-config",
            "issuer.pem",
            "anchor.pem",
            "p521.pem",
        ],
    );
    let table = text(&out.stdout);
    assert!(table.contains("chain:     self-signed"), "{table}");
    assert!(
        table.lines().any(
            |l| l.trim_start().starts_with("chain:     issued by") && l.ends_with("anchor.pem")
        ),
        "{table}"
    );
    assert!(
        table.contains(
            "chain:     names itself as its issuer; signature not checked (ecdsa-with-SHA512"
        ),
        "{table}"
    );
}
