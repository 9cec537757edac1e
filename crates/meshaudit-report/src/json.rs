//! The JSON report: the contract in DESIGN.md §5. Extend only by adding fields.

use serde::Serialize;

use crate::{ScanReport, TOOL_NAME, TOOL_VERSION};
use meshaudit_model::parallel::map_in_order;
use meshaudit_model::InputError;
use meshaudit_rules::{Finding, Severity};

pub const SCHEMA_VERSION: u32 = 1;

// The report is serialized straight from borrowed data (no intermediate `serde_json::Value`):
// at 10,000 findings building the value tree cost more than writing the text. Field order is
// the contract's.

/// Everything but the findings, which come last and are written on every core (see
/// [`render`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportHeadJson<'a> {
    schema_version: u32,
    tool: ToolJson,
    summary: SummaryJson,
    errors: Vec<ErrorJson<'a>>,
    warnings: Vec<ErrorJson<'a>>,
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
    column: u32,
    message: &'a str,
}

fn error_json(e: &InputError) -> ErrorJson<'_> {
    ErrorJson {
        path: &e.path,
        line: e.line,
        column: e.column,
        message: &e.message,
    }
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
    /// The places the evidence points at; absent when it points at none.
    #[serde(rename = "relatedLocations", skip_serializing_if = "Vec::is_empty")]
    related: Vec<RelatedJson<'a>>,
    remediation: &'a str,
    compliance: &'static [&'static str],
    fingerprint: String,
    /// Only for findings of a rendered kustomization.
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<InputJson<'a>>,
}

#[derive(Serialize)]
struct RelatedJson<'a> {
    path: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct InputJson<'a> {
    kustomization: Option<&'a str>,
    source: Option<&'a str>,
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
        related: f
            .related
            .iter()
            .map(|r| RelatedJson {
                path: &r.location.path,
                line: r.location.line,
                column: r.location.column,
                message: &r.message,
            })
            .collect(),
        remediation: &f.remediation,
        compliance: f.rule.compliance,
        fingerprint: f.fingerprint(),
        input: (f.kustomization.is_some() || f.source.is_some()).then_some(InputJson {
            kustomization: f.kustomization.as_deref(),
            source: f.source.as_deref(),
        }),
    }
}

fn report_head<'a>(report: &'a ScanReport<'a>) -> ReportHeadJson<'a> {
    ReportHeadJson {
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
        errors: report.errors.iter().map(error_json).collect(),
        warnings: report.warnings.iter().map(error_json).collect(),
    }
}

/// Findings per piece of work when they are written in parallel.
const FINDINGS_PER_CHUNK: usize = 256;

/// The report as pretty-printed JSON, byte for byte what serializing the whole document at
/// once gives: the head, then `"findings"` (the last key), whose elements are written on every
/// core and indented to their depth. Pretty JSON never breaks a line inside a string, so
/// indenting line by line is safe.
pub fn render(report: &ScanReport<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&report_head(report)).unwrap_or_default();
    // The head ends with "\n}"; the findings continue the object.
    s.truncate(s.len().saturating_sub(2));
    if report.findings.is_empty() {
        s.push_str(",\n  \"findings\": []\n}\n");
        return s;
    }
    s.push_str(",\n  \"findings\": [\n");
    let chunks: Vec<&[Finding]> = report.findings.chunks(FINDINGS_PER_CHUNK).collect();
    let parts = map_in_order(&chunks, |chunk| {
        let mut out = String::new();
        for (i, f) in chunk.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            let one = serde_json::to_string_pretty(&finding_json(f)).unwrap_or_default();
            for (j, line) in one.lines().enumerate() {
                if j > 0 {
                    out.push('\n');
                }
                out.push_str("    ");
                out.push_str(line);
            }
        }
        out
    });
    s.push_str(&parts.join(",\n"));
    s.push_str("\n  ]\n}\n");
    s
}
