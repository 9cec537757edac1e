//! What the authorization rules say about a policy as a whole: its name in findings, which
//! ports a rule can apply to, and how bad a rule that never matches is.

use meshaudit_model::istio::{
    AuthorizationAction, AuthorizationPolicySpec, AuthorizationRule, Typed,
};

use crate::finding::Severity;

/// `AuthorizationPolicy ns/name`.
pub fn policy_name(p: &Typed<AuthorizationPolicySpec>) -> String {
    format!("AuthorizationPolicy {}/{}", p.namespace, p.name)
}

/// Severity for "this rule can never match": a DENY that never matches protects nothing, an
/// ALLOW that never matches denies its intended callers.
pub fn never_matches_severity(action: AuthorizationAction) -> Severity {
    match action {
        AuthorizationAction::Deny | AuthorizationAction::Custom => Severity::High,
        _ => Severity::Medium,
    }
}

/// Whether `rule` can apply to server port `port`, judging by its `to.operation.ports` /
/// `notPorts` and `destination.port` conditions (other fields are ignored).
pub fn rule_targets_port(rule: &AuthorizationRule, port: u16) -> bool {
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
