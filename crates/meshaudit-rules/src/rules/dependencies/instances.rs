//! Findings located at a mesh component or add-on recognised in the input's containers (the
//! engine recognises them once per scan: `Context::dependency_instances`).

use meshaudit_engine::components::Instance;
use meshaudit_model::Inventory;

use crate::finding::{Finding, ResourceRef};
use crate::rule::Rule;

/// Findings about a recognised container.
pub trait InstanceFinding {
    /// A finding about this container: located at its image (or annotation) where the input
    /// writes it, naming the owning workload.
    fn finding(&self, inv: &Inventory, rule: &'static Rule, message: String) -> Finding;
}

impl InstanceFinding for Instance {
    fn finding(&self, inv: &Inventory, rule: &'static Rule, message: String) -> Finding {
        let object = inv.object(self.object);
        let mut f = Finding::new(rule, self.object, object, &self.path, message);
        f.mesh = self.component.mesh();
        let owner = inv.workloads[self.workload].object;
        if owner != self.object {
            f = f.resource(ResourceRef::of(inv.object(owner)));
            f.object = Some(owner);
        }
        f
    }
}

// The recognition the dependency rules rely on: image references, components and versions.
#[cfg(test)]
mod tests {
    use meshaudit_engine::components::{version_of, Component, ImageRef};

    #[test]
    fn image_references_come_apart() {
        let r =
            ImageRef::parse("registry.corp:5000/mirrors/istio/pilot:1.22.0@sha256:abc").unwrap();
        assert_eq!(r.registry, Some("registry.corp:5000"));
        assert_eq!(r.repository, "mirrors/istio/pilot");
        assert_eq!(r.tag, Some("1.22.0"));
        assert_eq!(r.digest, Some("sha256:abc"));
        assert_eq!(r.name(), "pilot");
        let r = ImageRef::parse("istio/proxyv2@sha256:abc").unwrap();
        assert_eq!((r.registry, r.tag), (None, None));
        let r = ImageRef::parse("localhost/envoyproxy/envoy:v1.30.1").unwrap();
        assert_eq!(r.registry, Some("localhost"));
        assert_eq!(r.tag, Some("v1.30.1"));
    }

    #[test]
    fn components_are_recognised_in_mirrors_and_not_elsewhere() {
        let c = |image: &str, container: &str| {
            Component::of_image(&ImageRef::parse(image).unwrap(), container)
        };
        assert_eq!(
            c("registry.corp/mirrors/istio/pilot:1.22.0", "x"),
            Some(Component::IstioPilot)
        );
        assert_eq!(c("gcr.io/acme/pilot:3.0", "app"), None);
        assert_eq!(
            c("gcr.io/acme/pilot:1.22.0", "discovery"),
            Some(Component::IstioPilot)
        );
        assert_eq!(
            c("docker.io/istio/proxyv2:1.22.0-distroless", "istio-proxy"),
            Some(Component::IstioProxy)
        );
        assert_eq!(
            c("cr.l5d.io/linkerd/proxy:stable-2.14.10", "linkerd-proxy"),
            Some(Component::LinkerdProxy)
        );
        assert_eq!(c("ghcr.io/acme/proxy:1.0", "proxy"), None);
        assert_eq!(
            c("hashicorp/consul-k8s-control-plane:1.3.1", "x"),
            Some(Component::ConsulK8s)
        );
        assert_eq!(
            c("envoyproxy/envoy:v1.30.1", "envoy"),
            Some(Component::Envoy)
        );
        assert_eq!(
            c("quay.io/kiali/kiali:v1.76", "kiali"),
            Some(Component::Kiali)
        );
        assert_eq!(
            c("jaegertracing/all-in-one:1.53", "jaeger"),
            Some(Component::Jaeger)
        );
    }

    #[test]
    fn versions_come_from_tags_and_labels() {
        let v = |t: &str| version_of(t).map(|(v, ch)| (v.to_string(), ch));
        assert_eq!(v("1.22.0"), Some(("1.22.0".into(), None)));
        assert_eq!(v("1.22.0-distroless"), Some(("1.22.0".into(), None)));
        assert_eq!(
            v("stable-2.14.10"),
            Some(("2.14.10".into(), Some("stable".into())))
        );
        assert_eq!(
            v("edge-24.5.1"),
            Some(("24.5.1".into(), Some("edge".into())))
        );
        assert_eq!(v("1-22-0"), Some(("1.22.0".into(), None)));
        assert_eq!(v("istiod-1.22.0"), Some(("1.22.0".into(), None)));
        assert_eq!(v("v1.30.1"), Some(("1.30.1".into(), None)));
        assert_eq!(v("canary"), None);
        assert_eq!(v("default"), None);
        assert_eq!(v("latest"), None);
    }
}
