pub mod allow_matches_everything;
pub mod workload_without_allow_policy;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &allow_matches_everything::RULE,
    &workload_without_allow_policy::RULE,
];
