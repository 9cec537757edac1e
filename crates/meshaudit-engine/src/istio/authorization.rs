//! AuthorizationPolicy evaluation as the server proxy (Envoy's RBAC filters, configured by
//! istiod) performs it, for one client identity and one server port:
//!
//! - CUSTOM policies first (an external authorizer decides), then DENY (any match denies), then
//!   ALLOW (if any ALLOW policy applies, a request must match one of its rules; a policy with no
//!   rules allows nothing), AUDIT never changes the outcome.
//! - A rule matches when one of its `from` entries, one of its `to` entries and all of its `when`
//!   conditions match; a field matches when any value matches, a `not*` field when none does.
//! - Principals, namespaces and service accounts come from the client's mTLS certificate: over
//!   plaintext they are empty, so positive matches fail and `not*` matches succeed. That is why
//!   a DENY on principals is bypassed by plaintext, and an ALLOW with `notNamespaces` admits it.
//! - Request principals and `request.auth.*` come from a JWT validated by a RequestAuthentication;
//!   without one they are always empty.
//! - On ports the proxy handles as TCP, HTTP-only fields cannot be evaluated: an ALLOW rule
//!   that uses them is dropped (it allows nothing) and a DENY rule that uses them is enforced on
//!   its remaining connection-level fields (it denies more), as istiod builds the TCP filter.
//!
//! Request attributes the client does not determine (paths, methods, headers, IPs, token
//! claims) make a match conditional: the result is then "allowed only for some requests".

use crate::HashMap;

use meshaudit_model::istio::{
    AuthorizationAction, AuthorizationPolicySpec, AuthorizationRule, Condition, Operation, Source,
    Typed, DEFAULT_TRUST_DOMAIN,
};
use meshaudit_model::k8s::Workload;
use meshaudit_model::{AuthorizationPolicyId, Inventory, Step};

use crate::evidence::Because;
use crate::protocol::Layer;
use crate::scope::applies_to;

/// A three-valued match: some request attributes are not known statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
        }
    }

    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
            _ => Tri::Yes,
        }
    }

    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
            _ => Tri::No,
        }
    }
}

/// The identity a server proxy sees on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerIdentity {
    /// Plaintext: no certificate, so no principal and no namespace.
    None,
    /// An mTLS identity from the input.
    Known {
        namespace: String,
        service_account: String,
    },
    /// Any other mTLS identity: one that matches none of the specific principal, namespace or
    /// service-account patterns of the server's policies (only `*` matches it).
    Other,
    /// An mTLS identity of `namespace` whose service account none of the server's principal or
    /// service-account patterns names one by one: namespace patterns match it, and identity
    /// patterns that match every identity of the namespace (`cluster.local/ns/batch/*`).
    Namespace { namespace: String },
}

/// Everything about a connection that evaluation reads.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub peer: &'a PeerIdentity,
    /// The port the server application listens on.
    pub port: u16,
    pub layer: Layer,
    /// A RequestAuthentication applies to the server, so request principals can be set.
    pub jwt: bool,
    pub trust_domain: &'a str,
    pub trust_domain_aliases: &'a [String],
}

/// Istio's string match: exact, `prefix*`, `*suffix`, or `*` (any non-empty value).
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return !value.is_empty();
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

/// A string given as its parts, compared without joining them: identities are matched against
/// every pattern of every policy, and writing each one out cost more than the matching.
struct Joined<'p>(&'p [&'p str]);

impl Joined<'_> {
    fn len(&self) -> usize {
        self.0.iter().map(|p| p.len()).sum()
    }

    /// Does the joined string start with `prefix`?
    fn has_prefix(&self, prefix: &str) -> bool {
        let mut rest = prefix.as_bytes();
        for part in self.0 {
            let part = part.as_bytes();
            let n = part.len().min(rest.len());
            if part[..n] != rest[..n] {
                return false;
            }
            rest = &rest[n..];
            if rest.is_empty() {
                return true;
            }
        }
        rest.is_empty()
    }

    /// Does the joined string end with `suffix`?
    fn has_suffix(&self, suffix: &str) -> bool {
        let mut rest = suffix.as_bytes();
        for part in self.0.iter().rev() {
            let part = part.as_bytes();
            let n = part.len().min(rest.len());
            if part[part.len() - n..] != rest[rest.len() - n..] {
                return false;
            }
            rest = &rest[..rest.len() - n];
            if rest.is_empty() {
                return true;
            }
        }
        rest.is_empty()
    }

    /// [`pattern_matches`] on the joined string.
    fn matched_by(&self, pattern: &str) -> bool {
        if pattern == "*" {
            return self.len() > 0;
        }
        if let Some(prefix) = pattern.strip_suffix('*') {
            return self.has_prefix(prefix);
        }
        if let Some(suffix) = pattern.strip_prefix('*') {
            return self.has_suffix(suffix);
        }
        self.len() == pattern.len() && self.has_prefix(pattern)
    }
}

