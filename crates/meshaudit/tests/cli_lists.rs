//! `kubectl get -A -o json|yaml` dumps on the command line: through standard input and files,
//! every object counted, the fields no rule reads skipped, positions into the dump.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn scan_stdin(input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(["scan", "-", "--format", "json", "--fail-on", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A Deployment as kubectl prints it in a JSON List, with managedFields and status; its
/// container runs privileged, which a rule reports at `securityContext`.
fn deployment(i: usize) -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "managedFields": [{"apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}}, "manager": "kubectl", "operation": "Update"}],
            "name": format!("app-{i}"),
            "namespace": "shop"
        },
        "spec": {
            "selector": {"matchLabels": {"app": format!("app-{i}")}},
            "template": {
                "metadata": {"labels": {"app": format!("app-{i}")}},
                "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0",
                    "securityContext": {"privileged": true}}]}
            }
        },
        "status": {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    })
}

fn list(n: usize) -> String {
    let items: Vec<Value> = (0..n).map(deployment).collect();
    let doc = serde_json::json!({"apiVersion": "v1", "items": items, "kind": "List",
        "metadata": {"resourceVersion": ""}});
    serde_json::to_string_pretty(&doc).unwrap()
}

#[test]
fn a_json_list_through_stdin_is_audited_item_by_item() {
    let text = list(300);
    let out = scan_stdin(text.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["resources"], 300);
    // Findings point into the dump: the line of a field of the last item.
    let last_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("\"privileged\": true"))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap();
    let findings = report["findings"].as_array().unwrap();
    let lines: Vec<u64> = findings
        .iter()
        .filter(|f| f["location"]["path"] == "<stdin>")
        .filter_map(|f| f["location"]["line"].as_u64())
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|&l| (l as usize) <= last_line + 20),
        "{lines:?} beyond {last_line}"
    );
}

#[test]
fn a_broken_item_in_a_stdin_list_is_an_error_with_its_line_and_the_rest_is_audited() {
    let text = list(3).replacen("\"app-1\"", "\"app-1\" oops", 1);
    let out = scan_stdin(text.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["resources"], 2);
    let line = text.lines().position(|l| l.contains("oops")).unwrap() + 1;
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "<stdin>");
    assert_eq!(errors[0]["line"], line);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("invalid JSON"));
}
