//! Does a workload get Linkerd's proxy, and which of its traffic does the proxy see?
//!
//! Injection follows the proxy injector (`pkg/inject/report.go` in linkerd2): the
//! `linkerd.io/inject` annotation of the namespace and of the pod template (never the
//! Deployment's own metadata) decide by Linkerd's truth table — an invalid value on the
//! namespace or the pod blocks injection, a namespace `enabled`/`ingress` injects every pod that
//! does not say `disabled`, otherwise only pods that say `enabled`/`ingress` are injected. The
//! injector then refuses `hostNetwork` pods and pods that already carry a sidecar, and the API
//! server calls it only for namespaces and pods its webhook's selectors match: those of the
//! input's injector webhook, or the chart's when the input has none (and then it is said so).
//! A template that already carries the proxy (rendered with it, `linkerd inject --manual`, or a
//! Pod as a cluster dump shows it) is meshed as it is.
//!
//! Capture: iptables (set up by `linkerd-init`, or by the CNI plugin) redirects every inbound
//! TCP port to the proxy except the skipped ones and the proxy's own admin and control ports,
//! and every outbound port except the skipped ones and traffic of the proxy's user. Where the
//! skip lists come from depends on who sets iptables up — see [`LinkerdCapture`].

use meshaudit_model::k8s::{Container, Workload};
use meshaudit_model::linkerd::{
    CidrList, InjectMode, LinkerdConfig, PortSet, ProxyInit, ProxyPlacement,
    DEFAULT_CONTROL_PLANE_NAMESPACE, DEFAULT_IGNORED_PORTS, INJECT_ANNOTATION,
    NATIVE_SIDECAR_ALPHA_ANNOTATION, NATIVE_SIDECAR_ANNOTATION, NATIVE_SIDECAR_BETA_ANNOTATION,
    PROXY_ADMIN_PORT, PROXY_CONTAINER, PROXY_CONTROL_PORT, PROXY_IMAGE_PREFIX,
    PROXY_INIT_CONTAINER, SKIP_INBOUND_PORTS_ANNOTATION, SKIP_OUTBOUND_PORTS_ANNOTATION,
    SKIP_SUBNETS_ANNOTATION,
};
use meshaudit_model::selector::Labels;
use meshaudit_model::{Inventory, ObjectId, ServiceId, Step, WorkloadId};

use crate::evidence::Because;
use crate::webhooks::{Hook, Product, Role};

/// Namespace label the chart's injector `namespaceSelector` excludes when it is `disabled`.
pub const ADMISSION_WEBHOOKS_LABEL: &str = "config.linkerd.io/admission-webhooks";
/// Pod label of Linkerd's control-plane components; the injector's `objectSelector` skips pods
/// that carry it (any value), whose templates bring their proxy themselves.
pub const CONTROL_PLANE_COMPONENT_LABEL: &str = "linkerd.io/control-plane-component";
/// Pod label of the CNI plugin's resources; the injector's `objectSelector` skips them too.
pub const CNI_RESOURCE_LABEL: &str = "linkerd.io/cni-resource";
/// Annotation the injector writes on the pods it injects.
pub const PROXY_VERSION_ANNOTATION: &str = "linkerd.io/proxy-version";
/// The proxy's user id; iptables lets its traffic out without redirection.
pub const PROXY_UID_ANNOTATION: &str = "config.linkerd.io/proxy-uid";
/// `proxy.uid` of the chart.
pub const DEFAULT_PROXY_UID: i64 = 2102;
/// The label the API server puts on every namespace, which webhook selectors can read.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// Namespaces the chart's injector `namespaceSelector` leaves out by name.
const CHART_EXCLUDED_NAMESPACES: [&str; 2] = ["kube-system", "cert-manager"];

/// Where a setting a pod's proxy gets comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The pod template's own annotation — or, for a template that already has its proxy, what
    /// its `linkerd-init` container was given.
    Workload,
    /// The namespace's annotation, which the injector copies onto pods that lack it when it
    /// injects them (later changes to the namespace do not reach running pods).
    Namespace,
    /// A value written in `linkerd-config` (the install's Helm values).
    Cluster,
    /// Written nowhere in the input: Linkerd's (or its chart's) default.
    Default,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Workload => "workload",
            Level::Namespace => "namespace",
            Level::Cluster => "cluster",
            Level::Default => "default",
        }
    }
}

/// An annotation as a pod's proxy gets it: the pod template's own, else its namespace's (where
/// the injector still has to copy it onto the pod).
#[derive(Debug, Clone)]
pub struct Annotated<'i> {
    pub value: &'i str,
    /// [`Level::Workload`] or [`Level::Namespace`].
    pub level: Level,
    /// The workload's object, or the Namespace object.
    pub object: ObjectId,
    pub path: Vec<Step<'i>>,
}

impl Annotated<'_> {
    /// A fact read at the annotation.
    pub fn because(&self, fact: impl Into<std::borrow::Cow<'static, str>>) -> Because {
        Because::at(self.object, &self.path, fact)
    }

    /// `the pod template` or `namespace shop`, for a sentence.
    pub fn place(&self, namespace: &str) -> String {
        match self.level {
            Level::Namespace => format!("namespace {namespace}"),
            _ => "the pod template".to_owned(),
        }
    }
}

/// The path of a field inside a workload's pod template.
pub fn template_field<'a>(workload: &Workload, tail: &[Step<'a>]) -> Vec<Step<'a>> {
    let mut path: Vec<Step<'a>> = workload
        .template_path
        .iter()
        .map(|k| Step::Key(k))
        .collect();
    path.extend_from_slice(tail);
    path
}

