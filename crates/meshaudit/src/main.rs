//! The `meshaudit` binary: parses flags and config, runs the pipeline, writes the report and
//! maps the outcome to exit codes (0 clean, 1 findings at or above --fail-on, 2 usage or input
//! errors). A closed output pipe is not an error.

mod certs_command;
mod cli;
mod config;
mod graph_command;
mod progress;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use clap::Parser;
use meshaudit_ingest::kustomize::{self, KustomizeRoot, Tool};
use meshaudit_ingest::{ingest, read_sources, Ingested};
use meshaudit_model::{InputError, ObjectId};
use meshaudit_report::text::{GroupBy, TextOptions};
use meshaudit_report::{render, Format, ScanReport};
use meshaudit_rules::advisories::linkerd::LinkerdAdvisoryDb;
use meshaudit_rules::advisories::{parse_any, AdvisoryDb, AdvisoryFile};
use meshaudit_rules::baseline::Baseline;
use meshaudit_rules::selection::validate_selector;
use meshaudit_rules::{
    analyze_input, sort_findings, Context, Finding, Input, Settings, Severity, Suppressed, RULES,
};

use crate::cli::{Cli, ColorArg, Command, FormatArg, GroupByArg, InputArgs, ListFormatArg};
use crate::progress::{Phase, Progress};

/// mimalloc: parsing and the graph make millions of small allocations, from both cores at
/// once, where it is markedly faster than the system allocator. Built without transparent huge
/// pages (`no_thp`): zeroing 2 MB pages on first touch cost more than it saved here (see
/// docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Baseline(args) => baseline(args),
        Command::Rules(args) => list_rules(args.format),
        Command::Explain(args) => explain(&args.rule),
        Command::Graph(args) => graph_command::run(&args),
        Command::Certs(args) => certs_command::run(&args),
    }
}

/// Settings from the config file and the flags (flags win).
struct Resolved {
    settings: Settings,
    config: config::Config,
}

fn resolve(input: &InputArgs) -> anyhow::Result<Resolved> {
    let config = config::load(input.config.as_deref(), input.no_config)?;
    for s in input.select.iter().chain(&input.ignore) {
        validate_selector(s)?;
    }
    let select = if input.select.is_empty() {
        config.select.clone()
    } else {
        input.select.clone()
    };
    let settings = Settings {
        select,
        ignore: config.ignore.iter().chain(&input.ignore).cloned().collect(),
        min_severity: input
            .min_severity
            .map(|s| s.severity())
            .or(config.min_severity),
        severity_overrides: config.severity.clone(),
        exclude_namespaces: config.exclude_namespaces.clone(),
        exclude_resources: config.exclude_resources.clone(),
        baseline: None,
    };
    Ok(Resolved { settings, config })
}

/// One inventory to audit: the plain manifests of a scan, or one rendered kustomization (an
/// overlay per environment is a different cluster, so each is audited on its own).
struct MeshInput {
    /// The Kustomize root, as displayed; `None` for plain manifests.
    kustomization: Option<Arc<str>>,
    ingested: Ingested,
    /// Object → the source file kustomize recorded for it, in the user's terms.
    sources: Vec<(ObjectId, String)>,
}

/// Everything a scan read.
struct ScannedMeshes {
    meshes: Vec<MeshInput>,
    /// Input errors of every mesh and of rendering (exit code 2).
    errors: Vec<InputError>,
    /// Input warnings of every mesh (duplicate objects): reported, never fatal.
    warnings: Vec<InputError>,
}

/// What `graph` and `certs` read: one inventory.
struct Scanned {
    ingested: Ingested,
    errors: Vec<InputError>,
}

fn read_inputs(input: &InputArgs, progress: &Progress) -> ScannedMeshes {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    read_meshes(
        &input.paths,
        &mut lock as &mut dyn Read,
        input.verbose,
        progress,
    )
}

