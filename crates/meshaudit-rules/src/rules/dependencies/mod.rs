pub mod conditions;
pub mod consul_ui_without_acls;
pub mod dashboard_exposed;
pub mod data_plane_lags_control_plane;
pub mod embedded;
pub mod envoy_filter_risky_extension;
pub mod exposure;
pub mod extension_writers_unrestricted;
pub mod instances;
pub mod istio_version_has_advisory;
pub mod kiali_anonymous_access;
pub mod linkerd_version_has_advisory;
pub mod linkerd_viz_host_check_disabled;
pub mod mesh_version_end_of_life;
pub mod redact;
pub mod wasm_plugin_unpinned;

use crate::rule::Rule;

/// This category's rules; the registry merges every category's list.
pub static RULES: &[&Rule] = &[
    &istio_version_has_advisory::RULE,
    &mesh_version_end_of_life::RULE,
    &data_plane_lags_control_plane::RULE,
    &envoy_filter_risky_extension::RULE,
    &wasm_plugin_unpinned::RULE,
    &dashboard_exposed::RULE,
    &kiali_anonymous_access::RULE,
    &linkerd_viz_host_check_disabled::RULE,
    &consul_ui_without_acls::RULE,
    &extension_writers_unrestricted::RULE,
    &linkerd_version_has_advisory::RULE,
];
