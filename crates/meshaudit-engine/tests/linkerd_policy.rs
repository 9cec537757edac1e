//! Linkerd's authorization model, scenario by scenario: each expectation follows the policy
//! controller and proxy as `docs/linkerd-semantics.md` §3 describes them (section numbers in
//! the comments), and the Linkerd examples' ground truth (`examples/README.md`).

use std::path::Path;
use std::sync::Arc;

use meshaudit_engine::authorization::{Decision, PeerIdentity};
use meshaudit_engine::linkerd::policy::{
    ClientNetwork, DefaultPolicy, LinkerdClient, LinkerdDecision, LinkerdPolicy, NamedClients,
    NothingSelected, PolicyProblem, PolicyTarget, UnknownWhat,
};
use meshaudit_engine::Because;
use meshaudit_ingest::{ingest, SourceText};
use meshaudit_model::linkerd::DefaultInboundPolicy;
use meshaudit_model::{Idx, Inventory, LinkerdServerId, ServiceId, WorkloadId};

use Decision::{Allowed, Conditional, Denied};

const CONFIG: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    clusterNetworks: 10.0.0.0/8,172.16.0.0/12
    identityTrustDomain: cluster.local
---
"#;

/// The inventory of a scenario's YAML, which must be valid input.
fn mesh(yaml: &str) -> Inventory {
    let ingested = ingest(&[SourceText {
        path: Arc::from("scenario.yaml"),
        text: yaml.to_owned(),
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    ingested.inventory
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  annotations: {{linkerd.io/inject: enabled}}\n---\n")
}

/// A meshed Deployment `name` (service account `name`, label `app: name`) with container
/// ports given as `name=number` pairs.
fn app(ns: &str, name: &str, ports: &[(&str, u16)]) -> String {
    let ports: String = ports
        .iter()
        .map(|(n, p)| format!("            - {{name: {n}, containerPort: {p}}}\n"))
        .collect();
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: example/{name}:1
          ports:
{ports}---
"#
    )
}

/// A Linkerd Server `name` in `ns` on `port` (a number or a port name), selecting the pods
/// labelled `app: <app>`, or every pod of the namespace for `None`. [`Server::metadata`] and
/// [`Server::spec`] add fields to those maps; it prints as one YAML document.
struct Server<'a> {
    ns: &'a str,
    name: &'a str,
    app: Option<&'a str>,
    port: &'a str,
    metadata: &'a str,
    spec: &'a str,
}

fn server<'a>(ns: &'a str, name: &'a str, app: Option<&'a str>, port: &'a str) -> Server<'a> {
    Server {
        ns,
        name,
        app,
        port,
        metadata: "",
        spec: "",
    }
}

impl<'a> Server<'a> {
    /// More `metadata` fields, e.g. `creationTimestamp: "2024-01-01T00:00:00Z"`.
    fn metadata(self, fields: &'a str) -> Self {
        Server {
            metadata: fields,
            ..self
        }
    }

    /// More `spec` fields, e.g. `accessPolicy: audit`.
    fn spec(self, fields: &'a str) -> Self {
        Server {
            spec: fields,
            ..self
        }
    }
}

impl std::fmt::Display for Server<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Server {
            ns,
            name,
            app,
            port,
            metadata,
            spec,
        } = self;
        let selector = match app {
            Some(app) => format!("{{matchLabels: {{app: {app}}}}}"),
            None => "{}".to_owned(),
        };
        let more = |fields: &str| {
            if fields.is_empty() {
                String::new()
            } else {
                format!(", {fields}")
            }
        };
        writeln!(f, "apiVersion: policy.linkerd.io/v1beta3\nkind: Server")?;
        writeln!(
            f,
            "metadata: {{name: {name}, namespace: {ns}{}}}",
            more(metadata)
        )?;
        writeln!(
            f,
            "spec: {{podSelector: {selector}, port: {port}{}}}",
            more(spec)
        )?;
        writeln!(f, "---")
    }
}

/// Server `i` of the input.
fn srv(i: usize) -> LinkerdServerId {
    LinkerdServerId::new(i)
}

fn workload(inv: &Inventory, id: &str) -> WorkloadId {
    WorkloadId::enumerate(&inv.workloads)
        .find(|(_, w)| format!("{}/{}", w.namespace, w.name) == id)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no workload {id}"))
}

fn default(policy: DefaultInboundPolicy) -> DefaultPolicy {
    DefaultPolicy {
        policy,
        because: vec![Because::default(format!("cluster default {policy}"))],
    }
}

fn known(ns: &str, sa: &str) -> PeerIdentity {
    PeerIdentity::Known {
        namespace: ns.into(),
        service_account: sa.into(),
    }
}