/// Reads `paths` (`-` from `stdin`): plain manifests into one inventory, and every top-level
/// Kustomize root, rendered, into one inventory each.
fn read_meshes(
    paths: &[std::path::PathBuf],
    stdin: &mut dyn Read,
    verbose: bool,
    progress: &Progress,
) -> ScannedMeshes {
    progress.phase(Phase::Reading);
    let sources = read_sources(paths, stdin);
    let roots = &sources.kustomizations;
    let rendered = if roots.is_empty() {
        Vec::new()
    } else {
        progress.phase_of(
            Phase::Reading,
            &format!("rendering {} kustomization(s)", roots.len()),
        );
        let tool = Tool::find(std::env::var_os("PATH"));
        meshaudit_model::parallel::map_in_order(roots, |root| {
            kustomize::render(root, tool.as_ref())
        })
    };

    progress.phase(Phase::Parsing);
    let mut errors = sources.errors;
    let mut meshes = Vec::new();
    // Plain manifests are one more mesh; with nothing at all to read, an empty one, so the
    // report still says what happened.
    if !sources.texts.is_empty() || roots.is_empty() {
        let ingested = ingest(&sources.texts);
        let sources = ingested
            .origins
            .iter()
            .map(|(id, origin)| (*id, origin.recorded()))
            .collect();
        meshes.push(MeshInput {
            kustomization: None,
            ingested,
            sources,
        });
    }
    for (root, result) in roots.iter().zip(rendered) {
        match result {
            Ok(rendered) => {
                progress.phase_of(Phase::Parsing, &root.display);
                meshes.push(rendered_mesh(root, rendered));
            }
            Err(e) => errors.push(e),
        }
    }
    let mut warnings = Vec::new();
    for mesh in &meshes {
        errors.extend(mesh.ingested.errors.iter().cloned());
        warnings.extend(mesh.ingested.warnings.iter().cloned());
    }
    if verbose {
        progress.suspend(|| {
            let mut err = std::io::stderr();
            for path in &sources.skipped {
                let _ = writeln!(
                    err,
                    "note: {}: skipped (not .yaml, .yml or .json)",
                    path.display()
                );
            }
            for path in &sources.in_kustomizations {
                let _ = writeln!(
                    err,
                    "note: {}: part of a Kustomize tree, audited through its rendering",
                    path.display()
                );
            }
            for mesh in &meshes {
                for note in &mesh.ingested.notes {
                    let _ = writeln!(err, "note: {note}");
                }
            }
            for mesh in &meshes {
                let what = match &mesh.kustomization {
                    Some(k) => format!("kustomization {k}"),
                    None => format!("{} input(s)", sources.texts.len()),
                };
                let _ = writeln!(
                    err,
                    "note: read {what}, {} Kubernetes object(s)",
                    mesh.ingested.inventory.objects.len()
                );
            }
        });
    }
    ScannedMeshes {
        meshes,
        errors,
        warnings,
    }
}

fn rendered_mesh(root: &KustomizeRoot, rendered: kustomize::Rendered) -> MeshInput {
    let ingested = ingest(std::slice::from_ref(&rendered.text));
    let sources = ingested
        .origins
        .iter()
        .map(|(id, origin)| (*id, rendered.describe(root, origin)))
        .collect();
    MeshInput {
        kustomization: Some(root.display.clone()),
        ingested,
        sources,
    }
}

/// [`read_meshes`] for commands that show one inventory (`graph`, `certs`): a scan that holds
/// several (Kustomize overlays) is refused with the paths to pick from. Warnings go to stderr
/// here, since those commands have no place for them in their output.
fn read_one_mesh(
    command: &str,
    paths: &[std::path::PathBuf],
    stdin: &mut dyn Read,
    verbose: bool,
    progress: &Progress,
) -> anyhow::Result<Scanned> {
    let scanned = read_meshes(paths, stdin, verbose, progress);
    if scanned.meshes.len() > 1 {
        let names: Vec<String> = scanned
            .meshes
            .iter()
            .map(|m| match &m.kustomization {
                Some(k) => format!("kustomization {k}"),
                None => "the plain manifests outside every Kustomize tree".to_owned(),
            })
            .collect();
        let example = scanned
            .meshes
            .iter()
            .find_map(|m| m.kustomization.clone())
            .unwrap_or_else(|| Arc::from("DIR"));
        bail!(
            "the input holds {} meshes that are audited separately: {}; `meshaudit {command}` shows one: name it alone, e.g. `meshaudit {command} {example}`",
            names.len(),
            names.join(", ")
        );
    }
    progress.suspend(|| {
        let mut err = std::io::stderr();
        for w in &scanned.warnings {
            let _ = writeln!(err, "warning: {w}");
        }
    });
    let ingested = scanned
        .meshes
        .into_iter()
        .next()
        .map(|m| m.ingested)
        .unwrap_or_default();
    Ok(Scanned {
        ingested,
        errors: scanned.errors,
    })
}

