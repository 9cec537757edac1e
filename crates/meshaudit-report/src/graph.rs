//! Renders the effective-policy graph: a table for people, JSON (a stable contract, documented
//! in `docs/graph.md`), Graphviz DOT, Mermaid, and `--explain`'s evidence chains.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;

use meshaudit_engine::authorization::PeerIdentity;
use meshaudit_engine::edge_rows::{ClassId, EdgeRows, ProfileId, RowClients};
use meshaudit_engine::graph::{Client, Edge, Graph, Reach, ServerPortId, Transport};
use meshaudit_engine::network_policy::{NetVerdict, NetworkDecision};
use meshaudit_engine::Because;
use meshaudit_model::parallel::map_in_order;
use meshaudit_model::{Inventory, ObjectId, WorkloadId};
use serde::Serialize;
use serde_json::{json, Value};

use crate::{TOOL_NAME, TOOL_VERSION};

/// Identifiers of the two catch-all client groups.
pub const OTHER_MESHED: &str = "*meshed";
pub const OTHER_UNMESHED: &str = "*unmeshed";

/// What `meshaudit graph` shows: which server ports and clients, grouped or one by one, and
/// which answers.
pub struct GraphView<'a> {
    pub inventory: &'a Inventory,
    pub graph: &'a Graph,
    /// The clients (filtered by `--from`) in classes.
    pub rows: &'a EdgeRows<'a>,
    /// The server ports to show, in order.
    pub servers: Vec<ServerPortId>,
    /// One line per client instead of one per group of clients with the same answer.
    pub expand: bool,
    /// Only lines that carry plaintext.
    pub plaintext_only: bool,
    /// Only lines where some requests get through, NetworkPolicy included.
    pub allowed_only: bool,
}

/// The output formats of `meshaudit graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Table,
    Json,
    Dot,
    Mermaid,
    /// Every line with its evidence chains (`--explain`).
    Explain,
}

/// `namespace/name` of a workload, or a catch-all group's identifier.
pub fn client_id(inventory: &Inventory, client: Client) -> String {
    match client {
        Client::Workload(w) => workload_id(inventory, w),
        Client::OtherMeshed => OTHER_MESHED.to_owned(),
        Client::OtherUnmeshed => OTHER_UNMESHED.to_owned(),
        Client::OtherMesh(mesh) => other_mesh_id(mesh),
    }
}

/// The identifier of another mesh's catch-all group: `*linkerd`, `*istio`.
pub fn other_mesh_id(mesh: meshaudit_model::Mesh) -> String {
    format!("*{}", mesh.as_str())
}

pub fn workload_id(inventory: &Inventory, w: WorkloadId) -> String {
    let wl = &inventory.workloads[w];
    format!("{}/{}", wl.namespace, wl.name)
}

fn client_description(client: Client) -> &'static str {
    match client {
        Client::Workload(_) => "workload",
        Client::OtherMeshed => "any other meshed workload (one the server's policies do not name)",
        Client::OtherUnmeshed => "any workload without a proxy",
        Client::OtherMesh(_) => {
            "any workload of another mesh (its proxy and the server's do not share mutual TLS)"
        }
    }
}

/// The identity the server sees on `edge`: a concrete client evaluated in a catch-all group
/// still presents its own certificate.
fn edge_peer(view: &GraphView<'_>, edge: &Edge<'_>) -> Option<String> {
    match (edge.client, &edge.group.peer) {
        (Client::Workload(w), PeerIdentity::Other | PeerIdentity::Namespace { .. }) => {
            view.graph.workload(w).identity.clone()
        }
        (_, peer) => peer_text(view.graph, edge, peer),
    }
}

fn peer_text(graph: &Graph, edge: &Edge<'_>, peer: &PeerIdentity) -> Option<String> {
    graph.peer_text(edge.server.mesh, peer)
}

