//! DEP004: an EnvoyFilter that runs Lua, sends requests to an external authorizer the mesh does
//! not know, removes security filters, or drops or trusts security headers.

use meshaudit_model::istio::{EnvoyFilterSpec, Typed};
use meshaudit_model::{Inventory, Node, Object, Step, Value};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::embedded::proto_field;
use super::redact::redact_url;

pub static RULE: Rule = Rule {
    code: "DEP004",
    name: "envoy-filter-risky-extension",
    title: "EnvoyFilter runs risky code or weakens the proxy's security filters",
    category: Category::Dependencies,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.8",
        "SOC2:CC8.1",
        "PCI-DSS:6.3.2",
        "HIPAA:164.308(a)(5)(ii)(B)",
    ],
    doc: r#"
## What it detects

`configPatches` of an `EnvoyFilter` that:

- run **Lua** (`envoy.filters.http.lua`): code executed by the proxy on every request, outside
  Istio's validation; `medium` when the filter applies mesh-wide (root namespace, no selector) or
  at gateways, `low` otherwise;
- add an **`ext_authz`** filter whose authorization server is not a Service or ServiceEntry in the
  input (`high`: every request's headers, often credentials, go to an unknown host, and it decides
  access), or that is reached over plain `http://` outside the cluster; `failure_mode_allow:
  true` (authorization fails open) is `medium`;
- `REMOVE` a security filter (`envoy.filters.http.rbac`, `envoy.filters.network.rbac`,
  `envoy.filters.http.jwt_authn`, `istio_authn`, `envoy.filters.http.ext_authz`): `high`, policies
  written for these workloads stop being enforced;
- forward a client-supplied `x-forwarded-client-cert` unchecked (`forward_client_cert_details`
  `FORWARD_ONLY`, `ALWAYS_FORWARD_ONLY` or `APPEND_FORWARD` on a gateway): `high`, applications
  trusting that header can be told any caller identity;
- remove security headers (`x-forwarded-client-cert`, `strict-transport-security`,
  `content-security-policy`, `x-frame-options`, `x-content-type-options`) through
  `*_headers_to_remove` or Lua code: `medium`.

Envoy field names are read in both spellings Istio accepts in `patch.value`: the proto name
(`failure_mode_allow`, `request_headers_to_remove`, `inline_code`) and its JSON name
(`failureModeAllow`, `requestHeadersToRemove`, `inlineCode`).

## Why it matters

EnvoyFilter patches the generated Envoy configuration underneath Istio's APIs: nothing validates
what it does to security. Istio's own documentation warns that it is a break-glass API that can
destabilise the mesh, and several bulletins only apply to meshes that use it (Lua bodies larger
than the buffer limit, overload manager settings, proxy protocol). A removed RBAC filter or a
forged client-certificate header is an authorization bypass; an unknown authorizer sees every
request and can allow anything.

## Example

```yaml
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: authz, namespace: istio-system}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.ext_authz
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
          http_service:
            server_uri: {uri: "http://authz.example.net", cluster: outbound|80||authz.example.net, timeout: 1s}
```

## Fix

Prefer Istio's APIs: `AuthorizationPolicy` with `action: CUSTOM` and an `extensionProviders`
entry for external authorization, `RequestAuthentication` for JWT, `WasmPlugin` pinned by
`sha256` for custom logic. Point external authorizers at Services or ServiceEntries you control,
keep `failure_mode_allow` false, never remove the RBAC or JWT filters, and let gateways
`SANITIZE_SET` the `x-forwarded-client-cert` header. Restrict who may create EnvoyFilters.

## References

- Istio: EnvoyFilter reference (warning on its use) — https://istio.io/latest/docs/reference/config/networking/envoy-filter/
- Istio: External authorization — https://istio.io/latest/docs/tasks/security/authorization/authz-custom/
- Envoy: ext_authz filter (failure_mode_allow) — https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/ext_authz_filter
- Envoy: HTTP connection manager, forward_client_cert_details — https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
- ISTIO-SECURITY-2025-002 (Lua), ISTIO-SECURITY-2024-007 (EnvoyFilter overload manager) — https://istio.io/latest/news/security/
"#,
    check,
};

