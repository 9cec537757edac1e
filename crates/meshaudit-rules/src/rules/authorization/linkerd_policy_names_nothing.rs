//! AUTHZ018: a Linkerd policy resource names an identity, service account, namespace,
//! authentication or target that exists nowhere.

use std::collections::HashMap;

use meshaudit_engine::linkerd::policy::{AuthRef, Authentication, PolicyTarget, UnknownWhat};
use meshaudit_engine::Because;
use meshaudit_model::{Idx, ObjectId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "AUTHZ018",
    name: "linkerd-policy-names-nothing",
    title: "Linkerd policy names something that does not exist",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC8.1",
        "PCI-DSS:7.2.1",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

Names in Linkerd's policy resources that match nothing:

- a `MeshTLSAuthentication` (`identities`, `identityRefs`), `ServerAuthorization`
  (`meshTLS.identities`, `meshTLS.serviceAccounts`) or `AuthorizationPolicy` ServiceAccount ref
  naming a service account that no workload runs as and no ServiceAccount object defines, in a
  namespace the input declares and runs workloads in (`default` always exists);
- a namespace missing from an input that declares every namespace (and at least two);
- an `identityRefs` entry naming a ServiceAccount or Namespace `*`: Linkerd does not expand it,
  so it matches nobody (`identities: ["*"]` is the wildcard);
- an identity of another trust domain or control-plane namespace than this mesh's
  (`linkerd-config` must be in the input);
- an `AuthorizationPolicy` whose `requiredAuthenticationRefs` name a MeshTLSAuthentication or
  NetworkAuthentication that does not exist — Linkerd then ignores the whole policy;
- an `AuthorizationPolicy` whose `targetRef` names a Server, HTTPRoute or GRPCRoute, or a
  `ServerAuthorization` whose `server.name` names a Server, that does not exist in its namespace
  (when the input has workloads there).

`medium` when nothing of the resource is left (every identity unknown, a policy ignored or
applying to nothing); `low` for one dead entry among others that exist.

## Why it matters

Such a name is a typo or a leftover after a rename. Linkerd accepts it silently: the client it
was meant for is refused (an availability problem the owner will "fix" by widening the policy),
and a reader of the YAML believes a caller is authorized that is not. A dangling authentication
ref is worse than it looks: Linkerd does not drop the one ref, it ignores the whole policy.

## Example

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata:
  name: stock-clients
  namespace: checkout
spec:
  identityRefs:
  - kind: ServiceAccount
    name: carts          # cart runs as `cart`
```

## Fix

Correct the name to the caller's ServiceAccount (`kubectl get pod -o
jsonpath='{.spec.serviceAccountName}'`), the namespace, or the resource the ref points at; delete
entries for callers that are gone.

## References

- Linkerd: Authorization policy reference (MeshTLSAuthentication, requiredAuthenticationRefs) — https://linkerd.io/2.18/reference/authorization-policy/
- linkerd2 policy controller, an AuthorizationPolicy with a missing authentication is "Illegal" and ignored — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/inbound/index.rs
- linkerd2 `namespace_identity` (`*.<ns>.serviceaccount.identity...`, no expansion) — https://github.com/linkerd/linkerd2/blob/main/policy-controller/k8s/index/src/cluster_info.rs
- CWE-863: Incorrect Authorization
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !inv.linkerd.is_present() {
        return;
    }
    let lp = ctx.linkerd_policy();
    let suffix = lp.domain().suffix.clone();

    // How many identity entries each resource has, to tell a dead entry from a dead resource.
    let mut entries: HashMap<ObjectId, usize> = HashMap::new();
    for (i, m) in Idx::enumerate(&inv.linkerd.mesh_tls_authentications) {
        entries.insert(m.object, lp.mesh_tls(i).identities.len());
    }
    for (i, s) in Idx::enumerate(&inv.linkerd.server_authorizations) {
        if let Some(a) = &lp.server_authorization(i).authorization {
            if let Authentication::Identities(ids) = &a.authentication {
                entries.insert(s.object, ids.len());
            }
        }
    }
    let unknown = lp.unknown_names();
    let mut per_object: HashMap<ObjectId, usize> = HashMap::new();
    for u in &unknown {
        *per_object.entry(u.object).or_default() += 1;
    }
    for u in &unknown {
        let object = inv.object(u.object);
        let whole = per_object[&u.object] >= entries.get(&u.object).copied().unwrap_or(1);
        let what = match &u.what {
            UnknownWhat::ServiceAccount { namespace, name } => format!(
                "names ServiceAccount {namespace}/{name}, which no workload of `{namespace}` runs as and no ServiceAccount object defines"
            ),
            UnknownWhat::Namespace { namespace } => format!(
                "names namespace `{namespace}`, which is not in the input (the input declares every namespace)"
            ),
            UnknownWhat::LiteralWildcard { kind, name } => format!(
                "names a {kind} `{name}` in identityRefs: Linkerd does not expand `*` there, so the entry matches no client (`identities: [\"*\"]` is the wildcard)"
            ),
            UnknownWhat::ForeignIdentity { identity } => format!(
                "names identity `{identity}`, which this mesh never issues (its identities end in `.{suffix}`)"
            ),
        };
        let effect = if whole {
            "it admits nobody, so the callers it was written for are refused"
        } else {
            "that entry admits nobody"
        };
        let steps = u.because.steps();
        let mut f = Finding::new(
            &RULE,
            u.object,
            object,
            &steps,
            format!(
                "{} {} {what}: {effect}",
                object.kind,
                object.qualified_name()
            ),
        );
        if let Some(h) = &u.hint {
            f = f.evidence(format!("closest name in the input: `{h}`"));
        }
        // The policies that rely on a MeshTLSAuthentication with a dead name.
        if let Some((m, _)) = Idx::enumerate(&inv.linkerd.mesh_tls_authentications)
            .find(|(_, m)| m.object == u.object)
        {
            for (pi, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
                let uses = lp.policy(pi).refs.iter().position(
                    |r| matches!(r, AuthRef::MeshTls { resolved: Some(x), .. } if *x == m),
                );
                if let Some(ri) = uses {
                    f.add_because(
                        inv,
                        &Because::at(
                            p.object,
                            &[
                                Step::Key("spec"),
                                Step::Key("requiredAuthenticationRefs"),
                                Step::Index(ri),
                            ],
                            format!("requires MeshTLSAuthentication {}", object.qualified_name()),
                        ),
                    );
                }
            }
        }
        f.severity = if whole {
            Severity::Medium
        } else {
            Severity::Low
        };
        out.push(f);
    }

    // Authentication refs and targets that resolve to nothing.
    for (pi, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
        let facts = lp.policy(pi);
        let object = inv.object(p.object);
        for problem in facts.problems.iter().filter(|x| x.is_dangling()) {
            let path = problem.path();
            let f = Finding::new(
                &RULE,
                p.object,
                object,
                &path,
                format!(
                    "AuthorizationPolicy {}/{}: {}, so Linkerd ignores the whole policy and authorizes nobody through it",
                    p.namespace,
                    p.name,
                    lp.problem_text(pi, problem)
                ),
            )
            .remediation(format!(
                "Correct the name or namespace of the ref in AuthorizationPolicy {}/{}, or create the authentication it names.",
                p.namespace, p.name
            ));
            out.push(f);
        }
        if !facts.problems.is_empty() || inv.workload_indexes_in(&p.namespace).is_empty() {
            continue;
        }
        let missing = match &facts.target {
            PolicyTarget::Server { name, server: None } => Some(("Server", name)),
            PolicyTarget::HttpRoute { name, route: None } => Some(("HTTPRoute", name)),
            PolicyTarget::GrpcRoute { name, route: None } => Some(("GRPCRoute", name)),
            _ => None,
        };
        if let Some((kind, name)) = missing {
            let group = p.spec.target_ref.group.as_deref().unwrap_or_default();
            out.push(Finding::new(
                &RULE,
                p.object,
                object,
                &[Step::Key("spec"), Step::Key("targetRef")],
                format!(
                    "AuthorizationPolicy {}/{} targets {kind} `{name}` ({group}), which does not exist in namespace `{}`: it applies to nothing",
                    p.namespace, p.name, p.namespace
                ),
            )
            .remediation(format!(
                "Point the targetRef of AuthorizationPolicy {}/{} at the {kind} it is meant for (same namespace, same group), or delete the policy.",
                p.namespace, p.name
            )));
        }
    }
    for (i, saz) in Idx::enumerate(&inv.linkerd.server_authorizations) {
        let Some(name) = &saz.spec.server.name else {
            continue;
        };
        if !lp.server_authorization(i).servers.is_empty()
            || inv.workload_indexes_in(&saz.namespace).is_empty()
        {
            continue;
        }
        out.push(Finding::new(
            &RULE,
            saz.object,
            inv.object(saz.object),
            &[Step::Key("spec"), Step::Key("server"), Step::Key("name")],
            format!(
                "ServerAuthorization {}/{} names Server `{name}`, which does not exist in namespace `{}`: it applies to nothing",
                saz.namespace, saz.name, saz.namespace
            ),
        )
        .remediation(format!(
            "Correct `server.name` of ServerAuthorization {}/{} to an existing Server of its namespace, or delete it.",
            saz.namespace, saz.name
        )));
    }
}