/// Annotation `key` of the pod template, else — when `namespace_fallback` — of the workload's
/// Namespace object.
pub fn annotation<'i>(
    inv: &'i Inventory,
    workload: &'i Workload,
    key: &'i str,
    namespace_fallback: bool,
) -> Option<Annotated<'i>> {
    if let Some(value) = workload.annotations.get(key) {
        return Some(Annotated {
            value,
            level: Level::Workload,
            object: workload.object,
            path: template_field(
                workload,
                &[
                    Step::Key("metadata"),
                    Step::Key("annotations"),
                    Step::Key(key),
                ],
            ),
        });
    }
    if !namespace_fallback {
        return None;
    }
    namespace_annotation(inv, &workload.namespace, key)
}

/// Annotation `key` of the Namespace object `namespace`, when the input has it.
pub fn namespace_annotation<'i>(
    inv: &'i Inventory,
    namespace: &str,
    key: &'i str,
) -> Option<Annotated<'i>> {
    let id = inv.namespace(namespace)?.object?;
    let value = inv.object(id).annotations.get(key)?;
    Some(Annotated {
        value,
        level: Level::Namespace,
        object: id,
        path: vec![
            Step::Key("metadata"),
            Step::Key("annotations"),
            Step::Key(key),
        ],
    })
}

/// A fact about a value of `linkerd-config`, located at its `values` key (positions inside the
/// embedded document are on the value itself: [`meshaudit_model::linkerd::ConfigValue`]).
pub fn config_because(
    config: &LinkerdConfig,
    fact: impl Into<std::borrow::Cow<'static, str>>,
) -> Because {
    Because::at(
        config.object,
        &[Step::Key("data"), Step::Key("values")],
        fact,
    )
}

/// How a workload's pods get their proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injection {
    /// The pod template already carries the proxy.
    Present,
    /// The proxy injector adds it when pods are created.
    Webhook,
    /// No proxy.
    None,
}

/// The proxy's mode when injected: `linkerd.io/inject: enabled` or `ingress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    Enabled,
    /// Outbound HTTP requests are routed by their `Host`/`l5d-dst-override` header instead of
    /// the address the application connected to; inbound handling and capture are unchanged.
    Ingress,
}

impl Inject {
    pub fn as_str(self) -> &'static str {
        match self {
            Inject::Enabled => "enabled",
            Inject::Ingress => "ingress",
        }
    }
}

/// Why a workload has no proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotMeshed {
    /// Neither the namespace nor the pod template asks for injection.
    NotRequested,
    /// The namespace asks for injection and the pod template says `disabled`.
    PodDisabled,
    /// The pod template's `linkerd.io/inject` is not enabled/disabled/ingress.
    InvalidPodValue,
    /// The namespace's `linkerd.io/inject` is not enabled/disabled/ingress: nothing there is
    /// injected.
    InvalidNamespaceValue,
    /// `hostNetwork: true`: the injector refuses.
    HostNetwork,
    /// Another sidecar (Istio's), or `linkerd-init` without a proxy, is already there.
    ExistingSidecar,
    /// The injector webhook's selectors leave the namespace or the pod out.
    NotSelected,
    /// The namespace is only implied by the input and the pod template does not ask: whether
    /// its annotation asks for injection is unknown (taken as not).
    NamespaceUnknown,
}

/// Who sets the pod's iptables rules up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// The `linkerd-init` initContainer (the default).
    ProxyInit,
    /// Linkerd's CNI plugin, when the pod's network is set up (`linkerd-network-validator`
    /// checks it).
    Cni,
}

/// What happens to a connection to one of the pod's ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundPath {
    /// Redirected to the proxy's inbound listener (4143): mTLS is terminated and the port's
    /// policy applies. 4143 itself is here: direct connections to it must be mutual TLS.
    Proxied,
    /// The proxy's admin port (4191): never redirected, the proxy's admin server answers it
    /// itself and applies the port's inbound policy.
    ProxyAdmin,
    /// The proxy's control (tap) port (4190): never redirected; only viz's tap server, by its
    /// mesh identity, is let in, and only when viz's tap injector configured it.
    ProxyControl,
    /// Skipped: the connection reaches the application directly — no mesh TLS, no identity,
    /// no policy.
    Skipped,
}

/// A list of ports iptables does not redirect, with where it comes from.
#[derive(Debug, Clone)]
pub struct SkipList {
    pub ports: PortSet,
    pub level: Level,
    /// Where it is set; `None` for a default that skips nothing.
    pub because: Option<Because>,
}

impl SkipList {
    fn none() -> SkipList {
        SkipList {
            ports: PortSet::EMPTY,
            level: Level::Default,
            because: None,
        }
    }
}

/// Which of a meshed pod's traffic passes through its proxy.
///
/// Skip lists, by who sets iptables up:
/// - `linkerd-init` of a template that already has its proxy: its arguments
///   (`--inbound-ports-to-ignore`, `--outbound-ports-to-ignore`, `--subnets-to-ignore`,
///   `--proxy-uid`) are what runs;
/// - `linkerd-init` added by the injector: `config.linkerd.io/skip-inbound-ports` (pod, else
///   namespace) *replaces* `proxyInit.ignoreInboundPorts` of `linkerd-config` (chart default
///   `4567,4568`); likewise for outbound;
/// - the CNI plugin: the annotation is *added to* the plugin's own list (empty by default, not
///   in the input); `skip-outbound-ports` replaces the plugin's (empty) list.
///
/// 4190 and 4191 are never redirected whatever the lists say.
#[derive(Debug, Clone)]
pub struct LinkerdCapture {
    pub redirect: Redirect,
    pub skip_inbound: SkipList,
    pub skip_outbound: SkipList,
    /// `skip-subnets`: inbound connections from these sources bypass the proxy (and all policy).
    pub skip_subnets: Option<(CidrList, Because)>,
    /// The proxy's user id (2102 unless `config.linkerd.io/proxy-uid` or `--proxy-uid` says).
    pub proxy_uid: i64,
    /// Application containers that run as the proxy's user: iptables does not redirect their
    /// outbound traffic.
    pub proxy_uid_containers: Vec<String>,
    /// Why (who sets iptables up, each list that skips something, each container above).
    pub because: Vec<Because>,
}

