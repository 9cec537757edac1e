//! Scenario tests: small meshes whose full expected graph is written down here — who reaches
//! whom on which port, over mTLS or plaintext, allowed or denied, and by which resource.
//! Each scenario names the Istio documentation its expectations come from.

mod common;

use common::{client, mesh};

use meshaudit_engine::graph::{
    build, Client, EdgeGroup, Graph, Reach, ServerPort, ServerPortId, Transport,
};
use meshaudit_engine::server_tally::ServerTally;
use meshaudit_model::{Inventory, WorkloadId};

use Reach::{Allowed, Conditional, Denied, Fails};
use Transport::{Mtls, Plaintext};

fn namespace(name: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\n---\n"
    )
}

/// A Deployment (service account = name) with a Service `name` exposing `port` (named
/// `http-web`) to the same container port.
fn app(ns: &str, name: &str, port: u16, pod_labels: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}{pod_labels}}}
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: example/{name}:1.0
          ports:
            - containerPort: {port}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector: {{app: {name}}}
  ports:
    - name: http-web
      port: {port}
      targetPort: {port}
---
"#
    )
}

/// One row of a scenario's ground truth.
struct Expect {
    from: &'static str,
    to: &'static str,
    port: u16,
    transport: Transport,
    reach: Reach,
    /// Resources (`Kind ns/name`) that must appear among those that decided the edge.
    decided_by: &'static [&'static str],
}

/// The shortcuts rules take must give what asking every edge gives: outside the ports that
/// treat a client apart, the client gets its catch-all group, and a tally over clients equals
/// the one counted edge by edge.
fn check_shortcuts(graph: &Graph) {
    fn classify(_: &Graph, _: &ServerPort, group: &EdgeGroup) -> Option<(Transport, Reach)> {
        Some((group.transport, group.reach()))
    }
    let mut tally = ServerTally::new(graph, classify);
    let everyone: Vec<WorkloadId> = graph.workload_ids().collect();
    let mut sets: Vec<Vec<WorkloadId>> = everyone.iter().map(|&w| vec![w]).collect();
    sets.push(everyone.clone());
    sets.push(
        everyone
            .iter()
            .copied()
            .filter(|w| w.index() % 2 == 0)
            .collect(),
    );
    for w in graph.workload_ids() {
        let apart = graph.treated_apart(w);
        let catch_all = graph.catch_all(w);
        for (s, server) in ServerPortId::enumerate(&graph.servers) {
            if apart.contains(&s) {
                continue;
            }
            assert!(
                std::ptr::eq(
                    server.group_for(graph, Client::Workload(w)),
                    server.group_for(graph, catch_all)
                ),
                "workload {w:?} at server {s:?}: not its catch-all group"
            );
        }
    }
    for clients in sets {
        // Edge by edge: per server, the greatest kind over the clients (own ports excepted).
        let mut by_kind: std::collections::BTreeMap<(Transport, Reach), Vec<ServerPortId>> =
            Default::default();
        for (s, server) in ServerPortId::enumerate(&graph.servers) {
            let kind = clients
                .iter()
                .filter(|&&c| c != server.workload)
                .filter_map(|&c| {
                    classify(graph, server, server.group_for(graph, Client::Workload(c)))
                })
                .max();
            if let Some(k) = kind {
                by_kind.entry(k).or_default().push(s);
            }
        }
        let tallied = tally.clients(&clients, 3);
        for (kind, servers) in &by_kind {
            assert_eq!(tallied.count(*kind), servers.len(), "{clients:?} {kind:?}");
            assert_eq!(tallied.first(*kind), &servers[..servers.len().min(3)]);
        }
        for t in [Mtls, Plaintext, Transport::Tls, Transport::Fails] {
            for r in [Allowed, Conditional, Denied, Fails] {
                if !by_kind.contains_key(&(t, r)) {
                    assert_eq!(tallied.count((t, r)), 0, "{clients:?} {t:?} {r:?}");
                }
            }
        }
    }
}