const POD: LinkerdClient<'static> = LinkerdClient::Unauthenticated {
    from: ClientNetwork::ClusterPod,
};
const OUTSIDE: LinkerdClient<'static> = LinkerdClient::Unauthenticated {
    from: ClientNetwork::Outside,
};

struct Check<'a> {
    lp: LinkerdPolicy<'a>,
    inv: &'a Inventory,
}

impl Check<'_> {
    fn decide(&self, target: &str, port: u16, client: &LinkerdClient<'_>) -> LinkerdDecision {
        self.decide_with(
            target,
            port,
            client,
            DefaultInboundPolicy::AllUnauthenticated,
        )
    }

    fn decide_with(
        &self,
        target: &str,
        port: u16,
        client: &LinkerdClient<'_>,
        policy: DefaultInboundPolicy,
    ) -> LinkerdDecision {
        self.lp
            .authorize(workload(self.inv, target), port, client, &default(policy))
    }

    fn meshed(&self, target: &str, port: u16, peer: &PeerIdentity) -> Decision {
        self.decide(target, port, &LinkerdClient::Meshed { peer })
            .decision
    }

    fn kinds_of(&self, d: &LinkerdDecision) -> Vec<String> {
        d.deciders
            .iter()
            .map(|&o| {
                let obj = self.inv.object(o);
                format!("{} {}", obj.kind, obj.name)
            })
            .collect()
    }
}

fn check(inv: &Inventory) -> Check<'_> {
    Check {
        lp: LinkerdPolicy::new(inv),
        inv,
    }
}

/// §3.2: ports no Server selects follow the default policy.
#[test]
fn default_policies_admit_as_their_table_says() {
    let inv = mesh(&format!(
        "{CONFIG}{}{}",
        namespace("shop"),
        app("shop", "api", &[("http", 8080)])
    ));
    let c = check(&inv);
    let web = known("shop", "web");
    let meshed = LinkerdClient::Meshed { peer: &web };
    use DefaultInboundPolicy::*;
    let table = [
        (AllUnauthenticated, [Allowed, Allowed, Allowed]),
        (AllAuthenticated, [Allowed, Denied, Denied]),
        (ClusterUnauthenticated, [Allowed, Allowed, Denied]),
        (ClusterAuthenticated, [Allowed, Denied, Denied]),
        (Deny, [Denied, Denied, Denied]),
        (Audit, [Allowed, Allowed, Allowed]),
    ];
    for (policy, expected) in table {
        let got: Vec<Decision> = [&meshed, &POD, &OUTSIDE]
            .iter()
            .map(|client| c.decide_with("shop/api", 8080, client, policy).decision)
            .collect();
        assert_eq!(got, expected, "{policy}");
        let d = c.decide_with("shop/api", 8080, &POD, policy);
        assert_eq!(d.audit, policy == Audit, "{policy}");
        assert!(d
            .because
            .iter()
            .any(|b| b.fact.contains("no Server selects port 8080")));
        assert!(d
            .because
            .iter()
            .any(|b| b.fact == format!("cluster default {policy}")));
    }
}

/// §3.3: a Server without authorizations denies everyone; `accessPolicy` adds its own
/// authorization; `audit` allows and says so.
#[test]
fn server_access_policy_decides_without_authorizations() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}{}",
        namespace("shop"),
        app(
            "shop",
            "api",
            &[("http", 8080), ("admin", 9990), ("metrics", 9100)]
        ),
        server("shop", "api-http", Some("api"), "http"),
        server("shop", "api-admin", Some("api"), "9990")
            .spec("accessPolicy: cluster-authenticated"),
        server("shop", "api-metrics", Some("api"), "metrics").spec("accessPolicy: audit"),
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    let web = known("shop", "web");
    // Even an all-unauthenticated default does not reach a port a Server selects.
    assert_eq!(c.meshed("shop/api", 8080, &web), Denied);
    let d = c.decide("shop/api", 8080, &POD);
    assert_eq!(d.decision, Denied);
    assert_eq!(c.kinds_of(&d), ["Server api-http"]);
    assert!(d.because.iter().any(|b| b
        .fact
        .contains("accessPolicy deny, the default when it is not set")));
    assert_eq!(c.meshed("shop/api", 9990, &web), Allowed);
    assert_eq!(c.decide("shop/api", 9990, &POD).decision, Denied);
    let audit = c.decide("shop/api", 9100, &OUTSIDE);
    assert_eq!((audit.decision, audit.audit), (Allowed, true));
}

const SHOP_POLICIES: &str = r#"apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}, port: http, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: api-clients, namespace: shop}
spec:
  identities:
    - web.shop.serviceaccount.identity.linkerd.cluster.local
    - "*.batch.serviceaccount.identity.linkerd.cluster.local"
  identityRefs:
    - {kind: ServiceAccount, name: reports, namespace: analytics}
    - {kind: Namespace, name: ops}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-from-clients, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: api-clients}
