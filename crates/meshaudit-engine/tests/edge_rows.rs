//! Rows of the graph: clients with identical answers share a row, and the shared answer is
//! exactly what each member gets when it is evaluated on its own.

mod common;

use std::path::PathBuf;

use common::{client, mesh};
use meshaudit_engine::authorization::AuthzDecision;
use meshaudit_engine::edge_rows::{ClientFilter, EdgeRows, RowClients};
use meshaudit_engine::graph::{build, Client, EdgeGroup, Graph, ServerPortId};
use meshaudit_engine::network_policy::NetVerdict;
use meshaudit_model::{Inventory, WorkloadId};

fn example(name: &str) -> Inventory {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let sources = meshaudit_ingest::read_sources(&[dir], &mut std::io::empty());
    assert!(sources.errors.is_empty(), "{:?}", sources.errors);
    meshaudit_ingest::ingest(&sources.texts).inventory
}

/// What a client gets from a server port, by value.
fn answer(group: &EdgeGroup) -> impl PartialEq + std::fmt::Debug + '_ {
    let authz = group
        .authorization
        .as_ref()
        .map(|a: &AuthzDecision| (a.decision, a.decided_by.clone(), a.conditions.clone()));
    (
        group.transport,
        group.peer.clone(),
        group.via.map(|v| (v.service, v.index)),
        authz,
    )
}

/// Every client of every server port is in exactly one row, whose answer is its own.
fn check_rows(inv: &Inventory, graph: &Graph, filter: ClientFilter) -> (usize, usize) {
    let rows = EdgeRows::new(graph, inv, filter.clone());
    let (mut lines, mut pairs) = (0, 0);
    for (s, server) in ServerPortId::enumerate(&graph.servers) {
        let mut covered: Vec<Client> = Vec::new();
        for row in rows.rows(s) {
            lines += 1;
            pairs += row.count();
            let members: Vec<Client> = match &row.clients {
                RowClients::One(c) => vec![*c],
                RowClients::Many(m) => {
                    let members: Vec<Client> = m.iter(&rows, s).map(Client::Workload).collect();
                    assert_eq!(members.len(), m.count);
                    assert!(m.count > 1);
                    members
                }
            };
            for c in members {
                let own = server.group_for(graph, c);
                assert_eq!(
                    answer(own),
                    answer(&server.groups[row.group]),
                    "mesh answer of {c:?} at server {s:?}"
                );
                let own = graph.network_summary(inv, c, server);
                let names = |n: &meshaudit_engine::network_policy::NetSummary| {
                    let mut names = n
                        .egress_decided_by
                        .iter()
                        .map(|&p| inv.network_policies[p].name.clone())
                        .collect::<Vec<_>>();
                    names.sort();
                    names
                };
                assert_eq!(
                    (
                        own.verdict,
                        own.ingress,
                        own.egress,
                        &own.ingress_decided_by
                    ),
                    (
                        row.network.verdict,
                        row.network.ingress,
                        row.network.egress,
                        &row.network.ingress_decided_by
                    ),
                    "network answer of {c:?} at server {s:?}"
                );
                // The client side's policies are its own namespace's: the same ones, or ones
                // of the same names when the row spans namespaces.
                if row.egress_by_name {
                    assert_eq!(names(&own), names(&row.network), "{c:?} at {s:?}");
                } else {
                    assert_eq!(
                        own.egress_decided_by, row.network.egress_decided_by,
                        "{c:?} at {s:?}"
                    );
                }
                covered.push(c);
            }
        }
        let mut expected: Vec<Client> = rows.expanded(s).collect();
        expected.sort_unstable();
        covered.sort_unstable();
        assert_eq!(covered, expected, "clients of server {s:?}");
    }
    (lines, pairs)
}

#[test]
fn rows_of_the_examples_give_each_client_its_own_answer() {
    for name in ["insecure-mesh", "hardened-mesh"] {
        let inv = example(name);
        let graph = build(&inv);
        let (lines, pairs) = check_rows(&inv, &graph, ClientFilter::all(&graph));
        assert!(
            lines < pairs,
            "{name}: grouping folds nothing ({lines} lines)"
        );
        // A filter keeps only the clients it names.
        let payments = ClientFilter::only(&graph, |c| match c {
            Client::Workload(w) => inv.workloads[w].namespace == "payments",
            _ => false,
        });
        check_rows(&inv, &graph, payments);
    }
}

fn deployment(ns: &str, name: &str, labels: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}{labels}}}
    spec:
{extra}      containers:
        - name: app
          image: example/{name}:1.0
          ports: [{{containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 8080}}]
---
"#
    )
}

