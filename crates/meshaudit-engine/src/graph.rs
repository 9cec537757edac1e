//! The effective-policy graph: for every client and every server port, is the connection
//! encrypted, which identity does the server see, and does authorization let it through — with
//! the resources that decided each answer.
//!
//! Clients are evaluated in classes, not one by one: for a server port, only clients its
//! policies or DestinationRules can tell apart (a namespace or identity they name, a namespace
//! with its own DestinationRule for the host, a client whose proxy does not capture the
//! connection) are evaluated individually; every other client falls into one of two groups,
//! "any other meshed workload" and "any workload without a proxy", evaluated once. That keeps
//! the graph linear in the number of workloads for typical policies.

use crate::{HashMap, HashSet};
use std::cell::OnceCell;

use meshaudit_model::istio::{ClientTlsMode, MtlsMode};
use meshaudit_model::k8s::Workload;
use meshaudit_model::parallel::map_in_order;
use meshaudit_model::Inventory;

use crate::authorization::{
    pattern_matches, AuthorizationPolicies, AuthzDecision, Decision, PeerIdentity, Request,
};
use crate::destination_rule::{
    client_tls_mode_str, service_host, ClientTls, ClientTlsChoice, DestinationRules,
};
use crate::evidence::Because;
use crate::membership::{injector_webhooks, membership, DataPlane, Membership};
use crate::network_policy::{NetworkDecision, NetworkPolicyIndex, Source};

/// The port ztunnel tunnels ambient mesh traffic to (HBONE).
pub const HBONE_PORT: u16 = 15008;
use crate::peer_authentication::{ModeDecision, PeerAuthentications, WorkloadMtls};
use crate::protocol::{Layer, Protocol};
use crate::scope::applies_to;

/// A workload as the graph sees it.
#[derive(Debug, Clone)]
pub struct WorkloadNode {
    pub namespace: String,
    pub membership: Membership,
    /// `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`, when it has a proxy.
    pub identity: Option<String>,
    pub mtls: WorkloadMtls,
    /// AuthorizationPolicies that apply (indexes into the inventory's list).
    pub authorization_policies: Vec<usize>,
    /// RequestAuthentications that apply.
    pub request_authentications: Vec<usize>,
    /// Services that select it.
    pub services: Vec<usize>,
}

/// A Service port that leads to a server port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePortRef {
    pub service: usize,
    /// Index in the Service's `spec.ports`.
    pub index: usize,
    pub port: u16,
}

/// Who a group of edges comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    Workload(usize),
    /// Any meshed workload the server's policies do not name (including ones outside the input).
    OtherMeshed,
    /// Any workload without a proxy (including ones outside the input).
    OtherUnmeshed,
}

/// What is on the wire between client and server application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Istio mutual TLS: encrypted, and the server knows the client's identity.
    Mtls,
    /// TLS the client originates itself (DestinationRule SIMPLE/MUTUAL): encrypted, no mesh
    /// identity.
    Tls,
    /// Readable on the wire, and no identity.
    Plaintext,
    /// The connection cannot be established (e.g. plaintext to a STRICT server).
    Fails,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Mtls => "mtls",
            Transport::Tls => "tls",
            Transport::Plaintext => "plaintext",
            Transport::Fails => "fails",
        }
    }

    /// Which of two alternative paths a person must worry about: a working weak one first.
    fn exposure(self) -> u8 {
        match self {
            Transport::Fails => 0,
            Transport::Mtls => 1,
            Transport::Tls => 2,
            Transport::Plaintext => 3,
        }
    }
}

/// The overall answer for an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reach {
    Allowed,
    Conditional,
    Denied,
    Fails,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Allowed => "allowed",
            Reach::Conditional => "conditional",
            Reach::Denied => "denied",
            Reach::Fails => "fails",
        }
    }

    /// Some requests get through.
    pub fn is_open(self) -> bool {
        matches!(self, Reach::Allowed | Reach::Conditional)
    }
}

/// The evaluated answer for one client (or client group) and one server port.
#[derive(Debug, Clone)]
pub struct EdgeGroup {
    pub client: Client,
    /// For a group of the meshed clients of one namespace (which has its own DestinationRule
    /// for the host): that namespace.
    pub namespace: Option<String>,
    pub transport: Transport,
    /// The identity the server proxy sees.
    pub peer: PeerIdentity,
    /// The Service port whose path this answer is for (none for direct pod traffic).
    pub via: Option<ServicePortRef>,
    pub transport_because: Vec<Because>,
    /// `None` when no proxy enforces policy on the server side.
    pub authorization: Option<AuthzDecision>,
}

impl EdgeGroup {
    pub fn reach(&self) -> Reach {
        if self.transport == Transport::Fails {
            return Reach::Fails;
        }
        match self.authorization.as_ref().map(|a| a.decision) {
            None | Some(Decision::Allowed) => Reach::Allowed,
            Some(Decision::Conditional) => Reach::Conditional,
            Some(Decision::Denied) => Reach::Denied,
        }
    }
}

/// One port a workload serves.
#[derive(Debug, Clone)]
pub struct ServerPort {
    pub workload: usize,
    /// The port the application listens on (a container port / Service target port).
    pub port: u16,
    pub protocol: Protocol,
    pub protocol_because: Because,
    pub services: Vec<ServicePortRef>,
    /// Inbound traffic to the port passes through a proxy (sidecar or ztunnel).
    pub proxied: bool,
    pub mode: ModeDecision,
    pub groups: Vec<EdgeGroup>,
    individual: SortedMap<usize>,
    /// Meshed clients of one identity (namespace, service account) the policies name, by
    /// identity id (see [`Graph::identity_of`]).
    identity_groups: SortedMap<u32>,
    /// Meshed clients of a namespace the policies name, or with its own DestinationRule for
    /// the port's host.
    namespace_groups: SortedMap<String>,
    other_meshed: usize,
    other_unmeshed: usize,
}

impl ServerPort {
    /// The answer for `client`.
    pub fn group_for(&self, graph: &Graph, client: Client) -> &EdgeGroup {
        &self.groups[self.group_index_for(graph, client)]
    }

    /// The index in [`groups`](ServerPort::groups) of the answer for `client`.
    pub fn group_index_for(&self, graph: &Graph, client: Client) -> usize {
        match client {
            Client::Workload(w) => {
                let node = &graph.workloads[w];
                // A meshed client whose proxy does not capture its connections to this server
                // (excluded outbound port, UID 1337) sends what a client without a proxy sends.
                let capture = &node.membership.capture;
                let bypasses = node.membership.data_plane.is_meshed()
                    && (!capture.captures_outbound(self.port)
                        || self
                            .services
                            .iter()
                            .any(|v| !capture.captures_outbound(v.port)));
                match self.individual.get(&w) {
                    Some(&g) => g,
                    None if bypasses => self.other_unmeshed,
                    None if node.membership.data_plane.is_meshed() => self
                        .identity_groups
                        .get(&graph.identity_of[w])
                        .or_else(|| self.namespace_groups.get(node.namespace.as_str()))
                        .copied()
                        .unwrap_or(self.other_meshed),
                    None => self.other_unmeshed,
                }
            }
            Client::OtherMeshed => self.other_meshed,
            Client::OtherUnmeshed => self.other_unmeshed,
        }
    }

    /// Groups for named clients and for the two catch-all groups.
    pub fn other_meshed(&self) -> &EdgeGroup {
        &self.groups[self.other_meshed]
    }

    pub fn other_unmeshed(&self) -> &EdgeGroup {
        &self.groups[self.other_unmeshed]
    }
}

/// Group indexes by key, as a vector sorted by key: a server port names a handful of clients,
/// where a binary search costs less than hashing (and the vector less memory than a table).
#[derive(Debug, Clone, Default)]
struct SortedMap<K>(Vec<(K, usize)>);

impl<K: Ord> SortedMap<K> {
    /// `entries` must be sorted by key, without repeats.
    fn from_sorted(entries: Vec<(K, usize)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        SortedMap(entries)
    }

