//! Reference facts: selectors that select nothing, and identities, service accounts and
//! namespaces that policies name but the input shows do not exist. Partial inputs must not
//! look like typos, so a missing service account counts only in a namespace the input declares
//! and runs workloads in, and a missing namespace only when the input declares every namespace
//! its objects live in (and at least two), as the Istio rules decide.

use std::collections::{BTreeSet, HashMap};

use meshaudit_model::{Idx, Inventory, LinkerdServerId, ObjectId, WorkloadId};

use super::identity::{IdentityMatch, Names};
use super::{Authentication, LinkerdPolicy};
use crate::evidence::Because;

/// Why a Server governs no pod port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NothingSelected {
    /// No workload of its namespace carries the selector's labels.
    NoPod {
        /// Workloads of the namespace in the input.
        workloads: usize,
    },
    /// Some workloads match, but none has a TCP container port of that name.
    NoPort { pods: Vec<WorkloadId> },
    /// Every port it selects is governed by an older Server (2.18 on; before, either one).
    Shadowed { by: Vec<LinkerdServerId> },
}

/// What kind of name does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownWhat {
    /// A service account of a namespace the input declares, which no workload runs as and no
    /// ServiceAccount object defines.
    ServiceAccount { namespace: String, name: String },
    /// A namespace that is not in the input, though the input declares every namespace.
    Namespace { namespace: String },
    /// A `*` in an `identityRefs` name: Linkerd does not expand it, so it matches nobody.
    LiteralWildcard { kind: &'static str, name: String },
    /// An identity of another control-plane namespace or trust domain than this mesh's.
    ForeignIdentity { identity: String },
}

/// One name a policy resource writes that matches nothing in this mesh.
#[derive(Debug, Clone)]
pub struct UnknownName {
    /// The resource that writes it (MeshTLSAuthentication, ServerAuthorization or
    /// AuthorizationPolicy).
    pub object: ObjectId,
    pub what: UnknownWhat,
    /// Where it is written.
    pub because: Because,
    /// A name of the input that looks close (same namespace), when one does.
    pub hint: Option<String>,
}

/// The service accounts each namespace's workloads run as or its ServiceAccount objects define.
struct KnownAccounts<'a> {
    by_namespace: HashMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> KnownAccounts<'a> {
    fn new(inv: &'a Inventory) -> Self {
        let mut by_namespace: HashMap<&'a str, BTreeSet<&'a str>> = HashMap::new();
        for w in &inv.workloads {
            by_namespace
                .entry(w.namespace.as_str())
                .or_default()
                .insert(w.service_account.as_str());
        }
        for s in &inv.service_accounts {
            by_namespace
                .entry(s.namespace.as_str())
                .or_default()
                .insert(s.name.as_str());
        }
        KnownAccounts { by_namespace }
    }
}

/// Namespaces every Kubernetes cluster has. Installs put objects there without declaring them
/// (linkerd-viz's RoleBinding in `kube-system`; an APIService, which the input keeps under
/// `default`), so they neither make an input partial nor are ever missing.
const BUILT_IN_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

fn is_built_in(namespace: &str) -> bool {
    BUILT_IN_NAMESPACES.contains(&namespace)
}

/// The input declares every namespace its objects live in (the built-in ones need not be), and
/// at least two.
fn namespaces_complete(inv: &Inventory) -> bool {
    let declared = inv
        .namespaces
        .values()
        .filter(|n| n.object.is_some())
        .count();
    declared >= 2
        && inv
            .namespaces
            .values()
            .all(|n| n.object.is_some() || is_built_in(&n.name))
}

/// Levenshtein distance, small strings only.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn closest<'s>(name: &str, candidates: impl IntoIterator<Item = &'s str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d > 0 && *d <= 2.max(name.len() / 4) && *d < c.len())
        .min()
        .map(|(_, c)| c.to_owned())
}

