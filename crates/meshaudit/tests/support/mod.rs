//! Shared by the scan tests of Kustomize trees and duplicate objects.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Checks a SARIF document against the official 2.1.0 schema with Python's jsonschema (both
/// installed by scripts/test); fails saying how to get them when they are missing.
pub fn assert_valid_sarif(sarif: &[u8], scratch: &Path) {
    let schema = std::env::var_os("MESHAUDIT_SARIF_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/test-deps/sarif-schema-2.1.0.json")
        });
    assert!(
        schema.is_file(),
        "SARIF schema not found at {}: run `bash scripts/test`, which installs it",
        schema.display()
    );
    let doc = scratch.join("report.sarif");
    std::fs::write(&doc, sarif).unwrap();
    let check = Command::new("python3")
        .args([
            "-c",
            "import json,sys,jsonschema\n\
             schema=json.load(open(sys.argv[1])); doc=json.load(open(sys.argv[2]))\n\
             v=jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())\n\
             errs=[f'{list(e.path)}: {e.message}' for e in v.iter_errors(doc)]\n\
             print('\\n'.join(errs)); sys.exit(1 if errs else 0)",
        ])
        .arg(&schema)
        .arg(&doc)
        .output()
        .expect("python3 is needed to validate SARIF (scripts/test installs jsonschema)");
    assert!(
        check.status.success(),
        "SARIF does not validate:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}
