//! CERT016: a trust bundle the proxies read misses the root the mesh CA currently chains to.

use meshaudit_ingest::certs::issued_by;
use meshaudit_model::k8s::{ConfigMap, Secret};
use meshaudit_model::{CertificateInfo, Inventory, IssuerCheck, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT016",
    name: "trust-bundle-missing-root",
    title: "Trust bundle misses the active root",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd],
    compliance: &["SOC2:A1.2", "SOC2:CC6.1", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

- **Istio**: a `istio-ca-root-cert` ConfigMap (key `root-cert.pem`, the root istiod distributes to
  every namespace) that does not hold every root of the mesh CA: the certificates of
  `root-cert.pem` in the plug-in CA Secret `cacerts`, or, without `cacerts`, the self-signed
  `ca-cert.pem` of `istio-ca-secret`. Compared by SHA-256 fingerprint. `high`, one finding per
  ConfigMap, naming the missing roots.
- **Linkerd**: the trust roots bundle (`linkerd-identity-trust-roots`, key `ca-bundle.crt`) does
  not hold the certificate that issued the current issuer: the issuer Secret's `ca.crt` when
  present (cert-manager writes it), otherwise a CA certificate elsewhere in the input (such as the
  `linkerd-trust-anchor` Secret) that issued it. "Issued" is decided by signature: the issuer names
  that certificate as its issuer and its signature verifies with that certificate's key, so an old
  anchor with the same name (and no key identifiers) is not mistaken for the new one; a link whose
  signature meshaudit cannot check is used only when no verified one exists, and the finding says
  so. `critical`. When no such
  certificate is in the input, CERT009 (plugin-ca-chain-broken) already reports an issuer that the
  bundle does not vouch for.

## Why it matters

Proxies verify peers only against the bundle they were given. When the mesh CA moves to a new
root (a plug-in CA rotation, cert-manager renewing a trust anchor) and a namespace's
`istio-ca-root-cert` or Linkerd's trust roots still hold only the old root, workloads there reject
every certificate issued from the new root: mTLS between them and the rest of the mesh fails, in
Linkerd mesh-wide as soon as proxies get certificates from the new issuer. The safe order is to
add the new root to the bundle first, roll the workloads, and only then switch the issuer.

## Example

```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio-ca-root-cert
  namespace: payments
data:
  root-cert.pem: |
    -----BEGIN CERTIFICATE-----
    ...   # the previous root only; cacerts root-cert.pem now holds a new root
    -----END CERTIFICATE-----
```

## Fix

Istio: restart istiod after updating `cacerts` (it rewrites `istio-ca-root-cert` in every
namespace), or put both roots in `cacerts` `root-cert.pem` during a migration; then restart the
workloads. Linkerd: add the new anchor to `linkerd-identity-trust-roots` (with trust-manager, a
`Bundle` that includes the anchor Secret), restart the proxies, and only then rotate the issuer.

## References

- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Istio: Plugin CA certificate rotation (multi-root trust bundle) — https://istio.io/latest/docs/tasks/security/cert-management/custom-ca-k8s/
- Linkerd: Automatically rotating control plane TLS credentials — https://linkerd.io/2/tasks/automatically-rotating-control-plane-tls-credentials/
- Linkerd: Rotating your identity certificates (trust anchor rotation) — https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/
"#,
    check,
};

fn base(source: &str) -> &str {
    source.split_once('#').map_or(source, |(k, _)| k)
}

fn certs_of<'a>(certs: &'a [CertificateInfo], key: &str) -> Vec<&'a CertificateInfo> {
    certs.iter().filter(|c| base(&c.source) == key).collect()
}

fn short(fp: &str) -> &str {
    fp.get(..16).unwrap_or(fp)
}

fn at(inv: &Inventory, cm: &ConfigMap, key: &str, message: String) -> Finding {
    let path = [Step::Key("data"), Step::Key(key)];
    // Keyed by the bundle's certificate key (`root-cert.pem`), aspect `missing-root`.
    Finding::new(&RULE, cm.object, inv.object(cm.object), &path, message)
        .key(format!("{key}:missing-root"))
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    istio(inv, out);
    linkerd(inv, out);
}

