//! Linkerd's evaluator for the effective-policy graph, in Linkerd's own terms.
//!
//! - Membership comes from [`crate::linkerd::membership`]: the `linkerd.io/inject` decision
//!   and the proxy injector's selectors; skipped ports bypass the proxy both ways.
//! - Transport: between two meshed pods the client's proxy originates mutual TLS with the
//!   identity the destination controller gives for the endpoint — on pod addresses as on
//!   Services. A client without Linkerd's proxy (unmeshed, another mesh's, or one whose port is
//!   skipped) sends plaintext, which a Linkerd server accepts and authorizes as unauthenticated;
//!   a skipped server port gets no identity, so even meshed clients send plaintext to it.
//! - Authorization comes from [`crate::linkerd::policy`]: the Server that governs the port and
//!   its authorizations, else the pod's default inbound policy
//!   ([`crate::linkerd::defaults`]).

use meshaudit_model::linkerd::{DefaultInboundPolicy, ProxyProtocol};
use meshaudit_model::{Inventory, LinkerdServerId, Mesh, WorkloadId};

use crate::authorization::{AuthzDecision, PeerIdentity};
use crate::evidence::Because;
use crate::graph::{
    Client, EdgeGroup, ForeignOrigination, Originated, PortToEvaluate, ServerPort, ServicePortRef,
    Shared, SortedMap, Transport, WorkloadNode,
};
use crate::linkerd::defaults::{resolve_for_port, DefaultPolicy};
use crate::linkerd::membership::{InboundPath, LinkerdMembership};
use crate::linkerd::policy::{ClientNetwork, LinkerdClient, LinkerdPolicy};
use crate::membership::{Capture, DataPlane, InboundCapture, Membership};
use crate::protocol::Protocol;
use crate::{HashMap, HashSet};

/// How Linkerd decides one server port: the Server that governs it, or the default policy.
#[derive(Debug, Clone)]
pub struct PortPolicy {
    /// The Server that governs the port.
    pub server: Option<LinkerdServerId>,
    /// The pod's default inbound policy for the port (what decides it when no Server does).
    pub default: DefaultInboundPolicy,
    pub because: Vec<Because>,
}

impl PortPolicy {
    /// What the graph's MODE column shows: `server` when a Server governs the port, else the
    /// default policy.
    pub fn mode_text(&self) -> &'static str {
        match self.server {
            Some(_) => "server",
            None => self.default.as_str(),
        }
    }
}

/// Linkerd's evaluator, built once per inventory.
pub(crate) struct Evaluator<'r, 'a> {
    inventory: &'a Inventory,
    /// Per workload, by its index (empty when the input holds nothing of Linkerd).
    memberships: &'r [LinkerdMembership],
    policy: &'r LinkerdPolicy<'a>,
}

impl<'r, 'a> Evaluator<'r, 'a> {
    pub(crate) fn new(inventory: &'a Inventory, facts: &crate::graph::Resolvers<'r, 'a>) -> Self {
        Evaluator {
            inventory,
            memberships: facts.linkerd_membership,
            policy: facts.linkerd_policy,
        }
    }

    /// What Linkerd identities end with: `identity.<control-plane namespace>.<trust domain>`.
    pub(crate) fn identity_domain(&self) -> String {
        let l = &self.inventory.linkerd;
        format!(
            "identity.{}.{}",
            l.control_plane_namespace(),
            l.trust_domain()
        )
    }

    /// Workload `i` as Linkerd sees it, when Linkerd's proxy runs in its pods; else `istio`
    /// (what Istio's evaluator made of it) unchanged.
    pub(crate) fn node(&self, i: WorkloadId, istio: WorkloadNode) -> WorkloadNode {
        match self.memberships.get(i.index()) {
            Some(m) if m.meshed => WorkloadNode {
                mesh: Some(Mesh::Linkerd),
                membership: graph_membership(m),
                identity: m.identity.clone(),
                // Istio's policies do not apply where no Envoy runs.
                authorization_policies: Vec::new(),
                request_authentications: Vec::new(),
                ..istio
            },
            _ => istio,
        }
    }

    /// For an input whose primary mesh is Linkerd: why a workload without a proxy has none, in
    /// Linkerd's terms.
    pub(crate) fn explain_unmeshed(&self, i: WorkloadId, node: &mut WorkloadNode) {
        if let Some(m) = self.memberships.get(i.index()).filter(|m| !m.meshed) {
            node.membership.because = m.because.clone();
            node.membership.known = m.known;
        }
    }

