//! The same object twice in one scan (two copies of a mesh, a kubectl dump beside the files it
//! came from): audited once, with a warning naming both places, in every report format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "meshaudit-dup-test-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `dir/a` and `dir/b`, each a copy of `example`.
fn two_copies(example: &str) -> PathBuf {
    let dir = scratch(example);
    for copy in ["a", "b"] {
        std::fs::create_dir_all(dir.join(copy)).unwrap();
        for entry in std::fs::read_dir(repo().join("examples").join(example)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(copy).join(entry.file_name())).unwrap();
        }
    }
    dir
}

fn meshaudit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `(rule, kind, namespace/name, key-ish message)` of each finding, without its place.
fn identities(report: &Value) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let r = &f["resource"];
            (
                f["rule"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                format!("{}/{}", r["namespace"].as_str().unwrap_or("-"), r["name"]),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn two_copies_of_a_mesh_are_audited_once_with_warnings_naming_both_places() {
    let dir = two_copies("insecure-mesh");
    let one = json(&meshaudit(&dir, &["scan", "a", "-f", "json"]));
    let out = meshaudit(&dir, &["scan", "a", "b", "-f", "json"]);
    let both = json(&out);
    assert_eq!(both["errors"], serde_json::json!([]));
    assert_eq!(both["summary"], one["summary"], "no finding is repeated");
    assert_eq!(identities(&both), identities(&one));
    // Every finding comes from the copy read last, as `kubectl apply` would leave it.
    for f in both["findings"].as_array().unwrap() {
        assert!(
            f["location"]["path"].as_str().unwrap().starts_with("b/"),
            "{f:#}"
        );
    }
    let fingerprints: BTreeSet<&str> = both["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(
        fingerprints.len(),
        both["findings"].as_array().unwrap().len()
    );
    // One warning per object of the first copy, at its place, naming the second's.
    let warnings = both["warnings"].as_array().unwrap();
    assert_eq!(
        warnings.len() as u64,
        one["summary"]["resources"].as_u64().unwrap()
    );
    let w = warnings
        .iter()
        .find(|w| {
            w["message"]
                .as_str()
                .unwrap()
                .contains("PeerAuthentication istio-system/default")
        })
        .unwrap();
    assert_eq!(w["path"], "a/istio-system.yaml");
    let line = w["line"].as_u64().unwrap();
    assert!(line > 0);
    assert!(w["column"].as_u64().unwrap() > 0);
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains(&format!("b/istio-system.yaml:{line}")),
        "{w:#}"
    );
    // Warnings do not change the exit code (the findings make it 1).
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn warnings_alone_leave_a_clean_scan_clean_in_every_format() {
    let dir = two_copies("hardened-mesh");
    let text = meshaudit(&dir, &["scan", ".", "--color", "never"]);
    assert_eq!(
        text.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let report = String::from_utf8_lossy(&text.stdout);
    let warning_lines = report
        .lines()
        .filter(|l| l.starts_with("warning: ./a/"))
        .count();
    assert!(warning_lines > 10, "{report}");
    assert!(report.contains("input warnings"), "{report}");
    assert!(report.contains("is defined again at ./b/"), "{report}");

    let sarif = meshaudit(&dir, &["scan", ".", "-f", "sarif"]);
    assert_eq!(sarif.status.code(), Some(0));
    support::assert_valid_sarif(&sarif.stdout, &dir);
    let sarif = json(&sarif);
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), warning_lines);
    assert!(notes.iter().all(|n| n["level"] == "warning"));

    let junit = meshaudit(&dir, &["scan", ".", "-f", "junit"]);
    assert_eq!(junit.status.code(), Some(0));
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert!(xml.contains("<system-out>warning: ./a/"), "{xml}");
    assert!(xml.contains("errors=\"0\""), "{xml}");
    // JUnit readers rarely show suite output: the warnings also go to stderr.
    assert!(String::from_utf8_lossy(&junit.stderr).contains("warning: ./a/"));
}

#[test]
fn a_kubectl_dump_in_yaml_and_json_is_one_cluster() {
    let out = meshaudit(&repo(), &["scan", "examples/kubectl-list", "-f", "json"]);
    let report = json(&out);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 8, "{warnings:#?}");
    assert!(warnings
        .iter()
        .all(|w| w["path"] == "examples/kubectl-list/cluster.json"));
    let single = json(&meshaudit(
        &repo(),
        &["scan", "examples/kubectl-list/cluster.yaml", "-f", "json"],
    ));
    assert_eq!(identities(&report), identities(&single));
}
