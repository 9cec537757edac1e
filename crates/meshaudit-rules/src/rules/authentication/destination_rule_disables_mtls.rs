//! AUTHN004: a DestinationRule turns TLS off (`tls.mode: DISABLE`) for a host whose workloads
//! have a sidecar.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use meshaudit_engine::destination_rule::{
    host_match, normalized_host, service_host, ClientTls, ClientTlsChoice, DestinationRules,
};
use meshaudit_engine::membership::DataPlane;
use meshaudit_engine::Because;
use meshaudit_model::istio::{
    ClientTlsMode, ClientTlsSettings, DestinationRuleSpec, MtlsMode, Typed,
};
use meshaudit_model::selector::Labels;
use meshaudit_model::{DestinationRuleId, ServiceId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "AUTHN004",
    name: "destination-rule-disables-mtls",
    title: "DestinationRule disables TLS to a meshed service",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A DestinationRule that sets `tls.mode: DISABLE` (in `trafficPolicy`, in a `portLevelSettings`
entry, or in a subset's traffic policy) for a host that resolves to a Kubernetes Service whose
selected workloads run an Istio sidecar. Only rules that some client actually uses are reported:
istiod picks one DestinationRule per client (the client's namespace first, then the service's
namespace, then the root namespace, honouring `exportTo` and `workloadSelector`); a rule in any
other namespace applies only to clients in its own namespace. The finding names the clients
that use the rule.

The setting is resolved per service port, as istiod does: a matching `portLevelSettings` entry
replaces the top-level `tls` for its port (an entry without `tls` means auto mTLS), so a
top-level `DISABLE` is reported only for the ports it really governs. A subset's `tls` applies
only to requests a VirtualService routes to that subset: a `DISABLE` there is reported, and a
top-level `DISABLE` stays reported for the default route even when a subset overrides it.

What happens depends on the mTLS mode of the server port the traffic reaches:

- the server accepts plaintext (`PERMISSIVE` or `DISABLE`): the client sidecars send plaintext
  instead of mutual TLS — `high`;
- the server requires mutual TLS (`STRICT`): the server rejects the plaintext connections, so
  the calls fail (connection reset, 503) — `medium`, an availability problem that usually leads
  someone to weaken the server's mode next.

When no client of the input with a sidecar or gateway proxy uses the rule (for example a rule
in a namespace without workloads) and clients outside the input cannot use it either, nothing is
affected today: severity drops one step (`medium`, or `low` against a STRICT server).

## Why it matters

Auto mTLS already sends Istio mutual TLS to every endpoint with a sidecar. An explicit
`DISABLE` overrides it: the traffic between two meshed workloads leaves encrypted-capable proxies
in plaintext, readable and modifiable on the network, and the server sees no client identity, so
authorization rules on principals or namespaces no longer match. Against a STRICT server the same
setting breaks the service instead.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: orders
  namespace: shop
spec:
  host: orders.shop.svc.cluster.local
  trafficPolicy:
    tls:
      mode: DISABLE
```

## Fix

Delete the `tls` block (auto mTLS then sends mutual TLS to sidecar endpoints) or set
`mode: ISTIO_MUTUAL`. Keep `DISABLE` only for destinations that really run without a sidecar.

```yaml
spec:
  host: orders.shop.svc.cluster.local
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
```

## References

- Istio: DestinationRule reference (ClientTLSSettings) — https://istio.io/latest/docs/reference/config/networking/destination-rule/
- Istio: TLS configuration, auto mTLS — https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/#auto-mtls
- Istio: 503 errors after setting a DestinationRule — https://istio.io/latest/docs/ops/common-problems/network-issues/
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
"#,
    check,
};

/// One place in a DestinationRule that sets `tls.mode: DISABLE`.
struct DisablePlace {
    path: Vec<Step<'static>>,
    what: String,
    /// Only this service port (from `portLevelSettings`).
    port: Option<u32>,
    /// Only endpoints with these labels (a subset).
    subset: Option<Labels>,
}

fn is_disable(tls: Option<&ClientTlsSettings>) -> bool {
    tls.and_then(|t| t.mode) == Some(ClientTlsMode::Disable)
}

fn disable_places(spec: &DestinationRuleSpec) -> Vec<DisablePlace> {
    let mut out = Vec::new();
    if let Some(tp) = &spec.traffic_policy {
        if is_disable(tp.tls.as_ref()) {
            out.push(DisablePlace {
                path: vec![
                    Step::Key("spec"),
                    Step::Key("trafficPolicy"),
                    Step::Key("tls"),
                    Step::Key("mode"),
                ],
                what: "trafficPolicy".to_owned(),
                port: None,
                subset: None,
            });
        }
        for (i, pl) in tp.port_level_settings.iter().enumerate() {
            if is_disable(pl.tls.as_ref()) {
                let port = pl.port.as_ref().and_then(|p| p.number);
                out.push(DisablePlace {
                    path: vec![
                        Step::Key("spec"),
                        Step::Key("trafficPolicy"),
                        Step::Key("portLevelSettings"),
                        Step::Index(i),
                        Step::Key("tls"),
                        Step::Key("mode"),
                    ],
                    what: format!(
                        "portLevelSettings for port {}",
                        port.map_or("?".to_owned(), |p| p.to_string())
                    ),
                    port: Some(port.unwrap_or(0)),
                    subset: None,
                });
            }
        }
    }
    for (j, subset) in spec.subsets.iter().enumerate() {
        let Some(tp) = &subset.traffic_policy else {
            continue;
        };
        if is_disable(tp.tls.as_ref()) {
            out.push(DisablePlace {
                path: vec![
                    Step::Key("spec"),
                    Step::Key("subsets"),
                    Step::Index(j),
                    Step::Key("trafficPolicy"),
                    Step::Key("tls"),
                    Step::Key("mode"),
                ],
                what: format!("subset {}", subset.name),
                port: None,
                subset: Some(subset.labels.clone()),
            });
        }
        for (k, pl) in tp.port_level_settings.iter().enumerate() {
            if is_disable(pl.tls.as_ref()) {
                let port = pl.port.as_ref().and_then(|p| p.number);
                out.push(DisablePlace {
                    path: vec![
                        Step::Key("spec"),
                        Step::Key("subsets"),
                        Step::Index(j),
                        Step::Key("trafficPolicy"),
                        Step::Key("portLevelSettings"),
                        Step::Index(k),
                        Step::Key("tls"),
                        Step::Key("mode"),
                    ],
                    what: format!(
                        "subset {} port {}",
                        subset.name,
                        port.map_or("?".to_owned(), |p| p.to_string())
                    ),
                    port: Some(port.unwrap_or(0)),
                    subset: Some(subset.labels.clone()),
                });
            }
        }
    }
    out
}

/// Who uses a DestinationRule: the clients of one namespace (`""`: namespaces not in the
/// input), or, for a rule with a `workloadSelector`, one selected workload of its namespace.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Client<'a> {
    namespace: &'a str,
    workload: Option<WorkloadId>,
}

/// Every client namespace worth asking: those of the input, the rule's own, and `""` for
/// namespaces not in the input.
fn candidate_namespaces<'a>(
    inv: &'a meshaudit_model::Inventory,
    dr: &'a Typed<DestinationRuleSpec>,
) -> BTreeSet<&'a str> {
    let mut namespaces: BTreeSet<&str> = inv.namespaces.keys().map(String::as_str).collect();
    namespaces.insert("");
    namespaces.insert(dr.namespace.as_str());
    namespaces
}

/// Who uses a DestinationRule: clients listed one by one, and possibly every namespace but a
/// few (kept as that exception list: a rule in a service's namespace is used by every other
/// namespace, and listing hundreds of them per hit is what made this rule slow).
#[derive(Clone, Default)]
struct Users<'a> {
    listed: BTreeSet<Client<'a>>,
    /// Every namespace, of the input or not, except these.
    everyone_except: Option<BTreeSet<&'a str>>,
}

impl<'a> Users<'a> {
    fn add(&mut self, other: &Users<'a>) {
        self.listed.extend(other.listed.iter().copied());
        self.everyone_except = match (self.everyone_except.take(), &other.everyone_except) {
            (None, theirs) => theirs.clone(),
            (mine, None) => mine,
            (Some(mine), Some(theirs)) => Some(mine.intersection(theirs).copied().collect()),
        };
    }

    fn has_namespace(&self, namespace: &str) -> bool {
        self.everyone_except
            .as_ref()
            .is_some_and(|except| !except.contains(namespace))
            || self
                .listed
                .iter()
                .any(|c| c.workload.is_none() && c.namespace == namespace)
    }

    /// Clients the input does not show use it.
    fn unseen(&self) -> bool {
        self.has_namespace("")
    }
}

/// Clients for which istiod merges the same DestinationRules when they call a service, so
/// their TLS settings resolve alike.
struct ClientGroup<'a> {
    /// A client of the group, to resolve its settings with.
    representative: Client<'a>,
    users: Users<'a>,
}

/// The clients for which istiod picks `dr` (rule number `index`) when they call `service`,
/// grouped by the rules merged for them.
fn clients_using<'a>(
    inv: &'a meshaudit_model::Inventory,
    rules: &DestinationRules<'a>,
    index: DestinationRuleId,
    dr: &'a Typed<DestinationRuleSpec>,
    service: &'a meshaudit_model::k8s::Service,
) -> Vec<ClientGroup<'a>> {
    let mut groups: Vec<(Vec<DestinationRuleId>, ClientGroup<'a>)> = Vec::new();
    let mut add = |merged: Vec<DestinationRuleId>,
                   client: Client<'a>,
                   everyone_except: Option<BTreeSet<&'a str>>| {
        let users = Users {
            listed: BTreeSet::from([client]),
            everyone_except,
        };
        match groups.iter_mut().find(|(m, _)| *m == merged) {
            Some((_, group)) => group.users.add(&users),
            None => groups.push((
                merged,
                ClientGroup {
                    representative: client,
                    users,
                },
            )),
        }
    };
    // istiod merges same-host rules of a namespace; each of them is in use.
    let merged_with_this = |ns: &str, labels: Option<&Labels>| {
        let merged: Vec<DestinationRuleId> = rules
            .lookup_merged(ns, labels, service)
            .iter()
            .map(|(i, _)| *i)
            .collect();
        merged.contains(&index).then_some(merged)
    };
    if dr
        .spec
        .workload_selector
        .as_ref()
        .is_some_and(|s| !s.match_labels.is_empty())
    {
        for &i in inv.workload_indexes_in(&dr.namespace) {
            let w = &inv.workloads[i];
            if let Some(merged) = merged_with_this(&w.namespace, Some(&w.labels)) {
                add(
                    merged,
                    Client {
                        namespace: w.namespace.as_str(),
                        workload: Some(i),
                    },
                    None,
                );
            }
        }
    } else {
        // Only namespaces with a rule of their own for the host, the service's, the root and
        // the rule's own can resolve differently from a namespace the input does not show
        // (`""`); every other namespace resolves exactly like it.
        let host = service_host(service);
        let mut special: BTreeSet<&str> =
            rules.namespaces_with_own_view(&host).into_iter().collect();
        special.insert(service.namespace.as_str());
        special.insert(inv.istio.root_namespace());
        special.insert(dr.namespace.as_str());
        for ns in special.iter().copied().chain([""]) {
            if let Some(merged) = merged_with_this(ns, None) {
                let everyone_except = ns.is_empty().then(|| special.clone());
                add(
                    merged,
                    Client {
                        namespace: ns,
                        workload: None,
                    },
                    everyone_except,
                );
            }
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// Does this client get a proxy that applies DestinationRules?
fn proxied_client(ctx: &Context<'_>, w: WorkloadId) -> bool {
    matches!(
        ctx.graph().workload(w).istio_data_plane(),
        DataPlane::Sidecar | DataPlane::Gateway
    )
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    place: usize,
    service: ServiceId,
    service_port: u16,
    workload: WorkloadId,
    target_port: u16,
}

struct Server {
    mode: MtlsMode,
    /// The last fact of the port's mode decision (the PeerAuthentication that set it).
    mode_because: Option<Because>,
}

fn is_disable_choice(tls: &ClientTls) -> bool {
    tls.choice == ClientTlsChoice::Explicit(ClientTlsMode::Disable)
}

/// The clients, as a phrase: `clients in namespace ops`, `clients in every namespace except
/// legacy`, `Deployment shop/web`.
fn clients_phrase(
    inv: &meshaudit_model::Inventory,
    using: &Users<'_>,
    all: &BTreeSet<&str>,
) -> String {
    let workloads: Vec<String> = using
        .listed
        .iter()
        .filter_map(|c| c.workload)
        .map(|w| workload_name(&inv.workloads[w]))
        .collect();
    if !workloads.is_empty() {
        return format!("the workloads it selects ({})", workloads.join(", "));
    }
    if using.unseen() {
        let others: Vec<&str> = all
            .iter()
            .copied()
            .filter(|ns| !ns.is_empty() && !using.has_namespace(ns))
            .collect();
        if others.is_empty() {
            "clients in every namespace".to_owned()
        } else {
            format!("clients in every namespace except {}", others.join(", "))
        }
    } else {
        let list: Vec<&str> = listed_namespaces(using);
        format!(
            "clients in namespace{} {}",
            if list.len() == 1 { "" } else { "s" },
            list.join(", ")
        )
    }
}

/// The namespaces listed one by one, in order.
fn listed_namespaces<'a>(using: &Users<'a>) -> Vec<&'a str> {
    let set: BTreeSet<&str> = using.listed.iter().map(|c| c.namespace).collect();
    set.into_iter().collect()
}

