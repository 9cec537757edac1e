//! The graph's answers gathered into rows: for one server port, the clients whose answer is
//! identical — same transport, identity class, authorization and NetworkPolicy decision, same
//! deciding resources — form one row ("18 workloads in team-0003") instead of one line each.
//!
//! Rows are computed per class of clients, never per client, so that a mesh of 20,000 workloads
//! and 30,000 server ports costs what its classes cost, not the square of its workloads:
//! - the mesh answer of a client that the server's policies do not treat apart is its catch-all
//!   group's ([`Graph::catch_all`], [`Graph::treated_apart`]);
//! - NetworkPolicy tells clients apart only by namespace, by which of the selectors that pick
//!   clients (an egress policy's `podSelector`, an ingress peer's `podSelector`) match their pod
//!   labels, and by `hostNetwork`; ambient clients meet NetworkPolicy on the HBONE port.
//!
//! So clients are put into classes by (catch-all group, ambient, namespace, the client
//! selectors they match, hostNetwork); one member answers for its class. The clients a server
//! treats apart are evaluated one by one, as the graph does.
//!
//! Egress policies always live in the client's own namespace, so clients of different
//! namespaces are never stopped by the same egress policy. When every namespace carries the same
//! policies (a `default-deny` stamped into each), their answers are the same in all but the
//! namespace: rows compare the client side's deciding policies by name, and say so.

use std::collections::BTreeSet;

// Rows hash small keys by the million: foldhash, not the default SipHash.
use foldhash::{HashMap, HashMapExt, HashSet};

use meshaudit_model::selector::LabelSelector;
use meshaudit_model::{
    AuthorizationPolicyId, Inventory, NetworkPolicyId, ObjectId, ServiceId, WorkloadId,
};

use meshaudit_model::Mesh;

use crate::authorization::PeerIdentity;
use crate::graph::{Client, EdgeGroup, Graph, ServerPort, ServerPortId, ServicePortRef, Transport};
use crate::membership::DataPlane;
use crate::network_policy::NetSummary;

/// Which clients to show: a subset of the workloads, and the two catch-all groups that stand
/// for pods outside the input.
#[derive(Debug, Clone)]
pub struct ClientFilter {
    /// Per workload (by its index).
    workloads: Vec<bool>,
    pub other_meshed: bool,
    pub other_unmeshed: bool,
    /// The other meshes whose catch-all class is shown ([`Client::OtherMesh`]).
    pub other_meshes: Vec<Mesh>,
}

impl ClientFilter {
    /// Every workload and both catch-all groups.
    pub fn all(graph: &Graph) -> Self {
        ClientFilter {
            workloads: vec![true; graph.workloads.len()],
            other_meshed: true,
            other_unmeshed: true,
            other_meshes: graph.other_meshes.clone(),
        }
    }

    /// The clients `keep` selects.
    pub fn only(graph: &Graph, keep: impl Fn(Client) -> bool) -> Self {
        ClientFilter {
            workloads: graph
                .workload_ids()
                .map(|w| keep(Client::Workload(w)))
                .collect(),
            other_meshed: keep(Client::OtherMeshed),
            other_unmeshed: keep(Client::OtherUnmeshed),
            other_meshes: graph
                .other_meshes
                .iter()
                .copied()
                .filter(|&m| keep(Client::OtherMesh(m)))
                .collect(),
        }
    }

    pub fn includes(&self, client: Client) -> bool {
        match client {
            Client::Workload(w) => self.workloads.get(w.index()).copied().unwrap_or(false),
            Client::OtherMeshed => self.other_meshed,
            Client::OtherUnmeshed => self.other_unmeshed,
            Client::OtherMesh(m) => self.other_meshes.contains(&m),
        }
    }
}

/// Clients that every server port answers alike unless it treats one of them apart.
#[derive(Debug, Clone)]
pub struct ClientClass {
    /// [`Client::OtherMeshed`] or [`Client::OtherUnmeshed`]: the group whose answer its
    /// members get where no policy names them.
    pub catch_all: Client,
    /// Empty when the input has no NetworkPolicy (namespaces then tell no client apart).
    pub namespace: String,
    /// The client selectors of NetworkPolicies (see [`EdgeRows::selector`]) the members match.
    pub selectors: Vec<u32>,
    pub ambient: bool,
    pub host_network: bool,
    /// The workloads, in order.
    pub members: Vec<WorkloadId>,
    /// The NetworkPolicies that isolate the members for egress.
    egress: Vec<NetworkPolicyId>,
    /// The profile of the class, unless every server must evaluate it on its own.
    profile: Option<ProfileId>,
    /// A stable hash of what defines the class, for group ids.
    digest: u64,
}

