//! NET010: NetworkPolicy blocks traffic the mesh needs or explicitly allows.

use std::collections::{BTreeMap, HashMap};

use meshaudit_engine::authorization::{Decision, PeerIdentity};
use meshaudit_engine::graph::{Client, ServerPortId};
use meshaudit_engine::membership::DataPlane;
use meshaudit_engine::network_policy::NetVerdict;
use meshaudit_model::{AuthorizationPolicyId, NetworkPolicyId, Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use meshaudit_engine::components::is_istiod;

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
    let mut blocked: BTreeMap<Vec<NetworkPolicyId>, Vec<WorkloadId>> = BTreeMap::new();
    for (w, node) in graph.workloads_with_ids() {
        if node.istio_data_plane() != DataPlane::Ambient || index.ingress_policies(w).is_empty() {
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
                crate::rules::naming::list_workloads_qualified(inv, &workloads, 5)
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
    let Some((istiod, _)) = WorkloadId::enumerate(&inv.workloads).find(|(_, w)| is_istiod(w))
    else {
        return;
    };
    // Blocked proxies, by the policies that decided.
    let mut blocked: BTreeMap<Vec<NetworkPolicyId>, Vec<WorkloadId>> = BTreeMap::new();
    for (w, node) in graph.workloads_with_ids() {
        // Ambient pods have no proxy of their own: ztunnel talks to istiod.
        if w == istiod
            || !matches!(
                node.istio_data_plane(),
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
                crate::rules::naming::list_workloads_qualified(inv, &workloads, 5)
            ))
            .evidence(format!("decided by: {}", names))
            .remediation(format!(
                "Allow egress to istiod ({}/{}, port {XDS_PORT}) in the policies that isolate these workloads, and ingress on {XDS_PORT} at istiod.",
                target.namespace, target.name
            ));
        out.push(finding);
    }
}

/// One blocked pair: client, server port, AuthorizationPolicies that allow it.
struct Blocked<'g> {
    client: WorkloadId,
    server: ServerPortId,
    allowed_by: &'g [AuthorizationPolicyId],
}

/// Which side of a connection NetworkPolicy denies it on, and with which policies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Denial {
    /// The client's egress policies, when they deny.
    egress: Vec<NetworkPolicyId>,
    /// The server's ingress policies, when they deny.
    ingress: Vec<NetworkPolicyId>,
}

