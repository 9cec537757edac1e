//! AUTHZ013: Linkerd's multicluster gateway published outside the cluster (LoadBalancer or
//! NodePort) while its inbound policy admits any mesh identity, or no identity, from any address.
//!
//! The gateway's policy is resolved here, for the gateway's one port, as Linkerd's policy
//! controller resolves it (docs/linkerd-semantics.md §3.2-3.5, §4.3): a Server selecting the
//! proxy's inbound port and the AuthorizationPolicies, ServerAuthorizations and `accessPolicy`
//! that authorize on it; without a Server, the pod's default inbound policy.

use meshaudit_engine::Because;
use meshaudit_model::k8s::{IntOrString, Service, Workload};
use meshaudit_model::linkerd::{
    AuthorizationPolicySpec, DefaultInboundPolicy, IdentityPattern, MeshTlsAuthenticationSpec,
    Network, ServerAuthorizationSpec, ServerPort, ServerSpec, DEFAULT_INBOUND_POLICY_ANNOTATION,
    POLICY_GROUP, PROXY_INBOUND_PORT, REQUIRE_IDENTITY_PORTS_ANNOTATION,
};
use meshaudit_model::{Inventory, ObjectId, Step, Typed, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::{template_path, workload_name};

pub static RULE: Rule = Rule {
    code: "AUTHZ013",
    name: "linkerd-multicluster-gateway-open",
    title: "Linkerd multicluster gateway admits any identity from any address",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.6",
        "PCI-DSS:1.3.1",
        "PCI-DSS:7.2.1",
        "HIPAA:164.312(a)(1)",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

The gateway of Linkerd's multicluster extension — a pod template with
`config.linkerd.io/enable-gateway: "true"`, as the `linkerd-gateway` Deployment of
`linkerd-multicluster` has — published outside the cluster by a `LoadBalancer` or `NodePort`
Service (or `externalIPs`) on the proxy's inbound port 4143, whose inbound policy on that port
admits every mesh identity, or clients without one, from `0.0.0.0/0` or `::/0`:

- an `AuthorizationPolicy` on the gateway's `Server` (or on its Namespace) whose
  `MeshTLSAuthentication` accepts `*`, or that names none, and whose `NetworkAuthentication`
  covers every address, or that names none — the extension's own chart ships exactly this
  (`any-meshed` and `source-cluster`, with a comment asking to narrow the networks);
- a `ServerAuthorization` (2.11–2.12 charts) with `unauthenticated: true`, `unauthenticatedTLS`
  or the identity `*`, and networks covering every address;
- the `Server`'s `accessPolicy` set to `all-authenticated`, `all-unauthenticated` or `audit`;
- no `Server` on the port: the pod's default inbound policy (its annotation, its Namespace's, or
  the cluster's), tightened by `config.linkerd.io/proxy-require-identity-inbound-ports`, when it is
  `all-authenticated`, `all-unauthenticated` or `audit`.

One finding per authorization that admits, on that resource, with the Service, the
authentications and the gateway as related locations. A `LoadBalancer` whose
`loadBalancerSourceRanges` do not include every address, or that a cloud annotation makes internal
(`service.beta.kubernetes.io/aws-load-balancer-internal`, `...-azure-load-balancer-internal`,
`networking.gke.io/load-balancer-type: Internal`...), is not reported: the network in front of it
already chooses the sources. Authorizations limited to `clusterNetworks` are not reported either;
behind a LoadBalancer that rewrites source addresses to node addresses (the chart's comment warns
of GKE) they admit more than they say.

## Why it matters

The gateway forwards whatever it admits to every service exported to other clusters. Its proxy
refuses direct connections without mutual TLS, so the barrier left is the certificate: any
workload holding one from the shared trust anchor — in this cluster, in every linked cluster, or
anywhere that anchor's issuers sign — can connect from any address on the internet. Behind the
gateway, workload identity is not preserved (only pod-to-pod multicluster keeps it): exported
services see the gateway's identity, so their own authorization policies cannot tell one remote
caller from another, and the gateway's reach is every caller's reach. Narrowing the networks to
the source clusters' egress addresses, or the identities to the workloads that need the remote
services, is what the chart comment asks for.

## Example

```yaml
# linkerd multicluster install (chart defaults), Service linkerd-gateway: type LoadBalancer
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: source-cluster, namespace: linkerd-multicluster}
spec:
  networks:
  - cidr: "0.0.0.0/0"
  - cidr: "::/0"
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: any-meshed, namespace: linkerd-multicluster}
spec:
  identities: ["*"]
```

## Fix

Set the `NetworkAuthentication`'s networks to the addresses the source clusters' gateways and
nodes connect from (or set `gateway.loadBalancerSourceRanges` on the Service), and where you can,
replace `*` with the identities of the source clusters' workloads that call exported services.
If the clusters share a flat network, export services in pod-to-pod mode and drop the gateway.

## References

- Linkerd: Multi-cluster communication (hierarchical vs flat, identity preserved only without the gateway) — https://linkerd.io/2-edge/features/multicluster/
- Linkerd: Installing multi-cluster components (shared trust anchor "so that your cluster is not open to the public internet") — https://linkerd.io/2-edge/tasks/multicluster/
- Linkerd: Authorization policy reference (AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication, ServerAuthorization) — https://linkerd.io/2-edge/reference/authorization-policy/
- linkerd2 source: the gateway's shipped policy (`multicluster/charts/linkerd-multicluster/templates/gateway-policy.yaml`) — https://github.com/linkerd/linkerd2/blob/main/multicluster/charts/linkerd-multicluster/templates/gateway-policy.yaml
- linkerd2 source: the gateway and its Service (`gateway.yaml`, `values.yaml` `gateway.serviceType`, `gateway.loadBalancerSourceRanges`) — https://github.com/linkerd/linkerd2/blob/main/multicluster/charts/linkerd-multicluster/templates/gateway.yaml
- CWE-284: Improper Access Control
"#,
    check,
};

/// Pod-template annotation that turns a proxy into a multicluster gateway.
const ENABLE_GATEWAY_ANNOTATION: &str = "config.linkerd.io/enable-gateway";
/// The name of the proxy container's inbound port, which the chart's Server selects.
const PROXY_INBOUND_PORT_NAME: &str = "linkerd-proxy";

/// Who an authorization lets through the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admits {
    /// Clients without a mesh identity (the proxy still refuses direct connections without
    /// mutual TLS).
    Unauthenticated,
    /// Any mesh identity.
    AnyIdentity,
}

