//! AUTHN013: Linkerd's default inbound policy admits clients without a mesh identity on ports
//! that meshed workloads serve and no Server covers.

use meshaudit_engine::components::linkerd_extension;
use meshaudit_engine::linkerd::defaults::{default_policy_groups, PolicyGroup};
use meshaudit_engine::linkerd::membership::Level;
use meshaudit_model::linkerd::DefaultInboundPolicy;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN013",
    name: "linkerd-default-policy-unauthenticated",
    title: "Linkerd default inbound policy admits clients without a mesh identity",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "HIPAA:164.312(d)",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "PCI-DSS:7.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A default inbound policy of `all-unauthenticated` or `cluster-unauthenticated` that decides ports
meshed workloads serve: ports no `Server` selects (declared container ports, and ports a Service
targets) fall back to the pod's default policy. The finding is on the place that sets it, with the
affected workloads and ports listed and each workload as a related location:

- `linkerd-config` (`proxy.defaultInboundPolicy`, the install's cluster default; the chart's
  default is `all-unauthenticated`, so a `linkerd-config` that does not set it is reported too);
- a Namespace annotated `config.linkerd.io/default-inbound-policy`, which the proxy injector copies
  onto the pods it injects;
- a pod template annotated `config.linkerd.io/default-inbound-policy`.

`high` for `all-unauthenticated` (any address), `medium` for `cluster-unauthenticated` (sources in
`clusterNetworks`, which holds every pod of the cluster) and when only Linkerd's own extensions
(pods labelled `linkerd.io/extension`, such as viz, whose APIs carry Servers of their own) are
affected. Ports listed in
`config.linkerd.io/proxy-require-identity-inbound-ports` are tightened to the authenticated variant
and not reported; ports skipped by the proxy are AUTHN015's; `audit` is AUTHN014's. Linkerd's own
control-plane components, whose chart pins `all-unauthenticated` because the API server calls
their webhooks without a mesh identity, are not counted. Without `linkerd-config` in the input the
cluster default is not reported (nothing in the input sets it).

## Why it matters

Linkerd encrypts meshed-to-meshed traffic automatically, but it does not refuse plaintext: a port
that no `Server` selects is governed only by the default policy, and the `*-unauthenticated`
policies admit clients with no mesh identity at all. Any un-meshed pod — and, for
`all-unauthenticated`, anything that reaches the pod's address from outside the cluster, through a
LoadBalancer, NodePort or the node network — talks to the application in plaintext, and nothing
records who it was. Mutual TLS is then only opportunistic.

## Example

```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: storefront
  annotations:
    linkerd.io/inject: enabled
    config.linkerd.io/default-inbound-policy: cluster-unauthenticated
```

## Fix

Select each application port with a `Server` and authorize its clients with an
`AuthorizationPolicy` (MeshTLSAuthentication naming their ServiceAccounts), then tighten the default:
`all-authenticated` or `cluster-authenticated` at least, `deny` where every port has a Server.

At the cluster level set `proxy.defaultInboundPolicy` (`linkerd upgrade --set
proxy.defaultInboundPolicy=deny`, or the Helm value); at the namespace or workload level change
`config.linkerd.io/default-inbound-policy`. The namespace annotation reaches pods only when they are
injected: restart the workloads afterwards. Ports that must admit unauthenticated clients (an
ingress controller's public ports, kubelet probes are already allowed) get a Server of their own
with `accessPolicy: all-unauthenticated` or an explicit NetworkAuthentication, so the exception is
written down.

## References

- Linkerd: Authorization policy, default policies — https://linkerd.io/2.18/reference/authorization-policy/#default-policies
- Linkerd: Server authorization policy (Restricting traffic) — https://linkerd.io/2.18/features/server-policy/
- Linkerd: Configuring per-route policy and default policies — https://linkerd.io/2.18/tasks/restricting-access/
- linkerd2 source: policy-controller/k8s/index/src/defaults.rs, inbound/workload.rs — https://github.com/linkerd/linkerd2/tree/main/policy-controller/k8s/index/src
- linkerd2 source: pkg/inject/inject.go (AppendNamespaceAnnotations) — https://github.com/linkerd/linkerd2/blob/main/pkg/inject/inject.go
- NIST SP 800-204A, SM-DR6
- CWE-306: Missing Authentication for Critical Function
"#,
    check,
};

