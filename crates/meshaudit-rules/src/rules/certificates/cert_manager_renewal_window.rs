//! CERT011: a cert-manager Certificate whose renewal window, lifetime or private key settings
//! risk an outage or a weak certificate.

use meshaudit_model::certmanager::{CertificateSpec, GoDuration, IssuerType};
use meshaudit_model::istio::Typed;
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT011",
    name: "cert-manager-renewal-window",
    title: "cert-manager Certificate renews too late, lives too long or uses a weak key",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd],
    compliance: &[
        "SOC2:CC7.1",
        "SOC2:A1.2",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

cert-manager `Certificate` resources (`cert-manager.io/v1`) whose settings make renewal fail
late or produce a weak certificate. Each problem is reported at its field:

- `spec.renewBefore` (or `spec.renewBeforePercentage`) not shorter than `spec.duration` (or a
  percentage outside 1–99): `high`. cert-manager's validation rejects such a Certificate
  (`duration must be greater than renewBefore`), so it is not issued or renewed as written.
- a renewal window shorter than **7 days for a CA** (`isCA: true`) or **3 days for any other
  certificate**: `medium`. cert-manager renews that close to expiry, so a failing issuer (ACME rate
  limit, Vault token expired, CA Secret deleted) leaves too little time to notice and fix it.
  Neither field set is fine: cert-manager then renews when a third of the lifetime is left.
- `spec.duration` longer than the role allows: a leaf longer than **398 days** (the CA/Browser
  Forum limit for publicly trusted TLS certificates) is `medium`; a CA longer than **5 years** is
  `low`. Not reported for ACME issuers, which choose the lifetime themselves.
- `spec.privateKey`: RSA smaller than 2048 bits or ECDSA smaller than 256 bits: `high`;
  `rotationPolicy: Never` (the same key is reused for every renewal): `low`.

## Why it matters

A Certificate whose renewal starts hours before expiry turns every transient issuer failure into
an outage: the Secret keeps the old certificate until it expires, and gateways and webhooks then
fail for every client. cert-manager's default (renew at two thirds of the lifetime) leaves weeks;
a hand-set `renewBefore` often leaves far less. Long lifetimes widen the exposure window of a
leaked key and postpone the day renewal is first exercised; a key reused across renewals means a
leak survives every rotation. RSA below 2048 bits and curves below P-256 are no longer
considered secure (NIST SP 800-57).

## Example

```yaml
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: shop-gateway
  namespace: istio-system
spec:
  secretName: shop-tls
  duration: 2160h        # 90 days
  renewBefore: 24h       # renewal starts 1 day before expiry
  privateKey:
    algorithm: RSA
    size: 1024           # weak key
    rotationPolicy: Never
  issuerRef: {name: shop-ca, kind: ClusterIssuer}
  dnsNames: [shop.example.com]
```

## Fix

Remove `renewBefore` (cert-manager then renews at two thirds of the lifetime) or set it to at
least a third of `duration` (weeks, not days, for a CA). Keep leaf certificates at 90 days or
less and CAs at a few years, use `privateKey: {algorithm: ECDSA, size: 256}` (or RSA 2048+), and
`rotationPolicy: Always`.

## References

- cert-manager: Certificate resource (duration, renewBefore, renewBeforePercentage, privateKey) — https://cert-manager.io/docs/usage/certificate/
- cert-manager API reference: CertificateSpec — https://cert-manager.io/docs/reference/api-docs/#cert-manager.io/v1.CertificateSpec
- CA/Browser Forum Baseline Requirements §6.3.2 (398-day maximum validity) — https://cabforum.org/working-groups/server/baseline-requirements/documents/
- NIST SP 800-57 Part 1 Rev. 5 (key sizes, cryptoperiods) — https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final
"#,
    check,
};

const DAY: i64 = 86_400;
const CA_MIN_WINDOW_DAYS: i64 = 7;
const LEAF_MIN_WINDOW_DAYS: i64 = 3;
const CA_MAX_DAYS: i64 = 5 * 365;
const LEAF_MAX_DAYS: i64 = 398;