/// The resources that decided an edge: for an edge that fails or is plaintext, those of the
/// transport chain; otherwise the authorization policies (none when no policy applies).
fn deciders(view: &GraphView<'_>, edge: &Edge<'_>, network: &NetworkDecision) -> Vec<ObjectId> {
    let group = edge.group;
    let policies: Vec<ObjectId> = network
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
            let m = &view.graph.workload(w).membership;
            !m.data_plane.is_meshed() || m.capture.bypasses_anything()
        }
        _ => false,
    };
    let chain = if client_decides {
        view.graph.transport_evidence(edge)
    } else {
        group.transport_because.clone()
    };
    let transport_objects = || -> Vec<ObjectId> {
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
            for &id in &authz.objects {
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

/// The edge's answer with NetworkPolicy: `blocked` when the network denies what the mesh would
/// let through.
fn overall_reach(edge: &Edge<'_>, network: NetVerdict) -> &'static str {
    let reach = edge.group.reach();
    if reach.is_open() && network == NetVerdict::Denied {
        "blocked"
    } else {
        reach.as_str()
    }
}

fn object_name(inventory: &Inventory, id: ObjectId) -> String {
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
    edge.server.mode_text().unwrap_or("no proxy")
}

fn render_chain(inventory: &Inventory, chain: &[Because]) -> Vec<String> {
    chain.iter().map(|b| b.render(inventory)).collect()
}

fn edge_label(edge: &Edge<'_>, network: NetVerdict) -> String {
    format!(
        "{} {} {}",
        edge.server.port,
        edge.group.transport.as_str(),
        overall_reach(edge, network)
    )
}

/// Dashed: nothing gets through (denied, failing, or blocked by NetworkPolicy).
fn edge_closed(edge: &Edge<'_>, network: NetVerdict) -> bool {
    !edge.group.reach().is_open() || network == NetVerdict::Denied
}

fn edge_color(edge: &Edge<'_>, network: NetVerdict) -> &'static str {
    if edge_closed(edge, network) {
        return "gray";
    }
    match (edge.group.reach(), edge.group.transport) {
        (_, Transport::Plaintext) => "red",
        (Reach::Conditional, _) => "orange",
        _ => "darkgreen",
    }
}

fn mermaid_id(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Mermaid flowchart node: `id["label"]`.
fn mermaid_node(id: &str, label: &str) -> String {
    format!("{}[\"{}\"]", mermaid_id(id), label.replace('"', "'"))
}

/// Who a line is about.
enum LineClients {
    /// One client: a workload, or a catch-all group.
    One(Client),
    /// Several workloads that get the same answer.
    Group {
        count: usize,
        id: String,
        /// `18 workloads in team-0003`.
        label: String,
        classes: Vec<ClassId>,
        profiles: Vec<ProfileId>,
        named: Vec<WorkloadId>,
        first: WorkloadId,
        /// The client side's deciding policies are each member's own, of the same names.
        egress_by_name: bool,
    },
}

/// One line of output: the answer for one client or one group of clients, with the
/// NetworkPolicy decision of the client (or the group's first member).
struct Line<'a> {
    edge: Edge<'a>,
    network: NetworkDecision,
    clients: LineClients,
}

impl Line<'_> {
    /// Objects of the deciding egress policies that stand for each member's own policy of the
    /// same name (a group that spans namespaces).
    fn egress_by_name(&self, inventory: &Inventory) -> Vec<ObjectId> {
        match &self.clients {
            LineClients::Group {
                egress_by_name: true,
                ..
            } => self
                .network
                .decided_by_sides()
                .0
                .into_iter()
                .map(|p| inventory.network_policies[p].object)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn client_text(&self, inventory: &Inventory) -> String {
        match &self.clients {
            LineClients::One(c) => client_id(inventory, *c),
            LineClients::Group { label, .. } => label.clone(),
        }
    }

    /// The DOT/Mermaid node the line starts from.
    fn client_node(&self, inventory: &Inventory) -> String {
        match &self.clients {
            LineClients::One(c) => client_id(inventory, *c),
            LineClients::Group { id, .. } => id.clone(),
        }
    }

    fn peer(&self, view: &GraphView<'_>) -> Option<String> {
        match &self.clients {
            LineClients::One(_) => edge_peer(view, &self.edge),
            LineClients::Group { .. } => peer_text(view.graph, &self.edge, &self.edge.group.peer),
        }
    }
}

/// A group of workloads as rows name it: classes of clients and workloads named one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupDef {
    classes: Vec<ClassId>,
    profiles: Vec<ProfileId>,
    named: Vec<WorkloadId>,
}

/// What the lines written so far covered, for the parts of the output that come after them.
#[derive(Default)]
struct Seen {
    lines: usize,
    /// Client-to-port answers the lines stand for (a group line counts its members).
    answers: usize,
    workloads: BTreeSet<WorkloadId>,
    groups: foldhash::HashMap<String, GroupDef>,
    other_meshed: bool,
    other_meshes: std::collections::BTreeSet<meshaudit_model::Mesh>,
    other_unmeshed: bool,
}

impl Seen {
    fn merge(&mut self, other: Seen) {
        self.lines += other.lines;
        self.answers += other.answers;
        self.workloads.extend(other.workloads);
        for (id, def) in other.groups {
            self.groups.entry(id).or_insert(def);
        }
        self.other_meshed |= other.other_meshed;
        self.other_meshes.extend(other.other_meshes);
        self.other_unmeshed |= other.other_unmeshed;
    }

    fn record(&mut self, line: &Line<'_>) {
        self.lines += 1;
        self.workloads.insert(line.edge.server.workload);
        match &line.clients {
            LineClients::One(Client::Workload(w)) => {
                self.answers += 1;
                self.workloads.insert(*w);
            }
            LineClients::One(Client::OtherMeshed) => {
                self.answers += 1;
                self.other_meshed = true;
            }
            LineClients::One(Client::OtherUnmeshed) => {
                self.answers += 1;
                self.other_unmeshed = true;
            }
            LineClients::One(Client::OtherMesh(mesh)) => {
                self.answers += 1;
                self.other_meshes.insert(*mesh);
            }
            LineClients::Group {
                count,
                id,
                classes,
                profiles,
                named,
                ..
            } => {
                self.answers += count;
                if !self.groups.contains_key(id) {
                    self.groups.insert(
                        id.clone(),
                        GroupDef {
                            classes: classes.clone(),
                            profiles: profiles.clone(),
                            named: named.clone(),
                        },
                    );
                }
            }
        }
    }
}

/// `18 workloads in team-0003`, or `4000 workloads in 100 namespaces`.
fn group_label(count: usize, namespaces: usize, single: Option<&str>) -> String {
    match single {
        Some(ns) if namespaces == 1 => format!("{count} workloads in {ns}"),
        _ => format!("{count} workloads in {namespaces} namespaces"),
    }
}

/// A group's definition in numbers: members, namespaces, and the namespaces of its classes
/// and named workloads with their members (profiles are counted, not listed: they may span
/// every namespace).
struct GroupSummary<'i> {
    workloads: usize,
    namespaces: usize,
    listed: Vec<(&'i str, usize)>,
}

fn group_summary<'i>(view: &GraphView<'i>, def: &GroupDef) -> GroupSummary<'i> {
    let inv = view.inventory;
    let mut counts: BTreeMap<&'i str, usize> = BTreeMap::new();
    for &c in &def.classes {
        for &w in &view.rows.classes[c as usize].members {
            *counts
                .entry(inv.workloads[w].namespace.as_str())
                .or_default() += 1;
        }
    }
    for &w in &def.named {
        *counts
            .entry(inv.workloads[w].namespace.as_str())
            .or_default() += 1;
    }
    let mut workloads: usize = counts.values().sum();
    let mut namespaces = counts.len();
    for &p in &def.profiles {
        let profile = &view.rows.profiles[p as usize];
        workloads += profile.members;
        namespaces = namespaces.max(profile.namespace_count());
    }
    GroupSummary {
        workloads,
        namespaces,
        listed: counts.into_iter().collect(),
    }
}

impl GroupSummary<'_> {
    fn label(&self) -> String {
        let single = match self.listed.as_slice() {
            [(ns, _)] => Some(*ns),
            _ => None,
        };
        group_label(self.workloads, self.namespaces, single)
    }
}

/// The lines of server port `server`.
fn lines_of<'a>(view: &GraphView<'a>, server: ServerPortId) -> Vec<Line<'a>> {
    let graph = view.graph;
    let inv = view.inventory;
    let port = graph.server(server);
    let gets_through = |edge: &Edge<'_>, network: NetVerdict| {
        edge.group.reach().is_open() && network != NetVerdict::Denied
    };
    let mut out = Vec::new();
    if view.expand {
        for client in view.rows.expanded(server) {
            let group = port.group_for(graph, client);
            if view.plaintext_only && group.transport != Transport::Plaintext {
                continue;
            }
            let edge = Edge {
                client,
                server: port,
                group,
            };
            let network = graph.network(inv, client, port);
            if view.allowed_only && !gets_through(&edge, network.verdict()) {
                continue;
            }
            out.push(Line {
                edge,
                network,
                clients: LineClients::One(client),
            });
        }
        return out;
    }
    for row in view.rows.rows(server) {
        let shared = &port.groups[row.group];
        if view.plaintext_only && shared.transport != Transport::Plaintext {
            continue;
        }
        if view.allowed_only
            && !(shared.reach().is_open() && row.network.verdict != NetVerdict::Denied)
        {
            continue;
        }
        let line = match row.clients {
            RowClients::One(client) => Line {
                edge: Edge {
                    client,
                    server: port,
                    group: port.group_for(graph, client),
                },
                network: graph.network(inv, client, port),
                clients: LineClients::One(client),
            },
            RowClients::Many(ref members) => {
                let (namespaces, single) = view.rows.namespaces_of(&row);
                let classes: Vec<ClassId> = members.classes.iter().map(|(c, _)| *c).collect();
                let profiles: Vec<ProfileId> = members.profiles.iter().map(|(p, _)| *p).collect();
                Line {
                    edge: Edge {
                        client: shared.client,
                        server: port,
                        group: shared,
                    },
                    network: graph.network(inv, Client::Workload(members.first), port),
                    clients: LineClients::Group {
                        count: members.count,
                        id: view.rows.group_id(members),
                        label: group_label(members.count, namespaces, single),
                        classes,
                        profiles,
                        named: members.workloads.clone(),
                        first: members.first,
                        egress_by_name: row.egress_by_name,
                    },
                }
            }
        };
        out.push(line);
    }
    out
}

