//! meshaudit's rules: the finding model, one file per rule under `rules/<category>/`, the
//! registry of stable codes, rule docs as data, and the selection of what to report.

pub mod advisories;
pub mod baseline;
pub mod context;
pub mod finding;
pub mod registry;
pub mod rule;
pub mod rules;
pub mod selection;

pub use context::{Context, ExpiryThresholds};
pub use finding::{Category, Finding, Mesh, ResourceRef, Severity};
pub use registry::{rule, RULES};
pub use rule::Rule;
pub use selection::{Settings, Suppressed};

use std::collections::HashMap;
use std::sync::Arc;

use meshaudit_model::ObjectId;

/// Where the inventory being analysed came from, when that matters to the findings: the
/// rendered kustomization (findings carry it, and it enters their fingerprints) and the source
/// file kustomize recorded for each object.
#[derive(Debug, Default, Clone, Copy)]
pub struct Input<'a> {
    pub kustomization: Option<&'a Arc<str>>,
    /// Object → the source file to name in its findings' evidence.
    pub sources: &'a [(ObjectId, String)],
}

/// Runs the enabled rules, applies the settings, and sorts the findings (most severe first,
/// then by place).
pub fn analyze(ctx: &Context<'_>, settings: &Settings) -> (Vec<Finding>, Suppressed) {
    analyze_input(ctx, settings, &Input::default())
}

/// [`analyze`] for an inventory from `input`: findings say which kustomization and source file
/// they come from. Fingerprints are made unique before the baseline is applied.
pub fn analyze_input(
    ctx: &Context<'_>,
    settings: &Settings,
    input: &Input<'_>,
) -> (Vec<Finding>, Suppressed) {
    let mut findings = run_checks(ctx, &settings.enabled_rules());
    attribute(&mut findings, ctx.inventory, input);
    make_fingerprints_unique(&mut findings);
    let (mut kept, suppressed) = settings.filter(findings, ctx.inventory);
    sort_findings(&mut kept);
    (kept, suppressed)
}

/// The report order: most severe first, then by place, rule and key.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.rule.code.cmp(b.rule.code))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.occurrence.cmp(&b.occurrence))
    });
}

/// Stamps the kustomization on every finding and names the source file of its resource.
fn attribute(findings: &mut [Finding], inventory: &meshaudit_model::Inventory, input: &Input<'_>) {
    if input.kustomization.is_none() && input.sources.is_empty() {
        return;
    }
    // By resource identity, not by `Finding::object`: that is the object whose annotations
    // silence the finding, which need not be the resource it names.
    let mut source_of: HashMap<(&str, &str, Option<&str>, &str), &str> = HashMap::new();
    for (id, source) in input.sources {
        let o = inventory.object(*id);
        source_of.insert(
            (o.group(), &o.kind, o.namespace.as_deref(), &o.name),
            source,
        );
    }
    for f in findings {
        f.kustomization = input.kustomization.cloned();
        let r = &f.resource;
        let group = meshaudit_model::object::api_group(&r.api_version);
        if let Some(source) = source_of.get(&(group, &r.kind, r.namespace.as_deref(), &r.name)) {
            f.evidence.insert(0, format!("source: {source}"));
            f.source = Some((*source).to_owned());
        }
    }
}

/// The last line of defence for baselines: findings that share a fingerprint (the same rule,
/// resource and key) are told apart by their rank in the order of their messages, then
/// evidence, then place — the wording a rule gives each one, which does not change when
/// unrelated parts of the input do. The first keeps the plain fingerprint. A finding identical
/// to another in every respect is a repeat and is dropped.
fn make_fingerprints_unique(findings: &mut Vec<Finding>) {
    let fingerprints: Vec<String> = findings.iter().map(Finding::fingerprint).collect();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::with_capacity(findings.len());
    for (i, fp) in fingerprints.iter().enumerate() {
        groups.entry(fp).or_default().push(i);
    }
    let mut repeat = vec![false; findings.len()];
    for (_, mut group) in groups.into_iter().filter(|(_, g)| g.len() > 1) {
        fn order(f: &Finding) -> (&String, &Vec<String>, &meshaudit_model::Location, Severity) {
            (&f.message, &f.evidence, &f.location, f.severity)
        }
        group.sort_by(|&a, &b| order(&findings[a]).cmp(&order(&findings[b])));
        let mut rank = 0;
        for w in 0..group.len() {
            let i = group[w];
            if w > 0 {
                let previous = &findings[group[w - 1]];
                let f = &findings[i];
                if order(previous) == order(f) && previous.remediation == f.remediation {
                    repeat[i] = true;
                    continue;
                }
                rank += 1;
            }
            findings[i].occurrence = rank;
        }
    }
    if repeat.iter().any(|&r| r) {
        let mut i = 0;
        findings.retain(|_| {
            i += 1;
            !repeat[i - 1]
        });
    }
}

