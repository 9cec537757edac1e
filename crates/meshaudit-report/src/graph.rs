//! Renders the effective-policy graph: a table for people, JSON (a stable contract, documented
//! in `docs/graph.md`), Graphviz DOT, Mermaid, and `--explain`'s evidence chains.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use meshaudit_engine::authorization::PeerIdentity;
use meshaudit_engine::graph::{Client, Edge, Graph, Reach, Transport};
use meshaudit_engine::network_policy::{NetVerdict, NetworkDecision};
use meshaudit_engine::Because;
use meshaudit_model::Inventory;
use serde_json::{json, Value};

use crate::{TOOL_NAME, TOOL_VERSION};

/// Identifiers of the two catch-all client groups.
pub const OTHER_MESHED: &str = "*meshed";
pub const OTHER_UNMESHED: &str = "*unmeshed";

/// The graph and the edges to show.
pub struct GraphView<'a> {
    pub inventory: &'a Inventory,
    pub graph: &'a Graph,
    pub edges: Vec<Edge<'a>>,
}

/// `namespace/name` of a workload, or a catch-all group's identifier.
pub fn client_id(inventory: &Inventory, client: Client) -> String {
    match client {
        Client::Workload(w) => workload_id(inventory, w),
        Client::OtherMeshed => OTHER_MESHED.to_owned(),
        Client::OtherUnmeshed => OTHER_UNMESHED.to_owned(),
    }
}

pub fn workload_id(inventory: &Inventory, w: usize) -> String {
    let wl = &inventory.workloads[w];
    format!("{}/{}", wl.namespace, wl.name)
}

fn client_description(client: Client) -> &'static str {
    match client {
        Client::Workload(_) => "workload",
        Client::OtherMeshed => "any other meshed workload (one the server's policies do not name)",
        Client::OtherUnmeshed => "any workload without a proxy",
    }
}

/// The identity the server sees on `edge`: a concrete client evaluated in a catch-all group
/// still presents its own certificate.
fn edge_peer(view: &GraphView<'_>, edge: &Edge<'_>) -> Option<String> {
    match (edge.client, &edge.group.peer) {
        (Client::Workload(w), PeerIdentity::Other | PeerIdentity::Namespace { .. }) => {
            view.graph.workloads[w].identity.clone()
        }
        (_, peer) => peer_text(view.graph, peer),
    }
}

fn peer_text(graph: &Graph, peer: &PeerIdentity) -> Option<String> {
    match peer {
        PeerIdentity::None => None,
        PeerIdentity::Known {
            namespace,
            service_account,
        } => Some(format!(
            "spiffe://{}/ns/{namespace}/sa/{service_account}",
            graph.trust_domain
        )),
        PeerIdentity::Other => Some(format!("spiffe://{}/*", graph.trust_domain)),
        PeerIdentity::Namespace { namespace } => Some(format!(
            "spiffe://{}/ns/{namespace}/sa/*",
            graph.trust_domain
        )),
    }
}

