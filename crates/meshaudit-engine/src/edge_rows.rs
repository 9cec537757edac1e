//! The graph's answers gathered into rows: for one server port, the clients whose answer is
//! identical — same transport, identity class, authorization and NetworkPolicy decision, same
//! deciding resources — form one row ("18 workloads in team-0003") instead of one line each.
//!
//! Rows are computed per class of clients, never per client, so that a mesh of 20,000 workloads
//! and 30,000 server ports costs what its classes cost, not the square of its workloads:
//! - the mesh answer of a client that the server's policies do not treat apart is its catch-all
//!   group's ([`Graph::catch_all`], [`Graph::treated_apart`]);
//! - NetworkPolicy tells clients apart only by namespace, by the pod labels some policy's
//!   selector reads, and by `hostNetwork`; ambient clients meet NetworkPolicy on the HBONE port.
//!
//! So clients are put into classes by (catch-all group, ambient, namespace, the labels any
//! NetworkPolicy reads, hostNetwork); one member answers for its class. The clients a server
//! treats apart are evaluated one by one, as the graph does.

use std::collections::{BTreeSet, HashMap};

use meshaudit_model::selector::LabelSelector;
use meshaudit_model::Inventory;

use crate::authorization::PeerIdentity;
use crate::graph::{Client, EdgeGroup, Graph, ServerPort, ServicePortRef, Transport};
use crate::membership::DataPlane;
use crate::network_policy::NetSummary;

/// Which clients to show: a subset of the workloads, and the two catch-all groups that stand
/// for pods outside the input.
#[derive(Debug, Clone)]
pub struct ClientFilter {
    workloads: Vec<bool>,
    pub other_meshed: bool,
    pub other_unmeshed: bool,
}

impl ClientFilter {
    /// Every workload and both catch-all groups.
    pub fn all(graph: &Graph) -> Self {
        ClientFilter {
            workloads: vec![true; graph.workloads.len()],
            other_meshed: true,
            other_unmeshed: true,
        }
    }

    /// The clients `keep` selects.
    pub fn only(graph: &Graph, keep: impl Fn(Client) -> bool) -> Self {
        ClientFilter {
            workloads: (0..graph.workloads.len())
                .map(|w| keep(Client::Workload(w)))
                .collect(),
            other_meshed: keep(Client::OtherMeshed),
            other_unmeshed: keep(Client::OtherUnmeshed),
        }
    }

    pub fn includes(&self, client: Client) -> bool {
        match client {
            Client::Workload(w) => self.workloads.get(w).copied().unwrap_or(false),
            Client::OtherMeshed => self.other_meshed,
            Client::OtherUnmeshed => self.other_unmeshed,
        }
    }
}

/// Clients that every server port answers alike unless it treats one of them apart.
#[derive(Debug, Clone)]
pub struct ClientClass {
    /// [`Client::OtherMeshed`] or [`Client::OtherUnmeshed`]: the group whose answer its
    /// members get where no policy names them.
    pub catch_all: Client,
    pub namespace: String,
    /// The pod labels NetworkPolicy selectors read, as the members carry them (`None`: absent).
    pub labels: Vec<(String, Option<String>)>,
    pub ambient: bool,
    pub host_network: bool,
    /// Workload indexes, in order.
    pub members: Vec<usize>,
}

/// Index of a class in [`EdgeRows::classes`].
pub type ClassId = u32;

/// The rows of every server port, computed on demand per server.
pub struct EdgeRows<'g> {
    graph: &'g Graph,
    inventory: &'g Inventory,
    filter: ClientFilter,
    pub classes: Vec<ClientClass>,
    /// Per workload: its class, or `None` when the filter leaves it out.
    class_of: Vec<Option<ClassId>>,
    /// Per server port: the clients of the filter it evaluates apart from their class, in order.
    apart: Vec<Vec<usize>>,
}

/// Who a row is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowClients {
    /// One client: a workload, or a catch-all group standing for pods the input does not hold.
    One(Client),
    /// Several workloads.
    Many(Members),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// Classes with the number of their members in the row: all of them but the server itself
    /// and the clients the server treats apart (which have rows of their own).
    pub classes: Vec<(ClassId, usize)>,
    /// Clients the server treats apart whose answer is nevertheless this row's.
    pub workloads: Vec<usize>,
    pub count: usize,
    /// The member whose decisions stand for the row's (the first, by workload order).
    pub first: usize,
}

