//! Small lookups several rules share.

use meshaudit_engine::membership::{DataPlane, NamespaceMesh};
use meshaudit_model::istio::{GatewaySpec, Typed};
use meshaudit_model::{Inventory, Object, ObjectId, WorkloadId};

use crate::context::Context;

/// Istio rules apply when the input has Istio resources or namespaces labelled for Istio.
pub fn istio_in_use(inv: &Inventory) -> bool {
    inv.istio.is_present()
        || inv
            .namespaces
            .values()
            .any(|ns| NamespaceMesh::of(ns).is_meshed())
}

/// The object a finding about namespace `name` points at: its `Namespace` object, else the first
/// object that lives in it, else (for the root namespace) the mesh config or any Istio policy.
pub fn namespace_anchor<'a>(inv: &'a Inventory, name: &str) -> Option<(ObjectId, &'a Object)> {
    let id = inv
        .namespace(name)
        .and_then(|ns| ns.anchor())
        .or_else(|| inv.istio.mesh_config.as_ref().map(|m| m.object))
        .or_else(|| inv.istio.peer_authentications.first().map(|p| p.object))
        .or_else(|| inv.istio.authorization_policies.first().map(|p| p.object))?;
    Some((id, inv.object(id)))
}

pub use meshaudit_engine::peer_authentication::oldest;

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
