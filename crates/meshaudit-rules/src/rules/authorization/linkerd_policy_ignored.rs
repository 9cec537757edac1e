//! AUTHZ021: a Linkerd policy resource that Linkerd's controller refuses or ignores as invalid.

use meshaudit_engine::linkerd::policy::{AuthRef, PolicyProblem};
use meshaudit_model::{Idx, MeshTlsAuthenticationId, NetworkAuthenticationId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ021",
    name: "linkerd-policy-ignored",
    title: "Linkerd ignores an invalid policy resource",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &["SOC2:CC6.1", "SOC2:CC8.1", "NIST-800-204A:SM-DR1"],
    doc: r#"
## What it detects

Linkerd policy resources the policy controller cannot use, so it skips them:

- an `AuthorizationPolicy` that requires more than one identity ref (MeshTLSAuthentication or
  ServiceAccount) or more than one NetworkAuthentication, that uses a ref or `targetRef` kind
  Linkerd does not accept (a Server target needs `group: policy.linkerd.io`), that targets
  another namespace, or that requires a MeshTLSAuthentication or NetworkAuthentication Linkerd
  refuses;
- a `MeshTLSAuthentication` with no identity, or an `identityRefs` entry without a name or of a
  kind other than ServiceAccount and Namespace;
- a `NetworkAuthentication` with no network;
- a `ServerAuthorization` whose client sets neither `unauthenticated` nor `meshTLS`, or a
  `meshTLS` that names nobody.

Refs to resources that do not exist are AUTHZ018's. Authentications no policy uses are `low`.

## Why it matters

Linkerd's validating webhook refuses most of these — but it fails open by default
(`failurePolicy: Ignore`), so they get stored whenever the controller is down, and GitOps tools
keep re-applying them. The controller then logs "Illegal AuthorizationPolicy; ignoring" and goes
on without it: the callers it was written for are refused, and nothing in the manifests says so.

## Example

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata:
  name: api-from-web
  namespace: shop
spec:
  targetRef:
    kind: Server             # group policy.linkerd.io is missing
    name: api-http
  requiredAuthenticationRefs:
  - kind: ServiceAccount
    name: web
```

## Fix

Correct the resource so Linkerd's validator accepts it, and check it with `kubectl apply
--dry-run=server` while the policy validator runs. For the example, add `group:
policy.linkerd.io` to the `targetRef`.

## References

- Linkerd: Authorization policy reference — https://linkerd.io/2.18/reference/authorization-policy/
- linkerd2 policy admission (`Validate<AuthorizationPolicySpec>`) — https://github.com/linkerd/linkerd2/blob/main/policy-controller/runtime/src/admission.rs
- linkerd2 policy index ("Illegal AuthorizationPolicy; ignoring") — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/inbound/index.rs
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !inv.linkerd.is_present() {
        return;
    }
    let lp = ctx.linkerd_policy();
    for (pi, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
        for problem in &lp.policy(pi).problems {
            // Dangling refs are AUTHZ018's; an omitted list is an input error already.
            if problem.is_dangling() || *problem == PolicyProblem::RefsOmitted {
                continue;
            }
            let path = problem.path();
            out.push(Finding::new(
                &RULE,
                p.object,
                inv.object(p.object),
                &path,
                format!(
                    "Linkerd ignores AuthorizationPolicy {}/{}: {}",
                    p.namespace,
                    p.name,
                    lp.problem_text(pi, problem)
                ),
            )
            .remediation(match problem {
                PolicyProblem::TooMany { .. } => format!(
                    "Keep one identity ref (merge the identities into one MeshTLSAuthentication) and at most one NetworkAuthentication in AuthorizationPolicy {}/{}, or split it into several policies.",
                    p.namespace, p.name
                ),
                PolicyProblem::InvalidMeshTls { .. } | PolicyProblem::InvalidNetwork { .. } => {
                    "Fix the authentication it requires (see its own finding).".to_owned()
                }
                _ => format!(
                    "Correct AuthorizationPolicy {}/{} to the kinds Linkerd accepts (targetRef: a Server or HTTPRoute with group policy.linkerd.io, a Gateway API HTTPRoute or GRPCRoute, or its own Namespace; refs: MeshTLSAuthentication, NetworkAuthentication, ServiceAccount).",
                    p.namespace, p.name
                ),
            }));
        }
    }
    let used_mtls = |m: MeshTlsAuthenticationId| {
        Idx::all(&inv.linkerd.authorization_policies).any(|pi| {
            lp.policy(pi)
                .refs
                .iter()
                .any(|r| matches!(r, AuthRef::MeshTls { resolved: Some(x), .. } if *x == m))
        })
    };
    let used_network = |n: NetworkAuthenticationId| {
        Idx::all(&inv.linkerd.authorization_policies).any(|pi| {
            lp.policy(pi)
                .refs
                .iter()
                .any(|r| matches!(r, AuthRef::Network { resolved: Some(x), .. } if *x == n))
        })
    };
    for (i, m) in Idx::enumerate(&inv.linkerd.mesh_tls_authentications) {
        let Some(problem) = &lp.mesh_tls(i).problem else {
            continue;
        };
        let mut f = Finding::new(
            &RULE,
            m.object,
            inv.object(m.object),
            &[Step::Key("spec")],
            format!(
                "Linkerd refuses MeshTLSAuthentication {}/{}: {problem}; every policy requiring it is ignored",
                m.namespace, m.name
            ),
        );
        if !used_mtls(i) {
            f.severity = Severity::Low;
        }
        out.push(f.remediation(format!(
            "Give MeshTLSAuthentication {}/{} at least one identity: `identities` strings, or `identityRefs` of kind ServiceAccount or Namespace, each with a name.",
            m.namespace, m.name
        )));
    }
    for (i, n) in Idx::enumerate(&inv.linkerd.network_authentications) {
        let Some(problem) = lp.network_authentication(i).problem else {
            continue;
        };
        let mut f = Finding::new(
            &RULE,
            n.object,
            inv.object(n.object),
            &[Step::Key("spec"), Step::Key("networks")],
            format!(
                "Linkerd refuses NetworkAuthentication {}/{}: {problem}; every policy requiring it is ignored",
                n.namespace, n.name
            ),
        );
        if !used_network(i) {
            f.severity = Severity::Low;
        }
        out.push(f.remediation(format!(
            "List the networks NetworkAuthentication {}/{} stands for (`cidr`, with `except` if needed), or delete it and its refs.",
            n.namespace, n.name
        )));
    }
    for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
        let Some(problem) = lp.server_authorization(i).problem else {
            continue;
        };
        out.push(Finding::new(
            &RULE,
            saz.object,
            inv.object(saz.object),
            &[Step::Key("spec"), Step::Key("client")],
            format!(
                "Linkerd ignores ServerAuthorization {}/{}: {problem}",
                saz.namespace, saz.name
            ),
        )
        .remediation(format!(
            "Replace ServerAuthorization {}/{} with an AuthorizationPolicy requiring the callers' identities.",
            saz.namespace, saz.name
        )));
    }
}