fn read_paths(
    command: &str,
    paths: &[std::path::PathBuf],
    verbose: bool,
    progress: &Progress,
) -> anyhow::Result<Scanned> {
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    read_one_mesh(
        command,
        paths,
        &mut lock as &mut dyn Read,
        verbose,
        progress,
    )
}

/// [`read_paths`] with `-` read from `stdin`, for `certs`.
fn read_paths_from(
    paths: &[std::path::PathBuf],
    stdin: &mut dyn Read,
    verbose: bool,
) -> anyhow::Result<Scanned> {
    read_one_mesh("certs", paths, stdin, verbose, &Progress::off())
}

/// Runs the rules on every mesh of a scan; findings in report order.
fn analyze_meshes(
    scanned: &ScannedMeshes,
    settings: &Settings,
    config: &config::Config,
    advisories: &Advisories,
    progress: &Progress,
) -> (Vec<Finding>, Suppressed, usize) {
    let mut findings = Vec::new();
    let mut suppressed = Suppressed::default();
    let mut resources = 0;
    for mesh in &scanned.meshes {
        let inventory = &mesh.ingested.inventory;
        resources += inventory.objects.len();
        let mut ctx = Context::new(inventory, now());
        ctx.expiry = config.expiry;
        if let Some(db) = &advisories.istio {
            ctx.advisories = db;
        }
        if let Some(db) = &advisories.linkerd {
            ctx.linkerd_advisories = db;
        }
        let what = mesh.kustomization.as_deref().unwrap_or("manifests");
        if progress.is_on() {
            // Built here rather than inside the first rule that needs it, so the bar can say so.
            progress.phase_of(Phase::Graph, what);
            let _ = ctx.graph();
        }
        progress.phase_of(Phase::Rules, what);
        let input = Input {
            kustomization: mesh.kustomization.as_ref(),
            sources: &mesh.sources,
        };
        let (mut found, hidden) = analyze_input(&ctx, settings, &input);
        findings.append(&mut found);
        suppressed += hidden;
        skip_drop(ctx);
    }
    if scanned.meshes.len() > 1 {
        sort_findings(&mut findings);
    }
    (findings, suppressed, resources)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn scan(args: cli::ScanArgs) -> anyhow::Result<ExitCode> {
    let Resolved {
        mut settings,
        config,
    } = resolve(&args.input)?;
    let baseline_path = args.baseline.clone().or(config.baseline.clone());
    if let Some(path) = &baseline_path {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read baseline", path.display()))?;
        let baseline = Baseline::parse(&text).with_context(|| format!("{}", path.display()))?;
        settings.baseline = Some(baseline.fingerprints());
    }
    let fail_on: Option<Severity> = match args.fail_on {
        Some(f) => f.severity(),
        None => config.fail_on.unwrap_or(Some(Severity::High)),
    };

    let advisories = load_advisories(&args.advisories)?;

    let mut progress = Progress::for_stderr();
    let scanned = read_inputs(&args.input, &progress);
    let (findings, suppressed, resources) =
        analyze_meshes(&scanned, &settings, &config, &advisories, &progress);
    let rules = settings.enabled_rules();

    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Junit => Format::Junit,
    };
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let text_options = TextOptions {
        group_by: match args.group_by {
            GroupByArg::Severity => GroupBy::Severity,
            GroupByArg::Resource => GroupBy::Resource,
        },
        color,
    };
    let report = ScanReport {
        resources,
        findings: &findings,
        errors: &scanned.errors,
        warnings: &scanned.warnings,
        suppressed,
        rules: &rules,
    };
    progress.phase(Phase::Writing);
    let rendered = render(&report, format, &text_options);
    progress.finish();
    write_output(args.output.as_deref(), &rendered)?;
    let mut err = std::io::stderr();
    if args.output.is_some() && format != Format::Text {
        // Keep errors and warnings visible when the report goes to a file.
        for e in &scanned.errors {
            let _ = writeln!(err, "error: {e}");
        }
    }
    if (args.output.is_some() && format != Format::Text) || format == Format::Junit {
        // JUnit has no place a reader would notice them.
        for w in &scanned.warnings {
            let _ = writeln!(err, "warning: {w}");
        }
    }
    let code = exit_code(&findings, &scanned.errors, fail_on);
    skip_drop(findings);
    skip_drop(scanned);
    Ok(code)
}