impl LinkerdCapture {
    /// What happens to a connection to `port` of the pod.
    pub fn inbound(&self, port: u16) -> InboundPath {
        if port == PROXY_ADMIN_PORT {
            InboundPath::ProxyAdmin
        } else if port == PROXY_CONTROL_PORT {
            InboundPath::ProxyControl
        } else if self.skip_inbound.ports.contains(port) {
            InboundPath::Skipped
        } else {
            InboundPath::Proxied
        }
    }

    /// The proxy handles connections to `port` (redirected, or its own admin/control port).
    pub fn captures_inbound(&self, port: u16) -> bool {
        self.inbound(port) != InboundPath::Skipped
    }

    /// Every connection the pod's application opens to `port` goes through the proxy.
    pub fn captures_outbound(&self, port: u16) -> bool {
        self.proxy_uid_containers.is_empty() && !self.skip_outbound.ports.contains(port)
    }
}

/// A workload's place in a Linkerd mesh, and why.
#[derive(Debug, Clone)]
pub struct LinkerdMembership {
    /// Its pods run Linkerd's proxy.
    pub meshed: bool,
    /// False when the answer rests on a namespace the input only implies.
    pub known: bool,
    pub injection: Injection,
    /// `Some` when meshed.
    pub mode: Option<Inject>,
    /// `Some` when not meshed.
    pub not_meshed: Option<NotMeshed>,
    /// The decision's evidence, most decisive first.
    pub because: Vec<Because>,
    /// `Some` when meshed.
    pub capture: Option<LinkerdCapture>,
    /// The proxy runs as a native sidecar (an initContainer with `restartPolicy: Always`);
    /// capture is the same either way.
    pub native_sidecar: bool,
    /// The mesh identity its proxy gets:
    /// `<sa>.<ns>.serviceaccount.identity.<control-plane ns>.<trust domain>`; `Some` when meshed.
    pub identity: Option<String>,
    pub identity_because: Vec<Because>,
    /// One of Linkerd's own control-plane components (labelled
    /// `linkerd.io/control-plane-component`), which the chart renders with its proxy and pins
    /// to settings of its own.
    pub control_plane: bool,
}

impl LinkerdMembership {
    /// Every workload's membership, in inventory order; `hooks` are the input's webhooks as
    /// [`crate::webhooks::hooks`] classifies them.
    pub fn of_all(inv: &Inventory, hooks: &[Hook<'_>]) -> Vec<LinkerdMembership> {
        let injectors = Injectors::new(inv, hooks);
        inv.workload_ids()
            .map(|w| decide(inv, &injectors, w))
            .collect()
    }

    /// The proxy handles connections to `port` of the pod.
    pub fn captures_inbound(&self, port: u16) -> bool {
        self.capture
            .as_ref()
            .is_some_and(|c| c.captures_inbound(port))
    }

    /// The pod's connections to `port` leave through the proxy.
    pub fn captures_outbound(&self, port: u16) -> bool {
        self.capture
            .as_ref()
            .is_some_and(|c| c.captures_outbound(port))
    }
}

/// One workload's membership (see [`LinkerdMembership::of_all`] for all of them at once).
pub fn membership(inv: &Inventory, hooks: &[Hook<'_>], w: WorkloadId) -> LinkerdMembership {
    decide(inv, &Injectors::new(inv, hooks), w)
}

/// Does the pod template already carry Linkerd's proxy: a `linkerd-proxy` container (or one
/// running the proxy image), or the label and annotation the injector writes on pods?
pub fn has_proxy(workload: &Workload) -> bool {
    workload.linkerd().is_injected() || workload.annotations.contains_key(PROXY_VERSION_ANNOTATION)
}

/// The Linkerd proxy injector webhooks of the input, and whether the control plane is there.
struct Injectors<'h> {
    hooks: Vec<Hook<'h>>,
    control_plane_seen: bool,
}

impl<'h> Injectors<'h> {
    fn new(inv: &Inventory, hooks: &[Hook<'h>]) -> Self {
        Injectors {
            hooks: hooks
                .iter()
                .filter(|h| h.product == Some(Product::Linkerd) && h.role == Role::Injector)
                .copied()
                .collect(),
            control_plane_seen: inv.linkerd.config.is_some()
                || inv
                    .workloads
                    .iter()
                    .any(|w| w.labels.contains_key(CONTROL_PLANE_COMPONENT_LABEL)),
        }
    }
}

fn is_proxy(c: &Container) -> bool {
    c.name == PROXY_CONTAINER
        || c.image
            .as_deref()
            .is_some_and(|i| i.starts_with(PROXY_IMAGE_PREFIX))
}

/// Evidence that the template already carries the proxy.
fn proxy_because(workload: &Workload) -> Because {
    let find = |list: &[Container], key: &'static str| {
        list.iter().position(is_proxy).map(|i| {
            Because::at(
                workload.object,
                &template_field(
                    workload,
                    &[Step::Key("spec"), Step::Key(key), Step::Index(i)],
                ),
                if key == "initContainers" {
                    "the pod template already carries Linkerd's proxy, as a native sidecar (initContainer)"
                } else {
                    "the pod template already carries Linkerd's proxy container"
                },
            )
        })
    };
    find(&workload.containers, "containers")
        .or_else(|| find(&workload.init_containers, "initContainers"))
        .unwrap_or_else(|| {
            Because::at(
                workload.object,
                &template_field(workload, &[Step::Key("metadata")]),
                "the pod template carries the label or annotation Linkerd's injector writes on the pods it injects (linkerd.io/control-plane-ns, linkerd.io/proxy-version)",
            )
        })
}

/// Another mesh's sidecar, or `linkerd-init` without a proxy: the injector takes the pod as
/// already injected and leaves it alone (`HasExistingSidecars`).
fn existing_sidecar(workload: &Workload) -> Option<Because> {
    let other = |c: &Container, init: bool| {
        c.name == "istio-proxy"
            || c.image
                .as_deref()
                .is_some_and(|i| i.starts_with("gcr.io/istio-release/proxyv2:"))
            || (init
                && (c.name == PROXY_INIT_CONTAINER
                    || c.name == "istio-init"
                    || c.image.as_deref().is_some_and(|i| {
                        i.starts_with("cr.l5d.io/linkerd/proxy-init:")
                            || i.starts_with("gcr.io/istio-release/proxy_init:")
                    })))
    };
    for (key, list, init) in [
        ("containers", &workload.containers, false),
        ("initContainers", &workload.init_containers, true),
    ] {
        if let Some(i) = list.iter().position(|c| other(c, init)) {
            return Some(Because::at(
                workload.object,
                &template_field(workload, &[Step::Key("spec"), Step::Key(key), Step::Index(i)]),
                format!(
                    "the pod template already has container {}, which Linkerd's injector takes as an existing sidecar: it does not inject the pod",
                    list[i].name
                ),
            ));
        }
    }
    None
}

fn namespace_labels(inv: &Inventory, namespace: &str) -> Labels {
    let mut labels = inv
        .namespace(namespace)
        .map(|n| n.labels.clone())
        .unwrap_or_default();
    labels
        .entry(NAMESPACE_NAME_LABEL.to_owned())
        .or_insert_with(|| namespace.to_owned());
    labels
}

fn not_meshed(
    reason: NotMeshed,
    because: Vec<Because>,
    control_plane: bool,
    known: bool,
) -> LinkerdMembership {
    LinkerdMembership {
        meshed: false,
        known,
        injection: Injection::None,
        mode: None,
        not_meshed: Some(reason),
        because,
        capture: None,
        native_sidecar: false,
        identity: None,
        identity_because: Vec::new(),
        control_plane,
    }
}

fn decide<'a>(inv: &'a Inventory, injectors: &Injectors<'_>, w: WorkloadId) -> LinkerdMembership {
    let workload = &inv.workloads[w];
    let control_plane = workload.labels.contains_key(CONTROL_PLANE_COMPONENT_LABEL);
    let ns_name = workload.namespace.as_str();
    let namespace = inv.namespace(ns_name);
    let ns_object = namespace.and_then(|n| n.object);
    let mut because = Vec::new();

