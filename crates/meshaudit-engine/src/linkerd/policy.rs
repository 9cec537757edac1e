//! Linkerd's inbound authorization, decided as its policy controller and proxy decide it
//! (`docs/linkerd-semantics.md` §3; `policy-controller/k8s/index/src/inbound/index.rs` of
//! linkerd/linkerd2):
//!
//! - Each pod port is governed by one `Server` (the oldest, then the first by name, when several
//!   select it — Linkerd 2.18's order) or, without one, by the pod's default policy.
//! - A Server's authorizations are the `ServerAuthorization`s that select it, the
//!   `AuthorizationPolicy`s that target it or its namespace, and its `accessPolicy` when that is
//!   not `deny`. They combine by OR; nothing denies explicitly.
//! - An authorization admits a client when its source address is in its networks and its TLS
//!   state satisfies its authentication. An AuthorizationPolicy requires all its refs: no
//!   identity ref admits plaintext, no network ref admits every address; `[]` admits everyone.
//!   A ref to a missing (or invalid) authentication makes Linkerd ignore the whole policy.
//! - Routes (`HTTPRoute`, `GRPCRoute` whose parent is the Server) only add authorizations: a
//!   request on a route is admitted by the route's own policies or by any of the Server's. Once
//!   a Server has routes, requests that match none get a 404.
//!
//! [`LinkerdPolicy`] is built once per inventory; every answer carries its evidence.

mod addr;
mod decide;
mod identity;
mod references;

use std::collections::BTreeSet;

use meshaudit_model::k8s::Workload;
use meshaudit_model::linkerd::{
    AuthorizationPolicySpec, CidrList, DefaultInboundPolicy, MeshTlsAuthenticationSpec,
    NetworkAuthenticationSpec, ParentRef, ServerAuthorizationSpec, ServerPort,
    DEFAULT_CLUSTER_NETWORKS, GATEWAY_API_GROUP, POLICY_GROUP, PROXY_ADMIN_PORT,
    PROXY_INBOUND_PORT,
};
use meshaudit_model::{
    GrpcRouteId, HttpRouteId, Idx, Inventory, LinkerdAuthorizationPolicyId, LinkerdServerId,
    MeshTlsAuthenticationId, NetworkAuthenticationId, ObjectId, ServerAuthorizationId, ServiceId,
    Step, Typed, WorkloadId,
};

use crate::authorization::{Decision, PeerIdentity};
use crate::evidence::Because;
use crate::linkerd::membership::LinkerdMembership;
use crate::HashMap;

pub use addr::AddrSet;
pub use identity::{IdentityDomain, IdentityMatch, Names, Pattern};
pub use references::{NothingSelected, UnknownName, UnknownWhat};

/// Where a client without a mesh identity connects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientNetwork {
    /// A pod address inside `clusterNetworks`.
    ClusterPod,
    /// Any address outside `clusterNetworks`, e.g. through a LoadBalancer or a node.
    Outside,
}

impl ClientNetwork {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientNetwork::ClusterPod => "a pod address inside clusterNetworks",
            ClientNetwork::Outside => "an address outside clusterNetworks",
        }
    }
}

/// A client of a Linkerd server port.
#[derive(Debug, Clone, Copy)]
pub enum LinkerdClient<'c> {
    /// mTLS from a meshed client (a pod of the cluster): `peer` as in
    /// [`PeerIdentity`] (`Known{ns,sa}`, `Namespace{ns}`, `Other`).
    Meshed { peer: &'c PeerIdentity },
    /// No identity (unmeshed pod, skipped port, other mesh): where it connects from.
    Unauthenticated { from: ClientNetwork },
}

/// The default inbound policy in force for a pod, with its evidence: computed by
/// [`crate::linkerd::defaults`], taken as given here.
pub use crate::linkerd::defaults::DefaultPolicy;

/// What Linkerd decides for one client on one pod port.
#[derive(Debug, Clone)]
pub struct LinkerdDecision {
    /// Allowed, denied, or conditional (only on some routes, or from some addresses).
    pub decision: Decision,
    /// Allowed only because the policy is `audit` (nothing is enforced there).
    pub audit: bool,
    /// The resources that decided: the Server, the authorizations that admit the client (with
    /// their authentications), the routes.
    pub deciders: Vec<ObjectId>,
    pub because: Vec<Because>,
    /// For a conditional decision: what admits it (`HTTPRoute checkout/cart-api: /api (prefix)`).
    pub conditions: Vec<String>,
}

/// A three-valued answer: for clients of a whole class, some addresses may be admitted and
/// others not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admits {
    Yes,
    No,
    /// Only from some addresses of the client's network class.
    Some,
}

impl Admits {
    fn or(self, other: Admits) -> Admits {
        match (self, other) {
            (Admits::Yes, _) | (_, Admits::Yes) => Admits::Yes,
            (Admits::Some, _) | (_, Admits::Some) => Admits::Some,
            _ => Admits::No,
        }
    }
}

/// The resource an authorization comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthzSource {
    /// `inventory.linkerd.authorization_policies[i]`.
    Policy(LinkerdAuthorizationPolicyId),
    /// `inventory.linkerd.server_authorizations[i]`.
    ServerAuthorization(ServerAuthorizationId),
    /// A Server's `accessPolicy` other than `deny`.
    AccessPolicy {
        server: LinkerdServerId,
        policy: DefaultInboundPolicy,
    },
}

/// What a client's TLS must show.
#[derive(Debug, Clone)]
pub enum Authentication<'a> {
    /// Nothing: plaintext is admitted.
    Unauthenticated,
    /// Mesh TLS, whatever the identity (`ServerAuthorization` `unauthenticatedTLS: true`, and the
    /// `*-authenticated` access policies).
    AnyMeshTls,
    /// One of these identities.
    Identities(Vec<IdentityMatch<'a>>),
}

/// Which addresses an authorization admits, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworksOrigin {
    /// An AuthorizationPolicy without a NetworkAuthentication: every address.
    Unrestricted,
    /// `clusterNetworks`: a ServerAuthorization without networks, or a `cluster-*` access policy.
    ClusterNetworks,
    /// `inventory.linkerd.network_authentications[i]`.
    NetworkAuthentication(NetworkAuthenticationId),
    /// The ServerAuthorization's own `client.networks`.
    Written,
}

#[derive(Debug, Clone)]
pub struct Networks {
    pub addrs: AddrSet,
    pub origin: NetworksOrigin,
    /// The networks as written, for messages (`0.0.0.0/0, ::/0`).
    pub text: String,
}

/// One authorization of a Server or route: its source, what it requires, and the resources
/// behind it.
#[derive(Debug, Clone)]
pub struct Authorization<'a> {
    pub source: AuthzSource,
    pub authentication: Authentication<'a>,
    pub networks: Networks,
    /// The resource and the authentications it uses.
    pub objects: Vec<ObjectId>,
    /// What it admits, with where each part is written.
    pub because: Vec<Because>,
    /// `AuthorizationPolicy checkout/cart-from-web`.
    pub label: String,
}

impl Authorization<'_> {
    /// Admits clients without a mesh identity.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self.authentication, Authentication::Unauthenticated)
    }

    /// The identity part in words: `any client, plaintext included`, `any meshed client`,
    /// `ServiceAccount storefront/web, namespace `ops``.
    pub fn describe_authentication(&self) -> String {
        match &self.authentication {
            Authentication::Unauthenticated => "any client, plaintext included".to_owned(),
            Authentication::AnyMeshTls => "any meshed client".to_owned(),
            Authentication::Identities(ids) => {
                let list: Vec<String> = ids
                    .iter()
                    .map(|i| match i.names {
                        Names::ServiceAccount { namespace, name } => {
                            format!("ServiceAccount {namespace}/{name}")
                        }
                        Names::Namespace(ns) => format!("namespace `{ns}`"),
                        Names::WholeMesh => {
                            format!("every meshed workload (`{}`)", i.pattern.text())
                        }
                        Names::Foreign => format!("identity `{}`", i.pattern.text()),
                    })
                    .collect();
                list.join(", ")
            }
        }
    }
}

