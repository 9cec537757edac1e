//! Is a workload's Istio data plane really there, and what traffic does it capture?
//!
//! Injection follows Istio's documented logic: a pod is not injected when either the namespace
//! label `istio-injection` or the pod label `sidecar.istio.io/inject` says disabled/false; it is
//! injected when either says enabled/true or the namespace carries a revision label
//! `istio.io/rev`; otherwise not. When the input holds Istio's injector webhook configurations,
//! a pod must also be selected by one of their webhooks (namespace and object selectors), which
//! is how a revision label without a matching injector ends up uninjected. Ambient mode comes
//! from `istio.io/dataplane-mode: ambient`; gateways are proxies themselves.
//!
//! Capture: the `traffic.sidecar.istio.io/*` annotations narrow what iptables redirects to the
//! proxy, and an application container running as UID 1337 (the proxy's own user) is exempt from
//! outbound redirection, so its traffic leaves without mTLS or policy.

use meshaudit_model::k8s::{Namespace, Workload};
use meshaudit_model::selector::{LabelSelector, Labels};
use meshaudit_model::{Inventory, ObjectId, Step, WebhookId};

use crate::evidence::Because;
use crate::webhooks::{Product, Role};

pub const INJECTION_LABEL: &str = "istio-injection";
pub const REVISION_LABEL: &str = "istio.io/rev";
pub const INJECT_POD_LABEL: &str = "sidecar.istio.io/inject";
pub const DATAPLANE_MODE_LABEL: &str = "istio.io/dataplane-mode";
pub const EXCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeInboundPorts";
pub const INCLUDE_INBOUND_PORTS: &str = "traffic.sidecar.istio.io/includeInboundPorts";
pub const EXCLUDE_OUTBOUND_PORTS: &str = "traffic.sidecar.istio.io/excludeOutboundPorts";
pub const EXCLUDE_OUTBOUND_IP_RANGES: &str = "traffic.sidecar.istio.io/excludeOutboundIPRanges";
pub const INCLUDE_OUTBOUND_IP_RANGES: &str = "traffic.sidecar.istio.io/includeOutboundIPRanges";
/// The proxy's user and group: iptables lets its traffic (and anything else running as it) out
/// without redirection.
pub const PROXY_UID: i64 = 1337;

/// How a namespace opts into the mesh, read from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceMesh {
    /// `istio-injection: enabled`.
    Injected,
    /// `istio.io/rev: <revision>`.
    Revision(String),
    /// `istio.io/dataplane-mode: ambient`.
    Ambient,
    /// `istio-injection: disabled`.
    Disabled,
    /// No mesh label.
    Unlabelled,
}

impl NamespaceMesh {
    pub fn of(namespace: &Namespace) -> Self {
        Self::of_labels(&namespace.labels)
    }

    pub fn of_labels(labels: &Labels) -> Self {
        match labels.get(INJECTION_LABEL).map(String::as_str) {
            Some("enabled") => return NamespaceMesh::Injected,
            Some("disabled") => return NamespaceMesh::Disabled,
            _ => {}
        }
        if let Some(rev) = labels.get(REVISION_LABEL) {
            return NamespaceMesh::Revision(rev.clone());
        }
        if labels.get(DATAPLANE_MODE_LABEL).map(String::as_str) == Some("ambient") {
            return NamespaceMesh::Ambient;
        }
        NamespaceMesh::Unlabelled
    }

    pub fn is_meshed(&self) -> bool {
        matches!(
            self,
            NamespaceMesh::Injected | NamespaceMesh::Revision(_) | NamespaceMesh::Ambient
        )
    }
}

/// What runs beside (or in front of) a workload's application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPlane {
    /// An injected Envoy sidecar.
    Sidecar,
    /// Ambient mode: ztunnel handles L4 (mTLS, identity); L7 policy needs a waypoint.
    Ambient,
    /// The workload is an Istio gateway: it is a proxy itself.
    Gateway,
    /// No proxy: traffic goes straight to and from the application.
    None,
}

impl DataPlane {
    pub fn is_meshed(&self) -> bool {
        !matches!(self, DataPlane::None)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            DataPlane::Sidecar => "sidecar",
            DataPlane::Ambient => "ambient",
            DataPlane::Gateway => "gateway",
            DataPlane::None => "none",
        }
    }
}

