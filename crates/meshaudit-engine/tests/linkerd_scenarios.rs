//! Linkerd scenario tests: small Linkerd meshes whose expected graph is written down here — who
//! reaches whom on which port, over mutual TLS or plaintext, allowed or denied, and by which
//! resource. The expectations follow docs/linkerd-semantics.md (sections in each test).

mod common;

use common::{client, mesh};

use meshaudit_engine::graph::{build, Client, EdgeGroup, Graph, Reach, Transport};
use meshaudit_model::{Inventory, Mesh, WorkloadId};

use Reach::{Allowed, Conditional, Denied, Fails};
use Transport::{Fails as Refused, Mtls, Plaintext};

/// linkerd-config with the cluster's default inbound policy.
fn linkerd_config(default_policy: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: linkerd-config
  namespace: linkerd
data:
  values: |
    clusterNetworks: 10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8
    identityTrustDomain: cluster.local
    proxy:
      defaultInboundPolicy: {default_policy}
---
"#
    )
}

fn namespace(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\n---\n"
    )
}

/// A Namespace whose pods Istio injects.
fn istio_namespace(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{istio-injection: enabled}}\n---\n"
    )
}

/// An Istio DestinationRule in `ns` setting `tls.mode` for `host`.
fn destination_rule(ns: &str, name: &str, host: &str, mode: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  host: \"{host}\"\n  trafficPolicy:\n    tls: {{mode: {mode}}}\n---\n"
    )
}

/// A Deployment (service account = name, label `app: name`) serving `port` (named `http`),
/// with a Service `name` on the same port; `annotations` go on the pod template.
fn app(ns: &str, name: &str, port: u16, annotations: &str) -> String {
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
      annotations: {{{annotations}}}
    spec:
      serviceAccountName: {name}
      containers:
        - name: app
          image: example/{name}:1.0
          ports:
            - name: http
              containerPort: {port}
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector: {{app: {name}}}
  ports:
    - port: {port}
      targetPort: {port}
---
"#
    )
}

fn workload(inv: &Inventory, id: &str) -> WorkloadId {
    match client(inv, id) {
        Client::Workload(w) => w,
        other => panic!("{other:?}"),
    }
}

/// The answer for `from` → `to:port`.
fn edge<'g>(inv: &Inventory, graph: &'g Graph, from: &str, to: &str, port: u16) -> &'g EdgeGroup {
    let w = workload(inv, to);
    let server = graph
        .servers
        .iter()
        .find(|s| s.workload == w && s.port == port)
        .unwrap_or_else(|| panic!("no server port {to}:{port}"));
    let c = match from {
        "*linkerd" => Client::OtherMesh(Mesh::Linkerd),
        "*istio" => Client::OtherMesh(Mesh::Istio),
        _ => client(inv, from),
    };
    server.group_for(graph, c)
}

/// Checks every `(from, to, port, transport, reach)` row of a scenario's ground truth.
fn expect(inv: &Inventory, graph: &Graph, rows: &[(&str, &str, u16, Transport, Reach)]) {
    for &(from, to, port, transport, reach) in rows {
        let g = edge(inv, graph, from, to, port);
        assert_eq!(
            (g.transport, g.reach()),
            (transport, reach),
            "{from} -> {to}:{port}: {g:#?}"
        );
    }
}

/// The kinds and names of the resources that decided an edge's authorization.
fn deciders(inv: &Inventory, g: &EdgeGroup) -> Vec<String> {
    g.authorization
        .iter()
        .flat_map(|a| &a.objects)
        .map(|&o| {
            let o = inv.object(o);
            format!("{} {}", o.kind, o.name)
        })
        .collect()
}