/// What the input says about a Server.
#[derive(Debug, Clone, Default)]
pub struct ServerFacts<'a> {
    /// Every (workload, port) its selector and port select, in workload order.
    pub selected: Vec<(WorkloadId, u16)>,
    /// Those it governs: the ones no older Server took first.
    pub governs: Vec<(WorkloadId, u16)>,
    /// (workload, port, the Server that governs it instead).
    pub shadowed: Vec<(WorkloadId, u16, LinkerdServerId)>,
    /// Its own authorizations (ServerAuthorizations, Server- and Namespace-targeted
    /// AuthorizationPolicies that Linkerd accepts, and the access policy), in input order.
    pub authorizations: Vec<Authorization<'a>>,
    /// Routes attached to it that apply to its protocol.
    pub routes: Vec<RouteId>,
    /// Routes attached to it that its protocol ignores (HTTPRoutes on an opaque, TLS or gRPC
    /// Server, GRPCRoutes on any other), or HTTPRoutes refused because a GRPCRoute is attached.
    pub unused_routes: Vec<(RouteId, &'static str)>,
}

/// Which route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteId {
    /// `inventory.linkerd.http_routes[i]`.
    Http(HttpRouteId),
    /// `inventory.linkerd.grpc_routes[i]`.
    Grpc(GrpcRouteId),
}

/// A route's `parentRefs` entry that names a Linkerd Server.
#[derive(Debug, Clone)]
pub struct RouteParent {
    /// Index in `parentRefs`.
    pub index: usize,
    pub name: String,
    /// The Server of that name in the route's namespace.
    pub server: Option<LinkerdServerId>,
}

/// What the input says about a route, for inbound policy.
#[derive(Debug, Clone, Default)]
pub struct RouteFacts<'a> {
    /// Its Server parents (other parents are outbound or ingress routing).
    pub parents: Vec<RouteParent>,
    /// A Server parent Linkerd refuses (another namespace, a `port`, a `sectionName`): the
    /// whole route is then ignored for inbound policy. (parentRefs index, why.)
    pub invalid_parent: Option<(usize, &'static str)>,
    /// The route-level AuthorizationPolicies Linkerd accepts.
    pub authorizations: Vec<Authorization<'a>>,
    /// What it matches, in a few words (`/api (prefix)`).
    pub matches: String,
}

/// The target of an AuthorizationPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTarget {
    Server {
        name: String,
        server: Option<LinkerdServerId>,
    },
    /// The policy's own namespace: every Server in it.
    Namespace { name: String },
    HttpRoute {
        name: String,
        route: Option<HttpRouteId>,
    },
    GrpcRoute {
        name: String,
        route: Option<GrpcRouteId>,
    },
    /// A kind Linkerd does not accept (the policy is refused).
    Unsupported,
}

/// One `requiredAuthenticationRefs` entry, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRef {
    MeshTls {
        namespace: String,
        name: String,
        resolved: Option<MeshTlsAuthenticationId>,
    },
    Network {
        namespace: String,
        name: String,
        resolved: Option<NetworkAuthenticationId>,
    },
    ServiceAccount {
        namespace: String,
        name: String,
    },
    Unsupported,
}

/// Why Linkerd ignores an AuthorizationPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyProblem {
    /// `requiredAuthenticationRefs` omitted: the CRD requires it.
    RefsOmitted,
    /// `targetRef` of a kind Linkerd does not accept.
    UnsupportedTarget,
    /// A Namespace target naming another namespace (admission refuses it).
    NamespaceElsewhere,
    /// `requiredAuthenticationRefs[index]` of a kind Linkerd does not accept.
    UnsupportedAuthentication {
        index: usize,
    },
    /// `requiredAuthenticationRefs[index]` names a MeshTLSAuthentication that does not exist.
    MissingMeshTls {
        index: usize,
    },
    /// ... one that exists but Linkerd refuses.
    InvalidMeshTls {
        index: usize,
        mesh_tls: MeshTlsAuthenticationId,
    },
    MissingNetwork {
        index: usize,
    },
    InvalidNetwork {
        index: usize,
        network: NetworkAuthenticationId,
    },
    /// More than one identity ref (MeshTLSAuthentication or ServiceAccount), or more than one
    /// NetworkAuthentication.
    TooMany {
        what: &'static str,
    },
}

impl PolicyProblem {
    /// The field it is about.
    pub fn path(&self) -> Vec<Step<'static>> {
        match self {
            PolicyProblem::RefsOmitted | PolicyProblem::TooMany { .. } => {
                vec![Step::Key("spec"), Step::Key("requiredAuthenticationRefs")]
            }
            PolicyProblem::UnsupportedTarget | PolicyProblem::NamespaceElsewhere => {
                vec![Step::Key("spec"), Step::Key("targetRef")]
            }
            PolicyProblem::UnsupportedAuthentication { index }
            | PolicyProblem::MissingMeshTls { index }
            | PolicyProblem::InvalidMeshTls { index, .. }
            | PolicyProblem::MissingNetwork { index }
            | PolicyProblem::InvalidNetwork { index, .. } => vec![
                Step::Key("spec"),
                Step::Key("requiredAuthenticationRefs"),
                Step::Index(*index),
            ],
        }
    }

    /// The authentication ref names something that does not exist.
    pub fn is_dangling(&self) -> bool {
        matches!(
            self,
            PolicyProblem::MissingMeshTls { .. } | PolicyProblem::MissingNetwork { .. }
        )
    }
}

/// What the input says about an AuthorizationPolicy.
#[derive(Debug, Clone)]
pub struct PolicyFacts<'a> {
    pub target: PolicyTarget,
    pub refs: Vec<AuthRef>,
    /// Non-empty: Linkerd ignores the policy.
    pub problems: Vec<PolicyProblem>,
    /// What it authorizes, when Linkerd accepts it.
    pub authorization: Option<Authorization<'a>>,
}

/// What the input says about a ServerAuthorization.
#[derive(Debug, Clone)]
pub struct ServerAuthorizationFacts<'a> {
    /// The Servers it selects (by name or by their labels), in input order.
    pub servers: Vec<LinkerdServerId>,
    /// Why Linkerd refuses it, if it does.
    pub problem: Option<&'static str>,
    pub authorization: Option<Authorization<'a>>,
}

/// What the input says about a MeshTLSAuthentication.
#[derive(Debug, Clone)]
pub struct MeshTlsFacts<'a> {
    pub identities: Vec<IdentityMatch<'a>>,
    /// Why Linkerd refuses it (then every policy using it is ignored).
    pub problem: Option<String>,
}

/// What the input says about a NetworkAuthentication.
#[derive(Debug, Clone)]
pub struct NetworkAuthFacts {
    pub addrs: AddrSet,
    pub problem: Option<&'static str>,
}

/// Identities and namespaces the authorizations of one port name one by one, so callers can
/// group clients: one group per (namespace, service account), one per namespace, and one for
/// everyone else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedClients<'a> {
    /// (namespace, service account), sorted, without repeats.
    pub identities: Vec<(&'a str, &'a str)>,
    /// Sorted, without repeats.
    pub namespaces: Vec<&'a str>,
}

/// Linkerd's authorization model of one inventory.
pub struct LinkerdPolicy<'a> {
    inv: &'a Inventory,
    /// Per workload (by its index): it runs Linkerd's proxy ([`crate::linkerd::membership`]).
    meshed: Vec<bool>,
    domain: IdentityDomain,
    cluster_networks: AddrSet,
    cluster_networks_text: String,
    /// The addresses a client without identity may have: a pod's are in `clusterNetworks`,
    /// others outside it — of IPv4 alone when `disableIPv6` (the default) keeps IPv6
    /// connections away from the proxy.
    pod_addresses: AddrSet,
    outside_addresses: AddrSet,
    ipv6: bool,
    /// Per Server (by its index).
    servers: Vec<ServerFacts<'a>>,
    port_server: HashMap<(WorkloadId, u16), LinkerdServerId>,
    /// Servers that select a pod port another Server governs, by that port.
    port_shadowed: HashMap<(WorkloadId, u16), Vec<LinkerdServerId>>,
    servers_by_namespace: HashMap<&'a str, Vec<LinkerdServerId>>,
    /// Lookups by (namespace, name), built once: policies name their authentications and
    /// routes, and Servers' ports are reached through their namespace's Services.
    mesh_tls_by_name: HashMap<(&'a str, &'a str), MeshTlsAuthenticationId>,
    network_auth_by_name: HashMap<(&'a str, &'a str), NetworkAuthenticationId>,
    http_routes_by_name: HashMap<(&'a str, &'a str), Vec<HttpRouteId>>,
    services_by_namespace: HashMap<&'a str, Vec<ServiceId>>,
    /// The Servers each route is attached to, in Server order.
    route_servers: HashMap<RouteId, Vec<LinkerdServerId>>,
    policies: Vec<PolicyFacts<'a>>,
    server_authorizations: Vec<ServerAuthorizationFacts<'a>>,
    mesh_tls: Vec<MeshTlsFacts<'a>>,
    network_auth: Vec<NetworkAuthFacts>,
    http_routes: Vec<RouteFacts<'a>>,
    grpc_routes: Vec<RouteFacts<'a>>,
}

