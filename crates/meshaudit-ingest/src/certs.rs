//! X.509 certificates found in Secrets, ConfigMaps and webhook bundles, reduced to
//! [`CertificateInfo`]; and private keys reduced to the SHA-256 of their public key
//! ([`private_key_public_sha256`]), so a rule can tell whether a key matches its certificate
//! without the key ever being kept, logged or printed.
//!
//! Self-signed and issued-by are decided by signature ([`issued_by`], and
//! [`CertificateInfo::self_signed`] at parse time), never by names alone: see `docs/certs.md`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use meshaudit_model::{CertificateDer, CertificateInfo, IssuerCheck, SignatureCheck};
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

/// Does `parent` issue `child`? `child` must name `parent` as its issuer (issuer name = subject
/// name, the precondition of every path builder) and its signature must verify with `parent`'s
/// public key. When the signature cannot be checked, key identifiers (when both certificates
/// carry one) still rule a candidate out; otherwise the answer is [`IssuerCheck::Unverified`],
/// which callers must report as such.
pub fn issued_by(child: &CertificateInfo, parent: &CertificateInfo) -> IssuerCheck {
    if child.issuer != parent.subject {
        return IssuerCheck::NotIssued;
    }
    match signed_by(child, parent) {
        SignatureCheck::Verified => IssuerCheck::Issued,
        SignatureCheck::Mismatch => IssuerCheck::NotIssued,
        SignatureCheck::Unverifiable(why) => {
            match (&child.authority_key_id, &parent.subject_key_id) {
                (Some(aki), Some(ski)) if aki != ski => IssuerCheck::NotIssued,
                _ => IssuerCheck::Unverified(why),
            }
        }
    }
}

/// Does `child`'s signature verify with `signer`'s public key? Names are not looked at.
pub fn signed_by(child: &CertificateInfo, signer: &CertificateInfo) -> SignatureCheck {
    if child.fingerprint_sha256 == signer.fingerprint_sha256 {
        if let Some(own) = &child.self_signature {
            return own.clone();
        }
    }
    let (child_der, signer_der) = (child.der.as_bytes(), signer.der.as_bytes());
    if child_der.is_empty() || signer_der.is_empty() {
        return SignatureCheck::Unverifiable(
            "the certificate's bytes were not kept, so its signature cannot be checked".to_owned(),
        );
    }
    match (
        X509Certificate::from_der(child_der),
        X509Certificate::from_der(signer_der),
    ) {
        (Ok((_, c)), Ok((_, s))) => crate::signature::check(&c, s.public_key()),
        // Both parsed once already; bytes that no longer parse cannot be checked.
        _ => SignatureCheck::Unverifiable("the certificate could not be parsed again".to_owned()),
    }
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
    let fingerprint: [u8; 32] = Sha256::digest(cert.as_ref()).into();
    let (der, self_signature) = seen(fingerprint, cert);
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
        self_signed: self_signature == Some(SignatureCheck::Verified),
        self_signature,
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
        fingerprint_sha256: hex(&fingerprint),
        public_key_sha256: hex(&Sha256::digest(cert.public_key().raw)),
        der,
    }
}

/// What is kept of each distinct certificate (by SHA-256 of its DER): its bytes, shared by every
/// copy, and its self-signature check. The same root sits in an `istio-ca-root-cert` ConfigMap
/// of every namespace; its signature is checked once, not once per namespace.
type Seen = HashMap<[u8; 32], (CertificateDer, Option<SignatureCheck>)>;

/// Bounded so a stream of distinct certificates cannot grow it without end; past the bound it
/// starts over (a cache, not a record).
const SEEN_MAX: usize = 4096;

fn seen(
    fingerprint: [u8; 32],
    cert: &X509Certificate<'_>,
) -> (CertificateDer, Option<SignatureCheck>) {
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let cache = SEEN.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&fingerprint).cloned()) {
        return hit;
    }
    // Self-issued (the names match) is only the precondition; the signature decides.
    let self_signature = (cert.subject().as_raw() == cert.issuer().as_raw())
        .then(|| crate::signature::check(cert, cert.public_key()));
    let entry = (CertificateDer(Arc::from(cert.as_raw())), self_signature);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= SEEN_MAX {
            c.clear();
        }
        c.insert(fingerprint, entry.clone());
    }
    entry
}

