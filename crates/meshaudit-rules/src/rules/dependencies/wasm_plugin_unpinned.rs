//! DEP005: a WasmPlugin whose module is fetched without a `sha256` pin, or over plain http.

use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::redact::redact_url;

pub static RULE: Rule = Rule {
    code: "DEP005",
    name: "wasm-plugin-unpinned",
    title: "WasmPlugin module is not pinned by digest or is fetched over plain http",
    category: Category::Dependencies,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.8",
        "SOC2:CC8.1",
        "PCI-DSS:6.3.2",
        "HIPAA:164.308(a)(5)(ii)(B)",
        "CIS-K8S:5.5.1",
    ],
    doc: r#"
## What it detects

A `WasmPlugin` whose `url`:

- uses plain `http://`: `high` (anyone on the path can replace the code), `medium` if a `sha256`
  pins it (a swapped module is refused, but the fetch is still unauthenticated);
- points at an OCI registry (`oci://`, or no scheme) or `https://` without a `sha256` field and
  without an `@sha256:` digest in the reference: `medium` — the module is whatever the tag or URL
  serves when each proxy fetches it (`imagePullPolicy: Always` refetches it).

`file://` modules (on the proxy's own disk) are not reported.

## Why it matters

A Wasm module runs inside every selected proxy with access to every request and response,
including headers carrying credentials. Istio checks the module against `sha256` when it is set;
otherwise a compromised or mistyped registry tag, or a network attacker on an `http` fetch,
injects code into the data plane.

## Example

```yaml
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: header-auth, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  url: http://plugins.example.com/header-auth.wasm
```

## Fix

Fetch modules over `https://` or from an OCI registry, and pin them: set `sha256` to the module's
digest (or use an `oci://...@sha256:` reference).

## References

- Istio: WasmPlugin reference (`url`, `sha256`, `imagePullPolicy`) — https://istio.io/latest/docs/reference/config/proxy_extensions/wasm-plugin/
- Istio: Distributing WebAssembly modules — https://istio.io/latest/docs/tasks/extensibility/wasm-module-distribution/
- NIST SP 800-204A, SM-DR1
- CWE-494: Download of Code Without Integrity Check
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for p in &inv.istio.wasm_plugins {
        let Some(url) = p
            .spec
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            continue;
        };
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("file://") {
            continue;
        }
        let pinned = p
            .spec
            .sha256
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
            || lower.contains("@sha256:");
        let plain = lower.starts_with("http://");
        let (severity, what, fix) = match (plain, pinned) {
            (true, false) => (
                Severity::High,
                "fetches its module over plain http with no sha256 pin: anyone on the network path can replace the code that runs in the proxies",
                "Serve the module over https or from an OCI registry, and set `sha256` to its digest.",
            ),
            (true, true) => (
                Severity::Medium,
                "fetches its module over plain http (the sha256 pin refuses a swapped module, but the fetch is unauthenticated and can be blocked or observed)",
                "Serve the module over https or from an OCI registry; keep the `sha256` pin.",
            ),
            (false, false) => (
                Severity::Medium,
                "fetches its module without a sha256 pin: the proxies run whatever the tag or URL serves when they fetch it",
                "Set `sha256` to the module's digest, or reference the OCI image by digest (`oci://...@sha256:...`).",
            ),
            (false, true) => continue,
        };
        let object = inv.object(p.object);
        let mut f = Finding::new(
            &RULE,
            p.object,
            object,
            &[Step::Key("spec"), Step::Key("url")],
            format!("WasmPlugin {}/{} {what}", p.namespace, p.name),
        )
        .key("url")
        .evidence(format!("url: {}", redact_url(url)))
        .evidence(match &p.spec.sha256 {
            Some(s) if !s.trim().is_empty() => format!("sha256: {s}"),
            _ => "sha256: not set".to_owned(),
        })
        .remediation(fix);
        if let Some(policy) = &p.spec.image_pull_policy {
            f = f.evidence(format!("imagePullPolicy: {policy}"));
        }
        f.severity = severity;
        out.push(f);
    }
}
