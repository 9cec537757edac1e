//! TLS005: a Gateway server that terminates TLS has no usable certificate: no credential at all,
//! a credentialName whose Secret is not in the gateway workload's namespace, or (MUTUAL) no CA.

use std::collections::{BTreeSet, HashMap};

use meshaudit_model::k8s::Secret;
use meshaudit_model::{Step, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::istio_scope::gateway_workloads;

use super::gateway_common::{hosts_text, server_label, tls_mode, tls_path};
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "TLS005",
    name: "gateway-credential-missing",
    title: "Gateway TLS server has no usable certificate",
    category: Category::Encryption,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.7",
        "SOC2:A1.2",
        "HIPAA:164.312(e)(1)",
        "PCI-DSS:4.2.1",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A server of an Istio `Gateway` with `tls.mode` `SIMPLE`, `MUTUAL` or `OPTIONAL_MUTUAL` that
cannot load its certificate:

- neither `credentialName` (or `credentialNames`) nor `serverCertificate` is set;
- the Secret named by `credentialName` is not in the namespace of the **gateway workload** (the
  Deployment whose labels match the Gateway's `selector`). Istio reads it from there, not from the
  Gateway resource's namespace; the message says whether no such Secret exists or it exists only in
  the Gateway's (or another) namespace;
- the Secret has neither `tls.crt`/`tls.key` nor `cert`/`key`;
- for `MUTUAL`/`OPTIONAL_MUTUAL`: no CA to verify clients — no `ca.crt`/`cacert` key in the
  Secret and no `<credentialName>-cacert` Secret next to it.

Secret checks run only when the input holds the gateway workload (so its namespace is known) and
at least one Secret; a `credentialName` with a scheme other than `kubernetes://` is not checked.

## Why it matters

Without its certificate the gateway cannot complete a TLS handshake on that listener: clients get
connection resets or certificate errors, and teams under pressure "fix" the outage by falling back
to a plaintext port or a shared wildcard certificate. istiod reports the same problem as IST0161
(`InvalidGatewayCredential`). Reading Secrets across namespaces was a vulnerability
(CVE-2021-34824), so a Secret left only in an application namespace is never picked up.

## Example

```yaml
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gateway
  namespace: frontend        # the Secret is here ...
spec:
  selector:
    istio: ingressgateway    # ... but the gateway Deployment runs in istio-system
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["shop.example.com"]
    tls:
      mode: SIMPLE
      credentialName: shop-tls
```

## Fix

Create the Secret (type `kubernetes.io/tls`, keys `tls.crt` and `tls.key`, plus `ca.crt` for
`MUTUAL`) in the namespace of the gateway Deployment:

```bash
kubectl create -n istio-system secret tls shop-tls --cert=shop.crt --key=shop.key
```

## References

- Istio: IST0161 InvalidGatewayCredential — https://istio.io/latest/docs/reference/config/analysis/ist0161/
- Istio: Secure gateways (credentialName, key names, -cacert) — https://istio.io/latest/docs/tasks/traffic-management/ingress/secure-ingress/
- Istio: Gateway reference (ServerTLSSettings.credentialName) — https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings
- Istio: ISTIO-SECURITY-2021-007 (CVE-2021-34824) — https://istio.io/latest/news/security/istio-security-2021-007/
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let secrets = SecretIndex::new(&inv.secrets);
    for gateway in &inv.istio.gateways {
        let object = inv.object(gateway.object);
        let gw = format!("{}/{}", gateway.namespace, gateway.name);
        let mut workloads: Option<Vec<WorkloadId>> = None;
        for (i, server) in gateway.spec.servers.iter().enumerate() {
            let Some(tls) = &server.tls else { continue };
            let mode = tls_mode(server).unwrap_or_default();
            if !matches!(mode.as_str(), "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL") {
                continue;
            }
            let mutual = mode != "SIMPLE";
            let label = server_label(server, i);
            let hosts = hosts_text(server);
            let tls_node = object.node.at(&[
                Step::Key("spec"),
                Step::Key("servers"),
                Step::Index(i),
                Step::Key("tls"),
            ]);
            let has_field = |key: &str| {
                tls_node
                    .and_then(|n| n.get(key))
                    .is_some_and(|v| !v.is_null() && v.scalar_text().is_none_or(|s| !s.is_empty()))
            };
            let credential = tls.credential_name.as_deref().filter(|c| !c.is_empty());
            let Some(credential) = credential else {
                if has_field("credentialNames") || has_field("serverCertificate") {
                    continue;
                }
                out.push(
                    Finding::new(
                        &RULE,
                        gateway.object,
                        object,
                        &tls_path(i, "mode"),
                        format!(
                            "Gateway {gw} {label} ({hosts}) terminates TLS ({mode}) but sets neither credentialName nor serverCertificate, so it has no certificate to serve"
                        ),
                    )
                    .key(format!("servers[{i}]:no-credential"))
                    .evidence(format!(
                        "server {i}: tls.mode {mode}; tls.credentialName, tls.credentialNames and tls.serverCertificate are not set"
                    ))
                    .remediation(format!(
                        "Set tls.credentialName on the {label} server of Gateway {gw} to a kubernetes.io/tls Secret in the gateway workload's namespace."
                    )),
                );
                continue;
            };
            let name = match credential.strip_prefix("kubernetes://") {
                Some(rest) => rest,
                None if credential.contains("://") => continue,
                None => credential,
            };
            if inv.secrets.is_empty() {
                continue;
            }
            let selected = workloads.get_or_insert_with(|| gateway_workloads(ctx, gateway));
            let namespaces: BTreeSet<&str> = selected
                .iter()
                .map(|&w| inv.workloads[w].namespace.as_str())
                .collect();
            for ns in namespaces {
                let workload_names: Vec<String> = selected
                    .iter()
                    .map(|&w| &inv.workloads[w])
                    .filter(|w| w.namespace == ns)
                    .map(workload_name)
                    .collect();
                let workload_text = workload_names.join(", ");
                let path = tls_path(i, "credentialName");
                let base = |message: String| {
                    Finding::new(&RULE, gateway.object, object, &path, message)
                        .key(format!("servers[{i}].tls.credentialName:{ns}"))
                        .evidence(format!(
                            "server {i}: tls.mode {mode}, tls.credentialName {credential}"
                        ))
                        .evidence(format!(
                            "the Gateway's selector matches {workload_text}; Istio reads credentialName from the gateway workload's namespace {ns}"
                        ))
                };
                let Some(secret) = secrets.find(ns, name) else {
                    let elsewhere: Vec<&Secret> = secrets.named(name);
                    let in_gateway_ns = elsewhere.iter().any(|s| s.namespace == gateway.namespace);
                    let (what, detail) = if elsewhere.is_empty() {
                        (
                            format!("no Secret {name} exists in the input"),
                            format!("no Secret named {name} in any namespace of the input"),
                        )
                    } else if in_gateway_ns {
                        (
                            format!(
                                "Secret {name} exists only in the Gateway's namespace {}, not in {ns} where the gateway workload runs",
                                gateway.namespace
                            ),
                            secret_list(inv, &elsewhere),
                        )
                    } else {
                        (
                            format!(
                                "Secret {name} exists only in other namespaces, not in {ns} where the gateway workload runs"
                            ),
                            secret_list(inv, &elsewhere),
                        )
                    };
                    out.push(
                        base(format!(
                            "Gateway {gw} {label} ({hosts}) uses credentialName {credential} but {what}: the listener cannot serve TLS"
                        ))
                        .evidence(detail)
                        .remediation(format!(
                            "Create Secret {name} (type kubernetes.io/tls, keys tls.crt and tls.key{}) in namespace {ns}, where {workload_text} runs.",
                            if mutual { ", ca.crt" } else { "" }
                        )),
                    );
                    continue;
                };
                let secret_ref = format!(
                    "Secret {}/{} ({}) has keys: {}",
                    secret.namespace,
                    secret.name,
                    inv.object(secret.object).origin,
                    if secret.keys.is_empty() {
                        "none".to_owned()
                    } else {
                        secret.keys.join(", ")
                    }
                );
                let has = |k: &str| secret.keys.iter().any(|x| x == k);
                let pair = (has("tls.crt") && has("tls.key")) || (has("cert") && has("key"));
                if !secret.keys.is_empty() && !pair {
                    out.push(
                        base(format!(
                            "Gateway {gw} {label} ({hosts}) uses Secret {ns}/{name}, which has no certificate and key (tls.crt/tls.key or cert/key): the listener cannot serve TLS"
                        ))
                        .evidence(secret_ref)
                        .remediation(format!(
                            "Store the certificate chain and private key in Secret {ns}/{name} under tls.crt and tls.key."
                        )),
                    );
                    continue;
                }
                if !mutual {
                    continue;
                }
                let ca_in_secret = has("ca.crt") || has("cacert");
                let ca_secret = format!("{name}-cacert");
                if ca_in_secret || secrets.find(ns, &ca_secret).is_some() {
                    continue;
                }
                let mut f = base(format!(
                    "Gateway {gw} {label} ({hosts}) requires client certificates ({mode}) but Secret {ns}/{name} has no CA (ca.crt or cacert) and there is no Secret {ns}/{ca_secret}: the listener cannot verify clients"
                ))
                .key(format!("servers[{i}].tls.credentialName:{ns}:ca"))
                .evidence(secret_ref)
                .remediation(format!(
                    "Add the client CA bundle to Secret {ns}/{name} under ca.crt, or create Secret {ns}/{ca_secret} with key ca.crt."
                ));
                if mode == "OPTIONAL_MUTUAL" {
                    f = f.evidence("OPTIONAL_MUTUAL still needs the CA to verify the clients that do present a certificate");
                }
                out.push(f);
            }
        }
    }
}

/// Secrets by name, indexed once per run (each Gateway server looks one up).
struct SecretIndex<'a> {
    by_name: HashMap<&'a str, Vec<&'a Secret>>,
}

impl<'a> SecretIndex<'a> {
    fn new(secrets: &'a [Secret]) -> Self {
        let mut by_name: HashMap<&'a str, Vec<&'a Secret>> = HashMap::new();
        for s in secrets {
            by_name.entry(s.name.as_str()).or_default().push(s);
        }
        SecretIndex { by_name }
    }

    /// Every Secret called `name`, in input order.
    fn named(&self, name: &str) -> Vec<&'a Secret> {
        self.by_name.get(name).cloned().unwrap_or_default()
    }

    fn find(&self, namespace: &str, name: &str) -> Option<&'a Secret> {
        self.by_name
            .get(name)?
            .iter()
            .copied()
            .find(|s| s.namespace == namespace)
    }
}

fn secret_list(inv: &meshaudit_model::Inventory, secrets: &[&Secret]) -> String {
    let parts: Vec<String> = secrets
        .iter()
        .map(|s| {
            format!(
                "Secret {}/{} ({})",
                s.namespace,
                s.name,
                inv.object(s.object).origin
            )
        })
        .collect();
    format!("found only {}", parts.join(", "))
}