/// Column widths of the table, from the input rather than from the lines, so that lines can be
/// written as they are computed.
fn table_widths(view: &GraphView<'_>) -> [usize; 9] {
    let inv = view.inventory;
    let filter = view.rows.filter();
    let mut from = [HEADER[0], OTHER_UNMESHED]
        .iter()
        .map(|s| s.len())
        .max()
        .unwrap_or(0);
    let mut namespace_len = 0;
    for (w, wl) in WorkloadId::enumerate(&inv.workloads) {
        if filter.includes(Client::Workload(w)) {
            from = from.max(wl.namespace.len() + 1 + wl.name.len());
            namespace_len = namespace_len.max(wl.namespace.len());
        }
    }
    if !view.expand {
        let digits = |n: usize| n.to_string().len();
        let count = digits(inv.workloads.len());
        from = from
            .max(count + " workloads in ".len() + namespace_len)
            .max(
                count
                    + " workloads in ".len()
                    + digits(inv.namespaces.len().max(inv.workloads.len()))
                    + " namespaces".len(),
            );
    }
    let mut to = HEADER[1].len();
    let mut protocol = HEADER[3].len();
    // Istio's modes fit in "PERMISSIVE"; Linkerd's policies are longer.
    let mut mode = "PERMISSIVE".len();
    for &s in &view.servers {
        let port = view.graph.server(s);
        let wl = &inv.workloads[port.workload];
        to = to.max(wl.namespace.len() + 1 + wl.name.len());
        protocol = protocol.max(port.protocol.as_str().len());
        mode = mode.max(port.mode_text().map_or(0, str::len));
    }
    [
        from,
        to,
        HEADER[2].len(),
        protocol,
        mode,
        "restricted".len(),
        "plaintext".len(),
        "not enforced".len(),
        "conditional".len(),
    ]
}

