//! `meshaudit graph` as a user runs it: formats, filters, `--explain`, errors. Ground truth for
//! the insecure demo mesh (see examples/README.md): the mesh is PERMISSIVE everywhere, the
//! `legacy` namespace has no sidecars, and payments-api only admits the orders identity.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn graph_json(extra: &[&str]) -> Value {
    let mut args = vec!["graph", "examples/insecure-mesh", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn edge<'a>(doc: &'a Value, from: &str, to: &str, port: u64) -> &'a Value {
    doc["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == from && e["to"] == to && e["port"] == port)
        .unwrap_or_else(|| panic!("no edge {from} -> {to}:{port}"))
}

#[test]
fn json_graph_follows_its_documented_shape() {
    let doc = graph_json(&[]);
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "schemaVersion",
            "tool",
            "trustDomain",
            "autoMtls",
            "edges",
            "workloads",
            "clientGroups"
        ]
    );
    assert_eq!(doc["schemaVersion"], 1);
    let e = edge(&doc, "orders/orders", "payments/payments-api", 9090);
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "from",
            "fromKind",
            "to",
            "port",
            "protocol",
            "service",
            "serverMode",
            "transport",
            "peerIdentity",
            "authorization",
            "reach",
            "conditions",
            "decidedBy",
            "evidence",
            "network",
            "overallReach",
            "clients",
            "clientGroup"
        ]
    );
    assert_eq!(
        e["network"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["verdict", "ingress", "egress"]
    );
    for w in doc["workloads"].as_array().unwrap() {
        for k in [
            "id",
            "kind",
            "namespace",
            "name",
            "serviceAccount",
            "dataPlane",
            "identity",
            "location",
        ] {
            assert!(w.get(k).is_some(), "workload lacks {k}: {w}");
        }
    }
}

#[test]
fn json_graph_states_the_ground_truth() {
    let doc = graph_json(&["--expand"]);
    // orders → payments-api: mTLS, allowed by the one ALLOW rule naming orders.
    let e = edge(&doc, "orders/orders", "payments/payments-api", 9090);
    assert_eq!(e["transport"], "mtls");
    assert_eq!(
        e["peerIdentity"],
        "spiffe://cluster.local/ns/orders/sa/orders"
    );
    assert_eq!(e["reach"], "allowed");
    assert_eq!(e["decidedBy"][0]["name"], "payments-api-allow-orders");
    assert_eq!(
        e["decidedBy"][0]["location"]["path"],
        "examples/insecure-mesh/payments.yaml"
    );
    // NetworkPolicy payments-api-from-orders admits orders' pods on 9090, and orders' egress
    // is open.
    assert_eq!(e["network"]["verdict"], "allowed");
    assert_eq!(e["overallReach"], "allowed");
    assert!(e["decidedBy"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["kind"] == "NetworkPolicy" && d["name"] == "payments-api-from-orders"));
    // The report CronJob is in orders but not `app: orders`: the network denies it.
    let e = edge(&doc, "orders/report", "payments/payments-api", 9090);
    assert_eq!(
        (
            e["network"]["verdict"].as_str(),
            e["network"]["ingress"].as_str(),
            e["network"]["egress"].as_str()
        ),
        (Some("denied"), Some("denied"), Some("allowed"))
    );
    assert_eq!(e["decidedBy"][0]["name"], "payments-api-from-orders");
    // Pods outside the input: some (orders' `app: orders` pods) get through.
    let e = edge(&doc, "*meshed", "payments/payments-api", 9090);
    assert_eq!(e["network"]["verdict"], "restricted");
    assert_eq!(e["network"]["egress"], Value::Null);
    // Any other meshed identity is denied by the same policy.
    let e = edge(&doc, "*meshed", "payments/payments-api", 9090);
    assert_eq!(
        (e["transport"].as_str(), e["reach"].as_str()),
        (Some("mtls"), Some("denied"))
    );
    // Plaintext is accepted (PERMISSIVE) but has no identity, so the ALLOW denies it.
    let e = edge(&doc, "*unmeshed", "payments/payments-api", 9090);
    assert_eq!(e["transport"], "plaintext");
    assert_eq!(e["serverMode"], "PERMISSIVE");
    assert_eq!(e["reach"], "denied");
    // The legacy workload has no sidecar: it sends plaintext, which orders accepts, and
    // orders' allow-all policy lets it in.
    let e = edge(&doc, "legacy/inventory", "orders/orders", 8080);
    assert_eq!(
        (e["transport"].as_str(), e["reach"].as_str()),
        (Some("plaintext"), Some("allowed"))
    );
    // frontend/web runs as UID 1337: its calls skip its sidecar and go out in plaintext, which
    // payments-worker (PERMISSIVE, no ALLOW policy) accepts.
    let e = edge(&doc, "frontend/web", "payments/payments-worker", 8080);
    assert_eq!(
        (e["transport"].as_str(), e["reach"].as_str()),
        (Some("plaintext"), Some("allowed"))
    );
    // orders excludes 9090 from its sidecar: plaintext reaches the application unchecked, and
    // meshed clients' auto mTLS cannot be read by it.
    let e = edge(&doc, "*unmeshed", "orders/orders", 9090);
    assert_eq!(
        (e["transport"].as_str(), e["authorization"].as_str()),
        (Some("plaintext"), Some("not-enforced"))
    );
    let e = edge(&doc, "*meshed", "orders/orders", 9090);
    assert_eq!(e["reach"], "fails");
    // Nothing guards legacy/inventory itself.
    let e = edge(&doc, "frontend/web", "legacy/inventory", 8080);
    assert_eq!(e["serverMode"], Value::Null);
    assert_eq!(e["authorization"], "not-enforced");
    assert_eq!(e["transport"], "plaintext");
}

