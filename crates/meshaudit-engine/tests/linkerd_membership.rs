//! Linkerd membership and default inbound policy, on small inputs whose expected answers come
//! from the proxy injector's truth table (`pkg/inject/report.go`), proxy-init's chart partial
//! and the policy controller (see `docs/linkerd-semantics.md` §1, §3.2).

use std::sync::Arc;

use meshaudit_ingest::{ingest, SourceText};

use meshaudit_engine::linkerd::defaults::{
    cluster_default, cluster_networks, default_policy, default_policy_for_port,
    default_policy_groups, resolve_default_policy,
};
use meshaudit_engine::linkerd::membership::{
    app_ports_all, InboundPath, Inject, Injection, Level, LinkerdMembership, NotMeshed, Redirect,
};
use meshaudit_engine::linkerd::policy::LinkerdPolicy;
use meshaudit_engine::webhooks::hooks;
use meshaudit_model::linkerd::DefaultInboundPolicy::{self, *};
use meshaudit_model::{Inventory, LinkerdServerId, ServiceId, WorkloadId};

fn namespace(name: &str, annotations: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\n  annotations: {{{annotations}}}\n---\n"
    )
}

/// A Deployment `name` in `ns` serving 8080 (`http`) and 9090 (`grpc`), with pod annotations
/// and labels as given (flow-style entries, comma-separated).
fn deploy(ns: &str, name: &str, annotations: &str, extra: &str) -> String {
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
      annotations: {{{annotations}}}
      labels: {{app: {name}}}
    spec:
      serviceAccountName: {name}
{extra}      containers:
      - name: app
        image: example/{name}:1
        ports:
        - {{name: http, containerPort: 8080}}
        - {{name: grpc, containerPort: 9090}}
---
"#
    )
}

const CONFIG: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: linkerd-config
  namespace: linkerd
data:
  values: |
    clusterNetworks: 10.0.0.0/8
    identityTrustDomain: example.org
    proxy:
      defaultInboundPolicy: cluster-authenticated
---
"#;

const INJECTOR: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: linkerd-proxy-injector-webhook-config
webhooks:
- name: linkerd-proxy-injector.linkerd.io
  namespaceSelector:
    matchExpressions:
    - {key: config.linkerd.io/admission-webhooks, operator: NotIn, values: [disabled]}
    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, cert-manager]}
  objectSelector:
    matchExpressions:
    - {key: linkerd.io/control-plane-component, operator: DoesNotExist}
    - {key: linkerd.io/cni-resource, operator: DoesNotExist}
  clientConfig:
    service: {name: linkerd-proxy-injector, namespace: linkerd, path: /}
  sideEffects: None
  admissionReviewVersions: [v1]
---
"#;

/// The inventory of a scenario. Ingest reports annotations Linkerd cannot use (which some
/// scenarios hold on purpose) and nothing else.
fn mesh(yaml: &str) -> Inventory {
    let ingested = ingest(&[SourceText {
        path: Arc::from("scenario.yaml"),
        text: yaml.to_owned(),
    }]);
    for e in &ingested.errors {
        assert!(e.message.contains(": annotation "), "{e}");
    }
    ingested.inventory
}

fn all(inv: &Inventory) -> Vec<LinkerdMembership> {
    LinkerdMembership::of_all(inv, &hooks(inv))
}

fn index(inv: &Inventory, id: &str) -> WorkloadId {
    WorkloadId::enumerate(&inv.workloads)
        .find(|(_, w)| format!("{}/{}", w.namespace, w.name) == id)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no workload {id}"))
}

fn of<'m>(inv: &Inventory, m: &'m [LinkerdMembership], id: &str) -> &'m LinkerdMembership {
    &m[index(inv, id).index()]
}