fn check(inv: &Inventory, graph: &Graph, expected: &[Expect]) {
    check_shortcuts(graph);
    for e in expected {
        let c = client(inv, e.from);
        let Client::Workload(s) = client(inv, e.to) else {
            panic!("server must be a workload")
        };
        let server = graph
            .servers
            .iter()
            .find(|p| p.workload == s && p.port == e.port)
            .unwrap_or_else(|| panic!("no server port {}:{}", e.to, e.port));
        let group = server.group_for(graph, c);
        let edge = format!("{} -> {}:{}", e.from, e.to, e.port);
        assert_eq!(
            group.transport, e.transport,
            "{edge}: transport; chain: {:#?}",
            group.transport_because
        );
        assert_eq!(
            group.reach(),
            e.reach,
            "{edge}: reach; authz: {:#?}",
            group.authorization
        );
        let edge_ref = meshaudit_engine::Edge {
            client: c,
            server,
            group,
        };
        let mut deciders: Vec<String> = graph
            .transport_evidence(&edge_ref)
            .iter()
            .chain(group.authorization.iter().flat_map(|a| &a.because))
            .filter_map(|b| b.object)
            .map(|o| {
                let o = inv.object(o);
                format!("{} {}", o.kind, o.qualified_name())
            })
            .collect();
        deciders.dedup();
        for d in e.decided_by {
            assert!(
                deciders.iter().any(|x| x == d),
                "{edge}: expected {d} in {deciders:?}"
            );
        }
    }
}

const MESH_WIDE_STRICT: &str = r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
---
"#;

/// Mesh-wide STRICT, one namespace PERMISSIVE: the namespace policy overrides the mesh one, so
/// only `legacy-api` accepts plaintext.
/// Docs: https://istio.io/latest/docs/concepts/security/#peer-authentication (policy precedence),
/// https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/
#[test]
fn mesh_strict_with_one_permissive_namespace() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("legacy", "istio-injection: enabled"),
        namespace("batch", ""),
        MESH_WIDE_STRICT.to_owned(),
        r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: legacy
spec:
  mtls:
    mode: PERMISSIVE
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
        app("legacy", "legacy-api", 8080, ""),
        app("batch", "cron", 9000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            // Meshed to meshed: auto mTLS, no AuthorizationPolicy, allowed.
            Expect {
                from: "shop/web",
                to: "legacy/legacy-api",
                port: 8080,
                transport: Mtls,
                reach: Allowed,
                decided_by: &["PeerAuthentication legacy/default"],
            },
            Expect {
                from: "legacy/legacy-api",
                to: "shop/web",
                port: 8080,
                transport: Mtls,
                reach: Allowed,
                decided_by: &["PeerAuthentication istio-system/default"],
            },
            // A client without a sidecar: rejected by STRICT, accepted by PERMISSIVE.
            Expect {
                from: "batch/cron",
                to: "shop/web",
                port: 8080,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &["PeerAuthentication istio-system/default"],
            },
            Expect {
                from: "batch/cron",
                to: "legacy/legacy-api",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["PeerAuthentication legacy/default"],
            },
            Expect {
                from: "*unmeshed",
                to: "legacy/legacy-api",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &[],
            },
            // The unmeshed server receives plaintext from everyone; nothing enforces policy.
            Expect {
                from: "shop/web",
                to: "batch/cron",
                port: 9000,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Namespace batch"],
            },
        ],
    );
}

/// A workload policy with a port-level exception: port 9090 PERMISSIVE, the rest STRICT; an
/// UNSET port inherits the workload mode. The port key is the container port.
/// Docs: https://istio.io/latest/docs/reference/config/security/peer_authentication/
#[test]
fn port_level_overrides() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("batch", ""),
        r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: PERMISSIVE
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  mtls:
    mode: STRICT
  portLevelMtls:
    9090:
      mode: PERMISSIVE
    8443:
      mode: UNSET
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: api
      containers:
        - name: app
          image: example/api:1
          ports:
            - {containerPort: 8080}
            - {containerPort: 9090}
            - {containerPort: 8443}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports:
    - {name: http, port: 80, targetPort: 8080}
    - {name: http-metrics, port: 9090}
    - {name: tcp-tls, port: 443, targetPort: 8443}
