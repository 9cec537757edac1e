//! Istio's evaluator for the effective-policy graph: membership (sidecar, ambient, gateway;
//! what iptables captures), transport (PeerAuthentication modes, DestinationRule TLS, auto mTLS)
//! and authorization (AuthorizationPolicy, with RequestAuthentication for JWT conditions).

use crate::{HashMap, HashSet};
use std::cell::OnceCell;

use meshaudit_model::istio::{ClientTlsMode, MtlsMode};
use meshaudit_model::k8s::Workload;
use meshaudit_model::parallel::map_in_order;
use meshaudit_model::{
    AuthorizationPolicyId, Idx, Inventory, Mesh, RequestAuthenticationId, WorkloadId,
};

use crate::authorization::{
    pattern_matches, AuthorizationPolicies, AuthzDecision, PeerIdentity, Request,
};
use crate::destination_rule::{
    client_tls_mode_str, service_host, ClientTls, ClientTlsChoice, DestinationRules,
};
use crate::evidence::Because;
use crate::graph::{
    Client, EdgeGroup, ForeignOrigination, Originated, Origination, PortToEvaluate, ServerPort,
    ServicePortRef, Shared, SortedMap, Transport, WorkloadNode,
};
use crate::membership::{injectors_of, membership, DataPlane, InjectorWebhook, Membership};
use crate::peer_authentication::{ModeDecision, PeerAuthentications};
use crate::protocol::{Layer, Protocol};
use crate::scope::applies_to;

/// The client side of a connection, as transport and authorization read it.
struct ClientSide<'a> {
    client: Client,
    /// The client has a proxy (capture per destination port is checked separately).
    meshed: bool,
    workload: Option<&'a Workload>,
    membership: Option<&'a Membership>,
    namespace: &'a str,
    peer: PeerIdentity,
    /// The client runs another mesh's proxy, which sends what it would send to a pod outside
    /// its mesh: no Istio mutual TLS.
    foreign: Option<Mesh>,
}

/// What an [`AuthzDecision`] depends on besides the peer the server sees: the id of the list of
/// policies, the port, how the proxy parses it (as a number), and whether a JWT is validated.
type AuthzKey = (u32, u16, u8, bool);

pub(crate) struct Builder<'r, 'a> {
    inventory: &'a Inventory,
    /// Answers of [`AuthorizationPolicies::evaluate`] by (id of the list of policies that apply,
    /// request): workloads under the same namespace-wide policies ask the same questions for
    /// every port, so each is answered once. Shared by the threads that build server ports.
    /// By peer within the request, so that a lookup borrows the peer rather than copying it.
    authz_answers: std::sync::Mutex<HashMap<AuthzKey, HashMap<PeerIdentity, AuthzDecision>>>,
    peer_authentications: &'r PeerAuthentications<'a>,
    destination_rules: &'r DestinationRules<'a>,
    authorization: AuthorizationPolicies<'a>,
    trust_domain: &'a str,
    aliases: &'a [String],
    auto_mtls: bool,
    auto_mtls_because: Because,
    injectors: Vec<InjectorWebhook>,
    /// Per workload (by its index): the AuthorizationPolicies that apply, root-namespace ones
    /// first.
    authorization_policies: Vec<Vec<AuthorizationPolicyId>>,
    /// Per workload (by its index): the RequestAuthentications that apply.
    request_authentications: Vec<Vec<RequestAuthenticationId>>,
}

impl<'r, 'a> Builder<'r, 'a> {
    pub(crate) fn new(inventory: &'a Inventory, facts: &crate::graph::Resolvers<'r, 'a>) -> Self {
        let inv = inventory;
        let mesh = inv.istio.mesh_config.as_ref();
        let auto_mtls = mesh.and_then(|m| m.config.enable_auto_mtls).unwrap_or(true);
        let auto_mtls_because = match mesh {
            Some(m) if m.config.enable_auto_mtls.is_some() => Because::object(
                m.object,
                format!("mesh config sets enableAutoMtls: {auto_mtls}"),
            ),
            _ => Because::default("auto mTLS is on (Istio's default)"),
        };
        let aliases: &[String] = mesh.map_or(&[], |m| m.config.trust_domain_aliases.as_slice());
        let mut authorization_policies = applicable_by_workload(
            inv,
            inv.istio.authorization_policies.iter().map(|p| Scoped {
                namespace: &p.namespace,
                selector: p.spec.selector.as_ref(),
                target_refs: p.spec.has_target_refs(),
            }),
        );
        // Root-namespace policies first, as istiod lists them, each part in input order.
        let root = inv.istio.root_namespace();
        for list in &mut authorization_policies {
            list.sort_by_key(|&p| (inv.istio.authorization_policy(p).namespace != root, p));
        }
        let request_authentications = applicable_by_workload(
            inv,
            inv.istio.request_authentications.iter().map(|r| Scoped {
                namespace: &r.namespace,
                selector: r.spec.selector.as_ref(),
                target_refs: r.spec.target_ref.is_some() || !r.spec.target_refs.is_empty(),
            }),
        );
        Builder {
            inventory,
            authz_answers: Default::default(),
            peer_authentications: facts.peer_authentications,
            destination_rules: facts.destination_rules,
            authorization: AuthorizationPolicies::new(inventory),
            trust_domain: inventory.istio.trust_domain(),
            aliases,
            auto_mtls,
            auto_mtls_because,
            injectors: injectors_of(facts.hooks),
            authorization_policies,
            request_authentications,
        }
    }

