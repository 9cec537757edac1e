//! Typed views of Linkerd's resources and settings: the `policy.linkerd.io` kinds, the Gateway
//! API routes Linkerd reads for inbound policy, the `linkerd-config` ConfigMap, and the
//! annotations and labels that decide what a pod's proxy does.
//!
//! Only what changes security behaviour is typed; everything else stays reachable through the
//! object's node tree ([`Typed::object`]). Nothing here decides an outcome: which Server wins a
//! port, whether a policy is ignored, which default applies — that is the evaluator's work
//! (`meshaudit-engine`). The model keeps what is written, including values Linkerd would
//! reject, so the evaluator can say why. The behaviour each doc comment refers to is described,
//! with sources, in `docs/linkerd-semantics.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::cidr::Cidr;
use crate::k8s::Container;
use crate::location::Location;
use crate::node::Step;
use crate::object::{Object, ObjectId, Typed};
use crate::selector::{LabelSelector, Labels};

/// API group of Linkerd's policy resources.
pub const POLICY_GROUP: &str = "policy.linkerd.io";
/// API group of the Gateway API, whose `HTTPRoute` and `GRPCRoute` Linkerd also reads.
pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

/// Name of the control plane's ConfigMap, whose `data.values` holds the install's Helm values.
pub const CONFIG_MAP_NAME: &str = "linkerd-config";
/// Namespace of the control plane when no `linkerd-config` says otherwise (the CLI's default).
pub const DEFAULT_CONTROL_PLANE_NAMESPACE: &str = "linkerd";
/// `clusterDomain` when `linkerd-config` does not set it.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
/// `clusterNetworks` of the chart from 2.16 on. 2.14 and 2.15 had the same list without
/// `fd00::/8`; only IPv6 clusters see the difference.
pub const DEFAULT_CLUSTER_NETWORKS: &str =
    "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8";
/// `proxy.opaquePorts` of the chart (the same 2.14 to today).
pub const DEFAULT_OPAQUE_PORTS: &str = "25,587,3306,4444,5432,6379,9300,11211";
/// `proxyInit.ignoreInboundPorts` and `ignoreOutboundPorts` of the chart (Galera).
pub const DEFAULT_IGNORED_PORTS: &str = "4567,4568";
/// `policyController.probeNetworks` of the chart: kubelet probes are admitted from anywhere.
pub const DEFAULT_PROBE_NETWORKS: &str = "0.0.0.0/0,::/0";

/// The proxy's inbound port: every redirected inbound connection lands here.
pub const PROXY_INBOUND_PORT: u16 = 4143;
/// The proxy's outbound port (listens on loopback only).
pub const PROXY_OUTBOUND_PORT: u16 = 4140;
/// The proxy's admin port (`/metrics`, `/env.json`, probes); never redirected by iptables.
pub const PROXY_ADMIN_PORT: u16 = 4191;
/// The proxy's control (tap) port; never redirected by iptables.
pub const PROXY_CONTROL_PORT: u16 = 4190;

/// Pod-template (and Namespace) annotation that asks for injection.
pub const INJECT_ANNOTATION: &str = "linkerd.io/inject";
/// Default inbound policy for ports no `Server` selects.
pub const DEFAULT_INBOUND_POLICY_ANNOTATION: &str = "config.linkerd.io/default-inbound-policy";
/// Inbound ports iptables does not redirect to the proxy.
pub const SKIP_INBOUND_PORTS_ANNOTATION: &str = "config.linkerd.io/skip-inbound-ports";
/// Outbound ports iptables does not redirect to the proxy.
pub const SKIP_OUTBOUND_PORTS_ANNOTATION: &str = "config.linkerd.io/skip-outbound-ports";
/// Ports whose traffic is not protocol-detected (proxied as opaque TCP).
pub const OPAQUE_PORTS_ANNOTATION: &str = "config.linkerd.io/opaque-ports";
/// Ports whose unauthenticated default policies are tightened to the authenticated ones.
/// Linkerd spells it without "-on-"; the `-on-` spelling is read by nothing.
pub const REQUIRE_IDENTITY_PORTS_ANNOTATION: &str =
    "config.linkerd.io/proxy-require-identity-inbound-ports";
/// Source CIDRs whose inbound connections bypass the proxy.
pub const SKIP_SUBNETS_ANNOTATION: &str = "config.linkerd.io/skip-subnets";
/// Native-sidecar annotation, GA name (2026 on).
pub const NATIVE_SIDECAR_ANNOTATION: &str = "config.linkerd.io/proxy-enable-native-sidecar";
/// Native-sidecar annotation, beta name (2.19 on).
pub const NATIVE_SIDECAR_BETA_ANNOTATION: &str =
    "config.beta.linkerd.io/proxy-enable-native-sidecar";
/// Native-sidecar annotation, alpha name (2.15 on, still honoured later).
pub const NATIVE_SIDECAR_ALPHA_ANNOTATION: &str =
    "config.alpha.linkerd.io/proxy-enable-native-sidecar";
/// Label the injector puts on meshed pods; the destination controller gives clients an mTLS
/// identity for endpoints that carry it.
pub const CONTROL_PLANE_NS_LABEL: &str = "linkerd.io/control-plane-ns";
/// Name of the proxy container (or native-sidecar initContainer).
pub const PROXY_CONTAINER: &str = "linkerd-proxy";
/// Name of the iptables initContainer.
pub const PROXY_INIT_CONTAINER: &str = "linkerd-init";
/// Name of the initContainer that replaces `linkerd-init` when the CNI plugin sets iptables up.
pub const NETWORK_VALIDATOR_CONTAINER: &str = "linkerd-network-validator";
/// Image prefix of Linkerd's proxy, which the injector also takes as an existing sidecar.
pub const PROXY_IMAGE_PREFIX: &str = "cr.l5d.io/linkerd/proxy:";

// --- default inbound policy ------------------------------------------------------------------

/// A default inbound policy: what Linkerd admits on a port no `Server` selects (cluster, namespace
/// or pod level) and what a `Server`'s `accessPolicy` adds as a fallback authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefaultInboundPolicy {
    /// Any client, plaintext included, from any address (the chart's default).
    AllUnauthenticated,
    /// Any client with a mesh identity, from any address.
    AllAuthenticated,
    /// Any client, plaintext included, from `clusterNetworks`.
    ClusterUnauthenticated,
    /// Any client with a mesh identity, from `clusterNetworks`.
    ClusterAuthenticated,
    /// Nobody but localhost and kubelet `httpGet` probes.
    Deny,
    /// Like `all-unauthenticated`, each admitted request logged as `audit`: nothing is enforced
    /// (2.16 on).
    Audit,
}

/// A string that is not one of the six default policies. Linkerd's policy controller logs it
/// and falls back to the next level (pod → cluster); a cluster-level one stops the controller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a Linkerd default inbound policy (one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit)")]
pub struct UnknownPolicy {
    /// The value as written.
    pub value: String,
}

impl DefaultInboundPolicy {
    pub const ALL: [DefaultInboundPolicy; 6] = [
        DefaultInboundPolicy::AllUnauthenticated,
        DefaultInboundPolicy::AllAuthenticated,
        DefaultInboundPolicy::ClusterUnauthenticated,
        DefaultInboundPolicy::ClusterAuthenticated,
        DefaultInboundPolicy::Deny,
        DefaultInboundPolicy::Audit,
    ];

    /// Parses the exact spelling Linkerd accepts (case-sensitive, no trimming, as the policy
    /// controller compares).
    pub fn parse(text: &str) -> Result<Self, UnknownPolicy> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| UnknownPolicy {
                value: text.to_owned(),
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DefaultInboundPolicy::AllUnauthenticated => "all-unauthenticated",
            DefaultInboundPolicy::AllAuthenticated => "all-authenticated",
            DefaultInboundPolicy::ClusterUnauthenticated => "cluster-unauthenticated",
            DefaultInboundPolicy::ClusterAuthenticated => "cluster-authenticated",
            DefaultInboundPolicy::Deny => "deny",
            DefaultInboundPolicy::Audit => "audit",
        }
    }

    /// Admits clients without a mesh identity (plaintext): the two `*-unauthenticated` policies
    /// and `audit`.
    pub fn admits_unauthenticated(self) -> bool {
        matches!(
            self,
            DefaultInboundPolicy::AllUnauthenticated
                | DefaultInboundPolicy::ClusterUnauthenticated
                | DefaultInboundPolicy::Audit
        )
    }

    /// Admits only sources inside `clusterNetworks`.
    pub fn cluster_networks_only(self) -> bool {
        matches!(
            self,
            DefaultInboundPolicy::ClusterUnauthenticated
                | DefaultInboundPolicy::ClusterAuthenticated
        )
    }

    /// What the policy becomes on a port listed in
    /// `config.linkerd.io/proxy-require-identity-inbound-ports` (and selected by no `Server`):
    /// the unauthenticated policies turn into their authenticated variants; `deny` and `audit`
    /// stay as they are, so `audit` still admits plaintext there.
    pub fn requiring_identity(self) -> Self {
        match self {
            DefaultInboundPolicy::AllUnauthenticated => DefaultInboundPolicy::AllAuthenticated,
            DefaultInboundPolicy::ClusterUnauthenticated => {
                DefaultInboundPolicy::ClusterAuthenticated
            }
            other => other,
        }
    }
}

