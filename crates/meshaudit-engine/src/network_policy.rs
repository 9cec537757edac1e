//! Kubernetes NetworkPolicy, evaluated as the `networking.k8s.io/v1` API defines it.
//!
//! - Policies are additive allow-lists. A pod is isolated for a direction when at least one
//!   policy selects it (`podSelector`, in the policy's namespace) and lists that direction in
//!   `policyTypes`; without `policyTypes`, Ingress always, and Egress when the policy has an
//!   `egress` section. A pod no policy isolates is open in that direction.
//! - An isolated pod accepts (or sends) a connection when any rule of any policy selecting it
//!   for that direction admits the peer and the port. A connection needs the server's ingress
//!   and the client's egress to allow it.
//! - A rule without `from`/`to` admits every peer; without `ports`, every port. A peer with
//!   `podSelector` alone means pods of the policy's namespace; `namespaceSelector` alone, every
//!   pod of the selected namespaces; both, the selected pods of the selected namespaces. Every
//!   namespace carries the label `kubernetes.io/metadata.name: <name>`.
//! - Ports: protocol `TCP` unless set; a number, optionally up to `endPort`; or a named port,
//!   resolved on the destination pod's containers (the server for both directions).
//! - `ipBlock` addresses are not pod addresses here: pod IPs are not in the manifests, so a
//!   CIDR matches a pod only when it covers every address (`0.0.0.0/0`, `::/0`) and no `except`
//!   entry takes out a private range the size of a pod network (a /16 or larger). Traffic from
//!   outside the cluster is matched by CIDRs that cover public addresses.
//! - `hostNetwork` pods are not isolated by NetworkPolicy on common CNIs, and their traffic
//!   carries the node's address: as clients they are matched like outside addresses.

use crate::{HashMap, HashSet};

pub use meshaudit_model::cidr::Cidr;
use meshaudit_model::k8s::{
    IpBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Workload,
};
use meshaudit_model::selector::{LabelSelector, Labels};
use meshaudit_model::{Inventory, NetworkPolicyId, Step, WorkloadId};

use crate::evidence::Because;

/// The label the API server sets on every namespace (Kubernetes 1.22 and later).
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Who opens a connection, as NetworkPolicy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A workload of the input.
    Pod(WorkloadId),
    /// A pod the input does not describe, in any namespace.
    AnyPod,
    /// An address outside the cluster (or a node: a `hostNetwork` pod, a NodePort hop).
    Outside,
}

/// The answer for one direction (or both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetVerdict {
    /// Every connection of this kind is allowed.
    Allowed,
    /// For a group of sources: some are allowed, some are not.
    Restricted,
    /// No connection of this kind is allowed.
    Denied,
}

impl NetVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            NetVerdict::Allowed => "allowed",
            NetVerdict::Restricted => "restricted",
            NetVerdict::Denied => "denied",
        }
    }

    fn worst(self, other: NetVerdict) -> NetVerdict {
        self.max(other)
    }
}

/// One direction's answer and why.
#[derive(Debug, Clone)]
pub struct DirectionDecision {
    pub verdict: NetVerdict,
    /// The policies that isolate the pod in this direction; empty when it is open.
    pub isolated_by: Vec<NetworkPolicyId>,
    /// The policy and rule (index in `ingress`/`egress`) that admitted the connection.
    pub allowed_by: Option<(NetworkPolicyId, usize)>,
    pub because: Vec<Because>,
}

impl DirectionDecision {
    /// The policies that decided: the one that admitted, or all that isolate.
    pub fn decided_by(&self) -> Vec<NetworkPolicyId> {
        match self.allowed_by {
            Some((p, _)) => vec![p],
            None if self.verdict == NetVerdict::Allowed => Vec::new(),
            None => self.isolated_by.clone(),
        }
    }
}

/// Both directions of one connection.
#[derive(Debug, Clone)]
pub struct NetworkDecision {
    pub ingress: DirectionDecision,
    /// `None` when the client is not a workload of the input: its egress is unknown.
    pub egress: Option<DirectionDecision>,
}