/// The workloads with a proxy that applies DestinationRules among `using`: how many, and the
/// first few.
fn senders(
    ctx: &Context<'_>,
    proxied: &Proxied<'_>,
    using: &Users<'_>,
) -> (usize, Vec<WorkloadId>) {
    let listed_workloads: Vec<WorkloadId> = using
        .listed
        .iter()
        .filter_map(|c| c.workload)
        .filter(|&w| proxied_client(ctx, w))
        .collect();
    if !listed_workloads.is_empty() {
        return (listed_workloads.len(), listed_workloads);
    }
    let namespaces: BTreeSet<&str> = using
        .listed
        .iter()
        .map(|c| c.namespace)
        .chain(using.everyone_except.iter().flatten().copied())
        .filter(|ns| using.has_namespace(ns))
        .collect();
    let count = match &using.everyone_except {
        // Every proxied workload but those of the excepted namespaces.
        Some(except) => {
            proxied.all.len()
                - except
                    .iter()
                    .filter(|ns| !using.has_namespace(ns))
                    .map(|ns| proxied.in_namespace(ns).len())
                    .sum::<usize>()
        }
        None => namespaces
            .iter()
            .map(|ns| proxied.in_namespace(ns).len())
            .sum(),
    };
    let first: Vec<WorkloadId> = match &using.everyone_except {
        Some(_) => proxied
            .all
            .iter()
            .copied()
            .filter(|&w| using.has_namespace(&ctx.inventory.workloads[w].namespace))
            .take(4)
            .collect(),
        None => {
            let mut list: Vec<WorkloadId> = namespaces
                .iter()
                .flat_map(|ns| proxied.in_namespace(ns).iter().copied())
                .collect();
            list.sort_unstable();
            list.truncate(4);
            list
        }
    };
    (count, first)
}

