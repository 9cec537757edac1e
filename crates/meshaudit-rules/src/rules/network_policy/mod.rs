pub mod namespace_without_network_policy;
pub mod outbound_traffic_allow_any;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &namespace_without_network_policy::RULE,
    &outbound_traffic_allow_any::RULE,
];
