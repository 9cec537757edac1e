//! CERT012: a Secret holds certificates that nothing rotates (no cert-manager Certificate).

use std::collections::{BTreeMap, HashMap};

use meshaudit_model::certmanager::IssuerType;
use meshaudit_model::k8s::Secret;
use meshaudit_model::ObjectId;

use super::describe::{date, role_words, subject};
use super::unique::{unique_certificates, Unique};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT012",
    name: "certificate-rotation-manual",
    title: "Certificate rotated by hand (no cert-manager Certificate manages its Secret)",
    category: Category::Certificates,
    severity: Severity::Low,
    meshes: &[Mesh::Kubernetes, Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &["SOC2:CC7.1", "SOC2:A1.2", "NIST-800-204A:SM-DR6"],
    doc: r#"
## What it detects

A Secret holding certificates that no cert-manager `Certificate` in the input manages: no
Certificate has that `secretName` in the Secret's namespace, and the Secret has no
`cert-manager.io/certificate-name` annotation (cert-manager writes it on every Secret it issues).
Istio's self-signed `istio-ca-secret` is left out: istiod makes and manages it itself (CERT008
reports running on it). One finding per Secret, listing its certificates with their days left.

- `info` when the Secret holds only leaf certificates with more than 90 days left: someone will
  have to renew them by hand, but not yet.
- `low` when a leaf certificate has 90 days or less left, and always when the Secret holds an
  authority (a trust anchor, a signing CA such as Istio's `cacerts` or Linkerd's issuer, any CA):
  these are the certificates whose silent expiry stops a whole mesh.

Expiry itself is CERT001's job; this rule says that nothing will renew the certificate in time.

## Why it matters

The outages this field is known for are certificates someone made once by hand: Istio's root
that expired after a year (istio/istio#14516), a Linkerd issuer that expired while `linkerd check`
still passed (linkerd/linkerd2#9612). A certificate that cert-manager issues is renewed
automatically before it expires; one pasted into a Secret is renewed only if a person remembers.

## Example

```yaml
apiVersion: v1
kind: Secret
metadata:
  name: linkerd-identity-issuer     # made once with step-cli, no Certificate manages it
  namespace: linkerd
data:
  crt.pem: LS0tLS1CRUdJTi...        # issuer CA, 45 days left
```

## Fix

Let cert-manager issue and renew the certificate: a `Certificate` with `secretName` set to this
Secret, issued by an `Issuer`/`ClusterIssuer` (for a mesh CA, a `ca` issuer holding the root, as
in Linkerd's and Istio's cert-manager guides). If it must stay manual, put its expiry date in a
calendar and an alert (CERT001 thresholds), and rotate before it.

## References

- cert-manager: Certificate resource — https://cert-manager.io/docs/usage/certificate/
- cert-manager: Secret annotations (`cert-manager.io/certificate-name`) — https://cert-manager.io/docs/reference/annotations/
- Linkerd: Automatically rotating control plane TLS credentials — https://linkerd.io/2/tasks/automatically-rotating-control-plane-tls-credentials/
- Istio: Plug in CA certificates — https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
- Istio issue #14516 (self-signed root expiry) — https://github.com/istio/istio/issues/14516
"#,
    check,
};

const LEAF_WARN_DAYS: i64 = 90;
const MANAGED_ANNOTATION: &str = "cert-manager.io/certificate-name";

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let mut by_secret: BTreeMap<ObjectId, Vec<Unique<'_>>> = BTreeMap::new();
    for u in unique_certificates(inv) {
        by_secret.entry(u.cert.object).or_default().push(u);
    }
    let secrets: HashMap<ObjectId, &Secret> = inv.secrets.iter().map(|s| (s.object, s)).collect();
    for (object_id, certs) in by_secret {
        let Some(&secret) = secrets.get(&object_id) else {
            continue; // ConfigMaps and webhook bundles are distributed copies, not the source.
        };
        if secret.name == "istio-ca-secret" {
            continue;
        }
        let object = inv.object(object_id);
        if object.annotations.contains_key(MANAGED_ANNOTATION)
            || inv
                .cert_manager
                .certificate_for_secret(&secret.namespace, &secret.name)
                .is_some()
        {
            continue;
        }
        let place = format!("Secret {}/{}", secret.namespace, secret.name);
        let mut severity = Severity::Info;
        let mut lines = Vec::new();
        let mut soonest: Option<(i64, &Unique<'_>)> = None;
        for u in &certs {
            let c = &u.cert;
            let days = c.days_left(ctx.now);
            let authority = c.role.is_authority();
            if authority || days <= LEAF_WARN_DAYS {
                severity = Severity::Low;
            }
            if soonest.is_none_or(|(d, _)| days < d) {
                soonest = Some((days, u));
            }
            lines.push(format!(
                "{}: {} ({}), {}",
                c.key,
                subject(c),
                role_words(c.role),
                left_text(c.info.not_after, days)
            ));
        }
        let Some((days, first)) = soonest else {
            continue;
        };
        let authorities: Vec<&str> = certs
            .iter()
            .filter(|u| u.cert.role.is_authority())
            .map(|u| role_words(u.cert.role))
            .collect();
        let what = match (certs.len(), authorities.first()) {
            (1, Some(role)) => format!("a {role}"),
            (1, None) => "a leaf certificate".to_owned(),
            (n, Some(role)) => format!("{n} certificates, including a {role}"),
            (n, None) => format!("{n} leaf certificates"),
        };
        let message = format!(
            "No cert-manager Certificate manages {place}, which holds {what}: rotation is manual; {} {}",
            first.cert.key,
            left_text(first.cert.info.not_after, days)
        );
        let path = certs[0].cert.steps();
        let mut f = Finding::new(&RULE, object_id, object, &path, message)
            .key("rotation")
            .remediation(format!(
                "Create a cert-manager Certificate with secretName {} in namespace {} (or rotate {place} by hand before {}).",
                secret.name,
                secret.namespace,
                date(first.cert.info.not_after)
            ));
        for line in lines {
            f = f.evidence(line);
        }
        f = f.evidence(format!(
            "no Certificate in namespace {} has secretName {}, and the Secret has no {MANAGED_ANNOTATION} annotation",
            secret.namespace, secret.name
        ));
        let issuers: Vec<String> = inv
            .cert_manager
            .issuers
            .iter()
            .filter(|i| i.namespace == secret.namespace)
            .chain(inv.cert_manager.cluster_issuers.iter())
            .filter(|i| {
                matches!(i.spec.issuer_type(), IssuerType::Ca { secret_name } if secret_name == secret.name)
            })
            .map(|i| {
                let o = inv.object(i.object);
                format!("{} {}", o.kind, o.qualified_name())
            })
            .collect();
        if !issuers.is_empty() {
            f = f.evidence(format!(
                "{} sign(s) certificates with this Secret's CA: they renew, this CA does not",
                issuers.join(", ")
            ));
        }
        f.severity = severity;
        f.mesh = first.cert.mesh;
        out.push(f);
    }
}

fn left_text(not_after: i64, days: i64) -> String {
    if days < 0 {
        format!("expired on {} ({} day(s) ago)", date(not_after), -days)
    } else {
        format!("expires on {} ({days} day(s) left)", date(not_after))
    }
}