/// Index of a class in [`EdgeRows::classes`].
pub type ClassId = u32;
/// Index of a profile in [`EdgeRows::profiles`].
pub type ProfileId = u32;

/// Classes that get the same answer from every server port that is not in their namespace,
/// that their egress policies cannot reach, and whose ingress policies cannot admit them: the
/// same catch-all group, and egress policies of the same names (or none). Rows count a
/// profile's members instead of visiting its classes one by one.
#[derive(Debug, Clone)]
pub struct Profile {
    pub catch_all: Client,
    /// Names of the egress NetworkPolicies that isolate the members (in their own namespace).
    pub egress_policies: Vec<String>,
    pub classes: Vec<ClassId>,
    /// Members of all its classes.
    pub members: usize,
    /// Members per namespace (by `EdgeRows::namespace_of` id).
    namespaces: HashMap<u32, usize>,
}

impl Profile {
    pub fn namespace_count(&self) -> usize {
        self.namespaces.len()
    }
}

/// Which namespaces a set of NetworkPolicy rules can admit pods of.
#[derive(Debug, Clone)]
enum Reach {
    /// Any namespace (a rule without peers, an empty namespace selector, an `ipBlock`).
    All,
    Some(BTreeSet<String>),
}

impl Reach {
    fn add(&mut self, other: &Reach) {
        match (&mut *self, other) {
            (Reach::All, _) => {}
            (_, Reach::All) => *self = Reach::All,
            (Reach::Some(a), Reach::Some(b)) => a.extend(b.iter().cloned()),
        }
    }
}

/// The rows of every server port, computed on demand per server.
pub struct EdgeRows<'g> {
    graph: &'g Graph,
    inventory: &'g Inventory,
    filter: ClientFilter,
    pub classes: Vec<ClientClass>,
    pub profiles: Vec<Profile>,
    /// Per workload (by its index): its class, or `None` when the filter leaves it out.
    class_of: Vec<Option<ClassId>>,
    /// Per server port: the clients of the filter it evaluates apart from their class, in order.
    apart: Vec<Vec<WorkloadId>>,
    /// Descriptions of the client selectors classes refer to.
    selectors: Vec<String>,
    /// Classes by namespace.
    classes_in: HashMap<String, Vec<ClassId>>,
    /// Per namespace: the classes of other namespaces whose egress policies may admit it.
    reaching: HashMap<String, Vec<ClassId>>,
    /// Classes every server evaluates on its own (no profile).
    unprofiled: Vec<ClassId>,
    /// Per NetworkPolicy (by its index): the namespaces its ingress rules may admit clients of.
    ingress_reach: Vec<Reach>,
    /// Per workload (by its index): its namespace as a small number, so that rows count
    /// namespaces without comparing names.
    namespace_of: Vec<u32>,
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
    /// Profiles with the number of their members in the row: the members of the profile's
    /// classes that this server does not evaluate class by class, less the server itself and
    /// the clients it treats apart.
    pub profiles: Vec<(ProfileId, usize)>,
    /// Clients the server treats apart whose answer is nevertheless this row's.
    pub workloads: Vec<WorkloadId>,
    pub count: usize,
    /// The member whose decisions stand for the row's (the first, by workload order).
    pub first: WorkloadId,
    /// How many namespaces the members live in.
    pub namespaces: usize,
    /// Their namespace, when they all live in one.
    pub namespace: Option<String>,
}

impl Members {
    /// Every member workload, in no particular order.
    pub fn iter<'a>(
        &'a self,
        rows: &'a EdgeRows<'_>,
        server: ServerPortId,
    ) -> impl Iterator<Item = WorkloadId> + 'a {
        let own = rows.graph.servers[server].workload;
        let apart = &rows.apart[server.index()];
        let special = rows.special_classes(server);
        let from_profiles = self.profiles.iter().flat_map(move |&(p, _)| {
            rows.profiles[p as usize]
                .classes
                .iter()
                .copied()
                .filter(|c| !special.contains(c))
                .collect::<Vec<_>>()
        });
        self.classes
            .iter()
            .map(|&(c, _)| c)
            .chain(from_profiles)
            .flat_map(move |c| rows.classes[c as usize].members.iter().copied())
            .filter(move |&w| w != own && apart.binary_search(&w).is_err())
            .chain(self.workloads.iter().copied())
    }
}

