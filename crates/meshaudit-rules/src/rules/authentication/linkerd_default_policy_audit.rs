//! AUTHN014: Linkerd's `audit` default inbound policy decides ports meshed workloads serve, so
//! nothing is enforced there.

use meshaudit_engine::components::linkerd_extension;
use meshaudit_engine::linkerd::defaults::{default_policy_groups, PolicyGroup};
use meshaudit_engine::linkerd::membership::Level;
use meshaudit_model::linkerd::DefaultInboundPolicy;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN014",
    name: "linkerd-default-policy-audit",
    title: "Linkerd default inbound policy left on audit: nothing is enforced",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:7.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

The default inbound policy `audit` (Linkerd 2.16 and later) deciding ports meshed workloads serve
that no `Server` selects, wherever it is set: `proxy.defaultInboundPolicy` in `linkerd-config`, a
Namespace's or a pod template's `config.linkerd.io/default-inbound-policy`. One finding per place,
with the affected workloads and ports listed and each workload as a related location.
`config.linkerd.io/proxy-require-identity-inbound-ports` does not tighten `audit`, so listed ports
are reported too. Linkerd's own control-plane components are not counted.

Severity is `high`, as for `all-unauthenticated` (AUTHN013): what reaches the ports is the same.
It is `medium` when only Linkerd's own extensions (pods labelled `linkerd.io/extension`, such as
viz, whose APIs carry Servers of their own) are affected.

## Why it matters

`audit` is a rollout aid: it admits every client — with or without a mesh identity, from any
address — and only logs what a policy would have denied (`authz.name=audit` in the proxy's logs and
metrics). Left in place, it behaves exactly like `all-unauthenticated`: plaintext clients anywhere
reach the application, and the authorization the team believes it has is never enforced.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: catalog
  namespace: storefront
spec:
  template:
    metadata:
      annotations:
        config.linkerd.io/default-inbound-policy: audit
```

## Fix

Read the audit log for the clients that really call the workload, write a `Server` per port with
an `AuthorizationPolicy` for them, then replace `audit` with `deny` (or at least
`all-authenticated`) and restart the pods. Keep `audit` only for the duration of a rollout.

## References

- Linkerd: Server authorization policy, audit mode — https://linkerd.io/2.18/features/server-policy/#audit-mode
- Linkerd: Authorization policy, default policies — https://linkerd.io/2.18/reference/authorization-policy/#default-policies
- linkerd2 source: policy-controller/k8s/index/src/defaults.rs (the audit authorization) — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/defaults.rs
- NIST SP 800-204A, SM-DR6
- CWE-862: Missing Authorization
"#,
    check,
};

const MAX_LISTED: usize = 6;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let app_ports = ctx.linkerd_app_ports();
    let groups = default_policy_groups(
        inv,
        ctx.linkerd_membership(),
        ctx.linkerd_policy(),
        |w| app_ports[w.index()].iter().map(|p| p.port).collect(),
        |m, policy| !m.control_plane && policy == DefaultInboundPolicy::Audit,
    );
    for group in &groups {
        if let Some(f) = finding(ctx, group) {
            out.push(f);
        }
    }
}

fn finding(ctx: &Context<'_>, group: &PolicyGroup) -> Option<Finding> {
    let inv = ctx.inventory;
    let (object, path, location) = group.written_at(inv)?;
    let message = format!(
        "{} makes audit the default inbound policy of {} port(s) of {} meshed workload(s) that no Server selects: every client, plaintext included, from any address, is admitted and only logged — {}",
        group.setter(inv),
        group.ports.len(),
        group.by_workload().len(),
        group.listed(inv, MAX_LISTED),
    );
    let key = match group.level {
        Level::Cluster | Level::Default => "proxy.defaultInboundPolicy",
        _ => "config.linkerd.io/default-inbound-policy",
    };
    let mut f = Finding::new(&RULE, object, inv.object(object), &path, message).key(key);
    f.location = location;
    for b in &group.because {
        f.add_because(inv, b);
    }
    for b in group.members_because(inv) {
        f.relate(inv, &b);
    }
    let extensions_only = group
        .by_workload()
        .iter()
        .all(|(w, _)| linkerd_extension(inv, &inv.workloads[*w]).is_some());
    if extensions_only {
        f.severity = Severity::Medium;
        f = f.evidence(
            "severity medium: only Linkerd's own extensions (linkerd.io/extension) are affected; their APIs carry Servers of their own, and what is left are metrics and admin endpoints and the viz dashboard",
        );
    }
    let target = match group.level {
        Level::Cluster | Level::Default => {
            "proxy.defaultInboundPolicy in linkerd-config".to_owned()
        }
        Level::Namespace => format!(
            "config.linkerd.io/default-inbound-policy on Namespace {}",
            inv.object(object).name
        ),
        Level::Workload => format!(
            "config.linkerd.io/default-inbound-policy in the pod template of {} {}",
            inv.object(object).kind,
            inv.object(object).qualified_name()
        ),
    };
    Some(f.remediation(format!(
        "Authorize the clients the audit log shows with a Server and AuthorizationPolicy per port, then replace audit with deny (or all-authenticated) in {target} and restart the pods."
    )))
}
