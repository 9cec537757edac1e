//! SARIF 2.1.0, as code-scanning UIs read it: one run, the rules that ran with their full help,
//! and one result per finding located on its line. Input errors and warnings become tool
//! execution notifications.

use serde_json::{json, Value};

use crate::{ScanReport, TOOL_NAME, TOOL_VERSION};
use meshaudit_rules::{Finding, Rule, Severity};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning reads `security-severity` (0.0–10.0) to rank security results.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Paths as URIs relative to the working folder (`%SRCROOT%`), with `/` separators.
fn artifact_uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    p.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn rule_json(rule: &Rule) -> Value {
    json!({
        "id": rule.code,
        "name": to_pascal(rule.name),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": rule.doc.trim(), "markdown": rule.doc.trim()},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "category": rule.category.as_str(),
            "tags": std::iter::once("security".to_owned())
                .chain(std::iter::once(rule.category.as_str().to_owned()))
                .chain(rule.compliance.iter().map(|c| (*c).to_owned()))
                .collect::<Vec<_>>(),
            "security-severity": security_severity(rule.severity),
            "precision": "high",
        },
    })
}

fn to_pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn result_json(f: &Finding, rule_index: Option<usize>) -> Value {
    let mut message = f.message.clone();
    for e in &f.evidence {
        message.push_str("\nEvidence: ");
        message.push_str(e);
    }
    message.push_str("\nFix: ");
    message.push_str(&f.remediation);
    // A rendered kustomization is no file of the repository: code-scanning UIs get the source
    // file kustomize names (its first line: kustomize records no line), and the place in the
    // rendering goes into the properties.
    let rendered = f.kustomization.is_some();
    let source_file = f
        .source
        .as_deref()
        .filter(|s| rendered && !s.contains(' ') && !s.contains("//"));
    let physical = match source_file {
        Some(file) => json!({
            "artifactLocation": {"uri": artifact_uri(file), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1},
        }),
        None => json!({
            "artifactLocation": {"uri": artifact_uri(&f.location.path), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": f.location.line.max(1), "startColumn": f.location.column.max(1)},
        }),
    };
    let mut result = json!({
        "ruleId": f.rule.code,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": physical,
            "logicalLocations": [{
                "fullyQualifiedName": f.resource.display_name(),
                "kind": "resource",
            }],
        }],
        "partialFingerprints": {"meshaudit/v1": f.fingerprint()},
        "properties": {
            "severity": f.severity.as_str(),
            "security-severity": security_severity(f.severity),
            "category": f.rule.category.as_str(),
            "mesh": f.mesh.as_str(),
            "compliance": f.rule.compliance,
        },
    });
    if let Some(i) = rule_index {
        result["ruleIndex"] = json!(i);
    }
    if !f.related.is_empty() {
        result["relatedLocations"] = f
            .related
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "id": i,
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(&r.location.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": r.location.line.max(1), "startColumn": r.location.column.max(1)},
                    },
                    "message": {"text": r.message},
                })
            })
            .collect();
    }
    if let Some(k) = &f.kustomization {
        result["properties"]["kustomization"] = json!(k);
        result["properties"]["renderedLocation"] = json!(format!(
            "{}:{}:{}",
            f.location.path, f.location.line, f.location.column
        ));
    }
    result
}

pub fn render(report: &ScanReport<'_>) -> String {
    let rules: Vec<Value> = report.rules.iter().map(|r| rule_json(r)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = report.rules.iter().position(|r| r.code == f.rule.code);
            result_json(f, index)
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| (e, "error"))
        .chain(report.warnings.iter().map(|w| (w, "warning")))
        .map(|(e, level)| {
            let mut n = json!({
                "level": level,
                "message": {"text": e.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(&e.path), "uriBaseId": "%SRCROOT%"}}}],
            });
            if e.line > 0 {
                n["locations"][0]["physicalLocation"]["region"] =
                    json!({"startLine": e.line, "startColumn": e.column.max(1)});
            }
            n
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": TOOL_VERSION,
                "semanticVersion": TOOL_VERSION,
                "informationUri": "https://github.com/meshaudit/meshaudit",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "./"}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_escaped() {
        assert_eq!(artifact_uri("./a b/c.yaml"), "a%20b/c.yaml");
        assert_eq!(artifact_uri("x\\y.yaml"), "x/y.yaml");
    }
}