/// One row: a server port, the clients, and the answer they share.
#[derive(Debug, Clone)]
pub struct Row {
    pub server: ServerPortId,
    /// Index into the server port's groups: the mesh answer.
    pub group: usize,
    /// The NetworkPolicy answer of the representative client.
    pub network: NetSummary,
    /// The members' own egress policies decided, and they are those of several namespaces
    /// (policies of the same names): `network.egress_decided_by` names the representative's.
    pub egress_by_name: bool,
    pub clients: RowClients,
}

impl Row {
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
    via: Option<(ServiceId, usize)>,
    authorization: Option<(
        crate::authorization::Decision,
        &'g [AuthorizationPolicyId],
        &'g [String],
    )>,
    transport_objects: Vec<ObjectId>,
}

fn answer_key(group: &EdgeGroup) -> AnswerKey<'_> {
    let mut transport_objects: Vec<ObjectId> = group
        .transport_because
        .iter()
        .filter_map(|b| b.object)
        .collect();
    transport_objects.dedup();
    AnswerKey {
        transport: group.transport,
        peer: &group.peer,
        via: group
            .via
            .map(|ServicePortRef { service, index, .. }| (service, index)),
        authorization: group
            .authorization
            .as_ref()
            .map(|a| (a.decision, a.decided_by.as_slice(), a.conditions.as_slice())),
        transport_objects,
    }
}

/// The NetworkPolicy answer rows compare: verdicts, the server side's deciding policies, and
/// the names of the client side's.
#[derive(PartialEq, Eq, Hash)]
struct NetKey<'a> {
    verdict: crate::network_policy::NetVerdict,
    ingress: crate::network_policy::NetVerdict,
    egress: Option<crate::network_policy::NetVerdict>,
    ingress_decided_by: Vec<NetworkPolicyId>,
    egress_decided_by: Vec<&'a str>,
}

fn net_key<'a>(inv: &'a Inventory, n: &NetSummary) -> NetKey<'a> {
    NetKey {
        verdict: n.verdict,
        ingress: n.ingress,
        egress: n.egress,
        ingress_decided_by: n.ingress_decided_by.clone(),
        egress_decided_by: {
            let mut names: Vec<&str> = n
                .egress_decided_by
                .iter()
                .map(|&p| inv.network_policies[p].name.as_str())
                .collect();
            names.sort_unstable();
            names
        },
    }
}

enum Part {
    Workload(WorkloadId),
    /// A class, the number of its members in the row, and its first member there.
    Class(ClassId, usize, WorkloadId),
    /// A profile, likewise.
    Profile(ProfileId, usize, WorkloadId),
}

impl Part {
    fn first(&self) -> WorkloadId {
        match self {
            Part::Workload(w) | Part::Class(_, _, w) | Part::Profile(_, _, w) => *w,
        }
    }
}

impl<'g> EdgeRows<'g> {
    pub fn new(graph: &'g Graph, inventory: &'g Inventory, filter: ClientFilter) -> Self {
        let selectors = ClientSelectors::new(inventory);
        let by_namespace = !inventory.network_policies.is_empty();
        let mut classes: Vec<ClientClass> = Vec::new();
        let mut class_of: Vec<Option<ClassId>> = vec![None; graph.workloads.len()];
        type ClassKey<'a> = (Client, bool, &'a str, Vec<u32>, bool);
        let mut ids: HashMap<ClassKey<'_>, ClassId> = HashMap::new();
        for (w, node) in graph.workloads_with_ids() {
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
            let matched = selectors.matched_by(workload);
            let host_network = by_namespace && workload.host_network;
            let key = (catch_all, ambient, namespace, matched, host_network);
            let next = ClassId::try_from(classes.len()).unwrap_or(ClassId::MAX);
            let id = *ids.entry(key).or_insert_with_key(|key| {
                classes.push(ClientClass {
                    catch_all,
                    namespace: key.2.to_owned(),
                    selectors: key.3.clone(),
                    ambient,
                    host_network,
                    members: Vec::new(),
                    egress: graph.network_policies.egress_policies(w).to_vec(),
                    profile: None,
                    digest: 0,
                });
                next
            });
            classes[id as usize].members.push(w);
            class_of[w.index()] = Some(id);
        }
        let mut namespace_ids: HashMap<&str, u32> = HashMap::new();
        let namespace_of: Vec<u32> = inventory
            .workloads
            .iter()
            .map(|w| {
                let next = u32::try_from(namespace_ids.len()).unwrap_or(u32::MAX);
                *namespace_ids.entry(w.namespace.as_str()).or_insert(next)
            })
            .collect();
        let mut apart: Vec<Vec<WorkloadId>> = vec![Vec::new(); graph.servers.len()];
        for (w, class) in graph.workload_ids().zip(&class_of) {
            if class.is_none() {
                continue;
            }
            for s in graph.treated_apart(w) {
                if graph.servers[s].workload != w {
                    apart[s.index()].push(w);
                }
            }
        }

