//! The effective-policy graph: for every client and every server port, is the connection
//! encrypted, which identity does the server see, and does authorization let it through — with
//! the resources that decided each answer.
//!
//! This module is the mesh-neutral part: workloads, the ports they serve, the Services that lead
//! to them, client classes, NetworkPolicy, the edge table. What a mesh decides — whether a
//! workload has a proxy and what it captures (membership), what travels on the wire (transport)
//! and what authorization lets through — is each mesh's evaluator's (`crate::istio::evaluator`,
//! `crate::linkerd::evaluator`). Every workload belongs to at most one mesh; a server port is
//! evaluated by its workload's mesh, and a server without a proxy by the input's primary mesh.
//!
//! Clients are evaluated in classes, not one by one: for a server port, only clients its
//! policies can tell apart (a namespace or identity they name, a client whose proxy does not
//! capture the connection) are evaluated individually; every other client falls into a
//! catch-all group — "any other meshed workload" (of the primary mesh), one per other mesh of
//! the input, and "any workload without a proxy" — evaluated once. That keeps the graph linear
//! in the number of workloads for typical policies.

use crate::{HashMap, HashSet};

use meshaudit_model::k8s::Workload;
use meshaudit_model::parallel::map_in_order;
use meshaudit_model::{
    AuthorizationPolicyId, Idx, Inventory, Mesh, RequestAuthenticationId, ServiceId, WorkloadId,
};

use crate::authorization::{AuthzDecision, Decision, PeerIdentity};
use crate::evidence::Because;
use crate::membership::{DataPlane, Membership};
use crate::network_policy::{NetworkDecision, NetworkPolicyIndex, Source};

/// The port ztunnel tunnels ambient mesh traffic to (HBONE).
pub const HBONE_PORT: u16 = 15008;
use crate::peer_authentication::{ModeDecision, WorkloadMtls};
use crate::protocol::Protocol;

/// A workload as the graph sees it.
#[derive(Debug, Clone)]
pub struct WorkloadNode {
    pub namespace: String,
    /// The mesh whose proxy the workload runs (none without a proxy).
    pub mesh: Option<Mesh>,
    /// Whether it has a proxy and what that captures, in its mesh's terms (a Linkerd proxy is a
    /// sidecar too).
    pub membership: Membership,
    /// The identity its proxy presents, in its mesh's form: Istio's
    /// `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`, Linkerd's
    /// `<service account>.<namespace>.serviceaccount.identity.linkerd.<trust domain>`.
    pub identity: Option<String>,
    /// Istio's PeerAuthentication resolution (Istio's default for workloads of other meshes).
    pub mtls: WorkloadMtls,
    /// Istio AuthorizationPolicies that apply.
    pub authorization_policies: Vec<AuthorizationPolicyId>,
    /// RequestAuthentications that apply.
    pub request_authentications: Vec<RequestAuthenticationId>,
    /// Services that select it.
    pub services: Vec<ServiceId>,
}

impl WorkloadNode {
    /// The workload's Istio data plane: what Istio's rules ask about. A workload of another
    /// mesh has none, whatever proxy it runs.
    pub fn istio_data_plane(&self) -> DataPlane {
        match self.mesh {
            Some(Mesh::Istio) | None => self.membership.data_plane,
            Some(_) => DataPlane::None,
        }
    }
}

/// A Service port that leads to a server port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePortRef {
    pub service: ServiceId,
    /// Index in the Service's `spec.ports`.
    pub index: usize,
    pub port: u16,
}