    if has_proxy(workload) {
        because.push(proxy_because(workload));
        let mode = match annotation(inv, workload, INJECT_ANNOTATION, false) {
            Some(a) if a.value == "ingress" => {
                because.push(a.because("the pod template sets linkerd.io/inject: ingress: its proxy runs in ingress mode"));
                Inject::Ingress
            }
            _ => Inject::Enabled,
        };
        return meshed(inv, w, Injection::Present, mode, because, control_plane);
    }

    // The annotation truth table (`disabledByAnnotation`). An empty value is no value.
    let with_mode = |a: Annotated<'a>| InjectMode::parse(a.value).map(|m| (a, m));
    let pod = annotation(inv, workload, INJECT_ANNOTATION, false).and_then(with_mode);
    let ns = namespace_annotation(inv, ns_name, INJECT_ANNOTATION).and_then(with_mode);
    if let Some((a, InjectMode::Invalid(v))) = &ns {
        because.push(a.because(format!(
            "namespace {ns_name} sets linkerd.io/inject: \"{v}\", which is not enabled, disabled or ingress: the injector refuses every pod of the namespace, even pods that ask"
        )));
        return not_meshed(
            NotMeshed::InvalidNamespaceValue,
            because,
            control_plane,
            true,
        );
    }
    if let Some((a, InjectMode::Invalid(v))) = &pod {
        because.push(a.because(format!(
            "the pod template sets linkerd.io/inject: \"{v}\", which is not enabled, disabled or ingress: the injector refuses the pod"
        )));
        return not_meshed(NotMeshed::InvalidPodValue, because, control_plane, true);
    }
    let requested_by: &Annotated<'_> = match (&ns, &pod) {
        (Some((ns_a, ns_m)), pod) if ns_m.requests_injection() => match pod {
            Some((pod_a, InjectMode::Disabled)) => {
                because.push(pod_a.because(format!(
                    "the pod template sets linkerd.io/inject: disabled, which overrides namespace {ns_name}'s \"{}\": no proxy",
                    ns_a.value
                )));
                because.push(ns_a.because(format!(
                    "namespace {ns_name} sets linkerd.io/inject: {}",
                    ns_a.value
                )));
                return not_meshed(NotMeshed::PodDisabled, because, control_plane, true);
            }
            // The pod's own value wins for the mode; the namespace's is copied only if it has
            // none.
            Some((pod_a, pod_m)) if pod_m.requests_injection() => pod_a,
            _ => ns_a,
        },
        (_, Some((pod_a, pod_m))) if pod_m.requests_injection() => pod_a,
        (None, None) => {
            // The common case of inputs without Linkerd: fixed wording, no text to allocate.
            because.push(match ns_object {
                Some(id) => Because::object(
                    id,
                    "neither the namespace nor the pod template has a linkerd.io/inject annotation: the injector adds no proxy",
                ),
                None => Because::default(
                    "the namespace is not in the input and the pod template has no linkerd.io/inject annotation: taken as not injected",
                ),
            });
            return match ns_object {
                Some(_) => not_meshed(NotMeshed::NotRequested, because, control_plane, true),
                None => not_meshed(NotMeshed::NamespaceUnknown, because, control_plane, false),
            };
        }
        (ns, pod) => {
            let pod_says = match pod {
                Some((a, _)) => format!("the pod template sets linkerd.io/inject: {}", a.value),
                None => "the pod template has no linkerd.io/inject annotation".to_owned(),
            };
            if ns_object.is_none() {
                because.push(Because::default(format!(
                    "namespace {ns_name} is not in the input, so its linkerd.io/inject annotation is unknown, and {pod_says}: taken as not injected"
                )));
                return not_meshed(NotMeshed::NamespaceUnknown, because, control_plane, false);
            }
            let fact = match ns {
                Some((a, _)) => format!(
                    "namespace {ns_name} sets linkerd.io/inject: {} and {pod_says}: the injector adds no proxy",
                    a.value
                ),
                None => format!(
                    "namespace {ns_name} has no linkerd.io/inject annotation and {pod_says}: the injector adds no proxy"
                ),
            };
            // At the pod's own annotation when it has one, else at the namespace's.
            if let Some((a, _)) = pod.as_ref().or(ns.as_ref()) {
                because.push(a.because(fact));
            }
            return not_meshed(NotMeshed::NotRequested, because, control_plane, true);
        }
    };
    let mode = if requested_by.value == "ingress" {
        Inject::Ingress
    } else {
        Inject::Enabled
    };
    because.push(requested_by.because(match requested_by.level {
        Level::Namespace => format!(
            "namespace {ns_name} sets linkerd.io/inject: {}: the injector adds the proxy to its pods",
            requested_by.value
        ),
        _ => format!(
            "the pod template sets linkerd.io/inject: {}: the injector adds the proxy",
            requested_by.value
        ),
    }));

    // What the injector refuses (`Report.Injectable`).
    if workload.host_network {
        because.insert(
            0,
            Because::at(
                workload.object,
                &template_field(workload, &[Step::Key("spec"), Step::Key("hostNetwork")]),
                "the pods use hostNetwork, which Linkerd's injector never injects",
            ),
        );
        return not_meshed(NotMeshed::HostNetwork, because, control_plane, true);
    }
    if let Some(b) = existing_sidecar(workload) {
        because.insert(0, b);
        return not_meshed(NotMeshed::ExistingSidecar, because, control_plane, true);
    }

    // The API server calls the injector only for what its selectors match.
    let ns_labels = namespace_labels(inv, ns_name);
    if injectors.hooks.is_empty() {
        let assumed = if injectors.control_plane_seen {
            "the input holds Linkerd's control plane but not its proxy injector webhook (MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config); its chart's selectors are assumed"
        } else {
            "the input holds no Linkerd proxy injector webhook; the chart's selectors are assumed"
        };
        let excluded_by =
            if ns_labels.get(ADMISSION_WEBHOOKS_LABEL).map(String::as_str) == Some("disabled") {
                Some(format!(
                    "namespace {ns_name} is labelled {ADMISSION_WEBHOOKS_LABEL}: disabled"
                ))
            } else if CHART_EXCLUDED_NAMESPACES.contains(&ns_name) {
                Some(format!(
                    "namespace {ns_name} is one the chart excludes by name"
                ))
            } else {
                [CONTROL_PLANE_COMPONENT_LABEL, CNI_RESOURCE_LABEL]
                    .into_iter()
                    .find(|k| workload.labels.contains_key(*k))
                    .map(|k| format!("the pod template is labelled {k}"))
            };
        match excluded_by {
            Some(why) => {
                because.insert(
                    0,
                    Because::default(format!("{assumed}, and they leave this pod out: {why}")),
                );
                return not_meshed(NotMeshed::NotSelected, because, control_plane, true);
            }
            None => because.push(Because::default(format!(
                "{assumed}, and they select this namespace and pod"
            ))),
        }
    } else {
        match injectors
            .hooks
            .iter()
            .find(|h| h.selects(&ns_labels, &workload.labels))
        {
            Some(h) => because.push(Because::at(
                h.config.object,
                &h.path(&[]),
                format!("Linkerd's proxy injector {} selects the pod", h.describe()),
            )),
            None => {
                let h = &injectors.hooks[0];
                let (field, what) = if h.selects_namespace(&ns_labels) {
                    ("objectSelector", "the pod's labels")
                } else {
                    ("namespaceSelector", "the namespace's labels")
                };
                because.insert(
                    0,
                    Because::at(
                        h.config.object,
                        &h.path(&[field]),
                        format!(
                            "Linkerd's proxy injector {} does not match {what}, so the API server never asks it to inject the pod",
                            h.describe()
                        ),
                    ),
                );
                return not_meshed(NotMeshed::NotSelected, because, control_plane, true);
            }
        }
    }
    meshed(inv, w, Injection::Webhook, mode, because, control_plane)
}