---
"#;

/// §3.5: a MeshTLSAuthentication's identities, suffixes and refs; clients by class.
#[test]
fn mesh_tls_identities_match_by_exact_identity_suffix_and_ref() {
    let yaml = format!(
        "{CONFIG}{}{}{SHOP_POLICIES}",
        namespace("shop"),
        app("shop", "api", &[("http", 8080)])
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    assert_eq!(c.meshed("shop/api", 8080, &known("shop", "web")), Allowed);
    assert_eq!(c.meshed("shop/api", 8080, &known("shop", "cart")), Denied);
    assert_eq!(
        c.meshed("shop/api", 8080, &known("analytics", "reports")),
        Allowed
    );
    assert_eq!(
        c.meshed("shop/api", 8080, &known("batch", "anything")),
        Allowed
    );
    assert_eq!(c.meshed("shop/api", 8080, &known("ops", "x")), Allowed);
    let ns = |n: &str| PeerIdentity::Namespace {
        namespace: n.into(),
    };
    assert_eq!(c.meshed("shop/api", 8080, &ns("batch")), Allowed);
    assert_eq!(c.meshed("shop/api", 8080, &ns("shop")), Denied);
    assert_eq!(c.meshed("shop/api", 8080, &PeerIdentity::Other), Denied);
    assert_eq!(c.decide("shop/api", 8080, &POD).decision, Denied);
    let d = c.decide(
        "shop/api",
        8080,
        &LinkerdClient::Meshed {
            peer: &known("shop", "web"),
        },
    );
    assert_eq!(
        c.kinds_of(&d),
        [
            "Server api-http",
            "MeshTLSAuthentication api-clients",
            "AuthorizationPolicy api-from-clients"
        ]
    );
    assert_eq!(
        c.lp.named_clients(workload(&inv, "shop/api"), 8080),
        NamedClients {
            identities: vec![("analytics", "reports"), ("shop", "web")],
            namespaces: vec!["batch", "ops"],
        }
    );
    // A port no Server selects names nobody.
    assert_eq!(
        c.lp.named_clients(workload(&inv, "shop/api"), 9999),
        NamedClients::default()
    );
}

/// §3.5: `*` admits every meshed client, never plaintext; `[]` admits everyone; a
/// NetworkAuthentication restricts addresses, with `except`; identity and network refs AND.
#[test]
fn wildcards_empty_refs_and_networks() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}{}{}",
        namespace("pay"),
        app("pay", "any", &[("grpc", 9090)]),
        app("pay", "open", &[("http", 8080)]),
        app("pay", "internal", &[("http", 8080)]),
        server("pay", "any", Some("any"), "grpc").spec("proxyProtocol: gRPC"),
        r#"apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: everyone-meshed, namespace: pay}
spec: {identities: ["*"]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: any, namespace: pay}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: any}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: everyone-meshed}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: open, namespace: pay}
spec: {podSelector: {matchLabels: {app: open}}, port: http}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: open, namespace: pay}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: open}
  requiredAuthenticationRefs: []
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: internal, namespace: pay}
spec: {podSelector: {matchLabels: {app: internal}}, port: http}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: nodes, namespace: pay}
spec:
  networks:
    - cidr: 10.0.0.0/8
      except: [10.1.0.0/16]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: internal, namespace: pay}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: internal}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: nodes}
    - {kind: ServiceAccount, name: web, namespace: shop}
"#
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    assert_eq!(c.meshed("pay/any", 9090, &PeerIdentity::Other), Allowed);
    assert_eq!(c.decide("pay/any", 9090, &POD).decision, Denied);
    for client in [&POD, &OUTSIDE] {
        assert_eq!(c.decide("pay/open", 8080, client).decision, Allowed);
    }
    assert_eq!(c.meshed("pay/open", 8080, &PeerIdentity::Other), Allowed);
    // Identity AND network: web from part of the pod networks only; others never.
    let web = c.decide(
        "pay/internal",
        8080,
        &LinkerdClient::Meshed {
            peer: &known("shop", "web"),
        },
    );
    assert_eq!(web.decision, Conditional);
    assert_eq!(
        web.conditions,
        ["AuthorizationPolicy pay/internal: only from 10.0.0.0/8 except 10.1.0.0/16"]
    );
    assert_eq!(
        c.meshed("pay/internal", 8080, &known("shop", "cart")),
        Denied
    );
    assert_eq!(c.decide("pay/internal", 8080, &POD).decision, Denied);
}

