//! The meshes meshaudit knows, as one type every crate names them by.

use serde::Serialize;

/// A service mesh, or plain Kubernetes for what belongs to no mesh (NetworkPolicy, policy
/// engines, add-ons of any mesh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mesh {
    Istio,
    Linkerd,
    Consul,
    Kubernetes,
}

impl Mesh {
    /// The name the reports use: `istio`, `linkerd`, `consul`, `kubernetes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mesh::Istio => "istio",
            Mesh::Linkerd => "linkerd",
            Mesh::Consul => "consul",
            Mesh::Kubernetes => "kubernetes",
        }
    }

    /// The name in a sentence: `Istio`, `Linkerd`, `Consul`, `Kubernetes`.
    pub fn title(self) -> &'static str {
        match self {
            Mesh::Istio => "Istio",
            Mesh::Linkerd => "Linkerd",
            Mesh::Consul => "Consul",
            Mesh::Kubernetes => "Kubernetes",
        }
    }
}