    fn get<Q>(&self, key: &Q) -> Option<&usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0
            .binary_search_by(|(k, _)| k.borrow().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The keys, in order.
    fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.0.iter().map(|(k, _)| k)
    }
}

/// One client → server-port edge, expanded from its group.
#[derive(Debug, Clone, Copy)]
pub struct Edge<'g> {
    pub client: Client,
    pub server: &'g ServerPort,
    pub group: &'g EdgeGroup,
}

#[derive(Debug, Clone)]
pub struct Graph {
    pub workloads: Vec<WorkloadNode>,
    pub servers: Vec<ServerPort>,
    pub trust_domain: String,
    pub auto_mtls: bool,
    /// Which NetworkPolicies isolate each workload (see [`Graph::network`]).
    pub network_policies: NetworkPolicyIndex,
    /// Per workload: the id of its identity (namespace, service account); workloads that run
    /// as the same identity share it.
    identity_of: Vec<u32>,
    /// Namespaces with an ambient workload.
    ambient_namespaces: HashSet<String>,
    index: Index,
}

/// Reverse indexes, so that questions about one client, Service or policy cost what concerns
/// it rather than every workload or server port.
#[derive(Debug, Clone, Default)]
struct Index {
    /// Per AuthorizationPolicy (index into the inventory's list): the workloads it applies to.
    by_authorization_policy: Vec<Vec<usize>>,
    /// Per RequestAuthentication: the workloads it applies to.
    by_request_authentication: Vec<Vec<usize>>,
    /// Per workload: the servers that evaluate it as an individual client.
    individual_at: Vec<Vec<usize>>,
    /// Per namespace: the servers with a group for that namespace's meshed clients.
    namespace_group_at: HashMap<String, Vec<usize>>,
    /// Per identity id: the servers with a group for that identity's meshed clients.
    identity_group_at: HashMap<u32, Vec<usize>>,
    /// Per destination port (a server port, or a Service port that leads to one): the servers.
    by_destination_port: HashMap<u16, Vec<usize>>,
    /// Per Service (index into the inventory's list): the servers it leads to.
    by_service: Vec<Vec<usize>>,
}

impl Index {
    fn new(inv: &Inventory, workloads: &[WorkloadNode], servers: &[ServerPort]) -> Self {
        let mut index = Index {
            by_authorization_policy: vec![Vec::new(); inv.istio.authorization_policies.len()],
            by_request_authentication: vec![Vec::new(); inv.istio.request_authentications.len()],
            individual_at: vec![Vec::new(); workloads.len()],
            by_service: vec![Vec::new(); inv.services.len()],
            ..Index::default()
        };
        for (w, node) in workloads.iter().enumerate() {
            for &p in &node.authorization_policies {
                index.by_authorization_policy[p].push(w);
            }
            for &r in &node.request_authentications {
                index.by_request_authentication[r].push(w);
            }
        }
        // Servers are visited in order, so every list comes out sorted.
        for (s, server) in servers.iter().enumerate() {
            // The maps are sorted by key.
            for &c in server.individual.keys() {
                index.individual_at[c].push(s);
            }
            for &id in server.identity_groups.keys() {
                index.identity_group_at.entry(id).or_default().push(s);
            }
            for ns in server.namespace_groups.keys() {
                index
                    .namespace_group_at
                    .entry(ns.clone())
                    .or_default()
                    .push(s);
            }
            let mut ports: Vec<u16> = server.services.iter().map(|v| v.port).collect();
            ports.push(server.port);
            ports.sort_unstable();
            ports.dedup();
            for port in ports {
                index.by_destination_port.entry(port).or_default().push(s);
            }
            let mut services: Vec<usize> = server.services.iter().map(|v| v.service).collect();
            services.sort_unstable();
            services.dedup();
            for service in services {
                index.by_service[service].push(s);
            }
        }
        index
    }
}

impl Graph {
    /// Every edge: each workload (but the server itself) and the two catch-all groups, to every
    /// server port.
    pub fn edges(&self) -> impl Iterator<Item = Edge<'_>> + '_ {
        self.servers.iter().flat_map(move |server| {
            (0..self.workloads.len())
                .filter(move |&w| w != server.workload)
                .map(Client::Workload)
                .chain([Client::OtherMeshed, Client::OtherUnmeshed])
                .map(move |client| Edge {
                    client,
                    server,
                    group: server.group_for(self, client),
                })
        })
    }

    /// The transport evidence of an edge. A workload evaluated in a catch-all group gets its
    /// own membership facts first, so the chain explains this client, not the group.
    pub fn transport_evidence(&self, edge: &Edge<'_>) -> Vec<Because> {
        let mut chain = Vec::new();
        if let (Client::Workload(w), Client::OtherMeshed | Client::OtherUnmeshed) =
            (edge.client, edge.group.client)
        {
            let m = &self.workloads[w].membership;
            chain.extend(m.because.iter().cloned());
            if m.data_plane.is_meshed() {
                chain.extend(m.capture.because.iter().cloned());
            }
        }
        chain.extend(edge.group.transport_because.iter().cloned());
        chain
    }

