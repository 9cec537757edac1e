//! Typed views of Istio's resources (`security.istio.io`, `networking.istio.io`,
//! `extensions.istio.io`, `telemetry.istio.io`) and of the mesh config.
//!
//! Only fields that change security behaviour are typed; everything else stays reachable through
//! the object's node tree.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::object::ObjectId;
use crate::selector::{Labels, WorkloadSelector};

/// Re-exported from [`crate::object`], where every mesh's typed resources share it.
pub use crate::object::Typed;

/// `targetRef` / `targetRefs` entries (Gateway API attachment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PolicyTargetReference {
    #[serde(default)]
    pub group: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

// --- security.istio.io -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MtlsMode {
    Unset,
    Disable,
    Permissive,
    Strict,
}

impl MtlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Unset => "UNSET",
            MtlsMode::Disable => "DISABLE",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Strict => "STRICT",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MutualTls {
    #[serde(default)]
    pub mode: Option<MtlsMode>,
}

impl MutualTls {
    pub fn mode(&self) -> MtlsMode {
        self.mode.unwrap_or(MtlsMode::Unset)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerAuthenticationSpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub mtls: Option<MutualTls>,
    #[serde(default)]
    pub port_level_mtls: BTreeMap<u32, MutualTls>,
}

impl PeerAuthenticationSpec {
    /// The policy's own mode; `UNSET` when no `mtls` block is given (it inherits).
    pub fn mode(&self) -> MtlsMode {
        self.mtls.as_ref().map_or(MtlsMode::Unset, MutualTls::mode)
    }

