mod injection;
pub mod injection_request_ignored;
pub mod injector_fails_open;
pub mod injectors_overlap;
pub mod mesh_validation_weak;
pub mod namespace_admission_gaps;
mod namespaces;
pub mod policy_engine_weak;
pub mod webhook_ca_bundle_mismatch;
pub mod webhook_ca_bundle_missing;
pub mod webhook_service_missing;
pub mod webhook_timeout;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &injector_fails_open::RULE,
    &injectors_overlap::RULE,
    &injection_request_ignored::RULE,
    &webhook_service_missing::RULE,
    &webhook_ca_bundle_missing::RULE,
    &webhook_timeout::RULE,
    &mesh_validation_weak::RULE,
    &policy_engine_weak::RULE,
    &namespace_admission_gaps::RULE,
    &webhook_ca_bundle_mismatch::RULE,
];

#[cfg(test)]
mod webhook_recognition_tests;