/// The workloads with a proxy that applies DestinationRules, in order and per namespace.
struct Proxied<'a> {
    all: Vec<WorkloadId>,
    by_namespace: HashMap<&'a str, Vec<WorkloadId>>,
}

impl<'a> Proxied<'a> {
    fn new(ctx: &Context<'a>) -> Self {
        let mut proxied = Proxied {
            all: Vec::new(),
            by_namespace: HashMap::new(),
        };
        for (w, workload) in WorkloadId::enumerate(&ctx.inventory.workloads) {
            if proxied_client(ctx, w) {
                proxied.all.push(w);
                proxied
                    .by_namespace
                    .entry(workload.namespace.as_str())
                    .or_default()
                    .push(w);
            }
        }
        proxied
    }

    fn in_namespace(&self, namespace: &str) -> &[WorkloadId] {
        self.by_namespace.get(namespace).map_or(&[], Vec::as_slice)
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let rules = ctx.destination_rules();
    let no_labels = Labels::new();
    let mut services_by_host: HashMap<String, Vec<ServiceId>> = HashMap::new();
    for (si, service) in ServiceId::enumerate(&inv.services) {
        services_by_host
            .entry(service_host(service))
            .or_default()
            .push(si);
    }
    let proxied = Proxied::new(ctx);
    for (index, dr) in DestinationRuleId::enumerate(&inv.istio.destination_rules) {
        let places = disable_places(&dr.spec);
        if places.is_empty() {
            continue;
        }
        let host = normalized_host(&dr.spec.host, &dr.namespace);
        // What each client sends to each (service port, sidecar server port) pair, as
        // istiod resolves it for this rule: the default route (top level and portLevelSettings)
        // and, when a subset covers the server, the route to that subset.
        let mut hits: BTreeMap<Hit, Users<'_>> = BTreeMap::new();
        let mut servers: BTreeMap<(WorkloadId, u16), Server> = BTreeMap::new();
        // Evidence lines, each with the fact it renders (for its related location).
        let mut spared: BTreeMap<String, Because> = BTreeMap::new();
        let mut subset_notes: BTreeMap<String, Because> = BTreeMap::new();
        let matching: Vec<ServiceId> = if host.contains('*') {
            services_by_host
                .iter()
                .filter(|(h, _)| host_match(&host, h).is_some())
                .flat_map(|(_, list)| list.iter().copied())
                .collect()
        } else {
            services_by_host.get(&host).cloned().unwrap_or_default()
        };
        for si in matching {
            let service = &inv.services[si];
            let groups = clients_using(inv, rules, index, dr, service);
            for &s in graph.servers_of_service(si) {
                let server = &graph.servers[s];
                if graph.workload(server.workload).istio_data_plane() != DataPlane::Sidecar {
                    continue;
                }
                let workload = &inv.workloads[server.workload];
                for via in server.services.iter().filter(|v| v.service == si) {
                    for group in &groups {
                        // Every client of the group resolves alike: ask for one.
                        let client = group.representative;
                        let labels = client.workload.map(|w| &inv.workloads[w].labels);
                        let default = rules.client_tls(
                            client.namespace,
                            labels,
                            service,
                            via.port,
                            &no_labels,
                        );
                        let routed = rules.client_tls(
                            client.namespace,
                            labels,
                            service,
                            via.port,
                            &workload.labels,
                        );
                        for reading in [&default, &routed] {
                            if !is_disable_choice(reading) || reading.rule != Some(index) {
                                continue;
                            }
                            let Some(decided) = reading.because.last() else {
                                continue;
                            };
                            let steps = decided.steps();
                            let Some(place) = places
                                .iter()
                                .position(|p| p.path.as_slice() == steps.as_slice())
                            else {
                                continue;
                            };
                            hits.entry(Hit {
                                place,
                                service: si,
                                service_port: via.port,
                                workload: server.workload,
                                target_port: server.port,
                            })
                            .or_default()
                            .add(&group.users);
                            servers
                                .entry((server.workload, server.port))
                                .or_insert_with(|| Server {
                                    mode: server.mode.mode,
                                    mode_because: server.mode.because.last().cloned(),
                                });
                        }
                        let service_name = format!("{}/{}", service.namespace, service.name);
                        if !is_disable_choice(&default) && default.rule == Some(index) {
                            if let Some(b) = default.because.last() {
                                spared.insert(
                                    format!(
                                        "Service {service_name} port {} is not affected: {}",
                                        via.port,
                                        b.render(inv)
                                    ),
                                    b.clone(),
                                );
                            }
                        }
                        if is_disable_choice(&default) && !is_disable_choice(&routed) {
                            if let Some(b) = routed.because.last() {
                                subset_notes.insert(
                                    format!(
                                        "requests that a VirtualService routes to the subset covering {} get the subset's setting instead ({}); all other requests use this DISABLE",
                                        workload_name(&inv.workloads[server.workload]),
                                        b.render(inv)
                                    ),
                                    b.clone(),
                                );
                            }
                        }
                    }
                }
            }
        }
        if hits.is_empty() {
            continue;
        }
        let all_namespaces = candidate_namespaces(inv, dr);
        let object = inv.object(dr.object);
        let name = format!("{}/{}", dr.namespace, dr.name);
        for (p, place) in places.iter().enumerate() {
            let place_hits: Vec<(&Hit, &Users<'_>)> =
                hits.iter().filter(|(h, _)| h.place == p).collect();
            if place_hits.is_empty() {
                continue;
            }
            let mut using = Users::default();
            for (_, users) in &place_hits {
                using.add(users);
            }
            let mode_of = |h: &Hit| servers[&(h.workload, h.target_port)].mode;
            let plaintext: Vec<&Hit> = place_hits
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| mode_of(h) != MtlsMode::Strict)
                .collect();
            let strict: Vec<&Hit> = place_hits
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| mode_of(h) == MtlsMode::Strict)
                .collect();
            let describe = |hs: &[&Hit]| {
                let mut seen: Vec<String> = Vec::new();
                for h in hs {
                    let service = &inv.services[h.service];
                    let text = format!(
                        "Service {}/{} port {}",
                        service.namespace, service.name, h.service_port
                    );
                    if !seen.contains(&text) {
                        seen.push(text);
                    }
                }
                seen.join(", ")
            };
            let clients = clients_phrase(inv, &using, &all_namespaces);
            // Who sends it: clients with a proxy in the input, or clients the input cannot see.
            let unseen = using.unseen();
            let (sender_count, first_senders) = senders(ctx, &proxied, &using);
            // No proxied client in the input uses it, and no client outside the input can.
            let latent = sender_count == 0 && !unseen;
            let (send, reset) = if latent {
                ("would send", "would be reset")
            } else {
                ("send", "will be reset")
            };
            let message = if !plaintext.is_empty() {
                let mut m = format!(
                    "DestinationRule {name} sets tls.mode DISABLE ({}) for {host}: {clients} {send} traffic to {} in plaintext although the servers have sidecars",
                    place.what,
                    describe(&plaintext)
                );
                if !strict.is_empty() {
                    m.push_str(&format!(
                        "; their connections to {} {reset}: the server requires mTLS",
                        describe(&strict)
                    ));
                }
                m
            } else {
                format!(
                    "DestinationRule {name} sets tls.mode DISABLE ({}) for {host}: connections from {clients} to {} {reset}: the server requires mTLS",
                    place.what,
                    describe(&strict)
                )
            };
            let mut finding = Finding::new(&RULE, dr.object, object, &place.path, message)
                .remediation(format!(
                    "Remove the tls block ({}) of DestinationRule {name} so auto mTLS sends mutual TLS to the sidecars, or set mode: ISTIO_MUTUAL.",
                    crate::finding::render_path(&place.path[..place.path.len() - 1])
                ));
            for (h, _) in place_hits.iter().take(8) {
                let server = &servers[&(h.workload, h.target_port)];
                let effect = if server.mode == MtlsMode::Strict {
                    "STRICT, so plaintext connections are rejected".to_owned()
                } else {
                    format!("{}, so plaintext is accepted", server.mode.as_str())
                };
                let service = &inv.services[h.service];
                finding = finding.evidence(format!(
                    "Service {}/{} port {} leads to {} port {} (sidecar), whose mode is {effect}",
                    service.namespace,
                    service.name,
                    h.service_port,
                    workload_name(&inv.workloads[h.workload]),
                    h.target_port
                ));
                if let Some(b) = &server.mode_because {
                    finding.add_because(inv, b);
                }
            }
            if place_hits.len() > 8 {
                finding = finding.evidence(format!("… and {} more", place_hits.len() - 8));
            }
            if plaintext.iter().any(|h| mode_of(h) == MtlsMode::Disable) {
                finding = finding.evidence(
                    "a server port is DISABLE as well (its PeerAuthentication turns mTLS off): fix that too, or the traffic stays plaintext under auto mTLS, or fails with ISTIO_MUTUAL",
                );
            }
            if place.port.is_none() && place.subset.is_none() {
                for (line, b) in spared.iter().take(4) {
                    finding = finding.evidence(line.clone());
                    finding.relate(inv, b);
                }
            }
            if place.subset.is_none() {
                for (line, b) in subset_notes.iter().take(4) {
                    finding = finding.evidence(line.clone());
                    finding.relate(inv, b);
                }
            }
            let mut severity = if plaintext.is_empty() {
                Severity::Medium
            } else {
                Severity::High
            };
            if latent {
                let list: Vec<&str> = listed_namespaces(&using);
                let elsewhere = dr.namespace != inv.istio.root_namespace()
                    && place_hits
                        .iter()
                        .all(|(h, _)| inv.services[h.service].namespace != dr.namespace);
                finding = finding.evidence(format!(
                    "no workload with a sidecar in namespace {} uses this rule in the input{}: nothing is affected today, only clients deployed there later would be, so severity is lowered",
                    list.join(", "),
                    if elsewhere {
                        " (a DestinationRule outside the service's namespace and the root namespace applies only to clients in its own namespace)"
                    } else {
                        ""
                    }
                ));
                severity = if severity == Severity::High {
                    Severity::Medium
                } else {
                    Severity::Low
                };
            } else if sender_count > 0 {
                let names: Vec<String> = first_senders
                    .iter()
                    .take(4)
                    .map(|&w| workload_name(&inv.workloads[w]))
                    .collect();
                finding = finding.evidence(format!(
                    "{} client workload(s) with a sidecar or gateway proxy in the input use this rule, e.g. {}",
                    sender_count,
                    names.join(", ")
                ));
            }
            finding.severity = severity;
            out.push(finding);
        }
    }
}