/// Who a group of edges comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    Workload(WorkloadId),
    /// Any meshed workload the server's policies do not name (including ones outside the input).
    OtherMeshed,
    /// Any workload without a proxy (including ones outside the input).
    OtherUnmeshed,
    /// Any workload of another mesh than the graph's primary one (see [`Graph::primary_mesh`]).
    OtherMesh(Mesh),
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
    pub(crate) fn exposure(self) -> u8 {
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

/// A server port: an index into [`Graph::servers`].
pub type ServerPortId = Idx<ServerPort>;

/// One port a workload serves.
#[derive(Debug, Clone)]
pub struct ServerPort {
    pub workload: WorkloadId,
    /// The port the application listens on (a container port / Service target port).
    pub port: u16,
    pub protocol: Protocol,
    pub protocol_because: Because,
    pub services: Vec<ServicePortRef>,
    /// Inbound traffic to the port passes through a proxy (sidecar or ztunnel).
    pub proxied: bool,
    pub mode: ModeDecision,
    pub groups: Vec<EdgeGroup>,
    /// The mesh whose evaluator decided the port: its workload's, or the graph's primary mesh
    /// for a workload without a proxy.
    pub mesh: Mesh,
    /// Linkerd's inbound policy for the port (Linkerd servers behind their proxy only).
    pub linkerd: Option<crate::linkerd::evaluator::PortPolicy>,
    pub(crate) individual: SortedMap<WorkloadId>,
    /// Meshed clients of one identity (namespace, service account) the policies name, by
    /// identity id (see [`Graph::identity_of`]).
    pub(crate) identity_groups: SortedMap<u32>,
    /// Meshed clients of a namespace the policies name, or with its own DestinationRule for
    /// the port's host.
    pub(crate) namespace_groups: SortedMap<String>,
    pub(crate) other_meshed: usize,
    pub(crate) other_unmeshed: usize,
    /// The catch-all group of each other mesh of the input, by mesh.
    pub(crate) other_meshes: Vec<(Mesh, usize)>,
    /// Clients of another mesh in a namespace whose proxies originate differently toward this
    /// port than that mesh's other clients (an Istio namespace with a DestinationRule of its
    /// own for the port's host), by mesh.
    pub(crate) foreign_namespace_groups: Vec<(Mesh, SortedMap<String>)>,
}

impl ServerPort {
    /// What the port enforces, in its mesh's terms: Istio's PeerAuthentication mode, or
    /// Linkerd's inbound policy (`server` when a Server governs the port, else the default
    /// policy); `None` when no proxy stands in front of it.
    pub fn mode_text(&self) -> Option<&'static str> {
        if !self.proxied {
            return None;
        }
        Some(match &self.linkerd {
            Some(policy) => policy.mode_text(),
            None => self.mode.mode.as_str(),
        })
    }

    /// The answer for `client`.
    pub fn group_for(&self, graph: &Graph, client: Client) -> &EdgeGroup {
        &self.groups[self.group_index_for(graph, client)]
    }

    /// The index in [`groups`](ServerPort::groups) of the answer for `client`.
    pub fn group_index_for(&self, graph: &Graph, client: Client) -> usize {
        match client {
            Client::Workload(w) => {
                let node = graph.workload(w);
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
                    // Policies name identities of the port's own mesh only: a client of another
                    // mesh presents none it would accept.
                    None if node.membership.data_plane.is_meshed()
                        && node.mesh == Some(self.mesh) =>
                    {
                        self.identity_groups
                            .get(&graph.identity_of[w.index()])
                            .or_else(|| self.namespace_groups.get(node.namespace.as_str()))
                            .copied()
                            .unwrap_or_else(|| self.catch_all_index(graph, node.mesh))
                    }
                    None if node.membership.data_plane.is_meshed() => self
                        .foreign_namespace_groups
                        .iter()
                        .find(|(m, _)| Some(*m) == node.mesh)
                        .and_then(|(_, groups)| groups.get(node.namespace.as_str()))
                        .copied()
                        .unwrap_or_else(|| self.catch_all_index(graph, node.mesh)),
                    None => self.other_unmeshed,
                }
            }
            Client::OtherMeshed => self.other_meshed,
            Client::OtherUnmeshed => self.other_unmeshed,
            Client::OtherMesh(mesh) => self.catch_all_index(graph, Some(mesh)),
        }
    }

    /// The catch-all group of meshed clients of `mesh`.
    fn catch_all_index(&self, graph: &Graph, mesh: Option<Mesh>) -> usize {
        match mesh {
            Some(m) if m != graph.primary_mesh => self
                .other_meshes
                .iter()
                .find(|(om, _)| *om == m)
                .map_or(self.other_unmeshed, |&(_, g)| g),
            _ => self.other_meshed,
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
pub(crate) struct SortedMap<K>(Vec<(K, usize)>);

impl<K: Ord> SortedMap<K> {
    /// `entries` must be sorted by key, without repeats.
    pub(crate) fn from_sorted(entries: Vec<(K, usize)>) -> Self {
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
    /// Istio's trust domain.
    pub trust_domain: String,
    /// What Linkerd identities end with: `identity.<control-plane namespace>.<trust domain>`
    /// (from linkerd-config; `identity.linkerd.cluster.local` by default).
    pub linkerd_identity_domain: String,
    pub auto_mtls: bool,
    /// The mesh [`Client::OtherMeshed`] stands for: Istio when any workload has an Istio proxy,
    /// else the mesh with workloads in the input (Istio when none has).
    pub primary_mesh: Mesh,
    /// The other meshes with workloads in the input, in order: each has its catch-all client
    /// class, [`Client::OtherMesh`].
    pub other_meshes: Vec<Mesh>,
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
    /// Per Istio AuthorizationPolicy (by its index): the workloads it applies to.
    by_authorization_policy: Vec<Vec<WorkloadId>>,
    /// Per RequestAuthentication (by its index): the workloads it applies to.
    by_request_authentication: Vec<Vec<WorkloadId>>,
    /// Per workload (by its index): the servers that evaluate it as an individual client.
    individual_at: Vec<Vec<ServerPortId>>,
    /// Per namespace: the servers with a group for that namespace's meshed clients.
    namespace_group_at: HashMap<String, Vec<ServerPortId>>,
    /// Per identity id: the servers with a group for that identity's meshed clients.
    identity_group_at: HashMap<u32, Vec<ServerPortId>>,
    /// Per destination port (a server port, or a Service port that leads to one): the servers.
    by_destination_port: HashMap<u16, Vec<ServerPortId>>,
    /// Per Service (by its index): the servers it leads to.
    by_service: Vec<Vec<ServerPortId>>,
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
        for (w, node) in WorkloadId::all(&inv.workloads).zip(workloads) {
            for &p in &node.authorization_policies {
                index.by_authorization_policy[p.index()].push(w);
            }
            for &r in &node.request_authentications {
                index.by_request_authentication[r.index()].push(w);
            }
        }
        // Servers are visited in order, so every list comes out sorted.
        for (s, server) in ServerPortId::enumerate(servers) {
            // The maps are sorted by key.
            for &c in server.individual.keys() {
                index.individual_at[c.index()].push(s);
            }
            for &id in server.identity_groups.keys() {
                index.identity_group_at.entry(id).or_default().push(s);
            }
            let foreign = server
                .foreign_namespace_groups
                .iter()
                .flat_map(|(_, groups)| groups.keys());
            for ns in server.namespace_groups.keys().chain(foreign) {
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
            let mut services: Vec<ServiceId> = server.services.iter().map(|v| v.service).collect();
            services.sort_unstable();
            services.dedup();
            for service in services {
                index.by_service[service.index()].push(s);
            }
        }
        index
    }
}

impl Graph {
    /// The catch-all client classes: [`Client::OtherMeshed`], [`Client::OtherUnmeshed`], then
    /// one [`Client::OtherMesh`] per other mesh of the input.
    pub fn catch_all_classes(&self) -> Vec<Client> {
        let mut out = vec![Client::OtherMeshed, Client::OtherUnmeshed];
        out.extend(self.other_meshes.iter().map(|&m| Client::OtherMesh(m)));
        out
    }

    /// Every edge: each workload (but the server itself) and the catch-all groups, to every
    /// server port.
    pub fn edges(&self) -> impl Iterator<Item = Edge<'_>> + '_ {
        let classes = self.catch_all_classes();
        self.servers.iter().flat_map(move |server| {
            self.workload_ids()
                .filter(move |&w| w != server.workload)
                .map(Client::Workload)
                .chain(classes.clone())
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
        if let (
            Client::Workload(w),
            Client::OtherMeshed | Client::OtherUnmeshed | Client::OtherMesh(_),
        ) = (edge.client, edge.group.client)
        {
            let m = &self.workload(w).membership;
            chain.extend(m.because.iter().cloned());
            if m.data_plane.is_meshed() {
                chain.extend(m.capture.because.iter().cloned());
            }
        }
        chain.extend(edge.group.transport_because.iter().cloned());
        chain
    }

    /// The graph's node for workload `w`.
    pub fn workload(&self, w: WorkloadId) -> &WorkloadNode {
        &self.workloads[w.index()]
    }

    /// Every workload's id, in order.
    pub fn workload_ids(&self) -> impl DoubleEndedIterator<Item = WorkloadId> + ExactSizeIterator {
        (0..self.workloads.len()).map(WorkloadId::new)
    }

    /// Every workload's node with its id, in order.
    pub fn workloads_with_ids(&self) -> impl ExactSizeIterator<Item = (WorkloadId, &WorkloadNode)> {
        self.workloads
            .iter()
            .enumerate()
            .map(|(i, n)| (WorkloadId::new(i), n))
    }

    /// Server port `s`.
    pub fn server(&self, s: ServerPortId) -> &ServerPort {
        &self.servers[s]
    }

    /// Every server port's id, in order.
    pub fn server_ids(&self) -> impl DoubleEndedIterator<Item = ServerPortId> + ExactSizeIterator {
        ServerPortId::all(&self.servers)
    }

    /// The server ports of workload `w`.
    pub fn ports_of(&self, w: WorkloadId) -> impl Iterator<Item = &ServerPort> + '_ {
        self.servers[self.port_range(w)].iter()
    }

    /// The indexes in `servers` of workload `w`'s ports.
    fn port_range(&self, w: WorkloadId) -> std::ops::Range<usize> {
        // `servers` is sorted by workload, then port.
        let start = self.servers.partition_point(|s| s.workload < w);
        let end = start + self.servers[start..].partition_point(|s| s.workload == w);
        start..end
    }

    /// The workloads Istio AuthorizationPolicy `policy` applies to, in order.
    pub fn workloads_of_authorization_policy(
        &self,
        policy: AuthorizationPolicyId,
    ) -> &[WorkloadId] {
        self.index
            .by_authorization_policy
            .get(policy.index())
            .map_or(&[], Vec::as_slice)
    }

    /// The workloads RequestAuthentication `id` applies to, in order.
    pub fn workloads_of_request_authentication(
        &self,
        id: RequestAuthenticationId,
    ) -> &[WorkloadId] {
        self.index
            .by_request_authentication
            .get(id.index())
            .map_or(&[], Vec::as_slice)
    }

    /// The server ports (indexes into `servers`) that Service `service` leads to, in order.
    pub fn servers_of_service(&self, service: ServiceId) -> &[ServerPortId] {
        self.index
            .by_service
            .get(service.index())
            .map_or(&[], Vec::as_slice)
    }

    /// The server ports (indexes into `servers`) a client reaches by connecting to `port`: the
    /// port itself, or a Service port leading to it. In order.
    pub fn servers_at_destination_port(&self, port: u16) -> &[ServerPortId] {
        self.index
            .by_destination_port
            .get(&port)
            .map_or(&[], Vec::as_slice)
    }

    /// The server ports (indexes into `servers`, in order) that evaluate workload `w` as an
    /// individual client.
    pub fn individually_at(&self, w: WorkloadId) -> &[ServerPortId] {
        self.index
            .individual_at
            .get(w.index())
            .map_or(&[], Vec::as_slice)
    }

    /// The ids of workload `w`'s own ports, in order.
    pub fn own_ports(
        &self,
        w: WorkloadId,
    ) -> impl DoubleEndedIterator<Item = ServerPortId> + ExactSizeIterator + Clone {
        self.port_range(w).map(ServerPortId::new)
    }

    /// The catch-all group workload `w` falls into at a server port that does not treat it
    /// apart: [`Client::OtherMeshed`] for a workload of the primary mesh whose proxy handles
    /// its outbound connections, [`Client::OtherMesh`] for one of another mesh,
    /// [`Client::OtherUnmeshed`] otherwise.
    pub fn catch_all(&self, w: WorkloadId) -> Client {
        let node = self.workload(w);
        let membership = &node.membership;
        let capture = &membership.capture;
        if membership.data_plane.is_meshed()
            && !capture.outbound_bypass_all
            && capture.proxy_uid_containers.is_empty()
        {
            match node.mesh {
                Some(m) if m != self.primary_mesh => Client::OtherMesh(m),
                _ => Client::OtherMeshed,
            }
        } else {
            Client::OtherUnmeshed
        }
    }

    /// The identity a server of `mesh` sees, in that mesh's form.
    pub fn peer_text(&self, mesh: Mesh, peer: &PeerIdentity) -> Option<String> {
        let td = &self.trust_domain;
        let ld = &self.linkerd_identity_domain;
        match (mesh, peer) {
            (_, PeerIdentity::None) => None,
            (
                Mesh::Linkerd,
                PeerIdentity::Known {
                    namespace,
                    service_account,
                },
            ) => Some(format!("{service_account}.{namespace}.serviceaccount.{ld}")),
            (Mesh::Linkerd, PeerIdentity::Other) => Some(format!("*.{ld}")),
            (Mesh::Linkerd, PeerIdentity::Namespace { namespace }) => {
                Some(format!("*.{namespace}.serviceaccount.{ld}"))
            }
            (
                _,
                PeerIdentity::Known {
                    namespace,
                    service_account,
                },
            ) => Some(format!("spiffe://{td}/ns/{namespace}/sa/{service_account}")),
            (_, PeerIdentity::Other) => Some(format!("spiffe://{td}/*")),
            (_, PeerIdentity::Namespace { namespace }) => {
                Some(format!("spiffe://{td}/ns/{namespace}/sa/*"))
            }
        }
    }

    /// Whether `class` is a catch-all class of clients with a proxy.
    pub fn is_meshed_class(class: Client) -> bool {
        matches!(class, Client::OtherMeshed | Client::OtherMesh(_))
    }

    /// The server ports (indexes into `servers`, sorted, without repeats) where client `w`'s
    /// answer may not be its [`catch_all`](Graph::catch_all) group: ports that evaluate it
    /// individually, that have a group for its identity or namespace, or that it reaches past
    /// its proxy —
    /// and its own ports, which are no edges of it. At every other port,
    /// `group_for(Client::Workload(w))` is the catch-all group.
    pub fn treated_apart(&self, w: WorkloadId) -> Vec<ServerPortId> {
        let mut out: Vec<ServerPortId> = self.index.individual_at[w.index()].clone();
        out.extend(self.own_ports(w));
        let node = self.workload(w);
        if Graph::is_meshed_class(self.catch_all(w)) {
            if let Some(servers) = self.index.namespace_group_at.get(&node.namespace) {
                out.extend_from_slice(servers);
            }
            if let Some(servers) = self
                .index
                .identity_group_at
                .get(&self.identity_of[w.index()])
            {
                out.extend_from_slice(servers);
            }
            for port in &node.membership.capture.excluded_outbound_ports {
                out.extend_from_slice(self.servers_at_destination_port(*port));
            }
            if let Some(set) = &node.membership.capture.excluded_outbound_set {
                for (&port, servers) in &self.index.by_destination_port {
                    if set.contains(port) {
                        out.extend_from_slice(servers);
                    }
                }
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
            self.workload(server.workload).membership.data_plane == DataPlane::Ambient;
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
            Client::OtherMeshed | Client::OtherUnmeshed | Client::OtherMesh(_) => Source::AnyPod,
        };
        let ambient = |w: WorkloadId| self.workload(w).membership.data_plane == DataPlane::Ambient;
        let client_ambient = matches!(client, Client::Workload(w) if ambient(w));
        let hbone = (ambient(server.workload) || client_ambient)
            && server.group_for(self, client).transport == Transport::Mtls;
        let port = if hbone { HBONE_PORT } else { server.port };
        (source, port, hbone)
    }

    /// The group that answers for `client` at `server`; `Client::OtherMeshed` and
    /// `Client::OtherUnmeshed` name the catch-all groups.
    pub fn group(&self, server: ServerPortId, client: Client) -> &EdgeGroup {
        self.servers[server].group_for(self, client)
    }
}

/// What every mesh's evaluator reads about the whole graph, computed once by the common part.
pub(crate) struct Shared<'l, 'a> {
    pub nodes: &'l [WorkloadNode],
    /// Workloads per namespace.
    pub by_namespace: &'l HashMap<&'a str, Vec<WorkloadId>>,
    /// Per `(namespace, service account)`: its identity id; see [`Graph::identity_of`].
    pub identity_ids: &'l HashMap<(&'a str, &'a str), u32>,
    pub primary: Mesh,
    pub other_meshes: &'l [Mesh],
    /// How each mesh's client proxies originate connections to workloads outside that mesh,
    /// for the meshes that say (see [`ForeignOrigination`]).
    pub origination: &'l [(Mesh, &'l dyn ForeignOrigination)],
}

impl Shared<'_, '_> {
    /// How clients of `mesh` originate toward workloads outside it, when that mesh says.
    pub fn origination(&self, mesh: Mesh) -> Option<&dyn ForeignOrigination> {
        self.origination
            .iter()
            .find(|(m, _)| *m == mesh)
            .map(|(_, o)| *o)
    }

    /// The catch-all client classes every server port evaluates, with the mesh of their
    /// clients (none for clients without a proxy), in [`Graph::catch_all_classes`] order.
    pub fn catch_all_classes(&self) -> Vec<(Client, Option<Mesh>)> {
        let mut out = vec![
            (Client::OtherMeshed, Some(self.primary)),
            (Client::OtherUnmeshed, None),
        ];
        out.extend(
            self.other_meshes
                .iter()
                .map(|&m| (Client::OtherMesh(m), Some(m))),
        );
        out
    }
}

/// What a client's proxy sends on one path toward a workload outside its mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Originated {
    Plaintext,
    /// The client mesh's own mutual TLS, which only that mesh's proxies terminate.
    MeshMtls,
    /// TLS the client's proxy originates as the application's TLS client (Istio's `SIMPLE` /
    /// `MUTUAL`): encrypted, without a mesh identity.
    OwnTls,
}

/// One answer of [`ForeignOrigination::originates`], with why.
pub(crate) struct Origination {
    pub sent: Originated,
    pub because: Vec<Because>,
}

/// How one mesh's client proxies originate connections to workloads outside that mesh. The
/// evaluator of the server's mesh asks it for that mesh's clients, so that an edge between two
/// meshes is decided by both sides: the client's proxy configuration (Istio's DestinationRules)
/// and the server's proxy.
pub(crate) trait ForeignOrigination: Sync {
    /// Namespaces whose clients may originate differently toward these Service ports than the
    /// mesh's other clients: they get a group of their own. Sorted, without repeats.
    fn namespaces_with_own_view(&self, services: &[ServicePortRef]) -> Vec<String>;

    /// What clients in `namespace` (`""`: the mesh's clients elsewhere) send toward `server`
    /// through the Service port `via` (none: to the pod address), on each route that can
    /// reach it.
    fn originates(
        &self,
        namespace: &str,
        server: WorkloadId,
        via: Option<ServicePortRef>,
    ) -> Vec<Origination>;
}

/// A server port and the Service ports that lead to it, for an evaluator to decide.
pub(crate) struct PortToEvaluate {
    pub workload: WorkloadId,
    pub port: u16,
    pub services: Vec<ServicePortRef>,
}

/// The facts the graph reads that others read too, built once by whoever holds them (the rules'
/// `Context`) and lent to [`build_from`].
pub struct Resolvers<'r, 'a> {
    pub hooks: &'r [crate::webhooks::Hook<'a>],
    pub peer_authentications: &'r crate::peer_authentication::PeerAuthentications<'a>,
    pub destination_rules: &'r crate::destination_rule::DestinationRules<'a>,
    /// Per workload (may be empty when the input holds nothing of Linkerd).
    pub linkerd_membership: &'r [crate::linkerd::membership::LinkerdMembership],
    pub linkerd_policy: &'r crate::linkerd::policy::LinkerdPolicy<'a>,
}

/// Builds the graph for the inventory.
pub fn build(inventory: &Inventory) -> Graph {
    let hooks = crate::webhooks::hooks(inventory);
    let peer_authentications = crate::peer_authentication::PeerAuthentications::new(inventory);
    let destination_rules = crate::destination_rule::DestinationRules::new(inventory);
    let linkerd_membership = if crate::linkerd::evaluator::has_linkerd(inventory) {
        crate::linkerd::membership::LinkerdMembership::of_all(inventory, &hooks)
    } else {
        Vec::new()
    };
    let linkerd_policy =
        crate::linkerd::policy::LinkerdPolicy::with_membership(inventory, &linkerd_membership);
    build_from(
        inventory,
        &Resolvers {
            hooks: &hooks,
            peer_authentications: &peer_authentications,
            destination_rules: &destination_rules,
            linkerd_membership: &linkerd_membership,
            linkerd_policy: &linkerd_policy,
        },
    )
}

/// Builds the graph for the inventory from facts already built for it.
pub fn build_from(inventory: &Inventory, facts: &Resolvers<'_, '_>) -> Graph {
    let inv = inventory;
    let istio = crate::istio::evaluator::Builder::new(inv, facts);
    let linkerd = crate::linkerd::evaluator::Evaluator::new(inv, facts);
    let indexes: Vec<WorkloadId> = inv.workload_ids().collect();
    // A workload runs at most one mesh's proxy: an Istio one when Istio injects it (or it
    // already carries it), else a Linkerd one when Linkerd does.
    let mut nodes: Vec<WorkloadNode> = map_in_order(&indexes, |&i| {
        let node = istio.node(i);
        if node.membership.data_plane.is_meshed() {
            return node;
        }
        linkerd.node(i, node)
    });

    // Which workloads each Service selects, by namespace index.
    let mut by_namespace: HashMap<&str, Vec<WorkloadId>> = HashMap::default();
    for (i, w) in WorkloadId::enumerate(&inv.workloads) {
        by_namespace
            .entry(w.namespace.as_str())
            .or_default()
            .push(i);
    }
    let mut ports: HashMap<(WorkloadId, u16), Vec<ServicePortRef>> = HashMap::default();
    for (s, service) in ServiceId::enumerate(&inv.services) {
        let Some(selector) = service.spec.selector.as_ref().filter(|m| !m.is_empty()) else {
            continue;
        };
        // Through the label index, not by testing every workload of the namespace.
        for w in inv.workloads_matching_in(&service.namespace, selector) {
            let workload = &inv.workloads[w];
            nodes[w.index()].services.push(s);
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
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        for c in &workload.containers {
            if c.name == "istio-proxy" || c.name == meshaudit_model::linkerd::PROXY_CONTAINER {
                continue;
            }
            for p in &c.ports {
                if p.protocol.as_deref().is_some_and(|proto| proto != "TCP") {
                    continue;
                }
                ports.entry((w, p.container_port)).or_default();
            }
        }
        // Linkerd's proxy serves its admin port (`/metrics`, `/env.json`, probes) on every pod,
        // under the pod's inbound policy, whether or not the template declares it.
        if nodes[w.index()].mesh == Some(Mesh::Linkerd) {
            ports
                .entry((w, meshaudit_model::linkerd::PROXY_ADMIN_PORT))
                .or_default();
        }
    }
    let mut keys: Vec<(WorkloadId, u16)> = ports.keys().copied().collect();
    keys.sort_unstable();

    // Workloads that run as the same identity (namespace, service account) share an id.
    let mut identity_ids: HashMap<(&str, &str), u32> = HashMap::default();
    let identity_of: Vec<u32> = inv
        .workloads
        .iter()
        .map(|w| {
            let next = u32::try_from(identity_ids.len()).unwrap_or(u32::MAX);
            *identity_ids
                .entry((w.namespace.as_str(), w.service_account.as_str()))
                .or_insert(next)
        })
        .collect();

    // The meshes with workloads in the input; Istio first, as the one `OtherMeshed` names
    // whenever it has any, so that Istio-only inputs read as they always did.
    let mut meshes: Vec<Mesh> = nodes.iter().filter_map(|n| n.mesh).collect();
    meshes.sort_unstable();
    meshes.dedup();
    let primary = meshes.first().copied().unwrap_or(Mesh::Istio);
    let other_meshes: Vec<Mesh> = meshes.into_iter().filter(|&m| m != primary).collect();
    if primary == Mesh::Linkerd {
        // Say why a workload has no proxy in the terms of the mesh the input is about.
        for (i, node) in nodes.iter_mut().enumerate() {
            if node.mesh.is_none() {
                linkerd.explain_unmeshed(WorkloadId::new(i), node);
            }
        }
    }

    let todo: Vec<PortToEvaluate> = keys
        .into_iter()
        // Gateways' listeners follow Gateway resources, audited by their own rules.
        .filter(|&(w, _)| nodes[w.index()].membership.data_plane != DataPlane::Gateway)
        .map(|(w, port)| PortToEvaluate {
            workload: w,
            port,
            services: ports.remove(&(w, port)).unwrap_or_default(),
        })
        .collect();
    let origination: [(Mesh, &dyn ForeignOrigination); 1] = [(Mesh::Istio, &istio)];
    let shared = Shared {
        nodes: &nodes,
        by_namespace: &by_namespace,
        identity_ids: &identity_ids,
        primary,
        other_meshes: &other_meshes,
        origination: &origination,
    };
    let istio_ready = istio.prepare(&shared);
    let linkerd_ready = linkerd.prepare(&shared);
    // Server ports are independent of each other: evaluate them on every core, each by its
    // workload's mesh (the primary mesh for a workload without a proxy).
    let servers = map_in_order(&todo, |todo| {
        match nodes[todo.workload.index()].mesh.unwrap_or(primary) {
            Mesh::Linkerd => linkerd_ready.server_port(&shared, todo),
            _ => istio_ready.server_port(&shared, todo),
        }
    });
    let ambient_namespaces = istio_ready.ambient_namespaces();
    drop(istio_ready);
    drop(linkerd_ready);
    Graph {
        index: Index::new(inv, &nodes, &servers),
        network_policies: NetworkPolicyIndex::new(inv),
        ambient_namespaces,
        identity_of,
        workloads: nodes,
        servers,
        trust_domain: istio.trust_domain().to_owned(),
        linkerd_identity_domain: linkerd.identity_domain(),
        auto_mtls: istio.auto_mtls(),
        primary_mesh: primary,
        other_meshes,
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
