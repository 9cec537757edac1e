//! What the workloads of the input are: a mesh's control plane (istiod, Linkerd's controllers,
//! Consul's injector) or a policy engine's, recognised once by the names, labels and images
//! their installers use, so that every rule agrees on what "istiod" is — and the software every
//! container runs (mesh proxies, control planes, dashboards), recognised in its image once per
//! scan, with the version its tag or labels state.

use std::collections::{HashMap, HashSet};

use meshaudit_model::k8s::Workload;
use meshaudit_model::{Inventory, Mesh, Node, ObjectId, Step};

use crate::version::Version;

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

/// `registry.corp:5000/mirrors/istio/pilot:1.22.0@sha256:...`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub registry: Option<&'a str>,
    /// The path without the registry: `mirrors/istio/pilot`.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> Option<ImageRef<'a>> {
        let image = image.trim();
        if image.is_empty() {
            return None;
        }
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (image, None),
        };
        // A tag is after the last `:` that follows the last `/` (a registry port comes before).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first), path)
            }
            _ => (None, name),
        };
        if repository.is_empty() {
            return None;
        }
        Some(ImageRef {
            registry,
            repository,
            tag: tag.filter(|t| !t.is_empty()),
            digest,
        })
    }

    /// The last path segment: `pilot`.
    pub fn name(&self) -> &'a str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(self.repository)
    }

    fn path_mentions(&self, word: &str) -> bool {
        self.repository
            .split('/')
            .any(|s| s.eq_ignore_ascii_case(word) || s.starts_with(word))
    }
}

/// Software the dependency rules recognise in images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    IstioPilot,
    IstioProxy,
    IstioCni,
    Ztunnel,
    LinkerdController,
    LinkerdProxy,
    LinkerdPolicyController,
    LinkerdVizWeb,
    Consul,
    ConsulK8s,
    ConsulDataplane,
    Envoy,
    Kiali,
    Grafana,
    Prometheus,
    Jaeger,
    Zipkin,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::IstioPilot => "istiod (pilot)",
            Component::IstioProxy => "Istio proxy (proxyv2)",
            Component::IstioCni => "istio-cni",
            Component::Ztunnel => "ztunnel",
            Component::LinkerdController => "Linkerd controller",
            Component::LinkerdProxy => "Linkerd proxy",
            Component::LinkerdPolicyController => "Linkerd policy controller",
            Component::LinkerdVizWeb => "Linkerd viz dashboard",
            Component::Consul => "Consul",
            Component::ConsulK8s => "consul-k8s control plane",
            Component::ConsulDataplane => "Consul dataplane",
            Component::Envoy => "Envoy",
            Component::Kiali => "Kiali",
            Component::Grafana => "Grafana",
            Component::Prometheus => "Prometheus",
            Component::Jaeger => "Jaeger",
            Component::Zipkin => "Zipkin",
        }
    }

    /// Add-ons with a web UI or API that exposes the mesh's topology, metrics or traces.
    pub fn is_dashboard(self) -> bool {
        matches!(
            self,
            Component::Kiali
                | Component::Grafana
                | Component::Prometheus
                | Component::Jaeger
                | Component::Zipkin
                | Component::LinkerdVizWeb
        )
    }

    /// The mesh a finding about this component is about (add-ons of no particular mesh:
    /// Kubernetes).
    pub fn mesh(self) -> Mesh {
        match self {
            Component::IstioPilot
            | Component::IstioProxy
            | Component::IstioCni
            | Component::Ztunnel
            | Component::Kiali => Mesh::Istio,
            Component::LinkerdController
            | Component::LinkerdProxy
            | Component::LinkerdPolicyController
            | Component::LinkerdVizWeb => Mesh::Linkerd,
            Component::Consul | Component::ConsulK8s | Component::ConsulDataplane => Mesh::Consul,
            Component::Envoy
            | Component::Grafana
            | Component::Prometheus
            | Component::Jaeger
            | Component::Zipkin => Mesh::Kubernetes,
        }
    }

    pub fn is_linkerd(self) -> bool {
        matches!(
            self,
            Component::LinkerdController
                | Component::LinkerdProxy
                | Component::LinkerdPolicyController
                | Component::LinkerdVizWeb
        )
    }

    /// Istio release numbering (what the bulletins speak of).
    pub fn is_istio(self) -> bool {
        matches!(
            self,
            Component::IstioPilot
                | Component::IstioProxy
                | Component::IstioCni
                | Component::Ztunnel
        )
    }

    /// Recognises an image; `container` (its name) disambiguates generic names such as `pilot`.
    pub fn of_image(image: &ImageRef<'_>, container: &str) -> Option<Component> {
        let name = image.name().to_ascii_lowercase();
        let istio =
            image.path_mentions("istio") || image.registry.is_some_and(|r| r.contains("istio"));
        let linkerd = image.path_mentions("linkerd") || image.path_mentions("l5d");
        Some(match name.as_str() {
            "pilot" if istio || container == "discovery" => Component::IstioPilot,
            "proxyv2" => Component::IstioProxy,
            "install-cni" | "istio-cni" => Component::IstioCni,
            "ztunnel" if istio || container == "istio-proxy" || container == "ztunnel" => {
                Component::Ztunnel
            }
            "controller" if linkerd => Component::LinkerdController,
            "proxy" if linkerd => Component::LinkerdProxy,
            "policy-controller" if linkerd => Component::LinkerdPolicyController,
            "web" if linkerd => Component::LinkerdVizWeb,
            "consul" | "consul-enterprise" => Component::Consul,
            "consul-k8s-control-plane" => Component::ConsulK8s,
            "consul-dataplane" => Component::ConsulDataplane,
            "envoy" | "envoy-distroless" | "envoy-alpine" if image.path_mentions("envoyproxy") => {
                Component::Envoy
            }
            "kiali" => Component::Kiali,
            "grafana" | "grafana-oss" | "grafana-enterprise" => Component::Grafana,
            "prometheus" => Component::Prometheus,
            "all-in-one" | "jaeger" | "jaeger-query" | "jaeger-all-in-one" => Component::Jaeger,
            "zipkin" | "zipkin-slim" => Component::Zipkin,
            _ => return None,
        })
    }
}