/// One authorization that admits such clients from any address.
struct Admission {
    object: ObjectId,
    path: Vec<Step<'static>>,
    admits: Admits,
    /// `AuthorizationPolicy linkerd-multicluster/linkerd-gateway`, for the message.
    what: String,
    /// Which clients and networks, in words.
    detail: String,
    /// What to change in it.
    fix: String,
    /// Set when no Server covers the port and this default policy decides.
    default_policy: Option<DefaultInboundPolicy>,
    because: Vec<Because>,
}

/// How the gateway is published.
struct Exposure<'a> {
    service: &'a Service,
    port: u16,
    because: Because,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for (wi, w) in WorkloadId::enumerate(&inv.workloads) {
        if !is_gateway(w) {
            continue;
        }
        let exposures: Vec<Exposure<'_>> = inv
            .services
            .iter()
            .filter(|s| s.namespace == w.namespace)
            .filter_map(|s| exposure(inv, s, wi, w))
            .collect();
        let Some(first) = exposures.first() else {
            continue;
        };
        for a in admissions(inv, w) {
            out.push(finding(inv, w, &exposures, first, a));
        }
    }
}

fn is_gateway(w: &Workload) -> bool {
    w.annotations
        .get(ENABLE_GATEWAY_ANNOTATION)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Cloud annotations that make a LoadBalancer internal to the provider's network.
fn internal_load_balancer(svc: &meshaudit_model::Object) -> Option<String> {
    let a = &svc.annotations;
    let is = |k: &str, v: &str| a.get(k).is_some_and(|x| x.eq_ignore_ascii_case(v));
    [
        (
            "service.beta.kubernetes.io/aws-load-balancer-internal",
            "true",
        ),
        (
            "service.beta.kubernetes.io/aws-load-balancer-scheme",
            "internal",
        ),
        (
            "service.beta.kubernetes.io/azure-load-balancer-internal",
            "true",
        ),
        (
            "service.beta.kubernetes.io/oci-load-balancer-internal",
            "true",
        ),
        ("networking.gke.io/load-balancer-type", "Internal"),
        ("cloud.google.com/load-balancer-type", "Internal"),
    ]
    .into_iter()
    .find(|(k, v)| is(k, v))
    .map(|(k, v)| format!("{k}: {v}"))
}

/// The Service publishes the gateway's inbound port outside the cluster, to every address.
fn exposure<'a>(
    inv: &Inventory,
    svc: &'a Service,
    wi: WorkloadId,
    w: &Workload,
) -> Option<Exposure<'a>> {
    let selector = svc.spec.selector.as_ref().filter(|s| !s.is_empty())?;
    if !inv
        .workloads_matching_in(&svc.namespace, selector)
        .contains(&wi)
    {
        return None;
    }
    let kind = svc.spec.service_type();
    let external = !svc.spec.external_ips.is_empty();
    if !matches!(kind, "LoadBalancer" | "NodePort") && !external {
        return None;
    }
    let object = inv.object(svc.object);
    if kind == "LoadBalancer" && !external {
        if internal_load_balancer(object).is_some() {
            return None;
        }
        let ranges: Vec<&str> = object
            .node
            .at(&[Step::Key("spec"), Step::Key("loadBalancerSourceRanges")])
            .and_then(|n| n.as_seq())
            .map(|s| s.iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        let everything =
            |r: &&str| meshaudit_model::cidr::Cidr::parse(r).is_some_and(|c| c.is_everything());
        if !ranges.is_empty() && !ranges.iter().any(everything) {
            return None;
        }
    }
    let (pi, port) = svc.spec.ports.iter().enumerate().find(|(_, p)| {
        let target = match &p.target_port {
            None => Some(p.port),
            Some(IntOrString::String(n)) if n == PROXY_INBOUND_PORT_NAME => {
                Some(PROXY_INBOUND_PORT)
            }
            Some(IntOrString::String(n)) if n.parse::<u16>().is_err() => w
                .all_containers()
                .flat_map(|c| &c.ports)
                .find(|cp| cp.name.as_deref() == Some(n.as_str()))
                .map(|cp| cp.container_port),
            Some(t) => t.as_port(),
        };
        target == Some(PROXY_INBOUND_PORT)
    })?;
    let how = if external {
        format!("externalIPs {}", svc.spec.external_ips.join(", "))
    } else if kind == "LoadBalancer" {
        "type LoadBalancer, no loadBalancerSourceRanges narrower than every address".to_owned()
    } else {
        "type NodePort: every node's address".to_owned()
    };
    Some(Exposure {
        service: svc,
        port: port.port,
        because: Because::at(
            svc.object,
            &[Step::Key("spec"), Step::Key("ports"), Step::Index(pi)],
            format!("publishes the gateway's port {} ({how})", port.port),
        ),
    })
}

