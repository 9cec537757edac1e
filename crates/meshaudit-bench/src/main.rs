//! `meshaudit-bench`: times the stages of `meshaudit scan` one by one, for `scripts/bench`.
//!
//! - `parse PATH...`: reads and parses the inputs exactly as `meshaudit scan` does
//!   ([`read_sources`] + [`ingest`]) and nothing else: the parse-only baseline.
//! - `graph PATH...`: the same, then times [`meshaudit_engine::build_graph`] alone.
//! - `phases PATH...`: times read, parse/ingest, graph, rules (default settings), JSON render
//!   and dropping the inventory, each on its own.
//! - `rules PATH...`: parse and build the graph, then time each enabled rule's check alone and
//!   print the slowest (`analyze` also filters, suppresses and sorts; its time is printed too).
//!
//! Results go to standard error as `key=value` pairs on one line, so that scripts can read
//! them and a person can too.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use meshaudit_ingest::{ingest, read_sources};
use meshaudit_report::text::TextOptions;
use meshaudit_report::{render, Format, ScanReport};
use meshaudit_rules::{analyze, Context, Settings};

const USAGE: &str = "usage: meshaudit-bench (parse|graph|phases|rules) PATH...";
/// How many of the slowest rules `rules` prints.
const SLOWEST: usize = 8;

/// mimalloc: parsing and the graph make millions of small allocations, from both cores at
/// once, where it is markedly faster than the system allocator. Built without transparent huge
/// pages (`no_thp`): zeroing 2 MB pages on first touch cost more than it saved here (see
/// docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((command, paths)) = args.split_first() else {
        bail!("{USAGE}");
    };
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    if paths.is_empty() {
        bail!("{USAGE}");
    }
    let line = match command.as_str() {
        "parse" => parse(&paths),
        "graph" => graph(&paths),
        "phases" => phases(&paths)?,
        "rules" => rules(&paths),
        _ => bail!("unknown command `{command}`\n{USAGE}"),
    };
    writeln!(std::io::stderr(), "{}", line.render()).context("cannot write to stderr")?;
    Ok(())
}

/// One result line: `name key=value key=value ...`.
#[derive(Debug, Default)]
struct Line {
    name: &'static str,
    fields: Vec<(&'static str, String)>,
}

impl Line {
    fn new(name: &'static str) -> Self {
        Line {
            name,
            fields: Vec::new(),
        }
    }

    fn count(&mut self, key: &'static str, n: usize) {
        self.fields.push((key, n.to_string()));
    }

    fn ms(&mut self, key: &'static str, d: Duration) {
        self.fields
            .push((key, format!("{:.1}", d.as_secs_f64() * 1000.0)));
    }

    /// Peak resident memory of this process so far (`VmHWM`), in MiB, where Linux tells it.
    fn peak_rss(&mut self, key: &'static str) {
        if let Some(kb) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| vm_hwm_kb(&s))
        {
            self.fields.push((key, (kb / 1024).to_string()));
        }
    }

    fn render(&self) -> String {
        let mut s = self.name.to_string();
        for (k, v) in &self.fields {
            s.push(' ');
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        s
    }
}

/// CPU time (user + system, every thread) this process has used so far, where Linux tells it
/// (`/proc/self/stat`, in clock ticks of 10 ms): on a machine others share, a phase's CPU time
/// varies less than its wall time.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_from_stat(&stat)
}

