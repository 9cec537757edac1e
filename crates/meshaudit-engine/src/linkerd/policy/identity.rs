//! Client identities as Linkerd's authorizations name them, and how they match a client.
//!
//! Linkerd compares identity strings as the proxy does (`linkerd2-proxy`
//! `linkerd/app/inbound/src/policy.rs` `is_tls_authorized`): an exact string, or a suffix —
//! `*` is the empty suffix (every DNS-style identity), `*.<s>` every identity ending in `.<s>`.
//! A `*` anywhere else is a literal character, so `identityRefs` naming a ServiceAccount or a
//! Namespace `*` match nobody.

use crate::authorization::PeerIdentity;
use crate::evidence::Because;

/// What one identity entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*`: every DNS-style identity (URI identities are matched only exactly).
    Any,
    /// `*.<suffix>` (held without the leading `*.`).
    Suffix(String),
    /// Anything else.
    Exact(String),
}

impl Pattern {
    /// Reads a written identity string the way Linkerd's `IdentityMatch::from_str` does.
    pub fn parse(text: &str) -> Pattern {
        if text == "*" {
            Pattern::Any
        } else if let Some(suffix) = text.strip_prefix("*.") {
            Pattern::Suffix(suffix.to_owned())
        } else {
            Pattern::Exact(text.to_owned())
        }
    }

    /// Does an identity string match, as the proxy compares?
    pub fn matches(&self, identity: &str) -> bool {
        let uri = identity.contains("://");
        match self {
            Pattern::Any => !uri,
            Pattern::Suffix(s) => {
                !uri && identity.len() > s.len() + 1
                    && identity.ends_with(s.as_str())
                    && identity.as_bytes()[identity.len() - s.len() - 1] == b'.'
            }
            Pattern::Exact(e) => identity == e,
        }
    }

    /// Does the pattern match every identity that ends in `.<tail>` (a whole namespace, a whole
    /// trust domain)? `*` does; a suffix does when `.<suffix>` is a label-aligned suffix of
    /// `.<tail>`.
    pub fn covers_all_under(&self, tail: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Suffix(s) => {
                tail == s
                    || (tail.ends_with(s.as_str()) && tail.len() > s.len() && {
                        tail.as_bytes()[tail.len() - s.len() - 1] == b'.'
                    })
            }
            Pattern::Exact(_) => false,
        }
    }

    /// As written in a policy: `*`, `*.suffix` or the exact identity.
    pub fn text(&self) -> String {
        match self {
            Pattern::Any => "*".to_owned(),
            Pattern::Suffix(s) => format!("*.{s}"),
            Pattern::Exact(e) => e.clone(),
        }
    }

    /// Does every identity `other` matches also match this pattern?
    pub fn includes(&self, other: &Pattern) -> bool {
        match (self, other) {
            (Pattern::Any, Pattern::Exact(e)) => !e.contains("://"),
            (Pattern::Any, _) => true,
            (Pattern::Suffix(_), Pattern::Any) => false,
            (Pattern::Suffix(_), Pattern::Suffix(t)) => self.covers_all_under(t),
            (Pattern::Suffix(_), Pattern::Exact(e)) => self.matches(e),
            (Pattern::Exact(a), Pattern::Exact(b)) => a == b,
            (Pattern::Exact(_), _) => false,
        }
    }
}

/// What an identity entry names, read against this mesh's identity format
/// (`<sa>.<ns>.serviceaccount.identity.<control-plane ns>.<trust domain>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names<'a> {
    /// One service account.
    ServiceAccount { namespace: &'a str, name: &'a str },
    /// Every service account of a namespace.
    Namespace(&'a str),
    /// Every identity of this mesh's trust domain (`*`, `*.serviceaccount.identity.linkerd.cluster.local`, ...).
    WholeMesh,
    /// An identity of another control plane or trust domain, a `spiffe://` URI, or a suffix that
    /// is not one of the shapes above: nothing of this mesh's own workloads.
    Foreign,
}

/// One identity an authorization admits, with where it is written.
#[derive(Debug, Clone)]
pub struct IdentityMatch<'a> {
    pub pattern: Pattern,
    pub names: Names<'a>,
    /// `Some("ServiceAccount")` or `Some("Namespace")` when it comes from a reference to that
    /// kind (whose name Linkerd never expands), `None` for a written identity string.
    pub from_ref: Option<&'static str>,
    /// The entry (or the ref it comes from) and what it says.
    pub because: Because,
}

/// The identity format of one control plane.
#[derive(Debug, Clone)]
pub struct IdentityDomain {
    /// `serviceaccount.identity.<control-plane ns>.<trust domain>`.
    pub suffix: String,
}

impl IdentityDomain {
    pub fn new(control_plane_namespace: &str, trust_domain: &str) -> Self {
        IdentityDomain {
            suffix: format!("serviceaccount.identity.{control_plane_namespace}.{trust_domain}"),
        }
    }

    pub fn service_account(&self, namespace: &str, name: &str) -> String {
        format!("{name}.{namespace}.{}", self.suffix)
    }

    /// `*.<ns>.serviceaccount.identity...` as a suffix (without the `*.`).
    pub fn namespace_suffix(&self, namespace: &str) -> String {
        format!("{namespace}.{}", self.suffix)
    }

