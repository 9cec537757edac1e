//! Linkerd's resources, annotations and `linkerd-config`, read into the typed model; and what is
//! reported, with its line, when they are malformed.

use std::sync::Arc;

use meshaudit_ingest::{ingest, Ingested, SourceText};
use meshaudit_model::linkerd::{
    DefaultInboundPolicy, InjectMode, NativeSidecarStage, ProxyInit, ProxyPlacement, ProxyProtocol,
    RouteApiGroup, ServerPort, POLICY_GROUP,
};
use meshaudit_model::Typed;

const RESOURCES: &str = include_str!("data/linkerd/resources.yaml");
const CONFIG: &str = include_str!("data/linkerd/linkerd-config.yaml");
const MALFORMED: &str = include_str!("data/linkerd/malformed.yaml");

fn read(path: &str, text: &str) -> Ingested {
    ingest(&[SourceText {
        path: Arc::from(path),
        text: text.to_owned(),
    }])
}

/// 1-based line of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in the text"));
    u32::try_from(index).unwrap() + 1
}

fn named<'a, T>(list: &'a [Typed<T>], name: &str) -> &'a Typed<T> {
    list.iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the list"))
}

#[test]
fn every_kind_and_version_is_typed() {
    let ingested = read("linkerd.yaml", RESOURCES);
    assert!(ingested.errors.is_empty(), "{:#?}", ingested.errors);
    let inv = &ingested.inventory;
    let l5d = &inv.linkerd;
    assert!(l5d.is_present());

    let servers: Vec<(&str, &str)> = l5d
        .servers
        .iter()
        .map(|s| (s.name.as_str(), inv.object(s.object).version()))
        .collect();
    assert_eq!(
        servers,
        [
            ("legacy-admin", "v1alpha1"),
            ("web-metrics", "v1beta1"),
            ("vm-db", "v1beta2"),
            ("web-http", "v1beta3"),
            ("orders-grpc", "v1beta3"),
        ]
    );
    let legacy = &named(&l5d.servers, "legacy-admin").spec;
    assert_eq!(legacy.port, ServerPort::Number(9990));
    assert_eq!(legacy.proxy_protocol, ProxyProtocol::Unknown);
    assert_eq!(legacy.access_policy, None);
    assert_eq!(legacy.access_policy(), DefaultInboundPolicy::Deny);
    let metrics = &named(&l5d.servers, "web-metrics").spec;
    assert_eq!(metrics.port, ServerPort::Name("metrics".into()));
    assert_eq!(metrics.proxy_protocol, ProxyProtocol::Http1);
    assert_eq!(
        metrics.labels.get("policy-set").map(String::as_str),
        Some("observability")
    );
    let vm = &named(&l5d.servers, "vm-db").spec;
    assert!(vm.pod_selector.is_none());
    let ext = vm.external_workload_selector.as_ref().unwrap();
    assert_eq!(
        ext.match_labels
            .as_ref()
            .unwrap()
            .get("app")
            .map(String::as_str),
        Some("legacy-db")
    );
    assert_eq!(vm.proxy_protocol, ProxyProtocol::Opaque);
    let web_http = &named(&l5d.servers, "web-http").spec;
    assert_eq!(web_http.access_policy, Some(DefaultInboundPolicy::Audit));
    assert_eq!(web_http.proxy_protocol, ProxyProtocol::Http2);
    assert_eq!(web_http.created.as_deref(), Some("2025-03-02T10:00:00Z"));
    let selector = web_http.pod_selector.as_ref().unwrap();
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(selector.matches(&labels(&[("tier", "edge")])));
    assert!(!selector.matches(&labels(&[("tier", "back")])));
    assert!(named(&l5d.servers, "orders-grpc")
        .spec
        .pod_selector
        .as_ref()
        .unwrap()
        .is_empty());

    let sazs = &l5d.server_authorizations;
    assert_eq!(sazs.len(), 3);
    let monitoring = &named(sazs, "metrics-from-monitoring").spec;
    assert_eq!(monitoring.server.name.as_deref(), Some("web-metrics"));
    assert!(monitoring.client.unauthenticated);
    let networks = monitoring.client.networks.as_ref().unwrap();
    assert_eq!(networks.len(), 2);
    assert_eq!(networks[0].cidr.text, "10.0.0.0/8");
    assert!(networks[0].contains_addr("10.1.0.1".parse().unwrap()));
    assert!(!networks[0].contains_addr("10.96.0.10".parse().unwrap()));
    assert_eq!(networks[1].except, None);
    let observability = &named(sazs, "observability-meshed").spec;
    assert!(observability.server.name.is_none());
    assert!(observability
        .server
        .selector
        .as_ref()
        .unwrap()
        .matches(&metrics.labels));
    // Omitted networks stay distinct from an empty list.
    assert_eq!(observability.client.networks, None);
    let tls = observability.client.mesh_tls.as_ref().unwrap();
    assert!(!tls.unauthenticated_tls);
    assert_eq!(
        tls.identities.as_deref().unwrap(),
        ["*.monitoring.serviceaccount.identity.linkerd.cluster.local"]
    );
    let sas = tls.service_accounts.as_deref().unwrap();
    assert_eq!(
        (sas[0].name.as_str(), sas[0].namespace.as_deref()),
        ("prometheus", Some("monitoring"))
    );
    assert_eq!(
        (sas[1].name.as_str(), sas[1].namespace.as_deref()),
        ("web", None)
    );
    let meshed = &named(sazs, "any-meshed-in-cluster").spec;
    assert_eq!(meshed.client.networks.as_deref(), Some(&[][..]));
    assert!(meshed.client.mesh_tls.as_ref().unwrap().unauthenticated_tls);

    // Istio's AuthorizationPolicy of the same name goes to Istio, by its group.
    assert_eq!(inv.istio.authorization_policies.len(), 1);
    let aps = &l5d.authorization_policies;
    assert_eq!(aps.len(), 3);
    let gateway = &named(aps, "web-http-from-gateway").spec;
    assert!(gateway.target_ref.refers_to(POLICY_GROUP, "Server"));
    assert_eq!(gateway.target_ref.name, "web-http");
    let refs = gateway.required_authentication_refs.as_deref().unwrap();
    assert!(refs[0].refers_to(POLICY_GROUP, "MeshTLSAuthentication"));
    assert_eq!(refs[0].namespace_or("shop"), "shop");
    assert!(refs[1].refers_to(POLICY_GROUP, "NetworkAuthentication"));
    assert_eq!(refs[1].namespace_or("shop"), "linkerd");
    let everyone = &named(aps, "everyone").spec;
    assert!(everyone.target_ref.refers_to("", "Namespace"));
    assert_eq!(
        everyone.required_authentication_refs.as_deref(),
        Some(&[][..])
    );
    let route_ap = &named(aps, "checkout-route").spec;
    assert!(route_ap
        .target_ref
        .refers_to("gateway.networking.k8s.io", "HTTPRoute"));
    let sa_ref = &route_ap.required_authentication_refs.as_deref().unwrap()[0];
    assert!(sa_ref.refers_to("", "ServiceAccount"));
    assert_eq!(sa_ref.group(), "");

    let mtls = &l5d.mesh_tls_authentications;
    // Identity strings are kept exactly as written.
    assert_eq!(
        named(mtls, "gateway").spec.identities.as_deref().unwrap(),
        [
            "*",
            "*.ingress.serviceaccount.identity.linkerd.cluster.local",
            "gateway.ingress.serviceaccount.identity.linkerd.cluster.local",
            "spiffe://cluster.local/ns/ingress/sa/gateway",
        ]
    );
    let by_ref = named(mtls, "by-ref").spec.identity_refs.as_deref().unwrap();
    assert!(named(mtls, "by-ref").spec.identities.is_none());
    assert!(by_ref[0].refers_to("", "ServiceAccount"));
    assert_eq!(by_ref[0].namespace.as_deref(), Some("cart"));
    assert!(by_ref[1].refers_to("", "Namespace"));
    assert_eq!(by_ref[1].name.as_deref(), Some("monitoring"));
    assert_eq!(by_ref[2].name, None);

    let nets = &named(&l5d.network_authentications, "cluster-pods")
        .spec
        .networks;
    assert_eq!(nets.len(), 2);
    assert!(!nets[0].contains_addr("10.0.13.5".parse().unwrap()));
    assert!(!nets[0].contains_addr("10.0.14.7".parse().unwrap()));
    assert!(nets[0].contains_addr("10.0.14.8".parse().unwrap()));
    assert!(nets[1].cidr.is_bare_address());
    assert_eq!(nets[1].cidr.cidr.prefix, 32);

    let routes: Vec<(&str, &str, RouteApiGroup)> = l5d
        .http_routes
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                inv.object(r.object).version(),
                r.spec.api_group,
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("web-v1alpha1", "v1alpha1", RouteApiGroup::Linkerd),
            ("web-v1beta1", "v1beta1", RouteApiGroup::Linkerd),
            ("web-v1beta2", "v1beta2", RouteApiGroup::Linkerd),
            ("web-admin", "v1beta3", RouteApiGroup::Linkerd),
            ("checkout", "v1", RouteApiGroup::GatewayApi),
            ("storefront", "v1beta1", RouteApiGroup::GatewayApi),
            ("old-route", "v1alpha2", RouteApiGroup::GatewayApi),
        ]
    );
    let admin = &named(&l5d.http_routes, "web-admin").spec;
    assert!(admin.parent_refs[0].is_server());
    assert_eq!(admin.hostnames, ["web.shop.svc.cluster.local"]);
    assert_eq!(
        admin.rules[0].matches[0].describe(),
        "POST /admin (prefix) header x-admin=true query debug~1|yes"
    );
    assert!(named(&l5d.http_routes, "web-v1alpha1")
        .spec
        .rules
        .is_empty());
    let storefront = &named(&l5d.http_routes, "storefront").spec.parent_refs[0];
    assert!(!storefront.is_server());
    assert_eq!(
        (storefront.port, storefront.section_name.as_deref()),
        (Some(443), Some("https"))
    );
    let grpc: Vec<&str> = l5d.grpc_routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(grpc, ["orders-create", "orders-any"]);
    assert_eq!(
        named(&l5d.grpc_routes, "orders-create").spec.rules[0].matches[0].describe(),
        "/shop.Orders/Create header tenant=acme"
    );
    // No linkerd-config in this input: Linkerd's defaults.
    assert!(l5d.config.is_none());
    assert_eq!(
        l5d.service_account_identity("web", "shop"),
        "web.shop.serviceaccount.identity.linkerd.cluster.local"
    );
}

