//! Linkerd's resources, the Gateway API routes it reads, its pod and namespace annotations and
//! the `linkerd-config` ConfigMap, into [`meshaudit_model::linkerd`].
//!
//! What the API server would reject (a missing `spec`, a field of the wrong type, a Server
//! without a selector) is an input error and the object is left out; a field the object's
//! version does not have is reported and dropped, as the API server drops it. Values Linkerd
//! reads leniently (annotations, Helm values) are kept as written and their problems reported,
//! the workload or ConfigMap still audited.

use std::fmt::Display;
use std::sync::Arc;

use meshaudit_model::k8s::PodSpec;
use meshaudit_model::linkerd::{
    annotation_location, AuthorizationPolicySpec, CidrList, ConfigValue, DefaultInboundPolicy,
    GrpcRouteSpec, HttpRouteSpec, LinkerdAnnotations, LinkerdConfig, LinkerdNamespaceSettings,
    LinkerdPodSettings, MeshTlsAuthenticationSpec, NetworkAuthenticationSpec, PortSet,
    RouteApiGroup, ServerAuthorizationSpec, ServerSpec, UnknownPolicy, DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_CLUSTER_NETWORKS, DEFAULT_IGNORED_PORTS, DEFAULT_OPAQUE_PORTS, DEFAULT_PROBE_NETWORKS,
};
use meshaudit_model::node::render_path;
use meshaudit_model::selector::Labels;
use meshaudit_model::{from_node, Entry, InputError, Location, Node, ObjectId, Step, Typed, Value};
use serde::de::DeserializeOwned;

use super::Builder;
use crate::yaml::parse_documents;

