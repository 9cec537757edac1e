//! The mTLS mode a server-side proxy enforces, per workload and port, resolved the way istiod
//! composes PeerAuthentications:
//!
//! - the oldest selector-less policy of the root namespace is the mesh-wide one, the oldest
//!   selector-less policy of the workload's namespace the namespace one, and the oldest policy of
//!   that namespace whose selector matches the workload the workload one (selector policies in
//!   the root namespace are ignored);
//! - the mode starts at PERMISSIVE and each level that is not UNSET overrides it, mesh, then
//!   namespace, then workload;
//! - `portLevelMtls` is read from the workload policy only; an UNSET port inherits the
//!   workload's resolved mode. Its keys are the ports the application listens on (container
//!   ports, i.e. a Service's target ports).

use std::collections::BTreeMap;

use crate::HashMap;

use meshaudit_model::istio::{MtlsMode, PeerAuthenticationSpec, Typed};
use meshaudit_model::k8s::Workload;
use meshaudit_model::{Inventory, Node, ObjectId, Step};

use crate::evidence::Because;

/// A resolved mode (never UNSET) and the chain that led to it.
#[derive(Debug, Clone)]
pub struct ModeDecision {
    pub mode: MtlsMode,
    pub because: Vec<Because>,
}

/// The modes of one workload: its own, and any port that differs.
#[derive(Debug, Clone)]
pub struct WorkloadMtls {
    pub workload: ModeDecision,
    pub ports: BTreeMap<u32, ModeDecision>,
}

impl WorkloadMtls {
    pub fn for_port(&self, port: u16) -> &ModeDecision {
        self.ports.get(&u32::from(port)).unwrap_or(&self.workload)
    }
}

/// `metadata.creationTimestamp` (RFC 3339 sorts as text).
pub fn creation_timestamp(inventory: &Inventory, object: ObjectId) -> Option<&str> {
    inventory
        .object(object)
        .node
        .at(&["metadata".into(), "creationTimestamp".into()])
        .and_then(Node::as_str)
}

/// Istio applies the oldest of several equally specific policies: it sorts by
/// `creationTimestamp` (second precision, so ties are common), then name, then namespace.
/// Manifests without timestamps sort as ties, so by name — what istiod does for objects created
/// in the same second.
pub fn oldest<'a, T>(inventory: &Inventory, policies: &[&'a Typed<T>]) -> Option<&'a Typed<T>> {
    sort_oldest_first(inventory, policies).into_iter().next()
}

/// `policies` in the order istiod ranks them (oldest first).
pub fn sort_oldest_first<'a, T>(
    inventory: &Inventory,
    policies: &[&'a Typed<T>],
) -> Vec<&'a Typed<T>> {
    let mut sorted = policies.to_vec();
    sorted.sort_by(|a, b| {
        let key = |p: &Typed<T>| (creation_timestamp(inventory, p.object).map(str::to_owned),);
        let (ta, tb) = (key(a).0, key(b).0);
        // A missing timestamp sorts after present ones.
        (ta.is_none(), ta, &a.name, &a.namespace).cmp(&(tb.is_none(), tb, &b.name, &b.namespace))
    });
    sorted
}

/// PeerAuthentications grouped the way resolution reads them.
pub struct PeerAuthentications<'a> {
    inventory: &'a Inventory,
    root: &'a str,
    namespace_wide: HashMap<&'a str, Vec<&'a Typed<PeerAuthenticationSpec>>>,
    selecting: HashMap<&'a str, Vec<&'a Typed<PeerAuthenticationSpec>>>,
}

fn mode_path() -> [Step<'static>; 3] {
    [Step::Key("spec"), Step::Key("mtls"), Step::Key("mode")]
}

