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
    CidrList, DefaultInboundPolicy, PortSet, ServerPort, DEFAULT_CLUSTER_NETWORKS,
    DEFAULT_INBOUND_POLICY_ANNOTATION, PROXY_ADMIN_PORT, PROXY_INBOUND_PORT,
    REQUIRE_IDENTITY_PORTS_ANNOTATION,
};
use meshaudit_model::Inventory;

use super::membership::{annotation, config_because, has_proxy, namespace_annotation, Level};
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
pub fn resolve_default_policy(inv: &Inventory, w: usize) -> ResolvedDefault {
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
pub fn default_policy(inv: &Inventory, w: usize) -> DefaultPolicy {
    resolve_default_policy(inv, w).default
}

/// The ports of `config.linkerd.io/proxy-require-identity-inbound-ports` the policy controller
/// applies to workload `w`'s pods, and where it is set. `None` when absent, or when the list
/// holds an entry that is not a port or 0: the controller then ignores the whole list.
pub fn require_identity_ports(inv: &Inventory, w: usize) -> Option<(PortSet, Because)> {
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
    let b = a.because(format!(
        "{} sets {REQUIRE_IDENTITY_PORTS_ANNOTATION}: \"{}\"",
        a.place(&workload.namespace),
        a.value
    ));
    Some((ports, b))
}

/// [`resolve_default_policy`] for one port, with
/// `config.linkerd.io/proxy-require-identity-inbound-ports` applied. With `has_server` the
/// annotation is ignored (a `Server`'s own `accessPolicy` and authorizations decide the port
/// then, not the default policy); the level stays the one of the pod's default.
pub fn resolve_for_port(inv: &Inventory, w: usize, port: u16, has_server: bool) -> ResolvedDefault {
    let mut resolved = resolve_default_policy(inv, w);
    if has_server {
        return resolved;
    }
    if let Some((ports, b)) = require_identity_ports(inv, w) {
        if ports.contains(port) {
            let policy = resolved.default.policy;
            let tightened = policy.requiring_identity();
            let fact = if tightened == policy {
                format!("{b}: port {port} is listed, but {policy} is not tightened by it")
            } else {
                format!("{b}: on port {port}, {policy} becomes {tightened}")
            };
            resolved.default.policy = tightened;
            let object = b.object.expect("annotations are on an object");
            resolved
                .default
                .because
                .insert(0, Because::at(object, &b.steps(), fact));
        }
    }
    resolved
}

/// The default policy that decides `port` of workload `w`'s pods when no `Server` selects it
/// (see [`resolve_for_port`]).
pub fn default_policy_for_port(
    inv: &Inventory,
    w: usize,
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

/// A `Server` (index into `inventory.linkerd.servers`) of workload `w`'s namespace whose
/// `podSelector` selects its pods and whose `port` is `port` — by number, or by the name of a
/// TCP container port of that number (the proxy's `linkerd-proxy` 4143 and `linkerd-admin` 4191
/// count, as the injector adds them). When several do, the first in the input; which one wins
/// is the policy evaluator's question, not this one's.
pub fn selecting_server(inv: &Inventory, w: usize, port: u16) -> Option<usize> {
    let workload = &inv.workloads[w];
    let named = |name: &str| {
        workload.all_containers().any(|c| {
            c.ports.iter().any(|p| {
                p.container_port == port
                    && p.name.as_deref() == Some(name)
                    && p.protocol.as_deref().is_none_or(|proto| proto == "TCP")
            })
        }) || (name == "linkerd-proxy" && port == PROXY_INBOUND_PORT)
            || (name == "linkerd-admin" && port == PROXY_ADMIN_PORT)
    };
    inv.linkerd.servers.iter().position(|s| {
        s.namespace == workload.namespace
            && s.spec
                .pod_selector
                .as_ref()
                .is_some_and(|sel| sel.matches(&workload.labels))
            && match &s.spec.port {
                ServerPort::Number(n) => *n == port,
                ServerPort::Name(name) => named(name),
            }
    })
}