fn meshed(
    inv: &Inventory,
    w: WorkloadId,
    injection: Injection,
    mode: Inject,
    mut because: Vec<Because>,
    control_plane: bool,
) -> LinkerdMembership {
    let workload = &inv.workloads[w];
    let capture = capture_of(inv, workload, injection);
    let native_sidecar = match injection {
        Injection::Present => workload.linkerd().proxy == Some(ProxyPlacement::NativeSidecar),
        _ => {
            let (on, b) = native_sidecar_setting(inv, workload);
            if on {
                because.extend(b);
            }
            on
        }
    };
    let (identity, identity_because) = identity_of(inv, workload, injection);
    LinkerdMembership {
        meshed: true,
        known: true,
        injection,
        mode: Some(mode),
        not_meshed: None,
        because,
        capture: Some(capture),
        native_sidecar,
        identity: Some(identity),
        identity_because,
        control_plane,
    }
}

/// Whether the injector will add the proxy as a native sidecar: the annotations (GA name, then
/// beta, then alpha; the namespace's GA and alpha ones are copied, not the beta one), else
/// `proxy.nativeSidecar`. The first annotation present decides even if its value is not a
/// boolean (the injector then keeps the chart value).
fn native_sidecar_setting(inv: &Inventory, workload: &Workload) -> (bool, Option<Because>) {
    let from_config = || match inv.linkerd.config.as_ref() {
        Some(c) if c.native_sidecar.written => (
            c.native_sidecar.value,
            Some(config_because(
                c,
                format!(
                    "linkerd-config sets proxy.nativeSidecar: {}",
                    c.native_sidecar.value
                ),
            )),
        ),
        _ => (false, None),
    };
    for (key, copied) in [
        (NATIVE_SIDECAR_ANNOTATION, true),
        (NATIVE_SIDECAR_BETA_ANNOTATION, false),
        (NATIVE_SIDECAR_ALPHA_ANNOTATION, true),
    ] {
        let Some(a) = annotation(inv, workload, key, copied) else {
            continue;
        };
        return match meshaudit_model::linkerd::parse_go_bool(a.value) {
            Some(on) => (
                on,
                Some(a.because(format!(
                    "{} sets {key}: \"{}\"",
                    a.place(&workload.namespace),
                    a.value
                ))),
            ),
            None => from_config(),
        };
    }
    from_config()
}

