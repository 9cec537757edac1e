//! CERT008: the mesh signs workload certificates with a self-signed root kept in the cluster
//! (Istio's self-signed CA, a self-signed `cacerts`, or a self-signed Linkerd issuer).

use meshaudit_model::Step;

use super::common::{date, finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT008",
    name: "istio-self-signed-ca",
    title: "Mesh signs with a self-signed root instead of an intermediate",
    category: Category::Certificates,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd],
    compliance: &["SOC2:CC6.1", "PCI-DSS:3.6.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

- istiod runs on its **self-signed CA**: the input has the Secret `istio-ca-secret` in Istio's root
  namespace (istio-system unless the mesh config says otherwise) and no plug-in CA Secret `cacerts`
  there, so istiod generated its own root at install and signs workload certificates with it.
- A plug-in CA Secret `cacerts` whose `ca-cert.pem` (or `tls.crt`, in the kubernetes.io/tls layout
  istio-csr and cert-manager write) is **self-signed**: the root itself is used as the signing CA
  instead of an intermediate.
- A Linkerd identity issuer (`linkerd-identity-issuer`, `crt.pem` or `tls.crt`) that is
  **self-signed**: the trust anchor itself issues workload certificates, so its key is in the
  cluster (Linkerd's docs keep the anchor's key offline and issue an intermediate issuer).

Both are `medium`. A leftover `istio-ca-secret` next to a `cacerts` is not reported: istiod uses
`cacerts` when it exists.

## Why it matters

With a self-signed signing CA, the root's private key lives in a Secret of the cluster: anyone who
can read Secrets in istio-system (a cluster admin, a compromised operator, a backup) can mint any
workload identity in the mesh, and the root cannot be kept offline. Istio's generated root lasts
10 years by default but rotating it is manual and disruptive (istio/istio#14516: self-signed roots
expired silently), and each cluster has its own root, so clusters cannot share trust for
multicluster. Istio's documentation recommends a plug-in CA: a root kept offline (or in an HSM),
and per-cluster intermediates in `cacerts` that can be rotated without touching the root.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: istio-ca-secret
  namespace: istio-system
type: istio.io/ca-root
data:
  ca-cert.pem: LS0tLS1CRUdJTi...   # self-signed, O=cluster.local
  ca-key.pem: LS0tLS1CRUdJTi...
```

## Fix

Create an offline root, issue an intermediate per cluster, and install it as `cacerts`
(`ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`) before (or instead of) the
self-signed CA; or use an external CA (cert-manager istio-csr, a CSR-signing integration). Then
restart istiod and roll workloads. Keep the root's key out of the cluster.

## References

- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Istio: Security concepts, PKI — https://istio.io/latest/docs/concepts/security/#pki
- Istio issue #14516 (self-signed root expiry) — https://github.com/istio/istio/issues/14516
- NIST SP 800-57 Part 1 Rev. 5, §6.2 (protection of CA keys) — https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let root_ns = inv.istio.root_namespace();
    let has_cacerts = inv
        .secrets
        .iter()
        .any(|s| s.name == "cacerts" && s.namespace == root_ns);
    let certs = unique_certificates(inv);
    for secret in &inv.secrets {
        if secret.namespace != root_ns {
            continue;
        }
        if secret.name == "istio-ca-secret" && !has_cacerts {
            let message = format!(
                "Secret {root_ns}/istio-ca-secret is Istio's self-signed CA and there is no plug-in CA Secret {root_ns}/cacerts: istiod signs every workload certificate with a root whose private key lives in the cluster"
            );
            let cert = certs
                .iter()
                .find(|u| u.cert.object == secret.object && u.cert.key == "ca-cert.pem");
            let mut f = match cert {
                Some(u) => finding(&RULE, inv, u, None, message).evidence(format!(
                    "valid {} to {}; rotating it is manual",
                    date(u.cert.info.not_before),
                    date(u.cert.info.not_after)
                )),
                None => {
                    let path = [Step::Key("data"), Step::Key("ca-cert.pem")];
                    Finding::new(
                        &RULE,
                        secret.object,
                        inv.object(secret.object),
                        &path,
                        message,
                    )
                    .key("ca-cert.pem")
                }
            };
            f = f.evidence(format!(
                "no Secret named cacerts in namespace {root_ns} (Istio's root namespace) in the input"
            ));
            f.mesh = Mesh::Istio;
            out.push(f);
        }
        if secret.name == "cacerts" {
            for u in certs
                .iter()
                // `ca-cert.pem`, or `tls.crt` in the kubernetes.io/tls layout istio-csr and
                // cert-manager write (its first certificate is the signing CA).
                .filter(|u| {
                    u.cert.object == secret.object
                        && (u.cert.key == "ca-cert.pem" || u.cert.key == "tls.crt")
                })
            {
                if !u.cert.info.self_signed {
                    continue;
                }
                let key = u.cert.key.as_str();
                let root_key = if key == "tls.crt" {
                    "ca.crt"
                } else {
                    "root-cert.pem"
                };
                let same_as_root = u.also_in.iter().any(|k| k.starts_with(root_key))
                    || certs.iter().any(|r| {
                        r.cert.object == secret.object
                            && r.cert.key.starts_with(root_key)
                            && r.cert.info.fingerprint_sha256 == u.cert.info.fingerprint_sha256
                    });
                let mut f = finding(
                    &RULE,
                    inv,
                    u,
                    None,
                    format!(
                        "{key} of Secret {root_ns}/cacerts ({}) is self-signed: the root itself signs workload certificates, so the root's private key must live in the cluster",
                        u.cert.info.subject
                    ),
                );
                if same_as_root {
                    f = f.evidence(format!("{key} is the same certificate as {root_key}"));
                }
                f = f.remediation(
                    "Keep the root offline: issue an intermediate CA from it for this cluster and put the intermediate in ca-cert.pem/ca-key.pem, with cert-chain.pem = intermediate + root.",
                );
                out.push(f);
            }
        }
    }
    for u in &certs {
        let object = inv.object(u.cert.object);
        if object.kind != "Secret"
            || object.name != "linkerd-identity-issuer"
            || !(u.cert.key == "crt.pem" || u.cert.key == "tls.crt")
            || !u.cert.info.self_signed
        {
            continue;
        }
        let mut f = finding(
            &RULE,
            inv,
            u,
            None,
            format!(
                "{} of Secret {}/linkerd-identity-issuer ({}) is self-signed: the trust anchor itself issues workload certificates, so its private key lives in the cluster",
                u.cert.key,
                object.namespace.as_deref().unwrap_or_default(),
                u.cert.info.subject
            ),
        )
        .remediation(
            "Keep the trust anchor's key offline: issue an intermediate issuer certificate from the anchor (CA:TRUE, pathlen 0) and put it with its key in linkerd-identity-issuer; keep only the anchor certificate in the trust roots bundle.",
        );
        f.mesh = Mesh::Linkerd;
        out.push(f);
    }
}
