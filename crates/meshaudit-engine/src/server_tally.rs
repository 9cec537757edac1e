//! Questions asked of many clients over every server port ("how many meshed ports accept this
//! workload's plaintext?"), answered without walking every port for every client.
//!
//! At most server ports a client gets its catch-all group ([`Graph::catch_all`]), so the answer
//! of each catch-all group is classified once per tally, and each question then revisits only
//! the ports that treat its clients apart ([`Graph::treated_apart`]). A rule asking about `C`
//! clients over `S` ports costs `S + C × (ports treating a client apart)`, not `S × C`.

use std::collections::BTreeMap;

use meshaudit_model::WorkloadId;

use crate::graph::{Client, EdgeGroup, Graph, ServerPort, ServerPortId};

/// Sorts the answer for a client at a server port into a kind (`None`: not counted). It must
/// depend only on its arguments.
pub type Classify<K> = fn(&Graph, &ServerPort, &EdgeGroup) -> Option<K>;

/// Kinds per server port for a set of catch-all groups, computed once.
#[derive(Debug)]
struct Base<K> {
    /// Server ports with a kind, in order.
    kinds: Vec<(ServerPortId, K)>,
    counts: BTreeMap<K, usize>,
    /// The server ports of each kind, in order.
    by_kind: BTreeMap<K, Vec<ServerPortId>>,
}

/// What a set of clients gets over every server port: per kind, how many ports and the first
/// few.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tallied<K: Ord> {
    counts: BTreeMap<K, usize>,
    first: BTreeMap<K, Vec<ServerPortId>>,
}

impl<K: Ord> Tallied<K> {
    /// How many server ports have kind `kind`.
    pub fn count(&self, kind: K) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// The first server ports (in order) of kind `kind`, as many as were asked for.
    pub fn first(&self, kind: K) -> &[ServerPortId] {
        self.first.get(&kind).map_or(&[], Vec::as_slice)
    }
}

/// Classifies answers over every server port for many clients, reusing the catch-all groups'
/// answers. See the module documentation.
pub struct ServerTally<'g, K> {
    graph: &'g Graph,
    classify: Classify<K>,
    /// Indexed by [`class_set`]: the meshed catch-all, the unmeshed one, both.
    bases: [Option<Base<K>>; 3],
}

const MESHED: usize = 0;
const UNMESHED: usize = 1;
const BOTH: usize = 2;

fn class_of(client: Client) -> usize {
    if client == Client::OtherMeshed {
        MESHED
    } else {
        UNMESHED
    }
}

fn catch_all_client(class: usize) -> Client {
    if class == MESHED {
        Client::OtherMeshed
    } else {
        Client::OtherUnmeshed
    }
}

impl<'g, K: Copy + Ord> ServerTally<'g, K> {
    pub fn new(graph: &'g Graph, classify: Classify<K>) -> Self {
        ServerTally {
            graph,
            classify,
            bases: [None, None, None],
        }
    }

    fn kind(&self, server: ServerPortId, client: Client) -> Option<K> {
        let port = &self.graph.servers[server];
        (self.classify)(self.graph, port, port.group_for(self.graph, client))
    }

    fn base(&mut self, set: usize) -> &Base<K> {
        if self.bases[set].is_none() {
            let classes: &[usize] = match set {
                MESHED => &[MESHED],
                UNMESHED => &[UNMESHED],
                _ => &[MESHED, UNMESHED],
            };
            let mut base = Base {
                kinds: Vec::new(),
                counts: BTreeMap::new(),
                by_kind: BTreeMap::new(),
            };
            for server in self.graph.server_ids() {
                let kind = classes
                    .iter()
                    .filter_map(|&c| self.kind(server, catch_all_client(c)))
                    .max();
                if let Some(kind) = kind {
                    base.kinds.push((server, kind));
                    *base.counts.entry(kind).or_default() += 1;
                    base.by_kind.entry(kind).or_default().push(server);
                }
            }
            self.bases[set] = Some(base);
        }
        self.bases[set].as_ref().expect("computed above")
    }

    /// For the workloads `clients`: per server port (each client's own ports excepted), the
    /// greatest kind any of them gets there; per kind, how many ports, and the first `examples`
    /// of them.
    pub fn clients(&mut self, clients: &[WorkloadId], examples: usize) -> Tallied<K> {
        let graph = self.graph;
        let mut in_class = [0usize; 2];
        // (server, client) for every port that treats a client apart.
        let mut apart: Vec<(ServerPortId, WorkloadId)> = Vec::new();
        for &c in clients {
            in_class[class_of(graph.catch_all(c))] += 1;
            apart.extend(graph.treated_apart(c).into_iter().map(|s| (s, c)));
        }
        apart.sort_unstable();
        let set = match in_class {
            [_, 0] => MESHED,
            [0, _] => UNMESHED,
            _ => BOTH,
        };

        // The real kind at each port that treats a client apart.
        let mut exceptions: Vec<(ServerPortId, Option<K>)> = Vec::new();
        for run in apart.chunk_by(|a, b| a.0 == b.0) {
            let server = run[0].0;
            let owner = graph.servers[server].workload;
            let mut apart_in_class = [0usize; 2];
            let mut kind: Option<K> = None;
            for &(_, c) in run {
                apart_in_class[class_of(graph.catch_all(c))] += 1;
                if c != owner {
                    kind = kind.max(self.kind(server, Client::Workload(c)));
                }
            }
            for class in [MESHED, UNMESHED] {
                if in_class[class] > apart_in_class[class] {
                    kind = kind.max(self.kind(server, catch_all_client(class)));
                }
            }
            exceptions.push((server, kind));
        }

        let base = self.base(set);
        let mut counts = base.counts.clone();
        for &(server, kind) in &exceptions {
            let before = base
                .kinds
                .binary_search_by_key(&server, |&(s, _)| s)
                .ok()
                .map(|i| base.kinds[i].1);
            if let Some(k) = before {
                if let Some(n) = counts.get_mut(&k) {
                    *n -= 1;
                }
            }
            if let Some(k) = kind {
                *counts.entry(k).or_default() += 1;
            }
        }
        counts.retain(|_, n| *n > 0);

        let mut first: BTreeMap<K, Vec<ServerPortId>> = BTreeMap::new();
        if examples > 0 {
            let is_exception =
                |s: ServerPortId| exceptions.binary_search_by_key(&s, |&(e, _)| e).is_ok();
            for &kind in counts.keys() {
                let mut list: Vec<ServerPortId> = base
                    .by_kind
                    .get(&kind)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&s| !is_exception(s))
                    .take(examples)
                    .collect();
                list.extend(
                    exceptions
                        .iter()
                        .filter(|(_, k)| *k == Some(kind))
                        .map(|&(s, _)| s)
                        .take(examples),
                );
                list.sort_unstable();
                list.truncate(examples);
                first.insert(kind, list);
            }
        }
        Tallied { counts, first }
    }
}