    /// The server ports of workload `w`.
    pub fn ports_of(&self, w: usize) -> impl Iterator<Item = &ServerPort> + '_ {
        self.servers[self.port_range(w)].iter()
    }

    /// The indexes in `servers` of workload `w`'s ports.
    fn port_range(&self, w: usize) -> std::ops::Range<usize> {
        // `servers` is sorted by workload, then port.
        let start = self.servers.partition_point(|s| s.workload < w);
        let end = start + self.servers[start..].partition_point(|s| s.workload == w);
        start..end
    }

    /// The workloads AuthorizationPolicy `policy` (index into the inventory's list) applies
    /// to, in order.
    pub fn workloads_of_authorization_policy(&self, policy: usize) -> &[usize] {
        self.index
            .by_authorization_policy
            .get(policy)
            .map_or(&[], Vec::as_slice)
    }

    /// The workloads RequestAuthentication `index` applies to, in order.
    pub fn workloads_of_request_authentication(&self, index: usize) -> &[usize] {
        self.index
            .by_request_authentication
            .get(index)
            .map_or(&[], Vec::as_slice)
    }

    /// The server ports (indexes into `servers`) that Service `service` leads to, in order.
    pub fn servers_of_service(&self, service: usize) -> &[usize] {
        self.index
            .by_service
            .get(service)
            .map_or(&[], Vec::as_slice)
    }

    /// The server ports (indexes into `servers`) a client reaches by connecting to `port`: the
    /// port itself, or a Service port leading to it. In order.
    pub fn servers_at_destination_port(&self, port: u16) -> &[usize] {
        self.index
            .by_destination_port
            .get(&port)
            .map_or(&[], Vec::as_slice)
    }

    /// The server ports (indexes into `servers`, in order) that evaluate workload `w` as an
    /// individual client.
    pub fn individually_at(&self, w: usize) -> &[usize] {
        self.index.individual_at.get(w).map_or(&[], Vec::as_slice)
    }

    /// The indexes in `servers` of workload `w`'s own ports.
    pub fn own_ports(&self, w: usize) -> std::ops::Range<usize> {
        self.port_range(w)
    }

    /// The catch-all group workload `w` falls into at a server port that does not treat it
    /// apart: [`Client::OtherMeshed`] for a workload whose proxy handles its outbound
    /// connections, [`Client::OtherUnmeshed`] otherwise.
    pub fn catch_all(&self, w: usize) -> Client {
        let membership = &self.workloads[w].membership;
        let capture = &membership.capture;
        if membership.data_plane.is_meshed()
            && !capture.outbound_bypass_all
            && capture.proxy_uid_containers.is_empty()
        {
            Client::OtherMeshed
        } else {
            Client::OtherUnmeshed
        }
    }

    /// The server ports (indexes into `servers`, sorted, without repeats) where client `w`'s
    /// answer may not be its [`catch_all`](Graph::catch_all) group: ports that evaluate it
    /// individually, that have a group for its identity or namespace, or that it reaches past
    /// its proxy —
    /// and its own ports, which are no edges of it. At every other port,
    /// `group_for(Client::Workload(w))` is the catch-all group.
    pub fn treated_apart(&self, w: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.index.individual_at[w].clone();
        out.extend(self.port_range(w));
        let node = &self.workloads[w];
        if self.catch_all(w) == Client::OtherMeshed {
            if let Some(servers) = self.index.namespace_group_at.get(&node.namespace) {
                out.extend_from_slice(servers);
            }
            if let Some(servers) = self.index.identity_group_at.get(&self.identity_of[w]) {
                out.extend_from_slice(servers);
            }
            for port in &node.membership.capture.excluded_outbound_ports {
                out.extend_from_slice(self.servers_at_destination_port(*port));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// What NetworkPolicy says of `client` connecting to server port `server` (the server's
    /// ingress and, for a workload of the input, the client's egress). A catch-all group stands
    /// for pods the input does not describe: its answer is `restricted` when only some pods
    /// get through. Computed on demand: NetworkPolicy partitions clients by pod and namespace
    /// labels, which the mesh's groups do not follow.
    pub fn network(
        &self,
        inventory: &Inventory,
        client: Client,
        server: &ServerPort,
    ) -> NetworkDecision {
        let (source, port, hbone) = self.network_hop(client, server);
        let mut decision =
            self.network_policies
                .connection(inventory, source, server.workload, port);
        if hbone {
            let fact = Because::default(format!(
                "ambient mesh traffic travels over HBONE: NetworkPolicy sees port {HBONE_PORT}, not {}",
                server.port
            ));
            decision.ingress.because.insert(0, fact);
        }
        decision
    }

    /// [`network`](Graph::network)'s answer without its evidence.
    pub fn network_summary(
        &self,
        inventory: &Inventory,
        client: Client,
        server: &ServerPort,
    ) -> crate::network_policy::NetSummary {
        let (source, port, _) = self.network_hop(client, server);
        self.network_policies
            .connection_summary(inventory, source, server.workload, port)
    }

    /// [`network`](Graph::network)'s verdict alone, without building its evidence.
    pub fn network_verdict(
        &self,
        inventory: &Inventory,
        client: Client,
        server: &ServerPort,
    ) -> crate::network_policy::NetVerdict {
        let (source, port, _) = self.network_hop(client, server);
        self.network_policies
            .connection_verdict(inventory, source, server.workload, port)
    }

    /// The verdicts of [`network`](Graph::network)'s two directions alone, without their
    /// evidence: the client's egress, then the server's ingress.
    pub fn network_direction_verdicts(
        &self,
        inventory: &Inventory,
        client: Client,
        server: &ServerPort,
    ) -> (
        crate::network_policy::NetVerdict,
        crate::network_policy::NetVerdict,
    ) {
        let (source, port, _) = self.network_hop(client, server);
        self.network_policies
            .direction_verdicts(inventory, source, server.workload, port)
    }

    /// [`network_direction_verdicts`](Graph::network_direction_verdicts) for every client of
    /// `namespace` that `group` answers for at `server`, when NetworkPolicy gives them all the
    /// same answer (see [`NetworkPolicyIndex::namespace_verdicts`]); `None` when it may differ
    /// from client to client, or the namespace has ambient workloads.
    pub fn network_group_verdicts(
        &self,
        inventory: &Inventory,
        namespace: &str,
        group: &EdgeGroup,
        server: &ServerPort,
    ) -> Option<(
        crate::network_policy::NetVerdict,
        crate::network_policy::NetVerdict,
    )> {
        if self.ambient_namespaces.contains(namespace) {
            return None;
        }
        // As `network_hop` decides for a client that is not ambient itself.
        let ambient_server =
            self.workloads[server.workload].membership.data_plane == DataPlane::Ambient;
        let port = if ambient_server && group.transport == Transport::Mtls {
            HBONE_PORT
        } else {
            server.port
        };
        self.network_policies
            .namespace_verdicts(inventory, namespace, server.workload, port)
    }

    /// Who NetworkPolicy sees connecting, on which port of the server pod, and whether that
    /// port is the HBONE tunnel: mutual TLS to or from an ambient workload is carried by
    /// ztunnel to port 15008 of the server pod, so that is the port NetworkPolicy must admit.
    fn network_hop(&self, client: Client, server: &ServerPort) -> (Source, u16, bool) {
        let source = match client {
            Client::Workload(w) => Source::Pod(w),
            Client::OtherMeshed | Client::OtherUnmeshed => Source::AnyPod,
        };
        let ambient = |w: usize| self.workloads[w].membership.data_plane == DataPlane::Ambient;
        let client_ambient = matches!(client, Client::Workload(w) if ambient(w));
        let hbone = (ambient(server.workload) || client_ambient)
            && server.group_for(self, client).transport == Transport::Mtls;
        let port = if hbone { HBONE_PORT } else { server.port };
        (source, port, hbone)
    }

    /// The group that answers for `client` at `server`; `Client::OtherMeshed` and
    /// `Client::OtherUnmeshed` name the catch-all groups.
    pub fn group(&self, server: usize, client: Client) -> &EdgeGroup {
        self.servers[server].group_for(self, client)
    }
}

/// The client side of a connection, as transport and authorization read it.
struct ClientSide<'a> {
    client: Client,
    /// The client has a proxy (capture per destination port is checked separately).
    meshed: bool,
    workload: Option<&'a Workload>,
    membership: Option<&'a Membership>,
    namespace: &'a str,
    peer: PeerIdentity,
}

/// What an [`AuthzDecision`] depends on besides the peer the server sees: the id of the list of
/// policies, the port, how the proxy parses it (as a number), and whether a JWT is validated.
type AuthzKey = (u32, u16, u8, bool);

struct Builder<'a> {
    inventory: &'a Inventory,
    /// Answers of [`AuthorizationPolicies::evaluate`] by (id of the list of policies that apply,
    /// request): workloads under the same namespace-wide policies ask the same questions for
    /// every port, so each is answered once. Shared by the threads that build server ports.
    /// By peer within the request, so that a lookup borrows the peer rather than copying it.
    authz_answers: std::sync::Mutex<HashMap<AuthzKey, HashMap<PeerIdentity, AuthzDecision>>>,
    peer_authentications: PeerAuthentications<'a>,
    destination_rules: DestinationRules<'a>,
    authorization: AuthorizationPolicies<'a>,
    trust_domain: &'a str,
    aliases: &'a [String],
    auto_mtls: bool,
    auto_mtls_because: Because,
}

/// Builds the graph for the inventory.
pub fn build(inventory: &Inventory) -> Graph {
    let mesh = inventory.istio.mesh_config.as_ref();
    let auto_mtls = mesh.and_then(|m| m.config.enable_auto_mtls).unwrap_or(true);
    let auto_mtls_because = match mesh {
        Some(m) if m.config.enable_auto_mtls.is_some() => Because::object(
            m.object,
            format!("mesh config sets enableAutoMtls: {auto_mtls}"),
        ),
        _ => Because::default("auto mTLS is on (Istio's default)"),
    };
    let aliases: &[String] = mesh.map_or(&[], |m| m.config.trust_domain_aliases.as_slice());
    let builder = Builder {
        inventory,
        authz_answers: Default::default(),
        peer_authentications: PeerAuthentications::new(inventory),
        destination_rules: DestinationRules::new(inventory),
        authorization: AuthorizationPolicies::new(inventory),
        trust_domain: inventory.istio.trust_domain(),
        aliases,
        auto_mtls,
        auto_mtls_because,
    };
    builder.build()
}

/// What the prefix of a wildcard identity pattern says about the namespaces it can match.
enum FixedNamespace<'p> {
    /// Only identities of this namespace.
    One(&'p str),
    /// Only whole namespaces, those whose name starts with this (the prefix ends inside the
    /// namespace name).
    CoveredOnly(&'p str),
    /// No local identity (another trust domain).
    Unknown,
}

fn fixed_namespace<'p>(
    kind: IdentityPattern,
    prefix: &'p str,
    domains: &[&str],
) -> FixedNamespace<'p> {
    let rest = match kind {
        IdentityPattern::Principal => {
            match domains
                .iter()
                .find_map(|td| prefix.strip_prefix(td).and_then(|r| r.strip_prefix("/ns/")))
            {
                Some(rest) => rest,
                None => return FixedNamespace::Unknown,
            }
        }
        IdentityPattern::ServiceAccount => prefix,
    };
    match rest.split_once('/') {
        Some((ns, _)) => FixedNamespace::One(ns),
        None => FixedNamespace::CoveredOnly(rest),
    }
}

