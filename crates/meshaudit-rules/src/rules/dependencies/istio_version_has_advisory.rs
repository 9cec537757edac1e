//! DEP001: an Istio component (istiod, a proxy, istio-cni) runs a release that a published Istio
//! security bulletin names as affected.

use crate::advisories::{Advisory, AdvisorySeverity, Part, Version};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::conditions::evaluate;
use super::instances::InstanceFinding;
use crate::rules::naming::workload_name;
use meshaudit_engine::components::{Component, Instance};

pub static RULE: Rule = Rule {
    code: "DEP001",
    name: "istio-version-has-advisory",
    title: "Istio component runs a release with a published security advisory",
    category: Category::Dependencies,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC7.1",
        "SOC2:CC8.1",
        "PCI-DSS:6.3.1",
        "PCI-DSS:6.3.3",
        "HIPAA:164.308(a)(1)(ii)(B)",
    ],
    doc: r#"
## What it detects

A container whose image is an Istio component — istiod (`pilot`), a proxy (`proxyv2`: sidecars
in Pods, gateway Deployments, or the `sidecar.istio.io/proxyImage` annotation) or the CNI agent
(`install-cni`) — running a release that an Istio security bulletin lists as affected. One
finding per container, on its `image` field, with one evidence line per bulletin: its ID, CVEs,
severity, the affected range, the fixed releases, and when the bulletin says a mesh is exposed.
The finding takes the severity of the worst bulletin that applies. Bulletins about the proxy
(Envoy) are also reported on istiod of the same release, saying so: its injector gives new pods
the proxy of its own release unless the injection template names another image.

A sidecar injected into the pods of a Deployment (or other controller) that is also in the input,
as `kubectl get deploy,rs,pods -o yaml` prints them, is reported on that Deployment, located at
the first pod's image, once for all its replicas.

Versions are read from the image tag (`1.22.0`, `1.22.0-distroless`, `1.23.0-beta.1`, custom
registries such as `registry.corp/mirrors/istio/pilot:1.22.0`, a tag before a digest); when the
image has only a digest, from the workload's `app.kubernetes.io/version`, `istio.io/rev`
(`1-22-0`) or `helm.sh/chart` label. A digest with no tag and no such label is not reported: its
version is unknown. A floating tag (`1.22`) is reported only for bulletins that affect every patch
of that minor line.

The database is the Istio security bulletins bundled with meshaudit (source and date in
`crates/meshaudit-rules/data/istio-advisories.json`); `meshaudit scan --advisories FILE` uses a
newer file of the same format instead.

Some bulletins only matter with some configuration. Where the database names a condition
meshaudit can check (an EnvoyFilter, Lua, a RequestAuthentication, Kiali, `AUTO_PASSTHROUGH`
gateways, a Datadog tracer...), a version-range bulletin whose condition the input does not meet is lowered to
`low` and says so; a configuration-only bulletin (no fixed release) is reported only when the
condition is met, and at `info` when it has no condition meshaudit can check. The input may not be
the whole cluster: "not met" means "not in what was scanned".

## Why it matters

