//! Typed positions in the inventory's lists: a [`WorkloadId`] can index
//! [`Inventory::workloads`](crate::Inventory::workloads) and nothing else, so that a workload
//! index cannot be passed where a Service or policy index is expected (nor where an
//! [`ObjectId`](crate::ObjectId) is).
//!
//! One generic type, [`Idx<T>`], tagged with the type of the list's elements, rather than one
//! newtype per kind: every list gets the same comparisons, hashing and constructors from one
//! implementation, the element type already tells the lists apart (Istio's and Linkerd's
//! AuthorizationPolicies are `Typed` of different specs), and indexing another list takes one
//! more alias below. Inside is a `usize`: turning a position into an index is free and cannot
//! fail, and the index is no larger than the bare `usize` it replaces.
//!
//! A list of `T` can be indexed by an `Idx<T>` (`inv.workloads[w]`); [`crate::Inventory`] also
//! has a getter per kind (`inv.workload(w)`). Lists kept per workload elsewhere (the graph's
//! nodes) are indexed with [`Idx::index`]. Lists of other crates get their own alias there (the
//! engine's graph names its server ports by `ServerPortId`, an `Idx<ServerPort>`).
//!
//! ```
//! use meshaudit_model::{Inventory, WorkloadId};
//! fn name(inv: &Inventory, w: WorkloadId) -> &str {
//!     &inv.workloads[w].name
//! }
//! let _ = name;
//! ```
//!
//! One kind's index does not fit another's list:
//!
//! ```compile_fail
//! use meshaudit_model::{Inventory, ServiceId, WorkloadId};
//! fn service_of(inv: &Inventory, w: WorkloadId) -> ServiceId {
//!     w
//! }
//! let _ = service_of;
//! ```
//!
//! ```compile_fail
//! use meshaudit_model::{Inventory, WorkloadId};
//! fn name(inv: &Inventory, w: WorkloadId) -> &str {
//!     &inv.services[w].name
//! }
//! let _ = name;
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

use crate::istio::{
    AuthorizationPolicySpec, DestinationRuleSpec, RequestAuthenticationSpec, VirtualServiceSpec,
};
use crate::k8s::{NetworkPolicy, Service, Webhook, Workload};
use crate::linkerd::{
    AuthorizationPolicySpec as LinkerdAuthorizationPolicySpec, GrpcRouteSpec, HttpRouteSpec,
    MeshTlsAuthenticationSpec, NetworkAuthenticationSpec, ServerAuthorizationSpec, ServerSpec,
};
use crate::object::Typed;

/// A position in a list of `T`.
pub struct Idx<T> {
    index: usize,
    // `fn() -> T`: the index neither owns a `T` nor borrows one, so it is `Send`, `Sync` and
    // `Copy` whatever `T` is.
    list: PhantomData<fn() -> T>,
}

/// A workload: an index into [`Inventory::workloads`](crate::Inventory::workloads), and into
/// every list the graph keeps per workload.
pub type WorkloadId = Idx<Workload>;
/// An index into [`Inventory::services`](crate::Inventory::services).
pub type ServiceId = Idx<Service>;
/// An index into [`Inventory::network_policies`](crate::Inventory::network_policies).
pub type NetworkPolicyId = Idx<NetworkPolicy>;
/// An Istio AuthorizationPolicy: an index into
/// [`IstioResources::authorization_policies`](crate::istio::IstioResources::authorization_policies).
pub type AuthorizationPolicyId = Idx<Typed<AuthorizationPolicySpec>>;
/// An index into
/// [`IstioResources::request_authentications`](crate::istio::IstioResources::request_authentications).
pub type RequestAuthenticationId = Idx<Typed<RequestAuthenticationSpec>>;
/// A Linkerd `Server`: an index into
/// [`LinkerdResources::servers`](crate::linkerd::LinkerdResources::servers).
pub type LinkerdServerId = Idx<Typed<ServerSpec>>;
/// An index into
/// [`IstioResources::destination_rules`](crate::istio::IstioResources::destination_rules).
pub type DestinationRuleId = Idx<Typed<DestinationRuleSpec>>;
/// An index into
/// [`IstioResources::virtual_services`](crate::istio::IstioResources::virtual_services).
pub type VirtualServiceId = Idx<Typed<VirtualServiceSpec>>;
/// A Linkerd `ServerAuthorization`: an index into
/// [`LinkerdResources::server_authorizations`](crate::linkerd::LinkerdResources::server_authorizations).
pub type ServerAuthorizationId = Idx<Typed<ServerAuthorizationSpec>>;
/// A Linkerd `AuthorizationPolicy`: an index into
/// [`LinkerdResources::authorization_policies`](crate::linkerd::LinkerdResources::authorization_policies).
pub type LinkerdAuthorizationPolicyId = Idx<Typed<LinkerdAuthorizationPolicySpec>>;
/// An index into
/// [`LinkerdResources::mesh_tls_authentications`](crate::linkerd::LinkerdResources::mesh_tls_authentications).
pub type MeshTlsAuthenticationId = Idx<Typed<MeshTlsAuthenticationSpec>>;
/// An index into
/// [`LinkerdResources::network_authentications`](crate::linkerd::LinkerdResources::network_authentications).
pub type NetworkAuthenticationId = Idx<Typed<NetworkAuthenticationSpec>>;
/// An index into [`LinkerdResources::http_routes`](crate::linkerd::LinkerdResources::http_routes)
/// (both API groups).
pub type HttpRouteId = Idx<Typed<HttpRouteSpec>>;
/// An index into [`LinkerdResources::grpc_routes`](crate::linkerd::LinkerdResources::grpc_routes).
pub type GrpcRouteId = Idx<Typed<GrpcRouteSpec>>;
/// A webhook's position in its configuration's
/// [`webhooks`](crate::k8s::WebhookConfiguration::webhooks) (unique within that
/// configuration only, as `webhooks[i]` in its manifest).
pub type WebhookId = Idx<Webhook>;