        // Where each policy's rules may admit pods, for profiles.
        let namespaces = Namespaces::new(graph, inventory);
        let egress_reach: Vec<Reach> = inventory
            .network_policies
            .iter()
            .map(|p| namespaces.reach(p.spec.egress.as_deref()))
            .collect();
        let ingress_reach: Vec<Reach> = inventory
            .network_policies
            .iter()
            .map(|p| namespaces.reach(p.spec.ingress.as_deref()))
            .collect();
        let mut classes_in: HashMap<String, Vec<ClassId>> = HashMap::new();
        let mut reaching: HashMap<String, Vec<ClassId>> = HashMap::new();
        let mut unprofiled: Vec<ClassId> = Vec::new();
        let mut profiles: Vec<Profile> = Vec::new();
        type ProfileKey<'a> = (Client, Vec<&'a str>, Vec<&'a str>);
        let mut profile_ids: HashMap<ProfileKey<'_>, ProfileId> = HashMap::new();
        let uniform_rules: Vec<String> = inventory
            .network_policies
            .iter()
            .map(|p| uniform_egress_rules(p.spec.egress.as_deref()))
            .collect();
        for (c, class) in classes.iter_mut().enumerate() {
            class.digest = class_digest(class, &selectors.descriptions);
            let c = ClassId::try_from(c).unwrap_or(ClassId::MAX);
            classes_in
                .entry(class.namespace.clone())
                .or_default()
                .push(c);
            // Ambient clients meet NetworkPolicy on the HBONE port, host-network ones come
            // from outside addresses: neither follows the profile's reasoning.
            let mut reach = Reach::Some(BTreeSet::new());
            for &p in &class.egress {
                reach.add(&egress_reach[p.index()]);
            }
            let alone = class.ambient || class.host_network || matches!(reach, Reach::All);
            if alone {
                unprofiled.push(c);
                continue;
            }
            if let Reach::Some(set) = reach {
                for ns in set {
                    if ns != class.namespace {
                        reaching.entry(ns).or_default().push(c);
                    }
                }
            }
            let mut names: Vec<&str> = class
                .egress
                .iter()
                .map(|&p| inventory.network_policies[p].name.as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            // Policies of the same names must also admit alike whatever the pod is.
            let mut uniform: Vec<&str> = class
                .egress
                .iter()
                .map(|&p| uniform_rules[p.index()].as_str())
                .collect();
            uniform.sort_unstable();
            let next = ProfileId::try_from(profiles.len()).unwrap_or(ProfileId::MAX);
            let id = *profile_ids
                .entry((class.catch_all, names.clone(), uniform))
                .or_insert_with(|| {
                    profiles.push(Profile {
                        catch_all: class.catch_all,
                        egress_policies: names.iter().map(|n| (*n).to_owned()).collect(),
                        classes: Vec::new(),
                        members: 0,
                        namespaces: HashMap::new(),
                    });
                    next
                });
            let profile = &mut profiles[id as usize];
            profile.classes.push(c);
            profile.members += class.members.len();
            for &w in &class.members {
                *profile
                    .namespaces
                    .entry(namespace_of[w.index()])
                    .or_default() += 1;
            }
            class.profile = Some(id);
        }
        EdgeRows {
            graph,
            inventory,
            filter,
            classes,
            profiles,
            class_of,
            apart,
            selectors: selectors.descriptions,
            classes_in,
            reaching,
            unprofiled,
            ingress_reach,
            namespace_of,
        }
    }

    /// The clients shown.
    pub fn filter(&self) -> &ClientFilter {
        &self.filter
    }

    /// What client selector `id` is: `NetworkPolicy ns/name spec.podSelector`.
    pub fn selector(&self, id: u32) -> &str {
        &self.selectors[id as usize]
    }