const HEADER: [&str; 10] = [
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

fn table_line(out: &mut String, widths: &[usize; 9], cells: &[&str; 10]) {
    let start = out.len();
    for (i, cell) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            out.push_str(cell);
        } else {
            let _ = write!(out, "{cell:<w$}  ", w = widths[i]);
        }
    }
    let trimmed = out[start..].trim_end().len();
    out.truncate(start + trimmed);
    out.push('\n');
}

fn table_row(view: &GraphView<'_>, widths: &[usize; 9], line: &Line<'_>, out: &mut String) {
    let edge = &line.edge;
    let by_name = line.egress_by_name(view.inventory);
    let decided: Vec<String> = deciders(view, edge, &line.network)
        .into_iter()
        .map(|o| {
            if by_name.contains(&o) {
                let object = view.inventory.object(o);
                format!(
                    "{} {} (in each client's namespace)",
                    object.kind, object.name
                )
            } else {
                object_name(view.inventory, o)
            }
        })
        .collect();
    let decided = if decided.is_empty() {
        "(defaults)".to_owned()
    } else {
        decided.join(", ")
    };
    let from = line.client_text(view.inventory);
    let to = workload_id(view.inventory, edge.server.workload);
    let port = edge.server.port.to_string();
    table_line(
        out,
        widths,
        &[
            &from,
            &to,
            &port,
            edge.server.protocol.as_str(),
            mode_text(edge),
            line.network.verdict().as_str(),
            edge.group.transport.as_str(),
            authorization_text(edge),
            overall_reach(edge, line.network.verdict()),
            &decided,
        ],
    );
}

/// One edge of the JSON document, serialized as it is (no intermediate `Value` tree: the
/// document may hold hundreds of thousands of them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEdge<'a> {
    from: String,
    from_kind: &'static str,
    to: String,
    port: u16,
    protocol: &'static str,
    service: Option<String>,
    server_mode: Option<&'static str>,
    transport: &'static str,
    peer_identity: Option<String>,
    authorization: Option<&'static str>,
    reach: &'static str,
    conditions: &'a [String],
    decided_by: Vec<JsonObject<'a>>,
}

/// The fields after `evidence` (which is written from the fact cache, between the two).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonEdgeTail<'a> {
    network: JsonNetwork,
    overall_reach: &'static str,
    clients: Option<usize>,
    client_group: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonObject<'a> {
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    location: JsonLocation,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    in_each_client_namespace: bool,
}

#[derive(Serialize)]
struct JsonLocation {
    path: std::sync::Arc<str>,
    line: u32,
    column: u32,
}

#[derive(Serialize)]
struct JsonNetwork {
    verdict: &'static str,
    ingress: &'static str,
    egress: Option<&'static str>,
}

/// Rendered facts of one task as JSON string literals, by the fact they render: edges of one
/// server port repeat the same facts (its mode, its policies) line after line.
type FactCache = foldhash::HashMap<Because, String>;

