//! The graph of the two Linkerd examples against their ground truth in examples/README.md
//! ("linkerd-insecure: who reaches whom", "linkerd-hardened: who reaches whom"): every row
//! between workloads of the input is checked here (internet clients, kubelet probes and
//! per-path 404s are outside the graph; route-level rows appear as `conditional`).

mod common;

use std::path::PathBuf;

use common::client;
use meshaudit_engine::graph::{build, Client, EdgeGroup, Graph, Reach, Transport};
use meshaudit_engine::network_policy::NetVerdict;
use meshaudit_model::{Inventory, Mesh};

use Reach::{Allowed, Conditional, Denied};
use Transport::{Mtls, Plaintext};

fn example(name: &str) -> Inventory {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let sources = meshaudit_ingest::read_sources(&[dir], &mut std::io::empty());
    assert!(sources.errors.is_empty(), "{:?}", sources.errors);
    meshaudit_ingest::ingest(&sources.texts).inventory
}

fn group<'g>(inv: &Inventory, graph: &'g Graph, from: &str, to: &str, port: u16) -> &'g EdgeGroup {
    let Client::Workload(w) = client(inv, to) else {
        panic!("{to} is no workload")
    };
    let server = graph
        .servers
        .iter()
        .find(|s| s.workload == w && s.port == port)
        .unwrap_or_else(|| panic!("no server port {to}:{port}"));
    server.group_for(graph, client(inv, from))
}

/// `(from, to, port, transport, mesh answer, resource that must be among the deciders)`.
type Row<'r> = (&'r str, &'r str, u16, Transport, Reach, &'r str);

