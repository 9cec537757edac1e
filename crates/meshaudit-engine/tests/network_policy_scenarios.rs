//! NetworkPolicy scenarios: small clusters whose expected network answers are written down
//! here — which client may open a connection to which server port, and which NetworkPolicy
//! decided. The semantics come from the Kubernetes documentation ("Network Policies",
//! kubernetes.io/docs/concepts/services-networking/network-policies/) and the
//! `networking.k8s.io/v1` API reference.

mod common;

use common::{client, mesh};

use meshaudit_engine::graph::{build, Client, Graph};
use meshaudit_engine::network_policy::NetVerdict::{self, Allowed, Denied, Restricted};
use meshaudit_model::Inventory;

/// A Deployment `name` (pod label `app: name`) whose container declares `ports` as
/// `(name, number)`; `extra` goes under the pod spec.
fn deployment(ns: &str, name: &str, ports: &[(&str, u16)], extra: &str) -> String {
    let ports: String = ports
        .iter()
        .map(|(n, p)| format!("            - {{name: {n}, containerPort: {p}}}\n"))
        .collect();
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
      labels: {{app: {name}}}
    spec:
{extra}      containers:
        - name: app
          image: example/{name}:1.0
          ports:
{ports}---
"#
    )
}

fn policy(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n{spec}---\n"
    )
}

/// One row of the ground truth.
struct Expect {
    from: &'static str,
    to: &'static str,
    port: u16,
    network: NetVerdict,
    /// NetworkPolicies (`ns/name`) that must be among those that decided; empty means none
    /// decided (both sides open).
    decided_by: &'static [&'static str],
}

fn check(inv: &Inventory, graph: &Graph, expected: &[Expect]) {
    for e in expected {
        let label = format!("{} -> {}:{}", e.from, e.to, e.port);
        let server = graph
            .servers
            .iter()
            .find(|s| {
                let w = &inv.workloads[s.workload];
                format!("{}/{}", w.namespace, w.name) == e.to && s.port == e.port
            })
            .unwrap_or_else(|| panic!("{label}: no such server port"));
        let decision = graph.network(inv, client(inv, e.from), server);
        assert_eq!(
            graph.network_verdict(inv, client(inv, e.from), server),
            decision.verdict(),
            "{label}: the fast verdict differs"
        );
        assert_eq!(decision.verdict(), e.network, "{label}: {decision:#?}");
        let decided: Vec<String> = decision
            .decided_by()
            .iter()
            .map(|&p| {
                let p = &inv.network_policies[p];
                format!("{}/{}", p.namespace, p.name)
            })
            .collect();
        if e.decided_by.is_empty() {
            assert!(decided.is_empty(), "{label}: decided by {decided:?}");
        }
        for d in e.decided_by {
            assert!(
                decided.iter().any(|x| x == d),
                "{label}: {d} not among {decided:?}"
            );
        }
        assert!(!decision.because().is_empty(), "{label}: no evidence");
    }
}

/// The verdict without evidence equals the full decision's, for every client and server port.
fn check_fast_verdicts(inv: &Inventory, graph: &Graph) {
    let clients = inv
        .workload_ids()
        .map(Client::Workload)
        .chain([Client::OtherMeshed, Client::OtherUnmeshed]);
    for c in clients {
        for server in &graph.servers {
            assert_eq!(
                graph.network_verdict(inv, c, server),
                graph.network(inv, c, server).verdict(),
                "{c:?} -> {}:{}",
                server.workload.index(),
                server.port
            );
        }
    }
}