    pub(crate) fn trust_domain(&self) -> &'a str {
        self.trust_domain
    }

    pub(crate) fn auto_mtls(&self) -> bool {
        self.auto_mtls
    }

    /// Workload `i` as Istio sees it (without a proxy when Istio does not inject it).
    pub(crate) fn node(&self, i: WorkloadId) -> WorkloadNode {
        let inv = self.inventory;
        let w = &inv.workloads[i];
        let membership = membership(inv, &self.injectors, w);
        let meshed = membership.data_plane.is_meshed();
        let identity = meshed.then(|| {
            format!(
                "spiffe://{}/ns/{}/sa/{}",
                self.trust_domain, w.namespace, w.service_account
            )
        });
        WorkloadNode {
            namespace: w.namespace.clone(),
            mesh: meshed.then_some(Mesh::Istio),
            identity,
            mtls: self.peer_authentications.resolve(w),
            authorization_policies: self.authorization_policies[i.index()].clone(),
            request_authentications: self.request_authentications[i.index()].clone(),
            services: Vec::new(),
            membership,
        }
    }

    /// What every server port's evaluation reads, computed once before them.
    pub(crate) fn prepare<'b>(&'b self, shared: &Shared<'_, 'a>) -> Prepared<'b, 'r, 'a> {
        let inv = self.inventory;
        // Workloads under the same policies share an id, the key of their answers.
        // Lists whose policies never read the destination port answer alike on every port.
        let mut list_ids: HashMap<&[AuthorizationPolicyId], u32> = HashMap::default();
        let mut port_blind: Vec<bool> = Vec::new();
        let policy_lists: Vec<u32> = shared
            .nodes
            .iter()
            .map(|n| {
                let list = n.authorization_policies.as_slice();
                let next = u32::try_from(list_ids.len()).unwrap_or(u32::MAX);
                let id = *list_ids.entry(list).or_insert(next);
                if id == next {
                    port_blind.push(list.iter().all(|&p| {
                        !crate::authorization::reads_port(&inv.istio.authorization_policy(p).spec)
                    }));
                }
                id
            })
            .collect();
        drop(list_ids);
        let policies: Vec<AuthorizationPolicyId> =
            AuthorizationPolicyId::all(&inv.istio.authorization_policies).collect();
        let namespace_index = NamespaceIndex::new(shared.by_namespace);
        let policy_names = map_in_order(&policies, |&p| self.policy_names(p, &namespace_index));
        Prepared {
            builder: self,
            policy_lists,
            port_blind,
            clients: ClientIndex::new(inv, shared),
            policy_names,
        }
    }
}

/// The Istio evaluator, ready to evaluate server ports.
pub(crate) struct Prepared<'b, 'r, 'a> {
    builder: &'b Builder<'r, 'a>,
    /// Per workload (by its index): the id of the list of AuthorizationPolicies that apply to
    /// it.
    policy_lists: Vec<u32>,
    /// Per list id: none of its policies reads the destination port.
    port_blind: Vec<bool>,
    clients: ClientIndex<'a>,
    /// Per AuthorizationPolicy (by its index).
    policy_names: Vec<PolicyNames<'a>>,
}

impl Prepared<'_, '_, '_> {
    pub(crate) fn server_port(&self, shared: &Shared<'_, '_>, todo: &PortToEvaluate) -> ServerPort {
        let lookups = Lookups {
            policy_lists: &self.policy_lists,
            port_blind: &self.port_blind,
            nodes: shared.nodes,
            by_namespace: shared.by_namespace,
            clients: &self.clients,
            policy_names: &self.policy_names,
        };
        self.builder.server_port(
            shared,
            &lookups,
            todo.workload,
            todo.port,
            todo.services.clone(),
        )
    }

    /// Namespaces with an ambient workload.
    pub(crate) fn ambient_namespaces(&self) -> HashSet<String> {
        self.clients
            .ambient
            .keys()
            .map(|&ns| ns.to_owned())
            .collect()
    }
}

/// What the prefix of a wildcard identity pattern says about the namespaces it can match.
enum FixedNamespace<'p> {
    /// Only identities of this namespace.
    One(&'p str),
    /// Only whole namespaces, those whose name starts with this (the prefix ends inside the
    /// namespace name).
    CoveredOnly(&'p str),
    /// No local identity (another trust domain).
    Unknown,
}

fn fixed_namespace<'p>(
    kind: IdentityPattern,
    prefix: &'p str,
    domains: &[&str],
) -> FixedNamespace<'p> {
    let rest = match kind {
        IdentityPattern::Principal => {
            match domains
                .iter()
                .find_map(|td| prefix.strip_prefix(td).and_then(|r| r.strip_prefix("/ns/")))
            {
                Some(rest) => rest,
                None => return FixedNamespace::Unknown,
            }
        }
        IdentityPattern::ServiceAccount => prefix,
    };
    match rest.split_once('/') {
        Some((ns, _)) => FixedNamespace::One(ns),
        None => FixedNamespace::CoveredOnly(rest),
    }
}

/// Does the wildcard `prefix*` match every identity of `namespace`?
fn covers_namespace(
    kind: IdentityPattern,
    prefix: &str,
    domains: &[&str],
    namespace: &str,
) -> bool {
    match kind {
        IdentityPattern::Principal => domains
            .iter()
            .any(|td| format!("{td}/ns/{namespace}/sa/").starts_with(prefix)),
        IdentityPattern::ServiceAccount => format!("{namespace}/").starts_with(prefix),
    }
}

/// How a selector-scoped policy (AuthorizationPolicy, RequestAuthentication) is attached.
struct Scoped<'p> {
    namespace: &'p str,
    selector: Option<&'p meshaudit_model::selector::WorkloadSelector>,
    target_refs: bool,
}

/// For every workload (by its index), the policies (in input order) that apply to it: `policies`
/// is the list of `T` whose indexes come out. Selector policies find their workloads through the
/// label index rather than testing every workload of their namespace, which is quadratic in
/// namespaces that hold thousands of workloads and policies.
fn applicable_by_workload<'p, T>(
    inv: &Inventory,
    policies: impl Iterator<Item = Scoped<'p>>,
) -> Vec<Vec<Idx<T>>> {
    let root = inv.istio.root_namespace();
    let mut out: Vec<Vec<Idx<T>>> = vec![Vec::new(); inv.workloads.len()];
    for (i, p) in policies.enumerate() {
        if p.target_refs {
            continue;
        }
        let candidates: Vec<WorkloadId> = match p.selector.filter(|s| !s.match_labels.is_empty()) {
            Some(selector) if p.namespace == root => inv.workloads_matching(&selector.match_labels),
            Some(selector) => inv.workloads_matching_in(p.namespace, &selector.match_labels),
            None if p.namespace == root => inv.workload_ids().collect(),
            None => inv.workload_indexes_in(p.namespace).to_vec(),
        };
        for w in candidates {
            if applies_to(root, p.namespace, p.selector, false, &inv.workloads[w]).is_some() {
                out[w.index()].push(Idx::new(i));
            }
        }
    }
    out
}