/// Does a Server select the gateway's inbound port on `w`?
fn selects_gateway_port(server: &Typed<ServerSpec>, w: &Workload) -> bool {
    server.namespace == w.namespace
        && server
            .spec
            .pod_selector
            .as_ref()
            .is_some_and(|s| s.matches(&w.labels))
        && match &server.spec.port {
            ServerPort::Number(n) => *n == PROXY_INBOUND_PORT,
            ServerPort::Name(n) => {
                n == PROXY_INBOUND_PORT_NAME
                    || w.all_containers().flat_map(|c| &c.ports).any(|p| {
                        p.name.as_deref() == Some(n.as_str())
                            && p.container_port == PROXY_INBOUND_PORT
                    })
            }
        }
}

/// Networks that include every address of a family.
fn everywhere(networks: &[Network]) -> Option<String> {
    let all: Vec<&str> = networks
        .iter()
        .filter(|n| n.cidr.cidr.is_everything())
        .map(|n| n.cidr.text.as_str())
        .collect();
    (!all.is_empty()).then(|| all.join(", "))
}

/// What a MeshTLSAuthentication admits: any identity, or a narrower set.
fn any_identity(spec: &MeshTlsAuthenticationSpec) -> bool {
    spec.identities
        .iter()
        .flatten()
        .any(|i| IdentityPattern::parse(i) == IdentityPattern::Any)
}

