//! What the workloads of the input are: a mesh's control plane (istiod, Linkerd's controllers,
//! Consul's injector) or a policy engine's, recognised once by the names, labels and images
//! their installers use, so that every rule agrees on what "istiod" is.

use meshaudit_model::k8s::Workload;
use meshaudit_model::Mesh;

/// Software whose control plane and admission webhooks meshaudit recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Product {
    Istio,
    Linkerd,
    Consul,
    Gatekeeper,
    Kyverno,
}

impl Product {
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Istio => "Istio",
            Product::Linkerd => "Linkerd",
            Product::Consul => "Consul",
            Product::Gatekeeper => "OPA Gatekeeper",
            Product::Kyverno => "Kyverno",
        }
    }

    pub fn mesh(self) -> Mesh {
        match self {
            Product::Istio => Mesh::Istio,
            Product::Linkerd => Mesh::Linkerd,
            Product::Consul => Mesh::Consul,
            Product::Gatekeeper | Product::Kyverno => Mesh::Kubernetes,
        }
    }
}

/// istiod (or the older `pilot` Deployment): named `istiod`/`istiod-<revision>`, or running a
/// `pilot` image.
pub fn is_istiod(workload: &Workload) -> bool {
    let named = workload.name == "istiod" || workload.name.starts_with("istiod-");
    let labelled = workload.labels.get("app").is_some_and(|a| a == "istiod")
        || workload.labels.get("istio").is_some_and(|a| a == "pilot");
    let pilot_image = workload.containers.iter().any(|c| {
        c.image.as_deref().is_some_and(|i| {
            let last = i.rsplit('/').next().unwrap_or(i);
            let name = last.split([':', '@']).next().unwrap_or(last);
            name == "pilot"
        })
    });
    named || labelled || pilot_image
}

/// The product whose control plane a workload is, if any.
pub fn control_plane_of(w: &Workload) -> Option<Product> {
    let label = |k: &str| w.labels.get(k).map(String::as_str);
    if is_istiod(w) {
        return Some(Product::Istio);
    }
    if label("linkerd.io/control-plane-component").is_some_and(|c| {
        matches!(
            c,
            "destination" | "identity" | "proxy-injector" | "controller"
        )
    }) {
        return Some(Product::Linkerd);
    }
    if label("app") == Some("consul") && label("component") == Some("connect-injector") {
        return Some(Product::Consul);
    }
    if w.name == "gatekeeper-controller-manager"
        || label("control-plane") == Some("controller-manager")
            && label("gatekeeper.sh/operation").is_some()
    {
        return Some(Product::Gatekeeper);
    }
    if matches!(w.name.as_str(), "kyverno" | "kyverno-admission-controller")
        || label("app.kubernetes.io/component") == Some("admission-controller")
            && label("app.kubernetes.io/part-of").is_some_and(|p| p.starts_with("kyverno"))
    {
        return Some(Product::Kyverno);
    }
    None
}
