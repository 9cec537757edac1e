//! CERT010: a certificate's SPIFFE identity is outside the mesh's trust domain.

use super::describe::describe;
use super::unique::{finding, unique_certificates};
use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT010",
    name: "spiffe-trust-domain-mismatch",
    title: "SPIFFE identity outside the mesh trust domain",
    category: Category::Certificates,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &["SOC2:CC6.1", "NIST-800-204A:SM-DR6", "NIST-800-204B:AC-2"],
    doc: r#"
## What it detects

A certificate with a `spiffe://` URI subjectAltName whose trust domain (the host part) is neither
the Istio mesh's `trustDomain` nor one of its `trustDomainAliases`. Reported only when the input
holds the mesh config (ConfigMap `istio` in the root namespace), since otherwise the trust domain
is not known; Linkerd and Consul certificates are not compared with Istio's trust domain.

## Why it matters

Istio authorization matches principals as `<trust domain>/ns/<namespace>/sa/<account>`. A
certificate from another trust domain (issued before a trust domain migration, by cert-manager
istio-csr configured for the default `cluster.local`, or for another cluster) does not match the
principals policies name, so requests fail authorization, or, worse, policies get widened with
`*` principals to make them pass. It also shows two CAs issuing identities for one mesh, which is
how identities from one environment end up accepted in another.

## Example

```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |
    trustDomain: prod.example.com
---
apiVersion: v1
kind: Secret
metadata:
  name: istiod-tls
  namespace: istio-system
type: kubernetes.io/tls
data:
  tls.crt: LS0tLS1CRUdJTi...   # URI SAN spiffe://cluster.local/ns/istio-system/sa/istiod
```

## Fix

Re-issue the certificate with the mesh's trust domain (for istio-csr, set
`app.certmanager.istio.trustDomain` / `--trust-domain`). If the mesh is migrating trust domains,
list the old one in `meshConfig.trustDomainAliases` until every certificate is re-issued.

## References

- Istio: Trust domain migration — https://istio.io/latest/docs/tasks/security/authorization/authz-td-migration/
- Istio: MeshConfig trustDomain and trustDomainAliases — https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/
- SPIFFE ID and trust domain — https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md
"#,
    check,
};

fn trust_domain(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("spiffe://")
        .or_else(|| uri.strip_prefix("SPIFFE://"))?;
    Some(rest.split('/').next().unwrap_or(rest))
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let Some(mesh) = &inv.istio.mesh_config else {
        return;
    };
    let td = mesh.config.trust_domain();
    let aliases = &mesh.config.trust_domain_aliases;
    let accepted =
        |d: &str| d.eq_ignore_ascii_case(td) || aliases.iter().any(|a| d.eq_ignore_ascii_case(a));
    for u in unique_certificates(inv) {
        if matches!(u.cert.mesh, Mesh::Linkerd | Mesh::Consul) {
            continue;
        }
        let foreign: Vec<&String> = u
            .cert
            .info
            .uris
            .iter()
            .filter(|uri| trust_domain(uri).is_some_and(|d| !accepted(d)))
            .collect();
        if foreign.is_empty() {
            continue;
        }
        let domains: Vec<&str> = foreign.iter().filter_map(|u| trust_domain(u)).collect();
        let aliases_words = if aliases.is_empty() {
            "no trustDomainAliases".to_owned()
        } else {
            format!("aliases {}", aliases.join(", "))
        };
        out.push(
            finding(
                &RULE,
                inv,
                &u,
                None,
                format!(
                    "{} carries the SPIFFE identity {} in trust domain {}, but the mesh's trust domain is {td} ({aliases_words}): policies naming {td} principals do not match it",
                    describe(inv, &u.cert),
                    foreign
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    domains.join(", ")
                ),
            )
            .evidence(format!(
                "trustDomain {td} from the mesh config (ConfigMap {}/{})",
                inv.object(mesh.object).namespace.as_deref().unwrap_or(""),
                inv.object(mesh.object).name
            )),
        );
    }
}
