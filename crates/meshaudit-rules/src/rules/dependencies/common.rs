//! What the dependency rules share: reading image references, recognising mesh components and
//! add-ons in them, and the version each one runs (from its tag, or labels when the tag says
//! nothing).

use std::borrow::Cow;

use meshaudit_model::{Inventory, Node, WorkloadId};

use crate::finding::{Finding, ResourceRef};
use crate::rule::Rule;

pub use meshaudit_engine::components::{
    find_instances, istio_revision, version_of, Component, ImageRef, Instance, VersionSource,
    PROXY_IMAGE_ANNOTATION,
};

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

/// Every recognised component in the input's workloads, computed once per scan and shared by
/// the dependency rules.
pub fn instances<'c>(ctx: &'c crate::context::Context<'_>) -> &'c [Instance] {
    ctx.dependency_instances()
}

/// `Deployment istio-system/istiod`.
pub fn workload_label(inv: &Inventory, w: WorkloadId) -> String {
    let w = &inv.workloads[w];
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// A URL as findings may print it: without user information (`user:token@`) or query string,
/// where credentials sometimes travel.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let redacted_query = if url.contains('?') { "?…" } else { "" };
    match scheme {
        Some(s) => format!("{s}://{authority}{path}{redacted_query}"),
        None => format!("{authority}{path}{redacted_query}"),
    }
}

/// A YAML or JSON document held in a ConfigMap value (`data.<key>`), parsed with positions in
/// the user's file: lines as in the file, columns shifted by the block's indentation.
pub struct Embedded {
    pub root: meshaudit_model::Node,
    /// Added to an embedded node's column to get the file's column.
    pub column_offset: u32,
}

impl Embedded {
    pub fn location(
        &self,
        object: &meshaudit_model::Object,
        node_line: u32,
        node_column: u32,
    ) -> meshaudit_model::Location {
        meshaudit_model::Location::new(
            object.origin.path.clone(),
            node_line,
            node_column + self.column_offset,
        )
    }
}

/// A protobuf field name as written in JSON/YAML, in its proto (snake_case) spelling. Envoy
/// configuration in an EnvoyFilter `patch.value` and Istio's mesh config are protobuf JSON:
/// Istio accepts both the proto name (`inline_code`) and the JSON name (`inlineCode`) of every
/// field, so rules compare `proto_field(key)` with the snake_case name and match both.
pub fn proto_field(key: &str) -> Cow<'_, str> {
    if !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The value of protobuf field `field` (its snake_case name) of a map node, spelled either way.
pub fn proto_get<'n>(node: &'n Node, field: &str) -> Option<&'n Node> {
    node.as_map()?
        .iter()
        .find(|e| proto_field(e.key.as_str()) == field)
        .map(|e| &e.value)
}

/// Parses `data.<key>` of a ConfigMap object; `None` when absent or unreadable (ingest has
/// already read the ConfigMap itself).
pub fn embedded_document(object: &meshaudit_model::Object, key: &str) -> Option<Embedded> {
    let entry = object.node.get("data")?.entry(key)?;
    let text = entry.value.as_str()?;
    // A block scalar's text starts on the line after its key, indented under it.
    let block = entry.value.line > entry.key_line || text.contains('\n');
    let (first_line, column_offset) = if block {
        (entry.key_line + 1, entry.key_column + 1)
    } else {
        (entry.key_line, entry.value.column.saturating_sub(1))
    };
    let (docs, _errors) = meshaudit_ingest::yaml::parse_documents(text, first_line);
    let root = docs.into_iter().find_map(|d| d.root)?;
    Some(Embedded {
        root,
        column_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_fields_match_in_either_spelling() {
        assert_eq!(proto_field("inlineCode"), "inline_code");
        assert_eq!(proto_field("inline_code"), "inline_code");
        assert_eq!(
            proto_field("requestHeadersToRemove"),
            "request_headers_to_remove"
        );
        assert_eq!(proto_field("@type"), "@type");
        let doc = meshaudit_ingest::yaml::parse_documents("extensionProviders: []\n", 1)
            .0
            .into_iter()
            .find_map(|d| d.root)
            .unwrap();
        assert!(proto_get(&doc, "extension_providers").is_some());
        assert!(proto_get(&doc, "default_config").is_none());
    }

    #[test]
    fn urls_lose_credentials() {
        assert_eq!(
            redact_url("https://user:s3cret@plugins.example.com/f.wasm?token=abc"),
            "https://plugins.example.com/f.wasm?…"
        );
        assert_eq!(redact_url("oci://ghcr.io/x/y:v1"), "oci://ghcr.io/x/y:v1");
        assert_eq!(redact_url("authz.example.net"), "authz.example.net");
    }

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
