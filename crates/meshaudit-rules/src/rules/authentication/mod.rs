pub mod app_runs_as_proxy_uid;
pub mod destination_rule_disables_mtls;
pub mod injector_misses_labelled_namespace;
pub mod jwks_fetch_unrestricted;
pub mod jwks_uri_plain_http;
pub mod linkerd_default_policy_audit;
pub mod linkerd_default_policy_unauthenticated;
pub mod linkerd_injection_opt_out;
pub mod linkerd_port_skips_proxy;
pub mod linkerd_proxy_admin_open;
pub mod mesh_mtls_not_strict;
pub mod namespace_mtls_not_strict;
pub mod namespace_outside_mesh;
mod plaintext_bypass;
pub mod request_authentication_optional;
pub mod sidecar_injection_opt_out;
pub mod traffic_capture_excluded;
pub mod workload_mtls_not_strict;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &mesh_mtls_not_strict::RULE,
    &namespace_mtls_not_strict::RULE,
    &workload_mtls_not_strict::RULE,
    &destination_rule_disables_mtls::RULE,
    &namespace_outside_mesh::RULE,
    &sidecar_injection_opt_out::RULE,
    &traffic_capture_excluded::RULE,
    &app_runs_as_proxy_uid::RULE,
    &injector_misses_labelled_namespace::RULE,
    &request_authentication_optional::RULE,
    &jwks_uri_plain_http::RULE,
    &jwks_fetch_unrestricted::RULE,
    &linkerd_default_policy_unauthenticated::RULE,
    &linkerd_default_policy_audit::RULE,
    &linkerd_port_skips_proxy::RULE,
    &linkerd_injection_opt_out::RULE,
    &linkerd_proxy_admin_open::RULE,
];
