//! Reads manifests into meshaudit's typed inventory.
//!
//! The pipeline per input is: bytes → text ([`source`]) → documents ([`yaml`]) → objects
//! ([`objects`]) → typed inventory ([`build`]). Every stage reports what it could not read and
//! goes on with the rest.

pub mod build;
pub mod certs;
pub mod duplicates;
pub mod json;
pub mod kustomize;
pub mod objects;
mod signature;
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
/// Documents are parsed on every available core: the texts are cut at their document markers,
/// and a `*List` into its items, into batches; each batch is parsed on its own, and the results
/// are joined in input order, so the inventory and every error are the same as a
/// single-threaded run's. Texts whose first character is `{` or `[` go through the JSON parser
/// (see [`json`]).
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
    // The objects' positions are final from here on: they become their ids.
    let secret_certificates = secret_certificates
        .into_iter()
        .map(|(i, certs)| (ObjectId::from_index(i), certs))
        .collect();
    let (mut inventory, build_errors) = build::Builder::new(objects, secret_certificates).build();
    // Private keys, as public-key hashes, onto their Secrets (kept out of the builder).
    let secret_of_object: HashMap<ObjectId, usize> = inventory
        .secrets
        .iter()
        .enumerate()
        .map(|(i, s)| (s.object, i))
        .collect();
    for (id, hashes) in secret_key_hashes {
        if let Some(&i) = secret_of_object.get(&ObjectId::from_index(id)) {
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

/// Consecutive pieces of one text, parsed as one task.
struct Batch<'t> {
    source: usize,
    pieces: Vec<Piece<'t>>,
}

/// A part of a text that is parsed on its own.
enum Piece<'t> {
    /// YAML documents, as [`yaml::split_documents`] cuts them.
    Yaml(yaml::Chunk<'t>),
    /// One item of a YAML List; `first_line` in the whole text.
    YamlItem {
        text: &'t str,
        first_line: u32,
        helm_source: Option<String>,
    },
    /// A whole text of JSON values. `or_yaml`: read it as YAML instead if it is not JSON (its
    /// name does not say `.json`, and YAML flow mappings start with `{` too).
    Json { or_yaml: bool },
    /// One item of a JSON List.
    JsonItem {
        range: std::ops::Range<usize>,
        start: json::Position,
    },
}

impl Piece<'_> {
    fn len(&self, text: &str) -> usize {
        match self {
            Piece::Yaml(chunk) => chunk.text.len(),
            Piece::YamlItem { text, .. } => text.len(),
            Piece::Json { .. } => text.len(),
            Piece::JsonItem { range, .. } => range.len(),
        }
    }
}

fn batches(texts: &[SourceText]) -> Vec<Batch<'_>> {
    let mut out = Vec::new();
    for (source, text) in texts.iter().enumerate() {
        let mut batch = Batch {
            source,
            pieces: Vec::new(),
        };
        let mut bytes = 0;
        for piece in pieces(text) {
            bytes += piece.len(&text.text);
            batch.pieces.push(piece);
            if bytes >= BATCH_BYTES {
                out.push(std::mem::replace(
                    &mut batch,
                    Batch {
                        source,
                        pieces: Vec::new(),
                    },
                ));
                bytes = 0;
            }
        }
        if !batch.pieces.is_empty() {
            out.push(batch);
        }
    }
    out
}

/// Cuts one text into pieces: JSON or YAML, Lists into their items.
fn pieces(source: &SourceText) -> Vec<Piece<'_>> {
    let text = source.text.as_str();
    if json::looks_like_json(text) {
        if let Some(split) = json::split_list(text) {
            let envelope = json::parse_values(
                text,
                0..text.len(),
                json::Position::START,
                json::Role::Document,
                Some(split.hole),
            );
            if matches!(&envelope, Ok(roots) if roots.len() == 1 && yaml::is_list_envelope(&roots[0]))
            {
                return split
                    .items
                    .into_iter()
                    .map(|(range, start)| Piece::JsonItem { range, start })
                    .collect();
            }
        }
        let named_json = source.path.to_ascii_lowercase().ends_with(".json");
        return vec![Piece::Json {
            or_yaml: !named_json,
        }];
    }
    let mut out = Vec::new();
    for chunk in yaml::split_documents(text) {
        match yaml::split_list(chunk.text) {
            Some(split) if yaml::envelope_is_list(&split.envelope) => {
                let helm_source = yaml::helm_source(chunk.text);
                out.extend(split.items.into_iter().map(|item| Piece::YamlItem {
                    text: item.text,
                    first_line: 1 + chunk.line_offset + item.line_offset,
                    helm_source: helm_source.clone(),
                }));
            }
            _ => out.push(Piece::Yaml(chunk)),
        }
    }
    out
}

fn parse_batch(texts: &[SourceText], batch: &Batch<'_>) -> Collected {
    let source = &texts[batch.source];
    let text = source.text.as_str();
    let mut collected = Collected::default();
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    let document = |root: meshaudit_model::Node| yaml::Document {
        start_line: root.line,
        root: Some(root),
        helm_source: None,
    };
    for piece in &batch.pieces {
        match piece {
            Piece::Yaml(chunk) => yaml::parse_document_chunk(chunk, 1, &mut documents, &mut errors),
            Piece::YamlItem {
                text,
                first_line,
                helm_source,
            } => match yaml::parse_list_item(text, *first_line) {
                Ok(Some(root)) => documents.push(yaml::Document {
                    start_line: *first_line,
                    root: Some(root),
                    helm_source: helm_source.clone(),
                }),
                Ok(None) => {}
                Err(e) => errors.push(e),
            },
            Piece::Json { or_yaml } => match json::parse_values(
                text,
                0..text.len(),
                json::Position::START,
                json::Role::Document,
                None,
            ) {
                Ok(roots) => documents.extend(roots.into_iter().map(document)),
                Err(_) if *or_yaml => {
                    for chunk in yaml::split_documents(text) {
                        yaml::parse_document_chunk(&chunk, 1, &mut documents, &mut errors);
                    }
                }
                Err(e) => errors.push(e),
            },
            Piece::JsonItem { range, start } => {
                match json::parse_values(text, range.clone(), *start, json::Role::Item, None) {
                    Ok(roots) => documents.extend(roots.into_iter().map(document)),
                    Err(e) => errors.push(e),
                }
            }
        }
    }
    collected.errors.extend(
        errors
            .into_iter()
            .map(|e| InputError::new(source.path.clone(), e.line, e.column, e.message)),
    );
    for document in documents {
        objects::collect(&source.path, document, &mut collected);
    }
    collected
}
