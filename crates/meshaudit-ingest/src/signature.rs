//! Checking a certificate's signature with a public key (ring), so that "self-signed" and "issued
//! by" are decided by cryptography, never by comparing names.
//!
//! The algorithm is chosen here rather than through x509-parser's `verify` feature so that an
//! algorithm or key the verifier cannot handle is reported as such ([`SignatureCheck::Unverifiable`]
//! with the reason) instead of looking like a signature that does not match: ring refuses MD5,
//! ECDSA with SHA-1 or SHA-512, the P-521 curve, compressed EC points and RSA moduli outside
//! 1024–8192 bits, and checks SHA-384 RSA signatures only from 2048 bits.

use meshaudit_model::SignatureCheck;
use ring::signature::{self, VerificationAlgorithm};
use x509_parser::certificate::X509Certificate;
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::SubjectPublicKeyInfo;

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const ED25519: &str = "1.3.101.112";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const MGF1: &str = "1.2.840.113549.1.1.8";

/// The signature scheme a certificate's signatureAlgorithm names, as far as checking it goes.
enum Scheme {
    RsaPkcs1(Hash),
    RsaPss(Hash),
    Ecdsa(Hash),
    Ed25519,
}

#[derive(Clone, Copy, PartialEq)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }
}

/// Does `cert`'s signature verify with `signer`'s public key?
pub(crate) fn check(
    cert: &X509Certificate<'_>,
    signer: &SubjectPublicKeyInfo<'_>,
) -> SignatureCheck {
    let algorithm = &cert.signature_algorithm;
    let oid = algorithm.algorithm.to_id_string();
    let name = crate::certs::signature_name(&oid);
    let scheme = match oid.as_str() {
        // sha1WithRSAEncryption, and its old OIW alias.
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => Scheme::RsaPkcs1(Hash::Sha1),
        "1.2.840.113549.1.1.11" => Scheme::RsaPkcs1(Hash::Sha256),
        "1.2.840.113549.1.1.12" => Scheme::RsaPkcs1(Hash::Sha384),
        "1.2.840.113549.1.1.13" => Scheme::RsaPkcs1(Hash::Sha512),
        "1.2.840.113549.1.1.10" => match pss_hash(algorithm.parameters.as_ref()) {
            Ok(hash) => Scheme::RsaPss(hash),
            Err(why) => return SignatureCheck::Unverifiable(why),
        },
        "1.2.840.10045.4.3.2" => Scheme::Ecdsa(Hash::Sha256),
        "1.2.840.10045.4.3.3" => Scheme::Ecdsa(Hash::Sha384),
        ED25519 => Scheme::Ed25519,
        _ => {
            return SignatureCheck::Unverifiable(format!(
                "{name} signatures are not supported by meshaudit's verifier"
            ))
        }
    };
    let key_type = signer.algorithm.algorithm.to_id_string();
    let key = signer.subject_public_key.data.as_ref();
    let verifier: &dyn VerificationAlgorithm = match scheme {
        Scheme::RsaPkcs1(_) | Scheme::RsaPss(_) if key_type != RSA_ENCRYPTION => {
            // An RSA signature cannot come from a key of another type.
            return SignatureCheck::Mismatch;
        }
        Scheme::RsaPkcs1(hash) | Scheme::RsaPss(hash) => {
            let Some(bits) = rsa_modulus_bits(signer) else {
                return SignatureCheck::Mismatch;
            };
            let pss = matches!(scheme, Scheme::RsaPss(_));
            match rsa_algorithm(hash, pss, bits) {
                Some(alg) => alg,
                None => {
                    return SignatureCheck::Unverifiable(format!(
                        "{name} ({}) by a {bits}-bit RSA key is outside what meshaudit's verifier checks",
                        hash.name()
                    ))
                }
            }
        }
        Scheme::Ecdsa(_) if key_type != EC_PUBLIC_KEY => return SignatureCheck::Mismatch,
        Scheme::Ecdsa(hash) => {
            let curve = signer
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            if matches!(key.first(), Some(0x02 | 0x03)) {
                return SignatureCheck::Unverifiable(
                    "the signer's EC key is a compressed point, which meshaudit's verifier does not read"
                        .to_owned(),
                );
            }
            match (curve.as_str(), hash) {
                (P256, Hash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
                (P256, Hash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
                (P384, Hash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
                (P384, Hash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
                (curve, _) => {
                    return SignatureCheck::Unverifiable(format!(
                        "{name} by a key on curve {} is not supported by meshaudit's verifier",
                        crate::certs::curve_label(curve)
                    ))
                }
            }
        }
        Scheme::Ed25519 if key_type != ED25519 => return SignatureCheck::Mismatch,
        Scheme::Ed25519 => &signature::ED25519,
    };
    let public_key = signature::UnparsedPublicKey::new(verifier, key);
    match public_key.verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data) {
        Ok(()) => SignatureCheck::Verified,
        Err(_) => SignatureCheck::Mismatch,
    }
}

/// The ring algorithm for an RSA signature by a key of `bits` bits, if ring checks that
/// combination.
fn rsa_algorithm(hash: Hash, pss: bool, bits: usize) -> Option<&'static dyn VerificationAlgorithm> {
    let legacy = (1024..2048).contains(&bits);
    if !(1024..=8192).contains(&bits) {
        return None;
    }
    Some(match (pss, hash, legacy) {
        (false, Hash::Sha1, _) => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (false, Hash::Sha256, true) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (false, Hash::Sha256, false) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (false, Hash::Sha384, false) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (false, Hash::Sha512, true) => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (false, Hash::Sha512, false) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (true, Hash::Sha256, false) => &signature::RSA_PSS_2048_8192_SHA256,
        (true, Hash::Sha384, false) => &signature::RSA_PSS_2048_8192_SHA384,
        (true, Hash::Sha512, false) => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// The exact bit length of an RSA key's modulus.
fn rsa_modulus_bits(spki: &SubjectPublicKeyInfo<'_>) -> Option<usize> {
    let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = spki.parsed() else {
        return None;
    };
    let modulus = rsa.modulus;
    let start = modulus.iter().position(|b| *b != 0)?;
    let first = modulus[start];
    Some((modulus.len() - start) * 8 - first.leading_zeros() as usize)
}

/// The hash of RSASSA-PSS parameters that ring checks: MGF1 with the same hash, and a salt as
/// long as the digest.
fn pss_hash(params: Option<&x509_parser::asn1_rs::Any<'_>>) -> Result<Hash, String> {
    let unsupported =
        |what: &str| format!("rsassaPss with {what} is not supported by meshaudit's verifier");
    let Some(params) = params else {
        return Err(unsupported("no parameters (SHA-1 defaults)"));
    };
    let params =
        RsaSsaPssParams::try_from(params).map_err(|_| unsupported("parameters it cannot read"))?;
    let (hash, len) = match params.hash_algorithm_oid().to_id_string().as_str() {
        SHA256 => (Hash::Sha256, 32),
        SHA384 => (Hash::Sha384, 48),
        SHA512 => (Hash::Sha512, 64),
        other => return Err(unsupported(&format!("hash {other}"))),
    };
    let mgf = params
        .mask_gen_algorithm()
        .map_err(|_| unsupported("a mask generation function it cannot read"))?;
    if mgf.mgf.to_id_string() != MGF1 || mgf.hash != *params.hash_algorithm_oid() {
        return Err(unsupported(
            "a mask generation function other than MGF1 over the same hash",
        ));
    }
    if params.salt_length() != len {
        return Err(unsupported(&format!(
            "a {}-byte salt ({} needs {len})",
            params.salt_length(),
            hash.name()
        )));
    }
    Ok(hash)
}
