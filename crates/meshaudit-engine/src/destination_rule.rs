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

use std::collections::HashMap;

use meshaudit_model::istio::{ClientTlsMode, ClientTlsSettings, DestinationRuleSpec, Typed};
use meshaudit_model::k8s::Service;
use meshaudit_model::selector::Labels;
use meshaudit_model::{Inventory, Step};

use crate::evidence::Because;
use crate::peer_authentication::oldest;

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
    pub rule: Option<usize>,
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

pub struct DestinationRules<'a> {
    inventory: &'a Inventory,
    root: &'a str,
    by_namespace: HashMap<&'a str, Vec<(usize, &'a Typed<DestinationRuleSpec>)>>,
}

impl<'a> DestinationRules<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut by_namespace: HashMap<&str, Vec<_>> = HashMap::new();
        for (i, dr) in inventory.istio.destination_rules.iter().enumerate() {
            by_namespace
                .entry(dr.namespace.as_str())
                .or_default()
                .push((i, dr));
        }
        DestinationRules {
            inventory,
            root: inventory.istio.root_namespace(),
            by_namespace,
        }
    }

    /// Namespaces whose clients may see a different rule for `host` than clients elsewhere:
    /// those holding a rule for the host, and those named in a rule's `exportTo`.
    pub fn namespaces_with_own_view(&self, host: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        for (ns, rules) in &self.by_namespace {
            for (_, dr) in rules {
                if host_match(&normalized_host(&dr.spec.host, ns), host).is_none() {
                    continue;
                }
                out.push(*ns);
                for e in dr.spec.export_to.iter().flatten() {
                    if e != "*" && e != "." && e != "~" {
                        out.push(e.as_str());
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn best_in(
        &self,
        namespace: &str,
        host: &str,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        local: bool,
    ) -> Option<(usize, &'a Typed<DestinationRuleSpec>)> {
        let rules = self.by_namespace.get(namespace)?;
        let mut best: Vec<(bool, usize, usize, &Typed<DestinationRuleSpec>)> = Vec::new();
        for (i, dr) in rules {
            if !exported_to(&dr.spec, namespace, client_namespace) {
                continue;
            }
            let Some(score) = host_match(&normalized_host(&dr.spec.host, namespace), host) else {
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
        let top = best.iter().map(|(s, score, _, _)| (*s, *score)).max()?;
        let candidates: Vec<&Typed<DestinationRuleSpec>> = best
            .iter()
            .filter(|(s, score, _, _)| (*s, *score) == top)
            .map(|(_, _, _, dr)| *dr)
            .collect();
        let chosen = oldest(self.inventory, &candidates)?;
        best.iter()
            .find(|(_, _, _, dr)| dr.object == chosen.object)
            .map(|(_, _, i, dr)| (*i, *dr))
    }

    /// The rule a client in `client_namespace` (with `client_labels`, if known) uses for
    /// `service`.
    pub fn lookup(
        &self,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        service: &Service,
    ) -> Option<(usize, &'a Typed<DestinationRuleSpec>)> {
        let host = service_host(service);
        self.best_in(
            client_namespace,
            &host,
            client_namespace,
            client_labels,
            true,
        )
        .or_else(|| {
            (service.namespace != client_namespace)
                .then(|| self.best_in(&service.namespace, &host, client_namespace, None, false))
                .flatten()
        })
        .or_else(|| {
            (self.root != client_namespace && self.root != service.namespace)
                .then(|| self.best_in(self.root, &host, client_namespace, None, false))
                .flatten()
        })
    }

    /// The TLS a client sends to `service_port` of `service`, reaching a server pod with
    /// `server_labels` (which picks the subset).
    pub fn client_tls(
        &self,
        client_namespace: &str,
        client_labels: Option<&Labels>,
        service: &Service,
        service_port: u16,
        server_labels: &Labels,
    ) -> ClientTls {
        let Some((index, dr)) = self.lookup(client_namespace, client_labels, service) else {
            return ClientTls {
                choice: ClientTlsChoice::Auto,
                rule: None,
                because: vec![Because::default(format!(
                    "no DestinationRule for {} applies to clients in {}",
                    service_host(service),
                    namespace_phrase(client_namespace)
                ))],
            };
        };
        let mut because = vec![Because::at(
            dr.object,
            &[Step::Key("spec"), Step::Key("host")],
            format!(
                "applies to clients in {} calling {}",
                namespace_phrase(client_namespace),
                service_host(service)
            ),
        )];
        let mut choice = ClientTlsChoice::Auto;
        // A matching `portLevelSettings` entry replaces the whole policy for the port, tls
        // included: an entry without `tls` means auto mTLS, not the top-level setting.
        let mut note =
            |tls: Option<&ClientTlsSettings>, path: Vec<Step<'_>>, what: String| match tls
                .and_then(|t| t.mode)
            {
                Some(mode) => {
                    choice = ClientTlsChoice::Explicit(mode);
                    because.push(Because::at(
                        dr.object,
                        &path,
                        format!("{what} sets tls.mode {}", client_tls_mode_str(mode)),
                    ));
                }
                None => {
                    if choice != ClientTlsChoice::Auto {
                        choice = ClientTlsChoice::Auto;
                        let mut at = path;
                        at.truncate(at.len().saturating_sub(2));
                        because.push(Because::at(
                            dr.object,
                            &at,
                            format!("{what} has no tls, which resets the port to auto mTLS"),
                        ));
                    }
                }
            };
        if let Some(tp) = &dr.spec.traffic_policy {
            if let Some(tls) = &tp.tls {
                note(
                    Some(tls),
                    vec![
                        "spec".into(),
                        "trafficPolicy".into(),
                        "tls".into(),
                        "mode".into(),
                    ],
                    "trafficPolicy".to_owned(),
                );
            }
            for (i, pl) in tp.port_level_settings.iter().enumerate() {
                if pl.port.as_ref().and_then(|p| p.number) == Some(u32::from(service_port)) {
                    {
                        note(
                            pl.tls.as_ref(),
                            vec![
                                "spec".into(),
                                "trafficPolicy".into(),
                                "portLevelSettings".into(),
                                Step::Index(i),
                                "tls".into(),
                                "mode".into(),
                            ],
                            format!("portLevelSettings for port {service_port}"),
                        );
                    }
                }
            }
        }
        // Traffic routed to a subset that covers the server uses the subset's policy; the
        // weakest reading is taken, since a VirtualService may route there.
        for (i, subset) in dr.spec.subsets.iter().enumerate() {
            if subset.labels.is_empty()
                || !meshaudit_model::selector::map_selects(&subset.labels, server_labels)
            {
                continue;
            }
            let Some(tp) = &subset.traffic_policy else {
                continue;
            };
            let base = vec![
                Step::Key("spec"),
                Step::Key("subsets"),
                Step::Index(i),
                Step::Key("trafficPolicy"),
            ];
            if let Some(tls) = &tp.tls {
                let mut path = base.clone();
                path.extend([Step::Key("tls"), Step::Key("mode")]);
                note(Some(tls), path, format!("subset {}", subset.name));
            }
            for (j, pl) in tp.port_level_settings.iter().enumerate() {
                if pl.port.as_ref().and_then(|p| p.number) == Some(u32::from(service_port)) {
                    {
                        let mut path = base.clone();
                        path.extend([
                            Step::Key("portLevelSettings"),
                            Step::Index(j),
                            Step::Key("tls"),
                            Step::Key("mode"),
                        ]);
                        note(
                            pl.tls.as_ref(),
                            path,
                            format!("subset {} port {service_port}", subset.name),
                        );
                    }
                }
            }
        }
        if choice == ClientTlsChoice::Auto {
            because.push(Because::object(
                dr.object,
                "sets no tls mode, so auto mTLS decides",
            ));
        }
        ClientTls {
            choice,
            rule: Some(index),
            because,
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
