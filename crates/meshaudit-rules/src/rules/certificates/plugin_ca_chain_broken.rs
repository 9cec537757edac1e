//! CERT009: the mesh's signing CA does not chain to the trust anchors the proxies use.

use std::cell::RefCell;

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

Links are decided by signature: a certificate is issued by another when its issuer name is the
other's subject name (the precondition every path builder uses) **and** its signature verifies
with the other's public key. Names and key identifiers alone prove nothing: a root re-issued under
the same name with a new key is caught whether or not the certificates carry key identifiers. When
a signature uses an algorithm meshaudit cannot verify (MD5, ECDSA with SHA-1 or SHA-512, the P-521
curve, RSA keys outside 1024–8192 bits), the link is taken from names and key identifiers (which
must not disagree) and the finding says which links rest on names only; a chain that is sound
except for such links gets one `info` finding saying it could not be verified.

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

/// Issuer links decided by signature ([`meshaudit_ingest::certs::issued_by`]). A link whose
/// signature could not be checked (names and key identifiers agree) is accepted and remembered,
/// so the rule can say which links rest on names only.
#[derive(Default)]
struct Links {
    /// (child fingerprint, parent fingerprint, note): one note per pair of certificates, however
    /// many keys of the Secret repeat them.
    unverified: RefCell<Vec<(String, String, String)>>,
}

impl Links {
    fn issued_by(&self, child: &CertificateInfo, parent: &CertificateInfo) -> bool {
        let check = meshaudit_ingest::certs::issued_by(child, parent);
        if let Some(why) = check.unverified() {
            let mut notes = self.unverified.borrow_mut();
            if !notes
                .iter()
                .any(|(c, p, _)| *c == child.fingerprint_sha256 && *p == parent.fingerprint_sha256)
            {
                notes.push((
                    child.fingerprint_sha256.clone(),
                    parent.fingerprint_sha256.clone(),
                    format!(
                        "{} ({}) taken as issued by {} ({}) on names and key identifiers only: {why}",
                        child.source, child.subject, parent.source, parent.subject
                    ),
                ));
            }
        }
        check.linked()
    }

    /// `c` is one of `roots`, or issued by one.
    fn trusted(&self, c: &CertificateInfo, roots: &[&CertificateInfo]) -> bool {
        roots
            .iter()
            .any(|r| r.fingerprint_sha256 == c.fingerprint_sha256 || self.issued_by(c, r))
    }

    /// Says, on the findings pushed since `start`, which links rest on names only; when there is
    /// none but some link could not be checked, adds one `info` finding at `key` saying so, so
    /// that an unverifiable chain is never silently taken as sound.
    fn report(&self, out: &mut Vec<Finding>, start: usize, unverified: impl FnOnce() -> Finding) {
        let notes = self.unverified.borrow();
        if notes.is_empty() {
            return;
        }
        if out.len() == start {
            let mut f = unverified();
            f.severity = Severity::Info;
            out.push(f);
        }
        for f in &mut out[start..] {
            for (_, _, note) in notes.iter() {
                f.evidence.push(format!("signature not checked: {note}"));
            }
        }
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
/// another key, if there is one.
fn why_not(cert: &CertificateInfo, candidates: &[&CertificateInfo]) -> String {
    match candidates.iter().find(|c| c.subject == cert.issuer) {
        Some(c) => match (&cert.authority_key_id, &c.subject_key_id) {
            (Some(aki), Some(ski)) if aki != ski => format!(
                "{} has the issuer's name but another key (subjectKeyIdentifier {ski}, the certificate's authorityKeyIdentifier {aki}): a different key with the same name",
                c.source
            ),
            _ => format!(
                "{} has the issuer's name, but the certificate's signature does not verify with its public key: a different key with the same name",
                c.source
            ),
        },
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
    let start = out.len();
    let links = Links::default();
    let trusted = |c: &CertificateInfo| links.trusted(c, &roots);
    // ca-cert.pem up to a root, through cert-chain.pem intermediates.
    let mut current = ca;
    let mut path = vec![ca.source.clone()];
    let mut broken = None;
    for _ in 0..16 {
        if trusted(current) {
            break;
        }
        match chain.iter().find(|p| {
            p.fingerprint_sha256 != current.fingerprint_sha256 && links.issued_by(current, p)
        }) {
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
        } else if let Some(why) = last.self_signature_unverifiable() {
            format!(
                "{} ({}) names itself as its issuer and is not in root-cert.pem (its signature could not be checked: {why})",
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
    if !chain.is_empty() {
        chain_order(inv, secret, ca, &chain, &roots, &links, out);
    }
    links.report(out, start, || {
        at(
            inv,
            secret,
            "ca-cert.pem",
            Some("unverified"),
            Mesh::Istio,
            format!(
                "the chain of {place} from ca-cert.pem to root-cert.pem could not be verified: names and key identifiers agree, but some signatures use an algorithm meshaudit cannot check"
            ),
        )
        .remediation(
            "Verify the chain by hand (`openssl verify -CAfile root-cert.pem -untrusted cert-chain.pem ca-cert.pem`), or re-issue it with ECDSA P-256/P-384 or RSA (2048 to 8192 bits) and SHA-256 or SHA-384, which meshaudit verifies.",
        )
    });
}

/// cert-chain.pem must be ca-cert.pem, then each issuer, up to (or issued by) root-cert.pem.
fn chain_order(
    inv: &Inventory,
    secret: &Secret,
    ca: &CertificateInfo,
    chain: &[&CertificateInfo],
    roots: &[&CertificateInfo],
    links: &Links,
    out: &mut Vec<Finding>,
) {
    let place = format!("Secret {}/{}", secret.namespace, secret.name);
    let trusted = |c: &CertificateInfo| links.trusted(c, roots);
    let mut problems = Vec::new();
    if chain[0].fingerprint_sha256 != ca.fingerprint_sha256 {
        problems.push(format!(
            "it starts with {} instead of ca-cert.pem ({})",
            chain[0].subject, ca.subject
        ));
    }
    for pair in chain.windows(2) {
        if !links.issued_by(pair[0], pair[1]) {
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
            .evidence(format!("cert-chain.pem: {}", subjects(chain)))
            .evidence(format!("root-cert.pem: {}", subjects(roots))),
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
    let start = out.len();
    let links = Links::default();
    if links.trusted(issuer, &roots) {
        links.report(out, start, || {
            at(
                inv,
                secret,
                &key,
                Some("unverified"),
                Mesh::Linkerd,
                format!(
                    "Linkerd's identity issuer {key} of Secret {}/{} ({}) names a trust anchor in {from} as its issuer, but its signature could not be checked, so whether that anchor issued it is not verified",
                    secret.namespace, secret.name, issuer.subject
                ),
            )
            .remediation(
                "Verify by hand (`openssl verify -CAfile ca-bundle.crt crt.pem`), or re-issue the issuer with ECDSA P-256/P-384 or RSA (2048 to 8192 bits) and SHA-256 or SHA-384, which meshaudit verifies.",
            )
        });
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
