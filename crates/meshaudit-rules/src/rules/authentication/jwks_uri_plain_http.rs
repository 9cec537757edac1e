//! AUTHN011: a RequestAuthentication fetches its signing keys over plain HTTP.

use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHN011",
    name: "jwks-uri-plain-http",
    title: "JWT signing keys fetched over plain HTTP",
    category: Category::Authentication,
    severity: Severity::High,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.7",
        "PCI-DSS:4.2.1",
        "GDPR:Art.32(1)(a)",
        "NIST-800-204A:SM-DR6",
    ],
    doc: r#"
## What it detects

A `jwtRules` entry of a RequestAuthentication whose `jwksUri` starts with `http://`, or that has
neither `jwksUri` nor inline `jwks` and an `issuer` starting with `http://` (istiod then discovers
the key set through the issuer's OpenID configuration, over the same plaintext connection).

## Why it matters

The JWKS is the set of public keys that decides which tokens are genuine. Fetched over plain HTTP,
anyone on the path between istiod (or Envoy, in remote-JWKS mode) and the key server can replace
it with their own keys and then mint tokens for any user, issuer claims included, which every
workload behind the RequestAuthentication will accept.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: api-jwt
  namespace: shop
spec:
  jwtRules:
  - issuer: https://auth.example.com/
    jwksUri: http://auth.example.com/.well-known/jwks.json
```

## Fix

Serve and reference the key set over HTTPS:

```yaml
  jwtRules:
  - issuer: https://auth.example.com/
    jwksUri: https://auth.example.com/.well-known/jwks.json
```

## References

- Istio: RequestAuthentication reference (JWTRule jwksUri) — https://istio.io/latest/docs/reference/config/security/request_authentication/
- RFC 7517: JSON Web Key (JWK) — https://www.rfc-editor.org/rfc/rfc7517
- NIST SP 800-204A, SM-DR6
- CWE-319: Cleartext Transmission of Sensitive Information
- CWE-347: Improper Verification of Cryptographic Signature
"#,
    check,
};

fn is_plain_http(url: &str) -> bool {
    url.trim()
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for ra in &inv.istio.request_authentications {
        let object = inv.object(ra.object);
        for (i, rule) in ra.spec.jwt_rules.iter().enumerate() {
            let (field, url, how) = match (&rule.jwks_uri, &rule.jwks, &rule.issuer) {
                (Some(uri), _, _) if is_plain_http(uri) => {
                    ("jwksUri", uri, "fetches the token signing keys from")
                }
                (None, None, Some(issuer)) if is_plain_http(issuer) => (
                    "issuer",
                    issuer,
                    "has no jwksUri, so the signing keys are discovered through the issuer's OpenID configuration at",
                ),
                _ => continue,
            };
            let path = [
                Step::Key("spec"),
                Step::Key("jwtRules"),
                Step::Index(i),
                Step::Key(field),
            ];
            out.push(
                Finding::new(
                    &RULE,
                    ra.object,
                    object,
                    &path,
                    format!(
                        "RequestAuthentication {}/{} jwtRules[{i}] {how} {url} over plain HTTP: anyone on the path can swap the keys and forge tokens it will accept",
                        ra.namespace,
                        ra.name
                    ),
                )
                .evidence(format!(
                    "issuer: {}",
                    rule.issuer.as_deref().unwrap_or("(not set)")
                ))
                .remediation(format!(
                    "Use an https:// URL for jwtRules[{i}].{field} of RequestAuthentication {}/{}.",
                    ra.namespace, ra.name
                )),
            );
        }
    }
}