impl Builder {
    /// An input error at `path` of object `id` (at its name when the path is not written).
    fn object_error(&mut self, id: ObjectId, path: &[Step<'_>], message: impl Display) {
        let obj = self.inventory.object(id);
        let loc = obj.location_of(path);
        let at = if path.is_empty() {
            String::new()
        } else {
            format!("{}: ", render_path(path))
        };
        self.errors.push(InputError::new(
            loc.path,
            loc.line,
            loc.column,
            format!("{} {}: {at}{message}", obj.kind, obj.qualified_name()),
        ));
    }

    /// Deserializes `spec`, which every kind read here requires.
    fn required_spec<T: DeserializeOwned>(&mut self, id: ObjectId) -> Option<T> {
        let result = match self.inventory.object(id).node.get("spec") {
            Some(n) if !n.is_null() => from_node::<T>(n),
            _ => {
                self.object_error(
                    id,
                    &[],
                    "spec is missing; the CRD requires it, so the API server rejects the object; it is not audited",
                );
                return None;
            }
        };
        match result {
            Ok(spec) => Some(spec),
            Err(e) => {
                self.field_error(id, "spec", e);
                None
            }
        }
    }

    pub(super) fn add_linkerd(
        &mut self,
        id: ObjectId,
        kind: &str,
        namespace: String,
        name: String,
    ) {
        macro_rules! push {
            ($field:ident, $spec:expr) => {{
                if let Some(spec) = $spec {
                    self.inventory.linkerd.$field.push(Typed {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }};
        }
        match kind {
            "Server" => push!(servers, self.server_spec(id)),
            "ServerAuthorization" => {
                push!(server_authorizations, self.server_authorization_spec(id))
            }
            "AuthorizationPolicy" => {
                push!(authorization_policies, self.authorization_policy_spec(id))
            }
            "MeshTLSAuthentication" => push!(
                mesh_tls_authentications,
                self.required_spec::<MeshTlsAuthenticationSpec>(id)
            ),
            "NetworkAuthentication" => push!(
                network_authentications,
                self.required_spec::<NetworkAuthenticationSpec>(id)
            ),
            "HTTPRoute" => push!(
                http_routes,
                self.http_route_spec(id, RouteApiGroup::Linkerd)
            ),
            _ => {}
        }
    }

    /// `HTTPRoute` and `GRPCRoute` of `gateway.networking.k8s.io`.
    pub(super) fn add_gateway_route(
        &mut self,
        id: ObjectId,
        kind: &str,
        namespace: String,
        name: String,
    ) {
        match kind {
            "HTTPRoute" => {
                if let Some(spec) = self.http_route_spec(id, RouteApiGroup::GatewayApi) {
                    self.inventory.linkerd.http_routes.push(Typed {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }
            "GRPCRoute" => {
                if let Some(spec) = self.required_spec::<GrpcRouteSpec>(id) {
                    self.inventory.linkerd.grpc_routes.push(Typed {
                        object: id,
                        namespace,
                        name,
                        spec,
                    });
                }
            }
            _ => {}
        }
    }

    fn http_route_spec(&mut self, id: ObjectId, group: RouteApiGroup) -> Option<HttpRouteSpec> {
        let mut spec: HttpRouteSpec = self.required_spec(id)?;
        spec.api_group = group;
        Some(spec)
    }

    fn server_spec(&mut self, id: ObjectId) -> Option<ServerSpec> {
        let mut spec: ServerSpec = self.required_spec(id)?;
        let version = self.inventory.object(id).version().to_owned();
        // The API server prunes fields the request's version does not define (or refuses the
        // object under strict field validation): either way they do not take effect.
        if spec.access_policy.is_some() && version != "v1beta3" {
            self.object_error(
                id,
                &["spec".into(), "accessPolicy".into()],
                format!("accessPolicy exists only in policy.linkerd.io/v1beta3 (Linkerd 2.16 on); the API server drops it from a {version} Server (or rejects the Server under strict field validation), so it is ignored"),
            );
            spec.access_policy = None;
        }
        if spec.external_workload_selector.is_some()
            && matches!(version.as_str(), "v1alpha1" | "v1beta1")
        {
            self.object_error(
                id,
                &["spec".into(), "externalWorkloadSelector".into()],
                format!("externalWorkloadSelector exists only from policy.linkerd.io/v1beta2 (Linkerd 2.15 on); the API server drops it from a {version} Server (or rejects the Server under strict field validation), so it is ignored"),
            );
            spec.external_workload_selector = None;
        }
        match (
            spec.pod_selector.is_some(),
            spec.external_workload_selector.is_some(),
        ) {
            (true, false) | (false, true) => {}
            (true, true) => {
                self.object_error(
                    id,
                    &["spec".into(), "externalWorkloadSelector".into()],
                    "a Server sets exactly one of podSelector and externalWorkloadSelector; the API server rejects this one; it is not audited",
                );
                return None;
            }
            (false, false) => {
                self.object_error(
                    id,
                    &["spec".into()],
                    "podSelector is missing (or, from v1beta2, externalWorkloadSelector); the API server rejects this Server; it is not audited",
                );
                return None;
            }
        }
        let obj = self.inventory.object(id);
        spec.labels = obj.labels.clone();
        spec.created = obj
            .node
            .at(&["metadata".into(), "creationTimestamp".into()])
            .and_then(Node::scalar_text);
        Some(spec)
    }

    fn server_authorization_spec(&mut self, id: ObjectId) -> Option<ServerAuthorizationSpec> {
        let spec: ServerAuthorizationSpec = self.required_spec(id)?;
        // Linkerd reads these networks as prefixes only; a bare address fails its parser and
        // the controller skips the whole resource.
        let mut bare: Vec<(Vec<Step<'static>>, String)> = Vec::new();
        for (i, network) in spec.client.networks.iter().flatten().enumerate() {
            let base = [
                Step::Key("spec"),
                Step::Key("client"),
                Step::Key("networks"),
                Step::Index(i),
            ];
            if network.cidr.is_bare_address() {
                let mut path = base.to_vec();
                path.push(Step::Key("cidr"));
                bare.push((path, network.cidr.text.clone()));
            }
            for (j, except) in network.except.iter().flatten().enumerate() {
                if except.is_bare_address() {
                    let mut path = base.to_vec();
                    path.extend([Step::Key("except"), Step::Index(j)]);
                    bare.push((path, except.text.clone()));
                }
            }
        }
        if bare.is_empty() {
            return Some(spec);
        }
        for (path, text) in bare {
            self.object_error(
                id,
                &path,
                format!("`{text}` has no prefix length; ServerAuthorization networks are CIDRs (`{text}/32`), so Linkerd cannot read this ServerAuthorization and ignores it; it is not audited"),
            );
        }
        None
    }

    fn authorization_policy_spec(&mut self, id: ObjectId) -> Option<AuthorizationPolicySpec> {
        let spec: AuthorizationPolicySpec = self.required_spec(id)?;
        if spec.required_authentication_refs.is_none() {
            // Kept in the model (as `None`) so the evaluator can tell it apart from `[]`.
            self.object_error(
                id,
                &["spec".into()],
                "requiredAuthenticationRefs is missing; the CRD requires it (`[]` requires nothing), so the API server rejects this AuthorizationPolicy",
            );
        }
        Some(spec)
    }

    /// The pod template's Linkerd settings, with its annotation problems reported.
    pub(super) fn linkerd_pod_settings(
        &mut self,
        id: ObjectId,
        template_path: &'static [&'static str],
        annotations: &std::collections::BTreeMap<String, String>,
        labels: &Labels,
        pod: &PodSpec,
    ) -> Option<Box<LinkerdPodSettings>> {
        let settings = LinkerdPodSettings::from_pod(
            annotations,
            labels,
            &pod.containers,
            &pod.init_containers,
        )?;
        self.annotation_problems(id, template_path, &settings.annotations);
        Some(Box::new(settings))
    }

    /// The Namespace object's Linkerd settings, with its annotation problems reported.
    pub(super) fn linkerd_namespace_settings(&mut self, id: ObjectId) -> LinkerdNamespaceSettings {
        let settings =
            LinkerdNamespaceSettings::from_annotations(&self.inventory.object(id).annotations);
        self.annotation_problems(id, &[], &settings.annotations);
        settings
    }

    fn annotation_problems(
        &mut self,
        id: ObjectId,
        template_path: &[&str],
        annotations: &LinkerdAnnotations,
    ) {
        for problem in annotations.problems() {
            let obj = self.inventory.object(id);
            let loc = annotation_location(obj, template_path, problem.annotation);
            self.errors.push(InputError::new(
                loc.path,
                loc.line,
                loc.column,
                format!(
                    "{} {}: annotation {}: {}",
                    obj.kind,
                    obj.qualified_name(),
                    problem.annotation,
                    problem.message
                ),
            ));
        }
    }

    /// Reads `data.values` of a `linkerd-config` ConfigMap.
    pub(super) fn add_linkerd_config(&mut self, id: ObjectId, namespace: &str) {
        let obj = self.inventory.object(id);
        let Some(entry) = obj.node.get("data").and_then(|d| d.entry("values")) else {
            return;
        };
        let path = obj.origin.path.clone();
        let values_location = Location::new(path.clone(), entry.key_line, entry.key_column);
        let Some(text) = entry.value.as_str() else {
            let found = entry.value.type_name();
            self.object_error(
                id,
                &["data".into(), "values".into()],
                format!("expected a string (the Helm values as YAML), found {found}; the Linkerd configuration is not read"),
            );
            return;
        };
        if let Some(first) = &self.inventory.linkerd.config {
            let first = self.inventory.object(first.object).qualified_name();
            self.object_error(
                id,
                &["data".into(), "values".into()],
                format!("a second linkerd-config: one cluster runs one Linkerd control plane, so only the first ({first}) is read"),
            );
            return;
        }
        let exact = written_as_block(entry, text);
        // A block scalar's node starts at its first content line and column, which is where
        // the embedded document's line 1, column 1 sits.
        let (first_line, column_offset) = if exact {
            (entry.value.line, entry.value.column.saturating_sub(1))
        } else {
            (1, 0)
        };
        let (docs, yaml_errors) = parse_documents(text, first_line);
        let qualified = obj.qualified_name();
        for e in yaml_errors {
            let (line, column, message) = if exact {
                (e.line, e.column + column_offset, e.message)
            } else {
                (
                    values_location.line,
                    values_location.column,
                    format!("{} (line {} of the values document)", e.message, e.line),
                )
            };
            self.errors.push(InputError::new(
                path.clone(),
                line,
                column,
                format!("ConfigMap {qualified}: values: {message}; the Linkerd configuration is not read"),
            ));
        }
        let Some(root) = docs.into_iter().find_map(|d| d.root) else {
            return;
        };
        let reader = ValuesReader {
            root: &root,
            exact,
            column_offset,
            path: path.clone(),
            fallback: values_location.clone(),
        };
        let mut problems: Vec<(Location, String)> = Vec::new();
        let config = read_config(&reader, &mut problems, id, namespace, values_location);
        for (loc, message) in problems {
            self.errors.push(InputError::new(
                loc.path,
                loc.line,
                loc.column,
                format!("ConfigMap {qualified}: values: {message}"),
            ));
        }
        self.inventory.linkerd.config = Some(config);
    }
}

/// Whether a string value was written as a block scalar, whose lines are the file's own: its
/// text starts on a line after its key. A quoted string with `\n` escapes (JSON) starts on the
/// key's line. (A quoted string moved to the next line would pass for a block; nobody writes
/// Helm values that way.)
fn written_as_block(entry: &Entry, text: &str) -> bool {
    entry.value.line > entry.key_line && text.contains('\n')
}

/// Reads values out of the embedded document, locating each.
struct ValuesReader<'a> {
    root: &'a Node,
    exact: bool,
    column_offset: u32,
    path: Arc<str>,
    fallback: Location,
}

impl ValuesReader<'_> {
    fn steps<'k>(keys: &[&'k str]) -> Vec<Step<'k>> {
        keys.iter().map(|k| Step::Key(k)).collect()
    }

    /// The node at `keys`, absent when missing or null.
    fn node(&self, keys: &[&str]) -> Option<&Node> {
        self.root.at(&Self::steps(keys)).filter(|n| !n.is_null())
    }

    /// A value as text: `None` when absent; a node that is not a scalar is reported and
    /// counts as absent.
    fn text(&self, keys: &[&str], problems: &mut Vec<(Location, String)>) -> Option<String> {
        let node = self.node(keys)?;
        match scalar(node, keys) {
            Ok(t) => Some(t),
            Err(message) => {
                problems.push((
                    self.locate(keys),
                    format!("{message}; Linkerd's default is assumed"),
                ));
                None
            }
        }
    }

    fn written<T>(&self, keys: &[&str], value: T) -> ConfigValue<T> {
        ConfigValue {
            value,
            written: true,
            location: self.locate(keys),
        }
    }

    fn defaulted<T>(&self, value: T) -> ConfigValue<T> {
        ConfigValue {
            value,
            written: false,
            location: self.fallback.clone(),
        }
    }

    fn locate(&self, keys: &[&str]) -> Location {
        if !self.exact {
            return self.fallback.clone();
        }
        match self.root.position_of(&Self::steps(keys)) {
            Some((line, column)) => {
                Location::new(self.path.clone(), line, column + self.column_offset)
            }
            None => self.fallback.clone(),
        }
    }
}

/// A scalar read as text, or the problem with a node that is not one.
fn scalar(node: &Node, keys: &[&str]) -> Result<String, String> {
    node.scalar_text().ok_or_else(|| {
        format!(
            "{}: expected a string, found {}",
            keys.join("."),
            node.type_name()
        )
    })
}

fn read_config(
    r: &ValuesReader<'_>,
    problems: &mut Vec<(Location, String)>,
    object: ObjectId,
    namespace: &str,
    values_location: Location,
) -> LinkerdConfig {
    let cluster_domain = match r
        .text(&["clusterDomain"], problems)
        .filter(|t| !t.is_empty())
    {
        Some(t) => r.written(&["clusterDomain"], t),
        None => r.defaulted(DEFAULT_CLUSTER_DOMAIN.to_owned()),
    };
    let identity_trust_domain = match r
        .text(&["identityTrustDomain"], problems)
        .filter(|t| !t.is_empty())
    {
        Some(t) => r.written(&["identityTrustDomain"], t),
        None => ConfigValue {
            value: cluster_domain.value.clone(),
            written: false,
            location: if r.node(&["identityTrustDomain"]).is_some() {
                r.locate(&["identityTrustDomain"])
            } else {
                cluster_domain.location.clone()
            },
        },
    };

    let policy_keys = ["proxy", "defaultInboundPolicy"];
    let default_inbound_policy = match r.text(&policy_keys, problems) {
        Some(t) => {
            let parsed = DefaultInboundPolicy::parse(&t);
            if let Err(e) = &parsed {
                problems.push((
                    r.locate(&policy_keys),
                    format!("proxy.defaultInboundPolicy: {e}; Linkerd's policy controller does not start with it"),
                ));
            }
            r.written(&policy_keys, parsed)
        }
        None => r.defaulted(Ok::<_, UnknownPolicy>(
            DefaultInboundPolicy::AllUnauthenticated,
        )),
    };

    let cidrs = |keys: &[&str], default_text: &str, problems: &mut Vec<(Location, String)>| {
        let list = match r.node(keys) {
            None => return r.defaulted(CidrList::parse(default_text)),
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => CidrList::from_list(items.iter().filter_map(Node::as_str)),
            Some(node) => match scalar(node, keys) {
                Ok(t) => CidrList::parse(&t),
                Err(message) => {
                    problems.push((
                        r.locate(keys),
                        format!("{message}; Linkerd's default is assumed"),
                    ));
                    return r.defaulted(CidrList::parse(default_text));
                }
            },
        };
        if !list.invalid.is_empty() {
            problems.push((
                r.locate(keys),
                format!(
                    "{}: {} not a CIDR; Linkerd cannot use this list",
                    keys.join("."),
                    list.invalid_entries()
                ),
            ));
        }
        r.written(keys, list)
    };
    let cluster_networks = cidrs(&["clusterNetworks"], DEFAULT_CLUSTER_NETWORKS, problems);
    let probe_networks = cidrs(
        &["policyController", "probeNetworks"],
        DEFAULT_PROBE_NETWORKS,
        problems,
    );

    let ports = |keys: &[&str],
                 default_text: &str,
                 names_allowed: bool,
                 problems: &mut Vec<(Location, String)>| {
        let Some(t) = r.text(keys, problems) else {
            return r.defaulted(PortSet::parse(default_text));
        };
        let set = PortSet::parse(&t);
        let bad: Vec<String> = set
            .invalid
            .iter()
            .filter(|e| !(names_allowed && e.is_name()))
            .map(|e| format!("`{}` ({})", e.entry, e.reason))
            .collect();
        if !bad.is_empty() {
            problems.push((
                r.locate(keys),
                format!(
                    "{}: {} not a port or a low-high range",
                    keys.join("."),
                    bad.join(", ") + if bad.len() == 1 { " is" } else { " are" }
                ),
            ));
        }
        r.written(keys, set)
    };
    let opaque_ports = ports(
        &["proxy", "opaquePorts"],
        DEFAULT_OPAQUE_PORTS,
        true,
        problems,
    );
    let ignore_inbound_ports = ports(
        &["proxyInit", "ignoreInboundPorts"],
        DEFAULT_IGNORED_PORTS,
        false,
        problems,
    );
    let ignore_outbound_ports = ports(
        &["proxyInit", "ignoreOutboundPorts"],
        DEFAULT_IGNORED_PORTS,
        false,
        problems,
    );
    let require_identity_on_inbound_ports = ports(
        &["proxy", "requireIdentityOnInboundPorts"],
        "",
        false,
        problems,
    );

    let flag = |keys: &[&str], default: bool, problems: &mut Vec<(Location, String)>| {
        let Some(node) = r.node(keys) else {
            return r.defaulted(default);
        };
        let value = match &node.value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => meshaudit_model::linkerd::parse_go_bool(s),
            _ => None,
        };
        match value {
            Some(b) => r.written(keys, b),
            None => {
                problems.push((
                    r.locate(keys),
                    format!(
                        "{}: expected true or false, found {}; {default} is assumed",
                        keys.join("."),
                        node.scalar_text()
                            .map_or_else(|| node.type_name().to_owned(), |t| format!("`{t}`"))
                    ),
                ));
                r.defaulted(default)
            }
        }
    };
    let native_sidecar = flag(&["proxy", "nativeSidecar"], false, problems);
    let cni_enabled = flag(&["cniEnabled"], false, problems);
    let disable_ipv6 = flag(&["disableIPv6"], true, problems);

    let version = ["linkerdVersion", "cliVersion"]
        .into_iter()
        .find_map(|key| {
            let t = r.text(&[key], problems).filter(|t| !t.is_empty())?;
            Some(r.written(&[key], t))
        });

    LinkerdConfig {
        object,
        control_plane_namespace: namespace.to_owned(),
        values_location,
        exact_positions: r.exact,
        cluster_domain,
        identity_trust_domain,
        default_inbound_policy,
        cluster_networks,
        probe_networks,
        opaque_ports,
        ignore_inbound_ports,
        ignore_outbound_ports,
        require_identity_on_inbound_ports,
        native_sidecar,
        cni_enabled,
        disable_ipv6,
        version,
    }
}
