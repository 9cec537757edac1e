//! Label selectors, evaluated as the Kubernetes API and Istio define them.

use std::collections::BTreeMap;

use serde::Deserialize;

pub type Labels = BTreeMap<String, String>;

/// A Kubernetes `LabelSelector` (`matchLabels` and `matchExpressions`). All terms are ANDed;
/// an empty selector selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: Option<Labels>,
    #[serde(default)]
    pub match_expressions: Option<Vec<LabelRequirement>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LabelRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    pub fn is_empty(&self) -> bool {
        self.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
            && self.match_expressions.as_ref().is_none_or(Vec::is_empty)
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let labels_ok = self
            .match_labels
            .iter()
            .flatten()
            .all(|(k, v)| labels.get(k) == Some(v));
        labels_ok
            && self
                .match_expressions
                .iter()
                .flatten()
                .all(|r| r.matches(labels))
    }
}

impl LabelRequirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let values = self.values.as_deref().unwrap_or_default();
        match self.operator {
            SelectorOperator::In => labels.get(&self.key).is_some_and(|v| values.contains(v)),
            // NotIn also selects objects that lack the key, as the API defines it.
            SelectorOperator::NotIn => labels.get(&self.key).is_none_or(|v| !values.contains(v)),
            SelectorOperator::Exists => labels.contains_key(&self.key),
            SelectorOperator::DoesNotExist => !labels.contains_key(&self.key),
        }
    }
}

/// Istio's `WorkloadSelector`: only `matchLabels`. An absent selector means "all workloads in
/// the policy's namespace" (or the mesh, in the root namespace); an empty one means the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// `matchLabels` in policies' `selector`; `labels` in the `workloadSelector` of Sidecar,
    /// ServiceEntry and EnvoyFilter.
    #[serde(default, alias = "labels")]
    pub match_labels: Labels,
}

impl WorkloadSelector {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// Does a plain label map (a Service or Gateway `selector`) select these labels? An empty map
/// selects nothing for Services (they then have no endpoints) — callers decide that case.
pub fn map_selects(selector: &Labels, labels: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
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

    fn req(key: &str, operator: SelectorOperator, values: &[&str]) -> LabelRequirement {
        LabelRequirement {
            key: key.into(),
            operator,
            values: Some(values.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn empty_selector_selects_everything() {
        assert!(LabelSelector::default().matches(&labels(&[("app", "x")])));
        assert!(LabelSelector::default().is_empty());
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "api")])),
            match_expressions: Some(vec![req("tier", SelectorOperator::In, &["web", "api"])]),
        };
        assert!(sel.matches(&labels(&[("app", "api"), ("tier", "web")])));
        assert!(!sel.matches(&labels(&[("app", "api"), ("tier", "db")])));
        assert!(!sel.matches(&labels(&[("app", "api")])));
        assert!(!sel.matches(&labels(&[("tier", "web")])));
    }

    #[test]
    fn not_in_selects_missing_keys_and_exists_does_not() {
        let not_in = req("env", SelectorOperator::NotIn, &["prod"]);
        assert!(not_in.matches(&labels(&[])));
        assert!(not_in.matches(&labels(&[("env", "dev")])));
        assert!(!not_in.matches(&labels(&[("env", "prod")])));
        let exists = req("env", SelectorOperator::Exists, &[]);
        assert!(!exists.matches(&labels(&[])));
        let absent = req("env", SelectorOperator::DoesNotExist, &[]);
        assert!(absent.matches(&labels(&[])));
    }

    #[test]
    fn workload_selector_reads_both_spellings() {
        let a: WorkloadSelector = serde_json::from_str(r#"{"matchLabels": {"app": "x"}}"#).unwrap();
        let b: WorkloadSelector = serde_json::from_str(r#"{"labels": {"app": "x"}}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.match_labels.get("app").map(String::as_str), Some("x"));
    }

    #[test]
    fn workload_selector_is_a_subset_match() {
        let sel = WorkloadSelector {
            match_labels: labels(&[("app", "api")]),
        };
        assert!(sel.matches(&labels(&[("app", "api"), ("version", "v1")])));
        assert!(!sel.matches(&labels(&[("app", "web")])));
    }
}