/// §3.2: the default inbound policy at three levels — cluster (linkerd-config), namespace
/// (annotation, copied to the pod by the injector) and pod template — decides every port no
/// Server selects.
#[test]
fn default_policies_at_three_levels() {
    let yaml = [
        linkerd_config("all-unauthenticated"),
        namespace("open", r#"linkerd.io/inject: enabled"#),
        namespace(
            "tight",
            r#"linkerd.io/inject: enabled, config.linkerd.io/default-inbound-policy: all-authenticated"#,
        ),
        namespace("plain", ""),
        app("open", "web", 8080, ""),
        app("open", "caller", 9000, ""),
        app("tight", "api", 8080, ""),
        app(
            "tight",
            "db",
            5432,
            r#"config.linkerd.io/default-inbound-policy: deny"#,
        ),
        app("plain", "job", 7000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    assert_eq!(graph.primary_mesh, Mesh::Linkerd);
    expect(
        &inv,
        &graph,
        &[
            // Cluster default all-unauthenticated: anybody, plaintext included.
            ("open/caller", "open/web", 8080, Mtls, Allowed),
            ("plain/job", "open/web", 8080, Plaintext, Allowed),
            // Namespace all-authenticated: meshed clients only.
            ("open/caller", "tight/api", 8080, Mtls, Allowed),
            ("plain/job", "tight/api", 8080, Plaintext, Denied),
            ("*unmeshed", "tight/api", 8080, Plaintext, Denied),
            ("*meshed", "tight/api", 8080, Mtls, Allowed),
            // Pod deny: nobody.
            ("open/caller", "tight/db", 5432, Mtls, Denied),
            ("plain/job", "tight/db", 5432, Plaintext, Denied),
            // No proxy on the server: plaintext, nothing enforced.
            ("open/caller", "plain/job", 7000, Plaintext, Allowed),
        ],
    );
    let caller = workload(&inv, "open/caller");
    assert_eq!(
        graph.workload(caller).identity.as_deref(),
        Some("caller.open.serviceaccount.identity.linkerd.cluster.local")
    );
    let api = edge(&inv, &graph, "open/caller", "tight/api", 8080);
    assert_eq!(
        graph.peer_text(Mesh::Linkerd, &api.peer).as_deref(),
        Some("*.identity.linkerd.cluster.local")
    );
    let job = edge(&inv, &graph, "open/caller", "plain/job", 7000);
    assert!(job.authorization.is_none());
    let w = workload(&inv, "tight/db");
    let db = graph.ports_of(w).find(|p| p.port == 5432).unwrap();
    assert_eq!(db.mode_text(), Some("deny"));
}

/// §1.6, §2.2: a skipped inbound port bypasses the proxy — plaintext, no identity, no policy,
/// even from meshed clients; a skipped outbound port sends the client's connections around
/// its own proxy.
#[test]
fn skipped_ports_are_plaintext_without_policy() {
    let yaml = [
        linkerd_config("deny"),
        namespace("shop", r#"linkerd.io/inject: enabled"#),
        app(
            "shop",
            "orders",
            9090,
            r#"config.linkerd.io/skip-inbound-ports: "9090""#,
        ),
        app("shop", "stock", 8080, ""),
        app(
            "shop",
            "cart",
            3000,
            r#"config.linkerd.io/skip-outbound-ports: "8000-8100""#,
        ),
        app("shop", "web", 4000, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    expect(
        &inv,
        &graph,
        &[
            ("shop/web", "shop/orders", 9090, Plaintext, Allowed),
            ("*unmeshed", "shop/orders", 9090, Plaintext, Allowed),
            // The cluster default is deny: mTLS gets through the proxy and is refused.
            ("shop/web", "shop/stock", 8080, Mtls, Denied),
            // cart's connections to 8080 leave without its proxy.
            ("shop/cart", "shop/stock", 8080, Plaintext, Denied),
        ],
    );
    let orders = edge(&inv, &graph, "shop/web", "shop/orders", 9090);
    assert!(
        orders.authorization.is_none(),
        "no policy on a skipped port"
    );
}

const SERVER_POLICY: &str = r#"apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata:
  name: api-http
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: api}
  port: http
  proxyProtocol: HTTP/1
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata:
  name: web-only
  namespace: shop
spec:
  identities:
    - web.shop.serviceaccount.identity.linkerd.cluster.local
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: api-from-web
  namespace: shop
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: api-http
  requiredAuthenticationRefs:
    - group: policy.linkerd.io
      kind: MeshTLSAuthentication
      name: web-only
---
"#;

/// §3.3, §3.5: a Server denies by default; an AuthorizationPolicy with a
/// MeshTLSAuthentication admits exactly the identities it names.
#[test]
fn server_with_authorization_policy_and_mesh_tls() {
    let yaml = [
        linkerd_config("all-unauthenticated"),
        namespace("shop", r#"linkerd.io/inject: enabled"#),
        namespace("plain", ""),
        app("shop", "api", 8080, ""),
        app("shop", "web", 3000, ""),
        app("shop", "cart", 3001, ""),
        app("plain", "job", 7000, ""),
        SERVER_POLICY.to_owned(),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    expect(
        &inv,
        &graph,
        &[
            ("shop/web", "shop/api", 8080, Mtls, Allowed),
            ("shop/cart", "shop/api", 8080, Mtls, Denied),
            ("*meshed", "shop/api", 8080, Mtls, Denied),
            ("plain/job", "shop/api", 8080, Plaintext, Denied),
        ],
    );
    let web = edge(&inv, &graph, "shop/web", "shop/api", 8080);
    let by = deciders(&inv, web);
    assert!(
        by.contains(&"AuthorizationPolicy api-from-web".to_owned()),
        "{by:?}"
    );
    assert!(
        by.contains(&"MeshTLSAuthentication web-only".to_owned()),
        "{by:?}"
    );
    let w = workload(&inv, "shop/api");
    let api = graph.ports_of(w).find(|p| p.port == 8080).unwrap();
    assert_eq!(api.mode_text(), Some("server"));
}

/// §3.6: a route's authorizations are its own plus its Server's; a client admitted only by a
/// route-level policy reaches that route only (conditional), one admitted on the Server
/// reaches every route.
#[test]
fn route_level_policy_only_adds() {
    let route = r#"apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata:
  name: api-admin
  namespace: shop
spec:
  parentRefs:
    - group: policy.linkerd.io
      kind: Server
      name: api-http
  rules:
    - matches:
        - path: {type: PathPrefix, value: /admin}
---
apiVersion: policy.linkerd.io/v1beta3
kind: HTTPRoute
metadata:
  name: api-rest
  namespace: shop
spec:
  parentRefs:
    - group: policy.linkerd.io
      kind: Server
      name: api-http
  rules:
    - matches:
        - path: {type: PathPrefix, value: /api}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata:
  name: janitor
  namespace: shop
spec:
  identityRefs:
    - kind: ServiceAccount
      name: janitor
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: admin-from-janitor
  namespace: shop
spec:
  targetRef:
    group: policy.linkerd.io
    kind: HTTPRoute
    name: api-admin
  requiredAuthenticationRefs:
    - group: policy.linkerd.io
      kind: MeshTLSAuthentication
      name: janitor
---
"#;
    let yaml = [
        linkerd_config("all-unauthenticated"),
        namespace("shop", r#"linkerd.io/inject: enabled"#),
        app("shop", "api", 8080, ""),
        app("shop", "web", 3000, ""),
        app("shop", "janitor", 3002, ""),
        app("shop", "cart", 3001, ""),
        SERVER_POLICY.to_owned(),
        route.to_owned(),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    expect(
        &inv,
        &graph,
        &[
            // The Server-level policy admits web on every route, /admin included.
            ("shop/web", "shop/api", 8080, Mtls, Allowed),
            // janitor is admitted on the /admin route only.
            ("shop/janitor", "shop/api", 8080, Mtls, Conditional),
            ("shop/cart", "shop/api", 8080, Mtls, Denied),
        ],
    );
    let janitor = edge(&inv, &graph, "shop/janitor", "shop/api", 8080);
    let conditions = &janitor.authorization.as_ref().unwrap().conditions;
    assert!(
        conditions.iter().any(|c| c.contains("api-admin")),
        "{conditions:?}"
    );
}

/// §2.4: Istio in one namespace, Linkerd in another. Neither proxy speaks the other's mutual
/// TLS: a Linkerd client sends plaintext to an Istio server (which STRICT refuses), an Istio
/// client sends plaintext to a Linkerd server (which its policy then judges unauthenticated).
#[test]
fn mixed_istio_and_linkerd() {
    let strict = r#"apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls: {mode: STRICT}
---
"#;
    let yaml = [
        linkerd_config("all-authenticated"),
        strict.to_owned(),
        istio_namespace("ist"),
        namespace("lnk", r#"linkerd.io/inject: enabled"#),
        app("ist", "payments", 8080, ""),
        app("ist", "ledger", 8081, ""),
        app("lnk", "web", 3000, ""),
        app("lnk", "api", 3001, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    assert_eq!(graph.primary_mesh, Mesh::Istio);
    assert_eq!(graph.other_meshes, vec![Mesh::Linkerd]);
    expect(
        &inv,
        &graph,
        &[
            ("ist/ledger", "ist/payments", 8080, Mtls, Allowed),
            ("lnk/web", "ist/payments", 8080, Refused, Fails),
            ("*linkerd", "ist/payments", 8080, Refused, Fails),
            ("lnk/web", "lnk/api", 3001, Mtls, Allowed),
            ("*linkerd", "lnk/api", 3001, Mtls, Allowed),
            // all-authenticated refuses the Istio client's plaintext.
            ("ist/ledger", "lnk/api", 3001, Plaintext, Denied),
            ("*meshed", "lnk/api", 3001, Plaintext, Denied),
        ],
    );
    let cross = edge(&inv, &graph, "ist/ledger", "lnk/api", 3001);
    let rendered: Vec<String> = cross
        .transport_because
        .iter()
        .map(|b| b.render(&inv))
        .collect();
    assert!(
        rendered
            .iter()
            .any(|f| f.contains("no mutual TLS across meshes")),
        "{rendered:?}"
    );
    let w = workload(&inv, "lnk/api");
    assert_eq!(graph.workload(w).mesh, Some(Mesh::Linkerd));
    let p = workload(&inv, "ist/payments");
    assert_eq!(graph.workload(p).mesh, Some(Mesh::Istio));
    assert_eq!(graph.catch_all(w), Client::OtherMesh(Mesh::Linkerd));
}

/// §5a (foreign TLS) and Istio's DestinationRule semantics: what an Istio client sends to a
/// Linkerd pod is decided by its DestinationRules. Without one, auto mTLS sends plaintext (the
/// pod has no Istio sidecar). A mesh-wide `ISTIO_MUTUAL` rule (root namespace, `*.local`) makes
/// every Istio client originate Istio mutual TLS, which Linkerd's proxy passes through as an
/// opaque stream to an application that cannot read it: the connection fails. A namespace's
/// own rule for the host decides for its clients alone: `DISABLE` sends plaintext again,
/// `SIMPLE` the application's own TLS (passed through, authorized as unauthenticated).
#[test]
fn istio_destination_rules_toward_linkerd_pods() {
    let api = "api.lnk.svc.cluster.local";
    let yaml = [
        linkerd_config("all-unauthenticated"),
        istio_namespace("ist"),
        istio_namespace("plain"),
        istio_namespace("tls"),
        destination_rule("istio-system", "mesh-mtls", "*.local", "ISTIO_MUTUAL"),
        destination_rule("plain", "api-plain", api, "DISABLE"),
        destination_rule("tls", "api-tls", api, "SIMPLE"),
        namespace("lnk", r#"linkerd.io/inject: enabled"#),
        app("ist", "payments", 8080, ""),
        app("plain", "reports", 8082, ""),
        app("tls", "audit", 8083, ""),
        app("lnk", "web", 3000, ""),
        app("lnk", "api", 3001, ""),
    ]
    .concat();
    let inv = mesh(&yaml);
    let graph = build(&inv);
    assert_eq!(graph.primary_mesh, Mesh::Istio);
    expect(
        &inv,
        &graph,
        &[
            // The mesh-wide rule: Istio mutual TLS that nobody on the Linkerd side terminates.
            ("ist/payments", "lnk/api", 3001, Refused, Fails),
            ("*meshed", "lnk/api", 3001, Refused, Fails),
            // plain's own rule disables TLS: plaintext, which all-unauthenticated admits.
            ("plain/reports", "lnk/api", 3001, Plaintext, Allowed),
            // tls's own rule: the client's own TLS, passed through to the application.
            ("tls/audit", "lnk/api", 3001, Transport::Tls, Allowed),
            // Linkerd's own clients are unaffected, and Linkerd clients still send plaintext
            // to Istio pods (no DestinationRule on the Linkerd side).
            ("lnk/web", "lnk/api", 3001, Mtls, Allowed),
            ("lnk/web", "ist/payments", 8080, Plaintext, Allowed),
        ],
    );
    let failing = edge(&inv, &graph, "ist/payments", "lnk/api", 3001);
    assert!(failing.authorization.is_none(), "{failing:#?}");
    let rendered: Vec<String> = failing
        .transport_because
        .iter()
        .map(|b| b.render(&inv))
        .collect();
    assert!(
        rendered
            .iter()
            .any(|f| f.contains("DestinationRule istio-system/mesh-mtls")),
        "{rendered:?}"
    );
    assert!(
        rendered
            .iter()
            .any(|f| f.contains("passes TLS not addressed to its own identity")),
        "{rendered:?}"
    );
    // The Service path is the one reported.
    assert!(failing.via.is_some());
}
