//! Where things sit in an AuthorizationPolicy: the list fields of a rule's `source` and
//! `operation` with their YAML names, and the paths findings point at.

use meshaudit_model::istio::{Operation, Source};
use meshaudit_model::Step;

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