fn curve_name(cert: &X509Certificate<'_>) -> Option<String> {
    let params = cert.public_key().algorithm.parameters.as_ref()?;
    let oid = params.as_oid().ok()?.to_id_string();
    Some(format!("EC {}", curve_label(&oid)))
}

/// `P-256` for the named curve's OID; the OID itself for others.
pub(crate) fn curve_label(oid: &str) -> String {
    match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.33" => "P-224",
        "" => "(not named)",
        other => other,
    }
    .to_owned()
}

pub(crate) fn signature_name(oid: &str) -> String {
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

const PEM_KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// The SHA-256 (hex) of the DER subjectPublicKeyInfo that belongs to the first private key in
/// `bytes` (PEM `PRIVATE KEY` PKCS#8, `RSA PRIVATE KEY` PKCS#1, `EC PRIVATE KEY` SEC1) — the same
/// form as [`CertificateInfo::public_key_sha256`]. `None` when there is no such key, it cannot be
/// read, or its public key cannot be derived without arithmetic (an EC key without its public
/// point, an Ed25519 key without its public key). The decoded key bytes are zeroed before they
/// are dropped; nothing of the key is returned but the hash.
pub fn private_key_public_sha256(bytes: &[u8]) -> Option<String> {
    if !contains(bytes, b"PRIVATE KEY-----") {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    for label in PEM_KEY_LABELS {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let Some((_, rest)) = text.split_once(&begin) else {
            continue;
        };
        let Some((body, _)) = rest.split_once(&end) else {
            continue;
        };
        let mut der = crate::objects::decode_base64(body)?;
        let spki = match label {
            "PRIVATE KEY" => spki_of_pkcs8(&der),
            "RSA PRIVATE KEY" => spki_of_pkcs1(&der),
            _ => spki_of_sec1(&der, None),
        };
        der.fill(0);
        return spki.map(|spki| hex(&Sha256::digest(spki)));
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One DER element: (tag, content, the whole element, what follows).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);
/// An element inside a constructed one: (tag, content, the whole element).
type Element<'a> = (u8, &'a [u8], &'a [u8]);

fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[header..end], &input[..end], &input[end..]))
}

/// The elements inside a constructed element's content.
fn elements(mut content: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tag, inner, whole, rest) = tlv(content)?;
        out.push((tag, inner, whole));
        content = rest;
    }
    Some(out)
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// SEQUENCE { AlgorithmIdentifier, BIT STRING key }.
fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend_from_slice(key);
    let mut content = encode(0x30, algorithm);
    content.extend(encode(0x03, &bits));
    encode(0x30, &content)
}

/// PKCS#1 RSAPrivateKey: SEQUENCE { version, modulus, publicExponent, ... }.
fn spki_of_pkcs1(der: &[u8]) -> Option<Vec<u8>> {
    let (0x30, content, _, _) = tlv(der)? else {
        return None;
    };
    let items = elements(content)?;
    let (modulus, exponent) = match items.as_slice() {
        [(0x02, _, _), (0x02, _, n), (0x02, _, e), ..] => (*n, *e),
        _ => return None,
    };
    let mut public = modulus.to_vec();
    public.extend_from_slice(exponent);
    let public = encode(0x30, &public);
    let mut algorithm = encode(0x06, OID_RSA);
    algorithm.extend([0x05, 0x00]);
    Some(spki(&algorithm, &public))
}