/// Which inbound ports iptables redirects to the sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundCapture {
    All,
    AllExcept(Vec<u16>),
    Only(Vec<u16>),
    Nothing,
    /// Every port but a set with ranges (Linkerd's `skip-inbound-ports`).
    Skipping(meshaudit_model::linkerd::PortSet),
}

impl InboundCapture {
    pub fn captures(&self, port: u16) -> bool {
        match self {
            InboundCapture::All => true,
            InboundCapture::AllExcept(ports) => !ports.contains(&port),
            InboundCapture::Only(ports) => ports.contains(&port),
            InboundCapture::Nothing => false,
            InboundCapture::Skipping(set) => !set.contains(port),
        }
    }
}

/// Traffic that leaves or reaches the application without passing through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub inbound: InboundCapture,
    pub excluded_outbound_ports: Vec<u16>,
    /// Outbound ports that bypass the proxy, as a set with ranges (Linkerd's
    /// `skip-outbound-ports`).
    pub excluded_outbound_set: Option<meshaudit_model::linkerd::PortSet>,
    /// Outbound traffic to every address bypasses the proxy (`excludeOutboundIPRanges` covering
    /// everything, or `includeOutboundIPRanges: ""`).
    pub outbound_bypass_all: bool,
    pub excluded_outbound_ranges: Vec<String>,
    /// Application containers that run as the proxy's UID, so none of their outbound traffic is
    /// redirected.
    pub proxy_uid_containers: Vec<String>,
    pub because: Vec<Because>,
}

impl Capture {
    pub fn everything() -> Self {
        Capture {
            inbound: InboundCapture::All,
            excluded_outbound_ports: Vec::new(),
            excluded_outbound_set: None,
            outbound_bypass_all: false,
            excluded_outbound_ranges: Vec::new(),
            proxy_uid_containers: Vec::new(),
            because: Vec::new(),
        }
    }

    /// Whether connections the application opens to `port` go through the proxy.
    pub fn captures_outbound(&self, port: u16) -> bool {
        !self.outbound_bypass_all
            && self.proxy_uid_containers.is_empty()
            && !self.excluded_outbound_ports.contains(&port)
            && !self
                .excluded_outbound_set
                .as_ref()
                .is_some_and(|set| set.contains(port))
    }

    pub fn bypasses_anything(&self) -> bool {
        self.inbound != InboundCapture::All
            || !self.excluded_outbound_ports.is_empty()
            || self.excluded_outbound_set.is_some()
            || self.outbound_bypass_all
            || !self.excluded_outbound_ranges.is_empty()
            || !self.proxy_uid_containers.is_empty()
    }
}

/// A workload's place in the mesh, and why.
#[derive(Debug, Clone)]
pub struct Membership {
    pub data_plane: DataPlane,
    /// False when the decision rests on labels the input does not show (the workload's namespace
    /// is only implied, so its injection labels are unknown).
    pub known: bool,
    pub because: Vec<Because>,
    pub capture: Capture,
}

/// Istio's injector webhooks: those [`crate::webhooks::classify`] recognises as Istio's
/// sidecar injector (mutating, named `...sidecar-injector.istio.io`).
#[derive(Debug, Clone)]
pub struct InjectorWebhook {
    pub configuration: ObjectId,
    pub index: WebhookId,
    pub name: String,
    pub namespace_selector: LabelSelector,
    pub object_selector: LabelSelector,
}

pub fn injector_webhooks(inventory: &Inventory) -> Vec<InjectorWebhook> {
    injectors_of(&crate::webhooks::hooks(inventory))
}

/// [`injector_webhooks`] among webhooks already classified.
pub fn injectors_of(hooks: &[crate::webhooks::Hook<'_>]) -> Vec<InjectorWebhook> {
    hooks
        .iter()
        .filter(|h| h.product == Some(Product::Istio) && h.role == Role::Injector)
        .map(|h| InjectorWebhook {
            configuration: h.config.object,
            index: h.index,
            name: h.hook.name.clone(),
            namespace_selector: h.namespace_selector(),
            object_selector: h.object_selector(),
        })
        .collect()
}

fn pod_inject_setting(workload: &Workload) -> Option<(&str, &'static str)> {
    if let Some(v) = workload.labels.get(INJECT_POD_LABEL) {
        return Some((v, "labels"));
    }
    workload
        .annotations
        .get(INJECT_POD_LABEL)
        .map(|v| (v.as_str(), "annotations"))
}

fn template_field<'a>(workload: &Workload, tail: &[Step<'a>]) -> Vec<Step<'a>> {
    let mut path: Vec<Step<'a>> = workload
        .template_path
        .iter()
        .map(|k| Step::Key(k))
        .collect();
    path.extend_from_slice(tail);
    path
}