/// One authorization on the gateway's Server that admits such clients from any address, as
/// each kind of resource words it; [`Grant::admission`] makes them all alike.
struct Grant {
    object: ObjectId,
    /// The field under `spec` that grants it.
    field: &'static str,
    admits: Admits,
    /// `AuthorizationPolicy linkerd-multicluster/linkerd-gateway`.
    what: String,
    detail: String,
    fix: String,
    /// Why, after the Server's own reason.
    because: Vec<Because>,
}

impl Grant {
    fn admission(self, server_because: &Because) -> Admission {
        let mut because = vec![server_because.clone()];
        because.extend(self.because);
        Admission {
            object: self.object,
            path: vec![Step::Key("spec"), Step::Key(self.field)],
            admits: self.admits,
            what: self.what,
            detail: self.detail,
            fix: self.fix,
            default_policy: None,
            because,
        }
    }
}

/// Every authorization on the gateway's inbound port that admits any identity (or none) from
/// any address: one walk over what authorizes on its Server (AuthorizationPolicies,
/// ServerAuthorizations, the Server's own `accessPolicy`); without a Server, the default policy.
fn admissions(inv: &Inventory, w: &Workload) -> Vec<Admission> {
    let Some(server) = inv
        .linkerd
        .servers
        .iter()
        .find(|s| selects_gateway_port(s, w))
    else {
        return default_policy(inv, w).into_iter().collect();
    };
    let server_because = Because::at(
        server.object,
        &[Step::Key("spec"), Step::Key("port")],
        format!("selects the gateway's port {}", server.spec.port),
    );
    let policies = inv
        .linkerd
        .authorization_policies
        .iter()
        .filter(|p| p.namespace == server.namespace)
        .filter_map(|p| policy_grant(inv, server, p, &server_because));
    let server_authorizations = inv
        .linkerd
        .server_authorizations
        .iter()
        .filter(|a| a.namespace == server.namespace)
        .filter_map(|a| server_authorization_grant(server, a));
    policies
        .chain(server_authorizations)
        .chain(access_policy_grant(server))
        .map(|g| g.admission(&server_because))
        .collect()
}

