//! TLS002: a Gateway server accepts TLS versions below 1.2.

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::gateway_common::{hosts_text, server_label, terminates_tls, tls_path};

pub static RULE: Rule = Rule {
    code: "TLS002",
    name: "gateway-weak-tls-version",
    title: "Gateway allows TLS versions below 1.2",
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

A server of an Istio `Gateway` that terminates TLS (`tls.mode` `SIMPLE`, `MUTUAL`,
`OPTIONAL_MUTUAL` or `ISTIO_MUTUAL`) and sets `tls.minProtocolVersion` to `TLSV1_0` or `TLSV1_1`,
or `tls.maxProtocolVersion` to `TLSV1_0` or `TLSV1_1` (which caps every handshake below TLS 1.2).

`TLS_AUTO` and an unset `minProtocolVersion` are not reported: Istio documents the default minimum
for gateway servers as `TLSV1_2` (it follows Envoy's server default, TLS 1.2 since Envoy 1.22,
about Istio 1.14). `PASSTHROUGH` and `AUTO_PASSTHROUGH` servers do not terminate TLS, so these
fields have no effect there and are not reported.

## Why it matters

TLS 1.0 and 1.1 are deprecated (RFC 8996). They rely on SHA-1/MD5 in the handshake, only offer
CBC-mode or RC4 record protection, and are exposed to downgrade and padding-oracle attacks (BEAST,
POODLE-style variants, Lucky13). PCI DSS forbids them for cardholder data, and a client that can be
pushed to the lowest version the gateway accepts is only as safe as that version. A maximum below
TLS 1.2 is worse: no client can negotiate a modern version at all.

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
      minProtocolVersion: TLSV1_0
```

## Fix

Remove `minProtocolVersion` (the default is TLS 1.2) or set it to `TLSV1_2` or `TLSV1_3`, and
remove a `maxProtocolVersion` below `TLSV1_2`:

```yaml
    tls:
      mode: SIMPLE
      credentialName: shop-tls
      minProtocolVersion: TLSV1_2
```

## References

- Istio: Gateway reference (ServerTLSSettings.minProtocolVersion, maxProtocolVersion) — https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings-TLSProtocol
- Istio: TLS 1.0 still accepted on 1.13, refused on 1.15 — https://github.com/istio/istio/issues/41305
- RFC 8996: Deprecating TLS 1.0 and TLS 1.1 — https://www.rfc-editor.org/rfc/rfc8996
- PCI DSS v4.0, 4.2.1 (strong cryptography for data in transit over open networks)
- CWE-327: Use of a Broken or Risky Cryptographic Algorithm
"#,
    check,
};

/// Versions below TLS 1.2, as Istio spells them.
const WEAK: &[&str] = &["TLSV1_0", "TLSV1_1"];

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for gateway in &inv.istio.gateways {
        for (i, server) in gateway.spec.servers.iter().enumerate() {
            let Some(tls) = &server.tls else { continue };
            if !terminates_tls(server) {
                continue;
            }
            let mode = tls.mode.as_deref().unwrap_or_default().to_ascii_uppercase();
            let label = server_label(server, i);
            let hosts = hosts_text(server);
            let object = inv.object(gateway.object);
            let fields = [
                ("minProtocolVersion", &tls.min_protocol_version),
                ("maxProtocolVersion", &tls.max_protocol_version),
            ];
            for (field, value) in fields {
                let Some(value) = value else { continue };
                let version = value.to_ascii_uppercase();
                if !WEAK.contains(&version.as_str()) {
                    continue;
                }
                let path = tls_path(i, field);
                let effect = if field == "minProtocolVersion" {
                    format!("accepts {} handshakes", pretty(&version))
                } else {
                    format!(
                        "caps every handshake at {}, so no client can use TLS 1.2 or 1.3",
                        pretty(&version)
                    )
                };
                out.push(
                    Finding::new(
                        &RULE,
                        gateway.object,
                        object,
                        &path,
                        format!(
                            "Gateway {}/{} {label} ({hosts}) sets tls.{field}: {value} and {effect}",
                            gateway.namespace, gateway.name
                        ),
                    )
                    .evidence(format!(
                        "server {i}: tls.mode {mode} terminates TLS at the gateway, so tls.{field} applies"
                    ))
                    .evidence(
                        "TLS 1.0 and 1.1 are deprecated by RFC 8996 and not allowed by PCI DSS 4.2.1",
                    )
                    .remediation(format!(
                        "On the {label} server of Gateway {}/{}, {}.",
                        gateway.namespace,
                        gateway.name,
                        if field == "minProtocolVersion" {
                            "remove tls.minProtocolVersion (default TLSV1_2) or set it to TLSV1_2 or TLSV1_3"
                        } else {
                            "remove tls.maxProtocolVersion or set it to TLSV1_3"
                        }
                    )),
                );
            }
        }
    }
}

fn pretty(version: &str) -> &str {
    match version {
        "TLSV1_0" => "TLS 1.0",
        "TLSV1_1" => "TLS 1.1",
        other => other,
    }
}
