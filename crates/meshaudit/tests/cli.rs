//! The binary as a user runs it: exit codes, formats, stdin, bad input, config, baselines.
//! Ground truth for the demo meshes is written out here.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meshaudit"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs in the repo root so paths in reports are relative, with no config file around.
fn run(args: &[&str]) -> Output {
    bin().args(args).current_dir(repo()).output().unwrap()
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin().args(args).current_dir(dir).output().unwrap()
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
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

/// `(rule, kind, namespace/name)` of each finding.
fn finding_keys(report: &Value) -> BTreeSet<(String, String, String)> {
    findings(report)
        .iter()
        .map(|f| {
            let r = &f["resource"];
            let name = match r["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", r["name"].as_str().unwrap()),
                None => r["name"].as_str().unwrap().to_owned(),
            };
            (
                f["rule"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                name,
            )
        })
        .collect()
}

fn key(rule: &str, kind: &str, name: &str) -> (String, String, String) {
    (rule.to_owned(), kind.to_owned(), name.to_owned())
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("meshaudit-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn insecure_demo_finds_every_planted_problem() {
    let out = run(&["scan", "examples/insecure-mesh", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let keys = finding_keys(&report);
    // Ground truth (examples/README.md, problems a–o and their consequences).
    let expected = [
        key("AUTHN001", "PeerAuthentication", "istio-system/default"),
        key("AUTHN002", "PeerAuthentication", "legacy/default"),
        key("AUTHZ001", "AuthorizationPolicy", "orders/allow-all"),
        key("AUTHZ001", "AuthorizationPolicy", "frontend/web-allow"),
        key("AUTHZ002", "Deployment", "payments/payments-worker"),
        key("NET001", "Namespace", "frontend"),
        key("NET001", "Namespace", "orders"),
        key("NET001", "Namespace", "legacy"),
        key("TLS001", "Gateway", "istio-system/shop-gateway"),
        key(
            "AUTHZ005",
            "AuthorizationPolicy",
            "payments/payments-worker-deny-legacy",
        ),
        key("AUTHN011", "RequestAuthentication", "frontend/web-jwt"),
        key("AUTHN010", "RequestAuthentication", "frontend/web-jwt"),
        key("AUTHN008", "Deployment", "frontend/web"),
        key("AUTHN007", "Deployment", "orders/orders"),
        key(
            "AUTHN004",
            "DestinationRule",
            "frontend/payments-worker-no-tls",
        ),
        key("TLS002", "Gateway", "istio-system/shop-gateway"),
        key("AUTHN006", "CronJob", "orders/report"),
        key("AUTHN005", "Namespace", "legacy"),
        key("NET002", "ConfigMap", "istio-system/istio"),
        key("AUTHZ009", "Namespace", "istio-system"),
        key("AUTHZ010", "Deployment", "orders/orders"),
    ];
    for k in &expected {
        assert!(keys.contains(k), "missing {k:?} in {keys:?}");
    }
    // Nothing about what is fine: payments has a NetworkPolicy, payments-api an ALLOW policy,
    // the legacy namespace is not injected (so AUTHZ002 does not apply there).
    assert!(!keys.contains(&key("NET001", "Namespace", "payments")));
    assert!(!keys.contains(&key("AUTHZ002", "Deployment", "payments/payments-api")));
    assert!(!keys
        .iter()
        .any(|(r, _, n)| r == "AUTHZ002" && n.starts_with("legacy/")));
    let categories: BTreeSet<&str> = findings(&report)
        .iter()
        .map(|f| f["category"].as_str().unwrap())
        .collect();
    assert!(categories.len() >= 4, "{categories:?}");
    assert!(report["errors"].as_array().unwrap().is_empty());
}

/// The network policy plants N1–N7 of examples/README.md, each on its resource and line.
#[test]
fn insecure_demo_finds_the_network_policy_problems() {
    let out = run(&[
        "scan",
        "examples/insecure-mesh",
        "--format",
        "json",
        "--select",
        "NET",
    ]);
    let report = json(&out);
    let keys = finding_keys(&report);
    let expected = [
        ("NET008", "Service", "analytics/collector", 47, "high"),
        (
            "NET005",
            "NetworkPolicy",
            "analytics/collector-open",
            66,
            "high",
        ),
        (
            "NET007",
            "NetworkPolicy",
            "analytics/exporter-egress",
            100,
            "medium",
        ),
        ("NET003", "Namespace", "analytics", 6, "medium"),
        ("NET004", "Namespace", "analytics", 6, "medium"),
        ("NET006", "Namespace", "analytics", 6, "high"),
        ("NET006", "Namespace", "payments", 33, "high"),
        (
            "NET011",
            "ServiceEntry",
            "analytics/bigquery",
            120,
            "medium",
        ),
        (
            "NET010",
            "NetworkPolicy",
            "analytics/reports-from-exporter",
            190,
            "medium",
        ),
        ("NET009", "Deployment", "istio-system/istiod", 8, "high"),
    ];
    for (rule, kind, name, line, severity) in expected {
        assert!(
            keys.contains(&key(rule, kind, name)),
            "missing {rule} {kind} {name} in {keys:?}"
        );
        let f = findings(&report)
            .iter()
            .find(|f| {
                let r = &f["resource"];
                let id = match r["namespace"].as_str() {
                    Some(ns) => format!("{ns}/{}", r["name"].as_str().unwrap()),
                    None => r["name"].as_str().unwrap().to_owned(),
                };
                f["rule"] == rule && id == name
            })
            .unwrap();
        assert_eq!(f["location"]["line"], line, "{rule} {name}: {f}");
        assert_eq!(f["severity"], severity, "{rule} {name}: {f}");
    }
    // payments' only policy selects payments-api: the worker is open (NET003), but payments
    // has a policy, so NET001 is not raised for it.
    assert!(keys.contains(&key("NET003", "Namespace", "payments")));
    assert!(!keys.contains(&key("NET001", "Namespace", "payments")));
    // The reports call is denied by the network although the mesh allows it.
    let graph = run(&[
        "graph",
        "examples/insecure-mesh",
        "--from",
        "orders/orders",
        "--to",
        "analytics/reports",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&graph.stdout).unwrap();
    let edge = &doc["edges"][0];
    assert_eq!(edge["reach"], "allowed", "{edge}");
    assert_eq!(edge["overallReach"], "blocked", "{edge}");
}

#[test]
fn hardened_demo_has_nothing_at_or_above_high() {
    let out = run(&["scan", "examples/hardened-mesh", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = json(&out);
    for f in findings(&report) {
        let sev = f["severity"].as_str().unwrap();
        assert!(!matches!(sev, "high" | "critical"), "{f}");
    }
}

#[test]
fn json_report_follows_the_contract() {
    let out = run(&["scan", "examples/insecure-mesh", "--format", "json"]);
    let report = json(&out);
    let top: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        top,
        [
            "schemaVersion",
            "tool",
            "summary",
            "errors",
            "warnings",
            "findings"
        ]
    );
    assert_eq!(report["schemaVersion"], 1);
    assert_eq!(report["tool"]["name"], "meshaudit");
    assert!(report["tool"]["version"].is_string());
    let summary = &report["summary"];
    assert!(summary["resources"].as_u64().unwrap() > 20);
    assert_eq!(
        summary["findings"].as_u64().unwrap() as usize,
        findings(&report).len()
    );
    let by: Vec<&str> = summary["bySeverity"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(by, ["critical", "high", "medium", "low", "info"]);
    let total: u64 = summary["bySeverity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, summary["findings"].as_u64().unwrap());
    const CATEGORIES: &[&str] = &[
        "authentication",
        "authorization",
        "certificates",
        "encryption",
        "logging",
        "network-policy",
        "admission",
        "dependencies",
    ];
    const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];
    let mut related_seen = 0;
    for f in findings(&report) {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        // `relatedLocations` is present only when the evidence points at other resources.
        let mut expected = vec![
            "rule",
            "title",
            "severity",
            "category",
            "mesh",
            "resource",
            "location",
            "message",
            "evidence",
            "remediation",
            "compliance",
            "fingerprint",
        ];
        if let Some(related) = f.get("relatedLocations") {
            expected.insert(9, "relatedLocations");
            let related = related.as_array().unwrap();
            assert!(!related.is_empty());
            for r in related {
                let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(keys, ["path", "line", "column", "message"]);
                assert!(r["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("examples/insecure-mesh/"));
                assert!(r["line"].as_u64().unwrap() >= 1);
                assert!(!r["message"].as_str().unwrap().is_empty());
            }
            related_seen += 1;
        }
        assert_eq!(keys, expected);
        assert!(CATEGORIES.contains(&f["category"].as_str().unwrap()));
        assert!(SEVERITIES.contains(&f["severity"].as_str().unwrap()));
        let res: Vec<&str> = f["resource"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(res, ["apiVersion", "kind", "namespace", "name"]);
        if f["resource"]["kind"] == "Namespace" {
            assert!(f["resource"]["namespace"].is_null());
        }
        let loc = &f["location"];
        assert!(loc["path"]
            .as_str()
            .unwrap()
            .starts_with("examples/insecure-mesh/"));
        assert!(loc["line"].as_u64().unwrap() >= 1);
        assert!(loc["column"].as_u64().unwrap() >= 1);
        assert!(f["evidence"].is_array() && f["compliance"].is_array());
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
    }
    assert!(
        related_seen > 0,
        "evidence from the graph names the policies that decided"
    );
}

#[test]
fn sarif_results_carry_the_places_their_evidence_points_at() {
    let out = run(&[
        "scan",
        "examples/insecure-mesh",
        "--format",
        "sarif",
        "--select",
        "AUTHZ010,AUTHN006",
    ]);
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let related: Vec<&serde_json::Value> = results
        .iter()
        .filter_map(|r| r.get("relatedLocations"))
        .flat_map(|r| r.as_array().unwrap())
        .collect();
    assert!(!related.is_empty(), "{results:?}");
    for (i, r) in related.iter().enumerate() {
        let uri = r["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("examples/insecure-mesh/"), "{uri}");
        assert!(
            r["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
        assert!(r["message"]["text"].as_str().unwrap().contains(':'));
        assert!(r["id"].as_u64().is_some(), "{i}");
    }
}

#[test]
fn findings_point_at_the_right_lines() {
    let out = run(&[
        "scan",
        "examples/insecure-mesh",
        "--format",
        "json",
        "--select",
        "AUTHN001,TLS001",
    ]);
    let report = json(&out);
    let text =
        std::fs::read_to_string(repo().join("examples/insecure-mesh/istio-system.yaml")).unwrap();
    for f in findings(&report) {
        let path = repo().join(f["location"]["path"].as_str().unwrap());
        let file = std::fs::read_to_string(path).unwrap();
        let line = file
            .lines()
            .nth(f["location"]["line"].as_u64().unwrap() as usize - 1)
            .unwrap();
        match f["rule"].as_str().unwrap() {
            "AUTHN001" => assert_eq!(line.trim(), "mode: PERMISSIVE"),
            "TLS001" => assert_eq!(line.trim(), "- port:"),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(text.contains("PERMISSIVE"));
}

#[test]
fn fingerprints_survive_unrelated_edits() {
    let dir = TempDir::new("fingerprints");
    let original =
        std::fs::read_to_string(repo().join("examples/insecure-mesh/orders.yaml")).unwrap();
    let a = dir.write("a/orders.yaml", &original);
    let b = dir.write("b/moved.yaml", format!("# a comment\n\n{original}"));
    let fp = |p: &Path| -> BTreeSet<String> {
        let out = run(&["scan", p.to_str().unwrap(), "--format", "json"]);
        findings(&json(&out))
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = fp(&a);
    assert!(!first.is_empty());
    assert_eq!(first, fp(&a), "stable across runs");
    assert_eq!(first, fp(&b), "stable across moves and unrelated edits");
}

#[test]
fn kubectl_list_output_reads_from_stdin_as_yaml_and_json() {
    for file in [
        "examples/kubectl-list/cluster.yaml",
        "examples/kubectl-list/cluster.json",
    ] {
        let input = std::fs::read(repo().join(file)).unwrap();
        let out = run_stdin(&["scan", "-", "--format", "json"], &input);
        let report = json(&out);
        assert_eq!(report["summary"]["resources"], 8, "{file}");
        assert!(
            report["errors"].as_array().unwrap().is_empty(),
            "{file}: {}",
            report["errors"]
        );
        let keys = finding_keys(&report);
        assert!(
            keys.contains(&key(
                "AUTHN001",
                "PeerAuthentication",
                "istio-system/default"
            )),
            "{keys:?}"
        );
        // The Pod and ReplicaSet belong to the Deployment: one workload, named by its owner.
        let authz: Vec<_> = keys.iter().filter(|k| k.0 == "AUTHZ002").collect();
        assert_eq!(
            authz,
            [&key("AUTHZ002", "Deployment", "shop/cart")],
            "{file}"
        );
        for f in findings(&report) {
            assert_eq!(f["location"]["path"], "<stdin>");
        }
    }
}

#[test]
fn a_folder_mixing_good_and_broken_files_reports_both() {
    let dir = TempDir::new("mixed");
    dir.write("good.yaml", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: istio-system\nspec:\n  mtls:\n    mode: PERMISSIVE\n");
    dir.write("malformed.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: after-error\n  namespace: orders\nspec:\n  rules:\n  - {}\n");
    dir.write(
        "dupkeys.yml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n",
    );
    dir.write("wrongtype.yaml", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: x\n  namespace: y\nspec:\n  mtls:\n    mode: [STRICT]\n");
    dir.write("badmode.yaml", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: typo\n  namespace: y\nspec:\n  mtls:\n    mode: STRIKT\n");
    dir.write("future.yaml", "apiVersion: security.istio.io/v9\nkind: AuthorizationPolicy\nmetadata:\n  name: future\n  namespace: y\n");
    dir.write("binary.yaml", b"\x00\x01\x02\xffELF");
    dir.write("notk8s.json", "{\"hello\": \"world\"}\n");
    dir.write("empty.yaml", "# only a comment\n---\n");
    dir.write(
        "deep.yaml",
        format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000)),
    );
    dir.write(
        "crd.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    );
    dir.write("README.md", "not scanned");
    let out = run(&["scan", dir.0.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "unreadable input means exit 2");
    let report = json(&out);
    let errors = report["errors"].as_array().unwrap();
    let find = |file: &str| -> &Value {
        errors
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("no error for {file}: {errors:?}"))
    };
    assert_eq!(find("malformed.yaml")["line"], 4);
    assert!(find("malformed.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("invalid YAML"));
    assert_eq!(find("dupkeys.yml")["line"], 5);
    assert!(find("dupkeys.yml")["message"]
        .as_str()
        .unwrap()
        .contains("duplicate key `name`"));
    assert_eq!(find("wrongtype.yaml")["line"], 8);
    assert!(find("wrongtype.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("spec.mtls.mode"));
    assert!(find("badmode.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("STRIKT"));
    assert!(find("future.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("security.istio.io/v9"));
    assert!(find("binary.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("binary"));
    assert!(find("deep.yaml")["message"]
        .as_str()
        .unwrap()
        .contains("nested"));
    assert!(!errors
        .iter()
        .any(|e| e["path"].as_str().unwrap().ends_with("notk8s.json")));
    assert!(!errors
        .iter()
        .any(|e| e["path"].as_str().unwrap().ends_with("empty.yaml")));
    assert!(!errors
        .iter()
        .any(|e| e["path"].as_str().unwrap().ends_with("crd.yaml")));
    // The readable rest is still audited, including the document after the syntax error.
    let keys = finding_keys(&report);
    assert!(keys.contains(&key(
        "AUTHN001",
        "PeerAuthentication",
        "istio-system/default"
    )));
    assert!(keys.contains(&key(
        "AUTHZ001",
        "AuthorizationPolicy",
        "orders/after-error"
    )));

    // --verbose says what was skipped.
    let out = run(&[
        "scan",
        dir.0.to_str().unwrap(),
        "--verbose",
        "--color",
        "never",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("notk8s.json"), "{stderr}");
    assert!(stderr.contains("README.md"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("error:") && stdout.contains("malformed.yaml:4:"),
        "{stdout}"
    );
}

#[test]
fn missing_paths_and_empty_folders_are_errors() {
    let dir = TempDir::new("empty");
    let out = run(&[
        "scan",
        dir.0.to_str().unwrap(),
        "does/not/exist.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("no .yaml, .yml or .json")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("no such file")),
        "{messages:?}"
    );
}

#[test]
fn a_large_file_is_read() {
    let dir = TempDir::new("large");
    let mut text = String::with_capacity(51 * 1024 * 1024);
    let mut i = 0;
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: bulk\ndata:\n  payload: \"{}\"\n",
            "x".repeat(2000)
        ));
        i += 1;
    }
    text.push_str("---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: last\n  namespace: bulk\nspec:\n  rules:\n  - {}\n");
    let path = dir.write("big.yaml", &text);
    let out = run(&["scan", path.to_str().unwrap(), "--format", "json"]);
    let report = json(&out);
    assert_eq!(report["summary"]["resources"].as_u64().unwrap(), i + 1);
    assert!(finding_keys(&report).contains(&key("AUTHZ001", "AuthorizationPolicy", "bulk/last")));
}

#[test]
fn no_secret_value_is_ever_printed() {
    let dir = TempDir::new("secrets");
    // base64("s3cr3t-password") and a stringData token; the Secret also has a broken field so
    // it shows up in errors too.
    dir.write(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: orders\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"stringData\":{\"token\":\"tok-XYZZY-123\"}}'\n    meshaudit.io/ignore: \"NET001\"\ndata:\n  password: czNjcjN0LXBhc3N3b3Jk\nstringData:\n  token: tok-XYZZY-123\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: dup\n  namespace: orders\ndata:\n  password: czNjcjN0LXBhc3N3b3Jk\n  password: czNjcjN0LXBhc3N3b3Jk\n",
    );
    for format in ["text", "json", "sarif", "junit"] {
        let out = run(&[
            "scan",
            dir.0.to_str().unwrap(),
            "--format",
            format,
            "--verbose",
        ]);
        for stream in [&out.stdout, &out.stderr] {
            let s = String::from_utf8_lossy(stream);
            for secret in ["czNjcjN0", "s3cr3t", "XYZZY"] {
                assert!(!s.contains(secret), "{format} printed a secret: {s}");
            }
        }
    }
}

#[test]
fn sarif_is_2_1_0_with_rules_and_located_results() {
    let out = run(&["scan", "examples/insecure-mesh", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 6);
    for r in rules {
        assert!(r["id"].is_string() && r["shortDescription"]["text"].is_string());
        assert!(r["help"]["markdown"].as_str().unwrap().contains("## Fix"));
    }
    let results = run0["results"].as_array().unwrap();
    assert!(results.len() >= 9);
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        let loc = &res["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("examples/insecure-mesh/"));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(res["partialFingerprints"]["meshaudit/v1"].is_string());
    }
}

#[test]
fn junit_and_output_file() {
    let dir = TempDir::new("junit");
    let target = dir.0.join("report.xml");
    let out = run(&[
        "scan",
        "examples/insecure-mesh",
        "--format",
        "junit",
        "--output",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let xml = std::fs::read_to_string(&target).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<testsuites name=\"meshaudit\""));
    assert!(xml.contains("<failure message=\"Gateway istio-system/shop-gateway serves"));
    assert_eq!(
        xml.matches("<testsuite ").count(),
        xml.matches("</testsuite>").count()
    );
}

#[test]
fn exit_codes_follow_fail_on_and_selection() {
    let demo = "examples/insecure-mesh";
    assert_eq!(run(&["scan", demo]).status.code(), Some(1));
    assert_eq!(
        run(&["scan", demo, "--fail-on", "never"]).status.code(),
        Some(0)
    );
    // The demo's one critical finding (AUTHZ005) fails `--fail-on critical`; without it,
    // nothing critical remains.
    assert_eq!(
        run(&["scan", demo, "--fail-on", "critical"]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&[
            "scan",
            demo,
            "--fail-on",
            "critical",
            "--ignore",
            "AUTHZ005"
        ])
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        run(&["scan", demo, "--select", "NET001"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["scan", demo, "--select", "NET001", "--fail-on", "medium"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["scan", demo, "--select", "NOPE42"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["scan", demo, "--fail-on", "bogus"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["scan"]).status.code(), Some(2));
    let only = json(&run(&[
        "scan",
        demo,
        "--format",
        "json",
        "--select",
        "authorization",
        "--ignore",
        "AUTHZ002",
    ]));
    assert!(!findings(&only).is_empty());
    assert!(findings(&only).iter().all(|f| {
        let rule = f["rule"].as_str().unwrap();
        rule.starts_with("AUTHZ") && rule != "AUTHZ002"
    }));
    let min = json(&run(&[
        "scan",
        demo,
        "--format",
        "json",
        "--min-severity",
        "high",
    ]));
    assert!(findings(&min)
        .iter()
        .all(|f| f["severity"] == "high" || f["severity"] == "critical"));
}

#[test]
fn annotation_config_and_baseline_silence_findings() {
    let dir = TempDir::new("silence");
    dir.write("mesh.yaml", "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: allow-all\n  namespace: orders\n  annotations:\n    meshaudit.io/ignore: AUTHZ001\nspec:\n  rules:\n  - {}\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n  namespace: edge\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"a.example.com\"]\n");
    let out = json(&run_in(&dir.0, &["scan", "mesh.yaml", "--format", "json"]));
    assert_eq!(
        finding_keys(&out),
        BTreeSet::from([key("TLS001", "Gateway", "edge/gw")])
    );

    // Config in the current folder: exclude the namespace.
    dir.write("meshaudit.toml", "exclude-namespaces = [\"ed*\"]\n");
    let out = run_in(&dir.0, &["scan", "mesh.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(findings(&json(&out)).is_empty());
    // --no-config ignores it.
    assert_eq!(
        run_in(&dir.0, &["scan", "mesh.yaml", "--no-config"])
            .status
            .code(),
        Some(1)
    );
    // Severity override and fail-on from the config.
    dir.write(
        "meshaudit.toml",
        "fail-on = \"critical\"\n[severity]\nTLS001 = \"low\"\n",
    );
    let out = run_in(&dir.0, &["scan", "mesh.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(findings(&json(&out))[0]["severity"], "low");
    // A broken config points into the file.
    dir.write(
        "meshaudit.toml",
        "fail-on = \"high\"\nselekt = [\"AUTHN\"]\n",
    );
    let out = run_in(&dir.0, &["scan", "mesh.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("meshaudit.toml:2:1: unknown key `selekt`"),
        "{stderr}"
    );
    std::fs::remove_file(dir.0.join("meshaudit.toml")).unwrap();

    // Baseline: accepted findings stop failing, new ones still fail.
    let out = run_in(&dir.0, &["baseline", "mesh.yaml", "--output", "base.json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run_in(&dir.0, &["scan", "mesh.yaml", "--baseline", "base.json"])
            .status
            .code(),
        Some(0)
    );
    dir.write("new.yaml", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw2\n  namespace: edge\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"b.example.com\"]\n");
    let out = run_in(
        &dir.0,
        &[
            "scan",
            "mesh.yaml",
            "new.yaml",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        finding_keys(&json(&out)),
        BTreeSet::from([key("TLS001", "Gateway", "edge/gw2")])
    );
}

#[test]
fn rules_and_explain_cover_every_code() {
    let out = run(&["rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules = json(&out);
    let rules = rules.as_array().unwrap();
    assert!(rules.len() >= 6);
    for r in rules {
        let code = r["code"].as_str().unwrap();
        let out = run(&["explain", code]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        let text = String::from_utf8_lossy(&out.stdout);
        for section in [
            "## What it detects",
            "## Why it matters",
            "## Example",
            "## Fix",
            "## References",
        ] {
            assert!(text.contains(section), "{code} lacks {section}");
        }
    }
    let table = String::from_utf8_lossy(&run(&["rules"]).stdout).into_owned();
    assert!(table.starts_with("CODE"));
    assert!(table.contains("AUTHZ001"));
    assert_eq!(run(&["explain", "NOPE001"]).status.code(), Some(2));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = bin()
        .args(["rules"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let mut child = bin()
        .args(["scan", "examples/insecure-mesh", "--fail-on", "never"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn text_output_groups_by_resource_and_colors_on_request() {
    let out = run(&[
        "scan",
        "examples/insecure-mesh",
        "--group-by",
        "resource",
        "--color",
        "always",
    ]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("\u{1b}["), "colors requested");
    assert!(s.contains("AuthorizationPolicy orders/allow-all"));
    let plain = run(&["scan", "examples/insecure-mesh"]);
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains("\u{1b}["),
        "no colors into a pipe"
    );
}

/// Validates SARIF output against the official 2.1.0 schema with Python's jsonschema. Both are
/// installed by `scripts/test`; without them this test fails and says so.
#[test]
fn sarif_validates_against_the_official_schema() {
    let schema = std::env::var_os("MESHAUDIT_SARIF_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/test-deps/sarif-schema-2.1.0.json"));
    assert!(
        schema.is_file(),
        "SARIF schema not found at {}: run `bash scripts/test`, which installs it",
        schema.display()
    );
    let dir = TempDir::new("sarif-schema");
    let broken = dir.write("broken.yaml", "a: [\n");
    for args in [
        vec!["scan", "examples/insecure-mesh"],
        vec!["scan", "examples/hardened-mesh"],
        vec!["scan", "examples/insecure-mesh", broken.to_str().unwrap()],
    ] {
        let sarif = dir.0.join("out.sarif");
        let mut full = args.clone();
        full.extend(["--format", "sarif", "--output", sarif.to_str().unwrap()]);
        run(&full);
        let check = Command::new("python3")
            .args([
                "-c",
                "import json,sys,jsonschema\n\
                 schema=json.load(open(sys.argv[1])); doc=json.load(open(sys.argv[2]))\n\
                 v=jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())\n\
                 errs=[f'{list(e.path)}: {e.message}' for e in v.iter_errors(doc)]\n\
                 print('\\n'.join(errs)); sys.exit(1 if errs else 0)",
                schema.to_str().unwrap(),
                sarif.to_str().unwrap(),
            ])
            .output()
            .expect("python3 is needed to validate SARIF (scripts/test installs jsonschema)");
        assert!(
            check.status.success(),
            "{args:?}: SARIF does not validate:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn admission_problems_are_found_on_the_right_resources() {
    let out = run(&["scan", "examples/insecure-mesh", "--format", "json"]);
    let report = json(&out);
    let keys = finding_keys(&report);
    // Ground truth: examples/README.md, "Admission webhooks" (A1-A5).
    let expected = [
        key(
            "ADM001",
            "MutatingWebhookConfiguration",
            "istio-sidecar-injector",
        ),
        key(
            "ADM004",
            "MutatingWebhookConfiguration",
            "istio-sidecar-injector-1-22",
        ),
        key(
            "ADM007",
            "ValidatingWebhookConfiguration",
            "istiod-default-validator",
        ),
        key(
            "ADM008",
            "ValidatingWebhookConfiguration",
            "gatekeeper-validating-webhook-configuration",
        ),
        key("ADM009", "Namespace", "payments"),
    ];
    for k in &expected {
        assert!(keys.contains(k), "missing {k:?} in {keys:?}");
    }
    let admission: Vec<&Value> = findings(&report)
        .iter()
        .filter(|f| f["category"] == "admission")
        .collect();
    let severity = |rule: &str, name: &str| {
        admission
            .iter()
            .find(|f| f["rule"] == rule && f["resource"]["name"] == name)
            .map(|f| f["severity"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        severity("ADM001", "istio-sidecar-injector").as_deref(),
        Some("high")
    );
    assert_eq!(severity("ADM009", "payments").as_deref(), Some("medium"));
    // Gatekeeper exempting payments is the medium gap; the others are only fail-open (low).
    assert_eq!(severity("ADM009", "frontend").as_deref(), Some("low"));
    let a1 = admission
        .iter()
        .find(|f| f["rule"] == "ADM001")
        .expect("ADM001");
    assert_eq!(
        a1["location"]["path"],
        "examples/insecure-mesh/admission.yaml"
    );
    assert!(a1["message"]
        .as_str()
        .unwrap()
        .contains("failurePolicy Ignore"));
    // Nothing the demo does not plant: no overlapping injectors, no ignored injection requests,
    // no missing caBundle (istiod patched them), no timeout problem.
    for rule in ["ADM002", "ADM003", "ADM005", "ADM006"] {
        assert!(
            !admission.iter().any(|f| f["rule"] == rule),
            "unexpected {rule}: {admission:?}"
        );
    }
    // The gap list is readable in the text output too.
    let text = run(&["scan", "examples/insecure-mesh", "--select", "ADM009"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Namespace payments") && text.contains("kubernetes.io/metadata.name notin"),
        "{text}"
    );

    // The hardened demo's admission webhooks are right: nothing in the category fires.
    let hardened = json(&run(&[
        "scan",
        "examples/hardened-mesh",
        "--format",
        "json",
    ]));
    let fired: Vec<&Value> = findings(&hardened)
        .iter()
        .filter(|f| f["category"] == "admission")
        .collect();
    assert!(fired.is_empty(), "{fired:?}");

    // One application's manifests say nothing about the control plane's webhooks.
    let app = json(&run(&[
        "scan",
        "examples/insecure-mesh/orders.yaml",
        "--format",
        "json",
    ]));
    assert!(
        !findings(&app).iter().any(|f| f["category"] == "admission"),
        "{app}"
    );
}

#[test]
fn insecure_demo_finds_the_dependency_problems() {
    let out = run(&["scan", "examples/insecure-mesh", "--format", "json"]);
    let report = json(&out);
    let keys = finding_keys(&report);
    // Ground truth: examples/README.md, "insecure-mesh: dependencies" (problems D1-D6).
    let expected = [
        key("DEP001", "Deployment", "istio-system/istio-egressgateway"),
        key("DEP002", "Deployment", "istio-system/istio-egressgateway"),
        key("DEP003", "Deployment", "istio-system/istio-egressgateway"),
        key("DEP007", "ConfigMap", "istio-system/kiali"),
        key("DEP006", "Service", "istio-system/grafana"),
        key("DEP004", "EnvoyFilter", "frontend/web-ext-authz"),
        key("DEP005", "WasmPlugin", "istio-system/bot-filter"),
        key("DEP010", "ClusterRoleBinding", "developers-mesh-config"),
    ];
    for k in &expected {
        assert!(keys.contains(k), "missing {k:?} in {keys:?}");
    }
    let find = |rule: &str, name: &str| {
        findings(&report)
            .iter()
            .find(|f| f["rule"] == rule && f["resource"]["name"] == name)
            .unwrap_or_else(|| panic!("no {rule} on {name}"))
            .clone()
    };
    // The vulnerable image is reported at the container's image field, with the bulletins.
    let egress = find("DEP001", "istio-egressgateway");
    assert_eq!(egress["severity"], "high");
    assert_eq!(
        egress["location"]["path"],
        "examples/insecure-mesh/dependencies.yaml"
    );
    let evidence = egress["evidence"].to_string();
    assert!(evidence.contains("ISTIO-SECURITY-2026-001"), "{evidence}");
    assert!(evidence.contains("CVE-"), "{evidence}");
    assert!(egress["remediation"].as_str().unwrap().contains("1.28."));
    // Kiali is anonymous but not published outside the cluster: high, not critical.
    assert_eq!(find("DEP007", "kiali")["severity"], "high");
    // The current istiod and the 1.30.4 ingress gateway have no version finding of their own
    // beyond configuration-only bulletins, and no lag or end of life.
    for (rule, name) in [
        ("DEP002", "istiod"),
        ("DEP003", "istio-ingressgateway"),
        ("DEP002", "istio-ingressgateway"),
        ("DEP001", "istio-ingressgateway"),
        ("DEP006", "kiali"),
    ] {
        assert!(
            !findings(&report)
                .iter()
                .any(|f| f["rule"] == rule && f["resource"]["name"] == name),
            "unexpected {rule} on {name}"
        );
    }
}

#[test]
fn advisories_file_replaces_the_bundled_database() {
    let dir = TempDir::new("advisories");
    // A bulletin for the hardened mesh's own release, in the bundled format.
    let db = dir.write(
        "advisories.json",
        r#"{
  "schema": "mesh-auditor/istio-bulletins v1",
  "taken": "2027-01-15",
  "source": "test",
  "bulletins": [
    {
      "id": "ISTIO-SECURITY-2027-001",
      "title": "Example Envoy crash",
      "cves": ["CVE-2027-0001"],
      "severity": "Critical",
      "affected": [{"raw": "1.30.0 to 1.30.4", "introduced": "1.30.0", "last_affected": "1.30.4"}],
      "fixed": ["1.30.5"],
      "component": "envoy"
    }
  ]
}
"#,
    );
    let out = run(&[
        "scan",
        "examples/hardened-mesh",
        "--format",
        "json",
        "--advisories",
        db.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let dep001 = |name: &str| {
        findings(&report)
            .iter()
            .find(|f| f["rule"] == "DEP001" && f["resource"]["name"] == name)
            .unwrap_or_else(|| panic!("the file's bulletin applies to {name} (1.30.4)"))
            .clone()
    };
    // The gateway's proxy, and istiod, whose injector hands that proxy to new pods.
    let istiod = dep001("istiod");
    assert!(istiod["evidence"].to_string().contains("proxy flaw"));
    let f = dep001("istio-ingressgateway");
    assert_eq!(f["severity"], "critical");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("ISTIO-SECURITY-2027-001") && evidence.contains("CVE-2027-0001"));
    assert!(evidence.contains("taken 2027-01-15"), "{evidence}");
    assert!(f["remediation"].as_str().unwrap().contains("1.30.5"));
    // Without the file, the bundled bulletins say nothing about 1.30.4.
    let bundled = json(&run(&[
        "scan",
        "examples/hardened-mesh",
        "--format",
        "json",
    ]));
    assert!(!findings(&bundled).iter().any(|f| f["rule"] == "DEP001"));

    // A mistake in the file is a usage error naming the file, line and column.
    let bad = dir.write(
        "bad.json",
        "{\n  \"bulletins\": [\n    {\"id\": \"X\", \"affected\": [{\"introduced\": \"1.x\"}]}\n  ]\n}\n",
    );
    let out = run(&[
        "scan",
        "examples/hardened-mesh",
        "--advisories",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", bad.display()))
            && stderr.contains("`1.x` is not a version"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let missing = dir.0.join("missing.json");
    let out = run(&[
        "scan",
        "examples/hardened-mesh",
        "--advisories",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
}

#[test]
fn advisories_file_replaces_the_bundled_linkerd_data() {
    let dir = TempDir::new("linkerd-advisories");
    // An advisory for the hardened Linkerd mesh's own release, in the bundled Linkerd format.
    let linkerd = dir.write(
        "linkerd.json",
        r#"{
  "schema": "meshaudit/linkerd-advisories v1",
  "taken": "2027-01-15",
  "source": "test",
  "advisories": [
    {
      "id": "GHSA-test-0001",
      "kind": "linkerd",
      "cves": ["CVE-2027-0002"],
      "severity": "high",
      "summary": "Example proxy crash",
      "component": "proxy",
      "affected": {"edge": [{"introduced": "edge-26.1.1", "before": "edge-26.9.1"}]},
      "fixed": {"edge": ["edge-26.9.1"]}
    }
  ]
}
"#,
    );
    let istio = dir.write(
        "istio.json",
        r#"{"bulletins": [{"id": "ISTIO-SECURITY-2027-001", "severity": "Low", "component": "envoy",
            "affected": [{"introduced": "1.30.0", "last_affected": "1.30.4"}], "fixed": ["1.30.5"]}]}"#,
    );
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "examples/linkerd-hardened", "--format", "json"];
        args.extend_from_slice(extra);
        run(&args)
    };
    let bundled = json(&scan(&[]));
    assert!(!findings(&bundled).iter().any(|f| f["rule"] == "DEP011"));
    // Both databases at once, in either order: each replaces its own mesh's data.
    for order in [[&linkerd, &istio], [&istio, &linkerd]] {
        let out = scan(&[
            "--advisories",
            order[0].to_str().unwrap(),
            "--advisories",
            order[1].to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = json(&out);
        let dep011: Vec<&Value> = findings(&report)
            .iter()
            .filter(|f| f["rule"] == "DEP011")
            .collect();
        let names: Vec<&str> = dep011
            .iter()
            .map(|f| f["resource"]["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"linkerd-config") && names.contains(&"linkerd-destination"),
            "{names:?}"
        );
        let f = dep011[0];
        assert_eq!(f["severity"], "high");
        let evidence = f["evidence"].to_string();
        assert!(evidence.contains("GHSA-test-0001") && evidence.contains("taken 2027-01-15"));
        assert!(f["remediation"].as_str().unwrap().contains("edge-26.9.1"));
    }
    // Two files for one mesh, or a mistake in a file: usage errors naming the file.
    let out = scan(&[
        "--advisories",
        linkerd.to_str().unwrap(),
        "--advisories",
        linkerd.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a second database of Linkerd advisories")
    );
    let bad = dir.write(
        "bad-linkerd.json",
        "{\n  \"advisories\": [\n    {\"id\": \"X\", \"fixed\": {\"edge\": [\"edge-26\"]}}\n  ]\n}\n",
    );
    let out = scan(&["--advisories", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", bad.display())) && stderr.contains("`edge-26`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// The report's findings are written on every core and spliced into the document: the result
/// must be exactly what serializing the whole document gives, with findings, without, and
/// with errors.
#[test]
fn json_report_is_plain_pretty_json() {
    let dir = TempDir::new("json-pretty");
    let broken = dir.write("broken.yaml", "a: [\n");
    for args in [
        vec!["scan", "examples/insecure-mesh", "--format", "json"],
        vec!["scan", "examples/hardened-mesh", "--format", "json"],
        vec![
            "scan",
            "examples/insecure-mesh",
            broken.to_str().unwrap(),
            "--format",
            "json",
        ],
    ] {
        let out = run(&args);
        let text = String::from_utf8(out.stdout).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let again = serde_json::to_string_pretty(&value).unwrap() + "\n";
        assert!(
            again == text,
            "{args:?}: the report is not serde's pretty JSON"
        );
    }
}