/// What an AuthorizationPolicy on the Server (or its namespace) grants from any address.
fn policy_grant(
    inv: &Inventory,
    server: &Typed<ServerSpec>,
    p: &Typed<AuthorizationPolicySpec>,
    server_because: &Because,
) -> Option<Grant> {
    let target = &p.spec.target_ref;
    let on_server = target.refers_to(POLICY_GROUP, "Server") && target.name == server.name;
    let on_namespace = target.refers_to("", "Namespace") && target.name == p.namespace;
    if !(on_server || on_namespace) {
        return None;
    }
    let refs = p.spec.required_authentication_refs.as_ref()?;
    let mut identity: Option<(Admits, String, Because)> = Some((
        Admits::Unauthenticated,
        "no identity required".to_owned(),
        server_because.clone(),
    ));
    let mut network: Option<(String, Because)> = None;
    let mut network_ref = false;
    // A policy whose references do not resolve is ignored by Linkerd (it fails closed).
    for r in refs {
        let ns = r.namespace_or(&p.namespace);
        if r.refers_to(POLICY_GROUP, "MeshTLSAuthentication") {
            let m = inv
                .linkerd
                .mesh_tls_authentications
                .iter()
                .find(|m| m.namespace == ns && m.name == r.name)?;
            identity = any_identity(&m.spec).then(|| {
                (
                    Admits::AnyIdentity,
                    format!(
                        "MeshTLSAuthentication {}/{} accepts identity `*`",
                        m.namespace, m.name
                    ),
                    Because::at(
                        m.object,
                        &[Step::Key("spec"), Step::Key("identities")],
                        "identities: [\"*\"] (any mesh identity)",
                    ),
                )
            });
        } else if r.refers_to("", "ServiceAccount") {
            identity = None;
        } else if r.refers_to(POLICY_GROUP, "NetworkAuthentication") {
            network_ref = true;
            let n = inv
                .linkerd
                .network_authentications
                .iter()
                .find(|n| n.namespace == ns && n.name == r.name)?;
            network = everywhere(&n.spec.networks).map(|cidrs| {
                let index = n
                    .spec
                    .networks
                    .iter()
                    .position(|x| x.cidr.cidr.is_everything())
                    .unwrap_or(0);
                (
                    format!(
                        "NetworkAuthentication {}/{} covers {cidrs}",
                        n.namespace, n.name
                    ),
                    Because::at(
                        n.object,
                        &[Step::Key("spec"), Step::Key("networks"), Step::Index(index)],
                        format!("networks include {cidrs} (every address)"),
                    ),
                )
            });
        }
    }
    if !network_ref {
        network = Some((
            "no NetworkAuthentication (every address)".to_owned(),
            Because::at(
                p.object,
                &[Step::Key("spec"), Step::Key("requiredAuthenticationRefs")],
                "no NetworkAuthentication: every address",
            ),
        ));
    }
    let (Some((admits, who, id_because)), Some((where_, net_because))) = (identity, network) else {
        return None;
    };
    let what = format!("AuthorizationPolicy {}/{}", p.namespace, p.name);
    Some(Grant {
        object: p.object,
        field: "requiredAuthenticationRefs",
        admits,
        fix: format!(
            "In {what}, require a NetworkAuthentication listing only the source clusters' egress addresses, and a MeshTLSAuthentication naming the remote workloads that call exported services instead of `*`"
        ),
        what,
        detail: format!("{who}; {where_}"),
        because: vec![id_because, net_because],
    })
}

/// What a ServerAuthorization on the Server grants from any address.
fn server_authorization_grant(
    server: &Typed<ServerSpec>,
    a: &Typed<ServerAuthorizationSpec>,
) -> Option<Grant> {
    let target = &a.spec.server;
    let selects = target.name.as_deref() == Some(server.name.as_str())
        || target
            .selector
            .as_ref()
            .is_some_and(|s| s.matches(&server.spec.labels));
    if !selects {
        return None;
    }
    let client = &a.spec.client;
    let admits = if client.unauthenticated {
        Some((Admits::Unauthenticated, "unauthenticated: true"))
    } else {
        client.mesh_tls.as_ref().and_then(|m| {
            if m.unauthenticated_tls {
                Some((Admits::AnyIdentity, "meshTLS.unauthenticatedTLS: true"))
            } else if m
                .identities
                .iter()
                .flatten()
                .any(|i| IdentityPattern::parse(i) == IdentityPattern::Any)
            {
                Some((Admits::AnyIdentity, "meshTLS.identities: [\"*\"]"))
            } else {
                None
            }
        })
    };
    // Omitted networks mean clusterNetworks for a ServerAuthorization.
    let cidrs = client.networks.as_deref().and_then(everywhere)?;
    let (admits, who) = admits?;
    let what = format!("ServerAuthorization {}/{}", a.namespace, a.name);
    Some(Grant {
        object: a.object,
        field: "client",
        admits,
        fix: format!(
            "In {what}, set client.networks to the source clusters' egress addresses and name the remote identities instead of `*` (or replace it with an AuthorizationPolicy that does)"
        ),
        what,
        detail: format!("{who}; networks {cidrs}"),
        because: vec![Because::at(
            a.object,
            &[
                Step::Key("spec"),
                Step::Key("client"),
                Step::Key("networks"),
            ],
            format!("networks include {cidrs} (every address)"),
        )],
    })
}

