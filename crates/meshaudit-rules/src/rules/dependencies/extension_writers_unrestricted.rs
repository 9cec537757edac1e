//! DEP010: RBAC that lets non-administrators create or change EnvoyFilters or WasmPlugins.

use std::collections::HashMap;

use meshaudit_model::{Inventory, Node, Object, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use meshaudit_engine::components::Component;

pub static RULE: Rule = Rule {
    code: "DEP010",
    name: "extension-writers-unrestricted",
    title: "Non-administrators may create EnvoyFilters or WasmPlugins",
    category: Category::Dependencies,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "PCI-DSS:7.2.1",
        "PCI-DSS:7.2.2",
        "HIPAA:164.312(a)(1)",
        "CIS-K8S:5.1.3",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

RBAC in the input that grants `create`, `update`, `patch` or `*` on `envoyfilters`
(`networking.istio.io`) or `wasmplugins` (`extensions.istio.io`) — named, or through `*` in
`resources` or `apiGroups` — to subjects that are not cluster administrators:

- a RoleBinding or ClusterRoleBinding giving such a role to a broad group
  (`system:authenticated`, `system:unauthenticated`, `system:serviceaccounts`,
  `system:serviceaccounts:<namespace>`): `high`;
- a ClusterRoleBinding, or a RoleBinding in the mesh's root namespace (where an EnvoyFilter
  applies mesh-wide), to users, groups or service accounts: `medium`;
- a RoleBinding in another namespace: `low` (its EnvoyFilters reach that namespace's proxies,
  but a malformed one can still disrupt istiod);
- a ClusterRole aggregated into Kubernetes' `admin` or `edit` roles
  (`rbac.authorization.k8s.io/aggregate-to-admin|edit: "true"`): `medium`, every namespace
  editor gets the permission.

The finding points at the binding's subject (or the aggregated ClusterRole). Subjects in
`system:masters` and the built-in `cluster-admin` role are not reported. When istiod runs a release
affected by ISTIO-SECURITY-2026-006 (an EnvoyFilter that crashes istiod), the evidence says so.

## Why it matters

An EnvoyFilter rewrites the proxies' configuration below Istio's APIs: whoever may create one can
remove authorization filters, forward traffic elsewhere or run Lua on every request of the
workloads it selects (of every workload, in the root namespace). WasmPlugins load code into
proxies. Istio's security guidance treats both as administrator-only, and the 2026-006 bulletin
lists "non-admin users can create EnvoyFilter" as its precondition.

## Example

```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: mesh-extensions}
rules:
- apiGroups: ["networking.istio.io"]
  resources: ["envoyfilters"]
  verbs: ["create", "update", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mesh-extensions-everyone}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: mesh-extensions}
subjects:
- {kind: Group, name: system:authenticated, apiGroup: rbac.authorization.k8s.io}
```

## Fix

Grant write access to `envoyfilters` and `wasmplugins` only to the mesh administrators; give
application teams Istio's higher-level APIs (VirtualService, AuthorizationPolicy,
RequestAuthentication) instead, and review extensions through a pipeline rather than direct
access.

## References

- Istio: Security best practices (restrict EnvoyFilter) — https://istio.io/latest/docs/ops/best-practices/security/
- Istio: EnvoyFilter reference — https://istio.io/latest/docs/reference/config/networking/envoy-filter/
- ISTIO-SECURITY-2026-006 — https://istio.io/latest/news/security/
- Kubernetes: RBAC, aggregated ClusterRoles — https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles
- CIS Kubernetes Benchmark 5.1.3 (minimize wildcard use in Roles and ClusterRoles)
"#,
    check,
};

const WRITE_VERBS: &[&str] = &["create", "update", "patch", "*"];
const BROAD_GROUPS: &[&str] = &[
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
];

fn strings(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_seq)
        .map(|items| items.iter().filter_map(Node::scalar_text).collect())
        .unwrap_or_default()
}

/// The extension kinds a Role/ClusterRole object lets its holders write.
fn writable_extensions(object: &Object) -> Vec<&'static str> {
    let mut out = Vec::new();
    let Some(rules) = object.node.get("rules").and_then(Node::as_seq) else {
        return out;
    };
    for rule in rules {
        let groups = strings(rule.get("apiGroups"));
        let resources = strings(rule.get("resources"));
        let verbs = strings(rule.get("verbs"));
        if !verbs.iter().any(|v| WRITE_VERBS.contains(&v.as_str())) {
            continue;
        }
        for (group, resource) in [
            ("networking.istio.io", "envoyfilters"),
            ("extensions.istio.io", "wasmplugins"),
        ] {
            let group_ok = groups.iter().any(|g| g == group || g == "*");
            let resource_ok = resources.iter().any(|r| r == resource || r == "*");
            if group_ok && resource_ok && !out.contains(&resource) {
                out.push(resource);
            }
        }
    }
    out
}

fn is_rbac(object: &Object, kind: &str) -> bool {
    object.kind == kind && object.group() == "rbac.authorization.k8s.io"
}

/// Roles and ClusterRoles of the input by (kind, namespace, name): bindings look their role up
/// here instead of scanning every object.
type RoleIndex<'a> = HashMap<(&'a str, Option<&'a str>, &'a str), &'a Object>;

fn role_index(inv: &Inventory) -> RoleIndex<'_> {
    inv.objects
        .iter()
        .filter(|o| is_rbac(o, "Role") || is_rbac(o, "ClusterRole"))
        .map(|o| {
            let ns = if o.kind == "Role" {
                o.namespace.as_deref()
            } else {
                None
            };
            ((o.kind.as_str(), ns, o.name.as_str()), o)
        })
        .collect()
}