/// Does `pattern` (a principal) name identity `(namespace, sa)` under any of `domains`?
fn principal_names(pattern: &str, domains: &[&str], namespace: &str, sa: &str) -> bool {
    domains
        .iter()
        .any(|td| pattern_matches(pattern, &format!("{td}/ns/{namespace}/sa/{sa}")))
}

impl<'a> Builder<'_, 'a> {
    fn server_port(
        &self,
        shared: &Shared<'_, '_>,
        lookups: &Lookups<'_, '_>,
        w: WorkloadId,
        port: u16,
        services: Vec<ServicePortRef>,
    ) -> ServerPort {
        let Lookups {
            policy_lists,
            port_blind,
            nodes,
            by_namespace,
            clients,
            policy_names,
        } = *lookups;
        let inv = self.inventory;
        let workload = &inv.workloads[w];
        let node = &nodes[w.index()];
        let (protocol, protocol_because) = match services.first() {
            Some(r) => {
                let service = &inv.services[r.service];
                let sp = &service.spec.ports[r.index];
                let (protocol, field) = Protocol::of_service_port(sp);
                let fact = if field.is_empty() {
                    format!(
                        "port {} declares no protocol, so Istio {}",
                        sp.port,
                        detection_text(protocol)
                    )
                } else {
                    format!("port {} is {} by its {field}", sp.port, protocol.as_str())
                };
                (
                    protocol,
                    Because::at(
                        service.object,
                        &["spec".into(), "ports".into(), r.index.into()],
                        fact,
                    ),
                )
            }
            None => {
                let protocol = Protocol::by_port_number(port);
                (
                    protocol,
                    Because::object(
                        workload.object,
                        format!(
                            "container port {port} is in no Service, so Istio {}",
                            detection_text(protocol)
                        ),
                    ),
                )
            }
        };
        let data_plane = &node.membership.data_plane;
        let proxied = matches!(data_plane, DataPlane::Sidecar | DataPlane::Ambient)
            && node.membership.capture.inbound.captures(port);
        let mut mode = node.mtls.for_port(port).clone();
        if *data_plane == DataPlane::Ambient && mode.mode == MtlsMode::Disable {
            mode.mode = MtlsMode::Permissive;
            mode.because.push(Because::default(
                "ambient mode (ztunnel) ignores DISABLE, so the port stays PERMISSIVE",
            ));
        }

        // Which clients the policies and DestinationRules tell apart.
        let mut named_namespaces: HashSet<&str> = HashSet::default();
        let mut identities: HashSet<(&str, &str)> = HashSet::default();
        for &p in &node.authorization_policies {
            named_namespaces.extend(policy_names[p.index()].namespaces.iter().copied());
            identities.extend(policy_names[p.index()].identities.iter().copied());
        }
        // Namespaces whose clients the policies name, or that have their own DestinationRule
        // for the host, get one group for their meshed clients — unless a DestinationRule with
        // a workload selector tells their workloads apart (then they go one by one).
        let mut individual_namespaces: HashSet<&str> = HashSet::default();
        let mut group_namespaces: HashSet<&str> = named_namespaces;
        let mut own_views: Vec<Vec<&str>> = Vec::with_capacity(services.len());
        let mut hosts: Vec<String> = Vec::with_capacity(services.len());
        for r in &services {
            let host = service_host(&inv.services[r.service]);
            let own_view = self.destination_rules.namespaces_with_own_view(&host);
            for &ns in &own_view {
                if self.destination_rules.has_selector_rule(ns, &host) {
                    individual_namespaces.insert(ns);
                } else {
                    group_namespaces.insert(ns);
                }
            }
            own_views.push(own_view);
            hosts.push(host);
        }
        let mut individual_clients: Vec<WorkloadId> = Vec::new();
        for ns in &individual_namespaces {
            individual_clients.extend(by_namespace.get(ns).into_iter().flatten());
        }
        // Ambient clients ignore DestinationRules and present their own identity through
        // ztunnel; they are few, so they go one by one. Clients without a proxy send no
        // identity, so the catch-all group answers for them.
        let mut namespace_group_clients: Vec<&str> = Vec::new();
        for ns in &group_namespaces {
            if individual_namespaces.contains(ns) {
                continue;
            }
            individual_clients.extend(clients.ambient_in(ns));
            if clients.proxied_namespaces.contains(ns) {
                namespace_group_clients.push(ns);
            }
        }
        namespace_group_clients.sort_unstable();
        // Identities the policies name: one group per identity for its clients with a sidecar
        // or gateway proxy (they present the same certificate), ambient ones one by one.
        let mut identity_group_clients: Vec<(u32, &str, &str)> = Vec::new();
        for &(ns, sa) in &identities {
            if individual_namespaces.contains(ns) {
                continue;
            }
            let Some(&id) = clients.identity_ids.get(&(ns, sa)) else {
                continue;
            };
            let members = &clients.identities[id as usize];
            individual_clients.extend(members.ambient.iter().copied());
            if members.proxied {
                identity_group_clients.push((id, ns, sa));
            }
        }
        identity_group_clients.sort_unstable();
        individual_clients.sort_unstable();
        individual_clients.dedup();

        let request_authn = !node.request_authentications.is_empty();
        let layer = if *data_plane == DataPlane::Ambient {
            // Without a waypoint, ztunnel enforces only connection-level fields.
            Layer::Tcp
        } else {
            protocol.layer()
        };
        let server = ServerSide {
            workload,
            name: format!("{}/{}", workload.namespace, workload.name),
            node,
            policy_list: policy_lists[w.index()],
            port_blind: port_blind[policy_lists[w.index()] as usize],
            port,
            services: &services,
            proxied,
            mode: &mode,
            layer,
            request_authn,
            outcomes: Default::default(),
            no_service_path: OnceCell::new(),
            others_variants: vec![OnceCell::new(); services.len()],
            own_views,
            hosts,
            service_level: OnceCell::new(),
        };

        let mut groups = Vec::with_capacity(
            individual_clients.len()
                + identity_group_clients.len()
                + namespace_group_clients.len()
                + 2,
        );
        let mut individual = Vec::new();
        for c in individual_clients {
            let cw = &inv.workloads[c];
            let cn = &nodes[c.index()];
            let foreign = cn.mesh.filter(|&m| m != Mesh::Istio);
            let side = ClientSide {
                client: Client::Workload(c),
                meshed: cn.membership.data_plane.is_meshed() && foreign.is_none(),
                workload: Some(cw),
                membership: Some(&cn.membership),
                namespace: &cw.namespace,
                peer: PeerIdentity::Known {
                    namespace: cw.namespace.clone(),
                    service_account: cw.service_account.clone(),
                },
                foreign,
            };
            individual.push((c, groups.len()));
            groups.push(self.evaluate(&side, &server));
        }
        let mut identity_groups = Vec::new();
        for (id, ns, sa) in identity_group_clients {
            identity_groups.push((id, groups.len()));
            groups.push(self.evaluate(
                &ClientSide {
                    client: Client::OtherMeshed,
                    meshed: true,
                    workload: None,
                    membership: None,
                    namespace: ns,
                    peer: PeerIdentity::Known {
                        namespace: ns.to_owned(),
                        service_account: sa.to_owned(),
                    },
                    foreign: None,
                },
                &server,
            ));
        }
        let mut namespace_groups = Vec::new();
        for ns in namespace_group_clients {
            namespace_groups.push((ns.to_owned(), groups.len()));
            groups.push(self.evaluate(
                &ClientSide {
                    client: Client::OtherMeshed,
                    meshed: true,
                    workload: None,
                    membership: None,
                    namespace: ns,
                    peer: PeerIdentity::Namespace {
                        namespace: ns.to_owned(),
                    },
                    foreign: None,
                },
                &server,
            ));
        }
        // The catch-all groups: Istio's own meshed clients, clients without a proxy, and the
        // clients of each other mesh.
        let (mut other_meshed, mut other_unmeshed) = (0, 0);
        let mut other_meshes = Vec::new();
        for (class, mesh) in shared.catch_all_classes() {
            let foreign = mesh.filter(|&m| m != Mesh::Istio);
            let index = groups.len();
            groups.push(self.evaluate(
                &ClientSide {
                    client: class,
                    meshed: mesh == Some(Mesh::Istio),
                    workload: None,
                    membership: None,
                    namespace: "",
                    peer: if mesh == Some(Mesh::Istio) {
                        PeerIdentity::Other
                    } else {
                        PeerIdentity::None
                    },
                    foreign,
                },
                &server,
            ));
            match class {
                Client::OtherMeshed => other_meshed = index,
                Client::OtherUnmeshed => other_unmeshed = index,
                Client::OtherMesh(m) => other_meshes.push((m, index)),
                Client::Workload(_) => {}
            }
        }
        ServerPort {
            workload: w,
            port,
            protocol,
            protocol_because,
            services,
            proxied,
            mode,
            groups,
            // Each list was built in key order, without repeats.
            mesh: Mesh::Istio,
            linkerd: None,
            individual: SortedMap::from_sorted(individual),
            identity_groups: SortedMap::from_sorted(identity_groups),
            namespace_groups: SortedMap::from_sorted(namespace_groups),
            other_meshed,
            other_unmeshed,
            other_meshes,
            foreign_namespace_groups: Vec::new(),
        }
    }

    /// The namespaces and identities one AuthorizationPolicy's sources and conditions name
    /// (wildcards expanded against the input), read once per policy rather than per port.
    fn policy_names(
        &self,
        policy: AuthorizationPolicyId,
        namespaces: &NamespaceIndex<'_, 'a>,
    ) -> PolicyNames<'a> {
        let mut named_namespaces: HashSet<&'a str> = HashSet::default();
        let mut identities: HashSet<(&'a str, &'a str)> = HashSet::default();
        let mut domains = vec![
            self.trust_domain,
            meshaudit_model::istio::DEFAULT_TRUST_DOMAIN,
        ];
        domains.extend(self.aliases.iter().map(String::as_str));
        let policy = self.authorization.policy(policy);
        for rule in policy.spec.rules() {
            let sources = rule.from.iter().filter_map(|f| f.source.as_ref());
            for s in sources {
                for pattern in s.namespaces.iter().chain(&s.not_namespaces) {
                    self.collect_namespaces(pattern, namespaces, &mut named_namespaces);
                }
                for pattern in s.principals.iter().chain(&s.not_principals) {
                    self.collect_identities(
                        &domains,
                        pattern,
                        IdentityPattern::Principal,
                        namespaces,
                        &mut identities,
                        &mut named_namespaces,
                    );
                }
                for pattern in s.service_accounts.iter().chain(&s.not_service_accounts) {
                    self.collect_identities(
                        &domains,
                        pattern,
                        IdentityPattern::ServiceAccount,
                        namespaces,
                        &mut identities,
                        &mut named_namespaces,
                    );
                }
            }
            for c in &rule.when {
                for pattern in c.values.iter().chain(&c.not_values) {
                    match c.key.as_str() {
                        "source.namespace" => {
                            self.collect_namespaces(pattern, namespaces, &mut named_namespaces);
                        }
                        "source.principal" => {
                            self.collect_identities(
                                &domains,
                                pattern,
                                IdentityPattern::Principal,
                                namespaces,
                                &mut identities,
                                &mut named_namespaces,
                            );
                        }
                        "source.serviceAccount" => {
                            self.collect_identities(
                                &domains,
                                pattern,
                                IdentityPattern::ServiceAccount,
                                namespaces,
                                &mut identities,
                                &mut named_namespaces,
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut namespaces: Vec<&'a str> = named_namespaces.into_iter().collect();
        namespaces.sort_unstable();
        let mut identities: Vec<(&'a str, &'a str)> = identities.into_iter().collect();
        identities.sort_unstable();
        PolicyNames {
            namespaces,
            identities,
        }
    }

    fn collect_namespaces(
        &self,
        pattern: &str,
        namespaces: &NamespaceIndex<'_, 'a>,
        out: &mut HashSet<&'a str>,
    ) {
        if pattern == "*" {
            return;
        }
        if !pattern.contains('*') {
            if let Some((ns, _)) = namespaces.workloads.get_key_value(pattern) {
                out.insert(ns);
            }
            return;
        }
        if let Some(prefix) = pattern.strip_suffix('*').filter(|p| !p.contains('*')) {
            out.extend(namespaces.with_prefix(prefix).iter().copied());
            return;
        }
        for &ns in &namespaces.sorted {
            if pattern_matches(pattern, ns) {
                out.insert(ns);
            }
        }
    }

    /// Adds the identities `pattern` names: exact patterns directly, wildcards by scanning. A
    /// wildcard that covers every identity of a namespace (`cluster.local/ns/batch/*`) names the
    /// namespace instead, so its clients share one group rather than one each.
    fn collect_identities(
        &self,
        domains: &[&str],
        pattern: &'a str,
        kind: IdentityPattern,
        namespaces: &NamespaceIndex<'_, 'a>,
        out: &mut HashSet<(&'a str, &'a str)>,
        namespaces_out: &mut HashSet<&'a str>,
    ) {
        if pattern == "*" {
            return;
        }
        // A prefix that covers every identity (`cluster.local/ns/*`) singles nobody out.
        if kind == IdentityPattern::Principal
            && pattern.strip_suffix('*').is_some_and(|prefix| {
                !prefix.contains('*')
                    && domains
                        .iter()
                        .any(|td| format!("{td}/ns/").starts_with(prefix))
            })
        {
            return;
        }
        if !pattern.contains('*') {
            let parsed = match kind {
                IdentityPattern::Principal => pattern.split_once("/ns/").and_then(|(td, rest)| {
                    domains
                        .contains(&td)
                        .then(|| rest.split_once("/sa/"))
                        .flatten()
                }),
                IdentityPattern::ServiceAccount => pattern.split_once('/'),
            };
            if let Some(identity) = parsed {
                out.insert(identity);
            }
            return;
        }
        // Namespaces every identity of which the pattern matches, and which workloads can match
        // at all: a prefix that fixes the namespace limits the scan to it (the common
        // `cluster.local/ns/shop/sa/web-*`); one that stops inside the namespace name matches
        // only whole namespaces; anything else scans every workload.
        let prefix = pattern.strip_suffix('*').filter(|p| !p.contains('*'));
        let fixed = prefix.map(|p| (p, fixed_namespace(kind, p, domains)));
        let mut covered: HashSet<&str> = HashSet::default();
        let candidates: Box<dyn Iterator<Item = WorkloadId> + '_> = match fixed {
            Some((prefix, FixedNamespace::One(ns))) => match namespaces.workloads.get_key_value(ns)
            {
                Some((&ns, _)) if covers_namespace(kind, prefix, domains, ns) => {
                    // The whole namespace is covered: nobody to single out.
                    covered.insert(ns);
                    Box::new(std::iter::empty())
                }
                Some((_, workloads)) => Box::new(workloads.iter().copied()),
                None => Box::new(std::iter::empty()),
            },
            Some((_, FixedNamespace::CoveredOnly(name_prefix))) => {
                covered.extend(namespaces.with_prefix(name_prefix).iter().copied());
                Box::new(std::iter::empty())
            }
            Some((_, FixedNamespace::Unknown)) => Box::new(std::iter::empty()),
            None => Box::new(self.inventory.workload_ids()),
        };
        for w in candidates {
            let w = &self.inventory.workloads[w];
            let (ns, sa) = (w.namespace.as_str(), w.service_account.as_str());
            if covered.contains(ns) {
                continue;
            }
            let hit = match kind {
                IdentityPattern::Principal => principal_names(pattern, domains, ns, sa),
                IdentityPattern::ServiceAccount => pattern_matches(pattern, &format!("{ns}/{sa}")),
            };
            if hit {
                out.insert((ns, sa));
            }
        }
        namespaces_out.extend(covered);
    }

    fn evaluate(&self, client: &ClientSide<'_>, server: &ServerSide<'_>) -> EdgeGroup {
        // Each Service path, or the pod address when no Service leads to the port; the most
        // exposed working path is the one reported.
        let mut best: Option<(Transport, Option<ServicePortRef>, Vec<Because>)> = None;
        let paths: Vec<Option<ServicePortRef>> = if server.services.is_empty() {
            vec![None]
        } else {
            server.services.iter().copied().map(Some).collect()
        };
        let ambient_client = client
            .membership
            .is_some_and(|m| m.data_plane == DataPlane::Ambient);
        for (path, via) in paths.into_iter().enumerate() {
            // Each route the client's DestinationRule defines (default, subsets) is a path too.
            let variants = match via {
                Some(v) if client.meshed && !ambient_client => {
                    let service = &self.inventory.services[v.service];
                    let rules = &self.destination_rules;
                    let lookup = |namespace: &str, labels| {
                        rules.client_tls_variants(
                            namespace,
                            labels,
                            service,
                            v.port,
                            &server.workload.labels,
                        )
                    };
                    let found = if client.workload.is_none()
                        && rules.shares_others_view(client.namespace, &server.own_views[path])
                    {
                        let others = server.others_variants[path].get_or_init(|| lookup("", None));
                        rules.retarget_variants(others, client.namespace, &server.hosts[path])
                    } else {
                        lookup(client.namespace, client.workload.map(|w| &w.labels))
                    };
                    found.into_iter().map(Some).collect()
                }
                _ => vec![None],
            };
            for tls in variants {
                let (t, because) = self.transport(client, server, via, tls);
                if best
                    .as_ref()
                    .is_none_or(|(b, _, _)| t.exposure() > b.exposure())
                {
                    best = Some((t, via, because));
                }
            }
        }
        let (transport, via, transport_because) = best.expect("at least one path");
        let peer = if transport == Transport::Mtls {
            client.peer.clone()
        } else {
            PeerIdentity::None
        };
        let authorization = (server.proxied && transport != Transport::Fails).then(|| {
            let key: AuthzKey = (
                server.policy_list,
                if server.port_blind { 0 } else { server.port },
                server.layer as u8,
                server.request_authn,
            );
            let answers = || {
                self.authz_answers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            if let Some(known) = answers().get(&key).and_then(|by_peer| by_peer.get(&peer)) {
                return known.clone();
            }
            let request = Request {
                peer: &peer,
                port: server.port,
                layer: server.layer,
                jwt: server.request_authn,
                trust_domain: self.trust_domain,
                trust_domain_aliases: self.aliases,
            };
            let decision = self
                .authorization
                .evaluate(&server.node.authorization_policies, &request);
            answers()
                .entry(key)
                .or_default()
                .insert(peer.clone(), decision.clone());
            decision
        });
        EdgeGroup {
            client: client.client,
            namespace: (!client.namespace.is_empty() && client.workload.is_none())
                .then(|| client.namespace.to_owned()),
            transport,
            peer,
            via,
            transport_because,
            authorization,
        }
    }

    /// What the client sends on one path, and what the server makes of it.
    fn transport(
        &self,
        client: &ClientSide<'_>,
        server: &ServerSide<'_>,
        via: Option<ServicePortRef>,
        tls: Option<ClientTls>,
    ) -> (Transport, Vec<Because>) {
        let mut because = Vec::new();
        let destination_port = via.map_or(server.port, |v| v.port);

        // Does the client's proxy handle the connection?
        let mut client_proxy = client.meshed;
        if let Some(mesh) = client.foreign {
            because.push(Because::default(foreign_client_text(mesh)));
        }
        match client.membership {
            _ if client.foreign.is_some() => {}
            Some(m) if !m.data_plane.is_meshed() => {
                because.extend(m.because.iter().cloned());
                because.push(Because::default(
                    "the client has no proxy, so it sends plaintext",
                ));
            }
            Some(m) => {
                let capture = &m.capture;
                if !capture.captures_outbound(destination_port) {
                    client_proxy = false;
                    because.extend(capture.because.iter().cloned());
                    because.push(Because::default(format!(
                        "so the client's connections to port {destination_port} leave without its proxy, in plaintext"
                    )));
                }
            }
            None if !client.meshed => {
                because.push(Because::default("a client without a proxy sends plaintext"))
            }
            None => {}
        }

        // What the client sends.
        let ambient_client = client
            .membership
            .is_some_and(|m| m.data_plane == DataPlane::Ambient);
        let sent = if !client_proxy {
            Sent::Plain
        } else if ambient_client {
            if matches!(
                server.node.membership.data_plane,
                DataPlane::Sidecar | DataPlane::Ambient
            ) {
                because.push(Because::default(
                    "the client is in ambient mode: ztunnel carries the connection over HBONE mutual TLS (DestinationRule TLS settings do not apply at L4)",
                ));
                Sent::Mtls
            } else {
                because.push(Because::default(
                    "the client is in ambient mode and the server has no proxy, so ztunnel sends plaintext",
                ));
                Sent::Plain
            }
        } else if let (Some(_), Some(tls)) = (via, tls) {
            because.extend(tls.because);
            match tls.choice {
                ClientTlsChoice::Explicit(mode) => explicit_sent(mode, &mut because),
                ClientTlsChoice::Auto => self.auto_mtls_choice(server, &mut because),
            }
        } else {
            because.push(
                server
                    .no_service_path
                    .get_or_init(|| {
                        Because::default(format!(
                            "no Service leads to port {}, so clients reach it by pod address and their proxy passes the connection through without mTLS",
                            server.port
                        ))
                    })
                    .clone(),
            );
            Sent::Plain
        };

        // What the server side makes of it: the same for every client that sends the same.
        let (t, tail) =
            server.outcomes[sent as usize].get_or_init(|| self.server_outcome(server, sent));
        because.extend(tail.iter().cloned());
        (*t, because)
    }

    /// What the server port makes of what the client sends, and why.
    fn server_outcome(&self, server: &ServerSide<'_>, sent: Sent) -> (Transport, Vec<Because>) {
        let mode = server.mode.mode;
        let mut because = Vec::new();
        let server_name = &server.name;
        let t = if !server.proxied {
            because.extend(server.node.membership.because.iter().cloned());
            because.extend(server.node.membership.capture.because.iter().cloned());
            match sent {
                Sent::Mtls => {
                    because.push(Because::default(format!(
                        "the client's proxy sends Istio mTLS, but port {} of {server_name} is not behind a proxy, so the application receives TLS it cannot read",
                        server.port
                    )));
                    Transport::Fails
                }
                Sent::Plain => {
                    because.push(Because::default(format!(
                        "port {} of {server_name} is not behind a proxy: plaintext reaches the application directly",
                        server.port
                    )));
                    Transport::Plaintext
                }
                Sent::Tls => Transport::Tls,
            }
        } else {
            because.extend(server.mode.because.iter().cloned());
            match (sent, mode) {
                (Sent::Mtls, MtlsMode::Disable) => {
                    because.push(Because::default(format!(
                        "{server_name} port {} is DISABLE: its proxy does not terminate mTLS, so the connection fails",
                        server.port
                    )));
                    Transport::Fails
                }
                (Sent::Mtls, _) => Transport::Mtls,
                (Sent::Plain | Sent::Tls, MtlsMode::Strict) => {
                    because.push(Because::default(format!(
                        "{server_name} port {} is STRICT: connections without Istio mTLS are rejected",
                        server.port
                    )));
                    Transport::Fails
                }
                (Sent::Plain, m) => {
                    because.push(Because::default(format!(
                        "{server_name} port {} is {}: plaintext is accepted",
                        server.port,
                        m.as_str()
                    )));
                    Transport::Plaintext
                }
                (Sent::Tls, _) => Transport::Tls,
            }
        };
        (t, because)
    }

    /// Auto mTLS: mTLS to endpoints that carry the sidecar's `tlsMode: istio` label, unless the
    /// server side resolves to DISABLE (since Istio 1.12 for workload and port levels) or the
    /// namespace/mesh level does (then the whole service gets plaintext).
    fn auto_mtls_choice(&self, server: &ServerSide<'_>, because: &mut Vec<Because>) -> Sent {
        if !self.auto_mtls {
            because.push(self.auto_mtls_because.clone());
            because.push(Because::default(
                "with auto mTLS off and no tls setting, the client sends plaintext",
            ));
            return Sent::Plain;
        }
        match server.node.membership.data_plane {
            DataPlane::Sidecar | DataPlane::Ambient => {}
            _ => {
                because.push(Because::default(
                    "auto mTLS sends plaintext: the server pods carry no sidecar (no security.istio.io/tlsMode: istio label)",
                ));
                return Sent::Plain;
            }
        }
        if server.node.membership.data_plane == DataPlane::Ambient {
            because.push(Because::default(
                "the server is in ambient mode: the client's sidecar reaches it over HBONE mutual TLS",
            ));
            return Sent::Mtls;
        }
        let service_level = server
            .service_level
            .get_or_init(|| self.service_level_mode(&server.workload.namespace));
        if service_level.0 == MtlsMode::Disable {
            because.extend(service_level.1.iter().cloned());
            because.push(Because::default(
                "auto mTLS sends plaintext to the whole service, since its namespace/mesh mode is DISABLE",
            ));
            return Sent::Plain;
        }
        if server.mode.mode == MtlsMode::Disable {
            because.push(Because::default(
                "auto mTLS sends plaintext to this endpoint, since its resolved mode is DISABLE",
            ));
            return Sent::Plain;
        }
        because.push(self.auto_mtls_because.clone());
        because.push(Because::default(
            "auto mTLS sends Istio mTLS to the server's sidecar",
        ));
        Sent::Mtls
    }

    /// The namespace (else mesh) mode, the only levels auto mTLS consults service-wide.
    fn service_level_mode(&self, namespace: &str) -> (MtlsMode, Vec<Because>) {
        for p in [
            self.peer_authentications.namespace_wide(namespace),
            self.peer_authentications.mesh_wide(),
        ]
        .into_iter()
        .flatten()
        {
            let mode = p.spec.mode();
            if mode != MtlsMode::Unset {
                return (
                    mode,
                    vec![Because::at(
                        p.object,
                        &["spec".into(), "mtls".into(), "mode".into()],
                        format!("sets {} for the namespace or mesh", mode.as_str()),
                    )],
                );
            }
        }
        (MtlsMode::Permissive, Vec::new())
    }
}

/// What every server port's evaluation reads, computed once before them.
#[derive(Clone, Copy)]
struct Lookups<'l, 'a> {
    /// Per workload (by its index): the id of the list of AuthorizationPolicies that apply to
    /// it.
    policy_lists: &'l [u32],
    /// Per list id: none of its policies reads the destination port.
    port_blind: &'l [bool],
    nodes: &'l [WorkloadNode],
    by_namespace: &'l HashMap<&'a str, Vec<WorkloadId>>,
    clients: &'l ClientIndex<'a>,
    policy_names: &'l [PolicyNames<'a>],
}

/// The clients of each namespace and identity, as server ports ask for them, computed once.
struct ClientIndex<'a> {
    /// Ambient workloads per namespace.
    ambient: HashMap<&'a str, Vec<WorkloadId>>,
    /// Namespaces with a client whose sidecar or gateway proxy applies DestinationRules.
    proxied_namespaces: HashSet<&'a str>,
    /// Per `(namespace, service account)`: its identity id (the graph's).
    identity_ids: HashMap<(&'a str, &'a str), u32>,
    /// Per identity id: its Istio clients.
    identities: Vec<IdentityMembers>,
}

#[derive(Default, Clone)]
struct IdentityMembers {
    ambient: Vec<WorkloadId>,
    /// Some member has a sidecar or gateway proxy.
    proxied: bool,
}

impl<'a> ClientIndex<'a> {
    fn new(inv: &'a Inventory, shared: &Shared<'_, 'a>) -> Self {
        let mut index = ClientIndex {
            ambient: HashMap::default(),
            proxied_namespaces: HashSet::default(),
            identity_ids: shared.identity_ids.clone(),
            identities: vec![IdentityMembers::default(); shared.identity_ids.len()],
        };
        for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
            let node = &shared.nodes[w.index()];
            // Only Istio's own clients present Istio identities and apply DestinationRules.
            if node.mesh != Some(Mesh::Istio) {
                continue;
            }
            let key = (
                workload.namespace.as_str(),
                workload.service_account.as_str(),
            );
            let Some(&id) = index.identity_ids.get(&key) else {
                continue;
            };
            let members = &mut index.identities[id as usize];
            match node.membership.data_plane {
                DataPlane::Ambient => {
                    members.ambient.push(w);
                    index.ambient.entry(key.0).or_default().push(w);
                }
                DataPlane::None => {}
                DataPlane::Sidecar | DataPlane::Gateway => {
                    members.proxied = true;
                    index.proxied_namespaces.insert(key.0);
                }
            }
        }
        index
    }

    fn ambient_in(&self, namespace: &str) -> impl Iterator<Item = WorkloadId> + '_ {
        self.ambient.get(namespace).into_iter().flatten().copied()
    }
}