impl LinkerdPolicy<'_> {
    /// Why Server `server` governs no pod port, when the input can tell: its namespace has
    /// workloads in the input, and it selects pods (an `externalWorkloadSelector` selects
    /// ExternalWorkloads, which the input does not hold).
    pub fn server_selects_nothing(&self, server: LinkerdServerId) -> Option<NothingSelected> {
        let inv = self.inventory();
        let s = &inv.linkerd.servers[server];
        let facts = self.server(server);
        if !facts.governs.is_empty() {
            return None;
        }
        let selector = s.spec.pod_selector.as_ref()?;
        let in_namespace = inv.workload_indexes_in(&s.namespace);
        if in_namespace.is_empty() {
            return None;
        }
        if !facts.selected.is_empty() {
            let mut by: Vec<LinkerdServerId> = facts.shadowed.iter().map(|&(_, _, w)| w).collect();
            by.sort_unstable();
            by.dedup();
            return Some(NothingSelected::Shadowed { by });
        }
        let pods: Vec<WorkloadId> = in_namespace
            .iter()
            .copied()
            .filter(|&w| selector.matches(&inv.workloads[w].labels))
            .collect();
        Some(if pods.is_empty() {
            NothingSelected::NoPod {
                workloads: in_namespace.len(),
            }
        } else {
            NothingSelected::NoPort { pods }
        })
    }

    /// Names written in MeshTLSAuthentications, ServerAuthorizations and AuthorizationPolicy
    /// ServiceAccount refs that match nothing in this mesh, in input order.
    pub fn unknown_names(&self) -> Vec<UnknownName> {
        let inv = self.inventory();
        let known = KnownAccounts::new(inv);
        let complete = namespaces_complete(inv);
        let mut out = Vec::new();
        let mut check = |object: ObjectId, id: &IdentityMatch<'_>| {
            if let Some(u) = self.unknown(&known, complete, object, id) {
                out.push(u);
            }
        };
        for (i, m) in Idx::enumerate(&inv.linkerd.mesh_tls_authentications) {
            for id in &self.mesh_tls(i).identities {
                check(m.object, id);
            }
        }
        for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
            if let Some(a) = &self.server_authorization(i).authorization {
                if let Authentication::Identities(ids) = &a.authentication {
                    for id in ids {
                        check(saz.object, id);
                    }
                }
            }
        }
        for (i, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
            let facts = self.policy(i);
            // ServiceAccount refs are checked here; MeshTLSAuthentications on their own.
            let Some(a) = &facts.authorization else {
                continue;
            };
            if !facts
                .refs
                .iter()
                .any(|r| matches!(r, super::AuthRef::ServiceAccount { .. }))
            {
                continue;
            }
            if let Authentication::Identities(ids) = &a.authentication {
                for id in ids {
                    check(p.object, id);
                }
            }
        }
        out
    }

    fn unknown(
        &self,
        known: &KnownAccounts<'_>,
        complete: bool,
        object: ObjectId,
        id: &IdentityMatch<'_>,
    ) -> Option<UnknownName> {
        let ref_kind = id.from_ref;
        let inv = self.inventory();
        let because = id.because.clone();
        let namespace_known = |ns: &str| inv.namespaces.contains_key(ns) || is_built_in(ns);
        match id.names {
            Names::ServiceAccount { namespace, name } => {
                if ref_kind.is_some() && name.contains('*') {
                    return Some(UnknownName {
                        object,
                        what: UnknownWhat::LiteralWildcard {
                            kind: "ServiceAccount",
                            name: name.to_owned(),
                        },
                        because,
                        hint: None,
                    });
                }
                if !namespace_known(namespace) {
                    return complete.then(|| UnknownName {
                        object,
                        what: UnknownWhat::Namespace {
                            namespace: namespace.to_owned(),
                        },
                        because,
                        hint: closest(namespace, inv.namespaces.keys().map(String::as_str)),
                    });
                }
                let declared = inv.namespace(namespace).is_some_and(|n| n.object.is_some());
                let accounts = known.by_namespace.get(namespace)?;
                if !declared || inv.workload_indexes_in(namespace).is_empty() {
                    return None;
                }
                if name == "default" || accounts.contains(name) {
                    return None;
                }
                Some(UnknownName {
                    object,
                    what: UnknownWhat::ServiceAccount {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                    },
                    because,
                    hint: closest(name, accounts.iter().copied()),
                })
            }
            Names::Namespace(ns) => {
                if namespace_known(ns) || !complete {
                    return None;
                }
                Some(UnknownName {
                    object,
                    what: UnknownWhat::Namespace {
                        namespace: ns.to_owned(),
                    },
                    because,
                    hint: closest(ns, inv.namespaces.keys().map(String::as_str)),
                })
            }
            Names::WholeMesh => None,
            Names::Foreign => {
                if ref_kind == Some("Namespace") {
                    // A Namespace ref whose name holds `*` (or a dot): a literal, never a
                    // wildcard.
                    let name = id
                        .pattern
                        .text()
                        .strip_prefix("*.")
                        .and_then(|s| s.strip_suffix(&format!(".{}", self.domain().suffix)))
                        .unwrap_or_default()
                        .to_owned();
                    return Some(UnknownName {
                        object,
                        what: UnknownWhat::LiteralWildcard {
                            kind: "Namespace",
                            name,
                        },
                        because,
                        hint: None,
                    });
                }
                // Only with the control plane's config in the input do we know its identity
                // format for sure; URIs (SPIFFE, mesh expansion) are left alone.
                let text = id.pattern.text();
                if inv.linkerd.config.is_none() || text.contains("://") {
                    return None;
                }
                Some(UnknownName {
                    object,
                    what: UnknownWhat::ForeignIdentity { identity: text },
                    because,
                    hint: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_hinted() {
        assert_eq!(closest("carts", ["cart", "web"]), Some("cart".to_owned()));
        assert_eq!(closest("zzz", ["cart", "web"]), None);
        assert_eq!(closest("cart", ["cart"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
