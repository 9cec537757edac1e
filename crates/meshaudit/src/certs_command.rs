//! `meshaudit certs`: every certificate in the input — in Secrets, ConfigMaps and webhook
//! `caBundle`s of the manifests, and in PEM/DER files given directly — with where it lives,
//! its role, expiry, chain status and the `certificates` findings on it.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use meshaudit_engine::certificates::certificates;
use meshaudit_ingest::certs::{certificates_in, issued_by};
use meshaudit_ingest::source::{MANIFEST_EXTENSIONS, MAX_INPUT_BYTES};
use meshaudit_model::Mesh;
use meshaudit_model::{CertificateInfo, InputError, IssuerCheck, ObjectId};
use meshaudit_report::certs::{json, table, CertEntry, CertsReport, Chain, Place};
use meshaudit_rules::{analyze, Context, Finding, ResourceRef, Settings};

use crate::cli::{CertsArgs, CertsFormatArg};
use crate::{config, now, read_paths_from, write_output};

/// Extensions read as certificate files (in folders, and on the command line).
pub const CERT_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "der"];

const PEM_CERT_MARKER: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Where a `CertificateFile` object came from.
enum Origin {
    File(String),
    Endpoint(Place),
}

/// `path#3` → 3, `path` → 1.
fn index_of(key: &str) -> usize {
    key.rsplit_once('#')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(1)
}

/// The paths split by what they hold.
#[derive(Default)]
struct Inputs {
    manifests: Vec<PathBuf>,
    /// Certificate files: display path and bytes.
    cert_files: Vec<(String, Vec<u8>)>,
    /// Standard input when it holds manifests.
    stdin_manifests: Vec<u8>,
    errors: Vec<InputError>,
    notes: Vec<String>,
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_INPUT_BYTES => {
            return Err(format!(
                "file is {} MiB, larger than the {} MiB limit",
                m.len() / (1024 * 1024),
                MAX_INPUT_BYTES / (1024 * 1024)
            ))
        }
        _ => {}
    }
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

impl Inputs {
    fn cert_file(&mut self, path: &Path) {
        let display = path.display().to_string();
        match read_limited(path) {
            Ok(bytes) => self.cert_files.push((display, bytes)),
            Err(e) => self
                .errors
                .push(InputError::whole_input(Arc::from(display), e)),
        }
    }

    /// Walks a folder (hidden entries skipped, sorted by name) for manifests and certificates.
    fn folder(&mut self, root: &Path, depth: usize) -> usize {
        if depth > 64 {
            return 0;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(root) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                self.errors.push(InputError::whole_input(
                    Arc::from(root.display().to_string()),
                    format!("cannot read: {e}"),
                ));
                return 0;
            }
        };
        entries.sort();
        let mut found = 0;
        for path in entries {
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            if path.is_dir() {
                found += self.folder(&path, depth + 1);
                continue;
            }
            if !path.is_file() {
                continue;
            }
            match extension(&path) {
                Some(e) if MANIFEST_EXTENSIONS.contains(&e.as_str()) => {
                    found += 1;
                    self.manifests.push(path);
                }
                Some(e) if CERT_EXTENSIONS.contains(&e.as_str()) => {
                    found += 1;
                    self.cert_file(&path);
                }
                _ => self.notes.push(format!(
                    "{}: skipped (not a manifest or certificate file)",
                    path.display()
                )),
            }
        }
        found
    }
}

