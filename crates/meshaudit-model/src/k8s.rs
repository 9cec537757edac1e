//! Typed views of the Kubernetes resources an audit reads.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::cert::CertificateInfo;
use crate::linkerd::{LinkerdNamespaceSettings, LinkerdPodSettings};
use crate::object::ObjectId;
use crate::selector::{LabelSelector, Labels};

/// A namespace, explicit (a `Namespace` object) or implied by the objects that live in it.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    pub labels: Labels,
    /// The `Namespace` object, when the input has one.
    pub object: Option<ObjectId>,
    /// The first object that lives in it, where the namespace is only implied.
    pub first_member: Option<ObjectId>,
    /// Its Linkerd annotations (empty when the namespace is only implied).
    pub linkerd: LinkerdNamespaceSettings,
}

/// The object a finding about the whole namespace points at.
impl Namespace {
    pub fn anchor(&self) -> Option<ObjectId> {
        self.object.or(self.first_member)
    }
}

/// Anything that owns a pod template, seen through that template.
#[derive(Debug, Clone)]
pub struct Workload {
    pub object: ObjectId,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Labels of the pods (the template's, not the owner's).
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub service_account: String,
    /// False when the template names no service account and pods get `default`.
    pub service_account_explicit: bool,
    pub host_network: bool,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    /// Pod-level `securityContext.runAsUser`.
    pub run_as_user: Option<i64>,
    /// Path of the pod template inside the owner (`spec.template`), for locations.
    pub template_path: &'static [&'static str],
    /// What the pod template says about Linkerd, computed at ingest; `None` when it says
    /// nothing (no Linkerd annotation, label or container), which keeps the many workloads of
    /// other meshes small. Read it through [`Workload::linkerd`].
    pub linkerd: Option<Box<LinkerdPodSettings>>,
}

/// The settings of templates that say nothing about Linkerd.
static NO_LINKERD_SETTINGS: LinkerdPodSettings = LinkerdPodSettings::EMPTY;

impl Workload {
    /// The pod template's Linkerd settings (all empty when it has none).
    pub fn linkerd(&self) -> &LinkerdPodSettings {
        self.linkerd.as_deref().unwrap_or(&NO_LINKERD_SETTINGS)
    }

    /// `runAsUser` of a container, falling back to the pod's.
    pub fn effective_uid(&self, container: &Container) -> Option<i64> {
        container.run_as_user.or(self.run_as_user)
    }

    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(&self.containers)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: Option<String>,
    /// Only read to recognise Istio's proxy (`proxy sidecar` / `proxy router`).
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
    #[serde(skip)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(default)]
    pub name: Option<String>,
    pub container_port: u16,
    #[serde(default)]
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    #[serde(default)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    #[serde(default)]
    pub privileged: Option<bool>,
}

/// The parts of a `PodSpec` an audit reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`, still honoured by the API server.
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub host_network: Option<bool>,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub init_containers: Vec<Container>,
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub object: ObjectId,
    pub namespace: String,
    pub name: String,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(default, rename = "type")]
    pub service_type: Option<String>,
    #[serde(default)]
    pub selector: Option<Labels>,
    #[serde(default)]
    pub ports: Vec<ServicePort>,
    #[serde(default, rename = "externalIPs")]
    pub external_ips: Vec<String>,
    #[serde(default, rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    #[serde(default)]
    pub external_name: Option<String>,
    /// `IPv4`, `IPv6`, or both; the API server fills it in, so dumps of a live cluster say
    /// which families the Service really has.
    #[serde(default)]
    pub ip_families: Vec<String>,
    /// `SingleStack` (the default), `PreferDualStack` or `RequireDualStack`.
    #[serde(default)]
    pub ip_family_policy: Option<String>,
    #[serde(default, rename = "clusterIPs")]
    pub cluster_ips: Vec<String>,
}

impl ServiceSpec {
    pub fn service_type(&self) -> &str {
        self.service_type.as_deref().unwrap_or("ClusterIP")
    }

    /// How sure the input is that the Service (and so its pods) has IPv6 addresses: `Certain`
    /// when `ipFamilies` or `clusterIPs` name IPv6 or the policy requires dual stack,
    /// `Possible` when it only prefers dual stack (granted on dual-stack clusters only) and no
    /// IPv4-only `clusterIPs` (the API server's allocation, in a dump) says it got none.
    pub fn ipv6(&self) -> Option<Ipv6Presence> {
        let is_v6 = |ip: &String| ip.parse::<std::net::Ipv6Addr>().is_ok();
        let named =
            self.ip_families.iter().any(|f| f == "IPv6") || self.cluster_ips.iter().any(is_v6);
        let allocated_v4_only = self
            .cluster_ips
            .iter()
            .any(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok());
        match self.ip_family_policy.as_deref() {
            _ if named => Some(Ipv6Presence::Certain),
            _ if allocated_v4_only => None,
            Some("RequireDualStack") => Some(Ipv6Presence::Certain),
            Some("PreferDualStack") => Some(Ipv6Presence::Possible),
            _ => None,
        }
    }
}

/// See [`ServiceSpec::ipv6`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Presence {
    Certain,
    Possible,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    #[serde(default)]
    pub name: Option<String>,
    pub port: u16,
    #[serde(default)]
    pub target_port: Option<IntOrString>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub app_protocol: Option<String>,
    #[serde(default)]
    pub node_port: Option<u16>,
    /// Container ports the target port resolves to on the selected workloads (a named
    /// `targetPort` may resolve to different numbers on different workloads).
    #[serde(skip)]
    pub resolved_target_ports: Vec<u16>,
}

