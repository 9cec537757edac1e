//! The bulletin conditions meshaudit can check on the input ([`Check`]): each answers whether
//! the input meets it, with the resource that shows it.

use meshaudit_model::istio::MtlsMode;
use meshaudit_model::{Inventory, Node};

use super::embedded::{embedded_document, proto_get};
use crate::advisories::Check;
use meshaudit_engine::components::{find_instances, Component};

/// Whether the input meets `check`, and a line of evidence saying why.
pub fn evaluate(inv: &Inventory, check: Check) -> (bool, String) {
    let istio = &inv.istio;
    let found = |what: Option<String>| match what {
        Some(w) => (true, format!("condition met ({}): {w}", check.describe())),
        None => (
            false,
            format!("condition not met in the input: {}", negate(check)),
        ),
    };
    match check {
        Check::Envoyfilter => found(
            istio
                .envoy_filters
                .first()
                .map(|f| format!("EnvoyFilter {}/{}", f.namespace, f.name)),
        ),
        Check::EnvoyfilterLua => found(
            istio
                .envoy_filters
                .iter()
                .find(|f| super::envoy_filter_risky_extension::has_lua(inv.object(f.object)))
                .map(|f| format!("EnvoyFilter {}/{} runs Lua", f.namespace, f.name)),
        ),
        Check::RequestAuthentication => found(
            istio
                .request_authentications
                .first()
                .map(|r| format!("RequestAuthentication {}/{}", r.namespace, r.name)),
        ),
        Check::KialiPresent => found(
            find_instances(inv)
                .into_iter()
                .find(|i| i.component == Component::Kiali)
                .map(|i| crate::rules::naming::workload_name(&inv.workloads[i.workload])),
        ),
        Check::GatewayAutoPassthrough => found(
            istio
                .gateways
                .iter()
                .find(|g| {
                    g.spec.servers.iter().any(|s| {
                        s.tls
                            .as_ref()
                            .and_then(|t| t.mode.as_deref())
                            .is_some_and(|m| m.eq_ignore_ascii_case("AUTO_PASSTHROUGH"))
                    })
                })
                .map(|g| format!("Gateway {}/{}", g.namespace, g.name)),
        ),
        Check::AuthzGatewayPorts80443 => found(
            istio
                .authorization_policies
                .iter()
                .find(|p| {
                    let on_gateway = p.spec.selector.as_ref().is_some_and(|s| {
                        s.match_labels
                            .values()
                            .any(|v| v.contains("ingressgateway"))
                    });
                    on_gateway
                        && p.spec.rules().iter().any(|r| {
                            r.to.iter().any(|t| {
                                t.operation.as_ref().is_some_and(|o| {
                                    o.ports
                                        .iter()
                                        .chain(&o.not_ports)
                                        .any(|port| port == "80" || port == "443")
                                })
                            })
                        })
                })
                .map(|p| format!("AuthorizationPolicy {}/{}", p.namespace, p.name)),
        ),
        Check::AuthzPrincipalsWithoutStrict => {
            let root = istio.root_namespace();
            let strict_mesh_wide = istio.peer_authentications.iter().any(|pa| {
                pa.namespace == root
                    && !pa.spec.has_selector()
                    && pa.spec.mode() == MtlsMode::Strict
            });
            let policy = istio.authorization_policies.iter().find(|p| {
                p.spec.rules().iter().any(|r| {
                    r.from.iter().any(|f| {
                        f.source.as_ref().is_some_and(|s| {
                            !(s.principals.is_empty()
                                && s.not_principals.is_empty()
                                && s.namespaces.is_empty()
                                && s.not_namespaces.is_empty())
                        })
                    })
                })
            });
            found(policy.filter(|_| !strict_mesh_wide).map(|p| {
                format!(
                    "AuthorizationPolicy {}/{} matches peer identities and no mesh-wide STRICT PeerAuthentication is in `{root}`",
                    p.namespace, p.name
                )
            }))
        }
        Check::DatadogTracer => found(datadog_tracer(inv)),
        Check::VirtualserviceMeshGatewayForeignHost => {
            found(istio.virtual_services.iter().find_map(|vs| {
                if !vs.spec.gateways.iter().any(|g| g == "mesh") {
                    return None;
                }
                vs.spec.hosts.iter().find_map(|h| {
                    let parts: Vec<&str> = h.split('.').collect();
                    (parts.len() >= 2
                        && parts[1] != vs.namespace
                        && parts[1] != "*"
                        && h.contains(".svc"))
                    .then(|| {
                        format!(
                            "VirtualService {}/{} routes host `{h}` for the mesh",
                            vs.namespace, vs.name
                        )
                    })
                })
            }))
        }
    }
}

