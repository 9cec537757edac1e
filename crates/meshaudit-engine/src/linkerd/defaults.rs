//! Which default inbound policy a meshed pod's ports fall back to, and `clusterNetworks`.
//!
//! A port no `Server` selects gets the pod's default inbound policy. Linkerd's policy controller
//! reads `config.linkerd.io/default-inbound-policy` from the Pod object only, falling back to the
//! cluster default (`proxy.defaultInboundPolicy` of the install, kept in `linkerd-config`; the
//! chart's and the controller's own default is `all-unauthenticated`). The namespace annotation
//! counts because the proxy injector copies it onto each pod it injects that lacks it — at
//! injection time: pods injected before the namespace was annotated keep the earlier default
//! until they are re-created, and a template that already carries its proxy gets nothing from
//! its namespace. A value that is not one of the six policies is ignored (the cluster default
//! applies), and since the pod's own value is never replaced by the namespace's, an invalid pod
//! value also hides the namespace's.
//!
//! `config.linkerd.io/proxy-require-identity-inbound-ports` (pod, copied from the namespace like
//! the others) tightens `all-unauthenticated` and `cluster-unauthenticated` to their
//! authenticated variants on the listed ports, and only on ports no `Server` selects; `deny` and
//! `audit` stay as they are. The chart value `proxy.requireIdentityOnInboundPorts` only sets an
//! environment variable the proxy no longer reads, so it changes nothing.

use meshaudit_model::linkerd::{
    CidrList, DefaultInboundPolicy, PortSet, DEFAULT_CLUSTER_NETWORKS,
    DEFAULT_INBOUND_POLICY_ANNOTATION, REQUIRE_IDENTITY_PORTS_ANNOTATION,
};
use std::collections::BTreeMap;

use meshaudit_model::{Inventory, Location, ObjectId, Step, WorkloadId};

use super::membership::{
    annotation, config_because, has_proxy, namespace_annotation, Annotated, InboundPath, Level,
    LinkerdMembership,
};
use crate::evidence::Because;

/// A default inbound policy and why it applies. (The policy evaluator takes it as a parameter.)
#[derive(Debug, Clone)]
pub struct DefaultPolicy {
    pub policy: DefaultInboundPolicy,
    /// The deciding fact first.
    pub because: Vec<Because>,
}

/// A pod's default policy with the level that sets it.
#[derive(Debug, Clone)]
pub struct ResolvedDefault {
    pub default: DefaultPolicy,
    /// [`Level::Workload`] (the pod template's annotation), [`Level::Namespace`] (the
    /// namespace's, copied at injection), [`Level::Cluster`] (written in `linkerd-config`) or
    /// [`Level::Default`] (written nowhere: `all-unauthenticated`).
    pub level: Level,
}

/// The cluster's default inbound policy, the level that sets it and why.
pub fn cluster_default(inv: &Inventory) -> (DefaultInboundPolicy, Level, Because) {
    let fallback = DefaultInboundPolicy::AllUnauthenticated;
    match inv.linkerd.config.as_ref() {
        Some(c) if c.default_inbound_policy.written => match &c.default_inbound_policy.value {
            Ok(p) => (
                *p,
                Level::Cluster,
                config_because(
                    c,
                    format!("linkerd-config sets proxy.defaultInboundPolicy: {p}, the cluster's default inbound policy"),
                ),
            ),
            Err(e) => (
                fallback,
                Level::Cluster,
                config_because(
                    c,
                    format!("linkerd-config sets proxy.defaultInboundPolicy: {e}; the policy controller does not start with it, and its built-in default {fallback} is assumed"),
                ),
            ),
        },
        Some(c) => (
            fallback,
            Level::Default,
            config_because(
                c,
                format!("linkerd-config does not set proxy.defaultInboundPolicy: the chart's {fallback} is the cluster's default inbound policy"),
            ),
        ),
        None => (
            fallback,
            Level::Default,
            Because::default(format!(
                "the input holds no linkerd-config: Linkerd's default {fallback} is assumed as the cluster's default inbound policy"
            )),
        ),
    }
}

