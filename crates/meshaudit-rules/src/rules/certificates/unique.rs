//! Each certificate of the input once per resource, and a finding located at it.
//!
//! Finding keys: every finding about one certificate has `key` = the certificate's key in
//! [`CertificateRef::key`] (`ca-cert.pem`, `tls.crt#2`, `webhooks[0].clientConfig.caBundle`),
//! optionally followed by `:` and an aspect when one certificate can get several findings of the
//! same rule (`ca-cert.pem:keyCertSign`). `meshaudit certs` attaches findings to certificates by
//! (object, key up to the first `:`).

use meshaudit_engine::certificates::{certificates, CertificateRef};
use meshaudit_model::Inventory;

use super::describe::subject;
use crate::finding::Finding;
use crate::rule::Rule;

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
    f.mesh = cert.mesh;
    f
}
