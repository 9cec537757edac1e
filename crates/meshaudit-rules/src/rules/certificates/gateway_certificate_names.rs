//! CERT013: a Gateway serves a certificate whose names do not cover one of its hosts.

use std::collections::BTreeSet;

use meshaudit_model::{CertificateInfo, Step};

use super::describe::date;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::istio_scope::gateway_workloads;

pub static RULE: Rule = Rule {
    code: "CERT013",
    name: "gateway-certificate-names",
    title: "Gateway certificate does not cover the Gateway's hosts",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.7", "PCI-DSS:4.2.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

An Istio `Gateway` server that terminates TLS (`SIMPLE`, `MUTUAL`, `OPTIONAL_MUTUAL`) with a
`credentialName` whose Secret is in the input (looked up in the namespace of the gateway
workloads the Gateway selects, and in the Gateway's own namespace), where the served leaf
certificate (`tls.crt` or `cert`) does not cover one of the server's `hosts`.

- The certificate's names are its DNS subject alternative names; only when it has none, its
  subject common name (CN).
- A wildcard name `*.example.com` covers exactly one label: `shop.example.com`, not
  `example.com` nor `a.shop.example.com`. A wildcard host `*.example.com` is covered only by the
  same wildcard name.
- The namespace part of a host (`ns/shop.example.com`, `./shop.example.com`, `*/shop.example.com`)
  is dropped; a host of `*` (any name) cannot be checked and is skipped.

Each uncovered host is reported at its entry in `hosts`, with the certificate's names.

## Why it matters

Clients check that the certificate the server presents names the host they asked for (RFC 6125,
and the CA/Browser Forum rules browsers enforce). When a Gateway routes `api.example.com` but its
certificate only names `shop.example.com`, every client of `api.example.com` gets a name mismatch
error and stops (or, worse, is told to click through it). The configuration applies cleanly, so
the mismatch shows only when users call.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts:
    - shop.example.com
    - api.example.com          # the certificate in shop-cert names only shop.example.com
    tls:
      mode: SIMPLE
      credentialName: shop-cert
```

## Fix

Reissue the certificate with every host of the server as a DNS SAN (with cert-manager, list them
in the Certificate's `dnsNames`), or split the hosts into servers with their own
`credentialName`.

## References

- Istio: Secure gateways (credentialName, hosts) — https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/
- Istio: Gateway reference (Server.hosts, ServerTLSSettings) — https://istio.io/latest/docs/reference/config/networking/gateway/
- RFC 6125 §6.4 (matching DNS names, wildcards) — https://www.rfc-editor.org/rfc/rfc6125#section-6.4
- CA/Browser Forum Baseline Requirements (subjectAltName must hold the names) — https://cabforum.org/working-groups/server/baseline-requirements/documents/
- cert-manager: Certificate dnsNames — https://cert-manager.io/docs/usage/certificate/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if inv.secrets.is_empty() {
        return;
    }
    for gateway in &inv.istio.gateways {
        let object = inv.object(gateway.object);
        let gw = format!("{}/{}", gateway.namespace, gateway.name);
        let mut namespaces: BTreeSet<&str> = gateway_workloads(ctx, gateway)
            .into_iter()
            .map(|w| inv.workloads[w].namespace.as_str())
            .collect();
        namespaces.insert(gateway.namespace.as_str());
        for (i, server) in gateway.spec.servers.iter().enumerate() {
            let Some(tls) = &server.tls else { continue };
            let mode = tls.mode.as_deref().unwrap_or("").to_ascii_uppercase();
            if !matches!(mode.as_str(), "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL") {
                continue;
            }
            let Some(credential) = tls.credential_name.as_deref().filter(|c| !c.is_empty()) else {
                continue;
            };
            let name = match credential.strip_prefix("kubernetes://") {
                Some(rest) => rest,
                None if credential.contains("://") => continue,
                None => credential,
            };
            for secret in inv
                .secrets
                .iter()
                .filter(|s| s.name == name && namespaces.contains(s.namespace.as_str()))
            {
                let Some(leaf) = served_leaf(&secret.certificates) else {
                    continue;
                };
                let names = cert_names(leaf);
                if names.is_empty() {
                    continue;
                }
                let names_text = names.join(", ");
                let names_text = if leaf.dns_names.is_empty() {
                    format!("subject CN {names_text}; no DNS SANs")
                } else {
                    format!("DNS SANs {names_text}")
                };
                for (j, host) in server.hosts.iter().enumerate() {
                    let Some(h) = host_name(host) else { continue };
                    if names.iter().any(|n| covers(n, &h)) {
                        continue;
                    }
                    let path = [
                        Step::Key("spec"),
                        Step::Key("servers"),
                        Step::Index(i),
                        Step::Key("hosts"),
                        Step::Index(j),
                    ];
                    let port = server
                        .port
                        .as_ref()
                        .map_or(format!("server {i}"), |p| format!("port {}", p.number));
                    let mut f = Finding::new(
                        &RULE,
                        gateway.object,
                        object,
                        &path,
                        format!(
                            "Gateway {gw} {port} serves host {h} with the certificate in Secret {}/{} ({}), whose names ({names_text}) do not cover {h}: clients get a certificate name mismatch",
                            secret.namespace, secret.name, leaf.source
                        ),
                    )
                    .key(format!(
                        "servers[{i}].hosts[{j}]:{}/{}",
                        secret.namespace, secret.name
                    ))
                    .evidence(format!(
                        "server {i}: tls.mode {mode}, tls.credentialName {credential}, hosts {}",
                        server.hosts.join(", ")
                    ))
                    .evidence(format!(
                        "served certificate {} of Secret {}/{} ({}): subject {}, issuer {}, DNS SANs [{}], expires {}",
                        leaf.source,
                        secret.namespace,
                        secret.name,
                        inv.object(secret.object).origin,
                        leaf.subject,
                        leaf.issuer,
                        leaf.dns_names.join(", "),
                        date(leaf.not_after)
                    ))
                    .remediation(format!(
                        "Reissue the certificate in Secret {}/{} with {h} as a DNS SAN (cert-manager: add it to the Certificate's dnsNames), or serve {h} from its own server with its own credentialName.",
                        secret.namespace, secret.name
                    ));
                    if h.starts_with("*.") {
                        f = f.evidence(format!(
                            "{h} is a wildcard host: only the same wildcard name {h} covers every name it routes"
                        ));
                    }
                    out.push(f);
                }
            }
        }
    }
}

/// The certificate a gateway serves: the first non-CA certificate of `tls.crt` (or `cert`).
fn served_leaf(certs: &[CertificateInfo]) -> Option<&CertificateInfo> {
    ["tls.crt", "cert"].iter().find_map(|key| {
        certs.iter().find(|c| {
            let base = c
                .source
                .split_once('#')
                .map_or(c.source.as_str(), |(k, _)| k);
            base == *key && c.is_ca != Some(true)
        })
    })
}

/// DNS SANs, or the subject CN when there are none; lower-case, without a trailing dot.
fn cert_names(cert: &CertificateInfo) -> Vec<String> {
    let raw: Vec<String> = if cert.dns_names.is_empty() {
        cert.subject
            .split(',')
            .filter_map(|part| part.trim().strip_prefix("CN="))
            .map(str::to_owned)
            .collect()
    } else {
        cert.dns_names.clone()
    };
    raw.iter()
        .map(|n| normalize(n))
        .filter(|n| !n.is_empty())
        .collect()
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The DNS name part of a Gateway host (`ns/host` → `host`); `None` for `*` and names that
/// cannot be checked.
fn host_name(host: &str) -> Option<String> {
    let h = host.rsplit_once('/').map_or(host, |(_, h)| h);
    let h = normalize(h);
    if h.is_empty() || h == "*" {
        return None;
    }
    let checkable_wildcard = h.strip_prefix("*.").is_some_and(|rest| !rest.contains('*'));
    if h.contains('*') && !checkable_wildcard {
        return None;
    }
    Some(h)
}

/// Whether certificate name `name` covers host `host` (both normalized).
fn covers(name: &str, host: &str) -> bool {
    if name == host {
        return true;
    }
    if host.starts_with('*') {
        return false;
    }
    match name.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .and_then(|p| p.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{covers, host_name};

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.example.com", "shop.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.shop.example.com"));
        assert!(covers("*.example.com", "*.example.com"));
        assert!(!covers("shop.example.com", "*.example.com"));
        assert!(!covers("*.example.com", "*.shop.example.com"));
        assert!(covers("shop.example.com", "shop.example.com"));
    }

    #[test]
    fn hosts_lose_their_namespace() {
        assert_eq!(
            host_name("prod/Shop.Example.com."),
            Some("shop.example.com".into())
        );
        assert_eq!(
            host_name("./shop.example.com"),
            Some("shop.example.com".into())
        );
        assert_eq!(
            host_name("*/shop.example.com"),
            Some("shop.example.com".into())
        );
        assert_eq!(host_name("*"), None);
        assert_eq!(host_name("prod/*"), None);
        assert_eq!(host_name("*.example.com"), Some("*.example.com".into()));
    }
}