#[test]
fn pod_templates_and_namespaces_carry_their_own_settings() {
    let ingested = read("linkerd.yaml", RESOURCES);
    let inv = &ingested.inventory;
    let shop = &inv.namespace("shop").unwrap().linkerd.annotations;
    assert_eq!(shop.inject, Some(InjectMode::Enabled));
    assert_eq!(
        shop.default_inbound_policy,
        Some(Ok(DefaultInboundPolicy::ClusterAuthenticated))
    );
    assert!(shop.opaque_ports.as_ref().unwrap().contains(5432));
    assert!(inv
        .namespace("plain")
        .unwrap()
        .linkerd
        .annotations
        .is_empty());

    let workload = |name: &str| inv.workloads.iter().find(|w| w.name == name).unwrap();
    let web = workload("web").linkerd();
    // Only the template's annotations: the namespace's are not merged in, and the
    // Deployment's own `skip-inbound-ports: 1-65535` is not read.
    assert_eq!(web.annotations.inject, None);
    assert_eq!(web.annotations.opaque_ports, None);
    assert_eq!(
        web.annotations.default_inbound_policy,
        Some(Ok(DefaultInboundPolicy::AllAuthenticated))
    );
    let skip_in = web.annotations.skip_inbound_ports.as_ref().unwrap();
    assert!(skip_in.contains(9090) && skip_in.contains(9105));
    assert!(!skip_in.contains(8080) && !skip_in.contains(9111));
    assert!(web
        .annotations
        .skip_outbound_ports
        .as_ref()
        .unwrap()
        .contains(3306));
    assert!(web
        .annotations
        .require_identity_inbound_ports
        .as_ref()
        .unwrap()
        .contains(8080));
    assert!(web
        .annotations
        .skip_subnets
        .as_ref()
        .unwrap()
        .contains_addr("10.99.3.4".parse().unwrap()));
    assert_eq!(web.annotations.native_sidecar.len(), 1);
    assert_eq!(
        web.annotations.native_sidecar[0].stage,
        NativeSidecarStage::Alpha
    );
    assert_eq!(web.annotations.native_sidecar[0].enabled, Some(true));
    assert!(!web.is_injected());

    let orders = workload("orders-7d9c").linkerd();
    assert_eq!(orders.proxy, Some(ProxyPlacement::Container));
    assert_eq!(orders.proxy_init, Some(ProxyInit::Iptables));
    assert_eq!(orders.control_plane_ns.as_deref(), Some("linkerd"));
    assert!(orders.is_injected());

    let ledger = workload("ledger").linkerd();
    assert_eq!(ledger.proxy, Some(ProxyPlacement::NativeSidecar));
    assert_eq!(ledger.proxy_init, Some(ProxyInit::CniValidator));

    // Templates with nothing Linkerd-related store nothing.
    let batch = workload("batch");
    assert!(batch.linkerd.is_none());
    assert!(batch.linkerd().annotations.is_empty() && !batch.linkerd().is_injected());
}

