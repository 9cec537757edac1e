//! The typed inventory of a service mesh: objects that remember where they came from, label
//! selectors, and typed views of the Kubernetes, Istio and Linkerd resources an audit reads.

pub mod cert;
pub mod certmanager;
pub mod cidr;
pub mod de;
pub mod idx;
pub mod inventory;
pub mod istio;
pub mod k8s;
pub mod linkerd;
pub mod location;
pub mod mesh;
pub mod node;
pub mod object;
pub mod parallel;
pub mod selector;

pub use cert::{CertificateDer, CertificateInfo, IssuerCheck, SignatureCheck};
pub use de::{from_node, FieldError};
pub use idx::{
    AuthorizationPolicyId, DestinationRuleId, GrpcRouteId, HttpRouteId, Idx,
    LinkerdAuthorizationPolicyId, LinkerdServerId, MeshTlsAuthenticationId,
    NetworkAuthenticationId, NetworkPolicyId, RequestAuthenticationId, ServerAuthorizationId,
    ServiceId, VirtualServiceId, WebhookId, WorkloadId,
};
pub use inventory::Inventory;
pub use location::{InputError, Location};
pub use mesh::Mesh;
pub use node::{Entry, Node, NodeStr, Step, Value};
pub use object::{Object, ObjectId, Typed};
