//! What a client sidecar sends to a service port: the DestinationRule that istiod picks for the
//! client, and the TLS settings it applies, or auto mTLS when none sets any.
//!
//! DestinationRule lookup for a client in namespace N and a service host, as istiod does it:
//! (1) rules in N visible to N (with a `workloadSelector` only if it selects the client, and
//! those first), (2) rules in the service's namespace exported to N, (3) rules in the root
//! namespace exported to N. Rules in any other namespace never apply. Within a step the most
//! specific host wins (exact, then the longest wildcard), then the oldest rule. Inside the rule,
//! a subset's `trafficPolicy` overrides `portLevelSettings` for the service port, which overrides
//! the top-level `tls`.

use crate::HashMap;

use meshaudit_model::istio::{ClientTlsMode, DestinationRuleSpec, PortTrafficPolicy, Typed};
use meshaudit_model::k8s::Service;
use meshaudit_model::selector::{map_selects, Labels};
use meshaudit_model::{DestinationRuleId, Inventory, ObjectId, Step};

use crate::evidence::Because;
use crate::peer_authentication::sort_oldest_first;

/// The cluster DNS domain Service hostnames live under.
pub const CLUSTER_DOMAIN: &str = "svc.cluster.local";

pub fn service_host(service: &Service) -> String {
    format!("{}.{}.{CLUSTER_DOMAIN}", service.name, service.namespace)
}

/// A DestinationRule host, with short names expanded against the rule's namespace.
pub fn normalized_host(host: &str, namespace: &str) -> String {
    if host != "*" && !host.contains('.') {
        format!("{host}.{namespace}.{CLUSTER_DOMAIN}")
    } else {
        host.to_owned()
    }
}

/// How specifically `pattern` matches `host`: exact beats any wildcard, longer wildcards beat
/// shorter ones. `None` when it does not match.
pub fn host_match(pattern: &str, host: &str) -> Option<usize> {
    if pattern == host {
        return Some(usize::MAX);
    }
    if pattern == "*" {
        return Some(0);
    }
    let suffix = pattern.strip_prefix('*')?;
    host.ends_with(suffix).then_some(suffix.len())
}

pub fn exported_to(
    spec: &DestinationRuleSpec,
    own_namespace: &str,
    client_namespace: &str,
) -> bool {
    match &spec.export_to {
        None => true,
        Some(list) if list.is_empty() => true,
        Some(list) => list.iter().any(|e| {
            e == "*" || e == client_namespace || (e == "." && own_namespace == client_namespace)
        }),
    }
}

/// What the client proxy is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientTlsChoice {
    /// No TLS setting applies: auto mTLS decides (or plaintext if auto mTLS is off).
    Auto,
    Explicit(ClientTlsMode),
}

#[derive(Debug, Clone)]
pub struct ClientTls {
    pub choice: ClientTlsChoice,
    /// The rule that applied, if any.
    pub rule: Option<DestinationRuleId>,
    pub because: Vec<Because>,
}

pub fn client_tls_mode_str(mode: ClientTlsMode) -> &'static str {
    match mode {
        ClientTlsMode::Disable => "DISABLE",
        ClientTlsMode::Simple => "SIMPLE",
        ClientTlsMode::Mutual => "MUTUAL",
        ClientTlsMode::IstioMutual => "ISTIO_MUTUAL",
    }
}

/// Clients of the catch-all groups have no namespace of their own (`""`).
fn namespace_phrase(namespace: &str) -> String {
    if namespace.is_empty() {
        "namespaces without a DestinationRule of their own for it".to_owned()
    } else {
        format!("namespace {namespace}")
    }
}

/// One namespace's rules, by normalized exact host, and its wildcard-host rules.
#[derive(Default)]
struct NamespaceRules<'a> {
    exact: HashMap<String, Vec<(DestinationRuleId, &'a Typed<DestinationRuleSpec>)>>,
    wildcard: Vec<(DestinationRuleId, &'a Typed<DestinationRuleSpec>)>,
}

pub struct DestinationRules<'a> {
    inventory: &'a Inventory,
    root: &'a str,
    by_namespace: HashMap<&'a str, NamespaceRules<'a>>,
    /// Rule indexes by normalized exact host, and the wildcard hosts.
    exact: HashMap<String, Vec<DestinationRuleId>>,
    wildcard: Vec<(String, DestinationRuleId)>,
    /// Each rule's normalized host, by rule index.
    hosts: Vec<String>,
}

