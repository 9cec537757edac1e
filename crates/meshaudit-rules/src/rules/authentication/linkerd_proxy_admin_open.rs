//! AUTHN017: the Linkerd proxy's admin port (4191) answers clients without a mesh identity.

use meshaudit_engine::linkerd::defaults::{default_policy_groups, PolicyGroup};
use meshaudit_engine::linkerd::membership::Level;
use meshaudit_model::linkerd::{DefaultInboundPolicy, PROXY_ADMIN_PORT};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN017",
    name: "linkerd-proxy-admin-open",
    title: "Linkerd proxy admin port open to clients without a mesh identity",
    category: Category::Authentication,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "PCI-DSS:1.3.1",
        "PCI-DSS:2.2.4",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

Meshed workloads whose proxy admin port (`linkerd-admin`, 4191) is selected by no `Server`, so
their default inbound policy decides it, and that policy admits clients without a mesh identity
(`all-unauthenticated`, `cluster-unauthenticated` or `audit`). One finding per place that sets the
policy — `linkerd-config`, a Namespace, a pod template — listing the workloads, not one per pod.
`medium` when any address is admitted, `low` for `cluster-unauthenticated`. Linkerd's own
control-plane components are not counted (their chart pins `all-unauthenticated`; restrict them
with a NetworkPolicy).

## Why it matters

Port 4191 is not redirected by iptables: the proxy's admin server answers it directly and applies
only the port's inbound policy. Besides `/live` and `/ready` (which kubelet probes use, and which
Linkerd always admits from `probeNetworks`), it serves `/metrics` — every request, peer and
identity the proxy has seen — and `/env.json`, the proxy's whole environment. Under an
unauthenticated default anyone who reaches a pod's address can read them, which maps the mesh for
an attacker and leaks configuration.

## Example

```yaml
# linkerd-config, data.values
proxy:
  defaultInboundPolicy: all-unauthenticated
# ... and no Server with `port: linkerd-admin` in the application namespaces
```

## Fix

In each namespace, add a `Server` selecting every pod (`podSelector: {}`) on `port: linkerd-admin`,
with an `AuthorizationPolicy` for your metrics scraper only (for example viz Prometheus'
ServiceAccount through a MeshTLSAuthentication), as Linkerd's multicluster chart does for its own
pods. Kubelet probes of `/live` and `/ready` keep working: Linkerd authorizes them separately.

## References

- Linkerd: Authorization policy, default authorizations (probes) — https://linkerd.io/2.18/features/server-policy/#default-authorizations
- Linkerd: Proxy metrics — https://linkerd.io/2.18/reference/proxy-metrics/
- linkerd2-proxy source: linkerd/app/admin/src/server.rs (admin endpoints) — https://github.com/linkerd/linkerd2-proxy/blob/main/linkerd/app/admin/src/server.rs
- linkerd2 source: multicluster chart, the `linkerd-admin` Server — https://github.com/linkerd/linkerd2/tree/main/multicluster/charts/linkerd-multicluster/templates
- NIST SP 800-204A, SM-DR1
- CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
"#,
    check,
};

const MAX_LISTED: usize = 6;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let groups = default_policy_groups(
        inv,
        ctx.linkerd_membership(),
        ctx.linkerd_policy(),
        |_| vec![PROXY_ADMIN_PORT],
        |m, policy| !m.control_plane && policy.admits_unauthenticated(),
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
    let workloads: Vec<String> = by_workload
        .iter()
        .take(MAX_LISTED)
        .map(|(w, _)| {
            let workload = &inv.workloads[*w];
            format!("{} {}/{}", workload.kind, workload.namespace, workload.name)
        })
        .collect();
    let more = by_workload.len().saturating_sub(MAX_LISTED);
    let policy = group.policy;
    let who = if policy == DefaultInboundPolicy::ClusterUnauthenticated {
        "any client inside clusterNetworks"
    } else {
        "any client that reaches a pod's address"
    };
    let message = format!(
        "{} makes {policy} the policy of the Linkerd proxy's admin port {PROXY_ADMIN_PORT} on {} meshed workload(s), as no Server selects port linkerd-admin: /metrics and /env.json answer {who} without a mesh identity — {}{}",
        group.setter(inv),
        group.ports.len(),
        workloads.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    );
    let key = match group.level {
        Level::Cluster | Level::Default => "proxy.defaultInboundPolicy/linkerd-admin",
        _ => "config.linkerd.io/default-inbound-policy/linkerd-admin",
    };
    let mut f = Finding::new(&RULE, object, inv.object(object), &path, message).key(key);
    f.location = location;
    for b in &group.because {
        f.add_because(inv, b);
    }
    for b in group.members_because(inv) {
        f.relate(inv, &b);
    }
    if policy == DefaultInboundPolicy::ClusterUnauthenticated {
        f.severity = Severity::Low;
        f = f.evidence("severity low: sources are limited to clusterNetworks");
    }
    let mut namespaces: Vec<&str> = by_workload
        .iter()
        .map(|(w, _)| inv.workloads[*w].namespace.as_str())
        .collect();
    namespaces.dedup();
    namespaces.sort_unstable();
    namespaces.dedup();
    Some(f.remediation(format!(
        "Add a Server selecting every pod on port linkerd-admin, with an AuthorizationPolicy for your metrics scraper only, in namespace(s) {}.",
        namespaces.join(", ")
    )))
}