/// §3.3a: `disableIPv6` (the chart's default, true) leaves IPv6 connections outside the proxy,
/// so an authorization of `0.0.0.0/0` alone admits every client the policy sees; with
/// `disableIPv6: false` the policy sees IPv6 clients too, and the same authorization admits
/// only some of them.
#[test]
fn ipv4_only_networks_cover_every_client_unless_proxies_handle_ipv6() {
    let policies = format!(
        "{}{}{}{}",
        namespace("edge"),
        app("edge", "api", &[("http", 8080)]),
        server("edge", "api", Some("api"), "http"),
        r#"apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: ipv4, namespace: edge}
spec:
  networks: [{cidr: 0.0.0.0/0}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api, namespace: edge}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: ipv4}
"#
    );
    let config = |values: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: linkerd-config, namespace: linkerd}}\ndata:\n  values: |\n    clusterNetworks: 10.0.0.0/8,fd00::/8\n{values}---\n")
    };
    for (head, ipv6) in [
        (String::new(), false),
        (config(""), false),
        (config("    disableIPv6: true\n"), false),
        (config("    disableIPv6: false\n"), true),
    ] {
        let inv = mesh(&format!("{head}{policies}"));
        let c = check(&inv);
        assert_eq!(c.lp.handles_ipv6(), ipv6, "{head}");
        for client in [&POD, &OUTSIDE] {
            let d = c.decide("edge/api", 8080, client);
            if ipv6 {
                assert_eq!(d.decision, Conditional, "{head}");
                assert_eq!(
                    d.conditions,
                    ["AuthorizationPolicy edge/api: only from 0.0.0.0/0"]
                );
            } else {
                assert_eq!(d.decision, Allowed, "{head}");
                assert!(d.conditions.is_empty(), "{:?}", d.conditions);
            }
        }
    }
}

/// §3.5: a ref to a missing or invalid authentication makes Linkerd ignore the whole policy;
/// Namespace targets reach every Server of the namespace and nothing else.
#[test]
fn dangling_refs_disable_policies_and_namespace_targets_reach_servers_only() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}",
        namespace("shop"),
        app("shop", "api", &[("http", 8080), ("other", 7000)]),
        server("shop", "api-http", Some("api"), "http"),
        r#"apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: typo, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: does-not-exist}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: empty, namespace: shop}
spec: {networks: []}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: invalid-network, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: NetworkAuthentication, name: empty}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: no-group, namespace: shop}
spec:
  targetRef: {kind: Server, name: api-http}
  requiredAuthenticationRefs: []
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: whole-namespace, namespace: shop}
spec:
  targetRef: {kind: Namespace, name: shop}
  requiredAuthenticationRefs:
    - {kind: ServiceAccount, name: web}
"#
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    assert_eq!(
        c.lp.policy(Idx::new(0)).problems,
        [PolicyProblem::MissingMeshTls { index: 0 }]
    );
    assert!(c.lp.policy(Idx::new(0)).problems[0].is_dangling());
    assert_eq!(
        c.lp.policy(Idx::new(1)).problems,
        [PolicyProblem::InvalidNetwork {
            index: 0,
            network: Idx::new(0)
        }]
    );
    assert_eq!(c.lp.policy(Idx::new(2)).target, PolicyTarget::Unsupported);
    assert!(c.lp.policy(Idx::new(3)).problems.is_empty());
    assert_eq!(c.decide("shop/api", 8080, &POD).decision, Denied);
    assert_eq!(c.meshed("shop/api", 8080, &known("shop", "web")), Allowed);
    assert_eq!(c.meshed("shop/api", 8080, &known("shop", "cart")), Denied);
    // The Namespace-targeted policy does not reach a port without a Server.
    let d = c.decide_with(
        "shop/api",
        7000,
        &LinkerdClient::Meshed {
            peer: &known("shop", "cart"),
        },
        DefaultInboundPolicy::AllUnauthenticated,
    );
    assert_eq!(d.decision, Allowed);
    assert_eq!(
        c.lp.policy_governs(Idx::new(3)),
        [(workload(&inv, "shop/api"), 8080)]
    );
    assert!(c.lp.policy_governs(Idx::new(0)).is_empty());
}

/// §3.4: ServerAuthorization — by Server name or Server labels; networks omitted mean
/// clusterNetworks; meshTLS by service account or any TLS.
#[test]
fn server_authorizations() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}{}",
        namespace("shop"),
        app("shop", "orders", &[("http", 8080), ("grpc", 9090)]),
        server("shop", "orders-http", Some("orders"), "http"),
        server("shop", "orders-grpc", Some("orders"), "grpc").metadata("labels: {tier: rpc}"),
        r#"apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: orders-public, namespace: shop}
spec:
  server: {name: orders-http}
  client: {unauthenticated: true}
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: rpc-clients, namespace: shop}
spec:
  server: {selector: {matchLabels: {tier: rpc}}}
  client:
    meshTLS:
      serviceAccounts: [{name: web}]
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: broken, namespace: shop}
spec:
  server: {name: orders-grpc}
  client: {}
