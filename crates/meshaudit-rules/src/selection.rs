//! What the user asked to see: selected and ignored rules, severity overrides and floors,
//! excluded namespaces and resources, the ignore annotation and the baseline.

use std::collections::{BTreeMap, HashSet};

use crate::finding::{Category, Finding, Severity};
use crate::registry::RULES;
use crate::rule::Rule;

/// Resolved settings from flags and `meshaudit.toml`.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Codes, code prefixes (`AUTHZ`), categories (`authorization`) or `ALL`. Empty: all rules.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub min_severity: Option<Severity>,
    pub severity_overrides: BTreeMap<String, Severity>,
    pub exclude_namespaces: Vec<String>,
    /// `Kind/namespace/name` or `Kind/name` (cluster-scoped), each part may use `*`.
    pub exclude_resources: Vec<String>,
    pub baseline: Option<HashSet<String>>,
}

/// Why a selector names no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` matches no rule code, code prefix or category (see `meshaudit rules`)")]
pub struct UnknownSelector(pub String);

/// Does `selector` pick `rule`?
pub fn selector_matches(selector: &str, rule: &Rule) -> bool {
    selector.eq_ignore_ascii_case("ALL")
        || Category::parse(selector) == Some(rule.category)
        || rule
            .code
            .to_ascii_uppercase()
            .starts_with(&selector.to_ascii_uppercase())
        || rule.name == selector
}

/// Checks that every selector names at least one rule.
pub fn validate_selector(selector: &str) -> Result<(), UnknownSelector> {
    if RULES.iter().any(|r| selector_matches(selector, r)) {
        Ok(())
    } else {
        Err(UnknownSelector(selector.to_owned()))
    }
}

impl Settings {
    pub fn rule_enabled(&self, rule: &Rule) -> bool {
        let selected =
            self.select.is_empty() || self.select.iter().any(|s| selector_matches(s, rule));
        selected && !self.ignore.iter().any(|s| selector_matches(s, rule))
    }

    pub fn enabled_rules(&self) -> Vec<&'static Rule> {
        RULES
            .iter()
            .copied()
            .filter(|r| self.rule_enabled(r))
            .collect()
    }

    /// Applies overrides, then keeps what is not silenced. Returns what was silenced, by reason.
    pub fn filter(
        &self,
        findings: Vec<Finding>,
        inventory: &meshaudit_model::Inventory,
    ) -> (Vec<Finding>, Suppressed) {
        let mut kept = Vec::new();
        let mut suppressed = Suppressed::default();
        for mut f in findings {
            if let Some(sev) = self.severity_overrides.get(f.rule.code) {
                f.severity = *sev;
            }
            if self.min_severity.is_some_and(|min| f.severity < min) {
                suppressed.below_min_severity += 1;
            } else if self.excluded(&f) {
                suppressed.excluded += 1;
            } else if annotation_ignores(&f, inventory) {
                suppressed.annotation += 1;
            } else if self
                .baseline
                .as_ref()
                .is_some_and(|b| b.contains(&f.fingerprint()))
            {
                suppressed.baseline += 1;
            } else {
                kept.push(f);
            }
        }
        (kept, suppressed)
    }

    fn excluded(&self, f: &Finding) -> bool {
        let ns = f.resource.namespace.as_deref().or(
            // A finding about a namespace as a whole is excluded with that namespace.
            (f.resource.kind == "Namespace").then_some(f.resource.name.as_str()),
        );
        if ns.is_some_and(|ns| self.exclude_namespaces.iter().any(|p| glob(p, ns))) {
            return true;
        }
        self.exclude_resources.iter().any(|pattern| {
            let parts: Vec<&str> = pattern.split('/').collect();
            match (parts.as_slice(), &f.resource.namespace) {
                ([kind, ns, name], Some(rns)) => {
                    glob(kind, &f.resource.kind) && glob(ns, rns) && glob(name, &f.resource.name)
                }
                ([kind, name], None) => {
                    glob(kind, &f.resource.kind) && glob(name, &f.resource.name)
                }
                _ => false,
            }
        })
    }
}

/// Findings silenced, by reason, so reports can say how many were hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    pub below_min_severity: usize,
    pub excluded: usize,
    pub annotation: usize,
    pub baseline: usize,
}

impl std::ops::AddAssign for Suppressed {
    /// Sums what several inventories of one scan silenced.
    fn add_assign(&mut self, other: Suppressed) {
        self.below_min_severity += other.below_min_severity;
        self.excluded += other.excluded;
        self.annotation += other.annotation;
        self.baseline += other.baseline;
    }
}

impl Suppressed {
    pub fn total(&self) -> usize {
        self.below_min_severity + self.excluded + self.annotation + self.baseline
    }
}

fn annotation_ignores(f: &Finding, inventory: &meshaudit_model::Inventory) -> bool {
    let Some(id) = f.object else { return false };
    inventory
        .object(id)
        .ignored_rules()
        .iter()
        .any(|s| s.eq_ignore_ascii_case("all") || selector_matches(s, f.rule))
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::rule;

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob("kube-*", "kube-system"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abde"));
        assert!(!glob("kube-*", "default"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn selectors_take_codes_prefixes_categories_and_names() {
        let r = rule("AUTHZ001").unwrap();
        assert!(selector_matches("AUTHZ001", r));
        assert!(selector_matches("authz", r));
        assert!(selector_matches("authorization", r));
        assert!(selector_matches("allow-policy-matches-everything", r));
        assert!(selector_matches("ALL", r));
        assert!(!selector_matches("AUTHN", r));
        assert!(validate_selector("NOPE9").is_err());
    }

    #[test]
    fn ignore_wins_over_select() {
        let settings = Settings {
            select: vec!["authorization".into()],
            ignore: vec!["AUTHZ002".into()],
            ..Settings::default()
        };
        let codes: Vec<_> = settings.enabled_rules().iter().map(|r| r.code).collect();
        assert!(codes.contains(&"AUTHZ001"));
        assert!(!codes.contains(&"AUTHZ002"));
        assert!(!codes.contains(&"AUTHN001"));
    }
}