impl FromStr for DefaultInboundPolicy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DefaultInboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DefaultInboundPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(de::Error::custom)
    }
}

// --- port sets and CIDR lists ----------------------------------------------------------------

/// An inclusive range of ports; a single port is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// An entry of a port list that is neither a port nor a `low-high` range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPortEntry {
    /// The entry as written (trimmed).
    pub entry: String,
    /// Why it is not a port, in words for a message.
    pub reason: &'static str,
}

impl InvalidPortEntry {
    /// The entry looks like a port name (`http`). Skip lists never resolve names; the injector
    /// and destination controller resolve them in `opaque-ports`, the policy controller does not.
    pub fn is_name(&self) -> bool {
        self.entry.bytes().any(|b| b.is_ascii_alphabetic())
            && self
                .entry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }
}

/// A comma-separated list of ports and `low-high` ranges, as Linkerd's annotations and Helm
/// values write them (`"25,587,3306"`, `"8000-8100,9090"`).
///
/// Entries are trimmed (as the policy controller does; whether proxy-init tolerates spaces is not
/// confirmed), empty entries skipped. `0` is accepted as proxy-init accepts it
/// (`0-65535` skips every port there); the policy controller, which reads `opaque-ports` and
/// `proxy-require-identity-inbound-ports`, rejects a list holding 0. Entries that are not ports
/// are kept in [`PortSet::invalid`]: proxy-init drops each one alone, while the policy
/// controller discards the whole list when it holds one — the evaluator decides by reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSet {
    /// The list as written.
    pub text: String,
    /// The valid entries, in the order written.
    pub ranges: Vec<PortRange>,
    /// The entries that are not ports, in the order written.
    pub invalid: Vec<InvalidPortEntry>,
}

impl PortSet {
    /// An empty set (nothing written), usable in constants.
    pub const EMPTY: PortSet = PortSet {
        text: String::new(),
        ranges: Vec::new(),
        invalid: Vec::new(),
    };

    pub fn parse(text: &str) -> PortSet {
        let mut set = PortSet {
            text: text.to_owned(),
            ..PortSet::default()
        };
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse_port_entry(entry) {
                Ok(range) => set.ranges.push(range),
                Err(reason) => set.invalid.push(InvalidPortEntry {
                    entry: entry.to_owned(),
                    reason,
                }),
            }
        }
        set
    }

    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|r| r.low <= port && port <= r.high)
    }

    /// No valid entry (an empty text, or only invalid entries).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Every entry is a port or a range.
    pub fn is_valid(&self) -> bool {
        self.invalid.is_empty()
    }

    /// The valid entries, written back as a list (`"80,8000-8100"`).
    pub fn describe(&self) -> String {
        self.ranges
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn parse_port_entry(entry: &str) -> Result<PortRange, &'static str> {
    // A leading `+` is accepted, as Go's and Rust's integer parsers (Linkerd's readers) do.
    let port = |text: &str| -> Result<u16, &'static str> {
        let text = text.trim();
        let digits = text.strip_prefix('+').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("not a number");
        }
        digits.parse::<u16>().map_err(|_| "above 65535")
    };
    // Port names (`http`, `http-alt`) hold a letter; numbers and ranges never do.
    if entry.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err("a port name, not a number");
    }
    match entry.split_once('-') {
        None => {
            let p = port(entry)?;
            Ok(PortRange { low: p, high: p })
        }
        Some((low, high)) => {
            let (low, high) = (port(low)?, port(high)?);
            if low > high {
                return Err("a range whose upper bound is below its lower bound");
            }
            Ok(PortRange { low, high })
        }
    }
}

/// A comma-separated list of CIDRs (`clusterNetworks`, `skip-subnets`), or a YAML list of them
/// (`policyController.probeNetworks`). Bare addresses count as one-address ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrList {
    /// The list as written (a YAML list is joined with commas).
    pub text: String,
    pub cidrs: Vec<Cidr>,
    /// Entries that are not CIDRs or addresses, as written (trimmed).
    pub invalid: Vec<String>,
}

impl CidrList {
    pub fn parse(text: &str) -> CidrList {
        Self::from_entries(text, text.split(','))
    }

    /// A list given as separate strings.
    pub fn from_list<'a>(items: impl IntoIterator<Item = &'a str> + Clone) -> CidrList {
        let text = items.clone().into_iter().collect::<Vec<_>>().join(",");
        Self::from_entries(&text, items)
    }

    fn from_entries<'a>(text: &str, entries: impl IntoIterator<Item = &'a str>) -> CidrList {
        let mut list = CidrList {
            text: text.to_owned(),
            ..CidrList::default()
        };
        for entry in entries.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
            match parse_cidr_or_address(entry) {
                Some(c) => list.cidrs.push(c),
                None => list.invalid.push(entry.to_owned()),
            }
        }
        list
    }

    /// The entries that are not CIDRs, quoted, with their verb: "`a` is", "`a`, `b` are".
    pub fn invalid_entries(&self) -> String {
        let quoted: Vec<String> = self.invalid.iter().map(|e| format!("`{e}`")).collect();
        let verb = if self.invalid.len() == 1 { "is" } else { "are" };
        format!("{} {verb}", quoted.join(", "))
    }

    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains_addr(addr))
    }
}

/// A CIDR, or a bare address as a range of one address.
pub fn parse_cidr_or_address(text: &str) -> Option<Cidr> {
    let text = text.trim();
    if text.contains('/') {
        return Cidr::parse(text);
    }
    let addr: IpAddr = text.parse().ok()?;
    Some(Cidr {
        addr,
        prefix: if addr.is_ipv4() { 32 } else { 128 },
    })
}

/// A CIDR of a policy resource, as written and parsed. A bare address is accepted here (as
/// `NetworkAuthentication` accepts it); see [`NetworkCidr::is_bare_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkCidr {
    /// As written.
    pub text: String,
    pub cidr: Cidr,
}

impl NetworkCidr {
    /// Written without a prefix length. `ServerAuthorization` networks need one (Linkerd's
    /// parser rejects the resource otherwise); `NetworkAuthentication` accepts a bare address.
    pub fn is_bare_address(&self) -> bool {
        !self.text.contains('/')
    }
}

impl<'de> Deserialize<'de> for NetworkCidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match parse_cidr_or_address(&text) {
            Some(cidr) => Ok(NetworkCidr { text, cidr }),
            None => Err(de::Error::custom(format_args!(
                "`{text}` is not a CIDR or an IP address"
            ))),
        }
    }
}

/// One entry of `networks`: a range, minus its exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a network (a mapping with cidr)")]
pub struct Network {
    pub cidr: NetworkCidr,
    /// `None`: not written; `Some([])`: written empty. Both exclude nothing.
    #[serde(default)]
    pub except: Option<Vec<NetworkCidr>>,
}

impl Network {
    /// Is `addr` in the range and in none of its exceptions?
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.cidr.cidr.contains_addr(addr)
            && !self
                .except
                .iter()
                .flatten()
                .any(|e| e.cidr.contains_addr(addr))
    }
}

// --- references ------------------------------------------------------------------------------

/// Does a reference's `group` name the core group? Linkerd takes an empty or absent group, and
/// `core` in any case, as core.
fn is_core_group(group: Option<&str>) -> bool {
    group.is_none_or(|g| g.is_empty() || g.eq_ignore_ascii_case("core"))
}

/// Linkerd's comparison of a reference's group and kind with a resource type: both
/// case-insensitive, an empty or absent group (or `core`) meaning the core group.
fn refers_to_kind(ref_group: Option<&str>, ref_kind: &str, group: &str, kind: &str) -> bool {
    let group_matches = if group.is_empty() || group.eq_ignore_ascii_case("core") {
        is_core_group(ref_group)
    } else {
        ref_group.is_some_and(|g| g.eq_ignore_ascii_case(group))
    };
    group_matches && ref_kind.eq_ignore_ascii_case(kind)
}

/// `targetRef` and `requiredAuthenticationRefs` entries of an `AuthorizationPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a reference (a mapping with kind and name)")]
pub struct ResourceRef {
    /// Absent or empty: the core group.
    #[serde(default)]
    pub group: Option<String>,
    pub kind: String,
    pub name: String,
    /// Authentication refs may name another namespace (absent: the policy's own). The
    /// `targetRef` schema has no namespace: the API server drops one written there, and the
    /// target is always in the policy's namespace.
    #[serde(default)]
    pub namespace: Option<String>,
}

impl ResourceRef {
    /// The group, `""` for the core group.
    pub fn group(&self) -> &str {
        if is_core_group(self.group.as_deref()) {
            ""
        } else {
            self.group.as_deref().unwrap_or_default()
        }
    }