fn names(inv: &meshaudit_model::Inventory, policies: &[NetworkPolicyId]) -> String {
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
    let ranks: std::cell::OnceCell<Option<Vec<u32>>> = std::cell::OnceCell::new();
    // Clients by identity and by namespace, to expand the groups policies name.
    let mut by_identity: HashMap<(&str, &str), Vec<WorkloadId>> = HashMap::new();
    for (w, workload) in WorkloadId::enumerate(&inv.workloads) {
        by_identity
            .entry((
                workload.namespace.as_str(),
                workload.service_account.as_str(),
            ))
            .or_default()
            .push(w);
    }
    // By (the client's denying egress policies, the server's denying ingress policies, server
    // workload), borrowed from the graph: a million blocked pairs need no key of their own.
    type Key<'k> = (&'k [NetworkPolicyId], &'k [NetworkPolicyId], WorkloadId);
    // The blocked pairs of a range of server ports (positions in `graph.servers`), in order.
    let blocked_in = |range: &std::ops::Range<usize>| {
        let mut found: Vec<(Key<'_>, Blocked)> = Vec::new();
        for s in range.clone().map(ServerPortId::new) {
            let server = graph.server(s);
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
                let namespace = match (&group.client, &group.peer, &group.namespace) {
                    (Client::Workload(_), _, _) => None,
                    (_, PeerIdentity::Known { namespace, .. }, _) | (_, _, Some(namespace)) => {
                        Some(namespace.as_str())
                    }
                    _ => None,
                };
                // When NetworkPolicy answers every client of the namespace alike, ask it once for
                // the group, not once per member.
                let uniform =
                    namespace.and_then(|ns| graph.network_group_verdicts(inv, ns, group, server));
                if uniform.is_some_and(|(e, i)| e != NetVerdict::Denied && i != NetVerdict::Denied)
                {
                    continue;
                }
                let members: &[WorkloadId] = match (&group.client, &group.peer, &group.namespace) {
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
                    // The verdicts alone decide, and name the policies of the side that denies
                    // (those that isolate it): no evidence is built for the pairs.
                    let (egress, ingress) = uniform.unwrap_or_else(|| {
                        graph.network_direction_verdicts(inv, Client::Workload(client), server)
                    });
                    if egress != NetVerdict::Denied && ingress != NetVerdict::Denied {
                        continue;
                    }
                    let index = &graph.network_policies;
                    let egress: &[NetworkPolicyId] = if egress == NetVerdict::Denied {
                        index.egress_policies(client)
                    } else {
                        &[]
                    };
                    let ingress: &[NetworkPolicyId] = if ingress == NetVerdict::Denied {
                        index.ingress_policies(server.workload)
                    } else {
                        &[]
                    };
                    found.push((
                        (egress, ingress, server.workload),
                        Blocked {
                            client,
                            server: s,
                            allowed_by: &authz.decided_by,
                        },
                    ));
                }
            }
        }
        found
    };
    // Server ports are independent: walk them in chunks on every core, then gather the pairs in
    // server order, as a single pass would.
    const CHUNK: usize = 256;
    let chunks: Vec<std::ops::Range<usize>> = (0..graph.servers.len())
        .step_by(CHUNK)
        .map(|start| start..(start + CHUNK).min(graph.servers.len()))
        .collect();
    let mut by_slices: HashMap<Key<'_>, usize> = HashMap::new();
    let mut lists: Vec<Vec<Blocked>> = Vec::new();
    // Consecutive pairs mostly share their key: look it up once for them.
    let mut last: Option<(Key<'_>, usize)> = None;
    for (key, pair) in meshaudit_model::parallel::map_in_order(&chunks, blocked_in)
        .into_iter()
        .flatten()
    {
        let list = match last {
            Some((k, list)) if k == key => list,
            _ => {
                let list = *by_slices.entry(key).or_insert_with(|| {
                    lists.push(Vec::new());
                    lists.len() - 1
                });
                last = Some((key, list));
                list
            }
        };
        lists[list].push(pair);
    }
    let blocked: BTreeMap<(Denial, WorkloadId), Vec<Blocked>> = by_slices
        .into_iter()
        .map(|((egress, ingress, server), list)| {
            let denial = Denial {
                egress: egress.to_vec(),
                ingress: ingress.to_vec(),
            };
            ((denial, server), std::mem::take(&mut lists[list]))
        })
        .collect();
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
        let mut authz: Vec<AuthorizationPolicyId> = pairs
            .iter()
            .flat_map(|b| b.allowed_by.iter().copied())
            .collect();
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
        // Each pair's line is `client -> target:port`; they are sorted and counted as those
        // strings, but only the five shown are written out.
        let target_name = format!("{}/{}", target.namespace, target.name);
        let mut sorted: Vec<(&str, &str, u16)> = pairs
            .iter()
            .map(|b| {
                let c = &inv.workloads[b.client];
                (
                    c.namespace.as_str(),
                    c.name.as_str(),
                    graph.server(b.server).port,
                )
            })
            .collect();
        match ranks.get_or_init(|| client_ranks(inv)) {
            Some(ranks) => {
                // Only the clients' ranks and the ports' text differ between lines.
                let mut keyed: Vec<(u32, u64, usize)> = pairs
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        (
                            ranks[b.client.index()],
                            port_key(graph.server(b.server).port),
                            i,
                        )
                    })
                    .collect();
                keyed.sort_unstable();
                keyed.dedup_by_key(|(rank, port, _)| (*rank, *port));
                sorted = keyed.into_iter().map(|(_, _, i)| sorted[i]).collect();
            }
            None => {
                sorted.sort_by(|a, b| pair_line_cmp(*a, *b, &target_name));
                sorted.dedup_by(|a, b| pair_line_cmp(*a, *b, &target_name).is_eq());
            }
        }
        let count = sorted.len();
        let mut lines: Vec<String> = sorted
            .iter()
            .take(5)
            .map(|(namespace, name, port)| format!("{namespace}/{name} -> {target_name}:{port}"))
            .collect();
        if count > 5 {
            lines.push(format!("and {} more", count - 5));
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

/// Each workload's rank among the texts `namespace/name` of every workload (equal texts, equal
/// ranks). Lines `namespace/name -> target:port` of one target sort as their clients' ranks, then
/// their ports' text: where one client's text is a prefix of another's, the line goes on with
/// a space, which sorts before any character that can follow in a name. `None` when some
/// name holds a space or a control character, and that shortcut would not hold.
fn client_ranks(inv: &meshaudit_model::Inventory) -> Option<Vec<u32>> {
    let texts: Vec<String> = inv
        .workloads
        .iter()
        .map(|w| format!("{}/{}", w.namespace, w.name))
        .collect();
    if texts.iter().any(|t| t.bytes().any(|b| b <= b' ')) {
        return None;
    }
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_unstable_by(|&a, &b| texts[a].cmp(&texts[b]));
    let mut ranks = vec![0u32; texts.len()];
    let mut rank = 0u32;
    for (i, &w) in order.iter().enumerate() {
        if i > 0 && texts[order[i - 1]] != texts[w] {
            rank += 1;
        }
        ranks[w] = rank;
    }
    Some(ranks)
}

/// A port's decimal text as a number that orders like the text: digits from the top byte
/// down, shorter texts padded with zero bytes (which sort before any digit).
fn port_key(port: u16) -> u64 {
    port_digits(port)
        .as_text()
        .iter()
        .enumerate()
        .fold(0, |key, (i, &d)| key | u64::from(d) << (56 - 8 * i))
}

/// Compares the lines `namespace/name -> target:port` of two blocked pairs as strings, without
/// writing them.
fn pair_line_cmp(a: (&str, &str, u16), b: (&str, &str, u16), target: &str) -> std::cmp::Ordering {
    let (a_digits, b_digits) = (port_digits(a.2), port_digits(b.2));
    let arrow = b" -> ".as_slice();
    segments_cmp(
        &[
            a.0.as_bytes(),
            b"/",
            a.1.as_bytes(),
            arrow,
            target.as_bytes(),
            b":",
            a_digits.as_text(),
        ],
        &[
            b.0.as_bytes(),
            b"/",
            b.1.as_bytes(),
            arrow,
            target.as_bytes(),
            b":",
            b_digits.as_text(),
        ],
    )
}

/// Compares the concatenations of two lists of byte strings, a run of common length at a time.
fn segments_cmp(a: &[&[u8]], b: &[&[u8]]) -> std::cmp::Ordering {
    let (mut i, mut j) = (0, 0);
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() && i < a.len() {
            x = a[i];
            i += 1;
        }
        while y.is_empty() && j < b.len() {
            y = b[j];
            j += 1;
        }
        if x.is_empty() || y.is_empty() {
            return x.len().cmp(&y.len());
        }
        let n = x.len().min(y.len());
        match x[..n].cmp(&y[..n]) {
            std::cmp::Ordering::Equal => {
                x = &x[n..];
                y = &y[n..];
            }
            other => return other,
        }
    }
}