    pub(crate) fn prepare<'b>(&'b self, shared: &Shared<'_, 'a>) -> Prepared<'b, 'r, 'a> {
        // Identities and namespaces with a Linkerd-meshed workload: the only ones a group of
        // named clients is worth making for.
        let mut identities = vec![false; shared.identity_ids.len()];
        let mut namespaces: HashMap<&'a str, bool> = HashMap::default();
        let mut foreign_namespaces: HashMap<Mesh, HashSet<&'a str>> = HashMap::default();
        for (w, workload) in WorkloadId::enumerate(&self.inventory.workloads) {
            let node = &shared.nodes[w.index()];
            if let Some(m) = node.mesh.filter(|&m| m != Mesh::Linkerd) {
                if node.membership.data_plane.is_meshed() {
                    foreign_namespaces
                        .entry(m)
                        .or_default()
                        .insert(workload.namespace.as_str());
                }
                continue;
            }
            if node.mesh != Some(Mesh::Linkerd) {
                continue;
            }
            let key = (
                workload.namespace.as_str(),
                workload.service_account.as_str(),
            );
            if let Some(&id) = shared.identity_ids.get(&key) {
                identities[id as usize] = true;
            }
            namespaces.insert(workload.namespace.as_str(), true);
        }
        Prepared {
            evaluator: self,
            meshed_identities: identities,
            meshed_namespaces: namespaces,
            foreign_namespaces,
        }
    }
}

/// Linkerd's evaluator, ready to evaluate server ports.
pub(crate) struct Prepared<'b, 'r, 'a> {
    evaluator: &'b Evaluator<'r, 'a>,
    /// Per identity id: some workload of it runs Linkerd's proxy.
    meshed_identities: Vec<bool>,
    meshed_namespaces: HashMap<&'a str, bool>,
    /// Per other mesh: the namespaces with a workload running its proxy.
    foreign_namespaces: HashMap<Mesh, HashSet<&'a str>>,
}

/// Who connects, as Linkerd's evaluator tells clients apart.
#[derive(Clone)]
enum Caller {
    /// A client with Linkerd's proxy that handles the connection, presenting `peer`.
    Meshed(PeerIdentity),
    /// A client without a proxy.
    Unmeshed,
    /// A client of another mesh: its proxy sends what it sends to a pod outside its mesh.
    Foreign(Mesh),
}

/// The server side of one port, as every client's evaluation reads it.
struct Side<'s> {
    w: WorkloadId,
    port: u16,
    name: String,
    /// Linkerd's membership of the server (none when its pods have no Linkerd proxy).
    membership: Option<&'s LinkerdMembership>,
    inbound: Option<InboundPath>,
    node: &'s WorkloadNode,
    default: DefaultPolicy,
    /// The Service ports that lead to the port.
    services: &'s [ServicePortRef],
}

