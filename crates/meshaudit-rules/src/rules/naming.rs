//! How findings name things in their text: workloads, pod-template fields, label selectors and
//! long lists. One spelling each, so every rule words the same thing the same way.

use meshaudit_model::k8s::Workload;
use meshaudit_model::selector::LabelSelector;
use meshaudit_model::{Inventory, Step, WorkloadId};

/// `Deployment shop/orders`.
pub fn workload_name(w: &Workload) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// The path of a field inside a workload's pod template (`spec.template` + `tail`).
pub fn template_path<'a>(w: &Workload, tail: &[Step<'a>]) -> Vec<Step<'a>> {
    let mut path: Vec<Step<'a>> = w.template_path.iter().map(|k| Step::Key(k)).collect();
    path.extend_from_slice(tail);
    path
}

/// A selector in one line, as a user would write it: `istio-injection=enabled, env notin (dev)`.
pub fn selector_text(selector: &LabelSelector) -> String {
    use meshaudit_model::selector::SelectorOperator as Op;
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in selector.match_expressions.iter().flatten() {
        let values = r.values.as_deref().unwrap_or_default().join(",");
        parts.push(match r.operator {
            Op::In => format!("{} in ({values})", r.key),
            Op::NotIn => format!("{} notin ({values})", r.key),
            Op::Exists => r.key.clone(),
            Op::DoesNotExist => format!("!{}", r.key),
        });
    }
    if parts.is_empty() {
        "everything".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `a, b, c and 4 more`.
pub fn join_limited(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

/// `Deployment orders, StatefulSet db, and 4 more`: up to `max` workloads by kind and name, for
/// lists inside one namespace. The tail is its own list item (hence the comma before "and"),
/// unlike [`join_limited`]; findings have always been worded so.
pub fn list_workloads(inv: &Inventory, workloads: &[WorkloadId], max: usize) -> String {
    list_with_tail(workloads, max, |w| {
        let wl = &inv.workloads[w];
        format!("{} {}", wl.kind, wl.name)
    })
}

/// `shop/orders, billing/db, and 4 more`: as [`list_workloads`], but by namespace and name, for
/// lists that cross namespaces.
pub fn list_workloads_qualified(inv: &Inventory, workloads: &[WorkloadId], max: usize) -> String {
    list_with_tail(workloads, max, |w| {
        let wl = &inv.workloads[w];
        format!("{}/{}", wl.namespace, wl.name)
    })
}

fn list_with_tail(
    workloads: &[WorkloadId],
    max: usize,
    name: impl Fn(WorkloadId) -> String,
) -> String {
    let mut names: Vec<String> = workloads.iter().take(max).map(|&w| name(w)).collect();
    if workloads.len() > max {
        names.push(format!("and {} more", workloads.len() - max));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_lists_say_how_many_more() {
        let items: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(join_limited(&items, 3), "a, b, c");
        assert_eq!(join_limited(&items, 2), "a, b and 1 more");
    }

    #[test]
    fn empty_selectors_select_everything() {
        assert_eq!(selector_text(&LabelSelector::default()), "everything");
    }
}