    /// Does the reference name resources of this group (`""` for core) and kind, compared as
    /// Linkerd compares them?
    pub fn refers_to(&self, group: &str, kind: &str) -> bool {
        refers_to_kind(self.group.as_deref(), &self.kind, group, kind)
    }

    /// The namespace the reference points into: its own, or `local` (the policy's).
    pub fn namespace_or<'a>(&'a self, local: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(local)
    }
}

/// `identityRefs` entries of a `MeshTLSAuthentication`: `ServiceAccount` (an exact identity) or
/// `Namespace` (every service account of it). The CRD makes `name` optional, but Linkerd's own
/// parser requires it: a ref without a name makes the controller skip the whole resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a reference (a mapping with kind and name)")]
pub struct IdentityRef {
    #[serde(default)]
    pub group: Option<String>,
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    /// For `ServiceAccount` refs; absent: the resource's own namespace. `Namespace` refs must
    /// not set it (Namespaces are cluster-scoped).
    #[serde(default)]
    pub namespace: Option<String>,
}

impl IdentityRef {
    /// See [`ResourceRef::refers_to`].
    pub fn refers_to(&self, group: &str, kind: &str) -> bool {
        refers_to_kind(self.group.as_deref(), &self.kind, group, kind)
    }
}

/// What a client identity string of an authorization matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityPattern<'a> {
    /// `*`: any DNS-style mesh identity.
    Any,
    /// `*.<suffix>`: identities ending with `.<suffix>` (the suffix is given without the dot).
    Suffix(&'a str),
    /// Anything else, `spiffe://` URIs included: that exact identity.
    Exact(&'a str),
}

impl<'a> IdentityPattern<'a> {
    /// Reads an identity string of `MeshTLSAuthentication.identities` or a
    /// `ServerAuthorization`'s `meshTLS.identities`, as Linkerd does: `*` only as the whole
    /// first label.
    pub fn parse(text: &'a str) -> IdentityPattern<'a> {
        if text == "*" {
            IdentityPattern::Any
        } else if let Some(suffix) = text.strip_prefix("*.") {
            IdentityPattern::Suffix(suffix)
        } else {
            IdentityPattern::Exact(text)
        }
    }

    /// Does a DNS-style client identity match? (URI identities match only exactly.)
    pub fn matches(&self, identity: &str) -> bool {
        match self {
            IdentityPattern::Any => !identity.contains("://"),
            IdentityPattern::Suffix(s) => {
                !identity.contains("://")
                    && identity
                        .strip_suffix(s)
                        .is_some_and(|head| head.ends_with('.') && head.len() > 1)
            }
            IdentityPattern::Exact(e) => identity == *e,
        }
    }
}

/// The mesh identity of a service account:
/// `<sa>.<ns>.serviceaccount.identity.<control-plane ns>.<trust domain>`.
pub fn service_account_identity(
    service_account: &str,
    namespace: &str,
    control_plane_namespace: &str,
    trust_domain: &str,
) -> String {
    format!("{service_account}.{namespace}.serviceaccount.identity.{control_plane_namespace}.{trust_domain}")
}

// --- Server ----------------------------------------------------------------------------------

/// `Server.spec.port`: a container port's number, or its name (every TCP container port of that
/// name, in containers and initContainers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerPort {
    Number(u16),
    /// A string, even a numeric one: Linkerd reads `"8080"` as a name, which matches no port
    /// (Kubernetes port names must hold a letter).
    Name(String),
}

impl fmt::Display for ServerPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerPort::Number(n) => write!(f, "{n}"),
            ServerPort::Name(s) => f.write_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for ServerPort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;

        impl Visitor<'_> for PortVisitor {
            type Value = ServerPort;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number (1-65535) or a port name")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ServerPort, E> {
                match u16::try_from(v) {
                    Ok(n) if n > 0 => Ok(ServerPort::Number(n)),
                    _ => Err(E::custom(format_args!("port {v} is outside 1-65535"))),
                }
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ServerPort, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ServerPort, E> {
                if v.is_empty() {
                    return Err(E::custom("the port name is empty"));
                }
                Ok(ServerPort::Name(v.to_owned()))
            }
        }

        deserializer.deserialize_any(PortVisitor)
    }
}

/// `Server.spec.proxyProtocol`: how the proxy treats inbound connections on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum ProxyProtocol {
    /// Detect the protocol (HTTP or not) with a timeout; the default.
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
    #[serde(rename = "HTTP/1")]
    Http1,
    #[serde(rename = "HTTP/2")]
    Http2,
    #[serde(rename = "gRPC")]
    Grpc,
    /// Proxied as TCP, no detection, no routes.
    #[serde(rename = "opaque")]
    Opaque,
    /// The application's own TLS; proxied as TCP, no routes.
    #[serde(rename = "TLS")]
    Tls,
}

impl ProxyProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyProtocol::Unknown => "unknown",
            ProxyProtocol::Http1 => "HTTP/1",
            ProxyProtocol::Http2 => "HTTP/2",
            ProxyProtocol::Grpc => "gRPC",
            ProxyProtocol::Opaque => "opaque",
            ProxyProtocol::Tls => "TLS",
        }
    }

    /// HTTPRoutes apply (detected or declared HTTP).
    pub fn uses_http_routes(self) -> bool {
        matches!(
            self,
            ProxyProtocol::Unknown | ProxyProtocol::Http1 | ProxyProtocol::Http2
        )
    }

    /// GRPCRoutes apply.
    pub fn uses_grpc_routes(self) -> bool {
        self == ProxyProtocol::Grpc
    }
}

/// `Server` (`policy.linkerd.io` v1alpha1, v1beta1, v1beta2, v1beta3): a port of the pods (or
/// ExternalWorkloads) it selects in its own namespace, whose inbound policy is then given by
/// authorizations instead of the default policy.
///
/// Ingest guarantees the schema's rules: `port` is set, and exactly one selector (v1beta2 and
/// later; `podSelector` before). Fields the object's version does not have (`accessPolicy`
/// before v1beta3, `externalWorkloadSelector` before v1beta2) are reported and left out, as the
/// API server drops them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    /// Pods of the Server's namespace; an empty selector selects them all.
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    /// ExternalWorkloads of the Server's namespace (v1beta2 on).
    #[serde(default)]
    pub external_workload_selector: Option<LabelSelector>,
    pub port: ServerPort,
    /// Absent: `unknown` (detect).
    #[serde(default)]
    pub proxy_protocol: ProxyProtocol,
    /// v1beta3 only. Absent means `deny` (the CRD's default): no fallback authorization. Any other
    /// value adds that policy's authorization to the Server's own.
    #[serde(default)]
    pub access_policy: Option<DefaultInboundPolicy>,
    /// The Server object's own `metadata.labels` (not part of the spec; copied at ingest):
    /// `ServerAuthorization.spec.server.selector` selects Servers by these.
    #[serde(skip)]
    pub labels: Labels,
    /// `metadata.creationTimestamp` as written (RFC 3339), when the input has it: from 2.18 the
    /// oldest of two Servers selecting the same port wins (then the name decides).
    #[serde(skip)]
    pub created: Option<String>,
}

impl ServerSpec {
    /// `accessPolicy`, or `deny` when it is absent.
    pub fn access_policy(&self) -> DefaultInboundPolicy {
        self.access_policy.unwrap_or(DefaultInboundPolicy::Deny)
    }
}

// --- ServerAuthorization ---------------------------------------------------------------------

/// `ServerAuthorization` (`policy.linkerd.io` v1beta1, v1alpha1; superseded by
/// AuthorizationPolicy but still enforced): authorizes clients on Servers of its namespace.
/// Exactly one of `client.unauthenticated` and `client.meshTLS` should be set, and a meshTLS
/// with nothing to match is invalid; Linkerd ignores such a resource — not checked here.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerAuthorizationSpec {
    pub server: ServerAuthorizationTarget,
    pub client: ServerAuthorizationClient,
}

/// `spec.server`: one Server by name, or Servers by their own labels (not pod labels), in the
/// resource's namespace.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerAuthorizationTarget {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerAuthorizationClient {
    /// `None`: omitted — Linkerd then admits only `clusterNetworks`. `Some([])`: written empty,
    /// which Linkerd also turns into `clusterNetworks`. Unlike an AuthorizationPolicy without a
    /// NetworkAuthentication, which admits every address.
    #[serde(default)]
    pub networks: Option<Vec<Network>>,
    /// Clients without a mesh identity (plaintext) are admitted.
    #[serde(default)]
    pub unauthenticated: bool,
    #[serde(default, rename = "meshTLS")]
    pub mesh_tls: Option<ServerAuthorizationMeshTls>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerAuthorizationMeshTls {
    /// Any client that completes mesh TLS, whatever its identity.
    #[serde(default, rename = "unauthenticatedTLS")]
    pub unauthenticated_tls: bool,
    /// Identity strings as written (`*`, `*.suffix`, exact); see [`IdentityPattern`].
    #[serde(default)]
    pub identities: Option<Vec<String>>,
    #[serde(default)]
    pub service_accounts: Option<Vec<ServiceAccountRef>>,
}