/// The default inbound policy of workload `w`'s pods, with the level that sets it.
pub fn resolve_default_policy(inv: &Inventory, w: WorkloadId) -> ResolvedDefault {
    let workload = &inv.workloads[w];
    // The injector copies the namespace's annotation only onto pods it injects.
    let namespace_applies = !has_proxy(workload);
    let key = DEFAULT_INBOUND_POLICY_ANNOTATION;
    let mut because = Vec::new();
    if let Some(a) = annotation(inv, workload, key, namespace_applies) {
        let place = a.place(&workload.namespace);
        match DefaultInboundPolicy::parse(a.value) {
            Ok(policy) => {
                let fact = if a.level == Level::Namespace {
                    format!("{place} sets {key}: {policy}, which the proxy injector copies onto its pods when it injects them (pods injected earlier keep the default they had until re-created)")
                } else {
                    format!("the pod template sets {key}: {policy}")
                };
                return ResolvedDefault {
                    default: DefaultPolicy {
                        policy,
                        because: vec![a.because(fact)],
                    },
                    level: a.level,
                };
            }
            Err(e) => because.push(a.because(format!(
                "{place} sets {key}: {e}; the policy controller ignores it and applies the cluster default"
            ))),
        }
    } else if !namespace_applies {
        if let Some(a) = namespace_annotation(inv, &workload.namespace, key) {
            because.push(a.because(format!(
                "namespace {} sets {key}: {}, but this pod template already carries its proxy: the policy controller reads only the pod's own annotation",
                workload.namespace, a.value
            )));
        }
    }
    let (policy, level, b) = cluster_default(inv);
    because.insert(0, b);
    ResolvedDefault {
        default: DefaultPolicy { policy, because },
        level,
    }
}

/// The default inbound policy of workload `w`'s pods (ports no `Server` selects).
pub fn default_policy(inv: &Inventory, w: WorkloadId) -> DefaultPolicy {
    resolve_default_policy(inv, w).default
}

/// The ports of `config.linkerd.io/proxy-require-identity-inbound-ports` the policy controller
/// applies to workload `w`'s pods, and where it is set. `None` when absent, or when the list
/// holds an entry that is not a port or 0: the controller then ignores the whole list.
pub fn require_identity_ports(inv: &Inventory, w: WorkloadId) -> Option<(PortSet, Because)> {
    let workload = &inv.workloads[w];
    let (ports, a) = require_identity_annotation(inv, w)?;
    let b = a.because(format!(
        "{} sets {REQUIRE_IDENTITY_PORTS_ANNOTATION}: \"{}\"",
        a.place(&workload.namespace),
        a.value
    ));
    Some((ports, b))
}

fn require_identity_annotation(inv: &Inventory, w: WorkloadId) -> Option<(PortSet, Annotated<'_>)> {
    let workload = &inv.workloads[w];
    let a = annotation(
        inv,
        workload,
        REQUIRE_IDENTITY_PORTS_ANNOTATION,
        !has_proxy(workload),
    )?;
    let ports = PortSet::parse(a.value);
    if !ports.is_valid() || ports.contains(0) || ports.is_empty() {
        return None;
    }
    Some((ports, a))
}

/// [`resolve_default_policy`] for one port, with
/// `config.linkerd.io/proxy-require-identity-inbound-ports` applied. With `has_server` the
/// annotation is ignored (a `Server`'s own `accessPolicy` and authorizations decide the port
/// then, not the default policy); the level stays the one of the pod's default.
pub fn resolve_for_port(
    inv: &Inventory,
    w: WorkloadId,
    port: u16,
    has_server: bool,
) -> ResolvedDefault {
    let mut resolved = resolve_default_policy(inv, w);
    if has_server {
        return resolved;
    }
    if let Some((ports, a)) = require_identity_annotation(inv, w) {
        if ports.contains(port) {
            let policy = resolved.default.policy;
            let tightened = policy.requiring_identity();
            let set = format!(
                "{} sets {REQUIRE_IDENTITY_PORTS_ANNOTATION}: \"{}\"",
                a.place(&inv.workloads[w].namespace),
                a.value
            );
            let fact = if tightened == policy {
                format!("{set}: port {port} is listed, but {policy} is not tightened by it")
            } else {
                format!("{set}: on port {port}, {policy} becomes {tightened}")
            };
            resolved.default.policy = tightened;
            resolved.default.because.insert(0, a.because(fact));
        }
    }
    resolved
}

