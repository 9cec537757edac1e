//! DEP011: a Linkerd component (control plane, proxy, viz) runs a release that a Linkerd
//! advisory or a recorded security fix names as affected.

use meshaudit_engine::components::linkerd_extension;
use meshaudit_engine::version::{LinkerdChannel, LinkerdRelease, Version};
use meshaudit_model::linkerd::LinkerdConfig;

use crate::advisories::linkerd::{
    AdvisoryKind, LinkerdAdvisory, LinkerdAdvisoryDb, LinkerdPart, Match,
};
use crate::advisories::AdvisorySeverity;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::embedded::embedded_document;
use super::instances::InstanceFinding;
use crate::rules::naming::workload_name;
use meshaudit_engine::components::{Component, Instance, VersionSource};
use meshaudit_model::WorkloadId;

pub static RULE: Rule = Rule {
    code: "DEP011",
    name: "linkerd-version-has-advisory",
    title: "Linkerd component runs a release with a known advisory",
    category: Category::Dependencies,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC7.1",
        "SOC2:CC8.1",
        "PCI-DSS:6.3.1",
        "PCI-DSS:6.3.3",
        "HIPAA:164.308(a)(1)(ii)(B)",
    ],
    doc: r#"
## What it detects

A Linkerd release that a Linkerd advisory, or a security fix recorded in Linkerd's release notes,
names as affected. Releases are read from:

- the control plane's `linkerd-config` ConfigMap (`linkerdVersion` in `data.values`): the
  controllers of that release, and the proxy and `linkerd-init` (or CNI plugin) its injector
  adds to new pods — unless `proxy.image.version` pins another proxy;
- the images of every workload: Linkerd's `controller` and `policy-controller`, the proxy
  (`linkerd-proxy` containers of templates and of pods; a proxy pinned by digest takes the
  version the injector recorded in `linkerd.io/proxy-version`), the viz dashboard (`web`) and
  the extension controllers (`metrics-api`, `tap`, `jaeger-webhook`);
- a pod template's `config.linkerd.io/proxy-version`, the proxy its injector will add;
- viz's Prometheus (a `prometheus` image in a workload labelled `linkerd.io/extension: viz`),
  judged by its own image version against the image the fixed viz release ships.

Versions must name their channel: `edge-25.1.2`, `stable-2.14.10` or `enterprise-2.17.1`. One
finding per workload and release, on the first image that runs it, with one evidence line per
advisory (ID, CVEs, severity, the affected range that matched, the fixed releases, its link).
The finding takes the severity of the worst advisory; an entry the data does not rate is
`medium` for a Linkerd advisory and `low` for a dependency or release-note fix.

The data is Linkerd's GitHub security advisories and the security fixes of its release notes,
bundled as `crates/meshaudit-rules/data/linkerd-advisories.json` with its sources and date;
`meshaudit scan --advisories FILE` uses a newer file of the same format (see
`docs/advisories.md`). Where the data derives a range from a fix ("every release before the
fix"), the evidence says so; derived ranges are not applied to vendor (`enterprise-`) builds,
which receive backports the release notes do not show. Workloads whose proxy is only added at
admission (a template with `linkerd.io/inject: enabled`) are covered by the finding on
`linkerd-config`.

## Why it matters

The proxy sits in front of every meshed workload and the control plane issues every identity:
a denial of service in either takes the mesh down, and the open-source project publishes fixes
only in new edge releases. An advisory with a public fix is the first thing an attacker checks.

## Example

```yaml
containers:
- name: linkerd-proxy
  image: cr.l5d.io/linkerd/proxy:edge-25.1.2   # GHSA-42mr-jpwh-m9rv, fixed in edge-25.2.1
```

## Fix

Upgrade Linkerd (control plane first, then the extensions) to the release the finding names or
later, then restart meshed workloads so the injector gives them the new proxy. On the discontinued
`stable-` channel there is no open-source fix: move to a current edge release or a
vendor-supported stable distribution.

## References

- Linkerd security advisories — https://github.com/linkerd/linkerd2/security/advisories
- GHSA-42mr-jpwh-m9rv (CVE-2025-43915) — https://github.com/advisories/GHSA-42mr-jpwh-m9rv
- Linkerd releases and channels — https://linkerd.io/releases/
- Linkerd: Upgrading — https://linkerd.io/2-edge/tasks/upgrade/
- linkerd2 release notes (CHANGES.md) — https://github.com/linkerd/linkerd2/blob/main/CHANGES.md
- CWE-1104: Use of Unmaintained Third Party Components
"#,
    check,
};

