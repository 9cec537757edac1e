//! Every rule has fixtures under `crates/meshaudit-rules/fixtures/<CODE>/`: `fires*.yaml` must
//! produce at least one finding of that rule (and its rendered output is snapshotted),
//! `passes*.yaml` must produce none.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meshaudit_ingest::{ingest, SourceText};
use meshaudit_report::text::{render, TextOptions};
use meshaudit_report::ScanReport;
use meshaudit_rules::{analyze, Context, Finding, Rule, Settings, Suppressed, RULES};

/// 2026-01-01T00:00:00Z: a fixed "now" keeps time-dependent rules and snapshots stable.
const NOW: i64 = 1_767_225_600;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../meshaudit-rules/fixtures")
}

fn fixture_files(rule: &Rule, prefix: &str) -> Vec<PathBuf> {
    let dir = fixtures_dir().join(rule.code);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".yaml"))
        })
        .collect();
    files.sort();
    files
}

fn run_rule(rule: &'static Rule, file: &Path) -> (Vec<Finding>, String) {
    let display = format!(
        "fixtures/{}/{}",
        rule.code,
        file.file_name().unwrap().to_string_lossy()
    );
    let text = std::fs::read_to_string(file).unwrap();
    let ingested = ingest(&[SourceText {
        path: Arc::from(display.as_str()),
        text,
    }]);
    assert!(
        ingested.errors.is_empty(),
        "{display} should be valid input: {:?}",
        ingested.errors
    );
    let settings = Settings {
        select: vec![rule.code.to_owned()],
        ..Settings::default()
    };
    let ctx = Context::new(&ingested.inventory, NOW);
    let (findings, _) = analyze(&ctx, &settings);
    let rules = [rule];
    let rendered = render(
        &ScanReport {
            resources: ingested.inventory.objects.len(),
            findings: &findings,
            errors: &[],
            warnings: &[],
            suppressed: Suppressed::default(),
            rules: &rules,
        },
        &TextOptions::default(),
    );
    (findings, rendered)
}

#[test]
fn every_rule_has_fixtures_both_ways() {
    for rule in RULES.iter() {
        assert!(
            !fixture_files(rule, "fires").is_empty(),
            "{} has no fires*.yaml fixture",
            rule.code
        );
        assert!(
            !fixture_files(rule, "passes").is_empty(),
            "{} has no passes*.yaml fixture",
            rule.code
        );
    }
}

#[test]
fn fires_fixtures_fire_and_are_snapshotted() {
    for rule in RULES.iter() {
        for file in fixture_files(rule, "fires") {
            let (findings, rendered) = run_rule(rule, &file);
            assert!(
                !findings.is_empty(),
                "{} did not fire on {}",
                rule.code,
                file.display()
            );
            assert!(findings.iter().all(|f| f.rule.code == rule.code));
            let name = format!(
                "{}__{}",
                rule.code,
                file.file_stem().unwrap().to_string_lossy()
            );
            insta::with_settings!({snapshot_path => "snapshots/rules", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(name, rendered);
            });
        }
    }
}

#[test]
fn passes_fixtures_do_not_fire() {
    for rule in RULES.iter() {
        for file in fixture_files(rule, "passes") {
            let (findings, rendered) = run_rule(rule, &file);
            assert!(
                findings.is_empty(),
                "{} fired on {}:\n{rendered}",
                rule.code,
                file.display()
            );
        }
    }
}
