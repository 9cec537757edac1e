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

/// Checks one rule's fixtures: it has both kinds, every `fires*.yaml` fires (only this rule)
/// and matches its snapshot, no `passes*.yaml` fires.
fn check_rule(code: &str) {
    let rule = RULES
        .iter()
        .find(|r| r.code == code)
        .unwrap_or_else(|| panic!("{code} is not registered"));
    assert!(
        !fixture_files(rule, "fires").is_empty(),
        "{code} has no fires*.yaml fixture"
    );
    assert!(
        !fixture_files(rule, "passes").is_empty(),
        "{code} has no passes*.yaml fixture"
    );
    for file in fixture_files(rule, "fires") {
        let (findings, rendered) = run_rule(rule, &file);
        assert!(
            !findings.is_empty(),
            "{code} did not fire on {}",
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
    for file in fixture_files(rule, "passes") {
        let (findings, rendered) = run_rule(rule, &file);
        assert!(
            findings.is_empty(),
            "{code} fired on {}:\n{rendered}",
            file.display()
        );
    }
}

/// One test per rule, named by its code, so that `cargo test AUTHN004` runs that rule's
/// fixtures; `TESTED` lists them for the registry check below.
macro_rules! rule_tests {
    ($($code:ident)*) => {
        $(
            #[test]
            #[allow(non_snake_case)]
            fn $code() {
                check_rule(stringify!($code));
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($code)),*];
    };
}

rule_tests! {
    ADM001 ADM002 ADM003 ADM004 ADM005 ADM006 ADM007 ADM008 ADM009 ADM010 AUTHN001 AUTHN002
    AUTHN003 AUTHN004 AUTHN005 AUTHN006 AUTHN007 AUTHN008 AUTHN009 AUTHN010 AUTHN011 AUTHN012
    AUTHN013 AUTHN014 AUTHN015 AUTHN016 AUTHN017 AUTHZ001 AUTHZ002 AUTHZ003 AUTHZ004 AUTHZ005
    AUTHZ006 AUTHZ007 AUTHZ008 AUTHZ009 AUTHZ010 AUTHZ011 AUTHZ012 AUTHZ013 AUTHZ014 AUTHZ015
    AUTHZ016 AUTHZ017 AUTHZ018 AUTHZ019 AUTHZ020 AUTHZ021 CERT001 CERT002 CERT003 CERT004
    CERT005 CERT006 CERT007 CERT008 CERT009 CERT010 CERT011 CERT012 CERT013 CERT014 CERT015
    CERT016 DEP001 DEP002 DEP003 DEP004 DEP005 DEP006 DEP007 DEP008 DEP009 DEP010 DEP011 NET001
    NET002 NET003 NET004 NET005 NET006 NET007 NET008 NET009 NET010 NET011 NET012 TLS001 TLS002
    TLS003 TLS004 TLS005 TLS006 TLS007 TLS008
}

#[test]
fn every_registered_rule_has_its_fixture_test() {
    let mut registered: Vec<&str> = RULES.iter().map(|r| r.code).collect();
    registered.sort_unstable();
    let mut tested: Vec<&str> = TESTED.to_vec();
    tested.sort_unstable();
    assert_eq!(
        registered, tested,
        "add the new rule's code to rule_tests! in this file"
    );
}