/// Does the wildcard `prefix*` match every identity of `namespace`?
fn covers_namespace(
    kind: IdentityPattern,
    prefix: &str,
    domains: &[&str],
    namespace: &str,
) -> bool {
    match kind {
        IdentityPattern::Principal => domains
            .iter()
            .any(|td| format!("{td}/ns/{namespace}/sa/").starts_with(prefix)),
        IdentityPattern::ServiceAccount => format!("{namespace}/").starts_with(prefix),
    }
}

/// How a selector-scoped policy (AuthorizationPolicy, RequestAuthentication) is attached.
struct Scoped<'p> {
    namespace: &'p str,
    selector: Option<&'p meshaudit_model::selector::WorkloadSelector>,
    target_refs: bool,
}

/// For every workload, the policies (indexes, in input order) that apply to it. Selector policies find their workloads through the label index rather than
/// testing every workload of their namespace, which is quadratic in namespaces that hold
/// thousands of workloads and policies.
fn applicable_by_workload<'p>(
    inv: &Inventory,
    policies: impl Iterator<Item = Scoped<'p>>,
) -> Vec<Vec<usize>> {
    let root = inv.istio.root_namespace();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); inv.workloads.len()];
    for (i, p) in policies.enumerate() {
        if p.target_refs {
            continue;
        }
        let candidates: Vec<usize> = match p.selector.filter(|s| !s.match_labels.is_empty()) {
            Some(selector) if p.namespace == root => inv.workloads_matching(&selector.match_labels),
            Some(selector) => inv.workloads_matching_in(p.namespace, &selector.match_labels),
            None if p.namespace == root => (0..inv.workloads.len()).collect(),
            None => inv.workload_indexes_in(p.namespace).to_vec(),
        };
        for w in candidates {
            if applies_to(root, p.namespace, p.selector, false, &inv.workloads[w]).is_some() {
                out[w].push(i);
            }
        }
    }
    out
}

/// Does `pattern` (a principal) name identity `(namespace, sa)` under any of `domains`?
fn principal_names(pattern: &str, domains: &[&str], namespace: &str, sa: &str) -> bool {
    domains
        .iter()
        .any(|td| pattern_matches(pattern, &format!("{td}/ns/{namespace}/sa/{sa}")))
}

impl<'a> Builder<'a> {
    fn build(&self) -> Graph {
        let inv = self.inventory;
        let injectors = injector_webhooks(inv);
        let mut authorization_policies = applicable_by_workload(
            inv,
            inv.istio.authorization_policies.iter().map(|p| Scoped {
                namespace: &p.namespace,
                selector: p.spec.selector.as_ref(),
                target_refs: p.spec.has_target_refs(),
            }),
        );
        // Root-namespace policies first, as istiod lists them, each part in input order.
        let root = inv.istio.root_namespace();
        for list in &mut authorization_policies {
            list.sort_by_key(|&p| (inv.istio.authorization_policies[p].namespace != root, p));
        }
        let request_authentications = applicable_by_workload(
            inv,
            inv.istio.request_authentications.iter().map(|r| Scoped {
                namespace: &r.namespace,
                selector: r.spec.selector.as_ref(),
                target_refs: r.spec.target_ref.is_some() || !r.spec.target_refs.is_empty(),
            }),
        );
        let indexes: Vec<usize> = (0..inv.workloads.len()).collect();
        let mut nodes: Vec<WorkloadNode> = map_in_order(&indexes, |&i| {
            let w = &inv.workloads[i];
            let membership = membership(inv, &injectors, w);
            let identity = membership.data_plane.is_meshed().then(|| {
                format!(
                    "spiffe://{}/ns/{}/sa/{}",
                    self.trust_domain, w.namespace, w.service_account
                )
            });
            WorkloadNode {
                namespace: w.namespace.clone(),
                identity,
                mtls: self.peer_authentications.resolve(w),
                authorization_policies: authorization_policies[i].clone(),
                request_authentications: request_authentications[i].clone(),
                services: Vec::new(),
                membership,
            }
        });

        // Which workloads each Service selects, by namespace index.
        let mut by_namespace: HashMap<&str, Vec<usize>> = HashMap::default();
        for (i, w) in inv.workloads.iter().enumerate() {
            by_namespace
                .entry(w.namespace.as_str())
                .or_default()
                .push(i);
        }
        let clients = ClientIndex::new(inv, &nodes);
        let mut ports: HashMap<(usize, u16), Vec<ServicePortRef>> = HashMap::default();
        for (s, service) in inv.services.iter().enumerate() {
            let Some(selector) = service.spec.selector.as_ref().filter(|m| !m.is_empty()) else {
                continue;
            };
            // Through the label index, not by testing every workload of the namespace.
            for w in inv.workloads_matching_in(&service.namespace, selector) {
                let workload = &inv.workloads[w];
                nodes[w].services.push(s);
                for (index, port) in service.spec.ports.iter().enumerate() {
                    if port.protocol.as_deref() == Some("UDP")
                        || port.protocol.as_deref() == Some("SCTP")
                    {
                        continue;
                    }
                    // A named target port no container declares gets no endpoint.
                    let Some(target) = target_port_on(port, workload) else {
                        continue;
                    };
                    ports.entry((w, target)).or_default().push(ServicePortRef {
                        service: s,
                        index,
                        port: port.port,
                    });
                }
            }
        }
        // Declared container ports that no Service covers are reachable by pod address.
        for (w, workload) in inv.workloads.iter().enumerate() {
            for c in &workload.containers {
                if c.name == "istio-proxy" {
                    continue;
                }
                for p in &c.ports {
                    if p.protocol.as_deref().is_some_and(|proto| proto != "TCP") {
                        continue;
                    }
                    ports.entry((w, p.container_port)).or_default();
                }
            }
        }
        let mut keys: Vec<(usize, u16)> = ports.keys().copied().collect();
        keys.sort_unstable();

        // Workloads under the same policies share an id, the key of their answers.
        // Lists whose policies never read the destination port answer alike on every port.
        let mut list_ids: HashMap<&[usize], u32> = HashMap::default();
        let mut port_blind: Vec<bool> = Vec::new();
        let policy_lists: Vec<u32> = nodes
            .iter()
            .map(|n| {
                let list = n.authorization_policies.as_slice();
                let next = u32::try_from(list_ids.len()).unwrap_or(u32::MAX);
                let id = *list_ids.entry(list).or_insert(next);
                if id == next {
                    port_blind.push(list.iter().all(|&p| {
                        !crate::authorization::reads_port(&inv.istio.authorization_policies[p].spec)
                    }));
                }
                id
            })
            .collect();
        drop(list_ids);
        let todo: Vec<(usize, u16, Vec<ServicePortRef>)> = keys
            .into_iter()
            // Gateways' listeners follow Gateway resources, audited by their own rules.
            .filter(|&(w, _)| nodes[w].membership.data_plane != DataPlane::Gateway)
            .map(|(w, port)| (w, port, ports.remove(&(w, port)).unwrap_or_default()))
            .collect();
        // Server ports are independent of each other: evaluate them on every core.
        let policies: Vec<usize> = (0..inv.istio.authorization_policies.len()).collect();
        let namespace_index = NamespaceIndex::new(&by_namespace);
        let policy_names = map_in_order(&policies, |&p| self.policy_names(p, &namespace_index));
        let lookups = Lookups {
            policy_lists: &policy_lists,
            port_blind: &port_blind,
            nodes: &nodes,
            by_namespace: &by_namespace,
            clients: &clients,
            policy_names: &policy_names,
        };
        let servers = map_in_order(&todo, |(w, port, services)| {
            self.server_port(&lookups, *w, *port, services.clone())
        });
        Graph {
            index: Index::new(inv, &nodes, &servers),
            network_policies: NetworkPolicyIndex::new(inv),
            ambient_namespaces: clients.ambient.keys().map(|&ns| ns.to_owned()).collect(),
            identity_of: clients.identity_of,
            workloads: nodes,
            servers,
            trust_domain: self.trust_domain.to_owned(),
            auto_mtls: self.auto_mtls,
        }
    }