#[test]
fn filters_select_edges() {
    // From the orders namespace: the orders Deployment (mTLS, allowed) and the report CronJob
    // (opted out of the sidecar: plaintext, no identity, so the ALLOW policy denies it).
    let doc = graph_json(&["--to", "payments/payments-api", "--from", "orders"]);
    let edges = doc["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{edges:#?}");
    let e = edge(&doc, "orders/report", "payments/payments-api", 9090);
    assert_eq!(
        (e["transport"].as_str(), e["reach"].as_str()),
        (Some("plaintext"), Some("denied"))
    );
    let doc = graph_json(&["--plaintext", "--allowed"]);
    for e in doc["edges"].as_array().unwrap() {
        assert_eq!(e["transport"], "plaintext");
        assert!(
            e["reach"] == "allowed" || e["reach"] == "conditional",
            "{e}"
        );
    }
    assert!(!doc["edges"].as_array().unwrap().is_empty());
    let doc = graph_json(&["--port", "9090", "--to", "orders"]);
    for e in doc["edges"].as_array().unwrap() {
        assert_eq!(
            (e["to"].as_str(), e["port"].as_u64()),
            (Some("orders/orders"), Some(9090))
        );
    }
}

#[test]
fn table_dot_and_mermaid_show_the_same_edges() {
    let args = [
        "graph",
        "examples/insecure-mesh",
        "--to",
        "payments/payments-api",
    ];
    let table = stdout(&run(&args));
    assert!(table.starts_with("FROM "), "{table}");
    assert!(
        table.contains("AuthorizationPolicy payments/payments-api-allow-orders"),
        "{table}"
    );
    let rows = table.lines().skip(1).take_while(|l| !l.is_empty()).count();
    let dot = stdout(&run(&[&args[..], &["--format", "dot"]].concat()));
    assert!(
        dot.starts_with("digraph meshaudit {") && dot.trim_end().ends_with('}'),
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), rows, "{dot}");
    let mermaid = stdout(&run(&[&args[..], &["--format", "mermaid"]].concat()));
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert_eq!(
        mermaid.matches("-->|").count() + mermaid.matches("-.->|").count(),
        rows
    );
}

