//! Small lookups the authentication rules share: naming workloads, and reading from the graph
//! what a client without a proxy gets on a server port.

use meshaudit_engine::authorization::Decision;
use meshaudit_engine::server_tally::ServerTally;
use meshaudit_engine::{Client, EdgeGroup, Graph, ServerPort, Transport};
use meshaudit_model::{Inventory, Step};

/// `Deployment shop/orders`.
pub fn workload_name(inv: &Inventory, w: usize) -> String {
    let workload = &inv.workloads[w];
    format!("{} {}/{}", workload.kind, workload.namespace, workload.name)
}

/// The path of a field inside a workload's pod template (`spec.template` + `tail`).
pub fn template_path<'a>(inv: &Inventory, w: usize, tail: &[Step<'a>]) -> Vec<Step<'a>> {
    let mut path: Vec<Step<'a>> = inv.workloads[w]
        .template_path
        .iter()
        .map(|k| Step::Key(k))
        .collect();
    path.extend_from_slice(tail);
    path
}

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
        workload_name(inv, server.workload),
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

/// The authorization reasons behind the unmeshed outcome, rendered for evidence.
pub fn unmeshed_authz_evidence(inv: &Inventory, server: &ServerPort) -> Vec<String> {
    server
        .other_unmeshed()
        .authorization
        .iter()
        .flat_map(|a| a.because.iter().map(|b| b.render(inv)))
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
    if !graph.workloads[server.workload]
        .membership
        .data_plane
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

/// Counts, from the graph, the meshed server ports (but its own) that client `w` reaches in
/// plaintext, and those that refuse it, over the calls `bypassing` selects by destination port.
pub fn bypass_reach(
    inv: &Inventory,
    tally: &mut ServerTally<'_, MeshedServerOutcome>,
    graph: &Graph,
    w: usize,
    bypassing: Bypassing<'_>,
) -> BypassReach {
    let example = |server: usize| {
        let server = &graph.servers[server];
        format!(
            "graph: {} reaches {} port {} in plaintext, without its identity",
            workload_name(inv, w),
            workload_name(inv, server.workload),
            server.port
        )
    };
    match bypassing {
        Bypassing::All => {
            let tallied = tally.clients(&[w], 1);
            BypassReach {
                plaintext: tallied.count(MeshedServerOutcome::PlaintextOpen),
                failing: tallied.count(MeshedServerOutcome::Fails),
                example: tallied
                    .first(MeshedServerOutcome::PlaintextOpen)
                    .first()
                    .map(|&s| example(s)),
            }
        }
        Bypassing::Ports(ports) => {
            // Only the server ports reached through those destination ports can count.
            let mut servers: Vec<usize> = ports
                .iter()
                .flat_map(|&p| graph.servers_at_destination_port(p).iter().copied())
                .collect();
            servers.sort_unstable();
            servers.dedup();
            let mut out = BypassReach {
                plaintext: 0,
                failing: 0,
                example: None,
            };
            for s in servers {
                let server = &graph.servers[s];
                if server.workload == w {
                    continue;
                }
                let group = server.group_for(graph, Client::Workload(w));
                if !ports.contains(&group.via.map_or(server.port, |v| v.port)) {
                    continue;
                }
                match meshed_server_outcome(graph, server, group) {
                    Some(MeshedServerOutcome::PlaintextOpen) => {
                        out.plaintext += 1;
                        out.example.get_or_insert_with(|| example(s));
                    }
                    Some(MeshedServerOutcome::Fails) => out.failing += 1,
                    None => {}
                }
            }
            out
        }
    }
}