const SECURITY_FILTERS: &[&str] = &[
    "envoy.filters.http.rbac",
    "envoy.filters.network.rbac",
    "envoy.filters.http.jwt_authn",
    "istio_authn",
    "istio.authn",
    "envoy.filters.http.ext_authz",
    "envoy.filters.network.ext_authz",
];

const SECURITY_HEADERS: &[&str] = &[
    "x-forwarded-client-cert",
    "strict-transport-security",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
];

/// Every node under `node` (itself included) with the key that leads to it, in its proto
/// spelling ([`proto_field`]): `inlineCode` and `inline_code` both arrive as `inline_code`.
fn walk<'a>(node: &'a Node, key: Option<&str>, f: &mut dyn FnMut(Option<&str>, &'a Node)) {
    f(key, node);
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                walk(&e.value, Some(&proto_field(e.key.as_str())), f);
            }
        }
        Value::Seq(items) => {
            for i in items {
                walk(i, key, f);
            }
        }
        _ => {}
    }
}

fn mentions_lua(node: &Node) -> bool {
    let mut found = false;
    walk(node, None, &mut |k, n| {
        if let Some(s) = n.as_str() {
            if (k == Some("name") && s == "envoy.filters.http.lua")
                || (k == Some("@type") && s.contains("extensions.filters.http.lua."))
            {
                found = true;
            }
        }
    });
    found
}

/// Whether any patch of the EnvoyFilter object adds Lua.
pub fn has_lua(object: &Object) -> bool {
    object
        .node
        .at(&[Step::Key("spec"), Step::Key("configPatches")])
        .and_then(Node::as_seq)
        .is_some_and(|patches| patches.iter().any(mentions_lua))
}

/// The host an ext_authz filter calls: from `outbound|port||host` cluster names or URIs.
fn authz_targets(value: &Node) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, None, &mut |k, n| {
        let Some(s) = n.as_str() else { return };
        match k {
            Some("cluster_name" | "cluster") => {
                let host = s.rsplit('|').next().unwrap_or(s);
                out.push(host.to_owned());
            }
            Some("uri" | "target_uri") => out.push(s.to_owned()),
            _ => {}
        }
    });
    out
}

/// `http://authz.example.net:8080/x` → `authz.example.net`.
fn host_of(target: &str) -> &str {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let rest = rest.trim_start_matches('/');
    let rest = rest.split('/').next().unwrap_or(rest);
    rest.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(rest, |(h, _)| h)
}

/// Whether `host` names a Service or ServiceEntry host in the input (from `namespace`'s view).
fn known_host(inv: &Inventory, host: &str, namespace: &str) -> bool {
    let host = host.trim_end_matches('.');
    inv.services.iter().any(|s| {
        let fqdn = format!("{}.{}.svc.cluster.local", s.name, s.namespace);
        host == fqdn
            || host == format!("{}.{}.svc", s.name, s.namespace)
            || host == format!("{}.{}", s.name, s.namespace)
            || (host == s.name && s.namespace == namespace)
    }) || inv.istio.service_entries.iter().any(|se| {
        se.spec
            .hosts
            .iter()
            .any(|h| h == host || (h.starts_with("*.") && host.ends_with(&h[1..])))
    })
}

