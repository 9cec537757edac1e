//! What the workloads of the input are: a mesh's control plane (istiod, Linkerd's controllers,
//! Consul's injector) or a policy engine's, recognised once by the names, labels and images
//! their installers use, so that every rule agrees on what "istiod" is — and the software every
//! container runs (mesh proxies, control planes, dashboards), recognised in its image once per
//! scan, with the version its tag or labels state.

use std::collections::{HashMap, HashSet};

use meshaudit_model::k8s::Workload;
use meshaudit_model::{Inventory, Mesh, Node, ObjectId, Step, WorkloadId};

use crate::version::{LinkerdChannel, LinkerdRelease, Version};

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
    /// Other Linkerd extension controllers released with Linkerd's numbers: viz `metrics-api`
    /// and `tap` (tap and its injector), jaeger's `jaeger-webhook`.
    LinkerdExtension,
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
            Component::LinkerdExtension => "Linkerd extension controller",
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
            | Component::LinkerdVizWeb
            | Component::LinkerdExtension => Mesh::Linkerd,
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
                | Component::LinkerdExtension
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
            "metrics-api" | "tap" | "jaeger-webhook" if linkerd => Component::LinkerdExtension,
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
    pub workload: WorkloadId,
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

    /// The Linkerd release it runs (`edge-25.1.2`), when it is a Linkerd component whose tag or
    /// annotation names a channel.
    pub fn linkerd_release(&self) -> Option<LinkerdRelease> {
        if !self.component.is_linkerd() {
            return None;
        }
        let channel = LinkerdChannel::parse(self.channel.as_deref()?)?;
        let version = self.version.clone()?;
        version.patch?;
        Some(LinkerdRelease::new(channel, version))
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

/// Pod-template annotation that makes Linkerd's injector use another proxy version
/// (`stable-2.14.10`) than the control plane's.
pub const LINKERD_PROXY_VERSION_OVERRIDE: &str = "config.linkerd.io/proxy-version";
/// Pod-template annotation that makes Linkerd's injector use another proxy image name.
pub const LINKERD_PROXY_IMAGE_OVERRIDE: &str = "config.linkerd.io/proxy-image";
/// Annotation the injector records on an injected pod: the proxy version it added.
pub const LINKERD_PROXY_VERSION_RECORD: &str = "linkerd.io/proxy-version";
/// Label of every pod of a Linkerd extension (`viz`, `multicluster`, `jaeger`).
pub const LINKERD_EXTENSION_LABEL: &str = "linkerd.io/extension";

/// The Linkerd extension (`viz`, `multicluster`, ...) a workload belongs to, from the label its
/// chart puts on the pod template and on the workload itself.
pub fn linkerd_extension<'w>(inv: &'w Inventory, w: &'w Workload) -> Option<&'w str> {
    w.labels
        .get(LINKERD_EXTENSION_LABEL)
        .or_else(|| inv.object(w.object).labels.get(LINKERD_EXTENSION_LABEL))
        .map(String::as_str)
}

/// Every recognised component in the input's workloads, in workload order.
pub fn find_instances(inv: &Inventory) -> Vec<Instance> {
    let mut out = Vec::new();
    for (wi, w) in WorkloadId::enumerate(&inv.workloads) {
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
                // A Linkerd proxy pinned by digest: the injector recorded its version.
                let recorded = (component == Component::LinkerdProxy)
                    .then(|| w.annotations.get(LINKERD_PROXY_VERSION_RECORD))
                    .flatten()
                    .and_then(|t| version_of(t));
                let (version, channel, source) = match (from_tag, recorded) {
                    (Some((v, ch)), _) => (Some(v), ch, VersionSource::Tag),
                    (None, Some((v, ch))) => (
                        Some(v),
                        ch,
                        VersionSource::Metadata(LINKERD_PROXY_VERSION_RECORD.to_owned()),
                    ),
                    (None, None) => match label_version(inv, w) {
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
        if let Some(instance) = linkerd_proxy_override(wi, w) {
            out.push(instance);
        }
    }
    pod_instances(inv, &mut out);
    out
}

/// The proxy a pod template asks Linkerd's injector for with `config.linkerd.io/proxy-version`,
/// when the template has no proxy yet (an injected template shows its proxy container instead).
fn linkerd_proxy_override(wi: WorkloadId, w: &Workload) -> Option<Instance> {
    let text = w.annotations.get(LINKERD_PROXY_VERSION_OVERRIDE)?;
    if w.linkerd().proxy.is_some() {
        return None;
    }
    let (version, channel) = version_of(text)?;
    let name = w
        .annotations
        .get(LINKERD_PROXY_IMAGE_OVERRIDE)
        .map_or("cr.l5d.io/linkerd/proxy", String::as_str);
    let mut path: Vec<Step<'static>> = w.template_path.iter().map(|k| Step::Key(k)).collect();
    path.extend([
        Step::Key("metadata"),
        Step::Key("annotations"),
        Step::Key(LINKERD_PROXY_VERSION_OVERRIDE),
    ]);
    Some(Instance {
        workload: wi,
        object: w.object,
        key: format!("annotation {LINKERD_PROXY_VERSION_OVERRIDE}"),
        component: Component::LinkerdProxy,
        image: format!("{name}:{}", text.trim()),
        version: Some(version),
        channel,
        source: VersionSource::Metadata(LINKERD_PROXY_VERSION_OVERRIDE.to_owned()),
        path,
        place: format!("annotation `{LINKERD_PROXY_VERSION_OVERRIDE}`"),
    })
}

/// Containers seen only in pods whose controller is in the input: ingest folds such pods into
/// their owner's workload, but a sidecar injected at admission exists only in the pod. One
/// instance per owner, container and image (replicas say the same thing).
fn pod_instances(inv: &Inventory, out: &mut Vec<Instance>) {
    let workload_objects: HashSet<ObjectId> = inv.workloads.iter().map(|w| w.object).collect();
    let by_name: HashMap<(&str, &str, &str), WorkloadId> = WorkloadId::enumerate(&inv.workloads)
        .map(|(i, w)| ((w.namespace.as_str(), w.kind.as_str(), w.name.as_str()), i))
        .collect();
    let objects: HashMap<(&str, &str, &str), ObjectId> = inv
        .objects_with_ids()
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
    let mut seen: HashSet<(WorkloadId, String, String)> = HashSet::new();
    for (oid, pod) in inv.objects_with_ids() {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    fn inventory(yaml: &str) -> Inventory {
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
        ingested.inventory
    }

    #[test]
    fn linkerd_extension_controllers_are_recognised() {
        let c = |image: &str| Component::of_image(&ImageRef::parse(image).unwrap(), "x");
        assert_eq!(
            c("cr.l5d.io/linkerd/metrics-api:edge-25.1.2"),
            Some(Component::LinkerdExtension)
        );
        assert_eq!(
            c("cr.l5d.io/linkerd/tap:stable-2.14.10"),
            Some(Component::LinkerdExtension)
        );
        assert_eq!(
            c("cr.l5d.io/linkerd/jaeger-webhook:edge-24.5.1"),
            Some(Component::LinkerdExtension)
        );
        // Not Linkerd's: a `tap` image of someone else.
        assert_eq!(c("ghcr.io/acme/tap:1.0.0"), None);
        assert!(Component::LinkerdExtension.is_linkerd());
    }

    const INJECTED: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {linkerd.io/extension: viz}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {linkerd.io/proxy-version: edge-25.1.2}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.0.0
      - name: linkerd-proxy
        image: cr.l5d.io/linkerd/proxy@sha256:0123
";

    #[test]
    fn a_digest_pinned_linkerd_proxy_takes_the_injectors_record() {
        let inv = inventory(INJECTED);
        let found = find_instances(&inv);
        let proxy = found
            .iter()
            .find(|i| i.component == Component::LinkerdProxy)
            .expect("the proxy container is recognised");
        let release = proxy.linkerd_release().expect("a Linkerd release");
        assert_eq!(release.to_string(), "edge-25.1.2");
        assert_eq!(
            proxy.source,
            VersionSource::Metadata(LINKERD_PROXY_VERSION_RECORD.to_owned())
        );
        assert_eq!(linkerd_extension(&inv, &inv.workloads[0]), Some("viz"));
    }

    #[test]
    fn a_proxy_version_override_is_a_proxy_instance_until_injected() {
        let yaml = "apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata:
      labels: {app: api}
      annotations:
        linkerd.io/inject: enabled
        config.linkerd.io/proxy-version: stable-2.14.10
    spec:
      containers:
      - name: api
        image: registry.example.com/api:2.0.0
";
        let inv = inventory(yaml);
        let found = find_instances(&inv);
        assert_eq!(found.len(), 1, "{found:?}");
        let i = &found[0];
        assert_eq!(i.component, Component::LinkerdProxy);
        assert_eq!(i.image, "cr.l5d.io/linkerd/proxy:stable-2.14.10");
        assert_eq!(
            i.linkerd_release().map(|r| r.to_string()).as_deref(),
            Some("stable-2.14.10")
        );
        let object = inv.object(i.object);
        assert_eq!(object.location_of(&i.path).line, 11);
        // Once the proxy is in the template, its container speaks for it.
        let injected = yaml.replace(
            "        image: registry.example.com/api:2.0.0\n",
            "        image: registry.example.com/api:2.0.0\n      - name: linkerd-proxy\n        image: cr.l5d.io/linkerd/proxy:stable-2.14.10\n",
        );
        let inv = inventory(&injected);
        let found = find_instances(&inv);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].place.contains("containers[1]"),
            "{}",
            found[0].place
        );
    }

    #[test]
    fn only_linkerd_components_with_a_channel_have_a_linkerd_release() {
        let inv = inventory(
            "apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: linkerd}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - {name: destination, image: 'cr.l5d.io/linkerd/controller:edge-24.10.3'}
      - {name: custom, image: 'cr.l5d.io/linkerd/policy-controller:2.14.10'}
      - {name: pilot, image: 'docker.io/istio/pilot:1.22.0'}
",
        );
        let found = find_instances(&inv);
        let releases: Vec<Option<String>> = found
            .iter()
            .map(|i| i.linkerd_release().map(|r| r.to_string()))
            .collect();
        assert_eq!(releases, [Some("edge-24.10.3".to_owned()), None, None]);
    }
}