/// The default policy that decides `port` of workload `w`'s pods when no `Server` selects it
/// (see [`resolve_for_port`]).
pub fn default_policy_for_port(
    inv: &Inventory,
    w: WorkloadId,
    port: u16,
    has_server: bool,
) -> DefaultPolicy {
    resolve_for_port(inv, w, port, has_server).default
}

/// `clusterNetworks` (the sources the `cluster-*` policies admit) and why.
pub fn cluster_networks(inv: &Inventory) -> (CidrList, Because) {
    match inv.linkerd.config.as_ref() {
        Some(c) if c.cluster_networks.written => (
            c.cluster_networks.value.clone(),
            config_because(
                c,
                format!(
                    "linkerd-config sets clusterNetworks: {}",
                    c.cluster_networks.value.text
                ),
            ),
        ),
        Some(c) => (
            CidrList::parse(DEFAULT_CLUSTER_NETWORKS),
            config_because(
                c,
                format!("linkerd-config does not set clusterNetworks: the chart's {DEFAULT_CLUSTER_NETWORKS} applies"),
            ),
        ),
        None => (
            CidrList::parse(DEFAULT_CLUSTER_NETWORKS),
            Because::default(format!(
                "the input holds no linkerd-config: Linkerd's default clusterNetworks {DEFAULT_CLUSTER_NETWORKS} is assumed"
            )),
        ),
    }
}

/// Ports of meshed workloads that fall back to one default inbound policy set at one place.
#[derive(Debug, Clone)]
pub struct PolicyGroup {
    pub policy: DefaultInboundPolicy,
    pub level: Level,
    /// What sets it: the workload (its pod template annotation), the Namespace, or
    /// `linkerd-config`; `None` for Linkerd's built-in default when the input has no
    /// `linkerd-config`.
    pub object: Option<ObjectId>,
    /// Why, as resolved for the first port of the group (the deciding fact first).
    pub because: Vec<Because>,
    /// `(workload, port)`, in workload then port order.
    pub ports: Vec<(WorkloadId, u16)>,
}

/// Groups, by the place that sets their policy, the ports of meshed workloads that the proxy
/// handles (redirected, or its admin port) and that no `Server` governs (`policy`) — `ports_of(w)` gives the
/// ports to look at, `wanted` which policies to keep (after
/// `proxy-require-identity-inbound-ports`). Groups come in level, then object, then policy
/// order.
pub fn default_policy_groups(
    inv: &Inventory,
    memberships: &[LinkerdMembership],
    policy: &crate::linkerd::policy::LinkerdPolicy<'_>,
    ports_of: impl Fn(WorkloadId) -> Vec<u16>,
    wanted: impl Fn(&LinkerdMembership, DefaultInboundPolicy) -> bool,
) -> Vec<PolicyGroup> {
    let mut groups: BTreeMap<(Level, Option<ObjectId>, DefaultInboundPolicy), PolicyGroup> =
        BTreeMap::new();
    // Memberships are in workload order.
    for (w, m) in inv.workload_ids().zip(memberships) {
        let Some(capture) = m.capture.as_ref() else {
            continue;
        };
        for port in ports_of(w) {
            if !matches!(
                capture.inbound(port),
                InboundPath::Proxied | InboundPath::ProxyAdmin
            ) || policy.server_for(w, port).is_some()
            {
                continue;
            }
            let resolved = resolve_for_port(inv, w, port, false);
            let policy = resolved.default.policy;
            if !wanted(m, policy) {
                continue;
            }
            let object = match resolved.level {
                Level::Workload => Some(inv.workloads[w].object),
                Level::Namespace => inv
                    .namespace(&inv.workloads[w].namespace)
                    .and_then(|n| n.object),
                Level::Cluster | Level::Default => inv.linkerd.config.as_ref().map(|c| c.object),
            };
            groups
                .entry((resolved.level, object, policy))
                .or_insert_with(|| PolicyGroup {
                    policy,
                    level: resolved.level,
                    object,
                    because: resolved.default.because,
                    ports: Vec::new(),
                })
                .ports
                .push((w, port));
        }
    }
    groups.into_values().collect()
}

