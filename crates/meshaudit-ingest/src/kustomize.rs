//! Kustomize roots: folders with a `kustomization.yaml` (or `.yml`, or `Kustomization`).
//!
//! A Kustomize tree is not a set of manifests to apply as they are: a base and its overlays
//! hold the same objects, each overlay changed for its environment. meshaudit therefore renders
//! each top-level kustomization (one that no other kustomization of the scanned tree includes)
//! with the user's own `kustomize build` or `kubectl kustomize`, and audits every rendering as a
//! mesh of its own; the files of the tree are not also read as plain manifests.
//!
//! Rendering goes through a throw-away wrapper kustomization, outside the user's tree, that
//! includes the root and asks for `buildMetadata: [originAnnotations]`: kustomize then records
//! on every object the file it came from (`config.kubernetes.io/origin`), which meshaudit turns
//! into "source: base/deployment.yaml" and removes from the object before any rule reads it.
//! See docs/inputs.md.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use meshaudit_model::{InputError, Node, Object, ObjectId, Value};

use crate::source::{SourceText, MAX_INPUT_BYTES};
use crate::yaml::parse_documents;

/// The file names that make a folder a Kustomize root, in kustomize's order of preference.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The annotation kustomize writes with `buildMetadata: [originAnnotations]`.
pub const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// The kustomization file of `dir`, if `dir` is a Kustomize root.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// A top-level Kustomize root to render and audit as its own mesh.
#[derive(Debug, Clone)]
pub struct KustomizeRoot {
    /// The folder as found (relative to where meshaudit runs, like every display path).
    pub dir: PathBuf,
    /// The folder for people: `examples/kustomize/overlays/prod`.
    pub display: Arc<str>,
    /// `dir` with every symlink and `..` resolved: roots found twice are rendered once.
    pub canonical: PathBuf,
    /// The scanned folder the root was found in, canonical and as displayed: source files
    /// under it are shown the way the user named that folder.
    pub anchor: (PathBuf, Arc<str>),
}

/// What kustomizations of a tree refer to: other roots (whose files they render) and files.
#[derive(Debug, Default)]
pub struct Plan {
    /// Indexes of the roots that no other root includes.
    pub top_level: Vec<usize>,
    /// Files outside every root folder that some kustomization renders (`../shared/x.yaml`):
    /// they are audited through that kustomization, not as plain manifests.
    pub consumed_files: HashSet<PathBuf>,
}

/// Decides which roots (canonical folders) are top-level: those no other root includes through
/// `resources`, `bases` or `components`. Remote references (URLs, `github.com/...`) are left
/// to kustomize.
pub fn plan(roots: &[PathBuf]) -> Plan {
    let index: std::collections::HashMap<&Path, usize> = roots
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_path(), i))
        .collect();
    let mut included = vec![false; roots.len()];
    let mut consumed_files = HashSet::new();
    for (i, root) in roots.iter().enumerate() {
        for target in references(root) {
            let Ok(target) = target.canonicalize() else {
                continue;
            };
            if target.is_dir() {
                if let Some(&j) = index.get(target.as_path()) {
                    if j != i {
                        included[j] = true;
                    }
                }
            } else if target.is_file() && !roots.iter().any(|r| target.starts_with(r)) {
                consumed_files.insert(target);
            }
        }
    }
    Plan {
        top_level: (0..roots.len()).filter(|&i| !included[i]).collect(),
        consumed_files,
    }
}

/// Local paths a kustomization refers to (resolved against its folder): `resources`, `bases`,
/// `components`, `crds`, patch files. A kustomization that cannot be read refers to nothing;
/// rendering it reports why.
fn references(root: &Path) -> Vec<PathBuf> {
    let Some(file) = kustomization_file(root) else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Vec::new();
    };
    let (documents, _) = parse_documents(&text, 1);
    let mut out = Vec::new();
    let mut add = |entry: &Node| {
        if let Some(s) = entry.as_str() {
            if is_local(s) {
                out.push(root.join(s));
            }
        }
    };
    for doc in documents {
        let Some(node) = doc.root else { continue };
        for list in [
            "resources",
            "bases",
            "components",
            "crds",
            "patchesStrategicMerge",
        ] {
            for entry in node.get(list).and_then(Node::as_seq).unwrap_or_default() {
                add(entry);
            }
        }
        for list in ["patches", "patchesJson6902"] {
            for entry in node.get(list).and_then(Node::as_seq).unwrap_or_default() {
                if let Some(path) = entry.get("path") {
                    add(path);
                }
            }
        }
    }
    out
}

/// Not a URL or a remote repository reference.
fn is_local(s: &str) -> bool {
    !(s.contains("://")
        || s.starts_with("github.com/")
        || s.starts_with("gitlab.com/")
        || s.starts_with("bitbucket.org/")
        || s.starts_with("git@")
        || s.contains("?ref=")
        || s.contains("?version="))
}