    fn server_port(
        &self,
        lookups: &Lookups<'_, '_>,
        w: usize,
        port: u16,
        services: Vec<ServicePortRef>,
    ) -> ServerPort {
        let Lookups {
            policy_lists,
            port_blind,
            nodes,
            by_namespace,
            clients,
            policy_names,
        } = *lookups;
        let inv = self.inventory;
        let workload = &inv.workloads[w];
        let node = &nodes[w];
        let (protocol, protocol_because) = match services.first() {
            Some(r) => {
                let service = &inv.services[r.service];
                let sp = &service.spec.ports[r.index];
                let (protocol, field) = Protocol::of_service_port(sp);
                let fact = if field.is_empty() {
                    format!(
                        "port {} declares no protocol, so Istio {}",
                        sp.port,
                        detection_text(protocol)
                    )
                } else {
                    format!("port {} is {} by its {field}", sp.port, protocol.as_str())
                };
                (
                    protocol,
                    Because::at(
                        service.object,
                        &["spec".into(), "ports".into(), r.index.into()],
                        fact,
                    ),
                )
            }
            None => {
                let protocol = Protocol::by_port_number(port);
                (
                    protocol,
                    Because::object(
                        workload.object,
                        format!(
                            "container port {port} is in no Service, so Istio {}",
                            detection_text(protocol)
                        ),
                    ),
                )
            }
        };
        let data_plane = &node.membership.data_plane;
        let proxied = matches!(data_plane, DataPlane::Sidecar | DataPlane::Ambient)
            && node.membership.capture.inbound.captures(port);
        let mut mode = node.mtls.for_port(port).clone();
        if *data_plane == DataPlane::Ambient && mode.mode == MtlsMode::Disable {
            mode.mode = MtlsMode::Permissive;
            mode.because.push(Because::default(
                "ambient mode (ztunnel) ignores DISABLE, so the port stays PERMISSIVE",
            ));
        }

        // Which clients the policies and DestinationRules tell apart.
        let mut named_namespaces: HashSet<&str> = HashSet::default();
        let mut identities: HashSet<(&str, &str)> = HashSet::default();
        for &p in &node.authorization_policies {
            named_namespaces.extend(policy_names[p].namespaces.iter().copied());
            identities.extend(policy_names[p].identities.iter().copied());
        }
        // Namespaces whose clients the policies name, or that have their own DestinationRule
        // for the host, get one group for their meshed clients — unless a DestinationRule with
        // a workload selector tells their workloads apart (then they go one by one).
        let mut individual_namespaces: HashSet<&str> = HashSet::default();
        let mut group_namespaces: HashSet<&str> = named_namespaces;
        let mut own_views: Vec<Vec<&str>> = Vec::with_capacity(services.len());
        let mut hosts: Vec<String> = Vec::with_capacity(services.len());
        for r in &services {
            let host = service_host(&inv.services[r.service]);
            let own_view = self.destination_rules.namespaces_with_own_view(&host);
            for &ns in &own_view {
                if self.destination_rules.has_selector_rule(ns, &host) {
                    individual_namespaces.insert(ns);
                } else {
                    group_namespaces.insert(ns);
                }
            }
            own_views.push(own_view);
            hosts.push(host);
        }
        let mut individual_clients: Vec<usize> = Vec::new();
        for ns in &individual_namespaces {
            individual_clients.extend(by_namespace.get(ns).into_iter().flatten());
        }
        // Ambient clients ignore DestinationRules and present their own identity through
        // ztunnel; they are few, so they go one by one. Clients without a proxy send no
        // identity, so the catch-all group answers for them.
        let mut namespace_group_clients: Vec<&str> = Vec::new();
        for ns in &group_namespaces {
            if individual_namespaces.contains(ns) {
                continue;
            }
            individual_clients.extend(clients.ambient_in(ns));
            if clients.proxied_namespaces.contains(ns) {
                namespace_group_clients.push(ns);
            }
        }
        namespace_group_clients.sort_unstable();
        // Identities the policies name: one group per identity for its clients with a sidecar
        // or gateway proxy (they present the same certificate), ambient ones one by one.
        let mut identity_group_clients: Vec<(u32, &str, &str)> = Vec::new();
        for &(ns, sa) in &identities {
            if individual_namespaces.contains(ns) {
                continue;
            }
            let Some(&id) = clients.identity_ids.get(&(ns, sa)) else {
                continue;
            };
            let members = &clients.identities[id as usize];
            individual_clients.extend(members.ambient.iter().copied());
            if members.proxied {
                identity_group_clients.push((id, ns, sa));
            }
        }
        identity_group_clients.sort_unstable();
        individual_clients.sort_unstable();
        individual_clients.dedup();

        let request_authn = !node.request_authentications.is_empty();
        let layer = if *data_plane == DataPlane::Ambient {
            // Without a waypoint, ztunnel enforces only connection-level fields.
            Layer::Tcp
        } else {
            protocol.layer()
        };
        let server = ServerSide {
            workload,
            name: format!("{}/{}", workload.namespace, workload.name),
            node,
            policy_list: policy_lists[w],
            port_blind: port_blind[policy_lists[w] as usize],
            port,
            services: &services,
            proxied,
            mode: &mode,
            layer,
            request_authn,
            outcomes: Default::default(),
            no_service_path: OnceCell::new(),
            others_variants: vec![OnceCell::new(); services.len()],
            own_views,
            hosts,
            service_level: OnceCell::new(),
        };

        let mut groups = Vec::with_capacity(
            individual_clients.len()
                + identity_group_clients.len()
                + namespace_group_clients.len()
                + 2,
        );
        let mut individual = Vec::new();
        for c in individual_clients {
            let cw = &inv.workloads[c];
            let cn = &nodes[c];
            let side = ClientSide {
                client: Client::Workload(c),
                meshed: cn.membership.data_plane.is_meshed(),
                workload: Some(cw),
                membership: Some(&cn.membership),
                namespace: &cw.namespace,
                peer: PeerIdentity::Known {
                    namespace: cw.namespace.clone(),
                    service_account: cw.service_account.clone(),
                },
            };
            individual.push((c, groups.len()));
            groups.push(self.evaluate(&side, &server));
        }
        let mut identity_groups = Vec::new();
        for (id, ns, sa) in identity_group_clients {
            identity_groups.push((id, groups.len()));
            groups.push(self.evaluate(
                &ClientSide {
                    client: Client::OtherMeshed,
                    meshed: true,
                    workload: None,
                    membership: None,
                    namespace: ns,
                    peer: PeerIdentity::Known {
                        namespace: ns.to_owned(),
                        service_account: sa.to_owned(),
                    },
                },
                &server,
            ));
        }
        let mut namespace_groups = Vec::new();
        for ns in namespace_group_clients {
            namespace_groups.push((ns.to_owned(), groups.len()));
            groups.push(self.evaluate(
                &ClientSide {
                    client: Client::OtherMeshed,
                    meshed: true,
                    workload: None,
                    membership: None,
                    namespace: ns,
                    peer: PeerIdentity::Namespace {
                        namespace: ns.to_owned(),
                    },
                },
                &server,
            ));
        }
        let other_meshed = groups.len();
        groups.push(self.evaluate(
            &ClientSide {
                client: Client::OtherMeshed,
                meshed: true,
                workload: None,
                membership: None,
                namespace: "",
                peer: PeerIdentity::Other,
            },
            &server,
        ));
        let other_unmeshed = groups.len();
        groups.push(self.evaluate(
            &ClientSide {
                client: Client::OtherUnmeshed,
                meshed: false,
                workload: None,
                membership: None,
                namespace: "",
                peer: PeerIdentity::None,
            },
            &server,
        ));
        ServerPort {
            workload: w,
            port,
            protocol,
            protocol_because,
            services,
            proxied,
            mode,
            groups,
            // Each list was built in key order, without repeats.
            individual: SortedMap::from_sorted(individual),
            identity_groups: SortedMap::from_sorted(identity_groups),
            namespace_groups: SortedMap::from_sorted(namespace_groups),
            other_meshed,
            other_unmeshed,
        }
    }