/// SEC1 ECPrivateKey: SEQUENCE { version, privateKey, [0] curve OPTIONAL, [1] publicKey
/// OPTIONAL }. `curve` is the named-curve OID element from a PKCS#8 wrapper, if any.
fn spki_of_sec1(der: &[u8], curve: Option<&[u8]>) -> Option<Vec<u8>> {
    let (0x30, content, _, _) = tlv(der)? else {
        return None;
    };
    let items = elements(content)?;
    let mut own_curve = None;
    let mut point = None;
    for (tag, inner, _) in items.iter().skip(2) {
        match tag {
            0xa0 => own_curve = Some(tlv(inner)?.2),
            0xa1 => {
                let (0x03, bits, _, _) = tlv(inner)? else {
                    return None;
                };
                point = bits.strip_prefix(&[0u8]);
            }
            _ => {}
        }
    }
    let curve = curve.or(own_curve)?;
    let mut algorithm = encode(0x06, OID_EC);
    algorithm.extend_from_slice(curve);
    Some(spki(&algorithm, point?))
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey: SEQUENCE { version, AlgorithmIdentifier,
/// privateKey OCTET STRING, [0] attributes OPTIONAL, [1] publicKey OPTIONAL }.
fn spki_of_pkcs8(der: &[u8]) -> Option<Vec<u8>> {
    let (0x30, content, _, _) = tlv(der)? else {
        return None;
    };
    let items = elements(content)?;
    let [(0x02, _, _), (0x30, algorithm, _), (0x04, private, _), rest @ ..] = items.as_slice()
    else {
        return None;
    };
    let alg = elements(algorithm)?;
    let (0x06, oid, _) = *alg.first()? else {
        return None;
    };
    if oid == OID_RSA {
        spki_of_pkcs1(private)
    } else if oid == OID_EC {
        let curve = alg
            .get(1)
            .filter(|(t, _, _)| *t == 0x06)
            .map(|(_, _, w)| *w);
        spki_of_sec1(private, curve)
    } else if oid == OID_ED25519 {
        // Only with the optional public key ([1], implicitly tagged BIT STRING).
        let public = rest.iter().find(|(t, _, _)| *t == 0x81)?.1;
        let key = public.strip_prefix(&[0u8])?;
        Some(spki(&encode(0x06, OID_ED25519), key))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

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

    /// A CA named `cn`, self-signed or signed by `issuer` (params and key).
    fn ca(
        cn: &str,
        issuer: Option<(&rcgen::CertificateParams, &rcgen::KeyPair)>,
    ) -> (rcgen::CertificateParams, rcgen::KeyPair, CertificateInfo) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.use_authority_key_identifier_extension = true;
        let cert = match issuer {
            None => params.self_signed(&key).unwrap(),
            Some((p, k)) => params
                .signed_by(&key, &rcgen::Issuer::from_params(p, k))
                .unwrap(),
        };
        let info = certificates_in("ca.crt", cert.der()).remove(0);
        (params, key, info)
    }

    #[test]
    fn self_signed_is_decided_by_signature_not_by_name() {
        // Linkerd's generated anchor and issuer share one name; only the anchor signs itself.
        let (anchor_p, anchor_k, anchor) = ca("identity.linkerd.cluster.local", None);
        let (issuer_p, issuer_k, issuer) = ca(
            "identity.linkerd.cluster.local",
            Some((&anchor_p, &anchor_k)),
        );
        assert!(anchor.self_signed);
        assert_eq!(anchor.self_signature, Some(SignatureCheck::Verified));
        assert!(issuer.self_issued(), "the names match");
        assert!(!issuer.self_signed, "but the anchor's key signed it");
        assert_eq!(issuer.self_signature, Some(SignatureCheck::Mismatch));

        assert_eq!(issued_by(&issuer, &anchor), IssuerCheck::Issued);
        assert_eq!(issued_by(&anchor, &issuer), IssuerCheck::NotIssued);
        assert_eq!(issued_by(&anchor, &anchor), IssuerCheck::Issued);
        assert_eq!(signed_by(&issuer, &anchor), SignatureCheck::Verified);
        assert_eq!(signed_by(&issuer, &issuer), SignatureCheck::Mismatch);

        // A leaf of the issuer: issued by it, not by the anchor (another name, another key).
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["web.shop.svc".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "web");
        let leaf = params
            .signed_by(&key, &rcgen::Issuer::from_params(&issuer_p, &issuer_k))
            .unwrap();
        let leaf = certificates_in("tls.crt", leaf.der()).remove(0);
        assert!(!leaf.self_signed && !leaf.self_issued());
        assert_eq!(leaf.self_signature, None);
        assert_eq!(issued_by(&leaf, &issuer), IssuerCheck::Issued);
        assert_eq!(issued_by(&leaf, &anchor), IssuerCheck::NotIssued);
        // The signature alone: the anchor's key did not sign the leaf.
        assert_eq!(signed_by(&leaf, &anchor), SignatureCheck::Mismatch);
    }

    #[test]
    fn a_regenerated_anchor_with_the_same_name_did_not_issue() {
        let (old_p, old_k, old) = ca("root.linkerd.cluster.local", None);
        let (_, _, new) = ca("root.linkerd.cluster.local", None);
        let (_, _, issuer) = ca("identity.linkerd.cluster.local", Some((&old_p, &old_k)));
        assert_eq!(issued_by(&issuer, &old), IssuerCheck::Issued);
        assert_eq!(issued_by(&issuer, &new), IssuerCheck::NotIssued);
        // Without key identifiers to tell them apart, the signature still does.
        let strip = |c: &CertificateInfo| CertificateInfo {
            subject_key_id: None,
            authority_key_id: None,
            ..c.clone()
        };
        assert_eq!(
            issued_by(&strip(&issuer), &strip(&new)),
            IssuerCheck::NotIssued
        );
        assert_eq!(
            issued_by(&strip(&issuer), &strip(&old)),
            IssuerCheck::Issued
        );
    }

    #[test]
    fn other_key_types_and_sizes_are_verified() {
        for alg in [&rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_ED25519] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let info = certificates_in("tls.crt", cert.der()).remove(0);
            assert!(info.self_signed, "{}", info.signature_algorithm);
        }
        // A 1024-bit RSA key with SHA-256 (ring's legacy range) and RSASSA-PSS over SHA-256.
        for pem in [
            include_str!("../tests/data/rsa-test-key.crt"),
            include_str!("../tests/data/rsa-pss-self-signed.crt"),
        ] {
            let info = certificates_in("tls.crt", pem.as_bytes()).remove(0);
            assert_eq!(
                info.self_signature,
                Some(SignatureCheck::Verified),
                "{info:?}"
            );
            assert!(info.self_signed);
        }
    }

    #[test]
    fn an_altered_signature_does_not_verify() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let mut der = cert.der().to_vec();
        // The signature BIT STRING ends the certificate: change its last byte.
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let info = certificates_in("tls.crt", &der).remove(0);
        assert!(info.self_issued());
        assert!(!info.self_signed);
        assert_eq!(info.self_signature, Some(SignatureCheck::Mismatch));
    }

    #[test]
    fn unsupported_algorithms_are_unverifiable_not_self_signed() {
        // ECDSA P-521 with SHA-512: a sound algorithm ring does not verify.
        let pem = include_str!("../tests/data/p521-self-signed.crt");
        let info = certificates_in("ca.crt", pem.as_bytes()).remove(0);
        assert!(info.self_issued());
        assert!(
            !info.self_signed,
            "not called self-signed when it cannot be checked"
        );
        let why = info.self_signature_unverifiable().expect("unverifiable");
        assert!(why.contains("ecdsa-with-SHA512"), "{why}");
        // As an issuer candidate: names agree, the signature cannot decide.
        assert!(matches!(
            issued_by(&info, &info),
            IssuerCheck::Unverified(_)
        ));
        // Key identifiers that differ still rule a candidate out.
        let other = CertificateInfo {
            subject_key_id: Some("aa".to_owned()),
            ..info.clone()
        };
        let child = CertificateInfo {
            authority_key_id: Some("bb".to_owned()),
            fingerprint_sha256: "child".to_owned(),
            ..info.clone()
        };
        assert_eq!(issued_by(&child, &other), IssuerCheck::NotIssued);

        // A certificate whose bytes were not kept cannot be checked either.
        let bare = CertificateInfo {
            der: CertificateDer::default(),
            fingerprint_sha256: "bare".to_owned(),
            ..info.clone()
        };
        assert!(matches!(
            signed_by(&bare, &info),
            SignatureCheck::Unverifiable(_)
        ));
    }

    #[test]
    fn signature_algorithm_and_key_type_must_agree() {
        // An ECDSA signature cannot come from an Ed25519 key: a mismatch, not "unsupported".
        let ec = rcgen::KeyPair::generate().unwrap();
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mk = |key: &rcgen::KeyPair| {
            let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
                .unwrap()
                .self_signed(key)
                .unwrap();
            certificates_in("tls.crt", cert.der()).remove(0)
        };
        let (ec_cert, ed_cert) = (mk(&ec), mk(&ed));
        assert_eq!(signed_by(&ec_cert, &ed_cert), SignatureCheck::Mismatch);
        assert_eq!(signed_by(&ed_cert, &ec_cert), SignatureCheck::Mismatch);
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

    fn key_hash_matches(key: &rcgen::KeyPair, pem: &str) {
        let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
            .unwrap()
            .self_signed(key)
            .unwrap();
        let info = &certificates_in("tls.crt", cert.pem().as_bytes())[0];
        assert_eq!(
            private_key_public_sha256(pem.as_bytes()).as_deref(),
            Some(info.public_key_sha256.as_str())
        );
    }

    #[test]
    fn ec_pkcs8_keys_match_their_certificate() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
        ] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            key_hash_matches(&key, &key.serialize_pem());
        }
    }

    #[test]
    fn ed25519_pkcs8_with_public_key_matches() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        // ring writes PKCS#8 v2 with the public key.
        key_hash_matches(&key, &key.serialize_pem());
    }

    #[test]
    fn sec1_ec_key_matches() {
        // Re-wrap rcgen's PKCS#8 EC key as SEC1 `EC PRIVATE KEY` with the curve inside.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let der = key.serialize_der();
        let (_, content, _, _) = tlv(&der).unwrap();
        let items = elements(content).unwrap();
        let curve = elements(items[1].1).unwrap()[1].2.to_vec();
        let (_, sec1_content, _, _) = tlv(items[2].1).unwrap();
        let mut inner: Vec<u8> = Vec::new();
        for (i, (tag, c, whole)) in elements(sec1_content).unwrap().into_iter().enumerate() {
            if i == 2 {
                inner.extend(encode(0xa0, &curve));
            }
            if tag != 0xa0 {
                inner.extend_from_slice(whole);
            }
            let _ = c;
        }
        let sec1 = encode(0x30, &inner);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&sec1);
        let pem = format!("-----BEGIN EC PRIVATE KEY-----\n{b64}\n-----END EC PRIVATE KEY-----\n");
        key_hash_matches(&key, &pem);
        // Without the public point there is nothing to compare.
        let mut no_point: Vec<u8> = Vec::new();
        for (tag, _, whole) in elements(tlv(&sec1).unwrap().1).unwrap() {
            if tag != 0xa1 {
                no_point.extend_from_slice(whole);
            }
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(encode(0x30, &no_point));
        let pem = format!("-----BEGIN EC PRIVATE KEY-----\n{b64}\n-----END EC PRIVATE KEY-----\n");
        assert_eq!(private_key_public_sha256(pem.as_bytes()), None);
    }

    #[test]
    fn rsa_pkcs1_and_pkcs8_keys_match() {
        // A fixed 1024-bit test key pair (made with python cryptography; too small for any real
        // use) in both forms, and its self-signed certificate's public key hash.
        let pkcs1 = include_str!("../tests/data/rsa-test-key.pkcs1.pem");
        let pkcs8 = include_str!("../tests/data/rsa-test-key.pkcs8.pem");
        let cert = include_str!("../tests/data/rsa-test-key.crt");
        let info = &certificates_in("tls.crt", cert.as_bytes())[0];
        for pem in [pkcs1, pkcs8] {
            assert_eq!(
                private_key_public_sha256(pem.as_bytes()).as_deref(),
                Some(info.public_key_sha256.as_str())
            );
        }
    }

    #[test]
    fn other_values_give_no_hash() {
        assert_eq!(private_key_public_sha256(b"hunter2"), None);
        assert_eq!(
            private_key_public_sha256(
                b"-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"
            ),
            None
        );
        assert_eq!(
            private_key_public_sha256(
                b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"
            ),
            None
        );
    }
}