---
"#
        .to_owned(),
        app("batch", "cron", 9000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "batch/cron",
                to: "shop/api",
                port: 8080,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &["PeerAuthentication shop/api"],
            },
            Expect {
                from: "batch/cron",
                to: "shop/api",
                port: 9090,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["PeerAuthentication shop/api"],
            },
            Expect {
                from: "batch/cron",
                to: "shop/api",
                port: 8443,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &["PeerAuthentication shop/api"],
            },
            Expect {
                from: "*meshed",
                to: "shop/api",
                port: 9090,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
        ],
    );
}

/// A client DestinationRule with `tls.mode: DISABLE` sends plaintext: a STRICT server resets
/// it, a PERMISSIVE one accepts it. Clients in other namespaces are unaffected (the rule is
/// not exported). Docs: https://istio.io/latest/docs/ops/common-problems/network-issues/
/// ("503 errors after setting destination rule"),
/// https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/#auto-mtls
#[test]
fn destination_rule_disable_to_strict_and_permissive_servers() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("pay", "istio-injection: enabled"),
        namespace("client", "istio-injection: enabled"),
        namespace("other", "istio-injection: enabled"),
        MESH_WIDE_STRICT.to_owned(),
        r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: pay}
spec:
  mtls: {mode: PERMISSIVE}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: no-tls, namespace: client}
spec:
  host: "*.svc.cluster.local"
  exportTo: ["."]
  trafficPolicy:
    tls: {mode: DISABLE}
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
        app("pay", "api", 8080, ""),
        app("client", "caller", 7000, ""),
        app("other", "peer", 7000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "client/caller",
                to: "shop/web",
                port: 8080,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &[
                    "DestinationRule client/no-tls",
                    "PeerAuthentication istio-system/default",
                ],
            },
            Expect {
                from: "client/caller",
                to: "pay/api",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &[
                    "DestinationRule client/no-tls",
                    "PeerAuthentication pay/default",
                ],
            },
            Expect {
                from: "other/peer",
                to: "shop/web",
                port: 8080,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
            Expect {
                from: "other/peer",
                to: "pay/api",
                port: 8080,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
        ],
    );
}

/// Clients without a proxy: a namespace without injection, a pod opted out, hostNetwork, a
/// container running as UID 1337 (its outbound traffic skips the sidecar), and an inbound port
/// excluded from capture (plaintext reaches the app, auto mTLS breaks).
/// Docs: https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/,
/// https://istio.io/latest/docs/ops/deployment/application-requirements/,
/// https://istio.io/latest/docs/ops/best-practices/security/#understand-traffic-capture-limitations
#[test]
fn clients_and_ports_outside_the_proxy() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("plain", ""),
        r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: PERMISSIVE}
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
        app(
            "shop",
            "opted-out",
            8081,
            ", sidecar.istio.io/inject: \"false\"",
        ),
        app("plain", "tool", 5000, ""),
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: root-app, namespace: shop}
spec:
  selector: {matchLabels: {app: root-app}}
  template:
    metadata: {labels: {app: root-app}}
    spec:
      serviceAccountName: root-app
      securityContext: {runAsUser: 1337}
      containers:
        - name: app
          image: example/root-app:1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics, namespace: shop}
spec:
  selector: {matchLabels: {app: metrics}}
  template:
    metadata:
      labels: {app: metrics}
      annotations:
        traffic.sidecar.istio.io/excludeInboundPorts: "9100"
    spec:
      serviceAccountName: metrics
      containers:
        - name: app
          image: example/metrics:1
          ports: [{containerPort: 9100}]