/// A JSON array of the chain's facts, written from the cache.
fn write_chain(inventory: &Inventory, chain: &[Because], cache: &mut FactCache, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, b) in chain.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let literal = cache.entry(b.clone()).or_insert_with(|| {
            serde_json::to_string(&b.render(inventory)).unwrap_or_else(|_| "\"\"".to_owned())
        });
        out.extend_from_slice(literal.as_bytes());
    }
    out.push(b']');
}

fn json_row(view: &GraphView<'_>, line: &Line<'_>, cache: &mut FactCache, out: &mut Vec<u8>) {
    let inv = view.inventory;
    let e = &line.edge;
    let g = e.group;
    let network = &line.network;
    let service = g.via.map(|v| {
        let s = &inv.services[v.service];
        format!("{}/{}:{}", s.namespace, s.name, v.port)
    });
    let by_name = line.egress_by_name(inv);
    let decided_by: Vec<JsonObject<'_>> = deciders(view, e, network)
        .into_iter()
        .map(|o| {
            let object = inv.object(o);
            let loc = object.name_location();
            JsonObject {
                api_version: &object.api_version,
                kind: &object.kind,
                namespace: object.namespace.as_deref(),
                name: &object.name,
                location: JsonLocation {
                    path: loc.path,
                    line: loc.line,
                    column: loc.column,
                },
                in_each_client_namespace: by_name.contains(&o),
            }
        })
        .collect();
    let (from_kind, clients, client_group) = match &line.clients {
        LineClients::One(Client::Workload(_)) => ("workload", Some(1), None),
        LineClients::One(_) => ("group", None, None),
        LineClients::Group { count, id, .. } => ("group", Some(*count), Some(id.as_str())),
    };
    let edge = JsonEdge {
        from: line.client_text(inv),
        from_kind,
        to: workload_id(inv, e.server.workload),
        port: e.server.port,
        protocol: e.server.protocol.as_str(),
        service,
        server_mode: e.server.mode_text(),
        transport: g.transport.as_str(),
        peer_identity: line.peer(view),
        authorization: match (&g.authorization, g.reach()) {
            (_, Reach::Fails) => None,
            (None, _) => Some("not-enforced"),
            (Some(a), _) => Some(a.decision.as_str()),
        },
        reach: g.reach().as_str(),
        conditions: g
            .authorization
            .as_ref()
            .map_or(&[], |a| a.conditions.as_slice()),
        decided_by,
    };
    let tail = JsonEdgeTail {
        network: JsonNetwork {
            verdict: network.verdict().as_str(),
            ingress: network.ingress.verdict.as_str(),
            egress: network.egress.as_ref().map(|d| d.verdict.as_str()),
        },
        overall_reach: overall_reach(e, network.verdict()),
        clients,
        client_group,
    };
    // Serializing plain structs of strings and numbers cannot fail. The head's closing brace
    // and the tail's opening one make way for `evidence`.
    let _ = serde_json::to_writer(&mut *out, &edge);
    out.pop();
    out.extend_from_slice(b",\"evidence\":{\"transport\":");
    write_chain(inv, &view.graph.transport_evidence(e), cache, out);
    out.extend_from_slice(b",\"authorization\":");
    match &g.authorization {
        Some(a) => write_chain(inv, &a.because, cache, out),
        None => out.extend_from_slice(b"[]"),
    }
    out.extend_from_slice(b",\"network\":");
    write_chain(inv, &network.because(), cache, out);
    out.extend_from_slice(b"},");
    let start = out.len();
    let _ = serde_json::to_writer(&mut *out, &tail);
    out.remove(start);
}

