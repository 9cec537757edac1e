//! Which inputs and workloads the Istio rules look at: whether Istio is in use at all, and the
//! proxies a Gateway configures.

use meshaudit_engine::membership::{DataPlane, NamespaceMesh};
use meshaudit_model::istio::{GatewaySpec, Typed};
use meshaudit_model::{Inventory, WorkloadId};

use crate::context::Context;

/// Istio rules apply when the input has Istio resources or namespaces labelled for Istio.
pub fn istio_in_use(inv: &Inventory) -> bool {
    inv.istio.is_present()
        || inv
            .namespaces
            .values()
            .any(|ns| NamespaceMesh::of(ns).is_meshed())
}

/// The workloads a Gateway configures. Istio matches gateway workloads by the Gateway's
/// `selector` labels in every namespace (unless istiod runs with
/// `PILOT_SCOPE_GATEWAY_TO_NAMESPACE`). An empty selector selects every gateway proxy.
pub fn gateway_workloads(ctx: &Context<'_>, gateway: &Typed<GatewaySpec>) -> Vec<WorkloadId> {
    if gateway.spec.selector.is_empty() {
        return ctx
            .graph()
            .workload_ids()
            .filter(|&i| ctx.graph().workload(i).istio_data_plane() == DataPlane::Gateway)
            .collect();
    }
    ctx.inventory.workloads_matching(&gateway.spec.selector)
}