/// utime + stime from a `/proc/<pid>/stat` line (fields 14 and 15, counted after the command
/// name, which is in parentheses and may hold spaces), at 100 ticks a second.
fn cpu_from_stat(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// `VmHWM:   123456 kB` from `/proc/self/status`.
fn vm_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn parse(paths: &[PathBuf]) -> Line {
    let start = Instant::now();
    let sources = read_sources(paths, &mut std::io::stdin().lock());
    let ingested = ingest(&sources.texts);
    let elapsed = start.elapsed();
    let mut line = Line::new("parse");
    line.count("inputs", sources.texts.len());
    line.count("objects", ingested.inventory.objects.len());
    line.count("workloads", ingested.inventory.workloads.len());
    line.count("errors", sources.errors.len() + ingested.errors.len());
    line.ms("parse_ms", elapsed);
    // Like `meshaudit scan`, leave the inventory to the OS at exit: the whole-process time of
    // parse-only must not include freeing that scan skips.
    std::mem::forget(ingested);
    line
}

fn graph(paths: &[PathBuf]) -> Line {
    let (sources, read) = timed(|| read_sources(paths, &mut std::io::stdin().lock()));
    let (ingested, parse) = timed(|| ingest(&sources.texts));
    let inventory = &ingested.inventory;
    let (graph, graph_time) = timed(|| meshaudit_engine::build_graph(inventory));
    let mut line = Line::new("graph");
    line.count("objects", inventory.objects.len());
    line.count("workloads", graph.workloads.len());
    line.count("server_ports", graph.servers.len());
    let groups = || graph.servers.iter().flat_map(|s| &s.groups);
    line.count("edge_groups", groups().count());
    line.count(
        "individual_groups",
        groups()
            .filter(|g| matches!(g.client, meshaudit_engine::Client::Workload(_)))
            .count(),
    );
    line.count(
        "namespace_groups",
        groups().filter(|g| g.namespace.is_some()).count(),
    );
    line.ms("parse_ms", read + parse);
    line.ms("graph_ms", graph_time);
    // As `meshaudit scan` does (see `parse`).
    std::mem::forget(graph);
    std::mem::forget(ingested);
    line
}

fn rules(paths: &[PathBuf]) -> Line {
    let sources = read_sources(paths, &mut std::io::stdin().lock());
    let ingested = ingest(&sources.texts);
    let ctx = Context::new(&ingested.inventory, unix_now());
    // Built before the clock starts, so no rule is charged for it.
    ctx.graph();
    let settings = Settings::default();
    let mut times: Vec<(&'static str, Duration)> = settings
        .enabled_rules()
        .iter()
        .map(|rule| {
            let mut out = Vec::new();
            let ((), d) = timed(|| (rule.check)(&ctx, &mut out));
            (rule.code, d)
        })
        .collect();
    let sum: Duration = times.iter().map(|(_, d)| *d).sum();
    let (_, analyze_time) = timed(|| analyze(&ctx, &settings));
    times.sort_by_key(|t| std::cmp::Reverse(t.1));
    let mut line = Line::new("rules");
    line.count("rules", times.len());
    line.ms("analyze_ms", analyze_time);
    line.ms("checks_ms", sum);
    for (code, d) in times.into_iter().take(SLOWEST) {
        line.ms(code, d);
    }
    line
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn phases(paths: &[PathBuf]) -> anyhow::Result<Line> {
    let total = Instant::now();
    let (sources, read) = timed(|| read_sources(paths, &mut std::io::stdin().lock()));
    let bytes: usize = sources.texts.iter().map(|t| t.text.len()).sum();
    let mut line = Line::new("phases");
    let cpu_start = process_cpu();
    let (ingested, parse) = timed(|| ingest(&sources.texts));
    let cpu_parsed = process_cpu();
    line.peak_rss("rss_parse_mb");
    let inventory = &ingested.inventory;
    let now = unix_now();
    // The context builds the graph on first use: build it here, on its own clock.
    let ctx = Context::new(inventory, now);
    let ((), graph_time) = timed(|| {
        ctx.graph();
    });
    let cpu_graph = process_cpu();
    line.peak_rss("rss_graph_mb");
    let settings = Settings::default();
    let ((findings, suppressed), rules_time) = timed(|| analyze(&ctx, &settings));
    let cpu_rules = process_cpu();
    line.peak_rss("rss_rules_mb");
    let rules = settings.enabled_rules();
    let mut errors = sources.errors.clone();
    errors.extend(ingested.errors.iter().cloned());
    let report = ScanReport {
        resources: inventory.objects.len(),
        findings: &findings,
        errors: &errors,
        warnings: &ingested.warnings,
        suppressed,
        rules: &rules,
    };
    let (rendered, render_time) = timed(|| render(&report, Format::Json, &TextOptions::default()));
    line.peak_rss("rss_render_mb");
    line.count("inputs", sources.texts.len());
    line.count("bytes", bytes);
    line.count("objects", inventory.objects.len());
    line.count("workloads", ctx.graph().workloads.len());
    line.count("server_ports", ctx.graph().servers.len());
    line.count("findings", findings.len());
    line.count("json_bytes", rendered.len());
    line.ms("read_ms", read);
    line.ms("parse_ms", parse);
    line.ms("graph_ms", graph_time);
    line.ms("rules_ms", rules_time);
    line.ms("render_ms", render_time);
    // CPU time of the phases after reading (every thread), when Linux tells it.
    if let (Some(a), Some(b), Some(c), Some(d)) = (cpu_start, cpu_parsed, cpu_graph, cpu_rules) {
        line.ms("parse_cpu_ms", b.saturating_sub(a));
        line.ms("graph_cpu_ms", c.saturating_sub(b));
        line.ms("rules_cpu_ms", d.saturating_sub(c));
    }
    let start = Instant::now();
    drop(rendered);
    drop(findings);
    drop(ctx);
    drop(ingested);
    drop(sources);
    line.ms("drop_ms", start.elapsed());
    line.ms("total_ms", total.elapsed());
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_renders_key_value_pairs() {
        let mut line = Line::new("parse");
        line.count("objects", 1000);
        line.ms("parse_ms", Duration::from_micros(12_345));
        assert_eq!(line.render(), "parse objects=1000 parse_ms=12.3");
    }

    #[test]
    fn reads_peak_rss_from_proc_status() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t   123456 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(vm_hwm_kb(status), Some(123_456));
        assert_eq!(vm_hwm_kb("Name: x\n"), None);
    }

    #[test]
    fn reads_cpu_time_from_proc_stat() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        let stat = "42 (a (b) c) R 1 42 42 0 -1 4194304 100 0 0 0 250 30 0 0 20 0";
        assert_eq!(cpu_from_stat(stat), Some(Duration::from_millis(2800)));
        assert_eq!(cpu_from_stat("garbage"), None);
    }

    #[test]
    fn unknown_command_is_an_error() {
        let err = run(&["nope".into(), "x".into()]).unwrap_err();
        assert!(err.to_string().contains("unknown command"));
        assert!(run(&["parse".into()]).is_err());
    }
}