/// Every fact of a membership, rendered.
fn facts(m: &LinkerdMembership) -> String {
    m.because
        .iter()
        .map(|b| b.fact.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn the_injection_truth_table() {
    let input = [
        INJECTOR.to_owned(),
        namespace("on", "linkerd.io/inject: enabled", ""),
        namespace("off", "linkerd.io/inject: disabled", ""),
        namespace("plain", "", ""),
        namespace("bad", "linkerd.io/inject: yes", ""),
        namespace("edge", "linkerd.io/inject: ingress", ""),
        deploy("on", "meshed", "", ""),
        deploy("on", "opted-out", "linkerd.io/inject: disabled", ""),
        deploy("on", "typo", "linkerd.io/inject: \"false\"", ""),
        deploy("on", "host", "", "      hostNetwork: true\n"),
        deploy("plain", "asks", "linkerd.io/inject: enabled", ""),
        deploy("plain", "silent", "", ""),
        deploy("off", "asks", "linkerd.io/inject: ingress", ""),
        deploy("off", "silent", "", ""),
        deploy("bad", "asks", "linkerd.io/inject: enabled", ""),
        deploy("edge", "gateway", "", ""),
        deploy("edge", "pinned", "linkerd.io/inject: enabled", ""),
        deploy("nowhere", "silent", "", ""),
        deploy("nowhere", "asks", "linkerd.io/inject: enabled", ""),
    ]
    .concat();
    let inv = mesh(&input);
    let m = all(&inv);
    let expect = |id: &str, meshed: bool, why: Option<NotMeshed>| {
        let got = of(&inv, &m, id);
        assert_eq!(got.meshed, meshed, "{id}: {}", facts(got));
        assert_eq!(got.not_meshed, why, "{id}: {}", facts(got));
        assert_eq!(got.capture.is_some(), meshed, "{id}");
        assert_eq!(got.identity.is_some(), meshed, "{id}");
    };
    expect("on/meshed", true, None);
    expect("on/opted-out", false, Some(NotMeshed::PodDisabled));
    expect("on/typo", false, Some(NotMeshed::InvalidPodValue));
    expect("on/host", false, Some(NotMeshed::HostNetwork));
    expect("plain/asks", true, None);
    expect("plain/silent", false, Some(NotMeshed::NotRequested));
    // A pod's `enabled`/`ingress` beats the namespace's `disabled`.
    expect("off/asks", true, None);
    expect("off/silent", false, Some(NotMeshed::NotRequested));
    // An invalid namespace value blocks even pods that ask.
    expect("bad/asks", false, Some(NotMeshed::InvalidNamespaceValue));
    expect("edge/gateway", true, None);
    expect("edge/pinned", true, None);
    expect("nowhere/asks", true, None);
    expect("nowhere/silent", false, Some(NotMeshed::NamespaceUnknown));
    assert!(!of(&inv, &m, "nowhere/silent").known);
    assert!(of(&inv, &m, "plain/silent").known);

    // Modes: the pod's own value wins, the namespace's is copied only when the pod has none.
    assert_eq!(of(&inv, &m, "off/asks").mode, Some(Inject::Ingress));
    assert_eq!(of(&inv, &m, "edge/gateway").mode, Some(Inject::Ingress));
    assert_eq!(of(&inv, &m, "edge/pinned").mode, Some(Inject::Enabled));
    assert_eq!(of(&inv, &m, "on/meshed").mode, Some(Inject::Enabled));
    assert_eq!(of(&inv, &m, "on/meshed").injection, Injection::Webhook);

    // The evidence names the deciding annotation and where it is.
    let meshed = of(&inv, &m, "on/meshed");
    let first = &meshed.because[0];
    assert_eq!(
        first.fact,
        "namespace on sets linkerd.io/inject: enabled: the injector adds the proxy to its pods"
    );
    assert_eq!(first.field_text(), "metadata.annotations.linkerd.io/inject");
    assert_eq!(inv.object(first.object.unwrap()).kind, "Namespace");
    assert!(facts(meshed).contains(
        "Linkerd's proxy injector webhook linkerd-proxy-injector.linkerd.io (MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config) selects the pod"
    ));
    let opted = of(&inv, &m, "on/opted-out");
    assert_eq!(
        opted.because[0].field_text(),
        "spec.template.metadata.annotations.linkerd.io/inject"
    );
    assert!(opted.because[0]
        .fact
        .contains("overrides namespace on's \"enabled\""));
    let host = of(&inv, &m, "on/host");
    assert_eq!(
        host.because[0].field_text(),
        "spec.template.spec.hostNetwork"
    );
}

#[test]
fn the_injector_webhooks_selectors_decide_too() {
    let input = [
        INJECTOR.to_owned(),
        namespace(
            "exempt",
            "linkerd.io/inject: enabled",
            "config.linkerd.io/admission-webhooks: disabled",
        ),
        namespace("kube-system", "linkerd.io/inject: enabled", ""),
        namespace("shop", "linkerd.io/inject: enabled", ""),
        deploy("exempt", "app", "", ""),
        deploy("kube-system", "app", "", ""),
        deploy("shop", "app", "", ""),
        // Opting out by the objectSelector's label, as any workload can.
        deploy("shop", "sneaky", "", "").replace(
            "labels: {app: sneaky}",
            "labels: {app: sneaky, linkerd.io/cni-resource: x}",
        ),
    ]
    .concat();
    let inv = mesh(&input);
    let m = all(&inv);
    for id in ["exempt/app", "kube-system/app", "shop/sneaky"] {
        let got = of(&inv, &m, id);
        assert!(!got.meshed, "{id}");
        assert_eq!(got.not_meshed, Some(NotMeshed::NotSelected), "{id}");
        assert_eq!(
            inv.object(got.because[0].object.unwrap()).kind,
            "MutatingWebhookConfiguration"
        );
    }
    assert_eq!(
        of(&inv, &m, "exempt/app").because[0].field_text(),
        "webhooks[0].namespaceSelector"
    );
    assert_eq!(
        of(&inv, &m, "shop/sneaky").because[0].field_text(),
        "webhooks[0].objectSelector"
    );
    assert!(of(&inv, &m, "shop/app").meshed);

    // Without the webhook in the input, the chart's selectors are assumed, and it is said so.
    let without = mesh(&input.replace(INJECTOR, ""));
    let m = all(&without);
    assert_eq!(
        of(&without, &m, "exempt/app").not_meshed,
        Some(NotMeshed::NotSelected)
    );
    assert_eq!(
        of(&without, &m, "kube-system/app").not_meshed,
        Some(NotMeshed::NotSelected)
    );
    let app = of(&without, &m, "shop/app");
    assert!(app.meshed);
    assert!(facts(app).contains(
        "the input holds no Linkerd proxy injector webhook; the chart's selectors are assumed, and they select this namespace and pod"
    ));
    let with_cp = mesh(&format!("{CONFIG}{}", input.replace(INJECTOR, "")));
    let m = all(&with_cp);
    assert!(facts(of(&with_cp, &m, "shop/app"))
        .contains("the input holds Linkerd's control plane but not its proxy injector webhook"));
}

/// A template as `linkerd inject --manual` or a cluster dump shows it: proxy and linkerd-init
/// already there, the namespace's annotations no longer applied.
const INJECTED: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: dumped
  namespace: shop
  labels: {app: dumped, linkerd.io/control-plane-ns: linkerd}
  annotations:
    linkerd.io/proxy-version: edge-25.1.2
    linkerd.io/inject: ingress
spec:
  serviceAccountName: dumped
  initContainers:
  - name: linkerd-init
    image: cr.l5d.io/linkerd/proxy-init:v2.4.2
    args: [--incoming-proxy-port, "4143", --proxy-uid, "2102", --inbound-ports-to-ignore, "4190,4191,7000-7100", --outbound-ports-to-ignore=5432]
  containers:
  - name: linkerd-proxy
    image: cr.l5d.io/linkerd/proxy:edge-25.1.2
    ports: [{name: linkerd-proxy, containerPort: 4143}, {name: linkerd-admin, containerPort: 4191}]
  - name: app
    image: example/dumped:1
    ports: [{name: http, containerPort: 8080}, {name: debug, containerPort: 7001}]
---
"#;

#[test]
fn templates_that_carry_the_proxy_are_meshed_as_they_are() {
    let input = [
        namespace(
            "shop",
            "linkerd.io/inject: disabled, config.linkerd.io/skip-inbound-ports: \"8080\", config.linkerd.io/default-inbound-policy: deny",
            "",
        ),
        INJECTED.to_owned(),
        CONFIG.to_owned(),
    ]
    .concat();
    let inv = mesh(&input);
    let m = all(&inv);
    let pod = of(&inv, &m, "shop/dumped");
    assert!(pod.meshed, "{}", facts(pod));
    assert_eq!(pod.injection, Injection::Present);
    assert_eq!(pod.mode, Some(Inject::Ingress));
    assert_eq!(
        pod.because[0].field_text(),
        "spec.containers[0]",
        "{}",
        facts(pod)
    );
    let capture = pod.capture.as_ref().unwrap();
    assert_eq!(capture.redirect, Redirect::ProxyInit);
    // linkerd-init's arguments are what runs, not the namespace's annotation.
    assert_eq!(capture.inbound(7050), InboundPath::Skipped);
    assert_eq!(capture.inbound(8080), InboundPath::Proxied);
    assert_eq!(capture.inbound(4191), InboundPath::ProxyAdmin);
    assert_eq!(capture.skip_inbound.level, Level::Workload);
    assert_eq!(
        capture.skip_inbound.because.as_ref().unwrap().field_text(),
        "spec.initContainers[0].args[5]"
    );
    assert!(!capture.captures_outbound(5432) && capture.captures_outbound(5433));
    assert_eq!(
        capture.skip_outbound.because.as_ref().unwrap().field_text(),
        "spec.initContainers[0].args[6]"
    );
    // The label the injector wrote names the control plane of the identity.
    assert_eq!(
        pod.identity.as_deref(),
        Some("dumped.shop.serviceaccount.identity.linkerd.example.org")
    );
    // The policy controller reads only the Pod's own annotation: the namespace's deny is not
    // there, so the cluster default applies, and the evidence says why.
    let d = resolve_default_policy(&inv, index(&inv, "shop/dumped"));
    assert_eq!(d.default.policy, ClusterAuthenticated);
    assert_eq!(d.level, Level::Cluster);
    assert!(d.default.because[1].fact.contains(
        "already carries its proxy: the policy controller reads only the pod's own annotation"
    ));
}

#[test]
fn skip_lists_replace_or_extend_by_who_sets_iptables_up() {
    let base = [
        INJECTOR.to_owned(),
        namespace(
            "shop",
            "linkerd.io/inject: enabled, config.linkerd.io/skip-outbound-ports: \"3306\"",
            "",
        ),
        deploy(
            "shop",
            "ranges",
            "config.linkerd.io/skip-inbound-ports: \"9090, 9100-9200,metrics\"",
            "",
        ),
        deploy("shop", "plain", "", ""),
        deploy(
            "shop",
            "own-outbound",
            "config.linkerd.io/skip-outbound-ports: \"443\"",
            "",
        ),
        deploy(
            "shop",
            "root",
            "",
            "      securityContext: {runAsUser: 2102}\n",
        ),
    ]
    .concat();
    let inv = mesh(&base);
    let m = all(&inv);
    let ranges = of(&inv, &m, "shop/ranges").capture.as_ref().unwrap();
    for (port, path) in [
        (9090, InboundPath::Skipped),
        (9150, InboundPath::Skipped),
        (9200, InboundPath::Skipped),
        (9201, InboundPath::Proxied),
        (8080, InboundPath::Proxied),
        // The annotation replaces the chart's default 4567,4568 under proxy-init.
        (4567, InboundPath::Proxied),
    ] {
        assert_eq!(ranges.inbound(port), path, "{port}");
    }
    assert_eq!(ranges.skip_inbound.level, Level::Workload);
    assert_eq!(ranges.skip_inbound.ports.invalid[0].entry, "metrics");
    let plain = of(&inv, &m, "shop/plain").capture.as_ref().unwrap();
    assert_eq!(plain.inbound(4567), InboundPath::Skipped);
    assert_eq!(plain.skip_inbound.level, Level::Default);
    // The namespace's outbound list is copied onto pods that have none of their own.
    assert!(!plain.captures_outbound(3306));
    assert_eq!(plain.skip_outbound.level, Level::Namespace);
    assert!(plain.captures_outbound(4567));
    let own = of(&inv, &m, "shop/own-outbound").capture.as_ref().unwrap();
    assert!(own.captures_outbound(3306) && !own.captures_outbound(443));
    let root = of(&inv, &m, "shop/root").capture.as_ref().unwrap();
    assert_eq!(root.proxy_uid_containers, ["app"]);
    assert!(!root.captures_outbound(80));
    assert!(root
        .because
        .iter()
        .any(|b| b.field_text() == "spec.template.spec.securityContext.runAsUser"));

    // Under the CNI plugin the annotation adds to the plugin's (empty) list: the chart's
    // proxy-init default no longer applies.
    let cni = mesh(&format!(
        "{base}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: linkerd-config\n  namespace: linkerd\ndata:\n  values: |\n    cniEnabled: true\n"
    ));
    let m = all(&cni);
    let plain = of(&cni, &m, "shop/plain").capture.as_ref().unwrap();
    assert_eq!(plain.redirect, Redirect::Cni);
    assert_eq!(plain.inbound(4567), InboundPath::Proxied);
    let ranges = of(&cni, &m, "shop/ranges").capture.as_ref().unwrap();
    assert_eq!(ranges.inbound(9100), InboundPath::Skipped);
    assert!(ranges
        .skip_inbound
        .because
        .as_ref()
        .unwrap()
        .fact
        .contains("added to the CNI plugin's list"));
}

#[test]
fn default_policy_at_three_levels_with_the_winning_evidence() {
    let input = [
        CONFIG.to_owned(),
        namespace(
            "relaxed",
            "linkerd.io/inject: enabled, config.linkerd.io/default-inbound-policy: all-unauthenticated",
            "",
        ),
        namespace("plain", "linkerd.io/inject: enabled", ""),
        deploy("relaxed", "inherits", "", ""),
        deploy(
            "relaxed",
            "pinned",
            "config.linkerd.io/default-inbound-policy: audit",
            "",
        ),
        deploy(
            "relaxed",
            "typo",
            "config.linkerd.io/default-inbound-policy: allow-all",
            "",
        ),
        deploy(
            "relaxed",
            "strict-port",
            "config.linkerd.io/proxy-require-identity-inbound-ports: \"8080\"",
            "",
        ),
        deploy("plain", "cluster", "", ""),
    ]
    .concat();
    let inv = mesh(&input);
    let check = |id: &str, policy: DefaultInboundPolicy, level: Level, kind: &str, field: &str| {
        let d = resolve_default_policy(&inv, index(&inv, id));
        assert_eq!(d.default.policy, policy, "{id}");
        assert_eq!(d.level, level, "{id}");
        let b = &d.default.because[0];
        assert_eq!(inv.object(b.object.unwrap()).kind, kind, "{id}: {}", b.fact);
        assert_eq!(b.field_text(), field, "{id}");
    };
    let pod_field = "spec.template.metadata.annotations.config.linkerd.io/default-inbound-policy";
    let ns_field = "metadata.annotations.config.linkerd.io/default-inbound-policy";
    check(
        "relaxed/pinned",
        Audit,
        Level::Workload,
        "Deployment",
        pod_field,
    );
    check(
        "relaxed/inherits",
        AllUnauthenticated,
        Level::Namespace,
        "Namespace",
        ns_field,
    );
    check(
        "plain/cluster",
        ClusterAuthenticated,
        Level::Cluster,
        "ConfigMap",
        "data.values",
    );
    // An invalid pod value is ignored, and hides the namespace's (the injector copies only
    // what the pod lacks): the cluster default applies.
    check(
        "relaxed/typo",
        ClusterAuthenticated,
        Level::Cluster,
        "ConfigMap",
        "data.values",
    );
    let typo = default_policy(&inv, index(&inv, "relaxed/typo"));
    assert!(typo.because[1]
        .fact
        .contains("`allow-all` is not a Linkerd default inbound policy"));
    let inherits = default_policy(&inv, index(&inv, "relaxed/inherits"));
    assert!(inherits.because[0]
        .fact
        .contains("copies onto its pods when it injects them"));

    // require-identity tightens only ports without a Server, and never audit or deny.
    let w = index(&inv, "relaxed/strict-port");
    assert_eq!(
        default_policy_for_port(&inv, w, 8080, false).policy,
        AllAuthenticated
    );
    assert_eq!(
        default_policy_for_port(&inv, w, 9090, false).policy,
        AllUnauthenticated
    );
    assert_eq!(
        default_policy_for_port(&inv, w, 8080, true).policy,
        AllUnauthenticated
    );
    let tightened = default_policy_for_port(&inv, w, 8080, false);
    assert!(tightened.because[0]
        .fact
        .contains("on port 8080, all-unauthenticated becomes all-authenticated"));

    let (policy, level, b) = cluster_default(&inv);
    assert_eq!((policy, level), (ClusterAuthenticated, Level::Cluster));
    assert!(b
        .fact
        .contains("proxy.defaultInboundPolicy: cluster-authenticated"));
    let (networks, _) = cluster_networks(&inv);
    assert_eq!(networks.text, "10.0.0.0/8");

    // Without linkerd-config: Linkerd's default, said to be assumed.
    let bare = mesh(&input.replace(CONFIG, ""));
    let d = resolve_default_policy(&bare, index(&bare, "plain/cluster"));
    assert_eq!(
        (d.default.policy, d.level),
        (AllUnauthenticated, Level::Default)
    );
    assert!(d.default.because[0].object.is_none());
    assert_eq!(cluster_networks(&bare).0.cidrs.len(), 5);
}

#[test]
fn servers_select_ports_by_number_or_name_and_services_add_ports() {
    let input = [
        namespace("shop", "linkerd.io/inject: enabled", ""),
        deploy("shop", "web", "", ""),
        r#"apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-grpc, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  port: grpc
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: admin, namespace: shop}
spec:
  podSelector: {}
  port: linkerd-admin
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: elsewhere, namespace: other}
spec:
  podSelector: {}
  port: 8080
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9464}
"#
        .to_owned(),
    ]
    .concat();
    let inv = mesh(&input);
    let w = index(&inv, "shop/web");
    let policy = LinkerdPolicy::new(&inv);
    assert_eq!(policy.server_for(w, 9090), Some(LinkerdServerId::new(0)));
    assert_eq!(policy.server_for(w, 4191), Some(LinkerdServerId::new(1)));
    assert_eq!(policy.server_for(w, 8080), None);
    let ports = &app_ports_all(&inv)[w.index()];
    let numbers: Vec<u16> = ports.iter().map(|p| p.port).collect();
    assert_eq!(numbers, [8080, 9090, 9464]);
    assert_eq!(ports[0].services, [ServiceId::new(0)]);
    assert_eq!(ports[2].declared, None);
}