fn path<'s>(keys: &[Step<'s>]) -> Vec<Step<'s>> {
    keys.to_vec()
}

/// The container ports a Server's `port` selects on one workload: a number as is (even if the
/// template does not declare it), a name as every TCP container port of that name — including
/// the proxy's own ports on templates the injector will complete.
fn select_ports(w: &Workload, meshed: bool, port: &ServerPort) -> Vec<u16> {
    match port {
        ServerPort::Number(n) => vec![*n],
        ServerPort::Name(name) => {
            let mut out: Vec<u16> = w
                .all_containers()
                .flat_map(|c| &c.ports)
                .filter(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().is_none_or(|x| x == "TCP")
                })
                .map(|p| p.container_port)
                .collect();
            if out.is_empty() && meshed {
                match name.as_str() {
                    "linkerd-proxy" => out.push(PROXY_INBOUND_PORT),
                    "linkerd-admin" => out.push(PROXY_ADMIN_PORT),
                    _ => {}
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

/// Linkerd's reading of a reference's `group`/`kind` for the kinds a policy may name.
fn ref_is(group: Option<&str>, kind: &str, want_group: &str, want_kind: &str) -> bool {
    let group_ok = if want_group.is_empty() {
        group.is_none_or(|g| g.is_empty() || g.eq_ignore_ascii_case("core"))
    } else {
        group.is_some_and(|g| g.eq_ignore_ascii_case(want_group))
    };
    group_ok && kind.eq_ignore_ascii_case(want_kind)
}

/// The matches of an HTTPRoute in a few words.
fn http_route_matches(spec: &meshaudit_model::linkerd::HttpRouteSpec) -> String {
    let mut parts: Vec<String> = Vec::new();
    for rule in &spec.rules {
        if rule.matches.is_empty() {
            parts.push("/ (prefix)".to_owned());
        }
        parts.extend(rule.matches.iter().map(|m| m.describe()));
    }
    if spec.rules.is_empty() {
        parts.push("/ (prefix)".to_owned());
    }
    parts.join(", ")
}

fn grpc_route_matches(spec: &meshaudit_model::linkerd::GrpcRouteSpec) -> String {
    let mut parts: Vec<String> = Vec::new();
    for rule in &spec.rules {
        if rule.matches.is_empty() {
            parts.push("/*/*".to_owned());
        }
        parts.extend(rule.matches.iter().map(|m| m.describe()));
    }
    if spec.rules.is_empty() {
        parts.push("/*/*".to_owned());
    }
    parts.join(", ")
}

impl<'a> LinkerdPolicy<'a> {
    /// The model of `inv`, deciding each workload's membership itself (see
    /// [`LinkerdPolicy::with_membership`] to reuse memberships already decided).
    pub fn new(inv: &'a Inventory) -> Self {
        let memberships = LinkerdMembership::of_all(inv, &crate::webhooks::hooks(inv));
        Self::with_membership(inv, &memberships)
    }

    /// The model of `inv`, given every workload's Linkerd membership (in inventory order; an
    /// empty slice when the input holds nothing of Linkerd).
    pub fn with_membership(inv: &'a Inventory, memberships: &[LinkerdMembership]) -> Self {
        let domain = IdentityDomain::new(
            inv.linkerd.control_plane_namespace(),
            inv.linkerd.trust_domain(),
        );
        let (cluster_networks, cluster_networks_text) = match &inv.linkerd.config {
            Some(c) => (
                AddrSet::from_cidrs(&c.cluster_networks.value.cidrs),
                c.cluster_networks.value.text.clone(),
            ),
            None => (
                AddrSet::from_cidrs(&CidrList::parse(DEFAULT_CLUSTER_NETWORKS).cidrs),
                DEFAULT_CLUSTER_NETWORKS.to_owned(),
            ),
        };
        let ipv6 = inv
            .linkerd
            .config
            .as_ref()
            .is_some_and(|c| !c.disable_ipv6.value);
        let (pod_addresses, outside_addresses) = if ipv6 {
            (cluster_networks.clone(), cluster_networks.complement())
        } else {
            (
                cluster_networks.ipv4_only(),
                cluster_networks.complement().ipv4_only(),
            )
        };
        let mut lp = LinkerdPolicy {
            inv,
            meshed: (0..inv.workloads.len())
                .map(|w| memberships.get(w).is_some_and(|m| m.meshed))
                .collect(),
            domain,
            cluster_networks,
            cluster_networks_text,
            pod_addresses,
            outside_addresses,
            ipv6,
            servers: Vec::new(),
            port_server: HashMap::default(),
            port_shadowed: HashMap::default(),
            servers_by_namespace: HashMap::default(),
            mesh_tls_by_name: HashMap::default(),
            network_auth_by_name: HashMap::default(),
            http_routes_by_name: HashMap::default(),
            services_by_namespace: HashMap::default(),
            route_servers: HashMap::default(),
            policies: Vec::new(),
            server_authorizations: Vec::new(),
            mesh_tls: Vec::new(),
            network_auth: Vec::new(),
            http_routes: Vec::new(),
            grpc_routes: Vec::new(),
        };
        lp.index_servers();
        lp.index_names();
        lp.mesh_tls = inv
            .linkerd
            .mesh_tls_authentications
            .iter()
            .map(|m| lp.read_mesh_tls(m))
            .collect();
        lp.network_auth = inv
            .linkerd
            .network_authentications
            .iter()
            .map(read_network_auth)
            .collect();
        lp.read_routes();
        for s in LinkerdServerId::all(&inv.linkerd.servers) {
            for &r in &lp.servers[s.index()].routes {
                lp.route_servers.entry(r).or_default().push(s);
            }
        }
        lp.policies = Idx::all(&inv.linkerd.authorization_policies)
            .map(|i| lp.read_policy(i))
            .collect();
        lp.server_authorizations = Idx::all(&inv.linkerd.server_authorizations)
            .map(|i| lp.read_server_authorization(i))
            .collect();
        lp.attach_authorizations();
        lp
    }

    pub fn inventory(&self) -> &'a Inventory {
        self.inv
    }

    /// Does workload `w` run Linkerd's proxy (already, or added by the injector)? As the
    /// membership facts decide it.
    pub fn gets_proxy(&self, w: WorkloadId) -> bool {
        self.meshed.get(w.index()).copied().unwrap_or(false)
    }

    /// The identity format of this mesh's control plane.
    pub fn domain(&self) -> &IdentityDomain {
        &self.domain
    }

    /// `clusterNetworks` (linkerd-config, else the chart's default), as a set and as written.
    pub fn cluster_networks(&self) -> (&AddrSet, &str) {
        (&self.cluster_networks, &self.cluster_networks_text)
    }

    /// Whether proxies handle IPv6 (`disableIPv6: false`). Otherwise clients are told apart
    /// by their IPv4 addresses alone: IPv6 connections never reach the proxy's policy.
    pub fn handles_ipv6(&self) -> bool {
        self.ipv6
    }

    // --- Servers ---------------------------------------------------------------------------

    fn index_servers(&mut self) {
        let inv = self.inv;
        let servers = &inv.linkerd.servers;
        self.servers = vec![ServerFacts::default(); servers.len()];
        for (i, s) in LinkerdServerId::enumerate(servers) {
            self.servers_by_namespace
                .entry(s.namespace.as_str())
                .or_default()
                .push(i);
        }
        for list in self.servers_by_namespace.values_mut() {
            // Linkerd 2.18 on: oldest first (no timestamp sorts first, as `None` does in the
            // controller), then by name. Earlier releases picked one at random.
            list.sort_by(|&a, &b| {
                let (a, b) = (&servers[a], &servers[b]);
                a.spec
                    .created
                    .cmp(&b.spec.created)
                    .then_with(|| a.name.cmp(&b.name))
            });
        }
        let mut namespaces: Vec<&str> = self.servers_by_namespace.keys().copied().collect();
        namespaces.sort_unstable();
        for ns in namespaces {
            let order = self.servers_by_namespace[ns].clone();
            for s in order {
                let server = &servers[s];
                let Some(selector) = &server.spec.pod_selector else {
                    continue;
                };
                for &w in inv.workload_indexes_in(ns) {
                    let workload = &inv.workloads[w];
                    if !selector.matches(&workload.labels) {
                        continue;
                    }
                    for port in select_ports(workload, self.gets_proxy(w), &server.spec.port) {
                        self.servers[s.index()].selected.push((w, port));
                        match self.port_server.get(&(w, port)) {
                            Some(&winner) => {
                                self.servers[s.index()].shadowed.push((w, port, winner));
                                self.port_shadowed.entry((w, port)).or_default().push(s);
                            }
                            None => {
                                self.port_server.insert((w, port), s);
                                self.servers[s.index()].governs.push((w, port));
                            }
                        }
                    }
                }
            }
        }
    }

    /// The Server that governs port `port` of workload `w`: of the Servers selecting it, the
    /// oldest (`metadata.creationTimestamp`), then the first by name — Linkerd 2.18's order;
    /// before 2.18 the controller picked one of them at random.
    pub fn server_for(&self, w: WorkloadId, port: u16) -> Option<LinkerdServerId> {
        self.port_server.get(&(w, port)).copied()
    }

    /// Workloads and ports a Server selects (podSelector against pod template labels; port by
    /// number, or every TCP container port of that name), including those another Server
    /// governs first (see [`ServerFacts::shadowed`]).
    pub fn selected_by(&self, server: LinkerdServerId) -> &[(WorkloadId, u16)] {
        &self.server(server).selected
    }

    /// The Servers that also select port `port` of workload `w` but lose it to
    /// [`server_for`](Self::server_for)'s, oldest first.
    pub fn shadowed_at(&self, w: WorkloadId, port: u16) -> &[LinkerdServerId] {
        self.port_shadowed
            .get(&(w, port))
            .map_or(&[], Vec::as_slice)
    }

    pub fn server(&self, server: LinkerdServerId) -> &ServerFacts<'a> {
        &self.servers[server.index()]
    }

    /// Servers of `namespace`, oldest first.
    pub fn servers_in(&self, namespace: &str) -> &[LinkerdServerId] {
        self.servers_by_namespace
            .get(namespace)
            .map_or(&[], Vec::as_slice)
    }

    /// `Deployment billing/ledger:9091, Deployment billing/ledger:4191`, at most `max` of them,
    /// then how many more.
    pub fn describe_ports(&self, ports: &[(WorkloadId, u16)], max: usize) -> String {
        let mut parts: Vec<String> = ports
            .iter()
            .take(max)
            .map(|&(w, p)| {
                let wl = &self.inv.workloads[w];
                format!("{} {}/{}:{p}", wl.kind, wl.namespace, wl.name)
            })
            .collect();
        if ports.len() > max {
            parts.push(format!("and {} more", ports.len() - max));
        }
        parts.join(", ")
    }

    /// The by-name lookups; the first of a name wins, as the scans they replace found it.
    fn index_names(&mut self) {
        let inv = self.inv;
        for (i, m) in Idx::enumerate(&inv.linkerd.mesh_tls_authentications) {
            self.mesh_tls_by_name
                .entry((m.namespace.as_str(), m.name.as_str()))
                .or_insert(i);
        }
        for (i, m) in Idx::enumerate(&inv.linkerd.network_authentications) {
            self.network_auth_by_name
                .entry((m.namespace.as_str(), m.name.as_str()))
                .or_insert(i);
        }
        for (i, r) in Idx::enumerate(&inv.linkerd.http_routes) {
            self.http_routes_by_name
                .entry((r.namespace.as_str(), r.name.as_str()))
                .or_default()
                .push(i);
        }
        for (i, svc) in ServiceId::enumerate(&inv.services) {
            self.services_by_namespace
                .entry(svc.namespace.as_str())
                .or_default()
                .push(i);
        }
    }

    /// The Service ports that route to port `port` of workload `w`: (the Service, index into
    /// its `spec.ports`). A Service of the workload's namespace whose selector selects its pods,
    /// with a target port that resolves to `port`.
    pub fn services_to(&self, w: WorkloadId, port: u16) -> Vec<(ServiceId, usize)> {
        let inv = self.inv;
        let wl = &inv.workloads[w];
        let mut out = Vec::new();
        let services = self
            .services_by_namespace
            .get(wl.namespace.as_str())
            .map_or(&[][..], Vec::as_slice);
        for &si in services {
            let svc = &inv.services[si];
            let Some(selector) = svc.spec.selector.as_ref().filter(|s| !s.is_empty()) else {
                continue;
            };
            if !meshaudit_model::selector::map_selects(selector, &wl.labels) {
                continue;
            }
            for (pi, p) in svc.spec.ports.iter().enumerate() {
                let target = if p.resolved_target_ports.is_empty() {
                    p.target_port.as_ref().map_or(Some(p.port), |t| t.as_port()) == Some(port)
                } else {
                    p.resolved_target_ports.contains(&port)
                };
                if target {
                    out.push((si, pi));
                }
            }
        }
        out
    }

    /// The Server of that name in `namespace`.
    pub fn server_named(&self, namespace: &str, name: &str) -> Option<LinkerdServerId> {
        self.servers_in(namespace)
            .iter()
            .copied()
            .find(|&s| self.inv.linkerd.servers[s].name == name)
    }

    // --- authentications -------------------------------------------------------------------

    fn read_mesh_tls(&self, m: &'a Typed<MeshTlsAuthenticationSpec>) -> MeshTlsFacts<'a> {
        let mut identities = Vec::new();
        let mut problem = None;
        for (i, text) in m.spec.identities.iter().flatten().enumerate() {
            identities.push(IdentityMatch {
                pattern: Pattern::parse(text),
                names: self.domain.names_of(text),
                from_ref: None,
                because: Because::at(
                    m.object,
                    &path(&["spec".into(), "identities".into(), i.into()]),
                    format!("identity `{text}`"),
                ),
            });
        }
        for (i, r) in m.spec.identity_refs.iter().flatten().enumerate() {
            let field = path(&["spec".into(), "identityRefs".into(), i.into()]);
            let Some(name) = r.name.as_deref() else {
                problem.get_or_insert_with(|| {
                    format!("identityRefs[{i}] has no name, which Linkerd's controller cannot read: it skips the whole MeshTLSAuthentication")
                });
                continue;
            };
            if ref_is(r.group.as_deref(), &r.kind, "", "ServiceAccount") {
                let namespace = r.namespace.as_deref().unwrap_or(&m.namespace);
                identities.push(IdentityMatch {
                    pattern: Pattern::Exact(self.domain.service_account(namespace, name)),
                    names: Names::ServiceAccount { namespace, name },
                    from_ref: Some("ServiceAccount"),
                    because: Because::at(
                        m.object,
                        &field,
                        format!("ServiceAccount {namespace}/{name}"),
                    ),
                });
            } else if ref_is(r.group.as_deref(), &r.kind, "", "Namespace") {
                let suffix = self.domain.namespace_suffix(name);
                // Linkerd builds `*.<name>.serviceaccount...`; a `*` name stays a literal.
                let names = if name.contains('*') || name.contains('.') {
                    Names::Foreign
                } else {
                    Names::Namespace(name)
                };
                identities.push(IdentityMatch {
                    pattern: Pattern::Suffix(suffix),
                    names,
                    from_ref: Some("Namespace"),
                    because: Because::at(
                        m.object,
                        &field,
                        format!("every service account of namespace `{name}`"),
                    ),
                });
            } else {
                problem.get_or_insert_with(|| {
                    format!("identityRefs[{i}] is a {}, not a ServiceAccount or Namespace: Linkerd skips the whole MeshTLSAuthentication", r.kind)
                });
            }
        }
        if identities.is_empty() && problem.is_none() {
            problem = Some(
                "it names no identity: Linkerd skips a MeshTLSAuthentication without identities"
                    .to_owned(),
            );
        }
        MeshTlsFacts {
            identities,
            problem,
        }
    }

    pub fn mesh_tls(&self, id: MeshTlsAuthenticationId) -> &MeshTlsFacts<'a> {
        &self.mesh_tls[id.index()]
    }

    pub fn network_authentication(&self, id: NetworkAuthenticationId) -> &NetworkAuthFacts {
        &self.network_auth[id.index()]
    }

    fn find_mesh_tls(&self, namespace: &str, name: &str) -> Option<MeshTlsAuthenticationId> {
        self.mesh_tls_by_name.get(&(namespace, name)).copied()
    }

    fn find_network_auth(&self, namespace: &str, name: &str) -> Option<NetworkAuthenticationId> {
        self.network_auth_by_name.get(&(namespace, name)).copied()
    }

    // --- routes ----------------------------------------------------------------------------

    fn read_parents(&self, namespace: &str, parents: &[ParentRef]) -> RouteFacts<'a> {
        let mut facts = RouteFacts::default();
        for (i, p) in parents.iter().enumerate() {
            if !(p.group() == POLICY_GROUP && p.kind() == "Server") || p.name.is_empty() {
                continue;
            }
            let why = if p.namespace.as_deref().is_some_and(|n| n != namespace) {
                Some("it names a Server of another namespace")
            } else if p.port.is_some() {
                Some("it sets `port`, which a Server parent must not")
            } else if p.section_name.is_some() {
                Some("it sets `sectionName`, which a Server parent must not")
            } else {
                None
            };
            if let Some(why) = why {
                facts.invalid_parent.get_or_insert((i, why));
                continue;
            }
            facts.parents.push(RouteParent {
                index: i,
                name: p.name.clone(),
                server: self.server_named(namespace, &p.name),
            });
        }
        facts
    }

    fn read_routes(&mut self) {
        let inv = self.inv;
        self.http_routes = inv
            .linkerd
            .http_routes
            .iter()
            .map(|r| {
                let mut f = self.read_parents(&r.namespace, &r.spec.parent_refs);
                f.matches = http_route_matches(&r.spec);
                f
            })
            .collect();
        self.grpc_routes = inv
            .linkerd
            .grpc_routes
            .iter()
            .map(|r| {
                let mut f = self.read_parents(&r.namespace, &r.spec.parent_refs);
                f.matches = grpc_route_matches(&r.spec);
                f
            })
            .collect();
        // Attach accepted routes to their Servers. A Server with a GRPCRoute refuses its
        // HTTPRoutes (the status controller marks them conflicted).
        let mut grpc_servers: BTreeSet<LinkerdServerId> = BTreeSet::new();
        for f in &self.grpc_routes {
            if f.invalid_parent.is_none() {
                grpc_servers.extend(f.parents.iter().filter_map(|p| p.server));
            }
        }
        for (i, f) in self.http_routes.iter().enumerate() {
            let i = HttpRouteId::new(i);
            if f.invalid_parent.is_some() {
                continue;
            }
            for s in f.parents.iter().filter_map(|p| p.server) {
                let protocol = inv.linkerd.servers[s].spec.proxy_protocol;
                let facts = &mut self.servers[s.index()];
                if grpc_servers.contains(&s) {
                    facts.unused_routes.push((
                        RouteId::Http(i),
                        "a GRPCRoute is attached to the same Server, so Linkerd marks this HTTPRoute conflicted",
                    ));
                } else if protocol.uses_http_routes() {
                    facts.routes.push(RouteId::Http(i));
                } else {
                    facts.unused_routes.push((
                        RouteId::Http(i),
                        "the Server's proxyProtocol does not use HTTPRoutes",
                    ));
                }
            }
        }
        for (i, f) in self.grpc_routes.iter().enumerate() {
            let i = GrpcRouteId::new(i);
            if f.invalid_parent.is_some() {
                continue;
            }
            for s in f.parents.iter().filter_map(|p| p.server) {
                let protocol = inv.linkerd.servers[s].spec.proxy_protocol;
                let facts = &mut self.servers[s.index()];
                if protocol.uses_grpc_routes() {
                    facts.routes.push(RouteId::Grpc(i));
                } else {
                    facts.unused_routes.push((
                        RouteId::Grpc(i),
                        "only a Server with proxyProtocol gRPC uses GRPCRoutes",
                    ));
                }
            }
        }
        for s in &mut self.servers {
            s.routes.sort_unstable();
            s.routes.dedup();
        }
    }

    pub fn http_route(&self, id: HttpRouteId) -> &RouteFacts<'a> {
        &self.http_routes[id.index()]
    }

    pub fn grpc_route(&self, id: GrpcRouteId) -> &RouteFacts<'a> {
        &self.grpc_routes[id.index()]
    }

    pub fn route(&self, id: RouteId) -> &RouteFacts<'a> {
        match id {
            RouteId::Http(i) => self.http_route(i),
            RouteId::Grpc(i) => self.grpc_route(i),
        }
    }

    /// The route's object.
    pub fn route_object(&self, id: RouteId) -> ObjectId {
        match id {
            RouteId::Http(i) => self.inv.linkerd.http_routes[i].object,
            RouteId::Grpc(i) => self.inv.linkerd.grpc_routes[i].object,
        }
    }

    /// `HTTPRoute checkout/cart-api`.
    pub fn route_label(&self, id: RouteId) -> String {
        let (kind, ns, name) = match id {
            RouteId::Http(i) => {
                let r = &self.inv.linkerd.http_routes[i];
                ("HTTPRoute", &r.namespace, &r.name)
            }
            RouteId::Grpc(i) => {
                let r = &self.inv.linkerd.grpc_routes[i];
                ("GRPCRoute", &r.namespace, &r.name)
            }
        };
        format!("{kind} {ns}/{name}")
    }

    /// The Servers a route is attached to and used by.
    pub fn route_servers(&self, id: RouteId) -> Vec<LinkerdServerId> {
        self.route_servers.get(&id).cloned().unwrap_or_default()
    }

    fn find_http_route(&self, namespace: &str, group: &str, name: &str) -> Option<HttpRouteId> {
        self.http_routes_by_name
            .get(&(namespace, name))?
            .iter()
            .copied()
            .find(|&r| {
                self.inv.linkerd.http_routes[r]
                    .spec
                    .api_group
                    .as_str()
                    .eq_ignore_ascii_case(group)
            })
    }

    fn find_grpc_route(&self, namespace: &str, name: &str) -> Option<GrpcRouteId> {
        Idx::enumerate(&self.inv.linkerd.grpc_routes)
            .find(|(_, r)| r.namespace == namespace && r.name == name)
            .map(|(i, _)| i)
    }

    // --- AuthorizationPolicy ---------------------------------------------------------------

    fn read_policy(&self, index: LinkerdAuthorizationPolicyId) -> PolicyFacts<'a> {
        let p: &'a Typed<AuthorizationPolicySpec> = &self.inv.linkerd.authorization_policies[index];
        let t = &p.spec.target_ref;
        let group = t.group.as_deref();
        let mut problems = Vec::new();
        let target = if ref_is(group, &t.kind, POLICY_GROUP, "Server") {
            PolicyTarget::Server {
                name: t.name.clone(),
                server: self.server_named(&p.namespace, &t.name),
            }
        } else if ref_is(group, &t.kind, "", "Namespace") {
            if t.name != p.namespace {
                problems.push(PolicyProblem::NamespaceElsewhere);
            }
            PolicyTarget::Namespace {
                name: t.name.clone(),
            }
        } else if ref_is(group, &t.kind, POLICY_GROUP, "HTTPRoute")
            || ref_is(group, &t.kind, GATEWAY_API_GROUP, "HTTPRoute")
        {
            PolicyTarget::HttpRoute {
                name: t.name.clone(),
                route: self.find_http_route(&p.namespace, group.unwrap_or_default(), &t.name),
            }
        } else if ref_is(group, &t.kind, GATEWAY_API_GROUP, "GRPCRoute") {
            PolicyTarget::GrpcRoute {
                name: t.name.clone(),
                route: self.find_grpc_route(&p.namespace, &t.name),
            }
        } else {
            problems.push(PolicyProblem::UnsupportedTarget);
            PolicyTarget::Unsupported
        };
        let mut refs = Vec::new();
        let Some(written) = p.spec.required_authentication_refs.as_ref() else {
            problems.push(PolicyProblem::RefsOmitted);
            return PolicyFacts {
                target,
                refs,
                problems,
                authorization: None,
            };
        };
        let mut identity_refs = 0;
        let mut network_refs = 0;
        for (i, r) in written.iter().enumerate() {
            let namespace = r.namespace.clone().unwrap_or_else(|| p.namespace.clone());
            let g = r.group.as_deref();
            if ref_is(g, &r.kind, POLICY_GROUP, "MeshTLSAuthentication") {
                identity_refs += 1;
                let resolved = self.find_mesh_tls(&namespace, &r.name);
                match resolved {
                    None => problems.push(PolicyProblem::MissingMeshTls { index: i }),
                    Some(m) if self.mesh_tls(m).problem.is_some() => {
                        problems.push(PolicyProblem::InvalidMeshTls {
                            index: i,
                            mesh_tls: m,
                        })
                    }
                    Some(_) => {}
                }
                refs.push(AuthRef::MeshTls {
                    namespace,
                    name: r.name.clone(),
                    resolved,
                });
            } else if ref_is(g, &r.kind, POLICY_GROUP, "NetworkAuthentication") {
                network_refs += 1;
                let resolved = self.find_network_auth(&namespace, &r.name);
                match resolved {
                    None => problems.push(PolicyProblem::MissingNetwork { index: i }),
                    Some(n) if self.network_authentication(n).problem.is_some() => {
                        problems.push(PolicyProblem::InvalidNetwork {
                            index: i,
                            network: n,
                        })
                    }
                    Some(_) => {}
                }
                refs.push(AuthRef::Network {
                    namespace,
                    name: r.name.clone(),
                    resolved,
                });
            } else if ref_is(g, &r.kind, "", "ServiceAccount") {
                identity_refs += 1;
                refs.push(AuthRef::ServiceAccount {
                    namespace,
                    name: r.name.clone(),
                });
            } else {
                problems.push(PolicyProblem::UnsupportedAuthentication { index: i });
                refs.push(AuthRef::Unsupported);
            }
        }
        if identity_refs > 1 {
            problems.push(PolicyProblem::TooMany {
                what: "identity (MeshTLSAuthentication or ServiceAccount)",
            });
        }
        if network_refs > 1 {
            problems.push(PolicyProblem::TooMany {
                what: "NetworkAuthentication",
            });
        }
        let authorization = problems
            .is_empty()
            .then(|| self.policy_authorization(index, written, &refs));
        PolicyFacts {
            target,
            refs,
            problems,
            authorization,
        }
    }

    /// The authorization of a policy Linkerd accepts.
    fn policy_authorization(
        &self,
        index: LinkerdAuthorizationPolicyId,
        written: &'a [meshaudit_model::linkerd::ResourceRef],
        refs: &[AuthRef],
    ) -> Authorization<'a> {
        let inv = self.inv;
        let p = &inv.linkerd.authorization_policies[index];
        let label = format!("AuthorizationPolicy {}/{}", p.namespace, p.name);
        let mut objects = vec![p.object];
        let mut because = Vec::new();
        let refs_field = |i: usize| -> Vec<Step<'static>> {
            vec![
                Step::Key("spec"),
                Step::Key("requiredAuthenticationRefs"),
                Step::Index(i),
            ]
        };
        let mut authentication = Authentication::Unauthenticated;
        let mut networks = Networks {
            addrs: AddrSet::everything(),
            origin: NetworksOrigin::Unrestricted,
            text: "0.0.0.0/0, ::/0".to_owned(),
        };
        for (i, r) in refs.iter().enumerate() {
            match r {
                AuthRef::MeshTls {
                    resolved: Some(m),
                    namespace,
                    name,
                } => {
                    let mtls = &inv.linkerd.mesh_tls_authentications[*m];
                    objects.push(mtls.object);
                    because.push(Because::at(
                        p.object,
                        &refs_field(i),
                        format!("requires MeshTLSAuthentication {namespace}/{name}"),
                    ));
                    because.extend(
                        self.mesh_tls(*m)
                            .identities
                            .iter()
                            .map(|id| id.because.clone()),
                    );
                    authentication =
                        Authentication::Identities(self.mesh_tls(*m).identities.clone());
                }
                AuthRef::ServiceAccount { .. } => {
                    // The names are borrowed from the policy itself, so they live as long as
                    // the inventory.
                    let ns = written[i]
                        .namespace
                        .as_deref()
                        .unwrap_or(p.namespace.as_str());
                    let sa = written[i].name.as_str();
                    let b = Because::at(
                        p.object,
                        &refs_field(i),
                        format!("requires the identity of ServiceAccount {ns}/{sa}"),
                    );
                    because.push(b.clone());
                    authentication = Authentication::Identities(vec![IdentityMatch {
                        pattern: Pattern::Exact(self.domain.service_account(ns, sa)),
                        names: Names::ServiceAccount {
                            namespace: ns,
                            name: sa,
                        },
                        from_ref: Some("ServiceAccount"),
                        because: b,
                    }]);
                }
                AuthRef::Network {
                    resolved: Some(n),
                    namespace,
                    name,
                } => {
                    let na = &inv.linkerd.network_authentications[*n];
                    objects.push(na.object);
                    because.push(Because::at(
                        p.object,
                        &refs_field(i),
                        format!("requires NetworkAuthentication {namespace}/{name}"),
                    ));
                    let text = networks_text(&na.spec.networks);
                    because.push(Because::at(
                        na.object,
                        &[Step::Key("spec"), Step::Key("networks")],
                        format!("networks {text}"),
                    ));
                    networks = Networks {
                        addrs: self.network_authentication(*n).addrs.clone(),
                        origin: NetworksOrigin::NetworkAuthentication(*n),
                        text,
                    };
                }
                _ => {}
            }
        }
        if refs.is_empty() {
            because.push(Because::at(
                p.object,
                &[Step::Key("spec"), Step::Key("requiredAuthenticationRefs")],
                "requiredAuthenticationRefs is empty: no identity and no network is required",
            ));
        } else {
            if matches!(authentication, Authentication::Unauthenticated) {
                because.push(Because::at(
                    p.object,
                    &[Step::Key("spec"), Step::Key("requiredAuthenticationRefs")],
                    "no MeshTLSAuthentication or ServiceAccount is required, so clients without a mesh identity (plaintext) are admitted",
                ));
            }
            if networks.origin == NetworksOrigin::Unrestricted {
                because.push(Because::at(
                    p.object,
                    &[Step::Key("spec"), Step::Key("requiredAuthenticationRefs")],
                    "no NetworkAuthentication is required, so every source address is admitted",
                ));
            }
        }
        Authorization {
            source: AuthzSource::Policy(index),
            authentication,
            networks,
            objects,
            because,
            label,
        }
    }

    pub fn policy(&self, index: LinkerdAuthorizationPolicyId) -> &PolicyFacts<'a> {
        &self.policies[index.index()]
    }

    /// Why Linkerd ignores policy `index`, in words, for one of its problems.
    pub fn problem_text(
        &self,
        index: LinkerdAuthorizationPolicyId,
        problem: &PolicyProblem,
    ) -> String {
        let p = &self.inv.linkerd.authorization_policies[index];
        let refs = p
            .spec
            .required_authentication_refs
            .as_deref()
            .unwrap_or_default();
        let named = |i: usize| {
            refs.get(i).map_or_else(String::new, |r| {
                format!(
                    "{}/{}",
                    r.namespace.as_deref().unwrap_or(&p.namespace),
                    r.name
                )
            })
        };
        match problem {
            PolicyProblem::RefsOmitted => "requiredAuthenticationRefs is missing, which the CRD requires (`[]` requires nothing): the API server rejects the policy".to_owned(),
            PolicyProblem::UnsupportedTarget => {
                let t = &p.spec.target_ref;
                let written = match t.group.as_deref().filter(|g| !g.is_empty()) {
                    Some(g) => format!("`{g}/{}`", t.kind),
                    None => format!("`{}` without a group (read as the core group)", t.kind),
                };
                format!(
                    "targetRef {written} is not a kind Linkerd accepts (Server and HTTPRoute of group policy.linkerd.io, HTTPRoute and GRPCRoute of gateway.networking.k8s.io, or the policy's own Namespace)"
                )
            }
            PolicyProblem::NamespaceElsewhere => format!(
                "targetRef names Namespace `{}`, not the policy's own namespace `{}`: Linkerd's admission refuses it",
                p.spec.target_ref.name, p.namespace
            ),
            PolicyProblem::UnsupportedAuthentication { index: i } => format!(
                "requiredAuthenticationRefs[{i}] is a {}, not a MeshTLSAuthentication, NetworkAuthentication or ServiceAccount",
                refs.get(*i).map_or("", |r| r.kind.as_str())
            ),
            PolicyProblem::MissingMeshTls { index: i } => format!(
                "requiredAuthenticationRefs[{i}] names MeshTLSAuthentication {}, which does not exist",
                named(*i)
            ),
            PolicyProblem::InvalidMeshTls { index: i, mesh_tls } => format!(
                "requiredAuthenticationRefs[{i}] names MeshTLSAuthentication {}, which Linkerd refuses: {}",
                named(*i),
                self.mesh_tls(*mesh_tls).problem.as_deref().unwrap_or_default()
            ),
            PolicyProblem::MissingNetwork { index: i } => format!(
                "requiredAuthenticationRefs[{i}] names NetworkAuthentication {}, which does not exist",
                named(*i)
            ),
            PolicyProblem::InvalidNetwork { index: i, network } => format!(
                "requiredAuthenticationRefs[{i}] names NetworkAuthentication {}, which Linkerd refuses: {}",
                named(*i),
                self.network_authentication(*network).problem.unwrap_or_default()
            ),
            PolicyProblem::TooMany { what } => {
                format!("it requires more than one {what}; Linkerd accepts one")
            }
        }
    }

    /// Does authorization `wide` admit every client `narrow` admits (from every address
    /// `narrow` admits)?
    pub fn includes(&self, wide: &Authorization<'_>, narrow: &Authorization<'_>) -> bool {
        if !wide.networks.addrs.covers(&narrow.networks.addrs) {
            return false;
        }
        match (&wide.authentication, &narrow.authentication) {
            (Authentication::Unauthenticated, _) => true,
            (_, Authentication::Unauthenticated) => false,
            (Authentication::AnyMeshTls, _) => true,
            (_, Authentication::AnyMeshTls) => false,
            (Authentication::Identities(w), Authentication::Identities(n)) => n
                .iter()
                .all(|a| w.iter().any(|b| b.pattern.includes(&a.pattern))),
        }
    }

    // --- ServerAuthorization ---------------------------------------------------------------

    fn read_server_authorization(
        &self,
        index: ServerAuthorizationId,
    ) -> ServerAuthorizationFacts<'a> {
        let inv = self.inv;
        let saz: &'a Typed<ServerAuthorizationSpec> = &inv.linkerd.server_authorizations[index];
        let servers: Vec<LinkerdServerId> = match (&saz.spec.server.name, &saz.spec.server.selector)
        {
            (Some(name), _) => self
                .server_named(&saz.namespace, name)
                .into_iter()
                .collect(),
            (None, selector) => {
                let mut list: Vec<LinkerdServerId> = self
                    .servers_in(&saz.namespace)
                    .iter()
                    .copied()
                    .filter(|&s| {
                        selector
                            .as_ref()
                            .is_none_or(|sel| sel.matches(&inv.linkerd.servers[s].spec.labels))
                    })
                    .collect();
                list.sort_unstable();
                list
            }
        };
        let client = &saz.spec.client;
        let label = format!("ServerAuthorization {}/{}", saz.namespace, saz.name);
        let client_field =
            |key: &'static str| vec![Step::Key("spec"), Step::Key("client"), Step::Key(key)];
        let mut because = Vec::new();
        let authentication = if client.unauthenticated {
            because.push(Because::at(
                saz.object,
                &client_field("unauthenticated"),
                "unauthenticated: true admits clients without a mesh identity (plaintext)",
            ));
            Authentication::Unauthenticated
        } else if let Some(mtls) = &client.mesh_tls {
            if mtls.unauthenticated_tls {
                because.push(Because::at(
                    saz.object,
                    &[
                        Step::Key("spec"),
                        Step::Key("client"),
                        Step::Key("meshTLS"),
                        Step::Key("unauthenticatedTLS"),
                    ],
                    "unauthenticatedTLS: true admits any meshed client, whatever its identity",
                ));
                Authentication::AnyMeshTls
            } else {
                let mut ids = Vec::new();
                for (i, text) in mtls.identities.iter().flatten().enumerate() {
                    ids.push(IdentityMatch {
                        pattern: Pattern::parse(text),
                        names: self.domain.names_of(text),
                        from_ref: None,
                        because: Because::at(
                            saz.object,
                            &[
                                Step::Key("spec"),
                                Step::Key("client"),
                                Step::Key("meshTLS"),
                                Step::Key("identities"),
                                Step::Index(i),
                            ],
                            format!("identity `{text}`"),
                        ),
                    });
                }
                for (i, sa) in mtls.service_accounts.iter().flatten().enumerate() {
                    let ns = sa.namespace.as_deref().unwrap_or(saz.namespace.as_str());
                    ids.push(IdentityMatch {
                        pattern: Pattern::Exact(self.domain.service_account(ns, &sa.name)),
                        names: Names::ServiceAccount {
                            namespace: ns,
                            name: sa.name.as_str(),
                        },
                        from_ref: Some("ServiceAccount"),
                        because: Because::at(
                            saz.object,
                            &[
                                Step::Key("spec"),
                                Step::Key("client"),
                                Step::Key("meshTLS"),
                                Step::Key("serviceAccounts"),
                                Step::Index(i),
                            ],
                            format!("ServiceAccount {ns}/{}", sa.name),
                        ),
                    });
                }
                if ids.is_empty() {
                    return ServerAuthorizationFacts {
                        servers,
                        problem: Some("client.meshTLS names no identity, service account or unauthenticatedTLS: Linkerd skips this ServerAuthorization"),
                        authorization: None,
                    };
                }
                because.extend(ids.iter().map(|i| i.because.clone()));
                Authentication::Identities(ids)
            }
        } else {
            return ServerAuthorizationFacts {
                servers,
                problem: Some("client sets neither unauthenticated nor meshTLS: Linkerd skips this ServerAuthorization"),
                authorization: None,
            };
        };
        let written: Vec<_> = client.networks.iter().flatten().collect();
        let networks = if written.is_empty() {
            because.push(Because::at(
                saz.object,
                &[Step::Key("spec"), Step::Key("client")],
                format!(
                    "client.networks is not set, so Linkerd admits clusterNetworks ({})",
                    self.cluster_networks_text
                ),
            ));
            Networks {
                addrs: self.cluster_networks.clone(),
                origin: NetworksOrigin::ClusterNetworks,
                text: self.cluster_networks_text.clone(),
            }
        } else {
            let text = networks_text(client.networks.as_deref().unwrap_or_default());
            because.push(Because::at(
                saz.object,
                &client_field("networks"),
                format!("networks {text}"),
            ));
            Networks {
                addrs: AddrSet::from_networks(written.iter().copied()),
                origin: NetworksOrigin::Written,
                text,
            }
        };
        ServerAuthorizationFacts {
            servers,
            problem: None,
            authorization: Some(Authorization {
                source: AuthzSource::ServerAuthorization(index),
                authentication,
                networks,
                objects: vec![saz.object],
                because,
                label,
            }),
        }
    }

    pub fn server_authorization(
        &self,
        index: ServerAuthorizationId,
    ) -> &ServerAuthorizationFacts<'a> {
        &self.server_authorizations[index.index()]
    }

    // --- putting it together ---------------------------------------------------------------

    /// The authorization a Server's `accessPolicy` (other than `deny`) adds.
    fn access_policy_authorization(&self, s: LinkerdServerId) -> Option<Authorization<'a>> {
        let server = &self.inv.linkerd.servers[s];
        let policy = server.spec.access_policy?;
        if policy == DefaultInboundPolicy::Deny {
            return None;
        }
        let field = [Step::Key("spec"), Step::Key("accessPolicy")];
        let (authentication, networks) = self.default_policy_parts(policy);
        Some(Authorization {
            source: AuthzSource::AccessPolicy { server: s, policy },
            authentication,
            networks,
            objects: vec![server.object],
            because: vec![Because::at(
                server.object,
                &field,
                format!("accessPolicy {policy} admits {}", describe_default(policy)),
            )],
            label: format!(
                "Server {}/{} accessPolicy {policy}",
                server.namespace, server.name
            ),
        })
    }

    /// What a default policy (or access policy) requires, as an authorization.
    fn default_policy_parts(&self, policy: DefaultInboundPolicy) -> (Authentication<'a>, Networks) {
        let authentication = if policy.admits_unauthenticated() {
            Authentication::Unauthenticated
        } else {
            Authentication::AnyMeshTls
        };
        let networks = if policy.cluster_networks_only() {
            Networks {
                addrs: self.cluster_networks.clone(),
                origin: NetworksOrigin::ClusterNetworks,
                text: self.cluster_networks_text.clone(),
            }
        } else {
            Networks {
                addrs: AddrSet::everything(),
                origin: NetworksOrigin::Unrestricted,
                text: "0.0.0.0/0, ::/0".to_owned(),
            }
        };
        (authentication, networks)
    }

    fn attach_authorizations(&mut self) {
        let inv = self.inv;
        // Each Server's list: its ServerAuthorizations, then the AuthorizationPolicies of its
        // namespace that target it or the namespace (in input order), then its accessPolicy.
        // Built in one pass over each kind, not one pass per Server.
        let mut lists: Vec<Vec<Authorization<'a>>> = vec![Vec::new(); self.servers.len()];
        for f in &self.server_authorizations {
            if let Some(a) = &f.authorization {
                for &s in &f.servers {
                    lists[s.index()].push(a.clone());
                }
            }
        }
        for (f, p) in self
            .policies
            .iter()
            .zip(&inv.linkerd.authorization_policies)
        {
            let Some(a) = &f.authorization else { continue };
            match &f.target {
                PolicyTarget::Server {
                    server: Some(t), ..
                } if inv.linkerd.servers[*t].namespace == p.namespace => {
                    lists[t.index()].push(a.clone());
                }
                PolicyTarget::Namespace { .. } => {
                    for &s in self.servers_in(&p.namespace) {
                        lists[s.index()].push(a.clone());
                    }
                }
                _ => {}
            }
        }
        for (s, mut list) in LinkerdServerId::all(&inv.linkerd.servers).zip(lists) {
            if let Some(a) = self.access_policy_authorization(s) {
                list.push(a);
            }
            self.servers[s.index()].authorizations = list;
        }
        for f in &self.policies {
            let Some(a) = &f.authorization else { continue };
            match f.target {
                PolicyTarget::HttpRoute { route: Some(r), .. } => {
                    self.http_routes[r.index()].authorizations.push(a.clone());
                }
                PolicyTarget::GrpcRoute { route: Some(r), .. } => {
                    self.grpc_routes[r.index()].authorizations.push(a.clone());
                }
                _ => {}
            }
        }
    }

    /// The pod ports an AuthorizationPolicy applies to: those its Server governs, every port
    /// its namespace's Servers govern, or those of the Servers its route is attached to. Empty
    /// when Linkerd ignores the policy.
    pub fn policy_governs(&self, index: LinkerdAuthorizationPolicyId) -> Vec<(WorkloadId, u16)> {
        let f = self.policy(index);
        if !f.problems.is_empty() {
            return Vec::new();
        }
        let servers: Vec<LinkerdServerId> = match &f.target {
            PolicyTarget::Server {
                server: Some(s), ..
            } => vec![*s],
            PolicyTarget::Namespace { .. } => self
                .servers_in(&self.inv.linkerd.authorization_policies[index].namespace)
                .to_vec(),
            PolicyTarget::HttpRoute { route: Some(r), .. } => self.route_servers(RouteId::Http(*r)),
            PolicyTarget::GrpcRoute { route: Some(r), .. } => self.route_servers(RouteId::Grpc(*r)),
            _ => Vec::new(),
        };
        self.governed_by_servers(&servers)
    }

    /// The pod ports a ServerAuthorization applies to (empty when Linkerd skips it).
    pub fn server_authorization_governs(
        &self,
        index: ServerAuthorizationId,
    ) -> Vec<(WorkloadId, u16)> {
        let f = self.server_authorization(index);
        if f.authorization.is_none() {
            return Vec::new();
        }
        self.governed_by_servers(&f.servers)
    }

    fn governed_by_servers(&self, servers: &[LinkerdServerId]) -> Vec<(WorkloadId, u16)> {
        let mut out: Vec<(WorkloadId, u16)> = servers
            .iter()
            .flat_map(|&s| self.server(s).governs.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Identities and namespaces the authorizations of `(w, port)` name one by one (routes'
    /// included), for grouping clients as the graph does. A port with no Server names nobody.
    pub fn named_clients(&self, w: WorkloadId, port: u16) -> NamedClients<'a> {
        let Some(s) = self.server_for(w, port) else {
            return NamedClients::default();
        };
        let mut identities: BTreeSet<(&'a str, &'a str)> = BTreeSet::new();
        let mut namespaces: BTreeSet<&'a str> = BTreeSet::new();
        let server = self.server(s);
        let route_authzs = server
            .routes
            .iter()
            .flat_map(|&r| self.route(r).authorizations.iter());
        for a in server.authorizations.iter().chain(route_authzs) {
            let Authentication::Identities(ids) = &a.authentication else {
                continue;
            };
            for id in ids {
                match id.names {
                    Names::ServiceAccount { namespace, name } => {
                        identities.insert((namespace, name));
                    }
                    Names::Namespace(ns) => {
                        namespaces.insert(ns);
                    }
                    Names::WholeMesh | Names::Foreign => {}
                }
            }
        }
        NamedClients {
            identities: identities.into_iter().collect(),
            namespaces: namespaces.into_iter().collect(),
        }
    }

    /// Does one authorization admit the client? Meshed clients connect from pod addresses.
    pub fn admits(&self, authz: &Authorization<'_>, client: &LinkerdClient<'_>) -> Admits {
        self.requirements_admit(&authz.authentication, &authz.networks.addrs, client)
    }

    /// Do these requirements (a TLS identity and source networks) admit the client? An
    /// authorization's, or those of a pod's default policy, which no resource writes.
    pub(crate) fn requirements_admit(
        &self,
        authentication: &Authentication<'_>,
        addrs: &AddrSet,
        client: &LinkerdClient<'_>,
    ) -> Admits {
        let (identity_ok, network) = match client {
            LinkerdClient::Meshed { peer } => {
                let ok = match (authentication, peer) {
                    (Authentication::Unauthenticated, _) => true,
                    (_, PeerIdentity::None) => false,
                    (Authentication::AnyMeshTls, _) => true,
                    (Authentication::Identities(ids), peer) => ids
                        .iter()
                        .any(|id| self.domain.matches_peer(&id.pattern, peer)),
                };
                (ok, ClientNetwork::ClusterPod)
            }
            LinkerdClient::Unauthenticated { from } => (
                matches!(authentication, Authentication::Unauthenticated),
                *from,
            ),
        };
        if !identity_ok {
            return Admits::No;
        }
        self.network_admits(addrs, network)
    }

    /// Do these addresses hold every address of the client's network class, some, or none?
    /// The classes hold IPv6 addresses only when proxies handle IPv6.
    pub fn network_admits(&self, addrs: &AddrSet, network: ClientNetwork) -> Admits {
        let class = match network {
            ClientNetwork::ClusterPod => &self.pod_addresses,
            ClientNetwork::Outside => &self.outside_addresses,
        };
        if addrs.covers(class) {
            Admits::Yes
        } else if addrs.intersects(class) {
            Admits::Some
        } else {
            Admits::No
        }
    }

    /// Decide a connection (or request) from `client` to port `port` of workload `w`.
    /// `default` is the default inbound policy in force for that pod; it decides ports no
    /// Server selects. Whether the pod has a proxy at all, and kubelet probe routes, are the
    /// caller's to consider.
    pub fn authorize(
        &self,
        w: WorkloadId,
        port: u16,
        client: &LinkerdClient<'_>,
        default: &DefaultPolicy,
    ) -> LinkerdDecision {
        decide::authorize(self, w, port, client, default)
    }

    /// [`authorize`](Self::authorize) under the pod's own default inbound policy for the port
    /// (pod, namespace or cluster level, tightened by `proxy-require-identity-inbound-ports`),
    /// as the graph decides it.
    pub fn authorize_port(
        &self,
        w: WorkloadId,
        port: u16,
        client: &LinkerdClient<'_>,
    ) -> LinkerdDecision {
        let has_server = self.server_for(w, port).is_some();
        let resolved = crate::linkerd::defaults::resolve_for_port(self.inv, w, port, has_server);
        self.authorize(w, port, client, &resolved.default)
    }
}

/// `0.0.0.0/0, ::/0 except 10.0.0.0/8`.
pub fn networks_text(networks: &[meshaudit_model::linkerd::Network]) -> String {
    networks
        .iter()
        .map(|n| {
            let except: Vec<&str> = n.except.iter().flatten().map(|e| e.text.as_str()).collect();
            if except.is_empty() {
                n.cidr.text.clone()
            } else {
                format!("{} except {}", n.cidr.text, except.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who a default (or access) policy admits, in words.
pub fn describe_default(policy: DefaultInboundPolicy) -> &'static str {
    match policy {
        DefaultInboundPolicy::AllUnauthenticated => {
            "any client, plaintext included, from any address"
        }
        DefaultInboundPolicy::AllAuthenticated => "any meshed client, from any address",
        DefaultInboundPolicy::ClusterUnauthenticated => {
            "any client, plaintext included, from clusterNetworks"
        }
        DefaultInboundPolicy::ClusterAuthenticated => "any meshed client, from clusterNetworks",
        DefaultInboundPolicy::Deny => "nobody (localhost and kubelet probe paths excepted)",
        DefaultInboundPolicy::Audit => {
            "any client, plaintext included, from any address, each request logged as audit"
        }
    }
}

fn read_network_auth(n: &Typed<NetworkAuthenticationSpec>) -> NetworkAuthFacts {
    let problem =
        n.spec.networks.is_empty().then_some(
            "it lists no network: Linkerd skips a NetworkAuthentication without networks",
        );
    NetworkAuthFacts {
        addrs: AddrSet::from_networks(&n.spec.networks),
        problem,
    }
}