/// A port number's decimal text, on the stack.
struct PortText {
    digits: [u8; 5],
    start: usize,
}

impl PortText {
    fn as_text(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

fn port_digits(port: u16) -> PortText {
    let mut digits = [b'0'; 5];
    let mut start = 5;
    let mut rest = port;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    PortText { digits, start }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_keys_order_like_port_texts() {
        let ports = [0u16, 1, 9, 10, 80, 443, 999, 1000, 8080, 9090, 15012, 65535];
        for a in ports {
            for b in ports {
                assert_eq!(
                    port_key(a).cmp(&port_key(b)),
                    a.to_string().cmp(&b.to_string()),
                    "{a} {b}"
                );
            }
        }
    }

    /// The comparison orders lines exactly as the written strings sort, including names that
    /// are prefixes of others and ports of different lengths.
    #[test]
    fn pair_lines_compare_as_their_text() {
        let pairs = [
            ("a", "b", 8080),
            ("a", "b", 80),
            ("a", "b", 9),
            ("a", "b-c", 8080),
            ("a-b", "c", 443),
            ("a", "b", 15012),
            ("ab", "", 1),
            ("a", "b", 65535),
            ("a", "b", 0),
        ];
        let target = "ns/server";
        for a in pairs {
            for b in pairs {
                let text =
                    |(ns, name, port): (&str, &str, u16)| format!("{ns}/{name} -> {target}:{port}");
                assert_eq!(
                    pair_line_cmp(a, b, target),
                    text(a).cmp(&text(b)),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
