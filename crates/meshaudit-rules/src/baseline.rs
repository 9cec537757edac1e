//! Baseline files: the fingerprints of accepted findings, so CI fails only on new ones.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    pub schema_version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    /// For people reading the file; matching uses only the fingerprint.
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub resource: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("not a meshaudit baseline: {0}")]
    Format(#[from] serde_json::Error),
    #[error("baseline schemaVersion {0} is not supported (expected 1)")]
    Version(u32),
}

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint(),
                rule: f.rule.code.to_owned(),
                resource: f.resource.display_name(),
            })
            .collect();
        entries.sort_by(|a, b| {
            (&a.rule, &a.resource, &a.fingerprint).cmp(&(&b.rule, &b.resource, &b.fingerprint))
        });
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline {
            schema_version: 1,
            findings: entries,
        }
    }

    pub fn parse(text: &str) -> Result<Self, BaselineError> {
        let b: Baseline = serde_json::from_str(text)?;
        if b.schema_version != 1 {
            return Err(BaselineError::Version(b.schema_version));
        }
        Ok(b)
    }

    pub fn fingerprints(&self) -> HashSet<String> {
        self.findings
            .iter()
            .map(|e| e.fingerprint.clone())
            .collect()
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