#[test]
fn selectors_ports_and_policy_types() {
    let yaml = [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {team: shop}\n---\n"
            .to_owned(),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels: {team: payments}\n---\n"
            .to_owned(),
        // No labels: only the name label the API server adds can select it.
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n---\n".to_owned(),
        deployment("shop", "web", &[("http", 8080)], ""),
        deployment("shop", "worker", &[("http", 8080)], ""),
        deployment(
            "payments",
            "api",
            &[("https", 8443), ("metrics", 9090)],
            "",
        ),
        deployment("payments", "db", &[("pg", 5432)], ""),
        deployment("monitoring", "prometheus", &[("web", 9091)], ""),
        deployment(
            "monitoring",
            "node-agent",
            &[("agent", 9100)],
            "      hostNetwork: true\n",
        ),
        // payments: default deny both ways, then the flows it needs.
        policy(
            "payments",
            "default-deny",
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
        ),
        // One peer with both selectors: pods `app: web` in namespaces `team: shop`.
        policy(
            "payments",
            "api-from-shop-web",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {team: shop}}\n          podSelector: {matchLabels: {app: web}}\n      ports:\n        - port: https\n",
        ),
        // The implied namespace label, and a port range.
        policy(
            "payments",
            "api-metrics",
            "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}\n      ports:\n        - port: 9000\n          endPort: 9100\n",
        ),
        policy(
            "payments",
            "api-to-db",
            "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - podSelector: {matchLabels: {app: db}}\n      ports:\n        - {protocol: TCP, port: 5432}\n",
        ),
        policy(
            "payments",
            "db-from-api",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from:\n        - podSelector: {matchLabels: {app: api}}\n",
        ),
        // shop/web: from every address but the metadata server, on 8080 (policyTypes
        // defaults to Ingress).
        policy(
            "shop",
            "web-from-anywhere",
            "  podSelector: {matchLabels: {app: web}}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}\n      ports:\n        - port: 8080\n",
        ),
        // No policyTypes and an egress section: the API defaults policyTypes to
        // [Ingress, Egress], so this also isolates worker for ingress, with no ingress rule.
        policy(
            "shop",
            "worker-egress",
            "  podSelector: {matchLabels: {app: worker}}\n  egress:\n    - to:\n        - namespaceSelector: {}\n      ports:\n        - port: 8080\n",
        ),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check_fast_verdicts(&inv, &graph);
    check(
        &inv,
        &graph,
        &[
            // The combined peer admits web (namespace team=shop, pod app=web) on the named
            // port; web's own egress is open.
            Expect {
                from: "shop/web",
                to: "payments/api",
                port: 8443,
                network: Allowed,
                decided_by: &["payments/api-from-shop-web"],
            },
            // worker is in the right namespace but not the right pod; and its egress only
            // allows port 8080.
            Expect {
                from: "shop/worker",
                to: "payments/api",
                port: 8443,
                network: Denied,
                decided_by: &["shop/worker-egress", "payments/default-deny"],
            },
            // The named port `https` is 8443 only: 9090 is not admitted for web.
            Expect {
                from: "shop/web",
                to: "payments/api",
                port: 9090,
                network: Denied,
                decided_by: &["payments/api-metrics"],
            },
            // The implied `kubernetes.io/metadata.name` label and 9000–9100.
            Expect {
                from: "monitoring/prometheus",
                to: "payments/api",
                port: 9090,
                network: Allowed,
                decided_by: &["payments/api-metrics"],
            },
            // A hostNetwork client carries the node's address: no pod selector matches it.
            Expect {
                from: "monitoring/node-agent",
                to: "payments/api",
                port: 9090,
                network: Denied,
                decided_by: &["payments/default-deny"],
            },
            // Egress of api (api-to-db) and ingress of db (db-from-api) both admit it.
            Expect {
                from: "payments/api",
                to: "payments/db",
                port: 5432,
                network: Allowed,
                decided_by: &["payments/api-to-db", "payments/db-from-api"],
            },
            // db may send nothing (default-deny egress).
            Expect {
                from: "payments/db",
                to: "payments/api",
                port: 8443,
                network: Denied,
                decided_by: &["payments/default-deny"],
            },
            // api's egress reaches only db.
            Expect {
                from: "payments/api",
                to: "shop/web",
                port: 8080,
                network: Denied,
                decided_by: &["payments/default-deny"],
            },
            // The defaulted policyTypes isolate worker for ingress with no rule.
            Expect {
                from: "shop/web",
                to: "shop/worker",
                port: 8080,
                network: Denied,
                decided_by: &["shop/worker-egress"],
            },
            // worker's egress to every namespace on 8080, web's ingress from 0.0.0.0/0.
            Expect {
                from: "shop/worker",
                to: "shop/web",
                port: 8080,
                network: Allowed,
                decided_by: &["shop/worker-egress", "shop/web-from-anywhere"],
            },
            // Pods the input does not describe: all of them reach web, some of them api.
            Expect {
                from: "*meshed",
                to: "shop/web",
                port: 8080,
                network: Allowed,
                decided_by: &["shop/web-from-anywhere"],
            },
            Expect {
                from: "*unmeshed",
                to: "payments/api",
                port: 8443,
                network: Restricted,
                decided_by: &["payments/api-from-shop-web"],
            },
            Expect {
                from: "*meshed",
                to: "payments/db",
                port: 5432,
                network: Restricted,
                decided_by: &["payments/db-from-api"],
            },
            // Nothing isolates prometheus: nobody decided.
            Expect {
                from: "shop/web",
                to: "monitoring/prometheus",
                port: 9091,
                network: Allowed,
                decided_by: &[],
            },
        ],
    );
}