/// The input's namespaces: their workloads, and their names in order (for prefix patterns).
struct NamespaceIndex<'m, 'a> {
    workloads: &'m HashMap<&'a str, Vec<WorkloadId>>,
    sorted: Vec<&'a str>,
}

impl<'m, 'a> NamespaceIndex<'m, 'a> {
    fn new(workloads: &'m HashMap<&'a str, Vec<WorkloadId>>) -> Self {
        let mut sorted: Vec<&'a str> = workloads.keys().copied().collect();
        sorted.sort_unstable();
        NamespaceIndex { workloads, sorted }
    }

    /// The namespaces whose name starts with `prefix`.
    fn with_prefix(&self, prefix: &str) -> &[&'a str] {
        let start = self.sorted.partition_point(|ns| *ns < prefix);
        let len = self.sorted[start..].partition_point(|ns| ns.starts_with(prefix));
        &self.sorted[start..start + len]
    }
}

/// What one AuthorizationPolicy names (see [`Builder::policy_names`]).
struct PolicyNames<'a> {
    namespaces: Vec<&'a str>,
    /// `(namespace, service account)`.
    identities: Vec<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdentityPattern {
    /// `<trust domain>/ns/<namespace>/sa/<service account>`.
    Principal,
    /// `<namespace>/<service account>`.
    ServiceAccount,
}