impl NetworkDecision {
    pub fn verdict(&self) -> NetVerdict {
        let egress = self
            .egress
            .as_ref()
            .map_or(NetVerdict::Allowed, |e| e.verdict);
        self.ingress.verdict.worst(egress)
    }

    /// Egress facts first, then ingress: the order a packet meets them.
    pub fn because(&self) -> Vec<Because> {
        let mut out: Vec<Because> = self
            .egress
            .iter()
            .flat_map(|e| e.because.iter().cloned())
            .collect();
        out.extend(self.ingress.because.iter().cloned());
        out
    }

    /// NetworkPolicies that decided, egress side first, without repeats: for a denied
    /// connection, the policies of the side(s) that deny it.
    pub fn decided_by(&self) -> Vec<NetworkPolicyId> {
        let (mut out, ingress) = self.decided_by_sides();
        for p in ingress {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// [`decided_by`](Self::decided_by) per side: the client's egress policies, then the
    /// server's ingress policies.
    pub fn decided_by_sides(&self) -> (Vec<NetworkPolicyId>, Vec<NetworkPolicyId>) {
        let denied = self.verdict() == NetVerdict::Denied;
        // A direction that allows everything did not decide anything; when one side denies,
        // the side that would have allowed did not decide either.
        let side = |d: &DirectionDecision| {
            if (d.verdict == NetVerdict::Allowed && d.isolated_by.is_empty())
                || (denied && d.verdict != NetVerdict::Denied)
            {
                Vec::new()
            } else {
                d.decided_by()
            }
        };
        (
            self.egress.as_ref().map(side).unwrap_or_default(),
            side(&self.ingress),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetSummary {
    pub verdict: NetVerdict,
    pub ingress: NetVerdict,
    /// `None` when the client is not a workload of the input.
    pub egress: Option<NetVerdict>,
    /// As [`NetworkDecision::decided_by_sides`]: the client's egress policies that decided.
    pub egress_decided_by: Vec<NetworkPolicyId>,
    /// The server's ingress policies that decided.
    pub ingress_decided_by: Vec<NetworkPolicyId>,
}

/// Whether a decision builds its evidence chain (rows that group many connections need only
/// the verdicts to tell answers apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    Keep,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn key(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// How far a rule part matches a peer that stands for many pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    No,
    Some,
    All,
}

/// Which pods each policy selects and which policies isolate each pod.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicyIndex {
    /// Per policy (by its index): the workloads its `podSelector` selects, in order.
    selected: Vec<Vec<WorkloadId>>,
    /// Per workload (by its index): the policies that isolate it for ingress, in input order.
    ingress_of: Vec<Vec<NetworkPolicyId>>,
    /// Per workload (by its index): the policies that isolate it for egress.
    egress_of: Vec<Vec<NetworkPolicyId>>,
    /// Per namespace the input names: its labels, with the name label the API server adds.
    namespace_labels: HashMap<String, Labels>,
    /// Namespaces with a workload that NetworkPolicy cannot treat like its neighbours: one
    /// isolated for egress, or with `hostNetwork` (see [`NetworkPolicyIndex::namespace_verdicts`]).
    irregular_namespaces: HashSet<String>,
}

impl NetworkPolicyIndex {
    pub fn new(inv: &Inventory) -> Self {
        let mut index = NetworkPolicyIndex {
            selected: Vec::with_capacity(inv.network_policies.len()),
            ingress_of: vec![Vec::new(); inv.workloads.len()],
            egress_of: vec![Vec::new(); inv.workloads.len()],
            namespace_labels: HashMap::default(),
            irregular_namespaces: Default::default(),
        };
        for (name, ns) in &inv.namespaces {
            index
                .namespace_labels
                .insert(name.clone(), with_name_label(name, &ns.labels));
        }
        for (p, policy) in NetworkPolicyId::enumerate(&inv.network_policies) {
            let selector = &policy.spec.pod_selector;
            // The label index narrows the candidates for `matchLabels`; expressions are then
            // checked on each.
            let candidates: Vec<WorkloadId> = match selector.match_labels.as_ref() {
                Some(labels) if !labels.is_empty() => {
                    inv.workloads_matching_in(&policy.namespace, labels)
                }
                _ => inv.workload_indexes_in(&policy.namespace).to_vec(),
            };
            let selected: Vec<WorkloadId> = candidates
                .into_iter()
                .filter(|&w| {
                    let workload = &inv.workloads[w];
                    !workload.host_network && selector.matches(&workload.labels)
                })
                .collect();
            for &w in &selected {
                if policy.spec.isolates_ingress() {
                    index.ingress_of[w.index()].push(p);
                }
                if policy.spec.isolates_egress() {
                    index.egress_of[w.index()].push(p);
                }
            }
            index.selected.push(selected);
        }
        for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
            if workload.host_network || !index.egress_policies(w).is_empty() {
                index
                    .irregular_namespaces
                    .insert(workload.namespace.clone());
            }
        }
        index
    }

    /// The verdicts of [`direction_verdicts`](Self::direction_verdicts) (egress, ingress) for
    /// every workload of `namespace` connecting to `server` on `port`, when NetworkPolicy gives
    /// them all the same answer: no workload of the namespace is isolated for egress or runs
    /// with `hostNetwork`, and the server's ingress rules admit every pod of the namespace, or
    /// none. `None` when the answer may differ from pod to pod. For rules that ask about whole
    /// groups of clients and would otherwise ask once per member.
    pub fn namespace_verdicts(
        &self,
        inv: &Inventory,
        namespace: &str,
        server: WorkloadId,
        port: u16,
    ) -> Option<(NetVerdict, NetVerdict)> {
        if self.irregular_namespaces.contains(namespace) {
            return None;
        }
        let policies = self.ingress_policies(server);
        if policies.is_empty() || inv.workloads[server].host_network {
            return Some((NetVerdict::Allowed, NetVerdict::Allowed));
        }
        let mut best = Fit::No;
        for &p in policies {
            let policy = &inv.network_policies[p];
            for rule in policy.spec.ingress.iter().flatten() {
                if !ports_admit(rule.ports.as_deref(), &inv.workloads[server], port) {
                    continue;
                }
                let fit = match rule.from.as_deref().filter(|p| !p.is_empty()) {
                    None => Fit::All,
                    Some(peers) => peers
                        .iter()
                        .map(|peer| self.namespace_peer_fit(policy, peer, namespace))
                        .max()
                        .unwrap_or(Fit::No),
                };
                best = best.max(fit);
                if best == Fit::All {
                    return Some((NetVerdict::Allowed, NetVerdict::Allowed));
                }
            }
        }
        match best {
            Fit::No => Some((NetVerdict::Allowed, NetVerdict::Denied)),
            _ => None,
        }
    }

    /// How far one rule peer covers the pods of `namespace` (none with `hostNetwork`): every
    /// one, some (a pod selector decides), or none — as [`peer_fit`] answers for each pod.
    fn namespace_peer_fit(
        &self,
        policy: &NetworkPolicy,
        rule_peer: &NetworkPolicyPeer,
        namespace: &str,
    ) -> Fit {
        if let Some(block) = &rule_peer.ip_block {
            return if ip_block_covers_pods(block) {
                Fit::All
            } else {
                Fit::No
            };
        }
        let (pods, namespaces) = (&rule_peer.pod_selector, &rule_peer.namespace_selector);
        if pods.is_none() && namespaces.is_none() {
            return Fit::No;
        }
        let namespace_ok = match namespaces {
            None => namespace == policy.namespace,
            Some(sel) => sel.matches(&self.namespace_labels(namespace)),
        };
        if !namespace_ok {
            Fit::No
        } else if pods.as_ref().is_none_or(LabelSelector::is_empty) {
            Fit::All
        } else {
            Fit::Some
        }
    }

    /// The workloads policy `p` selects (host-network pods excluded), in order.
    pub fn selected_by(&self, p: NetworkPolicyId) -> &[WorkloadId] {
        self.selected.get(p.index()).map_or(&[], Vec::as_slice)
    }

    /// The policies that isolate workload `w` for ingress.
    pub fn ingress_policies(&self, w: WorkloadId) -> &[NetworkPolicyId] {
        self.ingress_of.get(w.index()).map_or(&[], Vec::as_slice)
    }

    /// The policies that isolate workload `w` for egress.
    pub fn egress_policies(&self, w: WorkloadId) -> &[NetworkPolicyId] {
        self.egress_of.get(w.index()).map_or(&[], Vec::as_slice)
    }

    /// A namespace's labels as selectors see them (with `kubernetes.io/metadata.name`).
    pub fn namespace_labels(&self, namespace: &str) -> std::borrow::Cow<'_, Labels> {
        match self.namespace_labels.get(namespace) {
            Some(labels) => std::borrow::Cow::Borrowed(labels),
            None => std::borrow::Cow::Owned(with_name_label(namespace, &Labels::new())),
        }
    }

    /// Does NetworkPolicy let `source` connect to workload `server` on container port `port`
    /// (TCP)? Both the server's ingress and, for a workload of the input, the client's egress.
    pub fn connection(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> NetworkDecision {
        self.connection_with(inv, source, server, port, Evidence::Keep)
    }

    /// [`connection`](Self::connection)'s answer without its evidence: verdicts and deciding
    /// policies, which is what tells two connections' answers apart.
    pub fn connection_summary(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> NetSummary {
        let decision = self.connection_with(inv, source, server, port, Evidence::Skip);
        let (egress_decided_by, ingress_decided_by) = decision.decided_by_sides();
        NetSummary {
            verdict: decision.verdict(),
            ingress: decision.ingress.verdict,
            egress: decision.egress.as_ref().map(|e| e.verdict),
            egress_decided_by,
            ingress_decided_by,
        }
    }

    fn connection_with(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
        evidence: Evidence,
    ) -> NetworkDecision {
        let egress = match source {
            Source::Pod(c) => Some(self.egress_with(inv, c, server, port, evidence)),
            Source::AnyPod | Source::Outside => None,
        };
        NetworkDecision {
            ingress: self.ingress_with(inv, source, server, port, evidence),
            egress,
        }
    }

    /// The server side: does workload `server` accept `source` on `port`?
    pub fn ingress(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> DirectionDecision {
        self.ingress_with(inv, source, server, port, Evidence::Keep)
    }

    fn ingress_with(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
        evidence: Evidence,
    ) -> DirectionDecision {
        let workload = &inv.workloads[server];
        let source = match source {
            Source::Pod(c) if inv.workloads[c].host_network => Source::Outside,
            other => other,
        };
        let policies = self.ingress_policies(server);
        if workload.host_network {
            return open(
                workload,
                "runs with hostNetwork: NetworkPolicy does not isolate it on common CNIs",
                evidence,
            );
        }
        if policies.is_empty() {
            return open(
                workload,
                "no NetworkPolicy selects it for ingress: it accepts connections from anywhere",
                evidence,
            );
        }
        self.evaluate(
            inv,
            Direction::Ingress,
            server,
            policies,
            source,
            server,
            port,
            evidence,
        )
    }

    /// The client side: may workload `client` connect to workload `server` on `port`?
    pub fn egress(
        &self,
        inv: &Inventory,
        client: WorkloadId,
        server: WorkloadId,
        port: u16,
    ) -> DirectionDecision {
        self.egress_with(inv, client, server, port, Evidence::Keep)
    }

    fn egress_with(
        &self,
        inv: &Inventory,
        client: WorkloadId,
        server: WorkloadId,
        port: u16,
        evidence: Evidence,
    ) -> DirectionDecision {
        let workload = &inv.workloads[client];
        if workload.host_network {
            return open(
                workload,
                "runs with hostNetwork: NetworkPolicy does not restrict its egress on common CNIs",
                evidence,
            );
        }
        let policies = self.egress_policies(client);
        if policies.is_empty() {
            return open(
                workload,
                "no NetworkPolicy selects it for egress: it may connect anywhere",
                evidence,
            );
        }
        self.evaluate(
            inv,
            Direction::Egress,
            client,
            policies,
            Source::Pod(server),
            server,
            port,
            evidence,
        )
    }

    /// The client side towards an address outside the cluster: may workload `client` connect
    /// to any external address (`Allowed`), some (`Restricted`) or none (`Denied`)?
    pub fn egress_to_outside(&self, inv: &Inventory, client: WorkloadId) -> DirectionDecision {
        let workload = &inv.workloads[client];
        let policies = self.egress_policies(client);
        if workload.host_network || policies.is_empty() {
            return open(
                workload,
                "no NetworkPolicy selects it for egress: it may connect anywhere",
                Evidence::Keep,
            );
        }
        let mut best = Fit::No;
        let mut allowed_by = None;
        for &p in policies {
            let policy = &inv.network_policies[p];
            for (r, rule) in policy.spec.egress.iter().flatten().enumerate() {
                let peers = peers_fit(self, inv, policy, rule.from.as_deref(), Source::Outside);
                // Ports matter for what leaves, but any open port is a path out.
                let ports = if rule.ports.as_ref().is_none_or(Vec::is_empty) {
                    Fit::All
                } else {
                    Fit::Some
                };
                let fit = peers.min(ports);
                if fit > best {
                    best = fit;
                    allowed_by = Some((p, r));
                }
            }
        }
        let verdict = match best {
            Fit::All => NetVerdict::Allowed,
            Fit::Some => NetVerdict::Restricted,
            Fit::No => NetVerdict::Denied,
        };
        let because = match allowed_by {
            Some((p, r)) => vec![rule_because(
                inv,
                p,
                Direction::Egress,
                r,
                match verdict {
                    NetVerdict::Allowed => {
                        "lets it connect to every outside address on every port".to_owned()
                    }
                    _ => "lets it reach some outside addresses or ports".to_owned(),
                },
            )],
            None => vec![isolation_because(
                inv,
                policies,
                Direction::Egress,
                workload,
            )],
        };
        DirectionDecision {
            verdict,
            isolated_by: policies.to_vec(),
            allowed_by,
            because,
        }
    }

    /// The verdict of [`connection`](Self::connection) without its evidence: for rules that
    /// ask about many connections and explain only a few.
    pub fn connection_verdict(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> NetVerdict {
        let egress = self.egress_verdict(inv, source, server, port);
        if egress == NetVerdict::Denied {
            return egress;
        }
        egress.worst(self.ingress_verdict(inv, source, server, port))
    }

    /// The verdicts of [`connection`](Self::connection)'s two directions without their
    /// evidence: the client's egress (`Allowed` for a source that is no workload of the
    /// input, or whose egress is not isolated), then the server's ingress.
    pub fn direction_verdicts(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> (NetVerdict, NetVerdict) {
        (
            self.egress_verdict(inv, source, server, port),
            self.ingress_verdict(inv, source, server, port),
        )
    }

    fn egress_verdict(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> NetVerdict {
        match source {
            // A hostNetwork client's traffic carries the node's address: no egress policy.
            Source::Pod(c) if !inv.workloads[c].host_network => {
                self.side_verdict(inv, Direction::Egress, c, Source::Pod(server), server, port)
            }
            _ => NetVerdict::Allowed,
        }
    }

    fn ingress_verdict(
        &self,
        inv: &Inventory,
        source: Source,
        server: WorkloadId,
        port: u16,
    ) -> NetVerdict {
        let source = match source {
            Source::Pod(c) if inv.workloads[c].host_network => Source::Outside,
            other => other,
        };
        self.side_verdict(inv, Direction::Ingress, server, source, server, port)
    }

    fn side_verdict(
        &self,
        inv: &Inventory,
        direction: Direction,
        subject: WorkloadId,
        peer: Source,
        server: WorkloadId,
        port: u16,
    ) -> NetVerdict {
        let policies = match direction {
            Direction::Ingress => self.ingress_policies(subject),
            Direction::Egress => self.egress_policies(subject),
        };
        if policies.is_empty() || inv.workloads[subject].host_network {
            return NetVerdict::Allowed;
        }
        match self
            .best_rule(inv, direction, policies, peer, server, port)
            .0
        {
            Fit::All => NetVerdict::Allowed,
            Fit::Some => NetVerdict::Restricted,
            Fit::No => NetVerdict::Denied,
        }
    }

    /// The rule that admits `peer` best, and how far.
    fn best_rule(
        &self,
        inv: &Inventory,
        direction: Direction,
        policies: &[NetworkPolicyId],
        peer: Source,
        server: WorkloadId,
        port: u16,
    ) -> (Fit, Option<(NetworkPolicyId, usize)>) {
        let mut best = Fit::No;
        let mut allowed_by: Option<(NetworkPolicyId, usize)> = None;
        for &p in policies {
            let policy = &inv.network_policies[p];
            let rules = match direction {
                Direction::Ingress => policy.spec.ingress.as_deref(),
                Direction::Egress => policy.spec.egress.as_deref(),
            };
            for (r, rule) in rules.into_iter().flatten().enumerate() {
                if !ports_admit(rule.ports.as_deref(), &inv.workloads[server], port) {
                    continue;
                }
                let fit = peers_fit(self, inv, policy, rule.from.as_deref(), peer);
                if fit > best {
                    best = fit;
                    allowed_by = Some((p, r));
                    if fit == Fit::All {
                        return (best, allowed_by);
                    }
                }
            }
        }
        (best, allowed_by)
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        inv: &Inventory,
        direction: Direction,
        subject: WorkloadId,
        policies: &[NetworkPolicyId],
        peer: Source,
        server: WorkloadId,
        port: u16,
        evidence: Evidence,
    ) -> DirectionDecision {
        let (best, allowed_by) = self.best_rule(inv, direction, policies, peer, server, port);
        let subject = &inv.workloads[subject];
        let verdict = match best {
            Fit::All => NetVerdict::Allowed,
            Fit::Some => NetVerdict::Restricted,
            Fit::No => NetVerdict::Denied,
        };
        let because = match allowed_by {
            _ if evidence == Evidence::Skip => Vec::new(),
            Some((p, r)) => {
                let what = match (direction, verdict) {
                    (Direction::Ingress, NetVerdict::Allowed) => {
                        format!("admits this client on port {port}")
                    }
                    (Direction::Egress, NetVerdict::Allowed) => format!(
                        "lets it connect to {}/{} on port {port}",
                        inv.workloads[server].namespace, inv.workloads[server].name
                    ),
                    (_, _) => format!("admits only some of these clients on port {port}"),
                };
                vec![rule_because(inv, p, direction, r, what)]
            }
            None => vec![isolation_because(inv, policies, direction, subject)],
        };
        DirectionDecision {
            verdict,
            isolated_by: policies.to_vec(),
            allowed_by,
            because,
        }
    }
}

fn with_name_label(name: &str, labels: &Labels) -> Labels {
    let mut labels = labels.clone();
    labels
        .entry(NAMESPACE_NAME_LABEL.to_owned())
        .or_insert_with(|| name.to_owned());
    labels
}

fn open(workload: &Workload, why: &'static str, evidence: Evidence) -> DirectionDecision {
    DirectionDecision {
        verdict: NetVerdict::Allowed,
        isolated_by: Vec::new(),
        allowed_by: None,
        because: match evidence {
            Evidence::Keep => vec![Because::object(workload.object, why)],
            Evidence::Skip => Vec::new(),
        },
    }
}

fn rule_because(
    inv: &Inventory,
    p: NetworkPolicyId,
    direction: Direction,
    r: usize,
    what: String,
) -> Because {
    let policy = &inv.network_policies[p];
    Because::at(
        policy.object,
        &[
            Step::Key("spec"),
            Step::Key(direction.key()),
            Step::Index(r),
        ],
        format!("{} rule {r} {what}", direction.key()),
    )
}

fn isolation_because(
    inv: &Inventory,
    policies: &[NetworkPolicyId],
    direction: Direction,
    workload: &Workload,
) -> Because {
    let names: Vec<String> = policies
        .iter()
        .map(|&p| inv.network_policies[p].name.clone())
        .collect();
    let first = &inv.network_policies[policies[0]];
    Because::at(
        first.object,
        &[Step::Key("spec"), Step::Key("podSelector")],
        format!(
            "{}/{} is isolated for {} by {} ({}), and no rule admits this connection",
            workload.namespace,
            workload.name,
            direction.key(),
            if names.len() == 1 {
                "NetworkPolicy"
            } else {
                "NetworkPolicies"
            },
            names.join(", ")
        ),
    )
}

/// Do a rule's `ports` admit TCP `port` on `server`? Absent or empty: every port.
fn ports_admit(ports: Option<&[NetworkPolicyPort]>, server: &Workload, port: u16) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return true;
    };
    ports.iter().any(|p| port_admits(p, server, port))
}

pub fn port_admits(p: &NetworkPolicyPort, server: &Workload, port: u16) -> bool {
    if p.protocol.as_deref().unwrap_or("TCP") != "TCP" {
        return false;
    }
    match &p.port {
        None => true,
        Some(meshaudit_model::k8s::IntOrString::String(name)) if name.parse::<u16>().is_err() => {
            // A named port means the destination pod's container port of that name.
            server.containers.iter().any(|c| {
                c.ports.iter().any(|cp| {
                    cp.name.as_deref() == Some(name.as_str())
                        && cp.container_port == port
                        && cp.protocol.as_deref().unwrap_or("TCP") == "TCP"
                })
            })
        }
        Some(number) => match number.as_port() {
            Some(start) => match p.end_port {
                Some(end) if end >= start => (start..=end).contains(&port),
                _ => start == port,
            },
            None => false,
        },
    }
}

/// How far a rule's peers (`from` or `to`) cover `peer`.
fn peers_fit(
    index: &NetworkPolicyIndex,
    inv: &Inventory,
    policy: &NetworkPolicy,
    peers: Option<&[NetworkPolicyPeer]>,
    peer: Source,
) -> Fit {
    let Some(peers) = peers.filter(|p| !p.is_empty()) else {
        return Fit::All;
    };
    peers
        .iter()
        .map(|p| peer_fit(index, inv, policy, p, peer))
        .max()
        .unwrap_or(Fit::No)
}

fn peer_fit(
    index: &NetworkPolicyIndex,
    inv: &Inventory,
    policy: &NetworkPolicy,
    rule_peer: &NetworkPolicyPeer,
    peer: Source,
) -> Fit {
    if let Some(block) = &rule_peer.ip_block {
        return ip_block_fit(block, peer);
    }
    let (pods, namespaces) = (&rule_peer.pod_selector, &rule_peer.namespace_selector);
    if pods.is_none() && namespaces.is_none() {
        // The API server rejects a peer with no field; nothing can match it.
        return Fit::No;
    }
    match peer {
        Source::Outside => Fit::No,
        Source::Pod(w) => {
            let workload = &inv.workloads[w];
            let namespace_ok = match namespaces {
                None => workload.namespace == policy.namespace,
                Some(sel) => sel.matches(&index.namespace_labels(&workload.namespace)),
            };
            let pod_ok = pods.as_ref().is_none_or(|s| s.matches(&workload.labels));
            if namespace_ok && pod_ok {
                Fit::All
            } else {
                Fit::No
            }
        }
        Source::AnyPod => {
            let every_namespace = namespaces.as_ref().is_some_and(LabelSelector::is_empty);
            let every_pod = pods.as_ref().is_none_or(LabelSelector::is_empty);
            if every_namespace && every_pod {
                Fit::All
            } else {
                Fit::Some
            }
        }
    }
}

/// Does an `ipBlock` match pod addresses? Only when it covers every address and no exception
/// takes out a private range of a pod network's size (a /16 or larger): pod IPs are not in the
/// manifests, so a narrower CIDR cannot be said to hold them.
pub fn ip_block_covers_pods(block: &IpBlock) -> bool {
    let Some(cidr) = Cidr::parse(&block.cidr) else {
        return false;
    };
    cidr.is_everything()
        && block
            .except
            .iter()
            .filter_map(|e| Cidr::parse(e))
            .all(|e| !(e.prefix <= 16 && e.overlaps_private()))
}

fn ip_block_fit(block: &IpBlock, peer: Source) -> Fit {
    let Some(cidr) = Cidr::parse(&block.cidr) else {
        return Fit::No;
    };
    let excepts: Vec<Cidr> = block.except.iter().filter_map(|e| Cidr::parse(e)).collect();
    match peer {
        Source::Pod(_) | Source::AnyPod => {
            if ip_block_covers_pods(block) {
                Fit::All
            } else {
                Fit::No
            }
        }
        Source::Outside => {
            if cidr.is_everything() && excepts.is_empty() {
                Fit::All
            } else if cidr.is_private() {
                Fit::No
            } else {
                Fit::Some
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_overlap() {
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.is_everything());
        let ten = Cidr::parse("10.0.0.0/8").unwrap();
        let sub = Cidr::parse("10.1.2.0/24").unwrap();
        assert!(ten.overlaps(&sub) && sub.overlaps(&ten));
        assert!(!ten.overlaps(&Cidr::parse("11.0.0.0/8").unwrap()));
        assert!(all.overlaps(&sub));
        assert!(sub.is_private() && !all.is_private());
        assert!(!Cidr::parse("8.8.8.0/24").unwrap().is_private());
        assert!(Cidr::parse("fd00::/8").unwrap().is_private());
        assert!(!ten.overlaps(&Cidr::parse("::/0").unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn ip_blocks_match_pods_only_when_they_cover_every_address() {
        let block = |cidr: &str, except: &[&str]| IpBlock {
            cidr: cidr.into(),
            except: except.iter().map(|s| (*s).to_owned()).collect(),
        };
        assert_eq!(
            ip_block_fit(&block("0.0.0.0/0", &[]), Source::AnyPod),
            Fit::All
        );
        assert_eq!(
            ip_block_fit(&block("0.0.0.0/0", &["169.254.169.254/32"]), Source::AnyPod),
            Fit::All
        );
        assert_eq!(
            ip_block_fit(&block("0.0.0.0/0", &["10.0.0.0/8"]), Source::AnyPod),
            Fit::No
        );
        // A small private exception leaves pod networks in.
        assert_eq!(
            ip_block_fit(&block("0.0.0.0/0", &["10.1.2.0/24"]), Source::AnyPod),
            Fit::All
        );
        assert_eq!(
            ip_block_fit(&block("10.0.0.0/8", &[]), Source::AnyPod),
            Fit::No
        );
        assert_eq!(
            ip_block_fit(&block("0.0.0.0/0", &[]), Source::Outside),
            Fit::All
        );
        assert_eq!(
            ip_block_fit(&block("203.0.113.0/24", &[]), Source::Outside),
            Fit::Some
        );
        assert_eq!(
            ip_block_fit(&block("10.0.0.0/8", &[]), Source::Outside),
            Fit::No
        );
    }
}