/// Runs `rules` on every available core (rules only read the context) and returns their
/// findings in rule order, as a single-threaded run would.
fn run_checks(ctx: &Context<'_>, rules: &[&'static Rule]) -> Vec<Finding> {
    meshaudit_model::parallel::map_in_order(rules, |rule| {
        let mut findings = Vec::new();
        (rule.check)(ctx, &mut findings);
        findings.iter_mut().for_each(Finding::dedup_related);
        findings
    })
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    fn inventory() -> meshaudit_model::Inventory {
        ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text:
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
                    .to_owned(),
        }])
        .inventory
    }

    fn finding(inv: &meshaudit_model::Inventory, message: &str) -> Finding {
        let id = ObjectId::from_index(0);
        Finding::new(rule("AUTHN008").unwrap(), id, inv.object(id), &[], message)
    }

    fn fingerprints(findings: &[Finding]) -> Vec<(String, String)> {
        let mut v: Vec<_> = findings
            .iter()
            .map(|f| (f.message.clone(), f.fingerprint()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn colliding_findings_get_distinct_fingerprints_by_message_order() {
        let inv = inventory();
        let plain = finding(&inv, "b").fingerprint();
        let mut one = vec![finding(&inv, "b"), finding(&inv, "a"), finding(&inv, "c")];
        let mut two = vec![finding(&inv, "c"), finding(&inv, "b"), finding(&inv, "a")];
        make_fingerprints_unique(&mut one);
        make_fingerprints_unique(&mut two);
        let fps = fingerprints(&one);
        assert_eq!(
            fps,
            fingerprints(&two),
            "independent of the order rules emit them"
        );
        let distinct: std::collections::HashSet<_> = fps.iter().map(|(_, f)| f).collect();
        assert_eq!(distinct.len(), 3);
        // The first message in order keeps the fingerprint it would have alone.
        assert_eq!(fps[0], ("a".to_owned(), plain));
    }

    #[test]
    fn exact_repeats_are_dropped() {
        let inv = inventory();
        let mut findings = vec![finding(&inv, "a"), finding(&inv, "a"), finding(&inv, "b")];
        make_fingerprints_unique(&mut findings);
        assert_eq!(findings.len(), 2);
        assert_ne!(findings[0].fingerprint(), findings[1].fingerprint());
    }

    #[test]
    fn a_kustomization_and_its_source_reach_the_finding() {
        let inv = inventory();
        let plain = finding(&inv, "a");
        let overlay: Arc<str> = Arc::from("overlays/prod");
        let sources = vec![(ObjectId::from_index(0), "base/deployment.yaml".to_owned())];
        let mut findings = vec![finding(&inv, "a")];
        attribute(
            &mut findings,
            &inv,
            &Input {
                kustomization: Some(&overlay),
                sources: &sources,
            },
        );
        let f = &findings[0];
        assert_eq!(f.kustomization.as_deref(), Some("overlays/prod"));
        assert_eq!(f.source.as_deref(), Some("base/deployment.yaml"));
        assert_eq!(f.evidence[0], "source: base/deployment.yaml");
        assert_ne!(f.fingerprint(), plain.fingerprint());
        let staging: Arc<str> = Arc::from("overlays/staging");
        let mut other = vec![finding(&inv, "a")];
        attribute(
            &mut other,
            &inv,
            &Input {
                kustomization: Some(&staging),
                sources: &[],
            },
        );
        assert_ne!(f.fingerprint(), other[0].fingerprint());
        // Plain manifests keep the fingerprints they always had (baselines stay valid).
        let mut unchanged = vec![finding(&inv, "a")];
        attribute(&mut unchanged, &inv, &Input::default());
        assert_eq!(unchanged[0].fingerprint(), plain.fingerprint());
    }
}
