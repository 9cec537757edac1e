//! X.509 certificates found in Secrets, ConfigMaps and webhook bundles, reduced to
//! [`CertificateInfo`]. Private keys are never parsed or kept here.

use meshaudit_model::CertificateInfo;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

const PEM_CERT_MARKER: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Every certificate in `bytes` (PEM, several blocks allowed, or one DER certificate).
/// `source` names where they were found, e.g. `tls.crt`.
pub fn certificates_in(source: &str, bytes: &[u8]) -> Vec<CertificateInfo> {
    let mut out = Vec::new();
    if contains(bytes, PEM_CERT_MARKER) {
        // Each block on its own, so one damaged block does not hide the ones after it.
        let text = String::from_utf8_lossy(bytes);
        let mut index = 0usize;
        for block in text.split(PEM_BEGIN).skip(1) {
            let Some((body, _)) = block.split_once(PEM_END) else {
                continue;
            };
            index += 1;
            let Some(der) = crate::objects::decode_base64(body) else {
                continue;
            };
            if let Ok((_, cert)) = X509Certificate::from_der(&der) {
                let name = if index == 1 {
                    source.to_owned()
                } else {
                    format!("{source}#{index}")
                };
                out.push(describe(name, &cert));
            }
        }
    } else if bytes.first() == Some(&0x30) {
        if let Ok((_, cert)) = X509Certificate::from_der(bytes) {
            out.push(describe(source.to_owned(), &cert));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn describe(source: String, cert: &X509Certificate<'_>) -> CertificateInfo {
    let mut dns_names = Vec::new();
    let mut uris = Vec::new();
    let mut ip_addresses = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                GeneralName::URI(u) => uris.push((*u).to_owned()),
                GeneralName::IPAddress(bytes) => ip_addresses.push(format_ip(bytes)),
                _ => {}
            }
        }
    }
    let (key_algorithm, key_bits) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_owned(), u32::try_from(rsa.key_size()).ok()),
        Ok(PublicKey::EC(ec)) => (
            curve_name(cert).unwrap_or_else(|| "EC".to_owned()),
            u32::try_from(ec.key_size()).ok(),
        ),
        Ok(PublicKey::DSA(_)) => ("DSA".to_owned(), None),
        Ok(PublicKey::GostR3410(_) | PublicKey::GostR3410_2012(_)) => ("GOST".to_owned(), None),
        Ok(PublicKey::Unknown(_)) | Err(_) => {
            (cert.public_key().algorithm.algorithm.to_id_string(), None)
        }
    };
    let key_usage = match cert.key_usage() {
        Ok(Some(ku)) => {
            let ku = ku.value;
            [
                (ku.digital_signature(), "digitalSignature"),
                (ku.non_repudiation(), "nonRepudiation"),
                (ku.key_encipherment(), "keyEncipherment"),
                (ku.data_encipherment(), "dataEncipherment"),
                (ku.key_agreement(), "keyAgreement"),
                (ku.key_cert_sign(), "keyCertSign"),
                (ku.crl_sign(), "cRLSign"),
            ]
            .into_iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| name.to_owned())
            .collect()
        }
        _ => Vec::new(),
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut extended_key_usage = Vec::new();
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (set, name) in [
            (e.any, "any"),
            (e.server_auth, "serverAuth"),
            (e.client_auth, "clientAuth"),
            (e.code_signing, "codeSigning"),
            (e.email_protection, "emailProtection"),
            (e.time_stamping, "timeStamping"),
            (e.ocsp_signing, "ocspSigning"),
        ] {
            if set {
                extended_key_usage.push(name.to_owned());
            }
        }
    }
    let mut subject_key_id = None;
    let mut authority_key_id = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(hex(id.0)),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key_id = aki.key_identifier.as_ref().map(|id| hex(id.0));
            }
            _ => {}
        }
    }
    CertificateInfo {
        source,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        version: cert.version().0 + 1,
        is_ca: cert
            .basic_constraints()
            .ok()
            .flatten()
            .map(|bc| bc.value.ca),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        dns_names,
        uris,
        ip_addresses,
        key_algorithm,
        key_bits,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        key_usage,
        extended_key_usage,
        path_len: cert
            .basic_constraints()
            .ok()
            .flatten()
            .and_then(|bc| bc.value.path_len_constraint),
        subject_key_id,
        authority_key_id,
        fingerprint_sha256: hex(&Sha256::digest(cert.as_ref())),
        public_key_sha256: hex(&Sha256::digest(cert.public_key().raw)),
    }
}

fn curve_name(cert: &X509Certificate<'_>) -> Option<String> {
    let params = cert.public_key().algorithm.parameters.as_ref()?;
    let oid = params.as_oid().ok()?.to_id_string();
    Some(
        match oid.as_str() {
            "1.2.840.10045.3.1.7" => "EC P-256",
            "1.3.132.0.34" => "EC P-384",
            "1.3.132.0.35" => "EC P-521",
            "1.2.840.10045.3.1.1" => "EC P-192",
            "1.3.132.0.33" => "EC P-224",
            _ => return Some(format!("EC {oid}")),
        }
        .to_owned(),
    )
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ed25519",
        other => other,
    }
    .to_owned()
}

fn format_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => format!("{bytes:02x?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_chain_and_fields_are_read() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["payments.example.com".to_owned()]).unwrap();
        params.subject_alt_names.push(rcgen::SanType::URI(
            "spiffe://cluster.local/ns/payments/sa/api"
                .try_into()
                .unwrap(),
        ));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "payments");
        let cert = params.self_signed(&key).unwrap();
        let pem = format!("{}{}", cert.pem(), cert.pem());
        let certs = certificates_in("tls.crt", pem.as_bytes());
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[1].source, "tls.crt#2");
        let c = &certs[0];
        assert_eq!(c.subject, "CN=payments");
        assert!(c.self_signed);
        assert_eq!(c.dns_names, vec!["payments.example.com"]);
        assert_eq!(c.uris, vec!["spiffe://cluster.local/ns/payments/sa/api"]);
        assert_eq!(c.key_algorithm, "EC P-256");
        assert_eq!(c.signature_algorithm, "ecdsa-with-SHA256");
        assert!(c.not_after > c.not_before);
        // DER works too.
        assert_eq!(certificates_in("ca.der", cert.der()).len(), 1);
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(c.fingerprint_sha256, hex(&Sha256::digest(cert.der())));
        assert_eq!(c.public_key_sha256.len(), 64);
    }

    #[test]
    fn a_damaged_block_does_not_hide_the_next() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n{}",
            cert.pem()
        );
        let certs = certificates_in("bundle.pem", pem.as_bytes());
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].source, "bundle.pem#2");
    }

    #[test]
    fn non_certificates_yield_nothing() {
        assert!(certificates_in("password", b"hunter2").is_empty());
        assert!(certificates_in(
            "tls.key",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_empty());
    }
}
