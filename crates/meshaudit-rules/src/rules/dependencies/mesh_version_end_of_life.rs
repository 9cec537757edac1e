//! DEP002: a mesh component runs a release past its end of life (Istio minor releases, Linkerd's
//! discontinued open-source stable channel), or a pre-release build.

use std::sync::LazyLock;

use serde::Deserialize;

use meshaudit_engine::version::{LinkerdChannel, LinkerdRelease};

use crate::advisories::Version;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::instances::InstanceFinding;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "DEP002",
    name: "mesh-version-end-of-life",
    title: "Mesh component runs a release that is no longer supported",
    category: Category::Dependencies,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd],
    compliance: &[
        "SOC2:CC7.1",
        "SOC2:CC8.1",
        "PCI-DSS:6.3.2",
        "PCI-DSS:6.3.3",
        "HIPAA:164.308(a)(1)(ii)(B)",
    ],
    doc: r#"
## What it detects

An Istio component (istiod, a proxy, istio-cni, ztunnel) whose minor release reached its end of
life before the time of the scan, according to the support dates Istio publishes (kept as data
with their source in `crates/meshaudit-rules/data/istio-support.json`). Dates the table gave as
"expected" are marked approximate in the evidence. Minor releases newer than the table are not
reported (their end of life was not published when the data was taken).

A Linkerd release of the open-source stable channel (`stable-2.x.y`) is reported at `medium`
wherever it is written: the `linkerdVersion` of the control plane's `linkerd-config`, the images
of the controllers, proxies, viz dashboard and extension controllers, a proxy pinned by digest
whose injector recorded `linkerd.io/proxy-version`, and a pod template's
`config.linkerd.io/proxy-version` override. The Linkerd project stopped publishing open-source
stable releases on 2024-02-20, the last being `stable-2.14.10`, and now ships fixes only in new
edge releases, so a `stable-` release gets no further open-source fixes (data with its sources
in `crates/meshaudit-rules/data/linkerd-support.json`). Edge releases (`edge-24.5.1`) have no
end-of-life date — each is superseded by the next, and DEP011 reports the published fixes one
lacks — and vendor builds (`enterprise-2.16.1`) have no published dates in the data. Consul
end-of-life dates are not in the data.

It also reports, at `low`, pre-release builds (`1.23.0-beta.1`, `-rc.0`): they are not supported
releases and get no security patches.

## Why it matters

Istio supports a minor release until six weeks after the release two minors later; after that no
patch is published, whatever is found. The
[bulletins](https://istio.io/latest/news/security/) state that releases outside the support window
are not guaranteed to have known CVEs patched, so an end-of-life control plane or proxy stays
vulnerable to everything found later, and upgrading across several minors at once is riskier
than staying current.

## Example

```yaml
containers:
- name: discovery
  image: docker.io/istio/pilot:1.24.3   # 1.24 reached end of life on 2025-06-24
```

## Fix

Upgrade to a supported minor release, one minor at a time (or with revisions and canary
upgrades), and keep the data plane within one minor of the control plane.

## References

- Istio: Supported releases (support policy and status table) — https://istio.io/latest/docs/releases/supported-releases/
- Istio: Canary upgrades — https://istio.io/latest/docs/setup/upgrade/canary/
- endoflife.date: Istio — https://endoflife.date/istio
- Buoyant: Clarifications on the Linkerd 2.15 stable announcement (no more open-source stable releases) — https://buoyant.io/blog/clarifications-on-linkerd-2-15-stable-announcement
- Linkerd stable-2.14.10 release — https://github.com/linkerd/linkerd2/releases/tag/stable-2.14.10
- CWE-1104: Use of Unmaintained Third Party Components
"#,
    check,
};

const SUPPORT_JSON: &str = include_str!("../../../data/istio-support.json");

#[derive(Debug, Deserialize)]
struct SupportData {
    taken: String,
    unsupported_before: String,
    releases: Vec<SupportedRelease>,
}