fn identity_of(
    inv: &Inventory,
    workload: &Workload,
    injection: Injection,
) -> (String, Vec<Because>) {
    let mut because = Vec::new();
    let control_plane_ns = match (injection, &workload.linkerd().control_plane_ns) {
        (Injection::Present, Some(ns)) => ns.clone(),
        _ => inv.linkerd.control_plane_namespace().to_owned(),
    };
    let trust_domain = inv.linkerd.trust_domain();
    match inv.linkerd.config.as_ref() {
        Some(c) => because.push(config_because(
            c,
            format!(
                "linkerd-config in namespace {} gives the trust domain {trust_domain}{}",
                c.control_plane_namespace,
                if c.identity_trust_domain.written {
                    " (identityTrustDomain)"
                } else {
                    " (clusterDomain, as identityTrustDomain is not set)"
                }
            ),
        )),
        None => because.push(Because::default(format!(
            "the input holds no linkerd-config: control-plane namespace {DEFAULT_CONTROL_PLANE_NAMESPACE} and trust domain {trust_domain} assumed"
        ))),
    }
    if workload.service_account_explicit {
        because.push(Because::at(
            workload.object,
            &template_field(
                workload,
                &[Step::Key("spec"), Step::Key("serviceAccountName")],
            ),
            format!(
                "the pods run as service account {}",
                workload.service_account
            ),
        ));
    } else {
        because.push(Because::object(
            workload.object,
            "the pod template names no service account: the pods run as default",
        ));
    }
    (
        meshaudit_model::linkerd::service_account_identity(
            &workload.service_account,
            &workload.namespace,
            &control_plane_ns,
            trust_domain,
        ),
        because,
    )
}

/// The value after `flag` in the args of `linkerd-init` (`--flag value` or `--flag=value`),
/// with its position.
fn init_arg<'w>(workload: &'w Workload, init: usize, flag: &str) -> Option<(usize, &'w str)> {
    let args = &workload.init_containers[init].args;
    for (i, arg) in args.iter().enumerate() {
        if arg == flag {
            return args.get(i + 1).map(|v| (i + 1, v.as_str()));
        }
        if let Some(v) = arg.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some((i, v));
        }
    }
    None
}

