//! Which workloads NetworkPolicy can isolate, and which are meant to be reached from outside.

use meshaudit_engine::linkerd::membership::Inject;
use meshaudit_engine::membership::DataPlane;
use meshaudit_model::{Inventory, WorkloadId};

use crate::context::Context;

/// Workloads NetworkPolicy can isolate in `namespace` (host-network pods are left out: common
/// CNIs do not apply policy to them).
pub fn isolatable_workloads(inv: &Inventory, namespace: &str) -> Vec<WorkloadId> {
    inv.workload_indexes_in(namespace)
        .iter()
        .copied()
        .filter(|&w| !inv.workloads[w].host_network)
        .collect()
}

/// A mesh's entry points are meant to be reached from outside: Istio's gateways (ingress and
/// egress), and an ingress controller whose Linkerd proxy runs in ingress mode
/// (`linkerd.io/inject: ingress`).
pub fn is_gateway(ctx: &Context<'_>, w: WorkloadId) -> bool {
    ctx.graph().workload(w).istio_data_plane() == DataPlane::Gateway
        || ctx.linkerd_membership()[w.index()].mode == Some(Inject::Ingress)
}