#[test]
fn explain_names_the_deciding_files_and_lines() {
    let out = run(&[
        "graph",
        "examples/insecure-mesh",
        "--from",
        "*unmeshed",
        "--to",
        "payments/payments-api",
        "--explain",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("transport: plaintext (server sees identity: none)"),
        "{text}"
    );
    assert!(
        text.contains("PeerAuthentication istio-system/default (examples/insecure-mesh/istio-system.yaml:42): mesh-wide policy sets PERMISSIVE"),
        "{text}"
    );
    assert!(
        text.contains("AuthorizationPolicy payments/payments-api-allow-orders (examples/insecure-mesh/payments.yaml:208)"),
        "{text}"
    );
    assert!(text.contains("result: denied"), "{text}");
}

#[test]
fn unknown_workloads_and_bad_input_are_reported() {
    let out = run(&["graph", "examples/insecure-mesh", "--to", "payments/nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("payments/nope"));
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("good.yaml"),
        std::fs::read_to_string(repo().join("examples/insecure-mesh/payments.yaml")).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("bad.yaml"), "kind: [\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(["graph", "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("payments/payments-api"));
}

/// The mesh allows everything (no policy, PERMISSIVE), a default-deny NetworkPolicy blocks it:
/// the table says `blocked` and `--allowed` drops the edge.
#[test]
fn network_policy_blocks_what_the_mesh_allows() {
    // Its own folder: the other test's folder is removed and rebuilt while tests run in parallel.
    let dir = std::env::temp_dir().join(format!("meshaudit-graph-blocked-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mesh.yaml"),
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio-injection: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: example/web:1
          ports: [{containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers:
        - name: app
          image: example/cart:1
          ports: [{containerPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"#,
    )
    .unwrap();
    let path = dir.to_str().unwrap();
    let out = run(&[
        "graph",
        path,
        "--from",
        "shop/web",
        "--to",
        "shop/cart",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = edge(&doc, "shop/web", "shop/cart", 8080);
    assert_eq!(e["reach"], "allowed");
    assert_eq!(e["network"]["verdict"], "denied");
    assert_eq!(e["overallReach"], "blocked");
    assert_eq!(e["decidedBy"].as_array().unwrap().len(), 1);
    assert_eq!(e["decidedBy"][0]["name"], "default-deny");
    let table = stdout(&run(&[
        "graph",
        path,
        "--from",
        "shop/web",
        "--to",
        "shop/cart",
    ]));
    let row = table.lines().find(|l| l.starts_with("shop/web")).unwrap();
    assert!(
        row.contains("denied")
            && row.contains("blocked")
            && row.contains("NetworkPolicy shop/default-deny"),
        "{row}"
    );
    let explained = stdout(&run(&[
        "graph",
        path,
        "--from",
        "shop/web",
        "--to",
        "shop/cart",
        "--explain",
    ]));
    assert!(
        explained.contains("result: blocked by NetworkPolicy (the mesh alone: allowed)"),
        "{explained}"
    );
    let allowed = stdout(&run(&["graph", path, "--from", "shop/web", "--allowed"]));
    assert!(!allowed.contains("shop/cart"), "{allowed}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshaudit-graph-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// By default clients that get the same answer from a port share one row; `--expand` lists
/// them one by one. Both cover the same client-port pairs with the same answers.
#[test]
fn rows_group_clients_with_the_same_answer() {
    let grouped = graph_json(&[]);
    let expanded = graph_json(&["--expand"]);
    let grouped_edges = grouped["edges"].as_array().unwrap();
    let expanded_edges = expanded["edges"].as_array().unwrap();
    assert!(grouped_edges.len() < expanded_edges.len());
    let groups: std::collections::HashMap<&str, &Value> = grouped["clientGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap(), g))
        .collect();
    let answer = |e: &Value| {
        (
            e["to"].as_str().unwrap().to_owned(),
            e["port"].as_u64().unwrap(),
            e["transport"].clone(),
            e["authorization"].clone(),
            e["network"]["verdict"].clone(),
            e["overallReach"].clone(),
        )
    };
    // Per answer, how many clients get it: the same both ways.
    let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for e in grouped_edges {
        let n = match e["fromKind"].as_str().unwrap() {
            "workload" => 1,
            _ if e["clientGroup"].is_null() => 1,
            _ => {
                let id = e["clientGroup"].as_str().unwrap();
                let group = groups
                    .get(id)
                    .unwrap_or_else(|| panic!("no client group {id}"));
                assert!(group["workloads"].as_u64().unwrap() >= e["clients"].as_u64().unwrap());
                assert!(
                    e["from"].as_str().unwrap().contains(" workloads in "),
                    "{e}"
                );
                e["clients"].as_i64().unwrap()
            }
        };
        *counts.entry(format!("{:?}", answer(e))).or_default() += n;
    }
    for e in expanded_edges {
        assert_eq!(e["clients"].as_u64().unwrap_or(1), 1);
        *counts.entry(format!("{:?}", answer(e))).or_default() -= 1;
    }
    assert!(counts.values().all(|&n| n == 0), "{counts:?}");
    // Table and explain say the same.
    let table = stdout(&run(&["graph", "examples/insecure-mesh"]));
    assert!(
        table.contains(&format!("{} row(s)", grouped_edges.len())),
        "{table}"
    );
    let explain = stdout(&run(&["graph", "examples/insecure-mesh", "--explain"]));
    assert!(explain.contains("clients: client group g"), "{explain}");
}

/// An Istio client's DestinationRule decides what reaches a Linkerd pod: the mesh-wide
/// ISTIO_MUTUAL rule makes payments' calls fail, and namespace `tls`'s own SIMPLE rule gives its
/// clients a group of their own, whose explanation says why.
#[test]
fn explain_tells_cross_mesh_destination_rules_apart() {
    let dir = std::env::temp_dir().join(format!("meshaudit-graph-dr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mixed.yaml");
    std::fs::write(&file, MIXED).unwrap();
    let path = file.to_str().unwrap();
    let table = stdout(&run(&["graph", path, "--to", "lnk/api", "--port", "3001"]));
    let row = |from: &str| {
        table
            .lines()
            .find(|l| l.starts_with(from))
            .unwrap_or_else(|| panic!("no row from {from}:\n{table}"))
            .to_owned()
    };
    assert!(row("ist/payments").contains("fails"), "{table}");
    assert!(
        row("ist/payments").contains("DestinationRule istio-system/mesh-mtls"),
        "{table}"
    );
    assert!(row("tls/audit").contains(" tls "), "{table}");
    let explain = stdout(&run(&[
        "graph",
        path,
        "--explain",
        "--from",
        "tls/audit",
        "--to",
        "lnk/api",
    ]));
    assert!(
        explain.contains("evaluated with the Istio workloads of namespace tls, whose own DestinationRule for the host decides what their proxies send"),
        "{explain}"
    );
    assert!(
        explain.contains("mixed.yaml:32): applies to clients in namespace tls"),
        "{explain}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const MIXED: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    proxy:
      defaultInboundPolicy: all-unauthenticated
---
apiVersion: v1
kind: Namespace
metadata: {name: ist, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: tls, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: lnk, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mesh-mtls, namespace: istio-system}
spec:
  host: "*.local"
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api-tls, namespace: tls}
spec:
  host: api.lnk.svc.cluster.local
  trafficPolicy: {tls: {mode: SIMPLE}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: payments, namespace: ist}
spec:
  selector: {matchLabels: {app: payments}}
  template:
    metadata: {labels: {app: payments}}
    spec: {containers: [{name: app, image: x/p:1, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: audit, namespace: tls}
spec:
  selector: {matchLabels: {app: audit}}
  template:
    metadata: {labels: {app: audit}}
    spec: {containers: [{name: app, image: x/a:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: lnk}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: app, image: x/api:1, ports: [{containerPort: 3001}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: lnk}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 3001}]
"#;
