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

/// Runs the enabled rules, applies the settings, and sorts the findings (most severe first,
/// then by place).
pub fn analyze(ctx: &Context<'_>, settings: &Settings) -> (Vec<Finding>, Suppressed) {
    let findings = run_checks(ctx, &settings.enabled_rules());
    let (mut kept, suppressed) = settings.filter(findings, ctx.inventory);
    kept.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.rule.code.cmp(b.rule.code))
            .then_with(|| a.key.cmp(&b.key))
    });
    (kept, suppressed)
}

/// Runs `rules` on every available core (rules only read the context) and returns their
/// findings in rule order, as a single-threaded run would.
fn run_checks(ctx: &Context<'_>, rules: &[&'static Rule]) -> Vec<Finding> {
    meshaudit_model::parallel::map_in_order(rules, |rule| {
        let mut findings = Vec::new();
        (rule.check)(ctx, &mut findings);
        findings
    })
    .into_iter()
    .flatten()
    .collect()
}
