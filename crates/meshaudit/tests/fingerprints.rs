//! Fingerprints are unique per finding, so a baseline can tell every finding apart: every rule
//! over every example, every rule fixture (alone and all of one rule's fixtures together) and
//! generated meshes. The rules are run directly, not through `analyze`, whose last-resort
//! disambiguation would hide a rule that gives two findings the same key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use meshaudit_ingest::{ingest, read_sources, SourceText};
use meshaudit_rules::{Context, Finding, RULES};

/// 2026-01-01T00:00:00Z, as the fixture tests use.
const NOW: i64 = 1_767_225_600;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn findings_of(texts: &[SourceText]) -> Vec<Finding> {
    let ingested = ingest(texts);
    let ctx = Context::new(&ingested.inventory, NOW);
    let mut findings = Vec::new();
    for rule in RULES.iter() {
        (rule.check)(&ctx, &mut findings);
    }
    findings
}

fn findings_of_paths(paths: &[PathBuf]) -> Vec<Finding> {
    let sources = read_sources(paths, &mut std::io::empty());
    assert!(sources.errors.is_empty(), "{:?}", sources.errors);
    findings_of(&sources.texts)
}

/// Panics with every pair of findings that share a fingerprint.
fn assert_unique(what: &str, findings: &[Finding]) {
    let mut seen: HashMap<String, &Finding> = HashMap::new();
    let mut clashes = Vec::new();
    for f in findings {
        if let Some(other) = seen.insert(f.fingerprint(), f) {
            clashes.push(format!(
                "{} {} key `{}`:\n  {} ({})\n  {} ({})",
                f.rule.code,
                f.resource.display_name(),
                f.key,
                other.message,
                other.location,
                f.message,
                f.location
            ));
        }
    }
    assert!(
        clashes.is_empty(),
        "{what}: {} findings share a fingerprint with another:\n{}",
        clashes.len(),
        clashes.join("\n")
    );
}

#[test]
fn every_example_has_unique_fingerprints() {
    let examples = repo().join("examples");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "kustomize"))
        .collect();
    folders.sort();
    assert!(folders.len() >= 3, "{folders:?}");
    let mut total = 0;
    for folder in &folders {
        let findings = findings_of_paths(std::slice::from_ref(folder));
        total += findings.len();
        assert_unique(&folder.display().to_string(), &findings);
    }
    // All examples at once: objects meet objects of other meshes.
    let all = findings_of_paths(&folders);
    assert_unique("all examples together", &all);
    assert!(
        total > 50,
        "the examples should produce findings, got {total}"
    );
}

#[test]
fn every_rule_fixture_has_unique_fingerprints_under_every_rule() {
    let fixtures = repo().join("crates/meshaudit-rules/fixtures");
    let mut rules: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    rules.sort();
    assert!(rules.len() >= 70, "{}", rules.len());
    let mut files = 0;
    for dir in &rules {
        let mut texts = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        entries.sort();
        for file in entries {
            let text = std::fs::read_to_string(&file).unwrap();
            let source = SourceText {
                path: Arc::from(file.display().to_string()),
                text,
            };
            assert_unique(
                &file.display().to_string(),
                &findings_of(std::slice::from_ref(&source)),
            );
            texts.push(source);
            files += 1;
        }
        // A rule's fixtures side by side (the later definition of a shared object wins).
        assert_unique(&dir.display().to_string(), &findings_of(&texts));
    }
    assert!(files >= 150, "{files} fixture files");
}

#[test]
fn generated_meshes_have_unique_fingerprints() {
    let script = repo().join("scripts/gen-mesh");
    let out = std::env::temp_dir().join(format!("meshaudit-fp-{}", std::process::id()));
    for (objects, seed) in [(2000, 7), (3000, 11)] {
        let dir = out.join(format!("{objects}-{seed}"));
        let status = Command::new("python3")
            .arg(&script)
            .args([
                "--objects",
                &objects.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .arg("--out")
            .arg(&dir)
            .arg("--force")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run scripts/gen-mesh ({e}): install python3 (scripts/test needs it)")
            });
        assert!(
            status.status.success(),
            "gen-mesh failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let findings = findings_of_paths(std::slice::from_ref(&dir));
        assert!(findings.len() > 100, "{}", findings.len());
        assert_unique(&format!("generated mesh {objects}/{seed}"), &findings);
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Shapes where rules used to give two findings one key: two plaintext servers sharing port 80
/// (one per host), and a cipher suite listed twice.
#[test]
fn servers_sharing_a_port_and_repeated_suites_stay_apart() {
    let text = r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http-a, protocol: HTTP}
    hosts: ["a.example.com"]
  - port: {number: 80, name: http-b, protocol: HTTP}
    hosts: ["b.example.com"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["a.example.com"]
    tls: {mode: SIMPLE, credentialName: a-cert, cipherSuites: [DES-CBC3-SHA, ECDHE-RSA-AES128-GCM-SHA256, DES-CBC3-SHA]}
"#;
    let findings = findings_of(&[SourceText {
        path: Arc::from("gw.yaml"),
        text: text.to_owned(),
    }]);
    assert_unique("gateway edge cases", &findings);
    let of = |code: &str| findings.iter().filter(|f| f.rule.code == code).count();
    assert_eq!(of("TLS001"), 2, "one per plaintext server");
    assert_eq!(of("TLS003"), 1, "a suite listed twice is one weakness");
    let keys: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule.code == "TLS001")
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(keys, vec!["port 80:a.example.com", "port 80:b.example.com"]);
}