impl Request<'_> {
    /// The trust domains a policy principal may name for this mesh: its own, its aliases, and
    /// `cluster.local` (which in a policy always stands for the local domain).
    fn local_domains(&self) -> impl Iterator<Item = &str> + '_ {
        std::iter::once(self.trust_domain)
            .chain(self.trust_domain_aliases.iter().map(String::as_str))
            .chain(std::iter::once(DEFAULT_TRUST_DOMAIN))
    }

    fn principal_matches(&self, pattern: &str) -> bool {
        match self.peer {
            PeerIdentity::None => false,
            // Any identity of a local trust domain: `*`, or a prefix that stops before the
            // namespace (`cluster.local/*`, `cluster.local/ns/*`).
            PeerIdentity::Other => {
                pattern == "*"
                    || pattern.strip_suffix('*').is_some_and(|prefix| {
                        !prefix.contains('*')
                            && self
                                .local_domains()
                                .any(|td| Joined(&[td, "/ns/"]).has_prefix(prefix))
                    })
            }
            // Any identity of the namespace: also a prefix that stops before the service
            // account (`cluster.local/ns/batch/*`).
            PeerIdentity::Namespace { namespace } => {
                pattern == "*"
                    || pattern.strip_suffix('*').is_some_and(|prefix| {
                        !prefix.contains('*')
                            && self.local_domains().any(|td| {
                                Joined(&[td, "/ns/", namespace, "/sa/"]).has_prefix(prefix)
                            })
                    })
            }
            PeerIdentity::Known {
                namespace,
                service_account,
            } => self.local_domains().any(|td| {
                Joined(&[td, "/ns/", namespace, "/sa/", service_account]).matched_by(pattern)
            }),
        }
    }

    fn namespace_matches(&self, pattern: &str) -> bool {
        match self.peer {
            PeerIdentity::None => false,
            PeerIdentity::Other => pattern == "*",
            PeerIdentity::Known { namespace, .. } | PeerIdentity::Namespace { namespace } => {
                pattern_matches(pattern, namespace)
            }
        }
    }

    fn service_account_matches(&self, pattern: &str) -> bool {
        match self.peer {
            PeerIdentity::None => false,
            PeerIdentity::Other => pattern == "*",
            PeerIdentity::Namespace { namespace } => {
                pattern == "*"
                    || pattern.strip_suffix('*').is_some_and(|prefix| {
                        !prefix.contains('*') && Joined(&[namespace, "/"]).has_prefix(prefix)
                    })
            }
            PeerIdentity::Known {
                namespace,
                service_account,
            } => Joined(&[namespace, "/", service_account]).matched_by(pattern),
        }
    }
}

/// The outcome of matching one rule.
#[derive(Debug, Clone)]
pub struct RuleMatch {
    pub result: Tri,
    /// The request attributes a `Maybe` depends on, for people: `paths [/admin/*]`.
    pub conditions: Vec<String>,
}

struct Matcher<'r, 'a> {
    request: &'r Request<'a>,
    conditions: Vec<String>,
    /// Whether an HTTP-only field was met.
    http_only: bool,
}

fn list(values: &[String]) -> String {
    format!("[{}]", values.join(", "))
}

fn covers_all_ips(blocks: &[String]) -> bool {
    blocks.iter().any(|b| b == "0.0.0.0/0" || b == "::/0")
}

impl Matcher<'_, '_> {
    fn any(&self, values: &[String], f: impl Fn(&str) -> bool) -> Tri {
        Tri::from_bool(values.iter().any(|v| f(v)))
    }

    fn maybe(&mut self, what: String) -> Tri {
        self.conditions.push(what);
        Tri::Maybe
    }

    fn http_field(&mut self, what: String) -> Tri {
        self.http_only = true;
        self.maybe(what)
    }