impl Members {
    /// Every member workload, in no particular order.
    pub fn iter<'a>(&'a self, rows: &'a EdgeRows<'_>, server: usize) -> impl Iterator<Item = usize> + 'a {
        let own = rows.graph.servers[server].workload;
        let apart = &rows.apart[server];
        self.classes
            .iter()
            .flat_map(move |&(c, _)| rows.classes[c as usize].members.iter().copied())
            .filter(move |&w| w != own && apart.binary_search(&w).is_err())
            .chain(self.workloads.iter().copied())
    }
}

/// One row: a server port, the clients, and the answer they share.
#[derive(Debug, Clone)]
pub struct Row {
    /// Index into [`Graph::servers`].
    pub server: usize,
    /// Index into the server port's groups: the mesh answer.
    pub group: usize,
    pub network: NetSummary,
    pub clients: RowClients,
}

impl Row {
    /// The client whose decisions stand for the row: the workload, group, or first member.
    pub fn representative(&self) -> Client {
        match &self.clients {
            RowClients::One(c) => *c,
            RowClients::Many(m) => Client::Workload(m.first),
        }
    }

    pub fn count(&self) -> usize {
        match &self.clients {
            RowClients::One(_) => 1,
            RowClients::Many(m) => m.count,
        }
    }
}

/// What makes two mesh answers of one server port the same answer.
#[derive(PartialEq, Eq, Hash)]
struct AnswerKey<'g> {
    transport: Transport,
    peer: &'g PeerIdentity,
    via: Option<(usize, usize)>,
    authorization: Option<(crate::authorization::Decision, &'g [usize], &'g [String])>,
    transport_objects: Vec<usize>,
}

fn answer_key(group: &EdgeGroup) -> AnswerKey<'_> {
    let mut transport_objects: Vec<usize> = group
        .transport_because
        .iter()
        .filter_map(|b| b.object)
        .collect();
    transport_objects.dedup();
    AnswerKey {
        transport: group.transport,
        peer: &group.peer,
        via: group.via.map(|ServicePortRef { service, index, .. }| (service, index)),
        authorization: group
            .authorization
            .as_ref()
            .map(|a| (a.decision, a.decided_by.as_slice(), a.conditions.as_slice())),
        transport_objects,
    }
}

impl<'g> EdgeRows<'g> {
    pub fn new(graph: &'g Graph, inventory: &'g Inventory, filter: ClientFilter) -> Self {
        let label_keys = network_policy_label_keys(inventory);
        let by_namespace = !inventory.network_policies.is_empty();
        let mut classes: Vec<ClientClass> = Vec::new();
        let mut class_of: Vec<Option<ClassId>> = vec![None; graph.workloads.len()];
        type ClassKey<'a> = (Client, bool, &'a str, Vec<Option<&'a str>>, bool);
        let mut ids: HashMap<ClassKey<'_>, ClassId> = HashMap::new();
        for (w, node) in graph.workloads.iter().enumerate() {
            if !filter.includes(Client::Workload(w)) {
                continue;
            }
            let workload = &inventory.workloads[w];
            let catch_all = graph.catch_all(w);
            // Ambient-ness and namespaces tell clients apart only through NetworkPolicy.
            let ambient = by_namespace && node.membership.data_plane == DataPlane::Ambient;
            let namespace = if by_namespace {
                workload.namespace.as_str()
            } else {
                ""
            };
            let labels: Vec<Option<&str>> = label_keys
                .iter()
                .map(|k| workload.labels.get(*k).map(String::as_str))
                .collect();
            let host_network = by_namespace && workload.host_network;
            let key = (catch_all, ambient, namespace, labels, host_network);
            let next = ClassId::try_from(classes.len()).unwrap_or(ClassId::MAX);
            let id = *ids.entry(key).or_insert_with_key(|key| {
                classes.push(ClientClass {
                    catch_all,
                    namespace: key.2.to_owned(),
                    labels: label_keys
                        .iter()
                        .zip(&key.3)
                        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                        .collect(),
                    ambient,
                    host_network,
                    members: Vec::new(),
                });
                next
            });
            classes[id as usize].members.push(w);
            class_of[w] = Some(id);
        }
        let mut apart: Vec<Vec<usize>> = vec![Vec::new(); graph.servers.len()];
        for w in 0..graph.workloads.len() {
            if class_of[w].is_none() {
                continue;
            }
            for s in graph.treated_apart(w) {
                if graph.servers[s].workload != w {
                    apart[s].push(w);
                }
            }
        }
        EdgeRows {
            graph,
            inventory,
            filter,
            classes,
            class_of,
            apart,
        }
    }

    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// The clients shown.
    pub fn filter(&self) -> &ClientFilter {
        &self.filter
    }