Istio's proxies face every request in the mesh and at its edge; istiod holds the mesh's CA and
pushes configuration to every proxy. Bulletins cover request smuggling, authorization bypasses,
denial of service reachable from the internet through a gateway, and control-plane crashes.
Attackers read the same bulletins; a release listed there with a public fix is the easiest
weakness to find.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.22.0   # ISTIO-SECURITY-2024-004/-005/-006/-007
```

## Fix

Upgrade the component to the fixed patch release of its minor line named in the finding (or to
a supported minor release when its line has no fix), then restart the workloads whose sidecars
were injected with the old proxy.

## References

- Istio security bulletins — https://istio.io/latest/news/security/
- Istio: Supported releases — https://istio.io/latest/docs/releases/supported-releases/
- Istio: Upgrade with revisions (canary upgrades) — https://istio.io/latest/docs/setup/upgrade/canary/
- CWE-1104: Use of Unmaintained Third Party Components
"#,
    check,
};

pub(crate) fn to_severity(a: &Advisory) -> Severity {
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
            None => Severity::Medium,
        },
    }
}

fn part_of(c: Component) -> Option<Part> {
    match c {
        Component::IstioPilot => Some(Part::ControlPlane),
        Component::IstioProxy => Some(Part::Proxy),
        Component::IstioCni => Some(Part::Cni),
        _ => None,
    }
}

/// One bulletin that applies to one container, as reported.
struct Applied<'a> {
    advisory: &'a Advisory,
    severity: Severity,
    conditions: Vec<String>,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let db = ctx.advisories;
    if db.bulletins.is_empty() {
        return;
    }
    let all = ctx.dependency_instances();
    // What each bulletin is about, read once rather than per container.
    let parts: Vec<Vec<Part>> = db.bulletins.iter().map(Advisory::parts).collect();
    let mut condition_cache = std::collections::HashMap::new();
    for inst in all {
        let (Some(part), Some(version)) = (part_of(inst.component), inst.version.as_ref()) else {
            continue;
        };
        let mut applied: Vec<Applied<'_>> = Vec::new();
        for (a, a_parts) in db.bulletins.iter().zip(&parts) {
            // istiod's release also decides the proxy its injector puts into new pods
            // (proxyv2 of the same release, unless the injection template says otherwise), so
            // proxy bulletins of that release concern it too.
            let via_injection = part == Part::ControlPlane
                && !a_parts.contains(&Part::ControlPlane)
                && a_parts.contains(&Part::Proxy);
            if !(a_parts.contains(&part) || via_injection) || !a.affects(version) {
                continue;
            }
            let mut conditions = Vec::new();
            if via_injection {
                conditions.push(format!(
                    "a proxy flaw: it reaches the sidecars and gateways this istiod injects (proxyv2 {version} by default)"
                ));
            }
            let mut severity = to_severity(a);
            let mut met = true;
            for c in &a.checks {
                let (ok, line) = condition_cache
                    .entry(*c)
                    .or_insert_with(|| evaluate(inv, *c))
                    .clone();
                met &= ok;
                conditions.push(line);
            }
            if a.is_config_only() {
                if !met {
                    continue;
                }
                if a.checks.is_empty() {
                    severity = Severity::Info;
                }
            } else if !met {
                severity = severity.min(Severity::Low);
            }
            applied.push(Applied {
                advisory: a,
                severity,
                conditions,
            });
        }
        if applied.is_empty() {
            continue;
        }
        out.push(finding(ctx, inst, version, &applied));
    }
}

fn finding(
    ctx: &Context<'_>,
    inst: &Instance,
    version: &Version,
    applied: &[Applied<'_>],
) -> Finding {
    let inv = ctx.inventory;
    let w = &inv.workloads[inst.workload];
    let object = inv.object(w.object);
    let worst = applied
        .iter()
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Info);
    let ids: Vec<&str> = applied.iter().map(|a| a.advisory.id.as_str()).collect();
    let mut f = inst
        .finding(
            inv,
            &RULE,
            format!(
                "{} {} runs {} {version}, affected by {} Istio security bulletin(s): {}",
                w.kind,
                object.qualified_name(),
                inst.component.as_str(),
                applied.len(),
                ids.join(", ")
            ),
        )
        .key(format!("{}:{}", inst.key, inst.component.as_str()))
        .evidence(format!("{}: {}", inst.place, inst.describe()));
    f.severity = worst;
    for a in applied {
        let b = a.advisory;
        let cves = if b.cves.is_empty() {
            "no CVE".to_owned()
        } else {
            b.cves.join(", ")
        };
        let fixed = if b.fixed.is_empty() {
            "no fixed release".to_owned()
        } else {
            format!(
                "fixed in {}",
                b.fixed
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let ranges: Vec<String> = b
            .affected
            .iter()
            .filter(|r| r.contains(version) || version.patch.is_none())
            .map(|r| {
                r.raw
                    .clone()
                    .unwrap_or_else(|| format!("from {}", r.introduced))
            })
            .collect();
        let mut line = format!(
            "{} ({}, {cves}; reported here as {}): {}; affected: {}; {fixed}",
            b.id,
            b.severity.map_or_else(
                || b.cvss
                    .map_or("not rated".to_owned(), |s| format!("CVSS {s}")),
                |s| s.as_str().to_owned()
            ),
            a.severity,
            b.title,
            ranges.join("; "),
        );
        if let Some(p) = &b.config_preconditions {
            line.push_str(&format!("; applies when: {p}"));
        }
        for c in &a.conditions {
            line.push_str(&format!("; {c}"));
        }
        f = f.evidence(line);
    }
    f = f.evidence(format!(
        "advisory database: {} ({})",
        ctx.advisories
            .source
            .as_deref()
            .unwrap_or("Istio security bulletins"),
        ctx.advisories.provenance()
    ));
    let config_only: Vec<&str> = applied
        .iter()
        .filter(|a| a.advisory.is_config_only())
        .map(|a| a.advisory.id.as_str())
        .collect();
    let versioned: Vec<&Applied<'_>> = applied
        .iter()
        .filter(|a| !a.advisory.is_config_only())
        .collect();
    if versioned.is_empty() {
        return f.remediation(format!(
            "No release fixes {}: change the configuration the evidence names (see each bulletin's mitigation).",
            config_only.join(", ")
        ));
    }
    let target = upgrade_target(version, &versioned);
    let also = if config_only.is_empty() {
        String::new()
    } else {
        format!(
            " No release fixes {}: change the configuration the evidence names.",
            config_only.join(", ")
        )
    };
    let target_text = target.as_ref().map_or_else(
        || {
            format!(
                "a supported minor release (a bulletin listed has no fix in the {} line)",
                version.minor_line()
            )
        },
        |t| format!("{t} or later"),
    );
    if !inst.in_template(inv) {
        // A sidecar injected at admission: the injector decides the image, a restart applies it.
        return f.remediation(format!(
            "Make sure the sidecar injector (istiod of this revision) runs {target_text}, then restart {} so its pods are injected with a fixed proxy.{also}",
            workload_name(&inv.workloads[inst.workload])
        ));
    }
    f.remediation(match target {
        Some(t) => format!(
            "Upgrade {} in {} to {t} or later (the fixed release of its {} line for every bulletin listed), then restart the workloads it serves.{also}",
            inst.component.as_str(),
            workload_name(&inv.workloads[inst.workload]),
            version.minor_line()
        ),
        None => format!(
            "Upgrade {} in {} to a supported minor release: at least one bulletin listed has no fix in the {} line.{also}",
            inst.component.as_str(),
            workload_name(&inv.workloads[inst.workload]),
            version.minor_line()
        ),
    })
}

/// The lowest release of `version`'s minor line that every applied bulletin calls fixed.
fn upgrade_target(version: &Version, applied: &[&Applied<'_>]) -> Option<Version> {
    let mut target: Option<Version> = None;
    for a in applied {
        let fix = a.advisory.fix_for(version)?.clone();
        target = Some(match target {
            Some(t) if t >= fix => t,
            _ => fix,
        });
    }
    target
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;
    use crate::advisories::AdvisoryDb;

    const GATEWAY: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: gw}}
  template:
    metadata: {labels: {istio: gw}}
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:TAG
";

    const ENVOY_FILTER: &str = "---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: f, namespace: istio-system}
spec:
  configPatches: []
";

    fn bulletin(affected: &str, fixed: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "B", "severity": "High", "component": "envoy", "affected": [{affected}], "fixed": [{fixed}]{extra}}}"#
        )
    }

    /// Findings of this rule on `yaml` with a database of one bulletin.
    fn run(yaml: &str, bulletin: &str) -> Vec<Finding> {
        let db = AdvisoryDb::parse(&format!(r#"{{"bulletins": [{bulletin}]}}"#)).unwrap();
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
        let mut ctx = Context::new(&ingested.inventory, 0);
        ctx.advisories = &db;
        let mut out = Vec::new();
        check(&ctx, &mut out);
        out
    }

    #[test]
    fn a_floating_tag_is_affected_only_by_bulletins_covering_its_whole_minor() {
        let floating = GATEWAY.replace("TAG", "1.22");
        let every_patch = bulletin(
            r#"{"introduced": "0", "before": "1.23.0"}"#,
            r#""1.23.0""#,
            "",
        );
        assert_eq!(run(&floating, &every_patch).len(), 1);
        let fixed_in_line = bulletin(
            r#"{"introduced": "1.22.0", "last_affected": "1.22.4"}"#,
            r#""1.22.5""#,
            "",
        );
        assert!(run(&floating, &fixed_in_line).is_empty());
        // The same bulletin applies to a pinned patch inside the range, with its fix.
        let pinned = run(&GATEWAY.replace("TAG", "1.22.3"), &fixed_in_line);
        assert_eq!(pinned.len(), 1);
        assert!(
            pinned[0].remediation.contains("1.22.5"),
            "{}",
            pinned[0].remediation
        );
    }

    #[test]
    fn an_unmet_condition_lowers_a_versioned_bulletin_and_hides_a_configuration_one() {
        let yaml = GATEWAY.replace("TAG", "1.22.3");
        let conditional = bulletin(
            r#"{"introduced": "1.22.0", "last_affected": "1.22.4"}"#,
            r#""1.22.5""#,
            r#", "checks": ["envoyfilter"]"#,
        );
        assert_eq!(run(&yaml, &conditional)[0].severity, Severity::Low);
        let with_filter = format!("{yaml}{ENVOY_FILTER}");
        assert_eq!(run(&with_filter, &conditional)[0].severity, Severity::High);

        let config_only = bulletin(
            r#"{"introduced": "1.6.0"}"#,
            "",
            r#", "checks": ["envoyfilter"]"#,
        );
        assert!(run(&yaml, &config_only).is_empty());
        assert_eq!(run(&with_filter, &config_only)[0].severity, Severity::High);
        // Without a condition meshaudit can check, a configuration-only bulletin is information.
        let unchecked = bulletin(r#"{"introduced": "1.6.0"}"#, "", "");
        assert_eq!(run(&yaml, &unchecked)[0].severity, Severity::Info);
    }

    #[test]
    fn a_digest_without_tag_or_label_is_not_reported() {
        let yaml = GATEWAY.replace("proxyv2:TAG", "proxyv2@sha256:0123");
        let every = bulletin(r#"{"introduced": "0", "before": "9.0.0"}"#, "", "");
        assert!(run(&yaml, &every).is_empty());
    }
}