---
apiVersion: v1
kind: Service
metadata: {name: metrics, namespace: shop}
spec:
  selector: {app: metrics}
  ports: [{name: http, port: 9100}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: shop}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata:
      labels: {app: batch}
      annotations:
        traffic.sidecar.istio.io/excludeOutboundPorts: "8080"
    spec:
      serviceAccountName: batch
      containers:
        - name: app
          image: example/batch:1
---
"#
        .to_owned(),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "plain/tool",
                to: "shop/web",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Namespace plain", "PeerAuthentication istio-system/default"],
            },
            Expect {
                from: "shop/opted-out",
                to: "shop/web",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Deployment shop/opted-out"],
            },
            Expect {
                from: "shop/root-app",
                to: "shop/web",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Deployment shop/root-app"],
            },
            Expect {
                from: "shop/web",
                to: "shop/opted-out",
                port: 8081,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Deployment shop/opted-out"],
            },
            // Auto mTLS still sends mTLS to the pod (it carries the sidecar's tlsMode label), but
            // the excluded port reaches the application directly.
            Expect {
                from: "shop/web",
                to: "shop/metrics",
                port: 9100,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &["Deployment shop/metrics"],
            },
            Expect {
                from: "plain/tool",
                to: "shop/metrics",
                port: 9100,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Deployment shop/metrics"],
            },
            // Outbound port 8080 skips batch's sidecar: plaintext, accepted under PERMISSIVE;
            // other ports still go through it.
            Expect {
                from: "shop/batch",
                to: "shop/web",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Deployment shop/batch"],
            },
            Expect {
                from: "shop/batch",
                to: "shop/opted-out",
                port: 8081,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["Deployment shop/opted-out"],
            },
            Expect {
                from: "shop/batch",
                to: "shop/metrics",
                port: 9100,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &["Deployment shop/metrics"],
            },
        ],
    );
}

/// A DENY on `namespaces` under PERMISSIVE: mTLS requests from the denied namespace are
/// denied, but the same client without a sidecar sends plaintext, has no namespace, and gets
/// through. An ALLOW with `notNamespaces` admits plaintext too.
/// Docs: https://istio.io/latest/news/security/istio-security-2021-004/,
/// https://istio.io/latest/docs/ops/best-practices/security/#safer-authorization-policy-pattern
#[test]
fn deny_by_namespace_is_bypassed_by_plaintext() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("untrusted", "istio-injection: enabled"),
        namespace("plain", ""),
        r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-untrusted, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  action: DENY
  rules:
    - from:
        - source: {namespaces: [untrusted, plain]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-not-untrusted, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  rules:
    - from:
        - source: {notNamespaces: [untrusted, plain]}
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
        app("shop", "api", 8081, ""),
        app("untrusted", "evil", 6000, ""),
        app("plain", "evil-plain", 6001, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "untrusted/evil",
                to: "shop/web",
                port: 8080,
                transport: Mtls,
                reach: Denied,
                decided_by: &["AuthorizationPolicy shop/deny-untrusted"],
            },
            Expect {
                from: "plain/evil-plain",
                to: "shop/web",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &[],
            },
            Expect {
                from: "*meshed",
                to: "shop/web",
                port: 8080,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
            Expect {
                from: "untrusted/evil",
                to: "shop/api",
                port: 8081,
                transport: Mtls,
                reach: Denied,
                decided_by: &["AuthorizationPolicy shop/allow-not-untrusted"],
            },
            Expect {
                from: "plain/evil-plain",
                to: "shop/api",
                port: 8081,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["AuthorizationPolicy shop/allow-not-untrusted"],
            },
        ],
    );
}