/// A Datadog tracing provider in the mesh config (`extensionProviders[].datadog`, or the older
/// `defaultConfig.tracing.datadog`).
fn datadog_tracer(inv: &Inventory) -> Option<String> {
    let source = inv.istio.mesh_config.as_ref()?;
    let object = inv.object(source.object);
    let doc = embedded_document(object, "mesh")?;
    // The mesh config is protobuf YAML: `extensionProviders` or `extension_providers`.
    let provider = proto_get(&doc.root, "extension_providers")
        .and_then(Node::as_seq)
        .into_iter()
        .flatten()
        .find(|p| p.get("datadog").is_some())
        .map(|p| {
            format!(
                "extensionProviders `{}` in ConfigMap {}",
                p.get("name").and_then(Node::as_str).unwrap_or("?"),
                object.qualified_name()
            )
        });
    provider.or_else(|| {
        proto_get(&doc.root, "default_config")
            .and_then(|c| proto_get(c, "tracing"))
            .and_then(|t| proto_get(t, "datadog"))
            .map(|_| {
                format!(
                    "defaultConfig.tracing.datadog in ConfigMap {}",
                    object.qualified_name()
                )
            })
    })
}

fn negate(check: Check) -> &'static str {
    match check {
        Check::Envoyfilter => "no EnvoyFilter",
        Check::EnvoyfilterLua => "no EnvoyFilter with Lua code",
        Check::RequestAuthentication => "no RequestAuthentication",
        Check::KialiPresent => "no Kiali workload",
        Check::GatewayAutoPassthrough => "no Gateway server with AUTO_PASSTHROUGH",
        Check::AuthzGatewayPorts80443 => {
            "no AuthorizationPolicy on an ingress gateway matching ports 80/443"
        }
        Check::AuthzPrincipalsWithoutStrict => {
            "no AuthorizationPolicy matching peer identities without mesh-wide STRICT mTLS"
        }
        Check::VirtualserviceMeshGatewayForeignHost => {
            "no VirtualService bound to the mesh gateway for another namespace's host"
        }
        Check::DatadogTracer => "no Datadog tracing provider in the mesh config",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use meshaudit_ingest::{ingest, SourceText};

    use super::*;

    fn inventory(yaml: &str) -> Inventory {
        let ingested = ingest(&[SourceText {
            path: Arc::from("t.yaml"),
            text: yaml.to_owned(),
        }]);
        assert!(ingested.errors.is_empty(), "{:?}", ingested.errors);
        ingested.inventory
    }

    #[test]
    fn datadog_tracing_is_read_from_the_mesh_config() {
        let with = inventory(
            "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - name: dd
      datadog: {service: datadog-agent.datadog.svc.cluster.local, port: 8126}
",
        );
        let (met, why) = evaluate(&with, Check::DatadogTracer);
        assert!(met, "{why}");
        assert!(why.contains("`dd`"), "{why}");
        let without = inventory(
            "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - name: otel
      opentelemetry: {service: otel.observability.svc.cluster.local, port: 4317}
",
        );
        assert!(!evaluate(&without, Check::DatadogTracer).0);
        let snake = inventory(
            "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    default_config:
      tracing:
        datadog: {address: datadog-agent.datadog:8126}
",
        );
        let (met, why) = evaluate(&snake, Check::DatadogTracer);
        assert!(met, "{why}");
    }

    #[test]
    fn peer_identity_policies_matter_only_without_mesh_wide_strict() {
        let policy = "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - from:
    - source: {namespaces: [orders]}
";
        let strict = "---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
";
        assert!(evaluate(&inventory(policy), Check::AuthzPrincipalsWithoutStrict).0);
        let hardened = inventory(&format!("{policy}{strict}"));
        assert!(!evaluate(&hardened, Check::AuthzPrincipalsWithoutStrict).0);
    }
}