#[test]
fn linkerd_config_is_read_with_the_line_of_each_value() {
    let ingested = read("config.yaml", CONFIG);
    assert!(ingested.errors.is_empty(), "{:#?}", ingested.errors);
    let l5d = &ingested.inventory.linkerd;
    assert!(l5d.is_present());
    let config = l5d.config.as_ref().unwrap();
    assert_eq!(config.control_plane_namespace, "linkerd-prod");
    assert!(config.exact_positions);
    assert_eq!(config.values_location.line, line_of(CONFIG, "  values: |"));
    let at = |needle: &str| line_of(CONFIG, needle);

    assert_eq!(config.cluster_domain.value, "corp.internal");
    assert_eq!(config.cluster_domain.location.line, at("clusterDomain:"));
    assert_eq!(config.cluster_domain.location.column, 5);
    // An empty identityTrustDomain falls back to clusterDomain.
    assert_eq!(config.identity_trust_domain.value, "corp.internal");
    assert!(!config.identity_trust_domain.written);
    assert_eq!(
        config.identity_trust_domain.location.line,
        at("identityTrustDomain:")
    );
    assert_eq!(l5d.trust_domain(), "corp.internal");
    assert_eq!(
        l5d.service_account_identity("web", "shop"),
        "web.shop.serviceaccount.identity.linkerd-prod.corp.internal"
    );

    assert_eq!(
        config.default_inbound_policy.value,
        Ok(DefaultInboundPolicy::ClusterAuthenticated)
    );
    assert!(config.default_inbound_policy.written);
    let policy_loc = &config.default_inbound_policy.location;
    assert_eq!(
        (policy_loc.line, policy_loc.column),
        (at("defaultInboundPolicy:"), 7)
    );
    assert_eq!(&*policy_loc.path, "config.yaml");

    assert_eq!(config.cluster_networks.value.cidrs.len(), 5);
    assert!(config
        .cluster_networks
        .value
        .contains_addr("fd00::12".parse().unwrap()));
    assert_eq!(config.probe_networks.value.text, "0.0.0.0/0,::/0");
    assert_eq!(config.probe_networks.location.line, at("probeNetworks:"));
    assert!(config.opaque_ports.value.contains(11211));
    assert!(config.ignore_inbound_ports.value.contains(4568));
    assert!(config.ignore_outbound_ports.value.contains(25005));
    assert!(config
        .require_identity_on_inbound_ports
        .value
        .contains(8443));
    assert_eq!(
        config.require_identity_on_inbound_ports.location.line,
        at("requireIdentityOnInboundPorts:")
    );
    assert!(!config.native_sidecar.value && config.native_sidecar.written);
    assert!(config.cni_enabled.value);
    assert!(!config.disable_ipv6.value && config.disable_ipv6.written);
    assert_eq!(config.disable_ipv6.location.line, at("disableIPv6:"));
    // cliVersion is empty: linkerdVersion is the version.
    let version = config.version.as_ref().unwrap();
    assert_eq!(version.value, "edge-25.4.4");
    assert_eq!(version.location.line, at("linkerdVersion:"));
}