    /// The namespaces and identities one AuthorizationPolicy's sources and conditions name
    /// (wildcards expanded against the input), read once per policy rather than per port.
    fn policy_names(&self, policy: usize, namespaces: &NamespaceIndex<'_, 'a>) -> PolicyNames<'a> {
        let mut named_namespaces: HashSet<&'a str> = HashSet::default();
        let mut identities: HashSet<(&'a str, &'a str)> = HashSet::default();
        let mut domains = vec![
            self.trust_domain,
            meshaudit_model::istio::DEFAULT_TRUST_DOMAIN,
        ];
        domains.extend(self.aliases.iter().map(String::as_str));
        let policy = self.authorization.policy(policy);
        for rule in policy.spec.rules() {
            let sources = rule.from.iter().filter_map(|f| f.source.as_ref());
            for s in sources {
                for pattern in s.namespaces.iter().chain(&s.not_namespaces) {
                    self.collect_namespaces(pattern, namespaces, &mut named_namespaces);
                }
                for pattern in s.principals.iter().chain(&s.not_principals) {
                    self.collect_identities(
                        &domains,
                        pattern,
                        IdentityPattern::Principal,
                        namespaces,
                        &mut identities,
                        &mut named_namespaces,
                    );
                }
                for pattern in s.service_accounts.iter().chain(&s.not_service_accounts) {
                    self.collect_identities(
                        &domains,
                        pattern,
                        IdentityPattern::ServiceAccount,
                        namespaces,
                        &mut identities,
                        &mut named_namespaces,
                    );
                }
            }
            for c in &rule.when {
                for pattern in c.values.iter().chain(&c.not_values) {
                    match c.key.as_str() {
                        "source.namespace" => {
                            self.collect_namespaces(pattern, namespaces, &mut named_namespaces);
                        }
                        "source.principal" => {
                            self.collect_identities(
                                &domains,
                                pattern,
                                IdentityPattern::Principal,
                                namespaces,
                                &mut identities,
                                &mut named_namespaces,
                            );
                        }
                        "source.serviceAccount" => {
                            self.collect_identities(
                                &domains,
                                pattern,
                                IdentityPattern::ServiceAccount,
                                namespaces,
                                &mut identities,
                                &mut named_namespaces,
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut namespaces: Vec<&'a str> = named_namespaces.into_iter().collect();
        namespaces.sort_unstable();
        let mut identities: Vec<(&'a str, &'a str)> = identities.into_iter().collect();
        identities.sort_unstable();
        PolicyNames {
            namespaces,
            identities,
        }
    }

    fn collect_namespaces(
        &self,
        pattern: &str,
        namespaces: &NamespaceIndex<'_, 'a>,
        out: &mut HashSet<&'a str>,
    ) {
        if pattern == "*" {
            return;
        }
        if !pattern.contains('*') {
            if let Some((ns, _)) = namespaces.workloads.get_key_value(pattern) {
                out.insert(ns);
            }
            return;
        }
        if let Some(prefix) = pattern.strip_suffix('*').filter(|p| !p.contains('*')) {
            out.extend(namespaces.with_prefix(prefix).iter().copied());
            return;
        }
        for &ns in &namespaces.sorted {
            if pattern_matches(pattern, ns) {
                out.insert(ns);
            }
        }
    }

    /// Adds the identities `pattern` names: exact patterns directly, wildcards by scanning. A
    /// wildcard that covers every identity of a namespace (`cluster.local/ns/batch/*`) names the
    /// namespace instead, so its clients share one group rather than one each.
    fn collect_identities(
        &self,
        domains: &[&str],
        pattern: &'a str,
        kind: IdentityPattern,
        namespaces: &NamespaceIndex<'_, 'a>,
        out: &mut HashSet<(&'a str, &'a str)>,
        namespaces_out: &mut HashSet<&'a str>,
    ) {
        if pattern == "*" {
            return;
        }
        // A prefix that covers every identity (`cluster.local/ns/*`) singles nobody out.
        if kind == IdentityPattern::Principal
            && pattern.strip_suffix('*').is_some_and(|prefix| {
                !prefix.contains('*')
                    && domains
                        .iter()
                        .any(|td| format!("{td}/ns/").starts_with(prefix))
            })
        {
            return;
        }
        if !pattern.contains('*') {
            let parsed = match kind {
                IdentityPattern::Principal => pattern.split_once("/ns/").and_then(|(td, rest)| {
                    domains
                        .contains(&td)
                        .then(|| rest.split_once("/sa/"))
                        .flatten()
                }),
                IdentityPattern::ServiceAccount => pattern.split_once('/'),
            };
            if let Some(identity) = parsed {
                out.insert(identity);
            }
            return;
        }
        // Namespaces every identity of which the pattern matches, and which workloads can match
        // at all: a prefix that fixes the namespace limits the scan to it (the common
        // `cluster.local/ns/shop/sa/web-*`); one that stops inside the namespace name matches
        // only whole namespaces; anything else scans every workload.
        let prefix = pattern.strip_suffix('*').filter(|p| !p.contains('*'));
        let fixed = prefix.map(|p| (p, fixed_namespace(kind, p, domains)));
        let mut covered: HashSet<&str> = HashSet::default();
        let candidates: Box<dyn Iterator<Item = usize> + '_> = match fixed {
            Some((prefix, FixedNamespace::One(ns))) => match namespaces.workloads.get_key_value(ns)
            {
                Some((&ns, _)) if covers_namespace(kind, prefix, domains, ns) => {
                    // The whole namespace is covered: nobody to single out.
                    covered.insert(ns);
                    Box::new(std::iter::empty())
                }
                Some((_, workloads)) => Box::new(workloads.iter().copied()),
                None => Box::new(std::iter::empty()),
            },
            Some((_, FixedNamespace::CoveredOnly(name_prefix))) => {
                covered.extend(namespaces.with_prefix(name_prefix).iter().copied());
                Box::new(std::iter::empty())
            }
            Some((_, FixedNamespace::Unknown)) => Box::new(std::iter::empty()),
            None => Box::new(0..self.inventory.workloads.len()),
        };
        for w in candidates {
            let w = &self.inventory.workloads[w];
            let (ns, sa) = (w.namespace.as_str(), w.service_account.as_str());
            if covered.contains(ns) {
                continue;
            }
            let hit = match kind {
                IdentityPattern::Principal => principal_names(pattern, domains, ns, sa),
                IdentityPattern::ServiceAccount => pattern_matches(pattern, &format!("{ns}/{sa}")),
            };
            if hit {
                out.insert((ns, sa));
            }
        }
        namespaces_out.extend(covered);
    }

    fn evaluate(&self, client: &ClientSide<'_>, server: &ServerSide<'_>) -> EdgeGroup {
        // Each Service path, or the pod address when no Service leads to the port; the most
        // exposed working path is the one reported.
        let mut best: Option<(Transport, Option<ServicePortRef>, Vec<Because>)> = None;
        let paths: Vec<Option<ServicePortRef>> = if server.services.is_empty() {
            vec![None]
        } else {
            server.services.iter().copied().map(Some).collect()
        };
        let ambient_client = client
            .membership
            .is_some_and(|m| m.data_plane == DataPlane::Ambient);
        for (path, via) in paths.into_iter().enumerate() {
            // Each route the client's DestinationRule defines (default, subsets) is a path too.
            let variants = match via {
                Some(v) if client.meshed && !ambient_client => {
                    let service = &self.inventory.services[v.service];
                    let rules = &self.destination_rules;
                    let lookup = |namespace: &str, labels| {
                        rules.client_tls_variants(
                            namespace,
                            labels,
                            service,
                            v.port,
                            &server.workload.labels,
                        )
                    };
                    let found = if client.workload.is_none()
                        && rules.shares_others_view(client.namespace, &server.own_views[path])
                    {
                        let others = server.others_variants[path].get_or_init(|| lookup("", None));
                        rules.retarget_variants(others, client.namespace, &server.hosts[path])
                    } else {
                        lookup(client.namespace, client.workload.map(|w| &w.labels))
                    };
                    found.into_iter().map(Some).collect()
                }
                _ => vec![None],
            };
            for tls in variants {
                let (t, because) = self.transport(client, server, via, tls);
                if best
                    .as_ref()
                    .is_none_or(|(b, _, _)| t.exposure() > b.exposure())
                {
                    best = Some((t, via, because));
                }
            }
        }
        let (transport, via, transport_because) = best.expect("at least one path");
        let peer = if transport == Transport::Mtls {
            client.peer.clone()
        } else {
            PeerIdentity::None
        };
        let authorization = (server.proxied && transport != Transport::Fails).then(|| {
            let key: AuthzKey = (
                server.policy_list,
                if server.port_blind { 0 } else { server.port },
                server.layer as u8,
                server.request_authn,
            );
            let answers = || {
                self.authz_answers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            if let Some(known) = answers().get(&key).and_then(|by_peer| by_peer.get(&peer)) {
                return known.clone();
            }
            let request = Request {
                peer: &peer,
                port: server.port,
                layer: server.layer,
                jwt: server.request_authn,
                trust_domain: self.trust_domain,
                trust_domain_aliases: self.aliases,
            };
            let decision = self
                .authorization
                .evaluate(&server.node.authorization_policies, &request);
            answers()
                .entry(key)
                .or_default()
                .insert(peer.clone(), decision.clone());
            decision
        });
        EdgeGroup {
            client: client.client,
            namespace: (!client.namespace.is_empty() && client.workload.is_none())
                .then(|| client.namespace.to_owned()),
            transport,
            peer,
            via,
            transport_because,
            authorization,
        }
    }

    /// What the client sends on one path, and what the server makes of it.
    fn transport(
        &self,
        client: &ClientSide<'_>,
        server: &ServerSide<'_>,
        via: Option<ServicePortRef>,
        tls: Option<ClientTls>,
    ) -> (Transport, Vec<Because>) {
        let mut because = Vec::new();
        let destination_port = via.map_or(server.port, |v| v.port);

        // Does the client's proxy handle the connection?
        let mut client_proxy = client.meshed;
        match client.membership {
            Some(m) if !m.data_plane.is_meshed() => {
                because.extend(m.because.iter().cloned());
                because.push(Because::default(
                    "the client has no proxy, so it sends plaintext",
                ));
            }
            Some(m) => {
                let capture = &m.capture;
                if !capture.captures_outbound(destination_port) {
                    client_proxy = false;
                    because.extend(capture.because.iter().cloned());
                    because.push(Because::default(format!(
                        "so the client's connections to port {destination_port} leave without its proxy, in plaintext"
                    )));
                }
            }
            None if !client.meshed => {
                because.push(Because::default("a client without a proxy sends plaintext"))
            }
            None => {}
        }

        // What the client sends.
        let ambient_client = client
            .membership
            .is_some_and(|m| m.data_plane == DataPlane::Ambient);
        let sent = if !client_proxy {
            Sent::Plain
        } else if ambient_client {
            if matches!(
                server.node.membership.data_plane,
                DataPlane::Sidecar | DataPlane::Ambient
            ) {
                because.push(Because::default(
                    "the client is in ambient mode: ztunnel carries the connection over HBONE mutual TLS (DestinationRule TLS settings do not apply at L4)",
                ));
                Sent::Mtls
            } else {
                because.push(Because::default(
                    "the client is in ambient mode and the server has no proxy, so ztunnel sends plaintext",
                ));
                Sent::Plain
            }
        } else if let (Some(_), Some(tls)) = (via, tls) {
            because.extend(tls.because);
            match tls.choice {
                ClientTlsChoice::Explicit(ClientTlsMode::IstioMutual) => Sent::Mtls,
                ClientTlsChoice::Explicit(ClientTlsMode::Disable) => Sent::Plain,
                ClientTlsChoice::Explicit(
                    mode @ (ClientTlsMode::Simple | ClientTlsMode::Mutual),
                ) => {
                    because.push(Because::default(format!(
                        "{} originates its own TLS: encrypted, but without the mesh identity",
                        client_tls_mode_str(mode)
                    )));
                    Sent::Tls
                }
                ClientTlsChoice::Auto => self.auto_mtls_choice(server, &mut because),
            }
        } else {
            because.push(
                server
                    .no_service_path
                    .get_or_init(|| {
                        Because::default(format!(
                            "no Service leads to port {}, so clients reach it by pod address and their proxy passes the connection through without mTLS",
                            server.port
                        ))
                    })
                    .clone(),
            );
            Sent::Plain
        };

        // What the server side makes of it: the same for every client that sends the same.
        let (t, tail) =
            server.outcomes[sent as usize].get_or_init(|| self.server_outcome(server, sent));
        because.extend(tail.iter().cloned());
        (*t, because)
    }

    /// What the server port makes of what the client sends, and why.
    fn server_outcome(&self, server: &ServerSide<'_>, sent: Sent) -> (Transport, Vec<Because>) {
        let mode = server.mode.mode;
        let mut because = Vec::new();
        let server_name = &server.name;
        let t = if !server.proxied {
            because.extend(server.node.membership.because.iter().cloned());
            because.extend(server.node.membership.capture.because.iter().cloned());
            match sent {
                Sent::Mtls => {
                    because.push(Because::default(format!(
                        "the client's proxy sends Istio mTLS, but port {} of {server_name} is not behind a proxy, so the application receives TLS it cannot read",
                        server.port
                    )));
                    Transport::Fails
                }
                Sent::Plain => {
                    because.push(Because::default(format!(
                        "port {} of {server_name} is not behind a proxy: plaintext reaches the application directly",
                        server.port
                    )));
                    Transport::Plaintext
                }
                Sent::Tls => Transport::Tls,
            }
        } else {
            because.extend(server.mode.because.iter().cloned());
            match (sent, mode) {
                (Sent::Mtls, MtlsMode::Disable) => {
                    because.push(Because::default(format!(
                        "{server_name} port {} is DISABLE: its proxy does not terminate mTLS, so the connection fails",
                        server.port
                    )));
                    Transport::Fails
                }
                (Sent::Mtls, _) => Transport::Mtls,
                (Sent::Plain | Sent::Tls, MtlsMode::Strict) => {
                    because.push(Because::default(format!(
                        "{server_name} port {} is STRICT: connections without Istio mTLS are rejected",
                        server.port
                    )));
                    Transport::Fails
                }
                (Sent::Plain, m) => {
                    because.push(Because::default(format!(
                        "{server_name} port {} is {}: plaintext is accepted",
                        server.port,
                        m.as_str()
                    )));
                    Transport::Plaintext
                }
                (Sent::Tls, _) => Transport::Tls,
            }
        };
        (t, because)
    }

    /// Auto mTLS: mTLS to endpoints that carry the sidecar's `tlsMode: istio` label, unless the
    /// server side resolves to DISABLE (since Istio 1.12 for workload and port levels) or the
    /// namespace/mesh level does (then the whole service gets plaintext).
    fn auto_mtls_choice(&self, server: &ServerSide<'_>, because: &mut Vec<Because>) -> Sent {
        if !self.auto_mtls {
            because.push(self.auto_mtls_because.clone());
            because.push(Because::default(
                "with auto mTLS off and no tls setting, the client sends plaintext",
            ));
            return Sent::Plain;
        }
        match server.node.membership.data_plane {
            DataPlane::Sidecar | DataPlane::Ambient => {}
            _ => {
                because.push(Because::default(
                    "auto mTLS sends plaintext: the server pods carry no sidecar (no security.istio.io/tlsMode: istio label)",
                ));
                return Sent::Plain;
            }
        }
        if server.node.membership.data_plane == DataPlane::Ambient {
            because.push(Because::default(
                "the server is in ambient mode: the client's sidecar reaches it over HBONE mutual TLS",
            ));
            return Sent::Mtls;
        }
        let service_level = server
            .service_level
            .get_or_init(|| self.service_level_mode(&server.workload.namespace));
        if service_level.0 == MtlsMode::Disable {
            because.extend(service_level.1.iter().cloned());
            because.push(Because::default(
                "auto mTLS sends plaintext to the whole service, since its namespace/mesh mode is DISABLE",
            ));
            return Sent::Plain;
        }
        if server.mode.mode == MtlsMode::Disable {
            because.push(Because::default(
                "auto mTLS sends plaintext to this endpoint, since its resolved mode is DISABLE",
            ));
            return Sent::Plain;
        }
        because.push(self.auto_mtls_because.clone());
        because.push(Because::default(
            "auto mTLS sends Istio mTLS to the server's sidecar",
        ));
        Sent::Mtls
    }

    /// The namespace (else mesh) mode, the only levels auto mTLS consults service-wide.
    fn service_level_mode(&self, namespace: &str) -> (MtlsMode, Vec<Because>) {
        for p in [
            self.peer_authentications.namespace_wide(namespace),
            self.peer_authentications.mesh_wide(),
        ]
        .into_iter()
        .flatten()
        {
            let mode = p.spec.mode();
            if mode != MtlsMode::Unset {
                return (
                    mode,
                    vec![Because::at(
                        p.object,
                        &["spec".into(), "mtls".into(), "mode".into()],
                        format!("sets {} for the namespace or mesh", mode.as_str()),
                    )],
                );
            }
        }
        (MtlsMode::Permissive, Vec::new())
    }
}

/// What every server port's evaluation reads, computed once before them.
#[derive(Clone, Copy)]
struct Lookups<'l, 'a> {
    /// Per workload: the id of the list of AuthorizationPolicies that apply to it.
    policy_lists: &'l [u32],
    /// Per list id: none of its policies reads the destination port.
    port_blind: &'l [bool],
    nodes: &'l [WorkloadNode],
    by_namespace: &'l HashMap<&'a str, Vec<usize>>,
    clients: &'l ClientIndex<'a>,
    policy_names: &'l [PolicyNames<'a>],
}

/// The clients of each namespace and identity, as server ports ask for them, computed once.
struct ClientIndex<'a> {
    /// Ambient workloads per namespace.
    ambient: HashMap<&'a str, Vec<usize>>,
    /// Namespaces with a client whose sidecar or gateway proxy applies DestinationRules.
    proxied_namespaces: HashSet<&'a str>,
    identity_ids: HashMap<(&'a str, &'a str), u32>,
    identities: Vec<IdentityMembers>,
    identity_of: Vec<u32>,
}

#[derive(Default)]
struct IdentityMembers {
    ambient: Vec<usize>,
    /// Some member has a sidecar or gateway proxy.
    proxied: bool,
}

impl<'a> ClientIndex<'a> {
    fn new(inv: &'a Inventory, nodes: &[WorkloadNode]) -> Self {
        let mut index = ClientIndex {
            ambient: HashMap::default(),
            proxied_namespaces: HashSet::default(),
            identity_ids: HashMap::default(),
            identities: Vec::new(),
            identity_of: Vec::with_capacity(inv.workloads.len()),
        };
        for (w, workload) in inv.workloads.iter().enumerate() {
            let key = (
                workload.namespace.as_str(),
                workload.service_account.as_str(),
            );
            let next = u32::try_from(index.identities.len()).unwrap_or(u32::MAX);
            let id = *index.identity_ids.entry(key).or_insert(next);
            if id == next {
                index.identities.push(IdentityMembers::default());
            }
            index.identity_of.push(id);
            let members = &mut index.identities[id as usize];
            match nodes[w].membership.data_plane {
                DataPlane::Ambient => {
                    members.ambient.push(w);
                    index.ambient.entry(key.0).or_default().push(w);
                }
                DataPlane::None => {}
                DataPlane::Sidecar | DataPlane::Gateway => {
                    members.proxied = true;
                    index.proxied_namespaces.insert(key.0);
                }
            }
        }
        index
    }

    fn ambient_in(&self, namespace: &str) -> impl Iterator<Item = usize> + '_ {
        self.ambient.get(namespace).into_iter().flatten().copied()
    }
}

/// The input's namespaces: their workloads, and their names in order (for prefix patterns).
struct NamespaceIndex<'m, 'a> {
    workloads: &'m HashMap<&'a str, Vec<usize>>,
    sorted: Vec<&'a str>,
}

impl<'m, 'a> NamespaceIndex<'m, 'a> {
    fn new(workloads: &'m HashMap<&'a str, Vec<usize>>) -> Self {
        let mut sorted: Vec<&'a str> = workloads.keys().copied().collect();
        sorted.sort_unstable();
        NamespaceIndex { workloads, sorted }
    }

    /// The namespaces whose name starts with `prefix`.
    fn with_prefix(&self, prefix: &str) -> &[&'a str] {
        let start = self.sorted.partition_point(|ns| *ns < prefix);
        let len = self.sorted[start..].partition_point(|ns| ns.starts_with(prefix));
        &self.sorted[start..start + len]
    }
}

/// What one AuthorizationPolicy names (see [`Builder::policy_names`]).
struct PolicyNames<'a> {
    namespaces: Vec<&'a str>,
    /// `(namespace, service account)`.
    identities: Vec<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdentityPattern {
    /// `<trust domain>/ns/<namespace>/sa/<service account>`.
    Principal,
    /// `<namespace>/<service account>`.
    ServiceAccount,
}

/// What the client puts on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Mtls = 0,
    Plain = 1,
    Tls = 2,
}

struct ServerSide<'s> {
    workload: &'s Workload,
    /// The id of the list of AuthorizationPolicies that apply to the server.
    policy_list: u32,
    /// None of those policies reads the destination port.
    port_blind: bool,
    /// `namespace/name`, for the facts.
    name: String,
    node: &'s WorkloadNode,
    port: u16,
    services: &'s [ServicePortRef],
    proxied: bool,
    mode: &'s ModeDecision,
    layer: Layer,
    request_authn: bool,
    /// [`Builder::server_outcome`] per [`Sent`], computed once.
    outcomes: [OnceCell<(Transport, Vec<Because>)>; 3],
    no_service_path: OnceCell<Because>,
    /// Per Service path: what clients of a namespace without a view of its own are told
    /// (see [`DestinationRules::retarget_variants`]), computed once.
    others_variants: Vec<OnceCell<Vec<ClientTls>>>,
    /// Per Service path: the namespaces with a view of their own of its host.
    own_views: Vec<Vec<&'s str>>,
    /// Per Service path: its host ([`service_host`]).
    hosts: Vec<String>,
    /// [`Builder::service_level_mode`] of the server's namespace, computed once.
    service_level: OnceCell<(MtlsMode, Vec<Because>)>,
}

fn detection_text(protocol: Protocol) -> &'static str {
    if protocol == Protocol::Auto {
        "detects HTTP by sniffing and handles anything else as TCP"
    } else {
        "handles it as TCP (a well-known server-first port)"
    }
}

/// The container port a Service port reaches on `workload`: a number, or a named port looked up
/// in the workload's containers.
fn target_port_on(port: &meshaudit_model::k8s::ServicePort, workload: &Workload) -> Option<u16> {
    use meshaudit_model::k8s::IntOrString;
    match &port.target_port {
        None => Some(port.port),
        Some(t) => t.as_port().or_else(|| match t {
            IntOrString::String(name) => workload
                .containers
                .iter()
                .flat_map(|c| &c.ports)
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.container_port),
            IntOrString::Int(_) => None,
        }),
    }
}
