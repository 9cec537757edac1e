//! TLS006: a DestinationRule originates TLS (SIMPLE/MUTUAL) without verifying the server.

use meshaudit_model::istio::{
    ClientTlsMode, ClientTlsSettings, DestinationRuleSpec, TrafficPolicy,
};
use meshaudit_model::{Inventory, Node, ObjectId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "TLS006",
    name: "tls-origination-without-verification",
    title: "TLS origination does not verify the server",
    category: Category::Encryption,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.7",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

TLS settings of a `DestinationRule` (top-level `trafficPolicy.tls`, `portLevelSettings[].tls`, or
the same inside `subsets[]`) with `mode: SIMPLE` or `MUTUAL` that do not check who the server is:

- `insecureSkipVerify: true` — neither the certificate chain nor the name is checked (**high**);
- no `caCertificates` and no `credentialName` while the input shows an istiod older than 1.21
  (from a `pilot` container image tag such as `docker.io/istio/pilot:1.20.3`) without
  `VERIFY_CERTIFICATE_AT_CLIENT=true`: before 1.21 the proxy then verified nothing (**high**).
  From 1.21 on, or when the version is unknown (no istiod in the input, or an image pinned by
  digest), the OS trust store is used and this is not reported;
- `subjectAltNames` empty while `sni` is set (or istiod is older than 1.21): the certificate chain
  is checked but not the host name, so any certificate from a public CA is accepted (**medium**).

## Why it matters

Encryption without authentication of the peer only defeats passive eavesdropping. Anyone who can
intercept the connection — DNS spoofing, a compromised egress path, a rogue pod on a flat network —
can present their own certificate and read or change the traffic (often credentials for a payment
or identity provider). With a CA-only check, any certificate from a trusted CA for any name passes,
which for the OS trust store means anyone who can obtain a certificate for their own domain.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: payments-api
  namespace: payments
spec:
  host: api.stripe.com
  trafficPolicy:
    tls:
      mode: SIMPLE
      insecureSkipVerify: true
```

## Fix

Remove `insecureSkipVerify`, name the CA (`caCertificates`, or `system` for the OS bundle) and the
expected server names:

```yaml
    tls:
      mode: SIMPLE
      sni: api.stripe.com
      caCertificates: system
      subjectAltNames: ["api.stripe.com"]
```

## References

- Istio: DestinationRule reference (ClientTLSSettings: insecureSkipVerify, caCertificates, subjectAltNames, sni) — https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings
- Istio 1.21 upgrade notes (VERIFY_CERTIFICATE_AT_CLIENT and ENABLE_AUTO_SNI on by default) — https://istio.io/latest/news/releases/1.21.x/announcing-1.21/upgrade-notes/
- Istio: Security best practices, configure TLS verification in DestinationRule — https://istio.io/latest/docs/ops/best-practices/security/#configure-tls-verification-in-destination-rule-when-using-tls-origination
- CWE-295: Improper Certificate Validation
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let istiod = IstiodVersion::of(inv);
    for rule in &inv.istio.destination_rules {
        let object = inv.object(rule.object);
        let dr = format!("{}/{}", rule.namespace, rule.name);
        let host = &rule.spec.host;
        for site in tls_sites(&rule.spec) {
            let tls = site.tls;
            let mode = match tls.mode {
                Some(ClientTlsMode::Simple) => "SIMPLE",
                Some(ClientTlsMode::Mutual) => "MUTUAL",
                _ => continue,
            };
            let field = |name: &'static str| {
                let mut p = site.path.clone();
                p.push(Step::Key(name));
                p
            };
            let key = |what: &str| format!("{}:{what}", site.label);
            let scope = &site.label;
            if tls.insecure_skip_verify == Some(true) {
                let path = field("insecureSkipVerify");
                out.push(
                    Finding::new(
                        &RULE,
                        rule.object,
                        object,
                        &path,
                        format!(
                            "DestinationRule {dr} originates TLS ({mode}) to {host} ({scope}) with insecureSkipVerify: true: neither the certificate nor the host name of the server is checked, so anyone on the path can impersonate it"
                        ),
                    )
                    .key(key("insecureSkipVerify"))
                    .evidence(format!("{scope}: tls.mode {mode}, tls.insecureSkipVerify true (disables CA and SAN verification, Istio 1.19+)"))
                    .remediation(format!(
                        "Remove insecureSkipVerify from DestinationRule {dr} ({scope}) and set caCertificates (or `system`) and subjectAltNames for {host}."
                    )),
                );
                continue;
            }
            let has_ca = tls
                .ca_certificates
                .as_deref()
                .is_some_and(|c| !c.is_empty())
                || tls
                    .credential_name
                    .as_deref()
                    .is_some_and(|c| !c.is_empty());
            let old = istiod.verifies_nothing_without_ca();
            if !has_ca {
                if let Some(evidence) = &old {
                    let path = field("mode");
                    out.push(
                        Finding::new(
                            &RULE,
                            rule.object,
                            object,
                            &path,
                            format!(
                                "DestinationRule {dr} originates TLS ({mode}) to {host} ({scope}) without caCertificates or credentialName on an istiod older than 1.21: the server certificate is not verified at all"
                            ),
                        )
                        .key(key("no-ca"))
                        .evidence(format!("{scope}: tls.mode {mode}; caCertificates and credentialName are not set"))
                        .evidence(evidence.clone())
                        .evidence("before Istio 1.21, VERIFY_CERTIFICATE_AT_CLIENT was off by default: without a CA the proxy skips verification")
                        .remediation(format!(
                            "Set caCertificates (or `system`) and subjectAltNames in DestinationRule {dr} ({scope}), or upgrade istiod to 1.21 or later."
                        )),
                    );
                    continue;
                }
            }
            if !tls.subject_alt_names.is_empty() {
                continue;
            }
            let sni = tls.sni.as_deref().filter(|s| !s.is_empty());
            let reason = match (sni, &old) {
                (Some(sni), _) => format!(
                    "sni {sni} is set and subjectAltNames is empty, so Istio does not enable auto SAN validation"
                ),
                (None, Some(evidence)) => format!(
                    "subjectAltNames is empty and istiod is older than 1.21 (no auto SAN validation): {evidence}"
                ),
                (None, None) => continue,
            };
            let path = if sni.is_some() {
                field("sni")
            } else {
                field("mode")
            };
            let mut f = Finding::new(
                &RULE,
                rule.object,
                object,
                &path,
                format!(
                    "DestinationRule {dr} originates TLS ({mode}) to {host} ({scope}) without subjectAltNames: the certificate chain is checked but not the server's name, so any certificate from a trusted CA is accepted"
                ),
            )
            .key(key("no-san"))
            .evidence(format!("{scope}: {reason}"))
            .remediation(format!(
                "Set subjectAltNames in DestinationRule {dr} ({scope}) to the names the server's certificate must carry (e.g. {}).",
                sni.unwrap_or(host)
            ));
            if !has_ca {
                f = f.evidence(match &istiod.known {
                    Some(_) => "no caCertificates: the OS trust store is used (Istio 1.21+)",
                    None => "no caCertificates: the OS trust store is used on Istio 1.21+ (istiod version not in the input)",
                });
            }
            f.severity = Severity::Medium;
            out.push(f);
        }
    }
}

/// One `tls` block of a DestinationRule, with where it is.
struct Site<'a> {
    label: String,
    path: Vec<Step<'static>>,
    tls: &'a ClientTlsSettings,
}

fn tls_sites(spec: &DestinationRuleSpec) -> Vec<Site<'_>> {
    let mut sites = Vec::new();
    if let Some(policy) = &spec.traffic_policy {
        push_policy(
            policy,
            vec![Step::Key("spec"), Step::Key("trafficPolicy")],
            String::new(),
            &mut sites,
        );
    }
    for (s, subset) in spec.subsets.iter().enumerate() {
        if let Some(policy) = &subset.traffic_policy {
            push_policy(
                policy,
                vec![
                    Step::Key("spec"),
                    Step::Key("subsets"),
                    Step::Index(s),
                    Step::Key("trafficPolicy"),
                ],
                format!("subset {}", subset.name),
                &mut sites,
            );
        }
    }
    sites
}

fn push_policy<'a>(
    policy: &'a TrafficPolicy,
    base: Vec<Step<'static>>,
    prefix: String,
    sites: &mut Vec<Site<'a>>,
) {
    let join = |what: &str| {
        if prefix.is_empty() {
            what.to_owned()
        } else if what.is_empty() {
            prefix.clone()
        } else {
            format!("{prefix}, {what}")
        }
    };
    if let Some(tls) = &policy.tls {
        let mut path = base.clone();
        path.push(Step::Key("tls"));
        let label = join("");
        sites.push(Site {
            label: if label.is_empty() {
                "top-level trafficPolicy".to_owned()
            } else {
                label
            },
            path,
            tls,
        });
    }
    for (k, port) in policy.port_level_settings.iter().enumerate() {
        let Some(tls) = &port.tls else { continue };
        let mut path = base.clone();
        path.extend([
            Step::Key("portLevelSettings"),
            Step::Index(k),
            Step::Key("tls"),
        ]);
        let what = match port.port.as_ref().and_then(|p| p.number) {
            Some(n) => format!("port {n}"),
            None => format!("portLevelSettings[{k}]"),
        };
        sites.push(Site {
            label: join(&what),
            path,
            tls,
        });
    }
}

/// What the input says about the istiod version.
struct IstiodVersion {
    /// The lowest (major, minor) seen on a `pilot` image, with its evidence line.
    known: Option<((u32, u32), String)>,
    /// Whether that istiod sets VERIFY_CERTIFICATE_AT_CLIENT=true.
    verify_at_client: bool,
}

impl IstiodVersion {
    fn of(inv: &Inventory) -> Self {
        let mut known: Option<((u32, u32), String)> = None;
        let mut verify_at_client = false;
        for w in &inv.workloads {
            for (c, container) in w.containers.iter().enumerate() {
                let Some(image) = container.image.as_deref() else {
                    continue;
                };
                let Some(version) = pilot_version(image) else {
                    continue;
                };
                if known.as_ref().is_none_or(|(v, _)| version < *v) {
                    let evidence = format!(
                        "istiod {}.{} from {} {}/{} ({}) container {} image {image}",
                        version.0,
                        version.1,
                        w.kind,
                        w.namespace,
                        w.name,
                        inv.object(w.object).origin,
                        container.name
                    );
                    verify_at_client = env_true(inv, w.object, w.template_path, c);
                    known = Some((version, evidence));
                }
            }
        }
        IstiodVersion {
            known,
            verify_at_client,
        }
    }

    /// Evidence, when istiod is known to be older than 1.21 without the verify flag.
    fn verifies_nothing_without_ca(&self) -> Option<String> {
        match &self.known {
            Some((v, evidence)) if *v < (1, 21) && !self.verify_at_client => Some(evidence.clone()),
            _ => None,
        }
    }
}

/// `(major, minor)` of an istiod image (`.../pilot:1.20.3`, `...:1.22.0-distroless`); `None` for
/// other images, digests and tags that are not versions.
fn pilot_version(image: &str) -> Option<(u32, u32)> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next()?;
    let (name, tag) = last.split_once(':')?;
    if name != "pilot" {
        return None;
    }
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let core = tag.split(['-', '+', '_']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether container `index` of the pod template sets VERIFY_CERTIFICATE_AT_CLIENT (or the 1.12
/// name VERIFY_CERT_AT_CLIENT) to true.
fn env_true(inv: &Inventory, object: ObjectId, template: &[&str], index: usize) -> bool {
    let mut path: Vec<Step<'_>> = template.iter().map(|k| Step::Key(k)).collect();
    path.extend([
        Step::Key("spec"),
        Step::Key("containers"),
        Step::Index(index),
        Step::Key("env"),
    ]);
    let Some(env) = inv.object(object).node.at(&path).and_then(Node::as_seq) else {
        return false;
    };
    env.iter().any(|e| {
        let name = e.get("name").and_then(Node::as_str);
        let value = e.get("value").and_then(Node::scalar_text);
        matches!(
            name,
            Some("VERIFY_CERTIFICATE_AT_CLIENT" | "VERIFY_CERT_AT_CLIENT")
        ) && value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
    })
}

#[cfg(test)]
mod tests {
    use super::pilot_version;

    #[test]
    fn parses_pilot_images() {
        assert_eq!(pilot_version("docker.io/istio/pilot:1.20.3"), Some((1, 20)));
        assert_eq!(
            pilot_version("gcr.io/istio-release/pilot:1.22.0-distroless"),
            Some((1, 22))
        );
        assert_eq!(pilot_version("istio/pilot:1.9.5"), Some((1, 9)));
        assert_eq!(pilot_version("docker.io/istio/pilot@sha256:abcd"), None);
        assert_eq!(
            pilot_version("docker.io/istio/pilot:1.20.3@sha256:abcd"),
            None
        );
        assert_eq!(pilot_version("docker.io/istio/pilot:latest"), None);
        assert_eq!(pilot_version("docker.io/istio/proxyv2:1.20.3"), None);
        assert_eq!(
            pilot_version("localhost:5000/istio/pilot:1.19.0"),
            Some((1, 19))
        );
    }
}