/// Every YAML file of an example folder, ingested together.
fn example(folder: &str) -> Inventory {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let sources: Vec<SourceText> = files
        .iter()
        .map(|p| SourceText {
            path: Arc::from(p.to_string_lossy().as_ref()),
            text: std::fs::read_to_string(p).unwrap(),
        })
        .collect();
    ingest(&sources).inventory
}

/// The membership examples/README.md writes down for both Linkerd examples.
#[test]
fn the_examples_membership_is_the_documented_one() {
    let inv = example("linkerd-insecure");
    let m = all(&inv);
    let unmeshed: Vec<String> = inv
        .workloads
        .iter()
        .zip(&m)
        .filter(|(_, m)| !m.meshed)
        .map(|(w, _)| format!("{}/{}", w.namespace, w.name))
        .collect();
    assert_eq!(unmeshed, ["checkout/tax", "warehouse/inventory"]);
    assert_eq!(
        of(&inv, &m, "checkout/tax").not_meshed,
        Some(NotMeshed::PodDisabled)
    );
    let ingress = of(&inv, &m, "ingress-nginx/ingress-nginx-controller");
    assert_eq!(ingress.mode, Some(Inject::Ingress));
    let identity = of(&inv, &m, "linkerd/linkerd-identity");
    assert_eq!(identity.injection, Injection::Present);
    assert!(identity.control_plane);
    // The control plane skips 443/6443 outbound to reach the API server (linkerd-init args).
    assert!(!identity.captures_outbound(6443));
    let orders = of(&inv, &m, "checkout/orders");
    assert!(!orders.captures_inbound(9090) && orders.captures_inbound(8080));
    assert_eq!(
        orders.identity.as_deref(),
        Some("orders.checkout.serviceaccount.identity.linkerd.cluster.local")
    );
    let storefront_web = index(&inv, "storefront/web");
    let d = resolve_default_policy(&inv, storefront_web);
    assert_eq!(
        (d.default.policy, d.level),
        (ClusterUnauthenticated, Level::Namespace)
    );
    assert_eq!(
        resolve_default_policy(&inv, index(&inv, "checkout/events")).level,
        Level::Cluster
    );

    // Grouped by the place that sets the policy: linkerd-config, Namespace storefront, and
    // catalog's pod template (audit), control plane left out.
    let groups = default_policy_groups(
        &inv,
        &m,
        &LinkerdPolicy::new(&inv),
        |w| {
            app_ports_all(&inv)[w.index()]
                .iter()
                .map(|p| p.port)
                .collect()
        },
        |m, p| !m.control_plane && p.admits_unauthenticated(),
    );
    let summary: Vec<(Level, DefaultInboundPolicy, String)> = groups
        .iter()
        .map(|g| (g.level, g.policy, g.listed(&inv, 10)))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Level::Workload,
                Audit,
                "Deployment storefront/catalog (8080)".to_owned()
            ),
            (
                Level::Namespace,
                ClusterUnauthenticated,
                "Deployment storefront/web (8080)".to_owned()
            ),
            (
                Level::Cluster,
                AllUnauthenticated,
                "Deployment billing/payments-api (9990), Deployment checkout/events (4222), Deployment ingress-nginx/ingress-nginx-controller (80, 443, 10254), Deployment linkerd-viz/web (8084, 9994), Deployment linkerd-viz/metrics-api (9995)".to_owned()
            ),
        ]
    );
    let (_, path, location) = groups[2].written_at(&inv).unwrap();
    assert_eq!(path.len(), 2);
    // The value's own line inside data.values.
    assert_eq!(location.line, 74);
    assert_eq!(
        groups[1].setter(&inv),
        "Namespace storefront (config.linkerd.io/default-inbound-policy)"
    );

    let hardened = example("linkerd-hardened");
    let m = all(&hardened);
    assert!(m.iter().zip(&hardened.workloads).all(|(m, w)| m.meshed
        || w.labels
            .get("linkerd.io/control-plane-component")
            .map(String::as_str)
            == Some("heartbeat")));
    assert!(m.iter().all(|m| m
        .capture
        .as_ref()
        .is_none_or(|c| c.skip_inbound.level != Level::Workload || m.control_plane)));
}