/// What the client puts on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Mtls = 0,
    Plain = 1,
    Tls = 2,
}

struct ServerSide<'s> {
    workload: &'s Workload,
    /// The id of the list of AuthorizationPolicies that apply to the server.
    policy_list: u32,
    /// None of those policies reads the destination port.
    port_blind: bool,
    /// `namespace/name`, for the facts.
    name: String,
    node: &'s WorkloadNode,
    port: u16,
    services: &'s [ServicePortRef],
    proxied: bool,
    mode: &'s ModeDecision,
    layer: Layer,
    request_authn: bool,
    /// [`Builder::server_outcome`] per [`Sent`], computed once.
    outcomes: [OnceCell<(Transport, Vec<Because>)>; 3],
    no_service_path: OnceCell<Because>,
    /// Per Service path: what clients of a namespace without a view of its own are told
    /// (see [`DestinationRules::retarget_variants`]), computed once.
    others_variants: Vec<OnceCell<Vec<ClientTls>>>,
    /// Per Service path: the namespaces with a view of their own of its host.
    own_views: Vec<Vec<&'s str>>,
    /// Per Service path: its host ([`service_host`]).
    hosts: Vec<String>,
    /// [`Builder::service_level_mode`] of the server's namespace, computed once.
    service_level: OnceCell<(MtlsMode, Vec<Because>)>,
}