fn split_inputs(paths: &[PathBuf], stdin: &mut dyn Read) -> Inputs {
    let mut inputs = Inputs::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            if let Err(e) = stdin.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes) {
                inputs.errors.push(InputError::whole_input(
                    Arc::from("<stdin>"),
                    format!("cannot read: {e}"),
                ));
                continue;
            }
            // Manifests never start with a PEM header; certificates on stdin do.
            if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
                inputs.cert_files.push(("<stdin>".to_owned(), bytes));
            } else {
                inputs.stdin_manifests = bytes;
                inputs.manifests.push(path.clone());
            }
            continue;
        }
        if path.is_dir() {
            if inputs.folder(path, 0) == 0 {
                inputs.errors.push(InputError::whole_input(
                    Arc::from(path.display().to_string()),
                    "folder holds no manifest (.yaml, .yml, .json) or certificate (.pem, .crt, .cer, .der) file",
                ));
            }
            continue;
        }
        let ext = extension(path);
        let is_cert = match ext.as_deref() {
            Some(e) if CERT_EXTENSIONS.contains(&e) => true,
            Some(e) if MANIFEST_EXTENSIONS.contains(&e) => false,
            // Any other name: a certificate if it looks like one (PEM or DER), else a manifest.
            _ => {
                path.is_file()
                    && read_limited(path)
                        .is_ok_and(|b| contains(&b, PEM_CERT_MARKER) || b.first() == Some(&0x30))
            }
        };
        if is_cert {
            inputs.cert_file(path);
        } else {
            // Missing paths get the usual error from the manifest reader.
            inputs.manifests.push(path.clone());
        }
    }
    inputs
}

fn mesh_name(mesh: Mesh) -> &'static str {
    mesh.as_str()
}