/// A mesh-wide allow-nothing policy plus explicit ALLOWs: only the named identity gets in, and
/// a path restriction makes the edge conditional. A DENY wins over an ALLOW.
/// Docs: https://istio.io/latest/docs/reference/config/security/authorization-policy/,
/// https://istio.io/latest/docs/ops/best-practices/security/#use-default-deny-patterns
#[test]
fn allow_nothing_plus_explicit_allows() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("pay", "istio-injection: enabled"),
        MESH_WIDE_STRICT.to_owned(),
        r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: istio-system}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-allow-web, namespace: pay}
spec:
  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules:
    - from:
        - source: {principals: ["cluster.local/ns/shop/sa/web"]}
      to:
        - operation: {methods: [POST], paths: ["/charge"]}
    - from:
        - source: {principals: ["cluster.local/ns/shop/sa/admin"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-deny-admin, namespace: pay}
spec:
  selector: {matchLabels: {app: api}}
  action: DENY
  rules:
    - from:
        - source: {principals: ["cluster.local/ns/shop/sa/admin"]}
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
        app("shop", "admin", 8082, ""),
        app("shop", "other", 8083, ""),
        app("pay", "api", 9000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "shop/web",
                to: "pay/api",
                port: 9000,
                transport: Mtls,
                reach: Conditional,
                decided_by: &["AuthorizationPolicy pay/api-allow-web"],
            },
            Expect {
                from: "shop/admin",
                to: "pay/api",
                port: 9000,
                transport: Mtls,
                reach: Denied,
                decided_by: &["AuthorizationPolicy pay/api-deny-admin"],
            },
            Expect {
                from: "shop/other",
                to: "pay/api",
                port: 9000,
                transport: Mtls,
                reach: Denied,
                decided_by: &[
                    "AuthorizationPolicy pay/api-allow-web",
                    "AuthorizationPolicy istio-system/allow-nothing",
                ],
            },
            Expect {
                from: "*meshed",
                to: "pay/api",
                port: 9000,
                transport: Mtls,
                reach: Denied,
                decided_by: &[],
            },
            Expect {
                from: "*unmeshed",
                to: "pay/api",
                port: 9000,
                transport: Transport::Fails,
                reach: Fails,
                decided_by: &["PeerAuthentication istio-system/default"],
            },
            // The web workload itself only has the allow-nothing policy.
            Expect {
                from: "pay/api",
                to: "shop/web",
                port: 8080,
                transport: Mtls,
                reach: Denied,
                decided_by: &["AuthorizationPolicy istio-system/allow-nothing"],
            },
        ],
    );
}

/// JWT: a RequestAuthentication alone leaves tokens optional (requests without one pass); an
/// ALLOW requiring `requestPrincipals` makes the edge conditional on a valid token; without any
/// RequestAuthentication such a rule can never match.
/// Docs: https://istio.io/latest/docs/reference/config/security/request_authentication/,
/// https://istio.io/latest/docs/tasks/security/authorization/authz-jwt/
#[test]
fn jwt_required_versus_optional() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        MESH_WIDE_STRICT.to_owned(),
        r#"apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: shop}
spec:
  selector: {matchLabels: {jwt: "yes"}}
  jwtRules:
    - issuer: https://issuer.example.com
      jwksUri: https://issuer.example.com/jwks.json
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: shop}
spec:
  selector: {matchLabels: {app: required}}
  rules:
    - from:
        - source: {requestPrincipals: ["https://issuer.example.com/*"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt-no-ra, namespace: shop}
spec:
  selector: {matchLabels: {app: no-ra}}
  rules:
    - from:
        - source: {requestPrincipals: ["*"]}
---
"#
        .to_owned(),
        app("shop", "optional", 8080, ", jwt: \"yes\""),
        app("shop", "required", 8081, ", jwt: \"yes\""),
        app("shop", "no-ra", 8082, ""),
        app("shop", "caller", 7000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "shop/caller",
                to: "shop/optional",
                port: 8080,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
            Expect {
                from: "shop/caller",
                to: "shop/required",
                port: 8081,
                transport: Mtls,
                reach: Conditional,
                decided_by: &["AuthorizationPolicy shop/require-jwt"],
            },
            Expect {
                from: "shop/caller",
                to: "shop/no-ra",
                port: 8082,
                transport: Mtls,
                reach: Denied,
                decided_by: &["AuthorizationPolicy shop/require-jwt-no-ra"],
            },
        ],
    );
}

