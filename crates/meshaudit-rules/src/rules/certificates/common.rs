//! What the certificate rules share: each certificate once per resource, a finding located at
//! it, and plain-language descriptions.
//!
//! Finding keys: every finding about one certificate has `key` = the certificate's key in
//! [`CertificateRef::key`] (`ca-cert.pem`, `tls.crt#2`, `webhooks[0].clientConfig.caBundle`),
//! optionally followed by `:` and an aspect when one certificate can get several findings of the
//! same rule (`ca-cert.pem:keyCertSign`). `meshaudit certs` attaches findings to certificates by
//! (object, key up to the first `:`).

use meshaudit_engine::certificates::{certificates, CertRole, CertificateRef};
use meshaudit_model::Inventory;

use crate::finding::{Finding, Mesh};
use crate::rule::Rule;

pub const DAY: i64 = 86_400;

/// A certificate and the other keys of the same resource that hold the very same certificate
/// (a `cert-chain.pem` repeats `ca-cert.pem` and `root-cert.pem`): reported once, on the first.
pub struct Unique<'a> {
    pub cert: CertificateRef<'a>,
    pub also_in: Vec<String>,
}

/// Every certificate of the input, each distinct certificate once per resource. The role kept is
/// the most specific one (a chain's copy of `ca-cert.pem` is the signing CA).
pub fn unique_certificates(inv: &Inventory) -> Vec<Unique<'_>> {
    let mut out: Vec<Unique<'_>> = Vec::new();
    for cert in certificates(inv) {
        if let Some(existing) = out.iter_mut().find(|u| {
            u.cert.object == cert.object
                && u.cert.info.fingerprint_sha256 == cert.info.fingerprint_sha256
        }) {
            // Prefer the non-chain key as the place to report.
            if is_chain_key(&existing.cert.key) && !is_chain_key(&cert.key) {
                let previous = std::mem::replace(&mut existing.cert, cert);
                existing.also_in.push(previous.key);
            } else {
                existing.also_in.push(cert.key);
            }
            continue;
        }
        out.push(Unique {
            cert,
            also_in: Vec::new(),
        });
    }
    out
}

fn is_chain_key(key: &str) -> bool {
    key.starts_with("cert-chain.pem")
}

pub fn mesh_of(cert: &CertificateRef<'_>) -> Mesh {
    cert.mesh
}

/// `Secret istio-system/cacerts`.
pub fn place(inv: &Inventory, cert: &CertificateRef<'_>) -> String {
    let o = inv.object(cert.object);
    match &o.namespace {
        Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
        None => format!("{} {}", o.kind, o.name),
    }
}

/// `ca-cert.pem of Secret istio-system/cacerts (CN=..., signing CA)`.
pub fn describe(inv: &Inventory, cert: &CertificateRef<'_>) -> String {
    format!(
        "{} of {} ({}, {})",
        cert.key,
        place(inv, cert),
        subject(cert),
        role_words(cert.role)
    )
}

pub fn subject(cert: &CertificateRef<'_>) -> String {
    if cert.info.subject.is_empty() {
        "empty subject".to_owned()
    } else {
        cert.info.subject.clone()
    }
}

pub fn role_words(role: CertRole) -> &'static str {
    match role {
        CertRole::TrustAnchor => "trust anchor",
        CertRole::SigningCa => "signing CA",
        CertRole::ChainIntermediate => "intermediate CA",
        CertRole::GatewayServing => "gateway serving certificate",
        CertRole::WebhookCa => "webhook CA bundle",
        CertRole::OtherCa => "CA certificate",
        CertRole::Leaf => "leaf certificate",
    }
}

/// A finding on `cert`, located at its field, keyed by its key (plus `:aspect`), with its role
/// and why in the evidence.
pub fn finding(
    rule: &'static Rule,
    inv: &Inventory,
    u: &Unique<'_>,
    aspect: Option<&str>,
    message: String,
) -> Finding {
    let cert = &u.cert;
    let object = inv.object(cert.object);
    let steps = cert.steps();
    let key = match aspect {
        Some(a) => format!("{}:{a}", cert.key),
        None => cert.key.clone(),
    };
    let mut f = Finding::new(rule, cert.object, object, &steps, message)
        .key(key)
        .evidence(format!(
            "role: {} ({})",
            cert.role.as_str(),
            cert.role_because
        ))
        .evidence(format!(
            "subject: {}; issuer: {}",
            subject(cert),
            cert.info.issuer
        ));
    if !u.also_in.is_empty() {
        f = f.evidence(format!(
            "the same certificate is also in {}",
            u.also_in.join(", ")
        ));
    }
    f.mesh = mesh_of(cert);
    f
}

/// `2026-01-06` for unix seconds.
pub fn date(secs: i64) -> String {
    let days = secs.div_euclid(DAY);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates() {
        assert_eq!(date(1_767_225_600), "2026-01-01");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
    }
}
