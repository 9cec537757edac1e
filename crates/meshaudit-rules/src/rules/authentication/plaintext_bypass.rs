//! What a client's plaintext gets at a server port, read from the graph: the outcome for a
//! client without a proxy (and the authorization behind it), and the tallies of meshed server
//! ports a client reaches in plaintext when its calls bypass its own proxy.

use meshaudit_engine::authorization::Decision;
use std::collections::HashMap;

use meshaudit_engine::server_tally::ServerTally;
use meshaudit_engine::{Because, Client, EdgeGroup, Graph, ServerPort, ServerPortId, Transport};
use meshaudit_model::{Inventory, WorkloadId};

use crate::rules::naming::workload_name;

/// Does a client without a proxy get plaintext through to this port (some requests at least)?
pub fn unmeshed_plaintext_open(server: &ServerPort) -> bool {
    let group = server.other_unmeshed();
    group.transport == Transport::Plaintext && group.reach().is_open()
}

/// What a client without a proxy gets on `server`, in one sentence.
pub fn unmeshed_outcome(inv: &Inventory, server: &ServerPort) -> String {
    let group = server.other_unmeshed();
    let who = format!(
        "{} port {}",
        workload_name(&inv.workloads[server.workload]),
        server.port
    );
    match group.transport {
        Transport::Fails => format!("{who}: a client without a proxy cannot connect (mTLS required)"),
        Transport::Mtls | Transport::Tls => {
            format!("{who}: a client without a proxy does not get plaintext through")
        }
        Transport::Plaintext => match &group.authorization {
            None => format!(
                "{who}: a client without a proxy gets plaintext straight to the application, with no authorization enforced"
            ),
            Some(a) => match a.decision {
                Decision::Allowed => format!(
                    "{who}: a client without a proxy gets plaintext through, and authorization allows it"
                ),
                Decision::Conditional => format!(
                    "{who}: a client without a proxy gets plaintext through, and authorization allows some requests ({})",
                    a.conditions.join("; ")
                ),
                Decision::Denied => format!(
                    "{who}: plaintext is accepted, but authorization denies clients without an identity"
                ),
            },
        },
    }
}

/// The authorization reasons behind the unmeshed outcome.
pub fn unmeshed_authz_because(server: &ServerPort) -> impl Iterator<Item = &Because> + '_ {
    server
        .other_unmeshed()
        .authorization
        .iter()
        .flat_map(|a| a.because.iter())
}

/// [`unmeshed_authz_because`], rendered for evidence.
pub fn unmeshed_authz_evidence(inv: &Inventory, server: &ServerPort) -> Vec<String> {
    unmeshed_authz_because(server)
        .map(|b| b.render(inv))
        .collect()
}

/// What a client's calls to a meshed server port become, as the bypass rules count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MeshedServerOutcome {
    /// The server rejects the connection (STRICT).
    Fails,
    /// Plaintext gets through.
    PlaintextOpen,
}

/// Sorts a client's answer at a meshed server port (other server ports: `None`).
pub fn meshed_server_outcome(
    graph: &Graph,
    server: &ServerPort,
    group: &EdgeGroup,
) -> Option<MeshedServerOutcome> {
    if !graph
        .workload(server.workload)
        .istio_data_plane()
        .is_meshed()
    {
        return None;
    }
    match group.transport {
        Transport::Plaintext if group.reach().is_open() => Some(MeshedServerOutcome::PlaintextOpen),
        Transport::Fails => Some(MeshedServerOutcome::Fails),
        _ => None,
    }
}

/// A tally of [`meshed_server_outcome`] over every server port, shared by a rule's clients.
pub fn meshed_server_tally(graph: &Graph) -> ServerTally<'_, MeshedServerOutcome> {
    ServerTally::new(graph, meshed_server_outcome)
}

/// What a meshed client's calls to meshed servers become when they bypass its sidecar.
pub struct BypassReach {
    /// Server ports that accept the plaintext and let it through.
    pub plaintext: usize,
    /// Server ports that reject it (STRICT).
    pub failing: usize,
    /// One example, for the evidence.
    pub example: Option<String>,
}

/// Which of a client's calls bypass its proxy.
pub enum Bypassing<'p> {
    /// Every call.
    All,
    /// Calls to these destination ports.
    Ports(&'p [u16]),
}