#[test]
fn empty_rules_peers_and_ip_blocks() {
    let yaml = [
        deployment("a", "open", &[("http", 80)], ""),
        deployment("a", "closed", &[("http", 80)], ""),
        deployment("a", "private", &[("http", 80)], ""),
        deployment("b", "client", &[("http", 80)], ""),
        // `ingress: [{}]`: one rule with no peers and no ports admits everything.
        policy(
            "a",
            "open-all",
            "  podSelector: {matchLabels: {app: open}}\n  ingress:\n    - {}\n",
        ),
        // An `ingress` list that is empty admits nothing.
        policy(
            "a",
            "closed-none",
            "  podSelector: {matchLabels: {app: closed}}\n  ingress: []\n",
        ),
        // A CIDR that excludes the private ranges pod networks use does not match pods.
        policy(
            "a",
            "private-public-only",
            "  podSelector: {matchLabels: {app: private}}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}\n",
        ),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check_fast_verdicts(&inv, &graph);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "b/client",
                to: "a/open",
                port: 80,
                network: Allowed,
                decided_by: &["a/open-all"],
            },
            Expect {
                from: "*unmeshed",
                to: "a/open",
                port: 80,
                network: Allowed,
                decided_by: &["a/open-all"],
            },
            Expect {
                from: "b/client",
                to: "a/closed",
                port: 80,
                network: Denied,
                decided_by: &["a/closed-none"],
            },
            Expect {
                from: "*meshed",
                to: "a/closed",
                port: 80,
                network: Denied,
                decided_by: &["a/closed-none"],
            },
            Expect {
                from: "b/client",
                to: "a/private",
                port: 80,
                network: Denied,
                decided_by: &["a/private-public-only"],
            },
        ],
    );
}

/// Ambient mesh traffic reaches the server pod over HBONE, on port 15008: that is the port
/// NetworkPolicy must admit (istio.io/latest/docs/ambient/usage/networkpolicy/).
#[test]
fn ambient_traffic_is_seen_on_the_hbone_port() {
    let ns = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{istio.io/dataplane-mode: ambient}}\n---\n"
        )
    };
    let service = |ns: &str, name: &str, port: u16| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector: {{app: {name}}}\n  ports:\n    - {{name: http, port: {port}}}\n---\n"
        )
    };
    let yaml = [
        ns("shop"),
        deployment("shop", "web", &[("http", 8080)], ""),
        deployment("shop", "api", &[("http", 8080)], ""),
        deployment("shop", "cart", &[("http", 8080)], ""),
        service("shop", "api", 8080),
        service("shop", "cart", 8080),
        // No mesh for `legacy`: its pods send plaintext straight to port 8080.
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: legacy\n---\n".to_owned(),
        deployment("legacy", "batch", &[("http", 8080)], ""),
        // api admits 8080 only: HBONE (15008) is blocked.
        policy(
            "shop",
            "api-8080",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n    - ports:\n        - port: 8080\n",
        ),
        // cart admits 8080 and 15008.
        policy(
            "shop",
            "cart-8080-and-hbone",
            "  podSelector: {matchLabels: {app: cart}}\n  ingress:\n    - ports:\n        - port: 8080\n        - port: 15008\n",
        ),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check_fast_verdicts(&inv, &graph);
    check(
        &inv,
        &graph,
        &[
            Expect {
                from: "shop/web",
                to: "shop/api",
                port: 8080,
                network: Denied,
                decided_by: &["shop/api-8080"],
            },
            Expect {
                from: "shop/web",
                to: "shop/cart",
                port: 8080,
                network: Allowed,
                decided_by: &["shop/cart-8080-and-hbone"],
            },
            // Plaintext from outside the mesh arrives on the application port itself.
            Expect {
                from: "legacy/batch",
                to: "shop/api",
                port: 8080,
                network: Allowed,
                decided_by: &["shop/api-8080"],
            },
        ],
    );
    let web = client(&inv, "shop/web");
    let api = graph
        .servers
        .iter()
        .find(|s| inv.workloads[s.workload].name == "api")
        .unwrap();
    let because = graph.network(&inv, web, api).because();
    assert!(
        because.iter().any(|b| b.fact.contains("15008")),
        "{because:?}"
    );
}