/// A port given as a number or as the name of a container port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

impl IntOrString {
    /// The number, when it is one (a numeric string counts).
    pub fn as_port(&self) -> Option<u16> {
        match self {
            IntOrString::Int(n) => u16::try_from(*n).ok(),
            IntOrString::String(s) => s.parse().ok(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub object: ObjectId,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    pub object: ObjectId,
    pub namespace: String,
    pub name: String,
    pub spec: NetworkPolicySpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    #[serde(default)]
    pub pod_selector: LabelSelector,
    #[serde(default)]
    pub policy_types: Option<Vec<String>>,
    #[serde(default)]
    pub ingress: Option<Vec<NetworkPolicyRule>>,
    #[serde(default)]
    pub egress: Option<Vec<NetworkPolicyRule>>,
}

impl NetworkPolicySpec {
    /// Directions the policy isolates. Without `policyTypes`, Ingress always, and Egress when
    /// the policy has egress rules — the API's defaulting.
    pub fn isolates_ingress(&self) -> bool {
        match &self.policy_types {
            Some(types) => types.iter().any(|t| t == "Ingress"),
            None => true,
        }
    }

    pub fn isolates_egress(&self) -> bool {
        match &self.policy_types {
            Some(types) => types.iter().any(|t| t == "Egress"),
            None => self.egress.is_some(),
        }
    }
}

/// One ingress or egress rule; `from` and `to` are the same shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyRule {
    #[serde(default, alias = "to")]
    pub from: Option<Vec<NetworkPolicyPeer>>,
    #[serde(default)]
    pub ports: Option<Vec<NetworkPolicyPort>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyPeer {
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub ip_block: Option<IpBlock>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpBlock {
    pub cidr: String,
    #[serde(default)]
    pub except: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyPort {
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port: Option<IntOrString>,
    #[serde(default)]
    pub end_port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Mutating,
    Validating,
}

#[derive(Debug, Clone)]
pub struct WebhookConfiguration {
    pub object: ObjectId,
    pub name: String,
    pub kind: WebhookKind,
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub name: String,
    #[serde(default)]
    pub failure_policy: Option<String>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub object_selector: Option<LabelSelector>,
    #[serde(default)]
    pub client_config: WebhookClientConfig,
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
    #[serde(default)]
    pub side_effects: Option<String>,
    #[serde(default)]
    pub reinvocation_policy: Option<String>,
}

impl Webhook {
    /// `Fail` unless set: the default of `admissionregistration.k8s.io/v1`.
    pub fn failure_policy(&self) -> &str {
        self.failure_policy.as_deref().unwrap_or("Fail")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookClientConfig {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub service: Option<WebhookService>,
    /// Only whether a bundle is there is kept here; its certificates are parsed at ingest.
    #[serde(default)]
    pub ca_bundle: Option<String>,
    #[serde(skip)]
    pub ca_bundle_certificates: Vec<CertificateInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebhookService {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct ConfigMap {
    pub object: ObjectId,
    pub namespace: String,
    pub name: String,
    pub data: BTreeMap<String, String>,
    /// PEM certificates found in its values (trust bundles, CA roots).
    pub certificates: Vec<CertificateInfo>,
}

/// A Secret reduced to what an audit needs: its type, its key names and the certificates it
/// holds. Every other value is dropped at ingest.
#[derive(Debug, Clone)]
pub struct Secret {
    pub object: ObjectId,
    pub namespace: String,
    pub name: String,
    pub secret_type: String,
    pub keys: Vec<String>,
    pub certificates: Vec<CertificateInfo>,
    /// For each key whose value holds a private key (PEM PKCS#8, PKCS#1 or SEC1): the SHA-256
    /// (hex) of the matching public key's DER subjectPublicKeyInfo, comparable with
    /// [`CertificateInfo::public_key_sha256`]. The private key itself is never kept.
    pub private_key_public_sha256: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> ServiceSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn ipv6_presence_follows_families_addresses_and_policy() {
        use Ipv6Presence::{Certain, Possible};
        for (json, expected) in [
            (r#"{}"#, None),
            (r#"{"ipFamilyPolicy": "SingleStack"}"#, None),
            (r#"{"ipFamilies": ["IPv4", "IPv6"]}"#, Some(Certain)),
            (
                r#"{"ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack"}"#,
                Some(Certain),
            ),
            (r#"{"clusterIPs": ["10.96.0.1", "fd00::1"]}"#, Some(Certain)),
            (r#"{"ipFamilyPolicy": "RequireDualStack"}"#, Some(Certain)),
            (r#"{"ipFamilyPolicy": "PreferDualStack"}"#, Some(Possible)),
            // The API server allocated IPv4 only: the cluster is single-stack.
            (
                r#"{"ipFamilyPolicy": "PreferDualStack", "clusterIPs": ["10.96.0.1"]}"#,
                None,
            ),
            // Headless: no allocation to learn from.
            (
                r#"{"ipFamilyPolicy": "PreferDualStack", "clusterIPs": ["None"]}"#,
                Some(Possible),
            ),
        ] {
            assert_eq!(spec(json).ipv6(), expected, "{json}");
        }
    }
}
