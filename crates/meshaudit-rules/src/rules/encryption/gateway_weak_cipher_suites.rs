//! TLS003: a Gateway server offers broken or weak TLS cipher suites.

use std::collections::HashSet;

use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::gateway_common::{hosts_text, server_label, terminates_tls};

pub static RULE: Rule = Rule {
    code: "TLS003",
    name: "gateway-weak-cipher-suites",
    title: "Gateway offers weak TLS cipher suites",
    category: Category::Encryption,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "HIPAA:164.312(e)(2)(ii)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

Weak entries in the cipher list of an Istio `Gateway`: `tls.cipherSuites` of a server that
terminates TLS, and the per-Gateway annotation `gateway.istio.io/tls-cipher-suites` (Istio 1.29+;
read as a comma-separated list). One finding per weak suite, at the list entry. OpenSSL/BoringSSL
names (`ECDHE-RSA-AES128-SHA`), IANA names (`TLS_RSA_WITH_AES_128_CBC_SHA`) and BoringSSL
equal-preference groups (`[A|B]`) are understood.

- **high**: broken suites — `RC4`, `3DES`/`DES-CBC3`/`DES`, `NULL` (no encryption), `EXPORT`,
  `MD5`, anonymous key exchange (`ADH`, `AECDH`, `anon`).
- **medium**: suites without forward secrecy (static RSA key exchange, e.g. `AES128-GCM-SHA256`,
  `AES256-SHA`) and CBC-mode suites with a SHA-1 MAC (e.g. `ECDHE-RSA-AES128-SHA`).

An unset `cipherSuites` uses Envoy's default list, which has no broken suite, and is not reported.

## Why it matters

A client and the gateway agree on the strongest suite both offer, but an attacker on the path can
push old or misconfigured clients to the weakest one the gateway accepts. RC4 and 3DES can be
broken with enough captured traffic (RFC 7465, Sweet32); NULL and EXPORT suites give no real
confidentiality at all. Static-RSA suites lack forward secrecy: anyone who later obtains the
gateway's private key can decrypt every recorded session. CBC with SHA-1 is prone to
padding-oracle attacks (Lucky13) and is outside PCI DSS and NIST SP 800-52r2 recommendations.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gateway
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["shop.example.com"]
    tls:
      mode: SIMPLE
      credentialName: shop-tls
      cipherSuites:
      - ECDHE-RSA-AES128-GCM-SHA256
      - DES-CBC3-SHA
      - AES128-SHA
```

## Fix

Remove `cipherSuites` to use Envoy's defaults, or list only AEAD suites with ECDHE key exchange:

```yaml
      cipherSuites:
      - ECDHE-ECDSA-AES128-GCM-SHA256
      - ECDHE-RSA-AES128-GCM-SHA256
      - ECDHE-ECDSA-AES256-GCM-SHA384
      - ECDHE-RSA-AES256-GCM-SHA384
      - ECDHE-ECDSA-CHACHA20-POLY1305
      - ECDHE-RSA-CHACHA20-POLY1305
```

## References

- Istio: Gateway reference (ServerTLSSettings.cipherSuites) — https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings
- Envoy: TLS parameters, cipher_suites and its defaults — https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/common.proto
- RFC 7465: Prohibiting RC4 Cipher Suites — https://www.rfc-editor.org/rfc/rfc7465
- NIST SP 800-52 Rev. 2, section 3.3.1 (cipher suites)
- PCI DSS v4.0, 4.2.1 (strong cryptography for data in transit over open networks)
- CWE-327: Use of a Broken or Risky Cryptographic Algorithm
"#,
    check,
};

/// The annotation that sets a whole Gateway's cipher list (Istio 1.29+).
const ANNOTATION: &str = "gateway.istio.io/tls-cipher-suites";

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for gateway in &inv.istio.gateways {
        let object = inv.object(gateway.object);
        let gw = format!("{}/{}", gateway.namespace, gateway.name);
        let terminating = gateway.spec.servers.iter().any(terminates_tls);
        for (i, server) in gateway.spec.servers.iter().enumerate() {
            let Some(tls) = &server.tls else { continue };
            if !terminates_tls(server) {
                continue;
            }
            let label = server_label(server, i);
            let hosts = hosts_text(server);
            // A suite listed twice (alone and in a group, or by mistake) is one weakness.
            let mut reported = HashSet::new();
            for (j, entry) in tls.cipher_suites.iter().enumerate() {
                for suite in group_members(entry) {
                    let Some(weakness) = classify(suite) else {
                        continue;
                    };
                    if !reported.insert(suite) {
                        continue;
                    }
                    let path = [
                        Step::Key("spec"),
                        Step::Key("servers"),
                        Step::Index(i),
                        Step::Key("tls"),
                        Step::Key("cipherSuites"),
                        Step::Index(j),
                    ];
                    let mut f = Finding::new(
                        &RULE,
                        gateway.object,
                        object,
                        &path,
                        format!(
                            "Gateway {gw} {label} ({hosts}) offers cipher suite {suite}: {}",
                            weakness.reason
                        ),
                    )
                    .key(format!("servers[{i}].tls.cipherSuites:{suite}"))
                    .evidence(format!(
                        "server {i}: tls.cipherSuites[{j}] = {entry}; a client or an attacker on the path can negotiate it"
                    ))
                    .remediation(format!(
                        "Remove {suite} from tls.cipherSuites of the {label} server of Gateway {gw} (or remove cipherSuites to use Envoy's defaults); keep only ECDHE suites with AES-GCM or CHACHA20-POLY1305."
                    ));
                    f.severity = weakness.severity;
                    out.push(f);
                }
            }
        }
        let Some(value) = object.annotations.get(ANNOTATION) else {
            continue;
        };
        let path = [
            Step::Key("metadata"),
            Step::Key("annotations"),
            Step::Key(ANNOTATION),
        ];
        for entry in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            for suite in group_members(entry) {
                let Some(weakness) = classify(suite) else {
                    continue;
                };
                let mut f = Finding::new(
                    &RULE,
                    gateway.object,
                    object,
                    &path,
                    format!(
                        "Gateway {gw} offers cipher suite {suite} on its TLS servers through annotation {ANNOTATION}: {}",
                        weakness.reason
                    ),
                )
                .key(format!("annotation:{suite}"))
                .evidence(format!(
                    "annotation {ANNOTATION} lists {suite}; it sets the cipher list of the Gateway's servers that terminate TLS"
                ))
                .remediation(format!(
                    "Remove {suite} from annotation {ANNOTATION} on Gateway {gw}; keep only ECDHE suites with AES-GCM or CHACHA20-POLY1305."
                ));
                if !terminating {
                    f = f.evidence(
                        "no server of this Gateway terminates TLS today, so the list takes effect only when one does",
                    );
                }
                f.severity = weakness.severity;
                out.push(f);
            }
        }
    }
}

/// The suites of one list entry: a BoringSSL equal-preference group `[A|B]` holds several.
fn group_members(entry: &str) -> impl Iterator<Item = &str> {
    entry
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

struct Weakness {
    severity: Severity,
    reason: String,
}

/// Why a suite is weak, if it is.
fn classify(suite: &str) -> Option<Weakness> {
    let upper = suite.to_ascii_uppercase();
    let tokens: Vec<&str> = upper.split(['-', '_']).filter(|t| !t.is_empty()).collect();
    let has = |t: &str| tokens.contains(&t);

    let mut broken = Vec::new();
    if has("RC4") {
        broken.push("RC4 is broken (RFC 7465)");
    }
    if has("3DES") || has("DES") || has("CBC3") || has("DES40") {
        broken.push("DES/3DES is broken (64-bit block, Sweet32)");
    }
    if has("NULL") {
        broken.push("NULL cipher: traffic is not encrypted");
    }
    if has("EXPORT") || has("EXP") || tokens.iter().any(|t| t.starts_with("EXP1024")) {
        broken.push("EXPORT-grade key sizes");
    }
    if has("MD5") {
        broken.push("MD5 MAC");
    }
    if has("ADH") || has("AECDH") || has("ANON") {
        broken.push("anonymous key exchange: the server is not authenticated");
    }
    if !broken.is_empty() {
        return Some(Weakness {
            severity: Severity::High,
            reason: broken.join("; "),
        });
    }

    let mut weak = Vec::new();
    // TLS 1.3 suites (TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256) always use (EC)DHE.
    let tls13 =
        tokens.first() == Some(&"TLS") && matches!(tokens.get(1), Some(&"AES") | Some(&"CHACHA20"));
    let kx = if tokens.first() == Some(&"TLS") {
        tokens.get(1).copied()
    } else {
        tokens.first().copied()
    };
    let forward_secret = tls13 || matches!(kx, Some("ECDHE" | "DHE" | "EDH"));
    if !forward_secret {
        weak.push("static RSA key exchange has no forward secrecy");
    }
    let aead = has("GCM") || has("CHACHA20") || has("POLY1305") || has("CCM");
    if !aead && tokens.last() == Some(&"SHA") {
        weak.push("CBC mode with a SHA-1 MAC");
    }
    if weak.is_empty() {
        None
    } else {
        Some(Weakness {
            severity: Severity::Medium,
            reason: weak.join("; "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(s: &str) -> Option<Severity> {
        classify(s).map(|w| w.severity)
    }

    #[test]
    fn classifies_suites() {
        assert_eq!(sev("ECDHE-RSA-AES128-GCM-SHA256"), None);
        assert_eq!(sev("ECDHE-ECDSA-CHACHA20-POLY1305"), None);
        assert_eq!(sev("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), None);
        assert_eq!(sev("TLS_AES_128_GCM_SHA256"), None);
        assert_eq!(sev("ECDHE-RSA-AES128-SHA256"), None);
        assert_eq!(sev("DES-CBC3-SHA"), Some(Severity::High));
        assert_eq!(sev("RC4-MD5"), Some(Severity::High));
        assert_eq!(sev("TLS_RSA_WITH_3DES_EDE_CBC_SHA"), Some(Severity::High));
        assert_eq!(sev("EXP-RC4-MD5"), Some(Severity::High));
        assert_eq!(sev("NULL-SHA256"), Some(Severity::High));
        assert_eq!(sev("AECDH-AES128-SHA"), Some(Severity::High));
        assert_eq!(sev("ECDHE-RSA-AES128-SHA"), Some(Severity::Medium));
        assert_eq!(sev("AES128-SHA"), Some(Severity::Medium));
        assert_eq!(sev("AES256-SHA"), Some(Severity::Medium));
        assert_eq!(sev("AES128-GCM-SHA256"), Some(Severity::Medium));
        assert_eq!(
            sev("TLS_RSA_WITH_AES_128_GCM_SHA256"),
            Some(Severity::Medium)
        );
    }

    #[test]
    fn splits_groups() {
        let members: Vec<&str> =
            group_members("[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]")
                .collect();
        assert_eq!(
            members,
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-CHACHA20-POLY1305"
            ]
        );
    }
}
