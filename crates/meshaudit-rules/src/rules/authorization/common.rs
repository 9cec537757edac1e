//! Small helpers the authorization rules share: field tables of a rule's sources and
//! operations, which workloads a policy applies to, and how to name them.

use meshaudit_model::istio::{
    AuthorizationAction, AuthorizationPolicySpec, Operation, Source, Typed, DEFAULT_TRUST_DOMAIN,
};
use meshaudit_model::{AuthorizationPolicyId, Inventory, Step, WorkloadId};

use crate::context::Context;
use crate::finding::Severity;

/// Every list field of a `source`, with its YAML name.
pub fn source_fields(s: &Source) -> [(&'static str, &[String]); 12] {
    [
        ("principals", &s.principals),
        ("notPrincipals", &s.not_principals),
        ("requestPrincipals", &s.request_principals),
        ("notRequestPrincipals", &s.not_request_principals),
        ("namespaces", &s.namespaces),
        ("notNamespaces", &s.not_namespaces),
        ("serviceAccounts", &s.service_accounts),
        ("notServiceAccounts", &s.not_service_accounts),
        ("ipBlocks", &s.ip_blocks),
        ("notIpBlocks", &s.not_ip_blocks),
        ("remoteIpBlocks", &s.remote_ip_blocks),
        ("notRemoteIpBlocks", &s.not_remote_ip_blocks),
    ]
}

/// Every list field of an `operation`, with its YAML name.
pub fn operation_fields(o: &Operation) -> [(&'static str, &[String]); 8] {
    [
        ("hosts", &o.hosts),
        ("notHosts", &o.not_hosts),
        ("ports", &o.ports),
        ("notPorts", &o.not_ports),
        ("methods", &o.methods),
        ("notMethods", &o.not_methods),
        ("paths", &o.paths),
        ("notPaths", &o.not_paths),
    ]
}

/// `spec.rules[i].from[j].source.<field>`.
pub fn source_path(rule: usize, from: usize, field: &str) -> Vec<Step<'_>> {
    vec![
        Step::Key("spec"),
        Step::Key("rules"),
        Step::Index(rule),
        Step::Key("from"),
        Step::Index(from),
        Step::Key("source"),
        Step::Key(field),
    ]
}

/// `spec.rules[i].to[j].operation.<field>`.
pub fn operation_path(rule: usize, to: usize, field: &str) -> Vec<Step<'_>> {
    vec![
        Step::Key("spec"),
        Step::Key("rules"),
        Step::Index(rule),
        Step::Key("to"),
        Step::Index(to),
        Step::Key("operation"),
        Step::Key(field),
    ]
}

/// `spec.rules[i].when[j].<field>`.
pub fn when_path(rule: usize, when: usize, field: &str) -> Vec<Step<'_>> {
    vec![
        Step::Key("spec"),
        Step::Key("rules"),
        Step::Index(rule),
        Step::Key("when"),
        Step::Index(when),
        Step::Key(field),
    ]
}

/// `spec.rules[i]`.
pub fn rule_path(rule: usize) -> Vec<Step<'static>> {
    vec![Step::Key("spec"), Step::Key("rules"), Step::Index(rule)]
}

/// Indexes (into `inventory.workloads`) of the workloads the policy at `policy` applies to.
pub fn workloads_of_policy(ctx: &Context<'_>, policy: AuthorizationPolicyId) -> Vec<WorkloadId> {
    ctx.graph()
        .workloads_of_authorization_policy(policy)
        .to_vec()
}