#[derive(Debug, Deserialize)]
struct SupportedRelease {
    minor: String,
    end_of_life: String,
    #[serde(default)]
    approximate: bool,
}

const LINKERD_SUPPORT_JSON: &str = include_str!("../../../data/linkerd-support.json");

#[derive(Debug, Deserialize)]
struct LinkerdSupport {
    taken: String,
    open_source_stable_last: String,
    open_source_stable_ended: String,
}

static LINKERD_SUPPORT: LazyLock<Option<LinkerdSupport>> =
    LazyLock::new(|| serde_json::from_str(LINKERD_SUPPORT_JSON).ok());

static SUPPORT: LazyLock<Option<SupportData>> =
    LazyLock::new(|| serde_json::from_str(SUPPORT_JSON).ok());

/// Unix seconds at 00:00 UTC of `YYYY-MM-DD`.
fn date_to_unix(date: &str) -> Option<i64> {
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (proleptic Gregorian), after Howard Hinnant's public-domain algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// End of life of `version`'s minor line: `Some((date, approximate))`, `None` if unknown.
fn end_of_life(version: &Version) -> Option<(String, bool)> {
    let data = SUPPORT.as_ref()?;
    let line = version.minor_line();
    if let Some(r) = data.releases.iter().find(|r| r.minor == line) {
        return Some((r.end_of_life.clone(), r.approximate));
    }
    let floor = Version::parse(&data.unsupported_before)?;
    (version.major == floor.major && version.minor < floor.minor || version.major < floor.major)
        .then(|| ("before the oldest release in the table".to_owned(), false))
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    linkerd_config_stable(ctx, out);
    let Some(data) = SUPPORT.as_ref() else {
        return;
    };
    for inst in ctx.dependency_instances() {
        if inst.component.is_linkerd() {
            linkerd_stable(ctx, inst, out);
            continue;
        }
        if !inst.component.is_istio() {
            continue;
        }
        let Some(version) = &inst.version else {
            continue;
        };
        let w = &inv.workloads[inst.workload];
        let object = inv.object(w.object);
        if let Some(pre) = &version.pre {
            let mut f = inst.finding(inv, &RULE,
                format!(
                    "{} {} runs {} {version}, a pre-release build (`{pre}`) that gets no security patches",
                    w.kind,
                    object.qualified_name(),
                    inst.component.as_str()
                ),
            )
            .key(format!("{}:pre-release", inst.key))
            .evidence(format!("{}: {}", inst.place, inst.describe()))
            .remediation(format!(
                "Run a released, supported Istio version in {} instead of a pre-release build.",
                workload_name(&inv.workloads[inst.workload])
            ));
            f.severity = Severity::Low;
            out.push(f);
            continue;
        }
        let Some((eol, approximate)) = end_of_life(version) else {
            continue;
        };
        let ended = match date_to_unix(&eol) {
            Some(t) => t <= ctx.now,
            // Older than the table: unsupported for years.
            None => true,
        };
        if !ended {
            continue;
        }
        let when = if approximate {
            format!("around {eol} (the published date was an expected one)")
        } else {
            format!("on {eol}")
        };
        out.push(
            inst.finding(inv, &RULE,
                format!(
                    "{} {} runs {} {version}: Istio {} reached end of life {when} and gets no more security fixes",
                    w.kind,
                    object.qualified_name(),
                    inst.component.as_str(),
                    version.minor_line()
                ),
            )
            .key(format!("{}:end-of-life", inst.key))
            .evidence(format!("{}: {}", inst.place, inst.describe()))
            .evidence(format!(
                "Istio supports a minor release until 6 weeks after the N+2 minor release; support dates taken {} from https://istio.io/latest/docs/releases/supported-releases/",
                data.taken
            ))
            .remediation(format!(
                "Upgrade {} in {} to a supported Istio minor release (one minor at a time, or with a canary revision).",
                inst.component.as_str(),
                workload_name(&inv.workloads[inst.workload])
            )),
        );
    }
}

/// A control plane installed from the discontinued open-source stable channel, as its
/// `linkerd-config` records (`linkerdVersion`).
fn linkerd_config_stable(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let (Some(data), Some(config)) = (LINKERD_SUPPORT.as_ref(), inv.linkerd.config.as_ref()) else {
        return;
    };
    let Some(version) = &config.version else {
        return;
    };
    let Some(release) = LinkerdRelease::parse(&version.value) else {
        return;
    };
    if release.channel != LinkerdChannel::Stable {
        return;
    }
    let object = inv.object(config.object);
    let mut f = Finding::new(
        &RULE,
        config.object,
        object,
        &[],
        format!(
            "ConfigMap {} records a Linkerd {release} install: Linkerd's open-source stable channel ended with stable-{} ({}), so this control plane, and the proxies its injector adds, get no further open-source fixes",
            object.qualified_name(),
            data.open_source_stable_last,
            data.open_source_stable_ended
        ),
    )
    .key("linkerdVersion:end-of-life")
    .evidence(format!("linkerdVersion: {}", version.value))
    .evidence(format!(
        "since Linkerd 2.15 the project publishes edge releases; stable releases come from vendors (data taken {})",
        data.taken
    ))
    .remediation(
        "Upgrade the Linkerd control plane to a current edge release, or to a vendor-supported stable distribution, then restart meshed workloads so their proxies are re-injected.",
    );
    f.location = version.location.clone();
    f.mesh = Mesh::Linkerd;
    out.push(f);
}

/// A Linkerd image from the discontinued open-source stable channel.
fn linkerd_stable(
    ctx: &Context<'_>,
    inst: &meshaudit_engine::components::Instance,
    out: &mut Vec<Finding>,
) {
    let (Some(data), Some(version)) = (LINKERD_SUPPORT.as_ref(), &inst.version) else {
        return;
    };
    if inst.channel.as_deref() != Some("stable") {
        return;
    }
    let inv = ctx.inventory;
    let w = &inv.workloads[inst.workload];
    let object = inv.object(w.object);
    out.push(
        inst.finding(inv, &RULE,
            format!(
                "{} {} runs {} stable-{version}: Linkerd's open-source stable channel ended with stable-{} ({}), so this release gets no further open-source fixes",
                w.kind,
                object.qualified_name(),
                inst.component.as_str(),
                data.open_source_stable_last,
                data.open_source_stable_ended
            ),
        )
        .key(format!("{}:end-of-life", inst.key))
        .evidence(format!("{}: {}", inst.place, inst.describe()))
        .evidence(format!(
            "since Linkerd 2.15 the project publishes edge releases; stable releases come from vendors (data taken {})",
            data.taken
        ))
        .remediation(format!(
            "Move {} to a current Linkerd edge release, or to a vendor-supported stable distribution.",
            workload_name(&inv.workloads[inst.workload])
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_support_table_parses_and_dates_convert() {
        assert!(LINKERD_SUPPORT.is_some(), "linkerd-support.json parses");
        let data = SUPPORT.as_ref().expect("istio-support.json parses");
        assert!(data
            .releases
            .iter()
            .all(|r| date_to_unix(&r.end_of_life).is_some()));
        assert_eq!(date_to_unix("1970-01-01"), Some(0));
        assert_eq!(date_to_unix("2026-01-01"), Some(1_767_225_600));
        assert_eq!(date_to_unix("2026-13-01"), None);
    }

    #[test]
    fn end_of_life_by_minor_line() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(
            end_of_life(&v("1.24.3")),
            Some(("2025-06-24".into(), false))
        );
        assert_eq!(
            end_of_life(&v("1.24")).map(|e| e.0),
            Some("2025-06-24".into())
        );
        assert!(end_of_life(&v("1.5.2")).is_some());
        // Newer than the table: unknown, not reported.
        assert_eq!(end_of_life(&v("1.31.0")), None);
    }
}
