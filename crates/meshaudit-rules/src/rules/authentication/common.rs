//! Small lookups the authentication rules share: naming workloads, and reading from the graph
//! what a client without a proxy gets on a server port.

use meshaudit_engine::authorization::Decision;
use meshaudit_engine::{Client, Graph, ServerPort, Transport};
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

/// What a meshed client's calls to meshed servers become when they bypass its sidecar.
pub struct BypassReach {
    /// Server ports that accept the plaintext and let it through.
    pub plaintext: usize,
    /// Server ports that reject it (STRICT).
    pub failing: usize,
    /// One example, for the evidence.
    pub example: Option<String>,
}

/// Counts, from the graph, the meshed server ports that client `w` reaches in plaintext (and
/// those that refuse it), over the calls `counts(port)` selects by destination port.
pub fn bypass_reach(
    inv: &Inventory,
    graph: &Graph,
    w: usize,
    counts: impl Fn(u16) -> bool,
) -> BypassReach {
    let name = workload_name(inv, w);
    let mut out = BypassReach {
        plaintext: 0,
        failing: 0,
        example: None,
    };
    for server in &graph.servers {
        if server.workload == w
            || !graph.workloads[server.workload]
                .membership
                .data_plane
                .is_meshed()
        {
            continue;
        }
        let group = server.group_for(graph, Client::Workload(w));
        if !counts(group.via.map_or(server.port, |v| v.port)) {
            continue;
        }
        match group.transport {
            Transport::Plaintext if group.reach().is_open() => {
                out.plaintext += 1;
                out.example.get_or_insert_with(|| {
                    format!(
                        "graph: {name} reaches {} port {} in plaintext, without its identity",
                        workload_name(inv, server.workload),
                        server.port
                    )
                });
            }
            Transport::Fails => out.failing += 1,
            _ => {}
        }
    }
    out
}
