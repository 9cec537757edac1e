//! CERT009: the mesh's signing CA does not chain to the trust anchors the proxies use.

use meshaudit_model::k8s::Secret;
use meshaudit_model::{CertificateInfo, Inventory, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT009",
    name: "plugin-ca-chain-broken",
    title: "Mesh CA chain broken",
    category: Category::Certificates,
    severity: Severity::High,
    meshes: &[Mesh::Istio, Mesh::Linkerd],
    compliance: &["SOC2:CC6.1", "SOC2:A1.2", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

- **Istio plug-in CA** (`cacerts`): `ca-cert.pem` must be issued by `root-cert.pem`, directly or
  through intermediates in `cert-chain.pem` that reach `root-cert.pem`; `cert-chain.pem` must start
  with `ca-cert.pem`, each certificate must be issued by the next, and it must end at (or be issued
  by) `root-cert.pem`. A `cacerts` with `ca-cert.pem` but no `root-cert.pem` is reported too.
  `high`; the message names the broken link.
- **Linkerd**: the issuer certificate (`crt.pem` of `linkerd-identity-issuer`) must be issued by a
  certificate of the trust roots the proxies use: the ConfigMap `linkerd-identity-trust-roots`
  (`ca-bundle.crt`), or, when the input does not have it, the issuer Secret's `ca.crt`. `critical`.

Links are matched by name and key identifier, not by verifying signatures: a certificate is taken
as issued by another when its issuer DN equals the other's subject DN and, when both are present,
its authorityKeyIdentifier equals the other's subjectKeyIdentifier. A root re-issued under the same
name with a new key is therefore caught; a forged signature is not.

## Why it matters

Proxies verify peers against the trust anchors. If the signing CA does not chain to them, every
workload certificate istiod or Linkerd's identity service issues is rejected by every peer: all
mTLS traffic fails at the next certificate rotation (workload certificates live 24 hours). With
Linkerd, a mismatched issuer makes every proxy fail identity (linkerd/linkerd2#9612). In Istio, a
wrong `cert-chain.pem` makes workloads present a chain peers cannot build, the usual breakage of a
multicluster or plug-in CA migration.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
data:
  ca-cert.pem: LS0tLS1CRUdJTi...     # issued by "Old Istio Root CA"
  root-cert.pem: LS0tLS1CRUdJTi...   # "Istio Root CA"
  cert-chain.pem: LS0tLS1CRUdJTi...  # ca-cert + Old Istio Root CA
```

## Fix

Istio: rebuild `cacerts` from one consistent set: `cert-chain.pem` = `ca-cert.pem` followed by each
intermediate up to and including `root-cert.pem`, with `ca-cert.pem` issued by that root. During a
root migration put both roots in `root-cert.pem`. Linkerd: issue the issuer from the trust anchor
in `linkerd-identity-trust-roots` (or add the issuer's anchor to the bundle first), then restart the
identity service.

## References

- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Linkerd: Automatic mTLS, identity and trust anchors — https://linkerd.io/2/features/automatic-mtls/
- Linkerd: Generating your own mTLS root certificates — https://linkerd.io/2/tasks/generate-certificates/
- RFC 5280 §4.2.1.1 (authority key identifier) and §6 (path validation) — https://www.rfc-editor.org/rfc/rfc5280#section-6
"#,
    check,
};

/// `child` names `parent` as its issuer (DN, and key identifier when both carry one).
fn issued_by(child: &CertificateInfo, parent: &CertificateInfo) -> bool {
    child.issuer == parent.subject
        && match (&child.authority_key_id, &parent.subject_key_id) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        }
}

fn base(source: &str) -> &str {
    source.split_once('#').map_or(source, |(k, _)| k)
}

fn certs_of<'a>(secret: &'a Secret, key: &str) -> Vec<&'a CertificateInfo> {
    secret
        .certificates
        .iter()
        .filter(|c| base(&c.source) == key)
        .collect()
}

/// Why `cert` is not issued by any of `candidates`: names a candidate with the same name but
/// another key identifier, if there is one.
fn why_not(cert: &CertificateInfo, candidates: &[&CertificateInfo]) -> String {
    match candidates.iter().find(|c| c.subject == cert.issuer) {
        Some(c) => format!(
            "{} has the issuer's name but another key (subjectKeyIdentifier {}, the certificate's authorityKeyIdentifier {}): a different key with the same name",
            c.source,
            c.subject_key_id.as_deref().unwrap_or("-"),
            cert.authority_key_id.as_deref().unwrap_or("-")
        ),
        None => format!("no certificate there is named {}", cert.issuer),
    }
}

fn at(
    inv: &Inventory,
    secret: &Secret,
    key: &str,
    aspect: Option<&str>,
    mesh: Mesh,
    message: String,
) -> Finding {
    let path = [Step::Key("data"), Step::Key(key)];
    let mut f = Finding::new(
        &RULE,
        secret.object,
        inv.object(secret.object),
        &path,
        message,
    )
    .key(match aspect {
        Some(a) => format!("{key}:{a}"),
        None => key.to_owned(),
    });
    f.mesh = mesh;
    f
}

fn subjects(certs: &[&CertificateInfo]) -> String {
    certs
        .iter()
        .map(|c| format!("{} ({})", c.subject, c.source))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for secret in &inv.secrets {
        match secret.name.as_str() {
            "cacerts" => istio(inv, secret, out),
            "linkerd-identity-issuer" => linkerd(inv, secret, out),
            _ => {}
        }
    }
}

fn istio(inv: &Inventory, secret: &Secret, out: &mut Vec<Finding>) {
    let place = format!("Secret {}/{}", secret.namespace, secret.name);
    let Some(ca) = certs_of(secret, "ca-cert.pem").into_iter().next() else {
        return;
    };
    let roots = certs_of(secret, "root-cert.pem");
    let chain = certs_of(secret, "cert-chain.pem");
    if roots.is_empty() {
        if !secret.keys.iter().any(|k| k == "root-cert.pem") {
            out.push(
                at(
                    inv,
                    secret,
                    "ca-cert.pem",
                    Some("root"),
                    Mesh::Istio,
                    format!(
                        "{place} has ca-cert.pem but no root-cert.pem: istiod cannot load the plug-in CA or distribute a trust anchor"
                    ),
                )
                .evidence(format!("keys: {}", secret.keys.join(", "))),
            );
        }
        return;
    }
    let trusted = |c: &CertificateInfo| {
        roots
            .iter()
            .any(|r| r.fingerprint_sha256 == c.fingerprint_sha256 || issued_by(c, r))
    };
    // ca-cert.pem up to a root, through cert-chain.pem intermediates.
    let mut current = ca;
    let mut path = vec![ca.source.clone()];
    let mut broken = None;
    for _ in 0..16 {
        if trusted(current) {
            break;
        }
        match chain
            .iter()
            .find(|p| p.fingerprint_sha256 != current.fingerprint_sha256 && issued_by(current, p))
        {
            Some(parent) if !path.contains(&parent.source) => {
                path.push(parent.source.clone());
                current = parent;
            }
            _ => {
                broken = Some(current);
                break;
            }
        }
    }
    if let Some(last) = broken {
        let link = if last.self_signed {
            format!(
                "{} ({}) is a self-signed root that is not in root-cert.pem",
                last.source, last.subject
            )
        } else {
            format!(
                "{} ({}) is issued by {}, which is neither in root-cert.pem nor in cert-chain.pem ({})",
                last.source,
                last.subject,
                last.issuer,
                why_not(last, &roots)
            )
        };
        out.push(
            at(
                inv,
                secret,
                "ca-cert.pem",
                Some("issuer"),
                Mesh::Istio,
                format!(
                    "ca-cert.pem of {place} does not chain to root-cert.pem: {link}; workload certificates istiod signs will be rejected by every peer"
                ),
            )
            .evidence(format!("path followed: {}", path.join(" -> ")))
            .evidence(format!("root-cert.pem: {}", subjects(&roots))),
        );
    }
    if chain.is_empty() {
        return;
    }
    let mut problems = Vec::new();
    if chain[0].fingerprint_sha256 != ca.fingerprint_sha256 {
        problems.push(format!(
            "it starts with {} instead of ca-cert.pem ({})",
            chain[0].subject, ca.subject
        ));
    }
    for pair in chain.windows(2) {
        if !issued_by(pair[0], pair[1]) {
            problems.push(format!(
                "{} ({}) is not issued by the next certificate {} ({})",
                pair[0].source, pair[0].subject, pair[1].source, pair[1].subject
            ));
        }
    }
    if let Some(last) = chain.last() {
        if !trusted(last) {
            problems.push(format!(
                "it ends at {} ({}), which is not root-cert.pem and not issued by it",
                last.source, last.subject
            ));
        }
    }
    if !problems.is_empty() {
        out.push(
            at(
                inv,
                secret,
                "cert-chain.pem",
                None,
                Mesh::Istio,
                format!(
                    "cert-chain.pem of {place} is not ca-cert.pem -> ... -> root-cert.pem: {}",
                    problems.join("; ")
                ),
            )
            .evidence(format!("cert-chain.pem: {}", subjects(&chain)))
            .evidence(format!("root-cert.pem: {}", subjects(&roots))),
        );
    }
}

fn linkerd(inv: &Inventory, secret: &Secret, out: &mut Vec<Finding>) {
    let Some(issuer) = secret
        .certificates
        .iter()
        .find(|c| matches!(base(&c.source), "crt.pem" | "tls.crt"))
    else {
        return;
    };
    let key = base(&issuer.source).to_owned();
    let bundle = inv
        .config_maps
        .iter()
        .find(|c| c.name == "linkerd-identity-trust-roots" && c.namespace == secret.namespace);
    let (roots, from): (Vec<&CertificateInfo>, String) = match bundle {
        Some(cm) if !cm.certificates.is_empty() => (
            cm.certificates.iter().collect(),
            format!("ConfigMap {}/{}", cm.namespace, cm.name),
        ),
        _ => (
            certs_of(secret, "ca.crt"),
            format!("ca.crt of Secret {}/{}", secret.namespace, secret.name),
        ),
    };
    if roots.is_empty() {
        return;
    }
    if roots
        .iter()
        .any(|r| r.fingerprint_sha256 == issuer.fingerprint_sha256 || issued_by(issuer, r))
    {
        return;
    }
    let mut f = at(
        inv,
        secret,
        &key,
        Some("issuer"),
        Mesh::Linkerd,
        format!(
            "Linkerd's identity issuer {key} of Secret {}/{} ({}) is not issued by any trust anchor in {from}: {}; proxies reject every identity it issues",
            secret.namespace,
            secret.name,
            issuer.subject,
            why_not(issuer, &roots)
        ),
    )
    .evidence(format!("issuer's issuer: {}", issuer.issuer))
    .evidence(format!("trust anchors: {}", subjects(&roots)));
    f.severity = Severity::Critical;
    out.push(f);
}