impl Prepared<'_, '_, '_> {
    pub(crate) fn server_port(&self, shared: &Shared<'_, '_>, todo: &PortToEvaluate) -> ServerPort {
        let ev = self.evaluator;
        let inv = ev.inventory;
        let (w, port) = (todo.workload, todo.port);
        let workload = &inv.workloads[w];
        let node = &shared.nodes[w.index()];
        let membership = ev
            .memberships
            .get(w.index())
            .filter(|_| node.mesh == Some(Mesh::Linkerd));
        let inbound = membership.and_then(|m| m.capture.as_ref().map(|c| c.inbound(port)));
        let proxied = inbound.is_some_and(|p| p != InboundPath::Skipped);
        let server = proxied.then(|| ev.policy.server_for(w, port)).flatten();
        let resolved = resolve_for_port(inv, w, port, server.is_some());
        let default = resolved.default;
        let (protocol, protocol_because) = if inbound == Some(InboundPath::ProxyAdmin)
            && server.is_none()
        {
            (
                Protocol::Http,
                Because::object(
                    workload.object,
                    format!("port {port} is the Linkerd proxy's own admin server (HTTP/1: /metrics, /env.json, /live, /ready)"),
                ),
            )
        } else if inbound == Some(InboundPath::Skipped) {
            (
                Protocol::Auto,
                Because::object(
                    workload.object,
                    format!("port {port} bypasses the proxy: the application's own protocol, unread by Linkerd"),
                ),
            )
        } else {
            self.protocol(w, port, server, todo)
        };

        let side = Side {
            w,
            port,
            name: format!("{}/{}", workload.namespace, workload.name),
            membership,
            inbound,
            node,
            default,
            services: &todo.services,
        };
        let mut port_because = Vec::new();
        if let Some(s) = server {
            let srv = &inv.linkerd.servers[s];
            port_because.push(Because::at(
                srv.object,
                &["spec".into(), "port".into()],
                format!(
                    "Server {}/{} governs port {port} of {}: its accessPolicy and authorizations decide",
                    srv.namespace, srv.name, side.name
                ),
            ));
        } else {
            port_because.extend(side.default.because.iter().cloned());
        }
        let port_policy = proxied.then(|| PortPolicy {
            server,
            default: side.default.policy,
            because: port_because,
        });

        // Clients the port's authorizations name one by one get a group each.
        let named = if proxied {
            ev.policy.named_clients(w, port)
        } else {
            Default::default()
        };
        let mut groups = Vec::new();
        let mut identity_groups = Vec::new();
        let mut ids: Vec<(u32, &str, &str)> = named
            .identities
            .iter()
            .filter_map(|&(ns, sa)| {
                let id = *shared.identity_ids.get(&(ns, sa))?;
                self.meshed_identities[id as usize].then_some((id, ns, sa))
            })
            .collect();
        ids.sort_unstable();
        for (id, ns, sa) in ids {
            identity_groups.push((id, groups.len()));
            let peer = PeerIdentity::Known {
                namespace: ns.to_owned(),
                service_account: sa.to_owned(),
            };
            groups.push(self.evaluate(
                shared,
                &side,
                Client::OtherMeshed,
                Some(ns),
                Caller::Meshed(peer),
            ));
        }
        let mut namespace_groups = Vec::new();
        for &ns in &named.namespaces {
            if !self.meshed_namespaces.contains_key(ns) {
                continue;
            }
            namespace_groups.push((ns.to_owned(), groups.len()));
            let peer = PeerIdentity::Namespace {
                namespace: ns.to_owned(),
            };
            groups.push(self.evaluate(
                shared,
                &side,
                Client::OtherMeshed,
                Some(ns),
                Caller::Meshed(peer),
            ));
        }
        // Clients of another mesh whose proxies originate differently toward this port in
        // their namespace (an Istio DestinationRule of the namespace's own) get a group there.
        let mut foreign_namespace_groups = Vec::new();
        for (class, mesh) in shared.catch_all_classes() {
            let Some(m) = mesh.filter(|&m| m != Mesh::Linkerd) else {
                continue;
            };
            let (Some(origin), Some(present)) =
                (shared.origination(m), self.foreign_namespaces.get(&m))
            else {
                continue;
            };
            let mut by_namespace = Vec::new();
            for ns in origin.namespaces_with_own_view(&todo.services) {
                if !present.contains(ns.as_str()) {
                    continue;
                }
                let index = groups.len();
                groups.push(self.evaluate(shared, &side, class, Some(&ns), Caller::Foreign(m)));
                by_namespace.push((ns, index));
            }
            if !by_namespace.is_empty() {
                foreign_namespace_groups.push((m, SortedMap::from_sorted(by_namespace)));
            }
        }
        let (mut other_meshed, mut other_unmeshed) = (0, 0);
        let mut other_meshes = Vec::new();
        for (class, mesh) in shared.catch_all_classes() {
            let caller = match mesh {
                Some(Mesh::Linkerd) => Caller::Meshed(PeerIdentity::Other),
                Some(other) => Caller::Foreign(other),
                None => Caller::Unmeshed,
            };
            let index = groups.len();
            groups.push(self.evaluate(shared, &side, class, None, caller));
            match class {
                Client::OtherMeshed => other_meshed = index,
                Client::OtherUnmeshed => other_unmeshed = index,
                Client::OtherMesh(m) => other_meshes.push((m, index)),
                Client::Workload(_) => {}
            }
        }
        ServerPort {
            workload: w,
            port,
            protocol,
            protocol_because,
            services: todo.services.clone(),
            proxied,
            mode: node.mtls.for_port(port).clone(),
            groups,
            mesh: Mesh::Linkerd,
            linkerd: port_policy,
            individual: SortedMap::from_sorted(Vec::new()),
            identity_groups: SortedMap::from_sorted(identity_groups),
            namespace_groups: SortedMap::from_sorted(namespace_groups),
            other_meshed,
            other_unmeshed,
            other_meshes,
            foreign_namespace_groups,
        }
    }

    /// How Linkerd's proxy reads the port: the governing Server's `proxyProtocol`, else opaque
    /// when the pod marks the port opaque, else protocol detection.
    fn protocol(
        &self,
        w: WorkloadId,
        port: u16,
        server: Option<LinkerdServerId>,
        todo: &PortToEvaluate,
    ) -> (Protocol, Because) {
        let inv = self.evaluator.inventory;
        let workload = &inv.workloads[w];
        if let Some(s) = server {
            let srv = &inv.linkerd.servers[s];
            let protocol = match srv.spec.proxy_protocol {
                ProxyProtocol::Unknown => Protocol::Auto,
                ProxyProtocol::Http1 => Protocol::Http,
                ProxyProtocol::Http2 => Protocol::Http2,
                ProxyProtocol::Grpc => Protocol::Grpc,
                ProxyProtocol::Opaque => Protocol::Tcp,
                ProxyProtocol::Tls => Protocol::Tls,
            };
            return (
                protocol,
                Because::at(
                    srv.object,
                    &["spec".into(), "proxyProtocol".into()],
                    format!(
                        "Server {}/{} declares proxyProtocol {}",
                        srv.namespace,
                        srv.name,
                        srv.spec.proxy_protocol.as_str()
                    ),
                ),
            );
        }
        // The pod's annotation, else its namespace's (the injector copies it to the pod).
        let opaque = workload
            .linkerd()
            .annotations
            .opaque_ports
            .as_ref()
            .or_else(|| {
                inv.namespace(&workload.namespace)
                    .and_then(|n| n.linkerd.annotations.opaque_ports.as_ref())
            })
            .map(|p| p.contains(port));
        if opaque == Some(true) {
            return (
                Protocol::Tcp,
                Because::object(
                    workload.object,
                    format!("the pod template marks port {port} opaque (config.linkerd.io/opaque-ports): proxied as TCP, without protocol detection"),
                ),
            );
        }
        match todo.services.first() {
            Some(r) => {
                let service = &inv.services[r.service];
                (
                    Protocol::Auto,
                    Because::at(
                        service.object,
                        &["spec".into(), "ports".into(), r.index.into()],
                        format!(
                            "no Server sets a protocol for port {port} and the pod does not mark it opaque, so Linkerd's proxy detects HTTP/1 and HTTP/2 and handles anything else as TCP"
                        ),
                    ),
                )
            }
            None => (
                Protocol::Auto,
                Because::object(
                    workload.object,
                    format!("container port {port} is in no Service; no Server sets its protocol, so Linkerd's proxy detects HTTP and handles anything else as TCP"),
                ),
            ),
        }
    }

    fn evaluate(
        &self,
        shared: &Shared<'_, '_>,
        side: &Side<'_>,
        client: Client,
        namespace: Option<&str>,
        caller: Caller,
    ) -> EdgeGroup {
        let mut because = Vec::new();
        let server = &side.name;
        let port = side.port;
        let mut via = None;
        let origin = match &caller {
            Caller::Foreign(m) => shared.origination(*m),
            _ => None,
        };
        let (transport, peer) = match (side.inbound, &caller) {
            // A client of a mesh that says how its proxies originate: its proxy's
            // configuration and this server's proxy decide together.
            (_, Caller::Foreign(_)) if origin.is_some() => {
                let origin = origin.unwrap_or_else(|| unreachable!());
                let (t, b, v) = foreign_transport(side, origin, namespace.unwrap_or(""));
                because = b;
                via = v;
                (t, PeerIdentity::None)
            }
            // The server has no Linkerd proxy.
            (None, caller) => {
                match caller {
                    Caller::Meshed(_) => because.push(Because::default(
                        "the client's Linkerd proxy gets no identity for a pod without Linkerd's proxy, so it sends plaintext",
                    )),
                    Caller::Unmeshed => because.push(Because::default(
                        "a client without a proxy sends plaintext",
                    )),
                    Caller::Foreign(m) => because.push(Because::default(foreign_text(*m))),
                }
                because.extend(side.node.membership.because.iter().cloned());
                because.push(Because::default(format!(
                    "{server} has no Linkerd proxy: plaintext reaches the application on port {port} directly"
                )));
                (Transport::Plaintext, PeerIdentity::None)
            }
            (Some(InboundPath::Skipped), caller) => {
                if let Some(c) = side.membership.and_then(|m| m.capture.as_ref()) {
                    if let Some(b) = &c.skip_inbound.because {
                        because.push(b.clone());
                    }
                }
                match caller {
                    Caller::Meshed(_) => because.push(Because::default(format!(
                        "the destination controller gives no identity for a skipped port, so the client's proxy sends plaintext to port {port}"
                    ))),
                    Caller::Unmeshed => because.push(Because::default(
                        "a client without a proxy sends plaintext",
                    )),
                    Caller::Foreign(m) => because.push(Because::default(foreign_text(*m))),
                }
                because.push(Because::default(format!(
                    "port {port} of {server} bypasses its proxy: plaintext, no identity and no policy"
                )));
                (Transport::Plaintext, PeerIdentity::None)
            }
            (Some(_), Caller::Meshed(peer)) => {
                because.push(Because::default(format!(
                    "both pods run Linkerd's proxy: the client's proxy originates mutual TLS to {server}, with the identity the destination controller gives for it"
                )));
                (Transport::Mtls, peer.clone())
            }
            (Some(_), Caller::Unmeshed) => {
                because.push(Because::default("a client without a proxy sends plaintext"));
                because.push(Because::default(format!(
                    "Linkerd's proxy on {server} accepts plaintext on port {port} and authorizes it as an unauthenticated client"
                )));
                (Transport::Plaintext, PeerIdentity::None)
            }
            (Some(_), Caller::Foreign(m)) => {
                because.push(Because::default(foreign_text(*m)));
                because.push(Because::default(format!(
                    "Linkerd's proxy on {server} accepts plaintext on port {port} and authorizes it as an unauthenticated client"
                )));
                (Transport::Plaintext, PeerIdentity::None)
            }
        };
        let proxied = side.inbound.is_some_and(|p| p != InboundPath::Skipped);
        let authorization = (proxied && transport != Transport::Fails).then(|| {
            let linkerd_client = match transport {
                Transport::Mtls => LinkerdClient::Meshed { peer: &peer },
                _ => LinkerdClient::Unauthenticated {
                    from: ClientNetwork::ClusterPod,
                },
            };
            let d =
                self.evaluator
                    .policy
                    .authorize(side.w, side.port, &linkerd_client, &side.default);
            let mut conditions = d.conditions;
            if d.audit {
                conditions
                    .push("audit: allowed, and logged as what a policy would deny".to_owned());
            }
            // A fact shared by several authorizations (a route's and its Server's) is said once.
            let mut because: Vec<Because> = Vec::with_capacity(d.because.len());
            for b in d.because {
                if !because.contains(&b) {
                    because.push(b);
                }
            }
            AuthzDecision {
                decision: d.decision,
                decided_by: Vec::new(),
                objects: d.deciders,
                because,
                conditions,
            }
        });
        EdgeGroup {
            client,
            namespace: namespace.map(str::to_owned),
            transport,
            peer,
            via,
            transport_because: because,
            authorization,
        }
    }
}