/// Databases given with `--advisories`, by mesh; `None` keeps the bundled one.
#[derive(Default)]
struct Advisories {
    istio: Option<AdvisoryDb>,
    linkerd: Option<LinkerdAdvisoryDb>,
}

/// Reads the databases given with `--advisories`, each recognised by its content; a file that
/// cannot be read, is in neither format, or repeats a mesh already given is a usage error
/// naming the place of the mistake.
fn load_advisories(paths: &[std::path::PathBuf]) -> anyhow::Result<Advisories> {
    let mut loaded = Advisories::default();
    let mut first: [Option<&std::path::Path>; 2] = [None, None];
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the advisory database", path.display()))?;
        let file = parse_any(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: not an advisory database: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            )
        })?;
        let slot = usize::from(matches!(file, AdvisoryFile::Linkerd(_)));
        if let Some(earlier) = first[slot] {
            anyhow::bail!(
                "{}: a second database of {} (the first is {}); give one file per mesh",
                path.display(),
                file.describe(),
                earlier.display()
            );
        }
        first[slot] = Some(path);
        match file {
            AdvisoryFile::Istio(db) => loaded.istio = Some(db),
            AdvisoryFile::Linkerd(db) => loaded.linkerd = Some(db),
        }
    }
    Ok(loaded)
}

/// Leaves `value` for the operating system to reclaim when the process exits: freeing a large
/// inventory and graph allocation by allocation takes most of a second at 100,000 objects, for
/// memory that is returned at exit anyway.
fn skip_drop<T>(value: T) {
    std::mem::forget(value);
}

fn exit_code(findings: &[Finding], errors: &[InputError], fail_on: Option<Severity>) -> ExitCode {
    if !errors.is_empty() {
        ExitCode::from(2)
    } else if fail_on.is_some_and(|min| findings.iter().any(|f| f.severity >= min)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_output(path: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("{}: cannot write", p.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

fn baseline(args: cli::BaselineArgs) -> anyhow::Result<ExitCode> {
    let Resolved { settings, config } = resolve(&args.input)?;
    let progress = Progress::off();
    let scanned = read_inputs(&args.input, &progress);
    let (findings, _, _) = analyze_meshes(
        &scanned,
        &settings,
        &config,
        &Advisories::default(),
        &progress,
    );
    let baseline = Baseline::from_findings(&findings);
    std::fs::write(&args.output, baseline.to_json())
        .with_context(|| format!("{}: cannot write", args.output.display()))?;
    let mut err = std::io::stderr();
    for e in &scanned.errors {
        let _ = writeln!(err, "error: {e}");
    }
    for w in &scanned.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    let _ = writeln!(
        err,
        "wrote {} fingerprint(s) to {}",
        baseline.findings.len(),
        args.output.display()
    );
    Ok(if scanned.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn list_rules(format: ListFormatArg) -> anyhow::Result<ExitCode> {
    let text = match format {
        ListFormatArg::Json => {
            let rules: Vec<serde_json::Value> = RULES
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "code": r.code,
                        "name": r.name,
                        "title": r.title,
                        "category": r.category.as_str(),
                        "severity": r.severity.as_str(),
                        "meshes": r.meshes.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                        "compliance": r.compliance,
                        "summary": r.summary(),
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&rules)?;
            s.push('\n');
            s
        }
        ListFormatArg::Table => {
            let mut s = format!(
                "{:<10} {:<9} {:<15} {:<28} {}\n",
                "CODE", "SEVERITY", "CATEGORY", "NAME", "TITLE"
            );
            for r in RULES.iter() {
                s.push_str(&format!(
                    "{:<10} {:<9} {:<15} {:<28} {}\n",
                    r.code,
                    r.severity.as_str(),
                    r.category.as_str(),
                    r.name,
                    r.title
                ));
            }
            s
        }
    };
    write_output(None, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn explain(code: &str) -> anyhow::Result<ExitCode> {
    let Some(rule) = meshaudit_rules::rule(code) else {
        let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        bail!("unknown rule `{code}`; known codes: {}", codes.join(", "));
    };
    write_output(None, &rule.explain())?;
    Ok(ExitCode::SUCCESS)
}