    /// What a written identity string names. Slices of `text` are returned, so names borrow
    /// from the resource.
    pub fn names_of<'a>(&self, text: &'a str) -> Names<'a> {
        let tail = format!(".{}", self.suffix);
        if text == "*" {
            return Names::WholeMesh;
        }
        if let Some(suffix) = text.strip_prefix("*.") {
            if Pattern::Suffix(suffix.to_owned()).covers_all_under(&self.suffix) {
                return Names::WholeMesh;
            }
            if let Some(ns) = suffix.strip_suffix(tail.as_str()) {
                if !ns.is_empty() && !ns.contains('.') && !ns.contains('*') {
                    return Names::Namespace(ns);
                }
            }
            return Names::Foreign;
        }
        if let Some(head) = text.strip_suffix(tail.as_str()) {
            // Namespaces are DNS labels (no dot); service account names may hold dots.
            if let Some((sa, ns)) = head.rsplit_once('.') {
                if !sa.is_empty() && !ns.is_empty() {
                    return Names::ServiceAccount {
                        namespace: ns,
                        name: sa,
                    };
                }
            }
        }
        Names::Foreign
    }

    /// Does the pattern match a client of this peer class? `Known` is one service account;
    /// `Namespace` an identity of that namespace that no pattern names one by one (so only
    /// patterns covering the whole namespace match it); `Other` an identity of this trust
    /// domain in a namespace no pattern names (only patterns covering the whole domain match);
    /// `None` has no identity.
    pub fn matches_peer(&self, pattern: &Pattern, peer: &PeerIdentity) -> bool {
        match peer {
            PeerIdentity::None => false,
            PeerIdentity::Known {
                namespace,
                service_account,
            } => pattern.matches(&self.service_account(namespace, service_account)),
            PeerIdentity::Namespace { namespace } => {
                pattern.covers_all_under(&self.namespace_suffix(namespace))
            }
            PeerIdentity::Other => pattern.covers_all_under(&self.suffix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> IdentityDomain {
        IdentityDomain::new("linkerd", "cluster.local")
    }

    #[test]
    fn patterns_match_as_the_proxy_compares() {
        let id = "web.shop.serviceaccount.identity.linkerd.cluster.local";
        assert!(Pattern::parse("*").matches(id));
        assert!(!Pattern::parse("*").matches("spiffe://example.org/web"));
        assert!(Pattern::parse("*.shop.serviceaccount.identity.linkerd.cluster.local").matches(id));
        assert!(Pattern::parse("*.cluster.local").matches(id));
        assert!(!Pattern::parse("*.hop.serviceaccount.identity.linkerd.cluster.local").matches(id));
        assert!(Pattern::parse(id).matches(id));
        // `*` inside is a literal, as in Linkerd: the namespace `*` ref matches nobody.
        let literal = Pattern::parse("*.*.serviceaccount.identity.linkerd.cluster.local");
        assert!(!literal.matches(id));
        assert!(!Pattern::parse("*.*").matches(id));
    }

    #[test]
    fn names_are_read_from_the_identity_format() {
        let d = domain();
        assert_eq!(
            d.names_of("web.shop.serviceaccount.identity.linkerd.cluster.local"),
            Names::ServiceAccount {
                namespace: "shop",
                name: "web"
            }
        );
        assert_eq!(
            d.names_of("*.shop.serviceaccount.identity.linkerd.cluster.local"),
            Names::Namespace("shop")
        );
        for whole in [
            "*",
            "*.serviceaccount.identity.linkerd.cluster.local",
            "*.cluster.local",
            "*.local",
        ] {
            assert_eq!(d.names_of(whole), Names::WholeMesh, "{whole}");
        }
        for foreign in [
            "web.shop.serviceaccount.identity.linkerd.example.org",
            "spiffe://example.org/ns/shop/sa/web",
            "*.example.org",
            "*.*.serviceaccount.identity.linkerd.cluster.local",
        ] {
            assert_eq!(d.names_of(foreign), Names::Foreign, "{foreign}");
        }
    }

    #[test]
    fn peers_are_matched_by_class() {
        let d = domain();
        let known = PeerIdentity::Known {
            namespace: "shop".into(),
            service_account: "web".into(),
        };
        let ns = PeerIdentity::Namespace {
            namespace: "shop".into(),
        };
        let exact = Pattern::parse("web.shop.serviceaccount.identity.linkerd.cluster.local");
        let whole_ns = Pattern::parse("*.shop.serviceaccount.identity.linkerd.cluster.local");
        let whole = Pattern::parse("*.serviceaccount.identity.linkerd.cluster.local");
        assert!(d.matches_peer(&exact, &known));
        assert!(!d.matches_peer(&exact, &ns));
        assert!(d.matches_peer(&whole_ns, &ns));
        assert!(!d.matches_peer(&whole_ns, &PeerIdentity::Other));
        assert!(d.matches_peer(&whole, &PeerIdentity::Other));
        assert!(d.matches_peer(&Pattern::Any, &PeerIdentity::Other));
        assert!(!d.matches_peer(&Pattern::Any, &PeerIdentity::None));
    }

    #[test]
    fn inclusion_between_patterns() {
        let whole_ns = Pattern::parse("*.shop.serviceaccount.identity.linkerd.cluster.local");
        let exact = Pattern::parse("web.shop.serviceaccount.identity.linkerd.cluster.local");
        assert!(Pattern::Any.includes(&whole_ns));
        assert!(whole_ns.includes(&exact));
        assert!(!exact.includes(&whole_ns));
        assert!(Pattern::parse("*.cluster.local").includes(&whole_ns));
        assert!(!whole_ns.includes(&Pattern::Any));
    }
}