/// The program that renders kustomizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub program: PathBuf,
    /// `kustomize build` or `kubectl kustomize`.
    pub kubectl: bool,
}

impl Tool {
    /// `kustomize` (preferred: it is usually newer than the one built into kubectl) or
    /// `kubectl`, from the directories of `path` (the `PATH` variable).
    pub fn find(path: Option<OsString>) -> Option<Tool> {
        let dirs: Vec<PathBuf> = path
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        for (name, kubectl) in [("kustomize", false), ("kubectl", true)] {
            for dir in &dirs {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return Some(Tool {
                        program: candidate,
                        kubectl,
                    });
                }
            }
        }
        None
    }

    /// The command line for `dir`, in words a user can paste.
    fn command_line(&self, dir: &str) -> String {
        if self.kubectl {
            format!("kubectl kustomize {dir}")
        } else {
            format!("kustomize build {dir}")
        }
    }

    fn command(&self, dir: &Path) -> Command {
        let mut c = Command::new(&self.program);
        if self.kubectl {
            c.arg("kustomize");
        } else {
            c.arg("build");
        }
        c.arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// A rendered kustomization.
#[derive(Debug)]
pub struct Rendered {
    /// The rendering, as one input named `overlays/prod (kustomize build)`.
    pub text: SourceText,
    /// The folder kustomize recorded origin paths against (the wrapper's), canonical.
    origin_base: PathBuf,
}

/// Display path of a rendering: a name a user recognises, not a file.
pub fn rendered_name(display: &str) -> String {
    format!("{display} (kustomize build)")
}

/// Renders `root` with `tool` (see the module documentation). Errors name the root: no tool
/// (with the command to run by hand), or kustomize's own message.
pub fn render(root: &KustomizeRoot, tool: Option<&Tool>) -> Result<Rendered, InputError> {
    let Some(tool) = tool else {
        return Err(InputError::whole_input(
            root.display.clone(),
            format!(
                "a Kustomize root ({}), but neither `kustomize` nor `kubectl` is on the PATH to render it, so its files are not audited; render it yourself: `kubectl kustomize {} | meshaudit scan -`",
                kustomization_file(&root.dir)
                    .and_then(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "kustomization.yaml".to_owned()),
                root.display
            ),
        ));
    };
    let wrapper = Wrapper::create(&root.canonical).map_err(|e| {
        InputError::whole_input(
            root.display.clone(),
            format!("cannot prepare the Kustomize rendering in the temporary folder: {e}"),
        )
    })?;
    let mut command = tool.command(&wrapper.dir);
    command.arg("--load-restrictor").arg("LoadRestrictionsNone");
    let output = run_bounded(command, RENDER_TIMEOUT);
    let origin_base = wrapper.dir.clone();
    drop(wrapper);
    let failure = match output {
        Ok(out) if out.status.success() => match String::from_utf8(out.stdout) {
            Ok(text) => {
                return Ok(Rendered {
                    text: SourceText {
                        path: Arc::from(rendered_name(&root.display)),
                        text,
                    },
                    origin_base,
                })
            }
            Err(_) => "its output is not UTF-8 text".to_owned(),
        },
        Ok(out) => {
            // kustomize's message about the wrapper names temporary paths: the same build
            // without the wrapper, as the user would run it, says it in the user's terms.
            let direct = run_bounded(tool.command(&root.dir), RENDER_TIMEOUT);
            let stderr = match direct {
                Ok(d) if !d.status.success() => d.stderr,
                _ => out.stderr,
            };
            clean_message(&String::from_utf8_lossy(&stderr))
        }
        Err(Bounded::Io(e)) => format!("cannot run {}: {e}", tool.program.display()),
        Err(Bounded::TimedOut) => format!(
            "did not finish within {} s and was stopped",
            RENDER_TIMEOUT.as_secs()
        ),
        Err(Bounded::TooLarge) => format!(
            "its output is larger than the {} MiB an input may hold",
            MAX_INPUT_BYTES / (1024 * 1024)
        ),
    };
    Err(InputError::whole_input(
        root.display.clone(),
        format!("`{}` failed: {failure}", tool.command_line(&root.display)),
    ))
}

/// How long one rendering may take: a kustomization that fetches remote bases from a network
/// that does not answer must not hang the scan.
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);