impl<'a> PeerAuthentications<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut namespace_wide: HashMap<&str, Vec<_>> = HashMap::default();
        let mut selecting: HashMap<&str, Vec<_>> = HashMap::default();
        for p in &inventory.istio.peer_authentications {
            if p.spec.has_selector() {
                selecting.entry(p.namespace.as_str()).or_default().push(p);
            } else {
                namespace_wide
                    .entry(p.namespace.as_str())
                    .or_default()
                    .push(p);
            }
        }
        PeerAuthentications {
            inventory,
            root: inventory.istio.root_namespace(),
            namespace_wide,
            selecting,
        }
    }

    /// The mesh-wide policy in force, if any.
    pub fn mesh_wide(&self) -> Option<&'a Typed<PeerAuthenticationSpec>> {
        self.namespace_wide
            .get(self.root)
            .and_then(|ps| oldest(self.inventory, ps))
    }

    /// The namespace-wide policy in force for `namespace` (not the root namespace).
    pub fn namespace_wide(&self, namespace: &str) -> Option<&'a Typed<PeerAuthenticationSpec>> {
        if namespace == self.root {
            return None;
        }
        self.namespace_wide
            .get(namespace)
            .and_then(|ps| oldest(self.inventory, ps))
    }

    /// Every policy whose selector matches the workload, oldest (the one in force) first.
    pub fn selecting(&self, workload: &Workload) -> Vec<&'a Typed<PeerAuthenticationSpec>> {
        if workload.namespace == self.root {
            // istiod ignores selector policies in the root namespace.
            return Vec::new();
        }
        let matching: Vec<_> = self
            .selecting
            .get(workload.namespace.as_str())
            .into_iter()
            .flatten()
            .filter(|p| {
                p.spec
                    .selector
                    .as_ref()
                    .is_some_and(|s| s.matches(&workload.labels))
            })
            .copied()
            .collect();
        sort_oldest_first(self.inventory, &matching)
    }

    /// Resolves the modes of `workload`.
    pub fn resolve(&self, workload: &Workload) -> WorkloadMtls {
        let mut mode = MtlsMode::Permissive;
        let mut because = vec![Because::default(
            "Istio's default mode is PERMISSIVE (plaintext and mTLS both accepted)",
        )];
        let apply = |policy: &Typed<PeerAuthenticationSpec>,
                     level: &str,
                     because: &mut Vec<Because>,
                     mode: &mut MtlsMode| {
            let own = policy.spec.mode();
            if own == MtlsMode::Unset {
                because.push(Because::at(
                    policy.object,
                    &mode_path(),
                    format!(
                        "{level} policy leaves the mode UNSET, so {} is inherited",
                        mode.as_str()
                    ),
                ));
            } else {
                because.push(Because::at(
                    policy.object,
                    &mode_path(),
                    format!("{level} policy sets {}", own.as_str()),
                ));
                *mode = own;
            }
        };
        if let Some(p) = self.mesh_wide() {
            apply(p, "mesh-wide", &mut because, &mut mode);
        } else {
            because.push(Because::default(format!(
                "no mesh-wide PeerAuthentication (selector-less, in root namespace {})",
                self.root
            )));
        }
        if let Some(p) = self.namespace_wide(&workload.namespace) {
            apply(p, "namespace", &mut because, &mut mode);
        }
        let selecting = self.selecting(workload);
        let mut ports = BTreeMap::new();
        if let Some(p) = selecting.first() {
            apply(p, "workload", &mut because, &mut mode);
            for ignored in &selecting[1..] {
                because.push(Because::object(
                    ignored.object,
                    format!(
                        "also selects the workload but is ignored: {}/{} is older",
                        p.namespace, p.name
                    ),
                ));
            }
            for (port, setting) in &p.spec.port_level_mtls {
                let key = port.to_string();
                let path = [
                    Step::Key("spec"),
                    Step::Key("portLevelMtls"),
                    Step::Key(&key),
                    Step::Key("mode"),
                ];
                let mut port_because = because.clone();
                let port_mode = match setting.mode() {
                    MtlsMode::Unset => {
                        port_because.push(Because::at(
                            p.object,
                            &path,
                            format!("port {port} is UNSET, so it inherits {}", mode.as_str()),
                        ));
                        mode
                    }
                    own => {
                        port_because.push(Because::at(
                            p.object,
                            &path,
                            format!("port {port} is set to {}", own.as_str()),
                        ));
                        own
                    }
                };
                ports.insert(
                    *port,
                    ModeDecision {
                        mode: port_mode,
                        because: port_because,
                    },
                );
            }
        }
        WorkloadMtls {
            workload: ModeDecision { mode, because },
            ports,
        }
    }
}