    fn source(&mut self, s: &Source) -> Tri {
        let r = self.request;
        let mut t = Tri::Yes;
        if !s.principals.is_empty() {
            t = t.and(self.any(&s.principals, |p| r.principal_matches(p)));
        }
        if !s.not_principals.is_empty() {
            t = t.and(
                self.any(&s.not_principals, |p| r.principal_matches(p))
                    .not(),
            );
        }
        if !s.namespaces.is_empty() {
            t = t.and(self.any(&s.namespaces, |p| r.namespace_matches(p)));
        }
        if !s.not_namespaces.is_empty() {
            t = t.and(
                self.any(&s.not_namespaces, |p| r.namespace_matches(p))
                    .not(),
            );
        }
        if !s.service_accounts.is_empty() {
            t = t.and(self.any(&s.service_accounts, |p| r.service_account_matches(p)));
        }
        if !s.not_service_accounts.is_empty() {
            t = t.and(
                self.any(&s.not_service_accounts, |p| r.service_account_matches(p))
                    .not(),
            );
        }
        if !s.request_principals.is_empty() {
            let m = if r.jwt {
                self.http_field(format!(
                    "request principal in {}",
                    list(&s.request_principals)
                ))
            } else {
                self.http_only = true;
                Tri::No
            };
            t = t.and(m);
        }
        if !s.not_request_principals.is_empty() {
            let m = if r.jwt {
                self.http_field(format!(
                    "request principal not in {}",
                    list(&s.not_request_principals)
                ))
            } else {
                self.http_only = true;
                Tri::Yes
            };
            t = t.and(m);
        }
        for (blocks, negate, name) in [
            (&s.ip_blocks, false, "ipBlocks"),
            (&s.not_ip_blocks, true, "notIpBlocks"),
            (&s.remote_ip_blocks, false, "remoteIpBlocks"),
            (&s.not_remote_ip_blocks, true, "notRemoteIpBlocks"),
        ] {
            if blocks.is_empty() {
                continue;
            }
            let m = if covers_all_ips(blocks) {
                Tri::Yes
            } else {
                self.maybe(format!("client address in {name} {}", list(blocks)))
            };
            t = t.and(if negate { m.not() } else { m });
        }
        t
    }

    fn operation(&mut self, o: &Operation) -> Tri {
        let port = self.request.port;
        let mut t = Tri::Yes;
        if !o.ports.is_empty() {
            t = t.and(Tri::from_bool(o.ports.iter().any(|p| names_port(p, port))));
        }
        if !o.not_ports.is_empty() {
            t = t.and(Tri::from_bool(
                !o.not_ports.iter().any(|p| names_port(p, port)),
            ));
        }
        for (values, negate, name) in [
            (&o.hosts, false, "hosts"),
            (&o.not_hosts, true, "notHosts"),
            (&o.methods, false, "methods"),
            (&o.not_methods, true, "notMethods"),
            (&o.paths, false, "paths"),
            (&o.not_paths, true, "notPaths"),
        ] {
            if values.is_empty() {
                continue;
            }
            // Every HTTP request has a host, a method and a path, so `*` matches them all.
            let m = if values.iter().any(|v| v == "*") {
                self.http_only = true;
                Tri::Yes
            } else {
                self.http_field(format!("{name} {}", list(values)))
            };
            t = t.and(if negate { m.not() } else { m });
        }
        t
    }

    fn condition(&mut self, c: &Condition) -> Tri {
        let r = self.request;
        let positive = |values: &[String], f: &dyn Fn(&str) -> bool| -> Option<Tri> {
            (!values.is_empty()).then(|| Tri::from_bool(values.iter().any(|v| f(v))))
        };
        let combine = |pos: Option<Tri>, neg: Option<Tri>| -> Tri {
            pos.unwrap_or(Tri::Yes).and(neg.map_or(Tri::Yes, Tri::not))
        };
        match c.key.as_str() {
            "source.principal" => combine(
                positive(&c.values, &|p| r.principal_matches(p)),
                positive(&c.not_values, &|p| r.principal_matches(p)),
            ),
            "source.namespace" => combine(
                positive(&c.values, &|p| r.namespace_matches(p)),
                positive(&c.not_values, &|p| r.namespace_matches(p)),
            ),
            "source.serviceAccount" => combine(
                positive(&c.values, &|p| r.service_account_matches(p)),
                positive(&c.not_values, &|p| r.service_account_matches(p)),
            ),
            "destination.port" => combine(
                positive(&c.values, &|p| names_port(p, r.port)),
                positive(&c.not_values, &|p| names_port(p, r.port)),
            ),
            key if key.starts_with("request.auth.") => {
                if r.jwt {
                    self.http_field(format!("{key} condition"))
                } else {
                    // No validated token, so no claims: only `notValues` can match.
                    self.http_only = true;
                    Tri::from_bool(c.values.is_empty())
                }
            }
            key if key.starts_with("request.") => self.http_field(format!("{key} condition")),
            key => self.maybe(format!("{key} condition")),
        }
    }
}

