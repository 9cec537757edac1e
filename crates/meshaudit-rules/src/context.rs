use std::sync::OnceLock;

use meshaudit_engine::destination_rule::DestinationRules;
use meshaudit_engine::linkerd::membership::{app_ports, AppPort, LinkerdMembership, NotMeshed};
use meshaudit_engine::linkerd::policy::LinkerdPolicy;
use meshaudit_engine::peer_authentication::PeerAuthentications;
use meshaudit_engine::webhooks::Hook;
use meshaudit_engine::Graph;
use meshaudit_model::Inventory;

use crate::advisories::linkerd::LinkerdAdvisoryDb;
use crate::advisories::AdvisoryDb;

/// What a rule reads: the inventory, the effective-policy graph built from it, and the time
/// "now" (fixed in tests, so certificate ages and snapshots do not drift).
pub struct Context<'a> {
    pub inventory: &'a Inventory,
    /// Built on first use: `meshaudit certs` runs only rules that never ask for it.
    graph: OnceLock<Graph>,
    /// Unix seconds.
    pub now: i64,
    /// When certificate expiry becomes a finding, and how severe.
    pub expiry: ExpiryThresholds,
    /// Security bulletins component versions are matched against (the bundled database unless
    /// `--advisories` names another file).
    pub advisories: &'a AdvisoryDb,
    /// Linkerd's advisories (the bundled database unless `--advisories` names another file).
    pub linkerd_advisories: &'a LinkerdAdvisoryDb,
    /// Components recognised in the workloads' images, shared by the dependency rules.
    dependency_instances: OnceLock<Vec<meshaudit_engine::components::Instance>>,
    /// Every admission webhook of the input, recognised once.
    webhooks: OnceLock<Vec<Hook<'a>>>,
    /// Istio's resolvers, built once for the rules that ask them directly.
    peer_authentications: OnceLock<PeerAuthentications<'a>>,
    destination_rules: OnceLock<DestinationRules<'a>>,
    /// Linkerd's authorization model, built once for the Linkerd rules.
    linkerd_policy: OnceLock<LinkerdPolicy<'a>>,
    /// Every workload's Linkerd membership, in inventory order.
    linkerd_membership: OnceLock<Vec<LinkerdMembership>>,
    /// Served ports of the workloads Linkerd rules look at, in inventory order.
    linkerd_app_ports: OnceLock<Vec<Vec<AppPort>>>,
}

/// Days before `notAfter` at which a certificate's expiry is reported. An authority (trust
/// anchor, signing CA, webhook CA) that is expired or within `critical_days` is critical: every
/// identity it vouches for fails at once. Otherwise `high_days`, then `medium_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryThresholds {
    pub critical_days: i64,
    pub high_days: i64,
    pub medium_days: i64,
}

impl Default for ExpiryThresholds {
    fn default() -> Self {
        ExpiryThresholds {
            critical_days: 7,
            high_days: 30,
            medium_days: 60,
        }
    }
}

impl<'a> Context<'a> {
    pub fn new(inventory: &'a Inventory, now: i64) -> Self {
        Context {
            inventory,
            graph: OnceLock::new(),
            now,
            expiry: ExpiryThresholds::default(),
            advisories: AdvisoryDb::bundled(),
            linkerd_advisories: LinkerdAdvisoryDb::bundled(),
            dependency_instances: OnceLock::new(),
            webhooks: OnceLock::new(),
            peer_authentications: OnceLock::new(),
            destination_rules: OnceLock::new(),
            linkerd_policy: OnceLock::new(),
            linkerd_membership: OnceLock::new(),
            linkerd_app_ports: OnceLock::new(),
        }
    }

    /// The components (mesh control plane, proxies, add-ons) recognised in the workloads.
    pub(crate) fn dependency_instances(&self) -> &[meshaudit_engine::components::Instance] {
        self.dependency_instances
            .get_or_init(|| meshaudit_engine::components::find_instances(self.inventory))
    }

    /// Every webhook of every admission webhook configuration, in input order, with the product
    /// and role it was recognised as.
    pub fn webhooks(&self) -> &[Hook<'a>] {
        self.webhooks
            .get_or_init(|| meshaudit_engine::webhooks::hooks(self.inventory))
    }

    /// Which PeerAuthentication applies to which workload (Istio's precedence).
    pub fn peer_authentications(&self) -> &PeerAuthentications<'a> {
        self.peer_authentications
            .get_or_init(|| PeerAuthentications::new(self.inventory))
    }

    /// Which DestinationRule a client gets for a host (Istio's lookup).
    pub fn destination_rules(&self) -> &DestinationRules<'a> {
        self.destination_rules
            .get_or_init(|| DestinationRules::new(self.inventory))
    }

    /// Linkerd's authorization model: which Server governs each pod port, what each
    /// authorization admits, and the reference facts the Linkerd rules report.
    pub fn linkerd_policy(&self) -> &LinkerdPolicy<'a> {
        self.linkerd_policy.get_or_init(|| {
            LinkerdPolicy::with_membership(self.inventory, self.linkerd_membership())
        })
    }

    /// Does each workload get Linkerd's proxy, what does it capture, which identity does it
    /// get (indexed like `inventory.workloads`).
    pub fn linkerd_membership(&self) -> &[LinkerdMembership] {
        self.linkerd_membership
            .get_or_init(|| LinkerdMembership::of_all(self.inventory, self.webhooks()))
    }

    /// The ports each Linkerd-meshed workload serves — TCP ports its containers declare and
    /// ports Services selecting it target — and those of workloads opted out of injection
    /// (indexed like `inventory.workloads`; other workloads get none, which keeps inputs
    /// without Linkerd cheap).
    pub fn linkerd_app_ports(&self) -> &[Vec<AppPort>] {
        self.linkerd_app_ports.get_or_init(|| {
            let memberships = self.linkerd_membership();
            app_ports(self.inventory, |w| {
                let m = &memberships[w.index()];
                m.meshed
                    || matches!(
                        m.not_meshed,
                        Some(NotMeshed::PodDisabled | NotMeshed::InvalidPodValue)
                    )
            })
        })
    }

    /// The effective-policy graph of the inventory, built from the same resolvers and webhook
    /// classification the rules read.
    pub fn graph(&self) -> &Graph {
        self.graph.get_or_init(|| {
            meshaudit_engine::graph::build_from(
                self.inventory,
                &meshaudit_engine::graph::Resolvers {
                    hooks: self.webhooks(),
                    peer_authentications: self.peer_authentications(),
                    destination_rules: self.destination_rules(),
                    linkerd_membership: self.linkerd_membership(),
                    linkerd_policy: self.linkerd_policy(),
                },
            )
        })
    }
}
