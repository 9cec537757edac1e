//! `docs/rules/` is generated from the rule docs. This test regenerates it in memory and fails
//! when the committed files differ; run with `MESHAUDIT_UPDATE_DOCS=1` to rewrite them.

use std::path::Path;

use meshaudit_rules::RULES;

fn expected() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut index = String::from(
        "# meshaudit rules\n\nGenerated from the rule sources by `MESHAUDIT_UPDATE_DOCS=1 cargo test -p meshaudit --test docs`; do not edit by hand.\n\n| Code | Name | Category | Default severity | Title |\n|---|---|---|---|---|\n",
    );
    for rule in RULES.iter() {
        index.push_str(&format!(
            "| [{code}]({code}.md) | `{name}` | {category} | {severity} | {title} |\n",
            code = rule.code,
            name = rule.name,
            category = rule.category,
            severity = rule.severity,
            title = rule.title
        ));
        files.push((format!("{}.md", rule.code), rule.explain()));
    }
    files.push(("README.md".to_owned(), index));
    files
}

#[test]
fn rule_docs_are_generated_and_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
    let update = std::env::var_os("MESHAUDIT_UPDATE_DOCS").is_some();
    let expected = expected();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    for (name, content) in &expected {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, content).unwrap();
            continue;
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            &actual == content,
            "docs/rules/{name} is out of date; run `MESHAUDIT_UPDATE_DOCS=1 cargo test -p meshaudit --test docs`"
        );
    }
    let present = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        present,
        expected.len(),
        "docs/rules/ holds files no rule generates"
    );
}
