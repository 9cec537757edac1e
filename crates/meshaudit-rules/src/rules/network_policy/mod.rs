pub mod control_plane_ports_reachable;
pub mod default_deny;
pub mod external_service_without_egress_boundary;
pub mod isolation;
pub mod mesh_traffic_blocked;
pub mod namespace_without_default_deny_egress;
pub mod namespace_without_default_deny_ingress;
pub mod namespace_without_network_policy;
pub mod network_policy_allows_everywhere;
pub mod network_policy_selects_nothing;
pub mod outbound_traffic_allow_any;
pub mod peers;
pub mod sensitive_namespace_unrestricted_egress;
pub mod service_exposes_around_gateway;
pub mod sidecar_egress_unscoped;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &namespace_without_network_policy::RULE,
    &outbound_traffic_allow_any::RULE,
    &namespace_without_default_deny_ingress::RULE,
    &namespace_without_default_deny_egress::RULE,
    &network_policy_allows_everywhere::RULE,
    &sensitive_namespace_unrestricted_egress::RULE,
    &network_policy_selects_nothing::RULE,
    &service_exposes_around_gateway::RULE,
    &control_plane_ports_reachable::RULE,
    &mesh_traffic_blocked::RULE,
    &external_service_without_egress_boundary::RULE,
    &sidecar_egress_unscoped::RULE,
];