/// Matches one rule against a request.
/// Is `text` the port number `port` written as Istio compares it (the decimal text, exactly:
/// no sign, no leading zero)? Compared without writing the number out.
fn names_port(text: &str, port: u16) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && text.parse::<u16>() == Ok(port)
}

/// Does any rule of `policy` look at the destination port (`ports`, `notPorts`, a
/// `destination.port` condition)? When none of the policies that apply does, their answer is
/// the same on every port.
pub fn reads_port(policy: &AuthorizationPolicySpec) -> bool {
    policy.rules().iter().any(|rule| {
        rule.to.iter().any(|to| {
            to.operation
                .as_ref()
                .is_some_and(|o| !o.ports.is_empty() || !o.not_ports.is_empty())
        }) || rule.when.iter().any(|c| c.key == "destination.port")
    })
}

pub fn match_rule(
    rule: &AuthorizationRule,
    action: AuthorizationAction,
    request: &Request<'_>,
) -> RuleMatch {
    let mut m = Matcher {
        request,
        conditions: Vec::new(),
        http_only: false,
    };
    let mut t = Tri::Yes;
    if !rule.from.is_empty() {
        let mut any = Tri::No;
        for f in &rule.from {
            any = any.or(f.source.as_ref().map_or(Tri::Yes, |s| m.source(s)));
        }
        t = t.and(any);
    }
    if !rule.to.is_empty() {
        let mut any = Tri::No;
        for to in &rule.to {
            any = any.or(to.operation.as_ref().map_or(Tri::Yes, |o| m.operation(o)));
        }
        t = t.and(any);
    }
    for c in &rule.when {
        t = t.and(m.condition(c));
    }
    if m.http_only && request.layer == Layer::Tcp {
        // istiod cannot express HTTP fields in the TCP filter.
        return match action {
            AuthorizationAction::Deny => {
                let mut stripped = Matcher {
                    request,
                    conditions: Vec::new(),
                    http_only: false,
                };
                let t = tcp_only_match(rule, &mut stripped);
                RuleMatch {
                    result: t,
                    conditions: stripped.conditions,
                }
            }
            _ => RuleMatch {
                result: Tri::No,
                conditions: vec![
                    "rule uses HTTP-only fields on a TCP port, so it is dropped".to_owned()
                ],
            },
        };
    }
    RuleMatch {
        result: t,
        conditions: m.conditions,
    }
}

/// A DENY rule on a TCP port, with its HTTP-only fields removed.
fn tcp_only_match(rule: &AuthorizationRule, m: &mut Matcher<'_, '_>) -> Tri {
    let mut t = Tri::Yes;
    if !rule.from.is_empty() {
        let mut any = Tri::No;
        for f in &rule.from {
            let s = f.source.as_ref().map(|s| Source {
                request_principals: Vec::new(),
                not_request_principals: Vec::new(),
                ..s.clone()
            });
            any = any.or(s.as_ref().map_or(Tri::Yes, |s| m.source(s)));
        }
        t = t.and(any);
    }
    if !rule.to.is_empty() {
        let mut any = Tri::No;
        for to in &rule.to {
            let o = to.operation.as_ref().map(|o| Operation {
                ports: o.ports.clone(),
                not_ports: o.not_ports.clone(),
                ..Operation::default()
            });
            any = any.or(o.as_ref().map_or(Tri::Yes, |o| m.operation(o)));
        }
        t = t.and(any);
    }
    for c in rule.when.iter().filter(|c| !c.key.starts_with("request.")) {
        t = t.and(m.condition(c));
    }
    t
}

/// The outcome for one client identity on one server port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allowed,
    /// Allowed for some requests only (paths, methods, tokens, addresses), or decided by an
    /// external authorizer.
    Conditional,
    Denied,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Conditional => "conditional",
            Decision::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthzDecision {
    pub decision: Decision,
    /// The Istio AuthorizationPolicies that decided (empty when no policy applies).
    pub decided_by: Vec<AuthorizationPolicyId>,
    /// The resources that decided, for meshes whose policies are of several kinds (Linkerd's
    /// Server, AuthorizationPolicy, MeshTLSAuthentication…); empty for Istio.
    pub objects: Vec<meshaudit_model::ObjectId>,
    pub because: Vec<Because>,
    /// What the conditional part depends on.
    pub conditions: Vec<String>,
}

