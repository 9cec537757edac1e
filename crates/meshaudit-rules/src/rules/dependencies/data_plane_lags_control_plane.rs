//! DEP003: proxies that run an older (or newer) release than the control plane that serves them.

use std::collections::BTreeMap;

use crate::advisories::Version;
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use meshaudit_model::Step;

use super::instances::InstanceFinding;
use crate::rules::naming::workload_name;
use meshaudit_engine::components::{istio_revision, Component, Instance, PROXY_IMAGE_ANNOTATION};

pub static RULE: Rule = Rule {
    code: "DEP003",
    name: "data-plane-lags-control-plane",
    title: "Data-plane proxy version differs from its control plane",
    category: Category::Dependencies,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd],
    compliance: &[
        "SOC2:CC7.1",
        "SOC2:CC8.1",
        "PCI-DSS:6.3.3",
        "HIPAA:164.308(a)(1)(ii)(B)",
    ],
    doc: r#"
## What it detects

Istio proxies (the `istio-proxy` container of Pods as `kubectl get pods -o yaml` prints them —
reported on their Deployment or other controller when it is in the input — a
gateway Deployment's `proxyv2` image, or the `sidecar.istio.io/proxyImage` annotation) whose
release differs from istiod's for the same revision (`istio.io/rev` of the proxy's pod, the
revision recorded by the injector, or its namespace's label; `default` otherwise). When the input
has a single istiod version, proxies of unknown revision are compared with it.

- `medium`: the proxy is two or more minor releases behind istiod, or ahead of it — outside
  Istio's supported skew (the control plane may be one minor ahead of the data plane, never
  behind).
- `low`: one minor behind — supported, but the proxy misses the fixes of its newer control plane.
- `info`: same minor, older patch.

For Linkerd, a `linkerd-proxy` whose version differs from the Linkerd controller's in the input is
reported at `low` (Linkerd expects the proxies to be restarted onto the control plane's version
after each upgrade), `medium` when it is two or more minor releases apart, of another major, or
of another channel. Edge releases (`edge-YY.M.N`) are numbered by year and month, so their
distance is counted in months, across a year boundary too (`edge-24.11.8` is six months from
`edge-25.5.1`).

## Why it matters

Upgrading istiod does not upgrade sidecars: each pod keeps the proxy it was injected with until
it restarts. Old proxies keep their vulnerabilities (the bulletins mostly fix Envoy, which runs in
the proxy), and outside the supported skew the configuration istiod sends may be misread, which
can silently drop security settings.

## Example

```yaml
# istiod: docker.io/istio/pilot:1.30.4
apiVersion: v1
kind: Pod
metadata: {name: orders-7c9f, namespace: orders}
spec:
  containers:
  - name: istio-proxy
    image: docker.io/istio/proxyv2:1.28.1   # two minors behind istiod
```

## Fix

Restart the workloads (`kubectl rollout restart deployment/...`) so they are injected with the
current proxy, and upgrade gateways with the control plane; with revisions, move namespaces to
the new revision and restart them before removing the old one.

## References

- Istio: Supported releases, Control Plane/Data Plane Skew — https://istio.io/latest/docs/releases/supported-releases/#control-planedata-plane-skew
- Istio: In-place upgrades (restart the data plane) — https://istio.io/latest/docs/setup/upgrade/in-place/
- Linkerd: Upgrading (upgrade the data plane) — https://linkerd.io/2-edge/tasks/upgrade/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let all = ctx.dependency_instances();
    // istiod versions by revision.
    let mut control: BTreeMap<String, Vec<&Instance>> = BTreeMap::new();
    for i in all
        .iter()
        .filter(|i| i.component == Component::IstioPilot && i.version.is_some())
    {
        control
            .entry(istio_revision(inv, &inv.workloads[i.workload]))
            .or_default()
            .push(i);
    }
    let single: Option<&Instance> = {
        let versions: std::collections::BTreeSet<&Version> = control
            .values()
            .flatten()
            .filter_map(|i| i.version.as_ref())
            .collect();
        (versions.len() == 1)
            .then(|| control.values().flatten().copied().next())
            .flatten()
    };
    for proxy in all.iter().filter(|i| i.component == Component::IstioProxy) {
        let Some(pv) = &proxy.version else { continue };
        let rev = istio_revision(inv, &inv.workloads[proxy.workload]);
        let Some(cp) = control
            .get(&rev)
            .and_then(|l| l.first().copied())
            .or(single)
        else {
            continue;
        };
        let Some(cv) = &cp.version else { continue };
        let Some((severity, what)) = istio_skew(pv, cv) else {
            continue;
        };
        out.push(lag_finding(
            ctx,
            proxy,
            cp,
            pv,
            cv,
            severity,
            &what,
            Some(&rev),
        ));
    }
    // Linkerd: proxies against the controller.
    let controller = all.iter().find(|i| {
        matches!(
            i.component,
            Component::LinkerdController | Component::LinkerdPolicyController
        ) && i.version.is_some()
    });
    if let Some(cp) = controller {
        let cv = cp.version.as_ref().unwrap_or_else(|| unreachable!());
        for proxy in all
            .iter()
            .filter(|i| i.component == Component::LinkerdProxy)
        {
            let Some(pv) = &proxy.version else { continue };
            if pv == cv && proxy.channel == cp.channel {
                continue;
            }
            let (severity, what) = if let Some(what) = linkerd_distance(proxy, cp, pv, cv) {
                (Severity::Medium, what)
            } else {
                (
                    Severity::Low,
                    "a different release than the Linkerd control plane".to_owned(),
                )
            };
            out.push(lag_finding(ctx, proxy, cp, pv, cv, severity, &what, None));
        }
    }
}

