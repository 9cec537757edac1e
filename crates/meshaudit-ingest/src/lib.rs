//! Reads manifests into meshaudit's typed inventory.
//!
//! The pipeline per input is: bytes → text ([`source`]) → documents ([`yaml`]) → objects
//! ([`objects`]) → typed inventory ([`build`]). Every stage reports what it could not read and
//! goes on with the rest.

pub mod build;
pub mod certs;
pub mod objects;
pub mod source;
pub mod yaml;

use meshaudit_model::{InputError, Inventory};

use crate::objects::Collected;
pub use crate::source::{read_sources, SourceText, Sources};

/// The result of reading every input.
#[derive(Debug, Default)]
pub struct Ingested {
    pub inventory: Inventory,
    /// Input that could not be read or understood (exit code 2).
    pub errors: Vec<InputError>,
    /// Documents skipped on purpose (not Kubernetes objects), for `--verbose`.
    pub notes: Vec<InputError>,
}

/// Parses texts into the inventory.
pub fn ingest(texts: &[SourceText]) -> Ingested {
    let mut collected = Collected::default();
    for source in texts {
        let (documents, yaml_errors) = yaml::parse_documents(&source.text, 1);
        collected.errors.extend(
            yaml_errors
                .into_iter()
                .map(|e| InputError::new(source.path.clone(), e.line, e.column, e.message)),
        );
        for document in documents {
            objects::collect(&source.path, document, &mut collected);
        }
    }
    let Collected {
        objects,
        secret_certificates,
        secret_key_hashes,
        mut errors,
        notes,
    } = collected;
    let (mut inventory, build_errors) = build::Builder::new(objects, secret_certificates).build();
    // Private keys, as public-key hashes, onto their Secrets (kept out of the builder).
    for (id, hashes) in secret_key_hashes {
        if let Some(secret) = inventory.secrets.iter_mut().find(|s| s.object == id) {
            secret.private_key_public_sha256 = hashes;
        }
    }
    errors.extend(build_errors);
    errors.sort();
    Ingested {
        inventory,
        errors,
        notes,
    }
}
