//! DEP008: the Linkerd viz dashboard with its Host header check disabled.

use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::exposure::{describe, exposures, linkerd_refuses_unauthenticated, Exposure};
use crate::rules::naming::workload_name;
use meshaudit_engine::components::Component;

pub static RULE: Rule = Rule {
    code: "DEP008",
    name: "linkerd-viz-host-check-disabled",
    title: "Linkerd viz dashboard accepts any Host header",
    category: Category::Dependencies,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "PCI-DSS:1.2.5",
        "PCI-DSS:2.2.4",
        "HIPAA:164.312(a)(1)",
    ],
    doc: r#"
## What it detects

The Linkerd viz dashboard (`web` container of `linkerd/web` images) run with `-enforced-host`
set to a pattern that accepts every host (`.*`, `^.*$`, `.+`) or to nothing. `medium`; `high` when
the dashboard is also published outside the cluster (LoadBalancer/NodePort Service or a Gateway
route without authentication), unless the only publishing Services lead to a Linkerd proxy that
refuses clients without a mesh identity on every published port (as DEP006 tells).

## Why it matters

The dashboard has no login: it relies on being reached only through `linkerd viz dashboard`
(a port-forward) and on `-enforced-host`, which rejects requests whose Host header is not the
dashboard's own name. That check stops DNS-rebinding attacks, where a web page opened in an
operator's browser talks to the dashboard and, through it, to the Linkerd API (tap included,
which shows live request metadata). Disabling it — usually to publish the dashboard under another
name — removes the only protection.

## Example

```yaml
containers:
- name: web
  image: cr.l5d.io/linkerd/web:stable-2.14.10
  args:
  - -linkerd-metrics-api-addr=metrics-api.linkerd-viz.svc.cluster.local:8085
  - -enforced-host=.*
```

## Fix

Keep the default `-enforced-host` (the dashboard's cluster-local names), or set it to exactly
the host name you publish it under, and put authentication in front of it (an ingress with
OAuth2/OIDC or basic auth).

## References

- Linkerd: Exposing the dashboard (DNS rebinding protection, `enforcedHostRegexp`) — https://linkerd.io/2-edge/tasks/exposing-dashboard/
- Linkerd: viz extension Helm values (`dashboard.enforcedHostRegexp`) — https://artifacthub.io/packages/helm/linkerd2/linkerd-viz
- CWE-350: Reliance on Reverse DNS Resolution for a Security-Critical Action
"#,
    check,
};

fn accepts_everything(pattern: &str) -> bool {
    let p = pattern.trim().trim_matches(['"', '\'']);
    matches!(
        p,
        "" | ".*" | "^.*$" | ".+" | "^.+$" | "^.*" | ".*$" | "(.*)" | "^(.*)$"
    )
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for inst in ctx.dependency_instances() {
        if inst.component != Component::LinkerdVizWeb || !inst.in_template(inv) {
            continue;
        }
        let w = &inv.workloads[inst.workload];
        // The container the instance came from (its path ends in `image`).
        let Some(Step::Index(ci)) = inst.path.get(inst.path.len().saturating_sub(2)).copied()
        else {
            continue;
        };
        let Some(container) = w.containers.get(ci) else {
            continue;
        };
        let mut hit = None;
        for (ai, arg) in container.args.iter().enumerate() {
            let arg = arg.trim();
            let flag = arg.trim_start_matches('-');
            if let Some(value) = flag.strip_prefix("enforced-host=") {
                if accepts_everything(value) {
                    hit = Some((ai, value.to_owned()));
                }
            } else if flag == "enforced-host" {
                let value = container.args.get(ai + 1).map_or("", String::as_str);
                if accepts_everything(value) {
                    hit = Some((ai, value.to_owned()));
                }
            }
        }
        let Some((ai, value)) = hit else { continue };
        let object = inv.object(w.object);
        let mut path: Vec<Step<'_>> = inst.path[..inst.path.len() - 1].to_vec();
        path.extend([Step::Key("args"), Step::Index(ai)]);
        let mut f = Finding::new(
            &RULE,
            w.object,
            object,
            &path,
            format!(
                "{} {} runs the Linkerd viz dashboard with -enforced-host={value}: it answers requests for any Host, which lets DNS-rebinding pages in an operator's browser use it",
                w.kind,
                object.qualified_name()
            ),
        )
        .key("enforced-host")
        .evidence(format!("{}: {}", inst.place, inst.describe()))
        .evidence(format!("args[{ai}]: {}", container.args[ai]))
        .remediation(format!(
            "Remove the -enforced-host override from {} (or set it to the exact host name it is published under) and put authentication in front of the dashboard.",
            workload_name(&inv.workloads[inst.workload])
        ));
        for e in exposures(ctx, inst.workload) {
            f = f.evidence(format!(
                "published outside the cluster: {}",
                describe(inv, &e)
            ));
            // A Service whose Linkerd proxy refuses clients without an identity does not let
            // the forged Host header through for now.
            let refused = match &e {
                Exposure::Service { index, .. } => {
                    linkerd_refuses_unauthenticated(ctx, inst.workload, &inv.services[*index])
                }
                _ => None,
            };
            match refused {
                Some(because) => {
                    for b in &because {
                        f.add_because(inv, b);
                    }
                }
                None => {
                    f.severity = Severity::High;
                    break;
                }
            }
        }
        out.push(f);
    }
}