/// AuthorizationPolicies indexed by namespace.
pub struct AuthorizationPolicies<'a> {
    inventory: &'a Inventory,
    root: &'a str,
    by_namespace: HashMap<&'a str, Vec<AuthorizationPolicyId>>,
}

fn rule_path(i: usize) -> [Step<'static>; 3] {
    [Step::Key("spec"), Step::Key("rules"), Step::Index(i)]
}

impl<'a> AuthorizationPolicies<'a> {
    pub fn new(inventory: &'a Inventory) -> Self {
        let mut by_namespace: HashMap<&str, Vec<AuthorizationPolicyId>> = HashMap::default();
        for (i, p) in AuthorizationPolicyId::enumerate(&inventory.istio.authorization_policies) {
            by_namespace
                .entry(p.namespace.as_str())
                .or_default()
                .push(i);
        }
        AuthorizationPolicies {
            inventory,
            root: inventory.istio.root_namespace(),
            by_namespace,
        }
    }

    pub fn policy(&self, id: AuthorizationPolicyId) -> &'a Typed<AuthorizationPolicySpec> {
        self.inventory.istio.authorization_policy(id)
    }

    /// The policies that apply to `workload` (root namespace first).
    pub fn for_workload(&self, workload: &Workload) -> Vec<AuthorizationPolicyId> {
        let mut namespaces = vec![self.root];
        if workload.namespace != self.root {
            namespaces.push(workload.namespace.as_str());
        }
        namespaces
            .into_iter()
            .flat_map(|ns| self.by_namespace.get(ns).into_iter().flatten().copied())
            .filter(|&i| {
                let p = self.policy(i);
                applies_to(
                    self.root,
                    &p.namespace,
                    p.spec.selector.as_ref(),
                    p.spec.has_target_refs(),
                    workload,
                )
                .is_some()
            })
            .collect()
    }

    /// Evaluates the policies `applicable` (from [`Self::for_workload`]) for `request`.
    pub fn evaluate(
        &self,
        applicable: &[AuthorizationPolicyId],
        request: &Request<'_>,
    ) -> AuthzDecision {
        let mut because = Vec::new();
        let mut conditions = Vec::new();
        let of = |action: AuthorizationAction| {
            applicable
                .iter()
                .copied()
                .filter(move |&i| self.policy(i).spec.action == action)
        };

        // CUSTOM: an external authorizer sees matching requests first.
        let mut custom_hit = Vec::new();
        for i in of(AuthorizationAction::Custom) {
            let p = self.policy(i);
            for (r, rule) in p.spec.rules().iter().enumerate() {
                let m = match_rule(rule, AuthorizationAction::Custom, request);
                if m.result != Tri::No {
                    let provider = p.spec.provider.as_ref().map_or("?", |p| p.name.as_str());
                    because.push(Because::at(
                        p.object,
                        &rule_path(r),
                        format!("CUSTOM rule {r} sends matching requests to external authorizer `{provider}`"),
                    ));
                    custom_hit.push(i);
                    break;
                }
            }
        }

        // DENY.
        let mut partial_deny = Vec::new();
        for i in of(AuthorizationAction::Deny) {
            let p = self.policy(i);
            for (r, rule) in p.spec.rules().iter().enumerate() {
                let m = match_rule(rule, AuthorizationAction::Deny, request);
                match m.result {
                    Tri::Yes => {
                        because.push(Because::at(
                            p.object,
                            &rule_path(r),
                            format!("DENY rule {r} matches this client"),
                        ));
                        return AuthzDecision {
                            objects: Vec::new(),
                            decision: Decision::Denied,
                            decided_by: vec![i],
                            because,
                            conditions,
                        };
                    }
                    Tri::Maybe => {
                        because.push(Because::at(
                            p.object,
                            &rule_path(r),
                            format!(
                                "DENY rule {r} denies this client's requests when {}",
                                m.conditions.join(" and ")
                            ),
                        ));
                        conditions.push(format!("except {}", m.conditions.join(" and ")));
                        partial_deny.push(i);
                        break;
                    }
                    Tri::No => {}
                }
            }
        }

        // ALLOW.
        let allows: Vec<AuthorizationPolicyId> = of(AuthorizationAction::Allow).collect();
        let mut decided_by = Vec::new();
        let mut decision = if allows.is_empty() {
            because.push(Because::default(
                "no ALLOW policy applies to the workload, so every request that no DENY matches is allowed",
            ));
            Decision::Allowed
        } else {
            let mut maybe = Vec::new();
            let mut allowed = None;
            'policies: for &i in &allows {
                let p = self.policy(i);
                for (r, rule) in p.spec.rules().iter().enumerate() {
                    let m = match_rule(rule, AuthorizationAction::Allow, request);
                    match m.result {
                        Tri::Yes => {
                            allowed = Some((i, r));
                            break 'policies;
                        }
                        Tri::Maybe => maybe.push((i, r, m.conditions)),
                        Tri::No => {}
                    }
                }
            }
            if let Some((i, r)) = allowed {
                because.push(Because::at(
                    self.policy(i).object,
                    &rule_path(r),
                    format!("ALLOW rule {r} matches this client"),
                ));
                decided_by.push(i);
                Decision::Allowed
            } else if !maybe.is_empty() {
                for (i, r, conds) in &maybe {
                    because.push(Because::at(
                        self.policy(*i).object,
                        &rule_path(*r),
                        format!(
                            "ALLOW rule {r} matches only requests with {}",
                            conds.join(" and ")
                        ),
                    ));
                    conditions.push(format!("only {}", conds.join(" and ")));
                    decided_by.push(*i);
                }
                Decision::Conditional
            } else {
                for &i in &allows {
                    let p = self.policy(i);
                    let fact = if p.spec.rules().is_empty() {
                        "ALLOW policy with no rules applies: it allows nothing".to_owned()
                    } else {
                        "ALLOW policy applies but none of its rules matches this client".to_owned()
                    };
                    because.push(Because::object(p.object, fact));
                    decided_by.push(i);
                }
                Decision::Denied
            }
        };
        if decision == Decision::Allowed && !partial_deny.is_empty() {
            decision = Decision::Conditional;
        }
        if !partial_deny.is_empty() {
            decided_by.extend(partial_deny);
        }
        if decision != Decision::Denied && !custom_hit.is_empty() {
            decision = Decision::Conditional;
            conditions.push("and as the external authorizer decides".to_owned());
            decided_by.extend(custom_hit);
        }
        AuthzDecision {
            objects: Vec::new(),
            decision,
            decided_by,
            because,
            conditions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Matching a pattern against the parts gives what matching it against the joined text
    /// gives.
    #[test]
    fn joined_parts_match_as_the_joined_text() {
        let parts: &[&[&str]] = &[
            &["cluster.local", "/ns/", "shop", "/sa/", "web"],
            &["", "/", ""],
            &["a", "", "bc"],
            &[],
        ];
        let patterns = [
            "*",
            "",
            "cluster.local/ns/shop/sa/web",
            "cluster.local/ns/shop/sa/we",
            "cluster.local/ns/*",
            "cluster.local/ns/shop/sa/web*",
            "cluster.local/ns/shop/sa/webx*",
            "*/sa/web",
            "*web",
            "*eb",
            "*xweb",
            "*cluster.local/ns/shop/sa/web",
            "/",
            "*/",
            "/*",
            "abc",
            "ab*",
            "*bc",
            "a*",
            "**",
            "*abcd",
            "abcd*",
        ];
        for p in parts {
            let text: String = p.concat();
            let joined = Joined(p);
            for pattern in patterns {
                assert_eq!(
                    joined.matched_by(pattern),
                    pattern_matches(pattern, &text),
                    "{p:?} {pattern:?}"
                );
                if let Some(prefix) = pattern.strip_suffix('*') {
                    assert_eq!(
                        joined.has_prefix(prefix),
                        text.starts_with(prefix),
                        "{p:?} {prefix:?}"
                    );
                }
            }
        }
    }

    /// `names_port` says what comparing with the number's text said.
    #[test]
    fn port_text_compares_as_the_decimal_text() {
        for text in [
            "8080", "08080", "+8080", "80", "0", "00", "", "65535", "65536", "8080 ", "x",
        ] {
            for port in [0u16, 80, 8080, 65535] {
                assert_eq!(
                    names_port(text, port),
                    text == port.to_string(),
                    "{text:?} {port}"
                );
            }
        }
    }
}
