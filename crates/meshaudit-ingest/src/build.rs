//! Objects into the typed [`Inventory`].

use std::collections::{BTreeSet, HashSet};

use meshaudit_model::istio::{MeshConfigSource, Typed};
use meshaudit_model::k8s::{
    ConfigMap, IntOrString, Namespace, NetworkPolicy, PodSpec, Secret, Service, ServiceAccount,
    ServiceSpec, Webhook, WebhookConfiguration, WebhookKind, Workload,
};
use meshaudit_model::{
    from_node, CertificateInfo, InputError, Inventory, Node, Object, ObjectId, Step,
};
use serde::de::DeserializeOwned;

use crate::certs::certificates_in;
use crate::yaml::parse_documents;

mod linkerd;

/// API versions meshaudit reads for each kind it types. Other versions of these kinds are
/// reported, not guessed at.
fn supported_versions(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    Some(match (group, kind) {
        (
            "",
            "Namespace"
            | "Pod"
            | "Service"
            | "ServiceAccount"
            | "ConfigMap"
            | "Secret"
            | "ReplicationController",
        ) => &["v1"],
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            &["v1", "v1beta2", "v1beta1"]
        }
        ("batch", "Job") => &["v1"],
        ("batch", "CronJob") => &["v1", "v1beta1"],
        ("networking.k8s.io", "NetworkPolicy") => &["v1"],
        ("extensions", "NetworkPolicy" | "Deployment" | "DaemonSet" | "ReplicaSet") => &["v1beta1"],
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => &["v1", "v1beta1"],
        (
            "security.istio.io",
            "PeerAuthentication" | "AuthorizationPolicy" | "RequestAuthentication",
        ) => &["v1", "v1beta1"],
        (
            "networking.istio.io",
            "DestinationRule" | "Gateway" | "VirtualService" | "ServiceEntry" | "Sidecar",
        ) => &["v1", "v1beta1", "v1alpha3"],
        ("networking.istio.io", "EnvoyFilter") => &["v1alpha3"],
        ("extensions.istio.io", "WasmPlugin") => &["v1alpha1"],
        ("telemetry.istio.io", "Telemetry") => &["v1", "v1alpha1"],
        ("cert-manager.io", "Certificate" | "Issuer" | "ClusterIssuer") => &["v1"],
        ("policy.linkerd.io", "Server" | "HTTPRoute") => {
            &["v1beta3", "v1beta2", "v1beta1", "v1alpha1"]
        }
        ("policy.linkerd.io", "ServerAuthorization") => &["v1beta1", "v1alpha1"],
        (
            "policy.linkerd.io",
            "AuthorizationPolicy" | "MeshTLSAuthentication" | "NetworkAuthentication",
        ) => &["v1alpha1"],
        // v1alpha2 is still served by the experimental channel; the API server converts
        // between these versions, so Linkerd sees a route whichever one wrote it.
        ("gateway.networking.k8s.io", "HTTPRoute") => &["v1", "v1beta1", "v1alpha2"],
        ("gateway.networking.k8s.io", "GRPCRoute") => &["v1", "v1alpha2"],
        _ => return None,
    })
}

const ISTIO_GROUPS: &[&str] = &[
    "security.istio.io",
    "networking.istio.io",
    "extensions.istio.io",
    "telemetry.istio.io",
];

pub(crate) struct Builder {
    pub inventory: Inventory,
    pub errors: Vec<InputError>,
    secret_certificates: Vec<(ObjectId, Vec<CertificateInfo>)>,
}

impl Builder {
    pub fn new(
        objects: Vec<Object>,
        secret_certificates: Vec<(ObjectId, Vec<CertificateInfo>)>,
    ) -> Self {
        Builder {
            inventory: Inventory::with_objects(objects),
            errors: Vec::new(),
            secret_certificates,
        }
    }

