//! AUTHN012: istiod fetches JWKS URLs named by RequestAuthentications without any address
//! restriction (SSRF, CVE-2026-41413).

use meshaudit_model::{Node, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN012",
    name: "jwks-fetch-unrestricted",
    title: "istiod fetches any JWKS URL (no BLOCKED_CIDRS_IN_JWKS_URIS)",
    category: Category::Authentication,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.6", "SOC2:CC7.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

An input with at least one RequestAuthentication whose keys istiod must fetch (a `jwksUri`, or an
`issuer` without inline `jwks`) and an istiod Deployment (named `istiod` or `istiod-<revision>`,
labelled `app: istiod` or `istio: pilot`, or running a `pilot` image) whose containers do not set the environment variable
`BLOCKED_CIDRS_IN_JWKS_URIS` (or set it empty). The finding points at the istiod container's
`env` list. It is not reported when `PILOT_JWT_ENABLE_REMOTE_JWKS` is `envoy`, since istiod then
fetches nothing.

## Why it matters

By default istiod itself downloads the key set of every RequestAuthentication and inlines it into
the proxies' configuration. Anyone who may create a RequestAuthentication in any namespace can
therefore make istiod — which runs with broad cluster credentials on the control-plane network —
request an arbitrary URL: internal services, the Kubernetes API, cloud metadata endpoints
(server-side request forgery, CVE-2026-41413 / ISTIO-SECURITY-2026-003). `BLOCKED_CIDRS_IN_JWKS_URIS`
(Istio 1.29.0, backported to 1.28.6; enforced at dial time, covering redirects and issuer
discovery, from 1.28.6 and 1.29.2) makes istiod refuse addresses in the listed ranges. Its default
is empty; releases from 1.29.7 and 1.30.4 block only link-local and metadata addresses by
default, so private and loopback ranges stay reachable unless listed.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  template:
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.29.3
        env:
        - name: PILOT_JWT_ENABLE_REMOTE_JWKS
          value: "false"
```

## Fix

Set the variable on istiod (for example through `values.pilot.env` in Helm or `IstioOperator`),
listing the ranges istiod must never fetch keys from, and upgrade to a release with the dial-level
fix (1.28.6, 1.29.2 or later):

```yaml
        env:
        - name: BLOCKED_CIDRS_IN_JWKS_URIS
          value: "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,169.254.0.0/16,::1/128,fc00::/7,fe80::/10"
```

## References

- Istio security bulletin ISTIO-SECURITY-2026-003 — https://istio.io/latest/news/security/istio-security-2026-003/
- Istio 1.29.0 change notes (BLOCKED_CIDRS_IN_JWKS_URIS) — https://istio.io/latest/news/releases/1.29.x/announcing-1.29/change-notes/
- Istio: istiod environment variables (pilot-discovery) — https://istio.io/latest/docs/reference/commands/pilot-discovery/
- Istio: RequestAuthentication reference — https://istio.io/latest/docs/reference/config/security/request_authentication/
- CWE-918: Server-Side Request Forgery (SSRF)
"#,
    check,
};

const BLOCKED: &str = "BLOCKED_CIDRS_IN_JWKS_URIS";
const REMOTE_JWKS: &str = "PILOT_JWT_ENABLE_REMOTE_JWKS";

/// `1.29.3` from an image reference like `docker.io/istio/pilot:1.29.3-distroless`.
fn image_version(image: &str) -> Option<(u32, u32, u32)> {
    let tag = image.rsplit_once(':')?.1;
    let core = tag.split(['-', '_']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// A value written in the env entry: `value`, or `Some("<from ...>")` for `valueFrom`.
fn env_value(entry: &Node) -> Option<String> {
    if let Some(v) = entry.get("value").and_then(Node::scalar_text) {
        return Some(v);
    }
    entry.get("valueFrom").map(|_| "<valueFrom>".to_owned())
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let fetching: Vec<String> = inv
        .istio
        .request_authentications
        .iter()
        .filter(|ra| {
            ra.spec.jwt_rules.iter().any(|r| {
                r.jwks.is_none()
                    && (r.jwks_uri.as_deref().is_some_and(|u| !u.trim().is_empty())
                        || r.issuer.as_deref().is_some_and(|i| !i.trim().is_empty()))
            })
        })
        .map(|ra| format!("{}/{}", ra.namespace, ra.name))
        .collect();
    if fetching.is_empty() {
        return;
    }
    for workload in &inv.workloads {
        if workload.kind != "Deployment" {
            continue;
        }
        let named = meshaudit_engine::components::is_istiod(workload);
        let pilot = |c: &meshaudit_model::k8s::Container| {
            c.image.as_deref().is_some_and(|i| {
                i.rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains("pilot"))
            })
        };
        let Some(index) = workload.containers.iter().position(pilot).or_else(|| {
            named.then(|| {
                workload
                    .containers
                    .iter()
                    .position(|c| c.name == "discovery")
                    .unwrap_or(0)
            })
        }) else {
            continue;
        };
        let Some(container) = workload.containers.get(index) else {
            continue;
        };
        let object = inv.object(workload.object);
        let mut containers_path: Vec<Step<'_>> = workload
            .template_path
            .iter()
            .map(|k| Step::Key(k))
            .collect();
        containers_path.extend([Step::Key("spec"), Step::Key("containers")]);
        let containers_node = object.node.at(&containers_path);

        // Read every container's env: the variable could sit on any of them.
        let mut blocked: Option<String> = None;
        let mut remote_mode: Option<String> = None;
        for c in containers_node.and_then(Node::as_seq).unwrap_or_default() {
            for entry in c.get("env").and_then(Node::as_seq).unwrap_or_default() {
                match entry.get("name").and_then(Node::as_str) {
                    Some(BLOCKED) => blocked = env_value(entry).or(Some(String::new())),
                    Some(REMOTE_JWKS) => remote_mode = env_value(entry),
                    _ => {}
                }
            }
        }
        if blocked.as_deref().is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        if remote_mode.as_deref() == Some("envoy") {
            continue;
        }
        let mut path = containers_path.clone();
        path.push(Step::Index(index));
        let has_env = containers_node
            .and_then(|n| n.index(index))
            .and_then(|c| c.get("env"))
            .is_some();
        path.push(Step::Key(if has_env { "env" } else { "name" }));
        let name = format!("{}/{}", workload.namespace, workload.name);
        let state = if blocked.is_some() {
            format!("sets {BLOCKED} to an empty value")
        } else {
            format!("does not set {BLOCKED}")
        };
        let mut f = Finding::new(
            &RULE,
            workload.object,
            object,
            &path,
            format!(
                "istiod Deployment {name} (container {}) {state}: it will fetch any URL a RequestAuthentication names, including internal services on the control-plane network (SSRF, CVE-2026-41413)",
                container.name
            ),
        )
        .key(format!("containers.{}.env", container.name))
        .evidence(format!(
            "RequestAuthentications whose keys istiod fetches: {}",
            fetching.join(", ")
        ))
        .evidence(match &remote_mode {
            Some(mode) => format!("{REMOTE_JWKS}: {mode}, so istiod fetches the key sets"),
            None => format!("{REMOTE_JWKS} is not set: istiod fetches the key sets (the default)"),
        })
        .remediation(format!(
            "Set {BLOCKED} on the istiod container of {name} to the internal, loopback and link-local ranges (e.g. 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,169.254.0.0/16), and run Istio 1.28.6, 1.29.2 or later."
        ));
        if let Some(v) = container.image.as_deref().and_then(image_version) {
            let text = format!("{}.{}.{}", v.0, v.1, v.2);
            let note = if v < (1, 28, 6) {
                Some(format!(
                    "istiod {text} predates {BLOCKED} (added in 1.29.0 and 1.28.6): upgrade first"
                ))
            } else if ((1, 29, 0)..(1, 29, 2)).contains(&v) {
                Some(format!(
                    "istiod {text} is affected by CVE-2026-41413 (redirects and issuer discovery bypass the block list): upgrade to 1.29.2 or later"
                ))
            } else if v >= (1, 30, 4) || ((1, 29, 7)..(1, 30, 0)).contains(&v) {
                Some(format!(
                    "istiod {text} blocks link-local and cloud-metadata addresses by default, but private and loopback ranges stay reachable unless listed"
                ))
            } else {
                None
            };
            if let Some(note) = note {
                f = f.evidence(note);
            }
        }
        f.severity = Severity::Medium;
        out.push(f);
    }
}