#[test]
fn linkerd_config_defaults_apply_to_what_values_leave_out() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linkerd-config, namespace: linkerd}\ndata:\n  values: |\n    proxy:\n      logLevel: info\n";
    let ingested = read("cm.yaml", text);
    assert!(ingested.errors.is_empty(), "{:#?}", ingested.errors);
    let config = ingested.inventory.linkerd.config.as_ref().unwrap();
    assert_eq!(config.cluster_domain.value, "cluster.local");
    assert_eq!(config.identity_trust_domain.value, "cluster.local");
    assert_eq!(
        config.default_inbound_policy.value,
        Ok(DefaultInboundPolicy::AllUnauthenticated)
    );
    assert!(!config.default_inbound_policy.written);
    // A default points at the `values` key.
    assert_eq!(config.default_inbound_policy.location.line, 5);
    assert_eq!(config.cluster_networks.value.cidrs.len(), 5);
    assert_eq!(config.probe_networks.value.cidrs.len(), 2);
    assert_eq!(
        config.opaque_ports.value.describe(),
        "25,587,3306,4444,5432,6379,9300,11211"
    );
    assert_eq!(config.ignore_inbound_ports.value.describe(), "4567,4568");
    assert!(config.require_identity_on_inbound_ports.value.is_empty());
    assert!(!config.native_sidecar.value && !config.cni_enabled.value);
    // The chart's default, and what proxies before 2.16 did: IPv4 only.
    assert!(config.disable_ipv6.value && !config.disable_ipv6.written);
    assert!(config.version.is_none());
}