/// What a bounded run gives back.
struct RunOutput {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

enum Bounded {
    Io(std::io::Error),
    TimedOut,
    TooLarge,
}

/// Runs `command` (stdout and stderr piped) for at most `timeout`, keeping at most an input's
/// worth of output; a process over either bound is killed.
fn run_bounded(mut command: Command, timeout: Duration) -> Result<RunOutput, Bounded> {
    let mut child = command.spawn().map_err(Bounded::Io)?;
    // Both pipes are drained while the process runs, so that neither fills and blocks it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Bounded::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                return Err(Bounded::Io(e));
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if stdout.len() as u64 > MAX_INPUT_BYTES {
        return Err(Bounded::TooLarge);
    }
    Ok(RunOutput {
        status,
        stdout,
        stderr,
    })
}

/// kustomize's error output as one message: `Error:` prefixes dropped, lines joined, bounded.
fn clean_message(stderr: &str) -> String {
    const MAX: usize = 2000;
    let joined = stderr
        .lines()
        .map(|l| {
            let l = l.trim();
            l.strip_prefix("Error: ")
                .or_else(|| l.strip_prefix("error: "))
                .unwrap_or(l)
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if joined.is_empty() {
        return "no message".to_owned();
    }
    if joined.len() <= MAX {
        return joined;
    }
    let mut end = MAX;
    while !joined.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &joined[..end])
}

/// A temporary folder holding the wrapper kustomization; removed when dropped.
struct Wrapper {
    dir: PathBuf,
}

impl Wrapper {
    fn create(root: &Path) -> std::io::Result<Wrapper> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().canonicalize()?;
        let dir = loop {
            let candidate = base.join(format!(
                "meshaudit-kustomize-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        let wrapper = Wrapper { dir };
        // kustomize takes only relative paths in `resources`.
        let relative = relative_path(&wrapper.dir, root);
        let text = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- {}\nbuildMetadata: [originAnnotations]\n",
            yaml_quote(&relative.to_string_lossy())
        );
        std::fs::write(wrapper.dir.join("kustomization.yaml"), text)?;
        Ok(wrapper)
    }
}

impl Drop for Wrapper {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `to` relative to `from`; both absolute and normalised.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `base.join(rel)` with `.` and `..` resolved lexically (the files may be gone or be symlinks:
/// kustomize already resolved them).
fn join_normalised(base: &Path, rel: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Where kustomize says an object came from (`config.kubernetes.io/origin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file the object was read from, relative to the kustomization built.
    pub path: Option<String>,
    /// Remote repository and ref, for objects from a remote base.
    pub repo: Option<String>,
    pub reference: Option<String>,
    /// For generated objects: the kustomization that configured the generator, and its kind.
    pub configured_in: Option<String>,
    pub generator: Option<String>,
}

impl Origin {
    /// The origin with local paths shown by `local`: a file, a remote `repo//path?ref=`, or
    /// `ConfigMapGenerator in overlays/prod/kustomization.yaml` for generated objects.
    fn describe_with(&self, local: impl Fn(&str) -> String) -> String {
        if let Some(repo) = &self.repo {
            let mut s = repo.clone();
            if let Some(p) = &self.path {
                s.push_str("//");
                s.push_str(p);
            }
            if let Some(r) = &self.reference {
                s.push_str("?ref=");
                s.push_str(r);
            }
            return s;
        }
        if let Some(p) = &self.path {
            return local(p);
        }
        match (&self.generator, &self.configured_in) {
            (Some(g), Some(c)) => format!("{g} in {}", local(c)),
            (None, Some(c)) => local(c),
            (Some(g), None) => g.clone(),
            (None, None) => "kustomize".to_owned(),
        }
    }

    /// The origin as kustomize wrote it (paths relative to the kustomization that was built),
    /// for renderings meshaudit did not make itself (`kustomize build | meshaudit scan -`).
    pub fn recorded(&self) -> String {
        self.describe_with(str::to_owned)
    }
}

impl Rendered {
    /// The origin in the user's terms: `examples/kustomize/base/deployment.yaml`.
    pub fn describe(&self, root: &KustomizeRoot, origin: &Origin) -> String {
        origin.describe_with(|p| {
            display_path(&join_normalised(&self.origin_base, Path::new(p)), root)
        })
    }
}

/// An absolute source path as the user would name it: under the scanned folder as that folder
/// was named, else relative to the current folder, else absolute.
fn display_path(abs: &Path, root: &KustomizeRoot) -> String {
    let (anchor, anchor_display) = &root.anchor;
    if let Ok(rest) = abs.strip_prefix(anchor) {
        let rest = rest.to_string_lossy();
        return match (anchor_display.as_ref(), rest.as_ref()) {
            (".", r) | ("./", r) => r.to_owned(),
            (a, "") => a.to_owned(),
            (a, r) => format!("{}/{r}", a.trim_end_matches('/')),
        };
    }
    if let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) {
        if let Ok(rest) = abs.strip_prefix(&cwd) {
            return rest.to_string_lossy().into_owned();
        }
    }
    abs.to_string_lossy().into_owned()
}

/// Removes the origin annotation from every object (map and document, so no rule sees it) and
/// returns what it said, by object.
pub fn take_origins(objects: &mut [Object]) -> Vec<(ObjectId, Origin)> {
    let mut out = Vec::new();
    for (id, object) in objects.iter_mut().enumerate() {
        let Some(text) = object.annotations.remove(ORIGIN_ANNOTATION) else {
            continue;
        };
        remove_annotation(&mut object.node, ORIGIN_ANNOTATION);
        // The objects are final here (duplicates resolved): positions are ids.
        out.push((ObjectId::from_index(id), parse_origin(&text)));
    }
    out
}

fn remove_annotation(node: &mut Node, key: &str) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let Some(metadata) = entries.iter_mut().find(|e| e.key == "metadata") else {
        return;
    };
    let Value::Map(entries) = &mut metadata.value.value else {
        return;
    };
    let Some(annotations) = entries.iter_mut().find(|e| e.key == "annotations") else {
        return;
    };
    if let Value::Map(entries) = &mut annotations.value.value {
        entries.retain(|e| e.key != key);
    }
}

fn parse_origin(text: &str) -> Origin {
    let (documents, _) = parse_documents(text, 1);
    let Some(node) = documents.into_iter().find_map(|d| d.root) else {
        return Origin::default();
    };
    let field = |n: &Node, k: &str| n.get(k).and_then(Node::scalar_text);
    Origin {
        path: field(&node, "path"),
        repo: field(&node, "repo"),
        reference: field(&node, "ref"),
        configured_in: field(&node, "configuredIn"),
        generator: node.get("configuredBy").and_then(|b| field(b, "kind")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    #[cfg(unix)]
    #[test]
    fn a_renderer_that_hangs_is_stopped() {
        let result = run_bounded(shell("sleep 30"), Duration::from_millis(200));
        assert!(matches!(result, Err(Bounded::TimedOut)));
    }

    #[cfg(unix)]
    #[test]
    fn a_renderer_that_finishes_gives_both_streams() {
        let Ok(out) = run_bounded(
            shell("echo kind: List; echo oops >&2; exit 3"),
            Duration::from_secs(30),
        ) else {
            panic!("the command should have run");
        };
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"kind: List\n");
        assert_eq!(out.stderr, b"oops\n");
    }

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        assert_eq!(
            relative_path(Path::new("/tmp/w"), Path::new("/work/repo/overlays/prod")),
            PathBuf::from("../../work/repo/overlays/prod")
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b")),
            PathBuf::from(".")
        );
        assert_eq!(
            join_normalised(
                Path::new("/tmp/w"),
                Path::new("../../work/repo/base/d.yaml")
            ),
            PathBuf::from("/work/repo/base/d.yaml")
        );
    }

    #[test]
    fn quoting_keeps_odd_folder_names_one_yaml_string() {
        assert_eq!(yaml_quote("a \"b\"\\c: #d"), "\"a \\\"b\\\"\\\\c: #d\"");
    }

    #[test]
    fn origins_are_read_and_removed_everywhere() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    keep: \"1\"\n    config.kubernetes.io/origin: |\n      configuredIn: ../repo/kustomization.yaml\n      configuredBy:\n        apiVersion: builtin\n        kind: ConfigMapGenerator\n";
        let mut collected = crate::objects::Collected::default();
        let (docs, _) = parse_documents(text, 1);
        for d in docs {
            crate::objects::collect(&Arc::from("r"), d, &mut collected);
        }
        let origins = take_origins(&mut collected.objects);
        assert_eq!(
            origins,
            vec![(
                ObjectId::from_index(0),
                Origin {
                    configured_in: Some("../repo/kustomization.yaml".into()),
                    generator: Some("ConfigMapGenerator".into()),
                    ..Origin::default()
                }
            )]
        );
        let o = &collected.objects[0];
        assert!(!o.annotations.contains_key(ORIGIN_ANNOTATION));
        assert!(o.annotations.contains_key("keep"));
        let dump = format!("{:?}", o.node);
        assert!(!dump.contains("origin"), "{dump}");
        assert!(dump.contains("keep"), "{dump}");
    }

    #[test]
    fn remote_references_are_left_to_kustomize() {
        assert!(is_local("../base"));
        assert!(is_local("deployment.yaml"));
        assert!(!is_local("github.com/org/repo//base?ref=v1"));
        assert!(!is_local("https://example.com/x.yaml"));
    }

    #[test]
    fn messages_lose_prefixes_and_stay_bounded() {
        assert_eq!(
            clean_message("Error: accumulating resources: x\n\n"),
            "accumulating resources: x"
        );
        assert!(clean_message(&"é".repeat(3000)).chars().count() <= 2001);
    }
}
