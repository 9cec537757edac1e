//! AUTHZ015: a Linkerd authorization that admits clients without a mesh identity, from any
//! address or from the whole cluster network.

use meshaudit_engine::linkerd::policy::{
    Admits, AuthRef, Authorization, AuthzSource, ClientNetwork, LinkerdPolicy, NetworksOrigin,
};
use meshaudit_model::linkerd::ProxyProtocol;
use meshaudit_model::{
    Idx, Inventory, LinkerdAuthorizationPolicyId, LinkerdServerId, ObjectId, Step, WorkloadId,
};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::linkerd::membership::Inject;
use meshaudit_engine::sensitivity::workload_sensitivity;

pub static RULE: Rule = Rule {
    code: "AUTHZ015",
    name: "linkerd-authorization-admits-unauthenticated",
    title: "Linkerd authorization admits clients without a mesh identity",
    category: Category::Authorization,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "HIPAA:164.312(a)(1)",
        "HIPAA:164.312(d)",
        "PCI-DSS:7.2.1",
        "PCI-DSS:8.3.1",
        "NIST-800-204A:SM-DR6",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

An authorization on meshed pod ports that admits clients without a mesh identity (plaintext):

- an `AuthorizationPolicy` without a MeshTLSAuthentication or ServiceAccount ref — in particular
  `requiredAuthenticationRefs: []`, which requires nothing at all, or a NetworkAuthentication as
  its only requirement;
- a `ServerAuthorization` with `client.unauthenticated: true`;
- a `Server` whose `accessPolicy` is `all-unauthenticated`, `cluster-unauthenticated` or `audit`.

Severity follows where such clients may come from. From any address (no NetworkAuthentication,
one such as `0.0.0.0/0` and `::/0`, or a `/0` entry with exceptions): `high`. From every pod
address of the cluster (a ServerAuthorization without `networks`, which means
`clusterNetworks`, a `cluster-unauthenticated` access policy, or networks that hold
`clusterNetworks`): `medium` — every pod of the cluster,
unmeshed or compromised, still gets in without identity. One level higher when the pods or their
namespace are marked as holding sensitive data (the labels NET006 reads, e.g.
`data-classification: pci`); `critical` only for sensitive ports admitted from any address that a
LoadBalancer or NodePort Service (or externalIPs) also publishes outside the cluster. `low` (`medium` if sensitive) when every port concerned is a
`proxyProtocol: TLS` Server: the application terminates TLS itself and may authenticate its
clients, as Linkerd's own viz tap API does for the Kubernetes API server.

Narrower networks that leave part of the pod addresses out (the node network for kubelet, the
API server's addresses for a webhook) are taken as a deliberate exception and not reported.
Ports of pods meshed in `ingress` mode (`linkerd.io/inject: ingress`) are left out: an ingress
controller's public ports are meant for clients without identity.

## Why it matters

Linkerd gives every meshed workload a cryptographic identity; an authorization that does not
require one lets anything that can reach the pod address in — an unmeshed pod, a pod whose
proxy was skipped, a workload of another namespace, or the internet through a LoadBalancer or a
node port. Network addresses are not identities: inside the cluster they are shared and
reassigned. An empty `requiredAuthenticationRefs` list is easily mistaken for "nothing allowed
yet"; Linkerd reads it as "nothing required".

## Example

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: invoices-all
  namespace: billing
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: invoices-http
  requiredAuthenticationRefs: []
```

## Fix

Require the callers' identities; add a NetworkAuthentication only to narrow further:

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: invoices-from-orders
  namespace: billing
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: invoices-http
  requiredAuthenticationRefs:
  - kind: ServiceAccount
    name: orders
    namespace: checkout
```

## References

- Linkerd: Authorization policy reference (AuthorizationPolicy, NetworkAuthentication, ServerAuthorization) — https://linkerd.io/2.18/reference/authorization-policy/
- Linkerd: Restricting access to services — https://linkerd.io/2.18/tasks/restricting-access/
- linkerd2 policy controller, `policy_client_authz` (no identity ref: unauthenticated; no network ref: all networks) — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/inbound/index.rs
- linkerd2 policy controller, ServerAuthorization networks default to clusterNetworks — https://github.com/linkerd/linkerd2/blob/main/policy-controller/grpc/src/inbound.rs
- CWE-306: Missing Authentication for Critical Function
"#,
    check,
};

struct Candidate<'x, 'a> {
    object: ObjectId,
    path: Vec<Step<'static>>,
    authz: &'x Authorization<'a>,
    governs: Vec<(WorkloadId, u16)>,
}

fn raise(s: Severity) -> Severity {
    match s {
        Severity::Info => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// The network list the authorization writes itself (its NetworkAuthentication's, or a
/// ServerAuthorization's `client.networks`); empty when it writes none.
fn written_networks<'i>(
    inv: &'i Inventory,
    a: &Authorization<'_>,
) -> &'i [meshaudit_model::linkerd::Network] {
    match (a.networks.origin, a.source) {
        (NetworksOrigin::NetworkAuthentication(n), _) => inv.linkerd.network_authentications[n]
            .spec
            .networks
            .as_slice(),
        (NetworksOrigin::Written, AuthzSource::ServerAuthorization(i)) => {
            inv.linkerd.server_authorizations[i]
                .spec
                .client
                .networks
                .as_deref()
                .unwrap_or_default()
        }
        _ => &[],
    }
}

/// Does the authorization's own network list hold a `0.0.0.0/0` or `::/0` entry (whatever its
/// exceptions)? Then it means "everywhere but", not a chosen range.
fn writes_everything(inv: &Inventory, a: &Authorization<'_>) -> bool {
    written_networks(inv, a)
        .iter()
        .any(|n| n.cidr.cidr.is_everything())
}

/// The field of a policy that lets plaintext in: its NetworkAuthentication ref when it has
/// one, else the refs list.
fn policy_path(lp: &LinkerdPolicy<'_>, index: LinkerdAuthorizationPolicyId) -> Vec<Step<'static>> {
    let refs = &lp.policy(index).refs;
    let mut path = vec![Step::Key("spec"), Step::Key("requiredAuthenticationRefs")];
    if let Some(i) = refs
        .iter()
        .position(|r| matches!(r, AuthRef::Network { .. }))
    {
        path.push(Step::Index(i));
    }
    path
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !inv.linkerd.is_present() {
        return;
    }
    let lp = ctx.linkerd_policy();
    let mut candidates: Vec<Candidate<'_, '_>> = Vec::new();
    for (i, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
        if let Some(a) = &lp.policy(i).authorization {
            candidates.push(Candidate {
                object: p.object,
                path: policy_path(lp, i),
                authz: a,
                governs: lp.policy_governs(i),
            });
        }
    }
    for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
        if let Some(a) = &lp.server_authorization(i).authorization {
            candidates.push(Candidate {
                object: saz.object,
                path: vec![
                    Step::Key("spec"),
                    Step::Key("client"),
                    Step::Key("unauthenticated"),
                ],
                authz: a,
                governs: lp.server_authorization_governs(i),
            });
        }
    }
    for (s, server) in LinkerdServerId::enumerate(&inv.linkerd.servers) {
        let facts = lp.server(s);
        for a in &facts.authorizations {
            if matches!(a.source, AuthzSource::AccessPolicy { server: owner, .. } if owner == s) {
                candidates.push(Candidate {
                    object: server.object,
                    path: vec![Step::Key("spec"), Step::Key("accessPolicy")],
                    authz: a,
                    governs: facts.governs.clone(),
                });
            }
        }
    }

    for c in candidates {
        if !c.authz.is_unauthenticated() {
            continue;
        }
        let ports: Vec<(WorkloadId, u16)> = c
            .governs
            .iter()
            .copied()
            .filter(|&(w, _)| {
                lp.gets_proxy(w)
                    && ctx.linkerd_membership()[w.index()].mode != Some(Inject::Ingress)
            })
            .collect();
        if ports.is_empty() {
            continue;
        }
        let addrs = &c.authz.networks.addrs;
        let outside = lp.network_admits(addrs, ClientNetwork::Outside);
        let cluster = lp.network_admits(addrs, ClientNetwork::ClusterPod);
        let (_, cluster_text) = lp.cluster_networks();
        let (mut severity, reach) = if outside == Admits::Yes {
            (Severity::High, "from any address".to_owned())
        } else if writes_everything(inv, c.authz) {
            // Without exceptions, a `/0` of one family only (`0.0.0.0/0` alone) still means
            // every address of that family.
            let excepted = written_networks(inv, c.authz)
                .iter()
                .any(|n| n.except.as_ref().is_some_and(|e| !e.is_empty()));
            (
                Severity::High,
                if excepted {
                    format!(
                        "from any address but the exceptions ({})",
                        c.authz.networks.text
                    )
                } else {
                    format!("from any address in {}", c.authz.networks.text)
                },
            )
        } else if cluster == Admits::Yes {
            (
                Severity::Medium,
                if c.authz.networks.origin == NetworksOrigin::ClusterNetworks {
                    format!(
                        "from every pod address of the cluster (clusterNetworks {cluster_text})"
                    )
                } else {
                    format!(
                        "from every pod address of the cluster (networks {})",
                        c.authz.networks.text
                    )
                },
            )
        } else {
            // Narrow networks (the nodes, the API server): a deliberate exception.
            continue;
        };
        let marks: Vec<String> = {
            let mut m: Vec<String> = ports
                .iter()
                .filter_map(|&(w, _)| workload_sensitivity(inv, w))
                .collect();
            m.sort();
            m.dedup();
            m
        };
        // Services that publish these ports outside the cluster.
        let exposed: Vec<String> = ports
            .iter()
            .flat_map(|&(w, p)| lp.services_to(w, p))
            .filter_map(|(si, _)| {
                let svc = &inv.services[si];
                let t = svc.spec.service_type();
                (t == "LoadBalancer" || t == "NodePort" || !svc.spec.external_ips.is_empty())
                    .then(|| format!("Service {}/{} (type {t})", svc.namespace, svc.name))
            })
            .collect();
        // Sensitive data raises the severity; to critical only when the port is also published
        // outside the cluster, where "any address" means the internet.
        if !marks.is_empty() && (severity != Severity::High || !exposed.is_empty()) {
            severity = raise(severity);
        }
        let tls_only = ports.iter().all(|&(w, p)| {
            lp.server_for(w, p)
                .is_some_and(|s| inv.linkerd.servers[s].spec.proxy_protocol == ProxyProtocol::Tls)
        });
        if tls_only {
            severity = if marks.is_empty() {
                Severity::Low
            } else {
                Severity::Medium
            };
        }
        let audit = matches!(
            c.authz.source,
            AuthzSource::AccessPolicy {
                policy: meshaudit_model::linkerd::DefaultInboundPolicy::Audit,
                ..
            }
        );
        let object = inv.object(c.object);
        let mut f = Finding::new(
            &RULE,
            c.object,
            object,
            &c.path,
            format!(
                "{} admits clients without a mesh identity (plaintext) {reach} to {}{}",
                c.authz.label,
                lp.describe_ports(&ports, 3),
                if audit {
                    " — audit admits everything and only logs it"
                } else {
                    ""
                }
            ),
        )
        .key("");
        for b in &c.authz.because {
            f.add_because(inv, b);
        }
        for m in marks.iter().take(3) {
            f = f.evidence(format!("sensitive: {m}"));
        }
        for e in exposed.iter().take(3) {
            f = f.evidence(format!("published outside the cluster by {e}"));
        }
        if tls_only {
            f = f.evidence("every port concerned is a proxyProtocol TLS Server: the application terminates TLS itself and may authenticate its clients; Linkerd sees no identity there");
        }
        f.severity = severity;
        let fix = match c.authz.source {
            AuthzSource::Policy(_) => format!(
                "Require the callers' identities in {} (a MeshTLSAuthentication or ServiceAccount ref); keep a NetworkAuthentication only to narrow addresses further.",
                c.authz.label
            ),
            AuthzSource::ServerAuthorization(_) => format!(
                "Replace `client.unauthenticated` in {} with `meshTLS` naming the callers' service accounts — or, better, an AuthorizationPolicy requiring their identities.",
                c.authz.label
            ),
            AuthzSource::AccessPolicy { server, .. } => {
                let server = &inv.linkerd.servers[server];
                format!(
                    "Set accessPolicy of Server {}/{} to deny and authorize its callers by identity with AuthorizationPolicies.",
                    server.namespace, server.name
                )
            }
        };
        out.push(f.remediation(fix));
    }
}