"#
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    assert_eq!(c.decide("shop/orders", 8080, &POD).decision, Allowed);
    assert_eq!(c.decide("shop/orders", 8080, &OUTSIDE).decision, Denied);
    assert_eq!(c.meshed("shop/orders", 8080, &PeerIdentity::Other), Allowed);
    assert_eq!(
        c.meshed("shop/orders", 9090, &known("shop", "web")),
        Allowed
    );
    assert_eq!(
        c.meshed("shop/orders", 9090, &known("shop", "cart")),
        Denied
    );
    assert_eq!(c.decide("shop/orders", 9090, &POD).decision, Denied);
    assert_eq!(c.lp.server_authorization(Idx::new(1)).servers, [srv(1)]);
    assert!(c.lp.server_authorization(Idx::new(2)).problem.is_some());
}

const ROUTES: &str = r#"apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: cart-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: cart}}, port: http, proxyProtocol: HTTP/1}
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata: {name: cart-api, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cart-http}]
  rules: [{matches: [{path: {type: PathPrefix, value: /api}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart-admin, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: cart-http}]
  rules: [{matches: [{path: {type: PathPrefix, value: /admin}}]}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: cart-admin-janitor, namespace: shop}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: cart-admin}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: janitor}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: wrong-group, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: HTTPRoute, name: cart-admin}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: ghost}]
---
"#;

/// §3.1, §3.6: route policies only add to the Server's; clients admitted on some routes only
/// are conditional.
#[test]
fn routes_add_to_the_server_and_make_decisions_conditional() {
    let server_policy = r#"apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: cart-from-web, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: web}]
"#;
    let yaml = format!(
        "{CONFIG}{}{}{ROUTES}{server_policy}",
        namespace("shop"),
        app("shop", "cart", &[("http", 8080)])
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    // web: the Server's policy covers every route.
    assert_eq!(c.meshed("shop/cart", 8080, &known("shop", "web")), Allowed);
    // janitor: /admin only.
    let janitor = c.decide(
        "shop/cart",
        8080,
        &LinkerdClient::Meshed {
            peer: &known("shop", "janitor"),
        },
    );
    assert_eq!(janitor.decision, Conditional);
    assert_eq!(
        janitor.conditions,
        ["HTTPRoute shop/cart-admin: /admin (prefix)"]
    );
    assert!(c
        .kinds_of(&janitor)
        .contains(&"HTTPRoute cart-admin".to_owned()));
    // ghost: the policy targets the policy.linkerd.io route of that name, which does not exist.
    assert_eq!(c.meshed("shop/cart", 8080, &known("shop", "ghost")), Denied);
    assert_eq!(
        c.lp.policy(Idx::new(1)).target,
        PolicyTarget::HttpRoute {
            name: "cart-admin".into(),
            route: None
        }
    );
    assert_eq!(c.decide("shop/cart", 8080, &POD).decision, Denied);
    let named = c.lp.named_clients(workload(&inv, "shop/cart"), 8080);
    assert_eq!(named.identities, [("shop", "janitor"), ("shop", "web")]);
}

/// §3.3: overlapping Servers — the oldest wins, then the first by name (2.18); port names
/// select every container port of that name, the proxy's own included on injected templates;
/// numbers select even undeclared ports.
#[test]
fn server_selection_and_overlaps() {
    let servers = [
        server("shop", "b-new", None, "8080")
            .metadata(r#"creationTimestamp: "2025-03-01T00:00:00Z""#),
        server("shop", "z-old", Some("api"), "http")
            .metadata(r#"creationTimestamp: "2024-01-01T00:00:00Z""#),
        server("shop", "admin", None, "linkerd-admin"),
        server("shop", "undeclared", Some("api"), "7777"),
        server("shop", "typo", Some("apii"), "http"),
        server("shop", "no-port", Some("api"), "https"),
    ];
    let yaml = format!(
        "{CONFIG}{}{}{}",
        namespace("shop"),
        app("shop", "api", &[("http", 8080)]),
        servers.iter().map(ToString::to_string).collect::<String>(),
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    let api = workload(&inv, "shop/api");
    assert_eq!(c.lp.server_for(api, 8080), Some(srv(1)));
    assert_eq!(c.lp.selected_by(srv(0)), [(api, 8080)]);
    assert_eq!(c.lp.server(srv(0)).shadowed, [(api, 8080, srv(1))]);
    assert_eq!(
        c.lp.server_selects_nothing(srv(0)),
        Some(NothingSelected::Shadowed { by: vec![srv(1)] })
    );
    assert_eq!(c.lp.server_for(api, 4191), Some(srv(2)));
    assert_eq!(c.lp.server_for(api, 7777), Some(srv(3)));
    assert_eq!(
        c.lp.server_selects_nothing(srv(4)),
        Some(NothingSelected::NoPod { workloads: 1 })
    );
    assert_eq!(
        c.lp.server_selects_nothing(srv(5)),
        Some(NothingSelected::NoPort { pods: vec![api] })
    );
    assert_eq!(c.lp.server_selects_nothing(srv(1)), None);
    let d = c.decide("shop/api", 8080, &POD);
    assert!(d
        .because
        .iter()
        .any(|b| b.fact.contains("Server shop/b-new selects the same port")));
}

/// Names that exist nowhere: service accounts of declared namespaces, undeclared namespaces of
/// a complete input, literal `*` refs, identities of another trust domain.
#[test]
fn unknown_names_are_reported_only_where_the_input_can_tell() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}",
        namespace("shop"),
        namespace("linkerd"),
        app("shop", "cart", &[("http", 8080)]),
        r#"apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: typos, namespace: shop}
spec:
  identityRefs:
    - {kind: ServiceAccount, name: carts}
    - {kind: ServiceAccount, name: cart}
    - {kind: ServiceAccount, name: default}
    - {kind: Namespace, name: shoop}
    - {kind: Namespace, name: "*"}
    - {kind: ServiceAccount, name: "*"}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: strings, namespace: shop}
spec:
  identities:
    - cart.shop.serviceaccount.identity.linkerd.example.org
    - web.elsewhere.serviceaccount.identity.linkerd.cluster.local
    - "*"
"#
    );
    let inv = mesh(&yaml);
    let lp = LinkerdPolicy::new(&inv);
    let unknown: Vec<UnknownWhat> = lp.unknown_names().into_iter().map(|u| u.what).collect();
    assert_eq!(
        unknown,
        [
            UnknownWhat::ServiceAccount {
                namespace: "shop".into(),
                name: "carts".into()
            },
            UnknownWhat::Namespace {
                namespace: "shoop".into()
            },
            UnknownWhat::LiteralWildcard {
                kind: "Namespace",
                name: "*".into()
            },
            UnknownWhat::LiteralWildcard {
                kind: "ServiceAccount",
                name: "*".into()
            },
            UnknownWhat::ForeignIdentity {
                identity: "cart.shop.serviceaccount.identity.linkerd.example.org".into()
            },
            UnknownWhat::Namespace {
                namespace: "elsewhere".into()
            },
        ]
    );
    assert_eq!(lp.unknown_names()[0].hint.as_deref(), Some("cart"));
}

