//! Every rule, in code order. Codes are stable and never reused; a test checks uniqueness.
//! Each category module lists its own rules (`rules/<category>/mod.rs`).

use std::sync::LazyLock;

use crate::rule::Rule;
use crate::rules::{
    admission, authentication, authorization, certificates, dependencies, encryption,
    network_policy,
};

pub static RULES: LazyLock<Vec<&'static Rule>> = LazyLock::new(|| {
    let mut all: Vec<&'static Rule> = [
        authentication::RULES,
        authorization::RULES,
        certificates::RULES,
        dependencies::RULES,
        encryption::RULES,
        network_policy::RULES,
        admission::RULES,
    ]
    .concat();
    all.sort_by_key(|r| r.code);
    all
});

/// Looks a rule up by code (case-insensitive) or by name.
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::DOC_SECTIONS;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for r in RULES.iter() {
            assert!(codes.insert(r.code), "duplicate code {}", r.code);
            assert!(names.insert(r.name), "duplicate name {}", r.name);
        }
    }

    #[test]
    fn codes_follow_the_category_prefix() {
        for r in RULES.iter() {
            let prefix = match r.category.as_str() {
                "authentication" => "AUTHN",
                "authorization" => "AUTHZ",
                "certificates" => "CERT",
                "encryption" => "TLS",
                "logging" => "LOG",
                "network-policy" => "NET",
                "admission" => "ADM",
                "dependencies" => "DEP",
                other => panic!("unknown category {other}"),
            };
            let digits = r.code.strip_prefix(prefix).unwrap_or_else(|| {
                panic!("{} should start with {prefix} for {}", r.code, r.category)
            });
            assert!(
                digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.code
            );
        }
    }

    #[test]
    fn every_rule_is_fully_documented() {
        for r in RULES.iter() {
            for section in DOC_SECTIONS {
                assert!(
                    r.section(section).is_some(),
                    "{} lacks the doc section `{section}`",
                    r.code
                );
            }
            assert!(
                r.section("Example").unwrap().contains("```"),
                "{}: example needs a code block",
                r.code
            );
            assert!(
                !r.compliance.is_empty(),
                "{} has no compliance references",
                r.code
            );
            assert!(!r.meshes.is_empty(), "{} names no mesh", r.code);
            assert!(!r.fix_summary().is_empty(), "{}", r.code);
            assert!(
                r.name.starts_with(|c: char| c.is_ascii_lowercase())
                    && r.name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} name must be kebab-case",
                r.code
            );
        }
    }

    #[test]
    fn compliance_references_use_known_frameworks() {
        const FRAMEWORKS: &[&str] = &[
            "SOC2",
            "HIPAA",
            "PCI-DSS",
            "GDPR",
            "NIST-800-204A",
            "NIST-800-204B",
            "CIS-K8S",
        ];
        for r in RULES.iter() {
            for c in r.compliance {
                let (framework, control) = c.split_once(':').expect("FRAMEWORK:control");
                assert!(FRAMEWORKS.contains(&framework), "{}: {c}", r.code);
                assert!(!control.is_empty(), "{}: {c}", r.code);
            }
        }
    }
}
