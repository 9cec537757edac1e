//! The inventory built from a small but complete set of manifests.

use std::sync::Arc;

use meshaudit_ingest::{ingest, SourceText};
use meshaudit_model::istio::MtlsMode;

const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio-injection: enabled
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: web, version: v1}
      annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "9000"}
    spec:
      securityContext: {runAsUser: 1000}
      containers:
      - name: web
        image: web:1
        ports:
        - {name: http, containerPort: 8080}
        - {name: admin, containerPort: 9000}
        securityContext: {runAsUser: 1337}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http, appProtocol: http}
  - {name: direct, port: 9000, targetPort: 9000}
  - {name: same, port: 7070}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      serviceAccountName: db
      containers: [{name: db, image: pg}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: data}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: agent, image: agent}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: old, namespace: data}
spec:
  template:
    metadata: {labels: {app: old}}
    spec:
      serviceAccount: legacy-sa
      containers: [{name: old, image: old}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: db, namespace: data}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: data}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: In, values: [db]}]
  egress: []
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: namespace.sidecar-injector.istio.io
  failurePolicy: Ignore
  namespaceSelector:
    matchLabels: {istio-injection: enabled}
  clientConfig:
    service: {namespace: istio-system, name: istiod, path: /inject}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    rootNamespace: istio-config
    trustDomain: corp.example
    enableAutoMtls: false
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  mtls: {mode: STRICT}
  portLevelMtls:
    "9000": {mode: DISABLE}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.shop.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-config}
spec:
  accessLogging: [{providers: [{name: envoy}]}]
"#;

#[test]
fn inventory_models_every_resource_kind() {
    let ingested = ingest(&[SourceText {
        path: Arc::from("all.yaml"),
        text: MANIFESTS.to_owned(),
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    let inv = &ingested.inventory;

    // Namespaces: explicit and implied.
    assert!(inv.namespaces["shop"].object.is_some());
    assert_eq!(inv.namespaces["shop"].labels["istio-injection"], "enabled");
    assert!(inv.namespaces["data"].object.is_none());
    assert!(inv.namespaces.contains_key("istio-system"));

    // Workloads from every owner kind, with template labels, accounts and UIDs.
    let web = inv.workloads.iter().find(|w| w.name == "web").unwrap();
    assert_eq!(web.kind, "Deployment");
    assert_eq!(web.labels["version"], "v1");
    assert_eq!(
        web.annotations["traffic.sidecar.istio.io/excludeInboundPorts"],
        "9000"
    );
    assert_eq!(web.service_account, "default");
    assert!(!web.service_account_explicit);
    assert_eq!(web.run_as_user, Some(1000));
    assert_eq!(web.effective_uid(&web.containers[0]), Some(1337));
    let db = inv.workloads.iter().find(|w| w.name == "db").unwrap();
    assert_eq!(db.service_account, "db");
    let agent = inv.workloads.iter().find(|w| w.name == "agent").unwrap();
    assert!(agent.host_network);
    let old = inv.workloads.iter().find(|w| w.name == "old").unwrap();
    assert_eq!(old.service_account, "legacy-sa");
    assert_eq!(inv.workloads_in("data").count(), 3);

    // Services: named target ports resolved through the selected pods.
    let svc = &inv.services[0];
    assert_eq!(svc.spec.ports[0].resolved_target_ports, vec![8080]);
    assert_eq!(svc.spec.ports[0].app_protocol.as_deref(), Some("http"));
    assert_eq!(svc.spec.ports[1].resolved_target_ports, vec![9000]);
    assert_eq!(svc.spec.ports[2].resolved_target_ports, vec![7070]);

    assert_eq!(inv.service_accounts.len(), 1);
    let np = &inv.network_policies[0];
    assert!(np.spec.isolates_ingress() && np.spec.isolates_egress());
    assert!(np.spec.pod_selector.matches(&db.labels));
    assert!(!np.spec.pod_selector.matches(&agent.labels));

    let hook = &inv.webhook_configurations[0].webhooks[0];
    assert_eq!(hook.failure_policy(), "Ignore");
    assert_eq!(hook.client_config.service.as_ref().unwrap().name, "istiod");

    // The mesh config, with its custom root namespace and trust domain.
    assert_eq!(inv.istio.root_namespace(), "istio-config");
    assert_eq!(inv.istio.trust_domain(), "corp.example");
    assert_eq!(
        inv.istio
            .mesh_config
            .as_ref()
            .unwrap()
            .config
            .enable_auto_mtls,
        Some(false)
    );

    let pa = &inv.istio.peer_authentications[0];
    assert_eq!(pa.spec.mode(), MtlsMode::Strict);
    assert_eq!(pa.spec.port_level_mtls[&9000].mode(), MtlsMode::Disable);
    assert_eq!(
        inv.istio.destination_rules[0].spec.host,
        "web.shop.svc.cluster.local"
    );
    assert_eq!(
        inv.istio.telemetries[0].spec.access_logging[0].providers[0].name,
        "envoy"
    );

    // Field positions survive: the DISABLE port entry's line.
    let obj = inv.object(pa.object);
    let loc = obj.location_of(&["spec".into(), "portLevelMtls".into(), "9000".into()]);
    assert_eq!(
        MANIFESTS.lines().nth(loc.line as usize - 1).unwrap().trim(),
        "\"9000\": {mode: DISABLE}"
    );
}

#[test]
fn mesh_config_errors_point_into_the_config_map() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    rootNamespace: x\n    trustDomainAliases: notalist\n";
    let ingested = ingest(&[SourceText {
        path: Arc::from("cm.yaml"),
        text: text.to_owned(),
    }]);
    assert_eq!(ingested.errors.len(), 1, "{:?}", ingested.errors);
    assert_eq!(ingested.errors[0].line, 7);
    assert!(ingested.errors[0].message.contains("trustDomainAliases"));
}

/// What the API server rejects in a NetworkPolicy is reported at its field, and the policy is
/// left out (it cannot exist in a cluster); valid policies next to it are kept.
#[test]
fn invalid_network_policies_are_reported_at_the_field() {
    let text = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from:
    - {}
    - ipBlock:
        cidr: 10.0.0/8
  - from:
    - ipBlock:
        cidr: 10.0.0.0/8
        except: [192.168.0.0/16]
      podSelector: {}
    ports:
    - port: http
      endPort: 90
    - port: 100
      endPort: 90
      protocol: ICMP
  - from:
    - ipBlock:
        cidr: 10.0.0.0/8
        except: [192.168.0.0/16]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: good, namespace: shop}
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}
    ports:
    - {port: 8000, endPort: 8100}
"#;
    let ingested = ingest(&[SourceText {
        path: Arc::from("np.yaml"),
        text: text.to_owned(),
    }]);
    let found: Vec<(u32, &str)> = ingested
        .errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    let expect = [
        (8, "spec.ingress[0].from[0]: a peer must set podSelector"),
        (
            10,
            "spec.ingress[0].from[1].ipBlock.cidr: `10.0.0/8` is not a CIDR",
        ),
        (12, "spec.ingress[1].from[0]: ipBlock cannot be combined"),
        (
            25,
            "spec.ingress[2].from[0].ipBlock.except[0]: `192.168.0.0/16` must be a strict subset",
        ),
        (
            18,
            "spec.ingress[1].ports[0].endPort: endPort needs a numeric port",
        ),
        (
            20,
            "spec.ingress[1].ports[1].endPort: endPort 90 is below port 100",
        ),
        (
            21,
            "spec.ingress[1].ports[1].protocol: `ICMP` is not TCP, UDP or SCTP",
        ),
    ];
    for (line, text) in expect {
        assert!(
            found.iter().any(|(l, m)| *l == line && m.contains(text)),
            "no error at line {line} with `{text}` in {found:#?}"
        );
    }
    assert!(found
        .iter()
        .all(|(_, m)| m.contains("NetworkPolicy shop/bad")));
    let names: Vec<&str> = ingested
        .inventory
        .network_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["good"]);
}

