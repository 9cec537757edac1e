pub mod allow_any_identity;
pub mod allow_matches_everything;
pub mod http_rule_on_tcp_port;
mod identities;
pub mod identity_bypassed_by_plaintext;
pub mod jwt_rule_without_request_authentication;
pub mod linkerd_any_identity_on_sensitive_workload;
pub mod linkerd_authorization_admits_unauthenticated;
pub mod linkerd_multicluster_gateway_open;
pub mod linkerd_policy_ignored;
pub mod linkerd_policy_names_nothing;
pub mod linkerd_policy_selects_nothing;
pub mod linkerd_route_policy_does_not_restrict;
pub mod linkerd_server_authorization_in_use;
pub mod linkerd_server_authorizes_nobody;
pub mod no_default_deny;
mod policies;
pub mod policy_selects_nothing;
pub mod principal_wrong_trust_domain;
pub mod reachable_by_every_identity;
mod rule_paths;
pub mod unknown_identity_in_policy;
pub mod unsafe_match_direction;
pub mod workload_without_allow_policy;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &allow_matches_everything::RULE,
    &workload_without_allow_policy::RULE,
    &allow_any_identity::RULE,
    &unsafe_match_direction::RULE,
    &identity_bypassed_by_plaintext::RULE,
    &unknown_identity_in_policy::RULE,
    &principal_wrong_trust_domain::RULE,
    &policy_selects_nothing::RULE,
    &no_default_deny::RULE,
    &reachable_by_every_identity::RULE,
    &jwt_rule_without_request_authentication::RULE,
    &http_rule_on_tcp_port::RULE,
    &linkerd_multicluster_gateway_open::RULE,
    &linkerd_server_authorizes_nobody::RULE,
    &linkerd_authorization_admits_unauthenticated::RULE,
    &linkerd_any_identity_on_sensitive_workload::RULE,
    &linkerd_server_authorization_in_use::RULE,
    &linkerd_policy_names_nothing::RULE,
    &linkerd_policy_selects_nothing::RULE,
    &linkerd_route_policy_does_not_restrict::RULE,
    &linkerd_policy_ignored::RULE,
];