    /// The classes server port `server` evaluates one by one rather than through their
    /// profile: those of its own namespace, of the namespaces its ingress policies may admit,
    /// those whose egress policies may reach its namespace, and those without a profile.
    pub fn special_classes(&self, server: ServerPortId) -> HashSet<ClassId> {
        let mut out: HashSet<ClassId> = self.unprofiled.iter().copied().collect();
        if self.inventory.network_policies.is_empty() {
            return out;
        }
        let workload = self.graph.servers[server].workload;
        let namespace = self.inventory.workloads[workload].namespace.as_str();
        out.extend(self.classes_in.get(namespace).into_iter().flatten());
        out.extend(self.reaching.get(namespace).into_iter().flatten());
        let isolating = self.graph.network_policies.ingress_policies(workload);
        if !self.inventory.workloads[workload].host_network {
            let mut reach = Reach::Some(BTreeSet::new());
            for &p in isolating {
                reach.add(&self.ingress_reach[p.index()]);
            }
            match reach {
                Reach::All => out.extend(0..ClassId::try_from(self.classes.len()).unwrap_or(0)),
                Reach::Some(set) => {
                    for ns in set {
                        out.extend(self.classes_in.get(&ns).into_iter().flatten());
                    }
                }
            }
        }
        out
    }

    /// The rows of server port `server`: clients whose answers are identical share one.
    /// Ordered by their first member; the catch-all groups for pods outside the input last.
    pub fn rows(&self, server: ServerPortId) -> Vec<Row> {
        let graph = self.graph;
        let inv = self.inventory;
        let port: &ServerPort = &graph.servers[server];
        let own = port.workload;
        // Equal mesh answers share the index of the first group that gives them.
        let mut canonical: HashMap<AnswerKey<'_>, usize> = HashMap::new();
        let mut canon_of: Vec<Option<usize>> = vec![None; port.groups.len()];
        let mut canon = |g: usize| -> usize {
            *canon_of[g]
                .get_or_insert_with(|| *canonical.entry(answer_key(&port.groups[g])).or_insert(g))
        };

        let mut rows: Vec<Row> = Vec::new();
        // Per row: the namespace of its first member, or None once it has several.
        let mut namespace_of_row: Vec<Option<&str>> = Vec::new();
        let mut by_key: HashMap<(usize, NetKey<'_>), usize> = HashMap::new();
        let mut add = |rows: &mut Vec<Row>, group: usize, network: NetSummary, member: Part| {
            let key = (group, net_key(inv, &network));
            let namespace = inv.workloads[member.first()].namespace.as_str();
            let spans_namespaces = matches!(member, Part::Profile(..));
            let index = *by_key.entry(key).or_insert_with(|| {
                namespace_of_row.push(Some(namespace));
                rows.push(Row {
                    server,
                    group,
                    egress_by_name: false,
                    network,
                    clients: RowClients::Many(Members {
                        classes: Vec::new(),
                        profiles: Vec::new(),
                        workloads: Vec::new(),
                        count: 0,
                        // The member that opens the row; those added later may come first.
                        first: member.first(),
                        namespaces: 0,
                        namespace: None,
                    }),
                });
                rows.len() - 1
            });
            if spans_namespaces || namespace_of_row[index].is_some_and(|ns| ns != namespace) {
                namespace_of_row[index] = None;
                rows[index].egress_by_name = !rows[index].network.egress_decided_by.is_empty();
            }
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
                Part::Profile(p, count, first) => {
                    m.profiles.push((p, count));
                    m.count += count;
                    m.first = m.first.min(first);
                }
            }
        };

        let apart = &self.apart[server.index()];
        // How many members of each class the server treats apart (or is).
        let mut removed: HashMap<ClassId, usize> = HashMap::new();
        // Members of a class get the same NetworkPolicy answer (ambient ones meet it on a port
        // that depends on their own transport, so they are asked one by one).
        let mut network_of_class: HashMap<ClassId, NetSummary> = HashMap::new();
        for &w in apart {
            let group = canon(port.group_index_for(graph, Client::Workload(w)));
            let class = self.class_of[w.index()].filter(|&c| !self.classes[c as usize].ambient);
            let network = match class {
                Some(c) => network_of_class
                    .entry(c)
                    .or_insert_with(|| graph.network_summary(inv, Client::Workload(w), port))
                    .clone(),
                None => graph.network_summary(inv, Client::Workload(w), port),
            };
            add(&mut rows, group, network, Part::Workload(w));
            if let Some(c) = self.class_of[w.index()] {
                *removed.entry(c).or_default() += 1;
            }
        }
        if let Some(c) = self.class_of[own.index()] {
            *removed.entry(c).or_default() += 1;
        }
        let first_left = |class: &ClientClass, c: ClassId| -> Option<WorkloadId> {
            if removed.contains_key(&c) {
                class
                    .members
                    .iter()
                    .copied()
                    .find(|&w| w != own && apart.binary_search(&w).is_err())
            } else {
                class.members.first().copied()
            }
        };
        let special = self.special_classes(server);
        let mut special_sorted: Vec<ClassId> = special.iter().copied().collect();
        special_sorted.sort_unstable();
        for c in special_sorted {
            let class = &self.classes[c as usize];
            let count = class.members.len() - removed.get(&c).copied().unwrap_or(0);
            let Some(first) = first_left(class, c).filter(|_| count > 0) else {
                continue;
            };
            let group = canon(port.group_index_for(graph, class.catch_all));
            let network = graph.network_summary(inv, Client::Workload(first), port);
            add(&mut rows, group, network, Part::Class(c, count, first));
        }
        // Every other class of a profile gets the same answer as its first one. Counted from
        // the profile's total, so that a server costs its special classes, not every class.
        let mut left_in: Vec<usize> = self.profiles.iter().map(|p| p.members).collect();
        for &c in &special {
            if let Some(p) = self.classes[c as usize].profile {
                left_in[p as usize] -= self.classes[c as usize].members.len();
            }
        }
        for (&c, &n) in &removed {
            if let Some(p) = self.classes[c as usize].profile {
                if !special.contains(&c) {
                    left_in[p as usize] -= n;
                }
            }
        }
        for (p, profile) in self.profiles.iter().enumerate() {
            let count = left_in[p];
            if count == 0 {
                continue;
            }
            let first = profile
                .classes
                .iter()
                .filter(|c| !special.contains(c))
                .find_map(|&c| first_left(&self.classes[c as usize], c));
            let Some(first) = first else { continue };
            let p = ProfileId::try_from(p).unwrap_or(ProfileId::MAX);
            let group = canon(port.group_index_for(graph, profile.catch_all));
            let network = graph.network_summary(inv, Client::Workload(first), port);
            add(&mut rows, group, network, Part::Profile(p, count, first));
        }
        for row in &mut rows {
            if let RowClients::Many(members) = &mut row.clients {
                members.workloads.sort_unstable();
                members.classes.sort_unstable();
                members.profiles.sort_unstable();
                let (count, single) = self.count_namespaces(members, server, &special);
                members.namespaces = count;
                members.namespace = single.map(str::to_owned);
                if members.count == 1 {
                    row.clients = RowClients::One(Client::Workload(members.first));
                }
            }
        }
        rows.sort_by_key(|r| match &r.clients {
            RowClients::One(Client::Workload(w)) => w.index(),
            RowClients::Many(m) => m.first.index(),
            RowClients::One(_) => usize::MAX,
        });
        for client in graph.catch_all_classes() {
            if self.filter.includes(client) {
                rows.push(Row {
                    server,
                    egress_by_name: false,
                    group: port.group_index_for(graph, client),
                    network: graph.network_summary(inv, client, port),
                    clients: RowClients::One(client),
                });
            }
        }
        rows
    }