/// Without Namespace objects for every namespace, a missing namespace is not a finding.
#[test]
fn partial_inputs_do_not_invent_unknown_names() {
    let yaml = format!(
        "{}{}",
        app("shop", "cart", &[("http", 8080)]),
        r#"apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: m, namespace: shop}
spec:
  identityRefs:
    - {kind: ServiceAccount, name: carts}
    - {kind: Namespace, name: elsewhere}
"#
    );
    let inv = mesh(&yaml);
    assert!(LinkerdPolicy::new(&inv).unknown_names().is_empty());
}

/// Routes whose Server parent Linkerd refuses, and routes on Servers that do not use them.
#[test]
fn route_attachment() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}",
        namespace("shop"),
        app("shop", "cart", &[("http", 8080), ("raw", 9000)]),
        server("shop", "raw", Some("cart"), "raw").spec("proxyProtocol: opaque"),
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-opaque, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: raw}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: with-port, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: raw, port: 9000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: missing-parent, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: nothing-here}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gateway-route, namespace: shop}
spec:
  parentRefs: [{name: shop-gateway}]
"#
    );
    let inv = mesh(&yaml);
    let lp = LinkerdPolicy::new(&inv);
    assert!(lp.server(srv(0)).routes.is_empty());
    assert_eq!(lp.server(srv(0)).unused_routes.len(), 1);
    assert!(lp.http_route(Idx::new(1)).invalid_parent.is_some());
    assert_eq!(lp.http_route(Idx::new(2)).parents[0].server, None);
    assert!(lp.http_route(Idx::new(3)).parents.is_empty());
}

fn example(dir: &str) -> Inventory {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(dir);
    let mut sources = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        sources.push(SourceText {
            path: Arc::from(f.display().to_string().as_str()),
            text: std::fs::read_to_string(&f).unwrap(),
        });
    }
    let ingested = ingest(&sources);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    ingested.inventory
}