fn capture_of(inv: &Inventory, workload: &Workload, injection: Injection) -> LinkerdCapture {
    let config = inv.linkerd.config.as_ref();
    let mut because = Vec::new();
    let init = workload
        .init_containers
        .iter()
        .position(|c| c.name == PROXY_INIT_CONTAINER);
    let redirect = match (injection, workload.linkerd().proxy_init) {
        (Injection::Present, Some(ProxyInit::Iptables)) => Redirect::ProxyInit,
        (Injection::Present, Some(ProxyInit::CniValidator)) => {
            because.push(Because::object(
                workload.object,
                "the pod template has linkerd-network-validator instead of linkerd-init: the CNI plugin sets its iptables up",
            ));
            Redirect::Cni
        }
        _ => match config {
            Some(c) if c.cni_enabled.value => {
                because.push(config_because(
                    c,
                    "linkerd-config sets cniEnabled: true: the CNI plugin sets the pods' iptables up",
                ));
                Redirect::Cni
            }
            _ => Redirect::ProxyInit,
        },
    };
    let ns = &workload.namespace;
    // linkerd-init of a template that has its proxy: its arguments are what runs.
    let from_init = |flag: &str, what: &str| -> Option<(&str, Because)> {
        let i = init.filter(|_| injection == Injection::Present)?;
        let (j, value) = init_arg(workload, i, flag)?;
        Some((
            value,
            Because::at(
                workload.object,
                &template_field(
                    workload,
                    &[
                        Step::Key("spec"),
                        Step::Key("initContainers"),
                        Step::Index(i),
                        Step::Key("args"),
                        Step::Index(j),
                    ],
                ),
                format!("linkerd-init is given {flag} {value}: {what}"),
            ),
        ))
    };
    // Annotations: the namespace's still apply where the injector has to copy them, or where
    // the CNI plugin reads them when the pod's network is set up.
    let namespace_fallback = injection == Injection::Webhook || redirect == Redirect::Cni;
    let uses_init_args = injection == Injection::Present && init.is_some();

    let skip_list = |flag: &str,
                     key: &'static str,
                     direction: &str,
                     config_value: Option<(
        &LinkerdConfig,
        &meshaudit_model::linkerd::ConfigValue<PortSet>,
    )>,
                     config_key: &str|
     -> SkipList {
        let what = if direction == "inbound" {
            "iptables sends these inbound ports straight to the application (no proxy: no mesh TLS, no identity, no policy)"
        } else {
            "the application's connections to these ports leave without the proxy (no mesh TLS, no identity)"
        };
        if uses_init_args {
            return match from_init(flag, what) {
                Some((value, b)) => SkipList {
                    ports: PortSet::parse(value),
                    level: Level::Workload,
                    because: Some(b),
                },
                None => SkipList::none(),
            };
        }
        if let Some(a) = annotation(inv, workload, key, namespace_fallback) {
            let how = match (redirect, direction) {
                (Redirect::Cni, "inbound") => "added to the CNI plugin's list",
                (Redirect::Cni, _) => "replacing the CNI plugin's list",
                _ => "replacing linkerd-config's list",
            };
            return SkipList {
                ports: PortSet::parse(a.value),
                level: a.level,
                because: Some(a.because(format!(
                    "{} sets {key}: \"{}\" ({how}): {what}",
                    a.place(ns),
                    a.value
                ))),
            };
        }
        if redirect == Redirect::Cni {
            // The plugin's own lists are not in the input; its chart leaves them empty.
            return SkipList::none();
        }
        match config_value {
            Some((c, v)) if v.written => SkipList {
                ports: v.value.clone(),
                level: Level::Cluster,
                because: (!v.value.is_empty()).then(|| {
                    config_because(
                        c,
                        format!(
                            "linkerd-config sets {config_key}: \"{}\": {what}",
                            v.value.text
                        ),
                    )
                }),
            },
            _ => {
                let ports = PortSet::parse(DEFAULT_IGNORED_PORTS);
                SkipList {
                    because: Some(Because::default(format!(
                        "Linkerd's chart skips {direction} ports {DEFAULT_IGNORED_PORTS} (Galera) by default"
                    ))),
                    ports,
                    level: Level::Default,
                }
            }
        }
    };
    let skip_inbound = skip_list(
        "--inbound-ports-to-ignore",
        SKIP_INBOUND_PORTS_ANNOTATION,
        "inbound",
        config.map(|c| (c, &c.ignore_inbound_ports)),
        "proxyInit.ignoreInboundPorts",
    );
    let skip_outbound = skip_list(
        "--outbound-ports-to-ignore",
        SKIP_OUTBOUND_PORTS_ANNOTATION,
        "outbound",
        config.map(|c| (c, &c.ignore_outbound_ports)),
        "proxyInit.ignoreOutboundPorts",
    );
    for list in [&skip_inbound, &skip_outbound] {
        if let (Some(b), false) = (&list.because, list.level == Level::Default) {
            because.push(b.clone());
        }
    }

    let subnets_what = "inbound connections from these sources bypass the proxy and all policy";
    let skip_subnets = if uses_init_args {
        from_init("--subnets-to-ignore", subnets_what).map(|(v, b)| (CidrList::parse(v), b))
    } else {
        annotation(inv, workload, SKIP_SUBNETS_ANNOTATION, namespace_fallback).map(|a| {
            let b = a.because(format!(
                "{} sets {SKIP_SUBNETS_ANNOTATION}: \"{}\": {subnets_what}",
                a.place(ns),
                a.value
            ));
            (CidrList::parse(a.value), b)
        })
    }
    .filter(|(list, _)| !list.cidrs.is_empty());
    if let Some((_, b)) = &skip_subnets {
        because.push(b.clone());
    }

    let proxy_uid = if uses_init_args {
        from_init("--proxy-uid", "the proxy's user").and_then(|(v, _)| v.trim().parse().ok())
    } else {
        annotation(inv, workload, PROXY_UID_ANNOTATION, namespace_fallback)
            .and_then(|a| a.value.trim().parse().ok())
    }
    .unwrap_or(DEFAULT_PROXY_UID);
    let mut proxy_uid_containers = Vec::new();
    for (index, container) in workload.containers.iter().enumerate() {
        if is_proxy(container) {
            continue;
        }
        if workload.effective_uid(container) != Some(proxy_uid) {
            continue;
        }
        proxy_uid_containers.push(container.name.clone());
        let tail: Vec<Step<'_>> = if container.run_as_user.is_some() {
            vec![
                Step::Key("spec"),
                Step::Key("containers"),
                Step::Index(index),
                Step::Key("securityContext"),
                Step::Key("runAsUser"),
            ]
        } else {
            vec![
                Step::Key("spec"),
                Step::Key("securityContext"),
                Step::Key("runAsUser"),
            ]
        };
        because.push(Because::at(
            workload.object,
            &template_field(workload, &tail),
            format!(
                "container {} runs as UID {proxy_uid}, the proxy's own user: iptables does not redirect its outbound traffic",
                container.name
            ),
        ));
    }

    LinkerdCapture {
        redirect,
        skip_inbound,
        skip_outbound,
        skip_subnets,
        proxy_uid,
        proxy_uid_containers,
        because,
    }
}

/// A port a workload serves: a TCP port its application containers declare, or one a Service
/// selecting it targets (a Service's `targetPort` need not be declared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPort {
    pub port: u16,
    /// The container port's name, when one declares it.
    pub name: Option<String>,
    /// `(container index, port index)` of the declaration, when there is one.
    pub declared: Option<(usize, usize)>,
    /// Services whose ports target it.
    pub services: Vec<ServiceId>,
}

/// Every workload's served ports (see [`AppPort`]), sorted by port, the proxy's own container
/// left out; computed for all workloads at once so each Service is matched once.
pub fn app_ports_all(inv: &Inventory) -> Vec<Vec<AppPort>> {
    app_ports(inv, |_| true)
}

