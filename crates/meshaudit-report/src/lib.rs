//! Renders findings and the effective-policy graph. Nothing else in meshaudit prints them.

pub mod certs;
pub mod graph;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod text;

use meshaudit_model::InputError;
use meshaudit_rules::{Finding, Rule, Severity, Suppressed};

pub const TOOL_NAME: &str = "meshaudit";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a report shows about one scan.
pub struct ScanReport<'a> {
    /// Kubernetes objects read.
    pub resources: usize,
    pub findings: &'a [Finding],
    pub errors: &'a [InputError],
    /// Input read but worth a look (an object defined twice); never changes the exit code.
    pub warnings: &'a [InputError],
    pub suppressed: Suppressed,
    /// The rules that ran, for SARIF's rule table and JUnit's test cases.
    pub rules: &'a [&'static Rule],
}

impl ScanReport<'_> {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
}

/// Renders `report` in `format`. Text honours `text` options; the others ignore them.
pub fn render(report: &ScanReport<'_>, format: Format, text: &text::TextOptions) -> String {
    match format {
        Format::Text => text::render(report, text),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
    }
}