    /// The clients server port `server` evaluates apart from their class.
    pub fn apart(&self, server: usize) -> &[usize] {
        &self.apart[server]
    }

    /// The rows of server port `server`: clients whose answers are identical share one.
    /// Ordered by their first member; the catch-all groups for pods outside the input last.
    pub fn rows(&self, server: usize) -> Vec<Row> {
        let graph = self.graph;
        let port: &ServerPort = &graph.servers[server];
        let own = port.workload;
        // Equal mesh answers share the index of the first group that gives them.
        let mut canonical: HashMap<AnswerKey<'_>, usize> = HashMap::new();
        let mut canon_of: Vec<Option<usize>> = vec![None; port.groups.len()];
        let mut canon = |g: usize| -> usize {
            *canon_of[g].get_or_insert_with(|| {
                *canonical.entry(answer_key(&port.groups[g])).or_insert(g)
            })
        };

        let mut rows: Vec<Row> = Vec::new();
        let mut by_key: HashMap<(usize, NetSummary), usize> = HashMap::new();
        let mut add = |rows: &mut Vec<Row>, group: usize, network: NetSummary, member: Part| {
            let index = *by_key.entry((group, network.clone())).or_insert_with(|| {
                rows.push(Row {
                    server,
                    group,
                    network,
                    clients: RowClients::Many(Members {
                        classes: Vec::new(),
                        workloads: Vec::new(),
                        count: 0,
                        first: usize::MAX,
                    }),
                });
                rows.len() - 1
            });
            let RowClients::Many(m) = &mut rows[index].clients else {
                return;
            };
            match member {
                Part::Workload(w) => {
                    m.workloads.push(w);
                    m.count += 1;
                    m.first = m.first.min(w);
                }
                Part::Class(c, count, first) => {
                    m.classes.push((c, count));
                    m.count += count;
                    m.first = m.first.min(first);
                }
            }
        };

        let apart = &self.apart[server];
        // How many members of each class the server treats apart (or is).
        let mut removed: HashMap<ClassId, usize> = HashMap::new();
        for &w in apart {
            let group = canon(port.group_index_for(graph, Client::Workload(w)));
            let network = graph.network_summary(self.inventory, Client::Workload(w), port);
            add(&mut rows, group, network, Part::Workload(w));
            if let Some(c) = self.class_of[w] {
                *removed.entry(c).or_default() += 1;
            }
        }
        if let Some(c) = self.class_of[own] {
            *removed.entry(c).or_default() += 1;
        }
        for (c, class) in self.classes.iter().enumerate() {
            let c = ClassId::try_from(c).unwrap_or(ClassId::MAX);
            let count = class.members.len() - removed.get(&c).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let first = if removed.contains_key(&c) {
                match class
                    .members
                    .iter()
                    .copied()
                    .find(|&w| w != own && apart.binary_search(&w).is_err())
                {
                    Some(w) => w,
                    None => continue,
                }
            } else {
                class.members[0]
            };
            let group = canon(port.group_index_for(graph, class.catch_all));
            let network = graph.network_summary(self.inventory, Client::Workload(first), port);
            add(&mut rows, group, network, Part::Class(c, count, first));
        }
        for row in &mut rows {
            if let RowClients::Many(members) = &mut row.clients {
                members.workloads.sort_unstable();
                if members.count == 1 {
                    row.clients = RowClients::One(Client::Workload(members.first));
                }
            }
        }
        rows.sort_by_key(|r| match &r.clients {
            RowClients::One(Client::Workload(w)) => *w,
            RowClients::Many(m) => m.first,
            RowClients::One(_) => usize::MAX,
        });
        for client in [Client::OtherMeshed, Client::OtherUnmeshed] {
            if self.filter.includes(client) {
                rows.push(Row {
                    server,
                    group: port.group_index_for(graph, client),
                    network: graph.network_summary(self.inventory, client, port),
                    clients: RowClients::One(client),
                });
            }
        }
        rows
    }