/// Three namespaces of three meshed workloads; `db` in `data` admits (by NetworkPolicy) only
/// namespace `shop` and pods labelled `tier: ops` anywhere; one `ops` workload in `tools`, and
/// a host-network agent. Ground truth for port 8080 of data/db:
/// - shop's three workloads: allowed by the network, mTLS, no AuthorizationPolicy: one row;
/// - tools/ops (tier: ops): allowed, its own network class, yet the same answer as shop's: same
///   row, since rows gather equal answers across classes;
/// - tools' two other workloads and data's other two: denied by NetworkPolicy: one row;
/// - the host-network agent: denied too (its traffic carries the node's address), but Istio
///   injects no sidecar into host-network pods, so it sends plaintext: a row of its own;
/// - `*meshed` and `*unmeshed`: rows of their own.
#[test]
fn rows_gather_clients_with_equal_answers_across_namespaces() {
    let mut yaml = String::new();
    for ns in ["shop", "tools", "data"] {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{istio-injection: enabled}}}}\n---\n"
        ));
    }
    for name in ["web", "cart", "checkout"] {
        yaml.push_str(&deployment("shop", name, "", ""));
    }
    yaml.push_str(&deployment("tools", "ops", ", tier: ops", ""));
    yaml.push_str(&deployment("tools", "lint", "", ""));
    yaml.push_str(&deployment("tools", "docs", "", ""));
    yaml.push_str(&deployment("data", "db", "", ""));
    yaml.push_str(&deployment("data", "cache", "", ""));
    yaml.push_str(&deployment(
        "data",
        "agent",
        "",
        "      hostNetwork: true\n",
    ));
    yaml.push_str(
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
        - namespaceSelector: {}
          podSelector: {matchLabels: {tier: ops}}
"#,
    );
    let inv = mesh(&yaml);
    let graph = build(&inv);
    check_rows(&inv, &graph, ClientFilter::all(&graph));
    let rows = EdgeRows::new(&graph, &inv, ClientFilter::all(&graph));
    let db = client(&inv, "data/db");
    let Client::Workload(db) = db else {
        unreachable!()
    };
    let s = graph
        .server_ids()
        .find(|&s| graph.server(s).workload == db)
        .unwrap();
    let got: Vec<(Vec<String>, NetVerdict)> = rows
        .rows(s)
        .iter()
        .map(|row| {
            let mut ids: Vec<String> = match &row.clients {
                RowClients::One(Client::OtherMeshed) => vec!["*meshed".into()],
                RowClients::One(Client::OtherUnmeshed) => vec!["*unmeshed".into()],
                RowClients::One(Client::OtherMesh(m)) => vec![format!("*{}", m.as_str())],
                RowClients::One(Client::Workload(w)) => vec![id(&inv, *w)],
                RowClients::Many(m) => m.iter(&rows, s).map(|w| id(&inv, w)).collect(),
            };
            ids.sort();
            (ids, row.network.verdict)
        })
        .collect();
    let strs = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (
                strs(&["shop/cart", "shop/checkout", "shop/web", "tools/ops"]),
                NetVerdict::Allowed
            ),
            (
                strs(&["data/cache", "tools/docs", "tools/lint"]),
                NetVerdict::Denied
            ),
            (strs(&["data/agent"]), NetVerdict::Denied),
            (strs(&["*meshed"]), NetVerdict::Restricted),
            (strs(&["*unmeshed"]), NetVerdict::Restricted),
        ]
    );
}

fn id(inv: &Inventory, w: WorkloadId) -> String {
    format!("{}/{}", inv.workloads[w].namespace, inv.workloads[w].name)
}

/// A generated mesh with what real clusters have (default-deny NetworkPolicies stamped into
/// every namespace, per-workload ingress policies, DNS and istiod egress, ambient namespaces):
/// rows still give each client its own answer.
#[test]
fn rows_of_a_generated_mesh_give_each_client_its_own_answer() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::env::temp_dir().join(format!("meshaudit-edge-rows-{}", std::process::id()));
    let status = std::process::Command::new("python3")
        .arg(root.join("scripts/gen-mesh"))
        .args(["--objects", "3000", "--seed", "11", "--force", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs scripts/gen-mesh");
    assert!(status.success());
    let sources = meshaudit_ingest::read_sources(std::slice::from_ref(&out), &mut std::io::empty());
    let inv = meshaudit_ingest::ingest(&sources.texts).inventory;
    let _ = std::fs::remove_dir_all(&out);
    assert!(inv.workloads.len() > 300, "{}", inv.workloads.len());
    let graph = build(&inv);
    let (lines, pairs) = check_rows(&inv, &graph, ClientFilter::all(&graph));
    assert!(lines * 10 < pairs, "{lines} lines for {pairs} pairs");
}