/// HTTP-only fields on a TCP port: an ALLOW rule with `paths` is dropped (nothing allowed by
/// it), a DENY rule with `methods` loses them and denies every connection it otherwise matches.
/// The same rules on an HTTP port behave as written.
/// Docs: https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/,
/// https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
#[test]
fn http_only_fields_on_tcp_ports() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("db", "istio-injection: enabled"),
        namespace("shop", "istio-injection: enabled"),
        MESH_WIDE_STRICT.to_owned(),
        r#"apiVersion: v1
kind: Service
metadata: {name: store, namespace: db}
spec:
  selector: {app: store}
  ports:
    - {name: tcp-store, port: 7000}
    - {name: http-admin, port: 7001}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: store, namespace: db}
spec:
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec:
      serviceAccountName: store
      containers: [{name: app, image: example/store:1}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-reads, namespace: db}
spec:
  selector: {matchLabels: {app: store}}
  rules:
    - to:
        - operation: {paths: ["/read/*"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-delete, namespace: db}
spec:
  selector: {matchLabels: {app: store}}
  action: DENY
  rules:
    - to:
        - operation: {methods: [DELETE], ports: ["7001"]}
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            // TCP port: the ALLOW rule with paths is dropped, so nothing is allowed.
            Expect {
                from: "shop/web",
                to: "db/store",
                port: 7000,
                transport: Mtls,
                reach: Denied,
                decided_by: &["AuthorizationPolicy db/allow-reads"],
            },
            // HTTP port: reads are allowed, DELETE is denied: conditional.
            Expect {
                from: "shop/web",
                to: "db/store",
                port: 7001,
                transport: Mtls,
                reach: Conditional,
                decided_by: &[
                    "AuthorizationPolicy db/allow-reads",
                    "AuthorizationPolicy db/deny-delete",
                ],
            },
        ],
    );
}

/// Injection decided by the injector webhooks of the input: the default webhooks select
/// `istio-injection: enabled` namespaces and `sidecar.istio.io/inject: "true"` pods, so a
/// namespace labelled for a revision that has no injector gets no sidecars; ambient namespaces
/// are meshed without sidecars, and a pod can opt out of ambient.
/// Docs: https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/,
/// https://istio.io/latest/docs/ambient/usage/add-workloads/
#[test]
fn membership_follows_the_injector_webhooks() {
    use meshaudit_engine::membership::DataPlane;
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("canary", "istio.io/rev: canary"),
        namespace("amb", "istio.io/dataplane-mode: ambient"),
        namespace("plain", ""),
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
  - name: namespace.sidecar-injector.istio.io
    clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject}}
    namespaceSelector:
      matchExpressions:
        - {key: istio-injection, operator: In, values: [enabled]}
    objectSelector:
      matchExpressions:
        - {key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}
    sideEffects: None
    admissionReviewVersions: [v1]
  - name: object.sidecar-injector.istio.io
    clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject}}
    namespaceSelector:
      matchExpressions:
        - {key: istio-injection, operator: DoesNotExist}
        - {key: istio.io/rev, operator: DoesNotExist}
    objectSelector:
      matchExpressions:
        - {key: sidecar.istio.io/inject, operator: In, values: ["true"]}
        - {key: istio.io/rev, operator: DoesNotExist}
    sideEffects: None
    admissionReviewVersions: [v1]