fn explain_row(view: &GraphView<'_>, line: &Line<'_>, out: &mut String) {
    let inv = view.inventory;
    let e = &line.edge;
    let g = e.group;
    let _ = writeln!(
        out,
        "{} -> {}:{} ({})",
        line.client_text(inv),
        workload_id(inv, e.server.workload),
        e.server.port,
        e.server.protocol.as_str()
    );
    match (&line.clients, e.client, g.client) {
        (
            LineClients::Group {
                id,
                named,
                first,
                classes,
                profiles,
                egress_by_name,
                ..
            },
            _,
            _,
        ) => {
            let def = GroupDef {
                classes: classes.clone(),
                profiles: profiles.clone(),
                named: named.clone(),
            };
            let summary = group_summary(view, &def);
            let listed: Vec<String> = summary
                .listed
                .iter()
                .take(8)
                .map(|(ns, n)| format!("{ns} ({n})"))
                .collect();
            let more = summary.namespaces.saturating_sub(listed.len());
            let of = match (listed.is_empty(), more) {
                (true, 0) => String::new(),
                (true, n) => format!(" of {n} namespace(s)"),
                (false, 0) => format!(" of {}", listed.join(", ")),
                (false, n) => format!(" of {} and {n} more namespace(s)", listed.join(", ")),
            };
            let _ = writeln!(
                out,
                "  clients: client group {id}, workloads{of} that present the same to this port and get the same answer; `--expand` lists them one by one"
            );
            let _ = writeln!(
                out,
                "  network facts shown for its first member, {}{}",
                workload_id(inv, *first),
                if *egress_by_name {
                    "; every member's own namespace holds egress NetworkPolicies of the same names, which decide alike"
                } else {
                    ""
                }
            );
        }
        (_, Client::Workload(_), Client::Workload(_)) => {}
        (_, Client::Workload(c), _) if g.namespace.is_some() => {
            let client_mesh = view.graph.workload(c).mesh;
            let text = match &g.peer {
                _ if client_mesh.is_some_and(|m| m != e.server.mesh) => format!(
                    "evaluated with the {} workloads of namespace {}, whose own DestinationRule for the host decides what their proxies send",
                    client_mesh.map_or("", |m| m.title()),
                    g.namespace.as_deref().unwrap_or_default()
                ),
                PeerIdentity::Known {
                    namespace,
                    service_account,
                } => format!(
                    "evaluated with the meshed workloads that run as service account {service_account} of namespace {namespace}, an identity the server's policies name"
                ),
                _ if e.server.mesh == meshaudit_model::Mesh::Linkerd => format!(
                    "evaluated with the meshed workloads of namespace {}, which the server's authorizations name",
                    g.namespace.as_deref().unwrap_or_default()
                ),
                _ => format!(
                    "evaluated with the meshed workloads of namespace {}, which the server's policies name, or whose own DestinationRule for the host applies",
                    g.namespace.as_deref().unwrap_or_default()
                ),
            };
            let _ = writeln!(out, "  client: {text}");
        }
        (_, Client::Workload(_), group) => {
            let names = if e.server.mesh == meshaudit_model::Mesh::Linkerd {
                "no authorization of the server names it"
            } else {
                "no policy or DestinationRule of the server names it"
            };
            let _ = writeln!(
                out,
                "  client: evaluated as {}, since {names}",
                client_description(group)
            );
        }
        (_, group, _) => {
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
    let network = &line.network;
    let _ = writeln!(out, "  network: {}", network.verdict().as_str());
    for l in render_chain(inv, &network.because()) {
        let _ = writeln!(out, "    - {l}");
    }
    let peer = line.peer(view).unwrap_or_else(|| "none".to_owned());
    let _ = writeln!(
        out,
        "  transport: {} (server sees identity: {peer})",
        g.transport.as_str()
    );
    for l in render_chain(inv, &view.graph.transport_evidence(e)) {
        let _ = writeln!(out, "    - {l}");
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
            for l in render_chain(inv, &a.because) {
                let _ = writeln!(out, "    - {l}");
            }
        }
    }
    let overall = overall_reach(e, network.verdict());
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

/// The lines of `servers`, rendered; what they covered.
fn render_servers(
    view: &GraphView<'_>,
    format: GraphFormat,
    widths: &[usize; 9],
    servers: &[ServerPortId],
) -> (Vec<u8>, Seen) {
    let inv = view.inventory;
    let mut out = String::new();
    let mut seen = Seen::default();
    let mut cache = FactCache::default();
    let mut bytes: Vec<u8> = Vec::new();
    for &s in servers {
        for line in lines_of(view, s) {
            seen.record(&line);
            match format {
                GraphFormat::Table => table_row(view, widths, &line, &mut out),
                GraphFormat::Json => {
                    bytes.extend_from_slice(b",\n    ");
                    json_row(view, &line, &mut cache, &mut bytes);
                }
                GraphFormat::Dot => {
                    let verdict = line.network.verdict();
                    let style = if edge_closed(&line.edge, verdict) {
                        ", style=dashed"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "  \"{}\" -> \"{}\" [label=\"{}\", color={}{style}];",
                        line.client_node(inv),
                        workload_id(inv, line.edge.server.workload),
                        edge_label(&line.edge, verdict),
                        edge_color(&line.edge, verdict)
                    );
                }
                GraphFormat::Mermaid => {
                    let verdict = line.network.verdict();
                    let arrow = if edge_closed(&line.edge, verdict) {
                        "-.->"
                    } else {
                        "-->"
                    };
                    let from = match &line.clients {
                        LineClients::One(c) => {
                            let id = client_id(inv, *c);
                            mermaid_node(&id, &id)
                        }
                        LineClients::Group {
                            id,
                            classes,
                            profiles,
                            named,
                            ..
                        } => {
                            let def = GroupDef {
                                classes: classes.clone(),
                                profiles: profiles.clone(),
                                named: named.clone(),
                            };
                            mermaid_node(id, &group_summary(view, &def).label())
                        }
                    };
                    let to = workload_id(inv, line.edge.server.workload);
                    let _ = writeln!(
                        out,
                        "  {from} {arrow}|\"{}\"| {}",
                        edge_label(&line.edge, verdict),
                        mermaid_node(&to, &to)
                    );
                }
                GraphFormat::Explain => explain_row(view, &line, &mut out),
            }
        }
    }
    if format == GraphFormat::Json {
        (bytes, seen)
    } else {
        (out.into_bytes(), seen)
    }
}

/// Lines computed and rendered per task: enough that handing out tasks costs little, few enough
/// that the text waiting to be written stays small.
const LINES_PER_BATCH: usize = 2_048;

/// Writes the graph in `format` to `out` as it is computed: server ports are handled a batch
/// at a time on every core and written in order, so memory stays bounded whatever the size.
pub fn write_graph(
    view: &GraphView<'_>,
    format: GraphFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let inv = view.inventory;
    let widths = table_widths(view);
    match format {
        GraphFormat::Table => {
            let mut header = String::new();
            table_line(&mut header, &widths, &HEADER);
            out.write_all(header.as_bytes())?;
        }
        GraphFormat::Json => {
            let prelude = json!({
                "schemaVersion": 1,
                "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
                "trustDomain": view.graph.trust_domain,
                "autoMtls": view.graph.auto_mtls,
            })
            .to_string();
            // The prelude's closing brace makes way for the streamed arrays.
            let open = prelude.strip_suffix('}').unwrap_or(&prelude);
            write!(out, "{open},\n  \"edges\": [")?;
        }
        GraphFormat::Dot => out.write_all(
            b"digraph meshaudit {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        )?,
        GraphFormat::Mermaid => out.write_all(b"flowchart LR\n")?,
        GraphFormat::Explain => {}
    }
    // Lines per server port: one per client when expanded, a handful per port otherwise.
    let per_server = if view.expand {
        inv.workloads.len() + 2
    } else {
        8
    };
    let per_task = (LINES_PER_BATCH / per_server).max(1);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut seen = Seen::default();
    let mut first_json = true;
    for batch in view.servers.chunks(per_task * threads * 16) {
        let tasks: Vec<&[ServerPortId]> = batch.chunks(per_task).collect();
        let parts = map_in_order(&tasks, |servers| {
            render_servers(view, format, &widths, servers)
        });
        for (text, part) in parts {
            let text = if format == GraphFormat::Json && first_json && !text.is_empty() {
                first_json = false;
                &text[1..]
            } else {
                &text[..]
            };
            out.write_all(text)?;
            seen.merge(part);
        }
    }
    match format {
        GraphFormat::Table => {
            if seen.lines == 0 {
                out.write_all(b"(no edge matches)\n")?;
            }
            writeln!(
                out,
                "\n{} row(s) for {} client-port pair(s). Rows group the clients that get the same answer (--expand lists each one). {OTHER_MESHED} = any other meshed workload, {OTHER_UNMESHED} = any workload without a proxy. NETWORK is what NetworkPolicy allows (restricted: only some of a group's pods); REACH is blocked when NetworkPolicy denies what the mesh allows. `--explain` shows why.",
                seen.lines, seen.answers
            )?;
        }
        GraphFormat::Json => json_tail(view, &seen, out)?,
        GraphFormat::Dot => {
            for n in dot_nodes(view, &seen) {
                out.write_all(n.as_bytes())?;
            }
            out.write_all(b"}\n")?;
        }
        GraphFormat::Mermaid => {}
        GraphFormat::Explain => {
            if seen.lines == 0 {
                out.write_all(b"(no edge matches)\n")?;
            }
        }
    }
    out.flush()
}

/// Node statements for DOT, after the edges (Graphviz applies them wherever they appear).
fn dot_nodes(view: &GraphView<'_>, seen: &Seen) -> Vec<String> {
    let inv = view.inventory;
    let mut out = Vec::new();
    for &w in &seen.workloads {
        let id = workload_id(inv, w);
        out.push(format!("  \"{id}\" [label=\"{id}\"];\n"));
    }
    let mut groups: Vec<(&String, &GroupDef)> = seen.groups.iter().collect();
    groups.sort_unstable_by_key(|(id, _)| *id);
    for (id, def) in groups {
        out.push(format!(
            "  \"{id}\" [label=\"{}\", style=dashed];\n",
            group_summary(view, def).label()
        ));
    }
    for (shown, id) in [
        (seen.other_meshed, OTHER_MESHED.to_owned()),
        (seen.other_unmeshed, OTHER_UNMESHED.to_owned()),
    ]
    .into_iter()
    .chain(seen.other_meshes.iter().map(|&m| (true, other_mesh_id(m))))
    {
        if shown {
            out.push(format!("  \"{id}\" [label=\"{id}\", style=dashed];\n"));
        }
    }
    out
}

/// The end of the JSON document: the workloads and client groups the edges name.
fn json_tail(view: &GraphView<'_>, seen: &Seen, out: &mut dyn Write) -> std::io::Result<()> {
    let inv = view.inventory;
    let graph = view.graph;
    // Each class once, however many groups name it.
    let mut classes: BTreeSet<ClassId> = BTreeSet::new();
    let mut profiles: BTreeSet<ProfileId> = BTreeSet::new();
    let mut workloads = seen.workloads.clone();
    for def in seen.groups.values() {
        classes.extend(def.classes.iter().copied());
        profiles.extend(def.profiles.iter().copied());
        workloads.extend(def.named.iter().copied());
    }
    for p in profiles {
        classes.extend(view.rows.profiles[p as usize].classes.iter().copied());
    }
    for c in classes {
        workloads.extend(view.rows.classes[c as usize].members.iter().copied());
    }
    out.write_all(if seen.lines == 0 {
        b"],\n  \"workloads\": ["
    } else {
        b"\n  ],\n  \"workloads\": ["
    })?;
    let workloads: Vec<WorkloadId> = workloads.into_iter().collect();
    write_json_elements(&workloads, out, |&w, buf| {
        let wl = &inv.workloads[w];
        let node = graph.workload(w);
        let loc = inv.object(wl.object).name_location();
        let mut value = json!({
            "id": workload_id(inv, w),
            "kind": wl.kind,
            "namespace": wl.namespace,
            "name": wl.name,
            "serviceAccount": wl.service_account,
            "dataPlane": node.membership.data_plane.as_str(),
            "identity": node.identity,
            "location": {"path": &*loc.path, "line": loc.line, "column": loc.column},
        });
        // Istio's workloads carry no `mesh` (the contract predates other meshes).
        if let Some(mesh) = node.mesh.filter(|&m| m != meshaudit_model::Mesh::Istio) {
            value["mesh"] = json!(mesh.as_str());
        }
        serde_json::to_writer(buf, &value).expect("writing JSON to memory");
    })?;
    out.write_all(if workloads.is_empty() {
        b"],\n  \"clientGroups\": ["
    } else {
        b"\n  ],\n  \"clientGroups\": ["
    })?;
    let mut groups: Vec<(&String, &GroupDef)> = seen.groups.iter().collect();
    groups.sort_unstable_by_key(|(id, _)| *id);
    write_json_elements(&groups, out, |&(id, def), buf| {
        let summary = group_summary(view, def);
        let classes: Vec<Value> = def
            .classes
            .iter()
            .map(|&c| {
                let class = &view.rows.classes[c as usize];
                let first = &inv.workloads[class.members[0]];
                json!({
                    "namespace": first.namespace,
                    "proxy": class.catch_all == Client::OtherMeshed,
                    "ambient": class.ambient,
                    "hostNetwork": class.host_network,
                    "matchedSelectors": class.selectors.iter().map(|&id| view.rows.selector(id)).collect::<Vec<_>>(),
                    "workloads": class.members.len(),
                })
            })
            .collect();
        let profiles: Vec<Value> = def
            .profiles
            .iter()
            .map(|&p| {
                let profile = &view.rows.profiles[p as usize];
                json!({
                    "proxy": profile.catch_all == Client::OtherMeshed,
                    "egressPolicies": profile.egress_policies,
                    "namespaces": profile.namespace_count(),
                    "workloads": profile.members,
                })
            })
            .collect();
        let value = json!({
            "id": id,
            "label": summary.label(),
            "workloads": summary.workloads,
            "namespaces": summary.listed.iter().map(|(ns, n)| json!({"namespace": ns, "workloads": n})).collect::<Vec<_>>(),
            "classes": classes,
            "profiles": profiles,
            "namedWorkloads": def.named.iter().map(|&w| workload_id(inv, w)).collect::<Vec<_>>(),
        });
        serde_json::to_writer(buf, &value).expect("writing JSON to memory");
    })?;
    out.write_all(if seen.groups.is_empty() {
        b"]\n}\n"
    } else {
        b"\n  ]\n}\n"
    })?;
    Ok(())
}

/// Writes `items` as the elements of a JSON array (each on its own line), rendered in chunks on
/// every core and written in order, so that neither the work nor the memory is one big piece.
fn write_json_elements<T: Sync>(
    items: &[T],
    out: &mut dyn Write,
    render: impl Fn(&T, &mut Vec<u8>) + Sync,
) -> std::io::Result<()> {
    const CHUNK: usize = 64;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut first = true;
    for batch in items.chunks(CHUNK * threads * 8) {
        let tasks: Vec<&[T]> = batch.chunks(CHUNK).collect();
        let parts = map_in_order(&tasks, |chunk| {
            let mut buf = Vec::new();
            for item in *chunk {
                buf.extend_from_slice(b",\n    ");
                render(item, &mut buf);
            }
            buf
        });
        for part in parts {
            let text = if first && !part.is_empty() {
                first = false;
                &part[1..]
            } else {
                &part[..]
            };
            out.write_all(text)?;
        }
    }
    Ok(())
}