/// How far a Linkerd proxy's release `pv` is from its controller's `cv`, when far enough to be
/// `medium`: another channel, two or more minor releases, or another major. Edge releases are
/// numbered `edge-YY.M.N`, by year and month, so across a year boundary the distance is counted
/// in months, as within a year.
fn linkerd_distance(proxy: &Instance, cp: &Instance, pv: &Version, cv: &Version) -> Option<String> {
    if proxy.channel != cp.channel {
        return Some("a release of another channel than the Linkerd control plane's".to_owned());
    }
    let edge = proxy.channel.as_deref() == Some("edge");
    let apart = if pv.major == cv.major {
        pv.minor.abs_diff(cv.minor)
    } else if edge {
        (pv.major * 12 + pv.minor).abs_diff(cv.major * 12 + cv.minor)
    } else {
        return Some("a different major release than the Linkerd control plane".to_owned());
    };
    (apart >= 2).then(|| {
        if edge {
            format!("{apart} months of edge releases away from the Linkerd control plane")
        } else {
            format!("{apart} minor release(s) away from the Linkerd control plane")
        }
    })
}

/// How an Istio proxy release `pv` stands against its istiod release `cv`, per Istio's skew
/// policy (control plane at most one minor ahead, never behind); `None` when they agree.
fn istio_skew(pv: &Version, cv: &Version) -> Option<(Severity, String)> {
    let behind = pv.minors_behind(cv);
    Some(if behind >= 2 {
        (
            Severity::Medium,
            format!("{behind} minor releases behind istiod, outside Istio's supported skew (at most one)"),
        )
    } else if behind < 0 {
        (
            Severity::Medium,
            "ahead of istiod, which Istio does not support (the data plane may not be newer than the control plane)".to_owned(),
        )
    } else if behind == 1 {
        (
            Severity::Low,
            "one minor release behind istiod (supported, but without the newer release's fixes)"
                .to_owned(),
        )
    } else if pv < cv && pv.patch.is_some() {
        (
            Severity::Info,
            "an older patch release than istiod".to_owned(),
        )
    } else {
        return None;
    })
}

#[allow(clippy::too_many_arguments)]
fn lag_finding(
    ctx: &Context<'_>,
    proxy: &Instance,
    cp: &Instance,
    pv: &Version,
    cv: &Version,
    severity: Severity,
    what: &str,
    revision: Option<&str>,
) -> Finding {
    let inv = ctx.inventory;
    let w = &inv.workloads[proxy.workload];
    let object = inv.object(w.object);
    let mut f = proxy.finding(inv, &RULE,
        format!(
            "{} {}: its {} runs {pv}, {what}: the control plane runs {cv}",
            w.kind,
            object.qualified_name(),
            proxy.component.as_str()
        ),
    )
    .key(format!("{}:lag", proxy.key))
    .evidence(format!("proxy, {}: {}", proxy.place, proxy.describe()))
    .evidence(format!(
        "control plane, {} {}: {}",
        workload_name(&inv.workloads[cp.workload]),
        cp.place,
        cp.describe()
    ))
    .remediation(if proxy.path.contains(&Step::Key(PROXY_IMAGE_ANNOTATION)) {
        format!(
            "Remove the {PROXY_IMAGE_ANNOTATION} annotation of {} (or point it at the control plane's release, {cv}), then restart it: the annotation keeps the old proxy across restarts.",
            workload_name(&inv.workloads[proxy.workload])
        )
    } else {
        format!(
            "Restart {} so it is injected with the control plane's proxy ({cv}), or upgrade its proxy image to match.",
            workload_name(&inv.workloads[proxy.workload])
        )
    });
    if let Some(rev) = revision {
        f = f.evidence(format!("Istio revision: {rev}"));
    }
    f.severity = severity;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skew(p: &str, c: &str) -> Option<Severity> {
        istio_skew(&Version::parse(p).unwrap(), &Version::parse(c).unwrap()).map(|(s, _)| s)
    }

    #[test]
    fn skew_follows_istio_policy() {
        assert_eq!(skew("1.30.4", "1.30.4"), None);
        assert_eq!(skew("1.30.4-distroless", "1.30.4"), None);
        assert_eq!(skew("1.30.1", "1.30.4"), Some(Severity::Info));
        assert_eq!(skew("1.29.7", "1.30.4"), Some(Severity::Low));
        assert_eq!(skew("1.28.9", "1.30.0"), Some(Severity::Medium));
        // Newer data plane than control plane: unsupported, even by one minor.
        assert_eq!(skew("1.31.0", "1.30.4"), Some(Severity::Medium));
        // A newer patch of the same minor is not a skew.
        assert_eq!(skew("1.30.5", "1.30.4"), None);
        // Floating proxy tag of the same minor: nothing to say.
        assert_eq!(skew("1.30", "1.30.4"), None);
    }
}
