//! Which workloads and namespaces hold sensitive data, as their labels say — one reading for
//! every rule that weighs severity by it (NET006, NET011, the Linkerd authorization rules).

use meshaudit_model::selector::Labels;
use meshaudit_model::{Inventory, WorkloadId};

/// Label values that mark data as sensitive, and the keys that carry them.
const CLASSIFICATION_KEYS: [&str; 4] = [
    "data-classification",
    "data.classification",
    "classification",
    "meshaudit.io/data-classification",
];
const SENSITIVE_CLASSES: [&str; 8] = [
    "confidential",
    "restricted",
    "sensitive",
    "secret",
    "pii",
    "phi",
    "pci",
    "cardholder",
];
/// Keys whose truthy value marks a regulated scope.
const SCOPE_KEYS: [&str; 5] = ["pci", "pci-dss", "hipaa", "gdpr", "meshaudit.io/sensitive"];
const COMPLIANCE_KEYS: [&str; 2] = ["compliance", "compliance-scope"];

/// Why labels (or annotations) mark a workload or namespace as holding sensitive data:
/// `data-classification: confidential`, `pci: "true"`, `compliance: pci-dss`,
/// `meshaudit.io/sensitive: "true"`.
pub fn sensitive_marker(labels: &Labels) -> Option<String> {
    for key in CLASSIFICATION_KEYS {
        if let Some(v) = labels.get(key) {
            if SENSITIVE_CLASSES.contains(&v.to_ascii_lowercase().as_str()) {
                return Some(format!("{key}: {v}"));
            }
        }
    }
    for key in SCOPE_KEYS {
        if let Some(v) = labels.get(key) {
            if matches!(
                v.to_ascii_lowercase().as_str(),
                "true" | "yes" | "enabled" | "in-scope"
            ) {
                return Some(format!("{key}: {v}"));
            }
        }
    }
    for key in COMPLIANCE_KEYS {
        if let Some(v) = labels.get(key) {
            let v_lower = v.to_ascii_lowercase();
            if ["pci", "hipaa", "gdpr", "sox", "phi"]
                .iter()
                .any(|s| v_lower.contains(s))
            {
                return Some(format!("{key}: {v}"));
            }
        }
    }
    None
}

/// Why workload `w` holds sensitive data: its pod template's labels or annotations, else its
/// namespace's labels; `None` when nothing marks it.
pub fn workload_sensitivity(inv: &Inventory, w: WorkloadId) -> Option<String> {
    let wl = &inv.workloads[w];
    sensitive_marker(&wl.labels)
        .or_else(|| sensitive_marker(&wl.annotations))
        .map(|m| format!("{} {}/{} is marked {m}", wl.kind, wl.namespace, wl.name))
        .or_else(|| {
            inv.namespace(&wl.namespace)
                .and_then(|n| sensitive_marker(&n.labels))
                .map(|m| format!("namespace `{}` is marked {m}", wl.namespace))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn sensitive_markers() {
        assert!(sensitive_marker(&labels(&[("data-classification", "Confidential")])).is_some());
        assert!(sensitive_marker(&labels(&[("pci", "true")])).is_some());
        assert!(sensitive_marker(&labels(&[("compliance", "pci-dss")])).is_some());
        assert!(sensitive_marker(&labels(&[("meshaudit.io/sensitive", "true")])).is_some());
        assert!(sensitive_marker(&labels(&[("data-classification", "public")])).is_none());
        assert!(sensitive_marker(&labels(&[("pci", "false")])).is_none());
        assert!(sensitive_marker(&labels(&[("app", "payments")])).is_none());
    }
}
