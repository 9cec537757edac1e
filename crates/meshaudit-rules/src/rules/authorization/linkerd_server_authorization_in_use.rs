//! AUTHZ017: a Linkerd ServerAuthorization, the older authorization resource that
//! AuthorizationPolicy supersedes.

use meshaudit_engine::linkerd::policy::{Authentication, NetworksOrigin};
use meshaudit_model::{Idx, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ017",
    name: "linkerd-server-authorization-in-use",
    title: "Linkerd ServerAuthorization still in use",
    category: Category::Authorization,
    severity: Severity::Low,
    meshes: &[Mesh::Linkerd],
    compliance: &["SOC2:CC8.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

Every `ServerAuthorization` (`policy.linkerd.io`). Since Linkerd 2.12, `AuthorizationPolicy`
with `MeshTLSAuthentication` and `NetworkAuthentication` replaces it, and Linkerd's documentation
says ServerAuthorization will be deprecated in a future release; `policy.linkerd.io/v1alpha1`
ServerAuthorizations are already deprecated (the CRD warns on every use). Linkerd still
enforces both versions today.

## Why it matters

ServerAuthorization behaves differently from its replacement in ways that are easy to get
wrong when both are in use: without `client.networks` it admits `clusterNetworks` only (an
AuthorizationPolicy without NetworkAuthentication admits every address); it can target Servers
only, never routes; and its `server.selector` selects Servers by the Servers' own labels, not by
pod labels. Migrating while the resource still works avoids doing it in a hurry when it is
removed.

## Example

```yaml
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata:
  name: orders-public
  namespace: checkout
spec:
  server:
    name: orders-http
  client:
    unauthenticated: true
```

## Fix

Write the same authorization as an AuthorizationPolicy. A `meshTLS.serviceAccounts` list
becomes a MeshTLSAuthentication with `identityRefs`; `networks` (or `clusterNetworks`, when they
were omitted) a NetworkAuthentication:

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: orders-from-web
  namespace: checkout
spec:
  targetRef:
    group: policy.linkerd.io
    kind: Server
    name: orders-http
  requiredAuthenticationRefs:
  - kind: ServiceAccount
    name: web
    namespace: storefront
```

## References

- Linkerd: Server policy (ServerAuthorization "will be deprecated in future releases") — https://linkerd.io/2.18/features/server-policy/
- Linkerd: Authorization policy reference, ServerAuthorization — https://linkerd.io/2.18/reference/authorization-policy/#serverauthorization
- linkerd2 CRD (v1alpha1 deprecated) — https://github.com/linkerd/linkerd2/blob/main/charts/linkerd-crds/templates/policy/server-authorization.yaml
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if inv.linkerd.server_authorizations.is_empty() {
        return;
    }
    let lp = ctx.linkerd_policy();
    for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
        let facts = lp.server_authorization(i);
        let object = inv.object(saz.object);
        let servers: Vec<String> = facts
            .servers
            .iter()
            .map(|&s| format!("Server {}", inv.linkerd.servers[s].name))
            .collect();
        let target = if servers.is_empty() {
            "no Server".to_owned()
        } else {
            servers.join(", ")
        };
        let mut f = Finding::new(
            &RULE,
            saz.object,
            object,
            &[Step::Key("kind")],
            format!(
                "ServerAuthorization {}/{} still authorizes {target}: AuthorizationPolicy (Linkerd 2.12 on) supersedes it, and Linkerd's docs say it will be deprecated",
                saz.namespace, saz.name
            ),
        )
        .key("");
        if object.version() == "v1alpha1" {
            f = f.evidence(
                "policy.linkerd.io/v1alpha1 ServerAuthorization is already deprecated: the API server warns on every use (use v1beta1, or better AuthorizationPolicy)",
            );
        }
        let mut fix: Vec<String> = Vec::new();
        if let Some(a) = &facts.authorization {
            match &a.authentication {
                Authentication::Identities(_) => {
                    fix.push("a MeshTLSAuthentication with the same identities (identityRefs for its serviceAccounts)".to_owned())
                }
                Authentication::AnyMeshTls => fix.push(
                    "a MeshTLSAuthentication naming the callers (unauthenticatedTLS admits any meshed client)"
                        .to_owned(),
                ),
                Authentication::Unauthenticated => fix.push(
                    "the callers' identities rather than unauthenticated access".to_owned(),
                ),
            }
            if a.networks.origin == NetworksOrigin::ClusterNetworks {
                f = f.evidence(format!(
                    "client.networks is not set: this ServerAuthorization admits clusterNetworks ({}), where an AuthorizationPolicy without NetworkAuthentication would admit every address; keep that limit with a NetworkAuthentication if it matters",
                    a.networks.text
                ));
                fix.push(format!(
                    "a NetworkAuthentication for {} if the address limit matters",
                    a.networks.text
                ));
            }
        }
        let mut text = format!(
            "Replace ServerAuthorization {}/{} with an AuthorizationPolicy targeting the same Server",
            saz.namespace, saz.name
        );
        if !fix.is_empty() {
            text.push_str(&format!(", requiring {}", fix.join(" and ")));
        }
        out.push(f.remediation(format!("{text}.")));
    }
}
