//! What a mesh really does: which workloads have a proxy and what it captures, which mTLS mode
//! each server port enforces, what each client sends, what authorization decides — the
//! effective-policy graph, with the evidence behind every answer.

/// Hash maps and sets with a fast, randomly seeded hasher: the graph looks up namespaces, hosts
/// and identities millions of times on a large mesh, where SipHash was a tenth of its time.
/// Nothing depends on their order.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

pub mod certificates;
pub mod components;
pub mod edge_rows;
pub mod evidence;
pub mod graph;
pub mod istio;
pub mod linkerd;
pub mod network_policy;
pub mod protocol;
pub mod scope;
pub mod sensitivity;
pub mod server_tally;
pub mod version;
pub mod webhooks;

// Istio's modules keep their old paths: rules and reports name them directly.
pub use istio::{authorization, destination_rule, membership, peer_authentication};

pub use evidence::Because;
pub use graph::{
    build as build_graph, Client, Edge, EdgeGroup, Graph, Reach, ServerPort, ServerPortId,
    Transport,
};
