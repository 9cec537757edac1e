//! The identities an AuthorizationPolicy names: every principal, namespace and service-account
//! value of a rule, how principals split, and which trust domains count as local.

use meshaudit_model::istio::{AuthorizationRule, DEFAULT_TRUST_DOMAIN};
use meshaudit_model::{Inventory, Step};

use super::rule_paths::{source_path, when_path};

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

/// Splits an Istio principal `<trust-domain>/ns/<namespace>/sa/<service-account>`.
pub fn parse_principal(p: &str) -> Option<(&str, &str, &str)> {
    let (td, rest) = p.split_once("/ns/")?;
    let (ns, sa) = rest.split_once("/sa/")?;
    Some((td, ns, sa))
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
pub fn identity_values(i: usize, rule: &AuthorizationRule) -> Vec<IdentityValue<'_>> {
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