    /// Every client of the filter at server port `server`, one row each (`--expand`).
    pub fn expanded(&self, server: usize) -> impl Iterator<Item = Client> + '_ {
        let own = self.graph.servers[server].workload;
        (0..self.graph.workloads.len())
            .filter(move |&w| w != own && self.class_of[w].is_some())
            .map(Client::Workload)
            .chain(
                [Client::OtherMeshed, Client::OtherUnmeshed]
                    .into_iter()
                    .filter(|c| self.filter.includes(*c)),
            )
    }

    /// The namespaces a row's members live in, with how many members each.
    pub fn namespaces_of(&self, row: &Row) -> Vec<(&'g str, usize)> {
        let inv = self.inventory;
        let mut out: Vec<(&'g str, usize)> = Vec::new();
        let mut push = |ns: &'g str, n: usize| match out.iter_mut().find(|(o, _)| *o == ns) {
            Some((_, count)) => *count += n,
            None => out.push((ns, n)),
        };
        match &row.clients {
            RowClients::One(Client::Workload(w)) => push(&inv.workloads[*w].namespace, 1),
            RowClients::One(_) => {}
            RowClients::Many(m) => {
                for &(c, count) in &m.classes {
                    let class = &self.classes[c as usize];
                    if class.namespace.is_empty() {
                        // Classes that span namespaces: count member by member.
                        let own = self.graph.servers[row.server].workload;
                        let apart = &self.apart[row.server];
                        for &w in &class.members {
                            if w != own && apart.binary_search(&w).is_err() {
                                push(&inv.workloads[w].namespace, 1);
                            }
                        }
                    } else {
                        push(&inv.workloads[class.members[0]].namespace, count);
                    }
                }
                for &w in &m.workloads {
                    push(&inv.workloads[w].namespace, 1);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The groups of workloads rows name: a stable identifier for the members' definition
    /// (classes and workloads treated apart), independent of the server.
    pub fn group_id(&self, members: &Members) -> String {
        let mut classes: BTreeSet<ClassId> = BTreeSet::new();
        classes.extend(members.classes.iter().map(|(c, _)| *c));
        let mut h = Fnv::default();
        for c in &classes {
            let class = &self.classes[*c as usize];
            h.write(class.namespace.as_bytes());
            h.write(&[0, u8::from(class.catch_all == Client::OtherMeshed), u8::from(class.ambient), u8::from(class.host_network)]);
            for (k, v) in &class.labels {
                h.write(k.as_bytes());
                h.write(&[1]);
                if let Some(v) = v {
                    h.write(v.as_bytes());
                }
                h.write(&[2]);
            }
            h.write(&[3]);
        }
        for &w in &members.workloads {
            let wl = &self.inventory.workloads[w];
            h.write(wl.namespace.as_bytes());
            h.write(&[4]);
            h.write(wl.name.as_bytes());
            h.write(&[5]);
        }
        format!("g{:016x}", h.0)
    }
}

enum Part {
    Workload(usize),
    /// A class, the number of its members in the row, and its first member there.
    Class(ClassId, usize, usize),
}

/// FNV-1a: a stable hash (the standard library's is seeded per process) for group ids.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Every pod label key a NetworkPolicy selector reads: the policies' own `podSelector` (which
/// decides whose egress they restrict) and their peers' (which decides whom they admit).
fn network_policy_label_keys(inv: &Inventory) -> Vec<&str> {
    fn add<'a>(keys: &mut BTreeSet<&'a str>, selector: &'a LabelSelector) {
        keys.extend(selector.match_labels.iter().flatten().map(|(k, _)| k.as_str()));
        keys.extend(
            selector
                .match_expressions
                .iter()
                .flatten()
                .map(|r| r.key.as_str()),
        );
    }
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for policy in &inv.network_policies {
        add(&mut keys, &policy.spec.pod_selector);
        for rule in policy
            .spec
            .ingress
            .iter()
            .flatten()
            .chain(policy.spec.egress.iter().flatten())
        {
            for peer in rule.from.iter().flatten() {
                if let Some(selector) = &peer.pod_selector {
                    add(&mut keys, selector);
                }
            }
        }
    }
    keys.into_iter().collect()
}