/// Where a component's version was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    Tag,
    /// A label or annotation (its key).
    Metadata(String),
}

/// One recognised component in one container of a workload.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The workload the finding names: the pod template's owner (for a pod whose controller is
    /// in the input, that controller).
    pub workload: usize,
    /// The object `path` points into: the workload's own object, or the pod that shows an
    /// injected container.
    pub object: ObjectId,
    /// What distinguishes this container in fingerprints (stable across pod restarts).
    pub key: String,
    pub component: Component,
    pub image: String,
    pub version: Option<Version>,
    /// Linkerd's channel (`stable`, `edge`, `enterprise`) when the tag names one.
    pub channel: Option<String>,
    pub source: VersionSource,
    /// The field a finding points at (the container's `image`, or the annotation).
    pub path: Vec<Step<'static>>,
    /// `containers[1]` or `annotation sidecar.istio.io/proxyImage`, for messages.
    pub place: String,
}

impl Instance {
    /// Whether the container is in the workload's own pod template (not only in one of its pods).
    pub fn in_template(&self, inv: &Inventory) -> bool {
        self.object == inv.workloads[self.workload].object
    }

    /// `docker.io/istio/pilot:1.22.0 (version 1.22.0)` — what the evidence says it runs.
    pub fn describe(&self) -> String {
        match (&self.version, &self.source) {
            (Some(v), VersionSource::Tag) => format!("{} (version {v} from its tag)", self.image),
            (Some(v), VersionSource::Metadata(key)) => {
                format!("{} (version {v} from `{key}`)", self.image)
            }
            (None, _) => format!("{} (version unknown)", self.image),
        }
    }
}

/// Labels that carry a release number when the image tag does not (digest-only images).
const VERSION_LABELS: &[&str] = &[
    "app.kubernetes.io/version",
    "linkerd.io/proxy-version",
    "istio.io/rev",
    "helm.sh/chart",
];

/// Reads a tag or label value as a release: `1.22.0`, `stable-2.14.10`, `edge-24.5.1`,
/// `1-22-0` (an `istio.io/rev` revision name), `istiod-1.22.0` (a Helm chart label).
pub fn version_of(text: &str) -> Option<(Version, Option<String>)> {
    let text = text.trim();
    for channel in ["stable-", "edge-", "enterprise-"] {
        if let Some(rest) = text.strip_prefix(channel) {
            return Version::parse(rest)
                .map(|v| (v, Some(channel.trim_end_matches('-').to_owned())));
        }
    }
    if let Some(v) = Version::parse(text) {
        return Some((v, None));
    }
    // `1-22-0` (revision names cannot hold dots).
    let dashed: Vec<&str> = text.split('-').collect();
    if (2..=3).contains(&dashed.len())
        && dashed
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Version::parse(&dashed.join(".")).map(|v| (v, None));
    }
    // `istiod-1.22.0`, `gateway-1.22.0`: a chart name then its version.
    if let Some(i) = text.rfind('-') {
        let (name, ver) = (&text[..i], &text[i + 1..]);
        if !name.is_empty() && name.bytes().any(|b| b.is_ascii_alphabetic()) {
            return Version::parse(ver).map(|v| (v, None));
        }
    }
    None
}