/// A service account by name; `namespace` absent means the referring resource's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a service account reference (a mapping with name)")]
pub struct ServiceAccountRef {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

// --- AuthorizationPolicy and authentications -------------------------------------------------

/// `AuthorizationPolicy` (`policy.linkerd.io/v1alpha1`; not Istio's `security.istio.io` kind of
/// the same name): authorizes clients that satisfy every required authentication on its target
/// — a `Server`, an `HTTPRoute` (either group), a `GRPCRoute`, or the policy's own `Namespace`
/// (every Server in it). Target kinds and the limits on refs are not checked here.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicySpec {
    pub target_ref: ResourceRef,
    /// `None`: omitted, which the CRD forbids (the API server rejects the policy; ingest reports
    /// it). `Some([])`: written empty, which Linkerd accepts and which authorizes every client,
    /// plaintext included, from everywhere. Entries are ANDed: a `MeshTLSAuthentication` or a
    /// `ServiceAccount` constrains the identity, a `NetworkAuthentication` the source address;
    /// without an identity ref plaintext is admitted, without a network ref every address is.
    #[serde(default)]
    pub required_authentication_refs: Option<Vec<ResourceRef>>,
}

/// `MeshTLSAuthentication` (`policy.linkerd.io/v1alpha1`): clients with one of these mesh
/// identities. The schema asks for exactly one of the two lists, non-empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshTlsAuthenticationSpec {
    /// Identity strings exactly as written (`*`, `*.suffix`, exact, `spiffe://` URIs); see
    /// [`IdentityPattern`].
    #[serde(default)]
    pub identities: Option<Vec<String>>,
    #[serde(default)]
    pub identity_refs: Option<Vec<IdentityRef>>,
}

/// `NetworkAuthentication` (`policy.linkerd.io/v1alpha1`): clients whose source address is in
/// one of the networks (and none of that network's exceptions).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkAuthenticationSpec {
    #[serde(default)]
    pub networks: Vec<Network>,
}

// --- routes ----------------------------------------------------------------------------------

/// Which API group a route came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteApiGroup {
    /// `gateway.networking.k8s.io`.
    #[default]
    GatewayApi,
    /// `policy.linkerd.io`.
    Linkerd,
}

impl RouteApiGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteApiGroup::GatewayApi => GATEWAY_API_GROUP,
            RouteApiGroup::Linkerd => POLICY_GROUP,
        }
    }
}

/// A route's `parentRefs` entry. For inbound policy Linkerd attaches a route only through a
/// `Server` (group `policy.linkerd.io`) of the route's own namespace, with neither `port` nor
/// `sectionName`; any other parent (a Gateway, a Service) is outbound or ingress routing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a parent reference (a mapping with name)")]
pub struct ParentRef {
    /// Absent: `gateway.networking.k8s.io`.
    #[serde(default)]
    pub group: Option<String>,
    /// Absent: `Gateway`.
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub section_name: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

impl ParentRef {
    /// The group, with the Gateway API default.
    pub fn group(&self) -> &str {
        self.group.as_deref().unwrap_or(GATEWAY_API_GROUP)
    }

    /// The kind, with the Gateway API default.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("Gateway")
    }

    /// A Linkerd `Server` is the parent.
    pub fn is_server(&self) -> bool {
        self.group() == POLICY_GROUP && self.kind() == "Server"
    }
}

/// `HTTPRoute`, from `policy.linkerd.io` (v1alpha1, v1beta1–v1beta3) or
/// `gateway.networking.k8s.io` (v1, v1beta1, v1alpha2): for inbound policy, the requests of a
/// Server that authorizations can target one by one. Only what identifies a route's requests is
/// typed; backends and filters are not.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// The object's API group (not part of the spec; set at ingest).
    #[serde(skip)]
    pub api_group: RouteApiGroup,
    #[serde(default)]
    pub parent_refs: Vec<ParentRef>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Absent: one rule matching every request (path prefix `/`).
    #[serde(default)]
    pub rules: Vec<HttpRouteRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HttpRouteRule {
    /// Alternatives (ORed). Absent or empty: every request (path prefix `/`).
    #[serde(default)]
    pub matches: Vec<HttpRouteMatch>,
}

/// One match: all its conditions ANDed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// Absent: path prefix `/`.
    #[serde(default)]
    pub path: Option<HttpPathMatch>,
    #[serde(default)]
    pub headers: Vec<ValueMatch>,
    #[serde(default)]
    pub query_params: Vec<ValueMatch>,
    /// An HTTP method (`GET`); absent: any.
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (the default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub match_type: Option<String>,
    /// Absent: `/`.
    #[serde(default)]
    pub value: Option<String>,
}

impl HttpPathMatch {
    pub fn match_type(&self) -> &str {
        self.match_type.as_deref().unwrap_or("PathPrefix")
    }

    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or("/")
    }
}

/// A header or query-parameter condition.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ValueMatch {
    /// `Exact` (the default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub match_type: Option<String>,
    pub name: String,
    #[serde(default)]
    pub value: String,
}

impl ValueMatch {
    fn describe(&self) -> String {
        match self.match_type.as_deref() {
            Some("RegularExpression") => format!("{}~{}", self.name, self.value),
            _ => format!("{}={}", self.name, self.value),
        }
    }
}

impl HttpRouteMatch {
    /// The match in a few words for a finding: `GET /api (prefix) header x-user=alice`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = &self.method {
            parts.push(m.clone());
        }
        let (kind, value) = self
            .path
            .as_ref()
            .map_or(("PathPrefix", "/"), |p| (p.match_type(), p.value()));
        parts.push(match kind {
            "Exact" => value.to_owned(),
            "RegularExpression" => format!("{value} (regex)"),
            _ => format!("{value} (prefix)"),
        });
        parts.extend(
            self.headers
                .iter()
                .map(|h| format!("header {}", h.describe())),
        );
        parts.extend(
            self.query_params
                .iter()
                .map(|q| format!("query {}", q.describe())),
        );
        parts.join(" ")
    }
}

/// `GRPCRoute` (`gateway.networking.k8s.io` v1, v1alpha2; Linkerd 2.16 on): like
/// [`HttpRouteSpec`] for Servers whose `proxyProtocol` is `gRPC`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRouteSpec {
    #[serde(default)]
    pub parent_refs: Vec<ParentRef>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Absent: one rule matching every request.
    #[serde(default)]
    pub rules: Vec<GrpcRouteRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GrpcRouteRule {
    /// Alternatives (ORed). Absent or empty: every request.
    #[serde(default)]
    pub matches: Vec<GrpcRouteMatch>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GrpcRouteMatch {
    #[serde(default)]
    pub method: Option<GrpcMethodMatch>,
    #[serde(default)]
    pub headers: Vec<ValueMatch>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GrpcMethodMatch {
    /// `Exact` (the default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub match_type: Option<String>,
    /// Absent: any service.
    #[serde(default)]
    pub service: Option<String>,
    /// Absent: any method.
    #[serde(default)]
    pub method: Option<String>,
}

impl GrpcRouteMatch {
    /// The match in a few words for a finding: `/pkg.Service/Method header x-user=alice`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let method = self.method.as_ref().map_or_else(
            || "/*/*".to_owned(),
            |m| {
                let path = format!(
                    "/{}/{}",
                    m.service.as_deref().unwrap_or("*"),
                    m.method.as_deref().unwrap_or("*")
                );
                if m.match_type.as_deref() == Some("RegularExpression") {
                    format!("{path} (regex)")
                } else {
                    path
                }
            },
        );
        parts.push(method);
        parts.extend(
            self.headers
                .iter()
                .map(|h| format!("header {}", h.describe())),
        );
        parts.join(" ")
    }
}

// --- linkerd-config --------------------------------------------------------------------------

/// A value of `linkerd-config`, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue<T> {
    pub value: T,
    /// The values document writes it; `false`: Linkerd's default (or, for the trust domain, the
    /// fallback to `clusterDomain`).
    pub written: bool,
    /// Where a finding about it points: its key inside `data.values` when positions there are
    /// exact ([`LinkerdConfig::exact_positions`]), else the `values` key of the ConfigMap.
    pub location: Location,
}