/// `Deployment ns/name`.
pub fn workload_name(inv: &Inventory, w: WorkloadId) -> String {
    let w = &inv.workloads[w];
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// `a, b, c and 4 more`.
pub fn join_limited(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

/// `AuthorizationPolicy ns/name`.
pub fn policy_name(p: &Typed<AuthorizationPolicySpec>) -> String {
    format!("AuthorizationPolicy {}/{}", p.namespace, p.name)
}

/// The trust domains a principal may name and still match local workloads: the mesh's own,
/// its aliases, and `cluster.local` (which in a policy always stands for the local domain).
pub fn local_trust_domains(inv: &Inventory) -> Vec<&str> {
    let mut out = vec![inv.istio.trust_domain(), DEFAULT_TRUST_DOMAIN];
    if let Some(m) = &inv.istio.mesh_config {
        out.extend(m.config.trust_domain_aliases.iter().map(String::as_str));
    }
    out.dedup();
    out
}

/// Severity for "this rule can never match": a DENY that never matches protects nothing, an
/// ALLOW that never matches denies its intended callers.
pub fn never_matches_severity(action: AuthorizationAction) -> Severity {
    match action {
        AuthorizationAction::Deny | AuthorizationAction::Custom => Severity::High,
        _ => Severity::Medium,
    }
}

/// Splits an Istio principal `<trust-domain>/ns/<namespace>/sa/<service-account>`.
pub fn parse_principal(p: &str) -> Option<(&str, &str, &str)> {
    let (td, rest) = p.split_once("/ns/")?;
    let (ns, sa) = rest.split_once("/sa/")?;
    Some((td, ns, sa))
}

/// Whether `rule` can apply to server port `port`, judging by its `to.operation.ports` /
/// `notPorts` and `destination.port` conditions (other fields are ignored).
pub fn rule_targets_port(rule: &meshaudit_model::istio::AuthorizationRule, port: u16) -> bool {
    let p = port.to_string();
    let to_ok = rule.to.is_empty()
        || rule.to.iter().any(|t| {
            t.operation.as_ref().is_none_or(|o| {
                (o.ports.is_empty() || o.ports.contains(&p)) && !o.not_ports.contains(&p)
            })
        });
    let when_ok = rule
        .when
        .iter()
        .filter(|c| c.key == "destination.port")
        .all(|c| (c.values.is_empty() || c.values.contains(&p)) && !c.not_values.contains(&p));
    to_ok && when_ok
}

/// What an identity value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    Principal,
    Namespace,
    ServiceAccount,
}

/// One identity value written in a rule: where, what kind, whether in a negative field.
pub struct IdentityValue<'r> {
    pub path: Vec<Step<'static>>,
    pub field: String,
    pub kind: IdentityKind,
    pub negative: bool,
    pub value: &'r str,
}

/// Every principal, namespace and service-account value of rule `i` (sources and `when`
/// conditions on `source.principal`, `source.namespace`, `source.serviceAccount`).
pub fn identity_values(
    i: usize,
    rule: &meshaudit_model::istio::AuthorizationRule,
) -> Vec<IdentityValue<'_>> {
    let mut out = Vec::new();
    for (j, from) in rule.from.iter().enumerate() {
        let Some(s) = from.source.as_ref() else {
            continue;
        };
        for (field, values, kind, negative) in [
            ("principals", &s.principals, IdentityKind::Principal, false),
            (
                "notPrincipals",
                &s.not_principals,
                IdentityKind::Principal,
                true,
            ),
            ("namespaces", &s.namespaces, IdentityKind::Namespace, false),
            (
                "notNamespaces",
                &s.not_namespaces,
                IdentityKind::Namespace,
                true,
            ),
            (
                "serviceAccounts",
                &s.service_accounts,
                IdentityKind::ServiceAccount,
                false,
            ),
            (
                "notServiceAccounts",
                &s.not_service_accounts,
                IdentityKind::ServiceAccount,
                true,
            ),
        ] {
            for (k, v) in values.iter().enumerate() {
                let mut path = source_path(i, j, field);
                path.push(Step::Index(k));
                out.push(IdentityValue {
                    path,
                    field: field.to_owned(),
                    kind,
                    negative,
                    value: v,
                });
            }
        }
    }
    for (j, c) in rule.when.iter().enumerate() {
        let kind = match c.key.as_str() {
            "source.principal" => IdentityKind::Principal,
            "source.namespace" => IdentityKind::Namespace,
            "source.serviceAccount" => IdentityKind::ServiceAccount,
            _ => continue,
        };
        for (field, values, negative) in [
            ("values", &c.values, false),
            ("notValues", &c.not_values, true),
        ] {
            for (k, v) in values.iter().enumerate() {
                let mut path = when_path(i, j, field);
                path.push(Step::Index(k));
                out.push(IdentityValue {
                    path,
                    field: format!("when {} {field}", c.key),
                    kind,
                    negative,
                    value: v,
                });
            }
        }
    }
    out
}
