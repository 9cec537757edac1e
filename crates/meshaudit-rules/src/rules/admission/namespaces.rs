//! Namespaces as admission webhooks see them: their labels as the API server matches them
//! (with the automatic name label), their annotations, and which namespaces the input covers.

use std::collections::{BTreeMap, BTreeSet};

use meshaudit_model::selector::{LabelSelector, Labels};
use meshaudit_model::Inventory;

/// Set by the API server on every namespace since Kubernetes 1.21, so selectors may rely on it
/// even where the input's Namespace object does not spell it out.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// Gatekeeper skips namespaces carrying this label (any value).
pub const GATEKEEPER_IGNORE_LABEL: &str = "admission.gatekeeper.sh/ignore";

/// A namespace's labels as the API server matches them: with `kubernetes.io/metadata.name`.
pub fn namespace_labels(inv: &Inventory, name: &str) -> Labels {
    let mut labels = inv
        .namespace(name)
        .map(|n| n.labels.clone())
        .unwrap_or_default();
    labels
        .entry(NAMESPACE_NAME_LABEL.to_owned())
        .or_insert_with(|| name.to_owned());
    labels
}

pub fn namespace_annotations<'i>(
    inv: &'i Inventory,
    name: &str,
) -> Option<&'i BTreeMap<String, String>> {
    inv.namespace(name)
        .and_then(|n| n.object)
        .map(|id| &inv.object(id).annotations)
}

/// Namespaces the input really describes — some Service or workload lives there — so that a
/// Service missing from them is missing from the cluster. A chart that only drops a
/// ServiceAccount into `istio-system` (Istio's `base`) does not count.
pub fn covered_namespaces(inv: &Inventory) -> BTreeSet<&str> {
    inv.services
        .iter()
        .map(|s| s.namespace.as_str())
        .chain(inv.workloads.iter().map(|w| w.namespace.as_str()))
        .collect()
}

/// Whether the input has the namespace's `Namespace` object, so its labels are known.
pub fn labels_known(inv: &Inventory, name: &str) -> bool {
    inv.namespace(name).and_then(|n| n.object).is_some()
}

/// For a namespace whose labels are unknown: does the selector exclude it on its name alone
/// (`kubernetes.io/metadata.name`), the only label the API server is sure to set?
pub fn excludes_by_name(selector: &LabelSelector, name: &str) -> bool {
    let only_name = LabelSelector {
        match_labels: selector.match_labels.as_ref().map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() == NAMESPACE_NAME_LABEL)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        match_expressions: selector.match_expressions.as_ref().map(|e| {
            e.iter()
                .filter(|r| r.key == NAMESPACE_NAME_LABEL)
                .cloned()
                .collect()
        }),
    };
    let labels: Labels = [(NAMESPACE_NAME_LABEL.to_owned(), name.to_owned())].into();
    !only_name.matches(&labels)
}

/// Kubernetes' own namespaces.
pub fn is_kubernetes_system(name: &str) -> bool {
    matches!(name, "kube-system" | "kube-public" | "kube-node-lease")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_labels_exclude_only_by_name() {
        use meshaudit_model::selector::{LabelRequirement, SelectorOperator};
        let selector = LabelSelector {
            match_labels: Some([("team".to_owned(), "shop".to_owned())].into()),
            match_expressions: Some(vec![LabelRequirement {
                key: NAMESPACE_NAME_LABEL.into(),
                operator: SelectorOperator::NotIn,
                values: Some(vec!["kube-system".into()]),
            }]),
        };
        assert!(excludes_by_name(&selector, "kube-system"));
        // `team=shop` may well be on the real namespace: not a reason to call it excluded.
        assert!(!excludes_by_name(&selector, "orders"));
    }

    #[test]
    fn namespace_labels_include_the_automatic_name_label() {
        let inv = Inventory::default();
        assert_eq!(
            namespace_labels(&inv, "shop")
                .get(NAMESPACE_NAME_LABEL)
                .map(String::as_str),
            Some("shop")
        );
    }
}