/// The role a binding names, if the input has it.
fn role_of<'a>(roles: &RoleIndex<'a>, binding: &Object) -> Option<&'a Object> {
    let role_ref = binding.node.get("roleRef")?;
    let kind = role_ref.get("kind")?.as_str()?;
    let name = role_ref.get("name")?.as_str()?;
    let ns = if kind == "Role" {
        binding.namespace.as_deref()
    } else {
        None
    };
    roles.get(&(kind, ns, name)).copied()
}

/// Evidence about ISTIO-SECURITY-2026-006 when istiod runs an affected release.
fn bulletin_note(ctx: &Context<'_>) -> Option<String> {
    let bulletin = ctx
        .advisories
        .bulletins
        .iter()
        .find(|b| b.id == "ISTIO-SECURITY-2026-006")?;
    ctx.dependency_instances()
        .iter()
        .filter(|i| i.component == Component::IstioPilot)
        .find_map(|i| {
            let v = i.version.clone()?;
            bulletin.affects(&v).then(|| {
                format!(
                    "istiod runs {v}, affected by ISTIO-SECURITY-2026-006: an EnvoyFilter with an oversized proxyVersion match crashes istiod (fixed in {})",
                    bulletin
                        .fixed
                        .iter()
                        .map(|f| f.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let root = inv.istio.root_namespace();
    let note = bulletin_note(ctx);
    let roles = role_index(inv);
    for (id, object) in inv.objects_with_ids() {
        // Aggregated into Kubernetes' admin/edit roles: every namespace editor gets it.
        if is_rbac(object, "ClusterRole") {
            let aggregated: Vec<&str> = ["admin", "edit"]
                .into_iter()
                .filter(|r| {
                    object
                        .labels
                        .get(&format!("rbac.authorization.k8s.io/aggregate-to-{r}"))
                        .is_some_and(|v| v == "true")
                })
                .collect();
            let kinds = writable_extensions(object);
            if !aggregated.is_empty() && !kinds.is_empty() {
                let mut f = Finding::new(
                    &RULE,
                    id,
                    object,
                    &[Step::Key("rules")],
                    format!(
                        "ClusterRole {} lets its holders write {} and is aggregated into the built-in `{}` role(s): every namespace editor may create them",
                        object.name,
                        kinds.join(" and "),
                        aggregated.join("`, `")
                    ),
                )
                .key("aggregated")
                .remediation("Remove the aggregate-to-admin/edit labels (or the write verbs on envoyfilters/wasmplugins); grant them only to mesh administrators.");
                if let Some(n) = note.as_ref().filter(|_| kinds.contains(&"envoyfilters")) {
                    f = f.evidence(n.clone());
                }
                out.push(f);
            }
            continue;
        }
        let cluster_binding = is_rbac(object, "ClusterRoleBinding");
        if !(cluster_binding || is_rbac(object, "RoleBinding")) {
            continue;
        }
        let Some(role) = role_of(&roles, object) else {
            continue;
        };
        if role.name == "cluster-admin" {
            continue;
        }
        let kinds = writable_extensions(role);
        if kinds.is_empty() {
            continue;
        }
        let Some(subjects) = object.node.get("subjects").and_then(Node::as_seq) else {
            continue;
        };
        for (si, subject) in subjects.iter().enumerate() {
            let kind = subject.get("kind").and_then(Node::as_str).unwrap_or("");
            let name = subject.get("name").and_then(Node::as_str).unwrap_or("");
            let sa_ns = subject.get("namespace").and_then(Node::as_str);
            if kind == "Group" && name == "system:masters" {
                continue;
            }
            let broad = kind == "Group"
                && (BROAD_GROUPS.contains(&name) || name.starts_with("system:serviceaccounts:"));
            let mesh_wide = cluster_binding || object.namespace.as_deref() == Some(root);
            let (severity, reach) = if broad {
                (Severity::High, "a broad group")
            } else if mesh_wide {
                (
                    Severity::Medium,
                    if cluster_binding {
                        "in every namespace, the root namespace included (mesh-wide EnvoyFilters)"
                    } else {
                        "in the root namespace, where EnvoyFilters apply mesh-wide"
                    },
                )
            } else {
                (Severity::Low, "in its namespace")
            };
            let who = match (kind, sa_ns) {
                ("ServiceAccount", Some(ns)) => format!("ServiceAccount {ns}/{name}"),
                _ => format!("{kind} {name}"),
            };
            let mut f = Finding::new(
                &RULE,
                id,
                object,
                &[Step::Key("subjects"), Step::Index(si)],
                format!(
                    "{} {} lets {who} write {} ({reach}) through {} {}",
                    object.kind,
                    object.qualified_name(),
                    kinds.join(" and "),
                    role.kind,
                    role.qualified_name()
                ),
            )
            .key(format!("subjects[{si}]:{kind}:{name}"))
            .evidence(format!(
                "{} {} grants create/update/patch on {}",
                role.kind,
                role.qualified_name(),
                kinds.join(", ")
            ))
            .remediation(format!(
                "Remove {who} from {} {}, or drop the write verbs on envoyfilters/wasmplugins from {}; keep extensions to mesh administrators.",
                object.kind,
                object.qualified_name(),
                role.qualified_name()
            ));
            if let Some(n) = note.as_ref().filter(|_| kinds.contains(&"envoyfilters")) {
                f = f.evidence(n.clone());
            }
            f.severity = severity;
            out.push(f);
        }
    }
}