impl PolicyGroup {
    /// Where the group's policy is written: the object, the field, and its location — for
    /// `linkerd-config`, the value's own line inside `data.values` (or the `values` key when
    /// it is not written there). `None` without an object (Linkerd's built-in default).
    pub fn written_at(&self, inv: &Inventory) -> Option<(ObjectId, Vec<Step<'static>>, Location)> {
        let object = self.object?;
        let annotation_path = |prefix: &'static [&'static str]| -> Vec<Step<'static>> {
            prefix
                .iter()
                .map(|k| Step::Key(k))
                .chain([
                    Step::Key("metadata"),
                    Step::Key("annotations"),
                    Step::Key(DEFAULT_INBOUND_POLICY_ANNOTATION),
                ])
                .collect()
        };
        let (path, location) = match self.level {
            Level::Workload => {
                let (w, _) = self.ports.first()?;
                let path = annotation_path(inv.workloads[*w].template_path);
                let location = inv.object(object).location_of(&path);
                (path, location)
            }
            Level::Namespace => {
                let path = annotation_path(&[]);
                let location = inv.object(object).location_of(&path);
                (path, location)
            }
            Level::Cluster | Level::Default => {
                let config = inv.linkerd.config.as_ref()?;
                (
                    vec![Step::Key("data"), Step::Key("values")],
                    config.default_inbound_policy.location.clone(),
                )
            }
        };
        Some((object, path, location))
    }

    /// Who sets the policy, for a sentence: `linkerd-config (proxy.defaultInboundPolicy)`,
    /// `linkerd-config (proxy.defaultInboundPolicy not set: the chart's default)`,
    /// `Namespace shop (config.linkerd.io/default-inbound-policy)`, `the pod template of
    /// Deployment shop/web (config.linkerd.io/default-inbound-policy)`, or `Linkerd's built-in
    /// default`.
    pub fn setter(&self, inv: &Inventory) -> String {
        let key = DEFAULT_INBOUND_POLICY_ANNOTATION;
        match (self.level, self.object) {
            (_, None) => "Linkerd's built-in default (no linkerd-config in the input)".to_owned(),
            (Level::Cluster, Some(_)) => "linkerd-config (proxy.defaultInboundPolicy)".to_owned(),
            (Level::Default, Some(_)) => {
                "linkerd-config (proxy.defaultInboundPolicy not set: the chart's default)"
                    .to_owned()
            }
            (Level::Namespace, Some(id)) => {
                format!("Namespace {} ({key})", inv.object(id).name)
            }
            (Level::Workload, Some(id)) => {
                let o = inv.object(id);
                format!(
                    "the pod template of {} {} ({key})",
                    o.kind,
                    o.qualified_name()
                )
            }
        }
    }

    /// The first `max` workloads with their ports, for a message:
    /// `Deployment shop/web (8080, 9090), Deployment shop/api (80) and 3 more`.
    pub fn listed(&self, inv: &Inventory, max: usize) -> String {
        let by_workload = self.by_workload();
        let listed: Vec<String> = by_workload
            .iter()
            .take(max)
            .map(|(w, ports)| {
                let workload = &inv.workloads[*w];
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!(
                    "{} {}/{} ({})",
                    workload.kind,
                    workload.namespace,
                    workload.name,
                    ports.join(", ")
                )
            })
            .collect();
        let more = by_workload.len().saturating_sub(max);
        if more > 0 {
            format!("{} and {more} more", listed.join(", "))
        } else {
            listed.join(", ")
        }
    }

    /// One fact per workload of the group, at its name: which of its ports fall back to the
    /// policy (for related locations).
    pub fn members_because(&self, inv: &Inventory) -> Vec<Because> {
        self.by_workload()
            .into_iter()
            .map(|(w, ports)| {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                Because::at(
                    inv.workloads[w].object,
                    &[Step::Key("metadata"), Step::Key("name")],
                    format!(
                        "meshed; port(s) {} selected by no Server fall back to {}",
                        ports.join(", "),
                        self.policy
                    ),
                )
            })
            .collect()
    }

    /// The workloads of the group, each with its ports, in order.
    pub fn by_workload(&self) -> Vec<(WorkloadId, Vec<u16>)> {
        let mut out: Vec<(WorkloadId, Vec<u16>)> = Vec::new();
        for &(w, port) in &self.ports {
            match out.last_mut() {
                Some((last, ports)) if *last == w => ports.push(port),
                _ => out.push((w, vec![port])),
            }
        }
        out
    }
}
