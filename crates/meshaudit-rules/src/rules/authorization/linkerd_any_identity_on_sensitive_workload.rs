//! AUTHZ016: a Linkerd authorization that admits every mesh identity on a workload marked as
//! holding sensitive data.

use meshaudit_engine::linkerd::policy::{
    Admits, Authentication, Authorization, AuthzSource, ClientNetwork, Names,
};
use meshaudit_engine::Because;
use meshaudit_model::linkerd::InjectMode;
use meshaudit_model::{Idx, LinkerdServerId, ObjectId, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use meshaudit_engine::sensitivity::workload_sensitivity;

pub static RULE: Rule = Rule {
    code: "AUTHZ016",
    name: "linkerd-any-identity-on-sensitive-workload",
    title: "Linkerd authorization admits every mesh identity on a sensitive workload",
    category: Category::Authorization,
    severity: Severity::High,
    meshes: &[Mesh::Linkerd],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "HIPAA:164.312(a)(1)",
        "PCI-DSS:7.2.1",
        "PCI-DSS:7.2.2",
        "NIST-800-204A:SM-DR1",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

An authorization that admits any client with a mesh identity, used on meshed pods that are
marked as holding sensitive data (on the pod template or the namespace, the labels NET006
reads: `data-classification: pci`, `pci: "true"`, `compliance: hipaa`, ...):

- a `MeshTLSAuthentication` whose `identities` hold `*`, or a suffix that covers the whole trust
  domain (`*.serviceaccount.identity.linkerd.cluster.local`, `*.cluster.local`), required by an
  `AuthorizationPolicy` that Linkerd accepts;
- a `ServerAuthorization` with `meshTLS.unauthenticatedTLS: true` or such an identity;
- a `Server` with `accessPolicy: all-authenticated` or `cluster-authenticated`.

`identityRefs` naming a Namespace or ServiceAccount `*` are not wildcards (Linkerd matches them
literally, so they admit nobody): AUTHZ018 reports those.

## Why it matters

A mesh identity proves which workload is calling, not that it may. "Any identity" admits every
meshed workload of every namespace — and of every cluster sharing the trust anchor — so one
compromised pod anywhere reaches the payment or health-data service. Least privilege for
regulated data means naming the callers.

## Example

```yaml
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata:
  name: any-meshed
  namespace: billing          # labelled data-classification: pci
spec:
  identities:
  - "*"
```

## Fix

Name the calling service accounts (or, at least, namespaces):

```yaml
spec:
  identityRefs:
  - kind: ServiceAccount
    name: orders
    namespace: checkout
```

## References

- Linkerd: Authorization policy reference (MeshTLSAuthentication identities and identityRefs) — https://linkerd.io/2.18/reference/authorization-policy/#meshtlsauthentication
- Linkerd: Restricting access to services — https://linkerd.io/2.18/tasks/restricting-access/
- linkerd2 `IdentityMatch` (`*` is the empty suffix) — https://github.com/linkerd/linkerd2/blob/main/policy-controller/core/src/identity_match.rs
- PCI DSS v4.0, requirement 7.2 (access assigned on need to know)
"#,
    check,
};

/// Where the "any identity" is written, and what it says.
fn any_identity(a: &Authorization<'_>) -> Option<(Because, String)> {
    match (&a.authentication, a.source) {
        (Authentication::AnyMeshTls, AuthzSource::ServerAuthorization(_)) => Some((
            a.because.first()?.clone(),
            "`unauthenticatedTLS: true`".to_owned(),
        )),
        (Authentication::AnyMeshTls, AuthzSource::AccessPolicy { policy, .. }) => {
            Some((a.because.first()?.clone(), format!("`{policy}`")))
        }
        (Authentication::Identities(ids), _) => ids
            .iter()
            .find(|id| id.names == Names::WholeMesh)
            .map(|id| (id.because.clone(), format!("`{}`", id.pattern.text()))),
        _ => None,
    }
}

struct Candidate<'x, 'a> {
    authz: &'x Authorization<'a>,
    governs: Vec<(WorkloadId, u16)>,
    /// For an AuthorizationPolicy, the policy (a related location; the finding sits on the
    /// MeshTLSAuthentication).
    policy: Option<ObjectId>,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    if !inv.linkerd.is_present() {
        return;
    }
    let lp = ctx.linkerd_policy();
    let mut candidates = Vec::new();
    for (i, p) in Idx::enumerate(&inv.linkerd.authorization_policies) {
        if let Some(a) = &lp.policy(i).authorization {
            candidates.push(Candidate {
                authz: a,
                governs: lp.policy_governs(i),
                policy: Some(p.object),
            });
        }
    }
    for i in Idx::all(&inv.linkerd.server_authorizations) {
        if let Some(a) = &lp.server_authorization(i).authorization {
            candidates.push(Candidate {
                authz: a,
                governs: lp.server_authorization_governs(i),
                policy: None,
            });
        }
    }
    for s in LinkerdServerId::all(&inv.linkerd.servers) {
        let facts = lp.server(s);
        for a in &facts.authorizations {
            if matches!(a.source, AuthzSource::AccessPolicy { server, .. } if server == s) {
                candidates.push(Candidate {
                    authz: a,
                    governs: facts.governs.clone(),
                    policy: None,
                });
            }
        }
    }
    for c in candidates {
        let Some((written, what)) = any_identity(c.authz) else {
            continue;
        };
        if lp.network_admits(&c.authz.networks.addrs, ClientNetwork::ClusterPod) == Admits::No {
            continue;
        }
        let ports: Vec<(WorkloadId, u16)> = c
            .governs
            .iter()
            .copied()
            .filter(|&(w, _)| {
                lp.gets_proxy(w)
                    && !matches!(
                        inv.workloads[w].linkerd().annotations.inject,
                        Some(InjectMode::Ingress)
                    )
            })
            .collect();
        let mut marks: Vec<String> = ports
            .iter()
            .filter_map(|&(w, _)| workload_sensitivity(inv, w))
            .collect();
        marks.sort();
        marks.dedup();
        if marks.is_empty() {
            continue;
        }
        let Some(id) = written.object else { continue };
        let object = inv.object(id);
        let steps = written.steps();
        let mut f = Finding::new(
            &RULE,
            id,
            object,
            &steps,
            if c.policy.is_some_and(|p| p != id) {
                format!(
                    "{} {} lists {what}, and {} requires it: every meshed workload of every namespace may call sensitive {}",
                    object.kind,
                    object.qualified_name(),
                    c.authz.label,
                    lp.describe_ports(&ports, 3)
                )
            } else {
                format!(
                    "{} admits any meshed client ({what}): every meshed workload of every namespace may call sensitive {}",
                    c.authz.label,
                    lp.describe_ports(&ports, 3)
                )
            },
        )
        .key(match c.policy {
            Some(p) => inv.object(p).name.clone(),
            None => String::new(),
        });
        for b in &c.authz.because {
            f.add_because(inv, b);
        }
        for m in marks.iter().take(3) {
            f = f.evidence(format!("sensitive: {m}"));
        }
        let fix = match c.authz.source {
            AuthzSource::Policy(_) => format!(
                "Replace {what} in {} {} with identityRefs to the ServiceAccounts of the workloads that call it (or give {} its own MeshTLSAuthentication naming them).",
                object.kind,
                object.qualified_name(),
                c.authz.label
            ),
            AuthzSource::ServerAuthorization(_) => format!(
                "Replace {what} in {} with `meshTLS.serviceAccounts` naming the callers — or, better, an AuthorizationPolicy requiring their identities.",
                c.authz.label
            ),
            AuthzSource::AccessPolicy { server, .. } => {
                let server = &inv.linkerd.servers[server];
                format!(
                    "Set accessPolicy of Server {}/{} to deny and authorize its callers by name with an AuthorizationPolicy.",
                    server.namespace, server.name
                )
            }
        };
        out.push(f.remediation(fix));
    }
}