/// The `linkerd-config` ConfigMap of the control plane: its `data.values` is the Helm values of
/// the install, as a YAML document inside a string.
#[derive(Debug, Clone)]
pub struct LinkerdConfig {
    pub object: ObjectId,
    /// The ConfigMap's namespace: the control plane's, part of every mesh identity.
    pub control_plane_namespace: String,
    /// Where the `values` key is written.
    pub values_location: Location,
    /// Whether each value's location is its own line and column inside the embedded document:
    /// true for a block scalar (`values: |`, as Helm and `kubectl get -o yaml` write it); false
    /// for a quoted string (`kubectl get -o json`), whose lines are not the file's — every value
    /// then points at the `values` key.
    pub exact_positions: bool,
    /// `clusterDomain` (default `cluster.local`).
    pub cluster_domain: ConfigValue<String>,
    /// `identityTrustDomain`; empty or absent: `clusterDomain` (then `written` is false).
    pub identity_trust_domain: ConfigValue<String>,
    /// `proxy.defaultInboundPolicy` (default `all-unauthenticated`); an unknown value is kept as
    /// the error (the policy controller does not start with it).
    pub default_inbound_policy: ConfigValue<Result<DefaultInboundPolicy, UnknownPolicy>>,
    /// `clusterNetworks`, a comma-separated string (default [`DEFAULT_CLUSTER_NETWORKS`]).
    pub cluster_networks: ConfigValue<CidrList>,
    /// `policyController.probeNetworks`, a list (default [`DEFAULT_PROBE_NETWORKS`]): sources
    /// admitted to kubelet `httpGet` probe paths whatever the policy.
    pub probe_networks: ConfigValue<CidrList>,
    /// `proxy.opaquePorts` (default [`DEFAULT_OPAQUE_PORTS`]).
    pub opaque_ports: ConfigValue<PortSet>,
    /// `proxyInit.ignoreInboundPorts` (default [`DEFAULT_IGNORED_PORTS`]); a pod's
    /// `skip-inbound-ports` replaces it under proxy-init (the CNI plugin appends instead).
    /// 4190 and 4191 are always skipped on top.
    pub ignore_inbound_ports: ConfigValue<PortSet>,
    /// `proxyInit.ignoreOutboundPorts` (default [`DEFAULT_IGNORED_PORTS`]).
    pub ignore_outbound_ports: ConfigValue<PortSet>,
    /// `proxy.requireIdentityOnInboundPorts` (default empty).
    pub require_identity_on_inbound_ports: ConfigValue<PortSet>,
    /// `proxy.nativeSidecar` (default false).
    pub native_sidecar: ConfigValue<bool>,
    /// `cniEnabled` (default false): the CNI plugin, not `linkerd-init`, sets iptables up.
    pub cni_enabled: ConfigValue<bool>,
    /// `disableIPv6` (default true; the key appeared in 2.16, and earlier proxies handled
    /// IPv4 only): proxies listen on IPv4 and proxy-init sets no ip6tables rule, so IPv6
    /// connections are neither redirected to the proxy nor seen by its policy.
    pub disable_ipv6: ConfigValue<bool>,
    /// `linkerdVersion`, else `cliVersion`, when written (e.g. `edge-25.4.4`, `stable-2.14.10`).
    pub version: Option<ConfigValue<String>>,
}

/// Every Linkerd resource of the input, typed.
#[derive(Debug, Clone, Default)]
pub struct LinkerdResources {
    pub servers: Vec<Typed<ServerSpec>>,
    pub server_authorizations: Vec<Typed<ServerAuthorizationSpec>>,
    pub authorization_policies: Vec<Typed<AuthorizationPolicySpec>>,
    pub mesh_tls_authentications: Vec<Typed<MeshTlsAuthenticationSpec>>,
    pub network_authentications: Vec<Typed<NetworkAuthenticationSpec>>,
    /// Both groups; see [`HttpRouteSpec::api_group`]. Gateway API routes of other meshes and
    /// gateways are here too: only those whose parent is a `Server` concern Linkerd's inbound
    /// policy.
    pub http_routes: Vec<Typed<HttpRouteSpec>>,
    pub grpc_routes: Vec<Typed<GrpcRouteSpec>>,
    /// The first `linkerd-config` ConfigMap of the input that has `data.values`.
    pub config: Option<LinkerdConfig>,
}

impl LinkerdResources {
    /// Whether the input holds a Linkerd policy resource, a `policy.linkerd.io` route or the
    /// control plane's config (Gateway API routes alone do not count: any mesh uses them).
    pub fn is_present(&self) -> bool {
        !(self.servers.is_empty()
            && self.server_authorizations.is_empty()
            && self.authorization_policies.is_empty()
            && self.mesh_tls_authentications.is_empty()
            && self.network_authentications.is_empty()
            && self
                .http_routes
                .iter()
                .all(|r| r.spec.api_group != RouteApiGroup::Linkerd)
            && self.config.is_none())
    }

    pub fn control_plane_namespace(&self) -> &str {
        self.config
            .as_ref()
            .map_or(DEFAULT_CONTROL_PLANE_NAMESPACE, |c| {
                c.control_plane_namespace.as_str()
            })
    }

    pub fn trust_domain(&self) -> &str {
        self.config.as_ref().map_or(DEFAULT_CLUSTER_DOMAIN, |c| {
            c.identity_trust_domain.value.as_str()
        })
    }

    /// The mesh identity of `service_account` in `namespace` under this control plane.
    pub fn service_account_identity(&self, service_account: &str, namespace: &str) -> String {
        service_account_identity(
            service_account,
            namespace,
            self.control_plane_namespace(),
            self.trust_domain(),
        )
    }
}

// --- pod and namespace settings --------------------------------------------------------------

/// A `linkerd.io/inject` value. An empty value is the same as none (`None` where it is held).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InjectMode {
    Enabled,
    Disabled,
    /// Injected, with the proxy in ingress mode (outbound routing only; inbound is unchanged).
    Ingress,
    /// Any other value. On a pod it blocks injection; on the namespace it blocks injection of
    /// every pod there, even pods that say `enabled`.
    Invalid(String),
}

impl InjectMode {
    /// `None` for an empty value.
    pub fn parse(text: &str) -> Option<InjectMode> {
        Some(match text {
            "" => return None,
            "enabled" => InjectMode::Enabled,
            "disabled" => InjectMode::Disabled,
            "ingress" => InjectMode::Ingress,
            other => InjectMode::Invalid(other.to_owned()),
        })
    }

    /// `enabled` or `ingress`.
    pub fn requests_injection(&self) -> bool {
        matches!(self, InjectMode::Enabled | InjectMode::Ingress)
    }

    pub fn as_str(&self) -> &str {
        match self {
            InjectMode::Enabled => "enabled",
            InjectMode::Disabled => "disabled",
            InjectMode::Ingress => "ingress",
            InjectMode::Invalid(s) => s,
        }
    }
}

/// Which name of the native-sidecar annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NativeSidecarStage {
    /// `config.linkerd.io/...` (2026 on).
    Ga,
    /// `config.beta.linkerd.io/...` (2.19 on).
    Beta,
    /// `config.alpha.linkerd.io/...` (2.15 on).
    Alpha,
}

/// A native-sidecar annotation as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeSidecarAnnotation {
    pub stage: NativeSidecarStage,
    /// The annotation's name.
    pub annotation: &'static str,
    pub value: String,
    /// The value read as Go's `strconv.ParseBool` reads it (the injector ignores other values).
    pub enabled: Option<bool>,
}

/// Go's `strconv.ParseBool`, which the injector uses for boolean annotations.
pub fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The Linkerd configuration annotations of a pod template or a Namespace, parsed. `None`: the
/// annotation is not there. Values that do not parse are kept (see each type) so the evaluator
/// can apply the reader's rule, and [`LinkerdAnnotations::problems`] words them for ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkerdAnnotations {
    /// `linkerd.io/inject`.
    pub inject: Option<InjectMode>,
    /// `config.linkerd.io/default-inbound-policy`. An unknown value is ignored by the policy
    /// controller, which falls back to the cluster default.
    pub default_inbound_policy: Option<Result<DefaultInboundPolicy, UnknownPolicy>>,
    /// `config.linkerd.io/skip-inbound-ports`.
    pub skip_inbound_ports: Option<PortSet>,
    /// `config.linkerd.io/skip-outbound-ports`.
    pub skip_outbound_ports: Option<PortSet>,
    /// `config.linkerd.io/opaque-ports`.
    pub opaque_ports: Option<PortSet>,
    /// `config.linkerd.io/proxy-require-identity-inbound-ports`.
    pub require_identity_inbound_ports: Option<PortSet>,
    /// `config.linkerd.io/skip-subnets`.
    pub skip_subnets: Option<CidrList>,
    /// Every native-sidecar annotation present, GA name first.
    pub native_sidecar: Vec<NativeSidecarAnnotation>,
}

/// A Linkerd annotation whose value Linkerd cannot use (wholly or in part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationProblem {
    pub annotation: &'static str,
    /// What is wrong and what Linkerd does about it.
    pub message: String,
}