    pub fn build(mut self) -> (Inventory, Vec<InputError>) {
        let owned = controlled_objects(&self.inventory.objects);
        let mut secret_certs: std::collections::HashMap<ObjectId, Vec<CertificateInfo>> =
            std::mem::take(&mut self.secret_certificates)
                .into_iter()
                .collect();
        for index in 0..self.inventory.objects.len() {
            let id = ObjectId::from_index(index);
            // The field, not `object()`: the namespaces are filled while it is borrowed.
            let obj = &self.inventory.objects[index];
            let group = obj.group().to_owned();
            let kind = obj.kind.clone();
            if let Some(ns) = obj.namespace.clone() {
                self.inventory
                    .namespaces
                    .entry(ns.clone())
                    .or_insert_with(|| Namespace {
                        name: ns,
                        labels: Default::default(),
                        object: None,
                        first_member: Some(id),
                        linkerd: Default::default(),
                    });
            }
            match supported_versions(&group, &kind) {
                Some(versions) if !versions.contains(&obj.version()) => {
                    let message = format!(
                        "{kind} {}: apiVersion `{}` is not one meshaudit reads (it reads {}); the object is not audited",
                        obj.qualified_name(),
                        obj.api_version,
                        versions
                            .iter()
                            .map(|v| if group.is_empty() { (*v).to_owned() } else { format!("{group}/{v}") })
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let loc = obj.location_of(&["apiVersion".into()]);
                    self.errors
                        .push(InputError::new(loc.path, loc.line, loc.column, message));
                    continue;
                }
                None => continue,
                Some(_) => {}
            }
            self.add(
                id,
                &group,
                &kind,
                owned.contains(&id),
                secret_certs.remove(&id),
            );
        }
        // The indexes first: resolving Service ports looks workloads up by label.
        self.inventory.build_indexes();
        self.resolve_service_ports();
        (self.inventory, self.errors)
    }

    fn field_error(&mut self, id: ObjectId, field: &str, e: meshaudit_model::FieldError) {
        let obj = self.inventory.object(id);
        let path = if e.path.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", e.path)
        };
        let (line, column) = if e.line == 0 {
            (obj.origin.line, obj.origin.column)
        } else {
            (e.line, e.column)
        };
        self.errors.push(InputError::new(
            obj.origin.path.clone(),
            line,
            column,
            format!(
                "{} {}: {path}: {}; the object is not audited",
                obj.kind,
                obj.qualified_name(),
                e.message
            ),
        ));
    }