/// Does finding key `key` belong to the certificate whose key is `cert_key`? The rule
/// convention: the finding key starts with the certificate's key. `tls.crt#2...` is the
/// second certificate of `tls.crt`, not the first.
fn key_matches(key: &str, cert_key: &str) -> bool {
    match key.strip_prefix(cert_key) {
        Some(rest) => {
            let rest = rest.strip_prefix('#').unwrap_or(rest);
            !rest.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The issuer among `all`, decided by signature ([`issued_by`]): the first certificate (in input
/// order) that the certificate names as its issuer and whose key verifies its signature; else
/// the first such candidate whose signature could not be checked, said as such. Names alone
/// never make a certificate self-signed or another's issuer. `memo` keeps the answer per
/// certificate (by fingerprint): the same certificate in many places is checked once.
fn chain_of(
    i: usize,
    all: &[(Place, &CertificateInfo)],
    memo: &mut HashMap<String, Chain>,
) -> Chain {
    let info = all[i].1;
    if let Some(chain) = memo.get(&info.fingerprint_sha256) {
        return chain.clone();
    }
    let chain = if info.self_signed {
        Chain::SelfSigned
    } else {
        let mut unverified = None;
        let mut tried: HashSet<&str> = HashSet::new();
        let mut found = None;
        for (place, c) in all {
            if c.fingerprint_sha256 == info.fingerprint_sha256
                || c.subject != info.issuer
                || !tried.insert(&c.fingerprint_sha256)
            {
                continue;
            }
            match issued_by(info, c) {
                IssuerCheck::Issued => {
                    found = Some(Chain::IssuerInInput(place.display()));
                    break;
                }
                IssuerCheck::Unverified(why) if unverified.is_none() => {
                    unverified = Some(Chain::IssuerUnverified(place.display(), why));
                }
                _ => {}
            }
        }
        found
            .or(unverified)
            .unwrap_or_else(|| match info.self_signature_unverifiable() {
                Some(why) => Chain::SelfIssuedUnverified(why.to_owned()),
                None => Chain::IssuerNotInInput,
            })
    };
    memo.insert(info.fingerprint_sha256.clone(), chain.clone());
    chain
}

pub fn run(args: &CertsArgs) -> anyhow::Result<ExitCode> {
    let config = config::load(args.config.as_deref(), args.no_config)?;
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut inputs = split_inputs(&args.paths, &mut lock as &mut dyn Read);
    drop(lock);

    let mut stdin_manifests = Cursor::new(std::mem::take(&mut inputs.stdin_manifests));
    let scanned = if inputs.manifests.is_empty() {
        None
    } else {
        Some(read_paths_from(
            &inputs.manifests,
            &mut stdin_manifests,
            args.verbose,
        )?)
    };
    let mut errors: Vec<InputError> = inputs.errors;
    if let Some(s) = &scanned {
        errors.extend(s.errors.iter().cloned());
    }
    // Certificates from files and endpoints join the inventory (as `CertificateFile` objects),
    // so the certificate rules judge them too.
    let mut inventory = scanned.map(|s| s.ingested.inventory).unwrap_or_default();

    // Certificate files.
    let mut file_certs: Vec<(String, usize, CertificateInfo)> = Vec::new();
    for (path, bytes) in &inputs.cert_files {
        let certs = certificates_in(path, bytes);
        let blocks = count(bytes, PEM_CERT_MARKER);
        if certs.is_empty() {
            if blocks == 0 && contains(bytes, b"PRIVATE KEY-----") {
                inputs.notes.push(format!(
                    "{path}: holds a private key and no certificate; skipped (keys are never read)"
                ));
                continue;
            }
            errors.push(InputError::whole_input(
                Arc::from(path.as_str()),
                if blocks > 0 {
                    format!("none of its {blocks} PEM CERTIFICATE block(s) could be parsed")
                } else {
                    "no certificate found (expected PEM CERTIFICATE blocks or one DER certificate)"
                        .to_owned()
                },
            ));
            continue;
        }
        if blocks > certs.len() {
            errors.push(InputError::whole_input(
                Arc::from(path.as_str()),
                format!(
                    "{} of its {blocks} PEM CERTIFICATE blocks could not be parsed",
                    blocks - certs.len()
                ),
            ));
        }
        for (i, info) in certs.into_iter().enumerate() {
            file_certs.push((path.clone(), i + 1, info));
        }
    }
    // Live endpoints.
    let mut endpoint_certs: Vec<(Place, CertificateInfo)> = Vec::new();
    for address in &args.probe {
        let target = meshaudit_probe::ProbeTarget {
            address: address.clone(),
            sni: args.sni.clone(),
            timeout: std::time::Duration::from_secs(args.probe_timeout.max(1)),
        };
        match meshaudit_probe::probe(&target) {
            Ok(result) => {
                let client_certificate = if result.client_certificate_required {
                    "required"
                } else if result.client_certificate_requested {
                    "requested"
                } else {
                    "not requested"
                };
                for (i, der) in result.chain.iter().enumerate() {
                    let source = format!("tls://{address}#{}", i + 1);
                    for info in certificates_in(&source, der) {
                        endpoint_certs.push((
                            Place::Endpoint {
                                address: address.clone(),
                                sni: result.sni.clone(),
                                index: i + 1,
                                client_certificate,
                                tls: format!("{} {}", result.protocol_version, result.cipher_suite),
                            },
                            info,
                        ));
                    }
                }
            }
            Err(e) => errors.push(InputError::whole_input(
                Arc::from(format!("tls://{address}").as_str()),
                e.to_string(),
            )),
        }
    }
    if args.verbose || !inputs.notes.is_empty() {
        let mut err = std::io::stderr();
        for note in &inputs.notes {
            // Skipped private keys are always worth knowing; other skips only with -v.
            if args.verbose || note.contains("private key") {
                let _ = writeln!(err, "note: {note}");
            }
        }
    }

    // Files and endpoints as inventory entries; remember how to show each.
    let mut extra: HashMap<ObjectId, Origin> = HashMap::new();
    let mut by_path: Vec<(String, Vec<CertificateInfo>)> = Vec::new();
    for (path, _, info) in file_certs {
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, list)) => list.push(info),
            None => by_path.push((path, vec![info])),
        }
    }
    for (path, certs) in by_path {
        let id = inventory.add_certificate_file(&path, certs);
        extra.insert(id, Origin::File(path));
    }
    let mut by_endpoint: Vec<(Place, Vec<CertificateInfo>)> = Vec::new();
    for (place, info) in endpoint_certs {
        let Place::Endpoint { address, .. } = &place else {
            continue;
        };
        match by_endpoint
            .iter_mut()
            .find(|(p, _)| matches!(p, Place::Endpoint { address: a, .. } if a == address))
        {
            Some((_, list)) => list.push(info),
            None => by_endpoint.push((place, vec![info])),
        }
    }
    for (place, certs) in by_endpoint {
        let Place::Endpoint { address, .. } = &place else {
            continue;
        };
        let id = inventory.add_certificate_file(&format!("tls://{address}"), certs);
        extra.insert(id, Origin::Endpoint(place));
    }
    let inventory = &inventory;

    // The certificate rules, with the config's thresholds and silencing.
    let mut ctx = Context::new(inventory, now());
    ctx.expiry = config.expiry;
    let settings = Settings {
        select: vec!["certificates".to_owned()],
        ignore: config.ignore.clone(),
        min_severity: config.min_severity,
        severity_overrides: config.severity.clone(),
        exclude_namespaces: config.exclude_namespaces.clone(),
        exclude_resources: config.exclude_resources.clone(),
        baseline: None,
    };
    let (findings, _) = analyze(&ctx, &settings);

    // Every certificate with its place.
    let refs = certificates(inventory);
    let mut all: Vec<(Place, &CertificateInfo)> = Vec::new();
    for r in &refs {
        let place = match extra.get(&r.object) {
            Some(Origin::File(path)) => Place::File {
                path: path.clone(),
                index: index_of(&r.key),
            },
            Some(Origin::Endpoint(Place::Endpoint {
                address,
                sni,
                client_certificate,
                tls,
                ..
            })) => Place::Endpoint {
                address: address.clone(),
                sni: sni.clone(),
                index: index_of(&r.key),
                client_certificate,
                tls: tls.clone(),
            },
            _ => {
                let object = inventory.object(r.object);
                Place::Resource {
                    resource: ResourceRef::of(object),
                    key: r.key.clone(),
                    location: object.location_of(&r.steps()),
                }
            }
        };
        all.push((place, r.info));
    }
    let mut attached = vec![false; findings.len()];
    let mut entries: Vec<CertEntry<'_>> = Vec::new();
    let mut chains = HashMap::new();
    for (i, (place, info)) in all.iter().enumerate() {
        let r = &refs[i];
        let chain = chain_of(i, &all, &mut chains);
        let on: Vec<&Finding> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.object == Some(r.object) && key_matches(&f.key, &r.key))
            .map(|(j, f)| {
                attached[j] = true;
                f
            })
            .collect();
        let mesh = match (place, r.mesh) {
            (Place::File { .. } | Place::Endpoint { .. }, Mesh::Kubernetes) => None,
            (_, m) => Some(mesh_name(m)),
        };
        entries.push(CertEntry {
            place: place.clone(),
            role: r.role.as_str(),
            role_because: r.role_because.clone(),
            mesh,
            info,
            days_left: (info.not_after - ctx.now).div_euclid(86_400),
            chain,
            findings: on,
        });
    }
    entries.sort_by(|a, b| {
        a.days_left
            .cmp(&b.days_left)
            .then_with(|| a.place.display().cmp(&b.place.display()))
    });
    let other: Vec<&Finding> = findings
        .iter()
        .zip(&attached)
        .filter(|(_, a)| !**a)
        .map(|(f, _)| f)
        .collect();
    errors.sort();
    let report = CertsReport {
        now: ctx.now,
        certificates: &entries,
        other_findings: &other,
        errors: &errors,
    };
    let rendered = match args.format {
        CertsFormatArg::Table => table(&report),
        CertsFormatArg::Json => json(&report),
    };
    write_output(args.output.as_deref(), &rendered)?;
    let mut err = std::io::stderr();
    for e in &errors {
        let _ = writeln!(err, "error: {e}");
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_keys_match_their_certificate_only() {
        assert!(key_matches("tls.crt", "tls.crt"));
        assert!(key_matches("tls.crt/expiry", "tls.crt"));
        assert!(!key_matches("tls.crt#2", "tls.crt"));
        assert!(!key_matches("tls.crt#2/expiry", "tls.crt"));
        assert!(key_matches("tls.crt#2/expiry", "tls.crt#2"));
        assert!(!key_matches("ca.crt", "tls.crt"));
        assert!(!key_matches("tls.crt#12", "tls.crt#1"));
    }
}