/// The parts of Linkerd a recognised container runs.
fn parts_of(component: Component) -> &'static [LinkerdPart] {
    match component {
        Component::LinkerdController | Component::LinkerdPolicyController => {
            &[LinkerdPart::ControlPlane]
        }
        Component::LinkerdProxy => &[LinkerdPart::Proxy],
        Component::LinkerdVizWeb => &[LinkerdPart::VizDashboard, LinkerdPart::Extensions],
        Component::LinkerdExtension => &[LinkerdPart::Extensions],
        _ => &[],
    }
}

/// The severity an entry is reported at.
fn severity_of(a: &LinkerdAdvisory) -> Severity {
    match a.severity {
        Some(AdvisorySeverity::Critical) => Severity::Critical,
        Some(AdvisorySeverity::High) => Severity::High,
        Some(AdvisorySeverity::Medium) => Severity::Medium,
        Some(AdvisorySeverity::Low) => Severity::Low,
        Some(AdvisorySeverity::Info) => Severity::Info,
        None => match a.cvss {
            Some(s) if s >= 9.0 => Severity::Critical,
            Some(s) if s >= 7.0 => Severity::High,
            Some(s) if s >= 4.0 => Severity::Medium,
            Some(_) => Severity::Low,
            // A fix the release notes mention without rating it: reported, not alarming.
            None if a.kind() == AdvisoryKind::Linkerd => Severity::Medium,
            None => Severity::Low,
        },
    }
}

/// One entry that applies, as reported.
struct Applied<'a> {
    advisory: &'a LinkerdAdvisory,
    matched: Match,
    /// The part it was matched on.
    part: LinkerdPart,
}

/// What a group of containers runs: a Linkerd release, or viz's Prometheus image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Runs {
    Release(LinkerdRelease),
    Prometheus(Version),
}

/// Entries of `db` that apply to `release` of any of `parts`, each once.
fn applicable<'a>(
    db: &'a LinkerdAdvisoryDb,
    parts: &[LinkerdPart],
    runs: &Runs,
) -> Vec<Applied<'a>> {
    let mut applied = Vec::new();
    for advisory in db.entries() {
        let hit = match runs {
            Runs::Release(release) => parts
                .iter()
                .find_map(|p| advisory.affects(*p, release).map(|m| (m, *p))),
            Runs::Prometheus(v) => advisory
                .affects_prometheus(v)
                .map(|m| (m, LinkerdPart::VizPrometheus)),
        };
        if let Some((matched, part)) = hit {
            applied.push(Applied {
                advisory,
                matched,
                part,
            });
        }
    }
    applied
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let db = ctx.linkerd_advisories;
    if db.entries().next().is_none() {
        return;
    }
    let inv = ctx.inventory;
    // (workload, what it runs) → its containers, in input order.
    let mut groups: Vec<(WorkloadId, Runs, Vec<&Instance>)> = Vec::new();
    for inst in ctx.dependency_instances() {
        let runs = if let Some(release) = inst.linkerd_release() {
            if parts_of(inst.component).is_empty() {
                continue;
            }
            Runs::Release(release)
        } else if inst.component == Component::Prometheus
            && linkerd_extension(inv, &inv.workloads[inst.workload]) == Some("viz")
        {
            match &inst.version {
                Some(v) if v.patch.is_some() => Runs::Prometheus(v.clone()),
                _ => continue,
            }
        } else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|(w, r, _)| *w == inst.workload && *r == runs)
        {
            Some((_, _, list)) => list.push(inst),
            None => groups.push((inst.workload, runs, vec![inst])),
        }
    }
    for (workload, runs, list) in &groups {
        let mut parts: Vec<LinkerdPart> = list
            .iter()
            .flat_map(|i| parts_of(i.component).iter().copied())
            .collect();
        parts.sort();
        parts.dedup();
        let applied = applicable(db, &parts, runs);
        if applied.is_empty() {
            continue;
        }
        out.push(workload_finding(ctx, *workload, runs, list, &applied));
    }
    if let Some(config) = &inv.linkerd.config {
        if let Some(f) = config_finding(ctx, config) {
            out.push(f);
        }
    }
}