/// `kubectl get -o json` writes the values as one escaped string: its lines are not the
/// file's, so every value (and every problem in it) points at the `values` key.
#[test]
fn linkerd_config_in_json_points_at_the_values_key() {
    let text = r#"{
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {"name": "linkerd-config", "namespace": "linkerd"},
  "data": {
    "values": "clusterDomain: cluster.local\nproxy:\n  defaultInboundPolicy: permit\n  opaquePorts: \"3306\"\n"
  }
}
"#;
    let ingested = read("cm.json", text);
    let config = ingested.inventory.linkerd.config.as_ref().unwrap();
    assert!(!config.exact_positions);
    assert_eq!(config.values_location.line, 6);
    assert_eq!(config.opaque_ports.location, config.values_location);
    assert!(config.opaque_ports.written && config.opaque_ports.value.contains(3306));
    assert_eq!(
        config.default_inbound_policy.value,
        Err(meshaudit_model::linkerd::UnknownPolicy {
            value: "permit".into()
        })
    );
    assert_eq!(ingested.errors.len(), 1, "{:#?}", ingested.errors);
    let e = &ingested.errors[0];
    assert_eq!(e.line, 6);
    assert!(
        e.message.contains(
            "proxy.defaultInboundPolicy: `permit` is not a Linkerd default inbound policy"
        ),
        "{}",
        e.message
    );
}

