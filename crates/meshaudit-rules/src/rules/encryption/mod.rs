mod gateway_common;
pub mod gateway_credential_missing;
pub mod gateway_passthrough_exposure;
pub mod gateway_plaintext_http;
pub mod gateway_weak_cipher_suites;
pub mod gateway_weak_tls_version;
pub mod linkerd_ipv6_bypasses_proxy;
pub mod linkerd_opaque_ports_inconsistent;
pub mod tls_origination_without_verification;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &gateway_plaintext_http::RULE,
    &gateway_weak_tls_version::RULE,
    &gateway_weak_cipher_suites::RULE,
    &gateway_passthrough_exposure::RULE,
    &gateway_credential_missing::RULE,
    &tls_origination_without_verification::RULE,
    &linkerd_opaque_ports_inconsistent::RULE,
    &linkerd_ipv6_bypasses_proxy::RULE,
];
