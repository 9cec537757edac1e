//! Where a finding about a whole namespace points.

use meshaudit_model::{Inventory, Object, ObjectId};

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