/// [`app_ports_all`] for the workloads `wanted` keeps; the others get no port. Services of
/// namespaces without a wanted workload are not even matched, which keeps inputs without
/// Linkerd cheap.
pub fn app_ports(inv: &Inventory, wanted: impl Fn(WorkloadId) -> bool) -> Vec<Vec<AppPort>> {
    let keep: Vec<bool> = inv.workload_ids().map(wanted).collect();
    let namespaces: std::collections::HashSet<&str> = inv
        .workloads
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(w, _)| w.namespace.as_str())
        .collect();
    let mut out: Vec<Vec<AppPort>> = inv
        .workloads
        .iter()
        .zip(&keep)
        .map(|(w, keep)| {
            let mut ports: Vec<AppPort> = Vec::new();
            if !keep {
                return ports;
            }
            for (ci, c) in w.containers.iter().enumerate() {
                if is_proxy(c) {
                    continue;
                }
                for (pi, p) in c.ports.iter().enumerate() {
                    if p.protocol.as_deref().is_some_and(|proto| proto != "TCP")
                        || ports.iter().any(|a| a.port == p.container_port)
                    {
                        continue;
                    }
                    ports.push(AppPort {
                        port: p.container_port,
                        name: p.name.clone(),
                        declared: Some((ci, pi)),
                        services: Vec::new(),
                    });
                }
            }
            ports
        })
        .collect();
    for (s, service) in ServiceId::enumerate(&inv.services) {
        if !namespaces.contains(service.namespace.as_str()) {
            continue;
        }
        let Some(selector) = service.spec.selector.as_ref().filter(|m| !m.is_empty()) else {
            continue;
        };
        for w in inv.workloads_matching_in(&service.namespace, selector) {
            if !keep[w.index()] {
                continue;
            }
            let workload = &inv.workloads[w];
            for port in &service.spec.ports {
                if port.protocol.as_deref().is_some_and(|p| p != "TCP") {
                    continue;
                }
                let Some(target) = target_port(port, workload) else {
                    continue;
                };
                let ports = &mut out[w.index()];
                match ports.iter_mut().find(|a| a.port == target) {
                    Some(a) => {
                        if !a.services.contains(&s) {
                            a.services.push(s);
                        }
                    }
                    None => ports.push(AppPort {
                        port: target,
                        name: None,
                        declared: None,
                        services: vec![s],
                    }),
                }
            }
        }
    }
    for ports in &mut out {
        ports.sort_by_key(|a| a.port);
    }
    out
}

/// The container port a Service port reaches on a workload: its `targetPort` number, the
/// number of the container port of that name, or the Service port itself.
pub fn target_port(port: &meshaudit_model::k8s::ServicePort, workload: &Workload) -> Option<u16> {
    use meshaudit_model::k8s::IntOrString;
    match &port.target_port {
        None => Some(port.port),
        Some(t) => t.as_port().or_else(|| match t {
            IntOrString::String(name) => workload
                .all_containers()
                .flat_map(|c| &c.ports)
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port),
            IntOrString::Int(_) => None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(skip_in: &str, skip_out: &str) -> LinkerdCapture {
        LinkerdCapture {
            redirect: Redirect::ProxyInit,
            skip_inbound: SkipList {
                ports: PortSet::parse(skip_in),
                level: Level::Workload,
                because: None,
            },
            skip_outbound: SkipList {
                ports: PortSet::parse(skip_out),
                level: Level::Workload,
                because: None,
            },
            skip_subnets: None,
            proxy_uid: DEFAULT_PROXY_UID,
            proxy_uid_containers: Vec::new(),
            because: Vec::new(),
        }
    }

    #[test]
    fn the_proxys_own_ports_are_never_skipped_nor_redirected() {
        let c = capture("4190,4191,9000-9100", "");
        assert_eq!(c.inbound(4191), InboundPath::ProxyAdmin);
        assert_eq!(c.inbound(4190), InboundPath::ProxyControl);
        assert_eq!(c.inbound(4143), InboundPath::Proxied);
        assert_eq!(c.inbound(9050), InboundPath::Skipped);
        assert_eq!(c.inbound(8080), InboundPath::Proxied);
        assert!(c.captures_inbound(4191) && !c.captures_inbound(9000));
        assert!(c.captures_inbound(9101));
    }

    #[test]
    fn outbound_capture_honours_skips_and_the_proxy_user() {
        let mut c = capture("", "3306,5432-5433");
        assert!(!c.captures_outbound(5433));
        assert!(c.captures_outbound(443));
        c.proxy_uid_containers.push("app".into());
        assert!(!c.captures_outbound(443));
    }

    #[test]
    fn init_args_are_read_in_both_spellings() {
        let workload: Workload = Workload {
            object: meshaudit_model::ObjectId::from_index(0),
            kind: "Pod".into(),
            namespace: "a".into(),
            name: "p".into(),
            labels: Labels::new(),
            annotations: Default::default(),
            service_account: "default".into(),
            service_account_explicit: false,
            host_network: false,
            containers: Vec::new(),
            init_containers: vec![serde_json::from_value(serde_json::json!({
                "name": "linkerd-init",
                "args": ["--inbound-ports-to-ignore", "4190,4191", "--outbound-ports-to-ignore=443"]
            }))
            .unwrap()],
            run_as_user: None,
            template_path: &[],
            linkerd: None,
        };
        assert_eq!(
            init_arg(&workload, 0, "--inbound-ports-to-ignore"),
            Some((1, "4190,4191"))
        );
        assert_eq!(
            init_arg(&workload, 0, "--outbound-ports-to-ignore"),
            Some((2, "443"))
        );
        assert_eq!(init_arg(&workload, 0, "--subnets-to-ignore"), None);
    }
}