fn scope(inv: &Inventory, f: &Typed<EnvoyFilterSpec>) -> (bool, String) {
    let root = inv.istio.root_namespace();
    // EnvoyFilter selects with `workloadSelector.labels` (not `matchLabels`).
    let object = inv.object(f.object);
    let labels = object
        .node
        .at(&[
            Step::Key("spec"),
            Step::Key("workloadSelector"),
            Step::Key("labels"),
        ])
        .and_then(Node::as_map)
        .is_some_and(|m| !m.is_empty());
    let selected = labels
        || f.spec
            .workload_selector
            .as_ref()
            .is_some_and(|s| !s.match_labels.is_empty())
        || !f.spec.target_refs.is_empty();
    if f.namespace == root && !selected {
        (
            true,
            format!("applies mesh-wide (root namespace `{root}`, no workloadSelector)"),
        )
    } else if selected {
        (
            false,
            "applies to the workloads its selector names".to_owned(),
        )
    } else {
        (
            false,
            format!("applies to every workload in namespace `{}`", f.namespace),
        )
    }
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for ef in &inv.istio.envoy_filters {
        let object = inv.object(ef.object);
        let Some(patches) = object
            .node
            .at(&[Step::Key("spec"), Step::Key("configPatches")])
            .and_then(Node::as_seq)
        else {
            continue;
        };
        let (mesh_wide, scope_text) = scope(inv, ef);
        for (i, patch) in patches.iter().enumerate() {
            let context = patch
                .at(&[Step::Key("match"), Step::Key("context")])
                .and_then(Node::as_str)
                .unwrap_or("ANY");
            let at_gateway = context == "GATEWAY";
            let operation = patch
                .at(&[Step::Key("patch"), Step::Key("operation")])
                .and_then(Node::as_str)
                .unwrap_or("");
            let value = patch.at(&[Step::Key("patch"), Step::Key("value")]);
            let path = [
                Step::Key("spec"),
                Step::Key("configPatches"),
                Step::Index(i),
            ];
            let mut problems: Vec<(Severity, String, &'static str, String)> = Vec::new();

            if operation == "REMOVE" {
                let mut removed = None;
                walk(patch.get("match").unwrap_or(patch), None, &mut |k, n| {
                    if let (Some("name"), Some(s)) = (k, n.as_str()) {
                        if SECURITY_FILTERS.contains(&s) {
                            removed = Some(s.to_owned());
                        }
                    }
                });
                if let Some(name) = removed {
                    problems.push((
                        Severity::High,
                        format!("removes the security filter `{name}`: authorization or authentication policies for these proxies stop being enforced"),
                        "remove-security-filter",
                        "Delete this patch; express the exception in AuthorizationPolicy/RequestAuthentication instead of removing the filter.".to_owned(),
                    ));
                }
            }
            if let Some(value) = value {
                if mentions_lua(value) {
                    // Lua is code the mesh's own administrators wrote, not a flaw by itself:
                    // its reach decides how much review it needs.
                    let sev = if mesh_wide || at_gateway {
                        Severity::Medium
                    } else {
                        Severity::Low
                    };
                    problems.push((
                        sev,
                        format!("adds a Lua filter (context {context}): code the proxy runs on every request, outside Istio's validation"),
                        "lua",
                        "Replace the Lua code with Istio APIs or a WasmPlugin pinned by sha256; if it must stay, narrow it with a workloadSelector and review the code.".to_owned(),
                    ));
                }
                let mut is_ext_authz = false;
                let mut fail_open = false;
                walk(value, None, &mut |k, n| match (k, &n.value) {
                    (Some("name"), Value::String(s)) if s.ends_with(".ext_authz") => {
                        is_ext_authz = true
                    }
                    (Some("@type"), Value::String(s)) if s.contains(".ext_authz.") => {
                        is_ext_authz = true
                    }
                    (Some("failure_mode_allow"), Value::Bool(true)) => fail_open = true,
                    _ => {}
                });
                if is_ext_authz {
                    let mut targets = authz_targets(value);
                    // The same host often appears as a URI and as a cluster name.
                    targets.sort_by(|a, b| host_of(a).cmp(host_of(b)).then(b.len().cmp(&a.len())));
                    targets.dedup_by(|a, b| host_of(a) == host_of(b));
                    for raw_target in targets {
                        let host = host_of(&raw_target);
                        let target = redact_url(&raw_target);
                        let plain_external =
                            target.starts_with("http://") && !host.contains(".svc");
                        if !known_host(inv, host, &ef.namespace) {
                            problems.push((
                                Severity::High,
                                format!("sends requests to the external authorizer `{target}`, which is neither a Service nor a ServiceEntry in the input: an unknown host sees every request's headers and decides access"),
                                "ext-authz-unknown-host",
                                format!("Point the authorizer at a Service or ServiceEntry you control (or declare `{host}` as a ServiceEntry), preferably through meshConfig.extensionProviders and an AuthorizationPolicy with action CUSTOM."),
                            ));
                        } else if plain_external {
                            problems.push((
                                Severity::High,
                                format!("calls the external authorizer `{target}` over plain http outside the cluster"),
                                "ext-authz-plain-http",
                                "Call the authorizer over TLS (https, or a ServiceEntry with a DestinationRule that originates TLS).".to_owned(),
                            ));
                        }
                    }
                    if fail_open {
                        problems.push((
                            Severity::Medium,
                            "sets `failure_mode_allow: true`: when the authorizer is down or slow, every request is allowed".to_owned(),
                            "ext-authz-fail-open",
                            "Set failure_mode_allow to false so that authorization fails closed.".to_owned(),
                        ));
                    }
                }
                let mut xfcc = None;
                let mut removed_headers = Vec::new();
                walk(value, None, &mut |k, n| match (k, n.as_str()) {
                    (Some("forward_client_cert_details"), Some(mode))
                        if matches!(
                            mode,
                            "FORWARD_ONLY" | "ALWAYS_FORWARD_ONLY" | "APPEND_FORWARD"
                        ) =>
                    {
                        xfcc = Some(mode.to_owned());
                    }
                    (Some(key), Some(h))
                        if key.ends_with("headers_to_remove")
                            && SECURITY_HEADERS.contains(&h.to_ascii_lowercase().as_str()) =>
                    {
                        removed_headers.push(h.to_ascii_lowercase());
                    }
                    (Some("inline_code" | "inline_string" | "default_source_code"), Some(code)) => {
                        let lower = code.to_ascii_lowercase();
                        for h in SECURITY_HEADERS {
                            if lower.contains(&format!("remove(\"{h}\")"))
                                || lower.contains(&format!("remove('{h}')"))
                            {
                                removed_headers.push((*h).to_owned());
                            }
                        }
                    }
                    _ => {}
                });
                if let Some(mode) = xfcc {
                    let sev = if at_gateway || context == "ANY" {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    problems.push((
                        sev,
                        format!("sets forward_client_cert_details {mode}: a client-supplied x-forwarded-client-cert header is passed on unchecked, so applications that trust it can be told any caller identity"),
                        "xfcc-forwarded",
                        "Remove the override: Istio gateways sanitize the header (SANITIZE_SET) so only the proxy's own view of the client certificate reaches applications.".to_owned(),
                    ));
                }
                if !removed_headers.is_empty() {
                    removed_headers.sort();
                    removed_headers.dedup();
                    problems.push((
                        Severity::Medium,
                        format!("removes security header(s) {}", removed_headers.join(", ")),
                        "removes-security-headers",
                        "Keep security headers; if a client must not see one, fix it where it is set rather than stripping it in the proxy.".to_owned(),
                    ));
                }
            }
            for (severity, what, key, fix) in problems {
                let mut f = Finding::new(
                    &RULE,
                    ef.object,
                    object,
                    &path,
                    format!("EnvoyFilter {}/{} patch {i} {what}", ef.namespace, ef.name),
                )
                .key(format!("configPatches[{i}]:{key}"))
                .evidence(format!(
                    "patch {i}: context {context}, operation {}",
                    if operation.is_empty() {
                        "unset"
                    } else {
                        operation
                    }
                ))
                .evidence(format!("the EnvoyFilter {scope_text}"))
                .remediation(fix);
                f.severity = severity;
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorizer_hosts_come_out_of_cluster_names_and_uris() {
        assert_eq!(
            host_of("http://authz.example.net:8080/check"),
            "authz.example.net"
        );
        assert_eq!(
            host_of("authz.auth.svc.cluster.local"),
            "authz.auth.svc.cluster.local"
        );
        assert_eq!(
            host_of("dns:///authz.example.net:9000"),
            "authz.example.net"
        );
    }
}
