//! The Linkerd examples scanned as a new user would: every problem planted in
//! `examples/linkerd-insecure` (L1–L21 of examples/README.md, "finds" table) is reported by its
//! rule, at its severity, on its resource and line; `examples/linkerd-hardened` gets no finding.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn scan(example: &str) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshaudit"))
        .args(["scan", example, "--format", "json"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

/// `(rule, severity, kind, namespace/name, file, line)` of each finding.
type Key = (String, String, String, String, String, u64);

fn keys(report: &Value) -> BTreeSet<Key> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let r = &f["resource"];
            let name = match r["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", r["name"].as_str().unwrap()),
                None => r["name"].as_str().unwrap().to_owned(),
            };
            let path = f["location"]["path"].as_str().unwrap();
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                name,
                path.trim_start_matches("examples/linkerd-insecure/")
                    .to_owned(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn k(rule: &str, severity: &str, kind: &str, name: &str, file: &str, line: u64) -> Key {
    (
        rule.into(),
        severity.into(),
        kind.into(),
        name.into(),
        file.into(),
        line,
    )
}

#[test]
fn linkerd_insecure_reports_every_planted_problem_where_it_is() {
    let (out, report) = scan("examples/linkerd-insecure");
    assert_eq!(out.status.code(), Some(1));
    assert!(report["errors"].as_array().unwrap().is_empty());
    let found = keys(&report);
    let cp = "linkerd-control-plane.yaml";
    let expected = [
        // L1: the cluster default all-unauthenticated, on its defaultInboundPolicy line.
        k(
            "AUTHN013",
            "high",
            "ConfigMap",
            "linkerd/linkerd-config",
            cp,
            74,
        ),
        // L2: storefront's cluster-unauthenticated namespace default.
        k(
            "AUTHN013",
            "medium",
            "Namespace",
            "storefront",
            "namespaces.yaml",
            44,
        ),
        // L3: catalog left on audit.
        k(
            "AUTHN014",
            "high",
            "Deployment",
            "storefront/catalog",
            "storefront.yaml",
            84,
        ),
        // L4: orders' gRPC port skipped by the proxy.
        k(
            "AUTHN015",
            "high",
            "Deployment",
            "checkout/orders",
            "checkout.yaml",
            142,
        ),
        // L5: tax opted out of injection in an injected namespace.
        k(
            "AUTHN016",
            "high",
            "Deployment",
            "checkout/tax",
            "checkout.yaml",
            238,
        ),
        // L6: a Server nobody is authorized on.
        k(
            "AUTHZ014",
            "medium",
            "Server",
            "billing/ledger-grpc",
            "billing.yaml",
            391,
        ),
        // L7, L8: authorizations admitting unauthenticated clients from anywhere.
        k(
            "AUTHZ015",
            "high",
            "AuthorizationPolicy",
            "billing/invoices-all",
            "billing.yaml",
            385,
        ),
        k(
            "AUTHZ015",
            "high",
            "AuthorizationPolicy",
            "billing/refunds-from-network",
            "billing.yaml",
            358,
        ),
        // L9: any mesh identity on the PCI payments port.
        k(
            "AUTHZ016",
            "high",
            "MeshTLSAuthentication",
            "billing/any-meshed",
            "billing.yaml",
            278,
        ),
        // L10: a deprecated ServerAuthorization admitting unauthenticated pods.
        k(
            "AUTHZ015",
            "medium",
            "ServerAuthorization",
            "checkout/orders-public",
            "checkout.yaml",
            513,
        ),
        k(
            "AUTHZ017",
            "low",
            "ServerAuthorization",
            "checkout/orders-public",
            "checkout.yaml",
            505,
        ),
        // L11: a ServiceAccount that exists nowhere.
        k(
            "AUTHZ018",
            "medium",
            "MeshTLSAuthentication",
            "checkout/stock-clients",
            "checkout.yaml",
            535,
        ),
        // L12: a Server selecting nothing.
        k(
            "AUTHZ019",
            "medium",
            "Server",
            "billing/payments-api-admin",
            "billing.yaml",
            303,
        ),
        // L13: a route policy that cannot restrict.
        k(
            "AUTHZ020",
            "medium",
            "AuthorizationPolicy",
            "checkout/cart-admin-janitor",
            "checkout.yaml",
            482,
        ),
        // L14: opaque port on the Service only.
        k(
            "TLS007",
            "medium",
            "Deployment",
            "checkout/events",
            "checkout.yaml",
            277,
        ),
        // L15: the viz dashboard published without authentication.
        k(
            "DEP006",
            "high",
            "Ingress",
            "linkerd-viz/dashboard",
            "viz.yaml",
            339,
        ),
        // L16: admin ports on the defaults.
        k(
            "AUTHN017",
            "medium",
            "ConfigMap",
            "linkerd/linkerd-config",
            cp,
            74,
        ),
        k(
            "AUTHN017",
            "low",
            "Namespace",
            "storefront",
            "namespaces.yaml",
            44,
        ),
        k(
            "AUTHN017",
            "medium",
            "Deployment",
            "storefront/catalog",
            "storefront.yaml",
            84,
        ),
        // L17: the release's advisories.
        k(
            "DEP011",
            "medium",
            "ConfigMap",
            "linkerd/linkerd-config",
            cp,
            63,
        ),
        k(
            "DEP011",
            "medium",
            "Deployment",
            "linkerd/linkerd-identity",
            cp,
            244,
        ),
        k(
            "DEP011",
            "medium",
            "Deployment",
            "linkerd/linkerd-destination",
            cp,
            351,
        ),
        k(
            "DEP011",
            "medium",
            "Deployment",
            "linkerd/linkerd-proxy-injector",
            cp,
            494,
        ),
        k(
            "DEP011",
            "low",
            "Deployment",
            "linkerd-viz/prometheus",
            "viz.yaml",
            161,
        ),
        // L18, L19: fail-open webhooks.
        k(
            "ADM001",
            "high",
            "MutatingWebhookConfiguration",
            "linkerd-proxy-injector-webhook-config",
            "admission.yaml",
            36,
        ),
        k(
            "ADM007",
            "medium",
            "ValidatingWebhookConfiguration",
            "linkerd-sp-validator-webhook-config",
            "admission.yaml",
            75,
        ),
        k(
            "ADM007",
            "medium",
            "ValidatingWebhookConfiguration",
            "linkerd-policy-validator-webhook-config",
            "admission.yaml",
            113,
        ),
        // L20: missing NetworkPolicies, and billing's without default deny.
        k(
            "NET001",
            "medium",
            "Namespace",
            "storefront",
            "namespaces.yaml",
            38,
        ),
        k(
            "NET001",
            "medium",
            "Namespace",
            "warehouse",
            "namespaces.yaml",
            71,
        ),
        k(
            "NET003",
            "medium",
            "Namespace",
            "billing",
            "namespaces.yaml",
            59,
        ),
        k(
            "NET004",
            "medium",
            "Namespace",
            "billing",
            "namespaces.yaml",
            59,
        ),
        k(
            "NET006",
            "high",
            "Namespace",
            "billing",
            "namespaces.yaml",
            59,
        ),
        // L21: a dual-stack Service while Linkerd handles IPv4 only.
        k(
            "TLS008",
            "high",
            "Service",
            "storefront/web",
            "storefront.yaml",
            118,
        ),
    ];
    let missing: Vec<&Key> = expected.iter().filter(|e| !found.contains(e)).collect();
    assert!(missing.is_empty(), "missing {missing:#?}\nfound {found:#?}");
    // What is fine is not reported: the viz chart's own policies, Server cart-http's deny, and
    // the issuer that shares the trust anchor's subject (signed by it, not self-signed).
    for (rule, name) in [
        ("AUTHZ015", "linkerd-viz/metrics-api"),
        ("AUTHZ015", "linkerd-viz/prometheus-admin"),
        ("AUTHZ014", "checkout/cart-http"),
        ("CERT008", "linkerd/linkerd-identity-issuer"),
    ] {
        assert!(
            !found.iter().any(|f| f.0 == rule && f.3 == name),
            "{rule} on {name}"
        );
    }
}

#[test]
fn linkerd_hardened_gets_no_finding() {
    let (out, report) = scan("examples/linkerd-hardened");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        serde_json::to_string_pretty(&report["findings"]).unwrap()
    );
    assert!(report["findings"].as_array().unwrap().is_empty());
    assert!(report["errors"].as_array().unwrap().is_empty());
}
