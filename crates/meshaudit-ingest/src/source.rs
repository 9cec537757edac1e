//! Finding and reading the inputs: files, folders (recursively), and standard input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshaudit_model::InputError;

use crate::kustomize::{self, KustomizeRoot};

/// Largest single input read. Larger files are refused with a message instead of exhausting
/// memory.
pub const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

/// Extensions read when walking a folder. A file named on the command line is read whatever
/// its name.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// One readable input: its display path and its text.
#[derive(Debug)]
pub struct SourceText {
    pub path: Arc<str>,
    pub text: String,
}

/// What the user asked for, expanded: texts that could be read, and errors for the rest.
#[derive(Debug, Default)]
pub struct Sources {
    pub texts: Vec<SourceText>,
    pub errors: Vec<InputError>,
    /// Files seen in folders but not read (other extensions), for `--verbose`.
    pub skipped: Vec<PathBuf>,
    /// Top-level Kustomize roots found in folders: each is rendered and audited on its own.
    pub kustomizations: Vec<KustomizeRoot>,
    /// Files of folders not read as plain manifests because they belong to a Kustomize tree,
    /// for `--verbose`.
    pub in_kustomizations: Vec<PathBuf>,
}

/// Expands paths (`-` is standard input) into texts.
pub fn read_sources(paths: &[PathBuf], stdin: &mut dyn Read) -> Sources {
    let mut sources = Sources::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            let name: Arc<str> = Arc::from("<stdin>");
            match stdin.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes) {
                Ok(_) => push_bytes(&mut sources, name, bytes),
                Err(e) => sources
                    .errors
                    .push(InputError::whole_input(name, format!("cannot read: {e}"))),
            }
            continue;
        }
        let display: Arc<str> = Arc::from(path.display().to_string());
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                sources
                    .errors
                    .push(InputError::whole_input(display, "no such file or folder"));
                continue;
            }
            Err(e) => {
                sources.errors.push(InputError::whole_input(
                    display,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        if meta.is_dir() {
            read_folder(path, &display, &mut sources);
        } else {
            read_file(path, display, &mut sources);
        }
    }
    // One root reached through two arguments (a folder and its parent) is one mesh.
    let mut seen = std::collections::HashSet::new();
    sources
        .kustomizations
        .retain(|r| seen.insert(r.canonical.clone()));
    sources
}

fn read_folder(root: &Path, display: &Arc<str>, sources: &mut Sources) {
    let mut files = Vec::new();
    // Folders holding a kustomization file, as walked.
    let mut kustomize_dirs: Vec<PathBuf> = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        // Hidden folders (.git, .github) hold no manifests to audit.
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e
                    .path()
                    .map_or_else(|| display.clone(), |p| Arc::from(p.display().to_string()));
                sources
                    .errors
                    .push(InputError::whole_input(at, format!("cannot read: {e}")));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let is_kustomization = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| kustomize::KUSTOMIZATION_FILES.contains(&n));
        if is_kustomization {
            if let Some(dir) = path.parent() {
                if !kustomize_dirs.iter().any(|d| d == dir) {
                    kustomize_dirs.push(dir.to_path_buf());
                }
            }
        }
        files.push(path.to_path_buf());
    }

    if !kustomize_dirs.is_empty() {
        set_aside_kustomize_trees(root, display, &kustomize_dirs, &mut files, sources);
    }

    let mut found = 0usize;
    for path in files {
        let is_manifest = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !is_manifest {
            sources.skipped.push(path);
            continue;
        }
        found += 1;
        read_file(&path, Arc::from(path.display().to_string()), sources);
    }
    if found == 0 && kustomize_dirs.is_empty() {
        sources.errors.push(InputError::whole_input(
            display.clone(),
            "folder holds no .yaml, .yml or .json file",
        ));
    }
}

/// Records the top-level Kustomize roots among `dirs` and takes every file of a Kustomize tree
/// (under any root folder, or rendered by one from elsewhere) out of `files`.
fn set_aside_kustomize_trees(
    walked: &Path,
    display: &Arc<str>,
    dirs: &[PathBuf],
    files: &mut Vec<PathBuf>,
    sources: &mut Sources,
) {
    let canonical: Vec<PathBuf> = dirs
        .iter()
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone()))
        .collect();
    let plan = kustomize::plan(&canonical);
    let anchor = (
        walked
            .canonicalize()
            .unwrap_or_else(|_| walked.to_path_buf()),
        display.clone(),
    );
    for &i in &plan.top_level {
        sources.kustomizations.push(KustomizeRoot {
            dir: dirs[i].clone(),
            display: Arc::from(dirs[i].display().to_string()),
            canonical: canonical[i].clone(),
            anchor: anchor.clone(),
        });
    }
    let roots: std::collections::HashSet<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let (tree, plain): (Vec<PathBuf>, Vec<PathBuf>) =
        std::mem::take(files).into_iter().partition(|f| {
            f.ancestors().any(|a| roots.contains(a))
                || (!plan.consumed_files.is_empty()
                    && f.canonicalize()
                        .is_ok_and(|c| plan.consumed_files.contains(&c)))
        });
    *files = plain;
    sources.in_kustomizations.extend(tree);
}

fn read_file(path: &Path, display: Arc<str>, sources: &mut Sources) {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_INPUT_BYTES => {
            sources.errors.push(InputError::whole_input(
                display,
                format!(
                    "file is {} MiB, larger than the {} MiB limit",
                    m.len() / (1024 * 1024),
                    MAX_INPUT_BYTES / (1024 * 1024)
                ),
            ));
            return;
        }
        _ => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => push_bytes(sources, display, bytes),
        Err(e) => sources.errors.push(InputError::whole_input(
            display,
            format!("cannot read: {e}"),
        )),
    }
}

fn push_bytes(sources: &mut Sources, path: Arc<str>, bytes: Vec<u8>) {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        sources.errors.push(InputError::whole_input(
            path,
            format!(
                "input is larger than the {} MiB limit",
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
        ));
        return;
    }
    match check_text(&bytes) {
        Ok(()) => {}
        Err(message) => {
            sources.errors.push(InputError::whole_input(path, message));
            return;
        }
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..3);
            }
            if text.trim_start().starts_with("-----BEGIN ") {
                // PEM, not YAML: say where such files belong instead of "no findings".
                sources.errors.push(InputError::whole_input(
                    path,
                    "holds PEM data (certificates or keys), not Kubernetes manifests: list certificate files with `meshaudit certs`",
                ));
                return;
            }
            sources.texts.push(SourceText { path, text });
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            sources.errors.push(InputError::whole_input(
                path,
                format!("not UTF-8 text (invalid byte at offset {at}); is it a binary file?"),
            ));
        }
    }
}

/// Refuses binary content early, with a message better than a YAML syntax error.
fn check_text(bytes: &[u8]) -> Result<(), String> {
    if let Some(pos) = bytes.iter().take(8192).position(|&b| b == 0) {
        return Err(format!(
            "binary file (NUL byte at offset {pos}), not YAML or JSON"
        ));
    }
    Ok(())
}
