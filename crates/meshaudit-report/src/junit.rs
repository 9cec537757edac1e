//! JUnit XML for CI dashboards: one test suite per rule that ran, one failed test case per
//! finding, a passing case for rules without findings, and an `input` suite for input errors
//! (with input warnings as its output).

use std::fmt::Write;

use crate::ScanReport;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &ScanReport<'_>) -> String {
    let mut suites = String::new();
    let mut total_tests = 0;
    let mut total_failures = 0;
    for rule in report.rules {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.rule.code == rule.code)
            .collect();
        let tests = findings.len().max(1);
        total_tests += tests;
        total_failures += findings.len();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{} {}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\">",
            rule.code,
            escape(rule.name),
            findings.len()
        );
        if findings.is_empty() {
            let _ = writeln!(
                suites,
                "    <testcase classname=\"meshaudit.{}\" name=\"{}\"/>",
                rule.code,
                escape(rule.title)
            );
        }
        for f in findings {
            let mut body = format!(
                "{}\n{}:{}:{}\n",
                f.message, f.location.path, f.location.line, f.location.column
            );
            for e in &f.evidence {
                let _ = writeln!(body, "evidence: {e}");
            }
            let _ = writeln!(body, "fix: {}", f.remediation);
            let _ = writeln!(
                suites,
                "    <testcase classname=\"meshaudit.{}\" name=\"{}\" file=\"{}\" line=\"{}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                rule.code,
                escape(&f.resource.display_name()),
                escape(&f.location.path),
                f.location.line,
                escape(&f.message),
                f.severity.as_str(),
                escape(&body)
            );
        }
        suites.push_str("  </testsuite>\n");
    }
    let mut errors = 0;
    if !report.errors.is_empty() || !report.warnings.is_empty() {
        errors = report.errors.len();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"input\" tests=\"{errors}\" failures=\"0\" errors=\"{errors}\">"
        );
        for e in report.errors {
            let _ = writeln!(
                suites,
                "    <testcase classname=\"meshaudit.input\" name=\"{}:{}\">\n      <error message=\"{}\"/>\n    </testcase>",
                escape(&e.path),
                e.line,
                escape(&e.message)
            );
        }
        // Warnings fail nothing: JUnit has no level for them, so they are the suite's output (after
        // its test cases, as the JUnit schema orders them).
        if !report.warnings.is_empty() {
            let lines: Vec<String> = report
                .warnings
                .iter()
                .map(|w| format!("warning: {w}"))
                .collect();
            let _ = writeln!(
                suites,
                "    <system-out>{}</system-out>",
                escape(&lines.join("\n"))
            );
        }
        suites.push_str("  </testsuite>\n");
        total_tests += errors;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"meshaudit\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"{errors}\">\n{suites}</testsuites>\n"
    )
}