fn workload_finding(
    ctx: &Context<'_>,
    workload: WorkloadId,
    runs: &Runs,
    list: &[&Instance],
    applied: &[Applied<'_>],
) -> Finding {
    let inv = ctx.inventory;
    let w = &inv.workloads[workload];
    let object = inv.object(w.object);
    let first = list[0];
    let mut what: Vec<&str> = list.iter().map(|i| i.component.as_str()).collect();
    what.dedup();
    let runs_text = match runs {
        Runs::Release(r) => format!("Linkerd {r} ({})", what.join(", ")),
        Runs::Prometheus(v) => format!("viz's Prometheus {v}"),
    };
    let mut f = first
        .finding(
            inv,
            &RULE,
            format!(
                "{} {} runs {runs_text}, affected by {}",
                w.kind,
                object.qualified_name(),
                id_list(applied)
            ),
        )
        .key(format!("{}:linkerd", first.key));
    for i in list {
        let from = match (&i.source, runs) {
            (VersionSource::Metadata(key), Runs::Release(r)) => format!("{r} from `{key}`"),
            (VersionSource::Tag, Runs::Release(r)) => format!("{r} from its tag"),
            (_, Runs::Prometheus(v)) => format!("Prometheus {v}"),
        };
        f = f.evidence(format!(
            "{} ({}): {} ({from})",
            i.place,
            i.component.as_str(),
            i.image
        ));
    }
    f = add_entries(f, ctx, applied);
    let remediation = match runs {
        Runs::Release(r) => {
            let whose = if list
                .iter()
                .all(|i| i.component == Component::LinkerdProxy && !i.in_template(inv))
            {
                format!(
                    "the control plane whose injector adds this proxy, then restart {}",
                    workload_name(&inv.workloads[workload])
                )
            } else if list.iter().all(|i| i.place.starts_with("annotation")) {
                format!(
                    "the proxy that `config.linkerd.io/proxy-version` pins in {} (or remove the annotation so it follows the control plane)",
                    workload_name(&inv.workloads[workload])
                )
            } else {
                workload_name(&inv.workloads[workload])
            };
            upgrade_text(r, applied, &whose)
        }
        Runs::Prometheus(_) => {
            let target = applied
                .iter()
                .filter_map(|a| a.advisory.prometheus_fix())
                .max_by(|a, b| a.0.cmp(&b.0));
            match target {
                Some((v, release)) => format!(
                    "Upgrade viz to {release} or later, or set its Prometheus image (`prometheus.image.tag`) in {} to v{v} or later.",
                    workload_name(&inv.workloads[workload])
                ),
                None => format!(
                    "Upgrade viz and the Prometheus image of {}.",
                    workload_name(&inv.workloads[workload])
                ),
            }
        }
    };
    let worst = applied
        .iter()
        .map(|a| severity_of(a.advisory))
        .max()
        .unwrap_or(Severity::Info);
    f.severity = worst;
    f.remediation(remediation)
}

/// The finding on `linkerd-config`: the release the control plane was installed as.
fn config_finding(ctx: &Context<'_>, config: &LinkerdConfig) -> Option<Finding> {
    let inv = ctx.inventory;
    let version = config.version.as_ref()?;
    let release = LinkerdRelease::parse(&version.value)?;
    let object = inv.object(config.object);
    let mut parts = vec![LinkerdPart::ControlPlane];
    // `proxy.image.version`, when set, pins the injected proxy to another release.
    let pinned_proxy = embedded_document(object, "values").and_then(|doc| {
        let v = doc
            .root
            .get("proxy")?
            .get("image")?
            .get("version")?
            .as_str()?;
        (!v.trim().is_empty()).then(|| v.trim().to_owned())
    });
    let proxy_note = match &pinned_proxy {
        Some(p) if LinkerdRelease::parse(p).as_ref() != Some(&release) => {
            format!("its injector adds proxy {p} (`proxy.image.version`), judged where it runs")
        }
        _ => {
            parts.push(LinkerdPart::Proxy);
            format!("its injector adds proxy {release} to new pods")
        }
    };
    parts.push(if config.cni_enabled.value {
        LinkerdPart::Cni
    } else {
        LinkerdPart::ProxyInit
    });
    let runs = Runs::Release(release.clone());
    let applied = applicable(ctx.linkerd_advisories, &parts, &runs);
    if applied.is_empty() {
        return None;
    }
    let mut f = Finding::new(
        &RULE,
        config.object,
        object,
        &[],
        format!(
            "ConfigMap {} records a Linkerd {release} install (`linkerdVersion`), affected by {}",
            object.qualified_name(),
            id_list(&applied)
        ),
    )
    .key("linkerdVersion");
    f.location = version.location.clone();
    f.mesh = Mesh::Linkerd;
    f = f.evidence(format!(
        "linkerdVersion: {}: the control plane's release; {proxy_note}",
        version.value
    ));
    f = add_entries(f, ctx, &applied);
    f.severity = applied
        .iter()
        .map(|a| severity_of(a.advisory))
        .max()
        .unwrap_or(Severity::Info);
    let upgrade = upgrade_text(&release, &applied, "the Linkerd control plane");
    Some(f.remediation(format!(
        "{upgrade} Then restart meshed workloads so their proxies are re-injected."
    )))
}

/// `3 Linkerd advisories: GHSA-…, CVE-…` (at most six ids in the message; the evidence lists
/// every one, with its kind).
fn id_list(applied: &[Applied<'_>]) -> String {
    const SHOWN: usize = 6;
    let ids: Vec<&str> = applied
        .iter()
        .take(SHOWN)
        .map(|a| a.advisory.id.as_str())
        .collect();
    let more = applied.len().saturating_sub(SHOWN);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    if applied.len() == 1 {
        format!("Linkerd advisory {}", ids.join(", "))
    } else {
        format!(
            "{} Linkerd advisories: {}{tail}",
            applied.len(),
            ids.join(", ")
        )
    }
}

/// One evidence line per entry, then where the data comes from.
fn add_entries(mut f: Finding, ctx: &Context<'_>, applied: &[Applied<'_>]) -> Finding {
    for a in applied {
        let b = a.advisory;
        let mut ids: Vec<&str> = b.cves.iter().map(String::as_str).collect();
        ids.extend(
            b.aliases
                .iter()
                .map(String::as_str)
                .filter(|x| *x != b.id && !b.cves.iter().any(|c| c == x)),
        );
        let ids = if ids.is_empty() {
            String::new()
        } else {
            format!(", {}", ids.join(", "))
        };
        let rated = match b.severity {
            Some(s) => s.as_str().to_ascii_lowercase(),
            None => b
                .cvss
                .map_or("not rated".to_owned(), |s| format!("CVSS {s}")),
        };
        let mut line = format!(
            "{} ({}, {rated}{ids}; reported here as {}): {} [{}]; affected: {}{}; {}",
            b.id,
            b.kind().as_str(),
            severity_of(b),
            b.summary,
            a.part.as_str(),
            a.matched.range,
            if a.matched.inferred && !a.matched.range.contains("derived") {
                " (inferred by the data)"
            } else {
                ""
            },
            b.fixed_text()
        );
        if let Some(url) = &b.url {
            line.push_str(&format!("; {url}"));
        }
        f = f.evidence(line);
    }
    let db = ctx.linkerd_advisories;
    f.evidence(format!(
        "advisory database: {} ({})",
        db.source.as_deref().unwrap_or("Linkerd advisories"),
        db.provenance()
    ))
}

/// What to upgrade to, per channel.
fn upgrade_text(release: &LinkerdRelease, applied: &[Applied<'_>], whose: &str) -> String {
    // The newest edge fix among the entries: the first edge release with all of them.
    let edge_target = applied
        .iter()
        .map(|a| a.advisory.edge_fix(a.part))
        .collect::<Option<Vec<_>>>()
        .and_then(|fixes| {
            fixes
                .into_iter()
                .filter_map(|f| LinkerdRelease::parse(f.text.split(' ').next()?))
                .max_by(|a, b| a.version.cmp(&b.version))
        });
    match release.channel {
        LinkerdChannel::Edge => match edge_target {
            Some(t) => format!(
                "Upgrade {whose} to {t} or later (the newest fix among the entries listed)."
            ),
            None => format!(
                "Upgrade {whose} to a current edge release (at least one entry listed names no fixed edge release)."
            ),
        },
        LinkerdChannel::Stable => format!(
            "Move {whose} off the discontinued open-source stable channel, which has no release with these fixes: to {} or a vendor-supported stable distribution.",
            edge_target.map_or_else(
                || "a current edge release".to_owned(),
                |t| format!("{t} or a later edge release")
            )
        ),
        LinkerdChannel::Enterprise => format!(
            "Upgrade {whose} to a Buoyant Enterprise for Linkerd release that fixes the advisories listed (see each advisory's fixed versions)."
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    fn run_with(yaml: &str, db: &LinkerdAdvisoryDb) -> Vec<Finding> {
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
        let mut ctx = Context::new(&ingested.inventory, 0);
        ctx.linkerd_advisories = db;
        let mut out = Vec::new();
        check(&ctx, &mut out);
        out
    }

    fn run(yaml: &str) -> Vec<Finding> {
        run_with(yaml, LinkerdAdvisoryDb::bundled())
    }

    const DESTINATION: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: linkerd-destination, namespace: linkerd}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - {name: destination, image: 'cr.l5d.io/linkerd/controller:TAG'}
      - {name: policy, image: 'cr.l5d.io/linkerd/policy-controller:TAG'}
      - {name: linkerd-proxy, image: 'cr.l5d.io/linkerd/proxy:TAG'}
";

    #[test]
    fn one_finding_per_workload_and_release_with_every_entry() {
        let found = run(&DESTINATION.replace("TAG", "edge-25.1.2"));
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.message.contains("Linkerd edge-25.1.2"), "{}", f.message);
        let evidence = f.evidence.join("\n");
        for id in [
            "GHSA-42mr-jpwh-m9rv",
            "GO-TOOLCHAIN-2026-03",
            "RUSTSEC-2026-0258",
        ] {
            assert!(evidence.contains(id), "{id} in {evidence}");
        }
        // Nothing about the dashboard or the CLI.
        assert!(!evidence.contains("CVE-2022-24785"));
        assert!(!evidence.contains("inject-https"));
        assert!(
            f.remediation.contains("edge-26.8.3 or later"),
            "{}",
            f.remediation
        );
        // The newest release of the data is affected by nothing.
        assert!(run(&DESTINATION.replace("TAG", "edge-26.8.3")).is_empty());
    }

    #[test]
    fn old_stable_releases_are_told_to_leave_the_channel() {
        let found = run(&DESTINATION.replace("TAG", "stable-2.14.1"));
        assert_eq!(found.len(), 1);
        let f = &found[0];
        // CVE-2023-44487 (HTTP/2 rapid reset) is rated high and was fixed in 2.14.2.
        assert_eq!(f.severity, Severity::High);
        assert!(f.evidence.join("\n").contains("CVE-2023-44487"));
        assert!(f.remediation.contains("discontinued"), "{}", f.remediation);
    }

    #[test]
    fn a_file_of_the_same_format_replaces_the_data() {
        let db = LinkerdAdvisoryDb::parse(
            r#"{"advisories": [{"id": "TEST-1", "kind": "linkerd", "severity": "critical",
                "component": "proxy",
                "affected": {"edge": [{"introduced": "edge-26.1.1", "before": "edge-26.9.1"}]},
                "fixed": {"edge": ["edge-26.9.1"]}}]}"#,
        )
        .unwrap();
        let found = run_with(&DESTINATION.replace("TAG", "edge-26.8.3"), &db);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Critical);
        assert!(found[0].remediation.contains("edge-26.9.1"));
    }

    #[test]
    fn viz_prometheus_is_judged_by_its_image_and_others_are_not() {
        let viz = "apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: linkerd-viz, labels: {linkerd.io/extension: viz}}
spec:
  selector: {matchLabels: {component: prometheus}}
  template:
    metadata: {labels: {component: prometheus, linkerd.io/extension: viz}}
    spec:
      containers:
      - {name: prometheus, image: 'prom/prometheus:TAG'}
";
        let found = run(&viz.replace("TAG", "v2.48.1"));
        assert_eq!(found.len(), 1);
        assert!(found[0]
            .evidence
            .join("\n")
            .contains("PROMETHEUS-IMAGE-CVES"));
        assert!(run(&viz.replace("TAG", "v2.55.1")).is_empty());
        // A Prometheus that is not viz's is none of Linkerd's business.
        let other = viz
            .replace("linkerd.io/extension: viz", "app: metrics")
            .replace("TAG", "v2.48.1");
        assert!(run(&other).is_empty());
    }

    #[test]
    fn linkerd_config_speaks_for_the_injected_proxies() {
        let config = "apiVersion: v1
kind: ConfigMap
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    linkerdVersion: edge-24.5.1
    cniEnabled: false
    proxy:
      image:
        version: \"\"
";
        let found = run(config);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.location.line, 6, "points at linkerdVersion");
        let evidence = f.evidence.join("\n");
        // The proxy's /shutdown advisory (fixed edge-24.6.2) through the injector.
        assert!(evidence.contains("GHSA-6v94-gj6x-jqj7"), "{evidence}");
        assert!(evidence.contains("injector adds proxy edge-24.5.1"));
        // A pinned proxy of another release is judged where it runs, not here.
        let pinned = config.replace("version: \"\"", "version: edge-26.8.3");
        let found = run(&pinned);
        assert!(!found[0].evidence.join("\n").contains("GHSA-6v94-gj6x-jqj7"));
    }

    #[test]
    fn versions_without_a_channel_are_not_judged() {
        assert!(run(&DESTINATION.replace("TAG", "2.14.1")).is_empty());
        assert!(run(&DESTINATION.replace(":TAG", "@sha256:0123")).is_empty());
    }
}