fn label_version(inv: &Inventory, w: &Workload) -> Option<(Version, Option<String>, String)> {
    let owner = &inv.object(w.object).labels;
    for key in VERSION_LABELS {
        for labels in [&w.labels, owner] {
            if let Some((v, ch)) = labels.get(*key).and_then(|t| version_of(t)) {
                return Some((v, ch, (*key).to_owned()));
            }
        }
    }
    None
}

/// Annotation that replaces the injected sidecar's image.
pub const PROXY_IMAGE_ANNOTATION: &str = "sidecar.istio.io/proxyImage";

/// Every recognised component in the input's workloads, in workload order.
pub fn find_instances(inv: &Inventory) -> Vec<Instance> {
    let mut out = Vec::new();
    for (wi, w) in inv.workloads.iter().enumerate() {
        for (list, field) in [
            (&w.init_containers, "initContainers"),
            (&w.containers, "containers"),
        ] {
            for (ci, c) in list.iter().enumerate() {
                let Some(image) = c.image.as_deref() else {
                    continue;
                };
                let Some(r) = ImageRef::parse(image) else {
                    continue;
                };
                let Some(component) = Component::of_image(&r, &c.name) else {
                    continue;
                };
                // Istio's init containers reuse the proxy image to set up iptables; Envoy does
                // not run there (a native sidecar is an init container named istio-proxy).
                if field == "initContainers"
                    && matches!(c.name.as_str(), "istio-init" | "istio-validation")
                {
                    continue;
                }
                let mut path: Vec<Step<'static>> =
                    w.template_path.iter().map(|k| Step::Key(k)).collect();
                path.extend([
                    Step::Key("spec"),
                    Step::Key(field),
                    Step::Index(ci),
                    Step::Key("image"),
                ]);
                let from_tag = r.tag.and_then(version_of);
                let (version, channel, source) = match from_tag {
                    Some((v, ch)) => (Some(v), ch, VersionSource::Tag),
                    None => match label_version(inv, w) {
                        // Labels speak for the workload's main software, not for a sidecar.
                        Some((v, ch, key)) if !is_sidecar(component, &c.name, w) => {
                            (Some(v), ch, VersionSource::Metadata(key))
                        }
                        _ => (None, None, VersionSource::Tag),
                    },
                };
                let place = format!("{field}[{ci}] `{}`", c.name);
                out.push(Instance {
                    workload: wi,
                    object: w.object,
                    key: place.clone(),
                    component,
                    image: image.to_owned(),
                    version,
                    channel,
                    source,
                    path,
                    place,
                });
            }
        }
        if let Some(image) = w.annotations.get(PROXY_IMAGE_ANNOTATION) {
            let already = w.containers.iter().any(|c| c.name == "istio-proxy");
            if let (false, Some(r)) = (already, ImageRef::parse(image)) {
                let mut path: Vec<Step<'static>> =
                    w.template_path.iter().map(|k| Step::Key(k)).collect();
                if w.kind != "Pod" {
                    path.push(Step::Key("metadata"));
                } else {
                    path.clear();
                    path.push(Step::Key("metadata"));
                }
                path.extend([Step::Key("annotations"), Step::Key(PROXY_IMAGE_ANNOTATION)]);
                let (version, channel) = match r.tag.and_then(version_of) {
                    Some((v, ch)) => (Some(v), ch),
                    None => (None, None),
                };
                out.push(Instance {
                    workload: wi,
                    object: w.object,
                    key: format!("annotation {PROXY_IMAGE_ANNOTATION}"),
                    component: Component::IstioProxy,
                    image: image.clone(),
                    version,
                    channel,
                    source: VersionSource::Tag,
                    path,
                    place: format!("annotation `{PROXY_IMAGE_ANNOTATION}`"),
                });
            }
        }
    }
    pod_instances(inv, &mut out);
    out
}

