//! CERT008: the mesh signs workload certificates with a self-signed root kept in the cluster
//! (Istio's self-signed CA, a self-signed `cacerts`, or a self-signed Linkerd issuer).

use meshaudit_model::{CertificateInfo, Step};

use super::describe::date;
use super::unique::{finding, unique_certificates};
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
  istio-csr and cert-manager write) is **self-signed**, or is the very certificate of
  `root-cert.pem` (`ca.crt`): the root itself is used as the signing CA instead of an
  intermediate.
- A Linkerd identity issuer (`linkerd-identity-issuer`, `crt.pem` or `tls.crt`) that is
  **self-signed**, or is the very certificate held by `linkerd-identity-trust-roots`: the trust
  anchor itself issues workload certificates, so its key is in the cluster (Linkerd's docs keep
  the anchor's key offline and issue an intermediate issuer).

These are `medium`. A leftover `istio-ca-secret` next to a `cacerts` is not reported: istiod uses
`cacerts` when it exists.

**Self-signed is decided by signature, never by names.** A certificate is self-signed when its
issuer name is its own subject name *and* its signature verifies with its own public key. The
names alone prove nothing: Linkerd's generated trust anchor and identity issuer are both named
`identity.linkerd.cluster.local` (many guides name both `root.linkerd.cluster.local`), so the
issuer names "itself" as its issuer while the anchor's key signed it — such an issuer is a proper
intermediate and is not reported. When the signature uses an algorithm meshaudit cannot verify
(MD5, ECDSA with SHA-1 or SHA-512, the P-521 curve, RSA keys outside 1024–8192 bits), a CA that
names itself as its issuer is reported at `info` only, saying the signature could not be checked,
never called self-signed.

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

/// What CERT008 can say about a signing CA from its signature and from where else it sits.
enum Verdict {
    /// Its signature verifies with its own key.
    SelfSigned,
    /// It is the very certificate the trust bundle holds (the root itself signs).
    SameAsAnchor(String),
    /// It names itself as its issuer but its signature could not be checked (why).
    Unknown(String),
    /// Not self-signed: another certificate (or key) issued it, whatever its name.
    NotSelfSigned,
}

/// Self-signed by signature, never by name: a CA that merely shares its issuer's name (Linkerd's
/// generated anchor and issuer are both `identity.linkerd.cluster.local`) is not reported.
fn verdict(info: &CertificateInfo, anchor_copy: Option<String>) -> Verdict {
    if info.self_signed {
        return Verdict::SelfSigned;
    }
    if let Some(place) = anchor_copy {
        return Verdict::SameAsAnchor(place);
    }
    match info.self_signature_unverifiable() {
        Some(why) => Verdict::Unknown(why.to_owned()),
        None => Verdict::NotSelfSigned,
    }
}

fn self_signed_evidence(info: &CertificateInfo) -> String {
    format!(
        "its {} signature verifies with its own public key: the certificate signed itself",
        info.signature_algorithm
    )
}

/// The finding for a self-issued CA whose signature could not be checked: `info`, worded so as
/// not to call it self-signed.
fn unknown(f: Finding, why: &str) -> Finding {
    let mut f = f
        .evidence(format!(
            "signature not checked: {why}; a CA that names itself as its issuer may be a self-signed root or an intermediate named like its root"
        ))
        .remediation(
            "Check by hand whether this certificate signed itself (`openssl verify -CAfile CERT CERT` succeeds only for a self-signed certificate). If it did, issue an intermediate from it and keep the root's key offline.",
        );
    f.severity = Severity::Info;
    f
}

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
                let info = u.cert.info;
                let verdict = verdict(info, same_as_root.then(|| root_key.to_owned()));
                let what = match &verdict {
                    Verdict::NotSelfSigned => continue,
                    Verdict::SelfSigned => "is self-signed: the root itself signs workload certificates, so the root's private key must live in the cluster".to_owned(),
                    Verdict::SameAsAnchor(root) => format!(
                        "is the same certificate as {root}: the root itself signs workload certificates, so the root's private key must live in the cluster"
                    ),
                    Verdict::Unknown(_) => "names itself as its issuer, but its signature could not be checked, so whether the root itself signs workload certificates is not known".to_owned(),
                };
                let mut f = finding(
                    &RULE,
                    inv,
                    u,
                    None,
                    format!(
                        "{key} of Secret {root_ns}/cacerts ({}) {what}",
                        info.subject
                    ),
                );
                if let Verdict::SelfSigned = verdict {
                    f = f.evidence(self_signed_evidence(info));
                }
                if same_as_root {
                    f = f.evidence(format!("{key} is the same certificate as {root_key}"));
                }
                f = f.remediation(
                    "Keep the root offline: issue an intermediate CA from it for this cluster and put the intermediate in ca-cert.pem/ca-key.pem, with cert-chain.pem = intermediate + root.",
                );
                if let Verdict::Unknown(why) = &verdict {
                    f = unknown(f, why);
                }
                out.push(f);
            }
        }
    }
    for u in &certs {
        let object = inv.object(u.cert.object);
        if object.kind != "Secret"
            || object.name != "linkerd-identity-issuer"
            || !(u.cert.key == "crt.pem" || u.cert.key == "tls.crt")
        {
            continue;
        }
        let ns = object.namespace.as_deref().unwrap_or_default();
        let info = u.cert.info;
        // The issuer is the anchor itself when the trust roots the proxies use hold this very
        // certificate.
        let anchor_copy = inv
            .config_maps
            .iter()
            .filter(|c| c.name == "linkerd-identity-trust-roots" && c.namespace == ns)
            .find(|c| {
                c.certificates
                    .iter()
                    .any(|a| a.fingerprint_sha256 == info.fingerprint_sha256)
            })
            .map(|c| format!("ConfigMap {}/{}", c.namespace, c.name));
        let verdict = verdict(info, anchor_copy);
        let what = match &verdict {
            Verdict::NotSelfSigned => continue,
            Verdict::SelfSigned => "is self-signed: the trust anchor itself issues workload certificates, so its private key lives in the cluster".to_owned(),
            Verdict::SameAsAnchor(place) => format!(
                "is the trust anchor in {place}: the anchor itself issues workload certificates, so its private key lives in the cluster"
            ),
            Verdict::Unknown(_) => "names itself as its issuer, but its signature could not be checked, so whether the trust anchor itself issues workload certificates is not known".to_owned(),
        };
        let mut f = finding(
            &RULE,
            inv,
            u,
            None,
            format!(
                "{} of Secret {ns}/linkerd-identity-issuer ({}) {what}",
                u.cert.key, info.subject
            ),
        );
        if let Verdict::SelfSigned = verdict {
            f = f.evidence(self_signed_evidence(info));
        }
        f = f.remediation(
            "Keep the trust anchor's key offline: issue an intermediate issuer certificate from the anchor (CA:TRUE, pathlen 0) and put it with its key in linkerd-identity-issuer; keep only the anchor certificate in the trust roots bundle.",
        );
        if let Verdict::Unknown(why) = &verdict {
            f = unknown(f, why);
        }
        f.mesh = Mesh::Linkerd;
        out.push(f);
    }
}