---
"#
        .to_owned(),
        app("shop", "web", 8080, ""),
        app("canary", "api", 8080, ""),
        app(
            "plain",
            "opted-in",
            8080,
            ", sidecar.istio.io/inject: \"true\"",
        ),
        app("plain", "tool", 8081, ""),
        app("amb", "svc", 8080, ""),
        app("amb", "out", 8081, ", istio.io/dataplane-mode: none"),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    let plane = |id: &str| {
        let Client::Workload(w) = client(&inv, id) else {
            unreachable!()
        };
        graph.workload(w).membership.data_plane
    };
    assert_eq!(plane("shop/web"), DataPlane::Sidecar);
    assert_eq!(
        plane("canary/api"),
        DataPlane::None,
        "no injector for revision canary"
    );
    assert_eq!(plane("plain/opted-in"), DataPlane::Sidecar);
    assert_eq!(plane("plain/tool"), DataPlane::None);
    assert_eq!(plane("amb/svc"), DataPlane::Ambient);
    assert_eq!(plane("amb/out"), DataPlane::None);
    check(
        &inv,
        &graph,
        &[Expect {
            from: "shop/web",
            to: "canary/api",
            port: 8080,
            transport: Plaintext,
            reach: Allowed,
            decided_by: &["MutatingWebhookConfiguration istio-sidecar-injector"],
        }],
    );
}

/// DestinationRules for the same host in one namespace are merged (the oldest rule's
/// trafficPolicy wins, subsets add up); a subset's settings apply to traffic routed to it, so a
/// DISABLE at the top level still leaves a plaintext route even if a subset asks for mTLS.
/// Docs: https://istio.io/latest/docs/ops/best-practices/traffic-management/#split-virtual-services,
/// https://istio.io/latest/docs/reference/config/networking/destination-rule/
#[test]
fn merged_destination_rules_and_subset_routes() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("pay", "istio-injection: enabled"),
        r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a-subsets, namespace: shop, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  host: api
  subsets:
    - {name: v1, labels: {app: api}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b-tls, namespace: shop, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  host: api.shop.svc.cluster.local
  trafficPolicy:
    tls: {mode: DISABLE}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ledger, namespace: pay}
spec:
  host: ledger
  trafficPolicy:
    tls: {mode: DISABLE}
  subsets:
    - name: secure
      labels: {app: ledger}
      trafficPolicy:
        tls: {mode: ISTIO_MUTUAL}
---
"#
        .to_owned(),
        app("shop", "api", 8080, ""),
        app("shop", "web", 8081, ""),
        app("pay", "ledger", 9000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "shop/web",
                to: "shop/api",
                port: 8080,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["DestinationRule shop/b-tls"],
            },
            Expect {
                from: "*meshed",
                to: "pay/ledger",
                port: 9000,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["DestinationRule pay/ledger"],
            },
        ],
    );
}

/// Ambient: ztunnel carries ambient clients over HBONE mutual TLS whatever DestinationRules say,
/// sidecars reach ambient servers the same way, and ambient ignores DISABLE. Pods that already
/// carry the injected sidecar (kube-inject output) are meshed whatever their namespace says.
/// Docs: https://istio.io/latest/docs/ambient/usage/l4-policy/,
/// https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#manual-sidecar-injection
#[test]
fn ambient_and_pre_injected_pods() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("amb", "istio.io/dataplane-mode: ambient"),
        namespace("shop", "istio-injection: enabled"),
        namespace("plain", ""),
        r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: amb}
spec:
  mtls: {mode: DISABLE}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: injected, namespace: plain}
spec:
  selector: {matchLabels: {app: injected}}
  template:
    metadata:
      labels: {app: injected}
      annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"]}'}
    spec:
      serviceAccountName: injected
      containers:
        - name: app
          image: example/injected:1
          ports: [{containerPort: 7000}]
        - name: istio-proxy
          image: docker.io/istio/proxyv2:1.30.0
          args: [proxy, sidecar]
---
apiVersion: v1
kind: Service
metadata: {name: injected, namespace: plain}
spec:
  selector: {app: injected}
  ports: [{name: http, port: 7000}]
