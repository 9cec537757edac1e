//! Certificate rules: every certificate the mesh depends on (see
//! `meshaudit_engine::certificates`), its expiry, strength, structure, chain and rotation.

use crate::rule::Rule;

mod describe;
mod unique;

pub mod ca_constraints_wrong;
pub mod cert_manager_renewal_window;
pub mod certificate_expiry;
pub mod certificate_lifetime_too_long;
pub mod certificate_not_yet_valid;
pub mod certificate_rotation_manual;
pub mod certificate_version_1;
pub mod gateway_certificate_names;
pub mod istio_self_signed_ca;
pub mod plugin_ca_chain_broken;
pub mod private_key_mismatch;
pub mod spiffe_trust_domain_mismatch;
pub mod trust_bundle_missing_root;
pub mod weak_certificate_key;
pub mod weak_certificate_signature;
pub mod workload_cert_ttl_too_long;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &certificate_expiry::RULE,
    &certificate_not_yet_valid::RULE,
    &weak_certificate_key::RULE,
    &weak_certificate_signature::RULE,
    &certificate_version_1::RULE,
    &certificate_lifetime_too_long::RULE,
    &ca_constraints_wrong::RULE,
    &istio_self_signed_ca::RULE,
    &plugin_ca_chain_broken::RULE,
    &spiffe_trust_domain_mismatch::RULE,
    &cert_manager_renewal_window::RULE,
    &certificate_rotation_manual::RULE,
    &gateway_certificate_names::RULE,
    &private_key_mismatch::RULE,
    &workload_cert_ttl_too_long::RULE,
    &trust_bundle_missing_root::RULE,
];
