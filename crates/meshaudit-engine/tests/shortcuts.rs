//! The shortcuts the graph and the rules take on large meshes must give exactly what the long
//! way gives: a DestinationRule answer derived from the catch-all's, a NetworkPolicy answer
//! given once for a whole namespace, authorization answers shared between ports.

use std::sync::Arc;

use meshaudit_engine::destination_rule::{service_host, DestinationRules};
use meshaudit_engine::graph::build;
use meshaudit_engine::network_policy::NetworkPolicyIndex;
use meshaudit_ingest::{ingest, SourceText};
use meshaudit_model::{Inventory, WorkloadId};

/// The inventory of a test's YAML, which must be valid input.
fn mesh(yaml: &str) -> Inventory {
    let ingested = ingest(&[SourceText {
        path: Arc::from("shortcuts.yaml"),
        text: yaml.to_owned(),
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    ingested.inventory
}

fn namespace(name: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\n---\n"
    )
}

/// A Deployment with a Service `name` on `port` (and a metrics port 9102 on the pod).
fn app(ns: &str, name: &str, port: u16, labels: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}{labels}}}
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: example/{name}:1.0
          ports:
            - {{containerPort: {port}, name: http}}
            - {{containerPort: 9102, name: metrics}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports:
    - {{name: http-web, port: {port}, targetPort: {port}}}
---
"#
    )
}

fn destination_rule(ns: &str, name: &str, body: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{body}---\n"
    )
}

/// Rules of every kind a client namespace can see: in the service's namespace (exported or
/// not), in the client's namespace, in the root namespace, wildcard hosts, `exportTo` lists,
/// subsets, workload selectors.
fn destination_rule_mesh() -> String {
    let mut yaml = vec![namespace("istio-system", "")];
    for ns in ["shop", "pay", "ops", "edge", "batch"] {
        yaml.push(namespace(ns, "istio-injection: enabled"));
    }
    yaml.extend([
        app("shop", "api", 8080, ""),
        app("shop", "web", 8081, ""),
        app("pay", "ledger", 9000, ", version: v1"),
        app("ops", "tools", 7000, ""),
        app("edge", "gw", 8443, ""),
        app("batch", "jobs", 6000, ""),
        destination_rule(
            "shop",
            "api",
            "  host: api\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n  subsets:\n    - {name: v1, labels: {app: api}, trafficPolicy: {tls: {mode: DISABLE}}}\n",
        ),
        destination_rule(
            "pay",
            "ledger-local",
            "  host: ledger\n  exportTo: [\".\"]\n  trafficPolicy:\n    tls: {mode: DISABLE}\n",
        ),
        destination_rule(
            "pay",
            "ledger-for-ops",
            "  host: ledger.pay.svc.cluster.local\n  exportTo: [ops]\n  trafficPolicy:\n    portLevelSettings:\n      - port: {number: 9000}\n        tls: {mode: SIMPLE}\n",
        ),
        destination_rule(
            "edge",
            "everything-in-shop",
            "  host: \"*.shop.svc.cluster.local\"\n  trafficPolicy:\n    tls: {mode: DISABLE}\n",
        ),
        destination_rule(
            "batch",
            "other-host",
            "  host: unrelated.example.com\n  trafficPolicy:\n    tls: {mode: DISABLE}\n",
        ),
        destination_rule(
            "istio-system",
            "mesh-gw",
            "  host: gw.edge.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n",
        ),
        destination_rule(
            "ops",
            "selected",
            "  host: jobs.batch.svc.cluster.local\n  workloadSelector: {matchLabels: {app: tools}}\n  trafficPolicy:\n    tls: {mode: DISABLE}\n",
        ),
    ]);
    yaml.concat()
}