impl LinkerdAnnotations {
    /// No annotation, usable in constants.
    pub const EMPTY: LinkerdAnnotations = LinkerdAnnotations {
        inject: None,
        default_inbound_policy: None,
        skip_inbound_ports: None,
        skip_outbound_ports: None,
        opaque_ports: None,
        require_identity_inbound_ports: None,
        skip_subnets: None,
        native_sidecar: Vec::new(),
    };

    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> LinkerdAnnotations {
        let get = |key: &str| annotations.get(key).map(String::as_str);
        LinkerdAnnotations {
            inject: get(INJECT_ANNOTATION).and_then(InjectMode::parse),
            default_inbound_policy: get(DEFAULT_INBOUND_POLICY_ANNOTATION)
                .map(DefaultInboundPolicy::parse),
            skip_inbound_ports: get(SKIP_INBOUND_PORTS_ANNOTATION).map(PortSet::parse),
            skip_outbound_ports: get(SKIP_OUTBOUND_PORTS_ANNOTATION).map(PortSet::parse),
            opaque_ports: get(OPAQUE_PORTS_ANNOTATION).map(PortSet::parse),
            require_identity_inbound_ports: get(REQUIRE_IDENTITY_PORTS_ANNOTATION)
                .map(PortSet::parse),
            skip_subnets: get(SKIP_SUBNETS_ANNOTATION).map(CidrList::parse),
            native_sidecar: [
                (NativeSidecarStage::Ga, NATIVE_SIDECAR_ANNOTATION),
                (NativeSidecarStage::Beta, NATIVE_SIDECAR_BETA_ANNOTATION),
                (NativeSidecarStage::Alpha, NATIVE_SIDECAR_ALPHA_ANNOTATION),
            ]
            .into_iter()
            .filter_map(|(stage, annotation)| {
                let value = get(annotation)?;
                Some(NativeSidecarAnnotation {
                    stage,
                    annotation,
                    value: value.to_owned(),
                    enabled: parse_go_bool(value),
                })
            })
            .collect(),
        }
    }

    /// No Linkerd annotation at all.
    pub fn is_empty(&self) -> bool {
        *self == LinkerdAnnotations::EMPTY
    }

    /// Values Linkerd cannot use, worded with what Linkerd does about them. Named ports in
    /// `opaque-ports` are not listed: the injector and destination controller resolve them.
    pub fn problems(&self) -> Vec<AnnotationProblem> {
        let mut out = Vec::new();
        if let Some(InjectMode::Invalid(value)) = &self.inject {
            out.push(AnnotationProblem {
                annotation: INJECT_ANNOTATION,
                message: format!(
                    "`{value}` is not enabled, disabled or ingress; Linkerd's proxy injector refuses to inject where it is set"
                ),
            });
        }
        if let Some(Err(e)) = &self.default_inbound_policy {
            out.push(AnnotationProblem {
                annotation: DEFAULT_INBOUND_POLICY_ANNOTATION,
                message: format!(
                    "{e}; Linkerd ignores it and applies the cluster's default policy"
                ),
            });
        }
        let port_lists = [
            (
                SKIP_INBOUND_PORTS_ANNOTATION,
                &self.skip_inbound_ports,
                "proxy-init skips only the valid entries",
                false,
            ),
            (
                SKIP_OUTBOUND_PORTS_ANNOTATION,
                &self.skip_outbound_ports,
                "proxy-init skips only the valid entries",
                false,
            ),
            (
                OPAQUE_PORTS_ANNOTATION,
                &self.opaque_ports,
                "the policy controller ignores the whole list",
                true,
            ),
            (
                REQUIRE_IDENTITY_PORTS_ANNOTATION,
                &self.require_identity_inbound_ports,
                "the policy controller ignores the whole list",
                false,
            ),
        ];
        for (annotation, set, consequence, names_allowed) in port_lists {
            let Some(set) = set else { continue };
            let bad: Vec<String> = set
                .invalid
                .iter()
                .filter(|e| !(names_allowed && e.is_name()))
                .map(|e| format!("`{}` ({})", e.entry, e.reason))
                .collect();
            if !bad.is_empty() {
                out.push(AnnotationProblem {
                    annotation,
                    message: format!(
                        "{} not a port or a low-high range; {consequence}",
                        if bad.len() == 1 {
                            format!("{} is", bad[0])
                        } else {
                            format!("{} are", bad.join(", "))
                        }
                    ),
                });
            }
        }
        if let Some(list) = &self.skip_subnets {
            if !list.invalid.is_empty() {
                out.push(AnnotationProblem {
                    annotation: SKIP_SUBNETS_ANNOTATION,
                    message: format!(
                        "{} not a CIDR; proxy-init cannot apply it",
                        list.invalid_entries()
                    ),
                });
            }
        }
        for n in &self.native_sidecar {
            if n.enabled.is_none() {
                out.push(AnnotationProblem {
                    annotation: n.annotation,
                    message: format!(
                        "`{}` is not a boolean (true or false); the injector ignores it",
                        n.value
                    ),
                });
            }
        }
        out
    }
}

/// Where the `linkerd-proxy` container of an injected template sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyPlacement {
    /// Among `containers`.
    Container,
    /// Among `initContainers`: a native sidecar.
    NativeSidecar,
}

/// What sets up the traffic redirection of an injected template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyInit {
    /// The `linkerd-init` initContainer (iptables).
    Iptables,
    /// The CNI plugin; `linkerd-network-validator` checks its rules.
    CniValidator,
}

/// What a pod template says about Linkerd: its configuration annotations and whether the proxy
/// is already there. Held by [`crate::k8s::Workload::linkerd`]; the namespace's annotations are
/// in [`LinkerdNamespaceSettings`], never merged here (the evaluator applies precedence: pod
/// over namespace over cluster, and namespace annotations only where the injector copied them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkerdPodSettings {
    /// The pod template's own annotations (a Deployment's top-level annotations never count).
    pub annotations: LinkerdAnnotations,
    /// A `linkerd-proxy` container or initContainer, or a container running Linkerd's proxy
    /// image under another name.
    pub proxy: Option<ProxyPlacement>,
    /// `linkerd-init` or `linkerd-network-validator`, when present.
    pub proxy_init: Option<ProxyInit>,
    /// The `linkerd.io/control-plane-ns` label (set by the injector): clients get an mTLS
    /// identity for this pod's endpoints.
    pub control_plane_ns: Option<String>,
}

impl LinkerdPodSettings {
    /// Nothing Linkerd-related, usable as the value of templates without any.
    pub const EMPTY: LinkerdPodSettings = LinkerdPodSettings {
        annotations: LinkerdAnnotations::EMPTY,
        proxy: None,
        proxy_init: None,
        control_plane_ns: None,
    };

    /// Reads a pod template; `None` when it has nothing Linkerd-related (most templates of a
    /// mesh that is not Linkerd), so workloads store nothing for them.
    pub fn from_pod(
        annotations: &BTreeMap<String, String>,
        labels: &Labels,
        containers: &[Container],
        init_containers: &[Container],
    ) -> Option<LinkerdPodSettings> {
        let is_proxy = |c: &Container| {
            c.name == PROXY_CONTAINER
                || c.image
                    .as_deref()
                    .is_some_and(|i| i.starts_with(PROXY_IMAGE_PREFIX))
        };
        let proxy = if containers.iter().any(is_proxy) {
            Some(ProxyPlacement::Container)
        } else if init_containers.iter().any(is_proxy) {
            Some(ProxyPlacement::NativeSidecar)
        } else {
            None
        };
        let proxy_init = if init_containers
            .iter()
            .any(|c| c.name == PROXY_INIT_CONTAINER)
        {
            Some(ProxyInit::Iptables)
        } else if init_containers
            .iter()
            .any(|c| c.name == NETWORK_VALIDATOR_CONTAINER)
        {
            Some(ProxyInit::CniValidator)
        } else {
            None
        };
        let settings = LinkerdPodSettings {
            annotations: LinkerdAnnotations::from_annotations(annotations),
            proxy,
            proxy_init,
            control_plane_ns: labels.get(CONTROL_PLANE_NS_LABEL).cloned(),
        };
        (settings != LinkerdPodSettings::EMPTY).then_some(settings)
    }

    /// The proxy is there already (a container, or the label the injector sets).
    pub fn is_injected(&self) -> bool {
        self.proxy.is_some() || self.control_plane_ns.is_some()
    }
}

/// What a Namespace's annotations say about Linkerd. The injector copies the configuration
/// annotations a pod lacks from its namespace when it injects the pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkerdNamespaceSettings {
    pub annotations: LinkerdAnnotations,
}

impl LinkerdNamespaceSettings {
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Self {
        LinkerdNamespaceSettings {
            annotations: LinkerdAnnotations::from_annotations(annotations),
        }
    }
}

