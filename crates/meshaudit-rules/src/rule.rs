//! A rule's metadata and documentation. Docs are data: one Markdown text per rule with fixed
//! sections, which feeds `meshaudit explain`, SARIF rule help and `docs/rules/`.

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};

/// The sections every rule doc has, in order.
pub const DOC_SECTIONS: [&str; 5] = [
    "What it detects",
    "Why it matters",
    "Example",
    "Fix",
    "References",
];

pub struct Rule {
    /// Stable code, never reused: `AUTHN001`.
    pub code: &'static str,
    /// kebab-case name: `mesh-mtls-not-strict`.
    pub name: &'static str,
    /// One line, used as the finding title.
    pub title: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub meshes: &'static [Mesh],
    /// Compliance references, `FRAMEWORK:control`.
    pub compliance: &'static [&'static str],
    /// Markdown with `## <section>` headings for each of [`DOC_SECTIONS`].
    pub doc: &'static str,
    pub check: fn(&Context<'_>, &mut Vec<Finding>),
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("code", &self.code).finish()
    }
}

impl Rule {
    /// The body of one doc section, trimmed; `None` if the section is missing or empty.
    pub fn section(&self, name: &str) -> Option<&'static str> {
        let heading = format!("## {name}");
        let mut lines = self.doc.split_inclusive('\n');
        let mut start = None;
        let mut offset = 0;
        for line in lines.by_ref() {
            let next = offset + line.len();
            if start.is_none() && line.trim_end() == heading {
                start = Some(next);
            } else if let Some(s) = start {
                if line.starts_with("## ") {
                    let body = self.doc[s..offset].trim();
                    return (!body.is_empty()).then_some(body);
                }
            }
            offset = next;
        }
        let body = self.doc[start?..].trim();
        (!body.is_empty()).then_some(body)
    }

    /// First paragraph of the Fix section: the default remediation of a finding.
    pub fn fix_summary(&self) -> String {
        self.section("Fix")
            .and_then(|s| s.split("\n\n").next())
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// First paragraph of "What it detects", on one line.
    pub fn summary(&self) -> String {
        self.section("What it detects")
            .and_then(|s| s.split("\n\n").next())
            .unwrap_or(self.title)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The full doc, with a header, as `meshaudit explain` prints it.
    pub fn explain(&self) -> String {
        let meshes: Vec<&str> = self.meshes.iter().map(|m| m.as_str()).collect();
        format!(
            "# {code} {name}: {title}\n\nCategory: {category} · Default severity: {severity} · Meshes: {meshes} \nCompliance: {compliance}\n\n{doc}\n",
            code = self.code,
            name = self.name,
            title = self.title,
            category = self.category,
            severity = self.severity,
            meshes = meshes.join(", "),
            compliance = self.compliance.join(", "),
            doc = self.doc.trim(),
        )
    }
}