/// What Istio's sidecars send toward a workload of another mesh: what their DestinationRule
/// says for the Service, else auto mTLS — which sends plaintext, as such pods carry no
/// `security.istio.io/tlsMode: istio` label. (Ambient clients, whose ztunnel ignores
/// DestinationRule TLS, are answered as sidecar clients here.)
impl ForeignOrigination for Builder<'_, '_> {
    fn namespaces_with_own_view(&self, services: &[ServicePortRef]) -> Vec<String> {
        let mut out: Vec<String> = services
            .iter()
            .flat_map(|v| {
                let host = service_host(&self.inventory.services[v.service]);
                self.destination_rules.namespaces_with_own_view(&host)
            })
            .map(str::to_owned)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn originates(
        &self,
        namespace: &str,
        server: WorkloadId,
        via: Option<ServicePortRef>,
    ) -> Vec<Origination> {
        let inv = self.inventory;
        let Some(v) = via else {
            return vec![Origination {
                sent: Originated::Plaintext,
                because: vec![Because::default(
                    "the client runs Istio's sidecar, which passes connections to a pod address no Service leads to through without mutual TLS — no mutual TLS across meshes",
                )],
            }];
        };
        let service = &inv.services[v.service];
        self.destination_rules
            .client_tls_variants(
                namespace,
                None,
                service,
                v.port,
                &inv.workloads[server].labels,
            )
            .into_iter()
            .map(|tls| {
                let mut because = tls.because;
                let sent = match tls.choice {
                    ClientTlsChoice::Explicit(mode) => match explicit_sent(mode, &mut because) {
                        Sent::Mtls => {
                            because.push(Because::default(
                                "so the client's Istio sidecar originates Istio mutual TLS, although the server runs no Istio sidecar to terminate it",
                            ));
                            Originated::MeshMtls
                        }
                        Sent::Plain => {
                            because.push(Because::default(
                                "so the client's Istio sidecar sends plaintext — no mutual TLS across meshes",
                            ));
                            Originated::Plaintext
                        }
                        Sent::Tls => Originated::OwnTls,
                    },
                    ClientTlsChoice::Auto => {
                        because.push(Because::default(foreign_server_text()));
                        Originated::Plaintext
                    }
                };
                Origination { sent, because }
            })
            .collect()
    }
}

/// What a DestinationRule's explicit TLS mode makes the client's sidecar send; the modes that
/// originate the application's TLS say so in `because`.
fn explicit_sent(mode: ClientTlsMode, because: &mut Vec<Because>) -> Sent {
    match mode {
        ClientTlsMode::IstioMutual => Sent::Mtls,
        ClientTlsMode::Disable => Sent::Plain,
        ClientTlsMode::Simple | ClientTlsMode::Mutual => {
            because.push(Because::default(format!(
                "{} originates its own TLS: encrypted, but without the mesh identity",
                client_tls_mode_str(mode)
            )));
            Sent::Tls
        }
    }
}

/// Why Istio's auto mTLS sends plaintext to a workload of another mesh.
fn foreign_server_text() -> &'static str {
    "the client runs Istio's sidecar, whose auto mTLS sends plaintext to pods without an Istio sidecar — no mutual TLS across meshes"
}

/// What a client of another mesh sends to an Istio server, or to a pod without a proxy that
/// Istio's evaluator decides.
fn foreign_client_text(mesh: Mesh) -> String {
    match mesh {
        Mesh::Linkerd => "the client runs Linkerd's proxy, which originates mutual TLS only to pods with a Linkerd proxy (the destination controller gives it no identity for this one): it sends plaintext — no mutual TLS across meshes".to_owned(),
        other => format!(
            "the client runs {}'s proxy, which does not speak Istio mutual TLS: it sends plaintext — no mutual TLS across meshes",
            other.title()
        ),
    }
}

fn detection_text(protocol: Protocol) -> &'static str {
    if protocol == Protocol::Auto {
        "detects HTTP by sniffing and handles anything else as TCP"
    } else {
        "handles it as TCP (a well-known server-first port)"
    }
}