    pub fn has_selector(&self) -> bool {
        self.selector
            .as_ref()
            .is_some_and(|s| !s.match_labels.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationAction {
    #[default]
    Allow,
    Deny,
    Audit,
    Custom,
}

impl AuthorizationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationAction::Allow => "ALLOW",
            AuthorizationAction::Deny => "DENY",
            AuthorizationAction::Audit => "AUDIT",
            AuthorizationAction::Custom => "CUSTOM",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicySpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub target_ref: Option<PolicyTargetReference>,
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    #[serde(default)]
    pub action: AuthorizationAction,
    #[serde(default)]
    pub provider: Option<ExtensionProviderRef>,
    /// `None` and `Some([])` both mean "no rules": for ALLOW that allows nothing.
    #[serde(default)]
    pub rules: Option<Vec<AuthorizationRule>>,
}

impl AuthorizationPolicySpec {
    pub fn rules(&self) -> &[AuthorizationRule] {
        self.rules.as_deref().unwrap_or_default()
    }

    /// Attached to Gateway API resources or Services rather than to workloads by labels.
    pub fn has_target_refs(&self) -> bool {
        self.target_ref.is_some() || !self.target_refs.is_empty()
    }

    pub fn has_selector(&self) -> bool {
        self.selector
            .as_ref()
            .is_some_and(|s| !s.match_labels.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExtensionProviderRef {
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationRule {
    #[serde(default)]
    pub from: Vec<RuleFrom>,
    #[serde(default)]
    pub to: Vec<RuleTo>,
    #[serde(default)]
    pub when: Vec<Condition>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleFrom {
    #[serde(default)]
    pub source: Option<Source>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleTo {
    #[serde(default)]
    pub operation: Option<Operation>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(default)]
    pub principals: Vec<String>,
    #[serde(default)]
    pub not_principals: Vec<String>,
    #[serde(default)]
    pub request_principals: Vec<String>,
    #[serde(default)]
    pub not_request_principals: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub not_namespaces: Vec<String>,
    #[serde(default)]
    pub service_accounts: Vec<String>,
    #[serde(default)]
    pub not_service_accounts: Vec<String>,
    #[serde(default)]
    pub ip_blocks: Vec<String>,
    #[serde(default)]
    pub not_ip_blocks: Vec<String>,
    #[serde(default)]
    pub remote_ip_blocks: Vec<String>,
    #[serde(default)]
    pub not_remote_ip_blocks: Vec<String>,
}

impl Source {
    /// No field set: the source matches any request.
    pub fn is_empty(&self) -> bool {
        [
            &self.principals,
            &self.not_principals,
            &self.request_principals,
            &self.not_request_principals,
            &self.namespaces,
            &self.not_namespaces,
            &self.service_accounts,
            &self.not_service_accounts,
            &self.ip_blocks,
            &self.not_ip_blocks,
            &self.remote_ip_blocks,
            &self.not_remote_ip_blocks,
        ]
        .iter()
        .all(|v| v.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub not_hosts: Vec<String>,
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub not_ports: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub not_methods: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub not_paths: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub key: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub not_values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestAuthenticationSpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub target_ref: Option<PolicyTargetReference>,
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    #[serde(default)]
    pub jwt_rules: Vec<JwtRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtRule {
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Inline JWKS: only whether it is present matters to an audit.
    #[serde(default)]
    pub jwks: Option<String>,
    #[serde(default)]
    pub forward_original_token: Option<bool>,
    #[serde(default)]
    pub output_payload_to_header: Option<String>,
}

// --- networking.istio.io ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientTlsMode {
    Disable,
    Simple,
    Mutual,
    IstioMutual,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTlsSettings {
    #[serde(default)]
    pub mode: Option<ClientTlsMode>,
    #[serde(default)]
    pub credential_name: Option<String>,
    #[serde(default)]
    pub ca_certificates: Option<String>,
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    #[serde(default)]
    pub sni: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    #[serde(default)]
    pub tls: Option<ClientTlsSettings>,
    #[serde(default)]
    pub port_level_settings: Vec<PortTrafficPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortSelector {
    #[serde(default)]
    pub number: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortTrafficPolicy {
    #[serde(default)]
    pub port: Option<PortSelector>,
    #[serde(default)]
    pub tls: Option<ClientTlsSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subset {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub traffic_policy: Option<TrafficPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    pub host: String,
    #[serde(default)]
    pub traffic_policy: Option<TrafficPolicy>,
    #[serde(default)]
    pub subsets: Vec<Subset>,
    #[serde(default)]
    pub export_to: Option<Vec<String>>,
    #[serde(default)]
    pub workload_selector: Option<WorkloadSelector>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub selector: Labels,
    #[serde(default)]
    pub servers: Vec<GatewayServer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayServer {
    #[serde(default)]
    pub port: Option<GatewayPort>,
    #[serde(default)]
    pub bind: Option<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub tls: Option<ServerTlsSettings>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPort {
    pub number: u32,
    pub protocol: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub target_port: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTlsSettings {
    #[serde(default)]
    pub https_redirect: Option<bool>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub credential_name: Option<String>,
    #[serde(default)]
    pub min_protocol_version: Option<String>,
    #[serde(default)]
    pub max_protocol_version: Option<String>,
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub gateways: Vec<String>,
    #[serde(default)]
    pub export_to: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntrySpec {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub ports: Vec<GatewayPort>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub resolution: Option<String>,
    #[serde(default)]
    pub export_to: Option<Vec<String>>,
    #[serde(default)]
    pub workload_selector: Option<WorkloadSelector>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarSpec {
    #[serde(default)]
    pub workload_selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub egress: Vec<SidecarEgress>,
    #[serde(default)]
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarEgress {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub capture_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutboundTrafficPolicy {
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyFilterSpec {
    #[serde(default)]
    pub workload_selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    #[serde(default)]
    pub config_patches: Vec<EnvoyConfigPatch>,
    #[serde(default)]
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyConfigPatch {
    #[serde(default)]
    pub apply_to: Option<String>,
}

// --- extensions.istio.io / telemetry.istio.io ------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmPluginSpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub image_pull_policy: Option<String>,
    #[serde(default)]
    pub phase: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySpec {
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    #[serde(default)]
    pub access_logging: Vec<AccessLogging>,
}

/// One `spec.accessLogging[]` entry of a Telemetry resource (docs/logging-semantics.md §1).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccessLogging {
    #[serde(default)]
    pub providers: Vec<ExtensionProviderRef>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// `match.mode`: `CLIENT`, `SERVER` or `CLIENT_AND_SERVER` (the default).
    #[serde(default, rename = "match")]
    pub match_: Option<AccessLogMatch>,
    /// `filter.expression`: a CEL expression; only matching requests are logged.
    #[serde(default)]
    pub filter: Option<AccessLogFilter>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccessLogMatch {
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccessLogFilter {
    #[serde(default)]
    pub expression: Option<String>,
}

// --- mesh config -----------------------------------------------------------------------------

/// The `mesh` key of the `istio` ConfigMap (or `istio-<revision>`), parsed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshConfig {
    #[serde(default)]
    pub root_namespace: Option<String>,
    #[serde(default)]
    pub trust_domain: Option<String>,
    #[serde(default)]
    pub trust_domain_aliases: Vec<String>,
    #[serde(default)]
    pub access_log_file: Option<String>,
    #[serde(default)]
    pub access_log_encoding: Option<String>,
    /// A custom access-log format (text, or a JSON map for the JSON encoding).
    #[serde(default)]
    pub access_log_format: Option<String>,
    /// `defaultProviders`: the providers used when no Telemetry names one.
    #[serde(default)]
    pub default_providers: Option<DefaultProviders>,
    #[serde(default)]
    pub enable_auto_mtls: Option<bool>,
    #[serde(default)]
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
    #[serde(default)]
    pub extension_providers: Vec<ExtensionProvider>,
}

/// One `extensionProviders[]` entry: its name, and the access-log kinds it may be (other kinds
/// — tracing, metrics, external authorization — are kept only by name).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionProvider {
    pub name: String,
    #[serde(default)]
    pub envoy_file_access_log: Option<EnvoyFileAccessLog>,
    #[serde(default)]
    pub envoy_http_als: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub envoy_tcp_als: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub envoy_otel_als: Option<serde::de::IgnoredAny>,
}

impl ExtensionProvider {
    /// Whether the provider writes access logs (a file, or an access-log service).
    pub fn writes_access_log(&self) -> bool {
        self.envoy_file_access_log.is_some()
            || self.envoy_http_als.is_some()
            || self.envoy_tcp_als.is_some()
            || self.envoy_otel_als.is_some()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyFileAccessLog {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub log_format: Option<ProviderLogFormat>,
}

/// `logFormat`: a text format, or JSON labels (name → command operators).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProviderLogFormat {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub labels: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultProviders {
    #[serde(default)]
    pub access_logging: Vec<String>,
}

/// Istio's defaults when no mesh config says otherwise.
pub const DEFAULT_ROOT_NAMESPACE: &str = "istio-system";
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";

impl MeshConfig {
    pub fn root_namespace(&self) -> &str {
        self.root_namespace
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_ROOT_NAMESPACE)
    }

    pub fn trust_domain(&self) -> &str {
        self.trust_domain
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_TRUST_DOMAIN)
    }
}

/// The mesh config with the ConfigMap it came from.
#[derive(Debug, Clone)]
pub struct MeshConfigSource {
    pub object: ObjectId,
    /// Line of the first line of the embedded `mesh` document, to locate its fields.
    pub first_line: u32,
    pub config: MeshConfig,
}

/// Every Istio resource of the input, typed.
#[derive(Debug, Clone, Default)]
pub struct IstioResources {
    pub peer_authentications: Vec<Typed<PeerAuthenticationSpec>>,
    pub authorization_policies: Vec<Typed<AuthorizationPolicySpec>>,
    pub request_authentications: Vec<Typed<RequestAuthenticationSpec>>,
    pub destination_rules: Vec<Typed<DestinationRuleSpec>>,
    pub gateways: Vec<Typed<GatewaySpec>>,
    pub virtual_services: Vec<Typed<VirtualServiceSpec>>,
    pub service_entries: Vec<Typed<ServiceEntrySpec>>,
    pub sidecars: Vec<Typed<SidecarSpec>>,
    pub envoy_filters: Vec<Typed<EnvoyFilterSpec>>,
    pub wasm_plugins: Vec<Typed<WasmPluginSpec>>,
    pub telemetries: Vec<Typed<TelemetrySpec>>,
    pub mesh_config: Option<MeshConfigSource>,
}

impl IstioResources {
    pub fn authorization_policy(
        &self,
        id: crate::idx::AuthorizationPolicyId,
    ) -> &Typed<AuthorizationPolicySpec> {
        id.of(&self.authorization_policies)
    }

    pub fn request_authentication(
        &self,
        id: crate::idx::RequestAuthenticationId,
    ) -> &Typed<RequestAuthenticationSpec> {
        id.of(&self.request_authentications)
    }

    /// Whether the input holds any Istio resource at all (then Istio rules apply).
    pub fn is_present(&self) -> bool {
        !(self.peer_authentications.is_empty()
            && self.authorization_policies.is_empty()
            && self.request_authentications.is_empty()
            && self.destination_rules.is_empty()
            && self.gateways.is_empty()
            && self.virtual_services.is_empty()
            && self.service_entries.is_empty()
            && self.sidecars.is_empty()
            && self.envoy_filters.is_empty()
            && self.wasm_plugins.is_empty()
            && self.telemetries.is_empty()
            && self.mesh_config.is_none())
    }

    pub fn root_namespace(&self) -> &str {
        self.mesh_config
            .as_ref()
            .map_or(DEFAULT_ROOT_NAMESPACE, |m| m.config.root_namespace())
    }

    pub fn trust_domain(&self) -> &str {
        self.mesh_config
            .as_ref()
            .map_or(DEFAULT_TRUST_DOMAIN, |m| m.config.trust_domain())
    }
}