fn istio(inv: &Inventory, out: &mut Vec<Finding>) {
    let by_name = |name: &str| -> Option<&Secret> {
        let mut found: Vec<&Secret> = inv.secrets.iter().filter(|s| s.name == name).collect();
        found.sort_by_key(|s| s.namespace != "istio-system");
        found.into_iter().next()
    };
    let (source, roots) = match by_name("cacerts") {
        Some(s) if !certs_of(&s.certificates, "root-cert.pem").is_empty() => (
            format!("root-cert.pem of Secret {}/{}", s.namespace, s.name),
            certs_of(&s.certificates, "root-cert.pem"),
        ),
        _ => match by_name("istio-ca-secret") {
            Some(s) if !certs_of(&s.certificates, "ca-cert.pem").is_empty() => (
                format!(
                    "ca-cert.pem of Secret {}/{} (self-signed CA)",
                    s.namespace, s.name
                ),
                certs_of(&s.certificates, "ca-cert.pem"),
            ),
            _ => return,
        },
    };
    for cm in inv
        .config_maps
        .iter()
        .filter(|c| c.name == "istio-ca-root-cert")
    {
        if !cm.data.contains_key("root-cert.pem") {
            continue;
        }
        let held = certs_of(&cm.certificates, "root-cert.pem");
        let missing: Vec<&&CertificateInfo> = roots
            .iter()
            .filter(|r| {
                !held
                    .iter()
                    .any(|h| h.fingerprint_sha256 == r.fingerprint_sha256)
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        let names = missing
            .iter()
            .map(|r| format!("{} (SHA-256 {}…)", r.subject, short(&r.fingerprint_sha256)))
            .collect::<Vec<_>>()
            .join("; ");
        let mut f = at(
            inv,
            cm,
            "root-cert.pem",
            format!(
                "root-cert.pem of ConfigMap {}/{} does not hold the mesh root {names} from {source}: workloads in namespace {} will reject certificates issued under it",
                cm.namespace, cm.name, cm.namespace
            ),
        )
        .evidence(format!(
            "the ConfigMap holds: {}",
            if held.is_empty() {
                "no readable certificate".to_owned()
            } else {
                held.iter()
                    .map(|h| format!("{} (SHA-256 {}…)", h.subject, short(&h.fingerprint_sha256)))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        ));
        f.mesh = Mesh::Istio;
        out.push(f);
    }
}

fn linkerd(inv: &Inventory, out: &mut Vec<Finding>) {
    for secret in inv
        .secrets
        .iter()
        .filter(|s| s.name == "linkerd-identity-issuer")
    {
        let Some(issuer) = secret
            .certificates
            .iter()
            .find(|c| matches!(c.source.as_str(), "crt.pem" | "tls.crt"))
        else {
            continue;
        };
        let Some(cm) = inv
            .config_maps
            .iter()
            .find(|c| c.name == "linkerd-identity-trust-roots" && c.namespace == secret.namespace)
        else {
            continue;
        };
        // The certificate that issued the issuer, decided by signature: ca.crt of the issuer
        // Secret, else a CA in another Secret of the input. One whose signature could not be
        // checked (names and key identifiers agree) is used only when no verified one exists.
        let ca_crt = certs_of(&secret.certificates, "ca.crt")
            .into_iter()
            .map(|c| {
                (
                    c,
                    format!("ca.crt of Secret {}/{}", secret.namespace, secret.name),
                )
            });
        let elsewhere = inv.secrets.iter().flat_map(|s| {
            s.certificates
                .iter()
                .filter(|c| {
                    c.is_ca == Some(true) && c.fingerprint_sha256 != issuer.fingerprint_sha256
                })
                .map(|c| {
                    (
                        c,
                        format!("{} of Secret {}/{}", c.source, s.namespace, s.name),
                    )
                })
        });
        let mut unverified = None;
        let mut parent = None;
        for (c, from) in ca_crt.chain(elsewhere) {
            match issued_by(issuer, c) {
                IssuerCheck::Issued => {
                    parent = Some((c, from, None));
                    break;
                }
                IssuerCheck::Unverified(why) if unverified.is_none() => {
                    unverified = Some((c, from, Some(why)));
                }
                _ => {}
            }
        }
        let parent = parent.or(unverified);
        let Some((parent, from, unverified)) = parent else {
            continue;
        };
        if cm
            .certificates
            .iter()
            .any(|c| c.fingerprint_sha256 == parent.fingerprint_sha256)
        {
            continue;
        }
        let key = cm
            .data
            .keys()
            .find(|k| k.as_str() == "ca-bundle.crt")
            .map_or("ca-bundle.crt", String::as_str);
        let mut f = at(
            inv,
            cm,
            key,
            format!(
                "ca-bundle.crt of ConfigMap {}/{} does not hold the trust anchor {} ({from}) that issued Linkerd's current issuer {}: proxies reject every workload identity the issuer signs",
                cm.namespace, cm.name, parent.subject, issuer.subject
            ),
        )
        .evidence(format!(
            "missing anchor SHA-256 {}…; the bundle holds: {}",
            short(&parent.fingerprint_sha256),
            if cm.certificates.is_empty() {
                "no readable certificate".to_owned()
            } else {
                cm.certificates
                    .iter()
                    .map(|c| format!("{} (SHA-256 {}…)", c.subject, short(&c.fingerprint_sha256)))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        ));
        if let Some(why) = unverified {
            f = f.evidence(format!(
                "signature not checked: {} is taken as the issuer's issuer on names and key identifiers only: {why}",
                parent.subject
            ));
        }
        f.severity = Severity::Critical;
        f.mesh = Mesh::Linkerd;
        out.push(f);
    }
}