/// For every Service, every namespace whose clients share the catch-all's view gets, from
/// `retarget_variants`, exactly what `client_tls_variants` computes for it.
#[test]
fn retargeted_destination_rule_answers_equal_lookups() {
    let inv = mesh(&destination_rule_mesh());
    let rules = DestinationRules::new(&inv);
    let mut namespaces: Vec<&str> = inv.namespaces.keys().map(String::as_str).collect();
    namespaces.push("elsewhere");
    let mut shared = 0;
    for service in &inv.services {
        let host = service_host(service);
        let own_view = rules.namespaces_with_own_view(&host);
        for server in inv.workloads_matching_in(
            &service.namespace,
            service.spec.selector.as_ref().expect("selector"),
        ) {
            let labels = &inv.workloads[server].labels;
            let port = service.spec.ports[0].port;
            let others = rules.client_tls_variants("", None, service, port, labels);
            for &ns in &namespaces {
                if !rules.shares_others_view(ns, &own_view) {
                    continue;
                }
                shared += 1;
                let expected = rules.client_tls_variants(ns, None, service, port, labels);
                let got = rules.retarget_variants(&others, ns, &host);
                assert_eq!(got.len(), expected.len(), "{ns} -> {host}");
                for (g, e) in got.iter().zip(&expected) {
                    assert_eq!(g.choice, e.choice, "{ns} -> {host}");
                    assert_eq!(g.rule, e.rule, "{ns} -> {host}");
                    assert_eq!(g.because, e.because, "{ns} -> {host}");
                }
            }
        }
    }
    // The service's own namespace and unrelated ones are among those shared.
    assert!(shared >= 10, "only {shared} namespaces shared a view");
    // Namespaces that hold a rule for the host, or that a rule exports to, do not share.
    let api = inv.services.iter().find(|s| s.name == "api").unwrap();
    let own = rules.namespaces_with_own_view(&service_host(api));
    assert!(!rules.shares_others_view("shop", &own));
    assert!(!rules.shares_others_view("edge", &own));
    let ledger = inv.services.iter().find(|s| s.name == "ledger").unwrap();
    let own = rules.namespaces_with_own_view(&service_host(ledger));
    assert!(!rules.shares_others_view("ops", &own));
    assert!(rules.shares_others_view("batch", &own));
    assert!(!rules.shares_others_view("istio-system", &own));
}

/// NetworkPolicies of every shape a namespace-wide answer must get right.
fn network_policy_mesh() -> String {
    let mut yaml = vec![namespace("istio-system", "")];
    for (ns, labels) in [
        ("shop", "team: a"),
        ("pay", "team: b"),
        ("ops", "team: a"),
        ("open", ""),
    ] {
        yaml.push(namespace(ns, labels));
    }
    yaml.extend([
        app("shop", "api", 8080, ", tier: front"),
        app("shop", "web", 8081, ""),
        app("pay", "ledger", 9000, ""),
        app("pay", "vault", 9001, ", tier: front"),
        app("ops", "tools", 7000, ""),
        app("open", "free", 5000, ""),
    ]);
    let policy = |ns: &str, name: &str, spec: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}---\n")
    };
    yaml.extend([
        policy("shop", "deny", "  podSelector: {}\n  policyTypes: [Ingress]\n"),
        policy(
            "shop",
            "same-namespace",
            "  podSelector: {}\n  ingress:\n    - from: [{podSelector: {}}]\n",
        ),
        policy(
            "shop",
            "team-a-on-8080",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {team: a}}}]\n      ports: [{port: 8080}]\n",
        ),
        policy(
            "pay",
            "front-pods-only",
            "  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {tier: front}}}]\n",
        ),
        policy(
            "pay",
            "named-port",
            "  podSelector: {matchLabels: {app: vault}}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}]\n      ports: [{port: http}]\n",
        ),
        policy(
            "ops",
            "egress-deny",
            "  podSelector: {matchLabels: {app: tools}}\n  policyTypes: [Egress]\n",
        ),
        policy(
            "open",
            "everyone",
            "  podSelector: {}\n  ingress:\n    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n",
        ),
    ]);
    yaml.concat()
}