/// What the logging rules will read (docs/logging-semantics.md §1): the mesh config's access-log
/// switches and providers, and a Telemetry entry's providers, `disabled`, `match.mode` and
/// `filter.expression`.
#[test]
fn access_logging_configuration_is_typed() {
    let text = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    accessLogFile: /dev/stdout
    accessLogEncoding: JSON
    accessLogFormat: '{"peer": "%DOWNSTREAM_PEER_URI_SAN%"}'
    defaultProviders:
      accessLogging: [audit-file]
    extensionProviders:
    - name: audit-file
      envoyFileAccessLog:
        path: /var/log/audit.log
        logFormat:
          labels: {peer: "%DOWNSTREAM_PEER_URI_SAN%", code: "%RESPONSE_CODE%"}
    - name: als
      envoyHttpAls: {service: als.logging.svc.cluster.local, port: 9000}
    - name: tracing
      zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: quiet, namespace: shop}
spec:
  accessLogging:
  - providers: [{name: envoy}]
    disabled: true
  - providers: [{name: audit-file}]
    match: {mode: SERVER}
    filter: {expression: "response.code >= 400"}
"#;
    let ingested = ingest(&[SourceText {
        path: Arc::from("logging.yaml"),
        text: text.to_owned(),
    }]);
    assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
    let inv = &ingested.inventory;
    let config = &inv.istio.mesh_config.as_ref().unwrap().config;
    assert_eq!(config.access_log_file.as_deref(), Some("/dev/stdout"));
    assert_eq!(config.access_log_encoding.as_deref(), Some("JSON"));
    assert!(config
        .access_log_format
        .as_deref()
        .unwrap()
        .contains("%DOWNSTREAM_PEER_URI_SAN%"));
    assert_eq!(
        config.default_providers.as_ref().unwrap().access_logging,
        ["audit-file"]
    );
    let kinds: Vec<(&str, bool)> = config
        .extension_providers
        .iter()
        .map(|p| (p.name.as_str(), p.writes_access_log()))
        .collect();
    assert_eq!(
        kinds,
        [("audit-file", true), ("als", true), ("tracing", false)]
    );
    let file = config.extension_providers[0]
        .envoy_file_access_log
        .as_ref()
        .unwrap();
    assert_eq!(file.path.as_deref(), Some("/var/log/audit.log"));
    let labels = file.log_format.as_ref().unwrap().labels.as_ref().unwrap();
    assert_eq!(labels["code"], "%RESPONSE_CODE%");

    let entries = &inv.istio.telemetries[0].spec.access_logging;
    assert_eq!(entries[0].disabled, Some(true));
    assert_eq!(entries[0].providers[0].name, "envoy");
    assert_eq!(
        entries[1].match_.as_ref().unwrap().mode.as_deref(),
        Some("SERVER")
    );
    assert_eq!(
        entries[1].filter.as_ref().unwrap().expression.as_deref(),
        Some("response.code >= 400")
    );
}