/// What the Server's own `accessPolicy` grants from any address.
fn access_policy_grant(server: &Typed<ServerSpec>) -> Option<Grant> {
    let policy = server.spec.access_policy?;
    let admits = admits_from_anywhere(policy)?;
    Some(Grant {
        object: server.object,
        field: "accessPolicy",
        admits,
        what: format!("Server {}/{}", server.namespace, server.name),
        detail: format!("accessPolicy {policy}"),
        fix: format!(
            "Set accessPolicy: deny on Server {}/{} and authorize the source clusters with an AuthorizationPolicy that requires their networks",
            server.namespace, server.name
        ),
        because: Vec::new(),
    })
}

/// The clients a default policy admits from every address, if it admits any such.
fn admits_from_anywhere(policy: DefaultInboundPolicy) -> Option<Admits> {
    match policy {
        DefaultInboundPolicy::AllUnauthenticated | DefaultInboundPolicy::Audit => {
            Some(Admits::Unauthenticated)
        }
        DefaultInboundPolicy::AllAuthenticated => Some(Admits::AnyIdentity),
        _ => None,
    }
}

/// No Server on the port: the pod's default inbound policy, from its own annotation, its
/// Namespace's (copied by the injector), or the cluster's; tightened on ports that require an
/// identity.
fn default_policy(inv: &Inventory, w: &Workload) -> Option<Admission> {
    let pod = &w.linkerd().annotations;
    let ns = inv.namespace(&w.namespace).map(|n| &n.linkerd.annotations);
    let config = inv.linkerd.config.as_ref();
    let (mut policy, source) = match (
        pod.default_inbound_policy
            .as_ref()
            .and_then(|p| p.as_ref().ok()),
        ns.and_then(|n| n.default_inbound_policy.as_ref())
            .and_then(|p| p.as_ref().ok()),
        config.and_then(|c| c.default_inbound_policy.value.as_ref().ok()),
    ) {
        (Some(p), _, _) => (*p, "the pod template's annotation"),
        (None, Some(p), _) => (*p, "its Namespace's annotation, which the injector copies"),
        (None, None, Some(p)) => (*p, "the cluster default in linkerd-config"),
        (None, None, None) => (
            DefaultInboundPolicy::AllUnauthenticated,
            "the chart's cluster default",
        ),
    };
    let require = pod
        .require_identity_inbound_ports
        .as_ref()
        .or_else(|| ns.and_then(|n| n.require_identity_inbound_ports.as_ref()))
        .or(config.map(|c| &c.require_identity_on_inbound_ports.value));
    let tightened = require.is_some_and(|r| r.is_valid() && r.contains(PROXY_INBOUND_PORT));
    if tightened {
        policy = policy.requiring_identity();
    }
    let admits = admits_from_anywhere(policy)?;
    let mut path = template_path(w, &[Step::Key("metadata"), Step::Key("annotations")]);
    if w.annotations
        .contains_key(DEFAULT_INBOUND_POLICY_ANNOTATION)
    {
        path.push(Step::Key(DEFAULT_INBOUND_POLICY_ANNOTATION));
    }
    let detail = format!(
        "no Server selects port {PROXY_INBOUND_PORT}: default inbound policy {policy} from {source}{}",
        if tightened {
            format!(" (after {REQUIRE_IDENTITY_PORTS_ANNOTATION})")
        } else {
            String::new()
        }
    );
    Some(Admission {
        object: w.object,
        because: vec![Because::at(w.object, &path, detail.clone())],
        path,
        admits,
        what: workload_name(w),
        default_policy: Some(policy),
        detail,
        fix: format!(
            "Select port linkerd-proxy (4143) of {} with a Server and authorize the source clusters with an AuthorizationPolicy that requires their networks (the chart's gateway policy, with the networks narrowed)",
            workload_name(w)
        ),
    })
}