/// A client of another mesh: each path to the port (each Service port, else the pod address)
/// and each way that mesh's proxy originates on it; the most exposed working answer is the one
/// reported, as for Istio's own paths.
fn foreign_transport(
    side: &Side<'_>,
    origin: &dyn ForeignOrigination,
    namespace: &str,
) -> (Transport, Vec<Because>, Option<ServicePortRef>) {
    let paths: Vec<Option<ServicePortRef>> = if side.services.is_empty() {
        vec![None]
    } else {
        side.services.iter().copied().map(Some).collect()
    };
    let mut best: Option<(Transport, Vec<Because>, Option<ServicePortRef>)> = None;
    for via in paths {
        for o in origin.originates(namespace, side.w, via) {
            let mut because = o.because;
            let t = foreign_outcome(side, o.sent, &mut because);
            if best
                .as_ref()
                .is_none_or(|(b, _, _)| t.exposure() > b.exposure())
            {
                best = Some((t, because, via));
            }
        }
    }
    best.unwrap_or_else(|| unreachable!("at least one path, and one route on it"))
}

/// What this side makes of what a client of another mesh sends.
fn foreign_outcome(side: &Side<'_>, sent: Originated, because: &mut Vec<Because>) -> Transport {
    let server = &side.name;
    let port = side.port;
    // Without a proxy in the way (none, or the port skips it), what is sent reaches the
    // application as it is.
    let bare = match side.inbound {
        None => {
            because.extend(side.node.membership.because.iter().cloned());
            Some(format!("{server} has no Linkerd proxy:"))
        }
        Some(InboundPath::Skipped) => {
            if let Some(b) = side
                .membership
                .and_then(|m| m.capture.as_ref())
                .and_then(|c| c.skip_inbound.because.as_ref())
            {
                because.push(b.clone());
            }
            Some(format!("port {port} of {server} bypasses its proxy:"))
        }
        Some(_) => None,
    };
    let passed =
        format!("Linkerd's proxy on {server} passes TLS not addressed to its own identity through");
    let (transport, text) = match (bare, sent) {
        (Some(r), Originated::Plaintext) => (
            Transport::Plaintext,
            format!("{r} plaintext reaches the application on port {port} directly"),
        ),
        (Some(r), Originated::OwnTls) => (
            Transport::Tls,
            format!("{r} the client's TLS reaches the application on port {port} directly"),
        ),
        (Some(r), Originated::MeshMtls) => (
            Transport::Fails,
            format!("{r} the application on port {port} receives the client mesh's mutual TLS, which it cannot read: the connection fails"),
        ),
        (None, Originated::Plaintext) => (
            Transport::Plaintext,
            format!("Linkerd's proxy on {server} accepts plaintext on port {port} and authorizes it as an unauthenticated client"),
        ),
        (None, Originated::OwnTls) => (
            Transport::Tls,
            format!("{passed} to port {port} as an opaque stream, authorized as an unauthenticated client"),
        ),
        (None, Originated::MeshMtls) => (
            Transport::Fails,
            format!("{passed} as an opaque stream: the application on port {port} receives the client mesh's mutual TLS, which it cannot read, and the client expects a peer identity Linkerd cannot present — the connection fails"),
        ),
    };
    because.push(Because::default(text));
    transport
}

