//! Reads manifests into meshaudit's typed inventory.
//!
//! The pipeline per input is: bytes → text ([`source`]) → documents ([`yaml`]) → objects
//! ([`objects`]) → typed inventory ([`build`]). Every stage reports what it could not read and
//! goes on with the rest.

pub mod build;
pub mod certs;
pub mod duplicates;
pub mod kustomize;
pub mod objects;
pub mod source;
pub mod yaml;

use std::collections::HashMap;

use meshaudit_model::{InputError, Inventory, ObjectId};

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
    /// Input that was read but deserves attention (an object defined twice); not an error.
    pub warnings: Vec<InputError>,
    /// Where kustomize says an object was rendered from (its origin annotation, removed from
    /// the object), by object.
    pub origins: Vec<(ObjectId, kustomize::Origin)>,
}

/// Bytes of YAML one parsing task takes on: large enough that handing out tasks costs
/// nothing, small enough that both cores stay busy to the end.
const BATCH_BYTES: usize = 512 * 1024;

/// Parses texts into the inventory.
///
/// Documents are parsed on every available core: the texts are cut at their document markers
/// into batches, each batch is parsed on its own, and the results are joined in input order, so
/// the inventory and every error are the same as a single-threaded run's.
pub fn ingest(texts: &[SourceText]) -> Ingested {
    let batches = batches(texts);
    let mut collected = Collected::default();
    for part in meshaudit_model::parallel::map_in_order(&batches, |b| parse_batch(texts, b)) {
        collected.append(part);
    }
    let warnings = duplicates::resolve(&mut collected);
    let origins = kustomize::take_origins(&mut collected.objects);
    let Collected {
        objects,
        secret_certificates,
        secret_key_hashes,
        mut errors,
        notes,
    } = collected;
    let (mut inventory, build_errors) = build::Builder::new(objects, secret_certificates).build();
    // Private keys, as public-key hashes, onto their Secrets (kept out of the builder).
    let secret_of_object: HashMap<usize, usize> = inventory
        .secrets
        .iter()
        .enumerate()
        .map(|(i, s)| (s.object, i))
        .collect();
    for (id, hashes) in secret_key_hashes {
        if let Some(&i) = secret_of_object.get(&id) {
            inventory.secrets[i].private_key_public_sha256 = hashes;
        }
    }
    errors.extend(build_errors);
    errors.sort();
    Ingested {
        inventory,
        errors,
        notes,
        warnings,
        origins,
    }
}

/// Consecutive documents of one text, parsed as one task.
struct Batch<'t> {
    source: usize,
    chunks: Vec<yaml::Chunk<'t>>,
}

fn batches(texts: &[SourceText]) -> Vec<Batch<'_>> {
    let mut out = Vec::new();
    for (source, text) in texts.iter().enumerate() {
        let mut batch = Batch {
            source,
            chunks: Vec::new(),
        };
        let mut bytes = 0;
        for chunk in yaml::split_documents(&text.text) {
            bytes += chunk.text.len();
            batch.chunks.push(chunk);
            if bytes >= BATCH_BYTES {
                out.push(std::mem::replace(
                    &mut batch,
                    Batch {
                        source,
                        chunks: Vec::new(),
                    },
                ));
                bytes = 0;
            }
        }
        if !batch.chunks.is_empty() {
            out.push(batch);
        }
    }
    out
}

fn parse_batch(texts: &[SourceText], batch: &Batch<'_>) -> Collected {
    let source = &texts[batch.source];
    let mut collected = Collected::default();
    let mut documents = Vec::new();
    let mut yaml_errors = Vec::new();
    for chunk in &batch.chunks {
        yaml::parse_document_chunk(chunk, 1, &mut documents, &mut yaml_errors);
    }
    collected.errors.extend(
        yaml_errors
            .into_iter()
            .map(|e| InputError::new(source.path.clone(), e.line, e.column, e.message)),
    );
    for document in documents {
        objects::collect(&source.path, document, &mut collected);
    }
    collected
}