fn finding(
    inv: &Inventory,
    w: &Workload,
    exposures: &[Exposure<'_>],
    first: &Exposure<'_>,
    a: Admission,
) -> Finding {
    let object = inv.object(a.object);
    let who = match a.admits {
        Admits::Unauthenticated => {
            "clients without a mesh identity (its proxy still refuses direct connections without mutual TLS, which leaves any mesh identity)"
        }
        Admits::AnyIdentity => "any mesh identity",
    };
    let svc = first.service;
    let gateway = workload_name(w);
    let lead = match a.default_policy {
        Some(policy) => format!(
            "No Server covers port {PROXY_INBOUND_PORT} of the multicluster gateway {gateway}: its default inbound policy {policy} lets {who} from any address through it"
        ),
        None => format!(
            "{} lets {who} from any address through the multicluster gateway {gateway}",
            a.what
        ),
    };
    let mut f = Finding::new(
        &RULE,
        a.object,
        object,
        &a.path,
        format!(
            "{lead}, which {} Service {}/{} publishes on port {}: any workload holding a certificate of the shared trust anchor, in any linked cluster, reaches every exported service, which sees only the gateway's identity",
            svc.spec.service_type(),
            svc.namespace,
            svc.name,
            first.port
        ),
    )
    .key(format!("gateway:{}/{}", w.namespace, w.name))
    ;
    // The summary, unless a fact below already says it in full.
    if !a.because.iter().any(|b| b.fact == a.detail) {
        f = f.evidence(a.detail.clone());
    }
    for b in &a.because {
        f.add_because(inv, b);
    }
    for e in exposures {
        f.add_because(inv, &e.because);
    }
    f.add_because(
        inv,
        &Because::at(
            w.object,
            &gateway_annotation_path(w),
            "config.linkerd.io/enable-gateway: \"true\" (a multicluster gateway: it forwards to the services exported from this cluster)",
        ),
    );
    if svc.spec.service_type() == "LoadBalancer" {
        f.remediation(format!(
            "{}; or set loadBalancerSourceRanges on Service {}/{} to those addresses.",
            a.fix, svc.namespace, svc.name
        ))
    } else {
        f.remediation(format!("{}.", a.fix))
    }
}

fn gateway_annotation_path(w: &Workload) -> Vec<Step<'static>> {
    template_path(
        w,
        &[
            Step::Key("metadata"),
            Step::Key("annotations"),
            Step::Key(ENABLE_GATEWAY_ANNOTATION),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    fn run(yaml: &str) -> Vec<Finding> {
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
        let ctx = Context::new(&ingested.inventory, 0);
        let mut out = Vec::new();
        check(&ctx, &mut out);
        out
    }

    /// A gateway, its LoadBalancer Service (with `SERVICE` added to its spec) and a Server on
    /// the proxy's inbound port, then `POLICY`.
    const GATEWAY: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: linkerd-gateway, namespace: mc}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata:
      labels: {app: gw}
      annotations:
        linkerd.io/inject: enabled
        config.linkerd.io/enable-gateway: 'true'
        config.linkerd.io/default-inbound-policy: all-authenticated
    spec:
      containers:
      - {name: pause, image: 'registry.k8s.io/pause:3.2'}
---
apiVersion: v1
kind: Service
metadata: {name: linkerd-gateway, namespace: mc}
spec:
  type: LoadBalancer
  selector: {app: gw}
  ports:
  - {name: mc-gateway, port: 4143}
SERVICE---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: linkerd-gateway, namespace: mc}
spec:
  podSelector: {matchLabels: {app: gw}}
  port: linkerd-proxy
---
POLICY";

    fn gateway(service: &str, policy: &str) -> String {
        GATEWAY
            .replace("SERVICE", service)
            .replace("POLICY", policy)
    }

    const ANY_FROM_EVERYWHERE: &str = "apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: gw, namespace: mc}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: linkerd-gateway}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: any}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: any, namespace: mc}
spec:
  identities: ['*']
";

    #[test]
    fn without_a_network_authentication_every_address_counts() {
        let found = run(&gateway("", ANY_FROM_EVERYWHERE));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("any mesh identity"),
            "{}",
            found[0].message
        );
        assert!(found[0].remediation.contains("loadBalancerSourceRanges"));
        // Source ranges that still include every address do not narrow anything...
        let open = "  loadBalancerSourceRanges: ['0.0.0.0/0']\n";
        assert_eq!(run(&gateway(open, ANY_FROM_EVERYWHERE)).len(), 1);
        // ...narrower ones do.
        let narrow = "  loadBalancerSourceRanges: ['198.51.100.0/26']\n";
        assert!(run(&gateway(narrow, ANY_FROM_EVERYWHERE)).is_empty());
    }

    #[test]
    fn no_identity_and_namespace_wide_policies_count_too() {
        let everyone = "apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: everyone, namespace: mc}
spec:
  targetRef: {kind: Namespace, name: mc}
  requiredAuthenticationRefs: []
";
        let found = run(&gateway("", everyone));
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("refuses direct connections without mutual TLS"),
            "{}",
            found[0].message
        );
        // A Namespace target names the policy's own namespace, or applies nowhere.
        assert!(run(&gateway("", &everyone.replace("name: mc}", "name: other}"))).is_empty());
    }

    #[test]
    fn server_authorizations_default_to_cluster_networks() {
        let saz = "apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: gw, namespace: mc}
spec:
  server: {name: linkerd-gateway}
  client:
    meshTLS: {identities: ['*']}
";
        assert!(run(&gateway("", saz)).is_empty());
        let anywhere = format!("{saz}    networks: [{{cidr: '::/0'}}]\n");
        assert_eq!(run(&gateway("", &anywhere)).len(), 1);
    }

    #[test]
    fn an_access_policy_or_the_default_policy_can_admit() {
        let yaml = gateway("", "").replace(
            "  port: linkerd-proxy\n",
            "  port: linkerd-proxy\n  accessPolicy: all-authenticated\n",
        );
        let found = run(&yaml);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].resource.kind, "Server");
        // Without the Server, the pod's default (all-authenticated) decides.
        let no_server = gateway("", "").replace("kind: Server\n", "kind: ServerX\n");
        let no_server: String = no_server
            .split("---\n")
            .filter(|d| !d.contains("kind: ServerX"))
            .collect::<Vec<_>>()
            .join("---\n");
        let found = run(&no_server);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.starts_with("No Server covers port 4143"));
        // A default that keeps to the cluster's networks is not "any address".
        let cluster = no_server.replace(
            "default-inbound-policy: all-authenticated",
            "default-inbound-policy: cluster-authenticated",
        );
        assert!(run(&cluster).is_empty());
    }

    #[test]
    fn only_published_gateways_are_reported() {
        let cluster_ip =
            gateway("", ANY_FROM_EVERYWHERE).replace("type: LoadBalancer", "type: ClusterIP");
        assert!(run(&cluster_ip).is_empty());
        let node_port =
            gateway("", ANY_FROM_EVERYWHERE).replace("type: LoadBalancer", "type: NodePort");
        assert_eq!(run(&node_port).len(), 1);
        let internal_lb = gateway("", ANY_FROM_EVERYWHERE).replace(
            "metadata: {name: linkerd-gateway, namespace: mc}\nspec:\n  type: LoadBalancer",
            "metadata:\n  name: linkerd-gateway\n  namespace: mc\n  annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: 'true'}\nspec:\n  type: LoadBalancer",
        );
        assert!(run(&internal_lb).is_empty());
        // Not a gateway: the same policy on an ordinary workload is another rule's business.
        let plain = gateway("", ANY_FROM_EVERYWHERE)
            .replace("config.linkerd.io/enable-gateway: 'true'", "a: b");
        assert!(run(&plain).is_empty());
    }
}