/// What a client of another mesh sends to a Linkerd server (or to a pod without a proxy that
/// Linkerd's evaluator decides), for a mesh that does not say how its proxies originate.
fn foreign_text(mesh: Mesh) -> String {
    format!(
        "the client runs {}'s proxy, which does not speak Linkerd's mutual TLS: it sends plaintext — no mutual TLS across meshes",
        mesh.title()
    )
}

/// Linkerd's membership in the graph's mesh-neutral shape.
fn graph_membership(m: &LinkerdMembership) -> Membership {
    let mut because = m.because.clone();
    because.extend(m.identity_because.iter().cloned());
    let capture = match &m.capture {
        Some(c) => Capture {
            inbound: if c.skip_inbound.ports.is_empty() {
                InboundCapture::All
            } else {
                InboundCapture::Skipping(c.skip_inbound.ports.clone())
            },
            excluded_outbound_ports: Vec::new(),
            excluded_outbound_set: (!c.skip_outbound.ports.is_empty())
                .then(|| c.skip_outbound.ports.clone()),
            outbound_bypass_all: false,
            excluded_outbound_ranges: Vec::new(),
            proxy_uid_containers: c.proxy_uid_containers.clone(),
            because: c.because.clone(),
        },
        None => Capture::everything(),
    };
    Membership {
        data_plane: if m.meshed {
            DataPlane::Sidecar
        } else {
            DataPlane::None
        },
        known: m.known,
        because,
        capture,
    }
}

/// Whether the input holds anything of Linkerd: its configuration, a policy resource, a pod or
/// namespace that asks for (or carries) its proxy.
pub(crate) fn has_linkerd(inv: &Inventory) -> bool {
    inv.linkerd.is_present()
        || inv
            .namespaces
            .values()
            .any(|n| n.linkerd.annotations.inject.is_some())
        || inv.workloads.iter().any(|w| {
            w.annotations.contains_key("linkerd.io/inject")
                || w.containers
                    .iter()
                    .any(|c| c.name == meshaudit_model::linkerd::PROXY_CONTAINER)
        })
}