fn check(inv: &Inventory, graph: &Graph, rows: &[Row<'_>]) {
    for &(from, to, port, transport, reach, decider) in rows {
        let g = group(inv, graph, from, to, port);
        assert_eq!(
            (g.transport, g.reach()),
            (transport, reach),
            "{from} -> {to}:{port}: {g:#?}"
        );
        if decider.is_empty() {
            continue;
        }
        let mut named: Vec<String> = g
            .authorization
            .iter()
            .flat_map(|a| &a.objects)
            .map(|&o| {
                let o = inv.object(o);
                format!("{} {}", o.kind, o.qualified_name())
            })
            .collect();
        named.extend(
            g.transport_because
                .iter()
                .chain(g.authorization.iter().flat_map(|a| &a.because))
                .filter_map(|b| b.object)
                .map(|o| {
                    let o = inv.object(o);
                    format!("{} {}", o.kind, o.qualified_name())
                }),
        );
        assert!(
            named.iter().any(|n| n == decider),
            "{from} -> {to}:{port}: {decider} not among {named:?}"
        );
    }
}

#[test]
fn linkerd_insecure_who_reaches_whom() {
    let inv = example("linkerd-insecure");
    let graph = build(&inv);
    assert_eq!(graph.primary_mesh, Mesh::Linkerd);
    let ingress = "ingress-nginx/ingress-nginx-controller";
    check(
        &inv,
        &graph,
        &[
            (
                ingress,
                "storefront/web",
                8080,
                Mtls,
                Allowed,
                "Namespace storefront",
            ),
            (
                ingress,
                "linkerd-viz/web",
                8084,
                Mtls,
                Allowed,
                "ConfigMap linkerd/linkerd-config",
            ),
            (
                "storefront/web",
                "storefront/catalog",
                8080,
                Mtls,
                Allowed,
                "Deployment storefront/catalog",
            ),
            (
                "storefront/web",
                "checkout/cart",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/cart-from-web",
            ),
            (
                "checkout/cart-janitor",
                "checkout/cart",
                8080,
                Mtls,
                Conditional,
                "AuthorizationPolicy checkout/cart-admin-janitor",
            ),
            (
                "storefront/catalog",
                "checkout/cart",
                8080,
                Mtls,
                Denied,
                "Server checkout/cart-http",
            ),
            (
                "warehouse/inventory",
                "checkout/cart",
                8080,
                Plaintext,
                Denied,
                "Server checkout/cart-http",
            ),
            (
                "storefront/web",
                "checkout/orders",
                8080,
                Mtls,
                Allowed,
                "ServerAuthorization checkout/orders-public",
            ),
            (
                "warehouse/inventory",
                "checkout/orders",
                8080,
                Plaintext,
                Allowed,
                "ServerAuthorization checkout/orders-public",
            ),
            (
                "warehouse/inventory",
                "checkout/orders",
                9090,
                Plaintext,
                Allowed,
                "Deployment checkout/orders",
            ),
            (
                "storefront/web",
                "checkout/orders",
                9090,
                Plaintext,
                Allowed,
                "Deployment checkout/orders",
            ),
            (
                "checkout/cart",
                "checkout/stock",
                8080,
                Mtls,
                Denied,
                "Server checkout/stock-http",
            ),
            (
                "checkout/orders",
                "checkout/tax",
                8080,
                Plaintext,
                Allowed,
                "Deployment checkout/tax",
            ),
            (
                "warehouse/inventory",
                "checkout/tax",
                8080,
                Plaintext,
                Allowed,
                "",
            ),
            (
                "checkout/orders",
                "checkout/events",
                4222,
                Mtls,
                Allowed,
                "ConfigMap linkerd/linkerd-config",
            ),
            (
                "warehouse/inventory",
                "checkout/events",
                4222,
                Plaintext,
                Allowed,
                "",
            ),
            (
                "checkout/orders",
                "billing/payments-api",
                9090,
                Mtls,
                Allowed,
                "MeshTLSAuthentication billing/any-meshed",
            ),
            (
                "storefront/catalog",
                "billing/payments-api",
                9090,
                Mtls,
                Allowed,
                "MeshTLSAuthentication billing/any-meshed",
            ),
            (
                "linkerd-viz/web",
                "billing/payments-api",
                9090,
                Mtls,
                Allowed,
                "",
            ),
            (
                "warehouse/inventory",
                "billing/payments-api",
                9090,
                Plaintext,
                Denied,
                "",
            ),
            (
                "warehouse/inventory",
                "billing/payments-api",
                9990,
                Plaintext,
                Allowed,
                "ConfigMap linkerd/linkerd-config",
            ),
            (
                "checkout/orders",
                "billing/refunds",
                8080,
                Mtls,
                Allowed,
                "NetworkAuthentication billing/anywhere",
            ),
            (
                "warehouse/inventory",
                "billing/refunds",
                8080,
                Plaintext,
                Allowed,
                "NetworkAuthentication billing/anywhere",
            ),
            (
                "warehouse/inventory",
                "billing/invoices",
                8080,
                Plaintext,
                Allowed,
                "AuthorizationPolicy billing/invoices-all",
            ),
            (
                "billing/payments-api",
                "billing/ledger",
                9091,
                Mtls,
                Denied,
                "Server billing/ledger-grpc",
            ),
            (
                "linkerd-viz/web",
                "linkerd-viz/metrics-api",
                8085,
                Mtls,
                Allowed,
                "AuthorizationPolicy linkerd-viz/metrics-api",
            ),
            (
                "storefront/web",
                "linkerd-viz/metrics-api",
                8085,
                Mtls,
                Denied,
                "Server linkerd-viz/metrics-api",
            ),
            (
                "linkerd-viz/metrics-api",
                "linkerd-viz/prometheus",
                9090,
                Mtls,
                Allowed,
                "AuthorizationPolicy linkerd-viz/prometheus-admin",
            ),
            (
                "warehouse/inventory",
                "linkerd-viz/web",
                8084,
                Plaintext,
                Allowed,
                "ConfigMap linkerd/linkerd-config",
            ),
            // The proxies' admin port (L16): each pod's default policy.
            (
                "warehouse/inventory",
                "billing/payments-api",
                4191,
                Plaintext,
                Allowed,
                "ConfigMap linkerd/linkerd-config",
            ),
            (
                "linkerd-viz/prometheus",
                "storefront/web",
                4191,
                Mtls,
                Allowed,
                "Namespace storefront",
            ),
            (
                "warehouse/inventory",
                "storefront/web",
                4191,
                Plaintext,
                Allowed,
                "Namespace storefront",
            ),
        ],
    );
    // The audit default allows, and says it only logs.
    let audit = group(&inv, &graph, "storefront/web", "storefront/catalog", 8080);
    assert!(audit
        .authorization
        .as_ref()
        .is_some_and(|a| a.conditions.iter().any(|c| c.starts_with("audit"))));
    // NetworkPolicy lets payments-api reach ledger; Linkerd refuses it (L6).
    let Client::Workload(ledger) = client(&inv, "billing/ledger") else {
        unreachable!()
    };
    let port = graph.ports_of(ledger).find(|p| p.port == 9091).unwrap();
    let payments = client(&inv, "billing/payments-api");
    assert_eq!(
        graph.network_verdict(&inv, payments, port),
        NetVerdict::Allowed
    );
    // No proxy on the skipped port: no policy either.
    let skipped = group(&inv, &graph, "storefront/web", "checkout/orders", 9090);
    assert!(skipped.authorization.is_none());
}

#[test]
fn linkerd_hardened_who_reaches_whom() {
    let inv = example("linkerd-hardened");
    let graph = build(&inv);
    let ingress = "ingress-nginx/ingress-nginx-controller";
    check(
        &inv,
        &graph,
        &[
            (
                ingress,
                "storefront/web",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy storefront/web-from-ingress",
            ),
            (
                ingress,
                "linkerd-viz/web",
                8084,
                Mtls,
                Allowed,
                "AuthorizationPolicy linkerd-viz/web-from-ingress",
            ),
            (
                "storefront/web",
                "storefront/catalog",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy storefront/catalog-from-web",
            ),
            (
                "storefront/web",
                "checkout/cart",
                8080,
                Mtls,
                Conditional,
                "AuthorizationPolicy checkout/cart-api-from-web",
            ),
            (
                "checkout/cart-janitor",
                "checkout/cart",
                8080,
                Mtls,
                Conditional,
                "AuthorizationPolicy checkout/cart-admin-janitor",
            ),
            (
                "storefront/web",
                "checkout/orders",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/orders-http-from-web",
            ),
            (
                "warehouse/inventory",
                "checkout/orders",
                9090,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/orders-grpc-from-inventory",
            ),
            (
                "checkout/cart",
                "checkout/stock",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/stock-from-cart",
            ),
            (
                "checkout/orders",
                "checkout/tax",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/tax-from-orders",
            ),
            (
                "checkout/orders",
                "checkout/events",
                4222,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/events-from-publishers",
            ),
            (
                "warehouse/inventory",
                "checkout/events",
                4222,
                Mtls,
                Allowed,
                "AuthorizationPolicy checkout/events-from-publishers",
            ),
            (
                "checkout/orders",
                "billing/payments-api",
                9090,
                Mtls,
                Allowed,
                "AuthorizationPolicy billing/payments-api-from-orders",
            ),
            (
                "checkout/orders",
                "billing/refunds",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy billing/refunds-from-orders",
            ),
            (
                "checkout/orders",
                "billing/invoices",
                8080,
                Mtls,
                Allowed,
                "AuthorizationPolicy billing/invoices-from-orders",
            ),
            (
                "billing/payments-api",
                "billing/ledger",
                9091,
                Mtls,
                Allowed,
                "AuthorizationPolicy billing/ledger-from-payments-api",
            ),
            (
                "linkerd-viz/web",
                "linkerd-viz/metrics-api",
                8085,
                Mtls,
                Allowed,
                "AuthorizationPolicy linkerd-viz/metrics-api",
            ),
            (
                "linkerd-viz/metrics-api",
                "linkerd-viz/prometheus",
                9090,
                Mtls,
                Allowed,
                "AuthorizationPolicy linkerd-viz/prometheus-admin",
            ),
            (
                "linkerd-viz/prometheus",
                "billing/payments-api",
                9990,
                Mtls,
                Allowed,
                "AuthorizationPolicy billing/payments-api-admin-prometheus",
            ),
            (
                "linkerd-viz/prometheus",
                "billing/payments-api",
                9090,
                Mtls,
                Denied,
                "",
            ),
            (
                "storefront/catalog",
                "billing/payments-api",
                9090,
                Mtls,
                Denied,
                "",
            ),
            (
                "storefront/catalog",
                "checkout/orders",
                8080,
                Mtls,
                Denied,
                "",
            ),
            // The proxies' admin port: only Prometheus, through each namespace's Server.
            (
                "linkerd-viz/prometheus",
                "billing/payments-api",
                4191,
                Mtls,
                Allowed,
                "AuthorizationPolicy billing/linkerd-admin-prometheus",
            ),
            (
                "storefront/catalog",
                "billing/payments-api",
                4191,
                Mtls,
                Denied,
                "Server billing/linkerd-admin",
            ),
        ],
    );
    // No plaintext gets through to any application port of the shop.
    for server in &graph.servers {
        let ns = &inv.workloads[server.workload].namespace;
        if !["storefront", "checkout", "billing"].contains(&ns.as_str()) {
            continue;
        }
        let g = server.group_for(&graph, Client::OtherUnmeshed);
        assert!(
            !g.reach().is_open(),
            "{ns}/{}:{} admits clients without a proxy",
            inv.workloads[server.workload].name,
            server.port
        );
    }
}
