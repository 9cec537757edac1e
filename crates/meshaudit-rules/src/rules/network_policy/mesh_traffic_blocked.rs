//! NET010: NetworkPolicy blocks traffic the mesh needs or explicitly allows.

use std::collections::{BTreeMap, HashMap};

use meshaudit_engine::authorization::{Decision, PeerIdentity};
use meshaudit_engine::graph::Client;
use meshaudit_engine::membership::DataPlane;
use meshaudit_engine::network_policy::NetVerdict;
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::common::is_istiod;

pub static RULE: Rule = Rule {
    code: "NET010",
    name: "mesh-traffic-blocked",
    title: "NetworkPolicy blocks traffic the mesh needs or allows",
    category: Category::NetworkPolicy,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:A1.2", "SOC2:CC8.1", "NIST-800-204A:SM-DR2"],
    doc: r#"
## What it detects

Connections that NetworkPolicy blocks although the mesh depends on them or one of your
AuthorizationPolicies explicitly allows them — policies at the two layers that contradict each
other:

- **high**: sidecars and gateways that cannot reach istiod on port 15012 (xDS and certificates),
  because an egress policy of their own or an ingress policy of istiod leaves it out. Their proxies
  get no configuration and no workload certificate, so the pods never become ready, or keep
  serving with stale configuration until their certificate expires. Checked when istiod is in the
  input.
- **high**: ambient workloads whose ingress NetworkPolicies admit no pod on port 15008: ztunnel
  carries mesh traffic to that port of the destination pod over HBONE, so a policy that admits
  only the application's ports drops every meshed client.
- **medium**: a client that an ALLOW AuthorizationPolicy names (by principal, namespace or
  service account) at a server port, while NetworkPolicy (the server's ingress or the client's
  egress) drops the connection. The finding is on the NetworkPolicy that decided, and lists the
  blocked pairs and the AuthorizationPolicy that allows them.

## Why it matters

A contradiction between the layers is either an outage waiting for a deployment, or a sign that
one layer describes a different intent than the other — and people "fix" such outages by opening
the NetworkPolicy wide. Finding it offline, before rollout, keeps both layers honest.

## Example

```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-egress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: ["Egress"]     # and no rule for istiod:15012 or DNS
```

## Fix

Allow what the mesh needs in every namespace with an egress default deny — DNS and istiod:

```yaml
  egress:
    - to:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: istio-system}
          podSelector:
            matchLabels: {app: istiod}
      ports:
        - port: 15012
```

and align NetworkPolicy with the callers your AuthorizationPolicies allow (or remove the allow).

## References

- Istio: Application requirements, ports used by Istio — https://istio.io/latest/docs/ops/deployment/application-requirements/
- Istio: Ambient and Kubernetes NetworkPolicy (port 15008) — https://istio.io/latest/docs/ambient/usage/networkpolicy/
- Kubernetes: Network Policies — https://kubernetes.io/docs/concepts/services-networking/network-policies/
- Istio: Authorization policy — https://istio.io/latest/docs/reference/config/security/authorization-policy/
"#,
    check,
};

/// istiod's secure xDS and CA port.
const XDS_PORT: u16 = 15012;

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    control_plane_blocked(ctx, out);
    hbone_blocked(ctx, out);
    allowed_traffic_blocked(ctx, out);
}

/// Ambient workloads whose ingress policies admit no pod on the HBONE port.
fn hbone_blocked(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    use meshaudit_engine::graph::HBONE_PORT;
    use meshaudit_engine::network_policy::Source;

    let inv = ctx.inventory;
    let graph = ctx.graph();
    let index = &graph.network_policies;
    let mut blocked: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for (w, node) in graph.workloads.iter().enumerate() {
        if node.membership.data_plane != DataPlane::Ambient || index.ingress_policies(w).is_empty()
        {
            continue;
        }
        if index.connection_verdict(inv, Source::AnyPod, w, HBONE_PORT) == NetVerdict::Denied {
            blocked
                .entry(index.ingress_policies(w).to_vec())
                .or_default()
                .push(w);
        }
    }
    for (policies, workloads) in blocked {
        // The policy that admits something (the application's ports) but not HBONE is the one
        // to fix; a bare default deny is only its backdrop.
        let anchor = policies
            .iter()
            .copied()
            .find(|&p| {
                inv.network_policies[p]
                    .spec
                    .ingress
                    .as_ref()
                    .is_some_and(|rules| !rules.is_empty())
            })
            .unwrap_or(policies[0]);
        let policy = &inv.network_policies[anchor];
        let object = inv.object(policy.object);
        let names = names(inv, &policies);
        let mut finding = Finding::new(
            &RULE,
            policy.object,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "NetworkPolicy {}/{} admits no pod on port {HBONE_PORT} to {} ambient workload(s): mesh traffic reaches them over HBONE on that port, so every meshed client is dropped",
                policy.namespace,
                policy.name,
                workloads.len()
            ),
        )
        .key(format!("hbone:{}", names));
        finding.severity = Severity::High;
        finding = finding
            .evidence(format!(
                "blocked: {}",
                super::common::list_workloads_qualified(inv, &workloads, 5)
            ))
            .evidence(format!("isolated for ingress by: {}", names))
            .evidence("ztunnel tunnels ambient traffic to port 15008 of the destination pod, and NetworkPolicy is enforced on that port")
            .remediation(format!(
                "Admit TCP port {HBONE_PORT} (from the clients that call these workloads) in NetworkPolicy {}/{}, next to the application ports.",
                policy.namespace, policy.name
            ));
        out.push(finding);
    }
}