/// The insecure example's "who reaches whom" rows that the Servers and authorizations decide.
#[test]
fn linkerd_insecure_ground_truth() {
    let inv = example("linkerd-insecure");
    let c = check(&inv);
    let web = known("storefront", "web");
    let orders = known("checkout", "orders");
    let catalog = known("storefront", "catalog");
    // cart: web on every route (L13), janitor on /admin only, others refused.
    assert_eq!(c.meshed("checkout/cart", 8080, &web), Allowed);
    let janitor = c.decide(
        "checkout/cart",
        8080,
        &LinkerdClient::Meshed {
            peer: &known("checkout", "cart-janitor"),
        },
    );
    assert_eq!(janitor.decision, Conditional);
    assert_eq!(
        janitor.conditions,
        ["HTTPRoute checkout/cart-admin: /admin (prefix)"]
    );
    assert_eq!(c.meshed("checkout/cart", 8080, &catalog), Denied);
    // orders-public (L10): every pod, not the internet.
    assert_eq!(c.decide("checkout/orders", 8080, &POD).decision, Allowed);
    assert_eq!(c.decide("checkout/orders", 8080, &OUTSIDE).decision, Denied);
    // stock (L11): the MeshTLSAuthentication names `carts`.
    assert_eq!(
        c.meshed("checkout/stock", 8080, &known("checkout", "cart")),
        Denied
    );
    // payments-api gRPC (L9): any meshed client, no plaintext.
    assert_eq!(c.meshed("billing/payments-api", 9090, &orders), Allowed);
    assert_eq!(
        c.meshed("billing/payments-api", 9090, &PeerIdentity::Other),
        Allowed
    );
    assert_eq!(
        c.decide("billing/payments-api", 9090, &POD).decision,
        Denied
    );
    // payments-api admin (L12): no Server, so the default decides.
    assert_eq!(
        c.lp.server_for(workload(&inv, "billing/payments-api"), 9990),
        None
    );
    // refunds (L8) and invoices (L7): everyone, everywhere.
    for target in ["billing/refunds", "billing/invoices"] {
        assert_eq!(
            c.decide(target, 8080, &OUTSIDE).decision,
            Allowed,
            "{target}"
        );
    }
    // ledger (L6): nobody.
    assert_eq!(
        c.meshed("billing/ledger", 9091, &known("billing", "payments-api")),
        Denied
    );
    // viz: the chart's own pairs.
    assert_eq!(
        c.meshed(
            "linkerd-viz/metrics-api",
            8085,
            &known("linkerd-viz", "web")
        ),
        Allowed
    );
    assert_eq!(c.meshed("linkerd-viz/metrics-api", 8085, &web), Denied);
    assert_eq!(
        c.meshed(
            "linkerd-viz/prometheus",
            9090,
            &known("linkerd-viz", "metrics-api")
        ),
        Allowed
    );
    let (payments_admin, _) = LinkerdServerId::enumerate(&inv.linkerd.servers)
        .find(|(_, s)| s.name == "payments-api-admin")
        .unwrap();
    assert!(matches!(
        c.lp.server_selects_nothing(payments_admin),
        Some(NothingSelected::NoPod { .. })
    ));
    let unknown: Vec<UnknownWhat> = c.lp.unknown_names().into_iter().map(|u| u.what).collect();
    assert_eq!(
        unknown,
        [UnknownWhat::ServiceAccount {
            namespace: "checkout".into(),
            name: "carts".into()
        }]
    );
}

/// The hardened example: every flow of its ground truth is allowed by the resource it names,
/// and the probes of misuse are refused.
#[test]
fn linkerd_hardened_ground_truth() {
    let inv = example("linkerd-hardened");
    let c = check(&inv);
    let deny = DefaultInboundPolicy::Deny;
    let meshed = |target: &str, port: u16, ns: &str, sa: &str| {
        c.decide_with(
            target,
            port,
            &LinkerdClient::Meshed {
                peer: &known(ns, sa),
            },
            deny,
        )
        .decision
    };
    // (server workload, port, client namespace/service account, decision)
    let flows = [
        (
            "storefront/web",
            8080,
            "ingress-nginx/ingress-nginx",
            Allowed,
        ),
        ("checkout/cart", 8080, "storefront/web", Conditional),
        ("checkout/cart", 8080, "checkout/cart-janitor", Conditional),
        ("checkout/cart", 8080, "storefront/catalog", Denied),
        ("billing/payments-api", 9090, "checkout/orders", Allowed),
        (
            "billing/payments-api",
            9090,
            "linkerd-viz/prometheus",
            Denied,
        ),
        ("billing/ledger", 9091, "billing/payments-api", Allowed),
        (
            "billing/payments-api",
            4191,
            "linkerd-viz/prometheus",
            Allowed,
        ),
        ("billing/payments-api", 4191, "checkout/orders", Denied),
    ];
    for (target, port, client, decision) in flows {
        let (ns, sa) = client.split_once('/').unwrap();
        assert_eq!(
            meshed(target, port, ns, sa),
            decision,
            "{client} -> {target}:{port}"
        );
    }
    for s in LinkerdServerId::all(&inv.linkerd.servers) {
        assert_eq!(
            c.lp.server_selects_nothing(s),
            None,
            "{}",
            inv.linkerd.servers[s].name
        );
    }
    assert!(c.lp.unknown_names().is_empty());
    for p in Idx::all(&inv.linkerd.authorization_policies) {
        assert!(
            c.lp.policy(p).problems.is_empty(),
            "{}",
            inv.linkerd.authorization_policies[p].name
        );
    }
}