---
"#
        .to_owned(),
        app("amb", "db", 5432, ""),
        app("amb", "cli", 5000, ""),
        app("shop", "web", 8080, ""),
        app("plain", "tool", 6000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "amb/cli",
                to: "amb/db",
                port: 5432,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
            Expect {
                from: "shop/web",
                to: "amb/db",
                port: 5432,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
            Expect {
                from: "plain/tool",
                to: "amb/db",
                port: 5432,
                transport: Plaintext,
                reach: Allowed,
                decided_by: &["PeerAuthentication amb/default"],
            },
            Expect {
                from: "shop/web",
                to: "plain/injected",
                port: 7000,
                transport: Mtls,
                reach: Allowed,
                decided_by: &[],
            },
        ],
    );
}

/// A Deployment `name` in `ns` running as service account `sa`, with no ports.
fn client_as(ns: &str, name: &str, sa: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {sa}
      containers: [{{name: app, image: example/{name}:1}}]
---
"#
    )
}

/// Principals that name a whole namespace (`cluster.local/ns/batch/*`), some service accounts of
/// one (`cluster.local/ns/ops/sa/web-*`), and one service account several workloads run as:
/// every workload a pattern matches is allowed, the others are denied, and workloads that
/// present the same identity, or are named only through their namespace, share one answer.
/// Docs: https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
/// (principals: exact, prefix `abc*`, suffix `*abc` and presence `*` matches).
#[test]
fn wildcard_principals_and_shared_identities() {
    let yaml = [
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("batch", "istio-injection: enabled"),
        namespace("ops", "istio-injection: enabled"),
        namespace("shared", "istio-injection: enabled"),
        MESH_WIDE_STRICT.to_owned(),
        r#"apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: db-allow, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  rules:
    - from:
        - source:
            principals:
              - cluster.local/ns/batch/*
              - cluster.local/ns/ops/sa/web-*
              - cluster.local/ns/shared/sa/worker
---
"#
        .to_owned(),
        app("shop", "db", 5432, ""),
        client_as("batch", "job-a", "job-a"),
        client_as("batch", "job-b", "job-b"),
        client_as("ops", "web-frontend", "web-frontend"),
        client_as("ops", "web-admin", "web-admin"),
        client_as("ops", "tool", "tool"),
        client_as("shared", "worker-1", "worker"),
        client_as("shared", "worker-2", "worker"),
        client_as("shared", "other", "other"),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    let allowed = |from: &'static str| Expect {
        from,
        to: "shop/db",
        port: 5432,
        transport: Mtls,
        reach: Allowed,
        decided_by: &["AuthorizationPolicy shop/db-allow"],
    };
    let denied = |from: &'static str| Expect {
        from,
        to: "shop/db",
        port: 5432,
        transport: Mtls,
        reach: Denied,
        decided_by: &["AuthorizationPolicy shop/db-allow"],
    };
    check(
        &inv,
        &graph,
        &[
            allowed("batch/job-a"),
            allowed("batch/job-b"),
            allowed("ops/web-frontend"),
            allowed("ops/web-admin"),
            denied("ops/tool"),
            allowed("shared/worker-1"),
            allowed("shared/worker-2"),
            denied("shared/other"),
            denied("*meshed"),
        ],
    );
    // One answer per namespace named as a whole, and per shared identity.
    let Client::Workload(db) = client(&inv, "shop/db") else {
        unreachable!()
    };
    let server = graph.ports_of(db).next().expect("db serves 5432");
    let same = |a: &str, b: &str| {
        std::ptr::eq(
            server.group_for(&graph, client(&inv, a)),
            server.group_for(&graph, client(&inv, b)),
        )
    };
    assert!(same("batch/job-a", "batch/job-b"));
    assert!(same("shared/worker-1", "shared/worker-2"));
    assert!(!same("ops/web-frontend", "ops/web-admin"));
}