#[test]
fn malformed_linkerd_config_values_are_reported_at_their_lines() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: linkerd-config, namespace: linkerd}
data:
  values: |
    clusterNetworks: 10.0.0.0/8,bogus
    proxy:
      defaultInboundPolicy: permit
      nativeSidecar: maybe
      opaquePorts: {a: 1}
    proxyInit:
      ignoreInboundPorts: 4567,galera
    disableIPv6: sometimes
";
    let ingested = read("cm.yaml", text);
    let found: Vec<(u32, u32, &str)> = ingested
        .errors
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    let expect = [
        (6, 5, "clusterNetworks: `bogus` is not a CIDR"),
        (
            8,
            7,
            "proxy.defaultInboundPolicy: `permit` is not a Linkerd default inbound policy",
        ),
        (
            9,
            7,
            "proxy.nativeSidecar: expected true or false, found `maybe`",
        ),
        (
            10,
            7,
            "proxy.opaquePorts: expected a string, found a mapping",
        ),
        (
            12,
            7,
            "proxyInit.ignoreInboundPorts: `galera` (a port name, not a number) is not a port",
        ),
        (
            13,
            5,
            "disableIPv6: expected true or false, found `sometimes`; true is assumed",
        ),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for (line, column, text) in expect {
        assert!(
            found
                .iter()
                .any(|(l, c, m)| (*l, *c) == (line, column) && m.contains(text)),
            "{line}:{column} {text}\n{found:#?}"
        );
    }
    // The rest of the config is still read.
    let config = ingested.inventory.linkerd.config.as_ref().unwrap();
    assert_eq!(config.cluster_networks.value.cidrs.len(), 1);
    assert!(config.ignore_inbound_ports.value.contains(4567));
    assert!(!config.opaque_ports.written);
    assert!(config.disable_ipv6.value && !config.disable_ipv6.written);

    let broken = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linkerd-config, namespace: linkerd}\ndata:\n  values: |\n    proxy:\n      defaultInboundPolicy: [deny\n";
    let ingested = read("broken.yaml", broken);
    assert_eq!(ingested.errors.len(), 1, "{:#?}", ingested.errors);
    assert!(ingested.errors[0].line >= 7, "{:?}", ingested.errors[0]);
    assert!(ingested.errors[0]
        .message
        .contains("ConfigMap linkerd/linkerd-config: values:"));
}