/// Counts, from the graph, the meshed server ports (but its own) that a client reaches in
/// plaintext when its calls bypass its proxy, and those that refuse it. Built once per rule run:
/// what a client without a proxy gets is read once per server port (per set of bypassed
/// ports), and each client only revisits the ports that evaluate it individually.
pub struct BypassTally<'g> {
    graph: &'g Graph,
    all: ServerTally<'g, MeshedServerOutcome>,
    /// Per set of bypassed destination ports: the server ports they reach, in order, with what
    /// the catch-all group without a proxy gets there (counted only when its path uses one of
    /// those ports).
    by_ports: HashMap<Vec<u16>, Vec<(ServerPortId, Option<MeshedServerOutcome>)>>,
}

impl<'g> BypassTally<'g> {
    pub fn new(graph: &'g Graph) -> Self {
        BypassTally {
            graph,
            all: meshed_server_tally(graph),
            by_ports: HashMap::new(),
        }
    }

    /// What client `w`'s bypassing calls (those `bypassing` selects) get.
    pub fn reach(
        &mut self,
        inv: &Inventory,
        w: WorkloadId,
        bypassing: Bypassing<'_>,
    ) -> BypassReach {
        let graph = self.graph;
        let example = |server: ServerPortId| {
            let server = graph.server(server);
            format!(
                "graph: {} reaches {} port {} in plaintext, without its identity",
                workload_name(&inv.workloads[w]),
                workload_name(&inv.workloads[server.workload]),
                server.port
            )
        };
        let ports = match bypassing {
            Bypassing::All => {
                let tallied = self.all.clients(&[w], 1);
                return BypassReach {
                    plaintext: tallied.count(MeshedServerOutcome::PlaintextOpen),
                    failing: tallied.count(MeshedServerOutcome::Fails),
                    example: tallied
                        .first(MeshedServerOutcome::PlaintextOpen)
                        .first()
                        .map(|&s| example(s)),
                };
            }
            Bypassing::Ports(ports) => ports,
        };
        let mut key: Vec<u16> = ports.to_vec();
        key.sort_unstable();
        key.dedup();
        // At a server port reached through a bypassed port, the client's connection leaves
        // without its proxy: it gets what a client without one gets, unless the port
        // evaluates it individually.
        let outcome = |server: ServerPortId, client: Client| {
            let port = graph.server(server);
            let group = port.group_for(graph, client);
            if !key.contains(&group.via.map_or(port.port, |v| v.port)) {
                return None;
            }
            meshed_server_outcome(graph, port, group)
        };
        let base = self.by_ports.entry(key.clone()).or_insert_with(|| {
            let mut servers: Vec<ServerPortId> = key
                .iter()
                .flat_map(|&p| graph.servers_at_destination_port(p).iter().copied())
                .collect();
            servers.sort_unstable();
            servers.dedup();
            servers
                .into_iter()
                .map(|s| (s, outcome(s, Client::OtherUnmeshed)))
                .collect()
        });
        let in_base = |s: ServerPortId| base.binary_search_by_key(&s, |&(b, _)| b).ok();
        // Ports that answer differently for this client: its own, and individual evaluations.
        let mut apart: Vec<(ServerPortId, Option<MeshedServerOutcome>)> = graph
            .own_ports(w)
            .map(|s| (s, None))
            .chain(
                graph
                    .individually_at(w)
                    .iter()
                    .map(|&s| (s, outcome(s, Client::Workload(w)))),
            )
            .filter(|&(s, _)| in_base(s).is_some())
            .collect();
        apart.sort_unstable_by_key(|&(s, _)| s);
        apart.dedup_by_key(|(s, _)| *s);
        let is_apart = |s: ServerPortId| apart.binary_search_by_key(&s, |&(a, _)| a).is_ok();
        let mut out = BypassReach {
            plaintext: 0,
            failing: 0,
            example: None,
        };
        let mut first_plaintext: Option<ServerPortId> = None;
        let mut count = |s: ServerPortId,
                         kind: Option<MeshedServerOutcome>,
                         out: &mut BypassReach| match kind {
            Some(MeshedServerOutcome::PlaintextOpen) => {
                out.plaintext += 1;
                first_plaintext = Some(first_plaintext.map_or(s, |f| f.min(s)));
            }
            Some(MeshedServerOutcome::Fails) => out.failing += 1,
            None => {}
        };
        for &(s, kind) in base.iter() {
            if !is_apart(s) {
                count(s, kind, &mut out);
            }
        }
        for &(s, kind) in &apart {
            count(s, kind, &mut out);
        }
        out.example = first_plaintext.map(example);
        out
    }
}
