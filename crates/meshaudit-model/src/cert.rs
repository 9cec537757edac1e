//! What an audit keeps of an X.509 certificate. Parsing, and checking signatures, happen at
//! ingest (`meshaudit_ingest::certs`); this crate only holds the results.

use std::sync::Arc;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateInfo {
    /// Where in its resource the certificate was found, e.g. `tls.crt` or `ca-cert.pem#2`.
    pub source: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub version: u32,
    /// basicConstraints CA flag; `None` when the extension is absent.
    pub is_ca: Option<bool>,
    /// The issuer name is the subject name **and** the signature verifies with the certificate's
    /// own public key. A shared name alone never makes a certificate self-signed: an issuer may
    /// carry its trust anchor's name (Linkerd's generated anchor and issuer are both
    /// `identity.linkerd.cluster.local`) and still be signed by the anchor's key.
    pub self_signed: bool,
    /// For a certificate that names itself as its issuer: does its signature verify with its own
    /// key? `None` when the issuer name differs from the subject (nothing to check).
    pub self_signature: Option<SignatureCheck>,
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub key_algorithm: String,
    pub key_bits: Option<u32>,
    pub signature_algorithm: String,
    pub key_usage: Vec<String>,
    /// Extended key usages by name (`serverAuth`, `clientAuth`, ...).
    pub extended_key_usage: Vec<String>,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// Subject and authority key identifiers, hex; link a certificate to its issuer.
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    /// SHA-256 of the DER certificate, hex: identifies it across places.
    pub fingerprint_sha256: String,
    /// SHA-256 of the subjectPublicKeyInfo, hex: matches a private key to its certificate and
    /// a certificate to the issuer key that signed it.
    pub public_key_sha256: String,
    /// The certificate as read (DER), so that its signature can be checked against another
    /// certificate's key after ingest (is this CA the one that issued it?). Never serialized.
    #[serde(skip)]
    pub der: CertificateDer,
}

impl CertificateInfo {
    /// The issuer name is the subject name. A precondition of being self-signed, not proof.
    pub fn self_issued(&self) -> bool {
        self.self_signature.is_some()
    }

    /// Why the self-signature of a self-issued certificate could not be checked, if it could
    /// not: such a certificate is not called self-signed, and findings say so.
    pub fn self_signature_unverifiable(&self) -> Option<&str> {
        match &self.self_signature {
            Some(SignatureCheck::Unverifiable(why)) => Some(why),
            _ => None,
        }
    }
}

/// The outcome of checking a certificate's signature with one public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SignatureCheck {
    /// The signature verifies: the holder of that key signed the certificate.
    Verified,
    /// It does not: another key signed it (or the certificate was altered).
    Mismatch,
    /// It could not be checked (an algorithm, curve or key size the verifier does not support);
    /// the text says which. Neither a yes nor a no.
    Unverifiable(String),
}

/// How one certificate relates to a candidate issuer, decided by signature: the child names the
/// candidate as its issuer (issuer name = candidate's subject name, the precondition every
/// path builder uses) and its signature verifies with the candidate's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerCheck {
    /// Named and signed by the candidate.
    Issued,
    /// Not issued by it: another name, a signature that does not verify with its key, or (when
    /// the signature cannot be checked) key identifiers that differ.
    NotIssued,
    /// Named by the child, key identifiers not in conflict, but the signature could not be
    /// checked (why in the text): taken as its issuer on names only, and findings say so.
    Unverified(String),
}

impl IssuerCheck {
    /// Issued, or possibly issued (names and key identifiers agree, the signature could not be
    /// checked). Callers that act on it should mention [`IssuerCheck::unverified`].
    pub fn linked(&self) -> bool {
        !matches!(self, IssuerCheck::NotIssued)
    }

    pub fn unverified(&self) -> Option<&str> {
        match self {
            IssuerCheck::Unverified(why) => Some(why),
            _ => None,
        }
    }
}

/// DER bytes of a certificate, shared between copies of its [`CertificateInfo`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CertificateDer(pub Arc<[u8]>);

impl CertificateDer {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for CertificateDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificateDer({} bytes)", self.0.len())
    }
}
