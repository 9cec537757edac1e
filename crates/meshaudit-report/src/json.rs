//! The JSON report: the contract in DESIGN.md §5. Extend only by adding fields.

use serde_json::{json, Value};

use crate::{ScanReport, TOOL_NAME, TOOL_VERSION};
use meshaudit_rules::{Finding, Severity};

pub const SCHEMA_VERSION: u32 = 1;

pub fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule.code,
        "title": f.rule.title,
        "severity": f.severity.as_str(),
        "category": f.rule.category.as_str(),
        "mesh": f.mesh.as_str(),
        "resource": {
            "apiVersion": f.resource.api_version,
            "kind": f.resource.kind,
            "namespace": f.resource.namespace,
            "name": f.resource.name,
        },
        "location": {
            "path": &*f.location.path,
            "line": f.location.line,
            "column": f.location.column,
        },
        "message": f.message,
        "evidence": f.evidence,
        "remediation": f.remediation,
        "compliance": f.rule.compliance,
        "fingerprint": f.fingerprint(),
    })
}

pub fn report_json(report: &ScanReport<'_>) -> Value {
    let by_severity: serde_json::Map<String, Value> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .into_iter()
    .map(|s| (s.as_str().to_owned(), json!(report.count(s))))
    .collect();
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "summary": {
            "resources": report.resources,
            "findings": report.findings.len(),
            "bySeverity": by_severity,
        },
        "errors": report.errors.iter().map(|e| json!({
            "path": &*e.path,
            "line": e.line,
            "message": e.message,
        })).collect::<Vec<_>>(),
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

pub fn render(report: &ScanReport<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&report_json(report)).unwrap_or_default();
    s.push('\n');
    s
}