/// §3.7: `audit` is credited only when nothing else admits the client; an explicit
/// authorization that admits it makes the decision a plain allow.
#[test]
fn audit_only_when_nothing_else_admits() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}",
        namespace("shop"),
        app("shop", "api", &[("http", 8080)]),
        server("shop", "api-http", Some("api"), "http").spec("accessPolicy: audit"),
        r#"apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: web}]
"#
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    let web = c.decide(
        "shop/api",
        8080,
        &LinkerdClient::Meshed {
            peer: &known("shop", "web"),
        },
    );
    assert_eq!((web.decision, web.audit), (Allowed, false));
    let other = c.decide("shop/api", 8080, &OUTSIDE);
    assert_eq!((other.decision, other.audit), (Allowed, true));
}

/// Facts the rules word: inclusion between authorizations, the Services in front of a port,
/// why a policy is ignored.
#[test]
fn inclusion_services_and_problem_wording() {
    let yaml = format!(
        "{CONFIG}{}{}{}",
        namespace("shop"),
        app("shop", "cart", &[("http", 8080)]),
        r#"apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{name: http, port: 80, targetPort: http}, {name: other, port: 81, targetPort: 9999}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: cart-http, namespace: shop}
spec: {podSelector: {matchLabels: {app: cart}}, port: http}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: shop-namespace, namespace: shop}
spec:
  identityRefs: [{kind: Namespace, name: shop}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: from-shop, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: shop-namespace}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: from-web, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: web}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: broken, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: cart-http}
  requiredAuthenticationRefs:
    - {kind: ServiceAccount, name: web}
    - {kind: ServiceAccount, name: cart}
"#
    );
    let inv = mesh(&yaml);
    let lp = LinkerdPolicy::new(&inv);
    let namespace_wide = lp.policy(Idx::new(0)).authorization.as_ref().unwrap();
    let one = lp.policy(Idx::new(1)).authorization.as_ref().unwrap();
    assert!(lp.includes(namespace_wide, one));
    assert!(!lp.includes(one, namespace_wide));
    assert_eq!(one.describe_authentication(), "ServiceAccount shop/web");
    assert_eq!(namespace_wide.describe_authentication(), "namespace `shop`");
    let cart = workload(&inv, "shop/cart");
    assert_eq!(lp.services_to(cart, 8080), [(ServiceId::new(0), 0)]);
    assert_eq!(lp.services_to(cart, 9999), [(ServiceId::new(0), 1)]);
    assert!(lp.services_to(cart, 7000).is_empty());
    let problem = &lp.policy(Idx::new(2)).problems[0];
    assert_eq!(
        lp.problem_text(Idx::new(2), problem),
        "it requires more than one identity (MeshTLSAuthentication or ServiceAccount); Linkerd accepts one"
    );
    assert_eq!(
        lp.describe_ports(&[(cart, 8080), (cart, 9090)], 1),
        "Deployment shop/cart:8080, and 1 more"
    );
}

/// §3.6: a GRPCRoute on a Server makes its HTTPRoutes conflicted; a gRPC Server uses
/// GRPCRoutes only.
#[test]
fn grpc_routes_take_precedence_on_grpc_servers() {
    let yaml = format!(
        "{CONFIG}{}{}{}{}",
        namespace("shop"),
        app("shop", "ledger", &[("grpc", 9090)]),
        server("shop", "ledger-grpc", Some("ledger"), "grpc").spec("proxyProtocol: gRPC"),
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: ledger-write, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: ledger-grpc}]
  rules: [{matches: [{method: {service: shop.Ledger, method: Write}}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ledger-http, namespace: shop}
spec:
  parentRefs: [{group: policy.linkerd.io, kind: Server, name: ledger-grpc}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ledger-write-from-payments, namespace: shop}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: GRPCRoute, name: ledger-write}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: payments}]
"#
    );
    let inv = mesh(&yaml);
    let c = check(&inv);
    let server = c.lp.server(srv(0));
    assert_eq!(server.routes.len(), 1);
    assert_eq!(server.unused_routes.len(), 1);
    let d = c.decide(
        "shop/ledger",
        9090,
        &LinkerdClient::Meshed {
            peer: &known("shop", "payments"),
        },
    );
    // The only route admits payments: allowed (other methods get NOT_FOUND, for everyone).
    assert_eq!(d.decision, Allowed);
    assert_eq!(c.meshed("shop/ledger", 9090, &known("shop", "web")), Denied);
}