fn control_plane_blocked(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    let index = &graph.network_policies;
    let Some(istiod) = inv.workloads.iter().position(is_istiod) else {
        return;
    };
    // Blocked proxies, by the policies that decided.
    let mut blocked: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for (w, node) in graph.workloads.iter().enumerate() {
        // Ambient pods have no proxy of their own: ztunnel talks to istiod.
        if w == istiod
            || !matches!(
                node.membership.data_plane,
                DataPlane::Sidecar | DataPlane::Gateway
            )
        {
            continue;
        }
        let source = meshaudit_engine::network_policy::Source::Pod(w);
        // The verdict alone first: the evidence is only needed for the proxies cut off.
        if index.connection_verdict(inv, source, istiod, XDS_PORT) != NetVerdict::Denied {
            continue;
        }
        let decision = index.connection(inv, source, istiod, XDS_PORT);
        blocked.entry(decision.decided_by()).or_default().push(w);
    }
    let target = &inv.workloads[istiod];
    for (policies, workloads) in blocked {
        let Some(&first) = policies.first() else {
            continue;
        };
        let policy = &inv.network_policies[first];
        let object = inv.object(policy.object);
        let names = names(inv, &policies);
        let mut finding = Finding::new(
            &RULE,
            policy.object,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "NetworkPolicy {}/{} keeps the proxies of {} workload(s) from istiod {}/{} port {XDS_PORT}: they get no configuration and no certificates",
                policy.namespace,
                policy.name,
                workloads.len(),
                target.namespace,
                target.name
            ),
        )
        .key(format!("istiod:{}", names));
        finding.severity = Severity::High;
        finding = finding
            .evidence(format!(
                "blocked: {}",
                super::common::list_workloads_qualified(inv, &workloads, 5)
            ))
            .evidence(format!("decided by: {}", names))
            .remediation(format!(
                "Allow egress to istiod ({}/{}, port {XDS_PORT}) in the policies that isolate these workloads, and ingress on {XDS_PORT} at istiod.",
                target.namespace, target.name
            ));
        out.push(finding);
    }
}

/// One blocked pair: client, server port index, AuthorizationPolicies that allow it.
struct Blocked {
    client: usize,
    server: usize,
    allowed_by: Vec<usize>,
}

/// Which side of a connection NetworkPolicy denies it on, and with which policies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Denial {
    /// The client's egress policies, when they deny.
    egress: Vec<usize>,
    /// The server's ingress policies, when they deny.
    ingress: Vec<usize>,
}

