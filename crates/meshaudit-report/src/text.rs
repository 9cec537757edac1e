//! The text report, for a person at a terminal: findings grouped by severity or by resource,
//! each with `path:line:column`, the message, the evidence and the fix.

use std::collections::BTreeMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Effects, Style};
use meshaudit_rules::{Finding, Severity};

use crate::ScanReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    #[default]
    Severity,
    Resource,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub group_by: GroupBy,
    /// Emit ANSI colors (the binary decides from the terminal and `--color`).
    pub color: bool,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

fn severity_style(s: Severity) -> Style {
    let color = match s {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::White,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn render(report: &ScanReport<'_>, options: &TextOptions) -> String {
    let p = Paint { on: options.color };
    let bold = Style::new().effects(Effects::BOLD);
    let dim = Style::new().effects(Effects::DIMMED);
    let mut out = String::new();

    for e in report.errors {
        let _ = writeln!(
            out,
            "{} {e}",
            p.paint(
                Style::new()
                    .fg_color(Some(AnsiColor::Red.into()))
                    .effects(Effects::BOLD),
                "error:"
            )
        );
    }
    for w in report.warnings {
        let _ = writeln!(
            out,
            "{} {w}",
            p.paint(
                Style::new()
                    .fg_color(Some(AnsiColor::Yellow.into()))
                    .effects(Effects::BOLD),
                "warning:"
            )
        );
    }
    if !report.errors.is_empty() || !report.warnings.is_empty() {
        out.push('\n');
    }

    match options.group_by {
        GroupBy::Severity => {
            for severity in Severity::ALL {
                let group: Vec<&Finding> = report
                    .findings
                    .iter()
                    .filter(|f| f.severity == severity)
                    .collect();
                if group.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "{} ({})\n",
                    p.paint(severity_style(severity), &severity.as_str().to_uppercase()),
                    group.len()
                );
                for f in group {
                    write_finding(&mut out, &p, f, true);
                }
            }
        }
        GroupBy::Resource => {
            let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
            for f in report.findings {
                let name = match &f.kustomization {
                    Some(k) => format!("{} in kustomization {k}", f.resource.display_name()),
                    None => f.resource.display_name(),
                };
                groups.entry(name).or_default().push(f);
            }
            for (resource, group) in groups {
                let _ = writeln!(out, "{} ({})\n", p.paint(bold, &resource), group.len());
                for f in group {
                    write_finding(&mut out, &p, f, false);
                }
            }
        }
    }

    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter(|s| report.count(**s) > 0)
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
    let mut summary = format!(
        "{} in {}",
        plural(report.findings.len(), "finding", "findings"),
        plural(report.resources, "resource", "resources"),
    );
    if !counts.is_empty() {
        let _ = write!(summary, " ({})", counts.join(", "));
    }
    if report.suppressed.total() > 0 {
        let s = report.suppressed;
        let mut why = Vec::new();
        for (n, reason) in [
            (s.below_min_severity, "below --min-severity"),
            (s.excluded, "excluded by config"),
            (s.annotation, "ignored by annotation"),
            (s.baseline, "in the baseline"),
        ] {
            if n > 0 {
                why.push(format!("{n} {reason}"));
            }
        }
        let _ = write!(summary, "; {} hidden: {}", s.total(), why.join(", "));
    }
    if !report.errors.is_empty() {
        let _ = write!(
            summary,
            "; {}",
            plural(report.errors.len(), "input error", "input errors")
        );
    }
    if !report.warnings.is_empty() {
        let _ = write!(
            summary,
            "; {}",
            plural(report.warnings.len(), "input warning", "input warnings")
        );
    }
    let _ = writeln!(out, "{}", p.paint(bold, &summary));
    if report.findings.is_empty() && report.errors.is_empty() {
        let _ = writeln!(out, "{}", p.paint(dim, "No findings."));
    }
    out
}

fn write_finding(out: &mut String, p: &Paint, f: &Finding, show_resource: bool) {
    let bold = Style::new().effects(Effects::BOLD);
    let dim = Style::new().effects(Effects::DIMMED);
    let _ = writeln!(
        out,
        "  {} {} {}",
        p.paint(
            severity_style(f.severity),
            &format!("{:<8}", f.severity.as_str())
        ),
        p.paint(bold, f.rule.code),
        f.rule.title
    );
    let _ = writeln!(
        out,
        "    {} {}:{}:{}",
        p.paint(dim, "-->"),
        f.location.path,
        f.location.line,
        f.location.column
    );
    if show_resource {
        let _ = writeln!(out, "    {}", f.resource.display_name());
    }
    if let Some(k) = &f.kustomization {
        let _ = writeln!(out, "    {} {k}", p.paint(dim, "kustomization:"));
    }
    let _ = writeln!(out, "    {}", f.message);
    for e in &f.evidence {
        let _ = writeln!(out, "    {} {e}", p.paint(dim, "evidence:"));
    }
    let _ = writeln!(out, "    {} {}", p.paint(bold, "fix:"), f.remediation);
    out.push('\n');
}