/// Workloads listed by name in the message; all of them are related locations.
const MAX_LISTED: usize = 6;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let memberships = ctx.linkerd_membership();
    let app_ports = ctx.linkerd_app_ports();
    let groups = default_policy_groups(
        inv,
        memberships,
        ctx.linkerd_policy(),
        |w| app_ports[w.index()].iter().map(|p| p.port).collect(),
        |m, policy| {
            !m.control_plane
                && matches!(
                    policy,
                    DefaultInboundPolicy::AllUnauthenticated
                        | DefaultInboundPolicy::ClusterUnauthenticated
                )
        },
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
    let by_workload = group.by_workload();
    let policy = group.policy;
    let who = if policy == DefaultInboundPolicy::ClusterUnauthenticated {
        "any client inside clusterNetworks (every pod of the cluster, meshed or not), plaintext included"
    } else {
        "any client from any address, plaintext included"
    };
    let message = format!(
        "{} makes {policy} the default inbound policy of {} port(s) of {} meshed workload(s) that no Server selects: they admit {who} — {}",
        group.setter(inv),
        group.ports.len(),
        by_workload.len(),
        group.listed(inv, MAX_LISTED),
    );
    let key = match group.level {
        Level::Cluster | Level::Default => "proxy.defaultInboundPolicy".to_owned(),
        _ => "config.linkerd.io/default-inbound-policy".to_owned(),
    };
    let mut f = Finding::new(&RULE, object, inv.object(object), &path, message).key(key);
    f.location = location;
    for b in &group.because {
        f.add_because(inv, b);
    }
    for b in group.members_because(inv) {
        f.relate(inv, &b);
    }
    let extensions_only = by_workload
        .iter()
        .all(|(w, _)| linkerd_extension(inv, &inv.workloads[*w]).is_some());
    if extensions_only && policy == DefaultInboundPolicy::AllUnauthenticated {
        f.severity = Severity::Medium;
        f = f.evidence(
            "severity medium: only Linkerd's own extensions (linkerd.io/extension) are affected; their APIs carry Servers of their own, and what is left are metrics and admin endpoints and the viz dashboard",
        );
    }
    if policy == DefaultInboundPolicy::ClusterUnauthenticated {
        f.severity = Severity::Medium;
        let (networks, because) = meshaudit_engine::linkerd::defaults::cluster_networks(inv);
        f.add_because(inv, &because);
        f = f.evidence(format!(
            "severity medium: sources are limited to clusterNetworks ({})",
            networks.text
        ));
    }
    let fix = match group.level {
        Level::Cluster | Level::Default => format!(
            "Select each of these ports with a Server and authorize its clients, then set proxy.defaultInboundPolicy to all-authenticated, cluster-authenticated or deny (linkerd upgrade --set proxy.defaultInboundPolicy=deny) and restart the meshed workloads; today's value is {policy}."
        ),
        Level::Namespace => format!(
            "Select each of these ports with a Server and authorize its clients, then change config.linkerd.io/default-inbound-policy on Namespace {} to all-authenticated, cluster-authenticated or deny and restart its workloads (the injector copies the annotation when it injects pods).",
            inv.object(object).name
        ),
        Level::Workload => format!(
            "Select each of these ports with a Server and authorize its clients, then change config.linkerd.io/default-inbound-policy in the pod template of {} {} to all-authenticated, cluster-authenticated or deny.",
            inv.object(object).kind,
            inv.object(object).qualified_name()
        ),
    };
    Some(f.remediation(fix))
}