#[test]
fn malformed_linkerd_inputs_are_reported_with_lines_and_the_rest_is_read() {
    let ingested = read("bad.yaml", MALFORMED);
    let at = |marker: &str| line_of(MALFORMED, &format!("# m:{marker}"));
    let expect: Vec<(u32, &str)> = vec![
        (at("ns-policy"), "Namespace shop: annotation config.linkerd.io/default-inbound-policy: `allow-all` is not a Linkerd default inbound policy"),
        (at("inject"), "annotation linkerd.io/inject: `true` is not enabled, disabled or ingress"),
        (at("skip-ports"), "annotation config.linkerd.io/skip-inbound-ports: `http` (a port name, not a number), `9000-8000` (a range whose upper bound is below its lower bound) are not a port"),
        (at("native"), "config.alpha.linkerd.io/proxy-enable-native-sidecar: `maybe` is not a boolean"),
        (at("port-zero"), "Server shop/zero-port: spec.port: port 0 is outside 1-65535"),
        (at("protocol"), "Server shop/bad-protocol: spec.proxyProtocol: unknown variant `http`"),
        (at("access"), "Server shop/bad-access: spec.accessPolicy: `allow` is not a Linkerd default inbound policy"),
        (at("v1beta1-access"), "Server shop/too-early: spec.accessPolicy: accessPolicy exists only in policy.linkerd.io/v1beta3"),
        (at("no-selector"), "Server shop/no-selector: spec: podSelector is missing"),
        (at("two-selectors"), "Server shop/two-selectors: spec.externalWorkloadSelector: a Server sets exactly one"),
        (at("no-spec"), "Server shop/no-spec: spec is missing"),
        (line_of(MALFORMED, "apiVersion: policy.linkerd.io/v2"), "Server shop/future: apiVersion `policy.linkerd.io/v2` is not one meshaudit reads"),
        (at("bare"), "ServerAuthorization shop/bare-address: spec.client.networks[0].cidr: `10.1.2.3` has no prefix length"),
        (at("bool"), "ServerAuthorization shop/wrong-type: spec.client.unauthenticated: expected a boolean"),
        (at("no-refs"), "AuthorizationPolicy shop/no-refs: spec: requiredAuthenticationRefs is missing"),
        (at("target"), "AuthorizationPolicy shop/target-string: spec.targetRef: expected a reference (a mapping with kind and name), found string \"web\""),
        (at("cidr"), "NetworkAuthentication shop/bad-cidr: spec.networks[0].except[0]: `10.300.0.0/16` is not a CIDR"),
        (at("identities"), "MeshTLSAuthentication shop/not-a-list: spec.identities: expected"),
        (at("parent-port"), "HTTPRoute shop/bad-parent: spec.parentRefs[0].port: expected u16"),
    ];
    let found: Vec<(u32, &str)> = ingested
        .errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    for (line, text) in &expect {
        assert!(
            found.iter().any(|(l, m)| l == line && m.contains(text)),
            "expected at line {line}: {text}\nfound: {found:#?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    assert!(ingested.errors.iter().all(|e| &*e.path == "bad.yaml"));

    // What the API server would keep is still in the model.
    let inv = &ingested.inventory;
    let web = inv
        .workloads
        .iter()
        .find(|w| w.name == "web")
        .unwrap()
        .linkerd();
    assert_eq!(
        web.annotations.inject,
        Some(InjectMode::Invalid("true".into()))
    );
    let skip = web.annotations.skip_inbound_ports.as_ref().unwrap();
    assert!(skip.contains(80) && skip.invalid.len() == 2);
    assert!(web
        .annotations
        .skip_outbound_ports
        .as_ref()
        .unwrap()
        .contains(443));
    assert!(inv
        .namespace("shop")
        .unwrap()
        .linkerd
        .annotations
        .default_inbound_policy
        .as_ref()
        .unwrap()
        .is_err());
    let servers: Vec<&str> = inv
        .linkerd
        .servers
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(servers, ["too-early"]);
    assert_eq!(inv.linkerd.servers[0].spec.access_policy, None);
    assert!(inv.linkerd.server_authorizations.is_empty());
    let aps: Vec<&str> = inv
        .linkerd
        .authorization_policies
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(aps, ["no-refs"]);
    assert!(inv.linkerd.authorization_policies[0]
        .spec
        .required_authentication_refs
        .is_none());
    assert!(inv.linkerd.network_authentications.is_empty());
    assert!(inv.linkerd.mesh_tls_authentications.is_empty());
    assert!(inv.linkerd.http_routes.is_empty());
}

#[test]
fn a_second_linkerd_config_is_reported_and_the_first_kept() {
    let second = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linkerd-config, namespace: other}\ndata:\n  values: |\n    clusterDomain: other.local\n";
    let ingested = ingest(&[
        SourceText {
            path: Arc::from("a.yaml"),
            text: CONFIG.to_owned(),
        },
        SourceText {
            path: Arc::from("b.yaml"),
            text: second.to_owned(),
        },
    ]);
    let config = ingested.inventory.linkerd.config.as_ref().unwrap();
    assert_eq!(config.control_plane_namespace, "linkerd-prod");
    assert_eq!(ingested.errors.len(), 1, "{:#?}", ingested.errors);
    assert_eq!(
        (&*ingested.errors[0].path, ingested.errors[0].line),
        ("b.yaml", 5)
    );
    assert!(ingested.errors[0]
        .message
        .contains("only the first (linkerd-prod/linkerd-config) is read"));
    // Both ConfigMaps stay ConfigMaps.
    assert_eq!(ingested.inventory.config_maps.len(), 2);
}