/// Where `namespace_verdicts` answers for a whole namespace, every workload of it gets that
/// answer from `direction_verdicts`, on every server and port.
#[test]
fn namespace_network_answers_equal_per_pod_answers() {
    use meshaudit_engine::network_policy::Source;

    let inv = mesh(&network_policy_mesh());
    let index = NetworkPolicyIndex::new(&inv);
    let mut answered = 0;
    let mut undecided = 0;
    for (server, _) in WorkloadId::enumerate(&inv.workloads) {
        for port in [8080, 8081, 9000, 9001, 7000, 5000, 9102, 15008] {
            for ns in inv.namespaces.keys() {
                match index.namespace_verdicts(&inv, ns, server, port) {
                    Some(verdicts) => {
                        answered += 1;
                        for &client in inv.workload_indexes_in(ns) {
                            assert_eq!(
                                index.direction_verdicts(&inv, Source::Pod(client), server, port),
                                verdicts,
                                "{ns} client {} -> {} port {port}",
                                inv.workloads[client].name,
                                inv.workloads[server].name
                            );
                        }
                    }
                    None => undecided += 1,
                }
            }
        }
    }
    // Both kinds occur: the shortcut is taken, and declined where pods differ.
    assert!(answered > 50 && undecided > 10, "{answered} {undecided}");
    // A namespace with an egress-isolated workload is never answered as a whole.
    let (api, _) = WorkloadId::enumerate(&inv.workloads)
        .find(|(_, w)| w.name == "api")
        .unwrap();
    assert_eq!(index.namespace_verdicts(&inv, "ops", api, 8080), None);
}

/// The graph answers authorization once per list of policies and request; a mesh where
/// workloads share namespace-wide policies but differ in ports, layers and JWT must still get,
/// group by group, what evaluating the policies directly gives.
#[test]
fn shared_authorization_answers_equal_direct_evaluation() {
    use meshaudit_engine::authorization::{AuthorizationPolicies, Request};

    let mut yaml = vec![
        namespace("istio-system", ""),
        namespace("shop", "istio-injection: enabled"),
        namespace("pay", "istio-injection: enabled"),
    ];
    yaml.extend([
        app("shop", "api", 8080, ""),
        app("shop", "web", 8081, ""),
        app("shop", "db", 5432, ""),
        app("pay", "ledger", 9000, ""),
    ]);
    let policy = |ns: &str, name: &str, spec: &str| {
        format!("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}---\n")
    };
    yaml.extend([
        policy(
            "shop",
            "namespace-wide",
            "  rules:\n    - from: [{source: {namespaces: [shop, pay]}}]\n      to: [{operation: {methods: [GET]}}]\n",
        ),
        policy(
            "shop",
            "ports",
            "  selector: {matchLabels: {app: api}}\n  rules:\n    - from: [{source: {principals: [cluster.local/ns/pay/sa/ledger]}}]\n      to: [{operation: {ports: [\"8080\"]}}]\n",
        ),
        policy(
            "pay",
            "port-condition",
            "  action: DENY\n  rules:\n    - when: [{key: destination.port, values: [\"9102\"]}]\n",
        ),
    ]);
    let inv = mesh(&yaml.concat());
    let graph = build(&inv);
    let policies = AuthorizationPolicies::new(&inv);
    let mut checked = 0;
    for server in &graph.servers {
        let node = graph.workload(server.workload);
        for group in &server.groups {
            let Some(got) = &group.authorization else {
                continue;
            };
            let request = Request {
                peer: &group.peer,
                port: server.port,
                layer: server.protocol.layer(),
                jwt: !node.request_authentications.is_empty(),
                trust_domain: &graph.trust_domain,
                trust_domain_aliases: &[],
            };
            let expected = policies.evaluate(&node.authorization_policies, &request);
            assert_eq!(got.decision, expected.decision);
            assert_eq!(got.decided_by, expected.decided_by);
            assert_eq!(got.because, expected.because);
            assert_eq!(got.conditions, expected.conditions);
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}