/// An Istio gateway: the gateway labels, a proxy started as `router`, or an `image: auto`
/// placeholder injected with the gateway template.
fn is_gateway(workload: &Workload) -> bool {
    let label = |k: &str| workload.labels.get(k).map(String::as_str);
    matches!(
        label("istio"),
        Some("ingressgateway" | "egressgateway" | "eastwestgateway")
    ) || label("gateway.istio.io/managed").is_some()
        || label("gateway.networking.k8s.io/gateway-name").is_some()
        || workload.containers.iter().any(|c| {
            c.name == "istio-proxy"
                && (c.args.iter().any(|a| a == "router")
                    || (c.image.as_deref() == Some("auto")
                        && workload
                            .annotations
                            .get("inject.istio.io/templates")
                            .is_some_and(|t| t.contains("gateway"))))
        })
}

/// A pod template that already carries the injected sidecar (`istioctl kube-inject` output, or
/// pods as a cluster dump shows them).
fn already_injected(workload: &Workload) -> Option<usize> {
    workload.containers.iter().position(|c| {
        c.name == "istio-proxy"
            && (c.args.iter().any(|a| a == "sidecar")
                || workload.annotations.contains_key("sidecar.istio.io/status"))
    })
}

/// Where a workload stands in the mesh, given the input's injector webhooks (see
/// [`injector_webhooks`]; pass them once for all workloads).
pub fn membership(
    inventory: &Inventory,
    injectors: &[InjectorWebhook],
    workload: &Workload,
) -> Membership {
    let namespace = inventory.namespace(&workload.namespace);
    let ns_labels = namespace.map(|n| n.labels.clone()).unwrap_or_default();
    let ns_known = namespace.is_some_and(|n| n.object.is_some());
    let ns_mode = NamespaceMesh::of_labels(&ns_labels);
    let ns_because = |fact: String| match namespace.and_then(|n| n.object) {
        Some(id) => Because::at(id, &["metadata".into(), "labels".into()], fact),
        None => Because::default(fact),
    };
    let mut because = Vec::new();
    let capture = capture_of(workload);

    if is_gateway(workload) {
        because.push(Because::object(
            workload.object,
            "runs an Istio gateway proxy (istio-proxy container or gateway labels)",
        ));
        return Membership {
            data_plane: DataPlane::Gateway,
            known: true,
            because,
            capture: Capture::everything(),
        };
    }
    if let Some(index) = already_injected(workload) {
        because.push(Because::at(
            workload.object,
            &template_field(
                workload,
                &["spec".into(), "containers".into(), Step::Index(index)],
            ),
            "the pod template already contains the injected istio-proxy sidecar",
        ));
        return Membership {
            data_plane: DataPlane::Sidecar,
            known: true,
            because,
            capture,
        };
    }
    if workload.host_network {
        because.push(Because::at(
            workload.object,
            &template_field(workload, &["spec".into(), "hostNetwork".into()]),
            "pods use hostNetwork, which Istio never injects",
        ));
        return Membership {
            data_plane: DataPlane::None,
            known: true,
            because,
            capture,
        };
    }
    let pod_setting = pod_inject_setting(workload);
    let pod_because = |value: &str, place: &'static str| {
        Because::at(
            workload.object,
            &template_field(
                workload,
                &[
                    "metadata".into(),
                    Step::Key(place),
                    Step::Key(INJECT_POD_LABEL),
                ],
            ),
            format!("pod template sets {INJECT_POD_LABEL}: \"{value}\""),
        )
    };

    let pod_dataplane = workload
        .labels
        .get(DATAPLANE_MODE_LABEL)
        .map(String::as_str);
    if pod_dataplane == Some("none") && ns_mode == NamespaceMesh::Ambient {
        because.push(Because::at(
            workload.object,
            &template_field(
                workload,
                &[
                    "metadata".into(),
                    "labels".into(),
                    Step::Key(DATAPLANE_MODE_LABEL),
                ],
            ),
            format!("pod template sets {DATAPLANE_MODE_LABEL}: none, opting out of ambient"),
        ));
        return Membership {
            data_plane: DataPlane::None,
            known: true,
            because,
            capture,
        };
    }
    // Ambient ignores the sidecar opt-out; only an explicit sidecar request takes a pod out.
    if (ns_mode == NamespaceMesh::Ambient || pod_dataplane == Some("ambient"))
        && pod_setting.map(|(v, _)| v) != Some("true")
    {
        because.push(if pod_dataplane == Some("ambient") {
            Because::at(
                workload.object,
                &template_field(
                    workload,
                    &[
                        "metadata".into(),
                        "labels".into(),
                        Step::Key(DATAPLANE_MODE_LABEL),
                    ],
                ),
                format!("pod template sets {DATAPLANE_MODE_LABEL}: ambient"),
            )
        } else {
            ns_because(format!(
                "namespace {} is labelled {DATAPLANE_MODE_LABEL}: ambient",
                workload.namespace
            ))
        });
        return Membership {
            data_plane: DataPlane::Ambient,
            known: true,
            because,
            capture: Capture::everything(),
        };
    }

    // The injector webhooks' object selectors read labels: the legacy annotation can still
    // veto injection (istiod checks it) but cannot ask for it.
    let pod_setting = match pod_setting {
        Some(("true", "annotations")) => None,
        other => other,
    };
    let pod_revision = workload.labels.get(REVISION_LABEL);
    // Istio's documented label logic.
    let by_labels = match (pod_setting, &ns_mode) {
        (Some((v @ "false", place)), _) => {
            because.push(pod_because(v, place));
            false
        }
        (_, NamespaceMesh::Disabled) => {
            because.push(ns_because(format!(
                "namespace {} is labelled {INJECTION_LABEL}: disabled",
                workload.namespace
            )));
            false
        }
        (Some((v @ "true", place)), _) => {
            because.push(pod_because(v, place));
            true
        }
        (_, NamespaceMesh::Injected) => {
            because.push(ns_because(format!(
                "namespace {} is labelled {INJECTION_LABEL}: enabled",
                workload.namespace
            )));
            true
        }
        (_, NamespaceMesh::Revision(rev)) => {
            because.push(ns_because(format!(
                "namespace {} is labelled {REVISION_LABEL}: {rev}",
                workload.namespace
            )));
            true
        }
        (None, NamespaceMesh::Unlabelled) if pod_revision.is_some() => {
            because.push(Because::at(
                workload.object,
                &template_field(
                    workload,
                    &[
                        "metadata".into(),
                        "labels".into(),
                        Step::Key(REVISION_LABEL),
                    ],
                ),
                format!(
                    "pod template is labelled {REVISION_LABEL}: {}",
                    pod_revision.map_or("", String::as_str)
                ),
            ));
            true
        }
        _ if !ns_known => {
            because.push(Because::default(format!(
                "namespace {} is not in the input, so its injection labels are unknown; taken as not injected",
                workload.namespace
            )));
            return Membership {
                data_plane: DataPlane::None,
                known: false,
                because,
                capture,
            };
        }
        _ => {
            because.push(ns_because(format!(
                "namespace {} has no injection label and the pod template none either",
                workload.namespace
            )));
            false
        }
    };
    if !by_labels {
        return Membership {
            data_plane: DataPlane::None,
            known: true,
            because,
            capture,
        };
    }

    // The labels ask for a sidecar; with the injector webhooks in the input, one must select
    // the pod too.
    if !injectors.is_empty() {
        // Object selectors read the pod's labels; the legacy annotation is invisible to them.
        let pod_labels = &workload.labels;
        let selecting = injectors.iter().find(|h| {
            h.namespace_selector.matches(&ns_labels) && h.object_selector.matches(pod_labels)
        });
        match selecting {
            Some(hook) => because.push(Because::at(
                hook.configuration,
                &["webhooks".into(), Step::Index(hook.index.index())],
                format!("injector webhook {} selects the pod", hook.name),
            )),
            None => {
                let first = &injectors[0];
                because.push(Because::object(
                    first.configuration,
                    format!(
                        "none of the {} sidecar injector webhook(s) in the input selects this namespace and pod, so no sidecar is injected",
                        injectors.len()
                    ),
                ));
                return Membership {
                    data_plane: DataPlane::None,
                    known: true,
                    because,
                    capture,
                };
            }
        }
    }
    Membership {
        data_plane: DataPlane::Sidecar,
        known: true,
        because,
        capture,
    }
}