fn names(inv: &meshaudit_model::Inventory, policies: &[usize]) -> String {
    policies
        .iter()
        .map(|&p| {
            let p = &inv.network_policies[p];
            format!("{}/{}", p.namespace, p.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn allowed_traffic_blocked(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let graph = ctx.graph();
    // Clients by identity and by namespace, to expand the groups policies name.
    let mut by_identity: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (w, workload) in inv.workloads.iter().enumerate() {
        by_identity
            .entry((
                workload.namespace.as_str(),
                workload.service_account.as_str(),
            ))
            .or_default()
            .push(w);
    }
    // By (denial, server workload).
    let mut blocked: BTreeMap<(Denial, usize), Vec<Blocked>> = BTreeMap::new();
    for (s, server) in graph.servers.iter().enumerate() {
        for group in &server.groups {
            // Only answers a policy gave clients by name (individually, or by their identity
            // or namespace), not the catch-all groups.
            if std::ptr::eq(group, server.other_meshed())
                || std::ptr::eq(group, server.other_unmeshed())
            {
                continue;
            }
            let Some(authz) = &group.authorization else {
                continue;
            };
            if authz.decision != Decision::Allowed || authz.decided_by.is_empty() {
                continue;
            }
            // Groups of named clients hold clients of one namespace (`group.namespace`); a
            // known identity narrows that to one service account. Membership is confirmed
            // below, so a superset is fine.
            let members: &[usize] = match (&group.client, &group.peer, &group.namespace) {
                (Client::Workload(c), _, _) => std::slice::from_ref(c),
                (
                    _,
                    PeerIdentity::Known {
                        namespace,
                        service_account,
                    },
                    _,
                ) => by_identity
                    .get(&(namespace.as_str(), service_account.as_str()))
                    .map_or(&[], Vec::as_slice),
                (_, _, Some(namespace)) => inv.workload_indexes_in(namespace),
                _ => &[],
            };
            for &client in members {
                // A member may still be answered elsewhere (individually, or past its proxy).
                if client == server.workload
                    || !std::ptr::eq(server.group_for(graph, Client::Workload(client)), group)
                {
                    continue;
                }
                if graph.network_verdict(inv, Client::Workload(client), server)
                    != NetVerdict::Denied
                {
                    continue;
                }
                let network = graph.network(inv, Client::Workload(client), server);
                let side = |d: Option<&meshaudit_engine::network_policy::DirectionDecision>| {
                    d.filter(|d| d.verdict == NetVerdict::Denied)
                        .map(|d| d.isolated_by.clone())
                        .unwrap_or_default()
                };
                let denial = Denial {
                    egress: side(network.egress.as_ref()),
                    ingress: side(Some(&network.ingress)),
                };
                blocked
                    .entry((denial, server.workload))
                    .or_default()
                    .push(Blocked {
                        client,
                        server: s,
                        allowed_by: authz.decided_by.clone(),
                    });
            }
        }
    }
    for ((denial, server_workload), pairs) in blocked {
        // Point at the server's own ingress policy that names it, else at the first policy
        // of the side that denies.
        let anchor = denial
            .ingress
            .iter()
            .copied()
            .find(|&p| !inv.network_policies[p].spec.pod_selector.is_empty())
            .or_else(|| denial.ingress.first().copied())
            .or_else(|| denial.egress.first().copied());
        let Some(anchor) = anchor else {
            continue;
        };
        let policy = &inv.network_policies[anchor];
        let object = inv.object(policy.object);
        let target = &inv.workloads[server_workload];
        let mut authz: Vec<usize> = pairs.iter().flat_map(|b| b.allowed_by.clone()).collect();
        authz.sort_unstable();
        authz.dedup();
        let authz_names: Vec<String> = authz
            .iter()
            .map(|&p| {
                let p = &inv.istio.authorization_policies[p];
                format!("{}/{}", p.namespace, p.name)
            })
            .collect();
        let mut sides: Vec<String> = Vec::new();
        if !denial.egress.is_empty() {
            sides.push(format!(
                "the client's egress ({})",
                names(inv, &denial.egress)
            ));
        }
        if !denial.ingress.is_empty() {
            sides.push(format!(
                "the server's ingress ({})",
                names(inv, &denial.ingress)
            ));
        }
        let mut lines: Vec<String> = pairs
            .iter()
            .map(|b| {
                let c = &inv.workloads[b.client];
                format!(
                    "{}/{} -> {}/{}:{}",
                    c.namespace,
                    c.name,
                    target.namespace,
                    target.name,
                    graph.servers[b.server].port
                )
            })
            .collect();
        lines.sort();
        lines.dedup();
        let count = lines.len();
        if lines.len() > 5 {
            let more = lines.len() - 5;
            lines.truncate(5);
            lines.push(format!("and {more} more"));
        }
        let mut key: Vec<String> = vec![format!("{}/{}", target.namespace, target.name)];
        key.extend(denial.egress.iter().chain(&denial.ingress).map(|&p| {
            let p = &inv.network_policies[p];
            format!("{}/{}", p.namespace, p.name)
        }));
        let finding = Finding::new(
            &RULE,
            policy.object,
            object,
            &[Step::Key("metadata"), Step::Key("name")],
            format!(
                "NetworkPolicy blocks {count} connection(s) to {}/{} that AuthorizationPolicy {} explicitly allows: {} denies them",
                target.namespace,
                target.name,
                authz_names.join(", "),
                sides.join(" and ")
            ),
        )
        .key(key.join(","))
        .evidence(format!("blocked: {}", lines.join(", ")))
        .remediation(format!(
            "Either admit these clients in {} or remove them from AuthorizationPolicy {}, so that both layers say the same.",
            sides.join(" and "),
            authz_names.join(", ")
        ));
        out.push(finding);
    }
}