fn days_text(secs: i64) -> String {
    if secs == DAY {
        "1 day".to_owned()
    } else if secs % DAY == 0 {
        format!("{} days", secs / DAY)
    } else if secs >= DAY {
        format!("{:.1} days", secs as f64 / DAY as f64)
    } else {
        format!("{}", GoDuration::from_secs(secs))
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for cert in &inv.cert_manager.certificates {
        check_certificate(ctx, cert, out);
    }
}

fn check_certificate(ctx: &Context<'_>, cert: &Typed<CertificateSpec>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let object = inv.object(cert.object);
    let spec = &cert.spec;
    let who = format!("Certificate {}/{}", cert.namespace, cert.name);
    let secret = if spec.secret_name.is_empty() {
        "its Secret".to_owned()
    } else {
        format!("Secret {}/{}", cert.namespace, spec.secret_name)
    };
    let role = if spec.is_ca() { "CA" } else { "leaf" };
    let duration = spec.effective_duration();
    let duration_text = match spec.duration {
        Some(d) => format!(
            "duration {} ({})",
            raw(object, "duration"),
            days_text(d.secs())
        ),
        None => "duration unset (cert-manager's default, 90 days)".to_owned(),
    };
    let issuer = inv.cert_manager.issuer_of(cert);
    let issuer_text = {
        let r = &spec.issuer_ref;
        let kind = r.kind.as_deref().unwrap_or("Issuer");
        match issuer {
            Some(i) => format!(
                "issued by {kind} {} ({} issuer)",
                r.name,
                i.spec.issuer_type().as_str()
            ),
            None => format!("issued by {kind} {} (not in the input)", r.name),
        }
    };
    let base = |field: &[&str], key: &str, message: String| {
        let mut path: Vec<Step<'_>> = vec![Step::Key("spec")];
        path.extend(field.iter().map(|k| Step::Key(k)));
        Finding::new(&RULE, cert.object, object, &path, message)
            .key(key.to_owned())
            .evidence(format!(
                "{who}: {role} certificate, {duration_text}, {issuer_text}"
            ))
    };

    // Renewal window.
    let window: Option<(&str, i64, String)> = if let Some(pct) = spec.renew_before_percentage {
        if !(1..=99).contains(&pct) {
            out.push(
                base(
                    &["renewBeforePercentage"],
                    "spec.renewBeforePercentage",
                    format!(
                        "{who} sets renewBeforePercentage {pct}, outside 1-99: cert-manager rejects it, so {secret} is not issued or renewed as written"
                    ),
                )
                .severity(Severity::High)
                .remediation(format!(
                    "Remove renewBeforePercentage from {who} (cert-manager then renews at two thirds of the lifetime) or set it between 25 and 50."
                )),
            );
            None
        } else {
            let secs = (duration.secs() as i128 * pct as i128 / 100) as i64;
            Some((
                "renewBeforePercentage",
                secs,
                format!(
                    "renewBeforePercentage {pct} of the {}",
                    days_text(duration.secs())
                ),
            ))
        }
    } else {
        spec.renew_before.and_then(|rb| {
            if rb >= duration {
                out.push(
                    base(
                        &["renewBefore"],
                        "spec.renewBefore",
                        format!(
                            "{who} sets renewBefore {} ({}), not shorter than its {duration_text}: cert-manager rejects it (duration must be greater than renewBefore), so {secret} is not issued or renewed as written",
                            raw(object, "renewBefore"),
                            days_text(rb.secs()),
                        ),
                    )
                    .severity(Severity::High)
                    .remediation(format!(
                        "Remove renewBefore from {who} (cert-manager then renews at two thirds of the lifetime) or set it to about a third of duration."
                    )),
                );
                None
            } else {
                Some((
                    "renewBefore",
                    rb.secs(),
                    format!("renewBefore {}", raw(object, "renewBefore")),
                ))
            }
        })
    };
    if let Some((field, secs, text)) = window {
        let min_days = if spec.is_ca() {
            CA_MIN_WINDOW_DAYS
        } else {
            LEAF_MIN_WINDOW_DAYS
        };
        // Short-lived certificates (Linkerd's documented 48h issuer) cannot leave days: a third
        // of the lifetime, cert-manager's own default, is enough for them.
        let lifetime = spec.effective_duration().secs();
        let required = (min_days * DAY).min(lifetime / 3);
        if secs < required {
            out.push(
                base(
                    &[field],
                    &format!("spec.{field}"),
                    format!(
                        "{who} starts renewing only {} before expiry ({text}): if the {role} renewal fails, there are less than {min_days} days to notice and fix it before {secret} expires",
                        days_text(secs)
                    ),
                )
                .severity(Severity::Medium)
                .evidence(format!(
                    "minimum renewal window: {CA_MIN_WINDOW_DAYS} days for a CA, {LEAF_MIN_WINDOW_DAYS} days for other certificates; cert-manager's default is a third of the lifetime ({})",
                    days_text(duration.secs() / 3)
                ))
                .remediation(format!(
                    "Remove {field} from {who} so cert-manager renews at two thirds of the lifetime, or set it to at least {min_days} days (a third of duration is better)."
                )),
            );
        }
    }

    // Lifetime for the role; ACME CAs choose the lifetime themselves.
    let acme = issuer.is_some_and(|i| i.spec.issuer_type() == IssuerType::Acme);
    if let Some(d) = spec.duration {
        let days = d.secs() / DAY;
        let (limit, severity, why) = if spec.is_ca() {
            (
                CA_MAX_DAYS,
                Severity::Low,
                "a CA longer than 5 years keeps a compromised or weak key trusted for years and makes rotation a rare, unpractised event",
            )
        } else {
            (
                LEAF_MAX_DAYS,
                Severity::Medium,
                "leaf certificates longer than 398 days exceed the CA/Browser Forum limit (browsers reject publicly trusted ones) and keep a leaked key valid for over a year",
            )
        };
        if !acme && days > limit {
            out.push(
                base(
                    &["duration"],
                    "spec.duration",
                    format!(
                        "{who} issues a {role} certificate for {} (duration {}), longer than {limit} days: {why}",
                        days_text(d.secs()),
                        raw(object, "duration")
                    ),
                )
                .severity(severity)
                .remediation(format!(
                    "Shorten duration on {who} to at most {limit} days ({}h){}.",
                    limit * 24,
                    if spec.is_ca() { "" } else { "; 90 days (2160h) is common" }
                )),
            );
        }
    }

    // Private key.
    if let Some(key) = &spec.private_key {
        let algorithm = key.algorithm.as_deref().unwrap_or("RSA");
        let weak = match (algorithm.to_ascii_uppercase().as_str(), key.size) {
            ("RSA", Some(bits)) if bits < 2048 => Some(format!("RSA {bits} bits (minimum 2048)")),
            ("ECDSA", Some(bits)) if bits < 256 => {
                Some(format!("ECDSA {bits} bits (minimum 256, P-256)"))
            }
            _ => None,
        };
        if let Some(weak) = weak {
            out.push(
                base(
                    &["privateKey", "size"],
                    "spec.privateKey.size",
                    format!(
                        "{who} generates a weak private key for {secret}: {weak}; it can be factored or broken with feasible effort"
                    ),
                )
                .severity(Severity::High)
                .remediation(format!(
                    "Set privateKey to algorithm ECDSA size 256 (or RSA size 2048 or more) on {who} and let it renew."
                )),
            );
        }
        if key
            .rotation_policy
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("Never"))
        {
            out.push(
                base(
                    &["privateKey", "rotationPolicy"],
                    "spec.privateKey.rotationPolicy",
                    format!(
                        "{who} sets privateKey.rotationPolicy Never: every renewal reuses the same private key in {secret}, so a leaked key stays valid across renewals"
                    ),
                )
                .severity(Severity::Low)
                .remediation(format!(
                    "Set privateKey.rotationPolicy: Always on {who} so each renewal makes a new key."
                )),
            );
        }
    }
}

/// The field's text as written (`2160h`), for messages.
fn raw(object: &meshaudit_model::Object, field: &str) -> String {
    object
        .node
        .at(&[Step::Key("spec"), Step::Key(field)])
        .and_then(|n| n.scalar_text())
        .unwrap_or_default()
}

trait WithSeverity {
    fn severity(self, severity: Severity) -> Self;
}

impl WithSeverity for Finding {
    fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}