/// Parses a comma-separated port list; `*` is returned as `None` (every port).
fn port_list(text: &str) -> Option<Vec<u16>> {
    if text.trim() == "*" {
        return None;
    }
    Some(
        text.split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect(),
    )
}

fn covers_everything(ranges: &str) -> bool {
    ranges
        .split(',')
        .map(str::trim)
        .any(|r| r == "*" || r == "0.0.0.0/0" || r == "::/0")
}

fn capture_of(workload: &Workload) -> Capture {
    let mut capture = Capture::everything();
    let annotation = |key: &'static str| {
        workload.annotations.get(key).map(|v| {
            (
                v.as_str(),
                template_field(
                    workload,
                    &["metadata".into(), "annotations".into(), Step::Key(key)],
                ),
            )
        })
    };
    if let Some((value, path)) = annotation(INCLUDE_INBOUND_PORTS) {
        capture.inbound = match port_list(value) {
            None => InboundCapture::All,
            Some(ports) if ports.is_empty() => InboundCapture::Nothing,
            Some(ports) => InboundCapture::Only(ports),
        };
        if capture.inbound != InboundCapture::All {
            capture.because.push(Because::at(
                workload.object,
                &path,
                format!("{INCLUDE_INBOUND_PORTS}: \"{value}\" limits which inbound ports reach the proxy"),
            ));
        }
    }
    if let Some((value, path)) = annotation(EXCLUDE_INBOUND_PORTS) {
        let excluded = port_list(value).unwrap_or_default();
        if !excluded.is_empty() {
            capture.inbound = match capture.inbound {
                InboundCapture::All => InboundCapture::AllExcept(excluded),
                InboundCapture::AllExcept(mut ports) => {
                    ports.extend(excluded);
                    InboundCapture::AllExcept(ports)
                }
                InboundCapture::Only(ports) => InboundCapture::Only(
                    ports
                        .into_iter()
                        .filter(|p| !excluded.contains(p))
                        .collect(),
                ),
                // Istio's own capture never holds Linkerd's skip set.
                other @ (InboundCapture::Nothing | InboundCapture::Skipping(_)) => other,
            };
            capture.because.push(Because::at(
                workload.object,
                &path,
                format!("{EXCLUDE_INBOUND_PORTS}: \"{value}\" sends these inbound ports straight to the application"),
            ));
        }
    }
    if let Some((value, path)) = annotation(EXCLUDE_OUTBOUND_PORTS) {
        capture.excluded_outbound_ports = port_list(value).unwrap_or_default();
        if !capture.excluded_outbound_ports.is_empty() {
            capture.because.push(Because::at(
                workload.object,
                &path,
                format!("{EXCLUDE_OUTBOUND_PORTS}: \"{value}\" lets connections to these ports leave without the proxy"),
            ));
        }
    }
    if let Some((value, path)) = annotation(EXCLUDE_OUTBOUND_IP_RANGES) {
        if covers_everything(value) {
            capture.outbound_bypass_all = true;
        } else {
            capture.excluded_outbound_ranges = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if capture.outbound_bypass_all || !capture.excluded_outbound_ranges.is_empty() {
            capture.because.push(Because::at(
                workload.object,
                &path,
                format!("{EXCLUDE_OUTBOUND_IP_RANGES}: \"{value}\" lets connections to these addresses leave without the proxy"),
            ));
        }
    }
    if let Some((value, path)) = annotation(INCLUDE_OUTBOUND_IP_RANGES) {
        if value.trim().is_empty() {
            capture.outbound_bypass_all = true;
            capture.because.push(Because::at(
                workload.object,
                &path,
                format!(
                    "{INCLUDE_OUTBOUND_IP_RANGES}: \"\" redirects no outbound traffic to the proxy"
                ),
            ));
        }
    }
    for (index, container) in workload.containers.iter().enumerate() {
        if container.name == "istio-proxy" {
            continue;
        }
        if workload.effective_uid(container) == Some(PROXY_UID) {
            capture.proxy_uid_containers.push(container.name.clone());
            let path = if container.run_as_user.is_some() {
                template_field(
                    workload,
                    &[
                        "spec".into(),
                        "containers".into(),
                        Step::Index(index),
                        "securityContext".into(),
                        "runAsUser".into(),
                    ],
                )
            } else {
                template_field(
                    workload,
                    &["spec".into(), "securityContext".into(), "runAsUser".into()],
                )
            };
            capture.because.push(Because::at(
                workload.object,
                &path,
                format!(
                    "container {} runs as UID {PROXY_UID}, the proxy's own user, so iptables does not redirect its outbound traffic",
                    container.name
                ),
            ));
        }
    }
    capture
}
