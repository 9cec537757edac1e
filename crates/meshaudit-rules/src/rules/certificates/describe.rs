//! How certificate findings word a certificate: where it is, its subject, its role, and dates.

use meshaudit_engine::certificates::{CertRole, CertificateRef};
use meshaudit_model::Inventory;

pub const DAY: i64 = 86_400;

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