/// Where an annotation of a pod template (at `template_path`, e.g. `spec.template`; empty for a
/// Pod) or of an object's own metadata is written: its key, else the object's name.
pub fn annotation_location(object: &Object, template_path: &[&str], annotation: &str) -> Location {
    let path: Vec<Step<'_>> = template_path
        .iter()
        .map(|s| Step::Key(s))
        .chain([
            Step::Key("metadata"),
            Step::Key("annotations"),
            Step::Key(annotation),
        ])
        .collect();
    object.location_of(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(set: &PortSet) -> Vec<(u16, u16)> {
        set.ranges.iter().map(|r| (r.low, r.high)).collect()
    }

    #[test]
    fn port_sets_read_ports_ranges_and_spaces() {
        let set = PortSet::parse("25, 587,3306-3310 ,, 4567-4567");
        assert_eq!(
            ranges(&set),
            [(25, 25), (587, 587), (3306, 3310), (4567, 4567)]
        );
        assert!(set.is_valid());
        for p in [25, 587, 3306, 3308, 3310, 4567] {
            assert!(set.contains(p), "{p}");
        }
        for p in [0, 24, 26, 3305, 3311, 4568, 65535] {
            assert!(!set.contains(p), "{p}");
        }
        assert_eq!(set.describe(), "25,587,3306-3310,4567");
        assert_eq!(set.text, "25, 587,3306-3310 ,, 4567-4567");
        let all = PortSet::parse("0-65535");
        assert!(all.contains(0) && all.contains(65535) && all.is_valid());
    }

    #[test]
    fn port_sets_keep_junk_entries_apart() {
        let set = PortSet::parse("80,http,9000-8000,70000,-23,1-2-3,8080-,+5,443");
        assert_eq!(ranges(&set), [(80, 80), (5, 5), (443, 443)]);
        let invalid: Vec<(&str, &str)> = set
            .invalid
            .iter()
            .map(|e| (e.entry.as_str(), e.reason))
            .collect();
        assert_eq!(
            invalid,
            [
                ("http", "a port name, not a number"),
                (
                    "9000-8000",
                    "a range whose upper bound is below its lower bound"
                ),
                ("70000", "above 65535"),
                ("-23", "not a number"),
                ("1-2-3", "not a number"),
                ("8080-", "not a number"),
            ]
        );
        assert!(set.invalid[0].is_name());
        assert!(!set.invalid[1].is_name());
        assert!(!set.is_valid());
        assert!(set.contains(443) && !set.contains(9000) && !set.contains(8500));
        let empty = PortSet::parse("");
        assert!(empty.is_empty() && empty.is_valid());
        assert_eq!(empty, PortSet::EMPTY);
        assert!(PortSet::parse(" , ").is_empty());
        // Only junk: nothing is contained, nothing panics.
        let junk = PortSet::parse("\u{1F600},99999999999999999999,a-b");
        assert!(junk.is_empty() && junk.invalid.len() == 3);
        let named = PortSet::parse("http-alt");
        assert_eq!(named.invalid[0].reason, "a port name, not a number");
        assert!(named.invalid[0].is_name());
    }

    #[test]
    fn default_policies_parse_exactly_and_round_trip() {
        for p in DefaultInboundPolicy::ALL {
            assert_eq!(DefaultInboundPolicy::parse(p.as_str()), Ok(p));
            assert_eq!(p.as_str().parse::<DefaultInboundPolicy>(), Ok(p));
            assert_eq!(p.to_string(), p.as_str());
        }
        for bad in [
            "",
            "All-Unauthenticated",
            " deny",
            "deny ",
            "allow",
            "cluster-authenticated,deny",
        ] {
            let err = DefaultInboundPolicy::parse(bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(err
                .to_string()
                .contains("is not a Linkerd default inbound policy"));
        }
    }

    #[test]
    fn default_policy_properties_follow_the_table() {
        use DefaultInboundPolicy::*;
        let open: Vec<_> = DefaultInboundPolicy::ALL
            .into_iter()
            .filter(|p| p.admits_unauthenticated())
            .collect();
        assert_eq!(open, [AllUnauthenticated, ClusterUnauthenticated, Audit]);
        let cluster: Vec<_> = DefaultInboundPolicy::ALL
            .into_iter()
            .filter(|p| p.cluster_networks_only())
            .collect();
        assert_eq!(cluster, [ClusterUnauthenticated, ClusterAuthenticated]);
        assert_eq!(AllUnauthenticated.requiring_identity(), AllAuthenticated);
        assert_eq!(
            ClusterUnauthenticated.requiring_identity(),
            ClusterAuthenticated
        );
        assert_eq!(Audit.requiring_identity(), Audit);
        assert_eq!(Deny.requiring_identity(), Deny);
    }

    #[test]
    fn identity_strings_are_kept_and_matched_as_linkerd_does() {
        let id = "web.shop.serviceaccount.identity.linkerd.cluster.local";
        assert_eq!(
            service_account_identity("web", "shop", "linkerd", "cluster.local"),
            id
        );
        assert_eq!(IdentityPattern::parse("*"), IdentityPattern::Any);
        assert!(IdentityPattern::parse("*").matches(id));
        assert!(!IdentityPattern::parse("*").matches("spiffe://example.org/ns/shop/sa/web"));
        let ns = IdentityPattern::parse("*.shop.serviceaccount.identity.linkerd.cluster.local");
        assert_eq!(
            ns,
            IdentityPattern::Suffix("shop.serviceaccount.identity.linkerd.cluster.local")
        );
        assert!(ns.matches(id));
        assert!(!ns.matches("web.shopx.serviceaccount.identity.linkerd.cluster.local"));
        assert!(!ns.matches("shop.serviceaccount.identity.linkerd.cluster.local"));
        // `*` inside a name is not a wildcard: the string is an exact identity.
        let odd = "web.*.serviceaccount.identity.linkerd.cluster.local";
        assert_eq!(IdentityPattern::parse(odd), IdentityPattern::Exact(odd));
        assert!(!IdentityPattern::parse(odd).matches(id));
        let uri = "spiffe://example.org/ns/shop/sa/web";
        assert!(IdentityPattern::parse(uri).matches(uri));
    }

    #[test]
    fn references_compare_group_and_kind_as_linkerd_does() {
        let r = |group: Option<&str>, kind: &str| ResourceRef {
            group: group.map(str::to_owned),
            kind: kind.to_owned(),
            name: "x".to_owned(),
            namespace: None,
        };
        assert!(r(Some("policy.linkerd.io"), "Server").refers_to(POLICY_GROUP, "Server"));
        assert!(r(Some("POLICY.linkerd.io"), "server").refers_to(POLICY_GROUP, "Server"));
        // A Server without its group is a core kind, which does not exist.
        assert!(!r(None, "Server").refers_to(POLICY_GROUP, "Server"));
        for g in [None, Some(""), Some("core"), Some("CORE")] {
            let sa = r(g, "ServiceAccount");
            assert!(sa.refers_to("", "ServiceAccount"), "{g:?}");
            assert!(sa.refers_to("core", "serviceaccount"), "{g:?}");
            assert_eq!(sa.group(), "");
        }
        assert!(
            !r(Some("gateway.networking.k8s.io"), "HTTPRoute").refers_to(POLICY_GROUP, "HTTPRoute")
        );
        let local = r(None, "ServiceAccount");
        assert_eq!(local.namespace_or("shop"), "shop");
    }

    #[test]
    fn cidr_lists_and_networks_read_addresses_and_exceptions() {
        let list = CidrList::parse(DEFAULT_CLUSTER_NETWORKS);
        assert_eq!(list.cidrs.len(), 5);
        assert!(list.invalid.is_empty());
        assert!(list.contains_addr("10.1.2.3".parse().unwrap()));
        assert!(list.contains_addr("fd00::1".parse().unwrap()));
        assert!(!list.contains_addr("8.8.8.8".parse().unwrap()));
        let junk = CidrList::parse("10.0.0.0/8, nope,10.0.0.0/33,192.168.1.1");
        assert_eq!(junk.invalid, ["nope", "10.0.0.0/33"]);
        assert_eq!(junk.cidrs.len(), 2);
        assert!(junk.contains_addr("192.168.1.1".parse().unwrap()));
        assert!(!junk.contains_addr("192.168.1.2".parse().unwrap()));
        let probes = CidrList::from_list(["0.0.0.0/0", "::/0"]);
        assert_eq!(probes.text, "0.0.0.0/0,::/0");
        assert!(probes.contains_addr("2001:db8::1".parse().unwrap()));

        let net: Network =
            serde_json::from_str(r#"{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}"#).unwrap();
        assert!(net.contains_addr("10.2.0.1".parse().unwrap()));
        assert!(!net.contains_addr("10.1.0.1".parse().unwrap()));
        assert!(!net.contains_addr("11.0.0.1".parse().unwrap()));
        let bare: NetworkCidr = serde_json::from_str(r#""192.0.2.7""#).unwrap();
        assert!(bare.is_bare_address());
        assert_eq!(bare.cidr.prefix, 32);
        let err = serde_json::from_str::<NetworkCidr>(r#""10.0.0/8""#).unwrap_err();
        assert!(err.to_string().contains("`10.0.0/8` is not a CIDR"));
    }

    #[test]
    fn server_ports_are_numbers_or_names() {
        let spec: ServerSpec =
            serde_json::from_str(r#"{"podSelector": {}, "port": 8080, "accessPolicy": "audit"}"#)
                .unwrap();
        assert_eq!(spec.port, ServerPort::Number(8080));
        assert_eq!(spec.proxy_protocol, ProxyProtocol::Unknown);
        assert_eq!(spec.access_policy(), DefaultInboundPolicy::Audit);
        let named: ServerSpec = serde_json::from_str(
            r#"{"podSelector": {"matchLabels": {"app": "web"}}, "port": "http", "proxyProtocol": "HTTP/2"}"#,
        )
        .unwrap();
        assert_eq!(named.port, ServerPort::Name("http".into()));
        assert_eq!(named.port.to_string(), "http");
        assert_eq!(named.proxy_protocol, ProxyProtocol::Http2);
        assert_eq!(named.access_policy(), DefaultInboundPolicy::Deny);
        let quoted: ServerSpec =
            serde_json::from_str(r#"{"podSelector": {}, "port": "8080"}"#).unwrap();
        assert_eq!(quoted.port, ServerPort::Name("8080".into()));
        for bad in [
            r#"{"port": 0}"#,
            r#"{"port": 70000}"#,
            r#"{"port": -1}"#,
            r#"{"port": ""}"#,
            r#"{"port": 80, "proxyProtocol": "http"}"#,
            r#"{"port": 80, "accessPolicy": "allow"}"#,
            r#"{"podSelector": {}}"#,
        ] {
            assert!(serde_json::from_str::<ServerSpec>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn annotations_are_read_and_problems_worded() {
        let annotations: BTreeMap<String, String> = [
            (INJECT_ANNOTATION, "enable"),
            (DEFAULT_INBOUND_POLICY_ANNOTATION, "cluster-authenticated"),
            (SKIP_INBOUND_PORTS_ANNOTATION, "9000-9100,metrics"),
            (SKIP_OUTBOUND_PORTS_ANNOTATION, "3306"),
            (OPAQUE_PORTS_ANNOTATION, "mysql,5432"),
            (REQUIRE_IDENTITY_PORTS_ANNOTATION, "8080,x"),
            (SKIP_SUBNETS_ANNOTATION, "10.10.0.0/16,bogus"),
            (NATIVE_SIDECAR_ALPHA_ANNOTATION, "true"),
            (NATIVE_SIDECAR_BETA_ANNOTATION, "yes"),
            (
                "config.linkerd.io/proxy-require-identity-on-inbound-ports",
                "1",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let a = LinkerdAnnotations::from_annotations(&annotations);
        assert_eq!(a.inject, Some(InjectMode::Invalid("enable".into())));
        assert_eq!(
            a.default_inbound_policy,
            Some(Ok(DefaultInboundPolicy::ClusterAuthenticated))
        );
        assert!(a.skip_inbound_ports.as_ref().unwrap().contains(9050));
        assert!(a.skip_outbound_ports.as_ref().unwrap().contains(3306));
        assert!(a.opaque_ports.as_ref().unwrap().contains(5432));
        assert_eq!(a.skip_subnets.as_ref().unwrap().cidrs.len(), 1);
        assert_eq!(a.native_sidecar.len(), 2);
        assert_eq!(a.native_sidecar[0].stage, NativeSidecarStage::Beta);
        assert_eq!(a.native_sidecar[0].enabled, None);
        assert_eq!(a.native_sidecar[1].enabled, Some(true));
        let problems: Vec<&str> = a.problems().iter().map(|p| p.annotation).collect();
        // opaque-ports names are resolved by the injector: not a problem.
        assert_eq!(
            problems,
            [
                INJECT_ANNOTATION,
                SKIP_INBOUND_PORTS_ANNOTATION,
                REQUIRE_IDENTITY_PORTS_ANNOTATION,
                SKIP_SUBNETS_ANNOTATION,
                NATIVE_SIDECAR_BETA_ANNOTATION,
            ]
        );
        let p = a.problems();
        assert_eq!(
            p[1].message,
            "`metrics` (a port name, not a number) is not a port or a low-high range; proxy-init skips only the valid entries"
        );
        assert_eq!(
            p[3].message,
            "`bogus` is not a CIDR; proxy-init cannot apply it"
        );

        let bad_policy: BTreeMap<String, String> = [(
            DEFAULT_INBOUND_POLICY_ANNOTATION.to_owned(),
            "allow-all".to_owned(),
        )]
        .into();
        let b = LinkerdAnnotations::from_annotations(&bad_policy);
        assert!(b.problems()[0]
            .message
            .starts_with("`allow-all` is not a Linkerd default inbound policy"));
        assert!(LinkerdAnnotations::from_annotations(&BTreeMap::new()).is_empty());
        let empty_inject: BTreeMap<String, String> =
            [(INJECT_ANNOTATION.to_owned(), String::new())].into();
        assert!(LinkerdAnnotations::from_annotations(&empty_inject).is_empty());
    }

    fn container(name: &str, image: &str) -> Container {
        serde_json::from_value(serde_json::json!({"name": name, "image": image})).unwrap()
    }

    #[test]
    fn injected_templates_are_recognised() {
        let none = BTreeMap::new();
        assert_eq!(
            LinkerdPodSettings::from_pod(&none, &none, &[container("app", "app:1")], &[]),
            None
        );
        let labels: Labels = [(CONTROL_PLANE_NS_LABEL.to_owned(), "linkerd".to_owned())].into();
        let classic = LinkerdPodSettings::from_pod(
            &none,
            &labels,
            &[
                container(PROXY_CONTAINER, "cr.l5d.io/linkerd/proxy:edge-25.4.4"),
                container("app", "app:1"),
            ],
            &[container(
                PROXY_INIT_CONTAINER,
                "cr.l5d.io/linkerd/proxy-init:v2.4.2",
            )],
        )
        .unwrap();
        assert_eq!(classic.proxy, Some(ProxyPlacement::Container));
        assert_eq!(classic.proxy_init, Some(ProxyInit::Iptables));
        assert_eq!(classic.control_plane_ns.as_deref(), Some("linkerd"));
        assert!(classic.is_injected());
        let native = LinkerdPodSettings::from_pod(
            &none,
            &none,
            &[container("app", "app:1")],
            &[
                container(
                    NETWORK_VALIDATOR_CONTAINER,
                    "cr.l5d.io/linkerd/proxy-init:v2.4.2",
                ),
                container("sidecar", "cr.l5d.io/linkerd/proxy:stable-2.14.10"),
            ],
        )
        .unwrap();
        assert_eq!(native.proxy, Some(ProxyPlacement::NativeSidecar));
        assert_eq!(native.proxy_init, Some(ProxyInit::CniValidator));
        assert!(native.is_injected());
        let asked: BTreeMap<String, String> =
            [(INJECT_ANNOTATION.to_owned(), "ingress".to_owned())].into();
        let pending = LinkerdPodSettings::from_pod(&asked, &none, &[], &[]).unwrap();
        assert!(!pending.is_injected());
        assert!(pending
            .annotations
            .inject
            .as_ref()
            .unwrap()
            .requests_injection());
    }

    #[test]
    fn routes_describe_their_matches() {
        let route: HttpRouteSpec = serde_json::from_str(
            r#"{"parentRefs": [{"group": "policy.linkerd.io", "kind": "Server", "name": "web-http"}],
                "rules": [{"matches": [
                    {"path": {"value": "/api"}, "method": "GET",
                     "headers": [{"name": "x-user", "value": "alice"}]},
                    {"path": {"type": "Exact", "value": "/healthz"}},
                    {"path": {"type": "RegularExpression", "value": "/v[0-9]+/.*"},
                     "queryParams": [{"type": "RegularExpression", "name": "q", "value": ".*"}]},
                    {}
                ]}]}"#,
        )
        .unwrap();
        assert!(route.parent_refs[0].is_server());
        let described: Vec<String> = route.rules[0]
            .matches
            .iter()
            .map(HttpRouteMatch::describe)
            .collect();
        assert_eq!(
            described,
            [
                "GET /api (prefix) header x-user=alice",
                "/healthz",
                "/v[0-9]+/.* (regex) query q~.*",
                "/ (prefix)",
            ]
        );
        let gateway_parent: ParentRef = serde_json::from_str(r#"{"name": "shared"}"#).unwrap();
        assert_eq!(
            (gateway_parent.group(), gateway_parent.kind()),
            (GATEWAY_API_GROUP, "Gateway")
        );
        assert!(!gateway_parent.is_server());
        let grpc: GrpcRouteMatch = serde_json::from_str(
            r#"{"method": {"service": "shop.Orders", "method": "Create"},
                "headers": [{"name": "tenant", "value": "a"}]}"#,
        )
        .unwrap();
        assert_eq!(grpc.describe(), "/shop.Orders/Create header tenant=a");
        assert_eq!(GrpcRouteMatch::default().describe(), "/*/*");
    }

    #[test]
    fn go_booleans() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Some(false));
        }
        for x in ["yes", "on", "tRuE", ""] {
            assert_eq!(parse_go_bool(x), None);
        }
    }
}