impl<T> Idx<T> {
    /// The element at `index` of a list of `T`.
    pub const fn new(index: usize) -> Self {
        Idx {
            index,
            list: PhantomData,
        }
    }

    /// The position in the list.
    pub const fn index(self) -> usize {
        self.index
    }

    /// Every index of `list`, in order.
    pub fn all(list: &[T]) -> impl DoubleEndedIterator<Item = Self> + ExactSizeIterator {
        (0..list.len()).map(Idx::new)
    }

    /// The elements of `list` with their indexes, in order.
    pub fn enumerate(
        list: &[T],
    ) -> impl DoubleEndedIterator<Item = (Self, &T)> + ExactSizeIterator + '_ {
        list.iter().enumerate().map(|(i, t)| (Idx::new(i), t))
    }

    /// The element of `list` this indexes (it must be an index of that list).
    pub fn of(self, list: &[T]) -> &T {
        &list[self.index]
    }
}

/// `list[id]` for a list of `T`: typed indexes read like positions, and only index their own
/// kind of list.
impl<T> Index<Idx<T>> for [T] {
    type Output = T;

    fn index(&self, id: Idx<T>) -> &T {
        &self[id.index]
    }
}

impl<T> IndexMut<Idx<T>> for [T] {
    fn index_mut(&mut self, id: Idx<T>) -> &mut T {
        &mut self[id.index]
    }
}

impl<T> Index<Idx<T>> for Vec<T> {
    type Output = T;

    fn index(&self, id: Idx<T>) -> &T {
        &self[id.index]
    }
}

impl<T> IndexMut<Idx<T>> for Vec<T> {
    fn index_mut(&mut self, id: Idx<T>) -> &mut T {
        &mut self[id.index]
    }
}

// By hand rather than derived: a derive would ask `T` for each trait, and the index compares,
// hashes and copies like its position whatever the list holds.
impl<T> Clone for Idx<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Idx<T> {}

impl<T> PartialEq for Idx<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

impl<T> Eq for Idx<T> {}

impl<T> PartialOrd for Idx<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Idx<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.index.cmp(&other.index)
    }
}

impl<T> Hash for Idx<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
    }
}

/// The bare position, as the `usize` it replaced printed.
impl<T> fmt::Debug for Idx<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.index, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn indexes_compare_and_hash_as_their_positions() {
        let list = ["a", "b", "c"];
        let ids: Vec<Idx<&str>> = Idx::all(&list).collect();
        assert_eq!(ids.iter().map(|i| i.index()).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(ids[0] < ids[2]);
        assert_eq!(ids[1], Idx::new(1));
        assert_eq!(*ids[2].of(&list), "c");
        assert_eq!(list[ids[1]], "b");
        assert_eq!(list.to_vec()[ids[0]], "a");
        let set: HashSet<Idx<&str>> = ids.iter().copied().chain(ids.iter().copied()).collect();
        assert_eq!(set.len(), 3);
        let pairs: Vec<(usize, &&str)> =
            Idx::enumerate(&list).map(|(i, s)| (i.index(), s)).collect();
        assert_eq!(pairs, [(0, &"a"), (1, &"b"), (2, &"c")]);
        assert_eq!(format!("{:?}", ids[1]), "1");
    }
}