    /// Every client of the filter at server port `server`, one row each (`--expand`).
    pub fn expanded(&self, server: ServerPortId) -> impl Iterator<Item = Client> + '_ {
        let own = self.graph.servers[server].workload;
        self.graph
            .workload_ids()
            .filter(move |&w| w != own && self.class_of[w.index()].is_some())
            .map(Client::Workload)
            .chain(
                self.graph
                    .catch_all_classes()
                    .into_iter()
                    .filter(|c| self.filter.includes(*c)),
            )
    }

    /// How many namespaces a row's members live in, and the namespace when there is one.
    pub fn namespaces_of<'r>(&self, row: &'r Row) -> (usize, Option<&'r str>)
    where
        'g: 'r,
    {
        match &row.clients {
            RowClients::One(Client::Workload(w)) => {
                (1, Some(self.inventory.workloads[*w].namespace.as_str()))
            }
            RowClients::One(_) => (0, None),
            RowClients::Many(m) => (m.namespaces, m.namespace.as_deref()),
        }
    }

    fn count_namespaces(
        &self,
        m: &Members,
        server: ServerPortId,
        special: &HashSet<ClassId>,
    ) -> (usize, Option<&'g str>) {
        let inv = self.inventory;
        let own = self.graph.servers[server].workload;
        let apart = &self.apart[server.index()];
        // Classes of the rows that hold them each live in one namespace (profiles hold the
        // classes of an input without NetworkPolicy).
        let mut namespaces: Vec<u32> = m
            .classes
            .iter()
            .map(|&(c, _)| self.namespace_of[self.classes[c as usize].members[0].index()])
            .chain(m.workloads.iter().map(|&w| self.namespace_of[w.index()]))
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        let mut count = namespaces.len();
        // When the count is one, every member shares the first one's namespace.
        let single = Some(inv.workloads[m.first].namespace.as_str());
        for &(p, _) in &m.profiles {
            // A profile's namespaces, less those this server takes all of away (its special
            // classes and the members it treats apart), without visiting the others.
            let profile = &self.profiles[p as usize];
            let mut taken: HashMap<u32, usize> = HashMap::new();
            for &c in special {
                let class = &self.classes[c as usize];
                if class.profile == Some(p) {
                    for &w in &class.members {
                        *taken.entry(self.namespace_of[w.index()]).or_default() += 1;
                    }
                }
            }
            for &w in apart.iter().chain([&own]) {
                let in_profile = self.class_of[w.index()].is_some_and(|c| {
                    self.classes[c as usize].profile == Some(p) && !special.contains(&c)
                });
                if in_profile {
                    *taken.entry(self.namespace_of[w.index()]).or_default() += 1;
                }
            }
            let emptied = taken
                .iter()
                .filter(|(ns, n)| profile.namespaces.get(*ns) == Some(*n))
                .count();
            let remaining = profile.namespaces.len() - emptied;
            // Namespaces already counted that the profile also covers here.
            let overlap = namespaces
                .iter()
                .filter(|ns| {
                    profile
                        .namespaces
                        .get(*ns)
                        .is_some_and(|total| taken.get(*ns) != Some(total))
                })
                .count();
            count += remaining - overlap;
        }
        (count, if count == 1 { single } else { None })
    }

    /// A stable identifier for a group of workloads rows name: their classes, profiles and
    /// workloads treated apart, independent of the server.
    pub fn group_id(&self, members: &Members) -> String {
        let mut h = Fnv::default();
        for &(c, _) in &members.classes {
            h.write(&self.classes[c as usize].digest.to_le_bytes());
        }
        for &(p, _) in &members.profiles {
            let profile = &self.profiles[p as usize];
            h.write(&[6, catch_all_code(profile.catch_all)]);
            for name in &profile.egress_policies {
                h.write(name.as_bytes());
                h.write(&[7]);
            }
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

/// A catch-all class as one byte of a digest: 0 without a proxy, 1 for the primary mesh (as
/// before there were several meshes, so ids stay stable), then one per other mesh.
fn catch_all_code(client: Client) -> u8 {
    match client {
        Client::OtherMeshed => 1,
        Client::OtherMesh(m) => 2 + m as u8,
        Client::OtherUnmeshed | Client::Workload(_) => 0,
    }
}

/// A stable hash of what defines a class: namespace, data plane and the selectors it matches.
fn class_digest(class: &ClientClass, selectors: &[String]) -> u64 {
    let mut h = Fnv::default();
    h.write(class.namespace.as_bytes());
    h.write(&[
        0,
        catch_all_code(class.catch_all),
        u8::from(class.ambient),
        u8::from(class.host_network),
    ]);
    for id in &class.selectors {
        h.write(selectors[*id as usize].as_bytes());
        h.write(&[1]);
    }
    h.0
}

/// The egress rules of a policy that admit every pod alike (see [`Namespaces::reach`]), as
/// text: two policies of one name in two namespaces decide alike for pods of other namespaces
/// only if these are the same.
fn uniform_egress_rules(rules: Option<&[meshaudit_model::k8s::NetworkPolicyRule]>) -> String {
    let mut out = String::new();
    for rule in rules.into_iter().flatten() {
        let peers = rule.from.as_deref().unwrap_or_default();
        let uniform = peers.is_empty()
            || peers.iter().any(|p| {
                p.ip_block.is_some()
                    || (p.pod_selector.is_none()
                        && p.namespace_selector
                            .as_ref()
                            .is_some_and(LabelSelector::is_empty))
            });
        if uniform {
            out.push_str(&format!("{rule:?};"));
        }
    }
    out
}

/// The namespaces of the input and their labels, to tell which namespaces rules may admit.
struct Namespaces<'a> {
    graph: &'a Graph,
    names: Vec<&'a str>,
    /// Namespace selectors already resolved, by their text.
    resolved: std::cell::RefCell<HashMap<String, std::rc::Rc<BTreeSet<String>>>>,
}

impl<'a> Namespaces<'a> {
    fn new(graph: &'a Graph, inv: &'a Inventory) -> Self {
        let mut names: BTreeSet<&'a str> = inv.namespaces.keys().map(String::as_str).collect();
        names.extend(inv.workloads.iter().map(|w| w.namespace.as_str()));
        Namespaces {
            graph,
            names: names.into_iter().collect(),
            resolved: std::cell::RefCell::new(HashMap::new()),
        }
    }

    /// Where rules may admit pods in a way that depends on the pod: the namespaces their
    /// namespace selectors match, or every namespace for a peer that pairs an empty namespace
    /// selector with a pod selector. Peers that admit every pod alike (a rule without peers, an
    /// empty namespace selector alone, an `ipBlock`) are left out: they answer every class the
    /// same. Peers with a pod selector alone stay in the policy's own namespace, which rows
    /// evaluate one by one anyway.
    fn reach(&self, rules: Option<&[meshaudit_model::k8s::NetworkPolicyRule]>) -> Reach {
        let mut out = BTreeSet::new();
        for rule in rules.into_iter().flatten() {
            for peer in rule.from.iter().flatten() {
                if peer.ip_block.is_some() {
                    continue;
                }
                let Some(selector) = &peer.namespace_selector else {
                    continue;
                };
                if selector.is_empty() {
                    if peer.pod_selector.is_some() {
                        return Reach::All;
                    }
                    continue;
                }
                out.extend(self.matching(selector).iter().cloned());
            }
        }
        Reach::Some(out)
    }

    fn matching(&self, selector: &LabelSelector) -> std::rc::Rc<BTreeSet<String>> {
        let key = format!("{selector:?}");
        if let Some(set) = self.resolved.borrow().get(&key) {
            return set.clone();
        }
        let set: BTreeSet<String> = self
            .names
            .iter()
            .filter(|ns| selector.matches(&self.graph.network_policies.namespace_labels(ns)))
            .map(|ns| (*ns).to_owned())
            .collect();
        let set = std::rc::Rc::new(set);
        self.resolved.borrow_mut().insert(key, set.clone());
        set
    }
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

/// The NetworkPolicy selectors that pick clients: an egress-isolating policy's `podSelector`
/// (whose egress it restricts) and its ingress peers' `podSelector` (whom it admits). Egress
/// peers pick servers, and an ingress-only policy's `podSelector` picks servers too.
struct ClientSelectors<'a> {
    /// Selectors that apply only to pods of one namespace, by namespace.
    scoped: HashMap<&'a str, Vec<(u32, &'a LabelSelector)>>,
    /// Peer selectors beside a `namespaceSelector`: pods of any namespace.
    anywhere: Vec<(u32, &'a LabelSelector)>,
    descriptions: Vec<String>,
}

impl<'a> ClientSelectors<'a> {
    fn new(inv: &'a Inventory) -> Self {
        let mut out = ClientSelectors {
            scoped: HashMap::new(),
            anywhere: Vec::new(),
            descriptions: Vec::new(),
        };
        for policy in &inv.network_policies {
            let name = format!("NetworkPolicy {}/{}", policy.namespace, policy.name);
            if policy.spec.isolates_egress() {
                let id = out.describe(format!("{name} spec.podSelector"));
                out.scoped
                    .entry(policy.namespace.as_str())
                    .or_default()
                    .push((id, &policy.spec.pod_selector));
            }
            for (r, rule) in policy.spec.ingress.iter().flatten().enumerate() {
                for (i, peer) in rule.from.iter().flatten().enumerate() {
                    let Some(selector) = &peer.pod_selector else {
                        continue;
                    };
                    let id = out.describe(format!("{name} ingress[{r}].from[{i}].podSelector"));
                    if peer.namespace_selector.is_some() {
                        out.anywhere.push((id, selector));
                    } else {
                        out.scoped
                            .entry(policy.namespace.as_str())
                            .or_default()
                            .push((id, selector));
                    }
                }
            }
        }
        out
    }

    fn describe(&mut self, text: String) -> u32 {
        self.descriptions.push(text);
        u32::try_from(self.descriptions.len() - 1).unwrap_or(u32::MAX)
    }

    /// The selectors that match `workload`, in order.
    fn matched_by(&self, workload: &meshaudit_model::k8s::Workload) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .scoped
            .get(workload.namespace.as_str())
            .into_iter()
            .flatten()
            .chain(&self.anywhere)
            .filter(|(_, selector)| selector.matches(&workload.labels))
            .map(|(id, _)| *id)
            .collect();
        out.sort_unstable();
        out
    }
}