    /// Deserializes `field` (absent or null reads as the type's default).
    fn typed<T: DeserializeOwned + Default>(&mut self, id: ObjectId, path: &[&str]) -> Option<T> {
        let steps: Vec<Step<'_>> = path.iter().map(|s| Step::Key(s)).collect();
        // Deserialize while borrowing the tree; only an error needs `&mut self`.
        let result = match self.inventory.object(id).node.at(&steps) {
            None => Ok(T::default()),
            Some(n) if n.is_null() => Ok(T::default()),
            Some(n) => from_node::<T>(n),
        };
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.field_error(id, &path.join("."), e);
                None
            }
        }
    }

    fn add(
        &mut self,
        id: ObjectId,
        group: &str,
        kind: &str,
        controlled: bool,
        certificates: Option<Vec<CertificateInfo>>,
    ) {
        let obj = self.inventory.object(id);
        let namespace = obj.namespace.clone().unwrap_or_default();
        let name = obj.name.clone();
        match (group, kind) {
            ("", "Namespace") => {
                let labels = obj.labels.clone();
                let linkerd = self.linkerd_namespace_settings(id);
                let entry = self
                    .inventory
                    .namespaces
                    .entry(name.clone())
                    .or_insert_with(|| Namespace {
                        name,
                        labels: Default::default(),
                        object: None,
                        first_member: None,
                        linkerd: Default::default(),
                    });
                entry.labels = labels;
                entry.object = Some(id);
                entry.linkerd = linkerd;
            }
            (
                _,
                "Pod"
                | "Deployment"
                | "StatefulSet"
                | "DaemonSet"
                | "ReplicaSet"
                | "Job"
                | "CronJob"
                | "ReplicationController",
            ) if !controlled => {
                // Pods and ReplicaSets whose controller is also in the input are that
                // controller's workload, not a second one (handled by the guard).
                self.add_workload(id, kind);
            }
            ("", "Service") => {
                if let Some(spec) = self.typed::<ServiceSpec>(id, &["spec"]) {
                    self.inventory.services.push(Service {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }
            ("", "ServiceAccount") => self.inventory.service_accounts.push(ServiceAccount {
                object: id,
                namespace,
                name,
            }),
            ("", "ConfigMap") => self.add_config_map(id, namespace, name),
            ("", "Secret") => {
                let secret_type = obj
                    .node
                    .get("type")
                    .and_then(Node::as_str)
                    .unwrap_or("Opaque")
                    .to_owned();
                let mut keys = BTreeSet::new();
                for field in ["data", "stringData"] {
                    if let Some(entries) = obj.node.get(field).and_then(Node::as_map) {
                        keys.extend(entries.iter().map(|e| e.key.to_string()));
                    }
                }
                self.inventory.secrets.push(Secret {
                    object: id,
                    namespace,
                    name,
                    secret_type,
                    keys: keys.into_iter().collect(),
                    certificates: certificates.unwrap_or_default(),
                    private_key_public_sha256: Default::default(),
                });
            }
            (_, "NetworkPolicy") => {
                let spec: Option<meshaudit_model::k8s::NetworkPolicySpec> =
                    self.typed(id, &["spec"]);
                if let Some(spec) = spec {
                    // What the API server would reject never exists in a cluster: report it
                    // and leave the policy out, as the cluster would.
                    let problems = network_policy_problems(&spec);
                    if !problems.is_empty() {
                        let obj = self.inventory.object(id);
                        for (steps, message) in problems {
                            let loc = obj.location_of(&steps);
                            self.errors.push(InputError::new(
                                loc.path,
                                loc.line,
                                loc.column,
                                format!(
                                    "NetworkPolicy {}: {}: {message}; the API server rejects this policy, so it is not audited",
                                    obj.qualified_name(),
                                    meshaudit_model::node::render_path(&steps)
                                ),
                            ));
                        }
                        return;
                    }
                    self.inventory.network_policies.push(NetworkPolicy {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }
            (_, "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration") => {
                let webhook_kind = if kind.starts_with("Mutating") {
                    WebhookKind::Mutating
                } else {
                    WebhookKind::Validating
                };
                if let Some(mut webhooks) = self.typed::<Vec<Webhook>>(id, &["webhooks"]) {
                    for w in &mut webhooks {
                        if let Some(bundle) = &w.client_config.ca_bundle {
                            if let Some(bytes) = crate::objects::decode_base64(bundle) {
                                w.client_config.ca_bundle_certificates =
                                    certificates_in("caBundle", &bytes);
                            }
                        }
                    }
                    self.inventory
                        .webhook_configurations
                        .push(WebhookConfiguration {
                            object: id,
                            name,
                            kind: webhook_kind,
                            webhooks,
                        });
                }
            }
            (g, k) if ISTIO_GROUPS.contains(&g) => self.add_istio(id, k, namespace, name),
            (meshaudit_model::linkerd::POLICY_GROUP, k) => self.add_linkerd(id, k, namespace, name),
            (meshaudit_model::linkerd::GATEWAY_API_GROUP, k) => {
                self.add_gateway_route(id, k, namespace, name)
            }
            ("cert-manager.io", k) => self.add_cert_manager(id, k, namespace, name),
            _ => {}
        }
    }

    fn add_istio(&mut self, id: ObjectId, kind: &str, namespace: String, name: String) {
        macro_rules! push {
            ($field:ident) => {{
                if let Some(spec) = self.typed(id, &["spec"]) {
                    self.inventory.istio.$field.push(Typed {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }};
        }
        match kind {
            "PeerAuthentication" => push!(peer_authentications),
            "AuthorizationPolicy" => push!(authorization_policies),
            "RequestAuthentication" => push!(request_authentications),
            "DestinationRule" => push!(destination_rules),
            "Gateway" => push!(gateways),
            "VirtualService" => push!(virtual_services),
            "ServiceEntry" => push!(service_entries),
            "Sidecar" => push!(sidecars),
            "EnvoyFilter" => push!(envoy_filters),
            "WasmPlugin" => push!(wasm_plugins),
            "Telemetry" => push!(telemetries),
            _ => {}
        }
    }

    fn add_cert_manager(&mut self, id: ObjectId, kind: &str, namespace: String, name: String) {
        macro_rules! push {
            ($field:ident) => {{
                if let Some(spec) = self.typed(id, &["spec"]) {
                    self.inventory.cert_manager.$field.push(Typed {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }};
        }
        match kind {
            "Certificate" => push!(certificates),
            "Issuer" => push!(issuers),
            "ClusterIssuer" => push!(cluster_issuers),
            _ => {}
        }
    }

    fn add_workload(&mut self, id: ObjectId, kind: &str) {
        let template_path: &'static [&'static str] = match kind {
            "Pod" => &[],
            "CronJob" => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        };
        let obj = self.inventory.object(id);
        let (labels, annotations) = if kind == "Pod" {
            (obj.labels.clone(), obj.annotations.clone())
        } else {
            let steps: Vec<Step<'_>> = template_path
                .iter()
                .map(|s| Step::Key(s))
                .chain(["metadata".into()])
                .collect();
            let meta = obj.node.at(&steps);
            (
                string_map(meta.and_then(|m| m.get("labels"))),
                string_map(meta.and_then(|m| m.get("annotations"))),
            )
        };
        let spec_path: Vec<&str> = template_path.iter().copied().chain(["spec"]).collect();
        let Some(pod) = self.typed::<PodSpec>(id, &spec_path) else {
            return;
        };
        let linkerd = self.linkerd_pod_settings(id, template_path, &annotations, &labels, &pod);
        let obj = self.inventory.object(id);
        let explicit_sa = pod
            .service_account_name
            .clone()
            .or_else(|| pod.service_account.clone())
            .filter(|s| !s.is_empty());
        let pod_uid = pod.security_context.as_ref().and_then(|s| s.run_as_user);
        let with_uid = |mut c: meshaudit_model::k8s::Container| {
            c.run_as_user = c.security_context.as_ref().and_then(|s| s.run_as_user);
            c
        };
        self.inventory.workloads.push(Workload {
            object: id,
            kind: kind.to_owned(),
            namespace: obj.namespace.clone().unwrap_or_default(),
            name: obj.name.clone(),
            labels,
            annotations,
            service_account: explicit_sa.clone().unwrap_or_else(|| "default".to_owned()),
            service_account_explicit: explicit_sa.is_some(),
            host_network: pod.host_network.unwrap_or(false),
            containers: pod.containers.into_iter().map(with_uid).collect(),
            init_containers: pod.init_containers.into_iter().map(with_uid).collect(),
            run_as_user: pod_uid,
            template_path,
            linkerd,
        });
    }

    fn add_config_map(&mut self, id: ObjectId, namespace: String, name: String) {
        let obj = self.inventory.object(id);
        let data = string_map(obj.node.get("data"));
        let is_mesh_config =
            name == "istio" || (name.starts_with("istio-") && data.contains_key("mesh"));
        if is_mesh_config {
            if let Some(mesh) = data.get("mesh") {
                let entry = obj.node.get("data").and_then(|d| d.entry("mesh"));
                // A block scalar's text starts on the line after its key.
                let first_line = entry.map_or(obj.origin.line, |e| {
                    if e.value.line > e.key_line || mesh.contains('\n') {
                        e.key_line + 1
                    } else {
                        e.key_line
                    }
                });
                self.add_mesh_config(id, mesh, first_line, name == "istio");
            }
        }
        if name == meshaudit_model::linkerd::CONFIG_MAP_NAME {
            self.add_linkerd_config(id, &namespace);
        }
        let certificates = data
            .iter()
            .filter(|(_, v)| v.contains("-----BEGIN CERTIFICATE-----"))
            .flat_map(|(k, v)| crate::certs::certificates_in(k, v.as_bytes()))
            .collect();
        self.inventory.config_maps.push(ConfigMap {
            object: id,
            namespace,
            name,
            data,
            certificates,
        });
    }

    fn add_mesh_config(&mut self, id: ObjectId, text: &str, first_line: u32, canonical: bool) {
        let path = self.inventory.object(id).origin.path.clone();
        let (docs, errors) = parse_documents(text, first_line);
        for e in errors {
            self.errors.push(InputError::new(
                path.clone(),
                e.line,
                e.column,
                format!(
                    "mesh config in ConfigMap {}: {}",
                    self.inventory.object(id).qualified_name(),
                    e.message
                ),
            ));
        }
        let Some(root) = docs.into_iter().find_map(|d| d.root) else {
            return;
        };
        match from_node(&root) {
            Ok(config) => {
                // The `istio` ConfigMap wins over revisioned ones.
                let replace = canonical || self.inventory.istio.mesh_config.is_none();
                if replace {
                    self.inventory.istio.mesh_config = Some(MeshConfigSource {
                        object: id,
                        first_line,
                        config,
                    });
                }
            }
            Err(e) => self.errors.push(InputError::new(
                path,
                e.line,
                e.column,
                format!(
                    "mesh config in ConfigMap {}: {e}",
                    self.inventory.object(id).qualified_name()
                ),
            )),
        }
    }

    /// Resolves each Service port's `targetPort` (a number, a container port name, or absent)
    /// to the container ports of the workloads the Service selects.
    fn resolve_service_ports(&mut self) {
        let inv = &mut self.inventory;
        let mut resolved: Vec<Vec<Vec<u16>>> = Vec::with_capacity(inv.services.len());
        for svc in &inv.services {
            let selected: Vec<&Workload> = match &svc.spec.selector {
                Some(sel) if !sel.is_empty() => inv
                    .workloads_matching_in(&svc.namespace, sel)
                    .into_iter()
                    .map(|i| &inv.workloads[i])
                    .collect(),
                _ => Vec::new(),
            };
            resolved.push(
                svc.spec
                    .ports
                    .iter()
                    .map(|p| {
                        let mut ports: BTreeSet<u16> = BTreeSet::new();
                        match &p.target_port {
                            None => {
                                ports.insert(p.port);
                            }
                            Some(t) => {
                                if let Some(n) = t.as_port() {
                                    ports.insert(n);
                                } else if let IntOrString::String(port_name) = t {
                                    for w in &selected {
                                        for c in &w.containers {
                                            for cp in &c.ports {
                                                if cp.name.as_deref() == Some(port_name) {
                                                    ports.insert(cp.container_port);
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        ports.into_iter().collect()
                    })
                    .collect(),
            );
        }
        for (svc, ports) in inv.services.iter_mut().zip(resolved) {
            for (p, r) in svc.spec.ports.iter_mut().zip(ports) {
                p.resolved_target_ports = r;
            }
        }
    }
}

fn string_map(node: Option<&Node>) -> std::collections::BTreeMap<String, String> {
    node.and_then(Node::as_map)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| Some((e.key.to_string(), e.value.scalar_text()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Objects whose controller (by `ownerReferences`) is itself in the input.
fn controlled_objects(objects: &[Object]) -> HashSet<ObjectId> {
    let present: HashSet<(&str, &str, &str)> = objects
        .iter()
        .map(|o| {
            (
                o.namespace.as_deref().unwrap_or(""),
                o.kind.as_str(),
                o.name.as_str(),
            )
        })
        .collect();
    let mut out = HashSet::new();
    for (id, o) in objects.iter().enumerate() {
        let Some(owners) = o
            .node
            .at(&["metadata".into(), "ownerReferences".into()])
            .and_then(Node::as_seq)
        else {
            continue;
        };
        let controlled = owners.iter().any(|r| {
            let is_controller = matches!(
                r.get("controller").map(|c| &c.value),
                Some(meshaudit_model::Value::Bool(true))
            );
            let kind = r.get("kind").and_then(Node::as_str).unwrap_or("");
            let name = r.get("name").and_then(Node::as_str).unwrap_or("");
            is_controller && present.contains(&(o.namespace.as_deref().unwrap_or(""), kind, name))
        });
        if controlled {
            out.insert(ObjectId::from_index(id));
        }
    }
    out
}

/// What `networking.k8s.io/v1` validation rejects in a NetworkPolicy spec: peers with no
/// field or with `ipBlock` next to a selector, CIDRs that do not parse, exceptions outside
/// their CIDR, `endPort` without a numeric `port` or below it, unknown protocols and policy
/// types.
fn network_policy_problems(
    spec: &meshaudit_model::k8s::NetworkPolicySpec,
) -> Vec<(Vec<Step<'static>>, String)> {
    use meshaudit_model::cidr::Cidr;

    let mut out = Vec::new();
    for (i, t) in spec.policy_types.iter().flatten().enumerate() {
        if t != "Ingress" && t != "Egress" {
            out.push((
                vec![Step::Key("spec"), Step::Key("policyTypes"), Step::Index(i)],
                format!("`{t}` is not a policy type (Ingress or Egress)"),
            ));
        }
    }
    let directions = [
        ("ingress", "from", spec.ingress.as_deref()),
        ("egress", "to", spec.egress.as_deref()),
    ];
    for (direction, peers_key, rules) in directions {
        for (r, rule) in rules.into_iter().flatten().enumerate() {
            let rule_path = [Step::Key("spec"), Step::Key(direction), Step::Index(r)];
            for (k, peer) in rule.from.iter().flatten().enumerate() {
                let mut path = rule_path.to_vec();
                path.extend([Step::Key(peers_key), Step::Index(k)]);
                let selectors = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
                match &peer.ip_block {
                    None if !selectors => out.push((
                        path.clone(),
                        "a peer must set podSelector, namespaceSelector or ipBlock".to_owned(),
                    )),
                    Some(_) if selectors => out.push((
                        path.clone(),
                        "ipBlock cannot be combined with podSelector or namespaceSelector"
                            .to_owned(),
                    )),
                    Some(block) => {
                        let mut block_path = path.clone();
                        block_path.extend([Step::Key("ipBlock"), Step::Key("cidr")]);
                        match Cidr::parse(&block.cidr) {
                            None => {
                                out.push((block_path, format!("`{}` is not a CIDR", block.cidr)))
                            }
                            Some(cidr) => {
                                for (e, except) in block.except.iter().enumerate() {
                                    let mut except_path = path.clone();
                                    except_path.extend([
                                        Step::Key("ipBlock"),
                                        Step::Key("except"),
                                        Step::Index(e),
                                    ]);
                                    match Cidr::parse(except) {
                                        None => out.push((
                                            except_path,
                                            format!("`{except}` is not a CIDR"),
                                        )),
                                        Some(x) if !cidr.strictly_contains(&x) => out.push((
                                            except_path,
                                            format!(
                                                "`{except}` must be a strict subset of `{}`",
                                                block.cidr
                                            ),
                                        )),
                                        Some(_) => {}
                                    }
                                }
                            }
                        }
                    }
                    None => {}
                }
            }
            for (k, port) in rule.ports.iter().flatten().enumerate() {
                let mut path = rule_path.to_vec();
                path.extend([Step::Key("ports"), Step::Index(k)]);
                if let Some(protocol) = &port.protocol {
                    if !matches!(protocol.as_str(), "TCP" | "UDP" | "SCTP") {
                        let mut p = path.clone();
                        p.push(Step::Key("protocol"));
                        out.push((p, format!("`{protocol}` is not TCP, UDP or SCTP")));
                    }
                }
                if let Some(end) = port.end_port {
                    let mut p = path.clone();
                    p.push(Step::Key("endPort"));
                    match port.port.as_ref().map(|v| (v, v.as_port())) {
                        Some((IntOrString::Int(_), Some(start))) if end >= start => {}
                        Some((IntOrString::Int(_), Some(start))) => {
                            out.push((p, format!("endPort {end} is below port {start}")))
                        }
                        _ => out.push((p, "endPort needs a numeric port".to_owned())),
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod cert_manager_tests {
    use std::sync::Arc;

    use meshaudit_model::certmanager::IssuerType;

    use crate::{ingest, SourceText};

    const TEXT: &str = "apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: shop}
spec:
  secretName: web-tls
  duration: 2160h
  renewBefore: 1h30m
  privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}
  issuerRef: {name: shop-ca, kind: ClusterIssuer, group: cert-manager.io}
  isCA: false
  dnsNames: [web.example.com]
  commonName: web.example.com
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: shop-ca}
spec:
  ca: {secretName: shop-ca-key-pair}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: bootstrap, namespace: shop}
spec:
  selfSigned: {}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: bad, namespace: shop}
spec:
  secretName: bad-tls
  duration: 90d
";

    #[test]
    fn types_cert_manager_resources_and_locates_bad_durations() {
        let ingested = ingest(&[SourceText {
            path: Arc::from("cm.yaml"),
            text: TEXT.to_owned(),
        }]);
        let cm = &ingested.inventory.cert_manager;
        assert_eq!(cm.certificates.len(), 1);
        let web = &cm.certificates[0];
        assert_eq!(web.spec.secret_name, "web-tls");
        assert_eq!(web.spec.duration.unwrap().secs(), 2160 * 3600);
        assert_eq!(web.spec.renew_before.unwrap().secs(), 5400);
        let key = web.spec.private_key.as_ref().unwrap();
        assert_eq!(key.algorithm.as_deref(), Some("ECDSA"));
        assert_eq!(key.size, Some(256));
        assert_eq!(web.spec.dns_names, ["web.example.com"]);
        assert_eq!(
            cm.issuer_of(web).map(|i| i.spec.issuer_type()),
            Some(IssuerType::Ca {
                secret_name: "shop-ca-key-pair".into()
            })
        );
        assert_eq!(cm.issuers[0].spec.issuer_type(), IssuerType::SelfSigned);
        assert_eq!(ingested.errors.len(), 1, "{:?}", ingested.errors);
        let e = &ingested.errors[0];
        assert_eq!((e.line, e.column), (31, 13));
        assert!(e.message.contains("spec.duration") && e.message.contains("90d"));
    }
}
