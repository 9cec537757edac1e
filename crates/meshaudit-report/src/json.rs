//! The JSON report: the contract in DESIGN.md §5. Extend only by adding fields.

use serde::Serialize;

use crate::{ScanReport, TOOL_NAME, TOOL_VERSION};
use meshaudit_rules::{Finding, Severity};

pub const SCHEMA_VERSION: u32 = 1;

// The report is serialized straight from borrowed data (no intermediate `serde_json::Value`):
// at 10,000 findings building the value tree cost more than writing the text. Field order is
// the contract's.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportJson<'a> {
    schema_version: u32,
    tool: ToolJson,
    summary: SummaryJson,
    errors: Vec<ErrorJson<'a>>,
    findings: Vec<FindingJson<'a>>,
}

#[derive(Serialize)]
struct ToolJson {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson {
    resources: usize,
    findings: usize,
    by_severity: BySeverityJson,
}

#[derive(Serialize)]
struct BySeverityJson {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    path: &'a str,
    line: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct FindingJson<'a> {
    rule: &'static str,
    title: &'static str,
    severity: &'static str,
    category: &'static str,
    mesh: &'static str,
    resource: ResourceJson<'a>,
    location: LocationJson<'a>,
    message: &'a str,
    evidence: &'a [String],
    remediation: &'a str,
    compliance: &'static [&'static str],
    fingerprint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceJson<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
}

#[derive(Serialize)]
struct LocationJson<'a> {
    path: &'a str,
    line: u32,
    column: u32,
}

fn finding_json(f: &Finding) -> FindingJson<'_> {
    FindingJson {
        rule: f.rule.code,
        title: f.rule.title,
        severity: f.severity.as_str(),
        category: f.rule.category.as_str(),
        mesh: f.mesh.as_str(),
        resource: ResourceJson {
            api_version: &f.resource.api_version,
            kind: &f.resource.kind,
            namespace: f.resource.namespace.as_deref(),
            name: &f.resource.name,
        },
        location: LocationJson {
            path: &f.location.path,
            line: f.location.line,
            column: f.location.column,
        },
        message: &f.message,
        evidence: &f.evidence,
        remediation: &f.remediation,
        compliance: f.rule.compliance,
        fingerprint: f.fingerprint(),
    }
}

fn report_json<'a>(report: &'a ScanReport<'a>) -> ReportJson<'a> {
    ReportJson {
        schema_version: SCHEMA_VERSION,
        tool: ToolJson {
            name: TOOL_NAME,
            version: TOOL_VERSION,
        },
        summary: SummaryJson {
            resources: report.resources,
            findings: report.findings.len(),
            by_severity: BySeverityJson {
                critical: report.count(Severity::Critical),
                high: report.count(Severity::High),
                medium: report.count(Severity::Medium),
                low: report.count(Severity::Low),
                info: report.count(Severity::Info),
            },
        },
        errors: report
            .errors
            .iter()
            .map(|e| ErrorJson {
                path: &e.path,
                line: e.line,
                message: &e.message,
            })
            .collect(),
        findings: report.findings.iter().map(finding_json).collect(),
    }
}

pub fn render(report: &ScanReport<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&report_json(report)).unwrap_or_default();
    s.push('\n');
    s
}