impl<'a> DestinationRules<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut by_namespace: HashMap<&str, NamespaceRules<'a>> = HashMap::default();
        for (i, dr) in DestinationRuleId::enumerate(&inventory.istio.destination_rules) {
            let host = normalized_host(&dr.spec.host, &dr.namespace);
            let rules = by_namespace.entry(dr.namespace.as_str()).or_default();
            if host.starts_with('*') {
                rules.wildcard.push((i, dr));
            } else {
                rules.exact.entry(host).or_default().push((i, dr));
            }
        }
        // Exact hosts are looked up; only wildcard hosts are matched one by one.
        let mut exact: HashMap<String, Vec<DestinationRuleId>> = HashMap::default();
        let mut wildcard = Vec::new();
        let mut hosts = Vec::new();
        for (i, dr) in DestinationRuleId::enumerate(&inventory.istio.destination_rules) {
            let host = normalized_host(&dr.spec.host, &dr.namespace);
            if host.starts_with('*') {
                wildcard.push((host.clone(), i));
            } else {
                exact.entry(host.clone()).or_default().push(i);
            }
            hosts.push(host);
        }
        DestinationRules {
            inventory,
            root: inventory.istio.root_namespace(),
            by_namespace,
            exact,
            wildcard,
            hosts,
        }
    }

    /// Whether `namespace` holds a rule for `host` with a `workloadSelector` (then its clients
    /// may differ one by one).
    pub fn has_selector_rule(&self, namespace: &str, host: &str) -> bool {
        self.in_namespace(namespace, host).any(|(i, dr)| {
            dr.spec
                .workload_selector
                .as_ref()
                .is_some_and(|s| !s.match_labels.is_empty())
                && host_match(&self.hosts[i.index()], host).is_some()
        })
    }

    /// The rules of `namespace` that may match `host`: those for exactly that host, and the
    /// wildcard ones (matched by the caller).
    fn in_namespace<'s>(
        &'s self,
        namespace: &str,
        host: &str,
    ) -> impl Iterator<Item = &'s (DestinationRuleId, &'a Typed<DestinationRuleSpec>)> + 's {
        let rules = self.by_namespace.get(namespace);
        rules
            .and_then(|r| r.exact.get(host))
            .into_iter()
            .flatten()
            .chain(rules.into_iter().flat_map(|r| r.wildcard.iter()))
    }

    /// Namespaces whose clients may see a different rule for `host` than clients elsewhere:
    /// those holding a rule for the host, and those named in a rule's `exportTo`.
    pub fn namespaces_with_own_view(&self, host: &str) -> Vec<&'a str> {
        let rules = &self.inventory.istio.destination_rules;
        let matching = self.exact.get(host).into_iter().flatten().copied().chain(
            self.wildcard
                .iter()
                .filter(|(pattern, _)| host_match(pattern, host).is_some())
                .map(|(_, i)| *i),
        );
        let mut out = Vec::new();
        for i in matching {
            let dr = &rules[i];
            out.push(dr.namespace.as_str());
            for e in dr.spec.export_to.iter().flatten() {
                if e != "*" && e != "." && e != "~" {
                    out.push(e.as_str());
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The rules of `namespace` a client uses for `host`: those with the most specific matching
    /// host (selector rules that select the client first), oldest first. istiod merges them.
    fn best_in(
        &self,
        namespace: &str,
        host: &str,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        local: bool,
    ) -> Vec<(DestinationRuleId, &'a Typed<DestinationRuleSpec>)> {
        let mut best: Vec<(bool, usize, DestinationRuleId, &Typed<DestinationRuleSpec>)> =
            Vec::new();
        for (i, dr) in self.in_namespace(namespace, host) {
            if !exported_to(&dr.spec, namespace, client_namespace) {
                continue;
            }
            let Some(score) = host_match(&self.hosts[i.index()], host) else {
                continue;
            };
            let selected = match &dr.spec.workload_selector {
                Some(sel) if !sel.match_labels.is_empty() => {
                    // Selector rules only apply to the namespace's own workloads.
                    if !local || !client_labels.is_some_and(|l| sel.matches(l)) {
                        continue;
                    }
                    true
                }
                _ => false,
            };
            best.push((selected, score, *i, dr));
        }
        let Some(top) = best.iter().map(|(s, score, _, _)| (*s, *score)).max() else {
            return Vec::new();
        };
        let candidates: Vec<&Typed<DestinationRuleSpec>> = best
            .iter()
            .filter(|(s, score, _, _)| (*s, *score) == top)
            .map(|(_, _, _, dr)| *dr)
            .collect();
        sort_oldest_first(self.inventory, &candidates)
            .into_iter()
            .filter_map(|chosen| {
                best.iter()
                    .find(|(_, _, _, dr)| dr.object == chosen.object)
                    .map(|(_, _, i, dr)| (*i, *dr))
            })
            .collect()
    }

    /// The rules (merged by istiod, oldest first) a client in `client_namespace` (with
    /// `client_labels`, if known) uses for `service`; empty when none applies.
    pub fn lookup_merged(
        &self,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        service: &Service,
    ) -> Vec<(DestinationRuleId, &'a Typed<DestinationRuleSpec>)> {
        let host = service_host(service);
        let local = self.best_in(
            client_namespace,
            &host,
            client_namespace,
            client_labels,
            true,
        );
        if !local.is_empty() {
            return local;
        }
        if service.namespace != client_namespace {
            let exported = self.best_in(&service.namespace, &host, client_namespace, None, false);
            if !exported.is_empty() {
                return exported;
            }
        }
        if self.root != client_namespace && self.root != service.namespace {
            return self.best_in(self.root, &host, client_namespace, None, false);
        }
        Vec::new()
    }

    /// The oldest of the rules [`Self::lookup_merged`] returns.
    pub fn lookup(
        &self,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        service: &Service,
    ) -> Option<(DestinationRuleId, &'a Typed<DestinationRuleSpec>)> {
        self.lookup_merged(client_namespace, client_labels, service)
            .into_iter()
            .next()
    }

    /// What a client sends to `service_port` of `service` on each route that can reach a server
    /// pod with `server_labels`: the default route first, then each subset that covers the pod
    /// and has a traffic policy.
    pub fn client_tls_variants(
        &self,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        service: &Service,
        service_port: u16,
        server_labels: &Labels,
    ) -> Vec<ClientTls> {
        let merged = self.lookup_merged(client_namespace, client_labels, service);
        let Some(&(first_index, first)) = merged.first() else {
            return vec![ClientTls {
                choice: ClientTlsChoice::Auto,
                rule: None,
                because: vec![Because::default(format!(
                    "no DestinationRule for {} applies to clients in {}",
                    service_host(service),
                    namespace_phrase(client_namespace)
                ))],
            }];
        };
        let mut head = vec![Because::at(
            first.object,
            &[Step::Key("spec"), Step::Key("host")],
            format!(
                "applies to clients in {} calling {}",
                namespace_phrase(client_namespace),
                service_host(service)
            ),
        )];
        for (_, other) in &merged[1..] {
            head.push(Because::at(
                other.object,
                &[Step::Key("spec"), Step::Key("host")],
                "is merged into it (same host, same namespace; the oldest rule's trafficPolicy wins, subsets add up)",
            ));
        }
        // The merged top-level policy: the oldest rule that has one.
        let top = merged
            .iter()
            .find_map(|(i, dr)| dr.spec.traffic_policy.as_ref().map(|tp| (*i, *dr, tp)));
        let port = u32::from(service_port);
        let port_entry = |levels: &'a [PortTrafficPolicy]| {
            levels
                .iter()
                .enumerate()
                .find(|(_, pl)| pl.port.as_ref().and_then(|p| p.number) == Some(port))
        };

        let mut variants = Vec::new();
        // Default route.
        {
            let mut because = head.clone();
            let mut choice = ClientTlsChoice::Auto;
            let mut rule = first_index;
            if let Some((i, dr, tp)) = top {
                rule = i;
                if let Some(mode) = tp.tls.as_ref().and_then(|t| t.mode) {
                    choice = ClientTlsChoice::Explicit(mode);
                    because.push(Because::at(
                        dr.object,
                        &[
                            "spec".into(),
                            "trafficPolicy".into(),
                            "tls".into(),
                            "mode".into(),
                        ],
                        format!("trafficPolicy sets tls.mode {}", client_tls_mode_str(mode)),
                    ));
                }
                if let Some((j, pl)) = port_entry(&tp.port_level_settings) {
                    let path = [
                        Step::Key("spec"),
                        Step::Key("trafficPolicy"),
                        Step::Key("portLevelSettings"),
                        Step::Index(j),
                    ];
                    apply_port_entry(
                        &mut choice,
                        &mut because,
                        dr.object,
                        &path,
                        pl,
                        service_port,
                        "",
                    );
                }
            }
            if choice == ClientTlsChoice::Auto {
                because.push(Because::object(
                    first.object,
                    "sets no tls mode for this port, so auto mTLS decides",
                ));
            }
            variants.push(ClientTls {
                choice,
                rule: Some(rule),
                because,
            });
        }
        // Subsets that cover the server pod (concatenated across merged rules, first name wins).
        let mut seen = Vec::new();
        for (i, dr) in &merged {
            for (k, subset) in dr.spec.subsets.iter().enumerate() {
                if seen.contains(&subset.name.as_str()) {
                    continue;
                }
                seen.push(subset.name.as_str());
                if subset.labels.is_empty() || !map_selects(&subset.labels, server_labels) {
                    continue;
                }
                let Some(stp) = &subset.traffic_policy else {
                    continue;
                };
                let mut because = head.clone();
                because.push(Because::at(
                    dr.object,
                    &["spec".into(), "subsets".into(), Step::Index(k)],
                    format!(
                        "subset {} covers the server pods (traffic a VirtualService routes there)",
                        subset.name
                    ),
                ));
                let base = [
                    Step::Key("spec"),
                    Step::Key("subsets"),
                    Step::Index(k),
                    Step::Key("trafficPolicy"),
                ];
                // Field by field over the top-level policy, then the subset's port settings.
                let mut choice = ClientTlsChoice::Auto;
                if let Some(mode) = stp.tls.as_ref().and_then(|t| t.mode) {
                    choice = ClientTlsChoice::Explicit(mode);
                    let mut path = base.to_vec();
                    path.extend([Step::Key("tls"), Step::Key("mode")]);
                    because.push(Because::at(
                        dr.object,
                        &path,
                        format!(
                            "subset {} sets tls.mode {}",
                            subset.name,
                            client_tls_mode_str(mode)
                        ),
                    ));
                } else if let Some(mode) = top
                    .and_then(|(_, _, tp)| tp.tls.as_ref())
                    .and_then(|t| t.mode)
                {
                    choice = ClientTlsChoice::Explicit(mode);
                    because.push(Because::default(format!(
                        "subset {} inherits the top-level tls.mode {}",
                        subset.name,
                        client_tls_mode_str(mode)
                    )));
                }
                if !stp.port_level_settings.is_empty() {
                    if let Some((j, pl)) = port_entry(&stp.port_level_settings) {
                        let mut path = base.to_vec();
                        path.extend([Step::Key("portLevelSettings"), Step::Index(j)]);
                        apply_port_entry(
                            &mut choice,
                            &mut because,
                            dr.object,
                            &path,
                            pl,
                            service_port,
                            &format!("subset {} ", subset.name),
                        );
                    }
                } else if let Some((_, tdr, tp)) = top {
                    if let Some((j, pl)) = port_entry(&tp.port_level_settings) {
                        let path = [
                            Step::Key("spec"),
                            Step::Key("trafficPolicy"),
                            Step::Key("portLevelSettings"),
                            Step::Index(j),
                        ];
                        apply_port_entry(
                            &mut choice,
                            &mut because,
                            tdr.object,
                            &path,
                            pl,
                            service_port,
                            "",
                        );
                    }
                }
                variants.push(ClientTls {
                    choice,
                    rule: Some(*i),
                    because,
                });
            }
        }
        variants
    }

    /// [`Self::client_tls_variants`] for the meshed clients (labels unknown) of
    /// `client_namespace`, given `others`: the answer for clients of a namespace without a
    /// view of their own (`""`). When `client_namespace` is not among
    /// [`Self::namespaces_with_own_view`] for the service's host (so it holds no rule for the
    /// host, and no rule names it in `exportTo`; that holds for the service's own namespace
    /// too) and is not the root namespace, its clients get the same rules as `others`: only
    /// the first fact of each variant, which names the clients' namespace, is written anew. Server ports answer
    /// many named namespaces, and this spares a lookup for each.
    /// `host` is the service's ([`service_host`]), and `client_namespace` is not empty.
    pub fn retarget_variants(
        &self,
        others: &[ClientTls],
        client_namespace: &str,
        host: &str,
    ) -> Vec<ClientTls> {
        // The texts of `client_tls_variants`, each written in one allocation.
        let text = |parts: &[&str]| {
            let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
            parts.iter().for_each(|p| s.push_str(p));
            s
        };
        others
            .iter()
            .map(|v| {
                let mut because = v.because.clone();
                if let Some(first) = because.first_mut() {
                    *first = match (v.rule, first.object) {
                        (None, _) | (_, None) => Because::default(text(&[
                            "no DestinationRule for ",
                            host,
                            " applies to clients in namespace ",
                            client_namespace,
                        ])),
                        (Some(_), Some(object)) => Because::at(
                            object,
                            &[Step::Key("spec"), Step::Key("host")],
                            text(&[
                                "applies to clients in namespace ",
                                client_namespace,
                                " calling ",
                                host,
                            ]),
                        ),
                    };
                }
                ClientTls {
                    choice: v.choice,
                    rule: v.rule,
                    because,
                }
            })
            .collect()
    }

    /// Whether [`Self::retarget_variants`] answers for `client_namespace`'s clients of
    /// `service`, given the namespaces with a view of their own for its host.
    pub fn shares_others_view(&self, client_namespace: &str, own_view: &[&str]) -> bool {
        !client_namespace.is_empty()
            && client_namespace != self.root
            && !own_view.contains(&client_namespace)
    }

    /// The most exposed of [`Self::client_tls_variants`]: what some route really sends.
    pub fn client_tls(
        &self,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        service: &Service,
        service_port: u16,
        server_labels: &Labels,
    ) -> ClientTls {
        self.client_tls_variants(
            client_namespace,
            client_labels,
            service,
            service_port,
            server_labels,
        )
        .into_iter()
        .max_by_key(|v| choice_exposure(v.choice))
        .expect("the default route is always there")
    }
}

/// How much a client choice can expose, for picking the weakest route.
fn choice_exposure(choice: ClientTlsChoice) -> u8 {
    match choice {
        ClientTlsChoice::Explicit(ClientTlsMode::Disable) => 3,
        ClientTlsChoice::Explicit(ClientTlsMode::Simple | ClientTlsMode::Mutual) => 2,
        ClientTlsChoice::Auto => 1,
        ClientTlsChoice::Explicit(ClientTlsMode::IstioMutual) => 0,
    }
}

/// A matching `portLevelSettings` entry replaces the policy for the port, tls included: an entry
/// without `tls` means auto mTLS, not the setting above it.
fn apply_port_entry(
    choice: &mut ClientTlsChoice,
    because: &mut Vec<Because>,
    object: ObjectId,
    path: &[Step<'_>],
    entry: &PortTrafficPolicy,
    port: u16,
    prefix: &str,
) {
    match entry.tls.as_ref().and_then(|t| t.mode) {
        Some(mode) => {
            *choice = ClientTlsChoice::Explicit(mode);
            let mut at = path.to_vec();
            at.extend([Step::Key("tls"), Step::Key("mode")]);
            because.push(Because::at(
                object,
                &at,
                format!(
                    "{prefix}portLevelSettings for port {port} sets tls.mode {}",
                    client_tls_mode_str(mode)
                ),
            ));
        }
        None => {
            if *choice != ClientTlsChoice::Auto {
                *choice = ClientTlsChoice::Auto;
                because.push(Because::at(
                    object,
                    path,
                    format!("{prefix}portLevelSettings for port {port} has no tls, which resets the port to auto mTLS"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_matching_prefers_exact_then_longer_wildcards() {
        let host = "api.shop.svc.cluster.local";
        assert_eq!(host_match(host, host), Some(usize::MAX));
        assert!(host_match("*.shop.svc.cluster.local", host) > host_match("*.cluster.local", host));
        assert_eq!(host_match("*", host), Some(0));
        assert_eq!(host_match("*.other.svc.cluster.local", host), None);
        assert_eq!(normalized_host("api", "shop"), host);
    }
}