/// The resources that decided an edge: for an edge that fails or is plaintext, those of the
/// transport chain; otherwise the authorization policies (none when no policy applies).
fn deciders(view: &GraphView<'_>, edge: &Edge<'_>, network: &NetworkDecision) -> Vec<usize> {
    let group = edge.group;
    let policies: Vec<usize> = network
        .decided_by()
        .into_iter()
        .map(|p| view.inventory.network_policies[p].object)
        .collect();
    if network.verdict() == NetVerdict::Denied {
        // The network settles it; what the mesh would do is context.
        return policies;
    }
    let mut out = Vec::new();
    // A meshed client's own membership is context, not a decision; a client without a proxy
    // (or whose proxy does not capture the call) is part of the answer.
    let client_decides = match edge.client {
        Client::Workload(w) => {
            let m = &view.graph.workloads[w].membership;
            !m.data_plane.is_meshed() || m.capture.bypasses_anything()
        }
        _ => false,
    };
    let chain = if client_decides {
        view.graph.transport_evidence(edge)
    } else {
        group.transport_because.clone()
    };
    let transport_objects = || -> Vec<usize> {
        let mut seen = Vec::new();
        for b in &chain {
            if let Some(o) = b.object {
                if !seen.contains(&o) {
                    seen.push(o);
                }
            }
        }
        seen
    };
    match (group.reach(), group.transport) {
        (Reach::Fails, _) | (_, Transport::Plaintext | Transport::Tls) => {
            // The last resources in the chain are the ones that settled it.
            let objects = transport_objects();
            for &o in objects.iter().rev().take(2).rev() {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        _ => {}
    }
    if let Some(authz) = &group.authorization {
        if group.reach() != Reach::Fails {
            for &p in &authz.decided_by {
                let id = view.inventory.istio.authorization_policies[p].object;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    for p in policies {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// What NetworkPolicy says of an edge.
fn network(view: &GraphView<'_>, edge: &Edge<'_>) -> NetworkDecision {
    view.graph.network(view.inventory, edge.client, edge.server)
}

/// The edge's answer with NetworkPolicy: `blocked` when the network denies what the mesh would
/// let through.
fn overall_reach(edge: &Edge<'_>, network: &NetworkDecision) -> &'static str {
    let reach = edge.group.reach();
    if reach.is_open() && network.verdict() == NetVerdict::Denied {
        "blocked"
    } else {
        reach.as_str()
    }
}

/// Does any request of this edge get through, network included?
pub fn edge_gets_through(view: &GraphView<'_>, edge: &Edge<'_>) -> bool {
    edge.group.reach().is_open() && network(view, edge).verdict() != NetVerdict::Denied
}

fn object_name(inventory: &Inventory, id: usize) -> String {
    let o = inventory.object(id);
    format!("{} {}", o.kind, o.qualified_name())
}

fn authorization_text(edge: &Edge<'_>) -> &'static str {
    match (&edge.group.authorization, edge.group.reach()) {
        (_, Reach::Fails) => "-",
        (None, _) => "not enforced",
        (Some(a), _) => a.decision.as_str(),
    }
}

fn mode_text(edge: &Edge<'_>) -> &'static str {
    if edge.server.proxied {
        edge.server.mode.mode.as_str()
    } else {
        "no proxy"
    }
}

/// One line per edge, aligned.
pub fn table(view: &GraphView<'_>) -> String {
    let header = [
        "FROM",
        "TO",
        "PORT",
        "PROTOCOL",
        "MODE",
        "NETWORK",
        "TRANSPORT",
        "AUTHZ",
        "REACH",
        "DECIDED BY",
    ];
    let mut rows: Vec<[String; 10]> = Vec::new();
    for edge in &view.edges {
        let network = network(view, edge);
        let decided: Vec<String> = deciders(view, edge, &network)
            .into_iter()
            .map(|o| object_name(view.inventory, o))
            .collect();
        rows.push([
            client_id(view.inventory, edge.client),
            workload_id(view.inventory, edge.server.workload),
            edge.server.port.to_string(),
            edge.server.protocol.as_str().to_owned(),
            mode_text(edge).to_owned(),
            network.verdict().as_str().to_owned(),
            edge.group.transport.as_str().to_owned(),
            authorization_text(edge).to_owned(),
            overall_reach(edge, &network).to_owned(),
            if decided.is_empty() {
                "(defaults)".to_owned()
            } else {
                decided.join(", ")
            },
        ]);
    }
    let mut widths = header.map(str::len);
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    if rows.is_empty() {
        out.push_str("(no edge matches)\n");
    }
    let _ = writeln!(
        out,
        "\n{} edge(s). {OTHER_MESHED} = any other meshed workload, {OTHER_UNMESHED} = any workload without a proxy. NETWORK is what NetworkPolicy allows (restricted: only some of a group's pods); REACH is blocked when NetworkPolicy denies what the mesh allows. `--explain` shows why.",
        rows.len()
    );
    out
}

fn render_chain(inventory: &Inventory, chain: &[Because]) -> Vec<String> {
    chain.iter().map(|b| b.render(inventory)).collect()
}

fn location_json(inventory: &Inventory, id: usize) -> Value {
    let o = inventory.object(id);
    let loc = o.name_location();
    json!({
        "apiVersion": o.api_version,
        "kind": o.kind,
        "namespace": o.namespace,
        "name": o.name,
        "location": {"path": &*loc.path, "line": loc.line, "column": loc.column},
    })
}

/// The JSON document (see `docs/graph.md`).
pub fn json(view: &GraphView<'_>) -> String {
    let inv = view.inventory;
    let graph = view.graph;
    let mut used: BTreeSet<usize> = BTreeSet::new();
    for e in &view.edges {
        used.insert(e.server.workload);
        if let Client::Workload(w) = e.client {
            used.insert(w);
        }
    }
    let workloads: Vec<Value> = used
        .iter()
        .map(|&w| {
            let wl = &inv.workloads[w];
            let node = &graph.workloads[w];
            let loc = inv.object(wl.object).name_location();
            json!({
                "id": workload_id(inv, w),
                "kind": wl.kind,
                "namespace": wl.namespace,
                "name": wl.name,
                "serviceAccount": wl.service_account,
                "dataPlane": node.membership.data_plane.as_str(),
                "identity": node.identity,
                "location": {"path": &*loc.path, "line": loc.line, "column": loc.column},
            })
        })
        .collect();
    let edges: Vec<Value> = view
        .edges
        .iter()
        .map(|e| {
            let g = e.group;
            let network = network(view, e);
            let service = g.via.map(|v| {
                let s = &inv.services[v.service];
                format!("{}/{}:{}", s.namespace, s.name, v.port)
            });
            json!({
                "from": client_id(inv, e.client),
                "fromKind": if matches!(e.client, Client::Workload(_)) { "workload" } else { "group" },
                "to": workload_id(inv, e.server.workload),
                "port": e.server.port,
                "protocol": e.server.protocol.as_str(),
                "service": service,
                "serverMode": e.server.proxied.then(|| e.server.mode.mode.as_str()),
                "transport": g.transport.as_str(),
                "peerIdentity": edge_peer(view, e),
                "authorization": match (&g.authorization, g.reach()) {
                    (_, Reach::Fails) => Value::Null,
                    (None, _) => json!("not-enforced"),
                    (Some(a), _) => json!(a.decision.as_str()),
                },
                "reach": g.reach().as_str(),
                "conditions": g.authorization.as_ref().map_or(Vec::new(), |a| a.conditions.clone()),
                "decidedBy": deciders(view, e, &network).into_iter().map(|o| location_json(inv, o)).collect::<Vec<_>>(),
                "evidence": {
                    "transport": render_chain(inv, &graph.transport_evidence(e)),
                    "authorization": g.authorization.as_ref().map_or(Vec::new(), |a| render_chain(inv, &a.because)),
                    "network": render_chain(inv, &network.because()),
                },
                "network": {
                    "verdict": network.verdict().as_str(),
                    "ingress": network.ingress.verdict.as_str(),
                    "egress": network.egress.as_ref().map(|d| d.verdict.as_str()),
                },
                "overallReach": overall_reach(e, &network),
            })
        })
        .collect();
    let doc = json!({
        "schemaVersion": 1,
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "trustDomain": graph.trust_domain,
        "autoMtls": graph.auto_mtls,
        "workloads": workloads,
        "edges": edges,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn edge_label(edge: &Edge<'_>, network: &NetworkDecision) -> String {
    format!(
        "{} {} {}",
        edge.server.port,
        edge.group.transport.as_str(),
        overall_reach(edge, network)
    )
}

/// Dashed: nothing gets through (denied, failing, or blocked by NetworkPolicy).
fn edge_closed(edge: &Edge<'_>, network: &NetworkDecision) -> bool {
    !edge.group.reach().is_open() || network.verdict() == NetVerdict::Denied
}

fn edge_color(edge: &Edge<'_>, network: &NetworkDecision) -> &'static str {
    if edge_closed(edge, network) {
        return "gray";
    }
    match (edge.group.reach(), edge.group.transport) {
        (_, Transport::Plaintext) => "red",
        (Reach::Conditional, _) => "orange",
        _ => "darkgreen",
    }
}

/// Graphviz DOT: nodes are workloads and the two catch-all groups; one arrow per edge.
pub fn dot(view: &GraphView<'_>) -> String {
    let inv = view.inventory;
    let mut out = String::from(
        "digraph meshaudit {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    let mut nodes = BTreeSet::new();
    for e in &view.edges {
        nodes.insert(client_id(inv, e.client));
        nodes.insert(workload_id(inv, e.server.workload));
    }
    for n in &nodes {
        let style = if n.starts_with('*') {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(out, "  \"{n}\" [label=\"{n}\"{style}];");
    }
    for e in &view.edges {
        let network = network(view, e);
        let style = if edge_closed(e, &network) {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\", color={}{style}];",
            client_id(inv, e.client),
            workload_id(inv, e.server.workload),
            edge_label(e, &network),
            edge_color(e, &network)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_id(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Mermaid flowchart (renders on GitHub and in many wikis).
pub fn mermaid(view: &GraphView<'_>) -> String {
    let inv = view.inventory;
    let mut out = String::from("flowchart LR\n");
    let mut nodes = BTreeSet::new();
    for e in &view.edges {
        nodes.insert(client_id(inv, e.client));
        nodes.insert(workload_id(inv, e.server.workload));
    }
    for n in &nodes {
        let _ = writeln!(out, "  {}[\"{n}\"]", mermaid_id(n));
    }
    for e in &view.edges {
        let network = network(view, e);
        let arrow = if edge_closed(e, &network) {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|\"{}\"| {}",
            mermaid_id(&client_id(inv, e.client)),
            edge_label(e, &network),
            mermaid_id(&workload_id(inv, e.server.workload))
        );
    }
    out
}

/// Every shown edge with its full evidence chain, in the user's own files' terms.
pub fn explain(view: &GraphView<'_>) -> String {
    let inv = view.inventory;
    let mut out = String::new();
    for e in &view.edges {
        let g = e.group;
        let _ = writeln!(
            out,
            "{} -> {}:{} ({})",
            client_id(inv, e.client),
            workload_id(inv, e.server.workload),
            e.server.port,
            e.server.protocol.as_str()
        );
        match (e.client, g.client) {
            (Client::Workload(_), Client::Workload(_)) => {}
            (Client::Workload(_), _) if g.namespace.is_some() => {
                let line = match &g.peer {
                    PeerIdentity::Known {
                        namespace,
                        service_account,
                    } => format!(
                        "evaluated with the meshed workloads that run as service account {service_account} of namespace {namespace}, an identity the server's policies name"
                    ),
                    _ => format!(
                        "evaluated with the meshed workloads of namespace {}, which the server's policies name, or whose own DestinationRule for the host applies",
                        g.namespace.as_deref().unwrap_or_default()
                    ),
                };
                let _ = writeln!(out, "  client: {line}");
            }
            (Client::Workload(_), group) => {
                let _ = writeln!(
                    out,
                    "  client: evaluated as {}, since no policy or DestinationRule of the server names it",
                    client_description(group)
                );
            }
            (group, _) => {
                let _ = writeln!(out, "  client: {}", client_description(group));
            }
        }
        if let Some(v) = g.via {
            let s = &inv.services[v.service];
            let _ = writeln!(
                out,
                "  via Service {}/{} port {}",
                s.namespace, s.name, v.port
            );
        }
        let _ = writeln!(out, "  protocol: {}", e.server.protocol_because.render(inv));
        let network = network(view, e);
        let _ = writeln!(out, "  network: {}", network.verdict().as_str());
        for line in render_chain(inv, &network.because()) {
            let _ = writeln!(out, "    - {line}");
        }
        let peer = edge_peer(view, e).unwrap_or_else(|| "none".to_owned());
        let _ = writeln!(
            out,
            "  transport: {} (server sees identity: {peer})",
            g.transport.as_str()
        );
        for line in render_chain(inv, &view.graph.transport_evidence(e)) {
            let _ = writeln!(out, "    - {line}");
        }
        match &g.authorization {
            _ if g.reach() == Reach::Fails => {
                let _ = writeln!(out, "  authorization: not reached (the connection fails)");
            }
            None => {
                let _ = writeln!(
                    out,
                    "  authorization: not enforced (no proxy in front of the port)"
                );
            }
            Some(a) => {
                let _ = writeln!(out, "  authorization: {}", a.decision.as_str());
                for c in &a.conditions {
                    let _ = writeln!(out, "    {c}");
                }
                for line in render_chain(inv, &a.because) {
                    let _ = writeln!(out, "    - {line}");
                }
            }
        }
        let overall = overall_reach(e, &network);
        if overall == g.reach().as_str() {
            let _ = writeln!(out, "  result: {overall}\n");
        } else {
            let _ = writeln!(
                out,
                "  result: {overall} by NetworkPolicy (the mesh alone: {})\n",
                g.reach().as_str()
            );
        }
    }
    if view.edges.is_empty() {
        out.push_str("(no edge matches)\n");
    }
    out
}