/// Containers seen only in pods whose controller is in the input: ingest folds such pods into
/// their owner's workload, but a sidecar injected at admission exists only in the pod. One
/// instance per owner, container and image (replicas say the same thing).
fn pod_instances(inv: &Inventory, out: &mut Vec<Instance>) {
    let workload_objects: HashSet<ObjectId> = inv.workloads.iter().map(|w| w.object).collect();
    let by_name: HashMap<(&str, &str, &str), usize> = inv
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| ((w.namespace.as_str(), w.kind.as_str(), w.name.as_str()), i))
        .collect();
    let objects: HashMap<(&str, &str, &str), ObjectId> = inv
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.kind.as_str(), "ReplicaSet" | "Job"))
        .map(|(i, o)| {
            (
                (
                    o.namespace.as_deref().unwrap_or(""),
                    o.kind.as_str(),
                    o.name.as_str(),
                ),
                i,
            )
        })
        .collect();
    let controller = |node: &Node| -> Option<(String, String)> {
        node.at(&[Step::Key("metadata"), Step::Key("ownerReferences")])
            .and_then(Node::as_seq)?
            .iter()
            .find(|r| {
                matches!(
                    r.get("controller").map(|c| &c.value),
                    Some(meshaudit_model::Value::Bool(true))
                )
            })
            .and_then(|r| {
                Some((
                    r.get("kind")?.as_str()?.to_owned(),
                    r.get("name")?.as_str()?.to_owned(),
                ))
            })
    };
    let mut seen: HashSet<(usize, String, String)> = HashSet::new();
    for (oid, pod) in inv.objects.iter().enumerate() {
        if pod.kind != "Pod" || !pod.group().is_empty() || workload_objects.contains(&oid) {
            continue;
        }
        let ns = pod.namespace.as_deref().unwrap_or("");
        let Some((kind, name)) = controller(&pod.node) else {
            continue;
        };
        // The controller itself, or (ReplicaSet → Deployment, Job → CronJob) its controller.
        let owner = by_name
            .get(&(ns, kind.as_str(), name.as_str()))
            .copied()
            .or_else(|| {
                let mid = *objects.get(&(ns, kind.as_str(), name.as_str()))?;
                let (k2, n2) = controller(&inv.object(mid).node)?;
                by_name.get(&(ns, k2.as_str(), n2.as_str())).copied()
            });
        let Some(wi) = owner else { continue };
        let w = &inv.workloads[wi];
        for field in ["initContainers", "containers"] {
            let Some(list) = pod
                .node
                .at(&[Step::Key("spec"), Step::Key(field)])
                .and_then(Node::as_seq)
            else {
                continue;
            };
            for (ci, c) in list.iter().enumerate() {
                let cname = c.get("name").and_then(Node::as_str).unwrap_or("");
                let Some(image) = c.get("image").and_then(Node::as_str) else {
                    continue;
                };
                if field == "initContainers" && matches!(cname, "istio-init" | "istio-validation") {
                    continue;
                }
                // Already in the owner's template: reported there.
                if w.all_containers()
                    .any(|t| t.name == cname && t.image.as_deref() == Some(image))
                {
                    continue;
                }
                let Some(r) = ImageRef::parse(image) else {
                    continue;
                };
                let Some(component) = Component::of_image(&r, cname) else {
                    continue;
                };
                if !seen.insert((wi, cname.to_owned(), image.to_owned())) {
                    continue;
                }
                let (version, channel) = match r.tag.and_then(version_of) {
                    Some((v, ch)) => (Some(v), ch),
                    None => (None, None),
                };
                out.push(Instance {
                    workload: wi,
                    object: oid,
                    key: format!("pods {field} `{cname}`"),
                    component,
                    image: image.to_owned(),
                    version,
                    channel,
                    source: VersionSource::Tag,
                    path: vec![
                        Step::Key("spec"),
                        Step::Key(field),
                        Step::Index(ci),
                        Step::Key("image"),
                    ],
                    place: format!("{field}[{ci}] `{cname}` of Pod {}", pod.name),
                });
            }
        }
    }
}

/// A proxy container added next to an application (its labels describe the application).
fn is_sidecar(component: Component, container: &str, w: &Workload) -> bool {
    matches!(
        component,
        Component::IstioProxy | Component::LinkerdProxy | Component::ConsulDataplane
    ) && (container == "istio-proxy"
        || container == "linkerd-proxy"
        || container == "consul-dataplane")
        && w.containers.len() > 1
}

/// The Istio revision a workload belongs to: its `istio.io/rev` label, the revision recorded by
/// the injector, its namespace's label, else `default`.
pub fn istio_revision(inv: &Inventory, w: &Workload) -> String {
    if let Some(rev) = w.labels.get("istio.io/rev") {
        return rev.clone();
    }
    if let Some(rev) = inv.object(w.object).labels.get("istio.io/rev") {
        return rev.clone();
    }
    if let Some(status) = w.annotations.get("sidecar.istio.io/status") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(status) {
            if let Some(rev) = v.get("revision").and_then(|r| r.as_str()) {
                return rev.to_owned();
            }
        }
    }
    if let Some(rev) = inv
        .namespace(&w.namespace)
        .and_then(|ns| ns.labels.get("istio.io/rev"))
    {
        return rev.clone();
    }
    "default".to_owned()
}
