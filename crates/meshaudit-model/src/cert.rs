//! What an audit keeps of an X.509 certificate. Parsing happens at ingest.

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
    pub self_signed: bool,
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
}
